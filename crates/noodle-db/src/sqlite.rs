//! SQLite through rusqlite, with the SQLite library compiled in (no server, no system library).

use crate::{Backend, ColumnInfo, DbError, ErrorKind, Isolation, Options, Placeholder, Result, Target, Value};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{ffi, Connection, OpenFlags};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Sqlite {
    conn: Connection,
    timeout: Duration,
    /// When the running statement must stop, in nanoseconds after `epoch` (checked by
    /// SQLite's progress handler).
    deadline: Arc<AtomicU64>,
    epoch: Instant,
}

fn map_err(e: rusqlite::Error) -> DbError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let text = msg.clone().unwrap_or_else(|| f.to_string());
            let kind = match f.code {
                ffi::ErrorCode::ConstraintViolation => ErrorKind::Constraint,
                ffi::ErrorCode::OperationInterrupted => return DbError::new(ErrorKind::Timeout, "the statement ran longer than the timeout and was interrupted"),
                ffi::ErrorCode::DatabaseBusy | ffi::ErrorCode::DatabaseLocked => ErrorKind::Timeout,
                ffi::ErrorCode::ReadOnly => ErrorKind::ReadOnly,
                ffi::ErrorCode::CannotOpen | ffi::ErrorCode::NotADatabase | ffi::ErrorCode::PermissionDenied => ErrorKind::Connection,
                _ => ErrorKind::Query,
            };
            DbError::new(kind, text)
        }
        rusqlite::Error::InvalidParameterCount(got, want) => {
            DbError::new(ErrorKind::Query, format!("the statement has {want} placeholders but {got} parameters were given"))
        }
        rusqlite::Error::MultipleStatement => DbError::new(ErrorKind::Query, "only one statement can be run at a time with parameters"),
        rusqlite::Error::SqlInputError { msg, .. } => DbError::new(ErrorKind::Query, msg.clone()),
        _ => DbError::new(ErrorKind::Query, e.to_string()),
    }
}

fn to_sql(v: &Value) -> ToSqlOutput<'_> {
    match v {
        Value::Null => ToSqlOutput::Owned(SqlValue::Null),
        Value::Bool(b) => ToSqlOutput::Owned(SqlValue::Integer(*b as i64)),
        Value::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
        Value::Float(f) => ToSqlOutput::Owned(SqlValue::Real(*f)),
        Value::Str(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        Value::Bytes(b) => ToSqlOutput::Borrowed(ValueRef::Blob(b)),
    }
}

fn from_sql(v: ValueRef<'_>) -> Result<Value> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Float(f),
        ValueRef::Text(t) => Value::Str(String::from_utf8(t.to_vec()).map_err(|_| DbError::new(ErrorKind::Type, "a text value is not valid UTF-8; read it as a BLOB (CAST(x AS BLOB))"))?),
        ValueRef::Blob(b) => Value::Bytes(b.to_vec()),
    })
}

fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[Value]) -> Result<()> {
    let want = stmt.parameter_count();
    if want != params.len() {
        return Err(DbError::new(ErrorKind::Query, format!("the statement has {want} placeholders but {} parameters were given", params.len())));
    }
    for (i, v) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, to_sql(v)).map_err(map_err)?;
    }
    Ok(())
}

impl Sqlite {
    pub fn open(target: &Target, opts: &Options) -> Result<Sqlite> {
        let mut flags = OpenFlags::SQLITE_OPEN_URI | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        flags |= if opts.read_only { OpenFlags::SQLITE_OPEN_READ_ONLY } else { OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE };
        let mut conn = match target {
            Target::SqliteMemory => Connection::open_in_memory_with_flags(flags),
            Target::SqliteFile(p) => Connection::open_with_flags(p, flags),
            _ => unreachable!("sqlite backend opened for {target:?}"),
        }
        .map_err(|e| {
            let d = map_err(e);
            DbError::new(ErrorKind::Connection, format!("cannot open the SQLite database: {}", d.message))
        })?;
        conn.busy_timeout(opts.timeout).map_err(map_err)?;
        conn.set_prepared_statement_cache_capacity(128);
        if matches!(target, Target::SqliteFile(_)) && !opts.read_only {
            // WAL lets readers and a writer work at the same time on pooled connections
            conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| DbError::new(ErrorKind::Connection, format!("cannot open the SQLite database: {}", map_err(e).message)))?;
        }
        conn.pragma_update(None, "foreign_keys", "ON").map_err(map_err)?;
        let deadline = Arc::new(AtomicU64::new(u64::MAX));
        let epoch = Instant::now();
        let d = deadline.clone();
        // checked every 10k virtual machine steps: cheap, and fine-grained enough to stop
        // a runaway query promptly
        conn.progress_handler(10_000, Some(move || epoch.elapsed().as_nanos() as u64 >= d.load(Ordering::Relaxed))).map_err(map_err)?;
        Ok(Sqlite { conn, timeout: opts.timeout, deadline, epoch })
    }

    fn arm(&self) {
        let t = (self.epoch.elapsed() + self.timeout).as_nanos().min(u64::MAX as u128) as u64;
        self.deadline.store(t, Ordering::Relaxed);
    }
}

impl Backend for Sqlite {
    fn placeholder(&self) -> Placeholder {
        Placeholder::QuestionNumbered
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        self.arm();
        let before = self.conn.total_changes();
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        bind(&mut stmt, params)?;
        let n = stmt.raw_execute().map_err(|e| match e {
            rusqlite::Error::ExecuteReturnedResults => DbError::new(ErrorKind::Query, "the statement returns rows; use `query`"),
            e => map_err(e),
        })?;
        drop(stmt);
        // SQLite leaves the count of the last INSERT/UPDATE/DELETE in place for other
        // statements (CREATE, DROP, ...): they changed no rows
        Ok(if self.conn.total_changes() == before { 0 } else { n as u64 })
    }

    fn execute_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> Result<u64> {
        self.arm();
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        let mut n = 0;
        for r in rows {
            bind(&mut stmt, r)?;
            n += stmt.raw_execute().map_err(map_err)? as u64;
        }
        Ok(n)
    }

    fn stream(&mut self, sql: &str, params: &[Value], columns: &mut dyn FnMut(Vec<String>), sink: &mut dyn FnMut(Vec<Value>) -> bool) -> Result<()> {
        self.arm();
        let mut stmt = self.conn.prepare_cached(sql).map_err(map_err)?;
        bind(&mut stmt, params)?;
        let names: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
        let n = names.len();
        // SQLite stores booleans as 0/1; a column declared BOOLEAN reads back as bool, as it
        // does on the other backends
        let bools: Vec<bool> = stmt.columns().map(|c| c.decl_type().is_some_and(|t| t.eq_ignore_ascii_case("boolean") || t.eq_ignore_ascii_case("bool"))).collect();
        columns(names);
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().map_err(map_err)? {
            let mut vals = Vec::with_capacity(n);
            for (i, &is_bool) in bools.iter().enumerate() {
                let v = from_sql(row.get_ref(i).map_err(map_err)?)?;
                vals.push(match v {
                    Value::Int(b) if is_bool => Value::Bool(b != 0),
                    v => v,
                });
            }
            if !sink(vals) {
                break;
            }
            // the timeout limits the database's work, not the time the program spends
            // between rows of a cursor
            self.arm();
        }
        Ok(())
    }

    fn begin(&mut self, isolation: Option<Isolation>) -> Result<()> {
        match isolation {
            None | Some(Isolation::Serializable) => {}
            Some(other) => {
                return Err(DbError::new(
                    ErrorKind::Transaction,
                    format!("SQLite runs every transaction serializable; it has no `{}` level (leave `isolation` out or ask for \"serializable\")", other.sql().to_lowercase()),
                ))
            }
        }
        self.arm();
        // IMMEDIATE takes the write lock now, so two writers wait for each other (busy
        // timeout) instead of one failing at its first write
        let sql = if self.conn.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) { "BEGIN" } else { "BEGIN IMMEDIATE" };
        self.conn.execute_batch(sql).map_err(map_err)
    }

    fn commit(&mut self) -> Result<()> {
        self.conn.execute_batch("COMMIT").map_err(map_err)
    }

    fn rollback(&mut self) -> Result<()> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        self.conn.execute_batch("ROLLBACK").map_err(map_err)
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        self.arm();
        self.conn.execute_batch(sql).map_err(map_err)
    }

    fn tables(&mut self) -> Result<Vec<String>> {
        let rs = self.query("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' ORDER BY name", &[])?;
        Ok(rs.rows.into_iter().filter_map(|r| if let Some(Value::Str(s)) = r.into_iter().next() { Some(s) } else { None }).collect())
    }

    fn columns(&mut self, table: &str) -> Result<Vec<ColumnInfo>> {
        let rs = self.query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)", &[Value::Str(table.to_string())])?;
        Ok(rs
            .rows
            .into_iter()
            .map(|r| ColumnInfo {
                name: if let Value::Str(s) = &r[0] { s.clone() } else { String::new() },
                type_name: if let Value::Str(s) = &r[1] { s.clone() } else { String::new() },
                // a primary key is never NULL in SQL, although SQLite lets most hold one
                nullable: r[2] == Value::Int(0) && r[3] == Value::Int(0),
                primary_key: matches!(r[3], Value::Int(k) if k > 0),
            })
            .collect())
    }
}
