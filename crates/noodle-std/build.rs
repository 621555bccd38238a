//! Finds the standard library's modules: every folder of `src/` with a `mod.rs` is one (its
//! `module()` builds the `noodle_native::Module`), so adding a module is adding its folder.
//! Writes `$OUT_DIR/modules.rs`, which `lib.rs` includes: a macro that hands `lib.rs` the folder
//! names, from which it declares a `mod` for each and `modules()`, the list of them all.
//!
//! Nothing written holds a path: a target folder shared by two checkouts (a persistent CI
//! target) must never compile one checkout with the other's sources, and cargo may keep this
//! script's output when only the checkout moved. So the names go out, `lib.rs` declares the
//! `mod`s (resolved beside it), and the paths cargo watches are relative to the package.

use std::fmt::Write;
use std::path::Path;

fn main() {
    // read when the script runs, not when it was compiled: a target folder shared by two
    // checkouts may run a script compiled in the other one
    let src = Path::new(&std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR")).join("src");
    println!("cargo:rerun-if-changed=src");
    let mut names: Vec<String> = std::fs::read_dir(&src)
        .expect("src/ of noodle-std")
        .flatten()
        .filter(|e| e.path().join("mod.rs").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for n in &names {
        assert!(n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "module folder `{n}` must be a Rust name");
        println!("cargo:rerun-if-changed=src/{n}");
    }
    let mut out = String::new();
    let _ = writeln!(out, "macro_rules! with_std_modules {{ ($m:ident) => {{ $m!({}); }} }}", names.join(" "));
    std::fs::write(Path::new(&std::env::var("OUT_DIR").unwrap()).join("modules.rs"), out).expect("write modules.rs");
}
