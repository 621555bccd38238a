//! Statements: bindings, assignment, loops, try/catch/finally, returns.

use crate::codes::{N0100, N0101, N0104, N0105, N0106, N0200, N0204, N0207, N0210, N0211, N0213, N0241, N0300, N0302};
use noodle_syntax::codes::{N0208, N0215};
use noodle_syntax::codes::{N0010, N0012};
use crate::builder::Reg;
use crate::compiler::{Compiler, GlobalInfo, Local, LoopCtx, NameRes, Symbol};
use crate::types::Type;
use noodle_nbc::Op;
use noodle_nbc::op::KIND_NONE;
use noodle_syntax::ast::{self, Block, Expr, ExprKind, Ident, PatKind, Pattern, Stmt};
use noodle_syntax::{Diagnostic, Span};
use foldhash::{HashSet, HashSetExt};

/// Names mentioned inside closures (lambdas and nested `def`s) anywhere in `block`. A `var`
/// with such a name is stored in a cell so that the closure and its scope share it.
pub fn captured_names(block: &Block) -> HashSet<String> {
    if !block.has_closure {
        // the parser saw no lambda or nested `def` in it: nothing can capture
        return HashSet::new();
    }
    captured_names_in(&block.stmts)
}

pub fn captured_names_in(stmts: &[Stmt]) -> HashSet<String> {
    let mut out = HashSet::new();
    for s in stmts {
        walk_stmt(s, false, &mut out);
    }
    out
}

fn walk_block(b: &Block, inside: bool, out: &mut HashSet<String>) {
    for s in &b.stmts {
        walk_stmt(s, inside, out);
    }
}

fn walk_stmt(s: &Stmt, inside: bool, out: &mut HashSet<String>) {
    match s {
        Stmt::Let { value, .. } => walk_expr(value, inside, out),
        Stmt::Assign { target, value, .. } => {
            walk_expr(target, inside, out);
            walk_expr(value, inside, out);
        }
        Stmt::Expr(e) | Stmt::Throw(e, _) | Stmt::Return(Some(e), _) => walk_expr(e, inside, out),
        Stmt::Return(None, _) | Stmt::Break(_) | Stmt::Continue(_) => {}
        Stmt::While { cond, body, .. } => {
            walk_expr(cond, inside, out);
            walk_block(body, inside, out);
        }
        Stmt::For { iter, body, .. } => {
            walk_expr(iter, inside, out);
            walk_block(body, inside, out);
        }
        Stmt::Try { body, catch, finally, .. } => {
            walk_block(body, inside, out);
            for c in catch {
                walk_block(&c.body, inside, out);
            }
            if let Some(b) = finally {
                walk_block(b, inside, out);
            }
        }
        Stmt::With { value, body, .. } => {
            walk_expr(value, inside, out);
            walk_block(body, inside, out);
        }
        Stmt::Func(f) => {
            out.insert(f.name.name.clone());
            if let Some(b) = &f.body {
                walk_block(b, true, out);
            }
        }
    }
}

/// Whether evaluating `e` may run code of the program (a call, an `await`, a spawn, an
/// operator method or a block): what could rebind a variable. Conservative for the rest.
fn may_call(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Bool(_) | ExprKind::Str(_) | ExprKind::Bytes(_) | ExprKind::None | ExprKind::Name(_) | ExprKind::SelfRef | ExprKind::Lambda { .. } => false,
        ExprKind::List(v) | ExprKind::Set(v) | ExprKind::Tuple(v) => v.iter().any(may_call),
        ExprKind::Unary(_, x) | ExprKind::Unwrap(x) | ExprKind::Is(x, _) | ExprKind::As(x, _) => may_call(x),
        ExprKind::TupleField { target, .. } | ExprKind::Field { target, .. } => may_call(target),
        // an operator method (`a + b` on a struct) is a call too, which this does not see:
        // a variable it rebinds is read where the target is written
        ExprKind::Binary(_, a, b) | ExprKind::Index { target: a, index: b } => may_call(a) || may_call(b),
        _ => true,
    }
}

fn walk_expr(e: &Expr, inside: bool, out: &mut HashSet<String>) {
    let w = |x: &Expr, out: &mut HashSet<String>| walk_expr(x, inside, out);
    match &e.kind {
        ExprKind::Name(n) => {
            if inside {
                out.insert(n.clone());
            }
        }
        ExprKind::Lambda { body, params, .. } => {
            for p in params {
                if let Some(d) = &p.default {
                    walk_expr(d, true, out);
                }
            }
            walk_block(body, true, out)
        }
        ExprKind::List(v) | ExprKind::Set(v) | ExprKind::Tuple(v) => v.iter().for_each(|x| w(x, out)),
        ExprKind::Comprehension(c) => {
            w(&c.elem, out);
            if let Some(v) = &c.value {
                w(v, out);
            }
            for cl in &c.clauses {
                match cl {
                    ast::CompClause::For { iter, .. } => w(iter, out),
                    ast::CompClause::If(cond) => w(cond, out),
                }
            }
        }
        ExprKind::Dict(v) => v.iter().for_each(|(a, b)| {
            w(a, out);
            w(b, out)
        }),
        ExprKind::FStr(parts) => parts.iter().for_each(|p| {
            if let ast::FStrPart::Expr(x, _) = p {
                w(x, out)
            }
        }),
        ExprKind::Unary(_, x) | ExprKind::Unwrap(x) | ExprKind::Is(x, _) | ExprKind::As(x, _) => w(x, out),
        ExprKind::TupleField { target, .. } | ExprKind::Field { target, .. } => w(target, out),
        ExprKind::Binary(_, a, b) | ExprKind::Index { target: a, index: b } | ExprKind::Range { start: a, end: b, .. } => {
            w(a, out);
            w(b, out)
        }
        ExprKind::Slice { target, start, end } => {
            w(target, out);
            if let Some(s) = start {
                w(s, out)
            }
            if let Some(s) = end {
                w(s, out)
            }
        }
        ExprKind::SliceItem { start, stop, step } => {
            for s in [start, stop, step].into_iter().flatten() {
                w(s, out)
            }
        }
        ExprKind::Call { callee, args } => {
            w(callee, out);
            args.iter().for_each(|a| w(&a.value, out))
        }
        ExprKind::Spawn { options, call } => {
            options.iter().for_each(|a| w(&a.value, out));
            w(call, out)
        }
        ExprKind::Await(x) => w(x, out),
        ExprKind::If { arms, else_ } => {
            for arm in arms {
                w(&arm.cond, out);
                walk_block(&arm.then, inside, out);
            }
            if let Some(b) = else_ {
                walk_block(b, inside, out)
            }
        }
        ExprKind::Match { scrutinee, arms } => {
            w(scrutinee, out);
            for a in arms {
                if let Some(g) = &a.guard {
                    w(g, out)
                }
                w(&a.body, out)
            }
        }
        ExprKind::Block(b) => walk_block(b, inside, out),
        _ => {}
    }
}

/// Does this block certainly not complete normally?
pub fn always_exits(b: &Block) -> bool {
    b.stmts.last().map(|s| match s {
        Stmt::Return(..) | Stmt::Throw(..) | Stmt::Break(_) | Stmt::Continue(_) => true,
        Stmt::Expr(Expr { kind: ExprKind::If { arms, else_: Some(e) }, .. }) => arms.iter().all(|a| always_exits(&a.then)) && always_exits(e),
        _ => false,
    }) == Some(true)
}

impl Compiler {
    pub fn top_level_stmt(&mut self, mi: usize, s: &Stmt, public: bool, last: bool) {
        self.set_line(stmt_span(s));
        let mark = self.b().mark();
        match s {
            Stmt::Let { mutable, pat, ty, value, .. } if matches!(pat.kind, PatKind::Bind(_)) => {
                let PatKind::Bind(name) = &pat.kind else { unreachable!() };
                let pspan = &pat.span;
                let declared = ty.as_ref().map(|t| self.resolve_type(t));
                let tmp = self.b().temp();
                let vt = match &declared {
                    Some(t) => {
                        self.expr_coerce(value, Some(tmp), t);
                        t.clone()
                    }
                    None => self.expr(value, Some(tmp), None).1,
                };
                let vt = self.bounded(vt, value.span);
                let vt = self.subst.resolve(&vt);
                if declared.is_none() {
                    self.check_inferred(&vt, value.span, name);
                }
                let vt = if vt == Type::Never { Type::Unknown } else { vt };
                let idx = self.program.nglobals;
                self.program.nglobals += 1;
                self.emit(Op::StoreGlobal { src: tmp, idx });
                let gi = self.globals.len();
                self.globals.push(GlobalInfo { name: name.clone(), ty: vt, mutable: *mutable, idx });
                let ident = ast::Ident { name: name.clone(), span: *pspan };
                if self.modules[mi].symbols.contains_key(name) && !matches!(self.modules[mi].symbols.get(name), Some((Symbol::Global(_), _))) && Some(mi) != self.repl_module_idx() {
                    self.error(N0101, format!("`{name}` is defined more than once"), *pspan).label("a declaration with this name already exists in this module");
                } else if matches!(self.modules[mi].symbols.get(name), Some((Symbol::Global(_), _))) && Some(mi) != self.repl_module_idx() {
                    self.error(N0101, format!("`{name}` is defined more than once"), *pspan)
                        .label("a global with this name already exists")
                        .hint("assign to it instead (declare it with `var` to make it mutable)");
                } else {
                    self.modules[mi].symbols.insert(ident.name, (Symbol::Global(gi), public));
                }
            }
            Stmt::Let { mutable, pat, ty, value, .. } if matches!(pat.kind, PatKind::Tuple(_) | PatKind::List { .. } | PatKind::Struct { .. } | PatKind::Variant { args: Some(_), .. }) => {
                let declared = ty.as_ref().map(|t| self.resolve_type(t));
                let (r, vt) = match &declared {
                    Some(t) => (self.expr_coerce(value, None, t), t.clone()),
                    None => self.expr(value, None, None),
                };
                let vt = self.subst.resolve(&vt);
                self.bind_pattern_global(mi, pat, r, &vt, *mutable, public);
            }
            Stmt::Expr(e) if last && self.repl_expr_type.is_some() => {
                let (r, t) = self.expr(e, None, None);
                let shown = self.show(&self.subst.resolve(&t));
                // a call made for its effect (`print(x)`) shows nothing, as in Python
                self.repl_expr_type = if matches!(self.subst.resolve(&t), Type::None | Type::Never) { None } else { Some(shown) };
                if !matches!(self.subst.resolve(&t), Type::None | Type::Never) {
                    let base = self.b().alloc(2);
                    self.emit(Op::Move { dst: base + 1, src: r });
                    let n = self.native("__repl_show");
                    self.emit(Op::CallNative { base, native: n, argc: 1 });
                }
            }
            _ => {
                if public {
                    self.error(N0010, "`pub` applies only to declarations", stmt_span(s));
                }
                let names = captured_names_in(std::slice::from_ref(s));
                self.f().captured_names.extend(names);
                self.stmt(s);
            }
        }
        // keep the registers of top-level locals (tuple-pattern lets, narrowed copies)
        let keep = self.f().scopes.last().unwrap().iter().map(|(_, l)| l.reg as u32 + 1).max().unwrap_or(0);
        self.b().release(mark.max(keep));
    }

    /// A top-level destructuring pattern: each name becomes a global.
    fn bind_pattern_global(&mut self, mi: usize, pat: &Pattern, r: Reg, ty: &Type, mutable: bool, public: bool) {
        self.destructure(pat, r, ty, &mut |c: &mut Compiler, name: &str, span: Span, r: Reg, ty: &Type| {
            let idx = c.program.nglobals;
            c.program.nglobals += 1;
            c.emit(Op::StoreGlobal { src: r, idx });
            let gi = c.globals.len();
            c.globals.push(GlobalInfo { name: name.to_string(), ty: ty.clone(), mutable, idx });
            if c.modules[mi].symbols.contains_key(name) && Some(mi) != c.repl_module_idx() {
                c.error(N0101, format!("`{name}` is defined more than once"), span);
            } else {
                c.modules[mi].symbols.insert(name.to_string(), (Symbol::Global(gi), public));
            }
        });
    }

    fn repl_module_idx(&self) -> Option<usize> {
        self.repl_module
    }

    pub fn check_inferred(&mut self, t: &Type, span: Span, name: &str) {
        if self.subst.has_vars(t) && !contains_unknown(&self.subst.resolve(t)) {
            let t = self.subst.resolve(t);
            let shown = self.show(&t);
            let example = match t {
                Type::List(_) => format!("`let {name}: list[int] = []`"),
                Type::Dict(..) => format!("`let {name}: dict[str, int] = {{}}`"),
                Type::Set(_) => format!("`let {name}: set[int] = set()`"),
                _ => format!("`let {name}: TYPE = ...`"),
            };
            self.diags.push(
                Diagnostic::error(N0208, format!("cannot infer the type of `{name}` (`{shown}`)"), span)
                    .label("part of this type is unknown")
                    .hint(format!("add a type annotation, for example {example}")),
            );
        }
    }

    /// Compiles the statements of a block in a new scope. Returns true when the block cannot
    /// complete normally.
    pub fn block_stmts(&mut self, b: &Block) -> bool {
        self.push_scope();
        let mut diverges = false;
        // statements after one that always exits are still checked and compiled
        let mut k = 0;
        while k < b.stmts.len() {
            let s = &b.stmts[k];
            let mark = self.b().mark();
            let d = self.stmt(s);
            // Locals declared by this statement stay allocated; temporaries are freed.
            let keep = self.f().scopes.last().unwrap().iter().map(|(_, l)| l.reg as u32 + 1).max().unwrap_or(0);
            self.b().release(mark.max(keep));
            diverges |= d;
            k += 1;
            if let Some((list, i, j)) = self.swap_after(&b.stmts, k - 1) {
                // `a[i] = a[j]` and `a[j] = t` after `let t = a[i]`: one instruction
                self.set_line(stmt_span(&b.stmts[k]));
                self.emit(Op::ListSwap { list, i, j });
                k += 2;
            }
        }
        self.pop_scope();
        diverges
    }

    /// If `stmts[k]` is `let t = a[i]` (just compiled) and the next two statements are
    /// `a[i] = a[j]` and `a[j] = t`, with `a` a local list and `i`, `j` local ints, all plain
    /// registers and `t` none of them: the registers of `a`, `i` and `j`. The swap then does
    /// what those two statements do, and their index errors come in the same order (`i` was
    /// checked by the `let`, so `j` fails first).
    fn swap_after(&mut self, stmts: &[Stmt], k: usize) -> Option<(Reg, Reg, Reg)> {
        fn name(e: &Expr) -> Option<&str> {
            match &e.kind {
                ExprKind::Name(n) => Some(n),
                _ => None,
            }
        }
        fn index(e: &Expr) -> Option<(&str, &str)> {
            match &e.kind {
                ExprKind::Index { target, index } => Some((name(target)?, name(index)?)),
                _ => None,
            }
        }
        let [Stmt::Let { pat, ty: None, value, .. }, Stmt::Assign { target: t1, op: None, value: v1, .. }, Stmt::Assign { target: t2, op: None, value: v2, .. }, ..] = stmts.get(k..)? else {
            return None;
        };
        let PatKind::Bind(t) = &pat.kind else { return None };
        let (a, i) = index(value)?;
        let (j, tmp) = (index(v1)?, name(v2)?);
        if index(t1)? != (a, i) || j.0 != a || index(t2)? != (a, j.1) || tmp != t.as_str() {
            return None;
        }
        let j = j.1;
        if [a, i, j].contains(&t.as_str()) {
            return None;
        }
        let mut reg = |n: &str, list: bool| match self.resolve(n) {
            NameRes::Local(l) if !l.cell && l.global.is_none() => {
                let ty = self.subst.resolve(&l.ty);
                let ok = if list { matches!(ty, Type::List(_)) } else { ty == Type::Int };
                ok.then_some(l.reg)
            }
            _ => None,
        };
        Some((reg(a, true)?, reg(i, false)?, reg(j, false)?))
    }

    pub fn stmt(&mut self, s: &Stmt) -> bool {
        self.set_line(stmt_span(s));
        match s {
            Stmt::Let { mutable, pat, ty, value, span } => {
                self.let_stmt(*mutable, pat, ty.as_deref(), value, *span);
                false
            }
            Stmt::Assign { target, op, value, span } => {
                self.assign(target, *op, value, *span);
                false
            }
            Stmt::Expr(e) => {
                if let ExprKind::If { arms, else_ } = &e.kind {
                    return self.if_stmt(arms, else_.as_deref());
                }
                if let ExprKind::Match { .. } = &e.kind {
                    let (_, t) = self.expr(e, None, None);
                    return matches!(t, Type::Never);
                }
                let (r, t) = self.expr(e, None, None);
                if let Type::Task(_) = self.subst.resolve(&t) {
                    // a task nobody can await (`spawn log(x)` as a statement): the runtime
                    // forgets its result when it finishes and reports its error, if any
                    let base = self.b().alloc(2);
                    self.emit(Op::Move { dst: base + 1, src: r });
                    self.emit_native("actor.__detach", base, 1, None);
                }
                matches!(t, Type::Never)
            }
            Stmt::Return(v, span) => {
                self.return_stmt(v.as_ref(), *span);
                true
            }
            Stmt::Break(span) | Stmt::Continue(span) => {
                let is_break = matches!(s, Stmt::Break(_));
                let w = if is_break { "break" } else { "continue" };
                if self.f().loops.is_empty() {
                    self.error(N0210, format!("`{w}` outside of a loop"), *span).label("not inside `while` or `for`");
                    return true;
                }
                if self.f().loops.last().is_some_and(|l| l.comprehension) {
                    self.error(N0210, format!("`{w}` inside a comprehension"), *span)
                        .label("a comprehension is an expression, not a loop")
                        .hint("filter with `if` in the comprehension, or write a `for` loop that pushes to a list");
                    return true;
                }
                let depth = self.f().loops.last().unwrap().try_depth;
                self.unwind_tries(depth);
                let l = self.b().jump();
                let lp = self.f().loops.last_mut().unwrap();
                if is_break {
                    lp.breaks.push(l);
                } else {
                    lp.continues.push(l);
                }
                true
            }
            Stmt::Throw(e, _) => {
                self.throw_stmt(e);
                true
            }
            Stmt::While { cond, body, .. } => self.while_stmt(cond, body),
            Stmt::For { pat, iter, body, .. } => {
                self.for_stmt(pat, iter, body);
                false
            }
            Stmt::Try { body, catch, finally, .. } => self.try_stmt(body, catch, finally.as_deref()),
            Stmt::With { value, name, body, span } => self.with_stmt(value, name.as_ref(), body, *span),
            Stmt::Func(f) => {
                self.nested_def(f);
                false
            }
        }
    }

    fn nested_def(&mut self, f: &ast::FuncDecl) {
        if f.self_span.is_some() {
            self.error(N0215, "`self` is only allowed in methods", f.self_span.unwrap());
        }
        // Declare the name first (as a cell when the function refers to itself) so recursion works.
        let params: Vec<ast::Param> = f.params.clone();
        let mut ptys = Vec::new();
        for p in &params {
            ptys.push(p.ty.as_ref().map(|t| self.resolve_type(t)).unwrap_or(Type::Unknown));
        }
        let ret = f.ret.as_ref().map(|t| self.resolve_type(t)).unwrap_or(Type::None);
        let fty = Type::Func(ptys.clone(), Box::new(ret.clone()));
        let local = self.declare_local(&f.name.name, fty.clone(), true);
        if local.cell {
            self.emit(Op::LoadNone { dst: local.reg });
            self.emit(Op::NewCell { dst: local.reg, src: local.reg });
        }
        let tmp = self.b().temp();
        self.lambda(&f.name.name, &params, Some(ptys), ret, f.body.as_ref().unwrap(), tmp, f.span);
        if local.cell {
            self.emit(Op::CellSet { cell: local.reg, src: tmp });
        } else {
            self.emit(Op::Move { dst: local.reg, src: tmp });
        }
    }

    fn let_stmt(&mut self, mutable: bool, pat: &Pattern, ty: Option<&ast::TypeExpr>, value: &Expr, _span: Span) {
        let declared = ty.map(|t| self.resolve_type(t));
        if let PatKind::Bind(name) = &pat.kind {
            // Compile into a fresh register, then bind: `let x = x + 1` sees the old `x`.
            let reg = self.b().temp();
            let vt = match &declared {
                Some(t) => {
                    self.expr_coerce(value, Some(reg), t);
                    t.clone()
                }
                None => self.expr(value, Some(reg), None).1,
            };
            let vt = self.bounded(vt, value.span);
            let vt = self.subst.resolve(&vt);
            if declared.is_none() {
                self.check_inferred(&vt, value.span, name);
            }
            let vt = if vt == Type::Never { Type::Unknown } else { vt };
            let cell = mutable && self.f().captured_names.contains(name);
            if cell {
                self.emit(Op::NewCell { dst: reg, src: reg });
            }
            self.bind_local(name, Local { reg, ty: vt, mutable, cell, wide: None, global: None });
            return;
        }
        let (r, vt) = match &declared {
            Some(t) => (self.expr_coerce(value, None, t), t.clone()),
            None => self.expr(value, None, None),
        };
        let vt = self.subst.resolve(&vt);
        if !self.pattern_irrefutable(pat, &vt) {
            self.error(N0300, "this pattern may not match every value", pat.span).hint("use `match` for patterns that can fail");
        }
        self.bind_pattern(pat, r, &vt, mutable);
    }

    /// Binds the names of a destructuring pattern to parts of `r` (see `destructure`).
    pub fn bind_pattern(&mut self, pat: &Pattern, r: Reg, ty: &Type, mutable: bool) {
        self.destructure(pat, r, ty, &mut |c: &mut Compiler, name: &str, _span: Span, r: Reg, ty: &Type| {
            let cell = mutable && c.f().captured_names.contains(name);
            let reg = c.b().temp();
            if cell {
                c.emit(Op::NewCell { dst: reg, src: r });
            } else {
                c.emit(Op::Move { dst: reg, src: r });
            }
            c.bind_local(name, Local { reg, ty: ty.clone(), mutable, cell, wide: None, global: None });
        });
    }

    /// Takes apart the value in `r` of type `ty` by a destructuring pattern (names, `_`,
    /// tuples, struct patterns, list patterns), calling `leaf` with each name and the register
    /// of its part. A list pattern's length is checked at run time (N2017).
    pub fn destructure(&mut self, pat: &Pattern, r: Reg, ty: &Type, leaf: &mut dyn FnMut(&mut Compiler, &str, Span, Reg, &Type)) {
        match &pat.kind {
            PatKind::Wildcard => {}
            PatKind::Bind(name) => leaf(self, name, pat.span, r, ty),
            PatKind::Tuple(ps) => {
                let elems = self.tuple_pattern_types(pat, ps.len(), ty);
                for (i, (p, t)) in ps.iter().zip(elems.iter()).enumerate() {
                    let tmp = self.b().temp();
                    self.emit(Op::GetField { dst: tmp, obj: r, idx: i as u16 });
                    self.destructure(p, tmp, t, leaf);
                }
            }
            PatKind::Struct { path, fields } => {
                let t = self.subst.resolve(ty);
                let s = match self.pattern_type_path(path) {
                    NameRes::Struct(s) if matches!(&t, Type::Struct(x, _) if *x == s) || t.is_error() => s,
                    _ => {
                        let shown = self.show(&t);
                        let full: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
                        self.error(N0302, format!("a `{} {{ .. }}` pattern cannot take apart a `{shown}`", full.join(".")), pat.span).label(format!("the value is `{shown}`"));
                        return;
                    }
                };
                let mut info = self.structs[s as usize].clone();
                info.fields = self.struct_fields(s, &self.struct_args(&t, s));
                for (f, p) in fields {
                    match info.fields.iter().position(|x| x.0 == f.name) {
                        Some(i) => {
                            let tmp = self.b().temp();
                            self.emit(Op::GetField { dst: tmp, obj: r, idx: i as u16 });
                            self.destructure(p, tmp, &info.fields[i].1.clone(), leaf);
                        }
                        None => {
                            self.error(N0106, format!("struct `{}` has no field `{}`", info.name, f.name), f.span);
                        }
                    }
                }
            }
            // `Point(x, y)`: a struct's fields in order
            PatKind::Variant { path, args: Some(ps) } if matches!(self.pattern_type_path(path), NameRes::Struct(_)) => {
                let NameRes::Struct(s) = self.pattern_type_path(path) else { return };
                let t = self.subst.resolve(ty);
                let mut info = self.structs[s as usize].clone();
                info.fields = self.struct_fields(s, &self.struct_args(&t, s));
                if !matches!(&t, Type::Struct(x, _) if *x == s) && !t.is_error() {
                    let shown = self.show(&t);
                    self.error(N0302, format!("a `{}(..)` pattern cannot take apart a `{shown}`", info.name), pat.span).label(format!("the value is `{shown}`"));
                    return;
                }
                if ps.len() != info.fields.len() {
                    self.error(N0302, format!("struct `{}` has {} fields, and this pattern names {}", info.name, info.fields.len(), ps.len()), pat.span);
                    return;
                }
                for (i, p) in ps.iter().enumerate() {
                    let tmp = self.b().temp();
                    self.emit(Op::GetField { dst: tmp, obj: r, idx: i as u16 });
                    self.destructure(p, tmp, &info.fields[i].1.clone(), leaf);
                }
            }
            PatKind::List { items, rest } => {
                let elem = match self.subst.resolve(ty) {
                    Type::List(e) => *e,
                    t if t.is_error() => Type::Unknown,
                    t => {
                        let shown = self.show(&t);
                        self.error(N0302, format!("a list pattern cannot take apart a `{shown}`"), pat.span).label(format!("the value is `{shown}`"));
                        return;
                    }
                };
                let n = items.len();
                let (ok, len) = self.list_length_test(r, n, rest.is_some());
                let fine = self.b().jump_if_true(ok);
                let base = self.b().alloc(crate::compiler::ERROR_FIELDS);
                let s = if n == 1 { "" } else { "s" };
                let need = if rest.is_some() { format!("at least {n} element{s}") } else { format!("exactly {n} element{s}") };
                self.load_const(noodle_nbc::Const::Str(noodle_codes::N2017.as_str().into()), Some(base));
                // "... needs exactly 2 elements, and the list has 3"
                let parts = self.b().alloc(2);
                self.load_const(noodle_nbc::Const::Str(format!("the list pattern needs {need}, and the list has ")), Some(parts));
                self.emit(Op::Move { dst: parts + 1, src: len });
                self.emit(Op::Concat { dst: base + 1, base: parts, count: 2 });
                self.throw_error_at(base);
                self.b().patch(fine);
                for (i, p) in items.iter().enumerate() {
                    let tmp = self.list_item(r, i, n, rest);
                    self.destructure(p, tmp, &elem, leaf);
                }
                if let Some((at, Some(name))) = rest {
                    let (tmp, t) = self.list_rest(r, *at, n, &elem);
                    leaf(self, &name.name, name.span, tmp, &t);
                }
            }
            _ => {
                self.error(N0302, "only names, `_`, tuples, struct patterns and list patterns can be used here", pat.span).hint("use `match` to test a value against a pattern");
            }
        }
    }

    /// The element types a destructuring tuple pattern of `n` elements binds (N0302 when the
    /// value is not such a tuple).
    fn tuple_pattern_types(&mut self, pat: &Pattern, n: usize, ty: &Type) -> Vec<Type> {
        match self.subst.resolve(ty) {
            Type::Tuple(ts) if ts.len() == n => ts,
            Type::Unknown => vec![Type::Unknown; n],
            other => {
                let shown = self.show(&other);
                self.error(N0302, format!("a tuple pattern with {n} elements cannot match `{shown}`"), pat.span);
                vec![Type::Unknown; n]
            }
        }
    }

    /// Can `let` take a value apart with this pattern? Names, `_`, tuples, struct patterns
    /// (the struct, not an enum variant) and list patterns (their length is checked when it
    /// runs, N2017) of such patterns.
    fn pattern_irrefutable(&mut self, pat: &Pattern, _ty: &Type) -> bool {
        match &pat.kind {
            PatKind::Wildcard | PatKind::Bind(_) => true,
            PatKind::Tuple(ps) | PatKind::List { items: ps, .. } => ps.iter().all(|p| self.pattern_irrefutable(p, &Type::Unknown)),
            PatKind::Struct { path, fields } => matches!(self.pattern_type_path(path), NameRes::Struct(_)) && fields.iter().all(|(_, p)| self.pattern_irrefutable(p, &Type::Unknown)),
            PatKind::Variant { path, args: Some(ps) } => matches!(self.pattern_type_path(path), NameRes::Struct(_)) && ps.iter().all(|p| self.pattern_irrefutable(p, &Type::Unknown)),
            _ => false,
        }
    }

    fn assign(&mut self, target: &Expr, op: Option<ast::BinOp>, value: &Expr, span: Span) {
        // tensors: `t op= x` works in place and `t[...] = x` writes through the view
        if !matches!(target.kind, ExprKind::Tuple(_)) {
            if let Some(op) = op {
                if let (_, Type::Tensor(te)) = self.peek_type(target) {
                    self.tensor_inplace(op, target, te, value, span);
                    return;
                }
            } else if let ExprKind::Index { target: obj, index } = &target.kind {
                if let (_, Type::Tensor(_)) = self.peek_type(obj) {
                    let (r, _) = self.expr(obj, None, None);
                    self.tensor_store(r, index, value);
                    return;
                }
            } else if let ExprKind::Slice { target: obj, start, end } = &target.kind {
                if let (_, Type::Tensor(_)) = self.peek_type(obj) {
                    let (r, _) = self.expr(obj, None, None);
                    let item = Expr { kind: ExprKind::SliceItem { start: start.clone(), stop: end.clone(), step: None }, span: target.span };
                    self.tensor_store(r, &item, value);
                    return;
                }
            }
        }
        // Compound assignment: evaluate `target op value` and assign the result. Into a plain
        // local (the common case, `total += x`) it is computed straight into the local's
        // register, exactly as the general path below would, without building that expression.
        if let (Some(op), ExprKind::Name(n)) = (op, &target.kind) {
            if !matches!(op, ast::BinOp::And | ast::BinOp::Or | ast::BinOp::Coalesce) {
                if let Some(l) = self.register_local(n) {
                    self.binary_coerce(op, target, value, Some(l.reg), &l.ty, span);
                    return;
                }
            }
        }
        // `xs[f()] += 1`, `g().n += 1`: the container and the key are evaluated once, into
        // locals no program can name, before the read and the write that use them
        if op.is_some() {
            // a name is simple unless something evaluated after it may rebind it (a call in
            // the key or the value): then it is held too, as Python evaluates it first
            let calls = match &target.kind {
                ExprKind::Index { index, .. } => may_call(index) || may_call(value),
                _ => may_call(value),
            };
            let simple = |e: &Expr| match &e.kind {
                // a held part (`$compound…`) is final
                ExprKind::Name(n) => !calls || n.starts_with('$'),
                ExprKind::Int(_) | ExprKind::Str(_) | ExprKind::Bool(_) => true,
                _ => false,
            };
            let hold = |c: &mut Self, e: &Expr| -> Expr {
                if simple(e) {
                    return e.clone();
                }
                let (r, t) = c.expr(e, None, None);
                let hidden = format!("$compound{}", c.with_count);
                c.with_count += 1;
                let l = c.declare_local(&hidden, c.subst.resolve(&t), false);
                c.emit(Op::Move { dst: l.reg, src: r });
                Expr { kind: ExprKind::Name(hidden), span: e.span }
            };
            let rewritten = match &target.kind {
                ExprKind::Index { target: obj, index } if !(simple(obj) && simple(index)) => {
                    let obj = hold(self, obj);
                    let index = hold(self, index);
                    Some(Expr { kind: ExprKind::Index { target: Box::new(obj), index: Box::new(index) }, span: target.span })
                }
                ExprKind::Field { target: obj, name, optional: false } if !simple(obj) && self.module_name(obj).is_none() => {
                    let obj = hold(self, obj);
                    Some(Expr { kind: ExprKind::Field { target: Box::new(obj), name: name.clone(), optional: false }, span: target.span })
                }
                _ => None,
            };
            if let Some(t) = rewritten {
                self.assign(&t, op, value, span);
                return;
            }
        }
        let synthesized;
        let value = match op {
            Some(op) => {
                synthesized = Expr { kind: ExprKind::Binary(op, Box::new(target.clone()), Box::new(value.clone())), span };
                &synthesized
            }
            None => value,
        };
        match &target.kind {
            ExprKind::Tuple(targets) => {
                // evaluate every value first (a, b = b, a), then assign
                let ExprKind::Tuple(values) = &value.kind else {
                    let (r, t) = self.expr(value, None, None);
                    let elems = match self.subst.resolve(&t) {
                        Type::Tuple(ts) if ts.len() == targets.len() => ts,
                        _ => {
                            let shown = self.show(&t);
                            self.error(N0200, format!("cannot unpack `{shown}` into {} targets", targets.len()), value.span);
                            return;
                        }
                    };
                    for (i, (tg, ty)) in targets.iter().zip(elems).enumerate() {
                        let tmp = self.b().temp();
                        self.emit(Op::GetField { dst: tmp, obj: r, idx: i as u16 });
                        self.store_to(tg, tmp, &ty);
                    }
                    return;
                };
                if values.len() != targets.len() {
                    self.error(N0200, format!("{} targets but {} values", targets.len(), values.len()), span);
                    return;
                }
                let mut regs = Vec::new();
                for v in values {
                    let r = self.b().temp();
                    let (_, t) = self.expr(v, Some(r), None);
                    regs.push((r, t));
                }
                for (tg, (r, t)) in targets.iter().zip(regs) {
                    self.store_to(tg, r, &t);
                }
            }
            _ => {
                // `x = a + b`, `x += 1`: compute straight into x's register when x is a plain
                // local; the value expression writes its destination only as its last step.
                if let ExprKind::Name(n) = &target.kind {
                    if writes_last(&value.kind) {
                        if let Some(l) = self.register_local(n) {
                            self.expr_coerce(value, Some(l.reg), &l.ty);
                            return;
                        }
                    }
                }
                // the target's declared type, found once (it compiles and discards the target)
                let vt = self.target_type(target).unwrap_or(Type::Unknown);
                let r = match vt {
                    Type::Unknown => self.expr(value, None, None).0,
                    ref t => self.expr_coerce(value, None, t),
                };
                self.store_to(target, r, &vt);
            }
        }
    }

    /// `n` when it is a `var` that lives in a register of this function (not a cell, a wide
    /// int or a global), so an assignment can compute straight into that register.
    fn register_local(&mut self, n: &str) -> Option<Local> {
        match self.resolve(n) {
            NameRes::Local(l) if l.mutable && !l.cell && l.wide.is_none() && l.global.is_none() => Some(l),
            _ => None,
        }
    }

    /// The declared type of an assignment target, reporting invalid targets.
    fn target_type(&mut self, target: &Expr) -> Option<Type> {
        match &target.kind {
            ExprKind::Name(n) => match self.resolve(n) {
                NameRes::Local(l) => Some(l.wide.unwrap_or(l.ty)),
                NameRes::Capture(_, c) => Some(c.ty),
                NameRes::Global(g) => Some(self.globals[g].ty.clone()),
                _ => None,
            },
            ExprKind::Field { target: obj, name, optional: false } => {
                if let Some(mi) = self.module_name(obj) {
                    return match self.modules[mi].symbols.get(&name.name) {
                        Some((Symbol::Global(g), true)) => Some(self.globals[*g].ty.clone()),
                        _ => None,
                    };
                }
                let (_, t) = self.peek_type(obj);
                match self.subst.resolve(&t) {
                    Type::Struct(s, args) => self.struct_fields(s, &args).into_iter().find(|f| f.0 == name.name).map(|f| f.1),
                    _ => None,
                }
            }
            ExprKind::Index { target: obj, .. } => {
                let (_, t) = self.peek_type(obj);
                match self.subst.resolve(&t) {
                    Type::List(e) => Some(*e),
                    Type::Dict(_, v) => Some(*v),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Stores register `r` (of type `vt`) into an assignment target.
    fn store_to(&mut self, target: &Expr, r: Reg, vt: &Type) {
        match &target.kind {
            ExprKind::Name(n) => match self.resolve(n) {
                NameRes::Local(l) => {
                    if !l.mutable {
                        self.immutable_error(n, target.span);
                        return;
                    }
                    match &l.wide {
                        Some(w) => {
                            // assigning a narrowed variable widens it again, in every
                            // enclosing scope (the narrowing may come from an outer `if`)
                            let w = w.clone();
                            self.expect_type(vt, &w, target.span);
                            self.widen(n, l.reg);
                        }
                        None => {
                            self.expect_type(vt, &l.ty, target.span);
                        }
                    }
                    if let Some(idx) = l.global {
                        self.emit(Op::StoreGlobal { src: r, idx });
                    } else if l.cell {
                        self.emit(Op::CellSet { cell: l.reg, src: r });
                    } else if l.reg != r {
                        self.emit(Op::Move { dst: l.reg, src: r });
                    }
                }
                NameRes::Capture(i, c) => {
                    if !c.mutable {
                        self.immutable_error(n, target.span);
                        return;
                    }
                    self.expect_type(vt, &c.ty, target.span);
                    let cell = self.b().temp();
                    self.emit(Op::LoadCapture { dst: cell, idx: i });
                    self.emit(Op::CellSet { cell, src: r });
                }
                NameRes::Global(g) => {
                    let gi = self.globals[g].clone();
                    if !gi.mutable {
                        self.immutable_error(n, target.span);
                        return;
                    }
                    self.expect_type(vt, &gi.ty, target.span);
                    self.emit(Op::StoreGlobal { src: r, idx: gi.idx });
                }
                NameRes::None => {
                    self.unknown_name(n, target.span);
                }
                _ => {
                    self.error(N0012, format!("cannot assign to `{n}`"), target.span).label("not a variable");
                }
            },
            ExprKind::Field { target: obj, name, optional } => {
                if *optional {
                    self.error(N0012, "cannot assign through `?.`", target.span).hint("check for none first");
                    return;
                }
                if let Some(mi) = self.module_name(obj) {
                    self.assign_module_item(mi, name, vt, r, target.span);
                    return;
                }
                let (o, t) = self.expr(obj, None, None);
                match self.subst.resolve(&t) {
                    Type::Struct(s, args) => {
                        let fields = self.struct_fields(s, &args);
                        let info = &self.structs[s as usize];
                        match info.fields.iter().position(|f| f.0 == name.name) {
                            Some(i) => {
                                let decl = info.fields[i].1.clone();
                                let ft = fields[i].1.clone();
                                self.expect_type(vt, &ft, target.span);
                                // as when the struct was made (`check_generic_stores`)
                                let p = crate::compiler::ParamInfo { name: name.name.clone(), ty: ft, default: None };
                                self.check_generic_stores(&[decl], &[p], r, &[], target.span);
                                self.emit(Op::SetField { obj: o, idx: i as u16, src: r });
                            }
                            None => {
                                let sname = info.name.clone();
                                self.error(N0106, format!("struct `{sname}` has no field `{}`", name.name), name.span);
                            }
                        }
                    }
                    Type::Unknown => {}
                    Type::Optional(_) => {
                        self.error(N0204, format!("cannot set field `{}` of a value that may be none", name.name), obj.span)
                            .hint("check it first (`if x != none { ... }`) or assert with `!`");
                    }
                    other => {
                        let shown = self.show(&other);
                        self.error(N0012, format!("cannot assign to a field of `{shown}`"), target.span).label("only struct fields can be assigned");
                    }
                }
            }
            ExprKind::Index { target: obj, index } => {
                let (o, t) = self.expr(obj, None, None);
                match self.subst.resolve(&t) {
                    Type::List(e) => {
                        let i = self.expr_coerce(index, None, &Type::Int);
                        self.expect_type(vt, &e, target.span);
                        self.check_dynamic(o, &Type::List(e));
                        self.emit(Op::ListSet { list: o, idx: i, src: r });
                    }
                    Type::Dict(k, v) => {
                        let key = self.expr_coerce(index, None, &k);
                        self.expect_type(vt, &v, target.span);
                        self.check_dynamic(o, &Type::Dict(k, v));
                        self.emit(Op::IndexSet { obj: o, key, src: r });
                    }
                    Type::Unknown => {}
                    // `a[k] = v` on a struct or enum with `set_index(self, k: K, v: V)`
                    other @ (Type::Struct(..) | Type::Enum(..)) if self.has_method(&other, "set_index") => {
                        let (k, tk) = match self.operator_param(&other, "set_index") {
                            Some(pt) => (self.expr_coerce(index, None, &pt), pt),
                            None => self.expr(index, None, None),
                        };
                        let d = self.b().temp();
                        // the method exists: its result (none) is not needed
                        let _ = self.operator_method(Some("set_index"), o, &other, &[(k, &tk), (r, vt)], d, target.span);
                    }
                    other => {
                        let shown = self.show(&other);
                        self.error(N0207, format!("`{shown}` does not support item assignment"), obj.span)
                            .hint("lists and dicts can be changed by index, and a struct or enum with a method `set_index(self, key: K, value: V)`");
                    }
                }
            }
            _ => {
                self.error(N0012, "invalid assignment target", target.span).label("cannot assign to this").hint("assign to a variable, a field (`x.f`) or an element (`xs[i]`)");
            }
        }
    }

    /// Undoes the narrowing of the variable `name` (register `reg`) in all scopes.
    pub fn widen(&mut self, name: &str, reg: Reg) {
        for scope in self.f().scopes.iter_mut() {
            for (n, l) in scope.iter_mut() {
                if n == name && l.reg == reg {
                    if let Some(w) = l.wide.take() {
                        l.ty = w;
                    }
                }
            }
        }
    }

    /// Before a loop: a narrowed variable assigned anywhere in the body may be none again on
    /// the next iteration, so it is widened for the whole loop.
    fn widen_assigned_in(&mut self, body: &Block) {
        let mut names = HashSet::new();
        assigned_names(&body.stmts, &mut names);
        for n in names {
            if let NameRes::Local(l) = self.resolve(&n) {
                if l.wide.is_some() {
                    self.widen(&n, l.reg);
                }
            }
        }
    }

    /// The module `e` names, when it is a plain name bound by an import.
    fn module_name(&mut self, e: &Expr) -> Option<usize> {
        match &e.kind {
            ExprKind::Name(m) => match self.resolve(m) {
                NameRes::Module(mi) => Some(mi),
                _ => None,
            },
            _ => None,
        }
    }

    /// `m.name = value`: another module's `pub var` can be assigned; its `pub let` cannot.
    fn assign_module_item(&mut self, mi: usize, name: &Ident, vt: &Type, r: Reg, span: Span) {
        let module = self.modules[mi].name.clone();
        match self.modules[mi].symbols.get(&name.name).cloned() {
            None => {
                self.error(N0100, format!("module `{module}` has no item `{}`", name.name), name.span);
            }
            Some((_, false)) => {
                self.error(N0104, format!("`{}` is not public in module `{module}`", name.name), name.span).hint("mark it `pub` in its module to use it here");
            }
            Some((Symbol::Global(g), true)) => {
                let gi = self.globals[g].clone();
                if !gi.mutable {
                    self.error(N0105, format!("cannot assign to `{module}.{}`: it is a `let` of module `{module}`", name.name), span)
                        .label("assignment to a `let` binding")
                        .hint(format!("declare it with `pub var {}` in `{module}` to let other modules assign it", name.name));
                    return;
                }
                self.expect_type(vt, &gi.ty, span);
                self.emit(Op::StoreGlobal { src: r, idx: gi.idx });
            }
            Some((Symbol::Const(_), true)) => {
                self.error(N0105, format!("cannot assign to `{module}.{}`: it is a constant", name.name), span).label("assignment to a constant");
            }
            Some(_) => {
                self.error(N0012, format!("cannot assign to `{module}.{}`", name.name), span).label("not a variable");
            }
        }
    }

    pub fn immutable_error(&mut self, n: &str, span: Span) {
        self.error(N0105, format!("cannot assign twice to immutable binding `{n}`"), span)
            .label("assignment to a `let` binding or parameter")
            .hint(format!("declare it with `var {n}` to make it mutable"));
    }

    fn return_stmt(&mut self, v: Option<&Expr>, span: Span) {
        if self.f().is_init {
            self.error(N0211, "`return` outside of a function", span);
            return;
        }
        let ret = self.f().ret.clone();
        let r = match v {
            Some(e) => Some(self.expr_coerce(e, None, &ret)),
            None => {
                if !matches!(self.subst.resolve(&ret), Type::None | Type::Unknown | Type::Optional(_)) {
                    let shown = self.show(&ret);
                    self.error(N0200, format!("this function must return a `{shown}`"), span).label("`return` without a value");
                }
                None
            }
        };
        // the value is computed before a `finally` runs, which may change the variable it
        // came from: keep it in a register of its own
        let r = match r {
            Some(src) if self.f().tries.iter().any(|t| t.is_some()) => {
                let keep = self.b().temp();
                self.emit(Op::Move { dst: keep, src });
                Some(keep)
            }
            r => r,
        };
        self.unwind_tries(0);
        match r {
            Some(src) => self.emit(Op::Return { src }),
            None => self.emit(Op::ReturnNone),
        };
    }

    /// Leaves every `try` above `depth`, running their `finally` blocks (innermost first).
    fn unwind_tries(&mut self, depth: usize) {
        let n = self.f().tries.len();
        for i in (depth..n).rev() {
            self.emit(Op::TryEnd);
            let fin = self.f().tries[i].clone();
            if let Some(fin) = fin {
                let saved: Vec<Option<Block>> = self.f().tries.drain(i..).collect();
                self.block_stmts(&fin);
                self.f().tries.extend(saved);
            }
        }
    }

    /// An `if` statement and its `elif` arms, compiled in a loop (a long chain takes no more
    /// stack than one `if`). Code and narrowing are as for the nested form `if c0 {..} else {
    /// if c1 {..} else {..} }`: each arm's false branch is a scope holding the arms after it,
    /// closed innermost first at the end. Returns whether every path exits.
    fn if_stmt(&mut self, arms: &[ast::IfArm], else_: Option<&Block>) -> bool {
        struct Open {
            when_false: Vec<(String, Type)>,
            then_exits: bool,
            jend: Option<crate::builder::Label>,
            rest: bool,
            scoped: bool,
        }
        let mut open: Vec<Open> = Vec::with_capacity(arms.len());
        for (i, arm) in arms.iter().enumerate() {
            let (when_true, when_false) = self.narrowings(&arm.cond);
            let rest = i + 1 < arms.len() || else_.is_some();
            // `if c { break }` / `if c { continue }`: the condition jumps straight to the loop's
            // exit or next iteration (when no `finally` has to run on the way)
            if let (false, [stmt @ (Stmt::Break(_) | Stmt::Continue(_))]) = (rest, arm.then.stmts.as_slice()) {
                let f = self.fns.last().unwrap();
                let direct = f.loops.last().is_some_and(|l| l.try_depth == f.tries.len());
                if direct {
                    self.set_line(stmt_span(stmt));
                    let jumps = self.cond_jump(&arm.cond, true);
                    let lp = self.f().loops.last_mut().unwrap();
                    if matches!(stmt, Stmt::Break(_)) {
                        lp.breaks.extend(jumps);
                    } else {
                        lp.continues.extend(jumps);
                    }
                    self.apply_narrowing(&when_false);
                    open.push(Open { when_false: Vec::new(), then_exits: false, jend: None, rest: false, scoped: false });
                    break;
                }
            }
            let jf = self.cond_jump(&arm.cond, false);
            self.push_scope();
            self.apply_narrowing(&when_true);
            let then_exits = self.block_stmts(&arm.then);
            self.pop_scope();
            let jend = if rest && !then_exits { Some(self.b().jump()) } else { None };
            for l in jf {
                self.b().patch(l);
            }
            // the arms after this one see its condition's narrowing in a scope of their own
            // (none is needed without one: a chain of plain tests stays one scope deep)
            let scoped = rest && !when_false.is_empty();
            if scoped {
                self.push_scope();
                self.apply_narrowing(&when_false);
            }
            open.push(Open { when_false, then_exits, jend, rest, scoped });
        }
        let mut exits = match else_ {
            Some(b) => self.block_stmts(b),
            None => false,
        };
        while let Some(arm) = open.pop() {
            if !arm.rest {
                // the last arm, with no `else`: `if x == none { return }` narrows x for the
                // rest of the block
                if arm.then_exits {
                    self.apply_narrowing(&arm.when_false);
                }
                exits = false;
                continue;
            }
            if arm.scoped {
                self.pop_scope();
            }
            if let Some(j) = arm.jend {
                self.b().patch(j);
            }
            if arm.then_exits && !exits {
                self.apply_narrowing(&arm.when_false);
            }
            exits = arm.then_exits && exits;
        }
        exits
    }

    /// Enters a loop whose body is `body`: a comprehension's hidden loop (its body has the
    /// comprehension's span) takes no `break` or `continue`.
    fn push_loop(&mut self, depth: usize, body: &Block) {
        let comprehension = self.comprehension_spans.contains(&body.span);
        self.f().loops.push(LoopCtx { breaks: vec![], continues: vec![], try_depth: depth, comprehension });
    }

    fn while_stmt(&mut self, cond: &Expr, body: &Block) -> bool {
        self.widen_assigned_in(body);
        let infinite = matches!(cond.kind, ExprKind::Bool(true));
        let (when_true, _) = self.narrowings(cond);
        let to_cond = if infinite { None } else { Some(self.b().jump()) };
        let top = self.b().here();
        let depth = self.f().tries.len();
        self.push_loop(depth, body);
        self.push_scope();
        self.apply_narrowing(&when_true);
        self.block_stmts(body);
        self.pop_scope();
        let lp = self.f().loops.pop().unwrap();
        for c in lp.continues {
            self.b().patch(c);
        }
        if let Some(j) = to_cond {
            self.b().patch(j);
        }
        if infinite {
            self.b().jump_back(top);
        } else {
            self.set_line(cond.span);
            self.cond_jump_back(cond, top);
        }
        let has_break = !lp.breaks.is_empty();
        for b in lp.breaks {
            self.b().patch(b);
        }
        infinite && !has_break
    }

    fn for_stmt(&mut self, pat: &Pattern, iter: &Expr, body: &Block) {
        self.widen_assigned_in(body);
        if self.lazy_zip_enumerate(pat, iter, body) {
            return;
        }
        // Counting loops over ranges need no iterator object.
        let range = match &iter.kind {
            ExprKind::Range { start, end, inclusive } => Some((Some(&**start), &**end, *inclusive)),
            ExprKind::Call { callee, args } if matches!(&callee.kind, ExprKind::Name(n) if n == "range") && matches!(self.resolve("range"), NameRes::Builtin(_)) && (args.len() == 1 || args.len() == 2) && args.iter().all(|a| a.name.is_none()) => {
                if args.len() == 1 {
                    Some((None, &args[0].value, false))
                } else {
                    Some((Some(&args[0].value), &args[1].value, false))
                }
            }
            _ => None,
        };
        let depth = self.f().tries.len();
        self.push_scope();
        if let ExprKind::Call { callee, args } = &iter.kind {
            if matches!(&callee.kind, ExprKind::Name(n) if n == "range") && matches!(self.resolve("range"), NameRes::Builtin(_)) && args.len() == 3 && args.iter().all(|a| a.name.is_none()) {
                self.stepped_range_loop(&args[0].value, &args[1].value, &args[2].value, pat, body, depth);
                self.pop_scope();
                return;
            }
        }
        if let Some((start, end, inclusive)) = range {
            let counter = self.b().temp();
            match start {
                Some(s) => {
                    self.expr_coerce(s, Some(counter), &Type::Int);
                }
                None => {
                    self.emit(Op::LoadInt { dst: counter, val: 0 });
                }
            }
            let limit = self.b().temp();
            self.expr_coerce(end, Some(limit), &Type::Int);
            // Tested once on entry; the step at the bottom tests again before jumping back.
            // An inclusive range stops before stepping past its end, so `..=` up to the
            // largest int does not overflow.
            let exit = if self.fuse {
                // exit unless counter < limit (<=): limit <= counter (limit < counter)
                let at = self.b().here();
                self.emit(if inclusive { Op::JumpIfLtInt { a: limit, b: counter, off: 0 } } else { Op::JumpIfLeInt { a: limit, b: counter, off: 0 } });
                crate::builder::Label(at)
            } else {
                let c = self.b().temp();
                self.emit(if inclusive { Op::LeInt { dst: c, a: counter, b: limit } } else { Op::LtInt { dst: c, a: counter, b: limit } });
                self.b().jump_if_false(c)
            };
            let top = self.b().here();
            let breaks = self.for_body(depth, body, pat, counter, &Type::Int);
            let mut exits = vec![exit];
            if self.fuse {
                // one instruction: step, test, jump back
                let at = self.b().emit(if inclusive { Op::ForStepIncl { a: counter, b: limit, off: 0 } } else { Op::ForStep { a: counter, b: limit, off: 0 } });
                self.b().patch_to(crate::builder::Label(at), top);
            } else if inclusive {
                let c = self.b().temp();
                self.emit(Op::LtInt { dst: c, a: counter, b: limit });
                exits.push(self.b().jump_if_false(c));
                self.emit(Op::AddIntImm { dst: counter, a: counter, imm: 1 });
                self.b().jump_back(top);
            } else {
                self.emit(Op::AddIntImm { dst: counter, a: counter, imm: 1 });
                self.int_cmp_jump_back(counter, limit, false, top);
            }
            for e in exits {
                self.b().patch(e);
            }
            for b in breaks {
                self.b().patch(b);
            }
        } else {
            let (r, t) = self.expr(iter, None, None);
            let t = self.subst.resolve(&t);
            if let Type::Native(id) = t {
                let info = self.native_types[id as usize].clone();
                if let Some(next) = info.next {
                    self.stream_loop(r, next, pat, body, depth);
                    self.pop_scope();
                    return;
                }
            }
            if matches!(t, Type::Struct(..) | Type::Enum(..) | Type::Interface(..)) {
                if let Some((it, it_ty)) = self.iterator_of(r, &t, iter.span) {
                    self.iterator_loop(it, it_ty, pat, body, depth, iter.span);
                    self.pop_scope();
                    return;
                }
            }
            let elem = match &t {
                Type::List(e) | Type::Set(e) => (**e).clone(),
                // `for (k, v) in d` is a Python habit: a dict gives its keys
                Type::Dict(k, _) if matches!(&pat.kind, PatKind::Tuple(ps) if ps.len() == 2) && !matches!(self.subst.resolve(k), Type::Tuple(_)) => {
                    let shown = self.show(k);
                    self.error(N0302, format!("iterating a dict gives its keys (`{shown}`), which a pair pattern cannot take apart"), pat.span)
                        .hint("iterate over `d.items()` for (key, value) pairs");
                    Type::Unknown
                }
                Type::Dict(k, _) => (**k).clone(),
                Type::Str => Type::Str,
                Type::Bytes => Type::Int,
                // the rows (views along the first axis)
                Type::Tensor(_) => t.clone(),
                // a native type with `__iter__`
                Type::Native(id) if self.native_types[*id as usize].iter.is_some() => self.native_types[*id as usize].iter.clone().unwrap(),
                Type::Unknown => Type::Unknown,
                Type::Optional(_) => {
                    let shown = self.show(&t);
                    self.error(N0204, format!("cannot iterate over `{shown}`, which may be none"), iter.span).hint("check it first, or iterate over `xs ?? []`");
                    Type::Unknown
                }
                _ => {
                    let shown = self.show(&t);
                    self.error(N0213, format!("`{shown}` is not iterable"), iter.span).hint("iterate over a list, range, str, bytes, dict, set, tensor, query result, cursor, or a value with a method `next(self) -> T?` (an iterator) or `iter(self)` (giving one)");
                    Type::Unknown
                }
            };
            let list = self.b().temp();
            if matches!(t, Type::List(_)) {
                self.emit(Op::Move { dst: list, src: r });
            } else {
                self.emit(Op::IterList { dst: list, src: r });
            }
            let idx = self.b().temp();
            let len = self.b().temp();
            let item = self.b().temp();
            self.emit(Op::LoadInt { dst: idx, val: 0 });
            let to_cond = self.b().jump();
            let top = self.b().here();
            self.emit(Op::ListGet { dst: item, list, idx });
            let breaks = self.for_body(depth, body, pat, item, &elem);
            self.emit(Op::AddIntImm { dst: idx, a: idx, imm: 1 });
            self.b().patch(to_cond);
            self.emit(Op::Len { dst: len, src: list });
            self.int_cmp_jump_back(idx, len, false, top);
            for b in breaks {
                self.b().patch(b);
            }
        }
        self.pop_scope();
    }

    /// The iterator a `for` over a struct, enum or interface value walks: the value itself when
    /// it has a method `next`, else what its method `iter` gives (which must have `next`).
    /// None when it has neither (the caller reports N0213).
    fn iterator_of(&mut self, r: Reg, t: &Type, span: Span) -> Option<(Reg, Type)> {
        if self.has_method(t, "next") {
            return Some((r, t.clone()));
        }
        if !self.has_method(t, "iter") {
            return None;
        }
        let ident = ast::Ident { name: "iter".into(), span };
        let (it, it_ty) = self.method_call_on(r, t.clone(), &ident, &[], None, span, None);
        let it_ty = self.subst.resolve(&it_ty);
        if !self.has_method(&it_ty, "next") && !it_ty.is_error() {
            let (a, b) = (self.show(t), self.show(&it_ty));
            self.error(N0213, format!("`{a}.iter()` gives `{b}`, which is not an iterator"), span).hint("`iter` must give a value with a method `next(self) -> T?`");
            return Some((it, Type::Unknown));
        }
        Some((it, it_ty))
    }

    /// `for x in it` over an iterator: calls `it.next()` until it gives none.
    fn iterator_loop(&mut self, it: Reg, it_ty: Type, pat: &Pattern, body: &Block, depth: usize, span: Span) {
        let item = self.b().temp();
        let top = self.b().here();
        let elem = if it_ty.is_error() {
            Type::Unknown
        } else {
            let ident = ast::Ident { name: "next".into(), span };
            let (_, nt) = self.method_call_on(it, it_ty.clone(), &ident, &[], Some(item), span, None);
            match self.subst.resolve(&nt) {
                Type::Optional(t) => *t,
                Type::Unknown => Type::Unknown,
                other => {
                    let (a, b) = (self.show(&it_ty), self.show(&other));
                    self.error(N0213, format!("`{a}.next()` gives `{b}`: an iterator's `next` gives `T?`, none at the end"), span);
                    Type::Unknown
                }
            }
        };
        self.loop_until_none(item, top, &elem, pat, body, depth);
    }

    /// The rest of a loop that calls something at `top` giving `item` each time: it ends when
    /// `item` is none, else binds it (`elem`) and runs the body.
    fn loop_until_none(&mut self, item: Reg, top: usize, elem: &Type, pat: &Pattern, body: &Block, depth: usize) {
        let done = self.b().jump_if_none(item);
        self.push_loop(depth, body);
        self.push_scope();
        self.bind_loop_var(pat, item, elem);
        self.block_stmts(body);
        self.pop_scope();
        let lp = self.f().loops.pop().unwrap();
        for c in lp.continues {
            self.b().patch_to(c, top);
        }
        self.b().jump_back(top);
        self.b().patch(done);
        for b in lp.breaks {
            self.b().patch(b);
        }
    }

    /// Does a value of type `t` have a method `name` (a struct's or enum's own, or an
    /// interface's)?
    pub(crate) fn has_method(&self, t: &Type, name: &str) -> bool {
        match t {
            Type::Struct(s, _) => self.structs[*s as usize].methods.get(name).is_some_and(|&fi| self.funcs[fi].has_self),
            Type::Enum(e, _) => self.enums[*e as usize].methods.get(name).is_some_and(|&fi| self.funcs[fi].has_self),
            Type::Interface(i, _) => self.ifaces[*i as usize].methods.iter().any(|m| m.0 == name),
            _ => false,
        }
    }

    /// `for row in cursor` over a native type with `__next__`: calls it until it gives none,
    /// so a stream larger than memory (a cursor's rows) goes through one item at a time.
    fn stream_loop(&mut self, stream: Reg, next: usize, pat: &Pattern, body: &Block, depth: usize) {
        let item = self.b().temp();
        let base = self.b().alloc(2);
        let top = self.b().here();
        self.emit(Op::Move { dst: base + 1, src: stream });
        let symbol = self.funcs[next].native.as_ref().map(|n| n.symbol.clone()).expect("a native");
        let elem = match self.funcs[next].ret.clone() {
            Type::Optional(t) => *t,
            t => t,
        };
        self.emit_native(&symbol, base, 1, Some(item));
        self.loop_until_none(item, top, &elem, pat, body, depth);
    }

    fn bind_loop_var(&mut self, pat: &Pattern, r: Reg, ty: &Type) {
        match &pat.kind {
            PatKind::Bind(name) if !self.f().captured_names.contains(name) => {
                // the loop variable is the counter/item register itself (it is immutable)
                self.bind_local(name, Local { reg: r, ty: ty.clone(), mutable: false, cell: false, wide: None, global: None });
            }
            _ => {
                if !self.pattern_irrefutable(pat, ty) {
                    self.error(N0302, "a `for` pattern must match every element", pat.span);
                }
                self.bind_pattern(pat, r, ty, false)
            }
        }
    }

    /// Emits `if a < b (or <=) goto target` for a backward loop edge, fused when it fits.
    /// `for p in enumerate(it, start: s)` and `for p in zip(a, b)` where an argument is an
    /// iterator (a value with `next`, or `iter`): one element at a time, so an endless or
    /// very long iterator works, rather than collected into a list first as the functions do
    /// elsewhere. Written as the loop a user would write, with names no program can use:
    ///
    /// ```text
    /// var $n = s - 1; for $x in it { $n += 1; let p = ($n, $x); body }
    /// let $a = a; let $b = b.iter(); var $k = 0
    /// while true { if $k >= len($a) { break }; let $va = $a[$k]
    ///              let $nb = $b.next(); if $nb == none { break }; let $vb = $nb
    ///              $k += 1; let p = ($va, $vb); body }
    /// ```
    fn lazy_zip_enumerate(&mut self, pat: &Pattern, iter: &Expr, body: &Block) -> bool {
        use noodle_syntax::ast::{Arg, BinOp, Ident, PatKind};
        let ExprKind::Call { callee, args } = &iter.kind else { return false };
        let ExprKind::Name(f) = &callee.kind else { return false };
        if !(f == "enumerate" || f == "zip") || !matches!(self.resolve(f), NameRes::Builtin(_)) {
            return false;
        }
        let positional: Vec<&Expr> = args.iter().filter(|a| a.name.is_none()).map(|a| &a.value).collect();
        let named: Vec<&Arg> = args.iter().filter(|a| a.name.is_some()).collect();
        let shape_ok = match f.as_str() {
            "enumerate" => positional.len() == 1 && named.iter().all(|a| a.name.as_ref().is_some_and(|n| n.name == "start")) && named.len() <= 1,
            _ => positional.len() == 2 && named.is_empty(),
        };
        if !shape_ok {
            return false;
        }
        let kinds: Vec<Option<bool>> = positional
            .iter()
            .map(|e| {
                let t = self.peek_type(e).1;
                let t = self.subst.resolve(&t);
                // Some(true): an iterator; Some(false): has `iter`; None: a collection
                if matches!(t, Type::Struct(..) | Type::Enum(..) | Type::Interface(..)) {
                    if self.has_method(&t, "next") {
                        return Some(true);
                    }
                    if self.has_method(&t, "iter") {
                        return Some(false);
                    }
                }
                None
            })
            .collect();
        if kinds.iter().all(Option::is_none) {
            return false;
        }
        let sp = iter.span;
        let at = |kind: ExprKind| Expr { kind, span: sp };
        let name = |n: &str| Expr { kind: ExprKind::Name(n.to_string()), span: sp };
        let bind = |n: &str| Box::new(Pattern { kind: PatKind::Bind(n.to_string()), span: sp });
        let id = self.with_count;
        self.with_count += 1;
        let mut stmts: Vec<Stmt> = Vec::new();
        let mut each: Vec<Stmt> = Vec::new();
        let tuple_of: Vec<Expr>;
        let lp = |body_stmts: Vec<Stmt>| Block { stmts: body_stmts, span: body.span, has_closure: body.has_closure };
        if f == "enumerate" {
            let (n, x) = (format!("$enum_n{id}"), format!("$enum_x{id}"));
            let start = named.first().map_or(at(ExprKind::Int(0)), |a| a.value.clone());
            stmts.push(Stmt::Let { mutable: true, pat: bind(&n), ty: None, value: at(ExprKind::Binary(BinOp::Sub, Box::new(start), Box::new(at(ExprKind::Int(1))))), span: sp });
            each.push(Stmt::Assign { target: name(&n), op: Some(BinOp::Add), value: at(ExprKind::Int(1)), span: sp });
            each.push(Stmt::Let { mutable: false, pat: Box::new(pat.clone()), ty: None, value: at(ExprKind::Tuple(vec![name(&n), name(&x)])), span: sp });
            each.extend(body.stmts.iter().cloned());
            stmts.push(Stmt::For { pat: bind(&x), iter: positional[0].clone(), body: lp(each), span: sp });
        } else {
            let k = format!("$zip_k{id}");
            let mut values = Vec::new();
            let mut steps = Vec::new();
            for (i, (e, kind)) in positional.iter().zip(&kinds).enumerate() {
                let (src, v) = (format!("$zip_{i}_{id}"), format!("$zip_v{i}_{id}"));
                let call0 = |target: Expr, m: &str| at(ExprKind::Call { callee: Box::new(at(ExprKind::Field { target: Box::new(target), name: Ident { name: m.to_string(), span: sp }, optional: false })), args: vec![] });
                let brk = |cond: Expr| Stmt::Expr(at(ExprKind::If { arms: vec![noodle_syntax::ast::IfArm { cond, then: Block { stmts: vec![Stmt::Break(sp)], span: sp, has_closure: false }, span: sp }], else_: None }));
                match kind {
                    Some(it) => {
                        let value = if *it { (*e).clone() } else { call0((*e).clone(), "iter") };
                        stmts.push(Stmt::Let { mutable: false, pat: bind(&src), ty: None, value, span: sp });
                        let nx = format!("$zip_n{i}_{id}");
                        steps.push(Stmt::Let { mutable: false, pat: bind(&nx), ty: None, value: call0(name(&src), "next"), span: sp });
                        steps.push(brk(at(ExprKind::Binary(BinOp::Eq, Box::new(name(&nx)), Box::new(at(ExprKind::None))))));
                        // narrowed to the element type by the `break` above
                        steps.push(Stmt::Let { mutable: false, pat: bind(&v), ty: None, value: name(&nx), span: sp });
                    }
                    None => {
                        // a collection, as a list (a list stays itself)
                        let as_list = at(ExprKind::Call { callee: Box::new(name("list")), args: vec![Arg { name: None, value: (*e).clone() }] });
                        stmts.push(Stmt::Let { mutable: false, pat: bind(&src), ty: None, value: as_list, span: sp });
                        let len = at(ExprKind::Call { callee: Box::new(name("len")), args: vec![Arg { name: None, value: name(&src) }] });
                        steps.push(brk(at(ExprKind::Binary(BinOp::Ge, Box::new(name(&k)), Box::new(len)))));
                        steps.push(Stmt::Let { mutable: false, pat: bind(&v), ty: None, value: at(ExprKind::Index { target: Box::new(name(&src)), index: Box::new(name(&k)) }), span: sp });
                    }
                }
                values.push(name(&v));
            }
            tuple_of = values;
            stmts.push(Stmt::Let { mutable: true, pat: bind(&k), ty: None, value: at(ExprKind::Int(0)), span: sp });
            each.extend(steps);
            each.push(Stmt::Assign { target: name(&k), op: Some(BinOp::Add), value: at(ExprKind::Int(1)), span: sp });
            each.push(Stmt::Let { mutable: false, pat: Box::new(pat.clone()), ty: None, value: at(ExprKind::Tuple(tuple_of)), span: sp });
            each.extend(body.stmts.iter().cloned());
            stmts.push(Stmt::While { cond: at(ExprKind::Bool(true)), body: lp(each), span: sp });
        }
        self.push_scope();
        for st in &stmts {
            self.stmt(st);
        }
        self.pop_scope();
        true
    }

    /// `for x in range(start, stop, step)` counts without making the list (which for
    /// `range(0, 10**9, 3)` would be gigabytes): the number of values comes first (N2011 for a
    /// zero step, from the same native as `range`), then `x` goes from `start` by `step`. `x`
    /// moves only while values are left, so it never passes the last one and cannot overflow.
    fn stepped_range_loop(&mut self, start: &Expr, stop: &Expr, step: &Expr, pat: &Pattern, body: &Block, depth: usize) {
        let base = self.b().alloc(4);
        self.expr_coerce(start, Some(base + 1), &Type::Int);
        self.expr_coerce(stop, Some(base + 2), &Type::Int);
        self.expr_coerce(step, Some(base + 3), &Type::Int);
        let value = self.b().temp();
        let step_r = self.b().temp();
        self.emit(Op::Move { dst: value, src: base + 1 });
        self.emit(Op::Move { dst: step_r, src: base + 3 });
        let n = self.native("__range_len");
        self.emit(Op::CallNative { base, native: n, argc: 3 });
        let count = self.b().temp();
        self.emit(Op::Move { dst: count, src: base });
        let idx = self.b().temp();
        self.emit(Op::LoadInt { dst: idx, val: 0 });
        let c = self.b().temp();
        self.emit(Op::LtInt { dst: c, a: idx, b: count });
        let exit = self.b().jump_if_false(c);
        let top = self.b().here();
        let breaks = self.for_body(depth, body, pat, value, &Type::Int);
        self.emit(Op::AddIntImm { dst: idx, a: idx, imm: 1 });
        let c = self.b().temp();
        self.emit(Op::LtInt { dst: c, a: idx, b: count });
        let done = self.b().jump_if_false(c);
        self.emit(Op::AddInt { dst: value, a: value, b: step_r });
        self.b().jump_back(top);
        self.b().patch(exit);
        self.b().patch(done);
        for b in breaks {
            self.b().patch(b);
        }
    }

    /// A `for` loop's body with `pat` bound to `item` (of type `ty`), in the loop's context:
    /// its `continue`s land just after it; gives back its `break`s to patch after the loop.
    fn for_body(&mut self, depth: usize, body: &Block, pat: &Pattern, item: Reg, ty: &Type) -> Vec<crate::builder::Label> {
        self.push_loop(depth, body);
        self.push_scope();
        self.bind_loop_var(pat, item, ty);
        self.block_stmts(body);
        self.pop_scope();
        let lp = self.f().loops.pop().unwrap();
        for c in lp.continues {
            self.b().patch(c);
        }
        lp.breaks
    }

    pub fn int_cmp_jump_back(&mut self, a: Reg, b: Reg, inclusive: bool, target: usize) {
        let off = target as i64 - self.b().here() as i64 - 1;
        if off >= i16::MIN as i64 && self.fuse {
            let off = off as i16;
            self.emit(if inclusive { Op::JumpIfLeInt { a, b, off } } else { Op::JumpIfLtInt { a, b, off } });
        } else {
            let c = self.b().temp();
            self.emit(if inclusive { Op::LeInt { dst: c, a, b } } else { Op::LtInt { dst: c, a, b } });
            let off = target as i64 - self.b().here() as i64 - 1;
            self.emit(Op::JumpIfTrue { cond: c, off: off as i32 });
        }
    }

    /// `with value as name { body }` is compiled as
    ///
    /// ```text
    /// let with#v = value; let name = with#v; var with#ok = false
    /// try { body; with#ok = true } finally { with#v.exit(with#ok) }
    /// ```
    ///
    /// with names no program can write (numbered, so nested blocks and `finally` code
    /// repeated at early exits always reach their own). Returns whether the block always exits.
    fn with_stmt(&mut self, value: &Expr, name: Option<&ast::Ident>, body: &Block, span: Span) -> bool {
        let n = self.with_count;
        self.with_count += 1;
        let v = format!("with#v{n}");
        let ok = format!("with#ok{n}");
        let sp = value.span;
        let ident = |s: &str| ast::Ident { name: s.to_string(), span: sp };
        let name_expr = |s: &str| Expr { kind: ExprKind::Name(s.to_string()), span: sp };
        let bind = |s: &str| Box::new(Pattern { kind: PatKind::Bind(s.to_string()), span: sp });
        self.push_scope();
        self.stmt(&Stmt::Let { mutable: false, pat: bind(&v), ty: None, value: value.clone(), span: sp });
        // the value must have `exit(completed: bool)`: a transaction, or a struct with that method
        let ty = match self.resolve(&v) {
            NameRes::Local(l) => self.subst.resolve(&l.ty),
            _ => Type::Unknown,
        };
        let method = match &ty {
            Type::Struct(s, _) => Some(self.structs[*s as usize].methods.get("exit").copied()),
            Type::Enum(e, _) => Some(self.enums[*e as usize].methods.get("exit").copied()),
            Type::Native(id) => Some(self.native_types[*id as usize].methods.get("exit").and_then(|v| v.first().copied())),
            _ => None,
        };
        let has_exit = match method {
            // `def exit(self, completed: bool)`, further parameters optional
            Some(Some(fi)) => {
                let f = &self.funcs[fi];
                f.has_self && f.params.first().is_some_and(|p| p.ty == Type::Bool) && f.params.iter().skip(1).all(|p| p.default.is_some())
            }
            Some(None) => false,
            None => matches!(ty, Type::Unknown),
        };
        if !has_exit {
            let shown = self.show(&ty);
            let what = if matches!(method, Some(Some(_))) { "its `exit` does not take one `bool`" } else { "it has none" };
            self.error(N0241, format!("`with` needs a value with an `exit(completed: bool)` method; `{shown}` cannot be used: {what}"), sp)
                .label(format!("this is `{shown}`"))
                .hint("use `with` on a transaction (`conn.transaction()`), a cursor, or a struct that defines `def exit(self, completed: bool)`");
            self.pop_scope();
            return false;
        }
        if let Some(nm) = name {
            self.stmt(&Stmt::Let { mutable: false, pat: Box::new(Pattern { kind: PatKind::Bind(nm.name.clone()), span: nm.span }), ty: None, value: name_expr(&v), span: sp });
        }
        self.stmt(&Stmt::Let { mutable: true, pat: bind(&ok), ty: None, value: Expr { kind: ExprKind::Bool(false), span: sp }, span: sp });
        let mut stmts = body.stmts.clone();
        stmts.push(Stmt::Assign { target: name_expr(&ok), op: None, value: Expr { kind: ExprKind::Bool(true), span: sp }, span: sp });
        let exit_call = Expr {
            kind: ExprKind::Call {
                callee: Box::new(Expr { kind: ExprKind::Field { target: Box::new(name_expr(&v)), name: ident("exit"), optional: false }, span: sp }),
                args: vec![ast::Arg { name: None, value: name_expr(&ok) }],
            },
            span: sp,
        };
        let try_body = Block { stmts, span: body.span, has_closure: body.has_closure };
        let finally = Block { stmts: vec![Stmt::Expr(exit_call)], span: sp, has_closure: false };
        let exits = self.stmt(&Stmt::Try { body: Box::new(try_body), catch: Vec::new(), finally: Some(Box::new(finally)), span });
        self.pop_scope();
        exits
    }

    /// `throw e`: an `Error` as it is; a value of a type declaring `Throwable` inside an
    /// `Error` made from its `code` and `message` (fields or methods), which carries it in its
    /// hidden last field for a `catch e: Type` to take out.
    fn throw_stmt(&mut self, e: &Expr) {
        if let ExprKind::Name(n) = &e.kind {
            if let NameRes::Local(l) = self.resolve(n) {
                if let Some(&(_, err)) = self.f().caught.iter().rev().find(|(v, _)| *v == l.reg) {
                    self.emit(Op::Throw { src: err });
                    return;
                }
            }
        }
        let err_ty = Type::Struct(crate::compiler::ERROR_STRUCT, vec![]);
        let (r, t) = self.expr(e, None, Some(&err_ty));
        let t = self.subst.resolve(&t);
        if matches!(&t, Type::Struct(s, _) if *s == crate::compiler::ERROR_STRUCT) || t.is_error() || t == Type::Never {
            self.emit(Op::Throw { src: r });
            return;
        }
        if !self.is_throwable(&t) {
            let shown = self.show(&t);
            let hint = match &t {
                Type::Struct(..) | Type::Enum(..) => format!("declare `{shown}: Throwable`; a type declaring it needs its `message` (and its `code`, if it has one) as a `str` field or a method returning `str`"),
                Type::Interface(..) => "throw the value as its own struct or enum type (an interface value's fields are not known here)".to_string(),
                _ => "throw an `Error(code, message)`, or a struct or enum declaring `Throwable`".to_string(),
            };
            self.error(N0200, format!("`throw` needs an `Error` or a type declaring `Throwable`, found `{shown}`"), e.span).label(format!("this is `{shown}`")).hint(hint);
            return;
        }
        let base = self.b().alloc(4);
        for (i, part) in ["code", "message"].into_iter().enumerate() {
            self.throwable_part(r, &t, part, base + i as u16, e.span);
        }
        // a `cause: Error?` field of its own is the error's cause
        let error_opt = Type::optional(Type::Struct(crate::compiler::ERROR_STRUCT, vec![]));
        let cause = match &t {
            Type::Struct(s, args) => self.struct_fields(*s, args).iter().position(|f| f.0 == "cause" && (f.1 == error_opt || f.1 == Type::Struct(crate::compiler::ERROR_STRUCT, vec![]))),
            _ => None,
        };
        match cause {
            Some(i) => self.emit(Op::GetField { dst: base + 2, obj: r, idx: i as u16 }),
            None => self.emit(Op::LoadNone { dst: base + 2 }),
        };
        self.emit(Op::Move { dst: base + 3, src: r });
        let d = self.b().temp();
        let rec = self.structs[crate::compiler::ERROR_STRUCT as usize].record;
        self.emit(Op::NewRecord { dst: d, ty: rec, base });
        self.emit(Op::Throw { src: d });
    }

    /// The `code` or `message` of a `Throwable` value in `r`, into `dst`: its field of that
    /// name, else its method; a missing `code` is the type's name.
    fn throwable_part(&mut self, r: Reg, t: &Type, part: &str, dst: Reg, span: Span) {
        if let Type::Struct(s, args) = t {
            if let Some(i) = self.struct_fields(*s, args).iter().position(|f| f.0 == part) {
                self.emit(Op::GetField { dst, obj: r, idx: i as u16 });
                return;
            }
        }
        if self.has_method(t, part) {
            let ident = ast::Ident { name: part.into(), span };
            self.method_call_on(r, t.clone(), &ident, &[], Some(dst), span, None);
            return;
        }
        let name = match t {
            Type::Struct(s, _) => self.structs[*s as usize].name.clone(),
            Type::Enum(e, _) => self.enums[*e as usize].name.clone(),
            _ => String::new(),
        };
        self.load_const(noodle_nbc::Const::Str(name), Some(dst));
    }

    fn try_stmt(&mut self, body: &Block, catch: &[ast::CatchClause], finally: Option<&Block>) -> bool {
        let err = self.b().temp();
        let handler = crate::builder::Label(self.emit(Op::TryBegin { reg: err, off: 0 }));
        self.f().tries.push(finally.cloned());
        let body_exits = self.block_stmts(body);
        self.f().tries.pop();
        self.emit(Op::TryEnd);
        if let Some(f) = finally {
            self.block_stmts(f);
        }
        let jend = self.b().jump();
        self.b().patch(handler);
        let catch_exits;
        match catch {
            [_, ..] => {
                let inner_handler = finally.map(|_| {
                    let err2 = self.b().temp();
                    (err2, crate::builder::Label(self.emit(Op::TryBegin { reg: err2, off: 0 })))
                });
                if finally.is_some() {
                    self.f().tries.push(finally.cloned());
                }
                catch_exits = self.catch_clauses(err, catch);
                if let Some((err2, h)) = inner_handler {
                    self.f().tries.pop();
                    self.emit(Op::TryEnd);
                    self.block_stmts(finally.unwrap());
                    let j2 = self.b().jump();
                    self.b().patch(h);
                    self.block_stmts(finally.unwrap());
                    self.emit(Op::Throw { src: err2 });
                    self.b().patch(j2);
                }
            }
            [] => {
                if let Some(f) = finally {
                    self.block_stmts(f);
                }
                self.emit(Op::Throw { src: err });
                catch_exits = true;
            }
        }
        self.b().patch(jend);
        let finally_exits = finally.map(always_exits).unwrap_or(false);
        (body_exits && catch_exits) || finally_exits
    }
}

impl Compiler {
    /// The `catch` clauses after a `try`, the error in `err`: each typed one tests the value
    /// the error carries (`catch e: ParseError`), an untyped one (or `catch e: Error`) takes
    /// every error; when none matches, the error is thrown on. Returns whether every way
    /// through ends the block (returns, throws, ...).
    fn catch_clauses(&mut self, err: Reg, clauses: &[ast::CatchClause]) -> bool {
        let error_ty = Type::Struct(crate::compiler::ERROR_STRUCT, vec![]);
        let mut done = Vec::new();
        let mut all_exit = true;
        let mut catch_all = false;
        let mut seen: Vec<Type> = Vec::new();
        for c in clauses {
            if catch_all {
                self.error(N0302, "this `catch` is never reached: an earlier one catches every error", c.name.span)
                    .hint("put the `catch` clauses with a type first");
                continue;
            }
            let ty = c.ty.as_ref().map(|te| (self.resolve_type(te), te.span()));
            let typed = match &ty {
                Some((t, _)) if *t == error_ty || t.is_error() => None,
                Some((t, span)) => {
                    if !self.is_throwable(t) {
                        let shown = self.show(t);
                        self.error(N0200, format!("`catch` can take `Error` or a type declaring `Throwable`, not `{shown}`"), *span)
                            .hint("declare the type `Throwable` to throw and catch it, or catch every error with `catch e`");
                        // still a typed clause (the program does not run)
                        Some((Type::Unknown, KIND_NONE))
                    } else {
                        if seen.contains(t) {
                            let shown = self.show(t);
                            self.error(N0302, format!("this `catch` is never reached: an earlier one takes every `{shown}`"), *span);
                        }
                        seen.push(t.clone());
                        let te = c.ty.as_ref().unwrap();
                        Some((t.clone(), self.kind_code(t, te)))
                    }
                }
                None => None,
            };
            self.push_scope();
            let next = match &typed {
                Some((t, kind)) => {
                    let v = self.b().temp();
                    self.emit(Op::GetField { dst: v, obj: err, idx: crate::compiler::ERROR_VALUE_FIELD });
                    let cond = self.b().temp();
                    self.emit(Op::IsKind { dst: cond, src: v, kind: *kind });
                    let next = self.b().jump_if_false(cond);
                    self.bind_local(&c.name.name, Local { reg: v, ty: t.clone(), mutable: false, cell: false, wide: None, global: None });
                    // the error it came out of, for `Error(code, message, e)` (see `construct`)
                    self.bind_local(&format!("$error {}", c.name.name), Local { reg: err, ty: error_ty.clone(), mutable: false, cell: false, wide: None, global: None });
                    self.f().caught.push((v, err));
                    Some(next)
                }
                None => {
                    catch_all = true;
                    self.bind_local(&c.name.name, Local { reg: err, ty: error_ty.clone(), mutable: false, cell: false, wide: None, global: None });
                    None
                }
            };
            let exits = self.block_stmts(&c.body);
            all_exit &= exits;
            if typed.is_some() {
                self.f().caught.pop();
            }
            self.pop_scope();
            if !exits {
                done.push(self.b().jump());
            }
            if let Some(next) = next {
                self.b().patch(next);
            }
        }
        if !catch_all {
            // no clause took it: on to the enclosing handler (through `finally`)
            self.emit(Op::Throw { src: err });
        }
        for j in done {
            self.b().patch(j);
        }
        all_exit
    }

    /// Does a value of type `t` declare `Throwable` (so that `throw` and `catch` take it)?
    pub(crate) fn is_throwable(&self, t: &Type) -> bool {
        match t {
            Type::Struct(s, _) => self.structs[*s as usize].throwable,
            Type::Enum(e, _) => self.enums[*e as usize].throwable,
            _ => false,
        }
    }
}

pub fn stmt_span(s: &Stmt) -> Span {
    match s {
        Stmt::Let { span, .. } | Stmt::Assign { span, .. } | Stmt::While { span, .. } | Stmt::For { span, .. } | Stmt::Try { span, .. } | Stmt::With { span, .. } => *span,
        Stmt::Expr(e) => e.span,
        Stmt::Return(_, s) | Stmt::Break(s) | Stmt::Continue(s) | Stmt::Throw(_, s) => *s,
        Stmt::Func(f) => f.span,
    }
}

/// Does a type contain `Unknown` (the mark of an error reported elsewhere)?
pub fn contains_unknown(t: &Type) -> bool {
    match t {
        Type::Unknown => true,
        Type::List(a) | Type::Set(a) | Type::Optional(a) => contains_unknown(a),
        Type::Dict(k, v) => contains_unknown(k) || contains_unknown(v),
        Type::Tuple(ts) => ts.iter().any(contains_unknown),
        Type::Func(ps, r) => ps.iter().any(contains_unknown) || contains_unknown(r),
        _ => false,
    }
}

/// Names assigned (`x = ...`, `x += ...`, `a, x = ...`) anywhere in these statements,
/// closures excluded (a closure cannot assign a narrowable variable: captured ones are cells).
fn assigned_names(stmts: &[Stmt], out: &mut HashSet<String>) {
    fn target(e: &Expr, out: &mut HashSet<String>) {
        match &e.kind {
            ExprKind::Name(n) => {
                out.insert(n.clone());
            }
            ExprKind::Tuple(ts) => ts.iter().for_each(|t| target(t, out)),
            _ => {}
        }
    }
    fn expr(e: &Expr, out: &mut HashSet<String>) {
        match &e.kind {
            ExprKind::If { arms, else_ } => {
                arms.iter().for_each(|a| assigned_names(&a.then.stmts, out));
                if let Some(b) = else_ {
                    assigned_names(&b.stmts, out);
                }
            }
            ExprKind::Block(b) => assigned_names(&b.stmts, out),
            ExprKind::Match { arms, .. } => arms.iter().for_each(|a| expr(&a.body, out)),
            _ => {}
        }
    }
    for s in stmts {
        match s {
            Stmt::Assign { target: t, .. } => target(t, out),
            Stmt::Expr(e) => expr(e, out),
            Stmt::While { body, .. } | Stmt::For { body, .. } => assigned_names(&body.stmts, out),
            Stmt::With { body, .. } => assigned_names(&body.stmts, out),
            Stmt::Try { body, catch, finally, .. } => {
                assigned_names(&body.stmts, out);
                for c in catch {
                    assigned_names(&c.body.stmts, out);
                }
                if let Some(b) = finally {
                    assigned_names(&b.stmts, out);
                }
            }
            _ => {}
        }
    }
}

/// Does compiling this expression into a register write that register only at its very end
/// (after every operand has been read)? Short-circuit operators and conditionals do not.
fn writes_last(e: &ExprKind) -> bool {
    match e {
        ExprKind::Binary(op, ..) => !matches!(op, ast::BinOp::And | ast::BinOp::Or | ast::BinOp::Coalesce),
        ExprKind::Unary(..) | ExprKind::Call { .. } | ExprKind::Index { .. } | ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Bool(_) => true,
        _ => false,
    }
}
