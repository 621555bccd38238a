//! Never crash, never hang, never lose output: the `noodle` binary on inputs that once
//! aborted it (a stack overflow, an allocation failure, a panic), hung it, or let it exit 0
//! with its output lost. Each case runs the real binary, with a time limit and, where memory
//! is the point, an address-space limit; none may exit with a signal or status 134.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// How to run one case.
#[derive(Default)]
struct Opts<'a> {
    /// `ulimit -v` in KiB.
    mem_kib: Option<u64>,
    env: Vec<(&'a str, &'a str)>,
    /// Standard output to this file (`/dev/full`) instead of a pipe.
    stdout_to: Option<&'a str>,
    stderr_to: Option<&'a str>,
    /// Bytes written to standard input, then it is closed; `None`: closed at once.
    stdin: Option<Vec<u8>>,
    /// Standard input stays open (and empty) until the run ends.
    stdin_open: bool,
}

/// Runs `noodle ARGS` in `dir`; kills it after `limit` (the test fails).
fn run(args: &[&str], dir: &Path, limit: Duration, o: Opts) -> Out {
    let exe = env!("CARGO_BIN_EXE_noodle");
    let mut cmd = Command::new("/bin/sh");
    let ulimit = o.mem_kib.map(|k| format!("ulimit -v {k}; ")).unwrap_or_default();
    cmd.arg("-c").arg(format!("{ulimit}exec \"$0\" \"$@\"")).arg(exe).args(args).current_dir(dir);
    for (k, v) in &o.env {
        cmd.env(k, v);
    }
    let out_file = common::temp_file("out");
    let err_file = out_file.with_extension("err");
    cmd.stdout(match o.stdout_to {
        Some(p) => std::fs::OpenOptions::new().write(true).open(p).unwrap(),
        None => std::fs::File::create(&out_file).unwrap(),
    });
    cmd.stderr(match o.stderr_to {
        Some(p) => std::fs::OpenOptions::new().write(true).open(p).unwrap(),
        None => std::fs::File::create(&err_file).unwrap(),
    });
    cmd.stdin(if o.stdin.is_some() || o.stdin_open { Stdio::piped() } else { Stdio::null() });
    let start = Instant::now();
    let mut child = cmd.spawn().expect("cannot start noodle");
    let mut held = None;
    if let Some(mut input) = child.stdin.take() {
        match o.stdin {
            // written from a thread: the program may stop reading early
            Some(bytes) => {
                std::thread::spawn(move || {
                    let _ = input.write_all(&bytes);
                });
            }
            None => held = Some(input),
        }
    }
    let code = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st.code();
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("noodle {args:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = start.elapsed();
    drop(held);
    let read = |p: &PathBuf| {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(p) {
            let mut b = Vec::new();
            let _ = f.read_to_end(&mut b);
            s = String::from_utf8_lossy(&b).into_owned();
        }
        let _ = std::fs::remove_file(p);
        s
    };
    let out = Out { code, stdout: read(&out_file), stderr: read(&err_file), took };
    assert!(!out.stderr.contains("panicked"), "noodle {args:?} panicked:\n{}", out.stderr);
    assert!(!out.stderr.contains("overflowed its stack"), "noodle {args:?} overflowed its stack");
    assert!(!out.stderr.contains("memory allocation of"), "noodle {args:?} aborted on an allocation failure");
    assert!(matches!(out.code, Some(0..=2)), "noodle {args:?} crashed (status {:?}):\n{}", out.code, out.stderr);
    out
}

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("noodle-limits-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes `main.noodle` in a fresh folder and runs `noodle CMD main.noodle`.
fn program(tag: &str, cmd: &str, src: &str, o: Opts) -> Out {
    let d = dir(tag);
    std::fs::write(d.join("main.noodle"), src).unwrap();
    let out = run(&[cmd, "main.noodle"], &d, Duration::from_secs(60), o);
    let _ = std::fs::remove_dir_all(&d);
    out
}

// ---------------------------------------------------------------------------------------------
// the front end: every recursion is bounded, long flat chains are loops

#[test]
fn f_strings_nested_in_f_strings_hit_the_nesting_limit() {
    let mut s = "1".to_string();
    for _ in 0..4000 {
        s = format!("f\"{{{s}}}\"");
    }
    let out = program("fnest", "check", &format!("print({s})\n"), Opts::default());
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("error[N0013]"), "{}", out.stderr);
    let parens = format!("print(f\"{{{}1{}}}\")\n", "(".repeat(2000), ")".repeat(2000));
    let out = program("fparen", "check", &parens, Opts::default());
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("error[N0013]"), "{}", out.stderr);
    // within the limit, nested f-strings work
    let out = program("fok", "run", "let x = 5\nprint(f\"a{f\"b{f\"c{x}\"}\"}\")\n", Opts::default());
    assert_eq!(out.stdout, "abc5\n");
}

#[test]
fn a_chain_of_20000_elif_arms_compiles_and_runs() {
    let mut src = String::from("def pick(x: int) -> int {\n    var r = -1\n    if x == 0 { r = 0 }\n");
    for i in 1..20_000 {
        src.push_str(&format!("    elif x == {i} {{ r = {i} }}\n"));
    }
    src.push_str("    else { r = -2 }\n    return r\n}\n");
    // the expression form, with `else if` this time
    src.push_str("def label(x: int) -> str {\n    return if x == 0 { \"zero\" }\n");
    for i in 1..20_000 {
        src.push_str(&format!("    else if x == {i} {{ \"n{i}\" }}\n"));
    }
    src.push_str("    else { \"other\" }\n}\nprint(pick(19999), pick(7), pick(-5), label(0), label(12345), label(99999))\n");
    let out = program("elif", "run", &src, Opts::default());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "19999 7 -2 zero n12345 other\n");
}

#[test]
fn a_chain_of_imports_is_limited_to_100_modules() {
    for (n, ok) in [(100usize, true), (4000, false)] {
        let d = dir(&format!("imports{n}"));
        for i in 0..n {
            let body = if i + 1 < n {
                format!("import m{}\npub def f() -> int {{ return m{}.f() + 1 }}\n", i + 1, i + 1)
            } else {
                "pub def f() -> int { return 1 }\n".to_string()
            };
            std::fs::write(d.join(format!("m{i}.noodle")), body).unwrap();
        }
        // main.noodle and m0 .. m{n-1}: a chain of n + 1 modules
        std::fs::write(d.join("main.noodle"), "import m0\nprint(m0.f())\n").unwrap();
        let out = run(&["run", "main.noodle"], &d, Duration::from_secs(60), Opts::default());
        let _ = std::fs::remove_dir_all(&d);
        if ok {
            assert_eq!(out.code, Some(1), "101 modules are one too many:\n{}", out.stderr);
        }
        assert!(out.stderr.contains("error[N0108]"), "{}", out.stderr);
    }
    // 99 modules below main is within the limit
    let d = dir("imports99");
    for i in 0..99 {
        let body = if i + 1 < 99 { format!("import m{}\npub def f() -> int {{ return m{}.f() + 1 }}\n", i + 1, i + 1) } else { "pub def f() -> int { return 1 }\n".to_string() };
        std::fs::write(d.join(format!("m{i}.noodle")), body).unwrap();
    }
    std::fs::write(d.join("main.noodle"), "import m0\nprint(m0.f())\n").unwrap();
    let out = run(&["run", "main.noodle"], &d, Duration::from_secs(60), Opts::default());
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "99\n"), "{}", out.stderr);
}

// ---------------------------------------------------------------------------------------------
// memory a program asks for: a catchable error, not an abort

#[test]
fn doubling_a_string_until_memory_runs_out_is_catchable() {
    let src = "var s = \"x\"\ntry {\n    while true { s = s + s }\n} catch e {\n    print(e.code, len(s) > 1000000)\n}\ntry {\n    while true { s = f\"{s}{s}\" }\n} catch e {\n    print(e.code)\n}\n";
    let out = program("double", "run", src, Opts { mem_kib: Some(2 << 20), ..Default::default() });
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "N2011 true\nN2011\n"), "{}", out.stderr);
}

#[test]
fn a_repeated_string_too_large_for_memory_is_catchable() {
    // the repeat was built fallibly, but copying it into a string value was not (found by a
    // fuzz campaign of load_nbc)
    let src = "try {\n    let s = (\"x\" * 1000) * 1200000\n    print(len(s))\n} catch e {\n    print(e.code)\n}\n";
    let out = program("repeatstr", "run", src, Opts { mem_kib: Some(2 << 20), ..Default::default() });
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "N2011\n"), "{}", out.stderr);
}

#[test]
fn growing_a_list_until_memory_runs_out_is_catchable() {
    // push, insert and extend reserve room without aborting; near the limit they grow by an
    // eighth, not one element at a time (which took minutes of copying)
    let src = "var xs: list[int] = []\ntry {\n    while true { xs.push(1) }\n} catch e {\n    print(e.code, e.message, len(xs) > 1000000)\n}\nvar ys = [0]\ntry {\n    while true { ys.extend(ys) }\n} catch e {\n    print(e.code)\n}\n";
    let out = program("grow", "run", src, Opts { mem_kib: Some(400 << 10), ..Default::default() });
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "N2011 the list is too large: there is not enough memory for it true\nN2011\n"), "{}", out.stderr);
}

#[test]
fn growing_a_dict_or_set_until_memory_runs_out_is_catchable() {
    let src = "var d: dict[int, int] = {}\nvar i = 0\ntry {\n    while true { d[i] = i; i += 1 }\n} catch e {\n    print(e.code, e.message, len(d) > 100000)\n}\nvar s: set[int] = set()\ntry {\n    while true { s.add(i); i += 1 }\n} catch e {\n    print(e.code)\n}\n";
    let out = program("growdict", "run", src, Opts { mem_kib: Some(400 << 10), ..Default::default() });
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "N2011 the dict is too large: there is not enough memory for it true\nN2011\n"), "{}", out.stderr);
}

#[test]
fn an_actor_busy_in_a_native_at_the_end_does_not_fill_the_memory() {
    // with one thread, the end of the program told a busy actor to stop again at every turn of
    // its waiting loop: 2.6 GB of queued shutdown messages in two seconds (found by the REPL
    // fuzz target); the actor is told once
    let src = "import std.process\nstruct Go {}\nactor Busy {\n    on go(self, m: Go) -> int {\n        process.run([\"sleep\", \"1\"])\n        return 1\n    }\n}\nlet b = spawn Busy()\ntry {\n    await b.ask(Go(), timeout: 0.2)\n} catch e {\n    print(e.code)\n}\nprint(\"main ends\")\n";
    let out = program("busyend", "run", src, Opts { mem_kib: Some(512 << 10), env: vec![("NOODLE_THREADS", "1")], ..Default::default() });
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "N2303\nmain ends\n"), "{}", out.stderr);
}

#[test]
fn a_line_too_long_for_memory_is_an_io_error() {
    let src = "import std.io\ntry {\n    print(len(io.read_line()!))\n} catch e {\n    print(e.code, e.message)\n}\nprint(\"after\")\n";
    let line = vec![b'a'; 700 << 20];
    let out = program("longline", "run", src, Opts { mem_kib: Some(512 << 10), stdin: Some(line), ..Default::default() });
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "N2010 <stdin>: the line is too large to hold in memory\nafter\n");
}

// ---------------------------------------------------------------------------------------------
// output that cannot be written: never exit 0, never abort

#[test]
fn output_that_cannot_be_written_fails_the_run() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let d = dir("full");
    std::fs::write(d.join("hello.noodle"), "print(\"hello\")\n").unwrap();
    std::fs::write(d.join("fails.noodle"), "let xs = [1]\nprint(xs[5])\n").unwrap();
    let limit = Duration::from_secs(30);
    // a full stdout: exit 1 with N2010 (it was 0, the output silently lost)
    let out = run(&["run", "hello.noodle"], &d, limit, Opts { stdout_to: Some("/dev/full"), ..Default::default() });
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("error[N2010]: cannot write to standard output"), "{}", out.stderr);
    // a full stderr while reporting an error: exit 1 (it aborted, status 134)
    let out = run(&["run", "fails.noodle"], &d, limit, Opts { stderr_to: Some("/dev/full"), ..Default::default() });
    assert_eq!(out.code, Some(1));
    // both full
    let out = run(&["run", "hello.noodle"], &d, limit, Opts { stdout_to: Some("/dev/full"), stderr_to: Some("/dev/full"), ..Default::default() });
    assert_eq!(out.code, Some(1));
    // `os.exit(0)` after output that was lost is not a success
    std::fs::write(d.join("exit0.noodle"), "import std.os\nprint(\"hello\")\nos.exit(0)\n").unwrap();
    let out = run(&["run", "exit0.noodle"], &d, limit, Opts { stdout_to: Some("/dev/full"), ..Default::default() });
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("error[N2010]: cannot write to standard output"), "{}", out.stderr);
    // the CLI's own output
    for args in [&["version"][..], &["explain", "N0100"], &["help"], &["disasm", "hello.noodle"]] {
        let out = run(args, &d, limit, Opts { stdout_to: Some("/dev/full"), ..Default::default() });
        assert_eq!(out.code, Some(1), "noodle {args:?} > /dev/full");
    }
    // `noodle build -o /dev/full` said "wrote /dev/full" and exited 0
    let out = run(&["build", "hello.noodle", "-o", "/dev/full"], &d, limit, Opts::default());
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stderr.contains("error[N0900]: cannot write /dev/full"), "{}", out.stderr);
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_closed_pipe_on_stdout_is_reported() {
    let exe = env!("CARGO_BIN_EXE_noodle");
    let d = dir("pipe");
    std::fs::write(d.join("many.noodle"), "for i in range(1000000) { print(i) }\n").unwrap();
    let mut child = Command::new(exe).args(["run", "many.noodle"]).current_dir(&d).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut first = [0u8; 16];
    child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&d);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error[N2010]"), "{stderr}");
}

#[test]
fn build_does_not_overwrite_its_source() {
    let d = dir("build");
    let src = "print(\"v\")\n";
    std::fs::write(d.join("v.noodle"), src).unwrap();
    for target in ["v.noodle", "./v.noodle", "other.noodle"] {
        let out = run(&["build", "v.noodle", "-o", target], &d, Duration::from_secs(30), Opts::default());
        assert_eq!(out.code, Some(2), "{}", out.stderr);
        assert!(out.stderr.contains("error[N0902]"), "{}", out.stderr);
    }
    assert_eq!(std::fs::read_to_string(d.join("v.noodle")).unwrap(), src);
    assert!(!d.join("other.noodle").exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn every_command_has_help() {
    let d = dir("help");
    for cmd in ["run", "build", "check", "disasm", "explain", "doc", "test", "repl", "version"] {
        for flag in ["--help", "-h"] {
            let out = run(&[cmd, flag], &d, Duration::from_secs(30), Opts::default());
            assert_eq!(out.code, Some(0), "noodle {cmd} {flag}: {}", out.stderr);
            assert!(out.stdout.starts_with("usage:\n") && out.stdout.contains(&format!("noodle {cmd}")), "noodle {cmd} {flag}:\n{}", out.stdout);
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

// ---------------------------------------------------------------------------------------------
// numbers from a program or the environment are checked

#[test]
fn thread_counts_from_the_environment_are_checked() {
    let d = dir("threads");
    std::fs::write(d.join("main.noodle"), "print(1)\n").unwrap();
    for bad in ["100000", "0", "-1", "many", ""] {
        let out = run(&["run", "main.noodle"], &d, Duration::from_secs(30), Opts { env: vec![("NOODLE_THREADS", bad)], ..Default::default() });
        assert_eq!(out.code, Some(1), "NOODLE_THREADS={bad}");
        assert!(out.stderr.contains("NOODLE_THREADS must be a number of threads from 1 to 256"), "{}", out.stderr);
    }
    let out = run(&["run", "main.noodle"], &d, Duration::from_secs(30), Opts { env: vec![("NOODLE_THREADS", "256")], ..Default::default() });
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "1\n"));
    let _ = std::fs::remove_dir_all(&d);
}

/// A server that accepts connections and never says a word: `connect_timeout` must hold
/// (the driver's own timeout covered only the TCP connection, and the connect hung forever).
#[test]
fn a_silent_database_server_times_out() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    let src = format!(
        "import std.db\ntry {{\n    let c = db.connect(\"postgres://u@127.0.0.1:{port}/x\", connect_timeout: 1.0)\n}} catch e {{\n    print(e.code)\n}}\ntry {{\n    let c = db.connect(\"postgres://u@127.0.0.1:{port}/x\", connect_timeout: 1e300)\n}} catch e {{\n    print(e.code, e.message)\n}}\n"
    );
    let out = program("silent", "run", &src, Opts::default());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "N2203\nN2011 db.connect: a timeout must be at most 31536000 seconds (a year), got 1e300\n");
    assert!(out.took < Duration::from_secs(20), "took {:?}", out.took);
}

// ---------------------------------------------------------------------------------------------
// the end of a program

#[test]
fn an_on_stop_that_never_returns_does_not_keep_the_program_alive() {
    let src = "import std.io\nstruct Ping {}\nactor Looping {\n    n: int = 0\n    on ping(self, m: Ping) -> int { return 1 }\n    def on_stop(self) {\n        print(\"stopping\")\n        while true { self.n += 1 }\n    }\n}\nactor Reading {\n    on ping(self, m: Ping) -> int { return 2 }\n    def on_stop(self) {\n        print(\"reading\")\n        print(io.read_line())\n    }\n}\nlet a = spawn Looping()\nlet b = spawn Reading()\nprint(await a.ask(Ping()), await b.ask(Ping()))\nprint(\"main done\")\n";
    for threads in ["1", "2"] {
        let out = program("onstop", "run", src, Opts { env: vec![("NOODLE_THREADS", threads)], stdin_open: true, ..Default::default() });
        assert_eq!(out.code, Some(0), "{}", out.stderr);
        assert!(out.stdout.starts_with("1 2\nmain done\n") && out.stdout.contains("stopping\n") && out.stdout.contains("reading\n"), "threads {threads}:\n{}", out.stdout);
        assert!(out.stderr.contains("did not stop within 5 s"), "{}", out.stderr);
        assert!(out.took < Duration::from_secs(20), "took {:?}", out.took);
    }
    // deterministic mode runs everything on one thread: an on_stop that loops is cut off
    // (one blocked reading input would hold that thread)
    let looping_only = src.replace("let b = spawn Reading()", "let b = spawn Looping()");
    let out = program("onstop_seed", "run", &looping_only, Opts { env: vec![("NOODLE_SEED", "3")], ..Default::default() });
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.starts_with("1 1\nmain done\nstopping\n"), "{}", out.stdout);
    assert!(out.stderr.contains("2 actor(s) did not stop within 5 s"), "{}", out.stderr);
}

#[test]
fn the_repl_reports_a_line_that_is_not_utf8_and_goes_on() {
    let d = dir("repl");
    let out = run(&["repl"], &d, Duration::from_secs(30), Opts { stdin: Some(b"print(1)\n\xff\xfe\nprint(2)\n".to_vec()), ..Default::default() });
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stdout.contains("1\n") && out.stdout.contains("2\n"), "{}", out.stdout);
    assert!(out.stderr.contains("error[N0901]: cannot read the input line"), "{}", out.stderr);
}

/// `noodle test` stops a test that never ends (the whole run hung) and runs each test in a
/// process of its own: one test's changes to module-level variables are not seen by the next.
#[test]
fn noodle_test_has_a_time_limit_per_test() {
    let d = dir("testcmd");
    std::fs::write(
        d.join("t.noodle"),
        "var calls = 0\ndef test_hangs() {\n    while true { calls += 1 }\n}\ndef test_changes() {\n    calls = 5\n}\ndef test_fresh() {\n    assert(calls == 0, \"calls is {calls}\")\n}\n",
    )
    .unwrap();
    let out = run(&["test", "--timeout", "2", "t.noodle"], &d, Duration::from_secs(60), Opts::default());
    let _ = std::fs::remove_dir_all(&d);
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("test t.noodle::test_hangs ... FAILED (timed out after 2 s)"), "{}", out.stdout);
    assert!(out.stdout.contains("test t.noodle::test_changes ... ok"), "{}", out.stdout);
    assert!(out.stdout.contains("test t.noodle::test_fresh ... ok"), "{}", out.stdout);
    assert!(out.stdout.contains("2 passed; 1 failed"), "{}", out.stdout);
    assert!(out.took < Duration::from_secs(30), "took {:?}", out.took);
}

// ---------------------------------------------------------------------------------------------
// the sandbox

#[test]
fn the_sandbox_denies_what_is_not_granted() {
    let d = dir("sandbox");
    std::fs::create_dir_all(d.join("data")).unwrap();
    std::fs::write(d.join("data/in.txt"), "inside").unwrap();
    std::fs::write(d.join("secret.txt"), "secret").unwrap();
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(d.join("secret.txt"), d.join("data/link.txt"));
    let src = "import std.io\nimport std.os\nimport std.db\n\
        def try_it(what: str, f: fn() -> any) {\n    try {\n        f()\n        print(what, \"ok\")\n    } catch e {\n        print(what, e.code)\n    }\n}\n\
        try_it(\"read inside\", fn () -> any { return io.read_file(\"data/in.txt\") })\n\
        try_it(\"read outside\", fn () -> any { return io.read_file(\"secret.txt\") })\n\
        try_it(\"read through ..\", fn () -> any { return io.read_file(\"data/../secret.txt\") })\n\
        try_it(\"read through a link\", fn () -> any { return io.read_file(\"data/link.txt\") })\n\
        try_it(\"exists\", fn () -> any { return io.file_exists(\"secret.txt\") })\n\
        try_it(\"write\", fn () -> any { return io.write_file(\"data/out.txt\", \"x\") })\n\
        try_it(\"append\", fn () -> any { return io.append_file(\"data/out.txt\", \"x\") })\n\
        try_it(\"env\", fn () -> any { return os.env(\"HOME\") })\n\
        try_it(\"sqlite file\", fn () -> any { return db.connect(\"sqlite://data/t.db\") })\n\
        try_it(\"sqlite memory\", fn () -> any { return db.connect(\"sqlite::memory:\") })\n\
        try_it(\"postgres\", fn () -> any { return db.connect(\"postgres://u@127.0.0.1:1/x\", connect_timeout: 0.5) })\n";
    std::fs::write(d.join("main.noodle"), src).unwrap();
    let limit = Duration::from_secs(30);
    let out = run(&["run", "--sandbox", "--allow-read=data", "main.noodle"], &d, limit, Opts::default());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let want = "read inside ok\nread outside N2013\nread through .. N2013\nread through a link N2013\nexists N2013\nwrite N2013\nappend N2013\nenv N2013\nsqlite file N2013\nsqlite memory ok\npostgres N2013\n";
    let want = if cfg!(unix) { want.to_string() } else { want.replace("read through a link N2013\n", "read through a link N2010\n") };
    assert_eq!(out.stdout, want);
    // granted: the same calls go through (a refused connection is N2203, not N2013)
    let out = run(&["run", "--allow-read", "--allow-write=data", "--allow-env=HOME", "--allow-net=127.0.0.1:1", "main.noodle"], &d, limit, Opts::default());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert!(out.stdout.contains("read outside ok\n") && out.stdout.contains("write ok\n") && out.stdout.contains("env ok\n") && out.stdout.contains("sqlite file ok\n"), "{}", out.stdout);
    assert!(out.stdout.contains("postgres N2203\n"), "{}", out.stdout);
    // no sandbox: everything, as before
    let out = run(&["run", "main.noodle"], &d, limit, Opts::default());
    assert!(!out.stdout.contains("N2013"), "{}", out.stdout);
    let out = run(&["run", "--allow-all", "main.noodle"], &d, limit, Opts::default());
    assert!(!out.stdout.contains("N2013"), "{}", out.stdout);
    // the message names the option that allows it
    std::fs::write(d.join("env.noodle"), "import std.os\nprint(os.env(\"PATH\"))\n").unwrap();
    let out = run(&["run", "--sandbox", "env.noodle"], &d, limit, Opts::default());
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("error[N2013]: permission denied: reading the environment variable `PATH`") && out.stderr.contains("--allow-env=PATH"), "{}", out.stderr);
    let out = run(&["run", "--allow-nothing", "env.noodle"], &d, limit, Opts::default());
    assert_eq!(out.code, Some(2));
    assert!(out.stderr.contains("error[N0902]: unknown option `--allow-nothing`"), "{}", out.stderr);
    let _ = std::fs::remove_dir_all(&d);
}

/// The sandbox applies to `std.fs`, `std.process` and `std.os` as to `std.io`: each call that
/// touches the outside is refused (N2013) unless its path, program or variable is granted.
#[test]
fn sandbox_covers_fs_process_and_os() {
    let d = dir("sandbox_std");
    std::fs::create_dir_all(d.join("data")).unwrap();
    std::fs::write(d.join("data/in.txt"), "inside").unwrap();
    std::fs::write(d.join("secret.txt"), "secret").unwrap();
    let src = "import std.fs\nimport std.os\nimport std.process\n\
        def try_it(what: str, f: fn() -> any) {\n    try {\n        f()\n        print(what, \"ok\")\n    } catch e {\n        print(what, e.code)\n    }\n}\n\
        try_it(\"fs read inside\", fn () -> any { return fs.read_text(\"data/in.txt\") })\n\
        try_it(\"fs read outside\", fn () -> any { return fs.read_text(\"secret.txt\") })\n\
        try_it(\"fs list outside\", fn () -> any { return fs.list_dir(\".\") })\n\
        try_it(\"fs glob outside\", fn () -> any { return fs.glob(\"*.txt\") })\n\
        try_it(\"fs write inside\", fn () -> any { return fs.write_text(\"data/out.txt\", \"x\", atomic: true) })\n\
        try_it(\"fs write outside\", fn () -> any { return fs.write_text(\"out.txt\", \"x\") })\n\
        try_it(\"fs remove outside\", fn () -> any { return fs.remove(\"secret.txt\") })\n\
        try_it(\"fs copy out\", fn () -> any { return fs.copy(\"data/in.txt\", \"copy.txt\") })\n\
        try_it(\"fs temp\", fn () -> any { return fs.make_temp_file() })\n\
        try_it(\"run echo\", fn () -> any { return process.run([\"echo\", \"hi\"]) })\n\
        try_it(\"run sh\", fn () -> any { return process.shell(\"echo hi\") })\n\
        try_it(\"set env\", fn () -> any { return os.set_env(\"X\", \"1\") })\n\
        try_it(\"hostname\", fn () -> any { return os.hostname() })\n\
        try_it(\"args\", fn () -> any { return os.args() })\n";
    std::fs::write(d.join("main.noodle"), src).unwrap();
    let limit = Duration::from_secs(30);
    let out = run(&["run", "--sandbox", "--allow-read=data", "--allow-write=data", "--allow-run=echo", "main.noodle"], &d, limit, Opts::default());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let want = "fs read inside ok\nfs read outside N2013\nfs list outside N2013\nfs glob outside N2013\nfs write inside ok\nfs write outside N2013\nfs remove outside N2013\nfs copy out N2013\nfs temp N2013\nrun echo ok\nrun sh N2013\nset env N2013\nhostname N2013\nargs ok\n";
    assert_eq!(out.stdout, want);
    assert!(std::fs::read_to_string(d.join("secret.txt")).is_ok(), "the sandbox let a file outside be removed");
    let _ = std::fs::remove_dir_all(&d);
}

// ---------------------------------------------------------------------------------------------
// resource limits

#[test]
fn resource_limits_are_errors_of_the_process_that_passes_them() {
    let limit = Duration::from_secs(60);
    let d = dir("reslimits");
    std::fs::write(
        d.join("heap.noodle"),
        "var rows: list[str] = []\ntry {\n    for i in range(10000000) { rows.push(f\"row {i}\") }\n} catch e {\n    print(e.code, len(rows) > 1000)\n}\nrows = []\nprint(\"recovered\")\ndef down(n: int) -> int { return down(n + 1) + 1 }\ntry { print(down(0)) } catch e { print(e.message) }\n",
    )
    .unwrap();
    let out = run(&["run", "--max-heap=16M", "--max-depth=50", "heap.noodle"], &d, limit, Opts::default());
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "N2014 true\nrecovered\ncall depth exceeded (50 nested calls): infinite recursion?\n");
    // one actor's own heap limit: it crashes, its asker sees N2302, main goes on
    std::fs::write(
        d.join("actor.noodle"),
        "struct Ping {}\nactor Hog {\n    data: list[str] = []\n    on ping(self, m: Ping) -> int {\n        for i in range(10000000) { self.data.push(f\"x{i}\") }\n        return len(self.data)\n    }\n}\nlet h = spawn(max_heap: 8000000) Hog()\ntry { print(await h.ask(Ping())) } catch e { print(e.code, e.message.contains(\"N2014\")) }\nprint(\"main goes on\")\n",
    )
    .unwrap();
    let out = run(&["run", "actor.noodle"], &d, limit, Opts::default());
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "N2302 true\nmain goes on\n"), "{}", out.stderr);
    assert!(out.stderr.contains("error[N2014] in actor Hog"), "{}", out.stderr);
    // actors: spawning past the limit is N2312, caught by the spawner
    std::fs::write(
        d.join("actors.noodle"),
        "struct Ping {}\nactor W {\n    on ping(self, m: Ping) -> int { return 1 }\n}\nvar ws: list[W] = []\ntry {\n    while true { ws.push(spawn W()) }\n} catch e {\n    print(e.code, len(ws))\n}\n",
    )
    .unwrap();
    let out = run(&["run", "--max-actors=50", "actors.noodle"], &d, limit, Opts::default());
    assert_eq!((out.code, out.stdout.as_str()), (Some(0), "N2312 50\n"), "{}", out.stderr);
    // processor time: the whole program stops
    std::fs::write(d.join("cpu.noodle"), "var n = 0\nwhile true { n += 1 }\n").unwrap();
    let out = run(&["run", "--max-cpu=0.5", "cpu.noodle"], &d, limit, Opts::default());
    assert_eq!(out.code, Some(1));
    assert!(out.stderr.contains("error[N2313]"), "{}", out.stderr);
    assert!(out.took < Duration::from_secs(10), "took {:?}", out.took);
    // bad values are usage errors
    for bad in ["--max-heap=abc", "--max-heap=0", "--max-depth=0", "--max-depth=20000", "--max-actors=-1", "--max-cpu=never", "--max-heap"] {
        let out = run(&["run", bad, "cpu.noodle"], &d, limit, Opts::default());
        assert_eq!(out.code, Some(2), "{bad}");
        assert!(out.stderr.contains("error[N0902]"), "{bad}: {}", out.stderr);
    }
    let _ = std::fs::remove_dir_all(&d);
}
