//! How the checker types the `std.db` calls its declarations cannot: query parameters are "a
//! list or a `dict[str, ...]`" (a literal is checked as `list[any]` or `dict[str, any]`, so it
//! may mix types), and a result's tensor takes its element type from `dtype`.

use noodle_compiler::codes::{N0200, N0230};
use noodle_native::{ArgShape, CallRule, Module, RuleCall, Type, TE};

pub(super) fn add(mut m: Module) -> Module {
    for h in ["Connection", "Transaction"] {
        for name in ["execute", "query", "query_one", "query_value"] {
            m = m.rule(&format!("{h}.{name}"), Params);
        }
        m = m.rule(&format!("{h}.execute_many"), Params);
    }
    m.rule("Connection.cursor", Params).rule("Rows.tensor", RowsTensor).rule("Rows.column_tensor", RowsTensor)
}

fn any_list() -> Type {
    Type::list(Type::Any)
}

fn any_dict() -> Type {
    Type::Dict(Box::new(Type::Str), Box::new(Type::Any))
}

/// The `params` of a statement (a list, a `dict[str, ...]` or none) and the `rows` of
/// `execute_many` (a list of those).
struct Params;

impl CallRule for Params {
    fn expect(&self, param: &str, shape: ArgShape, first: ArgShape) -> Option<Type> {
        let literal = |s: ArgShape| match s {
            ArgShape::ListLiteral => Some(any_list()),
            ArgShape::DictLiteral => Some(any_dict()),
            ArgShape::Other => None,
        };
        match param {
            "params" => literal(shape),
            // a literal of structs keeps its own type (`[Row(...), ...]`)
            "rows" if shape == ArgShape::ListLiteral && first != ArgShape::Other => Some(Type::list(literal(first).unwrap_or_else(any_list))),
            _ => None,
        }
    }

    fn check(&self, call: &mut RuleCall) -> Option<Type> {
        // a struct gives its fields, in order, for `?` or `$1` placeholders
        let one_ok = |t: &Type| matches!(t, Type::List(_) | Type::Struct(..) | Type::Unknown) || matches!(t, Type::Dict(k, _) if matches!(**k, Type::Str | Type::Unknown));

        for (name, rows) in [("params", false), ("rows", true)] {
            let Some(a) = call.args.iter().find(|a| a.name == name).cloned() else { continue };
            if !a.given {
                continue;
            }
            let ok = match &a.ty {
                Type::Unknown => true,
                // rows read as `any` (from `json.parse`) are checked when the statement runs
                Type::List(inner) if rows => one_ok(inner) || **inner == Type::Any,
                t if !rows => one_ok(t) || matches!(t, Type::None),
                _ => false,
            };
            if !ok {
                let shown = call.show(&a.ty);
                let want = if rows { "a list of parameter lists, dicts or structs" } else { "a list or struct (for `?` or `$1` placeholders) or a `dict[str, ...]` (for `:name` placeholders)" };
                let fname = call.name.clone();
                call.error(N0200, format!("argument `{name}` of `{fname}` must be {want}, found `{shown}`"), a.span);
            }
        }
        None
    }
}

/// `rows.tensor(dtype:)` and `rows.column_tensor(name, dtype:)`: a tensor of `dtype`.
struct RowsTensor;

impl CallRule for RowsTensor {
    fn check(&self, call: &mut RuleCall) -> Option<Type> {
        let a = call.arg("dtype").clone();
        if !a.given {
            return Some(Type::Tensor(TE::F64));
        }
        match a.text.as_deref().and_then(TE::from_name) {
            Some(t) => Some(Type::Tensor(t)),
            None => {
                call.error(N0230, "a dtype must be written out: `tensor.f32`, `tensor.f64`, `tensor.i64` or `tensor.bool`", a.span)
                    .label("not a dtype known at compile time")
                    .hint("the element type of a tensor is part of its static type, so it cannot come from a variable");
                Some(Type::Tensor(TE::F64))
            }
        }
    }
}
