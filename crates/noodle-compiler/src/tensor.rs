//! Tensors in the checker: `tensor[f32]`-style types, operators, subscripts, methods and the
//! `std.tensor` / `std.linalg` functions. The element type is static; shapes are checked at run
//! time by the natives (`tensor.*`, `linalg.*`), which this module calls.

use crate::codes::{N0106, N0200, N0201, N0202, N0203, N0207, N0230};
use crate::builder::Reg;
use crate::compiler::{Compiler, NameRes};
use crate::types::{Type, TE};
use noodle_nbc::{Const, Op};
use noodle_syntax::ast::{Arg, BinOp, Expr, ExprKind, Ident, UnOp};
use noodle_syntax::{Diagnostic, Span};

/// What a parameter of a tensor function accepts.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum K {
    /// A tensor of any element type.
    Tensor,
    /// A tensor or a number (int, float, bool).
    Operand,
    Int,
    Float,
    Bool,
    Str,
    /// `int` or none.
    OptInt,
    /// A number or none.
    OptNum,
    /// `int` or `list[int]`.
    Shape,
    /// none, `int` or `list[int]`.
    Axes,
    /// A dtype known at compile time: `tensor.f32` or `"f32"`.
    DType,
    /// `list[tensor[...]]`.
    Tensors,
    /// Nested lists of numbers or bools.
    Nested,
    /// `str` or none.
    OptStr,
    /// A number of seconds or none.
    OptFloat,
    /// Query parameters: a list (positional) or a `dict[str, ...]` (named), or none.
    Params,
    /// A list of parameter lists or dicts (`execute_many`).
    ParamRows,
}

/// A parameter's default when it is not given.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum D {
    Req,
    None,
    Int(i64),
    Float(f64),
    Bool(bool),
}

pub(crate) struct P(pub &'static str, pub K, pub D);

/// What the arguments turned out to be.
pub(crate) struct Given {
    pub given: bool,
    pub ty: Type,
    pub dtype: Option<TE>,
}

pub const DTYPE_NAMES: &[&str] = &["f32", "f64", "i64", "bool"];


/// Every function of `std.linalg`.
pub const LINALG_FUNCS: &[&str] = &["solve", "inv", "det", "qr", "cholesky", "svd", "eigh", "norm", "lstsq"];

/// Elementwise functions shared by methods (`t.exp()`) and `std.tensor` (`tensor.exp(t)`).
const UNARY: &[&str] = &["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "floor", "ceil", "round", "logical_not"];

const REDUCTIONS: &[&str] = &["sum", "mean", "min", "max", "prod", "std", "var", "argmin", "argmax", "any", "all"];

/// Method and property names of tensors, for "did you mean" hints.
const METHODS: &[&str] = &[
    "shape", "ndim", "dtype", "size", "device", "T", "reshape", "transpose", "permute", "squeeze", "unsqueeze", "broadcast_to",
    "contiguous", "is_contiguous", "copy", "astype", "item", "to_list", "to_lists", "exp", "log", "sqrt", "abs", "sin", "cos",
    "tanh", "sigmoid", "relu", "floor", "ceil", "round", "logical_not", "clip", "softmax", "sum", "mean", "min", "max", "prod",
    "std", "var", "argmin", "argmax", "any", "all", "sort", "argsort", "topk", "fill", "matmul", "pow", "len",
];

/// Natives the compiler may call for tensors (checked against the VM by a test).
pub fn native_names() -> Vec<&'static str> {
    let mut v = vec![
        "tensor.from_list", "tensor.zeros", "tensor.ones", "tensor.full", "tensor.eye", "tensor.arange", "tensor.linspace",
        "tensor.rand", "tensor.randn", "tensor.randint", "tensor.where", "tensor.concat", "tensor.stack", "tensor.split",
        "tensor.allclose", "tensor.array_equal", "tensor.get", "tensor.set", "tensor.shape", "tensor.ndim", "tensor.dtype",
        "tensor.size", "tensor.device", "tensor.transpose", "tensor.reshape", "tensor.permute", "tensor.squeeze",
        "tensor.unsqueeze", "tensor.broadcast_to", "tensor.contiguous", "tensor.is_contiguous", "tensor.copy", "tensor.astype",
        "tensor.item", "tensor.to_list", "tensor.to_lists", "tensor.clip", "tensor.softmax", "tensor.sort", "tensor.argsort",
        "tensor.topk", "tensor.fill", "tensor.binary", "tensor.inplace", "tensor.unary", "tensor.reduce",
    ];
    v.extend(LINALG_FUNCS.iter().map(|f| linalg_native(f)));
    v
}

fn linalg_native(f: &str) -> &'static str {
    match f {
        "solve" => "linalg.solve",
        "inv" => "linalg.inv",
        "det" => "linalg.det",
        "qr" => "linalg.qr",
        "cholesky" => "linalg.cholesky",
        "svd" => "linalg.svd",
        "eigh" => "linalg.eigh",
        "norm" => "linalg.norm",
        _ => "linalg.lstsq",
    }
}

/// The operator code passed to `tensor.binary` / `tensor.inplace` (the VM's table matches).
pub fn binop_code(op: BinOp) -> Option<i64> {
    Some(match op {
        BinOp::Add => 0,
        BinOp::Sub => 1,
        BinOp::Mul => 2,
        BinOp::Div => 3,
        BinOp::FloorDiv => 4,
        BinOp::Mod => 5,
        BinOp::Pow => 6,
        BinOp::Eq => 7,
        BinOp::Ne => 8,
        BinOp::Lt => 9,
        BinOp::Le => 10,
        BinOp::Gt => 11,
        BinOp::Ge => 12,
        BinOp::BitAnd => 13,
        BinOp::BitOr => 14,
        BinOp::BitXor => 15,
        BinOp::MatMul => 16,
        _ => return None,
    })
}

/// Codes 17 and 18 are `maximum` and `minimum` (functions, not operators).
const MAXIMUM: i64 = 17;
const MINIMUM: i64 = 18;

/// The element type of the result of `a op b`, or an error text.
fn binary_result(op: BinOp, a: TE, b: TE) -> Result<TE, String> {
    let p = TE::promote(a, b);
    Ok(match op {
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => TE::Bool,
        BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor => {
            if p > TE::I64 {
                return Err(format!("`{}` needs bool or i64 tensors", op.text()));
            }
            p
        }
        BinOp::Div => p.float_of(),
        BinOp::MatMul => p.max(TE::I64),
        _ => p.max(TE::I64),
    })
}

/// The element type a scalar of type `t` takes next to a tensor of `te` (Python scalars do not
/// widen a tensor within its kind: `f32 tensor * 2.0` stays f32).
fn scalar_meets(t: &Type, te: TE) -> Option<TE> {
    Some(match t {
        Type::Bool => te,
        Type::Int => te.max(TE::I64),
        Type::Float => {
            if te.is_float() {
                te
            } else {
                TE::F64
            }
        }
        _ => return None,
    })
}

fn elem_scalar(te: TE) -> Type {
    match te {
        TE::Bool => Type::Bool,
        TE::I64 => Type::Int,
        _ => Type::Float,
    }
}

impl Compiler {
    /// `a op b` where at least one side is a tensor. Both operands are in registers.
    pub fn tensor_binary(&mut self, op: BinOp, (ra, ta): (Reg, Type), (rb, tb): (Reg, Type), d: Reg, span: Span) -> (Reg, Type) {
        let te_of = |t: &Type, other: Option<TE>| match (t, other) {
            (Type::Tensor(e), _) => Some(*e),
            (t, Some(o)) => scalar_meets(t, o),
            _ => None,
        };
        let (ea, eb) = match (&ta, &tb) {
            (Type::Tensor(x), Type::Tensor(y)) => (Some(*x), Some(*y)),
            (Type::Tensor(x), t) => (Some(*x), te_of(t, Some(*x))),
            (t, Type::Tensor(y)) => (te_of(t, Some(*y)), Some(*y)),
            _ => (None, None),
        };
        let code = binop_code(op);
        let (Some(ea), Some(eb), Some(code)) = (ea, eb, code) else {
            let (x, y) = (self.show(&ta), self.show(&tb));
            let mut d2 = Diagnostic::error(N0203, format!("operator `{}` cannot be applied to `{x}` and `{y}`", op.text()), span);
            if matches!(op, BinOp::And | BinOp::Or) {
                d2 = d2.hint("for elementwise logic on tensors use `&`, `|` and `^`");
            } else if matches!(op, BinOp::In | BinOp::NotIn) {
                d2 = d2.hint("use `(t == x).any()` to test whether a tensor holds a value");
            } else {
                d2 = d2.hint("tensors combine with tensors and with int, float or bool scalars");
            }
            self.diags.push(d2);
            return (d, Type::Unknown);
        };
        if op == BinOp::MatMul && !(matches!(ta, Type::Tensor(_)) && matches!(tb, Type::Tensor(_))) {
            self.error(N0203, "operator `@` needs a tensor on both sides", span).hint("multiply by a scalar with `*`");
            return (d, Type::Unknown);
        }
        let res = match binary_result(op, ea, eb) {
            Ok(r) => r,
            Err(msg) => {
                let (x, y) = (self.show(&ta), self.show(&tb));
                self.error(N0203, format!("operator `{}` cannot be applied to `{x}` and `{y}`: {msg}", op.text()), span);
                return (d, Type::Unknown);
            }
        };
        self.call_tensor_native("tensor.binary", &[Some(ra), Some(rb)], Some(code), d);
        (d, Type::Tensor(res))
    }

    /// Calls a native with register arguments and an optional trailing int constant.
    fn call_tensor_native(&mut self, native: &str, regs: &[Option<Reg>], code: Option<i64>, d: Reg) {
        let n = regs.len() + code.is_some() as usize;
        let base = self.b().alloc(n as u32 + 1);
        for (i, r) in regs.iter().enumerate() {
            match r {
                Some(r) => self.emit(Op::Move { dst: base + 1 + i as u16, src: *r }),
                None => self.emit(Op::LoadNone { dst: base + 1 + i as u16 }),
            };
        }
        if let Some(c) = code {
            self.load_const(Const::Int(c), Some(base + 1 + regs.len() as u16));
        }
        let nat = self.native(native);
        self.emit(Op::CallNative { base, native: nat, argc: n as u8 });
        if d != base {
            self.emit(Op::Move { dst: d, src: base });
        }
    }

    /// `-t`, `~t` (logical not of a bool tensor) and `abs`-like unary operators on tensors.
    pub fn tensor_unary(&mut self, op: UnOp, r: Reg, te: TE, d: Reg, span: Span) -> (Reg, Type) {
        let (name, res) = match (op, te) {
            (UnOp::Neg, TE::Bool) | (UnOp::Not, _) => {
                let shown = self.show(&Type::Tensor(te));
                let hint = if op == UnOp::Not { "use `~t` for the elementwise logical not of a bool tensor" } else { "convert first: `t.astype(tensor.i64)`" };
                self.error(N0203, format!("operator `{}` cannot be applied to `{shown}`", if op == UnOp::Neg { "-" } else { "not" }), span).hint(hint);
                return (d, Type::Unknown);
            }
            (UnOp::Neg, _) => ("neg", te),
            (UnOp::BitNot, TE::Bool) => ("logical_not", TE::Bool),
            (UnOp::BitNot, _) => {
                self.error(N0203, format!("operator `~` needs a `tensor[bool]`, found `{}`", self.show(&Type::Tensor(te))), span).hint("compare first, e.g. `~(t > 0)`");
                return (d, Type::Unknown);
            }
        };
        let code = unary_code(name);
        self.call_tensor_native("tensor.unary", &[Some(r)], Some(code), d);
        (d, Type::Tensor(res))
    }

    /// `t[...]`: a view. Integers pick an axis, slices `a:b:c` keep it.
    pub fn tensor_index(&mut self, r: Reg, index: &Expr, dst: Option<Reg>) -> Reg {
        let (base, argc) = self.subscript_args(r, index, None);
        let n = self.native("tensor.get");
        self.emit(Op::CallNative { base, native: n, argc });
        self.to_dst(base, dst)
    }

    /// `t[...] = value`: writes through the view (every view of the buffer sees it).
    pub fn tensor_store(&mut self, r: Reg, index: &Expr, value: &Expr) {
        let (vr, vt) = self.expr(value, None, None);
        let vt = self.subst.resolve(&vt);
        self.check_operand(&vt, value.span, "the assigned value");
        let (base, argc) = self.subscript_args(r, index, Some(vr));
        let n = self.native("tensor.set");
        self.emit(Op::CallNative { base, native: n, argc });
    }

    /// Lays out `[result, t, (value), mask, a0, b0, c0, a1, ...]`: bit k of `mask` says entry k
    /// is a slice (`start, stop, step`, each none when absent); otherwise `a` is its index.
    fn subscript_args(&mut self, r: Reg, index: &Expr, value: Option<Reg>) -> (Reg, u8) {
        let items: Vec<&Expr> = match &index.kind {
            ExprKind::Tuple(items) => items.iter().collect(),
            _ => vec![index],
        };
        let fixed = 2 + value.is_some() as usize;
        let base = self.b().alloc((fixed + 3 * items.len()) as u32 + 1);
        self.emit(Op::Move { dst: base + 1, src: r });
        if let Some(v) = value {
            self.emit(Op::Move { dst: base + 2, src: v });
        }
        let mask_reg = base + fixed as u16;
        let mut mask: i64 = 0;
        for (k, item) in items.iter().enumerate() {
            let at = base + (fixed + 1 + 3 * k) as u16;
            match &item.kind {
                ExprKind::SliceItem { start, stop, step } => {
                    // more than 32 entries is reported below; the mask only has room for 32
                    if k < 32 {
                        mask |= 1 << k;
                    }
                    for (j, part) in [start, stop, step].into_iter().enumerate() {
                        match part {
                            Some(e) => {
                                self.expr_coerce(e, Some(at + j as u16), &Type::Int);
                            }
                            None => {
                                self.emit(Op::LoadNone { dst: at + j as u16 });
                            }
                        }
                    }
                }
                _ => {
                    self.expr_coerce(item, Some(at), &Type::Int);
                    self.emit(Op::LoadNone { dst: at + 1 });
                    self.emit(Op::LoadNone { dst: at + 2 });
                }
            }
        }
        if items.len() > 32 {
            self.error(N0207, "a tensor subscript has at most 32 entries", index.span);
        }
        self.load_const(Const::Int(mask), Some(mask_reg));
        (base, (fixed + 3 * items.len()) as u8)
    }

    /// `a op= b` on a tensor: in place, through the view (NumPy semantics).
    pub fn tensor_inplace(&mut self, op: BinOp, target: &Expr, te: TE, value: &Expr, span: Span) {
        let (rt, _) = self.expr(target, None, None);
        let (rv, tv) = self.expr(value, None, None);
        let tv = self.subst.resolve(&tv);
        let ev = match &tv {
            Type::Tensor(e) => Some(*e),
            t => scalar_meets(t, te),
        };
        let Some(ev) = ev else {
            let (x, y) = (self.show(&Type::Tensor(te)), self.show(&tv));
            self.error(N0203, format!("operator `{}=` cannot be applied to `{x}` and `{y}`", op.text()), span);
            return;
        };
        let Some(code) = binop_code(op) else {
            return;
        };
        match binary_result(op, te, ev) {
            Ok(res) if res == te || op == BinOp::MatMul => {}
            Ok(res) => {
                let (x, r) = (self.show(&Type::Tensor(te)), self.show(&Type::Tensor(res)));
                self.error(N0203, format!("`{}=` would turn `{x}` into `{r}` in place", op.text()), span)
                    .hint(format!("in-place operations keep the element type; write `t = t {} x` for a new tensor", op.text()));
                return;
            }
            Err(msg) => {
                self.error(N0203, format!("operator `{}=`: {msg}", op.text()), span);
                return;
            }
        }
        let d = self.b().temp();
        self.call_tensor_native("tensor.inplace", &[Some(rt), Some(rv)], Some(code), d);
    }

    fn check_operand(&mut self, t: &Type, span: Span, what: &str) {
        if !matches!(t, Type::Tensor(_) | Type::Int | Type::Float | Type::Bool | Type::Unknown) {
            let shown = self.show(t);
            self.error(N0200, format!("{what} must be a tensor or a number, found `{shown}`"), span);
        }
    }

    /// `t.shape`, `t.T`, ...: properties of a tensor.
    pub fn tensor_field(&mut self, r: Reg, te: TE, name: &Ident, dst: Option<Reg>) -> Option<(Reg, Type)> {
        let (native, ty) = match name.name.as_str() {
            "shape" => ("tensor.shape", Type::list(Type::Int)),
            "ndim" => ("tensor.ndim", Type::Int),
            "size" => ("tensor.size", Type::Int),
            "dtype" => ("tensor.dtype", Type::Str),
            "device" => ("tensor.device", Type::Str),
            "T" => ("tensor.transpose", Type::Tensor(te)),
            _ => return None,
        };
        let d = self.dst(dst);
        self.call_tensor_native(native, &[Some(r)], None, d);
        Some((d, ty))
    }

    /// Compiles arguments against a parameter list into consecutive registers after `base + 1`
    /// (after the receiver, when there is one).
    pub(crate) fn native_args(&mut self, fname: &str, recv: Option<Reg>, params: &[P], args: &[Arg], span: Span, extra: usize) -> (Reg, Vec<Given>) {
        let off = recv.is_some() as usize;
        // `extra` registers after the arguments are for constants the caller adds
        let base = self.b().alloc((params.len() + off + extra) as u32 + 1);
        if let Some(r) = recv {
            self.emit(Op::Move { dst: base + 1, src: r });
        }
        let mut slots: Vec<Option<&Expr>> = vec![None; params.len()];
        let mut seen_named = false;
        for (i, a) in args.iter().enumerate() {
            match &a.name {
                None if seen_named => {
                    self.error(N0202, "positional argument after a named argument", a.value.span).hint("put positional arguments first");
                }
                None if i < params.len() => slots[i] = Some(&a.value),
                None => {
                    self.error(N0201, format!("`{fname}` takes {} argument{} but {} were given", params.len(), if params.len() == 1 { "" } else { "s" }, args.len()), span)
                        .label("too many arguments");
                    break;
                }
                Some(n) => {
                    seen_named = true;
                    match params.iter().position(|p| p.0 == n.name) {
                        Some(pi) if slots[pi].is_none() => slots[pi] = Some(&a.value),
                        Some(_) => {
                            self.error(N0202, format!("argument `{}` is given twice", n.name), n.span);
                        }
                        None => {
                            let cands: Vec<&str> = params.iter().map(|p| p.0).collect();
                            let mut d = Diagnostic::error(N0202, format!("`{fname}` has no parameter named `{}`", n.name), n.span);
                            if let Some(s) = crate::compiler::suggest(&n.name, &cands) {
                                d = d.hint(format!("did you mean `{s}`?"));
                            }
                            self.diags.push(d);
                        }
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (i, (p, slot)) in params.iter().zip(slots).enumerate() {
            let reg = base + 1 + (off + i) as u16;
            let Some(e) = slot else {
                match p.2 {
                    D::Req => {
                        self.error(N0201, format!("`{fname}` is missing argument `{}`", p.0), span).label(format!("`{}` is required", p.0));
                    }
                    D::None => {
                        self.emit(Op::LoadNone { dst: reg });
                    }
                    D::Int(v) => {
                        self.load_const(Const::Int(v), Some(reg));
                    }
                    D::Float(v) => {
                        self.load_const(Const::Float(v), Some(reg));
                    }
                    D::Bool(b) => {
                        self.emit(if b { Op::LoadTrue { dst: reg } } else { Op::LoadFalse { dst: reg } });
                    }
                }
                if p.2 == D::Req {
                    self.emit(Op::LoadNone { dst: reg });
                }
                out.push(Given { given: false, ty: Type::Unknown, dtype: None });
                continue;
            };
            if matches!(p.1, K::Params | K::ParamRows) {
                let ty = self.db_params_arg(e, reg, p.1 == K::ParamRows, fname, p.0);
                out.push(Given { given: true, ty, dtype: None });
                continue;
            }
            if p.1 == K::DType {
                let dt = self.static_dtype(e);
                let name = dt.map(|d| d.name()).unwrap_or("f64");
                self.load_const(Const::Str(name.to_string()), Some(reg));
                out.push(Given { given: true, ty: Type::Str, dtype: dt });
                continue;
            }
            let expected = match p.1 {
                K::Int => Some(Type::Int),
                K::Float => Some(Type::Float),
                K::Bool => Some(Type::Bool),
                K::Str => Some(Type::Str),
                K::OptInt => Some(Type::optional(Type::Int)),
                K::OptStr => Some(Type::optional(Type::Str)),
                K::OptFloat => Some(Type::optional(Type::Float)),
                _ => None,
            };
            let ty = self.arg_into(e, reg, expected);
            let ok = match p.1 {
                K::Tensor => matches!(ty, Type::Tensor(_)),
                K::Operand => matches!(ty, Type::Tensor(_) | Type::Int | Type::Float | Type::Bool),
                K::OptNum => matches!(ty, Type::Int | Type::Float | Type::None) || matches!(&ty, Type::Optional(i) if matches!(**i, Type::Int | Type::Float)),
                K::Shape => ty == Type::Int || ty == Type::list(Type::Int),
                K::Axes => matches!(ty, Type::Int | Type::None) || ty == Type::list(Type::Int),
                K::Tensors => matches!(&ty, Type::List(e) if matches!(**e, Type::Tensor(_))),
                K::Nested => nested_elem(&ty).is_some(),
                _ => true,
            } || ty == Type::Unknown;
            if !ok {
                let want = match p.1 {
                    K::Tensor => "a tensor",
                    K::Operand => "a tensor or a number",
                    K::OptNum => "a number or none",
                    K::Shape => "a shape (`int` or `list[int]`)",
                    K::Axes => "an axis (`int` or `list[int]`)",
                    K::Tensors => "a `list[tensor[...]]`",
                    _ => "a (nested) list of numbers or bools",
                };
                let shown = self.show(&ty);
                self.error(N0200, format!("argument `{}` of `{fname}` must be {want}, found `{shown}`", p.0), e.span);
            }
            let dtype = match &ty {
                Type::Tensor(t) => Some(*t),
                Type::List(e) => match &**e {
                    Type::Tensor(t) => Some(*t),
                    _ => nested_elem(&ty),
                },
                _ => None,
            };
            out.push(Given { given: true, ty, dtype });
        }
        (base, out)
    }

    /// Compiles a native's argument into `reg`: checked against `expected` when there is one,
    /// otherwise its own (resolved) type.
    pub(crate) fn arg_into(&mut self, e: &Expr, reg: Reg, expected: Option<Type>) -> Type {
        match expected {
            Some(t) => {
                self.expr_coerce(e, Some(reg), &t);
                t
            }
            None => {
                let (_, t) = self.expr(e, Some(reg), None);
                self.subst.resolve(&t)
            }
        }
    }

    /// The dtype an argument names: `tensor.f32`, `f32` imported from std.tensor, or `"f32"`.
    pub(crate) fn static_dtype(&mut self, e: &Expr) -> Option<TE> {
        let name = match &e.kind {
            ExprKind::Str(s) => Some(s.clone()),
            ExprKind::Field { target, name, .. } => match &target.kind {
                ExprKind::Name(m) if matches!(self.resolve(m), NameRes::Std("std.tensor")) => Some(name.name.clone()),
                _ => None,
            },
            ExprKind::Name(n) => match self.resolve(n) {
                NameRes::Std(s) => s.strip_prefix("std.tensor::").map(|s| s.to_string()),
                _ => None,
            },
            _ => None,
        };
        match name.as_deref().and_then(TE::from_name) {
            Some(t) => Some(t),
            None => {
                self.error(N0230, "a dtype must be written out: `tensor.f32`, `tensor.f64`, `tensor.i64` or `tensor.bool`", e.span)
                    .label("not a dtype known at compile time")
                    .hint("the element type of a tensor is part of its static type, so it cannot come from a variable");
                None
            }
        }
    }

    pub(crate) fn emit_native(&mut self, native: &str, base: Reg, argc: usize, dst: Option<Reg>) -> Reg {
        let n = self.native(native);
        self.emit(Op::CallNative { base, native: n, argc: argc as u8 });
        self.to_dst(base, dst)
    }

    /// `t.name(args)` on a tensor.
    pub fn tensor_method(&mut self, r: Reg, te: TE, name: &Ident, args: &[Arg], dst: Option<Reg>, span: Span) -> (Reg, Type) {
        let m = name.name.as_str();
        let same = Type::Tensor(te);
        let fname = format!("tensor.{m}");
        if UNARY.contains(&m) {
            if !args.is_empty() {
                self.error(N0201, format!("`{fname}` takes no arguments"), span);
            }
            return self.tensor_method_on_reg(r, te, m, dst, span);
        }
        if REDUCTIONS.contains(&m) {
            return self.reduction(m, Some(r), Some(te), args, dst, span);
        }
        if m == "len" {
            if !args.is_empty() {
                self.error(N0201, "`len` takes no arguments", span);
            }
            let d = self.dst(dst);
            self.emit(Op::Len { dst: d, src: r });
            return (d, Type::Int);
        }
        let (native, params, ret): (&str, Vec<P>, Type) = match m {
            "reshape" => ("tensor.reshape", vec![P("shape", K::Shape, D::Req)], same.clone()),
            "transpose" => ("tensor.transpose", vec![], same.clone()),
            "permute" => ("tensor.permute", vec![P("axes", K::Shape, D::Req)], same.clone()),
            "squeeze" => ("tensor.squeeze", vec![P("axis", K::OptInt, D::None)], same.clone()),
            "unsqueeze" => ("tensor.unsqueeze", vec![P("axis", K::Int, D::Req)], same.clone()),
            "broadcast_to" => ("tensor.broadcast_to", vec![P("shape", K::Shape, D::Req)], same.clone()),
            "contiguous" => ("tensor.contiguous", vec![], same.clone()),
            "is_contiguous" => ("tensor.is_contiguous", vec![], Type::Bool),
            "copy" => ("tensor.copy", vec![], same.clone()),
            "astype" => ("tensor.astype", vec![P("dtype", K::DType, D::Req)], Type::Unknown),
            "item" => ("tensor.item", vec![], elem_scalar(te)),
            "to_list" => ("tensor.to_list", vec![], Type::list(elem_scalar(te))),
            "to_lists" => ("tensor.to_lists", vec![], Type::list(Type::list(elem_scalar(te)))),
            "clip" => ("tensor.clip", vec![P("min", K::OptNum, D::None), P("max", K::OptNum, D::None)], same.clone()),
            "softmax" => ("tensor.softmax", vec![P("axis", K::Int, D::Int(-1))], Type::Tensor(te.float_of())),
            "sort" => ("tensor.sort", vec![P("axis", K::Int, D::Int(-1)), P("descending", K::Bool, D::Bool(false))], same.clone()),
            "argsort" => ("tensor.argsort", vec![P("axis", K::Int, D::Int(-1)), P("descending", K::Bool, D::Bool(false))], Type::Tensor(TE::I64)),
            "topk" => ("tensor.topk", vec![P("k", K::Int, D::Req)], Type::Tuple(vec![same.clone(), Type::Tensor(TE::I64)])),
            "fill" => ("tensor.fill", vec![P("value", K::Operand, D::Req)], Type::None),
            "matmul" => ("tensor.binary", vec![P("other", K::Tensor, D::Req)], Type::Unknown),
            "pow" => ("tensor.binary", vec![P("exponent", K::Operand, D::Req)], Type::Unknown),
            _ => {
                let shown = self.show(&same);
                let mut d = Diagnostic::error(N0106, format!("`{shown}` has no method `{m}`"), name.span).label("unknown method");
                if let Some(s) = crate::compiler::suggest(m, METHODS) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                for a in args {
                    self.expr(&a.value, None, None);
                }
                return (self.dst(dst), Type::Unknown);
            }
        };
        // `matmul` and `pow` are `tensor.binary` with the operator code as a last argument
        let extra = matches!(m, "matmul" | "pow") as usize;
        let (base, given) = self.native_args(&fname, Some(r), &params, args, span, extra);
        let ret = match m {
            "astype" => given[0].dtype.map(Type::Tensor).unwrap_or(Type::Unknown),
            "matmul" => match given[0].dtype {
                Some(o) => Type::Tensor(TE::promote(te, o).max(TE::I64)),
                None => Type::Unknown,
            },
            "pow" => {
                let other = match &given[0].ty {
                    Type::Tensor(o) => Some(*o),
                    t => scalar_meets(t, te),
                };
                match other.map(|o| binary_result(BinOp::Pow, te, o)) {
                    Some(Ok(r)) => Type::Tensor(r),
                    _ => Type::Unknown,
                }
            }
            _ => ret,
        };
        if extra == 1 {
            let code = if m == "pow" { 6 } else { 16 };
            self.load_const(Const::Int(code), Some(base + 1 + params.len() as u16 + 1));
        }
        (self.emit_native(native, base, params.len() + 1 + extra, dst), ret)
    }

    /// `t.sum()`, `t.sum(axis: 0)`, `tensor.mean(t, keepdims: true)`: with no arguments the
    /// result is a scalar; with an axis or keepdims it is a tensor.
    fn reduction(&mut self, m: &str, recv: Option<Reg>, te: Option<TE>, args: &[Arg], dst: Option<Reg>, span: Span) -> (Reg, Type) {
        let fname = format!("tensor.{m}");
        let mut params = vec![P("axis", K::Axes, D::None), P("keepdims", K::Bool, D::Bool(false))];
        if recv.is_none() {
            params.insert(0, P("t", K::Tensor, D::Req));
        }
        let (base, given) = self.native_args(&fname, recv, &params, args, span, 2);
        let te = te.or(given[0].dtype).unwrap_or(TE::F64);
        let k = given.len();
        let scalar = !given[k - 2].given && !given[k - 1].given;
        let code = REDUCTIONS.iter().position(|r| *r == m).unwrap_or(0) as i64;
        let argc = params.len() + recv.is_some() as usize;
        let extra = base + 1 + argc as u16;
        self.load_const(Const::Int(code), Some(extra));
        self.emit(if scalar { Op::LoadTrue { dst: extra + 1 } } else { Op::LoadFalse { dst: extra + 1 } });
        let res = match m {
            "sum" | "prod" => te.max(TE::I64),
            "min" | "max" => te,
            "mean" | "std" | "var" => te.float_of(),
            "argmin" | "argmax" => TE::I64,
            _ => TE::Bool,
        };
        let ty = if scalar { elem_scalar(res) } else { Type::Tensor(res) };
        (self.emit_native("tensor.reduce", base, argc + 2, dst), ty)
    }

    /// Calls of `std.tensor` and `std.linalg` functions.
    pub fn tensor_std(&mut self, module: &str, item: &str, args: &[Arg], dst: Option<Reg>, span: Span) -> Option<(Reg, Type)> {
        let fname = format!("{}.{item}", module.trim_start_matches("std."));
        if module == "std.linalg" {
            if !LINALG_FUNCS.contains(&item) {
                return None;
            }
            let t = P("a", K::Tensor, D::Req);
            let (params, two) = match item {
                "solve" | "lstsq" => (vec![t, P("b", K::Tensor, D::Req)], true),
                "norm" => (vec![t, P("ord", K::Str, D::None)], false),
                _ => (vec![t], false),
            };
            let (base, given) = self.native_args(&fname, None, &params, args, span, 0);
            let mut e = given[0].dtype.unwrap_or(TE::F64).float_of();
            if two {
                e = TE::promote(e, given[1].dtype.unwrap_or(TE::F64)).float_of();
            }
            let t = Type::Tensor(e);
            let ret = match item {
                "det" | "norm" => Type::Float,
                "qr" | "eigh" => Type::Tuple(vec![t.clone(), t]),
                "svd" => Type::Tuple(vec![t.clone(), t.clone(), t]),
                _ => t,
            };
            return Some((self.emit_native(linalg_native(item), base, params.len(), dst), ret));
        }
        if UNARY.contains(&item) {
            let (base, given) = self.native_args(&fname, None, &[P("t", K::Tensor, D::Req)], args, span, 0);
            let te = given[0].dtype.unwrap_or(TE::F64);
            let r = base + 1;
            let (d, t) = self.tensor_method_on_reg(r, te, item, dst, span);
            return Some((d, t));
        }
        if REDUCTIONS.contains(&item) {
            return Some(self.reduction(item, None, None, args, dst, span));
        }
        let dt = |g: &Given, default: TE| Type::Tensor(g.dtype.unwrap_or(default));
        let (native, params): (&str, Vec<P>) = match item {
            "from_list" => ("tensor.from_list", vec![P("data", K::Nested, D::Req), P("dtype", K::DType, D::None)]),
            "zeros" | "ones" => (if item == "zeros" { "tensor.zeros" } else { "tensor.ones" }, vec![P("shape", K::Shape, D::Req), P("dtype", K::DType, D::None)]),
            "full" => ("tensor.full", vec![P("shape", K::Shape, D::Req), P("value", K::Operand, D::Req), P("dtype", K::DType, D::None)]),
            "eye" => ("tensor.eye", vec![P("n", K::Int, D::Req), P("m", K::OptInt, D::None), P("dtype", K::DType, D::None)]),
            "arange" => ("tensor.arange", vec![P("start", K::Operand, D::Req), P("stop", K::OptNum, D::None), P("step", K::OptNum, D::None), P("dtype", K::DType, D::None)]),
            "linspace" => ("tensor.linspace", vec![P("start", K::Float, D::Req), P("stop", K::Float, D::Req), P("num", K::Int, D::Req), P("dtype", K::DType, D::None)]),
            "rand" | "randn" => (if item == "rand" { "tensor.rand" } else { "tensor.randn" }, vec![P("shape", K::Shape, D::Req), P("seed", K::Int, D::Req), P("dtype", K::DType, D::None)]),
            "randint" => ("tensor.randint", vec![P("low", K::Int, D::Req), P("high", K::Int, D::Req), P("shape", K::Shape, D::Req), P("seed", K::Int, D::Req)]),
            "where" => ("tensor.where", vec![P("cond", K::Tensor, D::Req), P("a", K::Operand, D::Req), P("b", K::Operand, D::Req)]),
            "concat" | "stack" => (if item == "concat" { "tensor.concat" } else { "tensor.stack" }, vec![P("tensors", K::Tensors, D::Req), P("axis", K::Int, D::Int(0))]),
            "split" => ("tensor.split", vec![P("t", K::Tensor, D::Req), P("sections", K::Int, D::Req), P("axis", K::Int, D::Int(0))]),
            "matmul" | "maximum" | "minimum" => ("tensor.binary", vec![P("a", K::Operand, D::Req), P("b", K::Operand, D::Req)]),
            "allclose" => ("tensor.allclose", vec![P("a", K::Tensor, D::Req), P("b", K::Tensor, D::Req), P("rtol", K::Float, D::Float(1e-5)), P("atol", K::Float, D::Float(1e-8))]),
            "array_equal" => ("tensor.array_equal", vec![P("a", K::Tensor, D::Req), P("b", K::Tensor, D::Req)]),
            "softmax" => ("tensor.softmax", vec![P("t", K::Tensor, D::Req), P("axis", K::Int, D::Int(-1))]),
            "clip" => ("tensor.clip", vec![P("t", K::Tensor, D::Req), P("min", K::OptNum, D::None), P("max", K::OptNum, D::None)]),
            _ => return None,
        };
        let binary = matches!(item, "matmul" | "maximum" | "minimum");
        let (base, given) = self.native_args(&fname, None, &params, args, span, binary as usize);
        let mut argc = params.len();
        let ret = match item {
            "from_list" => match (given[1].dtype, given[0].dtype) {
                (Some(d), _) => Type::Tensor(d),
                (None, Some(e)) => Type::Tensor(e),
                _ => Type::Unknown,
            },
            "zeros" | "ones" | "rand" | "randn" => dt(&given[given.len() - 1], TE::F64),
            "eye" | "linspace" => dt(&given[given.len() - 1], TE::F64),
            "full" => match given[2].dtype {
                Some(d) => Type::Tensor(d),
                None => match &given[1].ty {
                    Type::Tensor(e) => Type::Tensor(*e),
                    t => Type::Tensor(scalar_meets(t, TE::Bool).unwrap_or(TE::F64)),
                },
            },
            "arange" => match given[3].dtype {
                Some(d) => Type::Tensor(d),
                None => {
                    let all_int = given[..3].iter().all(|g| !g.given || g.ty == Type::Int);
                    Type::Tensor(if all_int { TE::I64 } else { TE::F64 })
                }
            },
            "randint" => Type::Tensor(TE::I64),
            "where" => {
                let side = |g: &Given, other: Option<TE>| match &g.ty {
                    Type::Tensor(e) => Some(*e),
                    t => scalar_meets(t, other.unwrap_or(TE::Bool)),
                };
                let (ta, tb) = (given[1].dtype, given[2].dtype);
                match (side(&given[1], tb), side(&given[2], ta)) {
                    (Some(a), Some(b)) => Type::Tensor(TE::promote(a, b)),
                    _ => Type::Unknown,
                }
            }
            "concat" | "stack" => dt(&given[0], TE::F64),
            "split" => Type::list(dt(&given[0], TE::F64)),
            "matmul" | "maximum" | "minimum" => {
                let code = match item {
                    "matmul" => 16,
                    "maximum" => MAXIMUM,
                    _ => MINIMUM,
                };
                self.load_const(Const::Int(code), Some(base + 1 + argc as u16));
                argc += 1;
                let ops = (&given[0], &given[1]);
                let te = |g: &Given, o: &Given| match (&g.ty, o.dtype) {
                    (Type::Tensor(e), _) => Some(*e),
                    (t, Some(oe)) => scalar_meets(t, oe),
                    _ => None,
                };
                match (te(ops.0, ops.1), te(ops.1, ops.0)) {
                    (Some(a), Some(b)) => Type::Tensor(if item == "matmul" { TE::promote(a, b).max(TE::I64) } else { TE::promote(a, b).max(TE::I64).max(if a == TE::Bool && b == TE::Bool { TE::Bool } else { TE::I64 }) }),
                    _ => {
                        if !matches!(given[0].ty, Type::Unknown) && !matches!(given[1].ty, Type::Unknown) {
                            self.error(N0200, format!("`{fname}` needs at least one tensor"), span);
                        }
                        Type::Unknown
                    }
                }
            }
            "allclose" | "array_equal" => Type::Bool,
            "softmax" => dt(&given[0], TE::F64).tensor_float(),
            "clip" => dt(&given[0], TE::F64),
            _ => Type::Unknown,
        };
        Some((self.emit_native(native, base, argc, dst), ret))
    }

    /// An elementwise function (`UNARY`) of the tensor in register `r`.
    fn tensor_method_on_reg(&mut self, r: Reg, te: TE, item: &str, dst: Option<Reg>, _span: Span) -> (Reg, Type) {
        let res = match item {
            "abs" | "relu" if te != TE::Bool => te,
            "abs" | "relu" => TE::I64,
            "floor" | "ceil" | "round" if te == TE::I64 => te,
            "logical_not" => TE::Bool,
            _ => te.float_of(),
        };
        let d = self.dst(dst);
        self.call_tensor_native("tensor.unary", &[Some(r)], Some(unary_code(item)), d);
        (d, Type::Tensor(res))
    }

    /// A list literal where a tensor is expected (`let w: tensor[f32] = [[1, 2], [3, 4]]`).
    pub fn list_to_tensor(&mut self, r: Reg, te: TE, d: Reg) {
        let base = self.b().alloc(3);
        self.emit(Op::Move { dst: base + 1, src: r });
        self.load_const(Const::Str(te.name().to_string()), Some(base + 2));
        let n = self.native("tensor.from_list");
        self.emit(Op::CallNative { base, native: n, argc: 2 });
        self.emit(Op::Move { dst: d, src: base });
    }
}

/// The scalar element type of nested lists (`list[list[float]]` -> f64), if they are numeric.
pub fn nested_elem(t: &Type) -> Option<TE> {
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

fn unary_code(name: &str) -> i64 {
    match name {
        "neg" => 100,
        n => UNARY.iter().position(|u| *u == n).unwrap_or(0) as i64,
    }
}

impl Type {
    fn tensor_float(self) -> Type {
        match self {
            Type::Tensor(e) => Type::Tensor(e.float_of()),
            t => t,
        }
    }
}
