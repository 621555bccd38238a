//! The `noodle` binary on malformed `.nbc` files (the fixtures in `tests/nbc/`, made by
//! `crates/noodle/tests/nbc.rs`) and on inputs that once crashed it: it must report an error
//! with a code and exit with status 1, never panic or abort.

mod common;

use common::{run_with_timeout, Run};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `noodle ARGS` with a time limit and (on Unix) a 2 GiB address-space limit, so a
/// runaway allocation fails fast instead of taking the machine's memory.
fn noodle(args: &[&str], dir: &Path, timeout: Duration) -> Run {
    let exe = env!("CARGO_BIN_EXE_noodle");
    let mut cmd = if cfg!(unix) && Path::new("/bin/sh").exists() {
        let mut c = Command::new("/bin/sh");
        c.arg("-c").arg("ulimit -v 2097152 2>/dev/null; exec \"$0\" \"$@\"").arg(exe).args(args);
        c
    } else {
        let mut c = Command::new(exe);
        c.args(args);
        c
    };
    let mut r = run_with_timeout(cmd.current_dir(dir), timeout);
    // a runaway program may write a lot: keep the first 64 KiB
    for s in [&mut r.stdout, &mut r.stderr] {
        let mut n = s.len().min(1 << 16);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
    }
    r
}

/// The first `n` characters of `s`.
fn head(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("noodle-cli-test-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Each fixture and the error code `noodle run` must report for it. A four-character code
/// (`N050`) accepts any loader error.
const FIXTURES: &[(&str, &str)] = &[
    ("empty.nbc", "N0500"),
    ("bad_magic.nbc", "N0500"),
    ("noodle_source.nbc", "N0500"),
    ("truncated_header.nbc", "N0503"),
    ("truncated_body.nbc", "N0503"),
    ("truncated_body_fixed_header.nbc", "N0503"),
    ("record_flags_unknown.nbc", "N0503"),
    ("trailing_bytes.nbc", "N0503"),
    ("version_99.nbc", "N0501"),
    ("flags_set.nbc", "N050"),
    ("bad_checksum.nbc", "N0502"),
    ("bad_register.nbc", "N0504"),
    ("bad_entry.nbc", "N0504"),
    ("missing_constant.nbc", "N0504"),
    ("falls_off_the_end.nbc", "N0504"),
    ("bad_actor_kind.nbc", "N0504"),
    ("huge_globals.nbc", "N050"),
    ("unknown_native.nbc", "N0901"),
];

fn check_refused(cmd: &str, file: &str, code: &str) -> Result<(), String> {
    let dir = root().join("tests/nbc");
    assert!(dir.join(file).exists(), "missing fixture tests/nbc/{file} (NOODLE_BLESS=1 cargo test -p noodle --test nbc fixtures)");
    let r = noodle(&[cmd, file], &dir, Duration::from_secs(30));
    let mut problems = Vec::new();
    if r.timed_out {
        problems.push("timed out".to_string());
    }
    if r.code != Some(1) {
        problems.push(format!("exit status {:?} (want 1)", r.code));
    }
    if !r.stderr.contains(&format!("error[{code}")) {
        problems.push(format!("no `error[{code}` in stderr"));
    }
    if r.stderr.contains("panicked") || r.stderr.contains("overflowed its stack") || r.stderr.contains("memory allocation") {
        problems.push("crashed".to_string());
    }
    if !r.stdout.is_empty() {
        problems.push(format!("unexpected stdout {:?}", head(&r.stdout, 200)));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("noodle {cmd} tests/nbc/{file}: {}\n--- stderr:\n{}", problems.join("; "), r.stderr))
    }
}

#[test]
fn run_refuses_malformed_nbc() {
    let errors: Vec<String> = FIXTURES.iter().filter_map(|(f, c)| check_refused("run", f, c).err()).collect();
    assert!(errors.is_empty(), "{} of {} fixtures:\n{}", errors.len(), FIXTURES.len(), errors.join("\n"));
}

#[test]
fn disasm_refuses_malformed_nbc() {
    // disasm loads through the same path; the runtime-only failure (unknown native) does not apply
    let errors: Vec<String> = FIXTURES.iter().filter(|(_, c)| c.starts_with("N050")).filter_map(|(f, c)| check_refused("disasm", f, c).err()).collect();
    assert!(errors.is_empty(), "{} fixtures:\n{}", errors.len(), errors.join("\n"));
}

#[test]
fn every_fixture_is_listed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("tests/nbc"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".nbc"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = FIXTURES.iter().map(|(f, _)| f.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

#[test]
fn version_error_names_both_versions() {
    let r = noodle(&["run", "version_99.nbc"], &root().join("tests/nbc"), Duration::from_secs(30));
    assert!(r.stderr.contains("version 99"), "{}", r.stderr);
    assert!(r.stderr.contains(&format!("reads version {}", noodle::NBC_FORMAT_VERSION)), "{}", r.stderr);
    assert!(r.stderr.contains("noodle build"), "{}", r.stderr);
}

#[test]
fn missing_nbc_file_is_an_io_error() {
    let r = noodle(&["run", "no_such_file.nbc"], &root().join("tests/nbc"), Duration::from_secs(30));
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("error[N0900]"), "{}", r.stderr);
}

#[test]
fn build_then_run_nbc() {
    // the positive control: a file written by `noodle build` runs
    let dir = temp_dir("build");
    std::fs::write(dir.join("hello.noodle"), "let xs = [1, 2, 3]\nprint(f\"sum {xs.map(fn (x) => x * 2)}\")\n").unwrap();
    let r = noodle(&["build", "hello.noodle", "-o", "hello.nbc"], &dir, Duration::from_secs(60));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = noodle(&["run", "hello.nbc"], &dir, Duration::from_secs(60));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, "sum [2, 4, 6]\n");
    // and the same file with one body byte changed is refused
    let mut b = std::fs::read(dir.join("hello.nbc")).unwrap();
    let n = b.len();
    b[n - 5] ^= 0x40;
    std::fs::write(dir.join("corrupt.nbc"), &b).unwrap();
    let r = noodle(&["run", "corrupt.nbc"], &dir, Duration::from_secs(60));
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("error[N0502]"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// regressions for crashes found by the property tests and fuzzers (see docs/fuzzing.md)

/// Runs a source program through `noodle CMD` and checks it neither crashes nor hangs.
fn no_crash(cmd: &str, tag: &str, src: &str, want_code: Option<i32>) {
    let dir = temp_dir(tag);
    std::fs::write(dir.join("t.noodle"), src).unwrap();
    let r = noodle(&[cmd, "t.noodle"], &dir, Duration::from_secs(60));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!r.timed_out, "noodle {cmd} timed out");
    assert!(!r.stderr.contains("panicked"), "noodle {cmd} panicked:\n{}", head(&r.stderr, 2000));
    assert!(!r.stderr.contains("overflowed its stack"), "noodle {cmd} overflowed its stack");
    assert!(!r.stderr.contains("memory allocation"), "noodle {cmd} aborted on an allocation failure:\n{}", head(&r.stderr, 300));
    assert!(r.code == Some(0) || r.code == Some(1), "noodle {cmd} was killed or crashed (exit {:?}):\n{}", r.code, head(&r.stderr, 2000));
    if let Some(c) = want_code {
        assert_eq!(r.code, Some(c), "stderr:\n{}", r.stderr);
    }
}

/// A list that contains itself twice: printing it went down every path to the depth limit
/// (2^100 strings), so `print` tried to allocate gigabytes and the process aborted.
/// Found by `body_flips_with_fixed_checksum_never_panic` (a mutant that made `list.map` push
/// the result list into itself).
#[test]
fn printing_a_list_that_contains_itself_twice() {
    no_crash("run", "cycle2", "var xs: list[any] = []\nxs.push(xs)\nxs.push(xs)\nprint(len(xs))\nprint(xs)\nprint(len(str(xs)) > 0)\n", Some(0));
}

#[test]
fn comparing_and_formatting_self_referential_values() {
    no_crash(
        "run",
        "cycle3",
        "var a: list[any] = []\na.push(a)\nvar b: list[any] = []\nb.push(b)\nprint(a == a)\nprint(a == b)\nprint(f\"{a}\")\nlet d: dict[str, any] = {}\nd[\"self\"] = d\nd[\"again\"] = d\nprint(d)\n",
        None,
    );
}

/// Deeply nested brackets: the recursive-descent parser (and the passes after it) recursed
/// once per level and overflowed the main thread's stack at a few thousand levels.
#[test]
fn deeply_nested_expressions_do_not_overflow_the_stack() {
    for depth in [5_000usize, 100_000] {
        no_crash("check", "deep1", &format!("print({}1{})\n", "(".repeat(depth), ")".repeat(depth)), None);
        no_crash("check", "deep2", &format!("let x = {}\n", "[".repeat(depth)), None);
        no_crash("check", "deep3", &format!("let x = {}1\n", "-".repeat(depth)), None);
        no_crash("check", "deep4", &format!("{}\n", "if true {".repeat(depth)), None);
    }
}
