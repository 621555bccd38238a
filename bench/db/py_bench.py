#!/usr/bin/env python3
"""The Python side of bench/db_compare: the same three workloads as bench/db/*.noodle and
crates/noodle-db/examples/raw_bench.rs, through sqlite3 (standard library), psycopg 3 and the
duckdb package.

    py_bench.py <sqlite|postgres|duckdb> <url> <point|insert|scan|ping> [--rows N] [--lookups N] [--seed N]

URLs are noodle-db's (sqlite::memory:, sqlite://path, postgres://..., duckdb::memory:,
duckdb://path). Prints `result KEY VALUE` lines (see raw_bench.rs for the keys) and exits
with status 1 when a result is wrong, 3 when the driver is not installed.
"""
import argparse
import sys
import time

POINT_SQL = "SELECT id, name, value FROM bench_pt WHERE id = {p}"
INSERT_SQL = "INSERT INTO bench_ins (id, name, value) VALUES ({p}, {p}, {p})"
SCAN_SQL = "SELECT id, value FROM bench_scan"


def fail(msg):
    print(f"py_bench: {msg}", file=sys.stderr)
    sys.exit(1)


def report(key, v):
    print(f"result {key} {v:.3f}")


def lcg(x):
    return (x * 1103515245 + 12345) % 2147483648


def value_sum(n):
    return 0.25 * (n * (n + 1) // 2)


def fill_sql(backend, table, n):
    if backend == "sqlite":
        return (f"INSERT INTO {table} (id, name, value) WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                f"SELECT x + 1 FROM c WHERE x < {n}) SELECT x, 'n' || CAST(x AS VARCHAR), x * 0.25 FROM c")
    return (f"INSERT INTO {table} (id, name, value) SELECT x, 'n' || CAST(x AS VARCHAR), x * 0.25 "
            f"FROM generate_series(1, {n}) AS g(x)")


class Driver:
    """What the workloads need; each subclass uses its driver the way its documentation shows."""
    placeholder = "?"

    def setup_table(self, backend, table, n):
        self.run(f"DROP TABLE IF EXISTS {table}")
        self.run(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value DOUBLE PRECISION NOT NULL)")
        if n > 0:
            self.run(fill_sql(backend, table, n))


class Sqlite(Driver):
    def __init__(self, url):
        import sqlite3
        self.version = f"sqlite3 (SQLite {sqlite3.sqlite_version})"
        if url in ("sqlite::memory:", "sqlite://:memory:"):
            self.conn = sqlite3.connect(":memory:", isolation_level=None)
        else:
            self.conn = sqlite3.connect(url[len("sqlite://"):], isolation_level=None)
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.cur = self.conn.cursor()

    def run(self, sql):
        self.conn.execute(sql)

    def lookup_fn(self):
        cur, sql = self.cur, POINT_SQL.format(p="?")

        def lookup(i):
            return cur.execute(sql, (i,)).fetchone()
        return lookup

    def insert(self, n):
        cur, sql = self.cur, INSERT_SQL.format(p="?")
        cur.execute("BEGIN IMMEDIATE")
        for i in range(1, n + 1):
            cur.execute(sql, (i, f"n{i}", i * 0.25))
        cur.execute("COMMIT")

    def scan(self):
        n, total = 0, 0.0
        for _id, v in self.cur.execute(SCAN_SQL):
            total += v
            n += 1
        return n, total

    def count_sum(self, table):
        return self.cur.execute(f"SELECT count(*), sum(value) FROM {table}").fetchone()


class Postgres(Driver):
    def __init__(self, url):
        try:
            import psycopg
        except ImportError:
            print("py_bench: psycopg is not installed", file=sys.stderr)
            sys.exit(3)
        self.version = f"psycopg {psycopg.__version__} (libpq {psycopg.pq.version()})"
        # autocommit, with explicit transactions, as the other implementations run
        self.conn = psycopg.connect(url, autocommit=True)
        self.cur = self.conn.cursor()

    def run(self, sql):
        self.cur.execute(sql)

    def lookup_fn(self):
        cur, sql = self.cur, POINT_SQL.format(p="%s")

        def lookup(i):
            # psycopg prepares the statement on the server after its 5th use (prepare_threshold)
            cur.execute(sql, (i,))
            return cur.fetchone()
        return lookup

    def insert(self, n):
        cur, sql = self.cur, INSERT_SQL.format(p="%s")
        with self.conn.transaction():
            for i in range(1, n + 1):
                cur.execute(sql, (i, f"n{i}", i * 0.25))

    def scan(self):
        # the default (client-side) cursor: libpq receives the whole result, psycopg makes the
        # Python rows as they are iterated
        n, total = 0, 0.0
        self.cur.execute(SCAN_SQL)
        for _id, v in self.cur:
            total += v
            n += 1
        return n, total

    def count_sum(self, table):
        self.cur.execute(f"SELECT count(*), sum(value) FROM {table}")
        return self.cur.fetchone()


class Duck(Driver):
    def __init__(self, url):
        try:
            import duckdb
        except ImportError:
            print("py_bench: the duckdb package is not installed", file=sys.stderr)
            sys.exit(3)
        self.version = f"duckdb {duckdb.__version__}"
        if url in ("duckdb::memory:", "duckdb://:memory:"):
            self.conn = duckdb.connect(":memory:")
        else:
            self.conn = duckdb.connect(url[len("duckdb://"):])

    def run(self, sql):
        self.conn.execute(sql)

    def lookup_fn(self):
        conn, sql = self.conn, POINT_SQL.format(p="?")

        def lookup(i):
            return conn.execute(sql, [i]).fetchone()
        return lookup

    def insert(self, n):
        conn, sql = self.conn, INSERT_SQL.format(p="?")
        conn.execute("BEGIN TRANSACTION")
        for i in range(1, n + 1):
            conn.execute(sql, [i, f"n{i}", i * 0.25])
        conn.execute("COMMIT")

    def scan(self):
        n, total = 0, 0.0
        res = self.conn.execute(SCAN_SQL)
        while True:
            batch = res.fetchmany(1000)
            if not batch:
                break
            for _id, v in batch:
                total += v
                n += 1
        return n, total

    def count_sum(self, table):
        return self.conn.execute(f"SELECT count(*), sum(value) FROM {table}").fetchone()


def point(d, a):
    d.setup_table(a.backend, "bench_pt", a.rows)
    lookup = d.lookup_fn()
    ids, x = [], a.seed
    for _ in range(a.lookups):
        x = lcg(x)
        ids.append(x % a.rows + 1)
    expected = sum(i * 0.25 for i in ids)
    for i in ids[:1000]:
        lookup(i)
    clock = time.perf_counter_ns
    lat, total = [], 0.0
    for i in ids:
        t0 = clock()
        row = lookup(i)
        v = row[2]
        lat.append(clock() - t0)
        total += v
        if row[0] != i:
            fail(f"looked up id {i}, got {row[0]}")
    if total != expected:
        fail(f"point select: the values add up to {total}, expected {expected}")
    t0 = time.perf_counter()
    total = 0.0
    for i in ids:
        total += lookup(i)[2]
    secs = time.perf_counter() - t0
    if total != expected:
        fail(f"point select: the values add up to {total}, expected {expected}")
    lat.sort()
    n = len(lat)
    report("point_p50_us", lat[(n - 1) * 50 // 100] / 1000)
    report("point_p99_us", lat[(n - 1) * 99 // 100] / 1000)
    report("point_ops_s", n / secs)


def insert(d, a):
    d.setup_table(a.backend, "bench_ins", 0)
    t0 = time.perf_counter()
    d.insert(a.rows)
    secs = time.perf_counter() - t0
    n, s = d.count_sum("bench_ins")
    if n != a.rows or s != value_sum(a.rows):
        fail(f"insert: the table holds {n} rows adding up to {s}, expected {a.rows} and {value_sum(a.rows)}")
    report("insert_rows_s", a.rows / secs)
    d.run("DROP TABLE bench_ins")


def scan(d, a):
    d.setup_table(a.backend, "bench_scan", a.rows)
    t0 = time.perf_counter()
    n, total = d.scan()
    secs = time.perf_counter() - t0
    if n != a.rows or total != value_sum(a.rows):
        fail(f"scan: read {n} rows adding up to {total}, expected {a.rows} and {value_sum(a.rows)}")
    report("scan_rows_s", n / secs)
    d.run("DROP TABLE bench_scan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("backend", choices=["sqlite", "postgres", "duckdb"])
    ap.add_argument("url")
    ap.add_argument("workload", choices=["point", "insert", "scan", "ping"])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--lookups", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    d = {"sqlite": Sqlite, "postgres": Postgres, "duckdb": Duck}[a.backend](a.url)
    if a.workload == "ping":
        print(f"version {d.version}")
        return
    {"point": point, "insert": insert, "scan": scan}[a.workload](d, a)


if __name__ == "__main__":
    main()
