//! `std.http`: an HTTP/1.1 client and server written in Noodle over `std.net` (the
//! declarations are the implementation). The one native joins byte strings, which Noodle code
//! can only do a byte at a time.

use noodle_native::{arity, as_list, simple, Ctx, Module, Obj, Value, VmError};

/// The `std.http` module: its declarations, which are also its code.
pub fn module() -> Module {
    Module::new("std.http", include_str!("http.noodle")).function("__join", simple!(join))
}

/// `__join(parts)`: the `bytes` in `parts`, one after another (N2011 past the memory the
/// process can get).
fn join(ctx: &mut Ctx, args: &[Value]) -> Result<Value, VmError> {
    arity(args, 1, "http.__join")?;
    let parts = as_list(ctx.heap, args[0], "http.__join")?;
    let mut out: Vec<u8> = Vec::new();
    for v in parts.iter() {
        let b = noodle_native::as_bytes(ctx.heap, v, "http.__join")?;
        out.try_reserve(b.len()).map_err(|_| VmError::arg("http: a body too large for memory"))?;
        out.extend_from_slice(b);
    }
    Ok(ctx.heap.alloc(Obj::Bytes(out.into())))
}
