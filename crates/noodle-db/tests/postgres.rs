//! The PostgreSQL backend through noodle-db's public API, against a real server: the one in
//! NOODLE_TEST_POSTGRES_URL, or postgres://noodle:noodle@localhost:5432/noodle_test, which
//! `scripts/setup-postgres` prepares. Without a reachable server these tests fail (they never
//! skip). Tests run in parallel, so each one uses tables of its own.

use noodle_db::sql::Params;
use noodle_db::{Database, DbError, ErrorKind, Isolation, Options, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEFAULT_URL: &str = "postgres://noodle:noodle@localhost:5432/noodle_test";

fn url() -> String {
    std::env::var("NOODLE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

fn connect_with(opts: Options) -> Arc<Database> {
    connect_to(&url(), opts)
}

fn connect_with_url(url: &str) -> Arc<Database> {
    connect_to(url, Options::default())
}

fn connect_to(url: &str, opts: Options) -> Arc<Database> {
    match Database::connect(url, opts) {
        Ok(db) => db,
        Err(e) => panic!(
            "cannot reach the PostgreSQL test server: {e}\n\
             run `scripts/setup-postgres` (as root) to install and start one, \
             or point NOODLE_TEST_POSTGRES_URL at a server these tests may use"
        ),
    }
}

fn connect() -> Arc<Database> {
    connect_with(Options::default())
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

fn expect_err<T>(r: Result<T, DbError>) -> DbError {
    match r {
        Ok(_) => panic!("expected an error, but it succeeded"),
        Err(e) => e,
    }
}

/// Creates `name` afresh (dropping what an earlier run left).
fn fresh_table(db: &Arc<Database>, name: &str, columns: &str) {
    db.execute(&format!("DROP TABLE IF EXISTS {name} CASCADE"), none()).unwrap();
    db.execute(&format!("CREATE TABLE {name} ({columns})"), none()).unwrap();
}

/// The test URL with another part swapped in: "password" or "db".
fn url_with(part: &str, value: &str) -> String {
    let u = url();
    let start = u.find("://").map(|i| i + 3).expect("the test URL has a scheme");
    let path = u[start..].find('/').map(|i| start + i).unwrap_or(u.len());
    match part {
        "db" => {
            let query = u[path..].find('?').map(|i| &u[path + i..]).unwrap_or("");
            format!("{}/{value}{query}", &u[..path])
        }
        "password" => {
            let authority = &u[start..path];
            let at = authority.rfind('@').expect("the test URL names a user");
            let user = authority[..at].split(':').next().unwrap_or("");
            format!("{}{user}:{value}{}", &u[..start], &u[start + at..])
        }
        _ => unreachable!(),
    }
}

#[test]
fn reports_backend() {
    let db = connect();
    assert_eq!(db.backend_name(), "postgres");
    assert_eq!(one(&db, "SELECT 1 + 1"), Value::Int(2));
}

#[test]
fn round_trips_every_mapped_type() {
    let db = connect();
    fresh_table(
        &db,
        "pg_types_rt",
        "id int PRIMARY KEY, b bool, i2 smallint, i4 int, i8 bigint, f4 real, f8 double precision, \
         t text, vc varchar(20), c char(3), n numeric(12, 4), ts timestamp, tstz timestamptz, d date, \
         tm time, j json, jb jsonb, by bytea, u uuid",
    );
    let insert = "INSERT INTO pg_types_rt VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)";
    let n = db
        .execute(
            insert,
            pos(vec![
                Value::Int(1),
                Value::Bool(true),
                Value::Int(-32768),
                Value::Int(2_147_483_647),
                Value::Int(i64::MIN),
                Value::Float(0.5),
                Value::Float(-1.25e300),
                s("héllo ✓"),
                s("varying"),
                s("ab"),
                s("12345678.5"),
                s("2024-05-01T13:45:00.25"),
                s("2024-05-01 13:45:00+02:00"),
                s("2024-02-29"),
                s("23:59:59.000001"),
                s(r#"{"a": [1, 2],  "b": null}"#),
                s(r#"{"b": true, "a": [1, 2]}"#),
                Value::Bytes(vec![0, 1, 2, 255]),
                s("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"),
            ]),
        )
        .unwrap();
    assert_eq!(n, 1);
    // NULL binds to every type and reads back as none
    let mut nulls = vec![Value::Int(2)];
    nulls.extend(std::iter::repeat_n(Value::Null, 18));
    db.execute(insert, pos(nulls)).unwrap();
    // numbers bind to numeric as decimal text; timestamptz without an offset is UTC
    db.execute("INSERT INTO pg_types_rt (id, n, tstz) VALUES ($1, $2, $3)", pos(vec![Value::Int(3), Value::Int(7), s("2024-01-01 00:00:00Z")])).unwrap();
    db.execute("INSERT INTO pg_types_rt (id, n, tstz) VALUES ($1, $2, $3)", pos(vec![Value::Int(4), Value::Float(-0.25), s("2024-01-01 00:00:00")])).unwrap();

    let rs = db.query("SELECT * FROM pg_types_rt ORDER BY id", none()).unwrap();
    assert_eq!(rs.columns, ["id", "b", "i2", "i4", "i8", "f4", "f8", "t", "vc", "c", "n", "ts", "tstz", "d", "tm", "j", "jb", "by", "u"]);
    assert_eq!(
        rs.rows[0],
        vec![
            Value::Int(1),
            Value::Bool(true),
            Value::Int(-32768),
            Value::Int(2_147_483_647),
            Value::Int(i64::MIN),
            Value::Float(0.5),
            Value::Float(-1.25e300),
            s("héllo ✓"),
            s("varying"),
            s("ab "),
            s("12345678.5000"),
            s("2024-05-01 13:45:00.250000"),
            s("2024-05-01 11:45:00+00:00"),
            s("2024-02-29"),
            s("23:59:59.000001"),
            s(r#"{"a": [1, 2],  "b": null}"#),
            s(r#"{"a": [1, 2], "b": true}"#),
            Value::Bytes(vec![0, 1, 2, 255]),
            s("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        ]
    );
    assert_eq!(rs.rows[1][0], Value::Int(2));
    assert!(rs.rows[1][1..].iter().all(|v| *v == Value::Null), "{:?}", rs.rows[1]);
    assert_eq!(rs.rows[2][10], s("7.0000"));
    assert_eq!(rs.rows[2][12], s("2024-01-01 00:00:00+00:00"));
    assert_eq!(rs.rows[3][10], s("-0.2500"));
    assert_eq!(rs.rows[3][12], s("2024-01-01 00:00:00+00:00"));

    // values computed by the server
    let rs = db
        .query(
            "SELECT 0::numeric, 'NaN'::numeric, -0.00001::numeric, 123456789012345678901234567890.000000000000000000001::numeric, \
             10000::numeric, 1.5::real, 'pg_class'::regclass::oid, 'x'::name, 'q'::\"char\", '2024-05-01 13:45:00.25+02'::timestamptz, \
             '1999-12-31 23:59:59.999999'::timestamp, 'infinity'::timestamp, '1970-01-01'::date, '24:00'::time, NULL::int, \
             '0044-03-15 12:00 BC'::timestamp",
            none(),
        )
        .unwrap();
    let row = &rs.rows[0];
    assert_eq!(row[0], s("0"));
    assert_eq!(row[1], s("NaN"));
    assert_eq!(row[2], s("-0.00001"));
    assert_eq!(row[3], s("123456789012345678901234567890.000000000000000000001"));
    assert_eq!(row[4], s("10000"));
    assert_eq!(row[5], Value::Float(1.5));
    assert!(matches!(row[6], Value::Int(oid) if oid > 0), "{:?}", row[6]);
    assert_eq!(row[7], s("x"));
    assert_eq!(row[8], s("q"));
    assert_eq!(row[9], s("2024-05-01 11:45:00.250000+00:00"));
    assert_eq!(row[10], s("1999-12-31 23:59:59.999999"));
    assert_eq!(row[11], s("infinity"));
    assert_eq!(row[12], s("1970-01-01"));
    assert_eq!(row[13], s("24:00:00"));
    assert_eq!(row[14], Value::Null);
    assert_eq!(row[15], s("0044-03-15 12:00:00 BC"));

    // every numeric text survives a round trip through a numeric parameter
    for text in ["0", "-1", "3.14159265358979323846264338327950288", "100000000", "0.000000001", "-99999.9999"] {
        let back = db.query("SELECT $1::numeric", pos(vec![s(text)])).unwrap();
        assert_eq!(back.rows[0][0], s(text));
    }

    // a str binds to types read from their text form, such as enums and intervals
    db.execute("DROP TYPE IF EXISTS pg_types_mood CASCADE", none()).unwrap();
    db.execute("CREATE TYPE pg_types_mood AS ENUM ('sad', 'happy')", none()).unwrap();
    assert_eq!(db.query("SELECT $1::pg_types_mood", pos(vec![s("happy")])).unwrap().rows[0][0], s("happy"));
    assert_eq!(db.query("SELECT ($1::interval)::text", pos(vec![s("1 day 2 hours")])).unwrap().rows[0][0], s("1 day 02:00:00"));
}

#[test]
fn binds_ints_to_narrower_columns() {
    let db = connect();
    fresh_table(&db, "pg_ints", "a int, b smallint, c bigint, d real");
    db.execute("INSERT INTO pg_ints VALUES ($1, $2, $3, $4)", pos(vec![Value::Int(40), Value::Int(2), Value::Int(1 << 40), Value::Int(3)])).unwrap();
    let rs = db.query("SELECT a, b, c, d FROM pg_ints WHERE a = $1 AND b = $2", pos(vec![Value::Int(40), Value::Int(2)])).unwrap();
    assert_eq!(rs.rows, vec![vec![Value::Int(40), Value::Int(2), Value::Int(1 << 40), Value::Float(3.0)]]);
    // `?` placeholders and named ones are rewritten to `$n`
    assert_eq!(db.query("SELECT a FROM pg_ints WHERE a = ?", pos(vec![Value::Int(40)])).unwrap().rows.len(), 1);
    let named = Params::Named(vec![("x".into(), Value::Int(40))]);
    assert_eq!(db.query("SELECT :x::int + a FROM pg_ints WHERE a = :x", named).unwrap().rows[0][0], Value::Int(80));

    // a domain binds and reads as its base type
    db.execute("DROP TABLE IF EXISTS pg_ints_domain", none()).unwrap();
    db.execute("DROP DOMAIN IF EXISTS pg_ints_positive", none()).unwrap();
    db.execute("CREATE DOMAIN pg_ints_positive AS int CHECK (VALUE > 0)", none()).unwrap();
    db.execute("CREATE TABLE pg_ints_domain (p pg_ints_positive)", none()).unwrap();
    db.execute("INSERT INTO pg_ints_domain VALUES ($1)", pos(vec![Value::Int(9)])).unwrap();
    assert_eq!(one(&db, "SELECT p FROM pg_ints_domain"), Value::Int(9));
    let e = expect_err(db.execute("INSERT INTO pg_ints_domain VALUES ($1)", pos(vec![Value::Int(-1)])));
    assert_eq!((e.kind, e.sqlstate.as_deref()), (ErrorKind::Constraint, Some("23514")), "{e}");

    let e = expect_err(db.execute("INSERT INTO pg_ints (a) VALUES ($1)", pos(vec![Value::Int(3_000_000_000)])));
    assert_eq!(e.kind, ErrorKind::Type, "{e}");
    assert!(e.message.contains("out of range") && e.message.contains("int4"), "{e}");
    let e = expect_err(db.execute("INSERT INTO pg_ints (b) VALUES ($1)", pos(vec![Value::Int(40_000)])));
    assert_eq!(e.kind, ErrorKind::Type, "{e}");
    let e = expect_err(db.execute("INSERT INTO pg_ints (d) VALUES ($1)", pos(vec![Value::Float(1e300)])));
    assert_eq!(e.kind, ErrorKind::Type, "{e}");
    assert!(e.message.contains("float4"), "{e}");
}

#[test]
fn reports_type_mismatches_as_type_errors() {
    let db = connect();
    fresh_table(&db, "pg_mismatch", "a int, t text, ts timestamp, u uuid, by bytea");
    let cases: Vec<(&str, Value, &str)> = vec![
        ("a", s("12"), "cannot bind a str to a parameter of type int4"),
        ("t", Value::Bytes(vec![1]), "cannot bind bytes to a parameter of type text"),
        ("a", Value::Float(1.5), "cannot bind a float to a parameter of type int4"),
        ("by", s("abc"), "cannot bind a str to a parameter of type bytea"),
        ("ts", s("yesterday at noon"), "cannot bind the str \"yesterday at noon\" to a parameter of type timestamp"),
        ("u", s("not-a-uuid"), "to a parameter of type uuid"),
        ("a", Value::Bool(true), "cannot bind a bool to a parameter of type int4"),
    ];
    for (col, value, want) in cases {
        let e = expect_err(db.execute(&format!("INSERT INTO pg_mismatch ({col}) VALUES ($1)"), pos(vec![value.clone()])));
        assert_eq!(e.kind, ErrorKind::Type, "{col} <- {value:?}: {e}");
        assert!(e.message.contains(want), "{col} <- {value:?}: {e}");
    }
    // the hint shows how to cast the parameter
    let e = expect_err(db.execute("INSERT INTO pg_mismatch (a) VALUES ($1)", pos(vec![s("12")])));
    assert!(e.message.contains("`$1::text::int4`"), "{e}");
    // a column of a type Noodle cannot read, even when no row comes back
    for sql in ["SELECT interval '1 day' AS span", "SELECT interval '1 day' AS span WHERE false"] {
        let e = expect_err(db.query(sql, none()));
        assert_eq!(e.kind, ErrorKind::Type, "{e}");
        assert!(e.message.contains("column `span` has type interval") && e.message.contains("span::text"), "{e}");
    }
    let e = expect_err(db.query("SELECT ARRAY[1, 2] AS xs", none()));
    assert!(e.message.contains("int4[]"), "{e}");
    assert_eq!(one(&db, "SELECT (interval '1 day')::text"), s("1 day"));
    // nothing got in, and the connections still work
    assert_eq!(count(&db, "pg_mismatch"), 0);
}

#[test]
fn maps_server_errors() {
    let db = connect();
    let e = expect_err(db.query("SELEC 1", none()));
    assert_eq!((e.kind, e.sqlstate.as_deref()), (ErrorKind::Query, Some("42601")), "{e}");
    assert!(e.message.contains("syntax error"), "{e}");
    let e = expect_err(db.query("SELECT * FROM pg_no_such_table", none()));
    assert_eq!((e.kind, e.sqlstate.as_deref()), (ErrorKind::Query, Some("42P01")), "{e}");

    fresh_table(&db, "pg_unique", "id int PRIMARY KEY, email text UNIQUE NOT NULL");
    db.execute("INSERT INTO pg_unique VALUES ($1, $2)", pos(vec![Value::Int(1), s("a@x")])).unwrap();
    let e = expect_err(db.execute("INSERT INTO pg_unique VALUES ($1, $2)", pos(vec![Value::Int(2), s("a@x")])));
    assert_eq!((e.kind, e.sqlstate.as_deref()), (ErrorKind::Constraint, Some("23505")), "{e}");
    // the server's DETAIL is part of the message
    assert!(e.message.contains("already exists"), "{e}");
    let e = expect_err(db.execute("INSERT INTO pg_unique VALUES ($1, $2)", pos(vec![Value::Int(3), Value::Null])));
    assert_eq!((e.kind, e.sqlstate.as_deref()), (ErrorKind::Constraint, Some("23502")), "{e}");
}

#[test]
fn statement_timeout_stops_long_statements() {
    let db = connect_with(Options { timeout: Duration::from_millis(200), pool_size: 1, ..Options::default() });
    let start = Instant::now();
    let e = expect_err(db.query("SELECT pg_sleep(2)", none()));
    assert_eq!((e.kind, e.sqlstate.as_deref()), (ErrorKind::Timeout, Some("57014")), "{e}");
    assert!(start.elapsed() < Duration::from_millis(1500), "took {:?}", start.elapsed());
    // the connection is still usable
    assert_eq!(one(&db, "SELECT 5"), Value::Int(5));
}

#[test]
fn read_only_connections_refuse_writes() {
    let db = connect();
    fresh_table(&db, "pg_readonly", "x int");
    db.execute("INSERT INTO pg_readonly VALUES (1)", none()).unwrap();
    let ro = connect_with(Options { read_only: true, ..Options::default() });
    let e = expect_err(ro.execute("INSERT INTO pg_readonly VALUES (2)", none()));
    assert_eq!((e.kind, e.sqlstate.as_deref()), (ErrorKind::ReadOnly, Some("25006")), "{e}");
    assert_eq!(count(&ro, "pg_readonly"), 1);
    let tx = ro.begin(None).unwrap();
    let e = expect_err(tx.execute("UPDATE pg_readonly SET x = 3", none()));
    assert_eq!(e.kind, ErrorKind::ReadOnly, "{e}");
}

#[test]
fn connection_failures_are_connection_errors() {
    let opts = || Options { connect_timeout: Duration::from_secs(5), ..Options::default() };
    // nothing listens on port 1
    let e = expect_err(Database::connect("postgres://noodle:hunter2secret@127.0.0.1:1/noodle_test", opts()));
    assert_eq!(e.kind, ErrorKind::Connection, "{e}");
    assert!(e.message.contains("127.0.0.1:1") && e.message.contains("noodle_test"), "{e}");
    assert!(!e.message.contains("hunter2secret"), "the password leaked: {e}");

    let e = expect_err(Database::connect("postgres://noodle:hunter2secret@localhost:notaport/noodle_test", opts()));
    assert_eq!(e.kind, ErrorKind::Connection, "{e}");
    assert!(e.message.contains("malformed") && !e.message.contains("hunter2secret"), "{e}");

    connect(); // the server is there, so the failures below are the server's answers
    let e = expect_err(Database::connect(&url_with("password", "hunter2secret"), opts()));
    assert_eq!((e.kind, e.sqlstate.as_deref()), (ErrorKind::Connection, Some("28P01")), "{e}");
    assert!(!e.message.contains("hunter2secret"), "the password leaked: {e}");
    let e = expect_err(Database::connect(&url_with("db", "noodle_no_such_database"), opts()));
    assert_eq!((e.kind, e.sqlstate.as_deref()), (ErrorKind::Connection, Some("3D000")), "{e}");
    assert!(e.message.contains("noodle_no_such_database"), "{e}");
}

#[test]
fn rollback_leaves_nothing() {
    let db = connect();
    fresh_table(&db, "pg_tx_rollback", "x int");
    let mut tx = db.begin(None).unwrap();
    tx.execute("INSERT INTO pg_tx_rollback VALUES ($1)", pos(vec![Value::Int(1)])).unwrap();
    assert_eq!(tx.query("SELECT count(*) FROM pg_tx_rollback", none()).unwrap().rows[0][0], Value::Int(1));
    tx.exit(false).unwrap();
    assert_eq!(count(&db, "pg_tx_rollback"), 0);

    let tx = db.begin(None).unwrap();
    tx.execute("INSERT INTO pg_tx_rollback VALUES ($1)", pos(vec![Value::Int(2)])).unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&db, "pg_tx_rollback"), 1);

    // a dropped transaction rolls back
    {
        let tx = db.begin(None).unwrap();
        tx.execute("INSERT INTO pg_tx_rollback VALUES (3)", none()).unwrap();
    }
    assert_eq!(count(&db, "pg_tx_rollback"), 1);
}

#[test]
fn failed_statement_in_a_transaction_commits_nothing() {
    let db = connect();
    fresh_table(&db, "pg_tx_failed", "id int PRIMARY KEY");
    let tx = db.begin(None).unwrap();
    tx.execute("INSERT INTO pg_tx_failed VALUES (1)", none()).unwrap();
    let e = expect_err(tx.execute("INSERT INTO pg_tx_failed VALUES (1)", none()));
    assert_eq!(e.kind, ErrorKind::Constraint, "{e}");
    // later statements are refused, and COMMIT says that it could not commit
    let e = expect_err(tx.execute("INSERT INTO pg_tx_failed VALUES (2)", none()));
    assert_eq!((e.kind, e.sqlstate.as_deref()), (ErrorKind::Transaction, Some("25P02")), "{e}");
    let e = expect_err(tx.commit());
    assert_eq!(e.kind, ErrorKind::Transaction, "{e}");
    assert!(e.message.contains("rolled back"), "{e}");
    assert_eq!(count(&db, "pg_tx_failed"), 0);

    // a value that cannot be bound fails before reaching the server and spoils nothing
    let tx = db.begin(None).unwrap();
    tx.execute("INSERT INTO pg_tx_failed VALUES (1)", none()).unwrap();
    assert_eq!(expect_err(tx.execute("INSERT INTO pg_tx_failed VALUES ($1)", pos(vec![s("two")]))).kind, ErrorKind::Type);
    tx.execute("INSERT INTO pg_tx_failed VALUES (2)", none()).unwrap();
    tx.commit().unwrap();
    assert_eq!(count(&db, "pg_tx_failed"), 2);
}

#[test]
fn savepoints_keep_outer_work() {
    let db = connect();
    fresh_table(&db, "pg_tx_nested", "id int PRIMARY KEY");
    let tx = db.begin(None).unwrap();
    tx.execute("INSERT INTO pg_tx_nested VALUES (1)", none()).unwrap();
    {
        let mut inner = tx.nested().unwrap();
        inner.execute("INSERT INTO pg_tx_nested VALUES (2)", none()).unwrap();
        inner.exit(false).unwrap();
    }
    {
        // a failure inside the savepoint is undone by rolling back to it
        let mut inner = tx.nested().unwrap();
        inner.execute("INSERT INTO pg_tx_nested VALUES (3)", none()).unwrap();
        assert_eq!(expect_err(inner.execute("INSERT INTO pg_tx_nested VALUES (1)", none())).kind, ErrorKind::Constraint);
        inner.exit(false).unwrap();
    }
    {
        let mut inner = tx.nested().unwrap();
        inner.execute("INSERT INTO pg_tx_nested VALUES (4)", none()).unwrap();
        let mut deeper = inner.nested().unwrap();
        deeper.execute("INSERT INTO pg_tx_nested VALUES (5)", none()).unwrap();
        deeper.exit(true).unwrap();
        inner.exit(true).unwrap();
    }
    tx.commit().unwrap();
    let rs = db.query("SELECT id FROM pg_tx_nested ORDER BY id", none()).unwrap();
    assert_eq!(rs.rows, vec![vec![Value::Int(1)], vec![Value::Int(4)], vec![Value::Int(5)]]);
}

#[test]
fn every_isolation_level_begins() {
    let db = connect();
    for (level, shown) in [
        (Isolation::ReadUncommitted, "read uncommitted"),
        (Isolation::ReadCommitted, "read committed"),
        (Isolation::RepeatableRead, "repeatable read"),
        (Isolation::Serializable, "serializable"),
    ] {
        let tx = db.begin(Some(level)).unwrap_or_else(|e| panic!("{level:?}: {e}"));
        assert_eq!(tx.query("SHOW transaction_isolation", none()).unwrap().rows[0][0], s(shown));
        tx.commit().unwrap();
    }
    // outside a transaction the server default applies again
    assert_eq!(one(&db, "SHOW transaction_isolation"), s("read committed"));
}

#[test]
fn cursor_streams_rows_in_batches() {
    let db = connect_with(Options { pool_size: 1, ..Options::default() });
    let mut cur = db.cursor("SELECT g AS n, 'row ' || g AS label FROM generate_series(1, $1::int) g", pos(vec![Value::Int(10_000)]), 1000).unwrap();
    assert_eq!(&cur.columns()[..], ["n", "label"]);
    let mut seen = 0;
    loop {
        let batch = cur.fetch(1000).unwrap();
        if batch.is_empty() {
            break;
        }
        assert!(batch.len() == 1000, "batch of {}", batch.len());
        for row in batch {
            seen += 1;
            assert_eq!(row, vec![Value::Int(seen), s(&format!("row {seen}"))]);
        }
    }
    assert_eq!(seen, 10_000);
    assert_eq!(cur.next_row().unwrap(), None);
    drop(cur);

    // a cursor dropped early gives its connection back in a usable state
    let mut cur = db.cursor("SELECT g FROM generate_series(1, 100000) g", none(), 100).unwrap();
    assert_eq!(cur.fetch(10).unwrap().len(), 10);
    drop(cur);
    // the cursor's thread returns the connection shortly after the drop
    let deadline = Instant::now() + Duration::from_secs(10);
    let v = loop {
        match db.query("SELECT 42", none()) {
            Ok(rs) => break rs.rows[0][0].clone(),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the connection did not come back: {e}"),
        }
    };
    assert_eq!(v, Value::Int(42));

    // an error in the query reaches the reader
    let e = expect_err(db.cursor("SELECT 1 / (g - 5) FROM generate_series(1, 10) g", none(), 2).and_then(|mut c| c.fetch(100)));
    assert_eq!(e.sqlstate.as_deref(), Some("22012"), "{e}");
}

#[test]
fn execute_counts_rows_and_query_reports_columns() {
    let db = connect();
    fresh_table(&db, "pg_counts", "id int, name text");
    assert_eq!(db.execute_many("INSERT INTO pg_counts VALUES ($1, $2)", (1..=3).map(|i| pos(vec![Value::Int(i), s(&format!("n{i}"))])).collect()).unwrap(), 3);
    assert_eq!(db.execute("UPDATE pg_counts SET name = name || '!' WHERE id > $1", pos(vec![Value::Int(1)])).unwrap(), 2);
    // a statement that returns rows can be executed: it counts them
    assert_eq!(db.execute("SELECT * FROM pg_counts", none()).unwrap(), 3);
    let rs = db.query("SELECT id, name AS label FROM pg_counts WHERE false", none()).unwrap();
    assert_eq!(rs.columns, ["id", "label"]);
    assert!(rs.rows.is_empty());
    // several statements at once belong in a batch (migrations), not in execute
    assert_eq!(expect_err(db.execute("SELECT 1; SELECT 2", none())).kind, ErrorKind::Query);
}

#[test]
fn cached_statements_follow_schema_changes() {
    let db = connect_with(Options { pool_size: 1, ..Options::default() });
    fresh_table(&db, "pg_cache", "a int");
    db.execute("INSERT INTO pg_cache VALUES (1)", none()).unwrap();
    assert_eq!(db.query("SELECT * FROM pg_cache", none()).unwrap().columns, ["a"]);
    // changed by another connection: the cached statement goes stale and is prepared again
    let other = connect();
    other.execute("ALTER TABLE pg_cache ADD COLUMN b text DEFAULT 'x'", none()).unwrap();
    let rs = db.query("SELECT * FROM pg_cache", none()).unwrap();
    assert_eq!(rs.columns, ["a", "b"]);
    assert_eq!(rs.rows, vec![vec![Value::Int(1), s("x")]]);
    // changed inside a transaction on the same connection
    let tx = db.begin(None).unwrap();
    assert_eq!(tx.query("SELECT * FROM pg_cache", none()).unwrap().columns, ["a", "b"]);
    tx.execute("ALTER TABLE pg_cache ADD COLUMN c int DEFAULT 3", none()).unwrap();
    assert_eq!(tx.query("SELECT * FROM pg_cache", none()).unwrap().rows, vec![vec![Value::Int(1), s("x"), Value::Int(3)]]);
    tx.commit().unwrap();
}

#[test]
fn lists_tables_and_columns() {
    let db = connect();
    db.execute("DROP VIEW IF EXISTS pg_meta_view", none()).unwrap();
    fresh_table(&db, "pg_meta_items", "id serial PRIMARY KEY, name varchar(40) NOT NULL, price numeric(8, 2), tags text[], made timestamptz");
    db.execute("CREATE VIEW pg_meta_view AS SELECT id, name FROM pg_meta_items", none()).unwrap();

    let tables = db.tables().unwrap();
    assert!(tables.contains(&"pg_meta_items".to_string()) && tables.contains(&"pg_meta_view".to_string()), "{tables:?}");
    assert!(tables.windows(2).all(|w| w[0] <= w[1]), "not sorted: {tables:?}");
    assert!(!tables.iter().any(|t| t.starts_with("pg_class") || t == "tables"), "system tables listed: {tables:?}");

    let cols = db.columns("pg_meta_items").unwrap();
    let summary: Vec<(&str, &str, bool, bool)> = cols.iter().map(|c| (c.name.as_str(), c.type_name.as_str(), c.nullable, c.primary_key)).collect();
    assert_eq!(
        summary,
        vec![
            ("id", "integer", false, true),
            ("name", "character varying", false, false),
            ("price", "numeric", true, false),
            ("tags", "text[]", true, false),
            ("made", "timestamp with time zone", true, false),
        ]
    );
    let view = db.columns("pg_meta_view").unwrap();
    assert_eq!(view.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["id", "name"]);
    assert_eq!(expect_err(db.columns("pg_meta_missing")).kind, ErrorKind::Query);
}

#[test]
fn migrations_run_as_batches() {
    // in a schema of its own, so that its `noodle_migrations` table is its own too
    let db = connect();
    db.execute("DROP SCHEMA IF EXISTS noodle_mig CASCADE", none()).unwrap();
    db.execute("CREATE SCHEMA noodle_mig", none()).unwrap();
    let u = url();
    let sep = if u.contains('?') { '&' } else { '?' };
    let mig = connect_with_url(&format!("{u}{sep}options=-c%20search_path%3Dnoodle_mig"));
    assert_eq!(one(&mig, "SELECT current_schema()"), s("noodle_mig"));

    let dir = std::env::temp_dir().join(format!("noodle-pg-migrations-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("001_a.sql"), "CREATE TABLE mig_a (x int);\nINSERT INTO mig_a VALUES (1), (2);").unwrap();
    std::fs::write(dir.join("002_b.sql"), "CREATE TABLE mig_b (y text);\nCREATE INDEX ON mig_b (y);").unwrap();
    let dir_s = dir.to_string_lossy().to_string();
    assert_eq!(mig.migrate(&dir_s).unwrap(), ["001_a.sql", "002_b.sql"]);
    assert_eq!(count(&mig, "mig_a"), 2);
    assert_eq!(mig.tables().unwrap(), ["mig_a", "mig_b", "noodle_migrations"]);
    // a failing migration leaves nothing of itself behind
    std::fs::write(dir.join("003_c.sql"), "CREATE TABLE mig_c (z int);\nINSERT INTO mig_a VALUES ('not a number');").unwrap();
    let e = expect_err(mig.migrate(&dir_s));
    assert!(e.message.contains("003_c.sql"), "{e}");
    assert_eq!(mig.tables().unwrap(), ["mig_a", "mig_b", "noodle_migrations"]);
    assert_eq!(mig.migrate(&dir_s).map_err(|e| e.kind), Err(ErrorKind::Type));
    std::fs::remove_file(dir.join("003_c.sql")).unwrap();
    assert!(mig.migrate(&dir_s).unwrap().is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}
