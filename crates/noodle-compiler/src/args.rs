//! Argument lists of the natives the language's own syntax compiles to (`spawn` options, an
//! actor's `lookup`): matched positionally and by name, with defaults, against a short list of
//! parameters, each of one simple type.

use crate::builder::Reg;
use crate::codes::{N0201, N0202};
use crate::compiler::Compiler;
use crate::types::Type;
use noodle_nbc::Op;
use noodle_syntax::ast::{Arg, Expr};
use noodle_syntax::{Diagnostic, Span};

/// What a parameter accepts.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum K {
    Str,
}

/// A parameter's default when it is not given.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum D {
    Req,
}

pub(crate) struct P(pub &'static str, pub K, pub D);

impl Compiler {
    /// Compiles arguments against a parameter list into consecutive registers after `base + 1`
    /// (after the receiver, when there is one).
    pub(crate) fn native_args(&mut self, fname: &str, recv: Option<Reg>, params: &[P], args: &[Arg], span: Span, extra: usize) -> Reg {
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
        for (i, (p, slot)) in params.iter().zip(slots).enumerate() {
            let reg = base + 1 + (off + i) as u16;
            let Some(e) = slot else {
                let D::Req = p.2;
                self.error(N0201, format!("`{fname}` is missing argument `{}`", p.0), span).label(format!("`{}` is required", p.0));
                self.emit(Op::LoadNone { dst: reg });
                continue;
            };
            let K::Str = p.1;
            self.arg_into(e, reg, Some(Type::Str));
        }
        base
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

    pub(crate) fn emit_native(&mut self, native: &str, base: Reg, argc: usize, dst: Option<Reg>) -> Reg {
        let n = self.native(native);
        self.emit(Op::CallNative { base, native: n, argc: argc as u8 });
        self.to_dst(base, dst)
    }
}
