//! One conformance suite, written once and run against every backend through the public API:
//! a fresh SQLite file, the PostgreSQL server of NOODLE_TEST_POSTGRES_URL (or the one
//! `scripts/setup-postgres` prepares; these fail, never skip, without it) and, with the
//! `duckdb` feature, a fresh DuckDB file. The Noodle-level suite is `tests/db/*.noodle`.

use noodle_db::sql::Params;
use noodle_db::{Database, ErrorKind, Options, Value};
use std::sync::Arc;

const POSTGRES_URL: &str = "postgres://noodle:noodle@localhost:5432/noodle_test";

/// A database of the given backend, and a table-name prefix unique to the test.
fn open(backend: &str, test: &str, opts: Options) -> (Arc<Database>, String) {
    let dir = std::env::temp_dir().join(format!("noodle-db-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = match backend {
        "sqlite" => format!("sqlite://{}", dir.join(format!("{test}.db")).display()),
        "duckdb" => format!("duckdb://{}", dir.join(format!("{test}.duckdb")).display()),
        _ => std::env::var("NOODLE_TEST_POSTGRES_URL").unwrap_or_else(|_| POSTGRES_URL.to_string()),
    };
    let db = Database::connect(&url, opts).unwrap_or_else(|e| panic!("cannot connect to {url}: {e} (for PostgreSQL run scripts/setup-postgres)"));
    (db, format!("conf_{test}"))
}

fn pos(v: Vec<Value>) -> Params {
    Params::Positional(v)
}

fn s(x: &str) -> Value {
    Value::Str(x.to_string())
}

fn reset(db: &Arc<Database>, table: &str, columns: &str) {
    db.execute(&format!("DROP TABLE IF EXISTS {table}"), Params::none()).unwrap();
    db.execute(&format!("CREATE TABLE {table} ({columns})"), Params::none()).unwrap();
}

fn count(db: &Arc<Database>, table: &str) -> i64 {
    match &db.query(&format!("SELECT count(*) AS n FROM {table}"), Params::none()).unwrap().rows[0][0] {
        Value::Int(n) => *n,
        v => panic!("count is {v:?}"),
    }
}

fn round_trip(backend: &str) {
    let (db, t) = open(backend, "round_trip", Options::default());
    reset(&db, &t, "id BIGINT PRIMARY KEY, i BIGINT, f DOUBLE PRECISION, s TEXT, b BYTEA, flag BOOLEAN");
    let rows = [
        vec![Value::Int(1), Value::Int(i64::MIN), Value::Float(-0.5), s("héllo ✓"), Value::Bytes(vec![0, 255, 10]), Value::Bool(true)],
        vec![Value::Int(2), Value::Int(i64::MAX), Value::Float(1e300), s(""), Value::Bytes(vec![]), Value::Bool(false)],
        vec![Value::Int(3), Value::Null, Value::Null, Value::Null, Value::Null, Value::Null],
    ];
    for r in &rows {
        assert_eq!(db.execute(&format!("INSERT INTO {t} VALUES (?, ?, ?, ?, ?, ?)"), pos(r.clone())).unwrap(), 1);
    }
    let rs = db.query(&format!("SELECT id, i, f, s, b, flag FROM {t} ORDER BY id"), Params::none()).unwrap();
    assert_eq!(rs.columns, ["id", "i", "f", "s", "b", "flag"]);
    assert_eq!(rs.rows, rows);
}

fn placeholder_styles(backend: &str) {
    let (db, t) = open(backend, "placeholders", Options::default());
    reset(&db, &t, "id BIGINT PRIMARY KEY, name TEXT");
    db.execute(&format!("INSERT INTO {t} VALUES (?, ?)"), pos(vec![Value::Int(1), s("a")])).unwrap();
    db.execute(&format!("INSERT INTO {t} VALUES ($2, $1)"), pos(vec![s("b"), Value::Int(2)])).unwrap();
    db.execute(&format!("INSERT INTO {t} VALUES (:id, :name)"), Params::Named(vec![("name".into(), s("c")), ("id".into(), Value::Int(3))])).unwrap();
    // a placeholder-like text inside a literal is left alone
    let rs = db.query(&format!("SELECT name, '?' AS q, ':x' AS n FROM {t} WHERE id >= :lo AND id <= :lo + 1 ORDER BY id"), Params::Named(vec![("lo".into(), Value::Int(2))])).unwrap();
    assert_eq!(rs.rows, vec![vec![s("b"), s("?"), s(":x")], vec![s("c"), s("?"), s(":x")]]);
    let e = db.query(&format!("SELECT * FROM {t} WHERE id = ?"), pos(vec![])).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Query);
}

fn errors_are_classified(backend: &str) {
    let (db, t) = open(backend, "errors", Options::default());
    reset(&db, &t, "id BIGINT PRIMARY KEY, email TEXT NOT NULL UNIQUE");
    db.execute(&format!("INSERT INTO {t} VALUES (1, 'a')"), Params::none()).unwrap();
    assert_eq!(db.query("selec 1", Params::none()).unwrap_err().kind, ErrorKind::Query);
    assert_eq!(db.execute(&format!("INSERT INTO {t} VALUES (2, 'a')"), Params::none()).unwrap_err().kind, ErrorKind::Constraint);
    assert_eq!(db.execute(&format!("INSERT INTO {t} VALUES (1, 'b')"), Params::none()).unwrap_err().kind, ErrorKind::Constraint);
    assert_eq!(db.execute(&format!("INSERT INTO {t} VALUES (3, NULL)"), Params::none()).unwrap_err().kind, ErrorKind::Constraint);
    // the connection is still usable after each failure
    assert_eq!(count(&db, &t), 1);
}

fn transactions(backend: &str) {
    let (db, t) = open(backend, "transactions", Options::default());
    reset(&db, &t, "id BIGINT PRIMARY KEY");
    let tx = db.begin(None).unwrap();
    tx.execute(&format!("INSERT INTO {t} VALUES (1)"), Params::none()).unwrap();
    tx.commit().unwrap();
    let mut tx = db.begin(None).unwrap();
    tx.execute(&format!("INSERT INTO {t} VALUES (2)"), Params::none()).unwrap();
    assert!(tx.execute(&format!("INSERT INTO {t} VALUES (1)"), Params::none()).is_err());
    tx.exit(false).unwrap();
    assert_eq!(count(&db, &t), 1, "a failed transaction leaves nothing behind");
    // dropping an open transaction rolls it back
    {
        let tx = db.begin(None).unwrap();
        tx.execute(&format!("INSERT INTO {t} VALUES (3)"), Params::none()).unwrap();
    }
    assert_eq!(count(&db, &t), 1);
    // execute_many is all or nothing
    let rows = vec![pos(vec![Value::Int(10)]), pos(vec![Value::Int(11)]), pos(vec![Value::Int(1)])];
    assert_eq!(db.execute_many(&format!("INSERT INTO {t} VALUES (?)"), rows).unwrap_err().kind, ErrorKind::Constraint);
    assert_eq!(count(&db, &t), 1);
}

fn savepoints(backend: &str) {
    let (db, t) = open(backend, "savepoints", Options::default());
    reset(&db, &t, "id BIGINT PRIMARY KEY");
    let mut outer = db.begin(None).unwrap();
    outer.execute(&format!("INSERT INTO {t} VALUES (1)"), Params::none()).unwrap();
    match outer.nested() {
        Ok(mut inner) => {
            inner.execute(&format!("INSERT INTO {t} VALUES (2)"), Params::none()).unwrap();
            inner.exit(false).unwrap();
            let mut inner2 = outer.nested().unwrap();
            inner2.execute(&format!("INSERT INTO {t} VALUES (3)"), Params::none()).unwrap();
            inner2.exit(true).unwrap();
            outer.exit(true).unwrap();
            let rs = db.query(&format!("SELECT id FROM {t} ORDER BY id"), Params::none()).unwrap();
            assert_eq!(rs.rows, vec![vec![Value::Int(1)], vec![Value::Int(3)]]);
        }
        Err(e) => {
            assert_eq!(backend, "duckdb", "only DuckDB lacks savepoints: {e}");
            assert_eq!(e.kind, ErrorKind::Transaction);
        }
    }
}

fn cursors_stream_and_release(backend: &str) {
    let (db, t) = open(backend, "cursors", Options { pool_size: 1, ..Options::default() });
    reset(&db, &t, "id BIGINT PRIMARY KEY");
    let rows: Vec<Params> = (0..5000).map(|i| pos(vec![Value::Int(i)])).collect();
    assert_eq!(db.execute_many(&format!("INSERT INTO {t} VALUES (?)"), rows).unwrap(), 5000);
    let mut c = db.cursor(&format!("SELECT id FROM {t} ORDER BY id"), Params::none(), 128).unwrap();
    let mut sum = 0;
    while let Some(r) = c.next_row().unwrap() {
        if let Value::Int(i) = r[0] {
            sum += i;
        }
    }
    assert_eq!(sum, (0..5000).sum::<i64>());
    drop(c);
    // an open cursor holds the only connection: the pool says so at once
    let mut c = db.cursor(&format!("SELECT id FROM {t}"), Params::none(), 16).unwrap();
    assert_eq!(db.query("SELECT 1", Params::none()).unwrap_err().kind, ErrorKind::Timeout);
    c.close();
    assert_eq!(db.query("SELECT 1 AS one", Params::none()).unwrap().rows, vec![vec![Value::Int(1)]]);
}

/// The pool is shared by threads: the same jobs a future scheduler will run on a blocking pool.
fn pool_across_threads(backend: &str) {
    let (db, t) = open(backend, "threads", Options { pool_size: 3, ..Options::default() });
    reset(&db, &t, "id BIGINT PRIMARY KEY, worker BIGINT");
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let db = db.clone();
            let t = t.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    db.execute(&format!("INSERT INTO {t} VALUES (?, ?)"), pos(vec![Value::Int(w * 1000 + i), Value::Int(w)])).unwrap();
                    db.query(&format!("SELECT count(*) FROM {t} WHERE worker = ?"), pos(vec![Value::Int(w)])).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(count(&db, &t), 200);
    assert!(db.open_connections() <= 3);
}

fn schema(backend: &str) {
    let (db, t) = open(backend, "schema", Options::default());
    reset(&db, &t, "id BIGINT PRIMARY KEY, name TEXT NOT NULL, note TEXT");
    assert!(db.tables().unwrap().contains(&t));
    let cols = db.columns(&t).unwrap();
    let summary: Vec<(&str, bool, bool)> = cols.iter().map(|c| (c.name.as_str(), c.nullable, c.primary_key)).collect();
    assert_eq!(summary, [("id", false, true), ("name", false, false), ("note", true, false)]);
    assert_eq!(db.columns("conf_no_such_table").unwrap_err().kind, ErrorKind::Query);
}

macro_rules! suite {
    ($backend:ident, $($test:ident),*) => {
        mod $backend {
            $(
                #[test]
                fn $test() {
                    super::$test(stringify!($backend));
                }
            )*
        }
    };
}

macro_rules! all_tests {
    ($backend:ident) => {
        suite!($backend, round_trip, placeholder_styles, errors_are_classified, transactions, savepoints, cursors_stream_and_release, pool_across_threads, schema);
    };
}

all_tests!(sqlite);
all_tests!(postgres);
#[cfg(feature = "duckdb")]
all_tests!(duckdb);
