//! `std.log`: leveled, structured records written as single lines to standard error, as text
//! or JSON. The level and format are the program's (shared by every actor), read from
//! `NOODLE_LOG` and `NOODLE_LOG_FORMAT` at first use; a record is written with one write, so
//! lines from actors running at once do not interleave within a line.

use noodle_native::{arity, as_str, simple, Ctx, Module, Obj, Value, VmError};
use noodle_vm::value::Key;
use std::sync::atomic::{AtomicU8, Ordering};

type R = Result<Value, VmError>;

/// The `std.log` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.log", include_str!("log.noodle"))
        .function("debug", simple!(log_debug))
        .function("info", simple!(log_info))
        .function("warn", simple!(log_warn))
        .function("error", simple!(log_error))
        .function("set_level", simple!(log_set_level))
        .function("level", simple!(log_level))
        .function("set_format", simple!(log_set_format))
        .function("enabled", simple!(log_enabled))
}

const LEVELS: [&str; 5] = ["debug", "info", "warn", "error", "off"];
/// 255: not read from the environment yet.
static LEVEL: AtomicU8 = AtomicU8::new(255);
/// 0 text, 1 JSON; 255: not read yet.
static FORMAT: AtomicU8 = AtomicU8::new(255);

fn level_index(name: &str) -> Option<u8> {
    LEVELS.iter().position(|l| l.eq_ignore_ascii_case(name.trim())).map(|i| i as u8)
}

fn current_level() -> u8 {
    match LEVEL.load(Ordering::Relaxed) {
        255 => {
            let l = crate::os::var("NOODLE_LOG").and_then(|v| level_index(&v)).unwrap_or(1);
            LEVEL.store(l, Ordering::Relaxed);
            l
        }
        l => l,
    }
}

fn json_format() -> bool {
    match FORMAT.load(Ordering::Relaxed) {
        255 => {
            let f = u8::from(crate::os::var("NOODLE_LOG_FORMAT").is_some_and(|v| v.trim().eq_ignore_ascii_case("json")));
            FORMAT.store(f, Ordering::Relaxed);
            f == 1
        }
        f => f == 1,
    }
}

/// The current time as ISO 8601 UTC with milliseconds.
fn timestamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn record(ctx: &mut Ctx, args: &[Value], level: u8, name: &str) -> R {
    arity(args, 2, name)?;
    if level < current_level() {
        return Ok(Value::None);
    }
    let message = as_str(ctx.heap, args[0], name)?;
    let who = ctx.host.as_deref().map_or_else(|| "main".to_string(), |h| h.describe());
    let mut fields: Vec<(String, Value)> = Vec::new();
    if let Value::Obj(r) = args[1] {
        if let Obj::Dict(d) = ctx.heap.get(r) {
            for (image, (stored, v)) in d.iter() {
                let k = match image {
                    Key::Str(s) => s.as_str().to_string(),
                    _ => noodle_vm::fmt::display(ctx.heap, ctx.program, *stored),
                };
                fields.push((k, *v));
            }
        }
    }
    let lname = LEVELS[level as usize];
    let mut line = String::new();
    if json_format() {
        line.push_str(&format!("{{\"time\":{},\"level\":{},\"process\":{},\"message\":{}", json_str(&timestamp()), json_str(lname), json_str(&who), json_str(message)));
        for (k, v) in &fields {
            line.push(',');
            line.push_str(&json_str(k));
            line.push(':');
            line.push_str(&json_value(ctx, *v));
        }
        line.push('}');
    } else {
        line.push_str(&format!("{} {:<5} [{who}] {message}", timestamp(), lname.to_ascii_uppercase()));
        for (k, v) in &fields {
            let shown = match v {
                Value::Obj(r) if matches!(ctx.heap.get(*r), Obj::Str(_)) => noodle_vm::fmt::str_repr(&noodle_vm::fmt::display(ctx.heap, ctx.program, *v)),
                _ => noodle_vm::fmt::display(ctx.heap, ctx.program, *v),
            };
            line.push_str(&format!(" {k}={shown}"));
        }
    }
    line.push('\n');
    // what the program printed first comes first
    let _ = ctx.out.flush();
    ctx.err.write_all(line.as_bytes()).and_then(|_| ctx.err.flush()).map_err(|e| crate::core::io_error("<stderr>", &e))?;
    Ok(Value::None)
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    crate::json::push_string(&mut out, s);
    out
}

/// A field's value as JSON: what `json.encode` writes, or its text when it has no JSON form.
fn json_value(ctx: &Ctx, v: Value) -> String {
    crate::json::encode_text(ctx.heap, ctx.program, v, None, false).unwrap_or_else(|_| json_str(&noodle_vm::fmt::display(ctx.heap, ctx.program, v)))
}

fn log_debug(ctx: &mut Ctx, args: &[Value]) -> R {
    record(ctx, args, 0, "log.debug")
}

fn log_info(ctx: &mut Ctx, args: &[Value]) -> R {
    record(ctx, args, 1, "log.info")
}

fn log_warn(ctx: &mut Ctx, args: &[Value]) -> R {
    record(ctx, args, 2, "log.warn")
}

fn log_error(ctx: &mut Ctx, args: &[Value]) -> R {
    record(ctx, args, 3, "log.error")
}

fn level_arg(ctx: &Ctx, v: Value, name: &str) -> Result<u8, VmError> {
    let s = as_str(ctx.heap, v, name)?;
    level_index(s).ok_or_else(|| VmError::arg(format!("{s:?} is not a log level (debug, info, warn, error, off)")))
}

fn log_set_level(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "log.set_level")?;
    LEVEL.store(level_arg(ctx, args[0], "log.set_level")?, Ordering::Relaxed);
    Ok(Value::None)
}

fn log_level(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "log.level")?;
    Ok(ctx.heap.alloc_str(LEVELS[current_level() as usize]))
}

fn log_set_format(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "log.set_format")?;
    let f = as_str(ctx.heap, args[0], "log.set_format")?;
    let json = match f.trim().to_ascii_lowercase().as_str() {
        "text" => 0,
        "json" => 1,
        _ => return Err(VmError::arg(format!("{f:?} is not a log format (text, json)"))),
    };
    FORMAT.store(json, Ordering::Relaxed);
    Ok(Value::None)
}

fn log_enabled(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "log.enabled")?;
    let l = level_arg(ctx, args[0], "log.enabled")?;
    Ok(Value::Bool(l >= current_level() && l < 4))
}
