//! Finds the standard library's modules: every folder of `src/` with a `mod.rs` is one (its
//! `module()` builds the `noodle_native::Module`), so adding a module is adding its folder.
//! Writes `$OUT_DIR/modules.rs`, which `lib.rs` includes: a `mod` for each folder and
//! `modules()`, the list of them all.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    println!("cargo:rerun-if-changed={}", src.display());
    let mut names: Vec<String> = std::fs::read_dir(&src)
        .expect("src/ of noodle-std")
        .flatten()
        .filter(|e| e.path().join("mod.rs").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut out = String::new();
    for n in &names {
        assert!(n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "module folder `{n}` must be a Rust name");
        let path = src.join(n).join("mod.rs");
        println!("cargo:rerun-if-changed={}", src.join(n).display());
        let _ = writeln!(out, "#[path = {:?}]\npub mod {n};", path.display().to_string());
    }
    out.push_str("\n/// Every module of the standard library (but `std.actor`, which the runtime provides), one\n/// per folder of `src/`.\npub fn modules() -> Vec<noodle_native::Module> {\n    vec![");
    out.push_str(&names.iter().map(|n| format!("{n}::module()")).collect::<Vec<_>>().join(", "));
    out.push_str("]\n}\n");
    std::fs::write(Path::new(&std::env::var("OUT_DIR").unwrap()).join("modules.rs"), out).expect("write modules.rs");
}
