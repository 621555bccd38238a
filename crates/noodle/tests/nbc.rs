//! Robustness tests for the `.nbc` loader and for running whatever it accepts.
//!
//! `load_nbc` takes untrusted bytes: whatever they are, it must return an error (of the right
//! kind) or a program that passed the verifier, and a verified program must run without
//! panicking: it finishes, or stops with an uncaught Noodle error, or is stopped by an
//! instruction budget.
//!
//! The fixtures in `tests/nbc/` (used by `crates/noodle-cli/tests/cli.rs`) are made here:
//! `NOODLE_BLESS=1 cargo test -p noodle --test nbc fixtures` rewrites them.

use noodle::{LoadError, Output, Program, Runtime};
use proptest::prelude::*;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

// ---------------------------------------------------------------------------------------------
// programs and helpers

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const RICH: &str = r#"# structs, enums, interfaces, closures, try/catch/finally, collections, f-strings
import std.math

interface Named {
    def name(self) -> str
}

struct Point {
    x: int
    y: int

    def name(self) -> str { return f"Point({self.x}, {self.y})" }
    def norm2(self) -> int { return self.x * self.x + self.y * self.y }
}

enum Shape {
    Circle(radius: float)
    Rect(w: float, h: float)
    Dot
}

def area(s: Shape) -> float {
    return match s {
        Shape.Circle(r) => math.pi * r * r
        Shape.Rect(w, h) => w * h
        Shape.Dot => 0.0
    }
}

def make_counter(start: int) -> fn() -> int {
    var n = start
    return fn () -> int {
        n += 1
        return n
    }
}

def risky(n: int) -> int {
    if n > 2 { throw Error("E_BIG", f"too big: {n}") }
    return n * 10
}

let pts = [Point(1, 2), Point(3, 4), Point(-5, 6)]
let named: list[Named] = [pts[0], pts[1]]
for p in named {
    print(p.name())
}
print(pts.map(fn (p) => p.norm2()))
let shapes = [Shape.Circle(1.5), Shape.Rect(2.0, 3.0), Shape.Dot]
for s in shapes {
    print(f"{area(s):.3f}")
}
let c = make_counter(10)
print(c(), c(), c())
var total = 0
for n in 0..5 {
    try {
        total += risky(n)
    } catch e {
        print("caught", e.code, e.message)
    } finally {
        total += 1
    }
}
print("total", total)
let d = {"a": 1, "b": 2}
d["c"] = 3
print(d, len(d), "b" in d)
let st = {1, 2, 3, 2}
print(st, (1, "x", 2.5))
var i = 0
var acc = ""
while i < 4 {
    acc = acc + str(i)
    i += 1
}
print(acc, b"hi", 7 // 2, 2 ** 10, -7 % 3)
"#;

const RICH_OUT: &str = r#"Point(1, 2)
Point(3, 4)
[5, 25, 61]
7.069
6.000
0.000
11 12 13
caught E_BIG too big: 3
caught E_BIG too big: 4
total 35
{"a": 1, "b": 2, "c": 3} 3 true
{1, 2, 3} (1, "x", 2.5)
0123 b"hi" 3 1024 2
"#;

/// Ends with an uncaught error, after reading a line of input.
const FAILING: &str = r#"import std.io
def get(xs: list[int], i: int) -> int {
    return xs[i]
}
let line = io.read_line() ?? "nothing"
print("read", line)
let xs = [1, 2, 3]
print(get(xs, 1))
print(get(xs, 7))
print("unreachable")
"#;

fn compile(name: &str, src: &str) -> Program {
    match noodle::compile_source(Path::new(name), src.to_string()) {
        Ok(c) => c.program,
        Err(e) => panic!("{name} does not compile:\n{}", e.render()),
    }
}

/// The real programs every test runs over: (name, program).
fn programs() -> Vec<(&'static str, Program)> {
    let fib = std::fs::read_to_string(root().join("bench/fib.noodle")).expect("bench/fib.noodle");
    vec![("fib", compile("fib.noodle", &fib)), ("rich", compile("rich.noodle", RICH)), ("failing", compile("failing.noodle", FAILING))]
}

/// A `Write` whose contents the test can read back after handing a clone to the VM.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let mut v = self.0.lock().unwrap();
        // a runaway mutant may print forever; keep the first megabyte
        if v.len() < 1 << 20 {
            v.extend_from_slice(b);
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuf {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[derive(Debug, PartialEq)]
enum Outcome {
    /// `Runtime::new` refused the program (e.g. an unknown native).
    Setup,
    Finished,
    /// Uncaught error code.
    Uncaught(String),
    /// Still running when the budget ran out.
    OutOfBudget,
}

struct Ran {
    outcome: Outcome,
    out: String,
    err: String,
}

/// Runs a program with captured streams and at most `resumes * step` budget ticks.
fn run_budgeted(p: Program, resumes: u32, step: u64) -> Ran {
    let (out, err) = (SharedBuf::default(), SharedBuf::default());
    let io = Output { out: Box::new(out.clone()), err: Box::new(err.clone()), input: Box::new(std::io::Cursor::new(b"some input\n".to_vec())) };
    let outcome = match Runtime::new(p, io) {
        Err(_) => Outcome::Setup,
        Ok(mut rt) => {
            let mut r = rt.start_with_budget(step);
            let mut n = 1;
            loop {
                match r {
                    Ok(true) => break Outcome::Finished,
                    Err(u) => {
                        // rendering an uncaught error must not panic either
                        let _ = u.render();
                        break Outcome::Uncaught(u.code.clone());
                    }
                    Ok(false) if n >= resumes => break Outcome::OutOfBudget,
                    Ok(false) => {
                        n += 1;
                        r = rt.resume(step);
                    }
                }
            }
        }
    };
    Ran { outcome, out: out.text(), err: err.text() }
}

/// Sets the header's crc32 to the checksum of the body (bytes 16..).
fn fix_crc(bytes: &mut [u8]) {
    let crc = crc32fast::hash(&bytes[16..]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
}

/// Sets the header's body length and crc32 to match the body.
fn fix_header(bytes: &mut [u8]) {
    let len = (bytes.len() - 16) as u32;
    bytes[8..12].copy_from_slice(&len.to_le_bytes());
    fix_crc(bytes);
}

/// Globals the VM allocates up front when it loads a program (the verifier's limit is 2^24).
/// Anything the verifier accepts above this is reported as a finding instead of being run (the
/// VM would try to allocate `nglobals * 16` bytes and could abort the process).
const MAX_SANE_GLOBALS: u32 = 1 << 24;

/// A resource problem in a verified program that would abort the process if it ran.
fn too_big(p: &Program) -> Option<String> {
    (p.nglobals > MAX_SANE_GLOBALS).then(|| format!("the verifier accepted nglobals = {} (the VM would allocate {} bytes for them)", p.nglobals, p.nglobals as u64 * 16))
}

/// Loads untrusted bytes and, if they load, runs them with a small budget. Returns a
/// description of a panic (or of a program too big to run), if there was one.
fn load_and_run(bytes: &[u8], resumes: u32, step: u64) -> Result<(), String> {
    let r = catch_unwind(AssertUnwindSafe(|| {
        if let Ok(p) = noodle::load_nbc(bytes) {
            if let Some(why) = too_big(&p) {
                return Err(why);
            }
            // the disassembler must cope with anything the verifier accepted
            let _ = noodle::disassemble(&p);
            let _ = run_budgeted(p, resumes, step);
        }
        Ok(())
    }));
    match r {
        Ok(r) => r,
        Err(e) => Err(format!("panicked: {}", e.downcast_ref::<String>().cloned().or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default())),
    }
}

fn kind(e: &LoadError) -> &'static str {
    match e {
        LoadError::NotNbc => "NotNbc",
        LoadError::Version { .. } => "Version",
        LoadError::Checksum { .. } => "Checksum",
        LoadError::Malformed(_) => "Malformed",
        LoadError::Invalid(_) => "Invalid",
    }
}

// ---------------------------------------------------------------------------------------------
// (a) round trip

#[test]
fn roundtrip_decode_encode() {
    for (name, p) in programs() {
        let bytes = noodle::encode(&p);
        let back = noodle::load_nbc(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, p, "{name}: decode(encode(p)) != p");
        assert_eq!(noodle::encode(&back), bytes, "{name}: encoding is not canonical");
    }
}

#[test]
fn roundtrip_runs_the_same() {
    let p = compile("rich.noodle", RICH);
    let direct = run_budgeted(p.clone(), 1000, 10_000);
    let loaded = run_budgeted(noodle::load_nbc(&noodle::encode(&p)).unwrap(), 1000, 10_000);
    assert_eq!(direct.outcome, Outcome::Finished, "stderr: {}", direct.err);
    assert_eq!(direct.out, RICH_OUT);
    assert_eq!(loaded.outcome, direct.outcome);
    assert_eq!(loaded.out, direct.out);

    let p = compile("failing.noodle", FAILING);
    let loaded = run_budgeted(noodle::load_nbc(&noodle::encode(&p)).unwrap(), 1000, 10_000);
    assert!(matches!(loaded.outcome, Outcome::Uncaught(_)), "{:?}", loaded.outcome);
    assert_eq!(loaded.out, "read some input\n2\n");
}

#[test]
fn budget_stops_fib() {
    // fib(32) takes millions of calls: a budget of 20 x 1000 ticks must stop it.
    let (_, p) = programs().into_iter().find(|(n, _)| *n == "fib").unwrap();
    let r = run_budgeted(noodle::load_nbc(&noodle::encode(&p)).unwrap(), 20, 1000);
    assert_eq!(r.outcome, Outcome::OutOfBudget);
    assert_eq!(r.out, "");
}

// ---------------------------------------------------------------------------------------------
// (b) truncation

#[test]
fn every_truncation_is_refused() {
    for (name, p) in programs() {
        let bytes = noodle::encode(&p);
        for len in 0..bytes.len() {
            let r = catch_unwind(|| noodle::load_nbc(&bytes[..len]));
            let r = r.unwrap_or_else(|_| panic!("{name}: load_nbc panicked on the first {len} bytes"));
            let e = match r {
                Ok(_) => panic!("{name}: the first {len} of {} bytes loaded", bytes.len()),
                Err(e) => e,
            };
            let want = if len < 4 { "NotNbc" } else { "Malformed" };
            assert_eq!(kind(&e), want, "{name}: truncated to {len} bytes: {e}");
            assert!(e.code().as_str().starts_with("N050"), "{name}: {}", e.code());
        }
    }
}

#[test]
fn every_truncation_with_a_fixed_header_is_refused() {
    // Cut the body anywhere and make the header agree: the decoder itself must notice.
    for (name, p) in programs() {
        let bytes = noodle::encode(&p);
        for len in 16..bytes.len() {
            let mut b = bytes[..len].to_vec();
            fix_header(&mut b);
            let r = catch_unwind(|| noodle::load_nbc(&b)).unwrap_or_else(|_| panic!("{name}: panicked at body length {}", len - 16));
            match r {
                Ok(_) => panic!("{name}: a body cut to {} bytes loaded", len - 16),
                Err(e) => assert!(matches!(e, LoadError::Malformed(_)), "{name}: body cut to {} bytes: {e}", len - 16),
            }
        }
    }
}

#[test]
fn trailing_bytes_are_refused() {
    let p = compile("rich.noodle", RICH);
    let mut b = noodle::encode(&p);
    b.extend_from_slice(&[0, 1, 2]);
    fix_header(&mut b);
    assert!(matches!(noodle::load_nbc(&b), Err(LoadError::Malformed(m)) if m.contains("unexpected bytes")));
}

// ---------------------------------------------------------------------------------------------
// (c) corruption

/// The error kind a flip at header offset `i` must give when the checksum is not recomputed.
fn expected_kind_for_flip(i: usize) -> &'static str {
    match i {
        0..=3 => "NotNbc",
        4..=5 => "Version",
        // flags: must be zero in format version 1
        6..=7 => "Malformed",
        8..=11 => "Malformed",
        _ => "Checksum",
    }
}

#[test]
fn every_bit_flip_in_the_header_is_refused() {
    for (name, p) in programs() {
        let bytes = noodle::encode(&p);
        let mut wrong = Vec::new();
        for i in 0..16 {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                match catch_unwind(|| noodle::load_nbc(&b)) {
                    Err(_) => wrong.push(format!("byte {i} bit {bit}: panicked")),
                    Ok(Ok(_)) => wrong.push(format!("byte {i} bit {bit}: loaded")),
                    Ok(Err(e)) if kind(&e) != expected_kind_for_flip(i) => {
                        wrong.push(format!("byte {i} bit {bit}: {} instead of {}: {e}", kind(&e), expected_kind_for_flip(i)))
                    }
                    Ok(Err(_)) => {}
                }
            }
        }
        assert!(wrong.is_empty(), "{name}: {} header flips were not refused as expected:\n{}", wrong.len(), wrong.join("\n"));
    }
}

#[test]
fn every_byte_and_bit_flip_in_the_body_fails_the_checksum() {
    for (name, p) in programs() {
        let bytes = noodle::encode(&p);
        for i in 16..bytes.len() {
            for x in [0x01u8, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= x;
                match noodle::load_nbc(&b) {
                    Err(LoadError::Checksum { expected, found }) => {
                        assert_ne!(expected, found);
                        let msg = LoadError::Checksum { expected, found }.to_string();
                        assert!(msg.contains("checksum"), "{msg}");
                    }
                    other => panic!("{name}: byte {i} ^ {x:#04x}: {:?}", other.map(|_| "loaded")),
                }
            }
        }
    }
}

// Flips in the body with the checksum recomputed: the decoder and verifier are now the only
// defence. Whatever loads must run (with a budget) without panicking.
//
// A bug in the VM can do worse than panic: a failed huge allocation aborts the process, and
// an exponential loop in native code ignores the budget. So these campaigns run in a child
// process (this same test binary, re-run with NBC_CHILD set) under a memory limit; the parent
// records a mutant that kills or hangs the child as a finding and restarts after it.

/// A mutation campaign: (label, bytes) for each mutant, and the budget to run each with.
struct Campaign {
    mutants: Vec<(String, Vec<u8>)>,
    resumes: u32,
    step: u64,
}

fn campaign(which: &str) -> Campaign {
    let mut mutants = Vec::new();
    let (programs, resumes, step) = match which {
        // every program: one bit per byte (rotating) plus the whole byte inverted
        "body" => (programs(), 10, 1000),
        // fib only: every bit of every byte
        "fib_bits" => (programs().into_iter().filter(|(n, _)| *n == "fib").collect(), 4, 250),
        other => panic!("unknown campaign {other}"),
    };
    for (name, p) in programs {
        let bytes = noodle::encode(&p);
        for i in 16..bytes.len() {
            let xs: Vec<u8> = if which == "body" { vec![1u8 << (i % 8), 0xff] } else { (0..8).map(|b| 1u8 << b).collect() };
            for x in xs {
                let mut b = bytes.clone();
                b[i] ^= x;
                fix_crc(&mut b);
                mutants.push((format!("{name}: byte {i} ^ {x:#04x}"), b));
            }
        }
    }
    Campaign { mutants, resumes, step }
}

/// Child side: runs mutants from `start` on, writing each index to `progress` before running
/// it and each finding to stdout.
fn campaign_child(c: &Campaign, start: usize, progress: &Path) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(progress).unwrap();
    let (mut loaded, mut refused) = (0, 0);
    // libtest has printed "test NAME ... " without a newline
    println!();
    for (k, (label, b)) in c.mutants.iter().enumerate().skip(start) {
        writeln!(f, "{k}").unwrap();
        match catch_unwind(|| noodle::load_nbc(b).is_ok()) {
            Err(_) => println!("NBC-FINDING\t{label}: load_nbc panicked"),
            Ok(false) => refused += 1,
            Ok(true) => {
                loaded += 1;
                if let Err(msg) = load_and_run(b, c.resumes, c.step) {
                    println!("NBC-FINDING\t{label}: {msg}");
                }
            }
        }
    }
    writeln!(f, "done").unwrap();
    println!("NBC-STATS\t{loaded}\t{refused}");
}

/// Parent side: runs the campaign in child processes; returns the findings.
fn run_campaign(test: &str, which: &str) -> Vec<String> {
    let total = campaign(which).mutants.len();
    let dir = std::env::temp_dir().join(format!("noodle-nbc-{}-{which}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (progress, out) = (dir.join("progress"), dir.join("out"));
    let mut findings = Vec::new();
    let (mut loaded, mut refused) = (0usize, 0usize);
    let mut start = 0;
    while start < total {
        let _ = std::fs::remove_file(&progress);
        let exe = std::env::current_exe().unwrap();
        let args = ["--exact", test, "--nocapture", "--test-threads=1"];
        // 4 GiB of address space: a runaway allocation aborts the child quickly instead of
        // swapping the machine to death
        let mut cmd = if cfg!(unix) && Path::new("/bin/sh").exists() {
            let mut c = std::process::Command::new("/bin/sh");
            c.arg("-c").arg("ulimit -v 4194304 2>/dev/null; exec \"$0\" \"$@\"").arg(&exe).args(args);
            c
        } else {
            let mut c = std::process::Command::new(&exe);
            c.args(args);
            c
        };
        let mut child = cmd
            .env("NBC_CHILD", format!("{which}:{start}:{}", progress.display()))
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // wait, killing the child if one mutant runs for more than 60 s
        let (mut last, mut since) = (String::new(), std::time::Instant::now());
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break Some(st);
            }
            let p = std::fs::read_to_string(&progress).unwrap_or_default();
            if p != last {
                last = p;
                since = std::time::Instant::now();
            } else if since.elapsed().as_secs() > 60 {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        for line in std::fs::read_to_string(&out).unwrap_or_default().lines() {
            if let Some(i) = line.find("NBC-FINDING\t") {
                findings.push(line[i + 12..].to_string());
            } else if let Some(st) = line.find("NBC-STATS\t").map(|i| &line[i + 10..]) {
                let v: Vec<usize> = st.split('\t').map(|x| x.parse().unwrap()).collect();
                loaded += v[0];
                refused += v[1];
            }
        }
        let p = std::fs::read_to_string(&progress).unwrap_or_default();
        let last_line = p.lines().last().unwrap_or("");
        if last_line == "done" {
            break;
        }
        // the child died (or hung) on the last mutant it started
        let Ok(k) = last_line.parse::<usize>() else {
            panic!("the child process for campaign {which} failed before running a mutant ({status:?}):\n{}", std::fs::read_to_string(&out).unwrap_or_default());
        };
        let c = campaign(which);
        let how = match status {
            None => "hung (killed after 60 s without progress)".to_string(),
            Some(st) => format!("killed the process ({st}; e.g. an allocation failure or stack overflow)"),
        };
        findings.push(format!("{}: {how}", c.mutants[k].0));
        if std::env::var_os("NBC_KEEP").is_some() {
            let path = dir.join(format!("mutant-{k}.nbc"));
            std::fs::write(&path, &c.mutants[k].1).unwrap();
            eprintln!("kept {}", path.display());
        }
        start = k + 1;
    }
    eprintln!("campaign {which}: {total} mutants, {loaded} loaded and ran, {refused} refused (counts leave out child runs that crashed), {} findings", findings.len());
    if std::env::var_os("NBC_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    findings
}

/// In a child process, runs its share of the campaign and returns true.
fn campaign_child_mode() -> bool {
    let Ok(spec) = std::env::var("NBC_CHILD") else { return false };
    let mut parts = spec.splitn(3, ':');
    let (which, start, progress) = (parts.next().unwrap(), parts.next().unwrap().parse().unwrap(), parts.next().unwrap());
    campaign_child(&campaign(which), start, Path::new(progress));
    true
}

#[test]
fn body_flips_with_fixed_checksum_never_panic() {
    if campaign_child_mode() {
        return;
    }
    let findings = run_campaign("body_flips_with_fixed_checksum_never_panic", "body");
    assert!(findings.is_empty(), "{} mutants panicked, crashed, hung or were accepted although too big to run (rerun with NBC_KEEP=1 to keep the crashing files):\n{}", findings.len(), findings.join("\n"));
}

#[test]
fn every_bit_flip_in_the_fib_body_with_fixed_checksum_never_panics() {
    if campaign_child_mode() {
        return;
    }
    let findings = run_campaign("every_bit_flip_in_the_fib_body_with_fixed_checksum_never_panics", "fib_bits");
    assert!(findings.is_empty(), "{} mutants panicked, crashed, hung or were accepted although too big to run (rerun with NBC_KEEP=1 to keep the crashing files):\n{}", findings.len(), findings.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// (d) versions

#[test]
fn wrong_version_names_both_versions() {
    let p = compile("rich.noodle", RICH);
    for v in [0u16, 1, 2, 3, 4, 6, 99, 0x100, u16::MAX] {
        let mut b = noodle::encode(&p);
        b[4..6].copy_from_slice(&v.to_le_bytes());
        let e = noodle::load_nbc(&b).unwrap_err();
        assert_eq!(e, LoadError::Version { found: v, supported: noodle_format_version() });
        assert_eq!(e.code(), "N0501");
        let msg = e.to_string();
        assert!(msg.contains(&format!("version {v}")), "{msg}");
        assert!(msg.contains(&format!("reads version {}", noodle_format_version())), "{msg}");
    }
}

/// The version the encoder writes (bytes 4..6 of any encoded program).
fn noodle_format_version() -> u16 {
    let b = noodle::encode(&compile("v.noodle", "print(1)\n"));
    u16::from_le_bytes([b[4], b[5]])
}

/// Found by `every_bit_flip_in_the_header_is_refused`: the decoder ignores the flags field
/// (header bytes 6..8), which the format documents as 0, so a corrupted or future-format
/// header loads.
#[test]
fn nonzero_flags_are_refused() {
    for flags in [1u16, 0x8000, u16::MAX] {
        let mut b = noodle::encode(&compile("v.noodle", "print(1)\n"));
        b[6..8].copy_from_slice(&flags.to_le_bytes());
        assert!(noodle::load_nbc(&b).is_err(), "flags {flags:#06x} were accepted");
    }
}

#[test]
fn version_check_comes_before_the_checksum() {
    // A file from another version is reported as such, not as corrupted.
    let mut b = noodle::encode(&compile("v.noodle", "print(1)\n"));
    b[4] = 99;
    b[20] ^= 0xff;
    assert!(matches!(noodle::load_nbc(&b), Err(LoadError::Version { found: 99, .. })));
}

// ---------------------------------------------------------------------------------------------
// hand-made invalid programs: each must be refused by the verifier (N0504), not crash the VM

fn invalid(mut f: impl FnMut(&mut Program)) -> LoadError {
    let mut p = compile("rich.noodle", RICH);
    f(&mut p);
    let bytes = noodle::encode(&p);
    noodle::load_nbc(&bytes).unwrap_err()
}

#[test]
fn verifier_rejects_hand_made_programs() {
    let cases: Vec<(&str, Box<dyn FnMut(&mut Program)>)> = vec![
        ("no registers", Box::new(|p: &mut Program| p.funcs[p.entry as usize].nregs = 0)),
        ("entry out of range", Box::new(|p: &mut Program| p.entry = p.funcs.len() as u32)),
        ("file out of range", Box::new(|p: &mut Program| p.files.clear())),
        ("no constants", Box::new(|p: &mut Program| p.consts.clear())),
        ("no globals", Box::new(|p: &mut Program| p.nglobals = 0)),
        ("no types", Box::new(|p: &mut Program| p.types.clear())),
        ("no natives", Box::new(|p: &mut Program| p.natives.clear())),
        ("no method names", Box::new(|p: &mut Program| p.method_names.clear())),
        ("empty entry", Box::new(|p: &mut Program| {
            let e = p.entry as usize;
            p.funcs[e].code.clear();
            p.funcs[e].lines.clear();
        })),
        ("truncated entry", Box::new(|p: &mut Program| {
            let e = p.entry as usize;
            p.funcs[e].code.pop();
            p.funcs[e].lines.pop();
        })),
        ("no captures", Box::new(|p: &mut Program| p.funcs.iter_mut().for_each(|f| f.ncaptures = 0))),
        ("arity over registers", Box::new(|p: &mut Program| {
            let f = p.funcs.iter_mut().find(|f| f.arity > 0).unwrap();
            f.nregs = f.arity - 1;
        })),
        // the default sits in the register after the key: with the key in the last register,
        // it would be read from outside the window
        ("DictGet default outside the window", Box::new(|p: &mut Program| {
            let e = p.entry as usize;
            let last = p.funcs[e].nregs - 1;
            p.funcs[e].code.insert(0, noodle_nbc::Op::DictGet { dst: 0, dict: 0, key: last });
            p.funcs[e].lines.insert(0, 1);
        })),
    ];
    for (what, mut f) in cases {
        let e = invalid(&mut f);
        assert!(matches!(e, LoadError::Invalid(_)), "{what}: {e:?}");
        assert_eq!(e.code(), "N0504");
    }
}

/// Found by `body_flips_with_fixed_checksum_never_panic` (fib, body byte 143, bit 7: the high
/// byte of `nglobals`): the verifier accepted a program declaring 2^31 globals, and
/// `Runtime::new` then aborted the process with "memory allocation of 34359738368 bytes failed".
#[test]
fn huge_global_count_is_refused() {
    for n in [0x8000_0000u32, u32::MAX, 1 << 28] {
        let mut p = compile("rich.noodle", RICH);
        p.nglobals = n;
        let r = noodle::load_nbc(&noodle::encode(&p));
        assert!(r.is_err(), "a program declaring {n} globals loaded; running it would allocate {} bytes", n as u64 * 16);
    }
}

#[test]
fn unknown_native_is_a_setup_error() {
    let mut p = compile("rich.noodle", RICH);
    p.natives[0] = "no.such.native".into();
    let p = noodle::load_nbc(&noodle::encode(&p)).expect("the verifier does not know the VM's natives");
    let r = run_budgeted(p, 10, 1000);
    assert_eq!(r.outcome, Outcome::Setup);
}

// ---------------------------------------------------------------------------------------------
// (e) proptest

fn header_for(body: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + body.len());
    b.extend_from_slice(b"NBC\0");
    b.extend_from_slice(&noodle_format_version().to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(body.len() as u32).to_le_bytes());
    b.extend_from_slice(&crc32fast::hash(body).to_le_bytes());
    b.extend_from_slice(body);
    b
}

/// The body of a real program, computed once per test.
fn rich_bytes() -> Vec<u8> {
    thread_local!(static B: Vec<u8> = noodle::encode(&compile("rich.noodle", RICH)));
    B.with(|b| b.clone())
}

#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    /// Overwrite four bytes with a little-endian u32 (counts, lengths, indexes).
    Word(usize, u32),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, v)| Edit::Insert(i, v)),
        (any::<usize>(), 1usize..16).prop_map(|(i, n)| Edit::Delete(i, n)),
        (any::<usize>(), prop_oneof![Just(0u32), Just(1), Just(0xffff), Just(0x7fff_ffff), Just(u32::MAX), any::<u32>()]).prop_map(|(i, w)| Edit::Word(i, w)),
    ]
}

fn apply(body: &mut Vec<u8>, e: &Edit) {
    if body.is_empty() {
        return;
    }
    let n = body.len();
    match e {
        Edit::Set(i, b) => body[i % n] = *b,
        Edit::Insert(i, v) => {
            let at = i % (n + 1);
            body.splice(at..at, v.iter().copied());
        }
        Edit::Delete(i, k) => {
            let at = i % n;
            body.drain(at..(at + k).min(n));
        }
        Edit::Word(i, w) => {
            let at = i % n;
            for (j, x) in w.to_le_bytes().iter().enumerate() {
                if at + j < n {
                    body[at + j] = *x;
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let r = catch_unwind(|| noodle::load_nbc(&bytes));
        prop_assert!(r.is_ok(), "load_nbc panicked");
    }

    #[test]
    fn random_bytes_after_the_magic_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut b = b"NBC\0".to_vec();
        b.extend_from_slice(&bytes);
        let r = catch_unwind(|| noodle::load_nbc(&b));
        prop_assert!(r.is_ok(), "load_nbc panicked");
    }

    #[test]
    fn random_bodies_with_a_valid_header_never_panic(body in prop::collection::vec(any::<u8>(), 0..600)) {
        let b = header_for(&body);
        prop_assert_eq!(load_and_run(&b, 10, 1000), Ok(()));
    }

    #[test]
    fn small_counts_with_a_valid_header_never_panic(words in prop::collection::vec(prop_oneof![Just(0u32), Just(1), 2u32..8, any::<u32>()], 0..40)) {
        // bodies made of small little-endian words get further into the decoder than noise
        let body: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        prop_assert_eq!(load_and_run(&header_for(&body), 10, 1000), Ok(()));
    }

    #[test]
    fn edited_real_programs_never_panic(edits in prop::collection::vec(edit(), 1..5)) {
        let bytes = rich_bytes();
        let mut body = bytes[16..].to_vec();
        for e in &edits {
            apply(&mut body, e);
        }
        prop_assert_eq!(load_and_run(&header_for(&body), 10, 1000), Ok(()));
    }
}

// ---------------------------------------------------------------------------------------------
// fixtures for the CLI tests (tests/nbc/)

/// The small program the fixtures are made from.
const FIXTURE_SRC: &str = "let greeting = \"hello from nbc\"\nprint(greeting)\n";

/// (file name, bytes, expected error code from `noodle run`).
fn fixtures() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let p = compile("fixture.noodle", FIXTURE_SRC);
    let good = noodle::encode(&p);
    let mut out = Vec::new();

    out.push(("empty.nbc", Vec::new(), "N0500"));
    let mut b = good.clone();
    b[..4].copy_from_slice(b"NBX\0");
    out.push(("bad_magic.nbc", b, "N0500"));
    out.push(("noodle_source.nbc", FIXTURE_SRC.as_bytes().to_vec(), "N0500"));
    out.push(("truncated_header.nbc", good[..10].to_vec(), "N0503"));
    out.push(("truncated_body.nbc", good[..good.len() / 2].to_vec(), "N0503"));
    let mut b = good.clone();
    b[4..6].copy_from_slice(&99u16.to_le_bytes());
    out.push(("version_99.nbc", b, "N0501"));
    // flags must be 0 in format version 1 (a later version may give them a meaning)
    let mut b = good.clone();
    b[6] = 1;
    out.push(("flags_set.nbc", b, "N050"));
    let mut b = good.clone();
    let mid = 16 + (good.len() - 16) / 2;
    b[mid] ^= 0x20;
    out.push(("bad_checksum.nbc", b, "N0502"));
    let mut b = good.clone();
    b.extend_from_slice(b"junk");
    fix_header(&mut b);
    out.push(("trailing_bytes.nbc", b, "N0503"));
    let mut b = good[..good.len() - 3].to_vec();
    fix_header(&mut b);
    out.push(("truncated_body_fixed_header.nbc", b, "N0503"));
    // a record type's flags: only the by-value and ordered bits have a meaning
    let mut q = p.clone();
    q.types[0].flags = 0x80;
    out.push(("record_flags_unknown.nbc", noodle::encode(&q), "N0503"));

    // valid checksums, rejected by the verifier
    let mut q = p.clone();
    let e = q.entry as usize;
    q.funcs[e].nregs = 0;
    out.push(("bad_register.nbc", noodle::encode(&q), "N0504"));
    let mut q = p.clone();
    q.entry = q.funcs.len() as u32 + 7;
    out.push(("bad_entry.nbc", noodle::encode(&q), "N0504"));
    let mut q = p.clone();
    q.consts.clear();
    out.push(("missing_constant.nbc", noodle::encode(&q), "N0504"));
    let mut q = p.clone();
    let e = q.entry as usize;
    q.funcs[e].code.pop();
    q.funcs[e].lines.pop();
    out.push(("falls_off_the_end.nbc", noodle::encode(&q), "N0504"));
    // `x is A` for an actor type the program does not have
    let mut q = p.clone();
    let e = q.entry as usize;
    q.funcs[e].code.insert(0, noodle_nbc::Op::IsKind { dst: 0, src: 0, kind: noodle_nbc::op::KIND_ACTOR + 500 });
    q.funcs[e].lines.insert(0, 1);
    out.push(("bad_actor_kind.nbc", noodle::encode(&q), "N0504"));

    // a valid file that asks for 2^31 globals (32 GiB of registers) must be refused, not
    // make the VM abort on a failed allocation
    let mut q = p.clone();
    q.nglobals = 0x8000_0000;
    out.push(("huge_globals.nbc", noodle::encode(&q), "N050"));

    // passes the verifier; the VM refuses it when it starts
    let mut q = p.clone();
    if let Some(n) = q.natives.first_mut() {
        *n = "no.such.native".into();
    }
    out.push(("unknown_native.nbc", noodle::encode(&q), "N0901"));
    out
}

#[test]
fn fixtures_are_up_to_date() {
    let dir = root().join("tests/nbc");
    if std::env::var_os("NOODLE_BLESS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (file, bytes, _) in fixtures() {
            std::fs::write(dir.join(file), &bytes).unwrap();
        }
    }
    // The committed bytes are what the CLI tests use: check they still fail the same way.
    let mut wrong = Vec::new();
    for (file, _, code) in fixtures() {
        let path = dir.join(file);
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e} (run with NOODLE_BLESS=1)", path.display()));
        let got = match noodle::load_nbc(&on_disk) {
            Err(e) => e.code().to_string(),
            Ok(p) if too_big(&p).is_some() => too_big(&p).unwrap(),
            Ok(p) => match run_budgeted(p, 10, 1000).outcome {
                Outcome::Setup => "N0901".to_string(),
                other => format!("loaded and ran: {other:?}"),
            },
        };
        // "N050" means any loader error: the fix for that file may pick either kind
        if !(if code.len() == 4 { got.starts_with(code) } else { got == code }) {
            wrong.push(format!("{file}: {got} instead of {code}"));
        }
    }
    assert!(wrong.is_empty(), "fixtures that do not fail as expected:\n{}", wrong.join("\n"));
}

#[test]
fn fixture_source_runs() {
    let p = compile("fixture.noodle", FIXTURE_SRC);
    let r = run_budgeted(noodle::load_nbc(&noodle::encode(&p)).unwrap(), 10, 1000);
    assert_eq!(r.outcome, Outcome::Finished);
    assert_eq!(r.out, "hello from nbc\n");
}
