//! `std.process`: other programs, started without a shell unless asked. Output is read on
//! threads of its own while the caller waits (a program that fills one pipe while its parent
//! reads the other would otherwise never finish), up to a limit (`max_output`) past which the
//! program is killed, and the time limit is checked while waiting. `start` gives a running
//! program (`Child`) whose output is read line by line as it comes.

use crate::codes::{N2503, N2504, N2505, N2516};
use crate::core::io_text;
use indexmap::IndexMap;
use noodle_native::{arity, as_float, as_str, blocking, simple, Ctx, FromValue, Module, NativeBox, NativeObject, Obj, Value, VmError};
use noodle_nbc::Program;
use noodle_vm::permissions::Access;
use std::io::{BufRead, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

type R = Result<Value, VmError>;

/// The `std.process` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.process", include_str!("process.noodle"))
        .function("run", blocking!(process_run))
        .function("shell", blocking!(process_shell))
        .function("output", blocking!(process_output))
        .function("Completed.status", simple!(completed_status))
        .function("Completed.ok", simple!(completed_ok))
        .function("Completed.stdout", simple!(completed_stdout))
        .function("Completed.stderr", simple!(completed_stderr))
        .function("Completed.stdout_bytes", simple!(completed_stdout_bytes))
        .function("start", simple!(process_start))
        .function("Child.__next__", blocking!(child_read_line))
        .function("Child.read_line", blocking!(child_read_line))
        .function("Child.read_all", blocking!(child_read_all))
        .function("Child.write", blocking!(child_write))
        .function("Child.close_input", simple!(child_close_input))
        .function("Child.wait", blocking!(child_wait))
        .function("Child.poll", simple!(child_poll))
        .function("Child.kill", simple!(child_kill))
        .function("Child.pid", simple!(child_pid))
        .function("Child.stderr", simple!(child_stderr))
        .function("Child.exit", blocking!(child_exit))
}

/// The most a run keeps of one output unless `max_output` says otherwise: 64 MiB.
const DEFAULT_MAX_OUTPUT: u64 = 64 << 20;

/// A program that ran to its end.
pub struct Completed {
    status: i64,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl NativeObject for Completed {
    fn type_name(&self, _: &Program) -> String {
        "process.Completed".to_string()
    }
    fn kind(&self) -> &'static str {
        "Completed"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&format!("Completed(status: {}, stdout: {} bytes, stderr: {} bytes)", self.status, self.stdout.len(), self.stderr.len()));
    }
    fn owned_bytes(&self) -> usize {
        self.stdout.len() + self.stderr.len()
    }
}

/// How to run a program: what `run`, `shell` and `output` were given.
struct Spec {
    argv: Vec<String>,
    input: Option<String>,
    cwd: Option<String>,
    env: Vec<(String, String)>,
    timeout: Option<Duration>,
    check: bool,
    capture: bool,
    max_output: u64,
}

/// Reads `run`'s and `shell`'s optional arguments, from position 1 on.
fn options(ctx: &Ctx, args: &[Value], argv: Vec<String>, name: &str) -> Result<Spec, VmError> {
    let opt_str = |v: Value| opt_str_arg(ctx, v, name);
    let env = env_arg(ctx, args[3], name)?;
    let timeout = timeout_arg(args[4], name)?;
    let max_output = max_output_arg(args[7])?;
    Ok(Spec { argv, input: opt_str(args[1])?, cwd: opt_str(args[2])?, env, timeout, check: matches!(args[5], Value::Bool(true)), capture: matches!(args[6], Value::Bool(true)), max_output })
}

/// An optional str argument.
fn opt_str_arg(ctx: &Ctx, v: Value, name: &str) -> Result<Option<String>, VmError> {
    match v {
        Value::None => Ok(None),
        v => Ok(Some(as_str(ctx.heap, v, name)?.to_string())),
    }
}

/// A `timeout:` argument: `none`, or a positive number of seconds a `Duration` can hold.
fn timeout_arg(v: Value, name: &str) -> Result<Option<Duration>, VmError> {
    match v {
        Value::None => Ok(None),
        v => {
            let secs = as_float(v, name)?;
            if !(secs > 0.0) {
                return Err(VmError::arg(format!("a timeout is a positive number of seconds, not {}", noodle_vm::fmt::float_repr(secs))));
            }
            Ok(Some(Duration::try_from_secs_f64(secs).map_err(|_| VmError::arg("the timeout is too large"))?))
        }
    }
}

fn max_output_arg(v: Value) -> Result<u64, VmError> {
    match v {
        Value::None => Ok(DEFAULT_MAX_OUTPUT),
        Value::Int(n) if n > 0 => Ok(n as u64),
        Value::Int(n) => Err(VmError::arg(format!("max_output is a positive number of bytes, not {n}"))),
        _ => Err(noodle_native::bad("max_output")),
    }
}

fn env_arg(ctx: &Ctx, v: Value, name: &str) -> Result<Vec<(String, String)>, VmError> {
    match v {
        Value::None => Ok(Vec::new()),
        v => Ok(IndexMap::<String, String>::from_value(ctx.heap, v).ok_or_else(|| noodle_native::bad(name))?.into_iter().collect()),
    }
}

fn argv_of(ctx: &Ctx, v: Value, name: &str) -> Result<Vec<String>, VmError> {
    let list = noodle_native::as_list(ctx.heap, v, name)?;
    let mut argv = Vec::with_capacity(list.len());
    for item in list.iter() {
        argv.push(as_str(ctx.heap, item, name)?.to_string());
    }
    if argv.is_empty() {
        return Err(VmError::arg("the command is empty: give the program, then its arguments"));
    }
    if argv.iter().any(|a| a.contains('\0')) {
        return Err(VmError::arg("a command's arguments cannot contain NUL"));
    }
    Ok(argv)
}

fn process_run(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 8, "process.run")?;
    let argv = argv_of(ctx, args[0], "process.run")?;
    let spec = options(ctx, args, argv, "process.run")?;
    finish(ctx, spec)
}

fn process_shell(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 8, "process.shell")?;
    let command = as_str(ctx.heap, args[0], "process.shell")?.to_string();
    if command.contains('\0') {
        return Err(VmError::arg("a command cannot contain NUL"));
    }
    let spec = options(ctx, args, vec!["sh".to_string(), "-c".to_string(), command], "process.shell")?;
    finish(ctx, spec)
}

fn process_output(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 4, "process.output")?;
    let argv = argv_of(ctx, args[0], "process.output")?;
    let all = [args[0], Value::None, args[1], Value::None, args[2], Value::Bool(true), Value::Bool(true), args[3]];
    let spec = options(ctx, &all, argv, "process.output")?;
    let done = execute(ctx, &spec)?;
    let text = String::from_utf8_lossy(&done.stdout).into_owned();
    Ok(ctx.heap.alloc_str(text))
}

fn finish(ctx: &mut Ctx, spec: Spec) -> R {
    let done = execute(ctx, &spec)?;
    Ok(ctx.heap.alloc(Obj::Native(NativeBox::new(done))))
}

/// The command as a person would type it, for messages.
fn shown(argv: &[String]) -> String {
    argv.iter().map(|a| if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'') { format!("{a:?}") } else { a.clone() }).collect::<Vec<_>>().join(" ")
}

/// The command, checked against the sandbox, with this program's environment plus `env` and
/// the working folder; what this program printed so far is written out first, so that it
/// comes before what the other prints.
fn command(ctx: &mut Ctx, argv: &[String], cwd: &Option<String>, env: &[(String, String)]) -> Result<Command, VmError> {
    ctx.permit(Access::Run(&argv[0]))?;
    if let Some(d) = cwd {
        ctx.permit(Access::Read(std::path::Path::new(d)))?;
    }
    ctx.out.flush().map_err(|e| crate::core::io_error("<stdout>", &e))?;
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]);
    cmd.env_clear().envs(crate::os::vars()).envs(env.iter().map(|(k, v)| (k, v)));
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    Ok(cmd)
}

fn spawn(cmd: &mut Command, what: &str, cwd: &Option<String>) -> Result<std::process::Child, VmError> {
    if let Some(d) = cwd.as_deref().filter(|d| !std::path::Path::new(d).is_dir()) {
        return Err(VmError::new(N2503, format!("cannot start `{what}`: its working folder {d} is not a folder that exists")));
    }
    cmd.spawn().map_err(|e| VmError::new(N2503, format!("cannot start `{what}`: {}", io_text(&e))))
}

/// One output of a program read to its end on a thread of its own, up to `cap` bytes: past
/// that the thread stops (the program then blocks or gets a broken pipe) and raises `over`,
/// which the waiting loop sees and kills the program.
struct Drain {
    handle: JoinHandle<(Vec<u8>, Option<std::io::Error>)>,
    over: Arc<AtomicBool>,
}

fn drain(pipe: impl Read + Send + 'static, cap: u64) -> Drain {
    let over = Arc::new(AtomicBool::new(false));
    let flag = over.clone();
    let handle = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = pipe.take(cap.saturating_add(1)).read_to_end(&mut buf);
        if buf.len() as u64 > cap {
            flag.store(true, Ordering::Relaxed);
        }
        (buf, r.err())
    });
    Drain { handle, over }
}

impl Drain {
    /// What was read (after the program ended), or why it could not be; N2516 past the cap
    /// (the program may have ended before the waiting loop saw the flag).
    fn join(self, which: &str, what: &str, cap: u64) -> Result<Vec<u8>, VmError> {
        match self.handle.join() {
            Ok((buf, None)) if buf.len() as u64 > cap => Err(too_much(what, cap, "on an output it captured")),
            Ok((buf, None)) => Ok(buf),
            Ok((_, Some(e))) => Err(VmError::new(noodle_vm::codes::N2010, format!("reading the {which} of `{what}`: {}", io_text(&e)))),
            Err(_) => Err(VmError::new(noodle_vm::codes::N2010, format!("reading the {which} of `{what}` failed"))),
        }
    }
}

fn too_much(what: &str, cap: u64, where_: &str) -> VmError {
    VmError::new(N2516, format!("`{what}` wrote more than max_output ({cap} bytes) {where_}; it was killed"))
}

/// Waits for `child` to end and for `drains` to reach the end of its outputs (a program it
/// started in the background may hold them open). Past `timeout` it is killed (N2505); when one
/// of `drains` passes its cap, too (N2516).
fn wait_child(child: &mut std::process::Child, what: &str, timeout: Option<Duration>, drains: &[&Drain], tails: &[&JoinHandle<()>], cap: u64) -> Result<ExitStatus, VmError> {
    let start = Instant::now();
    let mut pause = Duration::from_micros(100);
    let mut ended = None;
    loop {
        if ended.is_none() {
            match child.try_wait() {
                Ok(s) => ended = s,
                Err(e) => return Err(VmError::new(N2503, format!("cannot wait for `{what}`: {}", io_text(&e)))),
            }
        }
        if let Some(s) = ended {
            if drains.iter().all(|d| d.handle.is_finished()) && tails.iter().all(|t| t.is_finished()) {
                return Ok(s);
            }
        }
        if drains.iter().any(|d| d.over.load(Ordering::Relaxed)) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(too_much(what, cap, "on an output it captured"));
        }
        if let Some(limit) = timeout {
            if start.elapsed() >= limit {
                let secs = noodle_vm::fmt::float_repr(limit.as_secs_f64());
                if ended.is_some() {
                    return Err(VmError::new(N2505, format!("`{what}` ended, but a program it started still held its output open after {secs} s")));
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(VmError::new(N2505, format!("`{what}` did not finish within {secs} s and was killed")));
            }
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

/// A status as Noodle shows it: the exit code, or minus the signal that ended the program.
fn status_code(status: ExitStatus) -> i64 {
    match status.code() {
        Some(c) => i64::from(c),
        None => {
            use std::os::unix::process::ExitStatusExt;
            -i64::from(status.signal().unwrap_or(0))
        }
    }
}

/// N2504 for a program that did not succeed, with the end of its standard error.
fn failed(what: &str, code: i64, stderr: &[u8]) -> VmError {
    let tail = String::from_utf8_lossy(stderr);
    let tail: Vec<&str> = tail.trim_end().lines().collect();
    let shown_err = tail[tail.len().saturating_sub(5)..].join("\n");
    let how = if code < 0 { format!("was ended by signal {}", -code) } else { format!("exited with status {code}") };
    let msg = if shown_err.is_empty() { format!("`{what}` {how}") } else { format!("`{what}` {how}:\n{shown_err}") };
    VmError::new(N2504, msg)
}

/// Starts the program, feeds and reads it, waits (killing it at the time limit or past the
/// output limit), and checks its status when asked.
fn execute(ctx: &mut Ctx, spec: &Spec) -> Result<Completed, VmError> {
    let mut cmd = command(ctx, &spec.argv, &spec.cwd, &spec.env)?;
    cmd.stdin(if spec.input.is_some() { Stdio::piped() } else { Stdio::null() });
    let (out, err) = if spec.capture { (Stdio::piped(), Stdio::piped()) } else { (Stdio::inherit(), Stdio::inherit()) };
    cmd.stdout(out).stderr(err);
    let what = shown(&spec.argv);
    let mut child = spawn(&mut cmd, &what, &spec.cwd)?;
    // input on a thread of its own: a program may not read it all before writing its output
    let feeder = match (spec.input.clone(), child.stdin.take()) {
        (Some(text), Some(mut stdin)) => Some(std::thread::spawn(move || {
            // a program that exits without reading its input closes the pipe: not an error here
            let _ = stdin.write_all(text.as_bytes());
        })),
        _ => None,
    };
    let out_reader = child.stdout.take().map(|p| drain(p, spec.max_output));
    let err_reader = child.stderr.take().map(|p| drain(p, spec.max_output));
    let drains: Vec<&Drain> = out_reader.iter().chain(err_reader.iter()).collect();
    let status = wait_child(&mut child, &what, spec.timeout, &drains, &[], spec.max_output)?;
    if let Some(f) = feeder {
        let _ = f.join();
    }
    // it may have ended just after writing too much
    if drains.iter().any(|d| d.over.load(Ordering::Relaxed)) {
        return Err(too_much(&what, spec.max_output, "on an output it captured"));
    }
    let stdout = out_reader.map_or(Ok(Vec::new()), |d| d.join("output", &what, spec.max_output))?;
    let stderr = err_reader.map_or(Ok(Vec::new()), |d| d.join("error output", &what, spec.max_output))?;
    let code = status_code(status);
    if spec.check && code != 0 {
        return Err(failed(&what, code, &stderr));
    }
    Ok(Completed { status: code, stdout, stderr })
}

fn completed<'h>(ctx: &'h Ctx, args: &[Value]) -> Result<&'h Completed, VmError> {
    noodle_native::receiver(ctx.heap, args, "process.Completed")
}

fn completed_status(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Int(completed(ctx, args)?.status))
}

fn completed_ok(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Bool(completed(ctx, args)?.status == 0))
}

fn completed_stdout(ctx: &mut Ctx, args: &[Value]) -> R {
    let s = String::from_utf8_lossy(&completed(ctx, args)?.stdout).into_owned();
    Ok(ctx.heap.alloc_str(s))
}

fn completed_stderr(ctx: &mut Ctx, args: &[Value]) -> R {
    let s = String::from_utf8_lossy(&completed(ctx, args)?.stderr).into_owned();
    Ok(ctx.heap.alloc_str(s))
}

fn completed_stdout_bytes(ctx: &mut Ctx, args: &[Value]) -> R {
    let b = completed(ctx, args)?.stdout.clone();
    Ok(ctx.heap.alloc(Obj::Bytes(b.into())))
}

// ---------------------------------------------------------------------------------------------
// a running program

/// A program started by `start`: its output is read as it comes; `None` pipes are closed.
pub struct Child {
    what: String,
    proc: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: Option<std::io::BufReader<std::process::ChildStdout>>,
    /// Standard output that `wait` read and `read_line`/`read_all` have not taken yet.
    kept: std::io::Cursor<Vec<u8>>,
    /// Its standard error, when captured: the last `max_output` bytes, filled by a thread
    /// (which `wait` waits for, so that all of it is there after).
    stderr: Option<Arc<Mutex<Vec<u8>>>>,
    stderr_reader: Option<JoinHandle<()>>,
    status: Option<i64>,
    max_output: u64,
}

impl NativeObject for Child {
    fn type_name(&self, _: &Program) -> String {
        "process.Child".to_string()
    }
    fn kind(&self) -> &'static str {
        "Child"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&format!("<process.Child {} `{}`>", self.proc.id(), self.what));
    }
}

/// Keeps the last `cap` bytes of a program's standard error in `into`, on a thread of its own
/// (it never blocks the program: what is older is dropped).
fn keep_tail(mut pipe: impl Read + Send + 'static, cap: u64, into: Arc<Mutex<Vec<u8>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let mut buf = into.lock().unwrap_or_else(|p| p.into_inner());
                    buf.extend_from_slice(&chunk[..n]);
                    // trimmed once it holds twice the cap, so each byte is moved about once
                    // (`stderr_bytes` takes the last `cap`)
                    if buf.len() > cap.saturating_mul(2) {
                        let cut = buf.len() - cap;
                        buf.drain(..cut);
                    }
                }
            }
        }
    })
}

fn process_start(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 6, "process.start")?;
    let argv = argv_of(ctx, args[0], "process.start")?;
    let cwd = opt_str_arg(ctx, args[1], "process.start")?;
    let env = env_arg(ctx, args[2], "process.start")?;
    let with_stdin = matches!(args[3], Value::Bool(true));
    let stderr_mode = as_str(ctx.heap, args[4], "process.start")?.to_string();
    let max_output = max_output_arg(args[5])?;
    let mut cmd = command(ctx, &argv, &cwd, &env)?;
    cmd.stdin(if with_stdin { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped());
    cmd.stderr(match stderr_mode.as_str() {
        "inherit" => Stdio::inherit(),
        "capture" => Stdio::piped(),
        "null" => Stdio::null(),
        other => return Err(VmError::arg(format!("stderr is \"inherit\", \"capture\" or \"null\", not {other:?}"))),
    });
    let what = shown(&argv);
    let mut proc = spawn(&mut cmd, &what, &cwd)?;
    let (stderr, stderr_reader) = match proc.stderr.take() {
        Some(pipe) => {
            let buf = Arc::new(Mutex::new(Vec::new()));
            let reader = keep_tail(pipe, max_output, buf.clone());
            (Some(buf), Some(reader))
        }
        None => (None, None),
    };
    let child = Child {
        what,
        stdin: proc.stdin.take(),
        stdout: proc.stdout.take().map(std::io::BufReader::new),
        proc,
        kept: std::io::Cursor::new(Vec::new()),
        stderr,
        stderr_reader,
        status: None,
        max_output,
    };
    Ok(ctx.heap.alloc(Obj::Native(NativeBox::new(child))))
}

fn child<'h>(ctx: &'h mut Ctx, args: &[Value], name: &str) -> Result<&'h mut Child, VmError> {
    noodle_native::receiver_mut(ctx.heap, args, name)
}

impl Child {
    /// Where unread standard output comes from: the pipe while it is open, then what `wait`
    /// kept.
    fn source(&mut self) -> &mut dyn BufRead {
        match self.stdout.as_mut() {
            Some(r) => r,
            None => &mut self.kept,
        }
    }

    fn over(&mut self, where_: &str) -> VmError {
        let _ = self.proc.kill();
        if let Ok(s) = self.proc.wait() {
            self.status = Some(status_code(s));
        }
        self.stdout = None;
        too_much(&self.what, self.max_output, where_)
    }

    fn read_error(&self, e: &std::io::Error) -> VmError {
        VmError::new(noodle_vm::codes::N2010, format!("reading the output of `{}`: {}", self.what, io_text(e)))
    }

    /// Reaps the program once it has ended (after `kill` or with its pipes closed).
    fn reap(&mut self) -> Result<i64, VmError> {
        if let Some(c) = self.status {
            return Ok(c);
        }
        let s = self.proc.wait().map_err(|e| VmError::new(N2503, format!("cannot wait for `{}`: {}", self.what, io_text(&e))))?;
        let c = status_code(s);
        self.status = Some(c);
        Ok(c)
    }

    /// The last `max_output` bytes of its standard error, when captured.
    fn stderr_bytes(&self) -> Vec<u8> {
        let cap = usize::try_from(self.max_output).unwrap_or(usize::MAX);
        self.stderr
            .as_ref()
            .map(|b| {
                let buf = b.lock().unwrap_or_else(|p| p.into_inner());
                buf[buf.len().saturating_sub(cap)..].to_vec()
            })
            .unwrap_or_default()
    }
}

fn child_read_line(ctx: &mut Ctx, args: &[Value]) -> R {
    let c = child(ctx, args, "process.Child.read_line")?;
    let max = c.max_output;
    let mut buf = Vec::new();
    let read = noodle_vm::input::read_until(&mut Read::take(c.source(), max + 1), b'\n', &mut buf);
    let n = read.map_err(|e| c.read_error(&e))?;
    if n == 0 {
        c.stdout = None;
        return Ok(Value::None);
    }
    if n as u64 > max && buf.last() != Some(&b'\n') {
        return Err(c.over("in one line"));
    }
    crate::io::strip_line_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    crate::io::str_value(ctx, &text, "the line")
}

fn child_read_all(ctx: &mut Ctx, args: &[Value]) -> R {
    let c = child(ctx, args, "process.Child.read_all")?;
    let max = c.max_output;
    let mut buf = Vec::new();
    let r = Read::take(&mut c.kept, max + 1).read_to_end(&mut buf);
    r.map_err(|e| c.read_error(&e))?;
    if let Some(out) = c.stdout.as_mut() {
        let left = (max + 1).saturating_sub(buf.len() as u64);
        let r = Read::take(out, left).read_to_end(&mut buf);
        r.map_err(|e| c.read_error(&e))?;
    }
    if buf.len() as u64 > max {
        return Err(c.over("before read_all"));
    }
    c.stdout = None;
    let text = String::from_utf8_lossy(&buf).into_owned();
    Ok(ctx.heap.alloc_str(text))
}

fn child_write(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "process.Child.write")?;
    let text = as_str(ctx.heap, args[1], "process.Child.write")?.to_string();
    let c = child(ctx, args, "process.Child.write")?;
    let what = c.what.clone();
    let Some(stdin) = c.stdin.as_mut() else {
        return Err(VmError::arg(format!("the input of `{what}` is not open: start it with `stdin: true`, and write before `close_input` or `wait`")));
    };
    stdin.write_all(text.as_bytes()).and_then(|_| stdin.flush()).map_err(|e| VmError::new(noodle_vm::codes::N2010, format!("writing to `{what}`: {}", io_text(&e))))?;
    Ok(Value::None)
}

fn child_close_input(ctx: &mut Ctx, args: &[Value]) -> R {
    child(ctx, args, "process.Child.close_input")?.stdin = None;
    Ok(Value::None)
}

fn child_wait(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "process.Child.wait")?;
    let timeout = timeout_arg(args[1], "process.Child.wait")?;
    let check = matches!(args[2], Value::Bool(true));
    let c = child(ctx, args, "process.Child.wait")?;
    if c.status.is_none() {
        c.stdin = None;
        // what it still writes is read meanwhile (it would block on a full pipe otherwise)
        // and kept, after what was read but not taken yet
        let reader = c.stdout.take().map(|mut r| {
            let mut before = Vec::new();
            before.extend_from_slice(r.buffer());
            r.consume(before.len());
            (before, drain(r.into_inner(), c.max_output))
        });
        let drains: Vec<&Drain> = reader.iter().map(|(_, d)| d).collect();
        let tails: Vec<&JoinHandle<()>> = c.stderr_reader.iter().collect();
        let status = wait_child(&mut c.proc, &c.what, timeout, &drains, &tails, c.max_output)?;
        c.status = Some(status_code(status));
        if let Some((mut before, d)) = reader {
            if d.over.load(Ordering::Relaxed) {
                return Err(too_much(&c.what, c.max_output, "after its output was last read"));
            }
            before.extend(d.join("output", &c.what, c.max_output)?);
            let pos = c.kept.position() as usize;
            let mut rest = c.kept.get_ref()[pos.min(c.kept.get_ref().len())..].to_vec();
            rest.extend(before);
            c.kept = std::io::Cursor::new(rest);
        }
    }
    let code = c.status.unwrap_or(0);
    if check && code != 0 {
        return Err(failed(&c.what, code, &c.stderr_bytes()));
    }
    Ok(Value::Int(code))
}

fn child_poll(ctx: &mut Ctx, args: &[Value]) -> R {
    let c = child(ctx, args, "process.Child.poll")?;
    if c.status.is_none() {
        if let Ok(Some(s)) = c.proc.try_wait() {
            c.status = Some(status_code(s));
        }
    }
    Ok(c.status.map_or(Value::None, Value::Int))
}

fn child_kill(ctx: &mut Ctx, args: &[Value]) -> R {
    let c = child(ctx, args, "process.Child.kill")?;
    if c.status.is_none() {
        // an error here means it has already ended, which is what was asked; what it wrote
        // and was not read is dropped (a program it started may hold the pipe open)
        let _ = c.proc.kill();
        c.stdin = None;
        c.stdout = None;
        c.reap()?;
    }
    Ok(Value::None)
}

fn child_pid(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Int(i64::from(child(ctx, args, "process.Child.pid")?.proc.id())))
}

fn child_stderr(ctx: &mut Ctx, args: &[Value]) -> R {
    let bytes = child(ctx, args, "process.Child.stderr")?.stderr_bytes();
    let s = String::from_utf8_lossy(&bytes).into_owned();
    Ok(ctx.heap.alloc_str(s))
}

/// The end of a `with` block: input and output are closed (a program still writing gets a
/// broken pipe, as under `head`), a block that raised kills the program, and the program is
/// waited for.
fn child_exit(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "process.Child.exit")?;
    let completed = matches!(args[1], Value::Bool(true));
    let c = child(ctx, args, "process.Child.exit")?;
    if c.status.is_none() {
        c.stdin = None;
        c.stdout = None;
        if !completed {
            let _ = c.proc.kill();
        }
        c.reap()?;
    }
    Ok(Value::None)
}
