//! `noodle` — the command-line tool. A thin layer over the `noodle` embedding API.

use noodle::error_codes::{N0900, N0901, N0902};
use noodle::{codes, Error, Eval, Grant, Output, Permissions, Runtime, Session};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

// The standard macros panic when a stream is closed or full (`noodle run x.noodle 2>/dev/full`),
// and a panic in this binary aborts. These write what they can; a failed write to standard
// output is remembered, so the command exits 1, not 0, when its output was lost. (Nothing is
// left to report a failed write to standard error with.)
static STDOUT_LOST: AtomicBool = AtomicBool::new(false);
macro_rules! print {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if write!(std::io::stdout(), $($t)*).is_err() {
            STDOUT_LOST.store(true, Ordering::Relaxed);
        }
    }};
}
macro_rules! println {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        if writeln!(std::io::stdout(), $($t)*).is_err() {
            STDOUT_LOST.store(true, Ordering::Relaxed);
        }
    }};
}
macro_rules! eprint {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($t)*);
    }};
}
macro_rules! eprintln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

const USAGE: &str = "\
noodle — the Noodle language

usage:
  noodle run [OPTIONS] FILE [ARGS...]
                             compile and run a .noodle file (or run a .nbc file), giving
                             it ARGS (`os.args()`); with --sandbox or
                             --allow-read/write/net/env/run/ffi[=...], it may touch only
                             what is allowed; --max-heap=SIZE, --max-depth=N,
                             --max-actors=N, --max-cpu=SECS, --max-open-files=N limit
                             it, --ask-timeout=SECS bounds every ask without a timeout
                             (docs/guide/limits.md)
  noodle build FILE [-o OUT] compile to NBC bytecode (default OUT: FILE with .nbc)
  noodle check FILE...       type-check without running
  noodle disasm FILE         show the bytecode of a .noodle or .nbc file
  noodle explain CODE        explain an error code (`noodle explain --list` lists them)
  noodle doc [ITEM...]       the API reference, as Markdown, of modules (`std.math`) or
                             files (`lib.noodle`, its `pub` items); with `--out DIR`, of
                             every registered module, written as DIR/NAME.md
  noodle test [PATH...]      run the test_* functions in .noodle files (default: tests/ or .)
             [--timeout SECS]  each in a process of its own, stopped after SECS (default 60)
  noodle repl                interactive session
  noodle version
";

fn main() -> ExitCode {
    let code = command();
    use std::io::Write as _;
    if std::io::stdout().flush().is_err() {
        STDOUT_LOST.store(true, Ordering::Relaxed);
    }
    if STDOUT_LOST.load(Ordering::Relaxed) && code == ExitCode::SUCCESS {
        eprintln!("error[{N0900}]: cannot write to standard output; output was lost");
        return ExitCode::from(1);
    }
    code
}

fn command() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let rest = &args[1..];
    // `noodle run --help`: the command's usage, not a file named `--help` (after the file,
    // arguments belong to the program)
    if matches!(rest.first().map(String::as_str), Some("--help" | "-h")) {
        if let Some(text) = command_help(cmd) {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
    }
    match cmd.as_str() {
        "run" => cmd_run(rest),
        "build" => cmd_build(rest),
        "check" => cmd_check(rest),
        "disasm" => cmd_disasm(rest),
        "explain" => cmd_explain(rest),
        "doc" => cmd_doc(rest),
        "test" => cmd_test(rest),
        "repl" => cmd_repl(),
        "version" | "--version" | "-V" => {
            println!("noodle {} (NBC format {})", env!("CARGO_PKG_VERSION"), noodle_nbc_version());
            ExitCode::SUCCESS
        }
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            if other.ends_with(".noodle") || other.ends_with(".nbc") {
                return cmd_run(&args);
            }
            eprintln!("error[{N0902}]: unknown command `{other}`\n");
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `noodle CMD --help`: the command's lines of the usage, and what else it takes.
fn command_help(cmd: &str) -> Option<String> {
    let extra = match cmd {
        "run" => "\nFILE is a .noodle source file (compiled first) or a .nbc bytecode file; the ARGS after it\nare the program's (`os.args()`). The exit status is 0, the status the program gives\n`os.exit`, or 1 after an error (reported on stderr with its code).\n",
        "build" => "\nThe output is written whole or not at all; it may not be the source file itself.\n",
        "check" => "\nReports every error and warning of each file; exits 1 if any file has an error.\n",
        "disasm" => "",
        "explain" => "",
        "doc" => "",
        "test" => "\nEach test_* function with no parameters is a test: it passes when it returns, fails when\nit raises. Each runs in a process of its own, after its file's top-level code. Exits 1 if\nany test failed.\n",
        "repl" => "\nAn expression's value is printed with its type; :quit leaves.\n",
        "version" => "",
        _ => return None,
    };
    let lines: Vec<&str> = USAGE.lines().skip_while(|l| !l.trim_start().starts_with(&format!("noodle {cmd}"))).collect();
    let mut out = String::from("usage:\n");
    for (i, l) in lines.iter().enumerate() {
        // the command's line and its continuation lines (indented deeper than a command)
        if i > 0 && l.trim_start().starts_with("noodle ") {
            break;
        }
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(extra);
    Some(out)
}

fn noodle_nbc_version() -> u16 {
    noodle::NBC_FORMAT_VERSION
}

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("error[{N0902}]: {msg}");
    eprintln!("run `noodle help` for usage");
    ExitCode::from(2)
}

/// Loads a program from a `.noodle` (compiling it) or `.nbc` file; prints warnings.
fn load(path: &Path) -> Result<noodle::Program, Error> {
    if path.extension().is_some_and(|e| e == "nbc") {
        let bytes = std::fs::read(path).map_err(|e| Error::Io(path.to_path_buf(), e))?;
        return noodle::load_nbc(&bytes).map_err(Error::Load);
    }
    let compiled = noodle::compile_file(path)?;
    if !compiled.warnings.items.is_empty() {
        eprint!("{}", compiled.warnings.render());
    }
    Ok(compiled.program)
}

fn fail(e: Error) -> ExitCode {
    eprint!("{}", e.render());
    ExitCode::from(1)
}

fn cmd_run(args: &[String]) -> ExitCode {
    // options come before the file; what follows it belongs to the program
    let mut permissions: Option<Permissions> = None;
    let mut limits = RunLimits::default();
    let mut i = 0;
    while let Some(a) = args.get(i).filter(|a| a.starts_with("--")) {
        let r = if a.starts_with("--max-") || a.starts_with("--ask-timeout") { limit_option(a, &mut limits) } else { sandbox_option(a, &mut permissions) };
        if let Err(msg) = r {
            return usage_error(&msg);
        }
        i += 1;
    }
    let Some(file) = args.get(i) else { return usage_error("`noodle run` needs a file") };
    let program = match load(Path::new(file)) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let program_args = &args[i + 1..];
    // the shared standard engine, unless this run needs its own settings
    let made = if permissions.is_none() && program_args.is_empty() {
        Runtime::new(program, Output::stdio())
    } else {
        let mut engine = noodle::standard().clone();
        if let Some(p) = permissions {
            engine.set_permissions(p);
        }
        engine.set_args(program_args.to_vec());
        engine.runtime(program, Output::stdio())
    };
    let mut rt = match made {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    let config = rt.scheduler_mut();
    config.limits.max_heap = limits.heap.or(config.limits.max_heap);
    config.limits.max_depth = limits.depth.or(config.limits.max_depth);
    config.max_actors = limits.actors.unwrap_or(config.max_actors);
    config.max_cpu = limits.cpu.or(config.max_cpu);
    config.ask_timeout = limits.ask.or(config.ask_timeout);
    if let Some(n) = limits.files {
        if let Err(msg) = limit_open_files(n) {
            return usage_error(&msg);
        }
    }
    match rt.run() {
        Ok(()) => ExitCode::SUCCESS,
        // `os.exit(status)`
        Err(u) if u.exit.is_some() => ExitCode::from(u.exit.unwrap_or(1)),
        Err(u) => {
            eprint!("{}", noodle::render_uncaught(&u));
            ExitCode::from(1)
        }
    }
}

/// `noodle run --max-...` options.
#[derive(Default)]
struct RunLimits {
    heap: Option<usize>,
    depth: Option<usize>,
    actors: Option<usize>,
    cpu: Option<std::time::Duration>,
    ask: Option<f64>,
    files: Option<u64>,
}

/// One of `noodle run`'s resource limits: `--max-heap=SIZE` (bytes, or with K, M or G), for
/// each process; `--max-depth=N` calls; `--max-actors=N` alive at once; `--max-cpu=SECS` for
/// the whole program; `--ask-timeout=SECS` for each ask given no timeout.
fn limit_option(arg: &str, limits: &mut RunLimits) -> Result<(), String> {
    let Some((name, value)) = arg.split_once('=') else { return Err(format!("`{arg}` needs a value (`{arg}=...`)")) };
    let number = |v: &str| v.trim().parse::<u64>().ok().filter(|n| *n > 0);
    match name {
        "--max-heap" => {
            let (digits, unit) = match value.trim().char_indices().last() {
                Some((i, c)) if c.is_ascii_alphabetic() => (&value[..i], c.to_ascii_uppercase()),
                _ => (value, 'B'),
            };
            let shift = match unit {
                'B' => 0,
                'K' => 10,
                'M' => 20,
                'G' => 30,
                _ => return Err(format!("`--max-heap={value}`: the size is bytes, or a number with K, M or G")),
            };
            let n = number(digits).and_then(|n| n.checked_mul(1 << shift)).and_then(|n| usize::try_from(n).ok());
            limits.heap = Some(n.ok_or_else(|| format!("`--max-heap={value}`: the size is a positive number of bytes, or with K, M or G (`64M`)"))?);
        }
        "--max-depth" => {
            let n = number(value).filter(|n| *n <= 10_000).ok_or_else(|| format!("`--max-depth={value}`: a number of calls from 1 to 10000"))?;
            limits.depth = Some(n as usize);
        }
        "--max-actors" => {
            let n = number(value).and_then(|n| usize::try_from(n).ok()).ok_or_else(|| format!("`--max-actors={value}`: a positive number"))?;
            limits.actors = Some(n);
        }
        "--max-cpu" => {
            let secs = value.trim().parse::<f64>().ok().filter(|s| *s > 0.0 && *s <= 1e9).ok_or_else(|| format!("`--max-cpu={value}`: a number of seconds, more than 0 and at most 1e9"))?;
            limits.cpu = Some(std::time::Duration::from_secs_f64(secs));
        }
        "--max-open-files" => {
            let n = number(value).filter(|n| *n <= 1 << 20).ok_or_else(|| format!("`--max-open-files={value}`: a number of files and sockets from 1 to 1048576"))?;
            limits.files = Some(n);
        }
        "--ask-timeout" => {
            let secs = value.trim().parse::<f64>().ok().filter(|s| *s > 0.0 && *s <= 1e9).ok_or_else(|| format!("`--ask-timeout={value}`: a number of seconds, more than 0 and at most 1e9 (without the option, an ask waits until answered)"))?;
            limits.ask = Some(secs);
        }
        _ => return Err(format!("unknown option `{arg}` for `noodle run` (limits: --max-heap, --max-depth, --max-actors, --max-cpu, --max-open-files, --ask-timeout)")),
    }
    Ok(())
}

/// `--max-open-files=N`: the program may hold `n` more files, sockets and pipes open than it
/// has at the start. The system enforces it: `RLIMIT_NOFILE` bounds the number a new
/// descriptor may take, so the limit is set just above the `n`-th free number (inherited
/// descriptors may sit anywhere). One more open fails with the system's "too many open
/// files", a catchable N2010 (or the module's own code) naming what was being opened.
fn limit_open_files(n: u64) -> Result<(), String> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a valid rlimit for the call to fill
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(format!("`--max-open-files`: cannot read the limit ({})", std::io::Error::last_os_error()));
    }
    let hard = lim.rlim_max as u64;
    // SAFETY: F_GETFD only asks whether the descriptor is open
    let is_open = |fd: u64| i32::try_from(fd).is_ok_and(|fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } != -1);
    let (mut free, mut below) = (0u64, 0u64);
    while free < n {
        if below >= hard {
            return Err(format!("`--max-open-files={n}`: above this system's limit for the process ({hard} descriptors)"));
        }
        if !is_open(below) {
            free += 1;
        }
        below += 1;
    }
    lim.rlim_cur = below as libc::rlim_t;
    // SAFETY: `lim` is a valid rlimit
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(format!("`--max-open-files`: cannot set the limit ({})", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// One of `noodle run`'s sandbox options (`--sandbox`, `--allow-read[=PATH,...]`, ...): any
/// of them makes the run a sandbox, which denies what is not allowed.
fn sandbox_option(arg: &str, permissions: &mut Option<Permissions>) -> Result<(), String> {
    let (name, value) = match arg.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (arg, None),
    };
    let p = permissions.get_or_insert_with(Permissions::sandbox);
    // `--allow-x` grants everything of a kind; `--allow-x=a,b` adds a and b
    fn grant<T>(g: &mut Grant<T>, value: Option<&str>, item: impl Fn(&str) -> T) -> Result<(), String> {
        match value {
            None => *g = Grant::Everything,
            Some(v) => {
                let items: Vec<T> = v.split(',').filter(|s| !s.is_empty()).map(item).collect();
                if items.is_empty() {
                    return Err("an `--allow-...=` option needs at least one item after `=`".to_string());
                }
                match g {
                    Grant::Everything => {}
                    Grant::Only(have) => have.extend(items),
                    Grant::Nothing => *g = Grant::Only(items),
                }
            }
        }
        Ok(())
    }
    let path = |s: &str| noodle::permissions_path(Path::new(s));
    match name {
        "--sandbox" if value.is_none() => Ok(()),
        "--allow-read" => grant(&mut p.read, value, path),
        "--allow-write" => grant(&mut p.write, value, path),
        "--allow-net" => grant(&mut p.net, value, str::to_string),
        "--allow-env" => grant(&mut p.env, value, str::to_string),
        "--allow-run" => grant(&mut p.run, value, str::to_string),
        "--allow-ffi" => grant(&mut p.ffi, value, str::to_string),
        "--allow-all" if value.is_none() => {
            *p = Permissions::default();
            Ok(())
        }
        _ => Err(format!("unknown option `{arg}` for `noodle run` (options: --sandbox, --allow-read, --allow-write, --allow-net, --allow-env, --allow-run, --allow-ffi, --allow-all)")),
    }
}

fn cmd_build(args: &[String]) -> ExitCode {
    let mut file = None;
    let mut out = None;
    let mut i = 0;
    while i < args.len() {
        if args[i] == "-o" {
            let Some(o) = args.get(i + 1) else { return usage_error("`-o` needs a path") };
            out = Some(PathBuf::from(o));
            i += 2;
        } else {
            file = Some(PathBuf::from(&args[i]));
            i += 1;
        }
    }
    let Some(file) = file else { return usage_error("`noodle build` needs a file") };
    let out = out.unwrap_or_else(|| file.with_extension("nbc"));
    if out.extension().is_some_and(|e| e == "noodle") || same_file(&out, &file) {
        return usage_error(&format!("`noodle build` will not write bytecode to {}: that is a source file (write to a .nbc file)", out.display()));
    }
    let program = match load(&file) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let bytes = noodle::encode(&program);
    let written = match std::fs::metadata(&out) {
        // a device or a pipe (`-o /dev/stdout`) is written in place, and must take it all
        Ok(m) if !m.is_file() && !m.is_dir() => {
            use std::io::Write as _;
            std::fs::OpenOptions::new().write(true).open(&out).and_then(|mut f| f.write_all(&bytes).and_then(|_| f.flush()))
        }
        // a file: to a temporary file and rename, so a failure never leaves half a .nbc
        _ => write_atomically(&out, &bytes),
    };
    if let Err(e) = written {
        return cannot_write(out.display(), &e);
    }
    eprintln!("wrote {} ({} bytes)", out.display(), bytes.len());
    ExitCode::SUCCESS
}

fn cmd_check(args: &[String]) -> ExitCode {
    if args.is_empty() {
        return usage_error("`noodle check` needs at least one file");
    }
    let mut failed = false;
    for (i, f) in args.iter().enumerate() {
        match noodle::compile_file(Path::new(f)) {
            Ok(c) => {
                if !c.warnings.items.is_empty() {
                    eprint!("{}", c.warnings.render());
                }
                if i + 1 == args.len() {
                    // the process ends next: freeing a large program object by object only
                    // walks cold memory (a tenth of checking a 500k-line file), and the
                    // system takes it all back at exit anyway
                    std::mem::forget(c);
                }
            }
            Err(e) => {
                eprint!("{}", e.render());
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        eprintln!("checked {} file{}: no errors", args.len(), if args.len() == 1 { "" } else { "s" });
        ExitCode::SUCCESS
    }
}

fn cmd_disasm(args: &[String]) -> ExitCode {
    let Some(file) = args.first() else { return usage_error("`noodle disasm` needs a file") };
    match load(Path::new(file)) {
        Ok(p) => write_stdout(&noodle::disassemble(&p)),
        Err(e) => fail(e),
    }
}

/// Writes a command's whole output. A reader that went away (`noodle disasm f | head`) is not
/// an error; any other failure to write is reported.
fn write_stdout(text: &str) -> ExitCode {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => cannot_write("to standard output", &e),
    }
}

/// N0900 for output that could not be written.
fn cannot_write(what: impl std::fmt::Display, e: &std::io::Error) -> ExitCode {
    eprintln!("error[{N0900}]: cannot write {what}: {e}");
    ExitCode::from(1)
}

/// `noodle doc [--out DIR] [ITEM...]`: API reference pages.
fn cmd_doc(args: &[String]) -> ExitCode {
    let engine = noodle::standard();
    let mut out_dir = None;
    let mut items = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" | "-o" => match it.next() {
                Some(d) => out_dir = Some(PathBuf::from(d)),
                None => return usage_error("`--out` needs a folder"),
            },
            s if s.starts_with('-') => return usage_error(&format!("unknown option `{s}` for `noodle doc`")),
            s => items.push(s.to_string()),
        }
    }
    // the pages: every registered module (with --out and no items), or the items asked for
    let mut pages: Vec<(String, String)> = Vec::new();
    if items.is_empty() {
        if out_dir.is_none() {
            return usage_error("`noodle doc` needs modules or files to document, or `--out DIR` for every module");
        }
        pages = engine.doc_pages();
    }
    for item in &items {
        if item.ends_with(".noodle") {
            let path = Path::new(item);
            let text = match std::fs::read_to_string(path) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error[{N0900}]: cannot read {item}: {e}");
                    return ExitCode::from(1);
                }
            };
            let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
            pages.push((format!("{name}.md"), noodle::doc::module_page(&name, &text, false) + "\n"));
        } else {
            match engine.registry().get(item) {
                Some(m) => pages.push((format!("{item}.md"), noodle::doc::module_page(item, m.declarations(), true) + "\n")),
                None => {
                    let mut names: Vec<&str> = engine.registry().modules().map(|m| m.name()).collect();
                    names.sort();
                    return usage_error(&format!("no module named `{item}` (the modules: {}; a file must end in `.noodle`)", names.join(", ")));
                }
            }
        }
    }
    match out_dir {
        None => write_stdout(&pages.iter().map(|(_, p)| p.as_str()).collect::<Vec<_>>().join("\n")),
        Some(dir) => {
            if let Err(e) = std::fs::create_dir_all(&dir) {
                return cannot_write(dir.display(), &e);
            }
            for (name, page) in &pages {
                let path = dir.join(name);
                if let Err(e) = write_atomically(&path, page.as_bytes()) {
                    return cannot_write(path.display(), &e);
                }
            }
            ExitCode::SUCCESS
        }
    }
}

/// Whether two paths name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Writes a file whole or not at all: a temporary file beside it, then a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp~");
    std::fs::write(&tmp, bytes).and_then(|_| std::fs::rename(&tmp, path)).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn cmd_explain(args: &[String]) -> ExitCode {
    let Some(code) = args.first() else { return usage_error("`noodle explain` needs a code, e.g. N0200") };
    if code == "--list" {
        let list: String = codes::all().iter().map(|c| format!("{}  {}\n", c.code, c.title)).collect();
        return write_stdout(&list);
    }
    match codes::lookup(code) {
        Some(c) => write_stdout(&format!("{}: {}\n\n{}\n", c.code, c.title, c.explanation.trim_end())),
        None => {
            eprintln!("error[{N0902}]: unknown error code `{code}`; `noodle explain --list` lists them all");
            ExitCode::from(2)
        }
    }
}

fn collect_noodle_files(p: &Path, out: &mut Vec<PathBuf>) {
    if p.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
        entries.sort();
        for e in entries {
            collect_noodle_files(&e, out);
        }
    } else if p.extension().is_some_and(|e| e == "noodle") {
        out.push(p.to_path_buf());
    }
}

/// The longest a test may run by default (`noodle test --timeout SECS`).
const TEST_TIMEOUT_SECS: f64 = 60.0;

fn cmd_test(args: &[String]) -> ExitCode {
    if args.first().is_some_and(|a| a == "--one") {
        return match (args.get(1), args.get(2)) {
            (Some(file), Some(name)) => run_one_test(Path::new(file), name),
            _ => usage_error("`noodle test --one` needs a file and a test name"),
        };
    }
    let mut timeout = TEST_TIMEOUT_SECS;
    let mut paths = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--timeout" => match it.next().and_then(|t| t.parse::<f64>().ok()).filter(|t| *t > 0.0 && *t <= 1e6) {
                Some(t) => timeout = t,
                None => return usage_error("`--timeout` needs a number of seconds (more than 0, at most 1000000)"),
            },
            s if s.starts_with('-') => return usage_error(&format!("unknown option `{s}` for `noodle test`")),
            s => paths.push(PathBuf::from(s)),
        }
    }
    let roots: Vec<PathBuf> = if paths.is_empty() {
        if Path::new("tests").is_dir() {
            vec![PathBuf::from("tests")]
        } else {
            vec![PathBuf::from(".")]
        }
    } else {
        paths
    };
    let mut files = Vec::new();
    for r in &roots {
        if !r.exists() {
            return fail(Error::Io(r.clone(), std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory")));
        }
        collect_noodle_files(r, &mut files);
    }
    let (mut passed, mut failed) = (0, 0);
    let start = std::time::Instant::now();
    let limit = std::time::Duration::from_secs_f64(timeout);
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else { continue };
        if !text.contains("def test_") {
            continue;
        }
        let program = match noodle::compile_source(&f, text) {
            Ok(c) => c.program,
            Err(e) => {
                println!("test {} ... FAILED (does not compile)", f.display());
                eprint!("{}", e.render());
                failed += 1;
                continue;
            }
        };
        let names = match Runtime::new(program, Output::silent()) {
            Ok(rt) => rt.functions_with_prefix("test_"),
            Err(e) => return fail(e),
        };
        // each test runs in a process of its own, after the file's top-level code: one that
        // hangs is stopped at the time limit, one that ends the process (`exit`) or crashes
        // fails alone, and no test sees what another left behind
        if let Some(why) = run_test_process(&f, "", limit) {
            println!("test {} ... FAILED (top-level code{why})", f.display());
            failed += 1;
            continue;
        }
        for name in names {
            match run_test_process(&f, &name, limit) {
                None => {
                    println!("test {}::{name} ... ok", f.display());
                    passed += 1;
                }
                Some(why) => {
                    println!("test {}::{name} ... FAILED{why}", f.display());
                    failed += 1;
                }
            }
        }
    }
    let status = if failed == 0 { "ok" } else { "FAILED" };
    println!("\ntest result: {status}. {passed} passed; {failed} failed; finished in {:.2}s", start.elapsed().as_secs_f64());
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Runs one test (`name`; empty: only the file's top-level code) in a child `noodle test
/// --one`, which shares this process's standard streams. None when it passed; else why it
/// failed (empty for an error the child has reported itself).
fn run_test_process(file: &Path, name: &str, limit: std::time::Duration) -> Option<String> {
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => return Some(format!(" (cannot find the noodle binary: {e})")),
    };
    let mut child = match std::process::Command::new(exe).arg("test").arg("--one").arg(file).arg(name).stdin(std::process::Stdio::null()).spawn() {
        Ok(c) => c,
        Err(e) => return Some(format!(" (cannot start a test process: {e})")),
    };
    let start = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => {
                return match st.code() {
                    Some(0) => None,
                    Some(1) => Some(String::new()),
                    Some(c) => Some(format!(" (the process exited with status {c})")),
                    None => Some(" (the process was killed by a signal)".to_string()),
                };
            }
            Ok(None) if start.elapsed() >= limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Some(format!(" (timed out after {} s)", limit.as_secs_f64()));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(2)),
            Err(e) => return Some(format!(" (cannot wait for the test process: {e})")),
        }
    }
}

/// `noodle test --one FILE NAME`: the top-level code of FILE, then its function NAME (none
/// when NAME is empty). Exit status 0 when both ran to the end; 1 after an error, reported on
/// stderr.
fn run_one_test(file: &Path, name: &str) -> ExitCode {
    // not `load`: its warnings would be printed again for every test of the file
    let program = match noodle::compile_file(file) {
        Ok(c) => c.program,
        Err(e) => return fail(e),
    };
    let mut rt = match Runtime::new(program, Output::stdio()) {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    if let Err(u) = rt.run() {
        if let Some(status) = u.exit {
            return ExitCode::from(status);
        }
        eprint!("{}", noodle::render_uncaught(&u));
        return ExitCode::from(1);
    }
    if name.is_empty() {
        return ExitCode::SUCCESS;
    }
    match rt.call::<noodle::Value>(name, ()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(Error::Runtime(u)) if u.exit.is_some() => ExitCode::from(u.exit.unwrap_or(1)),
        Err(e) => {
            eprint!("{}", e.render());
            ExitCode::from(1)
        }
    }
}

fn balance(s: &str) -> i32 {
    let mut depth = 0;
    let mut in_str = false;
    let mut prev = ' ';
    for c in s.chars() {
        if in_str {
            if c == '"' && prev != '\\' {
                in_str = false;
            }
        } else {
            match c {
                '"' => in_str = true,
                '#' => {
                    // comment to end of line
                }
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            }
        }
        prev = c;
    }
    depth
}

fn cmd_repl() -> ExitCode {
    let mut rl = match rustyline::DefaultEditor::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error[{N0901}]: cannot start the line editor: {e}");
            return ExitCode::from(1);
        }
    };
    println!("Noodle {} — type :help for help, :quit to leave", env!("CARGO_PKG_VERSION"));
    let mut session = Session::new();
    let mut failed = false;
    let mut bad_lines = 0;
    loop {
        let mut input = match rl.readline(">>> ") {
            Ok(l) => {
                bad_lines = 0;
                l
            }
            Err(rustyline::error::ReadlineError::Eof | rustyline::error::ReadlineError::Interrupted) => break,
            Err(e) => {
                // a line that is not UTF-8 is skipped with an error (the session goes on); a
                // stream that keeps failing ends it, with exit status 1
                eprintln!("error[{N0901}]: cannot read the input line: {e}");
                failed = true;
                bad_lines += 1;
                if bad_lines > 3 {
                    break;
                }
                continue;
            }
        };
        while balance(&input) > 0 {
            match rl.readline("... ") {
                Ok(l) => {
                    input.push('\n');
                    input.push_str(&l);
                }
                Err(_) => break,
            }
        }
        let trimmed = input.trim();
        if trimmed.is_empty() {
            continue;
        }
        let _ = rl.add_history_entry(trimmed);
        match trimmed {
            ":quit" | ":q" | ":exit" => break,
            ":help" => {
                println!("Enter statements or expressions. Definitions persist between inputs.");
                println!("An expression's value is printed with its type. :quit leaves.");
                continue;
            }
            _ => {}
        }
        match session.eval(&input) {
            Eval::Ok(Some(ty)) => println!(": {ty}"),
            Eval::Ok(None) => {}
            Eval::Compile(d) => eprint!("{d}"),
            Eval::Runtime(d) => eprint!("{d}"),
            Eval::Exit(status) => return ExitCode::from(status),
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
