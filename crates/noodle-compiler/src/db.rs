//! `std.db` in the checker: the handle types (`db.Connection`, `db.Transaction`, `db.Rows`,
//! `db.Row`, `db.Cursor`), their methods, row field access and the `db.connect` function. The
//! natives (`db.*`) live in the VM. Values read from a database are `any`: their type is known
//! only when the query runs, so programs convert them with `as`, `int(...)`, `float(...)`.

use crate::codes::{N0102, N0106, N0200, N0201, N0207};
use crate::builder::Reg;
use crate::compiler::Compiler;
use crate::tensor::{Given, D, K, P};
use crate::types::{Type, TE};
use noodle_nbc::{Const, Op};
use noodle_syntax::ast::{Arg, Expr, ExprKind, Ident};
use noodle_syntax::{Diagnostic, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbT {
    Connection,
    Transaction,
    Rows,
    Row,
    Cursor,
}

impl DbT {
    pub fn name(self) -> &'static str {
        match self {
            DbT::Connection => "Connection",
            DbT::Transaction => "Transaction",
            DbT::Rows => "Rows",
            DbT::Row => "Row",
            DbT::Cursor => "Cursor",
        }
    }
    pub fn from_name(s: &str) -> Option<DbT> {
        Some(match s {
            "Connection" => DbT::Connection,
            "Transaction" => DbT::Transaction,
            "Rows" => DbT::Rows,
            "Row" => DbT::Row,
            "Cursor" => DbT::Cursor,
            _ => return None,
        })
    }
}

pub const TYPE_NAMES: &[&str] = &["Connection", "Transaction", "Rows", "Row", "Cursor"];

/// The natives the compiler may call for `std.db` (checked against the VM by a test).
pub const NATIVES: &[&str] = &[
    "db.connect", "db.execute", "db.execute_many", "db.query", "db.query_one", "db.query_value", "db.cursor", "db.transaction",
    "db.commit", "db.rollback", "db.exit", "db.tables", "db.columns", "db.migrate", "db.backend", "db.column_names",
    "db.rows_get", "db.rows_first", "db.rows_column", "db.rows_to_lists", "db.rows_to_dicts", "db.rows_tensor",
    "db.rows_column_tensor", "db.row_field", "db.row_get", "db.row_to_dict", "db.row_to_list", "db.cursor_next",
    "db.cursor_fetch", "db.cursor_close",
];

fn db(t: DbT) -> Type {
    Type::Db(t)
}

fn any_list() -> Type {
    Type::list(Type::Any)
}

/// Signature of a method: parameters, native, result type.
fn method_sig(t: DbT, m: &str) -> Option<(Vec<P>, &'static str, Type)> {
    let sql = || P("sql", K::Str, D::Req);
    let params = || P("params", K::Params, D::None);
    let is_handle = matches!(t, DbT::Connection | DbT::Transaction);
    Some(match (m, t) {
        ("execute", _) if is_handle => (vec![sql(), params()], "db.execute", Type::Int),
        ("execute_many", _) if is_handle => (vec![sql(), P("rows", K::ParamRows, D::Req)], "db.execute_many", Type::Int),
        ("query", _) if is_handle => (vec![sql(), params()], "db.query", db(DbT::Rows)),
        ("query_one", _) if is_handle => (vec![sql(), params()], "db.query_one", db(DbT::Row)),
        ("query_value", _) if is_handle => (vec![sql(), params()], "db.query_value", Type::Any),
        ("transaction", _) if is_handle => (vec![P("isolation", K::OptStr, D::None)], "db.transaction", db(DbT::Transaction)),
        ("cursor", DbT::Connection) => (vec![sql(), params(), P("batch", K::Int, D::Int(1000))], "db.cursor", db(DbT::Cursor)),
        ("tables", DbT::Connection) => (vec![], "db.tables", Type::list(Type::Str)),
        ("columns", DbT::Connection) => (vec![P("table", K::Str, D::Req)], "db.columns", db(DbT::Rows)),
        ("migrate", DbT::Connection) => (vec![P("folder", K::Str, D::Req)], "db.migrate", Type::list(Type::Str)),
        ("backend", DbT::Connection) => (vec![], "db.backend", Type::Str),
        ("commit", DbT::Transaction) => (vec![], "db.commit", Type::None),
        ("rollback", DbT::Transaction) => (vec![], "db.rollback", Type::None),
        ("exit", DbT::Transaction) => (vec![P("completed", K::Bool, D::Req)], "db.exit", Type::None),
        ("columns", DbT::Rows | DbT::Row | DbT::Cursor) => (vec![], "db.column_names", Type::list(Type::Str)),
        ("first", DbT::Rows) => (vec![], "db.rows_first", Type::optional(db(DbT::Row))),
        ("column", DbT::Rows) => (vec![P("name", K::Str, D::Req)], "db.rows_column", any_list()),
        ("to_lists", DbT::Rows) => (vec![], "db.rows_to_lists", Type::list(any_list())),
        ("to_dicts", DbT::Rows) => (vec![], "db.rows_to_dicts", Type::list(Type::Dict(Box::new(Type::Str), Box::new(Type::Any)))),
        ("to_dict", DbT::Row) => (vec![], "db.row_to_dict", Type::Dict(Box::new(Type::Str), Box::new(Type::Any))),
        ("to_list", DbT::Row) => (vec![], "db.row_to_list", any_list()),
        ("get", DbT::Row) => (vec![P("column", K::Str, D::Req)], "db.row_field", Type::Any),
        ("next", DbT::Cursor) => (vec![], "db.cursor_next", Type::optional(db(DbT::Row))),
        ("fetch", DbT::Cursor) => (vec![P("n", K::Int, D::Req)], "db.cursor_fetch", db(DbT::Rows)),
        ("close", DbT::Cursor) => (vec![], "db.cursor_close", Type::None),
        // the end of a `with` block: the cursor is closed however the block ends
        ("exit", DbT::Cursor) => (vec![P("completed", K::Bool, D::Req)], "db.cursor_close", Type::None),
        _ => return None,
    })
}

/// Method names per type, for "did you mean" hints.
fn method_names(t: DbT) -> Vec<&'static str> {
    const ALL: &[&str] = &[
        "execute", "execute_many", "query", "query_one", "query_value", "transaction", "cursor", "tables", "columns", "migrate",
        "backend", "commit", "rollback", "exit", "first", "column", "to_lists", "to_dicts", "to_dict", "to_list", "get", "next",
        "fetch", "close", "len", "tensor", "column_tensor",
    ];
    ALL.iter().copied().filter(|m| method_sig(t, m).is_some() || (*m == "len" && matches!(t, DbT::Rows | DbT::Row)) || (matches!(*m, "tensor" | "column_tensor") && t == DbT::Rows)).collect()
}

impl Compiler {
    /// `db.connect(url, pool_size:, timeout:, connect_timeout:, read_only:)`.
    pub fn db_std(&mut self, item: &str, args: &[Arg], dst: Option<Reg>, span: Span) -> Option<(Reg, Type)> {
        if item != "connect" {
            return None;
        }
        let params = [
            P("url", K::Str, D::Req),
            P("pool_size", K::OptInt, D::None),
            P("timeout", K::OptFloat, D::None),
            P("connect_timeout", K::OptFloat, D::None),
            P("read_only", K::Bool, D::Bool(false)),
        ];
        let (base, _) = self.native_args("db.connect", None, &params, args, span, 0);
        Some((self.emit_native("db.connect", base, params.len(), dst), db(DbT::Connection)))
    }

    /// `x.name(args)` on a database handle.
    pub fn db_method(&mut self, r: Reg, t: DbT, name: &Ident, args: &[Arg], dst: Option<Reg>, span: Span) -> (Reg, Type) {
        let m = name.name.as_str();
        let fname = format!("{}.{m}", t.name());
        if m == "len" && matches!(t, DbT::Rows | DbT::Row) {
            if !args.is_empty() {
                self.error(N0201, "`len` takes no arguments", span);
            }
            let d = self.dst(dst);
            self.emit(Op::Len { dst: d, src: r });
            return (d, Type::Int);
        }
        if t == DbT::Rows && (m == "tensor" || m == "column_tensor") {
            let mut params = vec![P("dtype", K::DType, D::None)];
            if m == "column_tensor" {
                params.insert(0, P("name", K::Str, D::Req));
            }
            let (base, given) = self.native_args(&fname, Some(r), &params, args, span, 0);
            let te = given.last().and_then(|g: &Given| g.dtype).unwrap_or(TE::F64);
            let native = if m == "tensor" { "db.rows_tensor" } else { "db.rows_column_tensor" };
            return (self.emit_native(native, base, params.len() + 1, dst), Type::Tensor(te));
        }
        let Some((params, native, ret)) = method_sig(t, m) else {
            let mut d = Diagnostic::error(N0106, format!("`db.{}` has no method `{m}`", t.name()), name.span).label("unknown method");
            let names = method_names(t);
            if let Some(s) = crate::compiler::suggest(m, &names) {
                d = d.hint(format!("did you mean `{s}`?"));
            } else if t == DbT::Row {
                d = d.hint(format!("a row's columns are read as fields (`row.{m}`) or by name (`row[\"{m}\"]`), not called"));
            }
            self.diags.push(d);
            for a in args {
                self.expr(&a.value, None, None);
            }
            return (self.dst(dst), Type::Unknown);
        };
        let (base, _) = self.native_args(&fname, Some(r), &params, args, span, 0);
        (self.emit_native(native, base, params.len() + 1, dst), ret)
    }

    /// `row.name`: a column of a row, read by name (`any`).
    pub fn db_field(&mut self, r: Reg, t: DbT, name: &Ident, dst: Reg) -> Option<Type> {
        if t != DbT::Row {
            if method_sig(t, &name.name).is_some() || name.name == "len" {
                self.error(N0106, format!("`db.{}` has no field `{}`", t.name(), name.name), name.span).hint(format!("`{}` is a method: call it with `()`", name.name));
            } else {
                self.error(N0106, format!("`db.{}` has no field `{}`", t.name(), name.name), name.span);
            }
            return Some(Type::Unknown);
        }
        let base = self.b().alloc(3);
        self.emit(Op::Move { dst: base + 1, src: r });
        self.load_const(Const::Str(name.name.clone()), Some(base + 2));
        self.emit_native("db.row_field", base, 2, Some(dst));
        Some(Type::Any)
    }

    /// `rows[i]` (a row) and `row[i]` / `row["name"]` (a value).
    pub fn db_index(&mut self, r: Reg, t: DbT, index: &Expr, dst: Option<Reg>, span: Span) -> (Reg, Type) {
        let base = self.b().alloc(3);
        self.emit(Op::Move { dst: base + 1, src: r });
        match t {
            DbT::Rows => {
                self.expr_coerce(index, Some(base + 2), &Type::Int);
                (self.emit_native("db.rows_get", base, 2, dst), db(DbT::Row))
            }
            DbT::Row => {
                let (_, it) = self.expr(index, Some(base + 2), None);
                let it = self.subst.resolve(&it);
                if !matches!(it, Type::Int | Type::Str | Type::Unknown) {
                    let shown = self.show(&it);
                    self.error(N0200, format!("a row is indexed by column position (`int`) or name (`str`), found `{shown}`"), index.span);
                }
                (self.emit_native("db.row_get", base, 2, dst), Type::Any)
            }
            _ => {
                self.error(N0207, format!("`db.{}` cannot be indexed", t.name()), span);
                (self.dst(dst), Type::Unknown)
            }
        }
    }

    /// Query parameters: a list or a dict with `str` keys, of values of any type. Literals are
    /// checked as `list[any]` / `dict[str, any]` so they may mix types.
    pub fn db_params_arg(&mut self, e: &Expr, reg: Reg, rows: bool, fname: &str, pname: &str) -> Type {
        let dict_any = Type::Dict(Box::new(Type::Str), Box::new(Type::Any));
        let literal_type = |e: &Expr| match &e.kind {
            ExprKind::Dict(_) => Some(dict_any.clone()),
            ExprKind::List(_) => Some(any_list()),
            _ => None,
        };
        let expected = if rows {
            match &e.kind {
                ExprKind::List(items) => Some(Type::list(items.first().and_then(literal_type).unwrap_or_else(any_list))),
                _ => None,
            }
        } else {
            literal_type(e)
        };
        let ty = self.arg_into(e, reg, expected);
        let one_ok = |t: &Type| matches!(t, Type::List(_) | Type::Unknown) || matches!(t, Type::Dict(k, _) if matches!(**k, Type::Str | Type::Unknown));
        let ok = match &ty {
            Type::Unknown => true,
            Type::List(inner) if rows => one_ok(inner),
            t if !rows => one_ok(t) || matches!(t, Type::None),
            _ => false,
        };
        if !ok {
            let shown = self.show(&ty);
            let want = if rows { "a list of parameter lists or dicts" } else { "a list (for `?` or `$1` placeholders) or a `dict[str, ...]` (for `:name` placeholders)" };
            self.error(N0200, format!("argument `{pname}` of `{fname}` must be {want}, found `{shown}`"), e.span);
        }
        ty
    }

    /// `db.Connection` and the other handle types, written in annotations.
    pub fn db_type(&mut self, name: &Ident) -> Type {
        match DbT::from_name(&name.name) {
            Some(t) => db(t),
            None => {
                let mut d = Diagnostic::error(N0102, format!("unknown type `db.{}`", name.name), name.span);
                if let Some(s) = crate::compiler::suggest(&name.name, TYPE_NAMES) {
                    d = d.hint(format!("did you mean `db.{s}`?"));
                }
                self.diags.push(d);
                Type::Unknown
            }
        }
    }
}
