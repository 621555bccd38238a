//! The Noodle standard library. Each module is a folder of `src/`: its declarations
//! (`NAME.noodle`, Noodle source with `##` doc comments) and the Rust functions behind them
//! (`mod.rs`, whose `module()` builds the `noodle_native::Module`). The build script finds the
//! folders (`build.rs`), so a new module is a new folder; `modules()` lists them all. The
//! `noodle` crate's standard registry is these plus `std.actor` from `noodle-runtime`.

pub mod codes;

/// Declares a module per folder and `modules()`; the folder names come from `build.rs`.
macro_rules! declare_modules {
    ($($name:ident)*) => {
        $(pub mod $name;)*

        /// Every module of the standard library (but `std.actor`, which the runtime
        /// provides), one per folder of `src/`.
        pub fn modules() -> Vec<noodle_native::Module> {
            vec![$($name::module()),*]
        }
    };
}

include!(concat!(env!("OUT_DIR"), "/modules.rs"));
with_std_modules!(declare_modules);
