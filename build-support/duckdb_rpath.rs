//! Build script shared by the crates whose binaries and tests link DuckDB (the `duckdb`
//! feature). It records the folder of the prebuilt libduckdb.so (DUCKDB_LIB_DIR, which
//! .cargo/config.toml points at .deps/duckdb) as a run-time search path, after `$ORIGIN` so an
//! installed `noodle` may carry the library beside it; the binaries and test binaries then load
//! it without LD_LIBRARY_PATH, wherever the target directory is. noodle-db also links the
//! library into its OUT_DIR, which cargo puts on the search path of every `cargo test` and
//! `cargo run` in the workspace (for builds that turn on only `noodle-db/duckdb`).
//!
//! For `noodle-cli` it also packs the `noodle` binary's relative relocations (see
//! `pack_relative_relocations`) and places the functions a run uses together (see
//! `order_hot_functions`).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=DUCKDB_LIB_DIR");
    println!("cargo:rerun-if-changed=../../build-support/duckdb_rpath.rs");
    if std::env::var("CARGO_PKG_NAME").as_deref() == Ok("noodle-cli") {
        pack_relative_relocations();
        order_hot_functions();
    }
    if std::env::var_os("CARGO_FEATURE_DUCKDB").is_none() {
        return;
    }
    let Some(dir) = std::env::var_os("DUCKDB_LIB_DIR") else {
        panic!("the `duckdb` feature needs DUCKDB_LIB_DIR (set by .cargo/config.toml): run scripts/fetch-duckdb first");
    };
    let lib = PathBuf::from(dir).join("libduckdb.so");
    println!("cargo:rerun-if-changed={}", lib.display());
    let Ok(lib) = lib.canonicalize() else {
        panic!("the `duckdb` feature links {}, which is missing: run scripts/fetch-duckdb first", lib.display());
    };
    let folder = lib.parent().expect("a file has a parent folder");
    println!("cargo:rustc-link-arg=-Wl,-rpath,$ORIGIN:{}", folder.display());
    if std::env::var("CARGO_PKG_NAME").as_deref() == Ok("noodle-db") {
        let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
        let link = out.join("libduckdb.so");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&lib, &link).expect("link libduckdb.so into OUT_DIR");
        println!("cargo:rustc-link-search=native={}", out.display());
    }
}

/// The `noodle` binary is linked with its relative relocations packed (`-z
/// pack-relative-relocs`, DT_RELR): the 230 KB relocation table the loader reads at every
/// start becomes a 3 KB bitmap, which takes about 0.3 MB off the peak memory of every run
/// (hello world 4.7 -> 4.4 MB) and keeps the binary position-independent. Only where the C
/// library that will load it understands DT_RELR (glibc 2.36 and later) and the target is
/// Linux with glibc; elsewhere the binary is linked as before.
fn pack_relative_relocations() {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" || var("TARGET") != var("HOST") {
        return;
    }
    let Ok(out) = std::process::Command::new("getconf").arg("GNU_LIBC_VERSION").output() else { return };
    // "glibc 2.36"
    let text = String::from_utf8_lossy(&out.stdout);
    if major_minor(text.trim().trim_start_matches("glibc ")) >= (2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The `noodle` binary is linked with the functions that running a program executes placed
/// together (`build-support/hot-functions.txt`, made by `scripts/hot-functions`, as lld's
/// symbol ordering file). The kernel maps a binary's code 64 KB around each page a run touches,
/// so with those functions spread over the 9 MB text section a hello world had 2.3 MB of it
/// resident; together, they take a fraction of that (hello world 4.5 -> 3.3 MB peak, see
/// docs/benchmarks.md). A name the build no longer has is skipped, and a build that differs
/// (another toolchain, other settings) merely goes unordered. Only with rustc's own lld, the
/// default linker for this target since Rust 1.90: another linker may not know the option.
fn order_hot_functions() {
    let var = |k: &str| std::env::var(k).unwrap_or_default();
    let list = std::path::Path::new(&var("CARGO_MANIFEST_DIR")).join("../../build-support/hot-functions.txt");
    println!("cargo:rerun-if-changed={}", list.display());
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let other_linker = std::env::var_os("RUSTC_LINKER").is_some() || ["linker", "link-self-contained", "fuse-ld"].iter().any(|f| flags.contains(f));
    if var("TARGET") != "x86_64-unknown-linux-gnu" || other_linker || !list.exists() {
        return;
    }
    let Ok(out) = std::process::Command::new(var("RUSTC")).arg("-vV").output() else { return };
    // "release: 1.95.0"
    let text = String::from_utf8_lossy(&out.stdout);
    if major_minor(text.lines().find_map(|l| l.strip_prefix("release: ")).unwrap_or("")) < (1, 90) {
        return;
    }
    let Ok(list) = list.canonicalize() else { return };
    println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", list.display());
    println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
}

/// The first two numbers of a version ("2.36", "1.95.0-beta.1"); a part that is not a number
/// counts as 0.
fn major_minor(version: &str) -> (u32, u32) {
    let mut parts = version.split(['.', '-']).map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}
