//! Argument lists of the natives the language's own syntax compiles to (`spawn` options, an
//! actor's `lookup`): matched positionally and by name, with defaults, against a short list of
//! parameters, each of one simple type.

use crate::builder::Reg;
use crate::codes::{N0201, N0202};
use crate::compiler::Compiler;
use crate::types::Type;
use noodle_nbc::{Const, Op};
use noodle_syntax::ast::{Arg, Expr};
use noodle_syntax::{Diagnostic, Span};

/// What a parameter accepts.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum K {
    Int,
    Float,
    Str,
    /// `str` or none.
    OptStr,
}

/// A parameter's default when it is not given.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum D {
    Req,
    None,
    Int(i64),
    Float(f64),
}

pub(crate) struct P(pub &'static str, pub K, pub D);

/// What an argument turned out to be.
pub(crate) struct Given {
    pub given: bool,
    pub ty: Type,
}

impl Compiler {
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
                }
                if p.2 == D::Req {
                    self.emit(Op::LoadNone { dst: reg });
                }
                out.push(Given { given: false, ty: Type::Unknown });
                continue;
            };
            let expected = match p.1 {
                K::Int => Some(Type::Int),
                K::Float => Some(Type::Float),
                K::Str => Some(Type::Str),
                K::OptStr => Some(Type::optional(Type::Str)),
            };
            let ty = self.arg_into(e, reg, expected);
            out.push(Given { given: true, ty });
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

    pub(crate) fn emit_native(&mut self, native: &str, base: Reg, argc: usize, dst: Option<Reg>) -> Reg {
        let n = self.native(native);
        self.emit(Op::CallNative { base, native: n, argc: argc as u8 });
        self.to_dst(base, dst)
    }
}
