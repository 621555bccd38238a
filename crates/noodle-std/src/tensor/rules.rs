//! How the checker types the tensor functions and methods whose declarations cannot say their
//! result: an element type that comes from a `dtype` argument or from the operands (NumPy's
//! promotion), a reduction that gives a scalar or a tensor, and the parameters that take "an
//! int or a list of ints" or "a tensor or a number". Each rule checks those arguments and gives
//! the call's type; the promotion rules themselves are the language's (`TE::promote`).

use noodle_compiler::codes::{N0200, N0230};
use noodle_native::{CallRule, Module, RuleArg, RuleCall, Type, TE};

/// A rule given as a function.
struct Rule(fn(&mut RuleCall) -> Option<Type>);

impl CallRule for Rule {
    fn check(&self, call: &mut RuleCall) -> Option<Type> {
        (self.0)(call)
    }
}

/// The rules of `std.tensor`'s functions and of `tensor[E]`'s methods.
pub(super) fn add(m: Module) -> Module {
    let mut m = m
        .rule("from_list", Rule(from_list))
        .rule("zeros", Rule(filled))
        .rule("ones", Rule(filled))
        .rule("full", Rule(full))
        .rule("eye", Rule(eye))
        .rule("arange", Rule(arange))
        .rule("linspace", Rule(dtype_or_f64))
        .rule("rand", Rule(filled))
        .rule("randn", Rule(filled))
        .rule("randint", Rule(randint))
        .rule("where", Rule(where_))
        .rule("concat", Rule(joined))
        .rule("stack", Rule(joined))
        .rule("split", Rule(split))
        .rule("matmul", Rule(fn_binary))
        .rule("maximum", Rule(fn_binary))
        .rule("minimum", Rule(fn_binary))
        .rule("allclose", Rule(two_tensors))
        .rule("array_equal", Rule(two_tensors))
        .rule("softmax", Rule(fn_softmax))
        .rule("clip", Rule(fn_clip))
        .rule("tensor.reshape", Rule(method_shape))
        .rule("tensor.permute", Rule(method_axes))
        .rule("tensor.broadcast_to", Rule(method_shape))
        .rule("tensor.astype", Rule(astype))
        .rule("tensor.item", Rule(item))
        .rule("tensor.to_list", Rule(to_list))
        .rule("tensor.to_lists", Rule(to_lists))
        .rule("tensor.clip", Rule(method_clip))
        .rule("tensor.softmax", Rule(method_softmax))
        .rule("tensor.fill", Rule(fill))
        .rule("tensor.matmul", Rule(method_matmul))
        .rule("tensor.pow", Rule(method_pow));
    for name in UNARY {
        m = m.rule(name, Rule(fn_unary)).rule(&format!("tensor.{name}"), Rule(method_unary));
    }
    for name in REDUCTIONS {
        m = m.rule(&format!("tensor.{name}"), Rule(method_reduction));
    }
    m.rule("sum", Rule(fn_reduction)).rule("mean", Rule(fn_reduction))
}

/// The rules of `std.linalg`: float tensors in, float tensors (or floats) out.
pub(crate) fn add_linalg(mut m: Module) -> Module {
    for name in ["solve", "inv", "det", "qr", "cholesky", "svd", "eigh", "norm", "lstsq"] {
        m = m.rule(name, Rule(linalg));
    }
    m
}

const UNARY: &[&str] = &["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "floor", "ceil", "round", "logical_not"];
const REDUCTIONS: &[&str] = &["sum", "mean", "min", "max", "prod", "std", "var", "argmin", "argmax", "any", "all"];

// ---------------------------------------------------------------------------------------------
// what parameters accept

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Tensor,
    /// A tensor or a number (int, float, bool).
    Operand,
    /// A number or none.
    OptNum,
    /// `int` or `list[int]`.
    Shape,
    /// none, `int` or `list[int]`.
    Axes,
    /// `list[tensor[...]]`.
    Tensors,
    /// Nested lists of numbers or bools.
    Nested,
}

/// Checks the argument named `name` (when given) against `kind`: N0200 otherwise.
fn expect(call: &mut RuleCall, name: &str, kind: Kind) {
    let a = call.arg(name).clone();
    if !a.given {
        return;
    }
    let ty = &a.ty;
    let ok = *ty == Type::Unknown
        || match kind {
            Kind::Tensor => matches!(ty, Type::Tensor(_)),
            Kind::Operand => matches!(ty, Type::Tensor(_) | Type::Int | Type::Float | Type::Bool),
            Kind::OptNum => matches!(ty, Type::Int | Type::Float | Type::None) || matches!(ty, Type::Optional(i) if matches!(**i, Type::Int | Type::Float)),
            Kind::Shape => *ty == Type::Int || *ty == Type::list(Type::Int),
            Kind::Axes => matches!(ty, Type::Int | Type::None) || *ty == Type::list(Type::Int),
            Kind::Tensors => matches!(ty, Type::List(e) if matches!(**e, Type::Tensor(_))),
            Kind::Nested => nested_elem(ty).is_some(),
        };
    if !ok {
        let want = match kind {
            Kind::Tensor => "a tensor",
            Kind::Operand => "a tensor or a number",
            Kind::OptNum => "a number or none",
            Kind::Shape => "a shape (`int` or `list[int]`)",
            Kind::Axes => "an axis (`int` or `list[int]`)",
            Kind::Tensors => "a `list[tensor[...]]`",
            Kind::Nested => "a (nested) list of numbers or bools",
        };
        let shown = call.show(ty);
        let fname = call.name.clone();
        call.error(N0200, format!("argument `{name}` of `{fname}` must be {want}, found `{shown}`"), a.span);
    }
}

/// The element type a given `dtype` argument names: it must be known now (N0230).
fn dtype(call: &mut RuleCall, name: &str) -> Option<TE> {
    let a: RuleArg = call.arg(name).clone();
    if !a.given {
        return None;
    }
    match a.text.as_deref().and_then(TE::from_name) {
        Some(t) => Some(t),
        None => {
            call.error(N0230, "a dtype must be written out: `tensor.f32`, `tensor.f64`, `tensor.i64` or `tensor.bool`", a.span)
                .label("not a dtype known at compile time")
                .hint("the element type of a tensor is part of its static type, so it cannot come from a variable");
            None
        }
    }
}

/// The element type of a tensor argument (or of a list of tensors, or of nested lists).
fn elem(call: &RuleCall, name: &str) -> Option<TE> {
    let a = call.arg(name);
    match &a.ty {
        Type::Tensor(t) => Some(*t),
        Type::List(e) => match &**e {
            Type::Tensor(t) => Some(*t),
            _ => nested_elem(&a.ty),
        },
        _ => None,
    }
}

/// The scalar element type of nested lists (`list[list[float]]` -> f64), if they are numeric.
fn nested_elem(t: &Type) -> Option<TE> {
    match t {
        Type::List(e) => match &**e {
            Type::Int => Some(TE::I64),
            Type::Float => Some(TE::F64),
            Type::Bool => Some(TE::Bool),
            inner @ Type::List(_) => nested_elem(inner),
            _ => None,
        },
        _ => None,
    }
}


fn elem_scalar(te: TE) -> Type {
    match te {
        TE::Bool => Type::Bool,
        TE::I64 => Type::Int,
        _ => Type::Float,
    }
}

/// The element type of the receiver of a method.
fn receiver(call: &RuleCall) -> TE {
    match &call.receiver {
        Some(Type::Tensor(t)) => *t,
        _ => TE::F64,
    }
}

fn tensor(te: TE) -> Option<Type> {
    Some(Type::Tensor(te))
}

// ---------------------------------------------------------------------------------------------
// creation

fn from_list(call: &mut RuleCall) -> Option<Type> {
    expect(call, "data", Kind::Nested);
    match (dtype(call, "dtype"), elem(call, "data")) {
        (Some(d), _) => tensor(d),
        (None, Some(e)) => tensor(e),
        _ => Some(Type::Unknown),
    }
}

/// `zeros`, `ones`, `rand`, `randn`: a shape, and a dtype (f64 by default).
fn filled(call: &mut RuleCall) -> Option<Type> {
    expect(call, "shape", Kind::Shape);
    tensor(dtype(call, "dtype").unwrap_or(TE::F64))
}

fn dtype_or_f64(call: &mut RuleCall) -> Option<Type> {
    tensor(dtype(call, "dtype").unwrap_or(TE::F64))
}

fn eye(call: &mut RuleCall) -> Option<Type> {
    dtype_or_f64(call)
}

fn randint(call: &mut RuleCall) -> Option<Type> {
    expect(call, "shape", Kind::Shape);
    tensor(TE::I64)
}

fn full(call: &mut RuleCall) -> Option<Type> {
    expect(call, "shape", Kind::Shape);
    expect(call, "value", Kind::Operand);
    if let Some(d) = dtype(call, "dtype") {
        return tensor(d);
    }
    match call.arg("value").ty.clone() {
        Type::Tensor(e) => tensor(e),
        t => tensor(TE::with_scalar(&t, TE::Bool).unwrap_or(TE::F64)),
    }
}

fn arange(call: &mut RuleCall) -> Option<Type> {
    expect(call, "start", Kind::Operand);
    expect(call, "stop", Kind::OptNum);
    expect(call, "step", Kind::OptNum);
    if let Some(d) = dtype(call, "dtype") {
        return tensor(d);
    }
    let all_int = ["start", "stop", "step"].iter().all(|n| {
        let a = call.arg(n);
        !a.given || a.ty == Type::Int
    });
    tensor(if all_int { TE::I64 } else { TE::F64 })
}

fn where_(call: &mut RuleCall) -> Option<Type> {
    expect(call, "cond", Kind::Tensor);
    expect(call, "a", Kind::Operand);
    expect(call, "b", Kind::Operand);
    let (ta, tb) = (elem(call, "a"), elem(call, "b"));
    let side = |a: &RuleArg, other: Option<TE>| match &a.ty {
        Type::Tensor(e) => Some(*e),
        t => TE::with_scalar(t, other.unwrap_or(TE::Bool)),
    };
    match (side(call.arg("a"), tb), side(call.arg("b"), ta)) {
        (Some(a), Some(b)) => tensor(TE::promote(a, b)),
        _ => Some(Type::Unknown),
    }
}

/// `concat` and `stack`: a list of tensors.
fn joined(call: &mut RuleCall) -> Option<Type> {
    expect(call, "tensors", Kind::Tensors);
    tensor(elem(call, "tensors").unwrap_or(TE::F64))
}

fn split(call: &mut RuleCall) -> Option<Type> {
    expect(call, "t", Kind::Tensor);
    Some(Type::list(Type::Tensor(elem(call, "t").unwrap_or(TE::F64))))
}

/// `matmul`, `maximum`, `minimum` as functions: at least one tensor; the result promotes.
fn fn_binary(call: &mut RuleCall) -> Option<Type> {
    expect(call, "a", Kind::Operand);
    expect(call, "b", Kind::Operand);
    let (a, b) = (call.arg("a").clone(), call.arg("b").clone());
    let te = |x: &RuleArg, o: &RuleArg| match (&x.ty, &o.ty) {
        (Type::Tensor(e), _) => Some(*e),
        (t, Type::Tensor(oe)) => TE::with_scalar(t, *oe),
        _ => None,
    };
    let matmul = call.name.ends_with("matmul");
    match (te(&a, &b), te(&b, &a)) {
        (Some(x), Some(y)) => {
            let p = TE::promote(x, y).max(TE::I64);
            tensor(if matmul {
                p
            } else {
                p.max(if x == TE::Bool && y == TE::Bool { TE::Bool } else { TE::I64 })
            })
        }
        _ => {
            if a.ty != Type::Unknown && b.ty != Type::Unknown {
                let fname = call.name.clone();
                call.error(N0200, format!("`{fname}` needs at least one tensor"), call.span);
            }
            Some(Type::Unknown)
        }
    }
}

fn two_tensors(call: &mut RuleCall) -> Option<Type> {
    expect(call, "a", Kind::Tensor);
    expect(call, "b", Kind::Tensor);
    None
}

// ---------------------------------------------------------------------------------------------
// elementwise and reductions

/// The element type of an elementwise function of a `te` tensor.
fn unary_result(name: &str, te: TE) -> TE {
    match name {
        "abs" | "relu" if te != TE::Bool => te,
        "abs" | "relu" => TE::I64,
        "floor" | "ceil" | "round" if te == TE::I64 => te,
        "logical_not" => TE::Bool,
        _ => te.float_of(),
    }
}

/// The last dotted part of the call's name: `tensor.exp` -> `exp`.
fn short(call: &RuleCall) -> String {
    call.name.rsplit('.').next().unwrap_or("").to_string()
}

fn fn_unary(call: &mut RuleCall) -> Option<Type> {
    expect(call, "t", Kind::Tensor);
    let te = elem(call, "t").unwrap_or(TE::F64);
    tensor(unary_result(&short(call), te))
}

fn method_unary(call: &mut RuleCall) -> Option<Type> {
    tensor(unary_result(&short(call), receiver(call)))
}

fn fn_softmax(call: &mut RuleCall) -> Option<Type> {
    expect(call, "t", Kind::Tensor);
    tensor(elem(call, "t").unwrap_or(TE::F64).float_of())
}

fn method_softmax(call: &mut RuleCall) -> Option<Type> {
    tensor(receiver(call).float_of())
}

fn fn_clip(call: &mut RuleCall) -> Option<Type> {
    expect(call, "t", Kind::Tensor);
    expect(call, "min", Kind::OptNum);
    expect(call, "max", Kind::OptNum);
    tensor(elem(call, "t").unwrap_or(TE::F64))
}

fn method_clip(call: &mut RuleCall) -> Option<Type> {
    expect(call, "min", Kind::OptNum);
    expect(call, "max", Kind::OptNum);
    None
}

/// A reduction of a `te` tensor: with no `axis` and no `keepdims`, a scalar.
fn reduction(call: &mut RuleCall, te: TE) -> Option<Type> {
    expect(call, "axis", Kind::Axes);
    let res = match short(call).as_str() {
        "sum" | "prod" => te.max(TE::I64),
        "min" | "max" => te,
        "mean" | "std" | "var" => te.float_of(),
        "argmin" | "argmax" => TE::I64,
        _ => TE::Bool,
    };
    let scalar = !call.arg("axis").given && !call.arg("keepdims").given;
    Some(if scalar { elem_scalar(res) } else { Type::Tensor(res) })
}

fn fn_reduction(call: &mut RuleCall) -> Option<Type> {
    expect(call, "t", Kind::Tensor);
    let te = elem(call, "t").unwrap_or(TE::F64);
    reduction(call, te)
}

fn method_reduction(call: &mut RuleCall) -> Option<Type> {
    let te = receiver(call);
    reduction(call, te)
}

// ---------------------------------------------------------------------------------------------
// other methods

fn method_shape(call: &mut RuleCall) -> Option<Type> {
    expect(call, "shape", Kind::Shape);
    None
}

fn method_axes(call: &mut RuleCall) -> Option<Type> {
    expect(call, "axes", Kind::Shape);
    None
}

fn astype(call: &mut RuleCall) -> Option<Type> {
    match dtype(call, "dtype") {
        Some(d) => tensor(d),
        None => Some(Type::Unknown),
    }
}

fn item(call: &mut RuleCall) -> Option<Type> {
    Some(elem_scalar(receiver(call)))
}

fn to_list(call: &mut RuleCall) -> Option<Type> {
    Some(Type::list(elem_scalar(receiver(call))))
}

fn to_lists(call: &mut RuleCall) -> Option<Type> {
    Some(Type::list(Type::list(elem_scalar(receiver(call)))))
}

fn fill(call: &mut RuleCall) -> Option<Type> {
    expect(call, "value", Kind::Operand);
    None
}

fn method_matmul(call: &mut RuleCall) -> Option<Type> {
    expect(call, "other", Kind::Tensor);
    let te = receiver(call);
    match elem(call, "other") {
        Some(o) => tensor(TE::promote(te, o).max(TE::I64)),
        None => Some(Type::Unknown),
    }
}

/// `t.pow(x)`: as `t ** x`.
fn method_pow(call: &mut RuleCall) -> Option<Type> {
    expect(call, "exponent", Kind::Operand);
    let te = receiver(call);
    let other = match call.arg("exponent").ty.clone() {
        Type::Tensor(o) => Some(o),
        t => TE::with_scalar(&t, te),
    };
    match other {
        Some(o) => tensor(TE::promote(te, o).max(TE::I64)),
        None => Some(Type::Unknown),
    }
}

// ---------------------------------------------------------------------------------------------
// std.linalg

fn linalg(call: &mut RuleCall) -> Option<Type> {
    expect(call, "a", Kind::Tensor);
    let two = call.args.iter().any(|a| a.name == "b");
    if two {
        expect(call, "b", Kind::Tensor);
    }
    let mut e = elem(call, "a").unwrap_or(TE::F64).float_of();
    if two {
        e = TE::promote(e, elem(call, "b").unwrap_or(TE::F64)).float_of();
    }
    let t = Type::Tensor(e);
    Some(match short(call).as_str() {
        "det" | "norm" => Type::Float,
        "qr" | "eigh" => Type::Tuple(vec![t.clone(), t]),
        "svd" => Type::Tuple(vec![t.clone(), t.clone(), t]),
        _ => t,
    })
}
