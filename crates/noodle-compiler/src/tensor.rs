//! Tensors in the checker: what the language itself gives `tensor[E]` (its operators, its
//! subscripts, list literals where a tensor is expected), compiled to the `std.tensor`
//! natives that implement them (`tensor.__binary`, `tensor.__get`, ...). The element type is
//! static; shapes are checked at run time by the natives. Tensor functions and methods are
//! declared by `std.tensor` (`noodle-std/src/tensor/tensor.noodle`), whose rules type them.

use crate::codes::{N0200, N0203, N0207};
use crate::builder::Reg;
use crate::compiler::Compiler;
use crate::types::{Type, TE};
use noodle_nbc::{Const, Op};
use noodle_syntax::ast::{BinOp, Expr, ExprKind, UnOp};
use noodle_syntax::{Diagnostic, Span};

/// The elementwise functions, by their `tensor.__unary` code.
const UNARY: &[&str] = &["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "floor", "ceil", "round", "logical_not"];

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


impl Compiler {
    /// `a op b` where at least one side is a tensor. Both operands are in registers.
    pub fn tensor_binary(&mut self, op: BinOp, (ra, ta): (Reg, Type), (rb, tb): (Reg, Type), d: Reg, span: Span) -> (Reg, Type) {
        let te_of = |t: &Type, other: Option<TE>| match (t, other) {
            (Type::Tensor(e), _) => Some(*e),
            (t, Some(o)) => TE::with_scalar(t, o),
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
        self.call_tensor_native("tensor.__binary", &[Some(ra), Some(rb)], Some(code), d);
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
        self.call_tensor_native("tensor.__unary", &[Some(r)], Some(code), d);
        (d, Type::Tensor(res))
    }

    /// `t[...]`: a view. Integers pick an axis, slices `a:b:c` keep it.
    pub fn tensor_index(&mut self, r: Reg, index: &Expr, dst: Option<Reg>) -> Reg {
        let (base, argc) = self.subscript_args(r, index, None);
        let n = self.native("tensor.__get");
        self.emit(Op::CallNative { base, native: n, argc });
        self.to_dst(base, dst)
    }

    /// `t[...] = value`: writes through the view (every view of the buffer sees it).
    pub fn tensor_store(&mut self, r: Reg, index: &Expr, value: &Expr) {
        let (vr, vt) = self.expr(value, None, None);
        let vt = self.subst.resolve(&vt);
        self.check_operand(&vt, value.span, "the assigned value");
        let (base, argc) = self.subscript_args(r, index, Some(vr));
        let n = self.native("tensor.__set");
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
            t => TE::with_scalar(t, te),
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
        self.call_tensor_native("tensor.__inplace", &[Some(rt), Some(rv)], Some(code), d);
    }

    fn check_operand(&mut self, t: &Type, span: Span, what: &str) {
        if !matches!(t, Type::Tensor(_) | Type::Int | Type::Float | Type::Bool | Type::Unknown) {
            let shown = self.show(t);
            self.error(N0200, format!("{what} must be a tensor or a number, found `{shown}`"), span);
        }
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
