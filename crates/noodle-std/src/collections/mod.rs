//! `std.collections`: a deque, a priority queue and a counter, written in Noodle (the
//! declarations are the implementation: generic structs whose methods have bodies), so this
//! module has no Rust functions.

use noodle_native::Module;

/// The `std.collections` module: its declarations, which are also its code.
pub fn module() -> Module {
    Module::new("std.collections", include_str!("collections.noodle"))
}
