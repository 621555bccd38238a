//! Noodle's database layer: one API over SQLite (embedded, the default), PostgreSQL and DuckDB.
//!
//! A [`Database`] is a pool of connections to one URL. Every operation checks a connection out,
//! runs one self-contained job on it (a statement, a transaction step, a streamed query) and
//! gives it back, so the same jobs can later be moved onto a blocking thread pool and awaited
//! by an actor without changing this API. Backends implement [`Backend`] for one physical
//! connection; SQL placeholders are normalised per backend by [`sql::normalize`], and values
//! are always bound, never spliced into SQL text.

use crate::codes::{N2201, N2202, N2203, N2204, N2205, N2206, N2207, N2208};
pub mod codes;
mod pool;
pub mod sql;
mod sqlite;
mod postgres;
#[cfg(feature = "duckdb")]
mod duckdb;

pub use pool::{Cursor, Database, Tx};

use std::fmt;
use std::time::Duration;

/// A value crossing the boundary between Noodle and a database.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "none",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
        }
    }
}

/// What went wrong, which decides the Noodle error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The statement was rejected: syntax error, unknown table or column, wrong parameters.
    Query,
    /// A constraint was violated: unique, primary key, foreign key, not null, check.
    Constraint,
    /// The database could not be reached or opened, or the URL is malformed.
    Connection,
    /// A statement, a pool checkout or a lock wait took longer than allowed.
    Timeout,
    /// A value has no mapping between Noodle and the database.
    Type,
    /// A transaction could not begin, commit or continue (serialization failure, deadlock,
    /// isolation level not supported, used after it ended).
    Transaction,
    /// `query_one` or `query_value` found no row.
    NoRows,
    /// The database refused to write because the connection is read-only.
    ReadOnly,
}

impl ErrorKind {
    /// The stable Noodle error code (listed in `noodle explain`).
    pub fn code(self) -> noodle_codes::Code {
        match self {
            ErrorKind::Query => N2201,
            ErrorKind::Constraint => N2202,
            ErrorKind::Connection => N2203,
            ErrorKind::Timeout => N2204,
            ErrorKind::Type => N2205,
            ErrorKind::Transaction => N2206,
            ErrorKind::NoRows => N2207,
            ErrorKind::ReadOnly => N2208,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct DbError {
    pub kind: ErrorKind,
    pub message: String,
    /// The five-character SQLSTATE, where the backend reports one.
    pub sqlstate: Option<String>,
}

impl DbError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> DbError {
        DbError { kind, message: message.into(), sqlstate: None }
    }
    pub fn with_state(kind: ErrorKind, message: impl Into<String>, state: &str) -> DbError {
        DbError { kind, message: message.into(), sqlstate: Some(state.to_string()) }
    }
    /// Classifies an error by its SQLSTATE (the standard classes, as PostgreSQL reports them).
    pub fn from_sqlstate(state: &str, message: impl Into<String>) -> DbError {
        let kind = match state {
            s if s.starts_with("23") => ErrorKind::Constraint,
            s if s.starts_with("08") || s.starts_with("28") || s == "3D000" || s.starts_with("57P") => ErrorKind::Connection,
            "57014" => ErrorKind::Timeout,
            "25006" => ErrorKind::ReadOnly,
            // data exceptions: a value that does not fit or parse as the column's type
            s if s.starts_with("22") => ErrorKind::Type,
            s if s.starts_with("40") || s.starts_with("25") => ErrorKind::Transaction,
            _ => ErrorKind::Query,
        };
        DbError::with_state(kind, message, state)
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match &self.sqlstate {
            Some(s) => write!(f, "{} (SQLSTATE {s})", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for DbError {}

pub type Result<T> = std::result::Result<T, DbError>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,
}

impl Isolation {
    pub fn parse(s: &str) -> Result<Isolation> {
        Ok(match s.to_ascii_lowercase().replace(['_', '-'], " ").as_str() {
            "read uncommitted" => Isolation::ReadUncommitted,
            "read committed" => Isolation::ReadCommitted,
            "repeatable read" => Isolation::RepeatableRead,
            "serializable" => Isolation::Serializable,
            _ => {
                return Err(DbError::new(
                    ErrorKind::Transaction,
                    format!("unknown isolation level `{s}`: use \"read committed\", \"repeatable read\" or \"serializable\""),
                ))
            }
        })
    }
    pub fn sql(self) -> &'static str {
        match self {
            Isolation::ReadUncommitted => "READ UNCOMMITTED",
            Isolation::ReadCommitted => "READ COMMITTED",
            Isolation::RepeatableRead => "REPEATABLE READ",
            Isolation::Serializable => "SERIALIZABLE",
        }
    }
}

/// The answer to a query, held in memory: column names and rows of values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl ResultSet {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }
}

/// One column of a table, as `Database::columns` reports it.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnInfo {
    pub name: String,
    /// The declared type as the backend spells it (`INTEGER`, `text`, `DOUBLE`, ...).
    pub type_name: String,
    pub nullable: bool,
    pub primary_key: bool,
}

/// Which placeholder syntax a backend understands; [`sql::normalize`] rewrites `?`, `$1` and
/// `:name` into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholder {
    /// `?1`, `?2`, ... (SQLite)
    QuestionNumbered,
    /// `$1`, `$2`, ... (PostgreSQL, DuckDB)
    Dollar,
}

/// Connection options shared by all backends.
#[derive(Clone, Debug)]
pub struct Options {
    /// Most connections the pool opens (in-memory SQLite databases always use one).
    pub pool_size: usize,
    /// Longest a statement may run, and longest to wait for a lock or a pooled connection.
    pub timeout: Duration,
    /// Longest to wait while connecting.
    pub connect_timeout: Duration,
    pub read_only: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { pool_size: 4, timeout: Duration::from_secs(30), connect_timeout: Duration::from_secs(10), read_only: false }
    }
}

/// Where a URL points.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    SqliteMemory,
    SqliteFile(String),
    Postgres(String),
    DuckdbMemory,
    DuckdbFile(String),
}

impl Target {
    pub fn parse(url: &str) -> Result<Target> {
        let bad = |why: &str| {
            DbError::new(
                ErrorKind::Connection,
                format!("cannot connect to `{url}`: {why}; expected sqlite::memory:, sqlite://path, postgres://user@host:port/db, duckdb::memory: or duckdb://path"),
            )
        };
        Ok(match url {
            "sqlite::memory:" | "sqlite://:memory:" => Target::SqliteMemory,
            "duckdb::memory:" | "duckdb://:memory:" => Target::DuckdbMemory,
            u if u.starts_with("sqlite://") => {
                let p = &u["sqlite://".len()..];
                if p.is_empty() {
                    return Err(bad("the path is empty"));
                }
                Target::SqliteFile(p.to_string())
            }
            u if u.starts_with("duckdb://") => {
                let p = &u["duckdb://".len()..];
                if p.is_empty() {
                    return Err(bad("the path is empty"));
                }
                Target::DuckdbFile(p.to_string())
            }
            u if u.starts_with("postgres://") || u.starts_with("postgresql://") => Target::Postgres(u.to_string()),
            _ => return Err(bad("unknown scheme")),
        })
    }
    /// The servers a PostgreSQL target connects to, as (host, port); none for the others.
    pub fn servers(&self) -> Vec<(String, u16)> {
        match self {
            Target::Postgres(url) => postgres::servers(url),
            _ => Vec::new(),
        }
    }
    pub fn backend_name(&self) -> &'static str {
        match self {
            Target::SqliteMemory | Target::SqliteFile(_) => "sqlite",
            Target::Postgres(_) => "postgres",
            Target::DuckdbMemory | Target::DuckdbFile(_) => "duckdb",
        }
    }
}

/// One physical connection. Every method is a complete job: it leaves the connection ready
/// for the next one (or in the open transaction that `begin` started).
pub trait Backend: Send {
    fn placeholder(&self) -> Placeholder;
    /// Runs a statement that returns no rows; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64>;
    /// Runs one statement for each parameter row (one prepared statement); total rows changed.
    fn execute_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> Result<u64> {
        let mut n = 0;
        for r in rows {
            n += self.execute(sql, r)?;
        }
        Ok(n)
    }
    /// Runs a query and collects its rows.
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<ResultSet> {
        let mut out = ResultSet::default();
        let mut cols = Vec::new();
        self.stream(sql, params, &mut |c| cols = c, &mut |r| {
            out.rows.push(r);
            true
        })?;
        out.columns = cols;
        Ok(out)
    }
    /// Runs a query and hands its rows to `sink` one at a time, first calling `columns` once;
    /// stops early when `sink` returns false.
    fn stream(&mut self, sql: &str, params: &[Value], columns: &mut dyn FnMut(Vec<String>), sink: &mut dyn FnMut(Vec<Value>) -> bool) -> Result<()>;
    fn begin(&mut self, isolation: Option<Isolation>) -> Result<()>;
    fn commit(&mut self) -> Result<()>;
    fn rollback(&mut self) -> Result<()>;
    /// Runs SQL text that takes no parameters and may hold several statements (migrations).
    fn batch(&mut self, sql: &str) -> Result<()>;
    fn tables(&mut self) -> Result<Vec<String>>;
    fn columns(&mut self, table: &str) -> Result<Vec<ColumnInfo>>;
    /// Is the connection still usable? A broken one is dropped instead of going back to the pool.
    fn is_broken(&mut self) -> bool {
        false
    }
    /// Can transactions nest (SAVEPOINT)?
    fn savepoints(&self) -> bool {
        true
    }
}

/// Opens physical connections for one target. The DuckDB connector holds the database
/// instance and clones connections from it, since DuckDB allows one instance per file.
pub(crate) trait Connector: Send + Sync {
    fn connect(&self) -> Result<Box<dyn Backend>>;
}

struct Simple(Target, Options);

impl Connector for Simple {
    fn connect(&self) -> Result<Box<dyn Backend>> {
        match &self.0 {
            Target::Postgres(url) => postgres::Postgres::open(url, &self.1),
            t => Ok(Box::new(sqlite::Sqlite::open(t, &self.1)?)),
        }
    }
}

pub(crate) fn connector(target: &Target, opts: &Options) -> Result<Box<dyn Connector>> {
    match target {
        Target::SqliteMemory | Target::SqliteFile(_) | Target::Postgres(_) => Ok(Box::new(Simple(target.clone(), opts.clone()))),
        #[cfg(feature = "duckdb")]
        Target::DuckdbMemory | Target::DuckdbFile(_) => Ok(Box::new(duckdb::DuckDbConnector::new(target, opts)?)),
        #[cfg(not(feature = "duckdb"))]
        Target::DuckdbMemory | Target::DuckdbFile(_) => Err(DbError::new(
            ErrorKind::Connection,
            "this build of Noodle has no DuckDB support: run scripts/fetch-duckdb, then build with `--features duckdb` (see the README)",
        )),
    }
}

/// Is DuckDB compiled in?
pub fn has_duckdb() -> bool {
    cfg!(feature = "duckdb")
}
