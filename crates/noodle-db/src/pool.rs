//! The connection pool, transactions and streaming cursors.

use crate::sql::{normalize, Normalized, Params};
use std::collections::HashMap;
use crate::{Backend, ColumnInfo, Connector, DbError, ErrorKind, Isolation, Options, Placeholder, Result, ResultSet, Target, Value};
use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Instant;

struct PoolState {
    idle: Vec<Box<dyn Backend>>,
    /// Connections open now, idle or checked out.
    open: usize,
    /// Connections held for a long time by this program: open transactions and cursors.
    held: usize,
    /// Threads waiting for a connection (only then does a release wake one: waking costs a
    /// system call on every statement otherwise).
    waiting: usize,
}

/// A pool of connections to one database.
pub struct Database {
    target: Target,
    opts: Options,
    max: usize,
    placeholder: Placeholder,
    savepoints: bool,
    connector: Box<dyn Connector>,
    state: Mutex<PoolState>,
    freed: Condvar,
    /// Statements with their placeholders rewritten, by the program's SQL text: a program runs
    /// the same few statements many times.
    rewritten: Mutex<HashMap<Box<str>, Arc<Normalized>>>,
}

/// Most statements `rewritten` keeps (it is emptied when full).
const REWRITTEN_MAX: usize = 512;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A checked-out connection; it goes back to the pool when dropped (or is closed if broken).
pub(crate) struct Pooled {
    db: Arc<Database>,
    conn: Option<Box<dyn Backend>>,
    held: bool,
}

impl Pooled {
    fn conn(&mut self) -> &mut dyn Backend {
        self.conn.as_mut().expect("pooled connection present until drop").as_mut()
    }
    fn hold(&mut self) {
        if !self.held {
            self.held = true;
            lock(&self.db.state).held += 1;
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let mut conn = self.conn.take();
        let broken = conn.as_mut().map(|c| c.is_broken()).unwrap_or(true);
        let mut st = lock(&self.db.state);
        if self.held {
            st.held -= 1;
        }
        match conn {
            Some(c) if !broken => st.idle.push(c),
            _ => st.open -= 1,
        }
        let wake = st.waiting > 0;
        drop(st);
        if wake {
            self.db.freed.notify_one();
        }
    }
}

impl Database {
    /// Opens a pool and one connection, so a bad URL, host or password fails here.
    pub fn connect(url: &str, mut opts: Options) -> Result<Arc<Database>> {
        let target = Target::parse(url)?;
        if opts.pool_size == 0 {
            return Err(DbError::new(ErrorKind::Connection, "pool_size must be at least 1"));
        }
        // every connection to `sqlite::memory:` would be a separate, empty database
        if target == Target::SqliteMemory {
            opts.pool_size = 1;
        }
        let connector = crate::connector(&target, &opts)?;
        let mut first = connector.connect()?;
        let placeholder = first.placeholder();
        let savepoints = first.savepoints();
        if first.is_broken() {
            return Err(DbError::new(ErrorKind::Connection, format!("cannot connect to `{url}`")));
        }
        let db = Database {
            max: opts.pool_size,
            target,
            opts,
            placeholder,
            savepoints,
            connector,
            state: Mutex::new(PoolState { idle: vec![first], open: 1, held: 0, waiting: 0 }),
            freed: Condvar::new(),
            rewritten: Mutex::new(HashMap::new()),
        };
        Ok(Arc::new(db))
    }

    pub fn backend_name(&self) -> &'static str {
        self.target.backend_name()
    }
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Connections open now (idle or in use).
    pub fn open_connections(&self) -> usize {
        lock(&self.state).open
    }

    fn acquire(self: &Arc<Self>) -> Result<Pooled> {
        // the clock is read only when the pool has to wait
        let mut deadline: Option<Instant> = None;
        let mut st = lock(&self.state);
        loop {
            if let Some(c) = st.idle.pop() {
                return Ok(Pooled { db: self.clone(), conn: Some(c), held: false });
            }
            if st.open < self.max {
                st.open += 1;
                drop(st);
                return match self.connector.connect() {
                    Ok(c) => Ok(Pooled { db: self.clone(), conn: Some(c), held: false }),
                    Err(e) => {
                        let mut st = lock(&self.state);
                        st.open -= 1;
                        let wake = st.waiting > 0;
                        drop(st);
                        if wake {
                            self.freed.notify_one();
                        }
                        Err(e)
                    }
                };
            }
            // Every connection is held by this program's own transactions and cursors, so
            // waiting could never succeed.
            if st.held >= self.max {
                let larger = if self.target == Target::SqliteMemory {
                    "an in-memory SQLite database has only one connection"
                } else {
                    "or connect with a larger `pool_size`"
                };
                return Err(DbError::new(
                    ErrorKind::Timeout,
                    format!(
                        "all {} connection{} of the pool {} held by open transactions or cursors; run statements inside a transaction through its handle (`tx.query(...)`), read the cursor to the end or close() it first, {larger}",
                        self.max,
                        if self.max == 1 { "" } else { "s" },
                        if self.max == 1 { "is" } else { "are" }
                    ),
                ));
            }
            let now = Instant::now();
            let deadline = *deadline.get_or_insert(now + self.opts.timeout);
            if now >= deadline {
                return Err(DbError::new(
                    ErrorKind::Timeout,
                    format!("no connection became free within {:?}: all {} are in use", self.opts.timeout, self.max),
                ));
            }
            st.waiting += 1;
            st = self.freed.wait_timeout(st, deadline - now).unwrap_or_else(|p| p.into_inner()).0;
            st.waiting -= 1;
        }
    }

    /// The statement with its placeholders in the backend's syntax.
    fn rewrite(&self, sql: &str) -> Result<Arc<Normalized>> {
        if let Some(n) = lock(&self.rewritten).get(sql) {
            return Ok(n.clone());
        }
        let n = Arc::new(normalize(sql, self.placeholder)?);
        let mut cache = lock(&self.rewritten);
        if cache.len() >= REWRITTEN_MAX {
            cache.clear();
        }
        cache.insert(sql.into(), n.clone());
        Ok(n)
    }

    fn prepare(&self, sql: &str, params: Params) -> Result<(Arc<Normalized>, Vec<Value>)> {
        let n = self.rewrite(sql)?;
        let values = n.bind(params)?;
        Ok((n, values))
    }

    pub fn execute(self: &Arc<Self>, sql: &str, params: Params) -> Result<u64> {
        let (n, values) = self.prepare(sql, params)?;
        self.acquire()?.conn().execute(&n.sql, &values)
    }

    pub fn query(self: &Arc<Self>, sql: &str, params: Params) -> Result<ResultSet> {
        let (n, values) = self.prepare(sql, params)?;
        self.acquire()?.conn().query(&n.sql, &values)
    }

    /// Runs one statement per parameter row, all in one transaction: all rows or none.
    pub fn execute_many(self: &Arc<Self>, sql: &str, rows: Vec<Params>) -> Result<u64> {
        let tx = self.begin(None)?;
        let n = tx.execute_many(sql, rows)?;
        tx.commit()?;
        Ok(n)
    }

    /// Streams a query's rows in batches from a background thread that holds one connection.
    pub fn cursor(self: &Arc<Self>, sql: &str, params: Params, batch: usize) -> Result<Cursor> {
        let (n, values) = self.prepare(sql, params)?;
        let mut conn = self.acquire()?;
        conn.hold();
        Cursor::start(conn, n.sql.clone(), values, batch.max(1))
    }

    pub fn begin(self: &Arc<Self>, isolation: Option<Isolation>) -> Result<Tx> {
        let mut conn = self.acquire()?;
        conn.conn().begin(isolation)?;
        conn.hold();
        Ok(Tx { db: self.clone(), shared: Arc::new(Mutex::new(TxShared { conn: Some(conn), open_levels: 1 })), level: 0, state: TxState::Open })
    }

    pub fn tables(self: &Arc<Self>) -> Result<Vec<String>> {
        self.acquire()?.conn().tables()
    }

    pub fn columns(self: &Arc<Self>, table: &str) -> Result<Vec<ColumnInfo>> {
        let cols = self.acquire()?.conn().columns(table)?;
        if cols.is_empty() {
            return Err(DbError::new(ErrorKind::Query, format!("no table named `{table}`")));
        }
        Ok(cols)
    }

    /// Applies the numbered `.sql` files of `dir` that have not been applied yet, each in its
    /// own transaction, recording them in `noodle_migrations`. Returns the files applied.
    pub fn migrate(self: &Arc<Self>, dir: &str) -> Result<Vec<String>> {
        let mut files = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| DbError::new(ErrorKind::Query, format!("cannot read the migrations folder `{dir}`: {e}")))?;
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if !name.ends_with(".sql") {
                continue;
            }
            let digits: String = name.chars().take_while(|c| c.is_ascii_digit()).collect();
            let Ok(version) = digits.parse::<i64>() else {
                return Err(DbError::new(ErrorKind::Query, format!("migration `{name}` must start with its number, as in `001_create_users.sql`")));
            };
            files.push((version, name, e.path()));
        }
        files.sort();
        for w in files.windows(2) {
            if w[0].0 == w[1].0 {
                return Err(DbError::new(ErrorKind::Query, format!("migrations `{}` and `{}` have the same number", w[0].1, w[1].1)));
            }
        }
        self.execute(
            "CREATE TABLE IF NOT EXISTS noodle_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
            Params::none(),
        )?;
        let done = self.query("SELECT version FROM noodle_migrations", Params::none())?;
        let done: Vec<i64> = done.rows.iter().filter_map(|r| if let Value::Int(v) = r[0] { Some(v) } else { None }).collect();
        let mut applied = Vec::new();
        for (version, name, path) in files {
            if done.contains(&version) {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(|e| DbError::new(ErrorKind::Query, format!("cannot read `{}`: {e}", path.display())))?;
            let tx = self.begin(None)?;
            let when = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
            tx.with_conn(|c| c.batch(&text)).map_err(|e| DbError { message: format!("migration `{name}` failed: {}", e.message), ..e })?;
            tx.execute("INSERT INTO noodle_migrations (version, name, applied_at) VALUES (?, ?, ?)", Params::Positional(vec![Value::Int(version), Value::Str(name.clone()), Value::Str(when)]))?;
            tx.commit()?;
            applied.push(name);
        }
        Ok(applied)
    }
}

struct TxShared {
    conn: Option<Pooled>,
    /// Levels still open: 1 for the transaction itself, +1 per open savepoint.
    open_levels: usize,
}

impl Drop for TxShared {
    fn drop(&mut self) {
        // never leave a half-finished transaction behind
        if let Some(mut c) = self.conn.take() {
            if c.conn().rollback().is_err() {
                c.conn = None;
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TxState {
    Open,
    Committed,
    RolledBack,
}

/// An open transaction (level 0) or savepoint (level 1, 2, ...) on one pinned connection.
pub struct Tx {
    db: Arc<Database>,
    shared: Arc<Mutex<TxShared>>,
    level: usize,
    state: TxState,
}

impl Tx {
    pub fn is_open(&self) -> bool {
        self.state == TxState::Open
    }

    fn check(&self, sh: &TxShared) -> Result<()> {
        match self.state {
            TxState::Committed => return Err(DbError::new(ErrorKind::Transaction, "the transaction has already been committed")),
            TxState::RolledBack => return Err(DbError::new(ErrorKind::Transaction, "the transaction has already been rolled back")),
            TxState::Open => {}
        }
        if sh.conn.is_none() || sh.open_levels <= self.level {
            return Err(DbError::new(ErrorKind::Transaction, "the transaction has already ended (an enclosing transaction finished first)"));
        }
        Ok(())
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut dyn Backend) -> Result<T>) -> Result<T> {
        let mut sh = lock(&self.shared);
        self.check(&sh)?;
        f(sh.conn.as_mut().unwrap().conn())
    }

    pub fn execute(&self, sql: &str, params: Params) -> Result<u64> {
        let (n, v) = self.db.prepare(sql, params)?;
        self.with_conn(|c| c.execute(&n.sql, &v))
    }

    pub fn query(&self, sql: &str, params: Params) -> Result<ResultSet> {
        let (n, v) = self.db.prepare(sql, params)?;
        self.with_conn(|c| c.query(&n.sql, &v))
    }

    pub fn execute_many(&self, sql: &str, rows: Vec<Params>) -> Result<u64> {
        let n = self.db.rewrite(sql)?;
        let mut values = Vec::with_capacity(rows.len());
        for r in rows {
            values.push(n.bind(r)?);
        }
        self.with_conn(|c| c.execute_many(&n.sql, &values))
    }

    /// A nested transaction: a savepoint inside this one.
    pub fn nested(&self) -> Result<Tx> {
        let mut sh = lock(&self.shared);
        self.check(&sh)?;
        if sh.open_levels != self.level + 1 {
            return Err(DbError::new(ErrorKind::Transaction, "a nested transaction is already open inside this one; finish it first"));
        }
        let pooled = sh.conn.as_mut().unwrap();
        if !pooled.db.savepoints {
            return Err(DbError::new(
                ErrorKind::Transaction,
                format!("{} does not support savepoints, so transactions cannot be nested", pooled.db.backend_name()),
            ));
        }
        let level = self.level + 1;
        pooled.conn().batch(&format!("SAVEPOINT noodle_sp{level}"))?;
        sh.open_levels += 1;
        Ok(Tx { db: self.db.clone(), shared: self.shared.clone(), level, state: TxState::Open })
    }

    fn finish(&mut self, commit: bool) -> Result<()> {
        let mut sh = lock(&self.shared);
        self.check(&sh)?;
        if sh.open_levels != self.level + 1 {
            return Err(DbError::new(ErrorKind::Transaction, "a nested transaction is still open inside this one; finish it first"));
        }
        self.state = if commit { TxState::Committed } else { TxState::RolledBack };
        sh.open_levels -= 1;
        let conn = sh.conn.as_mut().unwrap().conn();
        if self.level > 0 {
            let l = self.level;
            let r = if commit {
                conn.batch(&format!("RELEASE SAVEPOINT noodle_sp{l}"))
            } else {
                conn.batch(&format!("ROLLBACK TO SAVEPOINT noodle_sp{l}")).and_then(|_| conn.batch(&format!("RELEASE SAVEPOINT noodle_sp{l}")))
            };
            if r.is_err() {
                self.state = TxState::RolledBack;
            }
            return r;
        }
        let r = if commit { conn.commit() } else { conn.rollback() };
        let mut pooled = sh.conn.take().unwrap();
        if r.is_err() {
            self.state = TxState::RolledBack;
            // a failed COMMIT may leave the transaction open (SQLite when busy): end it
            if pooled.conn().rollback().is_err() && commit {
                pooled.conn = None;
            }
        }
        drop(sh);
        drop(pooled);
        r
    }

    pub fn commit(mut self) -> Result<()> {
        self.finish(true)
    }

    pub fn commit_mut(&mut self) -> Result<()> {
        self.finish(true)
    }

    pub fn rollback_mut(&mut self) -> Result<()> {
        self.finish(false)
    }

    /// Ends the transaction the way a `with` block does: commit when the block completed,
    /// roll back when it was left by an error or early. Does nothing if already ended.
    pub fn exit(&mut self, completed: bool) -> Result<()> {
        if self.state != TxState::Open {
            return Ok(());
        }
        self.finish(completed)
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.state == TxState::Open && self.level > 0 {
            let _ = self.finish(false);
        }
    }
}

enum Msg {
    Columns(Vec<String>),
    Rows(Vec<Vec<Value>>),
    Err(DbError),
}

/// Rows of a query, fetched in batches as they are read, so a result larger than memory can
/// be processed. Holds one pooled connection until it is exhausted or dropped.
pub struct Cursor {
    columns: Arc<[String]>,
    rx: Option<Receiver<Msg>>,
    buf: VecDeque<Vec<Value>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Cursor {
    fn drop(&mut self) {
        self.close();
    }
}

impl Cursor {
    fn start(mut conn: Pooled, sql: String, values: Vec<Value>, batch: usize) -> Result<Cursor> {
        // two batches in flight: the reader works while the program consumes
        let (tx, rx) = sync_channel::<Msg>(2);
        let reader = std::thread::Builder::new()
            .name("noodle-db-cursor".into())
            .spawn(move || {
                // the program chooses `batch`: room for a huge one is made as rows arrive
                let room = batch.min(4096);
                let mut pending = Vec::with_capacity(room);
                let alive = std::cell::Cell::new(true);
                let r = conn.conn().stream(
                    &sql,
                    &values,
                    &mut |cols| alive.set(tx.send(Msg::Columns(cols)).is_ok()),
                    &mut |row| {
                        pending.push(row);
                        if pending.len() >= batch {
                            let full = std::mem::replace(&mut pending, Vec::with_capacity(room));
                            alive.set(alive.get() && tx.send(Msg::Rows(full)).is_ok());
                        }
                        alive.get()
                    },
                );
                let alive = alive.get();
                match r {
                    Err(e) => {
                        let _ = tx.send(Msg::Err(e));
                    }
                    Ok(()) if alive && !pending.is_empty() => {
                        let _ = tx.send(Msg::Rows(pending));
                    }
                    Ok(()) => {}
                }
                drop(conn);
            })
            .map_err(|e| DbError::new(ErrorKind::Connection, format!("cannot start a cursor thread: {e}")))?;
        let failed = |e: DbError, reader: std::thread::JoinHandle<()>| {
            // wait until the reader has given the connection back
            let _ = reader.join();
            Err(e)
        };
        match rx.recv() {
            Ok(Msg::Columns(c)) => Ok(Cursor { columns: c.into(), rx: Some(rx), buf: VecDeque::new(), reader: Some(reader) }),
            Ok(Msg::Err(e)) => failed(e, reader),
            Ok(Msg::Rows(_)) | Err(_) => failed(DbError::new(ErrorKind::Query, "the cursor ended before reporting its columns"), reader),
        }
    }

    pub fn columns(&self) -> &Arc<[String]> {
        &self.columns
    }

    /// Stops reading and waits until the reader has given its connection back, so the next
    /// statement finds it in the pool. Later reads find no more rows.
    pub fn close(&mut self) {
        self.rx = None;
        self.buf.clear();
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }

    /// The next row, `None` at the end.
    pub fn next_row(&mut self) -> Result<Option<Vec<Value>>> {
        loop {
            if let Some(r) = self.buf.pop_front() {
                return Ok(Some(r));
            }
            let Some(rx) = &self.rx else { return Ok(None) };
            match rx.recv() {
                Ok(Msg::Rows(rows)) => self.buf.extend(rows),
                Ok(Msg::Err(e)) => {
                    self.rx = None;
                    return Err(e);
                }
                Ok(Msg::Columns(_)) => {}
                Err(_) => {
                    self.rx = None;
                    return Ok(None);
                }
            }
        }
    }

    /// Up to `n` rows at once (fewer only at the end).
    pub fn fetch(&mut self, n: usize) -> Result<Vec<Vec<Value>>> {
        let mut out = Vec::with_capacity(n.min(4096));
        while out.len() < n {
            match self.next_row()? {
                Some(r) => out.push(r),
                None => break,
            }
        }
        Ok(out)
    }
}
