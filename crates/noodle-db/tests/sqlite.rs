//! What only the SQLite backend does: the statement timeout through SQLite's progress handler,
//! read-only files, in-memory databases with one connection, URLs and the pool's limits.

use noodle_db::sql::Params;
use noodle_db::{Database, ErrorKind, Options, Value};
use std::time::{Duration, Instant};

fn temp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("noodle-db-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p.display().to_string()
}

#[test]
fn a_runaway_query_stops_at_the_timeout() {
    let db = Database::connect("sqlite::memory:", Options { timeout: Duration::from_millis(200), ..Options::default() }).unwrap();
    let start = Instant::now();
    let e = db.query("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT count(*) FROM r", Params::none()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout, "{e}");
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
    // the connection is fine afterwards, with a fresh deadline for the next statement
    assert_eq!(db.query("SELECT 2", Params::none()).unwrap().rows, vec![vec![Value::Int(2)]]);
}

#[test]
fn read_only_files_refuse_writes() {
    let path = temp("ro.db");
    let rw = Database::connect(&format!("sqlite://{path}"), Options::default()).unwrap();
    rw.execute("CREATE TABLE t (x BIGINT)", Params::none()).unwrap();
    rw.execute("INSERT INTO t VALUES (1)", Params::none()).unwrap();
    let ro = Database::connect(&format!("sqlite://{path}"), Options { read_only: true, ..Options::default() }).unwrap();
    assert_eq!(ro.query("SELECT x FROM t", Params::none()).unwrap().rows, vec![vec![Value::Int(1)]]);
    assert_eq!(ro.execute("INSERT INTO t VALUES (2)", Params::none()).unwrap_err().kind, ErrorKind::ReadOnly);
}

#[test]
fn memory_databases_keep_one_connection() {
    let db = Database::connect("sqlite::memory:", Options { pool_size: 8, ..Options::default() }).unwrap();
    db.execute("CREATE TABLE t (x BIGINT)", Params::none()).unwrap();
    // a second connection would be a different, empty database
    assert_eq!(db.query("SELECT count(*) FROM t", Params::none()).unwrap().rows, vec![vec![Value::Int(0)]]);
    let tx = db.begin(None).unwrap();
    let e = db.query("SELECT 1", Params::none()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Timeout);
    assert!(e.message.contains("tx.query"), "{e}");
    tx.commit().unwrap();
    assert_eq!(db.open_connections(), 1);
}

#[test]
fn bad_urls_and_paths() {
    for url in ["mysql://x", "sqlite://", "duck://x", ""] {
        let e = Database::connect(url, Options::default()).err().unwrap();
        assert_eq!(e.kind, ErrorKind::Connection, "{url}");
    }
    let e = Database::connect("sqlite:///no/such/folder/x.db", Options::default()).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Connection);
    let e = Database::connect("sqlite::memory:", Options { pool_size: 0, ..Options::default() }).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Connection);
}

#[test]
fn isolation_levels_other_than_serializable_are_refused() {
    let db = Database::connect("sqlite::memory:", Options::default()).unwrap();
    assert!(db.begin(Some(noodle_db::Isolation::Serializable)).is_ok());
    let e = db.begin(Some(noodle_db::Isolation::ReadCommitted)).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Transaction);
    assert!(e.message.contains("serializable"));
}

#[test]
fn migrations_apply_once_in_order() {
    let dir = std::env::temp_dir().join(format!("noodle-db-migrations-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("2_second.sql"), "INSERT INTO m VALUES (2);").unwrap();
    std::fs::write(dir.join("1_first.sql"), "CREATE TABLE m (x BIGINT); INSERT INTO m VALUES (1);").unwrap();
    std::fs::write(dir.join("notes.txt"), "not a migration").unwrap();
    let db = Database::connect("sqlite::memory:", Options::default()).unwrap();
    let d = dir.display().to_string();
    assert_eq!(db.migrate(&d).unwrap(), ["1_first.sql", "2_second.sql"]);
    assert!(db.migrate(&d).unwrap().is_empty());
    // a failing migration leaves nothing of itself behind and is not recorded
    std::fs::write(dir.join("3_bad.sql"), "INSERT INTO m VALUES (3); INSERT INTO nowhere VALUES (1);").unwrap();
    let e = db.migrate(&d).unwrap_err();
    assert!(e.message.contains("3_bad.sql"), "{e}");
    assert_eq!(db.query("SELECT count(*) FROM m", Params::none()).unwrap().rows, vec![vec![Value::Int(2)]]);
    std::fs::write(dir.join("3_bad.sql"), "INSERT INTO m VALUES (3);").unwrap();
    std::fs::write(dir.join("03_dup.sql"), "").unwrap();
    assert!(db.migrate(&d).unwrap_err().message.contains("same number"));
}
