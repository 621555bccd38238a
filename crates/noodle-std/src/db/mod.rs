//! `std.db` natives: the bridge between VM values and `noodle-db`. Connections, transactions,
//! results, rows and cursors are heap objects wrapping the database layer's handles; rows are
//! views into a shared result, and their values become VM values only when read. Database
//! failures become Noodle errors with the layer's stable codes (N2201-N2208).

use noodle_db::codes::{N2205, N2206, N2207, N2209};
use noodle_native::{as_float, as_int, bad, blocking, simple, Ctx, Heap, Module, NativeBox, NativeObject, Obj, Value, VmError};
use noodle_nbc::Program;
use noodle_vm::ops::key_of;
use noodle_vm::permissions::Access;
use noodle_vm::value::DictMap;
use noodle_vm::Key;

mod rules;
use noodle_db::sql::Params;
use noodle_db::{Cursor, Database, DbError, Isolation, Options, ResultSet, Tx};
use noodle_tensor::{DType, Tensor};
use std::sync::Arc;
use std::time::Duration;

type R = Result<Value, VmError>;
type DbValue = noodle_db::Value;

/// The rows of a result, shared by the result and every row read from it.
pub struct Table {
    pub columns: Arc<[String]>,
    pub rows: Vec<Vec<DbValue>>,
}

pub enum DbObj {
    Connection(Arc<Database>),
    Transaction(Tx),
    Rows(Arc<Table>),
    Row(Arc<Table>, usize),
    Cursor(Cursor),
}

impl DbObj {
    pub fn kind_name(&self) -> &'static str {
        match self {
            DbObj::Connection(_) => "Connection",
            DbObj::Transaction(_) => "Transaction",
            DbObj::Rows(_) => "Rows",
            DbObj::Row(..) => "Row",
            DbObj::Cursor(_) => "Cursor",
        }
    }
    /// `len()` of a result or a row.
    pub fn length(&self) -> Option<usize> {
        match self {
            DbObj::Rows(t) => Some(t.rows.len()),
            DbObj::Row(t, _) => Some(t.columns.len()),
            _ => None,
        }
    }
    pub fn approx_bytes(&self) -> usize {
        match self {
            // a share of the result, so many rows of one result do not each count all of it
            DbObj::Rows(t) | DbObj::Row(t, _) => 64 + t.rows.len() * t.columns.len() * 32 / Arc::strong_count(t).max(1),
            _ => 256,
        }
    }
}

/// The rows of a result as row objects (what `for row in rows` visits).
pub fn rows_of(d: &DbObj) -> Option<Vec<DbObj>> {
    match d {
        DbObj::Rows(t) => Some((0..t.rows.len()).map(|i| DbObj::Row(t.clone(), i)).collect()),
        _ => None,
    }
}

fn show_value(v: &DbValue, out: &mut String) {
    match v {
        DbValue::Null => out.push_str("none"),
        DbValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        DbValue::Int(i) => out.push_str(&i.to_string()),
        DbValue::Float(f) => out.push_str(&noodle_vm::fmt::float_repr(*f)),
        DbValue::Str(s) => out.push_str(&noodle_vm::fmt::str_repr(s)),
        DbValue::Bytes(b) => noodle_vm::fmt::push_bytes_repr(out, b),
    }
}

/// How `print` shows database objects.
pub fn format(d: &DbObj, out: &mut String) {
    match d {
        DbObj::Connection(db) => out.push_str(&format!("Connection({})", db.backend_name())),
        DbObj::Transaction(tx) => out.push_str(if tx.is_open() { "Transaction(open)" } else { "Transaction(ended)" }),
        DbObj::Rows(t) => {
            let n = t.rows.len();
            out.push_str(&format!("Rows({n} row{}; {})", if n == 1 { "" } else { "s" }, t.columns.join(", ")));
        }
        DbObj::Row(t, i) => {
            out.push_str("Row(");
            for (k, (c, v)) in t.columns.iter().zip(&t.rows[*i]).enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                out.push_str(c);
                out.push_str(": ");
                show_value(v, out);
            }
            out.push(')');
        }
        DbObj::Cursor(c) => out.push_str(&format!("Cursor({})", c.columns().join(", "))),
    }
}

/// The `std.db` module: its declarations and the functions behind them. A native that waits on
/// the database is `blocking!`: under the actor runtime, another thread takes over this one's
/// scheduling work while it waits.
pub fn module() -> Module {
    let mut m = Module::new("std.db", include_str!("db.noodle")).function("connect", blocking!(connect));
    // a connection and a transaction run statements the same way
    for h in ["Connection", "Transaction"] {
        m = m
            .function(&format!("{h}.execute"), blocking!(execute))
            .function(&format!("{h}.execute_many"), blocking!(execute_many))
            .function(&format!("{h}.query"), blocking!(query))
            .function(&format!("{h}.query_one"), blocking!(query_one))
            .function(&format!("{h}.query_value"), blocking!(query_value))
            .function(&format!("{h}.transaction"), blocking!(transaction));
    }
    let m = m
        .function("Connection.cursor", blocking!(cursor))
        .function("Connection.tables", blocking!(tables))
        .function("Connection.columns", blocking!(columns))
        .function("Connection.migrate", blocking!(migrate))
        .function("Connection.backend", simple!(backend))
        .function("Transaction.commit", blocking!(commit))
        .function("Transaction.rollback", blocking!(rollback))
        .function("Transaction.exit", blocking!(exit))
        .function("Rows.columns", simple!(column_names))
        .function("Rows.first", simple!(rows_first))
        .function("Rows.column", simple!(rows_column))
        .function("Rows.to_lists", simple!(rows_to_lists))
        .function("Rows.to_dicts", simple!(rows_to_dicts))
        .function("Rows.tensor", simple!(rows_tensor))
        .function("Rows.column_tensor", simple!(rows_column_tensor))
        .function("Row.columns", simple!(column_names))
        .function("Row.get", simple!(row_field))
        .function("Row.to_dict", simple!(row_to_dict))
        .function("Row.to_list", simple!(row_to_list))
        .function("Cursor.__next__", blocking!(cursor_next))
        .function("Cursor.next", blocking!(cursor_next))
        .function("Cursor.fetch", blocking!(cursor_fetch))
        .function("Cursor.columns", simple!(column_names))
        .function("Cursor.close", blocking!(cursor_close))
        .function("Cursor.exit", blocking!(cursor_close));
    rules::add(m)
}

impl NativeObject for DbObj {
    fn type_name(&self, _: &Program) -> String {
        format!("db.{}", self.kind_name())
    }
    fn kind(&self) -> &'static str {
        self.kind_name()
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        format(self, out)
    }
    fn owned_bytes(&self) -> usize {
        self.approx_bytes()
    }
    fn len(&self) -> Option<Result<usize, VmError>> {
        self.length().map(Ok)
    }
    fn truthy(&self) -> bool {
        self.length().map(|n| n > 0).unwrap_or(true)
    }
    /// A result iterates over its rows (views into the shared result).
    fn iterate(&self, heap: &mut Heap) -> Option<Result<Vec<Value>, VmError>> {
        rows_of(self).map(|rows| Ok(rows.into_iter().map(|r| heap.alloc(Obj::Native(NativeBox::new(r)))).collect()))
    }
    /// `rows[i]` (a row), `row[i]` and `row["name"]` (a value).
    fn index(&self, heap: &mut Heap, key: Value) -> Option<Result<Value, VmError>> {
        let position = |i: i64, n: usize| -> Result<usize, VmError> {
            let k = if i < 0 { i + n as i64 } else { i };
            if k < 0 || k >= n as i64 {
                return Err(VmError::index(i, n));
            }
            Ok(k as usize)
        };
        Some(match (self, key) {
            (DbObj::Rows(t), Value::Int(i)) => position(i, t.rows.len()).map(|k| heap.alloc(Obj::Native(NativeBox::new(DbObj::Row(t.clone(), k))))),
            (DbObj::Row(t, r), Value::Int(i)) => position(i, t.columns.len()).map(|c| value_in(heap, &t.rows[*r][c])),
            (DbObj::Row(t, r), key) => match <&str as noodle_native::FromValue>::from_value(heap, key) {
                Some(name) => column_index(t, name).map(|c| value_in(heap, &t.rows[*r][c])),
                None => Err(bad("IndexGet")),
            },
            _ => return None,
        })
    }
}


// ---------------------------------------------------------------------------------------------
// helpers


fn db_err(e: DbError) -> VmError {
    VmError::new(e.kind.code(), e.to_string())
}

fn arg(args: &[Value], i: usize, name: &str) -> Result<Value, VmError> {
    args.get(i).copied().ok_or_else(|| bad(name))
}

fn obj<'a>(ctx: &'a Ctx, args: &[Value], i: usize, name: &str) -> Result<&'a DbObj, VmError> {
    match arg(args, i, name)? {
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::Native(n) => n.downcast_ref::<DbObj>().ok_or_else(|| bad(name)),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

fn obj_mut<'a>(ctx: &'a mut Ctx, args: &[Value], i: usize, name: &str) -> Result<&'a mut DbObj, VmError> {
    match arg(args, i, name)? {
        Value::Obj(r) => match ctx.heap.get_mut(r) {
            Obj::Native(n) => n.downcast_mut::<DbObj>().ok_or_else(|| bad(name)),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

fn str_ref<'a>(ctx: &'a Ctx, args: &[Value], i: usize, name: &str) -> Result<&'a str, VmError> {
    match arg(args, i, name)? {
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::Str(s) => Ok(s),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

fn str_arg(ctx: &Ctx, args: &[Value], i: usize, name: &str) -> Result<String, VmError> {
    str_ref(ctx, args, i, name).map(|s| s.to_string())
}

fn opt_str_arg(ctx: &Ctx, args: &[Value], i: usize, name: &str) -> Result<Option<String>, VmError> {
    match arg(args, i, name)? {
        Value::None => Ok(None),
        _ => str_arg(ctx, args, i, name).map(Some),
    }
}

fn alloc(ctx: &mut Ctx, d: DbObj) -> Value {
    ctx.heap.alloc(Obj::Native(NativeBox::new(d)))
}

/// A Noodle value as a query parameter.
fn to_db(ctx: &Ctx, v: Value) -> Result<DbValue, VmError> {
    Ok(match v {
        Value::None => DbValue::Null,
        Value::Bool(b) => DbValue::Bool(b),
        Value::Int(i) => DbValue::Int(i),
        Value::Float(f) => DbValue::Float(f),
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::Str(s) => DbValue::Str(s.to_string()),
            Obj::Bytes(b) => DbValue::Bytes(b.to_vec()),
            // an enum variant without fields is stored as its name (as `json.encode` writes it)
            o => {
                if let Some(name) = noodle_native::shape::unit_variant_name(ctx.program, o) {
                    return Ok(DbValue::Str(name.to_string()));
                }
                let t = noodle_vm::ops::type_name(ctx.heap, ctx.program, v);
                return Err(VmError::new(
                    N2205,
                    format!("a `{t}` cannot be a query parameter: parameters are int, float, str, bytes, bool or none"),
                ));
            }
        },
        _ => return Err(bad("db parameter")),
    })
}

/// N2205: `v` (a row of `execute_many` given as `any`, say) is not a parameter list.
fn not_params(ctx: &Ctx, v: Value, name: &str) -> VmError {
    let t = noodle_vm::ops::type_name(ctx.heap, ctx.program, v);
    VmError::new(N2205, format!("{name}: a `{t}` is not query parameters: they are a list, a struct or a dict with str keys"))
}

/// The parameters argument: none, a list (positional) or a dict with str keys (named).
fn params(ctx: &Ctx, v: Value, name: &str) -> Result<Params, VmError> {
    match v {
        Value::None => Ok(Params::none()),
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::List(items) => Ok(Params::Positional(items.iter().map(|x| to_db(ctx, x)).collect::<Result<_, _>>()?)),
            Obj::Dict(m) => {
                let mut out = Vec::with_capacity(m.len());
                // string keys live in the key image (`Key::Str`)
                for (image, (_, v)) in m.iter() {
                    let Key::Str(k) = image else { return Err(VmError::new(N2205, format!("{name}: named parameters are a dict with str keys"))) };
                    out.push((String::from_utf8_lossy(k.as_bytes()).into_owned(), to_db(ctx, *v)?));
                }
                Ok(Params::Named(out))
            }
            // a struct's fields, in declaration order (`execute_many` over `csv.read_rows`)
            Obj::Record { ty, fields } if ctx.program.types.get(*ty as usize).is_some_and(|t| t.enum_name.is_none()) => Ok(Params::Positional(fields.iter().map(|x| to_db(ctx, *x)).collect::<Result<_, _>>()?)),
            _ => Err(not_params(ctx, v, name)),
        },
        _ => Err(not_params(ctx, v, name)),
    }
}

/// A database value as a Noodle value.
fn to_vm(ctx: &mut Ctx, v: &DbValue) -> Value {
    value_in(ctx.heap, v)
}

/// A database value as a Noodle value in `heap`.
fn value_in(heap: &mut Heap, v: &DbValue) -> Value {
    match v {
        DbValue::Null => Value::None,
        DbValue::Bool(b) => Value::Bool(*b),
        DbValue::Int(i) => Value::Int(*i),
        DbValue::Float(f) => Value::Float(*f),
        DbValue::Str(s) => heap.alloc_str(s.as_str()),
        DbValue::Bytes(b) => heap.alloc(Obj::Bytes(b.as_slice().into())),
    }
}

fn table(rs: ResultSet) -> Arc<Table> {
    Arc::new(Table { columns: rs.columns.into(), rows: rs.rows })
}

fn str_list(ctx: &mut Ctx, items: &[String]) -> Value {
    let vals = items.iter().map(|s| ctx.heap.alloc_str(s.as_str())).collect();
    ctx.heap.alloc(Obj::List(vals))
}

/// Runs `f` on the connection or transaction in `args[0]`.
fn with_handle<T>(ctx: &Ctx, args: &[Value], name: &str, f: impl FnOnce(Handle) -> noodle_db::Result<T>) -> Result<T, VmError> {
    match obj(ctx, args, 0, name)? {
        DbObj::Connection(db) => f(Handle::Db(db)).map_err(db_err),
        DbObj::Transaction(tx) => f(Handle::Tx(tx)).map_err(db_err),
        _ => Err(bad(name)),
    }
}

enum Handle<'a> {
    Db(&'a Arc<Database>),
    Tx(&'a Tx),
}

impl Handle<'_> {
    fn execute(&self, sql: &str, p: Params) -> noodle_db::Result<u64> {
        match self {
            Handle::Db(d) => d.execute(sql, p),
            Handle::Tx(t) => t.execute(sql, p),
        }
    }
    fn query(&self, sql: &str, p: Params) -> noodle_db::Result<ResultSet> {
        match self {
            Handle::Db(d) => d.query(sql, p),
            Handle::Tx(t) => t.query(sql, p),
        }
    }
}

/// The longest timeout a program may give a database: a year.
const MAX_TIMEOUT_SECS: u64 = 365 * 24 * 3600;

fn opt_secs(v: Value, name: &str) -> Result<Option<Duration>, VmError> {
    match v {
        Value::None => Ok(None),
        v => {
            let s = as_float(v, name)?;
            let shown = if s.abs() < 1e15 { format!("{s}") } else { format!("{s:e}") };
            if !(s > 0.0 && s.is_finite()) {
                return Err(VmError::arg(format!("{name}: a timeout must be a positive number of seconds, got {shown}")));
            }
            // a year is as good as forever, and past ~1.8e19 s a Duration cannot hold it
            Duration::try_from_secs_f64(s).ok().filter(|d| d.as_secs() <= MAX_TIMEOUT_SECS).map(Some).ok_or_else(|| VmError::arg(format!("{name}: a timeout must be at most {MAX_TIMEOUT_SECS} seconds (a year), got {shown}")))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// connections and statements

/// `db.connect(url, pool_size, timeout, connect_timeout, read_only)`
fn connect(ctx: &mut Ctx, args: &[Value]) -> R {
    let url = str_arg(ctx, args, 0, "db.connect")?;
    let mut opts = Options::default();
    match arg(args, 1, "db.connect")? {
        Value::None => {}
        v => {
            let n = as_int(v, "db.connect")?;
            if n < 1 {
                return Err(VmError::arg(format!("db.connect: pool_size must be at least 1, got {n}")));
            }
            opts.pool_size = n as usize;
        }
    }
    if let Some(t) = opt_secs(arg(args, 2, "db.connect")?, "db.connect")? {
        opts.timeout = t;
    }
    if let Some(t) = opt_secs(arg(args, 3, "db.connect")?, "db.connect")? {
        opts.connect_timeout = t;
    }
    opts.read_only = matches!(arg(args, 4, "db.connect")?, Value::Bool(true));
    // the sandbox: a database file is read (and written unless read-only), a server connected to
    if let Ok(target) = noodle_db::Target::parse(&url) {
        match &target {
            noodle_db::Target::SqliteFile(p) | noodle_db::Target::DuckdbFile(p) => {
                let path = std::path::Path::new(p.split('?').next().unwrap_or(p));
                ctx.permit(Access::Read(path))?;
                if !opts.read_only {
                    ctx.permit(Access::Write(path))?;
                }
            }
            noodle_db::Target::Postgres(_) => {
                for (host, port) in target.servers() {
                    ctx.permit(Access::Net(&host, Some(port)))?;
                }
            }
            noodle_db::Target::SqliteMemory | noodle_db::Target::DuckdbMemory => {}
        }
    }
    let db = Database::connect(&url, opts).map_err(db_err)?;
    Ok(alloc(ctx, DbObj::Connection(db)))
}

/// The SQL (borrowed from the heap: statements run without copying their text) and the
/// parameters of a statement call.
fn sql_and_params<'a>(ctx: &'a Ctx, args: &[Value], name: &str) -> Result<(&'a str, Params), VmError> {
    let sql = str_ref(ctx, args, 1, name)?;
    let p = params(ctx, arg(args, 2, name)?, name)?;
    Ok((sql, p))
}

fn execute(ctx: &mut Ctx, args: &[Value]) -> R {
    let (sql, p) = sql_and_params(ctx, args, "db.execute")?;
    let n = with_handle(ctx, args, "db.execute", |h| h.execute(sql, p))?;
    Ok(Value::Int(n as i64))
}

fn execute_many(ctx: &mut Ctx, args: &[Value]) -> R {
    let sql = str_arg(ctx, args, 1, "db.execute_many")?;
    let rows = match arg(args, 2, "db.execute_many")? {
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::List(items) => items.iter().map(|v| params(ctx, v, "db.execute_many")).collect::<Result<Vec<_>, _>>()?,
            _ => return Err(bad("db.execute_many")),
        },
        _ => return Err(bad("db.execute_many")),
    };
    let n = match obj(ctx, args, 0, "db.execute_many")? {
        DbObj::Connection(db) => db.execute_many(&sql, rows),
        DbObj::Transaction(tx) => tx.execute_many(&sql, rows),
        _ => return Err(bad("db.execute_many")),
    }
    .map_err(db_err)?;
    Ok(Value::Int(n as i64))
}

fn query(ctx: &mut Ctx, args: &[Value]) -> R {
    let (sql, p) = sql_and_params(ctx, args, "db.query")?;
    let rs = with_handle(ctx, args, "db.query", |h| h.query(sql, p))?;
    Ok(alloc(ctx, DbObj::Rows(table(rs))))
}

/// The one row a query must return (N2207 for none or several).
fn single(ctx: &Ctx, args: &[Value], name: &str) -> Result<ResultSet, VmError> {
    let (sql, p) = sql_and_params(ctx, args, name)?;
    let rs = with_handle(ctx, args, name, |h| h.query(sql, p))?;
    match rs.rows.len() {
        1 => Ok(rs),
        0 => Err(VmError::new(N2207, format!("{}: the query returned no rows", name.trim_start_matches("db.")))),
        n => Err(VmError::new(N2207, format!("{}: the query returned {n} rows, expected one", name.trim_start_matches("db.")))),
    }
}

fn query_one(ctx: &mut Ctx, args: &[Value]) -> R {
    let rs = single(ctx, args, "db.query_one")?;
    Ok(alloc(ctx, DbObj::Row(table(rs), 0)))
}

fn query_value(ctx: &mut Ctx, args: &[Value]) -> R {
    let rs = single(ctx, args, "db.query_value")?;
    match rs.rows[0].first() {
        Some(v) => Ok(to_vm(ctx, v)),
        None => Err(VmError::new(N2207, "query_value: the query returned no columns")),
    }
}

fn cursor(ctx: &mut Ctx, args: &[Value]) -> R {
    let (sql, p) = sql_and_params(ctx, args, "db.cursor")?;
    let batch = as_int(arg(args, 3, "db.cursor")?, "db.cursor")?;
    if batch < 1 {
        return Err(VmError::arg(format!("cursor: batch must be at least 1, got {batch}")));
    }
    let c = match obj(ctx, args, 0, "db.cursor")? {
        DbObj::Connection(db) => db.cursor(sql, p, batch as usize).map_err(db_err)?,
        _ => return Err(bad("db.cursor")),
    };
    Ok(alloc(ctx, DbObj::Cursor(c)))
}

fn transaction(ctx: &mut Ctx, args: &[Value]) -> R {
    let iso = match opt_str_arg(ctx, args, 1, "db.transaction")? {
        Some(s) => Some(Isolation::parse(&s).map_err(db_err)?),
        None => None,
    };
    let tx = match obj(ctx, args, 0, "db.transaction")? {
        DbObj::Connection(db) => db.begin(iso),
        DbObj::Transaction(tx) => {
            if iso.is_some() {
                return Err(VmError::new(N2206, "a nested transaction runs at the isolation level of the one around it; leave `isolation` out"));
            }
            tx.nested()
        }
        _ => return Err(bad("db.transaction")),
    }
    .map_err(db_err)?;
    Ok(alloc(ctx, DbObj::Transaction(tx)))
}

fn tx_mut<'a>(ctx: &'a mut Ctx, args: &[Value], name: &str) -> Result<&'a mut Tx, VmError> {
    match obj_mut(ctx, args, 0, name)? {
        DbObj::Transaction(tx) => Ok(tx),
        _ => Err(bad(name)),
    }
}

fn commit(ctx: &mut Ctx, args: &[Value]) -> R {
    tx_mut(ctx, args, "db.commit")?.commit_mut().map_err(db_err)?;
    Ok(Value::None)
}

fn rollback(ctx: &mut Ctx, args: &[Value]) -> R {
    tx_mut(ctx, args, "db.rollback")?.rollback_mut().map_err(db_err)?;
    Ok(Value::None)
}

/// The end of a `with` block: commit if it completed, roll back otherwise.
fn exit(ctx: &mut Ctx, args: &[Value]) -> R {
    let ok = matches!(arg(args, 1, "db.exit")?, Value::Bool(true));
    tx_mut(ctx, args, "db.exit")?.exit(ok).map_err(db_err)?;
    Ok(Value::None)
}

fn tables(ctx: &mut Ctx, args: &[Value]) -> R {
    let names = match obj(ctx, args, 0, "db.tables")? {
        DbObj::Connection(db) => db.tables().map_err(db_err)?,
        _ => return Err(bad("db.tables")),
    };
    Ok(str_list(ctx, &names))
}

fn columns(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = str_arg(ctx, args, 1, "db.columns")?;
    let cols = match obj(ctx, args, 0, "db.columns")? {
        DbObj::Connection(db) => db.columns(&t).map_err(db_err)?,
        _ => return Err(bad("db.columns")),
    };
    let rs = ResultSet {
        columns: ["name", "type", "nullable", "primary_key"].iter().map(|s| s.to_string()).collect(),
        rows: cols.into_iter().map(|c| vec![DbValue::Str(c.name), DbValue::Str(c.type_name), DbValue::Bool(c.nullable), DbValue::Bool(c.primary_key)]).collect(),
    };
    Ok(alloc(ctx, DbObj::Rows(table(rs))))
}

fn migrate(ctx: &mut Ctx, args: &[Value]) -> R {
    let dir = str_arg(ctx, args, 1, "db.migrate")?;
    let applied = match obj(ctx, args, 0, "db.migrate")? {
        DbObj::Connection(db) => db.migrate(&dir).map_err(db_err)?,
        _ => return Err(bad("db.migrate")),
    };
    Ok(str_list(ctx, &applied))
}

fn backend(ctx: &mut Ctx, args: &[Value]) -> R {
    let name = match obj(ctx, args, 0, "db.backend")? {
        DbObj::Connection(db) => db.backend_name(),
        _ => return Err(bad("db.backend")),
    };
    Ok(ctx.heap.alloc_str(name))
}

// ---------------------------------------------------------------------------------------------
// results and rows

fn table_at(ctx: &Ctx, args: &[Value], name: &str) -> Result<Arc<Table>, VmError> {
    match obj(ctx, args, 0, name)? {
        DbObj::Rows(t) => Ok(t.clone()),
        _ => Err(bad(name)),
    }
}

fn row_at(ctx: &Ctx, args: &[Value], name: &str) -> Result<(Arc<Table>, usize), VmError> {
    match obj(ctx, args, 0, name)? {
        DbObj::Row(t, i) => Ok((t.clone(), *i)),
        _ => Err(bad(name)),
    }
}

/// The column names of a result, row or cursor.
fn column_names(ctx: &mut Ctx, args: &[Value]) -> R {
    let cols: Arc<[String]> = match obj(ctx, args, 0, "db.column_names")? {
        DbObj::Rows(t) | DbObj::Row(t, _) => t.columns.clone(),
        DbObj::Cursor(c) => c.columns().clone(),
        _ => return Err(bad("db.column_names")),
    };
    Ok(str_list(ctx, &cols))
}

fn column_index(t: &Table, name: &str) -> Result<usize, VmError> {
    t.columns.iter().position(|c| c == name).ok_or_else(|| {
        VmError::new(N2209, format!("the result has no column `{name}`; its columns are: {}", t.columns.join(", ")))
    })
}


fn rows_first(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = table_at(ctx, args, "db.rows_first")?;
    if t.rows.is_empty() {
        return Ok(Value::None);
    }
    Ok(alloc(ctx, DbObj::Row(t, 0)))
}

fn rows_column(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = table_at(ctx, args, "db.rows_column")?;
    let c = column_index(&t, str_ref(ctx, args, 1, "db.rows_column")?)?;
    let vals = t.rows.iter().map(|r| to_vm(ctx, &r[c])).collect();
    Ok(ctx.heap.alloc(Obj::List(vals)))
}

/// A row as a `list[any]` (made as one: any value may be stored in it; see `Heap::set_dynamic`).
fn row_list(ctx: &mut Ctx, row: &[DbValue]) -> Value {
    let vals = row.iter().map(|v| to_vm(ctx, v)).collect();
    let r = ctx.heap.alloc_ref(Obj::List(vals));
    ctx.heap.set_dynamic(r);
    Value::Obj(r)
}

fn row_dict(ctx: &mut Ctx, cols: &[String], row: &[DbValue]) -> Value {
    let mut m = DictMap::default();
    for (c, v) in cols.iter().zip(row) {
        let k = ctx.heap.alloc_str(c.as_str());
        let v = to_vm(ctx, v);
        m.insert(key_of(ctx.heap, ctx.program, k), (k, v));
    }
    ctx.heap.alloc(Obj::Dict(Box::new(m.into())))
}

fn rows_to_lists(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = table_at(ctx, args, "db.rows_to_lists")?;
    let out = t.rows.iter().map(|r| row_list(ctx, r)).collect();
    Ok(ctx.heap.alloc(Obj::List(out)))
}

fn rows_to_dicts(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = table_at(ctx, args, "db.rows_to_dicts")?;
    let out = t.rows.iter().map(|r| row_dict(ctx, &t.columns, r)).collect();
    Ok(ctx.heap.alloc(Obj::List(out)))
}

/// One cell as a tensor element: numbers and bools; NULL only as a float NaN.
fn cell_f64(t: &Table, row: usize, col: usize, dtype: DType) -> Result<f64, VmError> {
    match &t.rows[row][col] {
        DbValue::Int(i) => Ok(*i as f64),
        DbValue::Float(f) => Ok(*f),
        DbValue::Bool(b) => Ok(*b as i64 as f64),
        DbValue::Null if matches!(dtype, DType::F32 | DType::F64) => Ok(f64::NAN),
        v => Err(VmError::new(
            N2205,
            format!(
                "column `{}` row {row} holds {}, which cannot go into a tensor[{}]{}",
                t.columns[col],
                match v {
                    DbValue::Null => "NULL".to_string(),
                    other => format!("a {}", other.type_name()),
                },
                dtype.name(),
                match v {
                    DbValue::Null => " (only float tensors hold NULL, as NaN)",
                    // NUMERIC/DECIMAL values are read as exact text
                    DbValue::Str(_) => " (for a NUMERIC or DECIMAL column, cast it in SQL: CAST(x AS DOUBLE PRECISION))",
                    _ => "",
                }
            ),
        )),
    }
}

fn build_tensor(t: &Table, cols: &[usize], dtype: DType, shape: Vec<usize>) -> Result<Tensor, VmError> {
    let n = t.rows.len() * cols.len();
    let r = match dtype {
        DType::F64 | DType::F32 => {
            let mut v = Vec::with_capacity(n);
            for row in 0..t.rows.len() {
                for &c in cols {
                    v.push(cell_f64(t, row, c, dtype)?);
                }
            }
            if dtype == DType::F32 {
                Tensor::from_vec(v.into_iter().map(|x| x as f32).collect::<Vec<f32>>(), shape)
            } else {
                Tensor::from_vec(v, shape)
            }
        }
        DType::I64 => {
            let mut v = Vec::with_capacity(n);
            for row in 0..t.rows.len() {
                for &c in cols {
                    v.push(match &t.rows[row][c] {
                        DbValue::Int(i) => *i,
                        DbValue::Bool(b) => *b as i64,
                        _ => {
                            cell_f64(t, row, c, DType::I64)?;
                            return Err(VmError::new(
                                N2205,
                                format!("column `{}` row {row} holds a float, which cannot go into a tensor[i64]; ask for dtype f64", t.columns[c]),
                            ));
                        }
                    });
                }
            }
            Tensor::from_vec(v, shape)
        }
        DType::Bool => {
            let mut v = Vec::with_capacity(n);
            for row in 0..t.rows.len() {
                for &c in cols {
                    v.push(cell_f64(t, row, c, DType::Bool)? != 0.0);
                }
            }
            Tensor::from_vec(v, shape)
        }
    };
    r.map_err(|e| VmError::new(e.code, e.message))
}

fn dtype_arg(ctx: &Ctx, args: &[Value], i: usize, name: &str) -> Result<DType, VmError> {
    match opt_str_arg(ctx, args, i, name)? {
        None => Ok(DType::F64),
        Some(s) => DType::from_name(&s).ok_or_else(|| bad(name)),
    }
}

/// The whole result as a 2-D tensor: one row per row, one column per column.
fn rows_tensor(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = table_at(ctx, args, "db.rows_tensor")?;
    let dtype = dtype_arg(ctx, args, 1, "db.rows_tensor")?;
    let cols: Vec<usize> = (0..t.columns.len()).collect();
    let shape = vec![t.rows.len(), cols.len()];
    let tensor = build_tensor(&t, &cols, dtype, shape)?;
    Ok(crate::tensor::tensor_value(ctx.heap, tensor))
}

fn rows_column_tensor(ctx: &mut Ctx, args: &[Value]) -> R {
    let t = table_at(ctx, args, "db.rows_column_tensor")?;
    let c = column_index(&t, str_ref(ctx, args, 1, "db.rows_column_tensor")?)?;
    let dtype = dtype_arg(ctx, args, 2, "db.rows_column_tensor")?;
    let tensor = build_tensor(&t, &[c], dtype, vec![t.rows.len()])?;
    Ok(crate::tensor::tensor_value(ctx.heap, tensor))
}

fn row_field(ctx: &mut Ctx, args: &[Value]) -> R {
    let (t, i) = row_at(ctx, args, "db.row_field")?;
    let c = column_index(&t, str_ref(ctx, args, 1, "db.row_field")?)?;
    Ok(to_vm(ctx, &t.rows[i][c]))
}

fn row_to_dict(ctx: &mut Ctx, args: &[Value]) -> R {
    let (t, i) = row_at(ctx, args, "db.row_to_dict")?;
    Ok(row_dict(ctx, &t.columns, &t.rows[i]))
}

fn row_to_list(ctx: &mut Ctx, args: &[Value]) -> R {
    let (t, i) = row_at(ctx, args, "db.row_to_list")?;
    Ok(row_list(ctx, &t.rows[i]))
}

// ---------------------------------------------------------------------------------------------
// cursors

fn cursor_mut<'a>(ctx: &'a mut Ctx, args: &[Value], name: &str) -> Result<&'a mut Cursor, VmError> {
    match obj_mut(ctx, args, 0, name)? {
        DbObj::Cursor(c) => Ok(c),
        _ => Err(bad(name)),
    }
}

/// The next row, or none at the end (what `for row in cursor` calls).
fn cursor_next(ctx: &mut Ctx, args: &[Value]) -> R {
    let c = cursor_mut(ctx, args, "db.cursor_next")?;
    let cols = c.columns().clone();
    match c.next_row().map_err(db_err)? {
        Some(row) => Ok(alloc(ctx, DbObj::Row(Arc::new(Table { columns: cols, rows: vec![row] }), 0))),
        None => Ok(Value::None),
    }
}

/// The next `n` rows as a result (fewer at the end, empty when done).
fn cursor_fetch(ctx: &mut Ctx, args: &[Value]) -> R {
    let n = as_int(arg(args, 1, "db.cursor_fetch")?, "db.cursor_fetch")?;
    if n < 1 {
        return Err(VmError::arg(format!("fetch: n must be at least 1, got {n}")));
    }
    let c = cursor_mut(ctx, args, "db.cursor_fetch")?;
    let cols = c.columns().clone();
    let rows = c.fetch(n as usize).map_err(db_err)?;
    Ok(alloc(ctx, DbObj::Rows(Arc::new(Table { columns: cols, rows }))))
}

/// `cursor.close()`, and the end of `with conn.cursor(...) as c { ... }`: gives the connection
/// back to the pool without reading the remaining rows.
fn cursor_close(ctx: &mut Ctx, args: &[Value]) -> R {
    cursor_mut(ctx, args, "db.cursor_close")?.close();
    Ok(Value::None)
}
