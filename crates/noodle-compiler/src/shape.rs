//! Type descriptions for natives that build values of a type given at the call
//! (`json.decode[Config](text)`, `csv.read_rows[Trade](path)`). Types are erased at run time,
//! so such a native (its rule says `describe_type_params`) gets, after its arguments, one string
//! per type parameter that describes the type the call fixed it to. `noodle_native::shape`
//! reads it back; the two sides share this grammar:
//!
//! ```text
//! desc    := type (';' record)*
//! type    := 'i' | 'f' | 's' | 'b' | 'y' | 'a' | 'n'     int float str bool bytes any none
//!          | '?' type | 'l' type | 'e' type | 'd' type type  optional, list, set, dict
//!          | 't' num '.' type*                         a tuple of num elements
//!          | 'r' num '.'                               the num-th record of the table
//!          | 'u' num '.' (num '.')*                    an enum of num variants without
//!                                                      fields: their record types
//! record  := num '.' num '.' field*                    record type, field count, fields
//! field   := type ('=' literal)?                       the field's default
//! literal := 'n' | 'T' | 'F' | 'i' '-'? num '.' | 'f' num '.' (the float's bits)
//!          | 's' num '.' text (num bytes) | 'l' | 'd' | 'e'   empty list, dict, set
//!          | 'v' num '.'                               a variant without fields: its record type
//!          | 'x'                                       a default that is not a literal
//! ```
//!
//! A struct's fields come from the record table so that a recursive type (`struct Node {
//! children: list[Node] }`) and two instances of one generic struct (`Page[User]`,
//! `Page[Item]`: one record type, different fields) are each described once.

use crate::codes::N0248;
use crate::compiler::Compiler;
use crate::types::Type;
use crate::builder::Reg;
use noodle_nbc::Const;
use noodle_syntax::ast::{Expr, ExprKind, UnOp};
use noodle_syntax::Span;

struct Describer<'c> {
    c: &'c Compiler,
    out: String,
    /// The struct types described or being described, in table order (index = `r` number).
    records: Vec<Type>,
    /// Their fields' descriptions, filled as each is described.
    table: Vec<String>,
}

impl Describer<'_> {
    fn ty(&mut self, t: &Type) -> Result<(), String> {
        let t = self.c.subst.resolve(t);
        match &t {
            Type::Int => self.out.push('i'),
            Type::Float => self.out.push('f'),
            Type::Str => self.out.push('s'),
            Type::Bool => self.out.push('b'),
            Type::Bytes => self.out.push('y'),
            Type::Any => self.out.push('a'),
            Type::None => self.out.push('n'),
            Type::Optional(x) => {
                self.out.push('?');
                self.ty(x)?;
            }
            Type::List(x) => {
                self.out.push('l');
                self.ty(x)?;
            }
            Type::Set(x) => {
                self.out.push('e');
                self.ty(x)?;
            }
            Type::Dict(k, v) => {
                self.out.push('d');
                self.ty(k)?;
                self.ty(v)?;
            }
            Type::Tuple(items) => {
                self.out.push_str(&format!("t{}.", items.len()));
                for x in items {
                    self.ty(x)?;
                }
            }
            Type::Struct(id, targs) => {
                let k = match self.records.iter().position(|r| *r == t) {
                    Some(k) => k,
                    None => {
                        let info = &self.c.structs[*id as usize];
                        if info.throwable || info.fields.iter().any(|(n, _)| n.starts_with('$')) {
                            return Err(format!("`{}` is an error type", info.name));
                        }
                        let k = self.records.len();
                        self.records.push(t.clone());
                        self.table.push(String::new());
                        let fields: Vec<Type> = self.c.struct_field_types(*id, targs);
                        let defaults = info.defaults.clone();
                        let outer = std::mem::replace(&mut self.out, format!("{}.{}.", info.record, fields.len()));
                        for (i, ft) in fields.iter().enumerate() {
                            self.ty(ft)?;
                            if let Some(d) = defaults.get(i).and_then(|d| d.as_deref()).map(crate::compiler::unscoped) {
                                // an int literal for a float field is the float, as the
                                // constructor would make it
                                let float = matches!(self.c.subst.resolve(ft), Type::Float) || matches!(self.c.subst.resolve(ft), Type::Optional(x) if *x == Type::Float);
                                self.out.push('=');
                                let variant = self.variant_default(ft, d);
                                // `Stats()` for a struct field: the struct made from its own
                                // defaults (a call without arguments of the field's type can
                                // only be its constructor)
                                let is_struct = |t: Type| match t {
                                    Type::Struct(..) => true,
                                    Type::Optional(x) => matches!(*x, Type::Struct(..)),
                                    _ => false,
                                };
                                let fresh = matches!(&d.kind, ExprKind::Call { args, .. } if args.is_empty()) && is_struct(self.c.subst.resolve(ft));
                                self.out.push_str(&variant.or_else(|| fresh.then(|| "R".into())).or_else(|| literal(d, float)).unwrap_or_else(|| "x".into()));
                            }
                        }
                        self.table[k] = std::mem::replace(&mut self.out, outer);
                        k
                    }
                };
                self.out.push_str(&format!("r{k}."));
            }
            Type::Enum(id, _) => {
                let info = &self.c.enums[*id as usize];
                if let Some(v) = info.variants.iter().find(|v| !v.fields.is_empty()) {
                    return Err(format!("`{}.{}` has fields (only enums whose variants have none can be built from data, by name)", info.name, v.name));
                }
                self.out.push_str(&format!("u{}.", info.variants.len()));
                for v in &info.variants {
                    self.out.push_str(&format!("{}.", v.record));
                }
            }
            Type::Param(_, name) => return Err(format!("PARAM{name}")),
            other => return Err(format!("a value of type `{}` cannot be built from data", self.c.show(other))),
        }
        Ok(())
    }
}

impl Describer<'_> {
    /// `v{record}.` for a default that names a variant without fields of the field's enum
    /// (`level: Level = Level.Info`), else `None`.
    fn variant_default(&self, ft: &Type, d: &Expr) -> Option<String> {
        let id = match self.c.subst.resolve(ft) {
            Type::Enum(id, _) => id,
            Type::Optional(x) => match *x {
                Type::Enum(id, _) => id,
                _ => return None,
            },
            _ => return None,
        };
        let ExprKind::Field { target, name, optional: false } = &d.kind else { return None };
        let info = &self.c.enums[id as usize];
        if !matches!(&target.kind, ExprKind::Name(n) if *n == info.name) {
            return None;
        }
        info.variants.iter().find(|v| v.name == name.name && v.fields.is_empty()).map(|v| format!("v{}.", v.record))
    }
}

/// A field default the native can use: a literal scalar, `none`, or an empty collection
/// (`float`: the field is a float, so an int literal is written as the float).
fn literal(e: &Expr, float: bool) -> Option<String> {
    Some(match &e.kind {
        ExprKind::None => "n".into(),
        ExprKind::Bool(true) => "T".into(),
        ExprKind::Bool(false) => "F".into(),
        ExprKind::Int(v) if float => format!("f{}.", (*v as f64).to_bits()),
        ExprKind::Int(v) => format!("i{v}."),
        ExprKind::Float(v) => format!("f{}.", v.to_bits()),
        ExprKind::Unary(UnOp::Neg, x) => match &x.kind {
            ExprKind::Int(v) if float => format!("f{}.", (-(*v as f64)).to_bits()),
            ExprKind::Int(v) => format!("i{}.", v.checked_neg()?),
            ExprKind::Float(v) => format!("f{}.", (-v).to_bits()),
            _ => return None,
        },
        ExprKind::Str(s) => format!("s{}.{s}", s.len()),
        ExprKind::List(xs) if xs.is_empty() => "l".into(),
        ExprKind::Dict(xs) if xs.is_empty() => "d".into(),
        ExprKind::Set(xs) if xs.is_empty() => "e".into(),
        _ => return None,
    })
}

impl Compiler {
    /// The types of struct `id`'s fields, with its type arguments `targs` put in.
    pub(crate) fn struct_field_types(&self, id: u32, targs: &[Type]) -> Vec<Type> {
        let info = &self.structs[id as usize];
        let binds: Vec<(u32, Type)> = info.type_params.iter().filter_map(|(_, p)| if let Type::Param(id, _) = p { Some(*id) } else { None }).zip(targs.iter().cloned()).collect();
        info.fields.iter().map(|(_, ft)| crate::expr::instantiate(ft, &binds)).collect()
    }

    /// The description of `t` (see the module's grammar), or why it has none.
    pub(crate) fn describe_type(&self, t: &Type) -> Result<String, String> {
        let mut d = Describer { c: self, out: String::new(), records: Vec::new(), table: Vec::new() };
        d.ty(t)?;
        let mut out = d.out;
        for r in d.table {
            out.push(';');
            out.push_str(&r);
        }
        Ok(out)
    }

    /// Loads into `reg` the description of the type argument `t` of a call of native `name`
    /// (reporting a type that cannot be described, or one the call did not fix). False when
    /// there is no description.
    pub(crate) fn describe_type_arg(&mut self, t: &Type, name: &str, reg: Reg, span: Span) -> bool {
        if self.subst.has_vars(t) || matches!(t, Type::Unknown) {
            if !matches!(t, Type::Unknown) {
                self.error(noodle_syntax::codes::N0208, format!("cannot infer the type `{name}` should build"), span)
                    .hint(format!("write it: `{name}[Config](...)`, or give the result a declared type"));
            }
            self.emit(noodle_nbc::Op::LoadNone { dst: reg });
            return false;
        }
        match self.describe_type(t) {
            Ok(text) => {
                self.load_const(Const::Str(text), Some(reg));
                true
            }
            Err(why) if why.starts_with("PARAM") => {
                let p = &why["PARAM".len()..];
                self.error(noodle_syntax::codes::N0208, format!("`{name}` cannot build a `{p}`: a type parameter is not known when the program runs"), span)
                    .hint(format!("call `{name}` where the type is concrete (`{name}[Config](...)`), or pass the decoded value in"));
                self.emit(noodle_nbc::Op::LoadNone { dst: reg });
                false
            }
            Err(why) => {
                let shown = self.show(t);
                self.error(N0248, format!("`{name}` cannot build a `{shown}`: {why}"), span)
                    .hint("it builds ints, floats, strs, bools, none, lists, sets, dicts, tuples, optionals, `any`, structs of those and enums without fields");
                self.emit(noodle_nbc::Op::LoadNone { dst: reg });
                false
            }
        }
    }
}
