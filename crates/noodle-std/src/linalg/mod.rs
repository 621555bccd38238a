//! `std.linalg`: linear algebra on tensors (faer's factorisations, through `noodle-tensor`).
//! The natives share the tensor module's helpers, so they live in `tensor/mod.rs`; this folder
//! holds the module's declarations.

use noodle_native::Module;

/// The `std.linalg` module: its declarations and the functions behind them.
pub fn module() -> Module {
    crate::tensor::linalg_module(Module::new("std.linalg", include_str!("linalg.noodle")))
}
