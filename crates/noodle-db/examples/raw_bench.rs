//! The raw-driver baseline of `bench/db_compare`: the same three workloads as
//! `bench/db/*.noodle` and `bench/db/py_bench.py`, written straight against the drivers that
//! noodle-db uses (rusqlite, postgres, and duckdb with the `duckdb` feature), at the versions in
//! Cargo.lock, with no noodle-db code in between.
//!
//! ```sh
//! cargo run --release -p noodle-db --example raw_bench [--features duckdb] -- \
//!     <sqlite|postgres|duckdb> <url> <point|insert|scan|ping> [--rows N] [--lookups N] [--seed N] [--via noodle-db]
//! ```
//!
//! With `--via noodle-db` the same workloads go through noodle-db's own Rust API (pool,
//! placeholder normalisation, value conversion) instead of the driver: the VM's natives make
//! the same calls, so this splits Noodle's overhead between the database layer and the VM.
//!
//! URLs are noodle-db's (`sqlite::memory:`, `sqlite://path`, `postgres://...`,
//! `duckdb::memory:`, `duckdb://path`). Results are printed as `result <key> <value>` lines and
//! checked (a wrong answer exits with status 1). Keys:
//!
//! - point: `point_p50_us`, `point_p99_us` (each lookup timed alone), `point_ops_s` (a second
//!   pass over the same ids, timed as a whole)
//! - insert: `insert_rows_s` (one prepared INSERT per row, one transaction, commit included)
//! - scan: `scan_rows_s` (every row of the table read, `value` summed)
//! - ping: connects and prints `ok` (the script's check that a server is up)

use std::process::exit;
use std::time::Instant;

/// The id sequence every implementation uses: a 31-bit LCG, so Noodle, Python and Rust make
/// the same numbers with plain 64-bit integer arithmetic.
struct Lcg(u64);

impl Lcg {
    fn next_id(&mut self, n: u64) -> i64 {
        self.0 = (self.0 * 1103515245 + 12345) % 2147483648;
        (self.0 % n) as i64 + 1
    }
}

struct Args {
    backend: String,
    url: String,
    workload: String,
    rows: u64,
    lookups: u64,
    seed: u64,
    /// Through noodle-db's Rust API instead of the driver.
    via_layer: bool,
}

fn usage() -> ! {
    eprintln!("usage: raw_bench <sqlite|postgres|duckdb> <url> <point|insert|scan|ping> [--rows N] [--lookups N] [--seed N] [--via noodle-db]");
    exit(2)
}

fn parse_args() -> Args {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 3 {
        usage();
    }
    let mut args = Args { backend: a[0].clone(), url: a[1].clone(), workload: a[2].clone(), rows: 100_000, lookups: 100_000, seed: 42, via_layer: false };
    let mut i = 3;
    while i < a.len() {
        if a[i] == "--via" && a.get(i + 1).map(|s| s.as_str()) == Some("noodle-db") {
            args.via_layer = true;
            i += 2;
            continue;
        }
        let v = a.get(i + 1).and_then(|s| s.parse::<u64>().ok()).unwrap_or_else(|| usage());
        match a[i].as_str() {
            "--rows" => args.rows = v,
            "--lookups" => args.lookups = v,
            "--seed" => args.seed = v,
            _ => usage(),
        }
        i += 2;
    }
    args
}

fn fail(msg: String) -> ! {
    eprintln!("raw_bench: {msg}");
    exit(1)
}

/// The value, or the error with its chain of causes (the postgres crate's own message is
/// only "db error"; the server's is in its source).
fn check<T, E: std::error::Error>(r: Result<T, E>, what: &str) -> T {
    r.unwrap_or_else(|e| {
        let mut msg = format!("{what}: {e}");
        let mut src = e.source();
        while let Some(s) = src {
            msg.push_str(&format!(": {s}"));
            src = s.source();
        }
        fail(msg)
    })
}

fn report(key: &str, v: f64) {
    println!("result {key} {v:.3}");
}

/// p50 and p99 in microseconds, nearest rank on the sorted latencies, index (n-1)*p/100 (the
/// same rule in every implementation).
fn percentiles(mut lat_ns: Vec<u64>) -> (f64, f64) {
    lat_ns.sort_unstable();
    let n = lat_ns.len();
    let at = |p: usize| lat_ns[(n - 1) * p / 100] as f64 / 1000.0;
    (at(50), at(99))
}

/// The SQL that fills a table with ids 1..=n, names 'n<id>' and values id * 0.25: a recursive
/// CTE for SQLite, generate_series for PostgreSQL and DuckDB. The same text as the Noodle and
/// Python programs.
fn fill_sql(backend: &str, table: &str, n: u64) -> String {
    if backend == "sqlite" {
        format!(
            "INSERT INTO {table} (id, name, value) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {n}) SELECT x, 'n' || CAST(x AS VARCHAR), x * 0.25 FROM c"
        )
    } else {
        format!("INSERT INTO {table} (id, name, value) SELECT x, 'n' || CAST(x AS VARCHAR), x * 0.25 FROM generate_series(1, {n}) AS g(x)")
    }
}

fn create_sql(table: &str) -> String {
    format!("CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value DOUBLE PRECISION NOT NULL)")
}

/// What the workloads need from a driver. Every method is written against the driver's own
/// API in the implementations below; the trait only shares the timing and checking code.
trait Driver {
    /// Runs SQL without parameters (setup).
    fn exec(&mut self, sql: &str);
    /// Prepares the point select once; `lookup` then runs it for one id and returns `value`
    /// (the whole row is read: id, name and value).
    fn prepare_lookup(&mut self);
    fn lookup(&mut self, id: i64) -> f64;
    /// Inserts rows 1..=n with one prepared statement, inside one transaction.
    fn insert(&mut self, n: u64);
    /// Reads every row of bench_scan (id, value) and returns (rows, sum of value).
    fn scan(&mut self) -> (u64, f64);
    /// count(*) and sum(value) of a table.
    fn count_sum(&mut self, table: &str) -> (i64, f64);
}

const POINT_SQL_Q: &str = "SELECT id, name, value FROM bench_pt WHERE id = ?1";
const POINT_SQL_D: &str = "SELECT id, name, value FROM bench_pt WHERE id = $1";
const INSERT_SQL_Q: &str = "INSERT INTO bench_ins (id, name, value) VALUES (?1, ?2, ?3)";
const INSERT_SQL_D: &str = "INSERT INTO bench_ins (id, name, value) VALUES ($1, $2, $3)";
const SCAN_SQL: &str = "SELECT id, value FROM bench_scan";

// ---------------------------------------------------------------------------------------------
// SQLite (rusqlite), opened as noodle-db opens it: WAL for files, BEGIN IMMEDIATE

struct Sqlite {
    conn: rusqlite::Connection,
}

impl Sqlite {
    fn open(url: &str) -> Sqlite {
        let conn = if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            check(rusqlite::Connection::open_in_memory(), "open")
        } else if let Some(p) = url.strip_prefix("sqlite://") {
            let c = check(rusqlite::Connection::open(p), "open");
            check(c.pragma_update(None, "journal_mode", "WAL"), "journal_mode");
            c
        } else {
            fail(format!("not a SQLite URL: {url}"))
        };
        conn.set_prepared_statement_cache_capacity(128);
        Sqlite { conn }
    }
}

impl Driver for Sqlite {
    fn exec(&mut self, sql: &str) {
        check(self.conn.execute_batch(sql), sql);
    }
    fn prepare_lookup(&mut self) {
        check(self.conn.prepare_cached(POINT_SQL_Q), "prepare");
    }
    fn lookup(&mut self, id: i64) -> f64 {
        let mut stmt = check(self.conn.prepare_cached(POINT_SQL_Q), "prepare");
        let (got, _name, value) = check(
            stmt.query_row([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, f64>(2)?))),
            "point select",
        );
        if got != id {
            fail(format!("looked up id {id}, got {got}"));
        }
        value
    }
    fn insert(&mut self, n: u64) {
        check(self.conn.execute_batch("BEGIN IMMEDIATE"), "begin");
        {
            let mut stmt = check(self.conn.prepare_cached(INSERT_SQL_Q), "prepare");
            for i in 1..=n as i64 {
                check(stmt.execute(rusqlite::params![i, format!("n{i}"), i as f64 * 0.25]), "insert");
            }
        }
        check(self.conn.execute_batch("COMMIT"), "commit");
    }
    fn scan(&mut self) -> (u64, f64) {
        let mut stmt = check(self.conn.prepare_cached(SCAN_SQL), "prepare");
        let mut rows = check(stmt.query([]), "scan");
        let (mut n, mut total) = (0u64, 0.0f64);
        while let Some(r) = check(rows.next(), "scan") {
            let _id: i64 = check(r.get(0), "scan id");
            let v: f64 = check(r.get(1), "scan value");
            total += v;
            n += 1;
        }
        (n, total)
    }
    fn count_sum(&mut self, table: &str) -> (i64, f64) {
        check(self.conn.query_row(&format!("SELECT count(*), sum(value) FROM {table}"), [], |r| Ok((r.get(0)?, r.get(1)?))), "count")
    }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL (postgres, no TLS)

struct Pg {
    client: postgres::Client,
    lookup: Option<postgres::Statement>,
}

impl Pg {
    fn open(url: &str) -> Pg {
        Pg { client: check(postgres::Client::connect(url, postgres::NoTls), "connect"), lookup: None }
    }
}

impl Driver for Pg {
    fn exec(&mut self, sql: &str) {
        check(self.client.batch_execute(sql), sql);
    }
    fn prepare_lookup(&mut self) {
        self.lookup = Some(check(self.client.prepare(POINT_SQL_D), "prepare"));
    }
    fn lookup(&mut self, id: i64) -> f64 {
        let stmt = self.lookup.as_ref().unwrap();
        // the id column is INTEGER (int4): the postgres crate binds an i32 to it
        let row = check(self.client.query_one(stmt, &[&(id as i32)]), "point select");
        let got: i32 = row.get(0);
        let _name: &str = row.get(1);
        let value: f64 = row.get(2);
        if got as i64 != id {
            fail(format!("looked up id {id}, got {got}"));
        }
        value
    }
    fn insert(&mut self, n: u64) {
        let mut tx = check(self.client.transaction(), "begin");
        let stmt = check(tx.prepare(INSERT_SQL_D), "prepare");
        for i in 1..=n as i32 {
            check(tx.execute(&stmt, &[&i, &format!("n{i}"), &(i as f64 * 0.25)]), "insert");
        }
        check(tx.commit(), "commit");
    }
    fn scan(&mut self) -> (u64, f64) {
        use postgres::fallible_iterator::FallibleIterator;
        let stmt = check(self.client.prepare(SCAN_SQL), "prepare");
        // streamed as noodle-db streams it (query_raw), not collected into a Vec first
        let mut rows = check(self.client.query_raw(&stmt, std::iter::empty::<i32>()), "scan");
        let (mut n, mut total) = (0u64, 0.0f64);
        while let Some(r) = check(rows.next(), "scan") {
            let _id: i32 = r.get(0);
            let v: f64 = r.get(1);
            total += v;
            n += 1;
        }
        (n, total)
    }
    fn count_sum(&mut self, table: &str) -> (i64, f64) {
        let r = check(self.client.query_one(&format!("SELECT count(*), sum(value) FROM {table}") as &str, &[]), "count");
        (r.get(0), r.get(1))
    }
}

// ---------------------------------------------------------------------------------------------
// DuckDB (duckdb, linked against the libduckdb.so of scripts/fetch-duckdb)

#[cfg(feature = "duckdb")]
struct Duck {
    conn: duckdb::Connection,
}

#[cfg(feature = "duckdb")]
impl Duck {
    fn open(url: &str) -> Duck {
        let conn = if url == "duckdb::memory:" || url == "duckdb://:memory:" {
            check(duckdb::Connection::open_in_memory(), "open")
        } else if let Some(p) = url.strip_prefix("duckdb://") {
            check(duckdb::Connection::open(p), "open")
        } else {
            fail(format!("not a DuckDB URL: {url}"))
        };
        conn.set_prepared_statement_cache_capacity(128);
        Duck { conn }
    }
}

#[cfg(feature = "duckdb")]
impl Driver for Duck {
    fn exec(&mut self, sql: &str) {
        check(self.conn.execute_batch(sql), sql);
    }
    fn prepare_lookup(&mut self) {
        check(self.conn.prepare_cached(POINT_SQL_D), "prepare");
    }
    fn lookup(&mut self, id: i64) -> f64 {
        let mut stmt = check(self.conn.prepare_cached(POINT_SQL_D), "prepare");
        let (got, _name, value) = check(
            stmt.query_row([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, f64>(2)?))),
            "point select",
        );
        if got != id {
            fail(format!("looked up id {id}, got {got}"));
        }
        value
    }
    fn insert(&mut self, n: u64) {
        check(self.conn.execute_batch("BEGIN TRANSACTION"), "begin");
        {
            let mut stmt = check(self.conn.prepare_cached(INSERT_SQL_D), "prepare");
            for i in 1..=n as i64 {
                check(stmt.execute(duckdb::params![i, format!("n{i}"), i as f64 * 0.25]), "insert");
            }
        }
        check(self.conn.execute_batch("COMMIT"), "commit");
    }
    fn scan(&mut self) -> (u64, f64) {
        let mut stmt = check(self.conn.prepare_cached(SCAN_SQL), "prepare");
        let mut rows = check(stmt.query([]), "scan");
        let (mut n, mut total) = (0u64, 0.0f64);
        while let Some(r) = check(rows.next(), "scan") {
            let _id: i64 = check(r.get(0), "scan id");
            let v: f64 = check(r.get(1), "scan value");
            total += v;
            n += 1;
        }
        (n, total)
    }
    fn count_sum(&mut self, table: &str) -> (i64, f64) {
        check(self.conn.query_row(&format!("SELECT count(*), sum(value) FROM {table}"), [], |r| Ok((r.get(0)?, r.get(1)?))), "count")
    }
}

// ---------------------------------------------------------------------------------------------
// noodle-db's own Rust API (`--via noodle-db`): the same calls the VM natives make (pool,
// placeholder normalisation, value conversion), without the VM. Splits Noodle's overhead over
// the raw driver into the database layer's part and the VM's part.

struct Layer {
    db: std::sync::Arc<noodle_db::Database>,
}

impl Layer {
    fn open(url: &str) -> Layer {
        Layer { db: check(noodle_db::Database::connect(url, noodle_db::Options::default()), "connect") }
    }
}

const LAYER_POINT_SQL: &str = "SELECT id, name, value FROM bench_pt WHERE id = ?";
const LAYER_INSERT_SQL: &str = "INSERT INTO bench_ins (id, name, value) VALUES (?, ?, ?)";

fn layer_float(v: &noodle_db::Value) -> f64 {
    match v {
        noodle_db::Value::Float(f) => *f,
        noodle_db::Value::Int(i) => *i as f64,
        other => fail(format!("expected a number, got {other:?}")),
    }
}

impl Driver for Layer {
    fn exec(&mut self, sql: &str) {
        check(self.db.execute(sql, noodle_db::sql::Params::none()), sql);
    }
    fn prepare_lookup(&mut self) {}
    fn lookup(&mut self, id: i64) -> f64 {
        use noodle_db::Value;
        let rs = check(self.db.query(LAYER_POINT_SQL, noodle_db::sql::Params::Positional(vec![Value::Int(id)])), "point select");
        if rs.rows.len() != 1 {
            fail(format!("looked up id {id}, got {} rows", rs.rows.len()));
        }
        let row = &rs.rows[0];
        if row[0] != Value::Int(id) {
            fail(format!("looked up id {id}, got {:?}", row[0]));
        }
        layer_float(&row[2])
    }
    fn insert(&mut self, n: u64) {
        use noodle_db::Value;
        let tx = check(self.db.begin(None), "begin");
        for i in 1..=n as i64 {
            let p = noodle_db::sql::Params::Positional(vec![Value::Int(i), Value::Str(format!("n{i}")), Value::Float(i as f64 * 0.25)]);
            check(tx.execute(LAYER_INSERT_SQL, p), "insert");
        }
        check(tx.commit(), "commit");
    }
    fn scan(&mut self) -> (u64, f64) {
        let mut c = check(self.db.cursor(SCAN_SQL, noodle_db::sql::Params::none(), 1000), "scan");
        let (mut n, mut total) = (0u64, 0.0f64);
        while let Some(r) = check(c.next_row(), "scan") {
            total += layer_float(&r[1]);
            n += 1;
        }
        (n, total)
    }
    fn count_sum(&mut self, table: &str) -> (i64, f64) {
        let rs = check(self.db.query(&format!("SELECT count(*), sum(value) FROM {table}"), noodle_db::sql::Params::none()), "count");
        let n = match rs.rows[0][0] {
            noodle_db::Value::Int(n) => n,
            ref other => fail(format!("count(*) is {other:?}")),
        };
        (n, layer_float(&rs.rows[0][1]))
    }
}

// ---------------------------------------------------------------------------------------------
// the workloads

fn setup_table(d: &mut dyn Driver, backend: &str, table: &str, fill: u64) {
    d.exec(&format!("DROP TABLE IF EXISTS {table}"));
    d.exec(&create_sql(table));
    if fill > 0 {
        d.exec(&fill_sql(backend, table, fill));
    }
}

fn point(d: &mut dyn Driver, a: &Args) {
    setup_table(d, &a.backend, "bench_pt", a.rows);
    d.prepare_lookup();
    let mut rng = Lcg(a.seed);
    let ids: Vec<i64> = (0..a.lookups).map(|_| rng.next_id(a.rows)).collect();
    let expected: f64 = ids.iter().map(|&i| i as f64 * 0.25).sum();
    // warm-up: the statement, the page cache and the server's plan
    for &id in ids.iter().take(1000) {
        d.lookup(id);
    }
    // pass 1: every lookup timed on its own
    let mut lat = Vec::with_capacity(ids.len());
    let mut total = 0.0;
    for &id in &ids {
        let t0 = Instant::now();
        let v = d.lookup(id);
        lat.push(t0.elapsed().as_nanos() as u64);
        total += v;
    }
    if total != expected {
        fail(format!("point select: the values add up to {total}, expected {expected}"));
    }
    // pass 2: the same ids, timed as a whole
    let t0 = Instant::now();
    let mut total = 0.0;
    for &id in &ids {
        total += d.lookup(id);
    }
    let secs = t0.elapsed().as_secs_f64();
    if total != expected {
        fail(format!("point select: the values add up to {total}, expected {expected}"));
    }
    let (p50, p99) = percentiles(lat);
    report("point_p50_us", p50);
    report("point_p99_us", p99);
    report("point_ops_s", ids.len() as f64 / secs);
}

fn insert(d: &mut dyn Driver, a: &Args) {
    setup_table(d, &a.backend, "bench_ins", 0);
    let t0 = Instant::now();
    d.insert(a.rows);
    let secs = t0.elapsed().as_secs_f64();
    let (n, sum) = d.count_sum("bench_ins");
    let want = 0.25 * (a.rows * (a.rows + 1) / 2) as f64;
    if n != a.rows as i64 || sum != want {
        fail(format!("insert: the table holds {n} rows adding up to {sum}, expected {} and {want}", a.rows));
    }
    report("insert_rows_s", a.rows as f64 / secs);
    d.exec("DROP TABLE bench_ins");
}

fn scan(d: &mut dyn Driver, a: &Args) {
    setup_table(d, &a.backend, "bench_scan", a.rows);
    let t0 = Instant::now();
    let (n, total) = d.scan();
    let secs = t0.elapsed().as_secs_f64();
    let want = 0.25 * (a.rows * (a.rows + 1) / 2) as f64;
    if n != a.rows || total != want {
        fail(format!("scan: read {n} rows adding up to {total}, expected {} and {want}", a.rows));
    }
    report("scan_rows_s", n as f64 / secs);
    d.exec("DROP TABLE bench_scan");
}

fn main() {
    let a = parse_args();
    let mut d: Box<dyn Driver> = match a.backend.as_str() {
        _ if a.via_layer => Box::new(Layer::open(&a.url)),
        "sqlite" => Box::new(Sqlite::open(&a.url)),
        "postgres" => Box::new(Pg::open(&a.url)),
        #[cfg(feature = "duckdb")]
        "duckdb" => Box::new(Duck::open(&a.url)),
        #[cfg(not(feature = "duckdb"))]
        "duckdb" => fail("built without DuckDB: run scripts/fetch-duckdb and pass --features duckdb".into()),
        _ => usage(),
    };
    match a.workload.as_str() {
        "point" => point(d.as_mut(), &a),
        "insert" => insert(d.as_mut(), &a),
        "scan" => scan(d.as_mut(), &a),
        // connecting was the check
        "ping" => println!("ok"),
        _ => usage(),
    }
}
