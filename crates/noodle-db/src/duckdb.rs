//! DuckDB through the `duckdb` crate, linked against DuckDB's prebuilt shared library (see
//! scripts/fetch-duckdb and .cargo/config.toml).
//!
//! DuckDB allows one database instance per file in a process, so a [`DuckDbConnector`] opens
//! the instance once and every pooled connection is a new connection to that instance: they
//! all see the same data, in-memory databases included.

use crate::{Backend, ColumnInfo, Connector, DbError, ErrorKind, Isolation, Options, Placeholder, Result, Target, Value};
use ::duckdb::core::{LogicalTypeHandle, LogicalTypeId};
use ::duckdb::types::{EnumType, TimeUnit, ToSqlOutput, ValueRef};
use ::duckdb::{AccessMode, CachedStatement, Config, Connection, InterruptHandle};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Opens the database once and hands out connections to it.
pub struct DuckDbConnector {
    /// Only used to clone new connections from (`Connection` is not `Sync`).
    root: Mutex<Connection>,
    timeout: Duration,
    watchdog: Arc<Watchdog>,
}

impl DuckDbConnector {
    pub fn new(target: &Target, opts: &Options) -> Result<DuckDbConnector> {
        let what = match target {
            Target::DuckdbMemory => "the in-memory DuckDB database".to_string(),
            Target::DuckdbFile(p) => format!("the DuckDB database `{p}`"),
            _ => return Err(DbError::new(ErrorKind::Connection, format!("the DuckDB backend cannot open {target:?}"))),
        };
        let fail = |e: ::duckdb::Error| DbError::new(ErrorKind::Connection, format!("cannot open {what}: {}", map_err(e).message));
        let mut config = Config::default();
        if opts.read_only {
            config = config.access_mode(AccessMode::ReadOnly).map_err(fail)?;
        }
        let conn = match target {
            Target::DuckdbFile(p) => Connection::open_with_flags(p, config),
            _ => Connection::open_in_memory_with_flags(config),
        }
        .map_err(fail)?;
        let watchdog = Watchdog::start(opts.timeout)?;
        Ok(DuckDbConnector { root: Mutex::new(conn), timeout: opts.timeout, watchdog })
    }
}

impl Connector for DuckDbConnector {
    fn connect(&self) -> Result<Box<dyn Backend>> {
        let conn = lock(&self.root)
            .try_clone()
            .map_err(|e| DbError::new(ErrorKind::Connection, format!("cannot open a DuckDB connection: {}", map_err(e).message)))?;
        conn.set_prepared_statement_cache_capacity(128);
        let slot = self.watchdog.register(conn.interrupt_handle());
        Ok(Box::new(DuckDb { conn, timeout: self.timeout, watchdog: self.watchdog.clone(), slot, in_tx: false, failed_in_tx: Cell::new(false) }))
    }
}

/// One connection to the shared database instance.
pub struct DuckDb {
    conn: Connection,
    timeout: Duration,
    watchdog: Arc<Watchdog>,
    slot: Arc<Slot>,
    /// Inside BEGIN ... COMMIT/ROLLBACK.
    in_tx: bool,
    /// A statement failed since BEGIN. DuckDB then aborts the transaction (unless the SQL was
    /// merely rejected by the parser or binder), and a COMMIT quietly rolls back.
    failed_in_tx: Cell<bool>,
}

// ---------------------------------------------------------------------------------------------
// Timeouts. DuckDB has no statement timeout of its own, only an interrupt: one watchdog thread
// per database interrupts a connection whose statement runs past its deadline. Deadlines are
// atomics so that a streamed query can stop the clock cheaply around every row it hands out.

/// `Slot::deadline` when no statement is running.
const IDLE: u64 = u64::MAX;
/// `Slot::deadline` while a streamed query waits for its consumer (the clock is stopped).
const PAUSED: u64 = u64::MAX - 1;

struct Slot {
    /// Nanoseconds after `Timer::epoch`, or IDLE / PAUSED.
    deadline: AtomicU64,
    /// The watchdog interrupted the running statement.
    fired: AtomicBool,
    handle: Arc<InterruptHandle>,
}

struct Timer {
    epoch: Instant,
    timeout_ns: u64,
    state: Mutex<TimerState>,
    wake: Condvar,
}

struct TimerState {
    slots: Vec<Weak<Slot>>,
    stop: bool,
}

impl Timer {
    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos().min(PAUSED as u128 - 1) as u64
    }

    fn deadline(&self) -> u64 {
        self.now().saturating_add(self.timeout_ns).min(PAUSED - 1)
    }

    fn run(&self) {
        let mut st = lock(&self.state);
        loop {
            if st.stop {
                return;
            }
            let now = self.now();
            let mut next = IDLE;
            st.slots.retain(|w| w.strong_count() > 0);
            for s in st.slots.iter().filter_map(Weak::upgrade) {
                match s.deadline.load(SeqCst) {
                    IDLE => {}
                    // the clock restarts with at least `timeout` to go: look again then
                    PAUSED => next = next.min(now.saturating_add(self.timeout_ns)),
                    d if d <= now => {
                        if !s.fired.swap(true, SeqCst) {
                            s.handle.interrupt();
                        }
                    }
                    d => next = next.min(d),
                }
            }
            st = if next == IDLE {
                self.wake.wait(st).unwrap_or_else(|p| p.into_inner())
            } else {
                self.wake.wait_timeout(st, Duration::from_nanos(next - now)).unwrap_or_else(|p| p.into_inner()).0
            };
        }
    }
}

/// The owner of a database's watchdog thread: the thread stops when the connector and every
/// connection have been dropped.
struct Watchdog(Arc<Timer>);

impl Watchdog {
    fn start(timeout: Duration) -> Result<Arc<Watchdog>> {
        let timer = Arc::new(Timer {
            epoch: Instant::now(),
            timeout_ns: timeout.as_nanos().clamp(1, (PAUSED - 1) as u128) as u64,
            state: Mutex::new(TimerState { slots: Vec::new(), stop: false }),
            wake: Condvar::new(),
        });
        let t = timer.clone();
        std::thread::Builder::new()
            .name("noodle-duckdb-timeout".into())
            .spawn(move || t.run())
            .map_err(|e| DbError::new(ErrorKind::Connection, format!("cannot start the DuckDB timeout thread: {e}")))?;
        Ok(Arc::new(Watchdog(timer)))
    }

    fn register(&self, handle: Arc<InterruptHandle>) -> Arc<Slot> {
        let slot = Arc::new(Slot { deadline: AtomicU64::new(IDLE), fired: AtomicBool::new(false), handle });
        lock(&self.0.state).slots.push(Arc::downgrade(&slot));
        slot
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        lock(&self.0.state).stop = true;
        self.0.wake.notify_one();
    }
}

/// A running statement's clock; stops it when dropped.
///
/// Starting a clock takes the watchdog's lock, which the watchdog holds while it checks the
/// deadlines and interrupts: so an interrupt meant for the previous statement cannot land in
/// this one (an interrupt that reaches an idle connection is forgotten when the next statement
/// starts), and the wake-up for the new deadline cannot be missed. Every later deadline of the
/// same clock is later than the one the thread last saw, or the thread saw the clock paused
/// and looks again within `timeout`, so moving a deadline is a plain atomic store: cheap
/// enough to do around every streamed row.
struct Clock<'a> {
    timer: &'a Timer,
    slot: &'a Slot,
}

impl<'a> Clock<'a> {
    fn start(watchdog: &'a Watchdog, slot: &'a Slot) -> Clock<'a> {
        let timer = &*watchdog.0;
        let _st = lock(&timer.state);
        slot.fired.store(false, SeqCst);
        slot.deadline.store(timer.deadline(), SeqCst);
        timer.wake.notify_one();
        Clock { timer, slot }
    }
    /// Stops the clock while the program, not DuckDB, is working.
    fn pause(&self) {
        if !self.slot.fired.load(SeqCst) {
            self.slot.deadline.store(PAUSED, SeqCst);
        }
    }
    /// Starts the clock again with the full timeout.
    fn resume(&self) {
        if !self.slot.fired.load(SeqCst) {
            self.slot.deadline.store(self.timer.deadline(), SeqCst);
        }
    }
}

impl Drop for Clock<'_> {
    fn drop(&mut self) {
        self.slot.deadline.store(IDLE, SeqCst);
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Classifies a DuckDB error. DuckDB reports no SQLSTATE through its C API, only messages that
/// start with the exception class ("Constraint Error: ...", "Parser Error: ...").
fn map_err(e: ::duckdb::Error) -> DbError {
    use ::duckdb::Error as E;
    match e {
        E::DuckDBFailure(_, msg) => classify(msg.as_deref().unwrap_or("DuckDB reported an error without a message")),
        E::InvalidParameterCount(got, want) => DbError::new(ErrorKind::Query, format!("the statement has {want} placeholders but {got} parameters were given")),
        E::ToSqlConversionFailure(e) => DbError::new(ErrorKind::Type, format!("cannot pass a value to DuckDB: {e}")),
        E::FromSqlConversionFailure(i, t, e) => DbError::new(
            ErrorKind::Type,
            format!("result column {} has type {t:?}, which Noodle cannot read ({e}); cast it in SQL (for example `x::VARCHAR`)", i + 1),
        ),
        E::Utf8Error(e) => DbError::new(ErrorKind::Type, format!("DuckDB returned text that is not valid UTF-8: {e}")),
        E::NulError(_) => DbError::new(ErrorKind::Query, "the SQL text contains a NUL character"),
        e => DbError::new(ErrorKind::Query, e.to_string().trim().to_string()),
    }
}

fn classify(msg: &str) -> DbError {
    let text = msg.trim();
    let class = text.split_once(" Error:").map(|(c, _)| c.trim()).unwrap_or("");
    let lower = text.to_ascii_lowercase();
    let kind = match class {
        "Constraint" => ErrorKind::Constraint,
        "INTERRUPT" | "Interrupt" => ErrorKind::Timeout,
        "Parser" | "Binder" | "Catalog" | "Syntax" => ErrorKind::Query,
        "TransactionContext" | "Transaction" => ErrorKind::Transaction,
        _ if lower.contains("duplicate key") || lower.contains("violates") && lower.contains("constraint") => ErrorKind::Constraint,
        _ if lower.contains("read-only") || lower.contains("read only") => ErrorKind::ReadOnly,
        _ if lower.contains("interrupted") => ErrorKind::Timeout,
        _ if lower.contains("transaction") && (lower.contains("conflict") || lower.contains("aborted")) => ErrorKind::Transaction,
        _ => ErrorKind::Query,
    };
    DbError::new(kind, text)
}

impl DuckDb {
    /// Maps an error of the running statement; an interrupt the watchdog caused is a timeout.
    fn err(&self, e: ::duckdb::Error) -> DbError {
        if self.in_tx {
            self.failed_in_tx.set(true);
        }
        let d = map_err(e);
        if d.kind == ErrorKind::Timeout || self.slot.fired.load(SeqCst) && d.message.to_ascii_lowercase().contains("interrupt") {
            return DbError::new(ErrorKind::Timeout, format!("the statement ran longer than the timeout ({:?}) and was interrupted", self.timeout));
        }
        d
    }

    fn prepare(&self, sql: &str) -> Result<CachedStatement<'_>> {
        // The duckdb crate runs all but the last statement of a multi-statement text while
        // preparing it, so a cached statement would run them only once: refuse them here.
        if has_several_statements(sql) {
            return Err(DbError::new(ErrorKind::Query, "only one statement can be run at a time with parameters; run several with a migration or `batch`"));
        }
        self.conn.prepare_cached(sql).map_err(|e| self.err(e))
    }
}

/// Does `sql` hold more than one statement? (A `;` outside quotes and comments followed by
/// anything but blanks, comments and more `;`.)
fn has_several_statements(sql: &str) -> bool {
    let b = sql.as_bytes();
    let mut i = 0;
    let mut ended = false;
    while i < b.len() {
        if let Some(j) = crate::sql::skip_literal(sql, i) {
            // after a `;`, only comments may follow
            if ended && !matches!(b[i], b'-' | b'/') {
                return true;
            }
            i = j;
            continue;
        }
        match b[i] {
            b';' => ended = true,
            c if c.is_ascii_whitespace() => {}
            _ if ended => return true,
            _ => {}
        }
        i += 1;
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Values

/// A Noodle value bound as a DuckDB parameter.
struct Param<'a>(&'a Value);

impl ::duckdb::ToSql for Param<'_> {
    fn to_sql(&self) -> ::duckdb::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self.0 {
            Value::Null => ValueRef::Null,
            Value::Bool(b) => ValueRef::Boolean(*b),
            Value::Int(i) => ValueRef::BigInt(*i),
            Value::Float(f) => ValueRef::Double(*f),
            Value::Str(s) => ValueRef::Text(s.as_bytes()),
            Value::Bytes(b) => ValueRef::Blob(b),
        }))
    }
}

fn bind(stmt: &mut CachedStatement<'_>, params: &[Value]) -> Result<()> {
    let want = stmt.parameter_count();
    if want != params.len() {
        return Err(DbError::new(ErrorKind::Query, format!("the statement has {want} placeholders but {} parameters were given", params.len())));
    }
    for (i, v) in params.iter().enumerate() {
        stmt.raw_bind_parameter(i + 1, Param(v)).map_err(map_err)?;
    }
    Ok(())
}

/// How to read a result column, decided once from its DuckDB type.
#[derive(Clone, Debug, PartialEq)]
enum Read {
    Null,
    Bool,
    /// Every integer type; UBIGINT, HUGEINT and UHUGEINT values must fit in 64 bits.
    Int,
    Float,
    Decimal,
    Text,
    /// An ENUM's label.
    Enum,
    Uuid,
    Blob,
    Date,
    Timestamp,
    TimestampTz,
    Time,
    /// A type Noodle has no value for; the SQL spelling of the type.
    Unsupported(String),
}

fn read_kind(t: &LogicalTypeHandle) -> Read {
    use LogicalTypeId as T;
    match t.try_id() {
        Ok(T::SqlNull) => Read::Null,
        Ok(T::Boolean) => Read::Bool,
        Ok(T::Tinyint | T::Smallint | T::Integer | T::Bigint | T::UTinyint | T::USmallint | T::UInteger | T::UBigint | T::Hugeint | T::UHugeint) => Read::Int,
        Ok(T::Float | T::Double) => Read::Float,
        Ok(T::Decimal) => Read::Decimal,
        // JSON is VARCHAR with an alias
        Ok(T::Varchar) => Read::Text,
        Ok(T::Enum) => Read::Enum,
        Ok(T::Uuid) => Read::Uuid,
        Ok(T::Blob) => Read::Blob,
        Ok(T::Date) => Read::Date,
        Ok(T::Timestamp | T::TimestampS | T::TimestampMs | T::TimestampNs) => Read::Timestamp,
        Ok(T::TimestampTZ) => Read::TimestampTz,
        Ok(T::Time) => Read::Time,
        _ => Read::Unsupported(type_name(t, 0)),
    }
}

/// The SQL spelling of a DuckDB type, for messages.
fn type_name(t: &LogicalTypeHandle, depth: usize) -> String {
    use LogicalTypeId as T;
    if let Some(alias) = t.get_alias() {
        return alias;
    }
    let Ok(id) = t.try_id() else { return format!("an unknown type (DuckDB type id {})", t.raw_id()) };
    let child = |i: usize| if depth > 8 { "...".to_string() } else { type_name(&t.child(i), depth + 1) };
    match id {
        T::List => format!("{}[]", child(0)),
        T::Array => format!("{}[n] (ARRAY)", child(0)),
        T::Map => format!("MAP({}, {})", child(0), child(1)),
        T::Struct | T::Union => {
            let fields: Vec<String> = (0..t.num_children()).map(|i| format!("{} {}", t.child_name(i), child(i))).collect();
            format!("{}({})", if id == T::Struct { "STRUCT" } else { "UNION" }, fields.join(", "))
        }
        T::Boolean => "BOOLEAN".into(),
        T::Tinyint => "TINYINT".into(),
        T::Smallint => "SMALLINT".into(),
        T::Integer => "INTEGER".into(),
        T::Bigint => "BIGINT".into(),
        T::Hugeint => "HUGEINT".into(),
        T::UTinyint => "UTINYINT".into(),
        T::USmallint => "USMALLINT".into(),
        T::UInteger => "UINTEGER".into(),
        T::UBigint => "UBIGINT".into(),
        T::UHugeint => "UHUGEINT".into(),
        T::Float => "FLOAT".into(),
        T::Double => "DOUBLE".into(),
        T::Decimal => format!("DECIMAL({},{})", t.decimal_width(), t.decimal_scale()),
        T::Varchar => "VARCHAR".into(),
        T::Blob => "BLOB".into(),
        T::Date => "DATE".into(),
        T::Time => "TIME".into(),
        T::TimeNs => "TIME_NS".into(),
        T::TimeTZ => "TIME WITH TIME ZONE".into(),
        T::Timestamp => "TIMESTAMP".into(),
        T::TimestampS => "TIMESTAMP_S".into(),
        T::TimestampMs => "TIMESTAMP_MS".into(),
        T::TimestampNs => "TIMESTAMP_NS".into(),
        T::TimestampTZ => "TIMESTAMP WITH TIME ZONE".into(),
        T::Interval => "INTERVAL".into(),
        T::Uuid => "UUID".into(),
        T::Enum => "ENUM".into(),
        T::Bit => "BIT".into(),
        T::Bignum => "BIGNUM".into(),
        T::Geometry => "GEOMETRY".into(),
        T::Variant => "VARIANT".into(),
        other => format!("{other:?}").to_uppercase(),
    }
}

fn cannot_read(column: &str, type_name: &str) -> DbError {
    DbError::new(ErrorKind::Type, format!("column `{column}` has type {type_name}, which Noodle cannot read; cast it in SQL (for example `{column}::VARCHAR`)"))
}

fn too_wide(column: &str, v: impl std::fmt::Display) -> DbError {
    DbError::new(
        ErrorKind::Type,
        format!("column `{column}` holds {v}, which does not fit in a 64-bit int; cast it in SQL (for example `{column}::DOUBLE` or `{column}::VARCHAR`)"),
    )
}

/// Splits a count of `unit`s since the epoch into whole seconds and nanoseconds.
fn split_time(unit: TimeUnit, v: i64) -> (i64, u32) {
    let per_sec: i64 = match unit {
        TimeUnit::Second => 1,
        TimeUnit::Millisecond => 1_000,
        TimeUnit::Microsecond => 1_000_000,
        TimeUnit::Nanosecond => 1_000_000_000,
    };
    let secs = v.div_euclid(per_sec);
    let frac = v.rem_euclid(per_sec) as u32 * (1_000_000_000 / per_sec as u32);
    (secs, frac)
}

/// ".ffffff" (or nine digits where nanoseconds matter), nothing for whole seconds.
fn fraction(nanos: u32) -> String {
    match nanos {
        0 => String::new(),
        n if n % 1000 == 0 => format!(".{:06}", n / 1000),
        n => format!(".{n:09}"),
    }
}

fn timestamp_text(unit: TimeUnit, v: i64) -> String {
    // DuckDB's infinite timestamps
    if v == i64::MAX {
        return "infinity".into();
    }
    if v == -i64::MAX {
        return "-infinity".into();
    }
    let (secs, nanos) = split_time(unit, v);
    match chrono::DateTime::from_timestamp(secs, 0) {
        Some(t) => format!("{}{}", t.naive_utc().format("%Y-%m-%d %H:%M:%S"), fraction(nanos)),
        None => format!("{secs} seconds after 1970-01-01"),
    }
}

fn time_text(unit: TimeUnit, v: i64) -> String {
    let (secs, nanos) = split_time(unit, v);
    // TIME runs from 00:00:00 to 24:00:00 inclusive
    format!("{:02}:{:02}:{:02}{}", secs / 3600, secs / 60 % 60, secs % 60, fraction(nanos))
}

fn date_text(days: i32) -> String {
    match days {
        i32::MAX => return "infinity".into(),
        d if d == -i32::MAX => return "-infinity".into(),
        _ => {}
    }
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    match epoch.checked_add_signed(chrono::TimeDelta::days(days as i64)) {
        Some(d) => d.format("%Y-%m-%d").to_string(),
        None => format!("{days} days after 1970-01-01"),
    }
}

fn uuid_text(b: &[u8]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    if h.len() != 32 {
        return h;
    }
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

fn text(column: &str, b: &[u8]) -> Result<String> {
    String::from_utf8(b.to_vec())
        .map_err(|_| DbError::new(ErrorKind::Type, format!("column `{column}` holds text that is not valid UTF-8; read it as a BLOB (`{column}::BLOB`)")))
}

/// The label of an ENUM value, which DuckDB hands over dictionary-encoded.
fn enum_text(e: EnumType<'_>, row: usize) -> Option<String> {
    use ::duckdb::arrow::array::{Array, StringArray};
    let (key, values) = match e {
        EnumType::UInt8(d) => (*d.keys().values().get(row)? as usize, d.values()),
        EnumType::UInt16(d) => (*d.keys().values().get(row)? as usize, d.values()),
        EnumType::UInt32(d) => (*d.keys().values().get(row)? as usize, d.values()),
    };
    let labels = values.as_any().downcast_ref::<StringArray>()?;
    (key < labels.len()).then(|| labels.value(key).to_string())
}

/// Converts one value of a column read as `kind`.
fn read_value(kind: &Read, column: &str, v: ValueRef<'_>) -> Result<Value> {
    if let ValueRef::Null = v {
        return Ok(Value::Null);
    }
    let odd = || DbError::new(ErrorKind::Type, format!("column `{column}`: DuckDB returned {:?} for a {kind:?} column", v.data_type()));
    Ok(match (kind, v) {
        (Read::Bool, ValueRef::Boolean(b)) => Value::Bool(b),
        (Read::Int, ValueRef::TinyInt(i)) => Value::Int(i as i64),
        (Read::Int, ValueRef::SmallInt(i)) => Value::Int(i as i64),
        (Read::Int, ValueRef::Int(i)) => Value::Int(i as i64),
        (Read::Int, ValueRef::BigInt(i)) => Value::Int(i),
        (Read::Int, ValueRef::UTinyInt(i)) => Value::Int(i as i64),
        (Read::Int, ValueRef::USmallInt(i)) => Value::Int(i as i64),
        (Read::Int, ValueRef::UInt(i)) => Value::Int(i as i64),
        (Read::Int, ValueRef::UBigInt(i)) => Value::Int(i64::try_from(i).map_err(|_| too_wide(column, i))?),
        (Read::Int, ValueRef::HugeInt(i)) => Value::Int(i64::try_from(i).map_err(|_| too_wide(column, i))?),
        (Read::Int, ValueRef::UHugeInt(i)) => Value::Int(i64::try_from(i).map_err(|_| too_wide(column, i))?),
        // through the f32's shortest text, so that 0.1::FLOAT reads as 0.1, not 0.10000000149011612
        (Read::Float, ValueRef::Float(f)) => Value::Float(f.to_string().parse().unwrap_or(f as f64)),
        (Read::Float, ValueRef::Double(f)) => Value::Float(f),
        (Read::Decimal, ValueRef::Decimal(d)) => Value::Str(d.to_string()),
        (Read::Decimal, ValueRef::HugeInt(i)) => Value::Str(i.to_string()),
        (Read::Text | Read::Uuid, ValueRef::Text(t)) => Value::Str(text(column, t)?),
        (Read::Uuid, ValueRef::Blob(b)) => Value::Str(uuid_text(b)),
        (Read::Enum, ValueRef::Enum(e, row)) => Value::Str(enum_text(e, row).ok_or_else(odd)?),
        (Read::Blob, ValueRef::Blob(b)) => Value::Bytes(b.to_vec()),
        (Read::Date, ValueRef::Date32(d)) => Value::Str(date_text(d)),
        (Read::Timestamp, ValueRef::Timestamp(u, t)) => Value::Str(timestamp_text(u, t)),
        (Read::TimestampTz, ValueRef::Timestamp(u, t)) => {
            let s = timestamp_text(u, t);
            Value::Str(if s.ends_with("infinity") { s } else { s + "+00:00" })
        }
        (Read::Time, ValueRef::Time64(u, t)) => Value::Str(time_text(u, t)),
        _ => return Err(odd()),
    })
}

// ---------------------------------------------------------------------------------------------

impl Backend for DuckDb {
    fn placeholder(&self) -> Placeholder {
        Placeholder::Dollar
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64> {
        let _clock = Clock::start(&self.watchdog, &self.slot);
        let mut stmt = self.prepare(sql)?;
        bind(&mut stmt, params)?;
        let n = stmt.raw_execute().map_err(|e| self.err(e))?;
        Ok(n as u64)
    }

    fn execute_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> Result<u64> {
        let clock = Clock::start(&self.watchdog, &self.slot);
        let mut stmt = self.prepare(sql)?;
        let mut n = 0;
        for r in rows {
            // each row is a statement of its own
            clock.resume();
            bind(&mut stmt, r)?;
            n += stmt.raw_execute().map_err(|e| self.err(e))? as u64;
        }
        Ok(n)
    }

    fn stream(&mut self, sql: &str, params: &[Value], columns: &mut dyn FnMut(Vec<String>), sink: &mut dyn FnMut(Vec<Value>) -> bool) -> Result<()> {
        let clock = Clock::start(&self.watchdog, &self.slot);
        let mut stmt = self.prepare(sql)?;
        let want = stmt.parameter_count();
        if want != params.len() {
            return Err(DbError::new(ErrorKind::Query, format!("the statement has {want} placeholders but {} parameters were given", params.len())));
        }
        // `stream_arrow` binds and runs the statement as a streaming query, whose rows DuckDB
        // produces as they are fetched; rows are then read through `raw_query`, which fetches
        // from that same result (the Arrow iterator itself would panic on a fetch error).
        drop(stmt.stream_arrow(::duckdb::params_from_iter(params.iter().map(Param))).map_err(|e| self.err(e))?);
        let names = stmt.column_names();
        let kinds: Vec<Read> = (0..names.len()).map(|i| read_kind(&stmt.column_logical_type(i))).collect();
        if let Some((name, Read::Unsupported(t))) = names.iter().zip(&kinds).find(|(_, k)| matches!(k, Read::Unsupported(_))) {
            let e = cannot_read(name, t);
            stmt.discard();
            return Err(e);
        }
        let n = names.len();
        columns(names.clone());
        let finished = {
            let mut rows = stmt.raw_query();
            let mut read_all = || -> Result<bool> {
                while let Some(row) = rows.next().map_err(|e| self.err(e))? {
                    let mut vals = Vec::with_capacity(n);
                    for (i, kind) in kinds.iter().enumerate() {
                        // a NULL-typed column holds only NULLs (and its Arrow form cannot be read)
                        if *kind == Read::Null {
                            vals.push(Value::Null);
                            continue;
                        }
                        vals.push(read_value(kind, &names[i], row.get_ref(i).map_err(map_err)?)?);
                    }
                    clock.pause();
                    let more = sink(vals);
                    clock.resume();
                    if !more {
                        return Ok(false);
                    }
                }
                Ok(true)
            };
            read_all()
        };
        if finished != Ok(true) {
            // An unfinished streaming result keeps its query open: drop the statement with it
            // rather than keep it in the cache.
            stmt.discard();
        }
        finished.map(|_| ())
    }

    fn begin(&mut self, isolation: Option<Isolation>) -> Result<()> {
        if let Some(level) = isolation {
            return Err(DbError::new(
                ErrorKind::Transaction,
                format!(
                    "DuckDB runs every transaction with snapshot isolation and cannot be asked for `{}`; leave `isolation` out",
                    level.sql().to_lowercase()
                ),
            ));
        }
        self.batch("BEGIN TRANSACTION")?;
        self.in_tx = true;
        self.failed_in_tx.set(false);
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        if self.in_tx && self.failed_in_tx.get() {
            // COMMIT of an aborted transaction succeeds without committing anything: find out
            // first, and say so
            if let Err(e) = self.conn.execute_batch("SELECT 1") {
                if e.to_string().to_ascii_lowercase().contains("aborted") {
                    let _ = self.rollback();
                    return Err(DbError::new(
                        ErrorKind::Transaction,
                        "the transaction was rolled back, not committed: a statement in it failed, and DuckDB does not go on with a transaction after a failed statement",
                    ));
                }
            }
        }
        self.in_tx = false;
        self.batch("COMMIT")
    }

    fn rollback(&mut self) -> Result<()> {
        self.in_tx = false;
        // DuckDB cannot say whether a transaction is open (and a failed COMMIT ends it), so
        // roll back and accept that there was nothing to roll back
        match self.batch("ROLLBACK") {
            Err(e) if e.message.to_ascii_lowercase().contains("no transaction is active") => Ok(()),
            r => r,
        }
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        let _clock = Clock::start(&self.watchdog, &self.slot);
        self.conn.execute_batch(sql).map_err(|e| self.err(e))
    }

    fn tables(&mut self) -> Result<Vec<String>> {
        let rs = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() AND table_schema = current_schema() ORDER BY table_name",
            &[],
        )?;
        Ok(rs.rows.into_iter().filter_map(|r| if let Some(Value::Str(s)) = r.into_iter().next() { Some(s) } else { None }).collect())
    }

    fn columns(&mut self, table: &str) -> Result<Vec<ColumnInfo>> {
        // DuckDB names are case-insensitive, as in `SELECT * FROM Users`
        let rs = self.query(
            "SELECT c.column_name, c.data_type, c.is_nullable = 'YES', coalesce(list_contains(pk.cols, c.column_name), false) \
             FROM information_schema.columns c \
             LEFT JOIN (SELECT table_name, flatten(list(constraint_column_names)) AS cols FROM duckdb_constraints() \
                        WHERE constraint_type = 'PRIMARY KEY' AND database_name = current_database() AND schema_name = current_schema() \
                        GROUP BY table_name) pk ON pk.table_name = c.table_name \
             WHERE c.table_catalog = current_database() AND c.table_schema = current_schema() AND lower(c.table_name) = lower($1) \
             ORDER BY c.ordinal_position",
            &[Value::Str(table.to_string())],
        )?;
        Ok(rs
            .rows
            .into_iter()
            .map(|r| ColumnInfo {
                name: if let Value::Str(s) = &r[0] { s.clone() } else { String::new() },
                type_name: if let Value::Str(s) = &r[1] { s.clone() } else { String::new() },
                nullable: r[2] == Value::Bool(true),
                primary_key: r[3] == Value::Bool(true),
            })
            .collect())
    }

    fn savepoints(&self) -> bool {
        // DuckDB has no SAVEPOINT, so transactions cannot nest
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_statements() {
        assert!(!has_several_statements("select 1"));
        assert!(!has_several_statements("select 1;"));
        assert!(!has_several_statements("select 1; -- done\n ;  "));
        assert!(!has_several_statements("select ';select 2' /* ; x */"));
        assert!(!has_several_statements("select $$;x$$, $1"));
        assert!(has_several_statements("select 1; select 2"));
        assert!(has_several_statements("insert into t values (1);insert into t values (2)"));
        assert!(has_several_statements("select 1; 'x'"));
        assert!(!has_several_statements("select E'it\\'s; fine', e'\\\\'"));
        assert!(has_several_statements("select e'\\\\'; select 2"));
        assert!(!has_several_statements("select some'x; y'"));
    }

    #[test]
    fn text_forms() {
        assert_eq!(timestamp_text(TimeUnit::Microsecond, 0), "1970-01-01 00:00:00");
        assert_eq!(timestamp_text(TimeUnit::Microsecond, 1_500_000), "1970-01-01 00:00:01.500000");
        assert_eq!(timestamp_text(TimeUnit::Microsecond, -1), "1969-12-31 23:59:59.999999");
        assert_eq!(timestamp_text(TimeUnit::Nanosecond, 1), "1970-01-01 00:00:00.000000001");
        assert_eq!(time_text(TimeUnit::Microsecond, 86_400_000_000), "24:00:00");
        assert_eq!(time_text(TimeUnit::Microsecond, 3_723_000_001), "01:02:03.000001");
        assert_eq!(date_text(19_782), "2024-02-29");
        assert_eq!(date_text(-1), "1969-12-31");
        assert_eq!(uuid_text(&[0xab; 16]), "abababab-abab-abab-abab-abababababab");
    }

    #[test]
    fn classifies_messages() {
        assert_eq!(classify("Constraint Error: Duplicate key \"id: 1\" violates primary key constraint.").kind, ErrorKind::Constraint);
        assert_eq!(classify("Parser Error: syntax error at or near \"SELEC\"").kind, ErrorKind::Query);
        assert_eq!(classify("Catalog Error: Table with name nope does not exist!").kind, ErrorKind::Query);
        assert_eq!(classify("INTERRUPT Error: Interrupted!").kind, ErrorKind::Timeout);
        assert_eq!(classify("TransactionContext Error: Catalog write-write conflict on create with \"t\"").kind, ErrorKind::Transaction);
        assert_eq!(
            classify("Invalid Input Error: Cannot execute statement of type \"INSERT\" on database \"db\" which is attached in read-only mode!").kind,
            ErrorKind::ReadOnly
        );
        assert_eq!(classify("  Binder Error: x  ").message, "Binder Error: x");
    }
}
