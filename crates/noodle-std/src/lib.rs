//! The Noodle standard library. Each module is a folder: its declarations (`NAME.noodle`,
//! Noodle source with `##` doc comments) and the Rust functions behind them (`mod.rs`, whose
//! `module()` builds the `noodle_native::Module`). `modules()` lists them all; the `noodle`
//! crate's standard registry is these plus `std.actor` from `noodle-runtime`.

pub mod core;
pub mod db;
pub mod io;
pub mod linalg;
pub mod math;
pub mod os;
pub mod string;
pub mod tensor;
pub mod time;

use noodle_native::Module;

/// Every module of the standard library (except `std.actor`, which the runtime provides).
pub fn modules() -> Vec<Module> {
    vec![core::module(), math::module(), string::module(), time::module(), io::module(), os::module(), tensor::module(), linalg::module(), db::module()]
}
