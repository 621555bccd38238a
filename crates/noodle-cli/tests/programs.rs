//! Data-driven end-to-end tests: every program runs through the real `noodle` binary.
//!
//! - `tests/run/**/NAME.noodle` + `NAME.out`: expected stdout, plus `# exit:`, `# stderr:`,
//!   `# options:` (of `noodle run`, before the file),
//!   `# stdin:`, `# args:` and `# env: NAME=VALUE` header lines.
//! - `tests/compile_fail/*.noodle`: `# expect: CODE...` and a `NAME.stderr` snapshot
//!   (regenerate with `NOODLE_BLESS=1 cargo test --test programs`).
//! - Code samples in `docs/**/*.md` and `README.md`: a ```noodle block followed by an
//!   ```output block must print exactly that output (run with the options of a first line
//!   `# noodle run OPTIONS sample.noodle`, when there is one), in a folder of their own where
//!   `tests/` is the repository's.
//! - `examples/NAME.noodle` + `NAME.out` (stdin from `NAME.txt`, command-line arguments from
//!   `NAME.args`, when present).
//! - `tests/db/NAME.noodle` + `NAME.out`: the database conformance suite, run once per backend
//!   with the database URL in `NOODLE_DB_URL` (a fresh SQLite file, the PostgreSQL server of
//!   `NOODLE_TEST_POSTGRES_URL` or `scripts/setup-postgres`, a fresh DuckDB file). Every
//!   backend must print the same output. PostgreSQL trials fail when no server is reachable;
//!   DuckDB trials are ignored only in builds without the `duckdb` feature.

use libtest_mimic::{Arguments, Failed, Trial};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn noodle(args: &[&str], stdin: &str, cwd: &Path) -> Run {
    noodle_env(args, stdin, cwd, &[])
}

fn noodle_env(args: &[&str], stdin: &str, cwd: &Path, env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_noodle"))
        .args(args)
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start noodle");
    {
        let mut si = child.stdin.take().unwrap();
        let _ = si.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().unwrap();
    Run {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

fn diff(expected: &str, actual: &str) -> String {
    let mut s = String::new();
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i).copied(), a.get(i).copied());
        if x != y {
            s.push_str(&format!("line {}:\n  expected: {:?}\n  actual:   {:?}\n", i + 1, x.unwrap_or("<none>"), y.unwrap_or("<none>")));
            if s.len() > 2000 {
                break;
            }
        }
    }
    if s.is_empty() && expected != actual {
        s.push_str(&format!("outputs differ in trailing newlines: expected {:?}, actual {:?}", expected.len(), actual.len()));
    }
    s
}

fn run_program(path: &Path) -> Result<(), Failed> {
    let src = std::fs::read_to_string(path).unwrap();
    let expected = std::fs::read_to_string(path.with_extension("out")).unwrap();
    let mut exit = 0;
    let mut stderr_needles = Vec::new();
    let mut stdin = String::new();
    let mut env: Vec<(String, String)> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    let mut program_args: Vec<String> = Vec::new();
    for line in src.lines() {
        let Some(h) = line.strip_prefix("# ") else { break };
        if let Some(v) = h.strip_prefix("exit:") {
            exit = v.trim().parse().unwrap();
        } else if let Some(v) = h.strip_prefix("stderr:") {
            stderr_needles.push(v.trim().to_string());
        } else if let Some(v) = h.strip_prefix("stdin:") {
            stdin.push_str(v.strip_prefix(' ').unwrap_or(v));
            stdin.push('\n');
        } else if let Some(v) = h.strip_prefix("args:") {
            program_args.extend(v.split_whitespace().map(String::from));
        } else if let Some(v) = h.strip_prefix("options:") {
            options.extend(v.split_whitespace().map(String::from));
        } else if let Some(v) = h.strip_prefix("env:") {
            if let Some((k, val)) = v.trim().split_once('=') {
                env.push((k.to_string(), val.to_string()));
            }
        }
    }
    let mut args: Vec<String> = vec!["run".into()];
    args.extend(options);
    args.push(path.file_name().unwrap().to_string_lossy().into_owned());
    args.extend(program_args);
    let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = noodle_env(&argv, &stdin, path.parent().unwrap(), &envs);
    let mut problems = String::new();
    if r.stdout != expected {
        problems.push_str(&format!("stdout differs:\n{}", diff(&expected, &r.stdout)));
    }
    if r.code != exit {
        problems.push_str(&format!("exit status {} (expected {exit})\n", r.code));
    }
    for n in &stderr_needles {
        if !r.stderr.contains(n.as_str()) {
            problems.push_str(&format!("stderr does not contain {n:?}\n"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{problems}--- stderr:\n{}", r.stderr).into())
    }
}

fn compile_fail(path: &Path) -> Result<(), Failed> {
    let src = std::fs::read_to_string(path).unwrap();
    let first = src.lines().next().unwrap_or("");
    let codes: Vec<&str> = first.strip_prefix("# expect:").ok_or("first line must be `# expect: CODE...`")?.split_whitespace().collect();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let r = noodle(&["check", &name], "", path.parent().unwrap());
    let mut problems = String::new();
    if r.code != 1 {
        problems.push_str(&format!("`noodle check` exited with {} (expected 1)\n", r.code));
    }
    for c in &codes {
        if !r.stderr.contains(&format!("[{c}]")) {
            problems.push_str(&format!("expected code {c} was not reported\n"));
        }
    }
    if r.stderr.contains("panicked") {
        problems.push_str("the compiler panicked\n");
    }
    let snap = path.with_extension("stderr");
    if std::env::var_os("NOODLE_BLESS").is_some() {
        std::fs::write(&snap, &r.stderr).unwrap();
    } else {
        match std::fs::read_to_string(&snap) {
            Ok(s) if s == r.stderr => {}
            Ok(s) => problems.push_str(&format!("diagnostics differ from the snapshot {}:\n{}", snap.display(), diff(&s, &r.stderr))),
            Err(_) => problems.push_str(&format!("missing snapshot {} (run with NOODLE_BLESS=1)\n", snap.display())),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{problems}--- stderr:\n{}", r.stderr).into())
    }
}

/// (name, code, expected output) for each ```noodle block followed by an ```output block.
fn doc_samples(md: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(md).unwrap();
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let mut n = 0;
    let block = |i: &mut usize| -> String {
        let mut s = String::new();
        *i += 1;
        while *i < lines.len() && !lines[*i].starts_with("```") {
            s.push_str(lines[*i]);
            s.push('\n');
            *i += 1;
        }
        *i += 1;
        s
    };
    while i < lines.len() {
        if lines[i].trim() == "```noodle" {
            let line_no = i + 1;
            let code = block(&mut i);
            while i < lines.len() && lines[i].trim().is_empty() {
                i += 1;
            }
            if i < lines.len() && lines[i].trim() == "```output" {
                let expected = block(&mut i);
                n += 1;
                out.push((format!("line{line_no}"), code, expected));
            }
        } else {
            i += 1;
        }
    }
    let _ = n;
    out
}

fn run_doc_sample(md: &Path, code: &str, expected: &str, tag: &str) -> Result<(), Failed> {
    let dir = std::env::temp_dir().join(format!("noodle-doc-{}-{}", std::process::id(), tag));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("sample.noodle");
    std::fs::write(&file, code).unwrap();
    // the repository's test data, as a sample names it (`tests/run/net/tls/ca.pem`): a link,
    // which removing the folder removes without following
    let _ = std::os::unix::fs::symlink(root().join("tests"), dir.join("tests"));
    // a sample whose first line is `# noodle run OPTIONS sample.noodle` runs with those options
    let args: Vec<&str> = match code.lines().next().and_then(|l| l.strip_prefix("# noodle run ")) {
        Some(rest) => std::iter::once("run").chain(rest.split_whitespace()).collect(),
        None => vec!["run", "sample.noodle"],
    };
    let r = noodle(&args, "", &dir);
    let _ = std::fs::remove_dir_all(&dir);
    if r.stdout == expected && r.code == 0 {
        Ok(())
    } else {
        Err(format!("sample in {} failed (exit {}):\n{}--- stderr:\n{}", md.display(), r.code, diff(expected, &r.stdout), r.stderr).into())
    }
}

const POSTGRES_URL: &str = "postgres://noodle:noodle@localhost:5432/noodle_test";

/// Runs one conformance program against one backend.
fn run_db_program(path: &Path, backend: &str) -> Result<(), Failed> {
    let expected = std::fs::read_to_string(path.with_extension("out")).unwrap();
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let dir = std::env::temp_dir().join(format!("noodle-db-{}-{stem}-{backend}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = match backend {
        "sqlite" => format!("sqlite://{}", dir.join("test.db").display()),
        "duckdb" => format!("duckdb://{}", dir.join("test.duckdb").display()),
        _ => std::env::var("NOODLE_TEST_POSTGRES_URL").unwrap_or_else(|_| POSTGRES_URL.to_string()),
    };
    let r = noodle_env(&["run", path.file_name().unwrap().to_str().unwrap()], "", path.parent().unwrap(), &[("NOODLE_DB_URL", &url)]);
    let _ = std::fs::remove_dir_all(&dir);
    if r.stdout == expected && r.code == 0 {
        return Ok(());
    }
    let mut msg = format!("{backend} ({url}), exit {}:\n{}--- stderr:\n{}", r.code, diff(&expected, &r.stdout), r.stderr);
    if backend == "postgres" && r.stderr.contains("N2203") {
        msg.push_str("\nno PostgreSQL server: run scripts/setup-postgres (or set NOODLE_TEST_POSTGRES_URL)");
    }
    Err(msg.into())
}

fn main() {
    let args = Arguments::from_args();
    let root = root();
    let mut trials = Vec::new();

    let mut programs = Vec::new();
    walk(&root.join("tests/run"), "noodle", &mut programs);
    for p in programs {
        if !p.with_extension("out").exists() {
            continue; // helper module
        }
        let name = format!("run::{}", p.strip_prefix(root.join("tests/run")).unwrap().with_extension("").display()).replace('/', "::");
        trials.push(Trial::test(name, move || run_program(&p)));
    }

    let mut fails = Vec::new();
    walk(&root.join("tests/compile_fail"), "noodle", &mut fails);
    for p in fails {
        if p.parent().unwrap().ends_with("lib") {
            continue;
        }
        let name = format!("compile_fail::{}", p.file_stem().unwrap().to_string_lossy());
        trials.push(Trial::test(name, move || compile_fail(&p)));
    }

    let mut docs = vec![root.join("README.md")];
    walk(&root.join("docs"), "md", &mut docs);
    for md in docs {
        if !md.exists() {
            continue;
        }
        let rel = md.strip_prefix(&root).unwrap().display().to_string();
        for (tag, code, expected) in doc_samples(&md) {
            let md2 = md.clone();
            let t = format!("{}-{}", rel.replace(['/', '.'], "_"), tag);
            trials.push(Trial::test(format!("docs::{rel}::{tag}"), move || run_doc_sample(&md2, &code, &expected, &t)));
        }
    }

    let mut db_programs = Vec::new();
    walk(&root.join("tests/db"), "noodle", &mut db_programs);
    for p in db_programs {
        if !p.with_extension("out").exists() {
            continue;
        }
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        for backend in ["sqlite", "postgres", "duckdb"] {
            let p = p.clone();
            let t = Trial::test(format!("db::{backend}::{stem}"), move || run_db_program(&p, backend));
            // DuckDB links a prebuilt library, so it is optional (scripts/test enables it)
            trials.push(t.with_ignored_flag(backend == "duckdb" && !cfg!(feature = "duckdb")));
        }
    }

    let mut examples = Vec::new();
    walk(&root.join("examples"), "noodle", &mut examples);
    for p in examples {
        if !p.with_extension("out").exists() {
            continue;
        }
        let name = format!("examples::{}", p.file_stem().unwrap().to_string_lossy());
        trials.push(Trial::test(name, move || {
            let expected = std::fs::read_to_string(p.with_extension("out")).unwrap();
            let stdin = std::fs::read_to_string(p.with_extension("txt")).unwrap_or_default();
            // the program's command-line arguments, from NAME.args when present
            let args = std::fs::read_to_string(p.with_extension("args")).unwrap_or_default();
            let mut argv = vec!["run", p.file_name().unwrap().to_str().unwrap()];
            argv.extend(args.split_whitespace());
            let r = noodle(&argv, &stdin, p.parent().unwrap());
            if r.stdout == expected && r.code == 0 {
                Ok(())
            } else {
                Err(format!("exit {}:\n{}--- stderr:\n{}", r.code, diff(&expected, &r.stdout), r.stderr).into())
            }
        }));
    }

    // `noodle disasm f | head`: a reader that goes away early is not an error (it was a panic,
    // "failed printing to stdout: Broken pipe")
    let sample = root.join("tests/run/functions/bodies_parsed_as_compiled.noodle");
    for cmd in [vec!["disasm".to_string(), sample.display().to_string()], vec!["explain".into(), "--list".into()]] {
        trials.push(Trial::test(format!("cli::{}_into_a_closed_pipe", cmd[0]), move || {
            let mut child = Command::new(env!("CARGO_BIN_EXE_noodle"))
                .args(&cmd)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("cannot start noodle");
            // close the reading end before noodle writes anything
            drop(child.stdout.take());
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if out.status.success() && stderr.is_empty() {
                Ok(())
            } else {
                Err(format!("{:?}: {}\n{stderr}", cmd, out.status).into())
            }
        }));
    }

    // a `.nbc` that cannot be written is reported as such, and nothing is left behind
    trials.push(Trial::test("cli::build_into_a_missing_folder", move || {
        let dir = std::env::temp_dir().join(format!("noodle-build-missing-{}", std::process::id()));
        let out = dir.join("x.nbc");
        let r = noodle(&["build", sample.to_str().unwrap(), "-o", out.to_str().unwrap()], "", &std::env::temp_dir());
        let expected = format!("error[N0900]: cannot write {}: No such file or directory (os error 2)\n", out.display());
        if r.code == 1 && r.stderr == expected && !dir.exists() {
            Ok(())
        } else {
            Err(format!("exit {}, stderr:\n{}", r.code, r.stderr).into())
        }
    }));

    libtest_mimic::run(&args, trials).exit();
}
