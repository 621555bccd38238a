//! `std.string`: characters and code points.

use noodle_native::simple;
use noodle_native::{arity, as_int, as_str, Ctx, Module, Value, VmError};

type R = Result<Value, VmError>;

/// The `std.string` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.string", include_str!("string.noodle"))
        .function("from_code", simple!(string_from_code))
        .function("code", simple!(string_code))
}

fn string_from_code(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "string.from_code")?;
    let n = as_int(args[0], "string.from_code")?;
    let c = u32::try_from(n).ok().and_then(char::from_u32).ok_or_else(|| VmError::arg(format!("{n} is not a valid code point")))?;
    Ok(ctx.heap.alloc_str(c.to_string()))
}

fn string_code(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "string.code")?;
    let s = as_str(ctx.heap, args[0], "string.code")?;
    s.chars().next().map(|c| Value::Int(c as i64)).ok_or_else(|| VmError::arg("code of an empty string"))
}

