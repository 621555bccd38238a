//! `std.retry`: retries with backoff and a circuit breaker, written in Noodle (the
//! declarations are the implementation).

use noodle_native::Module;

/// The `std.retry` module: its declarations, which are also its code.
pub fn module() -> Module {
    Module::new("std.retry", include_str!("retry.noodle"))
}
