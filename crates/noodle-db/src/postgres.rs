//! PostgreSQL through the synchronous `postgres` crate, over plain TCP (no TLS).
//!
//! Values travel in PostgreSQL's binary format. The `postgres` crate's own conversions are
//! strict (an `i64` binds only to `int8`), so [`Param`] and [`Raw`] convert between Noodle
//! values and whatever type the server inferred for each placeholder or column.

use crate::{Backend, ColumnInfo, DbError, ErrorKind, Isolation, Options, Placeholder, Result, Value};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc};
use postgres::config::Host;
use postgres::fallible_iterator::FallibleIterator;
// `BytesMut` is the buffer type of `ToSql::to_sql`; the `postgres` crate exposes it only
// here (its own `to_sql_checked!` macro uses this path).
use postgres::types::private::BytesMut;
use postgres::types::{Format, FromSql, IsNull, Kind, ToSql, Type};
use postgres::{Client, Config, NoTls, Statement};
use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt::{self, Write as _};

/// Prepared statements kept per connection; the cache is emptied when it fills up.
const STATEMENT_CACHE: usize = 256;

pub struct Postgres {
    client: Client,
    /// Prepared statements by SQL text.
    statements: HashMap<String, Statement>,
    /// Whether `begin` opened a transaction that has not ended yet.
    in_tx: bool,
}

type BoxError = Box<dyn StdError + Sync + Send>;

// ---------------------------------------------------------------------------------------
// Errors

/// A value that cannot be bound to its placeholder; becomes `ErrorKind::Type`. The postgres
/// crate wraps it in its own "error serializing parameter" error, so `map_err` looks for it
/// among the sources.
#[derive(Debug)]
struct BindError(String);

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for BindError {}

/// The server's message, with its DETAIL and HINT when it gives them.
fn server_message(db: &postgres::error::DbError) -> String {
    let mut m = db.message().to_string();
    if let Some(d) = db.detail() {
        let _ = write!(m, ": {d}");
    }
    if let Some(h) = db.hint() {
        let _ = write!(m, " (hint: {h})");
    }
    m
}

/// An error and its causes, as one line.
fn chain(e: &dyn StdError) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let _ = write!(s, ": {c}");
        cause = c.source();
    }
    s
}

fn map_err(e: &postgres::Error) -> DbError {
    if let Some(b) = e.source().and_then(|s| s.downcast_ref::<BindError>()) {
        return DbError::new(ErrorKind::Type, b.0.clone());
    }
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let mut err = DbError::from_sqlstate(code, server_message(db));
        if code == "55P03" {
            // lock_not_available: `lock_timeout` expired
            err.kind = ErrorKind::Timeout;
        }
        return err;
    }
    if e.is_closed() {
        return DbError::new(ErrorKind::Connection, "the connection to the PostgreSQL server was closed");
    }
    if e.source().is_some_and(|s| s.is::<std::io::Error>()) {
        return DbError::new(ErrorKind::Connection, format!("lost the connection to the PostgreSQL server: {}", chain(e)));
    }
    DbError::new(ErrorKind::Query, chain(e))
}

/// A cached statement that no longer fits the server: the tables it reads changed shape
/// ("cached plan must not change result type"), or the session's prepared statements were
/// deallocated (`DISCARD ALL`).
fn is_stale(e: &postgres::Error) -> bool {
    e.as_db_error().is_some_and(|db| {
        let code = db.code().code();
        code == "26000" || (code == "0A000" && db.message().contains("cached plan"))
    })
}

/// Does the statement change tables (DDL)? Judged by its first word.
fn changes_schema(sql: &str) -> bool {
    let word: String = sql.trim_start().chars().take_while(|c| c.is_ascii_alphabetic()).collect();
    ["ALTER", "DROP", "CREATE"].iter().any(|w| word.eq_ignore_ascii_case(w))
}

/// The URL with its password hidden, for messages about a URL that cannot be parsed.
fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else { return url.to_string() };
    let rest = &url[start..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => format!("{}{}:***{}{}", &url[..start], &authority[..colon], &authority[at..], &rest[end..]),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// Where a configuration points, for connection errors: hosts, database and user (never
/// the password).
/// The servers a PostgreSQL URL names, as (host, port): what a sandbox must allow before
/// connecting (a Unix socket's folder stands as its host). Empty for a malformed URL, which
/// `connect` then reports.
pub fn servers(url: &str) -> Vec<(String, u16)> {
    let Ok(c) = url.parse::<Config>() else { return Vec::new() };
    let ports = c.get_ports();
    let hosts = c.get_hosts();
    if hosts.is_empty() {
        return vec![("localhost".to_string(), ports.first().copied().unwrap_or(5432))];
    }
    hosts
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match h {
                Host::Tcp(name) => (name.clone(), port),
                #[cfg(unix)]
                Host::Unix(dir) => (dir.display().to_string(), port),
            }
        })
        .collect()
}

fn describe_target(c: &Config) -> String {
    let ports = c.get_ports();
    let hosts: Vec<String> = c
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match h {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(dir) => format!("{}/.s.PGSQL.{port}", dir.display()),
            }
        })
        .collect();
    let user = c.get_user();
    let db = c.get_dbname().or(user).unwrap_or("(default)");
    format!("at {}, database `{db}`, user `{}`", hosts.join(", "), user.unwrap_or("(default)"))
}

/// Connects, all of it within the connect timeout. The driver's own timeout covers only the
/// TCP connection: a server that accepts and then never answers (or claims a message of
/// gigabytes) held `connect` forever. The handshake runs on a thread of its own; past the
/// deadline it is left to finish or fail alone, and the program gets N2203.
fn connect_within(config: Config, target: &str) -> Result<postgres::Client> {
    let Some(limit) = config.get_connect_timeout().copied() else {
        return config.connect(NoTls).map_err(|e| connect_error(target, &e));
    };
    let (tx, rx) = std::sync::mpsc::channel();
    let started = std::thread::Builder::new().name("noodle-pg-connect".into()).spawn(move || {
        let _ = tx.send(config.connect(NoTls));
    });
    if let Err(e) = started {
        return Err(DbError::new(ErrorKind::Connection, format!("cannot connect to PostgreSQL {target}: cannot start a thread: {e}")));
    }
    match rx.recv_timeout(limit) {
        Ok(r) => r.map_err(|e| connect_error(target, &e)),
        Err(_) => Err(DbError::new(
            ErrorKind::Connection,
            format!("cannot connect to PostgreSQL {target}: no answer within the connect timeout ({} s) (the server accepted the connection but did not complete the handshake)", limit.as_secs_f64()),
        )),
    }
}

fn connect_error(target: &str, e: &postgres::Error) -> DbError {
    if let Some(db) = e.as_db_error() {
        return DbError::with_state(ErrorKind::Connection, format!("cannot connect to PostgreSQL {target}: {}", server_message(db)), db.code().code());
    }
    let mut msg = format!("cannot connect to PostgreSQL {target}: {}", chain(e));
    let io = e.source().and_then(|s| s.downcast_ref::<std::io::Error>());
    if io.is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused) {
        msg.push_str(" (is the server running and accepting TCP connections on that port?)");
    } else if e.to_string().contains("TLS") {
        msg.push_str(" (Noodle connects without TLS; remove `sslmode=require` from the URL, or reach the server through a TLS tunnel)");
    }
    DbError::new(ErrorKind::Connection, msg)
}

// ---------------------------------------------------------------------------------------
// Parameters

/// A domain's underlying type (values of a domain are encoded as its base type).
fn base_type(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base_type(inner),
        _ => ty,
    }
}

/// A type as PostgreSQL users know it: `int4`, `text[]`, `mood`.
fn type_label(ty: &Type) -> String {
    match ty.kind() {
        Kind::Array(inner) => format!("{}[]", inner.name()),
        _ => ty.name().to_string(),
    }
}

fn a_value(v: &Value) -> &'static str {
    match v {
        Value::Null => "none",
        Value::Bool(_) => "a bool",
        Value::Int(_) => "an int",
        Value::Float(_) => "a float",
        Value::Str(_) => "a str",
        Value::Bytes(_) => "bytes",
    }
}

/// A short, quoted excerpt of a string for messages.
fn excerpt(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{:?}...", &s[..i]),
        None => format!("{s:?}"),
    }
}

/// A placeholder's value and position (1-based, for messages).
#[derive(Debug)]
struct Param<'a> {
    value: &'a Value,
    n: usize,
}

impl Param<'_> {
    fn mismatch(&self, ty: &Type) -> String {
        let natural = match self.value {
            Value::Bool(_) => "bool",
            Value::Int(_) => "int8",
            Value::Float(_) => "float8",
            Value::Bytes(_) => "bytea",
            Value::Null | Value::Str(_) => "text",
        };
        let label = type_label(ty);
        format!(
            "cannot bind {} to a parameter of type {label} (${n}); pass a value of the matching type, or cast the parameter in SQL, for example `${n}::{natural}::{label}`",
            a_value(self.value),
            n = self.n
        )
    }

    fn bad_str(&self, s: &str, ty: &Type, expected: &str) -> String {
        format!("cannot bind the str {} to a parameter of type {} (${}): expected {expected}", excerpt(s), type_label(ty), self.n)
    }

    /// Writes the value in the binary format of `ty` (or, where `sends_text`, as text).
    fn encode(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, String> {
        let out_of_range = |i: i64| format!("the int {i} is out of range for a parameter of type {} (${})", ty.name(), self.n);
        match self.value {
            Value::Null => return Ok(IsNull::Yes),
            Value::Bool(b) if *ty == Type::BOOL => out.extend_from_slice(&[*b as u8]),
            Value::Int(i) => match *ty {
                Type::INT2 => out.extend_from_slice(&i16::try_from(*i).map_err(|_| out_of_range(*i))?.to_be_bytes()),
                Type::INT4 => out.extend_from_slice(&i32::try_from(*i).map_err(|_| out_of_range(*i))?.to_be_bytes()),
                Type::INT8 => out.extend_from_slice(&i.to_be_bytes()),
                Type::OID => out.extend_from_slice(&u32::try_from(*i).map_err(|_| out_of_range(*i))?.to_be_bytes()),
                Type::FLOAT4 => out.extend_from_slice(&(*i as f32).to_be_bytes()),
                Type::FLOAT8 => out.extend_from_slice(&(*i as f64).to_be_bytes()),
                _ if number_as_text(ty) => out.extend_from_slice(i.to_string().as_bytes()),
                _ => return Err(self.mismatch(ty)),
            },
            Value::Float(f) => match *ty {
                Type::FLOAT4 => {
                    let narrow = *f as f32;
                    if narrow.is_infinite() && f.is_finite() {
                        return Err(format!("the float {f} is out of range for a parameter of type float4 (${})", self.n));
                    }
                    out.extend_from_slice(&narrow.to_be_bytes());
                }
                Type::FLOAT8 => out.extend_from_slice(&f.to_be_bytes()),
                // `{}` never uses an exponent, and numeric's text input knows NaN and Infinity
                _ if number_as_text(ty) => out.extend_from_slice(
                    match f {
                        f if f.is_nan() => "NaN".to_string(),
                        f if f.is_infinite() => (if *f > 0.0 { "Infinity" } else { "-Infinity" }).to_string(),
                        f => f.to_string(),
                    }
                    .as_bytes(),
                ),
                _ => return Err(self.mismatch(ty)),
            },
            Value::Str(s) => match *ty {
                Type::INT2 | Type::INT4 | Type::INT8 | Type::OID | Type::FLOAT4 | Type::FLOAT8 | Type::BOOL | Type::BYTEA => return Err(self.mismatch(ty)),
                Type::JSONB => {
                    out.extend_from_slice(&[1]); // jsonb binary format version
                    out.extend_from_slice(s.as_bytes());
                }
                Type::TIMESTAMP => {
                    let micros = match s.trim() {
                        "infinity" => i64::MAX,
                        "-infinity" => i64::MIN,
                        t => parse_timestamp(t)
                            .and_then(|t| (t - epoch()?).num_microseconds())
                            .ok_or_else(|| self.bad_str(s, ty, "an ISO-8601 date and time without a UTC offset, such as \"2024-05-01 13:45:00\""))?,
                    };
                    out.extend_from_slice(&micros.to_be_bytes());
                }
                Type::TIMESTAMPTZ => {
                    let micros = match s.trim() {
                        "infinity" => i64::MAX,
                        "-infinity" => i64::MIN,
                        t => parse_timestamptz(t)
                            .and_then(|t| (t.naive_utc() - epoch()?).num_microseconds())
                            .ok_or_else(|| self.bad_str(s, ty, "an ISO-8601 date and time, such as \"2024-05-01 13:45:00+02:00\" (no offset means UTC)"))?,
                    };
                    out.extend_from_slice(&micros.to_be_bytes());
                }
                Type::DATE => {
                    let days = match s.trim() {
                        "infinity" => i32::MAX,
                        "-infinity" => i32::MIN,
                        t => NaiveDate::parse_from_str(t, "%Y-%m-%d")
                            .ok()
                            .and_then(|d| i32::try_from((d - epoch()?.date()).num_days()).ok())
                            .ok_or_else(|| self.bad_str(s, ty, "a date such as \"2024-05-01\""))?,
                    };
                    out.extend_from_slice(&days.to_be_bytes());
                }
                Type::TIME => {
                    let t = parse_time(s.trim()).ok_or_else(|| self.bad_str(s, ty, "a time of day such as \"13:45:00\""))?;
                    let micros = i64::from(t.num_seconds_from_midnight()) * 1_000_000 + i64::from(t.nanosecond() / 1000);
                    out.extend_from_slice(&micros.to_be_bytes());
                }
                Type::UUID => {
                    let b = parse_uuid(s.trim()).ok_or_else(|| self.bad_str(s, ty, "a UUID such as \"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\""))?;
                    out.extend_from_slice(&b);
                }
                // text, varchar, bpchar, name, unknown and json are plain UTF-8 in binary
                // format; every other type gets the text form (`sends_text`)
                _ => out.extend_from_slice(s.as_bytes()),
            },
            Value::Bytes(b) if *ty == Type::BYTEA => out.extend_from_slice(b),
            _ => return Err(self.mismatch(ty)),
        }
        Ok(IsNull::No)
    }

    /// Values sent in text format for the server to parse: a str for a type without a binary
    /// conversion here (numeric, interval, inet, enums, arrays, ...), and numbers for numeric
    /// or text columns.
    fn sends_text(&self, ty: &Type) -> bool {
        match self.value {
            Value::Str(_) => !matches!(
                *ty,
                Type::TEXT
                    | Type::VARCHAR
                    | Type::BPCHAR
                    | Type::NAME
                    | Type::UNKNOWN
                    | Type::JSON
                    | Type::JSONB
                    | Type::TIMESTAMP
                    | Type::TIMESTAMPTZ
                    | Type::DATE
                    | Type::TIME
                    | Type::UUID
                    | Type::INT2
                    | Type::INT4
                    | Type::INT8
                    | Type::OID
                    | Type::FLOAT4
                    | Type::FLOAT8
                    | Type::BOOL
                    | Type::BYTEA
            ),
            Value::Int(_) | Value::Float(_) => number_as_text(ty),
            _ => false,
        }
    }
}

/// Types an int or float binds to as its decimal text.
fn number_as_text(ty: &Type) -> bool {
    matches!(*ty, Type::NUMERIC | Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::UNKNOWN)
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        self.encode(base_type(ty), out).map_err(|m| Box::new(BindError(m)) as BoxError)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn encode_format(&self, ty: &Type) -> Format {
        if self.sends_text(base_type(ty)) {
            Format::Text
        } else {
            Format::Binary
        }
    }

    postgres::types::to_sql_checked!();
}

fn params(values: &[Value]) -> Vec<Param<'_>> {
    values.iter().enumerate().map(|(i, value)| Param { value, n: i + 1 }).collect()
}

/// 2000-01-01 00:00:00, where PostgreSQL's timestamps and dates count from.
fn epoch() -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(2000, 1, 1)?.and_hms_opt(0, 0, 0)
}

/// An ISO-8601 date and time without offset ("T" or a space between them, seconds and
/// fraction optional), or a date alone (midnight).
fn parse_timestamp(s: &str) -> Option<NaiveDateTime> {
    for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0)
}

/// Like `parse_timestamp`, plus a UTC offset (`+02`, `+0200`, `+02:00`) or `Z`; without
/// one the time is taken as UTC.
fn parse_timestamptz(s: &str) -> Option<DateTime<Utc>> {
    if let Some(body) = s.strip_suffix(['Z', 'z']) {
        return Some(parse_timestamp(body.trim_end())?.and_utc());
    }
    for f in ["%Y-%m-%d %H:%M:%S%.f%#z", "%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f %#z", "%Y-%m-%d %H:%M%#z", "%Y-%m-%dT%H:%M%#z"] {
        if let Ok(t) = DateTime::parse_from_str(s, f) {
            return Some(t.with_timezone(&Utc));
        }
    }
    Some(parse_timestamp(s)?.and_utc())
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s, "%H:%M:%S%.f").or_else(|_| NaiveTime::parse_from_str(s, "%H:%M")).ok()
}

/// 32 hex digits, with or without hyphens and braces.
fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let s = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')).unwrap_or(s);
    let hex: Vec<u8> = s.bytes().filter(|&c| c != b'-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        let digits = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(digits, 16).ok()?;
    }
    Some(out)
}

// ---------------------------------------------------------------------------------------
// Results

/// A column's raw binary value (`None` for NULL), decoded by `decode`.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> std::result::Result<Raw<'a>, BoxError> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> std::result::Result<Raw<'a>, BoxError> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Can `decode` read values of this type?
fn readable(ty: &Type) -> bool {
    let ty = base_type(ty);
    matches!(
        *ty,
        Type::BOOL
            | Type::INT2
            | Type::INT4
            | Type::INT8
            | Type::OID
            | Type::FLOAT4
            | Type::FLOAT8
            | Type::TEXT
            | Type::VARCHAR
            | Type::BPCHAR
            | Type::NAME
            | Type::CHAR
            | Type::UNKNOWN
            | Type::BYTEA
            | Type::NUMERIC
            | Type::TIMESTAMP
            | Type::TIMESTAMPTZ
            | Type::DATE
            | Type::TIME
            | Type::JSON
            | Type::JSONB
            | Type::UUID
            | Type::VOID
    ) || matches!(ty.kind(), Kind::Enum(_))
        || ty.name() == "citext"
}

fn unreadable(column: &str, ty: &Type) -> DbError {
    let plain = column.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') && column.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    let expr = if plain { column.to_string() } else { format!("\"{}\"", column.replace('"', "\"\"")) };
    DbError::new(
        ErrorKind::Type,
        format!("column `{column}` has type {}, which Noodle cannot read; cast it in SQL (for example `{expr}::text`)", type_label(ty)),
    )
}

fn be<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
    b.try_into().ok()
}

fn decode(raw: Option<&[u8]>, ty: &Type, column: &str) -> Result<Value> {
    let Some(b) = raw else { return Ok(Value::Null) };
    let ty = base_type(ty);
    let malformed = || DbError::new(ErrorKind::Type, format!("column `{column}` holds a {} value that Noodle cannot decode", type_label(ty)));
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map(Value::Str).map_err(|_| malformed());
    let value = match *ty {
        // what functions such as pg_sleep() return
        Type::VOID => Value::Null,
        Type::BOOL => Value::Bool(be::<1>(b).ok_or_else(malformed)?[0] != 0),
        Type::INT2 => Value::Int(i16::from_be_bytes(be(b).ok_or_else(malformed)?).into()),
        Type::INT4 => Value::Int(i32::from_be_bytes(be(b).ok_or_else(malformed)?).into()),
        Type::INT8 => Value::Int(i64::from_be_bytes(be(b).ok_or_else(malformed)?)),
        Type::OID => Value::Int(u32::from_be_bytes(be(b).ok_or_else(malformed)?).into()),
        Type::FLOAT4 => {
            let f = f32::from_be_bytes(be(b).ok_or_else(malformed)?);
            // via the shortest decimal form, so that a real 0.1 reads as 0.1, not 0.10000000149
            Value::Float(f.to_string().parse().unwrap_or(f64::from(f)))
        }
        Type::FLOAT8 => Value::Float(f64::from_be_bytes(be(b).ok_or_else(malformed)?)),
        Type::BYTEA => Value::Bytes(b.to_vec()),
        Type::CHAR => {
            // the one-byte "char" type; PostgreSQL writes bytes outside ASCII in octal
            let c = be::<1>(b).ok_or_else(malformed)?[0];
            Value::Str(if c.is_ascii() { char::from(c).to_string() } else { format!("\\{c:03o}") })
        }
        Type::JSONB => match b.split_first() {
            Some((1, json)) => text(json)?,
            _ => return Err(malformed()),
        },
        Type::NUMERIC => Value::Str(numeric_text(b).ok_or_else(malformed)?),
        Type::TIMESTAMP => Value::Str(timestamp_text(i64::from_be_bytes(be(b).ok_or_else(malformed)?), false).ok_or_else(malformed)?),
        Type::TIMESTAMPTZ => Value::Str(timestamp_text(i64::from_be_bytes(be(b).ok_or_else(malformed)?), true).ok_or_else(malformed)?),
        Type::DATE => Value::Str(date_text(i32::from_be_bytes(be(b).ok_or_else(malformed)?)).ok_or_else(malformed)?),
        Type::TIME => Value::Str(time_text(i64::from_be_bytes(be(b).ok_or_else(malformed)?)).ok_or_else(malformed)?),
        Type::UUID => {
            let u: [u8; 16] = be(b).ok_or_else(malformed)?;
            let mut s = String::with_capacity(36);
            for (i, byte) in u.iter().enumerate() {
                if matches!(i, 4 | 6 | 8 | 10) {
                    s.push('-');
                }
                let _ = write!(s, "{byte:02x}");
            }
            Value::Str(s)
        }
        // text-like types, JSON, enums and citext are UTF-8 text in binary format
        _ if readable(ty) => text(b)?,
        _ => return Err(unreadable(column, ty)),
    };
    Ok(value)
}

/// The exact decimal text of a binary NUMERIC: ndigits, weight, sign and dscale (16 bits
/// each), then `ndigits` base-10000 digits, the first worth 10000^weight.
fn numeric_text(b: &[u8]) -> Option<String> {
    let word = |i: usize| b.get(i..i + 2).map(|x| u16::from_be_bytes([x[0], x[1]]));
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(2)? as i16);
    let sign = word(4)?;
    let dscale = usize::from(word(6)?);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => return None,
    }
    let mut digits = Vec::with_capacity(ndigits);
    for k in 0..ndigits {
        let d = word(8 + 2 * k)?;
        if d > 9999 {
            return None;
        }
        digits.push(d);
    }
    // the digit worth 10000^(weight - i); zero outside the stored ones
    let digit = |i: i32| usize::try_from(i).ok().and_then(|i| digits.get(i)).copied().unwrap_or(0);
    let mut s = String::new();
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        let _ = write!(s, "{}", digit(0));
        for i in 1..=weight {
            let _ = write!(s, "{:04}", digit(i));
        }
    }
    if dscale > 0 {
        s.push('.');
        let start = s.len();
        let mut i = weight + 1;
        while s.len() - start < dscale {
            let _ = write!(s, "{:04}", digit(i));
            i += 1;
        }
        s.truncate(start + dscale);
    }
    Some(s)
}

/// `.ffffff` when there is a fraction of a second.
fn push_micros(s: &mut String, nanos: u32) {
    let micros = nanos / 1000;
    if micros != 0 {
        let _ = write!(s, ".{micros:06}");
    }
}

/// A date as PostgreSQL writes it: "YYYY-MM-DD", and the " BC" that follows the whole
/// value for years before 1 (chrono counts 1 BC as year 0).
fn date_parts(d: NaiveDate) -> (String, &'static str) {
    let (year, bc) = if d.year() <= 0 { (1 - i64::from(d.year()), " BC") } else { (i64::from(d.year()), "") };
    (format!("{year:04}-{:02}-{:02}", d.month(), d.day()), bc)
}

/// Microseconds since 2000-01-01 as "YYYY-MM-DD HH:MM:SS[.ffffff]" (with "+00:00" for
/// timestamptz, which is always read in UTC).
fn timestamp_text(micros: i64, utc: bool) -> Option<String> {
    match micros {
        i64::MAX => return Some("infinity".into()),
        i64::MIN => return Some("-infinity".into()),
        _ => {}
    }
    let t = epoch()?.checked_add_signed(TimeDelta::microseconds(micros))?;
    let (date, bc) = date_parts(t.date());
    let mut s = format!("{date} {}", t.format("%H:%M:%S"));
    push_micros(&mut s, t.nanosecond());
    if utc {
        s.push_str("+00:00");
    }
    s.push_str(bc);
    Some(s)
}

fn date_text(days: i32) -> Option<String> {
    match days {
        i32::MAX => Some("infinity".into()),
        i32::MIN => Some("-infinity".into()),
        d => {
            let (date, bc) = date_parts(epoch()?.date().checked_add_signed(TimeDelta::try_days(d.into())?)?);
            Some(date + bc)
        }
    }
}

fn time_text(micros: i64) -> Option<String> {
    if micros == 86_400_000_000 {
        return Some("24:00:00".into()); // PostgreSQL allows the end of the day
    }
    let secs = u32::try_from(micros.div_euclid(1_000_000)).ok()?;
    let nanos = u32::try_from(micros.rem_euclid(1_000_000)).ok()? * 1000;
    let t = NaiveTime::from_num_seconds_from_midnight_opt(secs, nanos)?;
    let mut s = t.format("%H:%M:%S").to_string();
    push_micros(&mut s, nanos);
    Some(s)
}

/// Fails before any row is read when a column has a type `decode` cannot read.
fn check_readable(stmt: &Statement) -> Result<()> {
    match stmt.columns().iter().find(|c| !readable(c.type_())) {
        Some(c) => Err(unreadable(c.name(), c.type_())),
        None => Ok(()),
    }
}

/// Reports the columns of `stmt`, then hands its rows to `sink` until it returns false.
fn read_rows(mut rows: postgres::RowIter<'_>, stmt: &Statement, columns: &mut dyn FnMut(Vec<String>), sink: &mut dyn FnMut(Vec<Value>) -> bool) -> Result<()> {
    let cols = stmt.columns();
    columns(cols.iter().map(|c| c.name().to_string()).collect());
    while let Some(row) = rows.next().map_err(|e| map_err(&e))? {
        let mut vals = Vec::with_capacity(cols.len());
        for (i, c) in cols.iter().enumerate() {
            let raw: Raw = row.try_get(i).map_err(|e| map_err(&e))?;
            vals.push(decode(raw.0, c.type_(), c.name())?);
        }
        if !sink(vals) {
            break; // dropping `rows` discards the rest of the result
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The backend

impl Postgres {
    pub fn open(url: &str, opts: &Options) -> Result<Box<dyn Backend>> {
        let mut config: Config = url.parse().map_err(|e: postgres::Error| {
            DbError::new(ErrorKind::Connection, format!("cannot connect to PostgreSQL: the URL `{}` is malformed: {}", redact(url), chain(&e)))
        })?;
        if config.get_hosts().is_empty() {
            config.host("localhost");
        }
        // settings written in the URL win over the program's options
        if config.get_connect_timeout().is_none() && !opts.connect_timeout.is_zero() {
            config.connect_timeout(opts.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("noodle");
        }
        let target = describe_target(&config);
        let mut client = connect_within(config, &target)?;

        // PostgreSQL reads 0 as "no limit"; round anything shorter than a millisecond up
        let ms = if opts.timeout.is_zero() { 0 } else { opts.timeout.as_millis().clamp(1, i32::MAX as u128) };
        let mut setup = format!("SET statement_timeout = {ms}; SET lock_timeout = {ms};");
        if opts.read_only {
            setup.push_str(" SET default_transaction_read_only = on;");
        }
        client.batch_execute(&setup).map_err(|e| {
            let d = map_err(&e);
            DbError { kind: ErrorKind::Connection, message: format!("cannot set up the PostgreSQL session {target}: {}", d.message), ..d }
        })?;
        Ok(Box::new(Postgres { client, statements: HashMap::new(), in_tx: false }))
    }

    /// The prepared statement for `sql`, from the cache or prepared now.
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql).map_err(|e| map_err(&e))?;
        if self.statements.len() >= STATEMENT_CACHE {
            self.statements.clear();
        }
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// Runs `f` with the prepared statement for `sql`. A stale cached statement is dropped
    /// and, outside a transaction, prepared again and rerun once (inside one, the failure
    /// has already aborted the transaction).
    fn with_statement<T>(&mut self, sql: &str, mut f: impl FnMut(&mut Client, &Statement) -> std::result::Result<T, postgres::Error>) -> Result<T> {
        let stmt = self.statement(sql)?;
        match f(&mut self.client, &stmt) {
            Ok(v) => Ok(v),
            Err(e) if is_stale(&e) => {
                self.statements.remove(sql);
                if self.in_tx {
                    return Err(map_err(&e));
                }
                let stmt = self.statement(sql)?;
                f(&mut self.client, &stmt).map_err(|e| map_err(&e))
            }
            Err(e) => Err(map_err(&e)),
        }
    }

    /// The first column of every row, as strings.
    fn strings(&mut self, sql: &str, params: &[Value]) -> Result<Vec<String>> {
        let rs = self.query(sql, params)?;
        Ok(rs.rows.into_iter().filter_map(|r| if let Some(Value::Str(s)) = r.into_iter().next() { Some(s) } else { None }).collect())
    }
}

impl Backend for Postgres {
    fn placeholder(&self) -> Placeholder {
        Placeholder::Dollar
    }

    fn execute(&mut self, sql: &str, values: &[Value]) -> Result<u64> {
        let ps = params(values);
        let refs: Vec<&(dyn ToSql + Sync)> = ps.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        let n = self.with_statement(sql, |client, stmt| client.execute(stmt, &refs))?;
        if changes_schema(sql) {
            // cached statements over the changed tables would fail once ("cached plan must
            // not change result type"), fatally inside a transaction
            self.statements.clear();
        }
        Ok(n)
    }

    fn execute_many(&mut self, sql: &str, rows: &[Vec<Value>]) -> Result<u64> {
        let mut n = 0;
        for r in rows {
            n += self.execute(sql, r)?; // one prepared statement, from the cache
        }
        Ok(n)
    }

    fn stream(&mut self, sql: &str, values: &[Value], columns: &mut dyn FnMut(Vec<String>), sink: &mut dyn FnMut(Vec<Value>) -> bool) -> Result<()> {
        let ps = params(values);
        let stmt = self.statement(sql)?;
        check_readable(&stmt)?;
        let e = match self.client.query_raw(&stmt, ps.iter()) {
            Ok(rows) => return read_rows(rows, &stmt, columns, sink),
            Err(e) => e,
        };
        // a stale cached statement: see `with_statement`
        if !is_stale(&e) {
            return Err(map_err(&e));
        }
        self.statements.remove(sql);
        if self.in_tx {
            return Err(map_err(&e));
        }
        let stmt = self.statement(sql)?;
        check_readable(&stmt)?;
        let rows = self.client.query_raw(&stmt, ps.iter()).map_err(|e| map_err(&e))?;
        read_rows(rows, &stmt, columns, sink)
    }

    fn begin(&mut self, isolation: Option<Isolation>) -> Result<()> {
        let sql = match isolation {
            // PostgreSQL accepts READ UNCOMMITTED and runs it as READ COMMITTED
            Some(level) => format!("BEGIN ISOLATION LEVEL {}", level.sql()),
            None => "BEGIN".to_string(),
        };
        self.client.batch_execute(&sql).map_err(|e| map_err(&e))?;
        self.in_tx = true;
        Ok(())
    }

    fn commit(&mut self) -> Result<()> {
        // PostgreSQL answers COMMIT of a transaction in which a statement failed by rolling
        // it back, without an error. The probe fails in that state (25P02) and stops the
        // rest of the text, so such a commit is reported instead of passing silently.
        let r = self.client.batch_execute("SELECT 1; COMMIT");
        let r = match r {
            Err(e) if e.code().is_some_and(|c| c.code() == "25P02") => {
                self.client.batch_execute("ROLLBACK").map_err(|e| map_err(&e))?;
                Err(DbError::with_state(
                    ErrorKind::Transaction,
                    "the transaction was rolled back, not committed, because a statement in it failed",
                    "25P02",
                ))
            }
            r => r.map_err(|e| map_err(&e)),
        };
        // a failed COMMIT ends the transaction too
        self.in_tx = false;
        r
    }

    fn rollback(&mut self) -> Result<()> {
        // without an open transaction PostgreSQL only warns
        self.client.batch_execute("ROLLBACK").map_err(|e| map_err(&e))?;
        self.in_tx = false;
        Ok(())
    }

    fn batch(&mut self, sql: &str) -> Result<()> {
        // DDL can change what cached statements return; savepoint commands (how nested
        // transactions reach here) cannot, so they keep the cache
        let head: String = sql.trim_start().chars().take(11).collect::<String>().to_ascii_uppercase();
        if !(head.starts_with("SAVEPOINT") || head.starts_with("RELEASE") || head.starts_with("ROLLBACK TO")) {
            self.statements.clear();
        }
        self.client.batch_execute(sql).map_err(|e| map_err(&e))
    }

    fn tables(&mut self) -> Result<Vec<String>> {
        // tables, views, materialized views, partitioned and foreign tables visible through
        // the search path, without the system schemas (pg_catalog, pg_toast, pg_temp_N)
        self.strings(
            "SELECT c.relname::text FROM pg_catalog.pg_class c \
             JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'v', 'm', 'p', 'f') \
               AND n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' \
               AND pg_catalog.pg_table_is_visible(c.oid) \
             ORDER BY c.relname",
            &[],
        )
    }

    fn columns(&mut self, table: &str) -> Result<Vec<ColumnInfo>> {
        // the table the name means in this session (first in the search path); enums and
        // arrays show their own type names instead of "USER-DEFINED" and "ARRAY"
        let rs = self.query(
            "WITH t AS ( \
               SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c \
               JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace \
               WHERE c.relname = $1 AND c.relkind IN ('r', 'v', 'm', 'p', 'f') AND pg_catalog.pg_table_is_visible(c.oid)) \
             SELECT col.column_name::text, \
               CASE col.data_type WHEN 'USER-DEFINED' THEN col.udt_name::text \
                 WHEN 'ARRAY' THEN substr(col.udt_name::text, 2) || '[]' \
                 ELSE lower(col.data_type::text) END, \
               col.is_nullable::text = 'YES', \
               EXISTS (SELECT 1 FROM pg_catalog.pg_index i \
                       WHERE i.indrelid = t.oid AND i.indisprimary AND col.ordinal_position::int2 = ANY (i.indkey)) \
             FROM information_schema.columns col \
             JOIN t ON col.table_schema::text = t.nspname::text AND col.table_name::text = t.relname::text \
             ORDER BY col.ordinal_position",
            &[Value::Str(table.to_string())],
        )?;
        Ok(rs
            .rows
            .into_iter()
            .map(|r| {
                let text = |v: &Value| if let Value::Str(s) = v { s.clone() } else { String::new() };
                ColumnInfo { name: text(&r[0]), type_name: text(&r[1]), nullable: r[2] == Value::Bool(true), primary_key: r[3] == Value::Bool(true) }
            })
            .collect())
    }

    fn is_broken(&mut self) -> bool {
        self.client.is_closed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale].iter().chain(digits) {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b
    }

    #[test]
    fn numeric_binary_to_text() {
        assert_eq!(numeric_text(&numeric(0, 0, 0, 0, &[])).as_deref(), Some("0"));
        assert_eq!(numeric_text(&numeric(0, 0, 0, 2, &[])).as_deref(), Some("0.00"));
        assert_eq!(numeric_text(&numeric(2, 0, 0, 2, &[12, 3400])).as_deref(), Some("12.34"));
        assert_eq!(numeric_text(&numeric(2, 1, 0x4000, 0, &[1, 0])).as_deref(), Some("-10000"));
        assert_eq!(numeric_text(&numeric(1, 1, 0, 0, &[5])).as_deref(), Some("50000"));
        assert_eq!(numeric_text(&numeric(1, -2, 0, 5, &[1000])).as_deref(), Some("0.00001"));
        assert_eq!(numeric_text(&numeric(3, 2, 0, 3, &[1, 2345, 6789])).as_deref(), Some("123456789.000"));
        assert_eq!(numeric_text(&numeric(0, 0, 0xC000, 0, &[])).as_deref(), Some("NaN"));
        assert_eq!(numeric_text(&numeric(1, 0, 0, 0, &[])), None); // truncated
        assert_eq!(numeric_text(&numeric(1, 0, 0, 0, &[10000])), None);
    }

    #[test]
    fn dates_and_times_to_text() {
        assert_eq!(timestamp_text(0, false).as_deref(), Some("2000-01-01 00:00:00"));
        assert_eq!(timestamp_text(1_500_000, true).as_deref(), Some("2000-01-01 00:00:01.500000+00:00"));
        assert_eq!(timestamp_text(-1, false).as_deref(), Some("1999-12-31 23:59:59.999999"));
        assert_eq!(timestamp_text(i64::MAX, false).as_deref(), Some("infinity"));
        assert_eq!(date_text(-1).as_deref(), Some("1999-12-31"));
        // 44 BC is chrono's year -43; year 10000 has no sign
        let bc = NaiveDate::from_ymd_opt(-43, 3, 15).unwrap() - epoch().unwrap().date();
        assert_eq!(date_text(bc.num_days() as i32).as_deref(), Some("0044-03-15 BC"));
        let far = NaiveDate::from_ymd_opt(10000, 1, 2).unwrap() - epoch().unwrap().date();
        assert_eq!(timestamp_text(far.num_microseconds().unwrap(), true).as_deref(), Some("10000-01-02 00:00:00+00:00"));
        assert_eq!(time_text(3_723_000_001).as_deref(), Some("01:02:03.000001"));
        assert_eq!(time_text(-5), None);
    }

    #[test]
    fn parses_timestamps_and_uuids() {
        let t = parse_timestamptz("2024-05-01T13:45:00.25+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2024-05-01T11:45:00.250+00:00");
        assert_eq!(parse_timestamptz("2024-05-01 13:45:00Z"), parse_timestamptz("2024-05-01 13:45:00"));
        assert_eq!(parse_timestamptz("2024-05-01 13:45:00+02").unwrap().to_rfc3339(), "2024-05-01T11:45:00+00:00");
        assert!(parse_timestamp("2024-05-01").is_some());
        assert!(parse_timestamp("2024-05-01 13:45").is_some());
        assert!(parse_timestamp("yesterday").is_none());
        assert_eq!(parse_uuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11").map(|u| u[0]), Some(0xa0));
        assert!(parse_uuid("a0eebc99").is_none());
        assert!(parse_uuid("g0eebc999c0b4ef8bb6d6bb9bd380a11").is_none());
    }

    #[test]
    fn hides_passwords() {
        assert_eq!(redact("postgres://u:secret@h:5432/db?x=1"), "postgres://u:***@h:5432/db?x=1");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
