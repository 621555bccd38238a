//! End-to-end tests of the CLI's tools: repl, test, build, disasm, explain, check.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn noodle(args: &[&str], stdin: &str) -> (String, String, i32) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_noodle"))
        .args(args)
        .current_dir(root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned(), out.status.code().unwrap_or(-1))
}

#[test]
fn repl_keeps_definitions_shows_types_and_recovers() {
    let input = "let x = 40\ndef inc(n: int) -> int {\n    return n + 1\n}\ninc(x) + 1\nlet y: int = \"oops\"\nx * 2\n[1, 2].map(fn (v) => v * 1.5)\nundefined_name\n\"still alive\"\n";
    let (out, err, code) = noodle(&["repl"], input);
    assert_eq!(code, 0, "stderr: {err}");
    assert!(out.contains("42\n: int"), "value and type of an expression: {out}");
    assert!(out.contains("80\n: int"), "definitions persist after an error: {out}");
    assert!(out.contains("[1.5, 3.0]\n: list[float]"), "{out}");
    assert!(out.contains("\"still alive\"\n: str"), "{out}");
    assert!(err.contains("error[N0200]"), "type error reported: {err}");
    assert!(err.contains("error[N0100]"), "unknown name reported: {err}");
    assert!(!err.contains("panicked"));
}

#[test]
fn repl_runtime_error_keeps_session() {
    let (out, err, code) = noodle(&["repl"], "var n = 1\n10 // (n - 1)\nn + 1\n");
    assert_eq!(code, 0);
    assert!(err.contains("error[N2001]"), "{err}");
    assert!(out.contains("2\n: int"), "{out}");
}

/// Issue 26: an actor spawned by one input kept running for the next ones (it was stopped
/// when its input ended), on any number of threads and in deterministic mode; a message can
/// carry a type declared after the actor started; the end of the session runs `on_stop`.
#[test]
fn repl_actors_outlive_the_input_that_spawned_them() {
    let input = "struct Get {}\n\
actor Counter {\n    n: int = 0\n    on get(self, m: Get) -> int {\n        self.n += 1\n        return self.n\n    }\n    def on_stop(self) { print(f\"stopping at {self.n}\") }\n}\n\
let c = spawn Counter()\n\
await c.ask(Get())\n\
await c.ask(Get())\n\
struct Wrap { v: any }\n\
actor Echo {\n    on echo(self, m: Wrap) -> str { return f\"echo {m.v}\" }\n}\n\
let e = spawn Echo()\n\
struct Later { y: str }\n\
await e.ask(Wrap(Later(\"declared after Echo started\")))\n";
    for env in [("NOODLE_THREADS", "4"), ("NOODLE_THREADS", "1"), ("NOODLE_SEED", "7")] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_noodle"))
            .arg("repl")
            .env(env.0, env.1)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(0), "{env:?}: {stderr}");
        assert!(stdout.contains("1\n: int") && stdout.contains("2\n: int"), "{env:?}: the counter kept its state: {stdout}{stderr}");
        assert!(stdout.contains("\"echo Later(y: \\\"declared after Echo started\\\")\"\n: str"), "{env:?}: {stdout}{stderr}");
        assert!(stdout.contains("stopping at 2"), "{env:?}: on_stop at the end of the session: {stdout}");
        assert!(!stderr.contains("error"), "{env:?}: {stderr}");
    }
}

/// Issue 26, found by a review: what main starts in one input (a task, a `send_every`) keeps
/// going after the input ends: the task's result waits for a later `await` of it (task ids
/// are not reused), and the timer sends while the REPL waits for the next line. An actor
/// cannot be declared again under the same name (old references would get the new types).
#[test]
fn repl_tasks_and_timers_outlive_their_input() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_noodle")).arg("repl").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let first = "async def work(n: int) -> int { return n * 2 }\nlet t = work(21)\n\
struct Tick {}\nactor Clock {\n    n: int = 0\n    on tick(self, m: Tick) { self.n += 1 }\n    on count(self, m: int) -> int { return self.n }\n}\n\
let c = spawn Clock()\nlet ev = c.send_every(0.01, Tick())\n";
    stdin.write_all(first.as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let second = "let u = work(1)\nawait t\nawait c.ask(0) > 10\nev.cancel()\n\
actor Clock {\n    on count(self, m: int) -> str { return \"new\" }\n}\n";
    stdin.write_all(second.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("42\n: int"), "the first input's task: {stdout}{stderr}");
    assert!(stdout.contains("true\n: bool"), "the timer ticked between inputs: {stdout}{stderr}");
    assert!(stderr.contains("error[N0101]: actor `Clock` is already declared in this session"), "{stderr}");
}

#[test]
fn test_command_runs_test_functions() {
    let (out, err, code) = noodle(&["test", "tests/tools/math_test.noodle"], "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("test tests/tools/math_test.noodle::test_square ... ok"), "{out}");
    assert!(out.contains("2 passed; 0 failed"), "{out}");
}

#[test]
fn test_command_reports_failures() {
    let (out, err, code) = noodle(&["test", "tests/tools"], "");
    assert_eq!(code, 1);
    assert!(out.contains("test_fails ... FAILED"), "{out}");
    assert!(err.contains("error[N2008]: arithmetic is broken"), "{err}");
    assert!(out.contains("3 passed; 1 failed"), "{out}");
}

#[test]
fn build_then_run_and_disasm_nbc() {
    let dir = std::env::temp_dir().join(format!("noodle-build-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let nbc = dir.join("fib.nbc");
    let (_, err, code) = noodle(&["build", "bench/fib.noodle", "-o", nbc.to_str().unwrap()], "");
    assert_eq!(code, 0, "{err}");
    let bytes = std::fs::read(&nbc).unwrap();
    assert_eq!(&bytes[..4], b"NBC\0");
    let (out, _, code) = noodle(&["run", nbc.to_str().unwrap()], "");
    assert_eq!((out.as_str(), code), ("2178309\n", 0));
    let (dis, _, code) = noodle(&["disasm", nbc.to_str().unwrap()], "");
    assert_eq!(code, 0);
    assert!(dis.contains("fn #") && dis.contains("Call"), "{dis}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn explain_prints_long_form_and_lists_codes() {
    let (out, _, code) = noodle(&["explain", "n0204"], "");
    assert_eq!(code, 0);
    assert!(out.starts_with("N0204: "), "{out}");
    assert!(out.lines().count() > 5);
    let (list, _, _) = noodle(&["explain", "--list"], "");
    for c in ["N0001", "N0200", "N0300", "N0504", "N2001", "N2011"] {
        assert!(list.contains(c), "{c} missing from --list");
    }
    let (_, err, code) = noodle(&["explain", "N9999"], "");
    assert_eq!(code, 2);
    assert!(err.contains("unknown error code"));
}

#[test]
fn every_reported_code_has_an_explanation() {
    // Codes that appear in compile-fail snapshots must all be explainable.
    let mut dir: Vec<_> = std::fs::read_dir(root().join("tests/compile_fail")).unwrap().filter_map(|e| e.ok()).collect();
    dir.sort_by_key(|e| e.path());
    for e in dir {
        if e.path().extension().is_some_and(|x| x == "stderr") {
            let text = std::fs::read_to_string(e.path()).unwrap();
            for part in text.split("error[").skip(1).chain(text.split("warning[").skip(1)) {
                let code = &part[..5];
                assert!(noodle::codes::lookup(code).is_some(), "{code} in {} has no explanation", e.path().display());
            }
        }
    }
}

#[test]
fn usage_errors_exit_2() {
    let (_, err, code) = noodle(&["frobnicate"], "");
    assert_eq!(code, 2);
    assert!(err.contains("unknown command"));
    let (_, err, code) = noodle(&["run", "does/not/exist.noodle"], "");
    assert_eq!(code, 1);
    assert!(err.contains("error[N0900]"), "{err}");
}

#[test]
fn doc_pages_in_the_repository_are_current() {
    // docs/api is `noodle doc --out docs/api`: regenerate it and compare, file by file
    let dir = std::env::temp_dir().join(format!("noodle-doc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (_, err, code) = noodle(&["doc", "--out", dir.to_str().unwrap()], "");
    assert_eq!(code, 0, "{err}");
    let names = |d: &Path| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };
    let checked_in = root().join("docs/api");
    assert_eq!(names(&dir), names(&checked_in), "docs/api has other files than `noodle doc --out` writes");
    for name in names(&dir) {
        let want = std::fs::read_to_string(dir.join(&name)).unwrap();
        let have = std::fs::read_to_string(checked_in.join(&name)).unwrap();
        assert!(want == have, "docs/api/{name} is stale: run `noodle doc --out docs/api`");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn doc_of_a_users_module_shows_its_public_items_and_their_comments() {
    let dir = std::env::temp_dir().join(format!("noodle-doc-user-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shapes.noodle");
    std::fs::write(
        &file,
        "## Shapes and their areas.\n\n## A circle.\npub struct Circle {\n    ## Its radius.\n    r: float\n\n    ## Its area.\n    def area(self) -> float {\n        return 3.14159 * self.r * self.r\n    }\n}\n\n## The sum of the areas.\npub def total(cs: list[Circle]) -> float {\n    return cs.map(fn (c) => c.area()).reduce(0.0, fn (a, b) => a + b)\n}\n\ndef helper() -> int {\n    return 1\n}\n",
    )
    .unwrap();
    let (out, err, code) = noodle(&["doc", file.to_str().unwrap()], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("# `shapes`\n\nShapes and their areas.\n"), "{out}");
    assert!(out.contains("### `struct Circle`\n\nA circle.\n"), "{out}");
    assert!(out.contains("- `r: float`: Its radius."), "{out}");
    assert!(out.contains("#### `area(self) -> float`\n\nIts area."), "{out}");
    assert!(out.contains("### `total(cs: list[Circle]) -> float`\n\nThe sum of the areas."), "{out}");
    assert!(!out.contains("helper"), "a private function is not documented: {out}");
    let (_, err, code) = noodle(&["doc", "std.nothing"], "");
    assert_eq!(code, 2);
    assert!(err.contains("no module named `std.nothing`"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn doc_of_a_users_module_shows_static_methods_variants_and_variables() {
    let dir = std::env::temp_dir().join(format!("noodle-doc-more-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("parts.noodle");
    std::fs::write(
        &file,
        "## A part.
pub struct Part {
    n: int

    ## A new part.
    def make() -> Part {
        return Part(1)
    }
}

## Colours.
pub enum Colour {
    ## The warm one.
    Red
    Blue
}

## How many were made.
pub var made: int = 0

## The most there can be.
pub let limit: int = 10
",
    )
    .unwrap();
    let (out, err, code) = noodle(&["doc", file.to_str().unwrap()], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("#### `make() -> Part`\n\nA new part."), "a static method is documented: {out}");
    assert!(out.contains("- `Red`: The warm one.\n- `Blue`\n"), "{out}");
    assert!(out.contains("## Constants\n\n### `let limit: int = 10`\n\nThe most there can be."), "{out}");
    assert!(out.contains("## Variables\n\n### `var made: int = 0`\n\nHow many were made."), "{out}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn datetime_local_zone_follows_tz() {
    let dir = std::env::temp_dir().join(format!("noodle-tz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prog = dir.join("tz.noodle");
    std::fs::write(&prog, "import std.datetime\nlet t = datetime.parse_instant(\"2026-07-01T12:00:00Z\")\nprint(datetime.local_zone(), t.local())\n").unwrap();
    let run = |tz: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_noodle")).arg("run").arg(&prog).env("TZ", tz).output().unwrap();
        assert!(out.status.success(), "TZ={tz}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(run("Asia/Kolkata"), "Asia/Kolkata 2026-07-01T17:30:00+05:30[Asia/Kolkata]");
    assert_eq!(run(":America/New_York"), "America/New_York 2026-07-01T08:00:00-04:00[America/New_York]");
    // a TZ that names no zone falls back to UTC rather than failing
    assert_eq!(run("Nowhere/Bad"), "UTC 2026-07-01T12:00:00+00:00[UTC]");
    std::fs::remove_dir_all(&dir).ok();
}
