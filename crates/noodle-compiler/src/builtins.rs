//! What the language itself knows of its built-in functions: their names (their signatures are
//! the core module's declarations, `std.core`, but their typing is the checker's: `len` and
//! `str` work on every value, `min` and `max` on numbers or strings, `int` and `float` convert),
//! and the two properties of types that some built-ins and methods ask for.

use crate::types::Type;

/// Can values of this type be ordered with `<` (sort, min, max)? `ord` tells whether a struct
/// declares `Ord`.
pub fn orderable(t: &Type, ord: &dyn Fn(u32) -> bool) -> bool {
    match t {
        Type::Int | Type::Float | Type::Str | Type::Bytes | Type::Bool | Type::Unknown => true,
        Type::Tuple(ts) => ts.iter().all(|t| orderable(t, ord)),
        Type::List(t) => orderable(t, ord),
        Type::Struct(s, _) => ord(*s),
        _ => false,
    }
}

/// Can values of this type be dict keys or set elements?
pub fn hashable(t: &Type) -> bool {
    match t {
        Type::Int | Type::Float | Type::Str | Type::Bytes | Type::Bool | Type::None | Type::Unknown | Type::Any | Type::Param(..) | Type::Var(_) => true,
        Type::Optional(t) => hashable(t),
        Type::Tuple(ts) => ts.iter().all(hashable),
        Type::Enum(..) | Type::Struct(..) => true,
        _ => false,
    }
}

/// The free functions that are always in scope (the first ones declared by the core module;
/// `sum` and those after it are list methods called on their first argument).
pub const BUILTIN_FUNCTIONS: &[&str] = &[
    "print", "len", "range", "str", "int", "float", "bool", "abs", "min", "max", "assert", "type_of", "list", "set", "bytes", "sum", "sorted", "reversed",
    "zip", "enumerate", "any", "all",
];

/// The built-in function `name` (its `&'static` name), when there is one.
pub fn builtin_function(name: &str) -> Option<&'static str> {
    BUILTIN_FUNCTIONS.iter().find(|b| **b == name).copied()
}
