//! Expressions: type checking and code generation together.

use noodle_syntax::codes::{N0208, N0215};
use crate::codes::{N0100, N0104, N0102, N0106, N0200, N0201, N0202, N0203, N0204, N0205, N0206, N0207, N0218, N0214, N0220, N0243, N0247};
use crate::builder::{Label, Reg};
use crate::builtins;
use crate::compiler::{CapSource, Compiler, Local, NameRes, ParamInfo, ERROR_STRUCT};
use crate::types::Type;
use std::borrow::Cow;
use noodle_nbc::op::*;
use noodle_nbc::{Const, Op};
use noodle_syntax::ast::{self, Arg, BinOp, Block, Expr, ExprKind, FStrPart, Param, Stmt, TypeExpr, UnOp};
use noodle_syntax::{Diagnostic, Span};

type Narrow = Vec<(String, Type)>;

/// The most parts (types within types) the type of a tuple or dict literal may have (N0220).
pub const MAX_TYPE_SIZE: usize = 10_000;

impl Compiler {
    pub fn dst(&mut self, dst: Option<Reg>) -> Reg {
        match dst {
            Some(r) => r,
            None => self.b().temp(),
        }
    }

    pub fn to_dst(&mut self, r: Reg, dst: Option<Reg>) -> Reg {
        match dst {
            Some(d) if d != r => {
                self.emit(Op::Move { dst: d, src: r });
                d
            }
            _ => r,
        }
    }

    /// Compiles `e` with an expected type, checks it, and widens int to float where needed.
    pub fn expr_coerce(&mut self, e: &Expr, dst: Option<Reg>, expected: &Type) -> Reg {
        // a list literal where a tensor is expected becomes a tensor of that element type
        if let (Type::Tensor(te), ExprKind::List(_)) = (strip_optional(self.subst.resolve(expected)), &e.kind) {
            let (r, t) = self.expr(e, None, None);
            let t = self.subst.resolve(&t);
            if crate::tensor::nested_elem(&t).is_none() && !matches!(&t, Type::List(x) if matches!(**x, Type::Var(_))) {
                self.expect_type(&t, expected, e.span);
            }
            let d = self.dst(dst);
            self.list_to_tensor(r, te, d);
            return d;
        }
        let (r, t) = self.expr(e, dst, Some(expected));
        self.coerce_result(r, t, dst, expected, e.span)
    }

    /// `a op b` computed into `dst` as `expr_coerce` would compute the expression `a op b`
    /// (for `x op= v`, without building that expression).
    pub fn binary_coerce(&mut self, op: BinOp, a: &Expr, b: &Expr, dst: Option<Reg>, expected: &Type, span: Span) -> Reg {
        self.set_line(span);
        let (r, t) = self.binary(op, a, b, dst, span, Some(expected));
        self.coerce_result(r, t, dst, expected, span)
    }

    /// Checks a value of type `t` in `r` against `expected`, widening an int where a float is
    /// expected.
    fn coerce_result(&mut self, r: Reg, t: Type, dst: Option<Reg>, expected: &Type, span: Span) -> Reg {
        self.expect_type(&t, expected, span);
        let t = self.subst.resolve(&t);
        let exp = self.subst.resolve(expected);
        let wants_float = matches!(exp, Type::Float) || matches!(&exp, Type::Optional(i) if **i == Type::Float);
        if wants_float && t == Type::Int {
            let d = match dst {
                Some(d) => d,
                None => self.b().temp(),
            };
            self.emit(Op::IntToFloat { dst: d, src: r });
            return d;
        }
        r
    }

    /// Finds an expression's type without keeping its code (used for assignment targets).
    pub fn peek_type(&mut self, e: &Expr) -> (Reg, Type) {
        let mark = self.b().mark();
        let len = self.b().code.len();
        let ndiag = self.diags.len();
        let r = self.expr(e, None, None);
        self.b().code.truncate(len);
        self.b().lines.truncate(len);
        self.f().dynamic_marks.retain(|(pc, _)| *pc < len);
        self.diags.truncate(ndiag);
        self.b().release(mark);
        r
    }

    pub fn unknown_name(&mut self, n: &str, span: Span) {
        let mut cands: Vec<String> = Vec::new();
        if let Some(f) = self.fns.last() {
            for s in &f.scopes {
                cands.extend(s.iter().map(|(n, _)| n.clone()));
            }
        }
        let m = self.cur_module();
        cands.extend(self.modules[m].symbols.keys().cloned());
        for b in crate::builtins::BUILTIN_FUNCTIONS {
            cands.push(b.to_string());
        }
        let refs: Vec<&str> = cands.iter().map(|s| s.as_str()).collect();
        let mut d = Diagnostic::error(N0100, format!("unknown name `{n}`"), span).label("not found in this scope");
        if let Some(s) = crate::compiler::suggest(n, &refs) {
            d = d.hint(format!("did you mean `{s}`?"));
        } else if n == "True" || n == "False" || n == "None" {
            d = d.hint(format!("Noodle spells it `{}`", n.to_lowercase()));
        } else if let Some(h) = python_hint(n) {
            d = d.hint(h);
        }
        self.diags.push(d);
    }

    /// A named constant's value (a `bool` constant is kept as an int `Const`).
    pub fn load_constant(&mut self, c: &(Const, Type), dst: Option<Reg>) -> Reg {
        match c {
            (Const::Int(b), Type::Bool) => {
                let d = self.dst(dst);
                self.emit(if *b != 0 { Op::LoadTrue { dst: d } } else { Op::LoadFalse { dst: d } });
                d
            }
            (k, _) => self.load_const(k.clone(), dst),
        }
    }

    pub fn load_const(&mut self, c: Const, dst: Option<Reg>) -> Reg {
        let d = self.dst(dst);
        if let Const::Int(v) = c {
            if v >= i32::MIN as i64 && v <= i32::MAX as i64 {
                self.emit(Op::LoadInt { dst: d, val: v as i32 });
                return d;
            }
        }
        let idx = self.konst(c);
        self.emit(Op::LoadConst { dst: d, idx });
        d
    }

    /// `t`, unless it has more than `MAX_TYPE_SIZE` parts (inference variables counted as
    /// what they stand for): then N0220 and `Unknown`. A type is a tree copied where it is
    /// used, so `(a, a)` doubles `a`'s: 24 such steps took minutes and gigabytes before this
    /// limit. Measured where a type can double (tuple and dict literals) and where a value's
    /// type is kept (`let`), before the type is resolved into a tree of its own.
    pub(crate) fn bounded(&mut self, t: Type, span: Span) -> Type {
        fn size(s: &crate::types::Subst, t: &Type, left: &mut usize) -> bool {
            if *left == 0 {
                return false;
            }
            *left -= 1;
            match t {
                Type::Task(x) | Type::List(x) | Type::Set(x) | Type::Optional(x) => size(s, x, left),
                Type::Dict(k, v) => size(s, k, left) && size(s, v, left),
                Type::Tuple(ts) => ts.iter().all(|x| size(s, x, left)),
                Type::Func(ps, r) => ps.iter().all(|x| size(s, x, left)) && size(s, r, left),
                Type::Var(v) => s.get(*v).is_none_or(|b| size(s, b, left)),
                _ => true,
            }
        }
        let mut left = MAX_TYPE_SIZE;
        if size(&self.subst, &t, &mut left) {
            return t;
        }
        self.error(N0220, format!("this value's type is too large (more than {MAX_TYPE_SIZE} parts)"), span)
            .hint("a tuple of tuples of tuples ... doubles its type at each level; use a struct, or a list");
        Type::Unknown
    }

    /// Compiles an expression. `dst`, when given, is where the result must end up.
    pub fn expr(&mut self, e: &Expr, dst: Option<Reg>, expected: Option<&Type>) -> (Reg, Type) {
        // the instructions of `e` that follow its parts (a call after its arguments) are at
        // `e`'s position, not at its last part's
        let outer = self.pos();
        let r = self.expr_here(e, dst, expected);
        self.set_pos(outer);
        r
    }

    fn expr_here(&mut self, e: &Expr, dst: Option<Reg>, expected: Option<&Type>) -> (Reg, Type) {
        self.set_line(e.span);
        match &e.kind {
            ExprKind::Int(v) => (self.load_const(Const::Int(*v), dst), Type::Int),
            ExprKind::Float(v) => (self.load_const(Const::Float(*v), dst), Type::Float),
            ExprKind::Str(s) => (self.load_const(Const::Str(s.clone()), dst), Type::Str),
            ExprKind::Bytes(b) => (self.load_const(Const::Bytes(b.clone()), dst), Type::Bytes),
            ExprKind::Bool(b) => {
                let d = self.dst(dst);
                self.emit(if *b { Op::LoadTrue { dst: d } } else { Op::LoadFalse { dst: d } });
                (d, Type::Bool)
            }
            ExprKind::None => {
                let d = self.dst(dst);
                self.emit(Op::LoadNone { dst: d });
                (d, Type::None)
            }
            ExprKind::Error => (self.dst(dst), Type::Unknown),
            ExprKind::Default { scope, expr } => self.default_expr(*scope, expr, dst, expected),
            ExprKind::Name(n) => self.name_expr(n, e.span, dst),
            ExprKind::SelfRef => {
                if let NameRes::None = self.resolve("self") {
                    self.error(N0215, "`self` can only be used inside a method", e.span).hint("methods are `def`s inside a struct or enum that take `self` first");
                    return (self.dst(dst), Type::Unknown);
                }
                self.name_expr("self", e.span, dst)
            }
            ExprKind::FStr(parts) => self.fstring(parts, dst),
            ExprKind::List(elems) => {
                // where `any` is expected, a literal is a `list[any]` (so `[1, "a"]` fits)
                let want = match expected.map(|t| strip_optional(self.subst.resolve(t))) {
                    Some(Type::List(t)) => Some(*t),
                    Some(Type::Any) => Some(Type::Any),
                    _ => None,
                };
                let (base, et) = self.elements(elems, want, "list");
                let d = self.dst(dst);
                self.emit(Op::NewList { dst: d, base, count: elems.len() as u16 });
                let t = Type::list(et);
                self.mark_if_dynamic(d, &t);
                (d, t)
            }
            ExprKind::Comprehension(c) => self.comprehension(c, dst, expected, e.span),
            ExprKind::Set(elems) => {
                let want = match expected.map(|t| strip_optional(self.subst.resolve(t))) {
                    Some(Type::Set(t)) => Some(*t),
                    Some(Type::Any) => Some(Type::Any),
                    _ => None,
                };
                let (base, et) = self.elements(elems, want, "set");
                if !builtins::hashable(&self.subst.resolve(&et)) {
                    let shown = self.show(&et);
                    self.error(N0200, format!("`{shown}` values cannot be set elements"), e.span).hint("set elements must be int, float, bool, str, bytes, none, tuples of those, or enum/struct values");
                }
                let d = self.dst(dst);
                self.emit(Op::NewSet { dst: d, base, count: elems.len() as u16 });
                let t = Type::Set(Box::new(et));
                self.mark_if_dynamic(d, &t);
                (d, t)
            }
            ExprKind::Dict(entries) => {
                let (wk, wv) = match expected.map(|t| strip_optional(self.subst.resolve(t))) {
                    Some(Type::Dict(k, v)) => (Some(*k), Some(*v)),
                    Some(Type::Any) => (Some(Type::Any), Some(Type::Any)),
                    _ => (None, None),
                };
                let base = self.b().alloc(2 * entries.len() as u32);
                let mut kt = wk.clone().unwrap_or_else(|| self.subst.fresh());
                let mut vt = wv.clone().unwrap_or_else(|| self.subst.fresh());
                // keys and values join as a list's elements do (ints among floats widen)
                let (mut ktypes, mut vtypes) = (Vec::new(), Vec::new());
                for (i, (k, v)) in entries.iter().enumerate() {
                    let kr = base + 2 * i as u16;
                    let (_, t) = self.expr(k, Some(kr), Some(&kt));
                    ktypes.push(self.join_element(i, &mut kt, t, wk.as_ref(), k.span, "dict keys"));
                    let (_, t) = self.expr(v, Some(kr + 1), Some(&vt));
                    vtypes.push(self.join_element(i, &mut vt, t, wv.as_ref(), v.span, "dict values"));
                }
                self.widen_int_elements(&ktypes, &kt, |i| base + 2 * i as u16);
                self.widen_int_elements(&vtypes, &vt, |i| base + 2 * i as u16 + 1);
                if !builtins::hashable(&self.subst.resolve(&kt)) {
                    let shown = self.show(&kt);
                    self.error(N0200, format!("`{shown}` values cannot be dict keys"), e.span);
                }
                let d = self.dst(dst);
                self.emit(Op::NewDict { dst: d, base, count: entries.len() as u16 });
                let t = self.bounded(Type::Dict(Box::new(kt), Box::new(vt)), e.span);
                self.mark_if_dynamic(d, &t);
                (d, t)
            }
            ExprKind::Tuple(elems) => {
                let want: Option<Vec<Type>> = match expected.map(|t| strip_optional(self.subst.resolve(t))) {
                    Some(Type::Tuple(ts)) if ts.len() == elems.len() => Some(ts),
                    _ => None,
                };
                let base = self.b().alloc(elems.len() as u32);
                let mut ts = Vec::new();
                for (i, el) in elems.iter().enumerate() {
                    let r = base + i as u16;
                    match &want {
                        Some(w) => {
                            self.expr_coerce(el, Some(r), &w[i]);
                            ts.push(w[i].clone());
                        }
                        None => ts.push(self.expr(el, Some(r), None).1),
                    }
                }
                let d = self.dst(dst);
                self.emit(Op::NewTuple { dst: d, base, count: elems.len() as u16 });
                (d, self.bounded(Type::Tuple(ts), e.span))
            }
            ExprKind::Unary(op, x) => self.unary(*op, x, dst, e.span),
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, dst, e.span, expected),
            ExprKind::Range { start, end, inclusive } => {
                let base = self.b().alloc(3);
                self.expr_coerce(start, Some(base + 1), &Type::Int);
                self.expr_coerce(end, Some(base + 2), &Type::Int);
                if *inclusive {
                    self.emit(Op::AddIntImm { dst: base + 2, a: base + 2, imm: 1 });
                }
                let n = self.native("range");
                self.emit(Op::CallNative { base, native: n, argc: 2 });
                (self.to_dst(base, dst), Type::list(Type::Int))
            }
            ExprKind::Call { callee, args } => self.call(callee, args, dst, e.span, expected),
            ExprKind::Spawn { options, call } => self.spawn(options, call, dst, e.span),
            ExprKind::Await(x) => self.await_expr(x, dst, e.span),
            ExprKind::Field { target, name, optional } => self.field(target, name, *optional, dst, e.span),
            ExprKind::TupleField { target, index } => {
                let (r, t) = self.expr(target, None, None);
                match self.subst.resolve(&t) {
                    Type::Tuple(ts) => {
                        if (*index as usize) < ts.len() {
                            let d = self.dst(dst);
                            self.emit(Op::GetField { dst: d, obj: r, idx: *index as u16 });
                            (d, ts[*index as usize].clone())
                        } else {
                            self.error(N0106, format!("tuple has {} elements; there is no element {index}", ts.len()), e.span);
                            (self.dst(dst), Type::Unknown)
                        }
                    }
                    Type::Unknown => (self.dst(dst), Type::Unknown),
                    t => {
                        let shown = self.show(&t);
                        self.error(N0106, format!("`{shown}` is not a tuple; `.{index}` needs a tuple"), e.span);
                        (self.dst(dst), Type::Unknown)
                    }
                }
            }
            ExprKind::Index { target, index } => self.index(target, index, dst, e.span),
            ExprKind::SliceItem { .. } => {
                self.error(N0207, "a slice with a step, or a subscript with several entries, can only index a tensor", e.span)
                    .hint("lists, strings and bytes take one index or one `start:end` slice");
                (self.dst(dst), Type::Unknown)
            }
            ExprKind::Slice { target, start, end } => {
                let (r, t) = self.expr(target, None, None);
                let t = self.subst.resolve(&t);
                if let Type::Tensor(_) = t {
                    let item = Expr { kind: ExprKind::SliceItem { start: start.clone(), stop: end.clone(), step: None }, span: e.span };
                    return (self.tensor_index(r, &item, dst), t);
                }
                match &t {
                    Type::List(_) | Type::Str | Type::Bytes => {}
                    Type::Unknown => {}
                    _ => {
                        let shown = self.show(&t);
                        self.error(N0207, format!("`{shown}` cannot be sliced"), target.span).hint("slices work on lists, strings and bytes");
                    }
                }
                let base = self.b().alloc(2);
                match start {
                    Some(s) => {
                        self.expr_coerce(s, Some(base), &Type::Int);
                    }
                    None => {
                        self.emit(Op::LoadNone { dst: base });
                    }
                }
                match end {
                    Some(s) => {
                        self.expr_coerce(s, Some(base + 1), &Type::Int);
                    }
                    None => {
                        self.emit(Op::LoadNone { dst: base + 1 });
                    }
                }
                let d = self.dst(dst);
                self.emit(Op::Slice { dst: d, obj: r, base });
                // a slice of a list is a new list
                self.mark_if_dynamic(d, &t);
                (d, t)
            }
            ExprKind::Unwrap(x) => {
                let (r, t) = self.expr(x, None, None);
                let t = self.subst.resolve(&t);
                let inner = match t {
                    Type::Optional(i) => *i,
                    Type::Unknown => Type::Unknown,
                    Type::Any => Type::Any,
                    other => {
                        self.never_none("`!`", &other, e.span);
                        other
                    }
                };
                let d = self.dst(dst);
                self.emit(Op::Unwrap { dst: d, src: r });
                (d, inner)
            }
            ExprKind::Is(x, te) => {
                let ty = self.resolve_type(te);
                let kind = self.kind_code(&ty, te);
                let (r, _) = self.expr(x, None, None);
                let d = self.dst(dst);
                self.emit(Op::IsKind { dst: d, src: r, kind });
                (d, Type::Bool)
            }
            ExprKind::As(x, te) => {
                let ty = self.resolve_type(te);
                let (r, xt) = self.expr(x, None, None);
                let xt = self.subst.resolve(&xt);
                // Numeric conversions are not casts.
                if ty == Type::Float && xt == Type::Int {
                    let d = self.dst(dst);
                    self.emit(Op::IntToFloat { dst: d, src: r });
                    return (d, Type::Float);
                }
                let kind = self.kind_code(&ty, te);
                let d = self.dst(dst);
                self.emit(Op::CastKind { dst: d, src: r, kind });
                (d, ty)
            }
            ExprKind::Lambda { params, ret, body } => {
                let want = match expected.map(|t| strip_optional(self.subst.resolve(t))) {
                    Some(Type::Func(ps, r)) if ps.len() == params.len() => Some((ps, *r)),
                    _ => None,
                };
                let mut ptys = Vec::new();
                for (i, p) in params.iter().enumerate() {
                    if let Some(d) = &p.default {
                        // a function value's type has no defaults for its callers to use
                        self.error(crate::codes::N0216, format!("parameter `{}` of a closure cannot have a default", p.name.name), d.span)
                            .hint("a closure is called through its type, which has no defaults: take the parameter as optional (`n: int?`) and write `n ?? 5` in the body, or use a `def`");
                    }
                    let t = match (&p.ty, &want) {
                        (Some(t), _) => self.resolve_type(t),
                        (None, Some((ps, _))) => ps[i].clone(),
                        (None, None) => {
                            let shown = if p.pattern.is_some() { self.files[p.name.span.file as usize].text[p.name.span.start as usize..p.name.span.end as usize].to_string() } else { p.name.name.clone() };
                            self.error(N0208, format!("cannot infer the type of parameter `{shown}`"), p.name.span)
                                .hint(format!("write `{shown}: int` (or the type it should have)"));
                            Type::Unknown
                        }
                    };
                    ptys.push(t);
                }
                let ret_ty = match (ret, &want) {
                    (Some(t), _) => self.resolve_type(t),
                    (None, Some((_, r))) => r.clone(),
                    (None, None) => self.subst.fresh(),
                };
                let d = self.dst(dst);
                let t = self.lambda("<lambda>", params, Some(ptys), ret_ty, body, d, e.span);
                (d, t)
            }
            ExprKind::If { arms, else_ } => self.if_expr(arms, else_.as_deref(), dst, expected),
            ExprKind::Match { scrutinee, arms } => self.match_expr(scrutinee, arms, dst, expected, e.span),
            ExprKind::Block(b) => self.block_expr(b, dst, expected),
        }
    }

    fn elements(&mut self, elems: &[Expr], want: Option<Type>, what: &str) -> (Reg, Type) {
        let base = self.b().alloc(elems.len() as u32);
        // an element type still to be inferred (a generic parameter's `list[T]`) is the join of
        // the elements, as with no context: `[1, 2.5]` gives `T = float`
        let open = want.clone().filter(|w| matches!(self.subst.resolve(w), Type::Var(_)));
        let want = if open.is_some() { None } else { want };
        let mut et = want.clone().unwrap_or_else(|| self.subst.fresh());
        let mut types = Vec::new();
        for (i, el) in elems.iter().enumerate() {
            let r = base + i as u16;
            let (_, t) = self.expr(el, Some(r), Some(&et));
            types.push(self.join_element(i, &mut et, t, want.as_ref(), el.span, &format!("{what} elements")));
        }
        self.widen_int_elements(&types, &et, |i| base + i as u16);
        if let (Some(w), Some(first)) = (open, elems.first()) {
            self.expect_type(&et, &w, first.span);
        }
        (base, et)
    }

    /// Element `i` of a literal, of type `t`, joins the literal's element type `et` (fixed
    /// when the context gives `want`): an int among floats, or a float among ints, makes the
    /// type `float`; a `none` makes it optional; anything else must fit. Returns `t` resolved.
    fn join_element(&mut self, i: usize, et: &mut Type, t: Type, want: Option<&Type>, span: Span, what: &str) -> Type {
        let rt = self.subst.resolve(&t);
        if let Some(w) = want {
            if !(self.subst.resolve(w) == Type::Float && rt == Type::Int) {
                self.expect_type(&t, w, span);
            }
            return rt;
        }
        if i == 0 {
            *et = t;
            return rt;
        }
        let cur = self.subst.resolve(et);
        if (cur == Type::Int && rt == Type::Float) || (cur == Type::Float && rt == Type::Int) {
            *et = Type::Float;
        } else if rt == Type::None && !matches!(cur, Type::Optional(_)) {
            *et = Type::optional(cur);
        } else if let (Type::None, false) = (&cur, matches!(rt, Type::None)) {
            *et = Type::optional(rt.clone());
        } else if !self.assignable(&t, et) {
            let (a, b) = (self.show(&rt), self.show(&cur));
            self.error(N0200, format!("{what} must have one type: expected `{b}`, found `{a}`"), span).label(format!("this is `{a}`"));
        }
        rt
    }

    /// Converts the int elements (at the registers `reg` gives) of a literal whose element
    /// type turned out to be `float` (or `float?`).
    fn widen_int_elements(&mut self, types: &[Type], et: &Type, reg: impl Fn(usize) -> Reg) {
        let float_elems = match self.subst.resolve(et) {
            Type::Float => true,
            Type::Optional(i) => *i == Type::Float,
            _ => false,
        };
        if float_elems {
            for (i, t) in types.iter().enumerate() {
                if *t == Type::Int {
                    let r = reg(i);
                    self.emit(Op::IntToFloat { dst: r, src: r });
                }
            }
        }
    }

    fn name_expr(&mut self, n: &str, span: Span, dst: Option<Reg>) -> (Reg, Type) {
        match self.resolve(n) {
            NameRes::Local(l) => {
                if let Some(idx) = l.global {
                    let d = self.dst(dst);
                    self.emit(Op::LoadGlobal { dst: d, idx });
                    if l.wide.is_some() {
                        self.emit(Op::Unwrap { dst: d, src: d });
                    }
                    (d, l.ty)
                } else if l.cell {
                    let d = self.dst(dst);
                    self.emit(Op::CellGet { dst: d, cell: l.reg });
                    (d, l.ty)
                } else {
                    (self.to_dst(l.reg, dst), l.ty)
                }
            }
            NameRes::Capture(i, c) => {
                let d = self.dst(dst);
                self.emit(Op::LoadCapture { dst: d, idx: i });
                if c.cell {
                    self.emit(Op::CellGet { dst: d, cell: d });
                }
                (d, c.ty)
            }
            NameRes::Global(g) => {
                let gi = self.globals[g].clone();
                let d = self.dst(dst);
                self.emit(Op::LoadGlobal { dst: d, idx: gi.idx });
                (d, gi.ty)
            }
            NameRes::Func(fi) if self.funcs[fi].native.is_some() => {
                self.error(N0200, format!("`{n}` is a native function and cannot be used as a value"), span).hint(format!("wrap it in a lambda: `fn (x) => {n}(x)`"));
                (self.dst(dst), Type::Unknown)
            }
            NameRes::Const(c) => (self.load_constant(&c, dst), c.1.clone()),
            NameRes::Func(fi) => {
                let info = self.funcs[fi].clone();
                if info.is_async {
                    self.error(N0247, format!("`async` function `{n}` cannot be used as a value"), span)
                        .hint(format!("call it to start a task (`{n}(...)` has type `task[...]`), or wrap the call in a lambda"));
                }
                if !info.type_params.is_empty() {
                    self.error(N0208, format!("generic function `{n}` cannot be used as a value"), span).hint("wrap it in a lambda with concrete types");
                }
                let d = self.dst(dst);
                self.emit(Op::LoadFunc { dst: d, func: info.func });
                (d, Type::Func(info.params.iter().map(|p| p.ty.clone()).collect(), Box::new(info.ret.clone())))
            }
            NameRes::NativeType(_) | NameRes::Alias(_) => {
                self.error(N0200, format!("`{n}` is a type, not a value"), span);
                (self.dst(dst), Type::Unknown)
            }
            NameRes::Struct(_) | NameRes::Enum(_) | NameRes::Iface(_) => {
                self.error(N0200, format!("`{n}` is a type, not a value"), span).hint(format!("construct a value with `{n}(...)`"));
                (self.dst(dst), Type::Unknown)
            }
            NameRes::Actor(_) => {
                self.error(N0200, format!("`{n}` is an actor type, not a value"), span).hint(format!("start one with `spawn {n}(...)`"));
                (self.dst(dst), Type::Unknown)
            }
            NameRes::Module(_) => {
                self.error(N0200, format!("`{n}` is a module, not a value"), span).hint(format!("use an item from it: `{n}.name`"));
                (self.dst(dst), Type::Unknown)
            }
            NameRes::Builtin(b) => {
                self.error(N0200, format!("built-in function `{b}` cannot be used as a value"), span).hint(format!("wrap it in a lambda: `fn (x) => {b}(x)`"));
                (self.dst(dst), Type::Unknown)
            }
            NameRes::None => {
                self.unknown_name(n, span);
                (self.dst(dst), Type::Unknown)
            }
        }
    }

    pub(crate) fn kind_code(&mut self, ty: &Type, te: &TypeExpr) -> u16 {
        match ty {
            Type::None => KIND_NONE,
            Type::Bool => KIND_BOOL,
            Type::Int => KIND_INT,
            Type::Float => KIND_FLOAT,
            Type::Str => KIND_STR,
            Type::Bytes => KIND_BYTES,
            Type::List(e) if **e == Type::Any => KIND_LIST,
            Type::Dict(k, v) if **v == Type::Any && matches!(**k, Type::Any | Type::Str | Type::Int) && **k == Type::Any => KIND_DICT,
            Type::Set(e) if **e == Type::Any => KIND_SET,
            Type::Struct(_, args) | Type::Enum(_, args) if !args.is_empty() && (args.iter().any(|a| *a != Type::Any) || !self.generic_view_safe(ty)) => {
                let shown = self.show(ty);
                let any_args = vec!["any"; args.len()].join(", ");
                let name = shown.split('[').next().unwrap_or("").to_string();
                if self.generic_view_safe(ty) {
                    self.error(N0200, format!("cannot test or cast to `{shown}` at run time: type arguments are not kept"), te.span())
                        .hint(format!("test or cast to `{name}[{any_args}]`, or keep the value in a variable of its type"));
                } else {
                    self.error(N0200, format!("cannot test or cast to generic type `{name}` at run time: its type arguments are not kept, and a `{name}[{any_args}]` view could store values of any type in it"), te.span())
                        .hint("keep the value in a variable, field or container of its own type instead of `any`");
                }
                KIND_NONE
            }
            Type::Struct(s, _) => KIND_RECORD + self.structs[*s as usize].record,
            Type::Enum(e, _) => KIND_ENUM + self.enums[*e as usize].enum_id,
            Type::Actor(crate::actor::SUPERVISOR) => KIND_ACTOR + KIND_SUPERVISOR_OFFSET,
            Type::Actor(a) => match self.state_struct(*a) {
                Some(sid) => KIND_ACTOR + self.structs[sid as usize].record,
                None => KIND_NONE,
            },
            Type::Native(id) => noodle_nbc::op::handle_kind(&self.native_types[*id as usize].display),
            Type::Unknown => KIND_NONE,
            _ => {
                let shown = self.show(ty);
                self.error(N0200, format!("cannot test or cast to `{shown}` at run time"), te.span())
                    .hint("use a scalar type, a struct or enum, or a container of `any` (`list[any]`, `dict[any, any]`, `set[any]`)");
                KIND_NONE
            }
        }
    }

    fn fstring(&mut self, parts: &[FStrPart], dst: Option<Reg>) -> (Reg, Type) {
        let n = parts.len().max(1);
        let base = self.b().alloc(n as u32);
        if parts.is_empty() {
            self.load_const(Const::Str(String::new()), Some(base));
        }
        // A lone hole of a non-string still goes through Concat, which formats it
        let mut all_str = true;
        for (i, p) in parts.iter().enumerate() {
            let r = base + i as u16;
            match p {
                FStrPart::Lit(s) => {
                    self.load_const(Const::Str(s.clone()), Some(r));
                }
                FStrPart::Expr(e, spec) => {
                    let (v, t) = self.expr(e, None, None);
                    match spec {
                        Some(s) => {
                            let spec = self.konst(Const::Str(s.clone()));
                            if self.may_display(&t) {
                                // the spec then applies to the text `display` gave
                                self.emit_to_str(r, v, &t);
                            } else if v != r {
                                self.emit(Op::Move { dst: r, src: v });
                            }
                            self.emit(Op::Format { dst: r, spec });
                        }
                        None if self.may_display(&t) => self.emit_to_str(r, v, &t),
                        None => {
                            // Concat formats non-strings itself
                            if !matches!(self.subst.resolve(&t), Type::Str) {
                                all_str = false;
                            }
                            if v != r {
                                self.emit(Op::Move { dst: r, src: v });
                            }
                        }
                    }
                }
            }
        }
        if n == 1 && all_str {
            return (self.to_dst(base, dst), Type::Str);
        }
        let d = self.dst(dst);
        self.emit(Op::Concat { dst: d, base, count: n as u16 });
        (d, Type::Str)
    }

    fn unary(&mut self, op: UnOp, x: &Expr, dst: Option<Reg>, span: Span) -> (Reg, Type) {
        // fold negative literals
        if op == UnOp::Neg {
            match x.kind {
                ExprKind::Int(v) if v != i64::MIN => return (self.load_const(Const::Int(-v), dst), Type::Int),
                ExprKind::Float(v) => return (self.load_const(Const::Float(-v), dst), Type::Float),
                _ => {}
            }
        }
        let (r, t) = self.expr(x, None, None);
        let t = self.subst.resolve(&t);
        let d = self.dst(dst);
        if op == UnOp::Neg {
            if let Some(res) = self.operator_method(Some("neg"), r, &t, &[], d, span) {
                return res;
            }
        }
        match (op, &t) {
            (UnOp::Neg, Type::Int) => {
                self.emit(Op::NegInt { dst: d, src: r });
                (d, Type::Int)
            }
            (UnOp::Neg, Type::Float) => {
                self.emit(Op::NegFloat { dst: d, src: r });
                (d, Type::Float)
            }
            (UnOp::Not, Type::Bool) => {
                self.emit(Op::Not { dst: d, src: r });
                (d, Type::Bool)
            }
            (UnOp::BitNot, Type::Int) => {
                self.emit(Op::BitNot { dst: d, src: r });
                (d, Type::Int)
            }
            (_, Type::Tensor(te)) => self.tensor_unary(op, r, *te, d, span),
            (_, Type::Unknown) => (d, Type::Unknown),

            (_, Type::Optional(_)) => {
                let shown = self.show(&t);
                self.error(N0204, format!("`{shown}` may be none"), x.span).hint("check it first (`if x != none`), or use `??` or `!`");
                (d, Type::Unknown)
            }
            // `not` needs a bool, as `and` and `or` do: a mismatch, not a missing operator
            (UnOp::Not, _) => {
                let shown = self.show(&t);
                self.error(N0200, format!("type mismatch: expected `bool`, found `{shown}`"), x.span)
                    .label(format!("this is `{shown}`"))
                    .hint("`not` needs a bool; there is no truthiness (compare explicitly, e.g. `x != 0`)");
                (d, Type::Unknown)
            }
            _ => {
                let sym = match op {
                    UnOp::Neg => "-",
                    UnOp::Not => "not",
                    UnOp::BitNot => "~",
                };
                let shown = self.show(&t);
                let mut d2 = Diagnostic::error(N0203, format!("operator `{sym}` cannot be applied to `{shown}`"), span).label(format!("this is `{shown}`"));
                if op == UnOp::Not {
                    d2 = d2.hint("`not` needs a bool; there is no truthiness (compare explicitly, e.g. `x != 0`)");
                }
                self.diags.push(d2);
                (d, Type::Unknown)
            }
        }
    }

    /// `a + b` on a struct or enum with a method `add(self, other: B) -> R` (and `-` `sub`, `*`
    /// `mul`, `/` `div`, `//` `floordiv`, `%` `mod`, `**` `pow`, `@` `matmul`; `-a` `neg`;
    /// `x in a` `contains`, `len(a)` `len`, `a[k]` `index`, `a[k] = v` `set_index`): that
    /// method's call, the operands already in registers. None when `a` has no such method.
    pub(crate) fn operator_method(&mut self, name: Option<&str>, ra: Reg, ta: &Type, args: &[(Reg, &Type)], d: Reg, span: Span) -> Option<(Reg, Type)> {
        let name = name?;
        let fi = match ta {
            Type::Struct(s, _) => self.structs[*s as usize].methods.get(name).copied(),
            Type::Enum(e, _) => self.enums[*e as usize].methods.get(name).copied(),
            _ => None,
        }?;
        let info = self.funcs[fi].clone();
        let want = args.len();
        if !info.has_self || info.params.len() != want || info.is_async {
            let shown = self.show(ta);
            let sig = match name {
                "contains" => "def contains(self, x: T) -> bool".to_string(),
                "len" => "def len(self) -> int".to_string(),
                "index" => "def index(self, key: K) -> V".to_string(),
                "set_index" => "def set_index(self, key: K, value: V)".to_string(),
                _ if want == 0 => format!("def {name}(self) -> R"),
                _ => format!("def {name}(self, other: T) -> R"),
            };
            self.diags.push(Diagnostic::error(N0203, format!("`{shown}.{name}` cannot implement an operator: it must be `{sig}`"), span).note(info.span, "the method is declared here"));
            return Some((d, Type::Unknown));
        }
        let inst: Vec<(u32, Type)> = info.type_params.iter().map(|&tp| (tp, self.subst.fresh())).collect();
        if let Some(st) = &info.self_ty {
            let st = instantiate(st, &inst);
            self.subst.unify(&st, ta);
        }
        let base = self.b().alloc(want as u32 + 2);
        self.emit(Op::Move { dst: base + 1, src: ra });
        for (i, (rb, tb)) in args.iter().enumerate() {
            let pt = self.subst.resolve(&instantiate(&info.params[i].ty, &inst));
            let at = base + 2 + i as Reg;
            if pt == Type::Float && **tb == Type::Int {
                self.emit(Op::IntToFloat { dst: at, src: *rb });
            } else {
                self.expect_type(tb, &pt, span);
                self.emit(Op::Move { dst: at, src: *rb });
            }
        }
        self.emit(Op::Call { base, func: info.func });
        self.emit(Op::Move { dst: d, src: base });
        Some((d, self.subst.resolve(&instantiate(&info.ret, &inst))))
    }

    /// The type of the first parameter of `t`'s method `name`, when it mentions no type
    /// parameter (a generic struct's is known only with the call's instantiation).
    pub(crate) fn operator_param(&self, t: &Type, name: &str) -> Option<Type> {
        let fi = match t {
            Type::Struct(s, _) => self.structs[*s as usize].methods.get(name).copied(),
            Type::Enum(e, _) => self.enums[*e as usize].methods.get(name).copied(),
            _ => None,
        }?;
        let p = self.funcs[fi].params.first()?;
        (!contains_param(&p.ty) && p.ty != Type::Unknown).then(|| p.ty.clone())
    }

    /// `operator_method` for an operator whose result the language fixes (`in` and `len`):
    /// the method must return `want`.
    fn operator_method_returning(&mut self, name: &str, ra: Reg, ta: &Type, args: &[(Reg, &Type)], d: Reg, want: &Type, span: Span) -> Option<(Reg, Type)> {
        let (r, t) = self.operator_method(Some(name), ra, ta, args, d, span)?;
        if !t.is_error() && self.subst.resolve(&t) != *want {
            let (shown, got, w) = (self.show(ta), self.show(&t), self.show(want));
            self.error(N0203, format!("`{shown}.{name}` cannot implement an operator: it returns `{got}`, not `{w}`"), span);
        }
        Some((r, want.clone()))
    }

    /// Extracts optional/`is` narrowings implied by a condition being true and being false.
    pub fn narrowings(&mut self, cond: &Expr) -> (Narrow, Narrow) {
        match &cond.kind {
            ExprKind::Binary(op @ (BinOp::Ne | BinOp::Eq), a, b) => {
                let name = match (&a.kind, &b.kind) {
                    (ExprKind::Name(n), ExprKind::None) | (ExprKind::None, ExprKind::Name(n)) => n,
                    _ => return (vec![], vec![]),
                };
                let t = match self.resolve(name) {
                    NameRes::Local(l) => l.ty,
                    NameRes::Global(g) => self.globals[g].ty.clone(),
                    NameRes::Capture(_, c) => c.ty,
                    _ => return (vec![], vec![]),
                };
                let inner = match self.subst.resolve(&t) {
                    Type::Optional(i) => *i,
                    _ => return (vec![], vec![]),
                };
                let n = vec![(name.clone(), inner)];
                if *op == BinOp::Ne {
                    (n, vec![])
                } else {
                    (vec![], n)
                }
            }
            ExprKind::Is(x, te) => {
                if let ExprKind::Name(name) = &x.kind {
                    if matches!(self.resolve(name), NameRes::Local(_) | NameRes::Global(_) | NameRes::Capture(..)) {
                        let ndiag = self.diags.len();
                        let t = self.resolve_type(te);
                        self.diags.truncate(ndiag);
                        return (vec![(name.clone(), t)], vec![]);
                    }
                }
                (vec![], vec![])
            }
            ExprKind::Binary(BinOp::And, a, b) => {
                let (mut t1, _) = self.narrowings(a);
                let (t2, _) = self.narrowings(b);
                t1.extend(t2);
                (t1, vec![])
            }
            ExprKind::Binary(BinOp::Or, a, b) => {
                let (_, mut f1) = self.narrowings(a);
                let (_, f2) = self.narrowings(b);
                f1.extend(f2);
                (vec![], f1)
            }
            ExprKind::Unary(UnOp::Not, x) => {
                let (t, f) = self.narrowings(x);
                (f, t)
            }
            _ => (vec![], vec![]),
        }
    }

    pub fn apply_narrowing(&mut self, n: &Narrow) {
        for (name, t) in n {
            match self.resolve(name) {
                // A captured mutable variable (a cell) may be changed by any closure call, so it
                // is never narrowed.
                NameRes::Local(l) if !l.cell => {
                    let wide = if l.mutable { Some(l.wide.clone().unwrap_or(l.ty.clone())) } else { None };
                    self.bind_local(name, Local { ty: t.clone(), wide, ..l })
                }
                // Immutable globals and captures cannot change: narrow a local copy.
                NameRes::Global(g) if !self.globals[g].mutable => {
                    let idx = self.globals[g].idx;
                    let reg = self.b().temp();
                    self.emit(Op::LoadGlobal { dst: reg, idx });
                    self.bind_local(name, Local { reg, ty: t.clone(), mutable: false, cell: false, wide: None, global: None });
                }
                // A mutable global may be changed by any call: reads of the narrowed name
                // re-load it and check it is still not none (N2005 if it is).
                NameRes::Global(g) => {
                    let gi = self.globals[g].clone();
                    if matches!(self.subst.resolve(&gi.ty), Type::Optional(ref inner) if **inner == self.subst.resolve(t)) {
                        self.bind_local(name, Local { reg: 0, ty: t.clone(), mutable: true, cell: false, wide: Some(gi.ty.clone()), global: Some(gi.idx) });
                    }
                }
                NameRes::Capture(i, c) if !c.mutable => {
                    let reg = self.b().temp();
                    self.emit(Op::LoadCapture { dst: reg, idx: i });
                    self.bind_local(name, Local { reg, ty: t.clone(), mutable: false, cell: false, wide: None, global: None });
                }
                _ => {}
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr, dst: Option<Reg>, span: Span, expected: Option<&Type>) -> (Reg, Type) {
        match op {
            BinOp::And | BinOp::Or => {
                let d = self.dst(dst);
                self.expr_coerce(a, Some(d), &Type::Bool);
                let j = if op == BinOp::And { self.b().jump_if_false(d) } else { self.b().jump_if_true(d) };
                self.push_scope();
                if op == BinOp::And {
                    let (t, _) = self.narrowings(a);
                    self.apply_narrowing(&t);
                } else {
                    let (_, f) = self.narrowings(a);
                    self.apply_narrowing(&f);
                }
                self.expr_coerce(b, Some(d), &Type::Bool);
                self.pop_scope();
                self.b().patch(j);
                return (d, Type::Bool);
            }
            BinOp::Coalesce => {
                let d = self.dst(dst);
                let (_, at) = self.expr(a, Some(d), Option::None);
                let at = self.subst.resolve(&at);
                let inner = match &at {
                    Type::Optional(i) => (**i).clone(),
                    Type::None => expected.cloned().unwrap_or_else(|| self.subst.fresh()),
                    Type::Unknown => Type::Unknown,
                    other => {
                        self.never_none("`??`", other, a.span);
                        other.clone()
                    }
                };
                let j = self.b().jump_if_not_none(d);
                // `T? ?? T?` is `T?`, and `none` is the simplest `T?`
                let hint = if matches!(b.kind, ExprKind::None) { Type::optional(inner.clone()) } else { inner.clone() };
                let (_, bt) = self.expr(b, Some(d), Some(&hint));
                let bt = self.subst.resolve(&bt);
                let result = if matches!(bt, Type::Optional(_) | Type::None) {
                    self.expect_type(&bt, &Type::optional(inner.clone()), b.span);
                    Type::optional(inner)
                } else {
                    if inner == Type::Float && bt == Type::Int {
                        self.emit(Op::IntToFloat { dst: d, src: d });
                    } else {
                        self.expect_type(&bt, &inner, b.span);
                    }
                    inner
                };
                self.b().patch(j);
                return (d, result);
            }
            _ => {}
        }
        // `"w" + str(n)`: one Concat formats `n` and builds the result in one allocation
        if op == BinOp::Add && (self.is_str_call(a) || self.is_str_call(b)) {
            let base = self.b().alloc(2);
            let mut types = Vec::new();
            for (i, e) in [a, b].into_iter().enumerate() {
                let r = base + i as u16;
                let t = match self.str_call_arg(e) {
                    Some(x) => {
                        let (v, xt) = self.expr(x, Some(r), Option::None);
                        if self.may_display(&xt) {
                            self.emit_to_str(r, v, &xt);
                        }
                        Type::Str
                    }
                    None => {
                        let (_, t) = self.expr(e, Some(r), Option::None);
                        self.subst.resolve(&t)
                    }
                };
                types.push(t);
            }
            let d = self.dst(dst);
            if types.iter().all(|t| *t == Type::Str) {
                self.emit(Op::Concat { dst: d, base, count: 2 });
                return (d, Type::Str);
            }
            // not a string concatenation after all: finish the `str()` calls, report as usual
            for (i, e) in [a, b].into_iter().enumerate() {
                if self.str_call_arg(e).is_some() {
                    let r = base + i as u16;
                    self.emit(Op::ToStr { dst: r, src: r });
                }
            }
            let (ta, tb) = (types[0].clone(), types[1].clone());
            return self.binary_regs(op, (base, ta), (base + 1, tb), d, span);
        }
        // `1 + x`: an int literal on the left of `+` becomes an immediate (the literal has no
        // side effects, so evaluating `x` first is unobservable)
        if let (BinOp::Add, ExprKind::Int(v)) = (op, &a.kind) {
            if *v >= i16::MIN as i64 && *v <= i16::MAX as i64 {
                let (rb, tb) = self.expr(b, Option::None, Option::None);
                let tb = self.subst.resolve(&tb);
                let d = self.dst(dst);
                if tb == Type::Int {
                    self.emit(Op::AddIntImm { dst: d, a: rb, imm: *v as i16 });
                    return (d, Type::Int);
                }
                let ra = self.b().temp();
                self.load_const(Const::Int(*v), Some(ra));
                return self.binary_regs(op, (ra, Type::Int), (rb, tb), d, span);
            }
        }
        // `(1, 2) in d`: a tuple or list literal looked for takes its type from the container's
        // elements or keys (a `dict[(float, int), V]` gets `(1.0, 2)`); the container is
        // compiled first, which a literal of constants cannot observe
        if matches!(op, BinOp::In | BinOp::NotIn) && matches!(a.kind, ExprKind::Tuple(_) | ExprKind::List(_)) && constant_literal(a) {
            let (rb, tb) = self.expr(b, Option::None, Option::None);
            let tb = self.subst.resolve(&tb);
            let want = match &tb {
                Type::List(e) | Type::Set(e) | Type::Dict(e, _) => Some(self.subst.resolve(e)),
                _ => Option::None,
            };
            let (ra, ta) = self.expr(a, Option::None, want.as_ref());
            let ta = self.subst.resolve(&ta);
            let d = self.dst(dst);
            return self.binary_regs(op, (ra, ta), (rb, tb), d, span);
        }
        let (ra, ta) = self.expr(a, Option::None, Option::None);
        let ta = self.subst.resolve(&ta);
        // `x + 1`, `x - 1`: an int literal on the right becomes an immediate
        if let (BinOp::Add | BinOp::Sub, Type::Int, ExprKind::Int(v)) = (op, &ta, &b.kind) {
            let imm = if op == BinOp::Add { *v } else { v.wrapping_neg() };
            if imm >= i16::MIN as i64 && imm <= i16::MAX as i64 && *v != i64::MIN {
                let d = self.dst(dst);
                self.emit(Op::AddIntImm { dst: d, a: ra, imm: imm as i16 });
                return (d, Type::Int);
            }
        }
        // `x % 2**k` and `x // 2**k` by an int literal: a mask and an arithmetic shift give
        // exactly the floored remainder and quotient, without a division's latency (wordfreq's
        // `% 2147483648`)
        if let (BinOp::Mod | BinOp::FloorDiv, Type::Int, ExprKind::Int(v)) = (op, &ta, &b.kind) {
            if *v > 0 && (*v as u64).is_power_of_two() {
                let operand = if op == BinOp::Mod { *v - 1 } else { v.trailing_zeros() as i64 };
                let rb = self.b().temp();
                self.load_const(Const::Int(operand), Some(rb));
                let d = self.dst(dst);
                self.emit(if op == BinOp::Mod { Op::BitAnd { dst: d, a: ra, b: rb } } else { Op::Shr { dst: d, a: ra, b: rb } });
                return (d, Type::Int);
            }
        }
        // `xs + [2]`: the literal takes its element type from `xs` (a `list[float]` gets 2.0)
        let hint = match (op, &ta, &b.kind) {
            (BinOp::Add, Type::List(_), ExprKind::List(_)) => Some(ta.clone()),
            _ => None,
        };
        let (rb, tb) = self.expr(b, Option::None, hint.as_ref());
        let tb = self.subst.resolve(&tb);
        let d = self.dst(dst);
        self.binary_regs(op, (ra, ta), (rb, tb), d, span)
    }

    /// `str(x)` with the built-in `str`: its argument.
    fn str_call_arg<'e>(&mut self, e: &'e Expr) -> Option<&'e Expr> {
        match &e.kind {
            ExprKind::Call { callee, args } if args.len() == 1 && args[0].name.is_none() && matches!(&callee.kind, ExprKind::Name(n) if n == "str") => {
                if matches!(self.resolve("str"), NameRes::Builtin(_)) {
                    Some(&args[0].value)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    fn is_str_call(&mut self, e: &Expr) -> bool {
        self.str_call_arg(e).is_some()
    }

    /// The second half of a binary operation: both operands are already in registers.
    fn binary_regs(&mut self, op: BinOp, (ra, ta): (Reg, Type), (rb, tb): (Reg, Type), d: Reg, span: Span) -> (Reg, Type) {
        if ta.is_error() || tb.is_error() {
            let t = match op {
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::In | BinOp::NotIn => Type::Bool,
                _ => Type::Unknown,
            };
            return (d, t);
        }
        if matches!(ta, Type::Tensor(_)) || matches!(tb, Type::Tensor(_)) {
            return self.tensor_binary(op, (ra, ta), (rb, tb), d, span);
        }
        if let Some(r) = self.operator_method(op_method(op), ra, &ta, &[(rb, &tb)], d, span) {
            return r;
        }
        use Type::*;
        let num = |t: &Type| matches!(t, Int | Float);
        // widen mixed int/float operands
        let widen = |c: &mut Compiler, ra: Reg, rb: Reg| -> (Reg, Reg) {
            let ra2 = if ta == Int {
                let t = c.b().temp();
                c.emit(Op::IntToFloat { dst: t, src: ra });
                t
            } else {
                ra
            };
            let rb2 = if tb == Int {
                let t = c.b().temp();
                c.emit(Op::IntToFloat { dst: t, src: rb });
                t
            } else {
                rb
            };
            (ra2, rb2)
        };
        let result = match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::FloorDiv | BinOp::Mod | BinOp::Pow if ta == Int && tb == Int => {
                let o = match op {
                    BinOp::Add => Op::AddInt { dst: d, a: ra, b: rb },
                    BinOp::Sub => Op::SubInt { dst: d, a: ra, b: rb },
                    BinOp::Mul => Op::MulInt { dst: d, a: ra, b: rb },
                    BinOp::FloorDiv => Op::DivInt { dst: d, a: ra, b: rb },
                    BinOp::Mod => Op::ModInt { dst: d, a: ra, b: rb },
                    _ => Op::PowInt { dst: d, a: ra, b: rb },
                };
                self.emit(o);
                Int
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::FloorDiv | BinOp::Mod | BinOp::Pow if num(&ta) && num(&tb) => {
                let (x, y) = widen(self, ra, rb);
                self.emit(match op {
                    BinOp::Add => Op::AddFloat { dst: d, a: x, b: y },
                    BinOp::Sub => Op::SubFloat { dst: d, a: x, b: y },
                    BinOp::Mul => Op::MulFloat { dst: d, a: x, b: y },
                    BinOp::Div => Op::DivFloat { dst: d, a: x, b: y },
                    BinOp::FloorDiv => Op::FloorDivFloat { dst: d, a: x, b: y },
                    BinOp::Mod => Op::ModFloat { dst: d, a: x, b: y },
                    _ => Op::PowFloat { dst: d, a: x, b: y },
                });
                Float
            }
            BinOp::Add if ta == Str && tb == Str => {
                self.emit(Op::AddStr { dst: d, a: ra, b: rb });
                Str
            }
            BinOp::Add if ta == Bytes && tb == Bytes => {
                self.call_native2("__bytes_concat", ra, rb, d);
                Bytes
            }
            BinOp::Add if matches!((&ta, &tb), (List(_), List(_))) => {
                if !self.assignable(&tb, &ta) {
                    return self.op_error(op, &ta, &tb, span, d);
                }
                self.call_native2("__list_concat", ra, rb, d);
                self.mark_if_dynamic(d, &ta);
                ta.clone()
            }
            BinOp::Mul if matches!(ta, List(_) | Str) && tb == Int => {
                self.call_native2(if ta == Str { "__str_repeat" } else { "__list_repeat" }, ra, rb, d);
                self.mark_if_dynamic(d, &ta);
                ta.clone()
            }
            BinOp::Mul if ta == Int && matches!(tb, List(_) | Str) => {
                self.call_native2(if tb == Str { "__str_repeat" } else { "__list_repeat" }, rb, ra, d);
                self.mark_if_dynamic(d, &tb);
                tb.clone()
            }
            BinOp::BitAnd | BinOp::BitOr | BinOp::BitXor | BinOp::Shl | BinOp::Shr if ta == Int && tb == Int => {
                self.emit(match op {
                    BinOp::BitAnd => Op::BitAnd { dst: d, a: ra, b: rb },
                    BinOp::BitOr => Op::BitOr { dst: d, a: ra, b: rb },
                    BinOp::BitXor => Op::BitXor { dst: d, a: ra, b: rb },
                    BinOp::Shl => Op::Shl { dst: d, a: ra, b: rb },
                    _ => Op::Shr { dst: d, a: ra, b: rb },
                });
                Int
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let (x, y) = if matches!(op, BinOp::Gt | BinOp::Ge) { (rb, ra) } else { (ra, rb) };
                let le = matches!(op, BinOp::Le | BinOp::Ge);
                if ta == Int && tb == Int {
                    self.emit(if le { Op::LeInt { dst: d, a: x, b: y } } else { Op::LtInt { dst: d, a: x, b: y } });
                } else if num(&ta) && num(&tb) {
                    let (wa, wb) = widen(self, ra, rb);
                    let (x, y) = if matches!(op, BinOp::Gt | BinOp::Ge) { (wb, wa) } else { (wa, wb) };
                    self.emit(if le { Op::LeFloat { dst: d, a: x, b: y } } else { Op::LtFloat { dst: d, a: x, b: y } });
                } else if ta == tb && self.orderable(&ta) {
                    self.emit(if le { Op::Le { dst: d, a: x, b: y } } else { Op::Lt { dst: d, a: x, b: y } });
                } else {
                    return self.op_error(op, &ta, &tb, span, d);
                }
                Bool
            }
            BinOp::Eq | BinOp::Ne => {
                let eq = op == BinOp::Eq;
                if ta == Int && tb == Int {
                    self.emit(if eq { Op::EqInt { dst: d, a: ra, b: rb } } else { Op::NeInt { dst: d, a: ra, b: rb } });
                } else if ta == Float && tb == Float {
                    self.emit(if eq { Op::EqFloat { dst: d, a: ra, b: rb } } else { Op::NeFloat { dst: d, a: ra, b: rb } });
                } else {
                    let comparable = (num(&ta) && num(&tb)) || self.comparable(&ta, &tb);
                    if !comparable {
                        let (x, y) = (self.show(&ta), self.show(&tb));
                        self.error(N0203, format!("cannot compare `{x}` with `{y}`"), span).label("these values can never be equal").hint("convert one side so both have the same type");
                    }
                    self.emit(if eq { Op::Eq { dst: d, a: ra, b: rb } } else { Op::Ne { dst: d, a: ra, b: rb } });
                }
                Bool
            }
            BinOp::In | BinOp::NotIn => {
                // `x in c` on a struct or enum with `contains(self, x) -> bool`
                if let Some((r, _)) = self.operator_method_returning("contains", rb, &tb, &[(ra, &ta)], d, &Bool, span) {
                    if op == BinOp::NotIn {
                        self.emit(Op::Not { dst: r, src: r });
                    }
                    return (r, Bool);
                }
                let ok = match &tb {
                    List(e) | Set(e) => {
                        let e = (**e).clone();
                        self.assignable(&ta, &e)
                    }
                    Dict(k, _) => {
                        let k = (**k).clone();
                        self.assignable(&ta, &k)
                    }
                    Str => ta == Str,
                    Bytes => ta == Int || ta == Bytes,
                    _ => false,
                };
                if !ok {
                    if matches!(tb, Type::Interface(..)) && self.has_method(&tb, "contains") {
                        let shown = self.show(&tb);
                        self.error(N0203, format!("operator `in` cannot be applied to a `{shown}` value"), span)
                            .hint("operators are for a struct's or enum's own type; on an interface value call the method: `c.contains(x)`");
                        return (d, Bool);
                    }
                    return self.op_error(op, &ta, &tb, span, d);
                }
                // an int looked for among floats is the float of the same value: dict keys and
                // set elements are found by their key, where 1 and 1.0 differ
                let elem = match &tb {
                    List(e) | Set(e) | Dict(e, _) => Some(self.subst.resolve(e)),
                    _ => Option::None,
                };
                let wants_float = matches!(&elem, Some(Float)) || matches!(&elem, Some(Type::Optional(i)) if **i == Float);
                let ra = if wants_float && self.subst.resolve(&ta) == Int { self.widen_reg(ra, &Int) } else { ra };
                self.emit(Op::Contains { dst: d, container: rb, item: ra });
                if op == BinOp::NotIn {
                    self.emit(Op::Not { dst: d, src: d });
                }
                Bool
            }
            _ => return self.op_error(op, &ta, &tb, span, d),
        };
        (d, result)
    }

    fn comparable(&mut self, a: &Type, b: &Type) -> bool {
        if matches!(a, Type::None) || matches!(b, Type::None) {
            return matches!(a, Type::None | Type::Optional(_) | Type::Any) || matches!(b, Type::None | Type::Optional(_) | Type::Any);
        }
        if matches!(a, Type::Any) || matches!(b, Type::Any) {
            return true;
        }
        let strip = |t: &Type| match t {
            Type::Optional(i) => (**i).clone(),
            t => t.clone(),
        };
        let (a2, b2) = (strip(a), strip(b));
        if matches!((&a2, &b2), (Type::Int | Type::Float, Type::Int | Type::Float)) {
            return true;
        }
        self.assignable(&a2, &b2) || self.assignable(&b2, &a2)
    }

    fn op_error(&mut self, op: BinOp, ta: &Type, tb: &Type, span: Span, d: Reg) -> (Reg, Type) {
        if matches!(ta, Type::Optional(_)) || matches!(tb, Type::Optional(_)) {
            let shown = if matches!(ta, Type::Optional(_)) { self.show(ta) } else { self.show(tb) };
            self.error(N0204, format!("operator `{}` cannot be applied to `{shown}`, which may be none", op.text()), span)
                .hint("check it first (`if x != none { ... }`), give a default with `??`, or assert with `!`");
            return (d, Type::Unknown);
        }
        let (x, y) = (self.show(ta), self.show(tb));
        let mut diag = Diagnostic::error(N0203, format!("operator `{}` cannot be applied to `{x}` and `{y}`", op.text()), span);
        if op == BinOp::Add && matches!((ta, tb), (Type::Bytes, Type::Str) | (Type::Str, Type::Bytes)) {
            diag = diag.hint("make the text bytes with `bytes(s)`, or the bytes text with `b.decode()`");
        } else if (*ta == Type::Str) != (*tb == Type::Str) && op == BinOp::Add {
            diag = diag.hint("convert with str(...) or use an f-string: f\"{x}{y}\"");
        } else if matches!(ta, Type::Struct(..) | Type::Enum(..)) {
            diag = match (op_method(op), op) {
                (Some(m), _) => diag.hint(format!("give `{x}` a method `def {m}(self, other: {y}) -> ...` to define `{}` on it", op.text())),
                (None, BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge) => diag.hint(format!("declare `struct {x}: Ord {{ ... }}` to order it by its fields")),
                _ => diag,
            };
        }
        self.diags.push(diag);
        (d, Type::Unknown)
    }

    /// The built-in functions that are a method of their first argument: `sum(xs)` is
    /// `xs.sum()`, `sorted(xs, key: f, reverse: true)` is `xs.sorted_by(f, reverse: true)`,
    /// `min(xs)` is `xs.min()` (while `min(a, b)` stays the smaller of two values).
    fn builtin_as_method(&mut self, b: &str, args: &[Arg], dst: Option<Reg>, span: Span, expected: Option<&Type>) -> Option<(Reg, Type)> {
        let has_key = args.iter().any(|a| a.name.as_ref().is_some_and(|n| n.name == "key"));
        // the method checks the other arguments, named ones included
        let method = match b {
            "sum" | "reversed" | "zip" | "any" | "all" | "enumerate" => b,
            "min" | "max" if args.len() == 1 => b,
            "sorted" if has_key => "sorted_by",
            "sorted" => "sorted",
            _ => return None,
        };
        let Some(first) = args.first().filter(|a| a.name.is_none()) else {
            self.error(N0201, format!("`{b}` takes a list as its first argument"), span);
            for a in args {
                self.expr(&a.value, None, None);
            }
            return Some((self.dst(dst), Type::Unknown));
        };
        // an iterator is collected into a list first (the other list of `zip` too)
        let target = self.collect_iterator(&first.value);
        let mut rest = args[1..].to_vec();
        if method == "zip" {
            if let Some(a) = rest.first_mut().filter(|a| a.name.is_none()) {
                a.value = self.collect_iterator(&a.value);
            }
        }
        let callee = Expr { kind: ExprKind::Field { target: Box::new(target), name: noodle_syntax::ast::Ident { name: method.to_string(), span }, optional: false }, span };
        let call = Expr { kind: ExprKind::Call { callee: Box::new(callee), args: rest }, span };
        Some(self.expr(&call, dst, expected))
    }

    /// `e` itself, or `[x for x in e]` when `e` is an iterator (a value with `next` or `iter`).
    fn collect_iterator(&mut self, e: &Expr) -> Expr {
        let (_, t) = self.peek_type(e);
        let t = self.subst.resolve(&t);
        if !(matches!(t, Type::Struct(..) | Type::Enum(..) | Type::Interface(..)) && (self.has_method(&t, "next") || self.has_method(&t, "iter"))) {
            return e.clone();
        }
        let sp = e.span;
        let x = "$item".to_string();
        let c = noodle_syntax::ast::Comprehension {
            kind: noodle_syntax::ast::CompKind::List,
            elem: Expr { kind: ExprKind::Name(x.clone()), span: sp },
            value: None,
            clauses: vec![noodle_syntax::ast::CompClause::For { pat: noodle_syntax::ast::Pattern { kind: noodle_syntax::ast::PatKind::Bind(x), span: sp }, iter: e.clone() }],
            has_closure: false,
        };
        Expr { kind: ExprKind::Comprehension(Box::new(c)), span: sp }
    }

    /// `[e for x in xs if c]` (and the set and dict forms): an empty container, then the
    /// clauses as nested `for` and `if` statements around a `push` (`add`, `d[k] = v`) into
    /// it. The container is a local the program cannot name.
    fn comprehension(&mut self, c: &noodle_syntax::ast::Comprehension, dst: Option<Reg>, expected: Option<&Type>, span: Span) -> (Reg, Type) {
        use noodle_syntax::ast::{Block, CompClause, CompKind, Ident, Stmt};
        const ACC: &str = "$comprehension";
        let want = expected.map(|t| strip_optional(self.subst.resolve(t)));
        let ty = match (c.kind, want) {
            (CompKind::List, Some(t @ Type::List(_))) | (CompKind::Set, Some(t @ Type::Set(_))) | (CompKind::Dict, Some(t @ Type::Dict(..))) => t,
            (CompKind::List, _) => Type::list(self.subst.fresh()),
            (CompKind::Set, _) => Type::Set(Box::new(self.subst.fresh())),
            (CompKind::Dict, _) => Type::Dict(Box::new(self.subst.fresh()), Box::new(self.subst.fresh())),
        };
        let acc = self.b().temp();
        let base = self.b().alloc(0);
        self.emit(match c.kind {
            CompKind::List => Op::NewList { dst: acc, base, count: 0 },
            CompKind::Set => Op::NewSet { dst: acc, base, count: 0 },
            CompKind::Dict => Op::NewDict { dst: acc, base, count: 0 },
        });
        // marked before the stores into it (which check the mark when its type is `list[any]`)
        self.mark_if_dynamic(acc, &ty);
        let name = |n: &str| Expr { kind: ExprKind::Name(n.to_string()), span };
        let ident = |n: &str| Ident { name: n.to_string(), span };
        let method = |m: &str, args: Vec<Expr>| Expr {
            kind: ExprKind::Call { callee: Box::new(Expr { kind: ExprKind::Field { target: Box::new(name(ACC)), name: ident(m), optional: false }, span }), args: args.into_iter().map(|value| Arg { name: None, value }).collect() },
            span,
        };
        let mut inner = match (c.kind, &c.value) {
            (CompKind::List, _) => Stmt::Expr(method("push", vec![c.elem.clone()])),
            (CompKind::Set, _) => Stmt::Expr(method("add", vec![c.elem.clone()])),
            (CompKind::Dict, v) => Stmt::Assign {
                target: Expr { kind: ExprKind::Index { target: Box::new(name(ACC)), index: Box::new(c.elem.clone()) }, span },
                op: None,
                value: v.clone().unwrap_or(Expr { kind: ExprKind::Error, span }),
                span,
            },
        };
        let block = |s: Stmt| Block { stmts: vec![s], span, has_closure: c.has_closure };
        for cl in c.clauses.iter().rev() {
            inner = match cl {
                CompClause::For { pat, iter } => Stmt::For { pat: Box::new(pat.clone()), iter: iter.clone(), body: block(inner), span },
                CompClause::If(cond) => Stmt::Expr(Expr { kind: ExprKind::If { arms: vec![noodle_syntax::ast::IfArm { cond: cond.clone(), then: block(inner), span }], else_: None }, span }),
            };
        }
        self.push_scope();
        self.bind_local(ACC, Local { reg: acc, ty: ty.clone(), mutable: false, cell: false, wide: None, global: None });
        self.comprehension_spans.push(span);
        self.stmt(&inner);
        self.comprehension_spans.pop();
        self.pop_scope();
        let ty = self.subst.resolve(&ty);
        match &ty {
            Type::Set(e) => self.require_hashable(e, "set elements", c.elem.span),
            Type::Dict(k, _) => self.require_hashable(k, "dict keys", c.elem.span),
            _ => {}
        }
        (self.to_dst(acc, dst), ty)
    }

    fn call_native2(&mut self, name: &str, a: Reg, b: Reg, d: Reg) {
        let base = self.b().alloc(3);
        self.emit(Op::Move { dst: base + 1, src: a });
        self.emit(Op::Move { dst: base + 2, src: b });
        let n = self.native(name);
        self.emit(Op::CallNative { base, native: n, argc: 2 });
        self.emit(Op::Move { dst: d, src: base });
    }

    /// Compiles a condition and jumps back to `target` when it holds (loop back-edges).
    pub fn cond_jump_back(&mut self, cond: &Expr, target: usize) {
        for l in self.cond_jump(cond, true) {
            self.b().patch_to(l, target);
        }
    }

    /// Compiles a condition as control flow: the returned jumps are taken when the condition
    /// is `when`; otherwise execution falls through. Comparisons become fused
    /// compare-and-branch instructions, `x == none` a none test, and `and`/`or`/`not` jumps.
    pub fn cond_jump(&mut self, e: &Expr, when: bool) -> Vec<Label> {
        self.set_line(e.span);
        match &e.kind {
            ExprKind::Unary(UnOp::Not, x) => return self.cond_jump(x, !when),
            ExprKind::Binary(op @ (BinOp::And | BinOp::Or), a, b) => {
                let is_and = *op == BinOp::And;
                let (when_true, when_false) = self.narrowings(a);
                // the left operand alone decides when it is false (`and`) or true (`or`)
                let decided = self.cond_jump(a, !is_and);
                self.push_scope();
                self.apply_narrowing(if is_and { &when_true } else { &when_false });
                let mut jumps = self.cond_jump(b, when);
                self.pop_scope();
                if when == is_and {
                    // decided means the opposite of `when`: fall through
                    for l in decided {
                        self.b().patch(l);
                    }
                } else {
                    jumps.extend(decided);
                }
                return jumps;
            }
            ExprKind::Binary(op @ (BinOp::Eq | BinOp::Ne), x, y) if matches!(y.kind, ExprKind::None) || matches!(x.kind, ExprKind::None) => {
                let v = if matches!(y.kind, ExprKind::None) { x } else { y };
                let (r, t) = self.expr(v, None, None);
                let t = self.subst.resolve(&t);
                if !matches!(t, Type::Optional(_) | Type::None | Type::Any | Type::Unknown | Type::Param(..) | Type::Var(_)) {
                    let shown = self.show(&t);
                    self.warnings.push(Diagnostic::warning(N0218, format!("comparing `{shown}` with none: it is never none"), e.span));
                }
                let is_none = (*op == BinOp::Eq) == when;
                return vec![if is_none { self.b().jump_if_none(r) } else { self.b().jump_if_not_none(r) }];
            }
            ExprKind::Binary(op @ (BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::Eq | BinOp::Ne), a, b) if self.fuse => {
                let (ra, ta) = self.expr(a, None, None);
                let ta = self.subst.resolve(&ta);
                // `x < 10`: compare with an immediate
                if let (Type::Int, ExprKind::Int(v)) = (&ta, &b.kind) {
                    if *v >= i16::MIN as i64 && *v <= i16::MAX as i64 {
                        let imm = *v as i16;
                        let rel = if when { *op } else { negate(*op) };
                        let opc = match rel {
                            BinOp::Lt => Op::JumpIfLtIntImm { a: ra, imm, off: 0 },
                            BinOp::Le => Op::JumpIfLeIntImm { a: ra, imm, off: 0 },
                            BinOp::Gt => Op::JumpIfGtIntImm { a: ra, imm, off: 0 },
                            BinOp::Ge => Op::JumpIfGeIntImm { a: ra, imm, off: 0 },
                            BinOp::Eq => Op::JumpIfEqIntImm { a: ra, imm, off: 0 },
                            _ => Op::JumpIfNeIntImm { a: ra, imm, off: 0 },
                        };
                        return vec![Label(self.emit(opc))];
                    }
                }
                let (rb, tb) = self.expr(b, None, None);
                let tb = self.subst.resolve(&tb);
                if ta == Type::Int && tb == Type::Int {
                    let rel = if when { *op } else { negate(*op) };
                    let opc = match rel {
                        BinOp::Lt => Op::JumpIfLtInt { a: ra, b: rb, off: 0 },
                        BinOp::Le => Op::JumpIfLeInt { a: ra, b: rb, off: 0 },
                        BinOp::Gt => Op::JumpIfLtInt { a: rb, b: ra, off: 0 },
                        BinOp::Ge => Op::JumpIfLeInt { a: rb, b: ra, off: 0 },
                        BinOp::Eq => Op::JumpIfEqInt { a: ra, b: rb, off: 0 },
                        _ => Op::JumpIfNeInt { a: ra, b: rb, off: 0 },
                    };
                    return vec![Label(self.emit(opc))];
                }
                if ta.is_numeric() && tb.is_numeric() && !matches!(op, BinOp::Eq | BinOp::Ne) {
                    let wa = self.widen_reg(ra, &ta);
                    let wb = self.widen_reg(rb, &tb);
                    let (x, y) = if matches!(op, BinOp::Gt | BinOp::Ge) { (wb, wa) } else { (wa, wb) };
                    let le = matches!(op, BinOp::Le | BinOp::Ge);
                    let opc = match (when, le) {
                        (true, false) => Op::JumpIfLtFloat { a: x, b: y, off: 0 },
                        (true, true) => Op::JumpIfLeFloat { a: x, b: y, off: 0 },
                        (false, false) => Op::JumpIfNotLtFloat { a: x, b: y, off: 0 },
                        (false, true) => Op::JumpIfNotLeFloat { a: x, b: y, off: 0 },
                    };
                    return vec![Label(self.emit(opc))];
                }
                let d = self.b().temp();
                let (_, t) = self.binary_regs(*op, (ra, ta), (rb, tb), d, e.span);
                self.expect_type(&t, &Type::Bool, e.span);
                return vec![if when { self.b().jump_if_true(d) } else { self.b().jump_if_false(d) }];
            }
            _ => {}
        }
        let c = self.expr_coerce(e, None, &Type::Bool);
        vec![if when { self.b().jump_if_true(c) } else { self.b().jump_if_false(c) }]
    }

    /// N0218: an optional-only operator applied to a value that is never none.
    fn never_none(&mut self, what: &str, t: &Type, span: Span) {
        let shown = self.show(t);
        self.warnings.push(Diagnostic::warning(N0218, format!("{what} on `{shown}`, which is never none"), span));
    }

    fn widen_reg(&mut self, r: Reg, t: &Type) -> Reg {
        if *t == Type::Int {
            let w = self.b().temp();
            self.emit(Op::IntToFloat { dst: w, src: r });
            w
        } else {
            r
        }
    }

    fn index(&mut self, target: &Expr, index: &Expr, dst: Option<Reg>, span: Span) -> (Reg, Type) {
        let (r, t) = self.expr(target, None, None);
        let t = self.subst.resolve(&t);
        if let Type::Tensor(_) = t {
            return (self.tensor_index(r, index, dst), t);
        }
        if let Type::Native(id) = t {
            let info = self.native_types[id as usize].clone();
            let d = self.dst(dst);
            let Some((kt, vt)) = info.index else {
                self.error(N0207, format!("`{}` cannot be indexed", info.display), span);
                return (d, Type::Unknown);
            };
            let key = if matches!(kt, Type::Any) { self.expr(index, None, None).0 } else { self.expr_coerce(index, None, &kt) };
            self.emit(Op::IndexGet { dst: d, obj: r, key });
            return (d, vt);
        }
        let d = self.dst(dst);
        // `a[k]` on a struct or enum with `index(self, k: K) -> V`
        if matches!(t, Type::Struct(..) | Type::Enum(..)) && self.has_method(&t, "index") {
            // a key of a plain type is checked where it is written
            let (rk, tk) = match self.operator_param(&t, "index") {
                Some(pt) => (self.expr_coerce(index, None, &pt), pt),
                None => self.expr(index, None, None),
            };
            if let Some(res) = self.operator_method(Some("index"), r, &t, &[(rk, &tk)], d, span) {
                return res;
            }
        }
        match &t {
            Type::List(e) => {
                let i = self.expr_coerce(index, None, &Type::Int);
                self.emit(Op::ListGet { dst: d, list: r, idx: i });
                (d, (**e).clone())
            }
            Type::Dict(k, v) => {
                let k = (**k).clone();
                let key = self.expr_coerce(index, None, &k);
                self.emit(Op::IndexGet { dst: d, obj: r, key });
                (d, (**v).clone())
            }
            Type::Str | Type::Bytes => {
                let i = self.expr_coerce(index, None, &Type::Int);
                self.emit(Op::IndexGet { dst: d, obj: r, key: i });
                (d, if t == Type::Str { Type::Str } else { Type::Int })
            }
            Type::Tuple(_) => {
                self.error(N0207, "tuples are indexed with `.0`, `.1`, ...", span).hint("write `t.0` instead of `t[0]`");
                (d, Type::Unknown)
            }
            Type::Unknown => (d, Type::Unknown),
            Type::Optional(_) => {
                let shown = self.show(&t);
                self.error(N0204, format!("cannot index `{shown}`, which may be none"), target.span).hint("check it first (`if x != none { ... }`) or assert with `!`");
                (d, Type::Unknown)
            }
            _ => {
                let shown = self.show(&t);
                self.error(N0207, format!("`{shown}` cannot be indexed"), target.span).label(format!("this is `{shown}`"));
                (d, Type::Unknown)
            }
        }
    }

    fn field(&mut self, target: &Expr, name: &noodle_syntax::ast::Ident, optional: bool, dst: Option<Reg>, span: Span) -> (Reg, Type) {
        // module items, std items, enum variants without payload, static access
        if let ExprKind::Name(n) = &target.kind {
            match self.resolve(n) {
                NameRes::Module(mi) => return self.module_item_value(mi, name, dst),
                _ => {}
            }
        }
        if let Some((res, targs)) = self.static_type(target) {
            match res {
                NameRes::Enum(ei) => {
                    let info = self.enums[ei as usize].clone();
                    return match info.variants.iter().find(|v| v.name == name.name) {
                        Some(v) if v.fields.is_empty() => {
                            let d = self.dst(dst);
                            self.emit(Op::NewRecord { dst: d, ty: v.record, base: 0 });
                            let args = targs.unwrap_or_else(|| self.fresh_args(&info.type_params));
                            (d, Type::Enum(ei, args))
                        }
                        Some(_) => {
                            self.error(N0201, format!("variant `{}.{}` needs its payload", info.name, name.name), span).hint(format!("write `{}.{}(...)`", info.name, name.name));
                            (self.dst(dst), Type::Unknown)
                        }
                        None => {
                            let cands: Vec<&str> = info.variants.iter().map(|v| v.name.as_str()).collect();
                            let mut d = Diagnostic::error(N0106, format!("enum `{}` has no variant `{}`", info.name, name.name), name.span);
                            if let Some(s) = crate::compiler::suggest(&name.name, &cands) {
                                d = d.hint(format!("did you mean `{s}`?"));
                            }
                            self.diags.push(d);
                            (self.dst(dst), Type::Unknown)
                        }
                    };
                }
                _ => {}
            }
        }
        let (r, t) = self.expr(target, None, None);
        let t = self.subst.resolve(&t);
        let (base_t, is_opt) = match &t {
            Type::Optional(i) if optional => ((**i).clone(), true),
            Type::Optional(_) => {
                let shown = self.show(&t);
                self.error(N0204, format!("cannot read field `{}` of `{shown}`, which may be none", name.name), target.span)
                    .hint("check it first (`if x != none { ... }`), use `?.`, or assert with `!`");
                return (self.dst(dst), Type::Unknown);
            }
            other => (other.clone(), false),
        };
        let d = self.dst(dst);
        let skip = if is_opt {
            self.emit(Op::Move { dst: d, src: r });
            Some(self.b().jump_if_none(d))
        } else {
            None
        };
        let native = match &base_t {
            Type::Native(_) | Type::Tensor(_) => self.native_field(r, &base_t, name, d),
            _ => None,
        };
        let ft = match &base_t {
            _ if native.is_some() => native.unwrap(),
            Type::Struct(s, args) => {
                let fields = self.struct_fields(*s, args);
                let info = &self.structs[*s as usize];
                match info.fields.iter().position(|f| f.0 == name.name) {
                    Some(i) => {
                        let ft = fields[i].1.clone();
                        self.emit(Op::GetField { dst: d, obj: r, idx: i as u16 });
                        ft
                    }
                    None if info.methods.contains_key(&name.name) => {
                        let fi = info.methods[&name.name];
                        self.bound_method(r, &base_t, fi, name, d, span)
                    }
                    None => {
                        let sname = info.name.clone();
                        let cands: Vec<String> = info.fields.iter().map(|f| f.0.clone()).chain(info.methods.keys().cloned()).collect();
                        let refs: Vec<&str> = cands.iter().map(|s| s.as_str()).collect();
                        let hint = crate::compiler::suggest(&name.name, &refs).map(|s| format!("did you mean `{s}`?"));
                        let is_method = info.methods.contains_key(&name.name);
                        let mut dg = Diagnostic::error(N0106, format!("struct `{sname}` has no field `{}`", name.name), name.span).label("unknown field");
                        if is_method {
                            dg = dg.hint(format!("`{}` is a method: call it with `()`", name.name));
                        } else if let Some(h) = hint {
                            dg = dg.hint(h);
                        }
                        self.diags.push(dg);
                        Type::Unknown
                    }
                }
            }
            Type::Unknown => Type::Unknown,
            Type::Enum(e, _) if self.enums[*e as usize].methods.contains_key(&name.name) => {
                let fi = self.enums[*e as usize].methods[&name.name];
                self.bound_method(r, &base_t, fi, name, d, span)
            }
            _ => {
                let cands = self.extend_methods(&base_t, &name.name);
                if let [(fi, binds)] = cands.as_slice() {
                    // a method of a built-in type (`xs.push`, `s.upper`) as a value
                    let (fi, binds) = (*fi, binds.clone());
                    self.bound_extend_method(r, &base_t, fi, &binds, name, d, span)
                } else if !cands.is_empty() {
                    let shown = self.show(&base_t);
                    self.error(N0106, format!("`{shown}.{}` has several forms, so it cannot be used as a value", name.name), name.span)
                        .hint(format!("call it, or wrap the call you mean in a closure, which has one type: `fn (...) => value.{}(...)`", name.name));
                    Type::Unknown
                } else {
                    let shown = self.show(&base_t);
                    self.error(N0106, format!("`{shown}` has no field `{}`", name.name), name.span).label("unknown field");
                    Type::Unknown
                }
            }
        };
        if let Some(j) = skip {
            self.b().patch(j);
            return (d, Type::optional(ft));
        }
        (d, ft)
    }

    fn module_item_value(&mut self, mi: usize, name: &noodle_syntax::ast::Ident, dst: Option<Reg>) -> (Reg, Type) {
        if let Some(r) = self.native_item_value(mi, name, dst) {
            return r;
        }
        match self.modules[mi].symbols.get(&name.name).cloned() {
            Some((sym, public)) => {
                if !public {
                    self.error(N0104, format!("`{}` is not public in module `{}`", name.name, self.modules[mi].name), name.span).hint("mark it `pub` in its module to use it here");
                }
                match sym {
                    crate::compiler::Symbol::Global(g) => {
                        let gi = self.globals[g].clone();
                        let d = self.dst(dst);
                        self.emit(Op::LoadGlobal { dst: d, idx: gi.idx });
                        (d, gi.ty)
                    }
                    crate::compiler::Symbol::Const(c) => (self.load_constant(&c, dst), c.1.clone()),
                    crate::compiler::Symbol::Func(fi) => {
                        let info = self.funcs[fi].clone();
                        let d = self.dst(dst);
                        self.emit(Op::LoadFunc { dst: d, func: info.func });
                        (d, Type::Func(info.params.iter().map(|p| p.ty.clone()).collect(), Box::new(info.ret.clone())))
                    }
                    _ => {
                        self.error(N0200, format!("`{}` is not a value", name.name), name.span);
                        (self.dst(dst), Type::Unknown)
                    }
                }
            }
            None => {
                self.error(N0100, format!("module `{}` has no item `{}`", self.modules[mi].name, name.name), name.span);
                (self.dst(dst), Type::Unknown)
            }
        }
    }

    /// An `if` expression and its `elif` arms, compiled in a loop. Code and types are as for
    /// the nested form: from the innermost arm out, each arm's type is joined with the type of
    /// the arms after it (`if a { 1 } elif b { 2 }`, with no `else`, is `int?`).
    fn if_expr(&mut self, arms: &[ast::IfArm], else_: Option<&Block>, dst: Option<Reg>, expected: Option<&Type>) -> (Reg, Type) {
        struct Open {
            ty: Type,
            jend: crate::builder::Label,
            /// The span of what follows this arm (the next arm or the `else` block).
            rest: Span,
            scoped: bool,
        }
        let d = self.dst(dst);
        let mut open: Vec<Open> = Vec::with_capacity(arms.len());
        let mut first: Option<Type> = None;
        let mut rest_ty = None;
        for (i, arm) in arms.iter().enumerate() {
            let (when_true, when_false) = self.narrowings(&arm.cond);
            let jf = self.cond_jump(&arm.cond, false);
            self.push_scope();
            self.apply_narrowing(&when_true);
            // the arms after the first expect the first's type (as the nested form's `else`)
            let want = if i == 0 { expected } else { expected.or(first.as_ref()) };
            let (_, t) = self.block_expr(&arm.then, Some(d), want);
            self.pop_scope();
            let rest = match (arms.get(i + 1), else_) {
                (Some(next), _) => next.span,
                (None, Some(b)) => b.span,
                (None, None) => {
                    for l in jf {
                        self.b().patch(l);
                    }
                    rest_ty = Some(Type::None);
                    break;
                }
            };
            let jend = self.b().jump();
            for l in jf {
                self.b().patch(l);
            }
            // the arms after this one see its condition's narrowing in a scope of their own
            let scoped = !when_false.is_empty();
            if scoped {
                self.push_scope();
                self.apply_narrowing(&when_false);
            }
            if i == 0 {
                first = Some(t.clone());
            }
            open.push(Open { ty: t, jend, rest, scoped });
        }
        let mut t = match (rest_ty, else_) {
            (Some(t), _) => t,
            (None, Some(b)) => {
                let want = expected.or(first.as_ref());
                self.block_expr(b, Some(d), want).1
            }
            (None, None) => Type::None,
        };
        while let Some(arm) = open.pop() {
            if arm.scoped {
                self.pop_scope();
            }
            // branches of different types that both fit the expected type (an interface, `any`,
            // an optional) take it, as a `match`'s arms do
            let fits = |c: &mut Compiler, exp: &Type| {
                let (a, b) = (c.subst.resolve(&arm.ty), c.subst.resolve(&t));
                !c.subst.has_vars(exp) && a != b && !matches!((&a, &b), (Type::Int, Type::Float) | (Type::Float, Type::Int)) && !c.assignable(&a, &b) && !c.assignable(&b, &a) && c.assignable(&a, exp) && c.assignable(&b, exp)
            };
            let (joined, widen) = match expected.map(|e| self.subst.resolve(e)) {
                Some(exp) if fits(self, &exp) => (exp, false),
                _ => self.join_types(&arm.ty, &t, arm.rest),
            };
            self.b().patch(arm.jend);
            if widen {
                self.to_float_at_join(d);
            }
            t = joined;
        }
        (d, t)
    }

    /// Converts `d` (an int or a float, depending on the branch taken) to a float.
    pub fn to_float_at_join(&mut self, d: Reg) {
        let n = self.native("float");
        let base = self.b().alloc(2);
        self.emit(Op::Move { dst: base + 1, src: d });
        self.emit(Op::CallNative { base, native: n, argc: 1 });
        self.emit(Op::Move { dst: d, src: base });
    }

    /// The common type of two branches, and whether an int/float mix must be widened where
    /// the branches meet.
    pub fn join_types(&mut self, t1: &Type, t2: &Type, span: Span) -> (Type, bool) {
        let a = self.subst.resolve(t1);
        let b = self.subst.resolve(t2);
        let t = match (&a, &b) {
            (Type::Never, _) => b,
            (_, Type::Never) => a,
            (Type::None, Type::None) => Type::None,
            (Type::None, _) => Type::optional(b),
            (_, Type::None) => Type::optional(a),
            (Type::Int, Type::Float) | (Type::Float, Type::Int) => return (Type::Float, true),
            _ => {
                if self.assignable(&b, &a) {
                    a
                } else if self.assignable(&a, &b) {
                    b
                } else {
                    let (x, y) = (self.show(&a), self.show(&b));
                    self.error(N0200, format!("branches have different types: `{x}` and `{y}`"), span).label(format!("this is `{y}`"));
                    Type::Unknown
                }
            }
        };
        (t, false)
    }

    /// A block in expression position: its value is its last expression statement.
    pub fn block_expr(&mut self, b: &Block, dst: Option<Reg>, expected: Option<&Type>) -> (Reg, Type) {
        let d = self.dst(dst);
        self.push_scope();
        let n = b.stmts.len();
        let mut t = Type::None;
        let mut exits = false;
        for (i, s) in b.stmts.iter().enumerate() {
            if i + 1 == n {
                if let Stmt::Expr(e) = s {
                    if !matches!(e.kind, ExprKind::If { else_: None, .. }) {
                        let (_, et) = self.expr(e, Some(d), expected);
                        t = et;
                        break;
                    }
                }
            }
            let mark = self.b().mark();
            exits |= self.stmt(s);
            let keep = self.f().scopes.last().unwrap().iter().map(|(_, l)| l.reg as u32 + 1).max().unwrap_or(0);
            self.b().release(mark.max(keep));
            if i + 1 == n {
                if exits {
                    t = Type::Never;
                } else {
                    self.emit(Op::LoadNone { dst: d });
                }
            }
        }
        if n == 0 {
            self.emit(Op::LoadNone { dst: d });
        }
        self.pop_scope();
        (d, t)
    }

    /// Compiles a closure body as a new function and emits `MakeClosure` (or `LoadFunc` when it
    /// captures nothing) into `d`. Returns the function type.
    #[allow(clippy::too_many_arguments)]
    pub fn lambda(&mut self, name: &str, params: &[Param], ptys: Option<Vec<Type>>, ret: Type, body: &Block, d: Reg, span: Span) -> Type {
        let ptys = ptys.unwrap_or_default();
        let func = self.program.funcs.len() as u32;
        let qual = if name == "<lambda>" {
            // named for where it is written; the trace adds the line and column
            let outer = self.fns.last().map(|f| f.b.name.as_str()).unwrap_or("<main>");
            if outer.starts_with("<lambda") {
                outer.to_string()
            } else if let Some(m) = outer.strip_prefix("<init ") {
                format!("<lambda in module {m}")
            } else if outer == "<main>" {
                "<lambda>".to_string()
            } else {
                format!("<lambda in {outer}>")
            }
        } else {
            name.to_string()
        };
        self.program.funcs.push(noodle_nbc::Function { name: qual.clone(), arity: 0, nregs: 0, ncaptures: 0, file: 0, code: vec![], lines: vec![] });
        let module = self.cur_module();
        let mut st = self.new_fn_state(qual, module, params.len() as u16, false);
        st.ret = ret.clone();
        st.captured_names = crate::stmt::captured_names(body);
        st.type_params = self.fns.last().map(|f| f.type_params.clone()).unwrap_or_default();
        self.fns.push(st);
        for (i, p) in params.iter().enumerate() {
            let t = ptys.get(i).cloned().unwrap_or(Type::Unknown);
            self.bind_local(&p.name.name, Local { reg: i as u16, ty: t, mutable: false, cell: false, wide: None, global: None });
        }
        for (i, p) in params.iter().enumerate() {
            if let Some(pat) = &p.pattern {
                let t = ptys.get(i).cloned().unwrap_or(Type::Unknown);
                self.bind_pattern(pat, i as u16, &t, false);
            }
        }
        self.set_line(span);
        let exits = self.block_stmts(body);
        let rr = self.subst.resolve(&ret);
        if let Type::Var(v) = rr {
            // a closure that never returns a value returns none
            self.subst.bind(v, Type::None);
        }
        if !exits {
            if let Type::Var(_) = rr {
            } else if !matches!(rr, Type::None | Type::Unknown | Type::Any) {
                let shown = self.show(&rr);
                self.error(N0205, format!("closure may reach its end without returning a `{shown}`"), span);
            }
            self.emit(Op::ReturnNone);
        }
        let st = self.fns.pop().unwrap();
        let caps = st.captures.clone();
        self.program.funcs[func as usize].file = st.b.file;
        self.finish_fn(func, st, caps.len() as u16);
        let fty = Type::Func(ptys, Box::new(ret));
        if caps.is_empty() {
            self.emit(Op::LoadFunc { dst: d, func });
            return fty;
        }
        // captured values go in d+1 .. d+n
        let base = self.b().alloc(caps.len() as u32 + 1);
        for (i, c) in caps.iter().enumerate() {
            let r = base + 1 + i as u16;
            match c.source {
                CapSource::Local(src) => {
                    self.emit(Op::Move { dst: r, src });
                }
                CapSource::Capture(idx) => {
                    self.emit(Op::LoadCapture { dst: r, idx });
                }
            }
        }
        self.emit(Op::MakeClosure { dst: base, func });
        self.emit(Op::Move { dst: d, src: base });
        fty
    }

    // ---- calls ----

    /// The public item `name` of the module that `m` names (`json` in `json.decode`), if `m`
    /// is a module name and it has one.
    pub(crate) fn public_module_item(&mut self, m: &Expr, name: &str) -> Option<crate::compiler::Symbol> {
        let ExprKind::Name(mn) = &m.kind else { return None };
        let NameRes::Module(mi) = self.resolve(mn) else { return None };
        match self.modules[mi].symbols.get(name).cloned() {
            Some((sym, true)) => Some(sym),
            _ => None,
        }
    }

    fn call(&mut self, callee: &Expr, args: &[Arg], dst: Option<Reg>, span: Span, expected: Option<&Type>) -> (Reg, Type) {
        // explicit type arguments: `parse[Config](text)`, `Pair[int, str](1, "a")`
        if let ExprKind::Index { target, index } = &callee.kind {
            let named = match &target.kind {
                ExprKind::Name(n) => match self.resolve(n) {
                    r @ (NameRes::Func(_) | NameRes::Struct(_)) => Some(r),
                    _ => None,
                },
                ExprKind::Field { target: m, name, optional: false } => match self.public_module_item(m, &name.name) {
                    Some(crate::compiler::Symbol::Func(fi)) => Some(NameRes::Func(fi)),
                    Some(crate::compiler::Symbol::Struct(st)) => Some(NameRes::Struct(st)),
                    _ => None,
                },
                _ => None,
            };
            // `b.map[float](f)`: a method's own type arguments
            if let (None, ExprKind::Field { target: obj, name, optional: false }) = (&named, &target.kind) {
                // only when the value's type has a method of that name (else `s.handlers[0](x)`
                // indexes a field)
                let method_of = |c: &Compiler, t: &Type| match t {
                    Type::Struct(s, _) => c.structs[*s as usize].methods.get(&name.name).copied(),
                    Type::Enum(e, _) => c.enums[*e as usize].methods.get(&name.name).copied(),
                    _ => None,
                };
                let is_value = self.static_type(obj).is_none() && !matches!(&obj.kind, ExprKind::Name(n) if matches!(self.resolve(n), NameRes::Module(_)));
                if is_value {
                    let (_, peeked) = self.peek_type(obj);
                    let peeked = self.subst.resolve(&peeked);
                    if method_of(self, &peeked).is_some_and(|fi| self.funcs[fi].has_self) {
                        let (r, t) = self.expr(obj, None, None);
                        let t = self.subst.resolve(&t);
                        let fi = method_of(self, &t).expect("peeked");
                        let targs = self.expr_type_args(index);
                        return self.call_func_targs(fi, Some((r, t)), args, dst, span, expected, false, TypeArgs { owner: None, own: Some((targs, index.span)) });
                    }
                }
            }
            match named {
                Some(NameRes::Func(fi)) => {
                    let targs = self.expr_type_args(index);
                    return self.call_func_targs(fi, None, args, dst, span, expected, false, TypeArgs { owner: None, own: Some((targs, index.span)) });
                }
                Some(NameRes::Struct(s)) => {
                    let (_, targs) = self.static_type(callee).unwrap_or((NameRes::Struct(s), None));
                    return self.construct(s, args, dst, span, targs, expected);
                }
                _ => {}
            }
        }
        match &callee.kind {
            ExprKind::Name(n) => match self.resolve(n) {
                NameRes::Func(fi) => return self.call_func(fi, None, args, dst, span, expected, false),
                NameRes::Struct(s) => return self.construct(s, args, dst, span, None, expected),
                NameRes::Builtin(b) => return self.call_builtin(b, args, dst, span, expected),
                NameRes::None => {
                    self.unknown_name(n, callee.span);
                    for a in args {
                        self.expr(&a.value, None, None);
                    }
                    return (self.dst(dst), Type::Unknown);
                }
                _ => {}
            },
            ExprKind::Field { target, name, optional: false } => {
                if let ExprKind::Name(n) = &target.kind {
                    match self.resolve(n) {
                        NameRes::Module(mi) => {
                            match self.modules[mi].symbols.get(&name.name).cloned() {
                                Some((sym, public)) => {
                                    if !public {
                                        self.error(N0104, format!("`{}` is not public in module `{}`", name.name, self.modules[mi].name), name.span).hint("mark it `pub` in its module to use it here");
                                    }
                                    match sym {
                                        crate::compiler::Symbol::Func(fi) => return self.call_func(fi, None, args, dst, span, expected, false),
                                        crate::compiler::Symbol::Struct(s) => return self.construct(s, args, dst, span, None, expected),
                                        _ => {}
                                    }
                                }
                                None => {
                                    self.no_item(mi, name);
                                    for a in args {
                                        self.expr(&a.value, None, None);
                                    }
                                    return (self.dst(dst), Type::Unknown);
                                }
                            }
                        }
                        _ => {}
                    }
                }
                if let Some((res, targs)) = self.static_type(target) {
                    match res {
                        NameRes::Struct(s) => {
                            let info = self.structs[s as usize].clone();
                            return match info.methods.get(&name.name) {
                                Some(&fi) if !self.funcs[fi].has_self => self.call_func_targs(fi, None, args, dst, span, expected, false, TypeArgs { owner: targs, own: None }),
                                Some(_) => {
                                    self.error(N0215, format!("`{}.{}` is a method and needs a value: call it as `value.{}(...)`", info.name, name.name, name.name), span);
                                    (self.dst(dst), Type::Unknown)
                                }
                                None => {
                                    self.error(N0106, format!("struct `{}` has no static method `{}`", info.name, name.name), name.span);
                                    (self.dst(dst), Type::Unknown)
                                }
                            };
                        }
                        NameRes::Enum(e) => return self.enum_call(e, name, args, dst, span, expected, targs),
                        _ => {}
                    }
                }
                return self.method_call(target, name, args, dst, span, expected);
            }
            ExprKind::Field { target, name, optional: true } => return self.optional_method_call(target, name, args, dst, span),
            _ => {}
        }
        // calling a function value
        let (fr, ft) = self.expr(callee, None, None);
        let ft = self.subst.resolve(&ft);
        match ft {
            Type::Func(ps, ret) => {
                if args.len() != ps.len() {
                    self.error(N0201, format!("this function takes {} argument{} but {} were given", ps.len(), plural(ps.len()), args.len()), span);
                }
                let base = self.b().alloc(ps.len().max(args.len()) as u32 + 1);
                self.emit(Op::Move { dst: base, src: fr });
                for (i, a) in args.iter().enumerate() {
                    if let Some(n) = &a.name {
                        self.error(N0202, format!("named argument `{}` cannot be used when calling a function value", n.name), n.span);
                    }
                    match ps.get(i) {
                        Some(p) => {
                            self.expr_coerce(&a.value, Some(base + 1 + i as u16), p);
                        }
                        None => {
                            self.expr(&a.value, Some(base + 1 + i as u16), None);
                        }
                    }
                }
                self.emit(Op::CallValue { base, argc: args.len() as u8 });
                (self.to_dst(base, dst), *ret)
            }
            Type::Unknown => (self.dst(dst), Type::Unknown),
            Type::Optional(_) => {
                let shown = self.show(&ft);
                self.error(N0204, format!("cannot call `{shown}`, which may be none"), callee.span).hint("check it first or assert with `!`");
                (self.dst(dst), Type::Unknown)
            }
            other => {
                let shown = self.show(&other);
                self.error(N0206, format!("`{shown}` is not callable"), callee.span).label(format!("this is `{shown}`"));
                for a in args {
                    self.expr(&a.value, None, None);
                }
                (self.dst(dst), Type::Unknown)
            }
        }
    }

    /// Matches call arguments to parameters: positional first, then named; fills defaults.
    /// Compiles the arguments `bind_args` matched to `params` into consecutive registers from
    /// `first`, each against its parameter's type; a parameter left without one gets none.
    pub(crate) fn store_args(&mut self, slots: &[Option<Cow<'_, Expr>>], params: &[ParamInfo], first: Reg) {
        // When the argument registers are the top of the window, each is written in order, so
        // while one is computed the ones after it hold nothing yet: the window is cut back to
        // just above it, and a call computing it can return straight into it (`call_func`).
        let top = self.b().mark();
        let at_top = top == first as u32 + slots.len().min(params.len()) as u32;
        for (i, (slot, p)) in slots.iter().zip(params.iter()).enumerate() {
            let r = first + i as u16;
            if at_top {
                self.b().release(r as u32 + 1);
            }
            match slot {
                Some(e) => {
                    self.expr_coerce(e, Some(r), &p.ty);
                }
                None => {
                    self.emit(Op::LoadNone { dst: r });
                }
            }
        }
        if at_top {
            self.b().release(top);
        }
    }

    pub(crate) fn bind_args<'e>(&mut self, fname: &str, params: &[ParamInfo], args: &'e [Arg], span: Span) -> Vec<Option<Cow<'e, Expr>>> {
        let mut slots: Vec<Option<Cow<'e, Expr>>> = vec![None; params.len()];
        let mut seen_named = false;
        let mut ok = true;
        for (i, a) in args.iter().enumerate() {
            match &a.name {
                None => {
                    if seen_named {
                        self.error(N0202, "positional argument after a named argument", a.value.span).hint("put positional arguments first");
                        ok = false;
                        continue;
                    }
                    if i < params.len() {
                        slots[i] = Some(Cow::Borrowed(&a.value));
                    } else {
                        ok = false;
                    }
                }
                Some(n) => {
                    seen_named = true;
                    match params.iter().position(|p| p.name == n.name) {
                        Some(pi) => {
                            if slots[pi].is_some() {
                                self.error(N0202, format!("argument `{}` is given twice", n.name), n.span);
                            } else {
                                slots[pi] = Some(Cow::Borrowed(&a.value));
                            }
                        }
                        None => {
                            let cands: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
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
        let positional = args.iter().filter(|a| a.name.is_none()).count();
        if positional > params.len() || !ok && positional > params.len() {
            self.error(N0201, format!("`{fname}` takes {} argument{} but {} were given", params.len(), plural(params.len()), args.len()), span).label("too many arguments");
        }
        let mut missing = Vec::new();
        for (i, p) in params.iter().enumerate() {
            if slots[i].is_none() {
                match &p.default {
                    Some(d) => slots[i] = Some(Cow::Owned((**d).clone())),
                    None => missing.push(p.name.clone()),
                }
            }
        }
        if !missing.is_empty() {
            let any_named = args.iter().any(|a| a.name.is_some());
            let code = if any_named { N0202 } else { N0201 };
            // a parameter written as a pattern has no name to show: its position instead
            let list: Vec<String> = missing.iter().map(|m| m.strip_prefix("$arg").and_then(|k| k.parse::<usize>().ok()).map_or_else(|| format!("`{m}`"), |k| format!("number {}", k + 1))).collect();
            self.error(code, format!("`{fname}` is missing argument{} {}", plural(missing.len()), list.join(", ")), span)
                .label(format!("expected {} argument{}, found {}", params.len(), plural(params.len()), args.len()));
        }
        slots
    }

    /// A call of a known function. With `task` (`spawn f(...)`), or when `f` is `async def`,
    /// the call starts a task and has type `task[R]`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn call_func(&mut self, fi: usize, recv: Option<(Reg, Type)>, args: &[Arg], dst: Option<Reg>, span: Span, expected: Option<&Type>, task: bool) -> (Reg, Type) {
        self.call_func_targs(fi, recv, args, dst, span, expected, task, TypeArgs::default())
    }

    /// `call_func` with type arguments written at the call: the owner's (`Stack[int].new()`)
    /// and the function's own (`parse[Config](text)`).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn call_func_targs(&mut self, fi: usize, recv: Option<(Reg, Type)>, args: &[Arg], dst: Option<Reg>, span: Span, expected: Option<&Type>, task: bool, targs: TypeArgs) -> (Reg, Type) {
        if let Some(native) = self.funcs[fi].native.clone() {
            // a generic native's type arguments may be written (`json.decode[Config](text)`)
            let mut binds: Vec<(u32, Type)> = Vec::new();
            if let Some((own, sp)) = &targs.own {
                let name = self.funcs[fi].name.clone();
                let want = self.funcs[fi].type_params.len();
                if want == 0 {
                    self.error(N0214, format!("native function `{name}` takes no type arguments"), *sp);
                } else if own.len() != want {
                    self.error(N0214, format!("`{name}` takes {want} type argument{}, found {}", plural(want), own.len()), *sp);
                    binds = self.funcs[fi].type_params.iter().map(|tp| (*tp, Type::Unknown)).collect();
                } else {
                    binds = self.funcs[fi].type_params.iter().copied().zip(own.iter().cloned()).collect();
                }
            }
            if task {
                let name = self.funcs[fi].name.clone();
                self.error(N0243, format!("`spawn` cannot start native function `{name}` as a task"), span).hint("spawn a function of your own that calls it");
            }
            // `math.sqrt(x)` is an instruction, not a native call (hot in numeric code)
            if &*native.symbol == "math.sqrt" && args.len() == 1 && args[0].name.is_none() {
                let x = self.expr_coerce(&args[0].value, None, &Type::Float);
                let d = self.dst(dst);
                self.emit(Op::SqrtFloat { dst: d, src: x });
                return (d, Type::Float);
            }
            return self.call_native_func(fi, recv, &binds, args, dst, span, expected);
        }
        let info = self.funcs[fi].clone();
        // instantiate generics with fresh inference variables
        let mut inst: Vec<(u32, Type)> = Vec::new();
        for &tp in &info.type_params {
            inst.push((tp, self.subst.fresh()));
        }
        // the receiver's type (or the one written, `Stack[int].new()`) fixes the owner's
        // parameters; type arguments written at the call, the function's own
        let owner_n = match &info.self_ty {
            Some(Type::Struct(_, a) | Type::Enum(_, a)) => a.len(),
            _ => 0,
        };
        if let Some(self_ty) = &info.self_ty {
            let self_ty = instantiate(self_ty, &inst);
            if let (Some((_, rt)), true) = (&recv, info.has_self) {
                self.subst.unify(&self_ty, rt);
            }
            if let Some(owner) = &targs.owner {
                if let Type::Struct(_, a) | Type::Enum(_, a) = &self_ty {
                    for (x, y) in a.iter().zip(owner) {
                        self.subst.unify(x, y);
                    }
                }
            }
        }
        if let Some((own, sp)) = &targs.own {
            let want = info.type_params.len() - owner_n;
            if own.len() != want {
                let name = info.name.clone();
                let msg = if want == 0 { format!("`{name}` is not generic") } else { format!("`{name}` takes {want} type argument{}, found {}", plural(want), own.len()) };
                self.error(N0214, msg, *sp);
            } else {
                for ((_, v), t) in inst[owner_n..].iter().zip(own) {
                    self.subst.unify(v, t);
                }
            }
        }
        let subst_params = |t: &Type| instantiate(t, &inst);
        let params: Vec<ParamInfo> = info.params.iter().map(|p| ParamInfo { ty: subst_params(&p.ty), ..p.clone() }).collect();
        let ret = subst_params(&info.ret);
        let task = task || info.is_async;
        if let (Some(exp), false) = (expected, task) {
            // lets `let xs: list[int] = make()` fix a generic return type early
            if self.subst.has_vars(&ret) {
                self.subst.unify(&ret, exp);
            }
        }
        let short = info.name.rsplit('.').next().unwrap_or(&info.name).to_string();
        // A function called as a method (its receiver is its first parameter).
        let (params, extra) = match &recv {
            Some((_, rt)) if !info.has_self => {
                let first = params.first().map(|p| p.ty.clone()).unwrap_or(Type::Unknown);
                self.subst.unify(rt, &first);
                (params[1..].to_vec(), 1)
            }
            Some(_) => (params, 1),
            None => (params, 0),
        };
        let slots = self.bind_args(&short, &params, args, span);
        let nargs = params.len() as u32 + extra;
        let base = match dst {
            // the destination is the window's top register: it can be the call's base, so the
            // result lands in it with no move (the arguments are read before it is written)
            Some(d) if !task && d as u32 + 1 == self.b().mark() => {
                self.b().alloc(nargs);
                d
            }
            _ => self.b().alloc(nargs + 1),
        };
        if let Some((r, _)) = &recv {
            self.emit(Op::Move { dst: base + 1, src: *r });
        }
        self.store_args(&slots, &params, base + 1 + extra as u16);
        for a in args.iter().skip(params.len()) {
            if a.name.is_none() {
                self.expr(&a.value, None, None);
            }
        }
        if !info.type_params.is_empty() {
            // a generic function stores `T` values into a `list[T]` unchecked: given a
            // `list[any]` for it, that list must be one made with `any` elements
            let first = base + 1 + (recv.is_some() && info.has_self) as u16;
            for (j, p) in info.params.iter().enumerate() {
                if !contains_param(&p.ty) {
                    continue;
                }
                let t = self.subst.resolve(&instantiate(&p.ty, &inst));
                // where the function stores `T` values into a container that is a
                // `list[any]` (set, dict) here: at the argument itself (`list[T]`, or
                // `list[T]?`: none passes the check), checked now; deeper
                // (`list[list[T]]`, `(list[T], T)`, `fn() -> list[T]`), refused
                let mut at = Vec::new();
                any_stores(&p.ty, &t, true, &mut at);
                if at.contains(&true) {
                    self.check_dynamic(first + j as u16, &strip_optional(t.clone()));
                }
                if at.contains(&false) {
                    self.nested_view_error(&t, self_arg_span(args, recv.is_some() && !info.has_self, j, span));
                }
            }
        }
        let ret = self.subst.resolve(&ret);
        if task {
            // task.spawn(func, [args]): the arguments are copied into the task's own heap
            let nb = self.b().alloc(3);
            self.emit(Op::LoadFunc { dst: nb + 1, func: info.func });
            self.emit(Op::NewList { dst: nb + 2, base: base + 1, count: (params.len() as u32 + extra) as u16 });
            return (self.emit_native("actor.__spawn_task", nb, 2, dst), Type::Task(Box::new(ret)));
        }
        self.emit(Op::Call { base, func: info.func });
        (self.to_dst(base, dst), ret)
    }

    fn construct(&mut self, s: u32, args: &[Arg], dst: Option<Reg>, span: Span, targs: Option<Vec<Type>>, expected: Option<&Type>) -> (Reg, Type) {
        let info = self.structs[s as usize].clone();
        if s == ERROR_STRUCT && args.len() == 1 && args[0].name.is_none() {
            // Error(message): the code defaults to E0000
            let base = self.b().alloc(4);
            self.load_const(Const::Str("E0000".into()), Some(base));
            self.expr_coerce(&args[0].value, Some(base + 1), &Type::Str);
            self.emit(Op::LoadNone { dst: base + 2 });
            self.emit(Op::LoadNone { dst: base + 3 });
            let d = self.dst(dst);
            self.emit(Op::NewRecord { dst: d, ty: info.record, base });
            return (d, Type::Struct(s, vec![]));
        }
        if s == ERROR_STRUCT && args.len() > 3 {
            self.error(N0201, format!("`Error` takes at most 3 arguments (code, message, cause) but {} were given", args.len()), span);
        }
        // `Error(code, message, e)` with `e` from `catch e: ParseError`: its cause is the error
        // `e` came out of
        let rewritten: Vec<Arg>;
        let args = if s == ERROR_STRUCT {
            let mut changed = false;
            let mut out = args.to_vec();
            for (i, a) in out.iter_mut().enumerate() {
                let is_cause = a.name.as_ref().map_or(i == 2, |n| n.name == "cause");
                if let (true, ExprKind::Name(n)) = (is_cause, &a.value.kind) {
                    if let NameRes::Local(l) = self.resolve(n) {
                        if self.f().caught.iter().any(|(v, _)| *v == l.reg) {
                            a.value = Expr { kind: ExprKind::Name(format!("$error {n}")), span: a.value.span };
                            changed = true;
                        }
                    }
                }
            }
            rewritten = out;
            if changed { &rewritten[..] } else { args }
        } else {
            args
        };
        let targs = targs.unwrap_or_else(|| self.fresh_args(&info.type_params));
        let ty = Type::Struct(s, targs.clone());
        if let Some(exp) = expected {
            // `let s: Stack[int] = Stack(items: [])` settles the arguments before the fields
            if let Type::Struct(e, _) = self.subst.resolve(exp) {
                if e == s {
                    self.subst.unify(&ty, exp);
                }
            }
        }
        let fields = self.struct_fields(s, &targs);
        let params: Vec<ParamInfo> = fields.iter().zip(info.defaults.iter()).map(|((n, t), d)| ParamInfo { name: n.clone(), ty: t.clone(), default: d.clone() }).collect();
        let slots = self.bind_args(&info.name, &params, args, span);
        let base = self.b().alloc(params.len().max(1) as u32);
        // defaults are compiled in the struct's own module
        self.store_args(&slots, &params, base);
        let decl: Vec<Type> = info.fields.iter().map(|f| f.1.clone()).collect();
        self.check_generic_stores(&decl, &params, base, args, span);
        let d = self.dst(dst);
        self.emit(Op::NewRecord { dst: d, ty: info.record, base });
        (d, ty)
    }

    /// Storing values in the fields of a generic struct or variant whose declared type is
    /// `list[T]` (set, dict): given `T = any` here, the list must be one made with `any`
    /// elements (`CheckDynamic`), since the type's methods store `T`s in it unchecked; a
    /// `list[any]` deeper inside the field's type is refused (N0200), as for generic calls.
    pub(crate) fn check_generic_stores(&mut self, decl: &[Type], params: &[ParamInfo], base: Reg, args: &[Arg], span: Span) {
        for (i, (d, p)) in decl.iter().zip(params).enumerate() {
            if !contains_param(d) {
                continue;
            }
            let t = self.subst.resolve(&p.ty);
            let mut at = Vec::new();
            any_stores(d, &t, true, &mut at);
            if at.contains(&true) {
                self.check_dynamic(base + i as u16, &strip_optional(t.clone()));
            }
            if at.contains(&false) {
                let sp = args.iter().find(|a| a.name.as_ref().is_some_and(|n| n.name == p.name)).or(args.get(i)).map_or(span, |a| a.value.span);
                let shown = self.show(&t);
                self.error(N0200, format!("field `{}` of a generic type cannot hold a `{shown}` here: the type's methods could store values of any type in a list seen as `list[any]`", p.name), sp)
                    .hint("give the type a concrete type argument, or build the inner lists as `list[any]` (a copy)");
            }
        }
    }

    /// Type arguments written in `[...]` after a name in an expression (`parse[Config]`,
    /// `Pair[int, str](...)`, `Tree[int].Leaf`): each must be written as a type name, possibly
    /// with arguments of its own.
    pub(crate) fn expr_type_args(&mut self, index: &Expr) -> Vec<Type> {
        // `f[int, str]` has two arguments, `f[(int, str)]` one (a tuple type)
        // (a parenthesized tuple starts before its first element; in `f[(int, str), bool]` the
        // list of arguments starts with its first, a tuple type)
        let parenthesized = |es: &[Expr]| es.first().is_some_and(|e| e.span.start != index.span.start);
        let items: Vec<&Expr> = match &index.kind {
            ExprKind::Tuple(es) if !parenthesized(es) => es.iter().collect(),
            _ => vec![index],
        };
        items.into_iter().map(|e| match expr_as_type(e) {
            Some(te) => self.resolve_type(&te),
            None => {
                self.error(N0102, "expected a type argument", e.span).hint("write a type name (`int`, `list[str]`, `Point`); other types need a variable declared with the type");
                Type::Unknown
            }
        }).collect()
    }

    /// `T`, `module.T`, `T[args]` or `module.T[args]` naming a struct or enum (for static
    /// calls and variants), with its type arguments when written.
    fn static_type(&mut self, e: &Expr) -> Option<(NameRes, Option<Vec<Type>>)> {
        if let ExprKind::Index { target, index } = &e.kind {
            let (r, _) = self.static_type(target)?;
            let n = match r {
                NameRes::Struct(s) => self.structs[s as usize].type_params.len(),
                NameRes::Enum(x) => self.enums[x as usize].type_params.len(),
                _ => return None,
            };
            let targs = self.expr_type_args(index);
            if targs.len() != n {
                let name = match r {
                    NameRes::Struct(s) => self.structs[s as usize].name.clone(),
                    NameRes::Enum(x) => self.enums[x as usize].name.clone(),
                    _ => String::new(),
                };
                let msg = if n == 0 { format!("`{name}` is not generic") } else { format!("`{name}` takes {n} type argument{}, found {}", plural(n), targs.len()) };
                self.error(N0214, msg, index.span);
                return Some((r, None));
            }
            return Some((r, Some(targs)));
        }
        let r = self.static_type_name(e)?;
        Some((r, None))
    }

    /// `recv.method` without a call: a closure that calls the method on the receiver in `recv`,
    /// as it is now (`let add = acc.add; add(2)`), into `d`. A generic method has no one type
    /// to give the closure, so it cannot be taken this way (N0106).
    fn bound_method(&mut self, recv: Reg, recv_t: &Type, fi: usize, name: &noodle_syntax::ast::Ident, d: Reg, span: Span) -> Type {
        let info = self.funcs[fi].clone();
        let (owner, targs): (Vec<(String, Type)>, &[Type]) = match recv_t {
            Type::Struct(s, args) => (self.structs[*s as usize].type_params.clone(), args),
            Type::Enum(e, args) => (self.enums[*e as usize].type_params.clone(), args),
            _ => (Vec::new(), &[]),
        };
        let owner_ids: Vec<u32> = owner.iter().filter_map(|(_, p)| if let Type::Param(id, _) = p { Some(*id) } else { None }).collect();
        if info.type_params.len() > owner_ids.len() {
            self.error(N0106, format!("`{}` is a generic method, which cannot be used as a value", name.name), name.span)
                .hint(format!("call it, or wrap the call in a closure with the types you need: `fn (x: int) => obj.{}(x)`", name.name));
            return Type::Unknown;
        }
        let binds: Vec<(u32, Type)> = owner_ids.into_iter().zip(targs.iter().cloned()).collect();
        let params: Vec<&ParamInfo> = info.params.iter().filter(|p| p.name != "self").collect();
        let ptys: Vec<Type> = params.iter().map(|p| instantiate(&p.ty, &binds)).collect();
        let ret = instantiate(&info.ret, &binds);
        self.method_closure(recv, recv_t, name, ptys, ret, d, span)
    }

    /// `xs.push` on a built-in type: its `extend` method `fi`, with the type parameters the
    /// receiver's type gives it (`binds`), as a closure; a method generic beyond them
    /// (`xs.map`) cannot be one, as for `bound_method`.
    #[allow(clippy::too_many_arguments)]
    fn bound_extend_method(&mut self, recv: Reg, recv_t: &Type, fi: usize, binds: &[(u32, Type)], name: &noodle_syntax::ast::Ident, d: Reg, span: Span) -> Type {
        let info = self.funcs[fi].clone();
        let params: Vec<&ParamInfo> = info.params.iter().filter(|p| p.name != "self").collect();
        let ptys: Vec<Type> = params.iter().map(|p| self.subst.resolve(&instantiate(&p.ty, binds))).collect();
        let ret = self.subst.resolve(&instantiate(&info.ret, binds));
        if ptys.iter().chain([&ret]).any(contains_param) || params.iter().any(|p| p.default.is_some()) {
            let shown = self.show(recv_t);
            self.error(N0106, format!("`{shown}.{}` is generic or has default arguments, so it cannot be used as a value", name.name), name.span)
                .hint(format!("call it, or wrap the call you mean in a closure, which has one type: `fn (...) => value.{}(...)`", name.name));
            return Type::Unknown;
        }
        self.method_closure(recv, recv_t, name, ptys, ret, d, span)
    }

    /// A closure that calls method `name` on the value in `recv` (held by a hidden local it
    /// captures) with its own parameters, of types `ptys`.
    #[allow(clippy::too_many_arguments)]
    fn method_closure(&mut self, recv: Reg, recv_t: &Type, name: &noodle_syntax::ast::Ident, ptys: Vec<Type>, ret: Type, d: Reg, span: Span) -> Type {
        let params = &ptys;
        // the receiver, held by a hidden local that the closure captures
        let hidden = format!("$bound{}", self.with_count);
        self.with_count += 1;
        let l = self.declare_local(&hidden, recv_t.clone(), false);
        self.emit(Op::Move { dst: l.reg, src: recv });
        let at = |kind: ExprKind| Expr { kind, span };
        let names: Vec<String> = (0..params.len()).map(|i| format!("$arg{i}")).collect();
        let lparams: Vec<Param> = names.iter().map(|n| Param { name: noodle_syntax::ast::Ident { name: n.clone(), span }, ty: None, default: None, variadic: false, pattern: None }).collect();
        let call = at(ExprKind::Call {
            callee: Box::new(at(ExprKind::Field { target: Box::new(at(ExprKind::Name(hidden))), name: name.clone(), optional: false })),
            args: names.iter().map(|n| Arg { name: None, value: at(ExprKind::Name(n.clone())) }).collect(),
        });
        let body = noodle_syntax::ast::Block { stmts: vec![Stmt::Return(Some(call), span)], span, has_closure: false };
        let shown = self.show(recv_t);
        self.lambda(&format!("{shown}.{}", name.name), &lparams, Some(ptys), ret, &body, d, span)
    }

    /// A default value that a call omitted, compiled with the names of `scope`, the module that
    /// declares it. A call in it must construct a struct or an enum variant; a default that is
    /// reached again while it is being compiled constructs itself (N0216).
    fn default_expr(&mut self, scope: usize, d: &Expr, dst: Option<Reg>, expected: Option<&Type>) -> (Reg, Type) {
        let key = (d.span.file, d.span.start);
        let outer = self.default_scope.replace(scope);
        let r = if self.defaults_open.contains(&key) {
            self.error(crate::codes::N0216, "this default value constructs the struct it belongs to again, without end", d.span)
                .hint(crate::compiler::default_hint(true));
            (self.dst(dst), Type::Unknown)
        } else if let Some(call) = self.call_in_default(d) {
            self.error(crate::codes::N0216, "a default value may call only a struct's or an enum variant's constructor", call)
                .hint("compute the value where the default is needed instead, from an optional parameter or field");
            (self.dst(dst), Type::Unknown)
        } else {
            self.defaults_open.push(key);
            let r = self.expr(d, dst, expected);
            self.defaults_open.pop();
            r
        };
        self.default_scope = outer;
        r
    }

    /// The first call in default `d` that is not a constructor's, if any (the other parts were
    /// checked at the declaration).
    fn call_in_default(&mut self, d: &Expr) -> Option<Span> {
        let ExprKind::Call { callee, args } = &d.kind else { return None };
        let ndiag = self.diags.len();
        let head = match &callee.kind {
            ExprKind::Index { target, .. } => target,
            _ => callee,
        };
        let ok = self.static_type_name(head).is_some()
            || matches!(&head.kind, ExprKind::Field { target, .. } if matches!(self.static_type_name(target), Some(NameRes::Enum(_))));
        self.diags.truncate(ndiag);
        if !ok {
            return Some(d.span);
        }
        args.iter().find_map(|a| self.call_in_default(&a.value))
    }

    fn static_type_name(&mut self, e: &Expr) -> Option<NameRes> {
        match &e.kind {
            ExprKind::Name(n) => match self.resolve(n) {
                r @ (NameRes::Struct(_) | NameRes::Enum(_)) => Some(r),
                _ => None,
            },
            ExprKind::Field { target, name, optional: false } => {
                let ExprKind::Name(m) = &target.kind else { return None };
                let NameRes::Module(mi) = self.resolve(m) else { return None };
                let (sym, public) = self.modules[mi].symbols.get(&name.name).cloned()?;
                let r = match sym {
                    crate::compiler::Symbol::Struct(s) => NameRes::Struct(s),
                    crate::compiler::Symbol::Enum(e) => NameRes::Enum(e),
                    _ => return None,
                };
                if !public {
                    self.error(N0104, format!("`{}` is not public in module `{}`", name.name, self.modules[mi].name), name.span).hint("mark it `pub` in its module to use it here");
                }
                Some(r)
            }
            _ => None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn enum_call(&mut self, e: u32, name: &noodle_syntax::ast::Ident, args: &[Arg], dst: Option<Reg>, span: Span, expected: Option<&Type>, targs: Option<Vec<Type>>) -> (Reg, Type) {
        let info = self.enums[e as usize].clone();
        if let Some(vi) = info.variants.iter().position(|v| v.name == name.name) {
            let v = &info.variants[vi];
            let targs = targs.unwrap_or_else(|| self.fresh_args(&info.type_params));
            let ty = Type::Enum(e, targs.clone());
            if let Some(exp) = expected {
                if let Type::Enum(x, _) = self.subst.resolve(exp) {
                    if x == e {
                        self.subst.unify(&ty, exp);
                    }
                }
            }
            let fields = self.variant_fields(e, vi, &targs);
            let params: Vec<ParamInfo> = fields.iter().map(|(n, t)| ParamInfo { name: n.clone(), ty: t.clone(), default: None }).collect();
            let label = format!("{}.{}", info.name, v.name);
            let slots = self.bind_args(&label, &params, args, span);
            let base = self.b().alloc(params.len().max(1) as u32);
            for (i, (slot, p)) in slots.iter().zip(params.iter()).enumerate() {
                if let Some(x) = slot {
                    self.expr_coerce(x, Some(base + i as u16), &p.ty);
                }
            }
            let decl: Vec<Type> = v.fields.iter().map(|f| f.1.clone()).collect();
            self.check_generic_stores(&decl, &params, base, args, span);
            let d = self.dst(dst);
            self.emit(Op::NewRecord { dst: d, ty: v.record, base });
            return (d, ty);
        }
        if let Some(&fi) = info.methods.get(&name.name) {
            if !self.funcs[fi].has_self {
                return self.call_func_targs(fi, None, args, dst, span, expected, false, TypeArgs { owner: targs, own: None });
            }
        }
        let cands: Vec<&str> = info.variants.iter().map(|v| v.name.as_str()).collect();
        let mut d = Diagnostic::error(N0106, format!("enum `{}` has no variant `{}`", info.name, name.name), name.span);
        if let Some(s) = crate::compiler::suggest(&name.name, &cands) {
            d = d.hint(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
        (self.dst(dst), Type::Unknown)
    }

    fn method_call(&mut self, target: &Expr, name: &noodle_syntax::ast::Ident, args: &[Arg], dst: Option<Reg>, span: Span, expected: Option<&Type>) -> (Reg, Type) {
        if let ExprKind::Name(n) = &target.kind {
            if let NameRes::Actor(id) = self.resolve(n) {
                return self.actor_static(id, name, args, dst, span);
            }
        }
        let (r, t) = self.expr(target, None, None);
        let t = self.subst.resolve(&t);
        if matches!(t, Type::Optional(_)) {
            let shown = self.show(&t);
            self.error(N0204, format!("cannot call `{}` on `{shown}`, which may be none", name.name), target.span)
                .hint("check it first (`if x != none { ... }`), call with `?.`, or assert with `!`");
            return (self.dst(dst), Type::Unknown);
        }
        self.method_call_on(r, t, name, args, dst, span, expected)
    }

    /// `x?.m(args)`: none when `x` is none, else the method's result.
    fn optional_method_call(&mut self, target: &Expr, name: &noodle_syntax::ast::Ident, args: &[Arg], dst: Option<Reg>, span: Span) -> (Reg, Type) {
        let (r, t) = self.expr(target, None, None);
        let inner = match self.subst.resolve(&t) {
            Type::Optional(i) => *i,
            Type::Unknown => return (self.dst(dst), Type::Unknown),
            other => {
                self.never_none("`?.`", &other, target.span);
                other
            }
        };
        let d = self.dst(dst);
        self.emit(Op::Move { dst: d, src: r });
        let skip = self.b().jump_if_none(d);
        let (_, rt) = self.method_call_on(d, inner, name, args, Some(d), span, None);
        self.b().patch(skip);
        (d, Type::optional(rt))
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn method_call_on(&mut self, r: Reg, t: Type, name: &noodle_syntax::ast::Ident, args: &[Arg], dst: Option<Reg>, span: Span, expected: Option<&Type>) -> (Reg, Type) {
        match &t {
            Type::Struct(s, targs) => {
                let info = self.structs[*s as usize].clone();
                let fields = self.struct_fields(*s, targs);
                if let Some(&fi) = info.methods.get(&name.name) {
                    if !self.funcs[fi].has_self {
                        self.error(N0215, format!("`{}` is a static method: call it as `{}.{}(...)`", name.name, info.name, name.name), name.span);
                        return (self.dst(dst), Type::Unknown);
                    }
                    return self.call_func(fi, Some((r, t.clone())), args, dst, span, expected, false);
                }
                // a field holding a function
                if let Some(i) = info.fields.iter().position(|f| f.0 == name.name) {
                    if let Type::Func(ps, ret) = self.subst.resolve(&fields[i].1) {
                        let base = self.b().alloc(args.len() as u32 + 1);
                        self.emit(Op::GetField { dst: base, obj: r, idx: i as u16 });
                        if ps.len() != args.len() {
                            self.error(N0201, format!("`{}` takes {} argument{} but {} were given", name.name, ps.len(), plural(ps.len()), args.len()), span);
                        }
                        for (j, a) in args.iter().enumerate() {
                            let p = ps.get(j).cloned().unwrap_or(Type::Unknown);
                            self.expr_coerce(&a.value, Some(base + 1 + j as u16), &p);
                        }
                        self.emit(Op::CallValue { base, argc: args.len() as u8 });
                        return (self.to_dst(base, dst), *ret);
                    }
                }
                let cands: Vec<String> = info.methods.keys().cloned().collect();
                let refs: Vec<&str> = cands.iter().map(|s| s.as_str()).collect();
                let mut d = Diagnostic::error(N0106, format!("struct `{}` has no method `{}`", info.name, name.name), name.span).label("unknown method");
                if let Some(s) = crate::compiler::suggest(&name.name, &refs) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                (self.dst(dst), Type::Unknown)
            }
            Type::Enum(e, _) => {
                let info = self.enums[*e as usize].clone();
                if let Some(&fi) = info.methods.get(&name.name) {
                    if self.funcs[fi].has_self {
                        return self.call_func(fi, Some((r, t.clone())), args, dst, span, expected, false);
                    }
                }
                self.error(N0106, format!("enum `{}` has no method `{}`", info.name, name.name), name.span);
                (self.dst(dst), Type::Unknown)
            }
            Type::Interface(i, targs) => {
                let info = self.ifaces[*i as usize].clone();
                let Some((_, ps, ret)) = info.methods.iter().find(|m| m.0 == name.name).cloned() else {
                    self.error(N0106, format!("interface `{}` has no method `{}`", info.name, name.name), name.span);
                    return (self.dst(dst), Type::Unknown);
                };
                let inst = crate::compiler::type_inst(&info.type_params, targs);
                let k = info.methods.iter().position(|m| m.0 == name.name).unwrap_or(0);
                // names and default values as declared (the interface's own defaults)
                let params: Vec<ParamInfo> = match info.params.get(k) {
                    Some(ps) => ps.iter().map(|p| ParamInfo { ty: instantiate(&p.ty, &inst), ..p.clone() }).collect(),
                    None => ps.iter().enumerate().map(|(j, p)| ParamInfo { name: format!("$arg{j}"), ty: instantiate(p, &inst), default: None }).collect(),
                };
                let ret = instantiate(&ret, &inst);
                let slots = self.bind_args(&name.name, &params, args, span);
                let base = self.b().alloc(params.len() as u32 + 2);
                self.emit(Op::Move { dst: base + 1, src: r });
                self.store_args(&slots, &params, base + 2);
                let m = self.method_name(&name.name);
                self.emit(Op::CallMethod { base, name: m, argc: params.len() as u8 + 1 });
                (self.to_dst(base, dst), ret)
            }
            Type::Unknown => {
                for a in args {
                    self.expr(&a.value, None, None);
                }
                (self.dst(dst), Type::Unknown)
            }
            Type::Native(id) => self.native_type_method(r, *id, name, args, dst, span),
            Type::Actor(a) => self.actor_method(r, *a, name, args, dst, span),
            _ => self.builtin_method(r, &t, name, args, dst, span),
        }
    }

    /// A method of a built-in type (`str`, `list`, `tensor`, `task`, ...): declared by an
    /// `extend` block of a native module (the core module for most).
    fn builtin_method(&mut self, r: Reg, t: &Type, name: &noodle_syntax::ast::Ident, args: &[Arg], dst: Option<Reg>, span: Span) -> (Reg, Type) {
        // `x.len()` is `len(x)`: an instruction
        if name.name == "len" && matches!(t, Type::Str | Type::Bytes | Type::List(_) | Type::Dict(..) | Type::Set(_) | Type::Tensor(_)) {
            if !args.is_empty() {
                self.error(N0201, "`len` takes no arguments", span);
            }
            let d = self.dst(dst);
            self.emit(Op::Len { dst: d, src: r });
            return (d, Type::Int);
        }
        let cands: Vec<_> = self.extend_methods(t, &name.name).into_iter().filter(|(fi, _)| !self.funcs[*fi].native.as_ref().is_some_and(|n| n.property)).collect();
        let Some((fi, binds)) = self.pick_overload(&cands, args.len()) else {
            let shown = self.show(t);
            let mut d = Diagnostic::error(N0106, format!("`{shown}` has no method `{}`", name.name), name.span).label("unknown method");
            if matches!(name.name.as_str(), "sort" | "sorted" | "min" | "max" | "argsort") && matches!(t, Type::List(_)) {
                d = d.hint("sorting needs elements that can be ordered (int, float, str, bytes, bool, tuples and lists of those, or a struct declared `: Ord`); or sort by a key with sort_by(key)");
            } else if name.name == "sum" && matches!(t, Type::List(_)) {
                d = d.hint("`sum` adds a `list[int]` or a `list[float]`");
            } else if matches!(name.name.as_str(), "sum" | "sorted" | "sorted_by" | "reversed" | "zip" | "enumerate" | "min" | "max") && !matches!(t, Type::List(_)) {
                d = d.hint(format!("`{}` works on a list; this is `{shown}`", name.name));
            } else if let Type::Task(_) = t {
                d = d.hint("wait for a task with `await task`; check it with `task.done()`; stop it with `task.cancel()`");
            } else {
                let names = self.extend_method_names(t);
                let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
                if let Some(s) = crate::compiler::suggest(&name.name, &refs) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
            }
            self.diags.push(d);
            for a in args {
                self.expr(&a.value, None, None);
            }
            return (self.dst(dst), Type::Unknown);
        };
        let symbol = self.funcs[fi].native.as_ref().map(|n| n.symbol.clone());
        if symbol.as_deref() == Some("dict.get") && (1..=2).contains(&args.len()) && args.iter().all(|a| a.name.is_none()) {
            // `d.get(k)` and `d.get(k, default)` are an instruction: the key and the default
            // (none when not given) side by side
            let params = self.funcs[fi].params.clone();
            let kt = instantiate(&params[0].ty, &binds);
            let k = self.b().alloc(2);
            self.expr_coerce(&args[0].value, Some(k), &kt);
            match args.get(1) {
                Some(a) => {
                    let vt = instantiate(&params[1].ty, &binds);
                    self.expr_coerce(&a.value, Some(k + 1), &vt);
                }
                None => {
                    self.emit(Op::LoadNone { dst: k + 1 });
                }
            }
            let d = self.dst(dst);
            self.emit(Op::DictGet { dst: d, dict: r, key: k });
            let ret = instantiate(&self.funcs[fi].ret.clone(), &binds);
            return (d, ret);
        }
        self.call_native_func(fi, Some((r, t.clone())), &binds, args, dst, span, None)
    }

    fn call_builtin(&mut self, b: &str, args: &[Arg], dst: Option<Reg>, span: Span, expected: Option<&Type>) -> (Reg, Type) {
        if let Some(r) = self.builtin_as_method(b, args, dst, span, expected) {
            return r;
        }
        for a in args {
            if let Some(n) = &a.name {
                self.error(N0202, format!("`{b}` takes no named arguments"), n.span);
            }
        }
        let arity = |c: &mut Compiler, lo: usize, hi: usize| -> bool {
            if args.len() < lo || args.len() > hi {
                let expect = if lo == hi { format!("{lo}") } else { format!("{lo} to {hi}") };
                c.error(N0201, format!("`{b}` takes {expect} argument{} but {} were given", plural(if lo == hi { hi } else { 2 }), args.len()), span);
                false
            } else {
                true
            }
        };
        match b {
            "print" => {
                let base = self.b().alloc(args.len() as u32 + 1);
                for (i, a) in args.iter().enumerate() {
                    self.expr(&a.value, Some(base + 1 + i as u16), literal_any(&a.value));
                }
                let n = self.native("print");
                self.emit(Op::CallNative { base, native: n, argc: args.len() as u8 });
                (self.to_dst(base, dst), Type::None)
            }
            "len" => {
                if !arity(self, 1, 1) {
                    return (self.dst(dst), Type::Int);
                }
                let (r, t) = self.expr(&args[0].value, None, None);
                let t = self.subst.resolve(&t);
                let d = self.dst(dst);
                // a struct or enum with `len(self) -> int`
                if let Some(res) = self.operator_method_returning("len", r, &t, &[], d, &Type::Int, span) {
                    return res;
                }
                let native_len = matches!(t, Type::Native(id) if self.native_types[id as usize].len);
                if !native_len && !matches!(t, Type::Str | Type::Bytes | Type::List(_) | Type::Dict(..) | Type::Set(_) | Type::Unknown | Type::Tuple(_) | Type::Tensor(_)) {
                    let shown = self.show(&t);
                    let code = if matches!(t, Type::Optional(_)) { N0204 } else { N0200 };
                    self.error(code, format!("`len` needs a str, bytes, list, dict or set, found `{shown}`"), args[0].value.span);
                }
                self.emit(Op::Len { dst: d, src: r });
                (d, Type::Int)
            }
            "str" => {
                if !arity(self, 1, 1) {
                    return (self.dst(dst), Type::Str);
                }
                let (r, t) = self.expr(&args[0].value, None, None);
                let d = self.dst(dst);
                self.emit_to_str(d, r, &t);
                (d, Type::Str)
            }
            // `bytes([104, 105])`, `bytes("hi")`: the bytes of a list of ints (each 0 to 255,
            // N2011 otherwise) or of a str's UTF-8
            "bytes" => {
                if !arity(self, 1, 1) {
                    return (self.dst(dst), Type::Bytes);
                }
                let base = self.b().alloc(2);
                let (_, t) = self.expr(&args[0].value, Some(base + 1), Some(&Type::list(Type::Int)));
                let t = self.subst.resolve(&t);
                let ok = match &t {
                    Type::List(e) => matches!(self.subst.resolve(e), Type::Int | Type::Unknown),
                    Type::Str | Type::Bytes | Type::Unknown => true,
                    _ => false,
                };
                if !ok {
                    let shown = self.show(&t);
                    self.error(N0200, format!("`bytes` takes a `list[int]` (each 0 to 255) or a `str`, found `{shown}`"), args[0].value.span);
                }
                (self.emit_native("bytes", base, 1, dst), Type::Bytes)
            }
            // `list(xs)`, `set(xs)`: `[x for x in xs]`, `{x for x in xs}`, so they take whatever
            // `for` takes (a dict gives its keys, a str its characters)
            "list" | "set" if args.len() == 1 && args[0].name.is_none() => {
                use noodle_syntax::ast::{CompClause, CompKind, Comprehension, PatKind, Pattern};
                let x = "$element".to_string();
                let c = Comprehension {
                    kind: if b == "list" { CompKind::List } else { CompKind::Set },
                    elem: Expr { kind: ExprKind::Name(x.clone()), span },
                    value: None,
                    clauses: vec![CompClause::For { pat: Pattern { kind: PatKind::Bind(x), span }, iter: args[0].value.clone() }],
                    has_closure: true,
                };
                self.comprehension(&c, dst, expected, span)
            }
            "list" => {
                if arity(self, 0, 1) {
                    return self.expr(&Expr { kind: ExprKind::List(vec![]), span }, dst, expected);
                }
                (self.dst(dst), Type::Unknown)
            }
            "set" => {
                arity(self, 0, 1);
                let d = self.dst(dst);
                let base = self.b().alloc(1);
                let n = self.native("set");
                self.emit(Op::CallNative { base, native: n, argc: 0 });
                self.emit(Op::Move { dst: d, src: base });
                let et = match expected.map(|t| self.subst.resolve(t)) {
                    Some(Type::Set(e)) => *e,
                    _ => self.subst.fresh(),
                };
                let t = Type::Set(Box::new(et));
                self.mark_if_dynamic(d, &t);
                (d, t)
            }
            "int" | "float" | "bool" | "abs" | "min" | "max" | "assert" | "type_of" | "range" => {
                let (lo, hi) = match b {
                    "min" | "max" => (2, 2),
                    "assert" => (1, 2),
                    "range" => (1, 3),
                    _ => (1, 1),
                };
                arity(self, lo, hi);
                let base = self.b().alloc(args.len() as u32 + 1);
                let mut types = Vec::new();
                for (i, a) in args.iter().enumerate() {
                    let r = base + 1 + i as u16;
                    let t = match b {
                        "assert" if i == 0 => {
                            self.expr_coerce(&a.value, Some(r), &Type::Bool);
                            Type::Bool
                        }
                        "assert" => {
                            self.expr_coerce(&a.value, Some(r), &Type::Str);
                            Type::Str
                        }
                        "range" => {
                            self.expr_coerce(&a.value, Some(r), &Type::Int);
                            Type::Int
                        }
                        _ => self.expr(&a.value, Some(r), None).1,
                    };
                    types.push(self.subst.resolve(&t));
                }
                let ret = match b {
                    "int" => {
                        self.check_convertible(b, &types, &args[..args.len().min(1)]);
                        Type::Int
                    }
                    "float" => {
                        self.check_convertible(b, &types, &args[..args.len().min(1)]);
                        Type::Float
                    }
                    "bool" => Type::Bool,
                    "assert" => Type::None,
                    "type_of" => Type::Str,
                    "range" => Type::list(Type::Int),
                    _ => {
                        // abs/min/max: numbers (min/max also two values of one other orderable
                        // type: strings, `Ord` structs, ...)
                        let all_num = types.iter().all(|t| t.is_numeric() || t.is_error());
                        let all_str = b != "abs" && types.iter().all(|t| *t == Type::Str);
                        let same_ord = b != "abs" && types.len() == 2 && types[0] == types[1] && self.orderable(&types[0]);
                        if same_ord && !all_num && !all_str {
                            let t = types[0].clone();
                            let n = self.native(b);
                            self.emit(Op::CallNative { base, native: n, argc: args.len() as u8 });
                            return (self.to_dst(base, dst), t);
                        }
                        if !all_num && !all_str {
                            let shown: Vec<String> = types.iter().map(|t| self.show(t)).collect();
                            self.error(N0200, format!("`{b}` needs numbers, or two values of one type that can be ordered, found `{}`", shown.join("`, `")), span);
                        }
                        if all_str && !types.is_empty() {
                            Type::Str
                        } else if types.iter().any(|t| *t == Type::Float) {
                            Type::Float
                        } else {
                            Type::Int
                        }
                    }
                };
                let n = self.native(b);
                self.emit(Op::CallNative { base, native: n, argc: args.len() as u8 });
                (self.to_dst(base, dst), ret)
            }
            _ => unreachable!("builtin {b}"),
        }
    }

    fn check_convertible(&mut self, f: &str, types: &[Type], args: &[Arg]) {
        if let (Some(t), Some(a)) = (types.first(), args.first()) {
            if !matches!(t, Type::Int | Type::Float | Type::Str | Type::Bool | Type::Any | Type::Unknown) {
                let shown = self.show(t);
                let code = if matches!(t, Type::Optional(_)) { N0204 } else { N0200 };
                self.error(code, format!("cannot convert `{shown}` with `{f}`"), a.value.span).hint(format!("`{f}` accepts int, float, str and bool"));
            }
        }
    }
}

/// Hints for Python built-ins that Noodle spells differently.
fn python_hint(n: &str) -> Option<&'static str> {
    Some(match n {
        "map" | "filter" => "lists have methods: `xs.map(f)`, `xs.filter(f)`",
        "isinstance" => "test a dynamic value with `x is T`",
        "input" => "read a line with `std.io.read_line()` (after `import std.io`)",
        "open" => "read and write files with `std.io.read_file` and `std.io.write_file`",
        "self" => "`self` is only available inside methods",
        "null" | "nil" | "NULL" => "Noodle spells it `none`",
        _ => return None,
    })
}

fn strip_optional(t: Type) -> Type {
    match t {
        Type::Optional(i) => *i,
        t => t,
    }
}

/// The comparison that holds exactly when `op` does not (for ints).
fn negate(op: BinOp) -> BinOp {
    match op {
        BinOp::Lt => BinOp::Ge,
        BinOp::Le => BinOp::Gt,
        BinOp::Gt => BinOp::Le,
        BinOp::Ge => BinOp::Lt,
        BinOp::Eq => BinOp::Ne,
        _ => BinOp::Eq,
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Replaces type parameters by their instantiation.
pub fn instantiate(t: &Type, inst: &[(u32, Type)]) -> Type {
    if inst.is_empty() {
        return t.clone();
    }
    match t {
        Type::Param(id, _) => inst.iter().find(|(i, _)| i == id).map(|(_, t)| t.clone()).unwrap_or_else(|| t.clone()),
        Type::List(a) => Type::List(Box::new(instantiate(a, inst))),
        Type::Set(a) => Type::Set(Box::new(instantiate(a, inst))),
        Type::Task(a) => Type::Task(Box::new(instantiate(a, inst))),
        Type::Optional(a) => Type::optional(instantiate(a, inst)),
        Type::Dict(k, v) => Type::Dict(Box::new(instantiate(k, inst)), Box::new(instantiate(v, inst))),
        Type::Tuple(ts) => Type::Tuple(ts.iter().map(|t| instantiate(t, inst)).collect()),
        Type::Func(ps, r) => Type::Func(ps.iter().map(|t| instantiate(t, inst)).collect(), Box::new(instantiate(r, inst))),
        Type::Struct(id, args) if !args.is_empty() => Type::Struct(*id, args.iter().map(|t| instantiate(t, inst)).collect()),
        Type::Enum(id, args) if !args.is_empty() => Type::Enum(*id, args.iter().map(|t| instantiate(t, inst)).collect()),
        Type::Interface(id, args) if !args.is_empty() => Type::Interface(*id, args.iter().map(|t| instantiate(t, inst)).collect()),
        t => t.clone(),
    }
}

/// Whether `e` is a literal made only of constants (numbers, strings, bools, `none`, and tuples
/// and lists of those): its evaluation has no effects to order.
fn constant_literal(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bytes(_) | ExprKind::Bool(_) | ExprKind::None => true,
        ExprKind::Unary(_, x) => constant_literal(x),
        ExprKind::Tuple(xs) | ExprKind::List(xs) => xs.iter().all(constant_literal),
        _ => false,
    }
}

/// A type written as an expression (a type argument: `parse[Config]`, `Pair[int, str]`).
fn expr_as_type(e: &Expr) -> Option<TypeExpr> {
    let span = e.span;
    match &e.kind {
        ExprKind::Name(n) => Some(TypeExpr::Named { path: vec![noodle_syntax::ast::Ident { name: n.clone(), span }], args: vec![], span }),
        ExprKind::None => Some(TypeExpr::Named { path: vec![noodle_syntax::ast::Ident { name: "none".into(), span }], args: vec![], span }),
        ExprKind::Tuple(es) => Some(TypeExpr::Tuple(es.iter().map(expr_as_type).collect::<Option<Vec<_>>>()?, span)),
        ExprKind::Field { target, name, optional: false } => match &target.kind {
            ExprKind::Name(m) => Some(TypeExpr::Named { path: vec![noodle_syntax::ast::Ident { name: m.clone(), span: target.span }, name.clone()], args: vec![], span }),
            _ => None,
        },
        ExprKind::Index { target, index } => {
            let Some(TypeExpr::Named { path, .. }) = expr_as_type(target) else { return None };
            let items: Vec<&Expr> = match &index.kind {
                ExprKind::Tuple(es) => es.iter().collect(),
                _ => vec![index],
            };
            let args = items.into_iter().map(expr_as_type).collect::<Option<Vec<_>>>()?;
            Some(TypeExpr::Named { path, args, span })
        }
        _ => None,
    }
}

/// The method an arithmetic operator calls on a struct or enum (see `operator_method`).
fn op_method(op: BinOp) -> Option<&'static str> {
    Some(match op {
        BinOp::Add => "add",
        BinOp::Sub => "sub",
        BinOp::Mul => "mul",
        BinOp::Div => "div",
        BinOp::FloorDiv => "floordiv",
        BinOp::Mod => "mod",
        BinOp::Pow => "pow",
        BinOp::MatMul => "matmul",
        _ => return None,
    })
}

/// Type arguments written at a call (see `call_func_targs`).
#[derive(Default)]
pub(crate) struct TypeArgs {
    /// The struct's or enum's, for a static method (`Stack[int].new()`).
    pub owner: Option<Vec<Type>>,
    /// The function's own (`parse[Config](text)`), and where they are written.
    pub own: Option<(Vec<Type>, Span)>,
}

/// The span of the argument for parameter `j` (the receiver, parameter 0 of a function
/// called as a method, has none of its own: the call's).
fn self_arg_span(args: &[Arg], receiver_first: bool, j: usize, span: Span) -> Span {
    let k = if receiver_first { j.checked_sub(1) } else { Some(j) };
    k.and_then(|k| args.get(k)).map_or(span, |a| a.value.span)
}

/// The places in a generic parameter's type `decl` (instantiated as `inst`) where the function
/// can store values of a type parameter into a container that is a `list[any]`, `set[any]` or
/// `dict[any, any]` in this call: `true` for the argument itself, `false` for one inside it.
pub(crate) fn any_stores(decl: &Type, inst: &Type, top: bool, out: &mut Vec<bool>) {
    let param = |t: &Type| matches!(t, Type::Param(..));
    match (decl, inst) {
        (Type::Optional(d), Type::Optional(i)) => any_stores(d, i, top, out),
        (Type::List(d), Type::List(i)) | (Type::Set(d), Type::Set(i)) => {
            if param(d) && crate::compiler::any_container(inst) {
                out.push(top);
            }
            any_stores(d, i, false, out);
        }
        (Type::Dict(dk, dv), Type::Dict(ik, iv)) => {
            if (param(dk) || param(dv)) && crate::compiler::any_container(inst) {
                out.push(top);
            }
            any_stores(dk, ik, false, out);
            any_stores(dv, iv, false, out);
        }
        (Type::Tuple(ds), Type::Tuple(is)) => ds.iter().zip(is).for_each(|(d, i)| any_stores(d, i, false, out)),
        (Type::Func(dps, dr), Type::Func(ips, ir)) => {
            dps.iter().zip(ips).for_each(|(d, i)| any_stores(d, i, false, out));
            any_stores(dr, ir, false, out);
        }
        (Type::Task(d), Type::Task(i)) => any_stores(d, i, false, out),
        // a generic type's own fields that are `list[T]` hold lists checked when they were
        // stored (see `check_generic_store`); a `list[T]` written as its argument is nested
        (Type::Struct(_, ds), Type::Struct(_, is)) | (Type::Enum(_, ds), Type::Enum(_, is)) | (Type::Interface(_, ds), Type::Interface(_, is)) => {
            ds.iter().zip(is).for_each(|(d, i)| any_stores(d, i, false, out))
        }
        _ => {}
    }
}

impl Compiler {
    /// N0200: a generic function given a `list[any]` (or set, dict) inside another type, where
    /// it could store any `T` into what may be a cast's view of a typed list, unchecked.
    pub(crate) fn nested_view_error(&mut self, t: &Type, span: Span) {
        let shown = self.show(t);
        self.error(N0200, format!("a generic function cannot take a `{shown}` here: it could store values of any type in a list seen as `list[any]`"), span)
            .hint("pass the list itself as a `list[T]` argument, give the parameter a concrete type, or pass a copy made as `list[any]`");
    }
}

/// Does `t` mention a type parameter?
pub fn contains_param(t: &Type) -> bool {
    match t {
        Type::Param(..) => true,
        Type::List(a) | Type::Set(a) | Type::Task(a) | Type::Optional(a) => contains_param(a),
        Type::Dict(k, v) => contains_param(k) || contains_param(v),
        Type::Tuple(ts) | Type::Struct(_, ts) | Type::Enum(_, ts) | Type::Interface(_, ts) => ts.iter().any(contains_param),
        Type::Func(ps, r) => ps.iter().any(contains_param) || contains_param(r),
        _ => false,
    }
}

/// `any` as the expected type of `e` when it is a list, set or dict literal (which then has
/// `any` elements, as where an `any` is declared): for the arguments of `print` and of natives
/// taking `any`. Other expressions get no expected type there, so that `any` does not flow into
/// the inference of a call's type arguments.
pub(crate) fn literal_any(e: &Expr) -> Option<&'static Type> {
    static ANY: Type = Type::Any;
    matches!(e.kind, ExprKind::List(_) | ExprKind::Set(_) | ExprKind::Dict(_)).then_some(&ANY)
}
