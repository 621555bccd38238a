//! `match`: pattern tests and bindings, plus exhaustiveness and reachability checking with the
//! usefulness algorithm (Maranget, "Warnings for pattern matching").

use crate::codes::{N0104, N0106, N0200, N0300, N0301, N0302};
use noodle_codes::N2012;
use crate::builder::{Label, Reg};
use crate::compiler::{Compiler, Local, NameRes, Symbol};
use crate::types::Type;
use noodle_nbc::op::KIND_RECORD;
use noodle_nbc::{Const, Op};
use noodle_syntax::ast::{Expr, Ident, MatchArm, PatKind, Pattern};
use noodle_syntax::{Diagnostic, Span};

#[derive(Clone, Debug, PartialEq)]
enum Ctor {
    True,
    False,
    Null,
    Some_,
    Variant(u16),
    Tuple,
    Struct,
    Lit(String),
    /// A list of exactly this length (its elements are the fields).
    Len(usize),
    /// A list at least this long, the longest length a pattern of the match names plus one
    /// (its first that many elements are the fields).
    LenAtLeast(usize),
}

#[derive(Clone, Debug)]
enum P {
    Wild,
    C(Ctor, Vec<P>),
    Or(Vec<P>),
}

impl Compiler {
    pub fn match_expr(&mut self, scrutinee: &Expr, arms: &[MatchArm], dst: Option<Reg>, expected: Option<&Type>, span: Span) -> (Reg, Type) {
        let (sr, st) = self.expr(scrutinee, None, None);
        let st = self.subst.resolve(&st);
        // keep the scrutinee in its own register: arms may reassign the variable it came from
        let s = self.b().temp();
        self.emit(Op::Move { dst: s, src: sr });
        let d = match dst {
            Some(r) => r,
            None => self.b().temp(),
        };
        let mut ends = Vec::new();
        let mut result: Option<Type> = expected.cloned();
        let mut rows: Vec<Vec<P>> = Vec::new();
        let mut all_never = true;
        let mut widen_at_end = false;
        // lists are told apart by length up to the longest a list pattern here names
        let longest = arms.iter().map(|a| longest_list_pattern(&a.pat)).max().unwrap_or(0);
        let outer_longest = std::mem::replace(&mut self.list_longest, longest);
        for arm in arms {
            self.set_line(arm.span);
            // reachability
            let lowered = self.lower(&arm.pat, &st);
            if !st.is_error() && !rows.is_empty() && self.useful(&rows, &[lowered.clone()], std::slice::from_ref(&st)).is_none() {
                self.diags.push(Diagnostic::error(N0301, "this arm can never match", arm.pat.span).label("earlier arms already cover every value it matches").hint("remove it or move it before the arm that covers it"));
            }
            self.push_scope();
            let before = self.diags.len();
            let mut fails = self.test_pattern(&arm.pat, s, &st);
            let bad_pattern = self.diags[before..].iter().any(|d| d.code == N0302);
            if bad_pattern {
                // names the broken pattern would bind exist, so the arm body checks quietly
                self.bind_unknown(&arm.pat);
            }
            if arm.guard.is_none() && !bad_pattern {
                rows.push(vec![lowered]);
            }
            if let Some(g) = &arm.guard {
                fails.extend(self.cond_jump(g, false));
            }
            let (_, t) = self.expr(&arm.body, Some(d), result.as_ref());
            let t = self.subst.resolve(&t);
            if t != Type::Never {
                all_never = false;
                match &result {
                    None => result = Some(t),
                    Some(r) => {
                        let r = self.subst.resolve(r);
                        if r == Type::Float && t == Type::Int {
                            self.emit(Op::IntToFloat { dst: d, src: d });
                        } else if r == Type::Int && t == Type::Float && expected.is_none() {
                            result = Some(Type::Float);
                            widen_at_end = true;
                        } else if !self.assignable(&t, &r) {
                            if r == Type::None && expected.is_none() {
                                result = Some(Type::optional(t));
                            } else if t == Type::None && expected.is_none() {
                                result = Some(Type::optional(r));
                            } else if expected.is_some() {
                                self.expect_type(&t, &r, arm.body.span);
                            } else {
                                let (a, b) = (self.show(&r), self.show(&t));
                                self.error(N0200, format!("match arms have different types: `{a}` and `{b}`"), arm.body.span).label(format!("this is `{b}`"));
                            }
                        }
                    }
                }
            }
            self.pop_scope();
            ends.push(self.b().jump());
            for f in fails {
                self.b().patch(f);
            }
        }
        // exhaustiveness
        if !st.is_error() {
            if let Some(w) = self.useful(&rows, &[P::Wild], std::slice::from_ref(&st)) {
                let missing = self.show_pat(&w[0], &st);
                self.diags.push(
                    Diagnostic::error(N0300, format!("non-exhaustive match: `{missing}` is not covered"), scrutinee.span)
                        .label(format!("this is `{}`", self.show(&st)))
                        .note(span, "in this match")
                        .hint(if missing == "_" { "add a `_ => ...` arm for the remaining values".to_string() } else { format!("add an arm for `{missing}`, or a `_ => ...` arm") }),
                );
            }
        }
        self.list_longest = outer_longest;
        // unreachable at run time when the match is exhaustive; kept so nothing falls through
        let base = self.b().alloc(crate::compiler::ERROR_FIELDS);
        let c1 = self.konst(Const::Str(N2012.as_str().into()));
        let c2 = self.konst(Const::Str("no match arm matched".into()));
        self.emit(Op::LoadConst { dst: base, idx: c1 });
        self.emit(Op::LoadConst { dst: base + 1, idx: c2 });
        self.throw_error_at(base);
        for e in ends {
            self.b().patch(e);
        }
        if widen_at_end {
            self.to_float_at_join(d);
        }
        let t = if all_never && !arms.is_empty() { Type::Never } else { result.unwrap_or(Type::None) };
        (d, t)
    }

    fn resolve_variant(&mut self, path: &[Ident], ty: &Type) -> Option<(u32, usize)> {
        let enum_of_ty = match ty {
            Type::Enum(e, _) => Some(*e),
            Type::Optional(i) => match **i {
                Type::Enum(e, _) => Some(e),
                _ => None,
            },
            _ => None,
        };
        let (e, vname) = match path {
            [v] => (enum_of_ty?, v),
            [ty @ .., v] => match self.pattern_type_path(ty) {
                NameRes::Enum(e) => (e, v),
                _ => return None,
            },
            [] => return None,
        };
        let vi = self.enums[e as usize].variants.iter().position(|v| v.name == vname.name)?;
        Some((e, vi))
    }

    /// The struct or enum a pattern's path names: `Point`, or `module.Point` from an import
    /// (`NameRes::None` for anything else, such as `Enum.Variant`).
    pub(crate) fn pattern_type_path(&mut self, path: &[Ident]) -> NameRes {
        match path {
            [n] => match self.resolve(&n.name) {
                r @ (NameRes::Struct(_) | NameRes::Enum(_)) => r,
                _ => NameRes::None,
            },
            [m, n] => {
                let NameRes::Module(mi) = self.resolve(&m.name) else { return NameRes::None };
                match self.modules[mi].symbols.get(&n.name).cloned() {
                    Some((Symbol::Struct(s), public)) => {
                        if !public {
                            self.error(N0104, format!("`{}` is not public in module `{}`", n.name, self.modules[mi].name), n.span);
                        }
                        NameRes::Struct(s)
                    }
                    Some((Symbol::Enum(e), public)) => {
                        if !public {
                            self.error(N0104, format!("`{}` is not public in module `{}`", n.name, self.modules[mi].name), n.span);
                        }
                        NameRes::Enum(e)
                    }
                    _ => NameRes::None,
                }
            }
            _ => NameRes::None,
        }
    }

    /// Emits the tests for `pat` against register `r`; returns jumps taken when it fails.
    /// A name that is a constant (`const DAY = 86400`), as the literal pattern it stands for.
    pub(crate) fn const_pattern(&mut self, pat: &Pattern) -> Option<Pattern> {
        let c = match &pat.kind {
            PatKind::Bind(n) => match self.resolve(n) {
                NameRes::Const(c) => c,
                _ => return None,
            },
            // `limits.MAX`: another module's constant
            PatKind::Variant { path, args: None } if path.len() == 2 => match self.resolve(&path[0].name) {
                NameRes::Module(mi) => match self.modules[mi].symbols.get(&path[1].name) {
                    Some((crate::compiler::Symbol::Const(c), true)) => c.clone(),
                    _ => return None,
                },
                _ => return None,
            },
            _ => return None,
        };
        let kind = match (&c.0, &c.1) {
            (Const::Int(i), Type::Bool) => PatKind::Bool(*i != 0),
            (Const::Int(i), _) => PatKind::Int(*i),
            (Const::Float(f), _) => PatKind::Float(*f),
            (Const::Str(s), _) => PatKind::Str(s.clone()),
            (Const::Bytes(_), _) => return None,
        };
        Some(Pattern { kind, span: pat.span })
    }

    /// A list pattern of `n` items (with or without a rest) on the list in `r`: the register
    /// that holds whether the list's length fits, and the one that holds the length.
    pub(crate) fn list_length_test(&mut self, r: Reg, n: usize, rest: bool) -> (Reg, Reg) {
        let len = self.b().temp();
        self.emit(Op::Len { dst: len, src: r });
        let want = self.b().temp();
        self.emit(Op::LoadInt { dst: want, val: n.min(i32::MAX as usize) as i32 });
        let ok = self.b().temp();
        self.emit(if rest { Op::LeInt { dst: ok, a: want, b: len } } else { Op::EqInt { dst: ok, a: want, b: len } });
        (ok, len)
    }

    /// Item `i` of a list pattern of `n` items on the list in `r` (the length already tested):
    /// counted from the start before the rest, from the end after it.
    pub(crate) fn list_item(&mut self, r: Reg, i: usize, n: usize, rest: &Option<(usize, Option<Ident>)>) -> Reg {
        let split = rest.as_ref().map_or(n, |(at, _)| *at);
        let at = if i < split { i as i64 } else { i as i64 - n as i64 };
        let idx = self.b().temp();
        self.emit(Op::LoadInt { dst: idx, val: at.clamp(i32::MIN as i64, i32::MAX as i64) as i32 });
        let e = self.b().temp();
        self.emit(Op::ListGet { dst: e, list: r, idx });
        e
    }

    /// The `*rest` at `at` of a list pattern of `n` other items: a new list of the elements
    /// they leave, and its type.
    pub(crate) fn list_rest(&mut self, r: Reg, at: usize, n: usize, elem: &Type) -> (Reg, Type) {
        let after = n - at;
        let bounds = self.b().alloc(2);
        self.emit(Op::LoadInt { dst: bounds, val: at.min(i32::MAX as usize) as i32 });
        if after == 0 {
            self.emit(Op::LoadNone { dst: bounds + 1 });
        } else {
            self.emit(Op::LoadInt { dst: bounds + 1, val: -(after.min(i32::MAX as usize) as i32) });
        }
        let reg = self.b().temp();
        self.emit(Op::Slice { dst: reg, obj: r, base: bounds });
        let t = Type::list(elem.clone());
        self.mark_if_dynamic(reg, &t);
        (reg, t)
    }

    fn test_pattern(&mut self, pat: &Pattern, r: Reg, ty: &Type) -> Vec<Label> {
        if let Some(lit) = self.const_pattern(pat) {
            return self.test_pattern(&lit, r, ty);
        }
        let ty = self.subst.resolve(ty);
        let mut fails = Vec::new();
        let mismatch = |c: &mut Compiler, what: &str, ty: &Type| {
            let shown = c.show(ty);
            c.error(N0302, format!("{what} pattern cannot match a value of type `{shown}`"), pat.span).label(format!("the matched value is `{shown}`"));
        };
        match &pat.kind {
            PatKind::Wildcard => {}
            PatKind::Bind(name) => {
                let enum_ty = match &ty {
                    Type::Enum(e, _) => Some((*e, false)),
                    Type::Optional(i) => match **i {
                        Type::Enum(e, _) => Some((e, true)),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some((e, optional)) = enum_ty {
                    if optional && self.enums[e as usize].variants.iter().any(|v| v.name == *name) {
                        fails.push(self.b().jump_if_none(r));
                    }
                    let info = &self.enums[e as usize];
                    if let Some(v) = info.variants.iter().find(|v| v.name == *name) {
                        let rec = v.record;
                        let nfields = v.fields.len();
                        if nfields > 0 {
                            let vn = v.name.clone();
                            self.error(N0302, format!("variant `{vn}` has a payload"), pat.span).hint(format!("write `{vn}(..)` with a pattern for each field"));
                        }
                        let c = self.b().temp();
                        self.emit(Op::IsKind { dst: c, src: r, kind: KIND_RECORD + rec });
                        fails.push(self.b().jump_if_false(c));
                        return fails;
                    }
                }
                let reg = self.b().temp();
                self.emit(Op::Move { dst: reg, src: r });
                self.bind_local(name, Local { reg, ty: ty.clone(), mutable: false, cell: false, wide: None, global: None });
            }
            PatKind::Int(_) | PatKind::Float(_) | PatKind::Str(_) | PatKind::Bool(_) => {
                let (c, lit_ty) = match &pat.kind {
                    PatKind::Int(v) => (Const::Int(*v), Type::Int),
                    PatKind::Float(v) => (Const::Float(*v), Type::Float),
                    PatKind::Str(s) => (Const::Str(s.clone()), Type::Str),
                    PatKind::Bool(b) => (Const::Int(*b as i64), Type::Bool),
                    _ => unreachable!(),
                };
                let base = match &ty {
                    Type::Optional(i) => (**i).clone(),
                    t => t.clone(),
                };
                if !base.is_error() && base != lit_ty && base != Type::Any && !(base == Type::Float && lit_ty == Type::Int) {
                    mismatch(self, "this literal", &ty);
                    return fails;
                }
                let t = self.b().temp();
                match (&pat.kind, &ty) {
                    (PatKind::Bool(b), Type::Bool) => {
                        fails.push(if *b { self.b().jump_if_false(r) } else { self.b().jump_if_true(r) });
                        return fails;
                    }
                    (PatKind::Bool(b), _) => {
                        self.emit(if *b { Op::LoadTrue { dst: t } } else { Op::LoadFalse { dst: t } });
                    }
                    (PatKind::Int(v), Type::Float) => {
                        let idx = self.konst(Const::Float(*v as f64));
                        self.emit(Op::LoadConst { dst: t, idx });
                    }
                    _ => {
                        let idx = self.konst(c);
                        self.emit(Op::LoadConst { dst: t, idx });
                    }
                }
                let eq = self.b().temp();
                if ty == Type::Int {
                    self.emit(Op::EqInt { dst: eq, a: r, b: t });
                } else {
                    self.emit(Op::Eq { dst: eq, a: r, b: t });
                }
                fails.push(self.b().jump_if_false(eq));
            }
            PatKind::None => {
                if !matches!(ty, Type::Optional(_) | Type::None | Type::Any | Type::Unknown) {
                    mismatch(self, "the `none`", &ty);
                    return fails;
                }
                fails.push(self.b().jump_if_not_none(r));
            }
            PatKind::Range { lo, hi, inclusive } => {
                if !matches!(ty, Type::Int | Type::Unknown) {
                    mismatch(self, "a range", &ty);
                    return fails;
                }
                let (a, b, c) = (self.b().temp(), self.b().temp(), self.b().temp());
                let ca = self.konst(Const::Int(*lo));
                let cb = self.konst(Const::Int(*hi));
                self.emit(Op::LoadConst { dst: a, idx: ca });
                self.emit(Op::LoadConst { dst: b, idx: cb });
                self.emit(Op::LeInt { dst: c, a, b: r });
                fails.push(self.b().jump_if_false(c));
                self.emit(if *inclusive { Op::LeInt { dst: c, a: r, b } } else { Op::LtInt { dst: c, a: r, b } });
                fails.push(self.b().jump_if_false(c));
            }
            PatKind::Tuple(ps) => {
                let inner = match &ty {
                    Type::Optional(i) => {
                        fails.push(self.b().jump_if_none(r));
                        (**i).clone()
                    }
                    t => t.clone(),
                };
                let elems = match inner {
                    Type::Tuple(ts) if ts.len() == ps.len() => ts,
                    Type::Unknown => vec![Type::Unknown; ps.len()],
                    other => {
                        mismatch(self, &format!("a {}-element tuple", ps.len()), &other);
                        return fails;
                    }
                };
                for (i, (p, t)) in ps.iter().zip(elems.iter()).enumerate() {
                    let e = self.b().temp();
                    self.emit(Op::GetField { dst: e, obj: r, idx: i as u16 });
                    fails.extend(self.test_pattern(p, e, t));
                }
            }
            PatKind::Variant { path, args } => {
                // A struct name with positional sub-patterns: `Point(x, y)`.
                {
                    if let NameRes::Struct(s) = self.pattern_type_path(path) {
                        let info = self.structs[s as usize].clone();
                        let args = args.clone().unwrap_or_default();
                        if !matches!(&ty, Type::Struct(x, _) if *x == s) && !ty.is_error() {
                            mismatch(self, &format!("a `{}`", info.name), &ty);
                            return fails;
                        }
                        if args.len() != info.fields.len() {
                            self.error(N0302, format!("struct `{}` has {} fields but the pattern has {}", info.name, info.fields.len(), args.len()), pat.span);
                            return fails;
                        }
                        let fields = self.struct_fields(s, &self.struct_args(&ty, s));
                        for (i, (p, (_, ft))) in args.iter().zip(fields.iter()).enumerate() {
                            let e = self.b().temp();
                            self.emit(Op::GetField { dst: e, obj: r, idx: i as u16 });
                            fails.extend(self.test_pattern(p, e, ft));
                        }
                        return fails;
                    }
                }
                let Some((e, vi)) = self.resolve_variant(path, &ty) else {
                    let full: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
                    if ty.is_error() {
                        return fails;
                    }
                    let shown = self.show(&ty);
                    self.error(N0302, format!("`{}` is not a variant of `{shown}`", full.join(".")), pat.span).label(format!("the matched value is `{shown}`"));
                    return fails;
                };
                let base_ty = match &ty {
                    Type::Optional(i) => {
                        fails.push(self.b().jump_if_none(r));
                        (**i).clone()
                    }
                    t => t.clone(),
                };
                if !matches!(&base_ty, Type::Enum(x, _) if *x == e) && base_ty != Type::Any {
                    mismatch(self, &format!("a `{}`", self.enums[e as usize].name), &ty);
                    return fails;
                }
                if base_ty == Type::Any && !self.generic_view_safe(&Type::Enum(e, vec![])) {
                    let name = self.enums[e as usize].name.clone();
                    self.error(N0302, format!("a variant of generic enum `{name}` cannot be matched in an `any`: its type arguments are not kept, and its payload could then be changed with values of any type"), pat.span)
                        .hint("keep the value in a variable or container of its own type instead of `any`");
                    return fails;
                }
                let mut v = self.enums[e as usize].variants[vi].clone();
                v.fields = self.variant_fields(e, vi, &self.enum_args(&base_ty, e));
                let c = self.b().temp();
                self.emit(Op::IsKind { dst: c, src: r, kind: KIND_RECORD + v.record });
                fails.push(self.b().jump_if_false(c));
                if let Some(args) = args {
                    if args.len() != v.fields.len() {
                        self.error(N0302, format!("variant `{}` has {} field{} but the pattern has {}", v.name, v.fields.len(), if v.fields.len() == 1 { "" } else { "s" }, args.len()), pat.span);
                        return fails;
                    }
                    for (i, (p, (_, ft))) in args.iter().zip(v.fields.iter()).enumerate() {
                        let e = self.b().temp();
                        self.emit(Op::GetField { dst: e, obj: r, idx: i as u16 });
                        fails.extend(self.test_pattern(p, e, ft));
                    }
                }
            }
            PatKind::Struct { path, fields } => {
                let (names, types, test_kind): (Vec<String>, Vec<Type>, Option<u16>) = match self.pattern_type_path(path) {
                    NameRes::Struct(s) => {
                        let info = self.structs[s as usize].clone();
                        if !matches!(&ty, Type::Struct(x, _) if *x == s) && !ty.is_error() {
                            mismatch(self, &format!("a `{}`", info.name), &ty);
                            return fails;
                        }
                        let fields = self.struct_fields(s, &self.struct_args(&ty, s));
                        (fields.iter().map(|f| f.0.clone()).collect(), fields.iter().map(|f| f.1.clone()).collect(), None)
                    }
                    _ => match self.resolve_variant(path, &ty) {
                        Some((e, vi)) => {
                            if strip_opt(&ty) == Type::Any && !self.generic_view_safe(&Type::Enum(e, vec![])) {
                                let name = self.enums[e as usize].name.clone();
                                self.error(N0302, format!("a variant of generic enum `{name}` cannot be matched in an `any`: its type arguments are not kept, and its payload could then be changed with values of any type"), pat.span)
                                    .hint("keep the value in a variable or container of its own type instead of `any`");
                                return fails;
                            }
                            let v = self.enums[e as usize].variants[vi].clone();
                            let fields = self.variant_fields(e, vi, &self.enum_args(&strip_opt(&ty), e));
                            (fields.iter().map(|f| f.0.clone()).collect(), fields.iter().map(|f| f.1.clone()).collect(), Some(KIND_RECORD + v.record))
                        }
                        None => {
                            let full: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
                            self.error(N0302, format!("`{}` is not a struct or variant that fits here", full.join(".")), pat.span);
                            return fails;
                        }
                    },
                };
                if let Some(k) = test_kind {
                    let c = self.b().temp();
                    self.emit(Op::IsKind { dst: c, src: r, kind: k });
                    fails.push(self.b().jump_if_false(c));
                }
                for (f, p) in fields {
                    match names.iter().position(|n| *n == f.name) {
                        Some(i) => {
                            let e = self.b().temp();
                            self.emit(Op::GetField { dst: e, obj: r, idx: i as u16 });
                            fails.extend(self.test_pattern(p, e, &types[i]));
                        }
                        None => {
                            self.error(N0106, format!("no field `{}` here", f.name), f.span);
                        }
                    }
                }
            }
            PatKind::List { items, rest } => {
                let inner = match &ty {
                    Type::Optional(i) => {
                        fails.push(self.b().jump_if_none(r));
                        (**i).clone()
                    }
                    t => t.clone(),
                };
                let elem = match inner {
                    Type::List(e) => *e,
                    t if t.is_error() => Type::Unknown,
                    other => {
                        mismatch(self, "a list", &other);
                        return fails;
                    }
                };
                let (ok, _) = self.list_length_test(r, items.len(), rest.is_some());
                fails.push(self.b().jump_if_false(ok));
                for (i, p) in items.iter().enumerate() {
                    let e = self.list_item(r, i, items.len(), rest);
                    fails.extend(self.test_pattern(p, e, &elem));
                }
                if let Some((at, Some(name))) = rest {
                    let (reg, t) = self.list_rest(r, *at, items.len(), &elem);
                    self.bind_local(&name.name, Local { reg, ty: t, mutable: false, cell: false, wide: None, global: None });
                }
            }
            PatKind::Or(alts) => {
                for a in alts {
                    if binds_names(a, &ty, self) {
                        self.error(N0302, "alternatives (`|`) cannot bind names", a.span).hint("use separate arms, or `_`");
                        return fails;
                    }
                }
                let mut ok_jumps = Vec::new();
                for a in &alts[..alts.len() - 1] {
                    let f = self.test_pattern(a, r, &ty);
                    ok_jumps.push(self.b().jump());
                    for j in f {
                        self.b().patch(j);
                    }
                }
                fails = self.test_pattern(alts.last().unwrap(), r, &ty);
                for j in ok_jumps {
                    self.b().patch(j);
                }
            }
        }
        fails
    }

    /// Binds every name in a pattern to an unknown-typed value (after a pattern error).
    fn bind_unknown(&mut self, pat: &Pattern) {
        match &pat.kind {
            PatKind::Bind(n) => {
                if let NameRes::Local(_) = self.resolve(n) {
                    return;
                }
                let reg = self.b().temp();
                self.emit(Op::LoadNone { dst: reg });
                self.bind_local(n, Local { reg, ty: Type::Unknown, mutable: false, cell: false, wide: None, global: None });
            }
            PatKind::Tuple(ps) | PatKind::Or(ps) => ps.iter().for_each(|p| self.bind_unknown(p)),
            PatKind::Variant { args: Some(ps), .. } => ps.iter().for_each(|p| self.bind_unknown(p)),
            PatKind::Struct { fields, .. } => fields.iter().for_each(|(_, p)| self.bind_unknown(p)),
            PatKind::List { items, rest } => {
                items.iter().for_each(|p| self.bind_unknown(p));
                if let Some((_, Some(name))) = rest {
                    self.bind_unknown(&Pattern { kind: PatKind::Bind(name.name.clone()), span: name.span });
                }
            }
            _ => {}
        }
    }

    // ---- exhaustiveness ----

    fn lower(&mut self, pat: &Pattern, ty: &Type) -> P {
        if let Some(lit) = self.const_pattern(pat) {
            return self.lower(&lit, ty);
        }
        let ty = self.subst.resolve(ty);
        // a non-none pattern on an optional matches the `some` case
        if let Type::Optional(inner) = &ty {
            return match &pat.kind {
                PatKind::Wildcard => P::Wild,
                PatKind::Bind(n) if self.resolve_variant(&[Ident { name: n.clone(), span: pat.span }], &ty).is_none() => P::Wild,
                PatKind::None => P::C(Ctor::Null, vec![]),
                PatKind::Or(alts) => P::Or(alts.iter().map(|a| self.lower(a, &ty)).collect()),
                _ => P::C(Ctor::Some_, vec![self.lower(pat, inner)]),
            };
        }
        match &pat.kind {
            PatKind::Wildcard => P::Wild,
            PatKind::Bind(n) => {
                if let Type::Enum(e, _) = ty {
                    if let Some(v) = self.enums[e as usize].variants.iter().find(|v| v.name == *n) {
                        return P::C(Ctor::Variant(v.record), vec![P::Wild; v.fields.len()]);
                    }
                }
                P::Wild
            }
            PatKind::Bool(true) => P::C(Ctor::True, vec![]),
            PatKind::Bool(false) => P::C(Ctor::False, vec![]),
            PatKind::None => P::C(Ctor::Null, vec![]),
            PatKind::Int(v) => P::C(Ctor::Lit(format!("i{v}")), vec![]),
            PatKind::Float(v) => P::C(Ctor::Lit(format!("f{v}")), vec![]),
            PatKind::Str(s) => P::C(Ctor::Lit(format!("s{s}")), vec![]),
            PatKind::Range { lo, hi, inclusive } => P::C(Ctor::Lit(format!("r{lo}..{hi}{inclusive}")), vec![]),
            PatKind::Tuple(ps) => {
                let ts = match &ty {
                    Type::Tuple(ts) if ts.len() == ps.len() => ts.clone(),
                    Type::Tuple(_) => return P::Wild,
                    _ => vec![Type::Unknown; ps.len()],
                };
                P::C(Ctor::Tuple, ps.iter().zip(ts.iter()).map(|(p, t)| self.lower(p, t)).collect())
            }
            PatKind::Variant { path, args } => {
                {
                    if let NameRes::Struct(s) = self.pattern_type_path(path) {
                        let fts: Vec<Type> = self.struct_fields(s, &self.struct_args(&ty, s)).into_iter().map(|f| f.1).collect();
                        let args = args.clone().unwrap_or_default();
                        if args.len() != fts.len() {
                            return P::Wild;
                        }
                        return P::C(Ctor::Struct, args.iter().zip(fts.iter()).map(|(p, t)| self.lower(p, t)).collect());
                    }
                }
                match self.resolve_variant(path, &ty) {
                    Some((e, vi)) => {
                        let mut v = self.enums[e as usize].variants[vi].clone();
                        v.fields = self.variant_fields(e, vi, &self.enum_args(&ty, e));
                        let subs = match args {
                            Some(a) if a.len() == v.fields.len() => a.iter().zip(v.fields.iter()).map(|(p, (_, t))| self.lower(p, t)).collect(),
                            _ => vec![P::Wild; v.fields.len()],
                        };
                        P::C(Ctor::Variant(v.record), subs)
                    }
                    None => P::Wild,
                }
            }
            PatKind::Struct { path, fields } => {
                let (names, types, ctor): (Vec<String>, Vec<Type>, Ctor) = match self.pattern_type_path(path) {
                    NameRes::Struct(s) => {
                        let fields = self.struct_fields(s, &self.struct_args(&ty, s));
                        (fields.iter().map(|f| f.0.clone()).collect(), fields.iter().map(|f| f.1.clone()).collect(), Ctor::Struct)
                    }
                    _ => match self.resolve_variant(path, &ty) {
                        Some((e, vi)) => {
                            let fields = self.variant_fields(e, vi, &self.enum_args(&ty, e));
                            let v = &self.enums[e as usize].variants[vi];
                            (fields.iter().map(|f| f.0.clone()).collect(), fields.iter().map(|f| f.1.clone()).collect(), Ctor::Variant(v.record))
                        }
                        None => return P::Wild,
                    },
                };
                let mut subs = vec![P::Wild; names.len()];
                for (f, p) in fields {
                    if let Some(i) = names.iter().position(|n| *n == f.name) {
                        subs[i] = self.lower(p, &types[i]);
                    }
                }
                P::C(ctor, subs)
            }
            // `[a, b]` is the list of length 2 with those elements; `[a, *rest, z]` each length
            // from 2 up to the longest the match names, and the longer lists, with `_` for the
            // elements the rest takes (as Rust checks slice patterns)
            PatKind::List { items, rest } => {
                let elem = match &ty {
                    Type::List(e) => (**e).clone(),
                    _ => Type::Unknown,
                };
                let lowered: Vec<P> = items.iter().map(|p| self.lower(p, &elem)).collect();
                let longest = self.list_longest.max(items.len());
                match rest {
                    None => P::C(Ctor::Len(items.len()), lowered),
                    Some((at, _)) => {
                        let (prefix, suffix) = lowered.split_at(*at);
                        let fill = |n: usize| -> Vec<P> { prefix.iter().cloned().chain(std::iter::repeat_n(P::Wild, n)).chain(suffix.iter().cloned()).collect() };
                        let mut alts: Vec<P> = (items.len()..=longest).map(|l| P::C(Ctor::Len(l), fill(l - items.len()))).collect();
                        alts.push(P::C(Ctor::LenAtLeast(longest + 1), fill(longest + 1 - items.len())));
                        if alts.len() == 1 { alts.pop().unwrap() } else { P::Or(alts) }
                    }
                }
            }
            PatKind::Or(alts) => P::Or(alts.iter().map(|a| self.lower(a, &ty)).collect()),
        }
    }

    /// The complete list of constructors of a type with their field types, or None when the
    /// type has infinitely many values (ints, strings...).
    fn signature(&mut self, ty: &Type) -> Option<Vec<(Ctor, Vec<Type>)>> {
        match self.subst.resolve(ty) {
            Type::Bool => Some(vec![(Ctor::True, vec![]), (Ctor::False, vec![])]),
            Type::None => Some(vec![(Ctor::Null, vec![])]),
            Type::Optional(i) => Some(vec![(Ctor::Null, vec![]), (Ctor::Some_, vec![*i])]),
            Type::Enum(e, args) => Some((0..self.enums[e as usize].variants.len()).map(|vi| (Ctor::Variant(self.enums[e as usize].variants[vi].record), self.variant_fields(e, vi, &args).into_iter().map(|f| f.1).collect())).collect()),
            Type::Tuple(ts) => Some(vec![(Ctor::Tuple, ts)]),
            Type::Struct(s, args) => Some(vec![(Ctor::Struct, self.struct_fields(s, &args).into_iter().map(|f| f.1).collect())]),
            Type::List(e) => {
                let k = self.list_longest;
                let mut sig: Vec<(Ctor, Vec<Type>)> = (0..=k).map(|l| (Ctor::Len(l), vec![(*e).clone(); l])).collect();
                sig.push((Ctor::LenAtLeast(k + 1), vec![(*e).clone(); k + 1]));
                Some(sig)
            }
            _ => None,
        }
    }

    fn ctor_fields(&mut self, c: &Ctor, ty: &Type, arity: usize) -> Vec<Type> {
        if let Some(sig) = self.signature(ty) {
            if let Some((_, mut ts)) = sig.into_iter().find(|(c2, _)| c2 == c) {
                // a pattern of the wrong size was already reported; keep the columns aligned
                ts.resize(arity, Type::Unknown);
                return ts;
            }
        }
        vec![Type::Unknown; arity]
    }

    /// Returns a witness (a vector of patterns matching `v`'s columns) when `v` matches some
    /// value no row matches.
    fn useful(&mut self, rows: &[Vec<P>], v: &[P], tys: &[Type]) -> Option<Vec<P>> {
        if v.is_empty() {
            return if rows.is_empty() { Some(vec![]) } else { None };
        }
        // expand or-patterns in the first column of the rows (copying the rows only if some
        // first column is one)
        let expanded: Vec<Vec<P>>;
        let rows: &[Vec<P>] = if rows.iter().any(|r| matches!(r.first(), Some(P::Or(_)))) {
            let mut out = Vec::new();
            for r in rows {
                expand_or(r, &mut out);
            }
            expanded = out;
            &expanded
        } else {
            rows
        };
        match &v[0] {
            P::Or(alts) => {
                for a in alts {
                    let mut v2 = vec![a.clone()];
                    v2.extend_from_slice(&v[1..]);
                    if let Some(w) = self.useful(rows, &v2, tys) {
                        return Some(w);
                    }
                }
                None
            }
            P::C(c, args) => {
                let fts = self.ctor_fields(c, &tys[0], args.len());
                let spec = specialize(rows, c, args.len());
                let mut v2 = args.clone();
                v2.extend_from_slice(&v[1..]);
                let mut t2 = fts;
                t2.extend_from_slice(&tys[1..]);
                let w = self.useful(&spec, &v2, &t2)?;
                Some(rebuild(c.clone(), args.len(), w))
            }
            P::Wild => {
                let used: Vec<Ctor> = rows.iter().filter_map(|r| if let P::C(c, _) = &r[0] { Some(c.clone()) } else { None }).collect();
                let sig = self.signature(&tys[0]);
                if let Some(sig) = &sig {
                    if !sig.is_empty() && sig.iter().all(|(c, _)| used.contains(c)) {
                        for (c, fts) in sig.clone() {
                            let spec = specialize(rows, &c, fts.len());
                            let mut v2 = vec![P::Wild; fts.len()];
                            v2.extend_from_slice(&v[1..]);
                            let mut t2 = fts.clone();
                            t2.extend_from_slice(&tys[1..]);
                            if let Some(w) = self.useful(&spec, &v2, &t2) {
                                return Some(rebuild(c, fts.len(), w));
                            }
                        }
                        return None;
                    }
                }
                let default: Vec<Vec<P>> = rows.iter().filter(|r| matches!(r[0], P::Wild)).map(|r| r[1..].to_vec()).collect();
                let w = self.useful(&default, &v[1..], &tys[1..])?;
                let head = match &sig {
                    Some(sig) => match sig.iter().find(|(c, _)| !used.contains(c)) {
                        Some((c, fts)) => P::C(c.clone(), vec![P::Wild; fts.len()]),
                        None => P::Wild,
                    },
                    None => P::Wild,
                };
                let mut out = vec![head];
                out.extend(w);
                Some(out)
            }
        }
    }

    fn show_pat(&mut self, p: &P, ty: &Type) -> String {
        let ty = self.subst.resolve(ty);
        match p {
            P::Wild => "_".into(),
            P::Or(_) => "_".into(),
            P::C(c, args) => match c {
                Ctor::True => "true".into(),
                Ctor::False => "false".into(),
                Ctor::Null => "none".into(),
                Ctor::Lit(s) => s[1..].to_string(),
                Ctor::Some_ => {
                    let inner = match &ty {
                        Type::Optional(i) => (**i).clone(),
                        _ => Type::Unknown,
                    };
                    self.show_pat(&args[0], &inner)
                }
                Ctor::Tuple => {
                    let ts = match &ty {
                        Type::Tuple(ts) => ts.clone(),
                        _ => vec![Type::Unknown; args.len()],
                    };
                    let parts: Vec<String> = args.iter().zip(ts.iter()).map(|(a, t)| self.show_pat(a, t)).collect();
                    format!("({})", parts.join(", "))
                }
                Ctor::Struct => {
                    let name = self.show(&ty);
                    format!("{name} {{ .. }}")
                }
                Ctor::Len(_) | Ctor::LenAtLeast(_) => {
                    let elem = match &ty {
                        Type::List(e) => (**e).clone(),
                        _ => Type::Unknown,
                    };
                    let mut parts: Vec<String> = args.iter().map(|a| self.show_pat(a, &elem)).collect();
                    if matches!(c, Ctor::LenAtLeast(_)) {
                        parts.push("*_".into());
                    }
                    format!("[{}]", parts.join(", "))
                }
                Ctor::Variant(rec) => {
                    let t = &self.program.types[*rec as usize];
                    let name = format!("{}.{}", t.enum_name.clone().unwrap_or_default(), t.name);
                    if args.is_empty() {
                        name
                    } else {
                        let fts: Vec<Type> = self.enums.iter().flat_map(|e| e.variants.iter()).find(|v| v.record == *rec).map(|v| v.fields.iter().map(|f| f.1.clone()).collect()).unwrap_or_default();
                        let parts: Vec<String> = args.iter().zip(fts.iter()).map(|(a, t)| self.show_pat(a, t)).collect();
                        format!("{name}({})", parts.join(", "))
                    }
                }
            },
        }
    }
}

fn binds_names(p: &Pattern, ty: &Type, c: &mut Compiler) -> bool {
    if c.const_pattern(p).is_some() {
        return false;
    }
    match &p.kind {
        PatKind::Bind(n) => {
            if let Type::Enum(e, _) = ty {
                if c.enums[*e as usize].variants.iter().any(|v| v.name == *n) {
                    return false;
                }
            }
            true
        }
        PatKind::Tuple(ps) | PatKind::Or(ps) => ps.iter().any(|q| binds_names(q, &Type::Unknown, c)),
        PatKind::Variant { args: Some(ps), .. } => ps.iter().any(|q| binds_names(q, &Type::Unknown, c)),
        PatKind::Struct { fields, .. } => fields.iter().any(|(_, q)| binds_names(q, &Type::Unknown, c)),
        PatKind::List { items, rest } => matches!(rest, Some((_, Some(_)))) || items.iter().any(|q| binds_names(q, &Type::Unknown, c)),
        _ => false,
    }
}

fn expand_or(row: &[P], out: &mut Vec<Vec<P>>) {
    match row.first() {
        Some(P::Or(alts)) => {
            for a in alts {
                let mut r = vec![a.clone()];
                r.extend_from_slice(&row[1..]);
                expand_or(&r, out);
            }
        }
        _ => out.push(row.to_vec()),
    }
}

fn specialize(rows: &[Vec<P>], c: &Ctor, arity: usize) -> Vec<Vec<P>> {
    let mut out = Vec::new();
    for r in rows {
        match &r[0] {
            P::C(c2, args) if c2 == c => {
                let mut nr = args.clone();
                nr.extend_from_slice(&r[1..]);
                out.push(nr);
            }
            P::Wild => {
                let mut nr = vec![P::Wild; arity];
                nr.extend_from_slice(&r[1..]);
                out.push(nr);
            }
            _ => {}
        }
    }
    out
}

fn rebuild(c: Ctor, arity: usize, w: Vec<P>) -> Vec<P> {
    let (args, rest) = w.split_at(arity.min(w.len()));
    let mut out = vec![P::C(c, args.to_vec())];
    out.extend_from_slice(rest);
    out
}

/// The most elements a list pattern in `p` names (besides a rest), nested ones included.
fn longest_list_pattern(p: &Pattern) -> usize {
    match &p.kind {
        PatKind::List { items, .. } => items.iter().map(longest_list_pattern).max().unwrap_or(0).max(items.len()),
        PatKind::Tuple(ps) | PatKind::Or(ps) => ps.iter().map(longest_list_pattern).max().unwrap_or(0),
        PatKind::Variant { args: Some(ps), .. } => ps.iter().map(longest_list_pattern).max().unwrap_or(0),
        PatKind::Struct { fields, .. } => fields.iter().map(|(_, p)| longest_list_pattern(p)).max().unwrap_or(0),
        _ => 0,
    }
}

fn strip_opt(t: &Type) -> Type {
    match t {
        Type::Optional(i) => (**i).clone(),
        t => t.clone(),
    }
}
