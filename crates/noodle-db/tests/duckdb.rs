//! The DuckDB backend through noodle-db's public API. Needs `--features duckdb` (and the
//! library that scripts/fetch-duckdb installs).
#![cfg(feature = "duckdb")]

use noodle_db::sql::Params;
use noodle_db::{Database, DbError, ErrorKind, Isolation, Options, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn mem() -> Arc<Database> {
    Database::connect("duckdb::memory:", Options::default()).expect("in-memory DuckDB opens")
}

fn none() -> Params {
    Params::none()
}

fn pos(v: Vec<Value>) -> Params {
    Params::Positional(v)
}

fn s(x: &str) -> Value {
    Value::Str(x.to_string())
}

fn one(db: &Arc<Database>, sql: &str) -> Value {
    let rs = db.query(sql, none()).unwrap_or_else(|e| panic!("{sql}: {e}"));
    assert_eq!(rs.rows.len(), 1, "{sql}");
    rs.rows[0][0].clone()
}

fn count(db: &Arc<Database>, table: &str) -> i64 {
    match one(db, &format!("SELECT count(*) FROM {table}")) {
        Value::Int(n) => n,
        v => panic!("count(*) gave {v:?}"),
    }
}

fn err_kind<T>(r: Result<T, DbError>) -> (ErrorKind, String) {
    match r {
        Ok(_) => panic!("expected an error"),
        Err(e) => (e.kind, e.message),
    }
}

/// A path in the temp dir that no other test (or test run) uses.
fn temp_db(name: &str) -> std::path::PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    std::env::temp_dir().join(format!("noodle-duckdb-{name}-{}-{nanos}-{}.duckdb", std::process::id(), N.fetch_add(1, Ordering::Relaxed)))
}

fn remove_db(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("duckdb.wal"));
}

#[test]
fn reports_backend_and_placeholder_style() {
    let db = mem();
    assert_eq!(db.backend_name(), "duckdb");
    assert!(noodle_db::has_duckdb());
    assert_eq!(one(&db, "SELECT 42"), Value::Int(42));
}

#[test]
fn round_trips_every_mapped_type() {
    let db = mem();
    db.execute(
        "CREATE TABLE t (b BOOLEAN, ti TINYINT, si SMALLINT, i INTEGER, bi BIGINT, ut UTINYINT, us USMALLINT, ui UINTEGER, \
         ub UBIGINT, hi HUGEINT, f FLOAT, d DOUBLE, dec DECIMAL(10,2), v VARCHAR, bl BLOB, dt DATE, ts TIMESTAMP, \
         tz TIMESTAMPTZ, tm TIME, u UUID)",
        none(),
    )
    .unwrap();
    let row = vec![
        Value::Bool(true),
        Value::Int(-7),
        Value::Int(-300),
        Value::Int(-70000),
        Value::Int(i64::MIN),
        Value::Int(255),
        Value::Int(65535),
        Value::Int(4_294_967_295),
        Value::Int(i64::MAX),
        Value::Int(-12345678901234),
        Value::Float(1.5),
        Value::Float(-2.25e300),
        s("12.5"),
        s("héllo ✓"),
        Value::Bytes(vec![0, 1, 2, 255]),
        s("2024-02-29"),
        s("2024-02-29 13:45:01.123456"),
        s("2024-02-29 13:45:01+02:00"),
        s("13:45:01.5"),
        s("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
    ];
    let n = db.execute(&format!("INSERT INTO t VALUES ({})", vec!["?"; row.len()].join(", ")), pos(row)).unwrap();
    assert_eq!(n, 1);
    // and a row of NULLs
    db.execute(&format!("INSERT INTO t VALUES ({})", vec!["?"; 20].join(", ")), pos(vec![Value::Null; 20])).unwrap();

    let rs = db.query("SELECT * FROM t ORDER BY b NULLS LAST", none()).unwrap();
    assert_eq!(rs.columns, ["b", "ti", "si", "i", "bi", "ut", "us", "ui", "ub", "hi", "f", "d", "dec", "v", "bl", "dt", "ts", "tz", "tm", "u"]);
    assert_eq!(
        rs.rows[0],
        vec![
            Value::Bool(true),
            Value::Int(-7),
            Value::Int(-300),
            Value::Int(-70000),
            Value::Int(i64::MIN),
            Value::Int(255),
            Value::Int(65535),
            Value::Int(4_294_967_295),
            Value::Int(i64::MAX),
            Value::Int(-12345678901234),
            Value::Float(1.5),
            Value::Float(-2.25e300),
            s("12.50"),
            s("héllo ✓"),
            Value::Bytes(vec![0, 1, 2, 255]),
            s("2024-02-29"),
            s("2024-02-29 13:45:01.123456"),
            s("2024-02-29 11:45:01+00:00"),
            s("13:45:01.500000"),
            s("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ]
    );
    assert_eq!(rs.rows[1], vec![Value::Null; 20]);
}

#[test]
fn reads_literals_by_their_duckdb_type() {
    let db = mem();
    let rs = db
        .query(
            "SELECT 1.5::FLOAT AS f, 0.1::DECIMAL(18,3) AS small, -12345678901234567890.123456::DECIMAL(38,6) AS wide, \
             123::DECIMAL(38,0) AS dec0, DATE '1969-12-31' AS old, TIMESTAMP '2000-01-01 00:00:00' AS whole, \
             TIME '00:00:00' AS midnight, NULL AS nothing, 'x'::VARCHAR AS v, '\\xAA'::BLOB AS bl, \
             170141183460469231731687303715884105727::HUGEINT - 170141183460469231731687303715884105000::HUGEINT AS hi, \
             1::UHUGEINT AS uh",
            none(),
        )
        .unwrap();
    let v = &rs.rows[0];
    assert_eq!(v[0], Value::Float(1.5));
    assert_eq!(one(&db, "SELECT 0.1::FLOAT"), Value::Float(0.1));
    assert_eq!(v[1], s("0.100"));
    assert_eq!(v[2], s("-12345678901234567890.123456"));
    assert_eq!(v[3], s("123"));
    assert_eq!(v[4], s("1969-12-31"));
    assert_eq!(v[5], s("2000-01-01 00:00:00"));
    assert_eq!(v[6], s("00:00:00"));
    assert_eq!(v[7], Value::Null);
    assert_eq!(v[8], s("x"));
    assert_eq!(v[9], Value::Bytes(vec![0xAA]));
    assert_eq!(v[10], Value::Int(727));
    assert_eq!(v[11], Value::Int(1));
    // 2^64 - 2 does not fit in an int: a Type error, not a wrong number
    assert_eq!(err_kind(db.query("SELECT 18446744073709551614::UBIGINT AS big", none())).0, ErrorKind::Type);
    assert_eq!(err_kind(db.query("SELECT (2::HUGEINT ** 70)::HUGEINT AS big", none())).0, ErrorKind::Type);
    assert_eq!(one(&db, "SELECT 9223372036854775807::UBIGINT"), Value::Int(i64::MAX));
}

#[test]
fn enums_read_as_their_labels() {
    let db = mem();
    db.execute("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')", none()).unwrap();
    db.execute("CREATE TABLE e (m mood)", none()).unwrap();
    db.execute("INSERT INTO e VALUES ('happy'), (NULL), (?)", pos(vec![s("sad")])).unwrap();
    let rs = db.query("SELECT m FROM e ORDER BY m NULLS LAST", none()).unwrap();
    assert_eq!(rs.rows, vec![vec![s("sad")], vec![s("happy")], vec![Value::Null]]);
}

#[test]
fn json_reads_as_text() {
    let db = mem();
    match db.query("SELECT '{\"a\": [1, 2]}'::JSON AS j", none()) {
        Ok(rs) => assert_eq!(rs.rows[0][0], s("{\"a\": [1, 2]}")),
        // without the JSON extension compiled in, DuckDB may refuse the type itself
        Err(e) => assert!(e.message.contains("JSON"), "{e}"),
    }
}

#[test]
fn unreadable_types_name_the_column_and_a_cast() {
    let db = mem();
    for (sql, ty) in [
        ("SELECT [1, 2, 3] AS xs", "INTEGER[]"),
        ("SELECT {'a': 1} AS st", "STRUCT"),
        ("SELECT MAP {'k': 1} AS m", "MAP"),
        ("SELECT INTERVAL 3 DAY AS iv", "INTERVAL"),
    ] {
        let (kind, msg) = err_kind(db.query(sql, none()));
        assert_eq!(kind, ErrorKind::Type, "{sql}");
        let col = sql.rsplit(' ').next().unwrap();
        assert!(msg.contains(&format!("column `{col}` has type")), "{msg}");
        assert!(msg.contains(ty), "{msg}");
        assert!(msg.contains(&format!("`{col}::VARCHAR`")), "{msg}");
    }
    // the cast the message suggests works
    assert_eq!(one(&db, "SELECT [1, 2, 3]::VARCHAR"), s("[1, 2, 3]"));
    // and the connection is still fine afterwards
    assert_eq!(one(&db, "SELECT 1"), Value::Int(1));
}

#[test]
fn zero_rows_still_name_the_columns() {
    let db = mem();
    db.execute("CREATE TABLE t (a INTEGER, b VARCHAR)", none()).unwrap();
    let rs = db.query("SELECT a, b AS bee FROM t", none()).unwrap();
    assert_eq!(rs.columns, ["a", "bee"]);
    assert!(rs.rows.is_empty());
}

#[test]
fn all_three_placeholder_styles() {
    let db = mem();
    db.execute("CREATE TABLE p (id INTEGER, name VARCHAR)", none()).unwrap();
    db.execute("INSERT INTO p VALUES (?, ?)", pos(vec![Value::Int(1), s("one")])).unwrap();
    db.execute("INSERT INTO p VALUES ($2, $1)", pos(vec![s("two"), Value::Int(2)])).unwrap();
    db.execute("INSERT INTO p VALUES (:id, :name)", Params::Named(vec![("name".into(), s("three")), ("id".into(), Value::Int(3))])).unwrap();
    let rs = db.query("SELECT name FROM p WHERE id >= :lo AND id <= :lo + 1 ORDER BY id", Params::Named(vec![("lo".into(), Value::Int(2))])).unwrap();
    assert_eq!(rs.rows, vec![vec![s("two")], vec![s("three")]]);
    // casts and strings that look like placeholders are left alone
    let rs = db.query("SELECT '?'::VARCHAR, ':x', $1::INTEGER + 1", pos(vec![Value::Int(41)])).unwrap();
    assert_eq!(rs.rows[0], vec![s("?"), s(":x"), Value::Int(42)]);
    // the same statement again comes from the statement cache
    for i in 0..3 {
        assert_eq!(db.query("SELECT ? * 2", pos(vec![Value::Int(i)])).unwrap().rows[0][0], Value::Int(i * 2));
    }
    let (kind, msg) = err_kind(db.query("SELECT ?, ?", pos(vec![Value::Int(1)])));
    assert_eq!(kind, ErrorKind::Query);
    assert!(msg.contains("2 placeholders"), "{msg}");
}

#[test]
fn binds_every_value_kind() {
    let db = mem();
    let rs = db
        .query(
            "SELECT ?::BOOLEAN, ?::BIGINT, ?::DOUBLE, ?::VARCHAR, ?::BLOB, ? IS NULL",
            pos(vec![Value::Bool(false), Value::Int(-5), Value::Float(0.25), s("it's"), Value::Bytes(b"\x00ab".to_vec()), Value::Null]),
        )
        .unwrap();
    assert_eq!(rs.rows[0], vec![Value::Bool(false), Value::Int(-5), Value::Float(0.25), s("it's"), Value::Bytes(b"\x00ab".to_vec()), Value::Bool(true)]);
    // strings convert to the column's type when inserted
    db.execute("CREATE TABLE d (x DECIMAL(6,3), y DATE)", none()).unwrap();
    db.execute("INSERT INTO d VALUES (?, ?)", pos(vec![s("1.25"), s("2001-02-03")])).unwrap();
    assert_eq!(db.query("SELECT x, y FROM d", none()).unwrap().rows[0], vec![s("1.250"), s("2001-02-03")]);
}

#[test]
fn syntax_and_catalog_errors_are_query_errors() {
    let db = mem();
    let (kind, msg) = err_kind(db.query("SELEC 1", none()));
    assert_eq!(kind, ErrorKind::Query);
    assert!(msg.contains("syntax error"), "{msg}");
    assert_eq!(err_kind(db.query("SELECT * FROM no_such_table", none())).0, ErrorKind::Query);
    assert_eq!(err_kind(db.execute("INSERT INTO nowhere VALUES (1)", none())).0, ErrorKind::Query);
    // messages are DuckDB's own, trimmed
    let (_, msg) = err_kind(db.query("SELECT nope FROM range(1)", none()));
    assert_eq!(msg, msg.trim());
    assert!(msg.contains("nope"), "{msg}");
}

#[test]
fn one_statement_at_a_time_except_in_batches() {
    let db = mem();
    db.execute("CREATE TABLE m (x INTEGER)", none()).unwrap();
    let (kind, msg) = err_kind(db.execute("INSERT INTO m VALUES (1); INSERT INTO m VALUES (2)", none()));
    assert_eq!(kind, ErrorKind::Query);
    assert!(msg.contains("one statement"), "{msg}");
    assert_eq!(count(&db, "m"), 0, "nothing of a refused text ran");
    // a trailing semicolon is fine
    db.execute("INSERT INTO m VALUES (1);", none()).unwrap();
    assert_eq!(count(&db, "m"), 1);
}

#[test]
fn unique_and_primary_key_violations_are_constraint_errors() {
    let db = mem();
    db.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, email VARCHAR UNIQUE, n INTEGER NOT NULL CHECK (n > 0))", none()).unwrap();
    db.execute("INSERT INTO u VALUES (1, 'a@x', 1)", none()).unwrap();
    let (kind, msg) = err_kind(db.execute("INSERT INTO u VALUES (1, 'b@x', 1)", none()));
    assert_eq!(kind, ErrorKind::Constraint, "{msg}");
    assert!(msg.contains("Duplicate key") || msg.contains("primary key"), "{msg}");
    assert_eq!(err_kind(db.execute("INSERT INTO u VALUES (2, 'a@x', 1)", none())).0, ErrorKind::Constraint);
    assert_eq!(err_kind(db.execute("INSERT INTO u VALUES (3, 'c@x', NULL)", none())).0, ErrorKind::Constraint);
    assert_eq!(err_kind(db.execute("INSERT INTO u VALUES (4, 'd@x', -1)", none())).0, ErrorKind::Constraint);
    assert_eq!(count(&db, "u"), 1);
}

#[test]
fn a_file_database_keeps_its_data_and_can_be_opened_read_only() {
    let path = temp_db("file");
    let url = format!("duckdb://{}", path.display());
    {
        let db = Database::connect(&url, Options::default()).unwrap();
        db.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY, name VARCHAR)", none()).unwrap();
        db.execute("INSERT INTO kept VALUES (1, 'one'), (2, 'two')", none()).unwrap();
    }
    // every connection of the first Database is gone, so the file can be opened again
    {
        let db = Database::connect(&url, Options::default()).unwrap();
        assert_eq!(count(&db, "kept"), 2);
    }
    {
        let db = Database::connect(&url, Options { read_only: true, ..Options::default() }).unwrap();
        assert_eq!(count(&db, "kept"), 2);
        let (kind, msg) = err_kind(db.execute("INSERT INTO kept VALUES (3, 'three')", none()));
        assert_eq!(kind, ErrorKind::ReadOnly, "{msg}");
        assert_eq!(err_kind(db.execute("CREATE TABLE other (x INTEGER)", none())).0, ErrorKind::ReadOnly);
        assert_eq!(count(&db, "kept"), 2);
    }
    remove_db(&path);
    // a read-only database must exist already
    let (kind, _) = err_kind(Database::connect(&url, Options { read_only: true, ..Options::default() }));
    assert_eq!(kind, ErrorKind::Connection);
}

#[test]
fn connection_errors() {
    let (kind, msg) = err_kind(Database::connect("duckdb:///no/such/dir/x.duckdb", Options::default()));
    assert_eq!(kind, ErrorKind::Connection);
    assert!(msg.contains("/no/such/dir/x.duckdb"), "{msg}");
    let (kind, _) = err_kind(Database::connect("duckdb::memory:", Options { read_only: true, ..Options::default() }));
    assert_eq!(kind, ErrorKind::Connection);
}

#[test]
fn rollback_leaves_nothing() {
    let db = mem();
    db.execute("CREATE TABLE r (x INTEGER)", none()).unwrap();
    let mut tx = db.begin(None).unwrap();
    tx.execute("INSERT INTO r VALUES (1), (2)", none()).unwrap();
    assert_eq!(tx.query("SELECT count(*) FROM r", none()).unwrap().rows[0][0], Value::Int(2));
    tx.rollback_mut().unwrap();
    assert_eq!(count(&db, "r"), 0);
    // an unfinished transaction rolls back when dropped
    {
        let tx = db.begin(None).unwrap();
        tx.execute("INSERT INTO r VALUES (3)", none()).unwrap();
    }
    assert_eq!(count(&db, "r"), 0);
    // and a committed one stays
    let tx = db.begin(None).unwrap();
    tx.execute("INSERT INTO r VALUES (4)", none()).unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&db, "r"), 1);
}

#[test]
fn a_failed_statement_in_a_transaction_leaves_nothing_committed() {
    let db = mem();
    db.execute("CREATE TABLE f (id INTEGER PRIMARY KEY)", none()).unwrap();
    let tx = db.begin(None).unwrap();
    tx.execute("INSERT INTO f VALUES (1)", none()).unwrap();
    assert_eq!(err_kind(tx.execute("INSERT INTO f VALUES (1)", none())).0, ErrorKind::Constraint);
    // DuckDB aborts the transaction: later statements and the commit fail
    let later = tx.execute("INSERT INTO f VALUES (2)", none());
    assert!(later.is_err());
    assert_eq!(later.unwrap_err().kind, ErrorKind::Transaction);
    // and the commit says that nothing was committed
    let (kind, msg) = err_kind(tx.commit());
    assert_eq!(kind, ErrorKind::Transaction);
    assert!(msg.contains("rolled back"), "{msg}");
    assert_eq!(count(&db, "f"), 0);
    // SQL that DuckDB rejects before running it (syntax, unknown names) does not end the
    // transaction
    let tx = db.begin(None).unwrap();
    tx.execute("INSERT INTO f VALUES (1)", none()).unwrap();
    assert_eq!(err_kind(tx.execute("INSRT INTO f VALUES (2)", none())).0, ErrorKind::Query);
    tx.execute("INSERT INTO f VALUES (2)", none()).unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&db, "f"), 2);
    db.execute("DELETE FROM f", none()).unwrap();
    // execute_many is all or nothing too
    let rows = vec![pos(vec![Value::Int(5)]), pos(vec![Value::Int(6)]), pos(vec![Value::Int(5)])];
    assert_eq!(err_kind(db.execute_many("INSERT INTO f VALUES (?)", rows)).0, ErrorKind::Constraint);
    assert_eq!(count(&db, "f"), 0);
    let rows = (10..20).map(|i| pos(vec![Value::Int(i)])).collect();
    assert_eq!(db.execute_many("INSERT INTO f VALUES (?)", rows).unwrap(), 10);
    assert_eq!(count(&db, "f"), 10);
    // the pooled connection is usable afterwards
    db.execute("INSERT INTO f VALUES (100)", none()).unwrap();
    assert_eq!(count(&db, "f"), 11);
}

#[test]
fn isolation_levels_cannot_be_chosen() {
    let db = mem();
    for level in [Isolation::ReadUncommitted, Isolation::ReadCommitted, Isolation::RepeatableRead, Isolation::Serializable] {
        let (kind, msg) = err_kind(db.begin(Some(level)));
        assert_eq!(kind, ErrorKind::Transaction);
        assert!(msg.contains("snapshot isolation") && msg.contains("leave `isolation` out"), "{msg}");
    }
    // the refused begin did not leave a connection behind in a transaction
    db.execute("CREATE TABLE i (x INTEGER)", none()).unwrap();
    let tx = db.begin(None).unwrap();
    tx.execute("INSERT INTO i VALUES (1)", none()).unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&db, "i"), 1);
}

#[test]
fn transactions_do_not_nest() {
    let db = mem();
    db.execute("CREATE TABLE n (x INTEGER)", none()).unwrap();
    let tx = db.begin(None).unwrap();
    tx.execute("INSERT INTO n VALUES (1)", none()).unwrap();
    let (kind, msg) = err_kind(tx.nested());
    assert_eq!(kind, ErrorKind::Transaction);
    assert!(msg.contains("savepoints"), "{msg}");
    // the outer transaction is unharmed
    tx.execute("INSERT INTO n VALUES (2)", none()).unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&db, "n"), 2);
}

#[test]
fn a_cursor_streams_ten_thousand_rows() {
    let db = Database::connect("duckdb::memory:", Options { pool_size: 1, ..Options::default() }).unwrap();
    let mut cur = db.cursor("SELECT i, i * 2 AS twice, 'row ' || i AS label FROM range(10000) t(i) ORDER BY i", none(), 256).unwrap();
    assert_eq!(&cur.columns()[..], ["i", "twice", "label"]);
    let mut n = 0i64;
    loop {
        let batch = cur.fetch(1000).unwrap();
        if batch.is_empty() {
            break;
        }
        for r in batch {
            assert_eq!(r, vec![Value::Int(n), Value::Int(2 * n), Value::Str(format!("row {n}"))]);
            n += 1;
        }
    }
    assert_eq!(n, 10_000);
    assert_eq!(cur.next_row().unwrap(), None);
    drop(cur);
    // a cursor dropped half-way gives its connection back in working order
    let mut cur = db.cursor("SELECT i FROM range(1000000) t(i)", none(), 100).unwrap();
    assert_eq!(cur.fetch(10).unwrap().len(), 10);
    drop(cur);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match db.query("SELECT 7", none()) {
            Ok(rs) => {
                assert_eq!(rs.rows[0][0], Value::Int(7));
                break;
            }
            // the cursor thread may still be giving the only connection back
            Err(e) if e.kind == ErrorKind::Timeout && Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("{e}"),
        }
    }
    // errors reach the cursor's reader (a pool of four: a failed cursor's thread may still
    // be giving its connection back)
    let db = mem();
    assert_eq!(err_kind(db.cursor("SELECT [1] AS l", none(), 10)).0, ErrorKind::Type);
    assert_eq!(err_kind(db.cursor("SELEC 1", none(), 10)).0, ErrorKind::Query);
    assert_eq!(err_kind(db.cursor("SELECT ?", none(), 10)).0, ErrorKind::Query);
}

#[test]
fn lists_tables_and_columns() {
    let db = mem();
    assert!(db.tables().unwrap().is_empty());
    db.execute("CREATE TABLE zeta (id BIGINT PRIMARY KEY, name VARCHAR NOT NULL, price DECIMAL(8,2), created TIMESTAMP)", none()).unwrap();
    db.execute("CREATE TABLE alpha (a INTEGER, b INTEGER, PRIMARY KEY (a, b))", none()).unwrap();
    db.execute("CREATE VIEW middle AS SELECT id FROM zeta", none()).unwrap();
    db.execute("CREATE TEMP TABLE scratch (x INTEGER)", none()).unwrap();
    assert_eq!(db.tables().unwrap(), ["alpha", "middle", "zeta"]);
    let cols = db.columns("zeta").unwrap();
    let summary: Vec<(&str, &str, bool, bool)> = cols.iter().map(|c| (c.name.as_str(), c.type_name.as_str(), c.nullable, c.primary_key)).collect();
    assert_eq!(
        summary,
        [("id", "BIGINT", false, true), ("name", "VARCHAR", false, false), ("price", "DECIMAL(8,2)", true, false), ("created", "TIMESTAMP", true, false)]
    );
    let alpha = db.columns("ALPHA").unwrap();
    assert!(alpha.iter().all(|c| c.primary_key), "{alpha:?}");
    let (kind, msg) = err_kind(db.columns("nope"));
    assert_eq!(kind, ErrorKind::Query);
    assert!(msg.contains("nope"), "{msg}");
}

#[test]
fn pooled_connections_share_one_in_memory_database() {
    let db = Database::connect("duckdb::memory:", Options { pool_size: 2, ..Options::default() }).unwrap();
    db.execute("CREATE TABLE shared (x INTEGER)", none()).unwrap();
    // the transaction holds one connection, so the INSERT beside it takes the second
    let tx = db.begin(None).unwrap();
    db.execute("INSERT INTO shared VALUES (1)", none()).unwrap();
    assert_eq!(db.open_connections(), 2);
    tx.execute("INSERT INTO shared VALUES (2)", none()).unwrap();
    tx.commit().unwrap();
    // each connection, held at the same time, sees both rows
    let tx = db.begin(None).unwrap();
    assert_eq!(tx.query("SELECT count(*) FROM shared", none()).unwrap().rows[0][0], Value::Int(2));
    assert_eq!(count(&db, "shared"), 2);
    tx.commit().unwrap();
    assert_eq!(db.open_connections(), 2);
}

#[test]
fn concurrent_writers_on_a_file_database() {
    let path = temp_db("concurrent");
    let db = Database::connect(&format!("duckdb://{}", path.display()), Options { pool_size: 4, ..Options::default() }).unwrap();
    db.execute("CREATE TABLE c (t INTEGER, i INTEGER)", none()).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    db.execute("INSERT INTO c VALUES (?, ?)", pos(vec![Value::Int(t), Value::Int(i)])).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(count(&db, "c"), 100);
    drop(db);
    remove_db(&path);
}

#[test]
fn a_runaway_query_times_out_and_the_connection_survives() {
    let db = Database::connect("duckdb::memory:", Options { pool_size: 1, timeout: Duration::from_millis(300), ..Options::default() }).unwrap();
    let start = Instant::now();
    let (kind, msg) = err_kind(db.query("SELECT count(*) FROM range(1000000000000) a(x) WHERE x % 7 = 3", none()));
    assert_eq!(kind, ErrorKind::Timeout, "{msg}");
    assert!(start.elapsed() < Duration::from_secs(20), "took {:?}", start.elapsed());
    assert_eq!(one(&db, "SELECT 5"), Value::Int(5));
    // quick statements, one after another, are not hit by a stale interrupt
    for i in 0..200 {
        assert_eq!(db.query("SELECT ?", pos(vec![Value::Int(i)])).unwrap().rows[0][0], Value::Int(i));
    }
    // a slow consumer does not count against the cursor's statement
    // (batches of one row: the reader thread soon waits on the full channel)
    let mut cur = db.cursor("SELECT i FROM range(10) t(i)", none(), 1).unwrap();
    assert_eq!(cur.next_row().unwrap(), Some(vec![Value::Int(0)]));
    std::thread::sleep(Duration::from_millis(700));
    let rest: Vec<Vec<Value>> = (1..10).map(|i| vec![Value::Int(i)]).collect();
    assert_eq!(cur.fetch(100).unwrap(), rest);
}

#[test]
fn migrations_run_once_each_in_a_transaction() {
    let dir = temp_db("migrations").with_extension("d");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("001_people.sql"), "CREATE TABLE people (id INTEGER PRIMARY KEY, name VARCHAR NOT NULL);\nINSERT INTO people VALUES (1, 'Ada');\n")
        .unwrap();
    std::fs::write(dir.join("002_more.sql"), "ALTER TABLE people ADD COLUMN born INTEGER; UPDATE people SET born = 1815;").unwrap();
    let db = mem();
    let dir_s = dir.to_str().unwrap();
    assert_eq!(db.migrate(dir_s).unwrap(), ["001_people.sql", "002_more.sql"]);
    assert!(db.migrate(dir_s).unwrap().is_empty());
    assert_eq!(db.query("SELECT name, born FROM people", none()).unwrap().rows, vec![vec![s("Ada"), Value::Int(1815)]]);
    // a failing migration leaves nothing of itself behind
    std::fs::write(dir.join("003_bad.sql"), "CREATE TABLE half (x INTEGER); INSERT INTO people VALUES (1, 'again', 1900);").unwrap();
    let (kind, msg) = err_kind(db.migrate(dir_s));
    assert_eq!(kind, ErrorKind::Constraint, "{msg}");
    assert!(msg.contains("003_bad.sql"), "{msg}");
    assert_eq!(db.tables().unwrap(), ["noodle_migrations", "people"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn statements_racing_a_tiny_timeout_either_finish_or_time_out() {
    let db = Database::connect("duckdb::memory:", Options { pool_size: 1, timeout: Duration::from_millis(2), ..Options::default() }).unwrap();
    let (mut ok, mut timed_out) = (0, 0);
    for i in 0..300i64 {
        match db.query("SELECT sum(x) + ? FROM range(20000) t(x)", pos(vec![Value::Int(i)])) {
            Ok(rs) => {
                assert_eq!(rs.rows[0][0], Value::Int(199_990_000 + i));
                ok += 1;
            }
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
                timed_out += 1;
            }
        }
    }
    assert_eq!(ok + timed_out, 300);
    eprintln!("{ok} finished, {timed_out} timed out");
}
