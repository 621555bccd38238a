//! Types as the checker sees them, and unification for local inference.

use std::fmt;

pub type StructId = u32;
pub type EnumId = u32;
pub type IfaceId = u32;

#[derive(Clone, Debug, PartialEq)]
pub enum Type {
    Int,
    Float,
    Bool,
    Str,
    Bytes,
    None,
    Any,
    /// The type of an expression that never produces a value (`throw`, `return`).
    Never,
    /// Produced after an error, compatible with everything so one mistake reports once.
    Unknown,
    Range,
    /// An n-dimensional tensor; the element type is static, the shape is not.
    Tensor(TE),
    /// A native module's handle type (`db.Connection`), by its index.
    Native(u32),
    /// A reference to an actor (by the compiler's actor index; `SUPERVISOR` for a supervisor).
    Actor(u32),
    /// `task[T]`: a result that arrives later (`await` it).
    Task(Box<Type>),
    List(Box<Type>),
    Dict(Box<Type>, Box<Type>),
    Set(Box<Type>),
    Tuple(Vec<Type>),
    Optional(Box<Type>),
    Func(Vec<Type>, Box<Type>),
    /// A struct, enum or interface, with its type arguments (empty unless it is generic;
    /// erased at run time).
    Struct(StructId, Vec<Type>),
    Enum(EnumId, Vec<Type>),
    Interface(IfaceId, Vec<Type>),
    /// A generic function's type parameter, opaque inside its body.
    Param(u32, String),
    /// An inference variable.
    Var(u32),
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn optional(t: Type) -> Type {
        match t {
            Type::Optional(_) | Type::None | Type::Any | Type::Unknown => t,
            t => Type::Optional(Box::new(t)),
        }
    }
    pub fn is_numeric(&self) -> bool {
        matches!(self, Type::Int | Type::Float)
    }
    pub fn is_error(&self) -> bool {
        matches!(self, Type::Unknown)
    }
}

/// The element type of a tensor. The order is the promotion order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TE {
    Bool,
    I64,
    F32,
    F64,
}

impl TE {
    /// The element type a scalar of type `t` takes next to a tensor of `te` (Python scalars
    /// do not widen a tensor within its kind: `f32 tensor * 2.0` stays f32); None when `t` is
    /// no scalar.
    pub fn with_scalar(t: &Type, te: TE) -> Option<TE> {
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

    pub fn name(self) -> &'static str {
        match self {
            TE::Bool => "bool",
            TE::I64 => "i64",
            TE::F32 => "f32",
            TE::F64 => "f64",
        }
    }
    pub fn from_name(s: &str) -> Option<TE> {
        Some(match s {
            "bool" => TE::Bool,
            "i64" | "int" => TE::I64,
            "f32" => TE::F32,
            "f64" | "float" => TE::F64,
            _ => return None,
        })
    }
    pub fn is_float(self) -> bool {
        matches!(self, TE::F32 | TE::F64)
    }
    /// As the runtime promotes: the larger type, except that i64 with f32 gives f64.
    pub fn promote(a: TE, b: TE) -> TE {
        match (a.max(b), a.min(b)) {
            (TE::F32, TE::I64) => TE::F64,
            (hi, _) => hi,
        }
    }
    pub fn float_of(self) -> TE {
        if self == TE::F32 {
            TE::F32
        } else {
            TE::F64
        }
    }
}

/// Names for struct/enum/interface ids, used when printing types.
pub trait TypeNames {
    fn struct_name(&self, id: StructId) -> String;
    fn enum_name(&self, id: EnumId) -> String;
    fn iface_name(&self, id: IfaceId) -> String;
    fn actor_name(&self, id: u32) -> String;
    fn native_name(&self, id: u32) -> String;
}

pub struct Show<'a>(pub &'a Type, pub &'a dyn TypeNames, pub &'a Subst);

impl fmt::Display for Show<'_> {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let names = self.1;
        let s = self.2;
        let show = |t: &Type| Show(t, names, s).to_string();
        match self.0 {
            Type::Int => write!(f, "int"),
            Type::Float => write!(f, "float"),
            Type::Bool => write!(f, "bool"),
            Type::Str => write!(f, "str"),
            Type::Bytes => write!(f, "bytes"),
            Type::None => write!(f, "none"),
            Type::Any => write!(f, "any"),
            Type::Never => write!(f, "never"),
            Type::Unknown => write!(f, "?"),
            Type::Range => write!(f, "range"),
            Type::Tensor(e) => write!(f, "tensor[{}]", e.name()),
            Type::Native(id) => write!(f, "{}", names.native_name(*id)),
            Type::List(t) => write!(f, "list[{}]", show(t)),
            Type::Dict(k, v) => write!(f, "dict[{}, {}]", show(k), show(v)),
            Type::Set(t) => write!(f, "set[{}]", show(t)),
            Type::Tuple(ts) => {
                let parts: Vec<String> = ts.iter().map(show).collect();
                if ts.len() == 1 {
                    write!(f, "({},)", parts[0])
                } else {
                    write!(f, "({})", parts.join(", "))
                }
            }
            Type::Optional(t) => {
                if matches!(**t, Type::Func(..)) {
                    write!(f, "({})?", show(t))
                } else {
                    write!(f, "{}?", show(t))
                }
            }
            Type::Func(ps, r) => {
                let parts: Vec<String> = ps.iter().map(show).collect();
                write!(f, "fn({}) -> {}", parts.join(", "), show(r))
            }
            Type::Struct(id, args) => write!(f, "{}{}", names.struct_name(*id), show_args(args, names, s)),
            Type::Actor(id) => write!(f, "{}", names.actor_name(*id)),
            Type::Task(t) => write!(f, "task[{}]", show(t)),
            Type::Enum(id, args) => write!(f, "{}{}", names.enum_name(*id), show_args(args, names, s)),
            Type::Interface(id, args) => write!(f, "{}{}", names.iface_name(*id), show_args(args, names, s)),
            Type::Param(_, n) => write!(f, "{n}"),
            Type::Var(v) => match s.get(*v) {
                Some(t) => write!(f, "{}", show(t)),
                None => write!(f, "_"),
            },
        }
    }
}

/// `[A, B]` after a generic type's name (nothing when it has no arguments).
fn show_args(args: &[Type], names: &dyn TypeNames, s: &Subst) -> String {
    if args.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = args.iter().map(|t| Show(t, names, s).to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// The substitution for inference variables.
#[derive(Default, Debug)]
pub struct Subst {
    vars: Vec<Option<Type>>,
}

impl Subst {
    pub fn fresh(&mut self) -> Type {
        self.vars.push(None);
        Type::Var(self.vars.len() as u32 - 1)
    }
    pub fn get(&self, v: u32) -> Option<&Type> {
        self.vars.get(v as usize).and_then(|t| t.as_ref())
    }
    /// Replaces solved variables, recursively.
    pub fn resolve(&self, t: &Type) -> Type {
        match t {
            // the common leaves, without a call to `clone`
            Type::Int => Type::Int,
            Type::Float => Type::Float,
            Type::Bool => Type::Bool,
            Type::Str => Type::Str,
            Type::None => Type::None,
            Type::Var(v) => match self.get(*v) {
                Some(t) => self.resolve(t),
                None => t.clone(),
            },
            Type::List(a) => Type::List(Box::new(self.resolve(a))),
            Type::Set(a) => Type::Set(Box::new(self.resolve(a))),
            Type::Task(a) => Type::Task(Box::new(self.resolve(a))),
            Type::Optional(a) => Type::optional(self.resolve(a)),
            Type::Dict(k, v) => Type::Dict(Box::new(self.resolve(k)), Box::new(self.resolve(v))),
            Type::Tuple(ts) => Type::Tuple(ts.iter().map(|t| self.resolve(t)).collect()),
            Type::Func(ps, r) => Type::Func(ps.iter().map(|t| self.resolve(t)).collect(), Box::new(self.resolve(r))),
            Type::Struct(id, args) if !args.is_empty() => Type::Struct(*id, args.iter().map(|t| self.resolve(t)).collect()),
            Type::Enum(id, args) if !args.is_empty() => Type::Enum(*id, args.iter().map(|t| self.resolve(t)).collect()),
            Type::Interface(id, args) if !args.is_empty() => Type::Interface(*id, args.iter().map(|t| self.resolve(t)).collect()),
            t => t.clone(),
        }
    }
    /// `t` with the variables at its top replaced by what they stand for (no copy: the walks
    /// below look at each part once, where resolving at each level copied the rest of the
    /// tree again, quadratic in a type's depth).
    fn head<'a>(&'a self, mut t: &'a Type) -> &'a Type {
        while let Type::Var(v) = t {
            match self.get(*v) {
                Some(b) => t = b,
                None => break,
            }
        }
        t
    }
    pub fn has_vars(&self, t: &Type) -> bool {
        match self.head(t) {
            Type::Var(_) => true,
            Type::List(a) | Type::Set(a) | Type::Optional(a) | Type::Task(a) => self.has_vars(a),
            Type::Dict(k, v) => self.has_vars(k) || self.has_vars(v),
            Type::Tuple(ts) | Type::Struct(_, ts) | Type::Enum(_, ts) | Type::Interface(_, ts) => ts.iter().any(|t| self.has_vars(t)),
            Type::Func(ps, r) => ps.iter().any(|t| self.has_vars(t)) || self.has_vars(r),
            _ => false,
        }
    }
    fn occurs(&self, v: u32, t: &Type) -> bool {
        match self.head(t) {
            Type::Var(w) => v == *w,
            Type::List(a) | Type::Set(a) | Type::Optional(a) | Type::Task(a) => self.occurs(v, a),
            Type::Dict(k, x) => self.occurs(v, k) || self.occurs(v, x),
            Type::Tuple(ts) | Type::Struct(_, ts) | Type::Enum(_, ts) | Type::Interface(_, ts) => ts.iter().any(|t| self.occurs(v, t)),
            Type::Func(ps, r) => ps.iter().any(|t| self.occurs(v, t)) || self.occurs(v, r),
            _ => false,
        }
    }
    pub fn bind(&mut self, v: u32, t: Type) -> bool {
        if self.occurs(v, &t) {
            return false;
        }
        self.vars[v as usize] = Some(t);
        true
    }
    /// Makes two types equal (invariant positions). Returns false when they cannot be.
    pub fn unify(&mut self, a: &Type, b: &Type) -> bool {
        let a = self.resolve(a);
        let b = self.resolve(b);
        self.unify_resolved(&a, &b)
    }

    /// `unify` of types resolved once at the top: only a variable is looked up again (one
    /// bound by an earlier part of the same walk), so each part is visited once.
    fn unify_resolved(&mut self, a: &Type, b: &Type) -> bool {
        if matches!(a, Type::Var(_)) || matches!(b, Type::Var(_)) {
            let (a, b) = (self.resolve(a), self.resolve(b));
            return match (&a, &b) {
                // a variable met by an earlier error stands for it: what it infers is not
                // reported again (`let b = dup(a)` after `a` failed)
                (Type::Var(x), Type::Unknown) | (Type::Unknown, Type::Var(x)) => {
                    self.vars[*x as usize] = Some(Type::Unknown);
                    true
                }
                (Type::Unknown, _) | (_, Type::Unknown) => true,
                (Type::Var(x), Type::Var(y)) if x == y => true,
                (Type::Var(x), t) | (t, Type::Var(x)) => self.bind(*x, t.clone()),
                _ => self.unify_resolved(&a, &b),
            };
        }
        match (a, b) {
            (Type::Unknown, _) | (_, Type::Unknown) => true,
            (Type::List(x), Type::List(y)) | (Type::Set(x), Type::Set(y)) | (Type::Optional(x), Type::Optional(y)) | (Type::Task(x), Type::Task(y)) => self.unify_resolved(x, y),
            (Type::Dict(k1, v1), Type::Dict(k2, v2)) => self.unify_resolved(k1, k2) && self.unify_resolved(v1, v2),
            (Type::Tuple(x), Type::Tuple(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| self.unify_resolved(p, q)),
            (Type::Struct(i, x), Type::Struct(j, y)) | (Type::Enum(i, x), Type::Enum(j, y)) | (Type::Interface(i, x), Type::Interface(j, y)) => {
                i == j && x.len() == y.len() && x.iter().zip(y).all(|(p, q)| self.unify_resolved(p, q))
            }
            (Type::Func(p1, r1), Type::Func(p2, r2)) => {
                p1.len() == p2.len() && p1.iter().zip(p2).all(|(p, q)| self.unify_resolved(p, q)) && self.unify_resolved(r1, r2)
            }
            _ => a == b,
        }
    }
}
