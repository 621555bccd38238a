//! `std.time`: clocks, and `sleep`, which under the actor runtime suspends only the caller.

use crate::core::io_error;
use noodle_native::simple;
use noodle_native::{arity, as_float, Ctx, Flow, Module, Value, VmError, Wait};

type R = Result<Value, VmError>;

/// The `std.time` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.time", include_str!("time.noodle"))
        .function("now", simple!(time_now))
        .function("monotonic", simple!(time_monotonic))
        .function("sleep", time_sleep)
}

fn time_now(_: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "time.now")?;
    Ok(Value::Float(unix_seconds(std::time::SystemTime::now())))
}

/// Seconds since the Unix epoch (negative before it), with a fraction (`time.now`, a file's
/// modification time).
pub(crate) fn unix_seconds(t: std::time::SystemTime) -> f64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

fn time_monotonic(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "time.monotonic")?;
    if let Some(h) = ctx.host.as_deref_mut() {
        // the scheduler's clock (virtual in deterministic mode, so timings replay exactly)
        return Ok(Value::Float(h.now()));
    }
    Ok(Value::Float(process_clock()))
}

/// Seconds on this process's monotonic clock, from its first reading (`time.monotonic` and
/// `datetime.monotonic` outside the scheduler).
pub(crate) fn process_clock() -> f64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let start = START.get_or_init(std::time::Instant::now);
    start.elapsed().as_secs_f64()
}

fn time_sleep(ctx: &mut Ctx, args: &[Value]) -> Result<Value, Flow> {
    arity(args, 1, "time.sleep")?;
    let secs = as_float(args[0], "time.sleep")?;
    if secs.is_nan() || secs < 0.0 {
        return Err(VmError::arg("sleep length cannot be negative").into());
    }
    let d = std::time::Duration::try_from_secs_f64(secs).map_err(|_| VmError::arg("sleep length is too large"))?;
    // Show what was printed so far before pausing.
    ctx.out.flush().map_err(|e| io_error("<stdout>", &e))?;
    match ctx.host.as_deref_mut() {
        // under the scheduler, only this process waits
        Some(h) => match h.sleep(secs)? {
            true => Ok(Value::None),
            false => Err(Flow::Suspend(Box::new(Sleep(secs)))),
        },
        None => {
            std::thread::sleep(d);
            Ok(Value::None)
        }
    }
}

/// A sleep under the scheduler, until the host says it is over.
struct Sleep(f64);

impl Wait for Sleep {
    fn poll(&mut self, ctx: &mut Ctx) -> Result<Option<Value>, VmError> {
        match ctx.host.as_deref_mut() {
            Some(h) => Ok(h.sleep(self.0)?.then_some(Value::None)),
            None => Ok(Some(Value::None)),
        }
    }
}
