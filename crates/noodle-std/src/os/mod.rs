//! `std.os`: the process's environment.

use noodle_native::{arity, as_str, simple, Ctx, Module, Value, VmError};
use noodle_vm::permissions::Access;

type R = Result<Value, VmError>;

/// The `std.os` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.os", include_str!("os.noodle")).function("env", simple!(os_env))
}

fn os_env(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "os.env")?;
    let name = as_str(ctx.heap, args[0], "os.env")?;
    ctx.permit(Access::Env(name))?;
    match std::env::var(name) {
        Ok(v) => Ok(ctx.heap.alloc_str(v)),
        Err(_) => Ok(Value::None),
    }
}
