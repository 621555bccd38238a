//! `std.math`: floats and ints, with Rust's `f64` functions (Python-compatible at the edges).

use crate::core::float_to_int;
use noodle_native::simple;
use noodle_native::{arity, as_float, as_int, bad, Ctx, Module, Value, VmError};

type R = Result<Value, VmError>;

/// The `std.math` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.math", include_str!("math.noodle"))
        .function("sqrt", simple!(math_sqrt))
        .function("sin", simple!(math_sin))
        .function("cos", simple!(math_cos))
        .function("tan", simple!(math_tan))
        .function("asin", simple!(math_asin))
        .function("acos", simple!(math_acos))
        .function("atan", simple!(math_atan))
        .function("atan2", simple!(math_atan2))
        .function("exp", simple!(math_exp))
        .function("log", simple!(math_log))
        .function("log2", simple!(math_log2))
        .function("log10", simple!(math_log10))
        .function("pow", simple!(math_pow))
        .function("hypot", simple!(math_hypot))
        .function("floor", simple!(math_floor))
        .function("ceil", simple!(math_ceil))
        .function("round", simple!(math_round))
        .function("trunc", simple!(math_trunc))
        .function("is_nan", simple!(math_is_nan))
        .function("is_inf", simple!(math_is_inf))
        .function("gcd", simple!(math_gcd))
}

fn math1(args: &[Value], name: &str, f: fn(f64) -> f64) -> R {
    arity(args, 1, name)?;
    Ok(Value::Float(f(as_float(args[0], name)?)))
}

fn math2(args: &[Value], name: &str, f: fn(f64, f64) -> f64) -> R {
    arity(args, 2, name)?;
    Ok(Value::Float(f(as_float(args[0], name)?, as_float(args[1], name)?)))
}

fn math_sqrt(_: &mut Ctx, args: &[Value]) -> R {
    math1(args, "math.sqrt", f64::sqrt)
}
fn math_sin(_: &mut Ctx, args: &[Value]) -> R {
    math1(args, "math.sin", f64::sin)
}
fn math_cos(_: &mut Ctx, args: &[Value]) -> R {
    math1(args, "math.cos", f64::cos)
}
fn math_tan(_: &mut Ctx, args: &[Value]) -> R {
    math1(args, "math.tan", f64::tan)
}
fn math_asin(_: &mut Ctx, args: &[Value]) -> R {
    math1(args, "math.asin", f64::asin)
}
fn math_acos(_: &mut Ctx, args: &[Value]) -> R {
    math1(args, "math.acos", f64::acos)
}
fn math_atan(_: &mut Ctx, args: &[Value]) -> R {
    math1(args, "math.atan", f64::atan)
}
fn math_atan2(_: &mut Ctx, args: &[Value]) -> R {
    math2(args, "math.atan2", f64::atan2)
}
fn math_exp(_: &mut Ctx, args: &[Value]) -> R {
    math1(args, "math.exp", f64::exp)
}
fn math_log(_: &mut Ctx, args: &[Value]) -> R {
    math1(args, "math.log", f64::ln)
}
fn math_log2(_: &mut Ctx, args: &[Value]) -> R {
    math1(args, "math.log2", f64::log2)
}
fn math_log10(_: &mut Ctx, args: &[Value]) -> R {
    math1(args, "math.log10", f64::log10)
}
fn math_pow(_: &mut Ctx, args: &[Value]) -> R {
    math2(args, "math.pow", f64::powf)
}
fn math_hypot(_: &mut Ctx, args: &[Value]) -> R {
    math2(args, "math.hypot", f64::hypot)
}

/// floor/ceil/round/trunc: float to int.
fn math_to_int(args: &[Value], name: &str, f: fn(f64) -> f64) -> R {
    arity(args, 1, name)?;
    match args[0] {
        Value::Int(i) => Ok(Value::Int(i)),
        Value::Float(x) => Ok(Value::Int(float_to_int(f(x), name)?)),
        _ => Err(bad(name)),
    }
}

fn math_floor(_: &mut Ctx, args: &[Value]) -> R {
    math_to_int(args, "math.floor", f64::floor)
}
fn math_ceil(_: &mut Ctx, args: &[Value]) -> R {
    math_to_int(args, "math.ceil", f64::ceil)
}
fn math_round(_: &mut Ctx, args: &[Value]) -> R {
    math_to_int(args, "math.round", f64::round_ties_even)
}
fn math_trunc(_: &mut Ctx, args: &[Value]) -> R {
    math_to_int(args, "math.trunc", f64::trunc)
}

fn math_is_nan(_: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "math.is_nan")?;
    Ok(Value::Bool(as_float(args[0], "math.is_nan")?.is_nan()))
}

fn math_is_inf(_: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "math.is_inf")?;
    Ok(Value::Bool(as_float(args[0], "math.is_inf")?.is_infinite()))
}

fn math_gcd(_: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "math.gcd")?;
    let (mut a, mut b) = (as_int(args[0], "math.gcd")?.unsigned_abs(), as_int(args[1], "math.gcd")?.unsigned_abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    i64::try_from(a).map(Value::Int).map_err(|_| VmError::overflow("math.gcd"))
}

