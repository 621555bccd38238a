//! `std.process`: other programs, started without a shell unless asked. Output is read on
//! threads of its own while the caller waits (a program that fills one pipe while its parent
//! reads the other would otherwise never finish), and the time limit is checked while
//! waiting.

use crate::codes::{N2503, N2504, N2505};
use crate::core::io_text;
use indexmap::IndexMap;
use noodle_native::{arity, as_float, as_str, blocking, simple, Ctx, FromValue, Module, NativeBox, NativeObject, Obj, Value, VmError};
use noodle_nbc::Program;
use noodle_vm::permissions::Access;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
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
}

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
}

/// Reads `run`'s and `shell`'s optional arguments, from position 1 on.
fn options(ctx: &Ctx, args: &[Value], argv: Vec<String>, name: &str) -> Result<Spec, VmError> {
    let opt_str = |v: Value| -> Result<Option<String>, VmError> {
        match v {
            Value::None => Ok(None),
            v => Ok(Some(as_str(ctx.heap, v, name)?.to_string())),
        }
    };
    let env = match args[3] {
        Value::None => Vec::new(),
        v => IndexMap::<String, String>::from_value(ctx.heap, v).ok_or_else(|| noodle_native::bad(name))?.into_iter().collect(),
    };
    let timeout = match args[4] {
        Value::None => None,
        v => {
            let secs = as_float(v, name)?;
            if !(secs > 0.0) {
                return Err(VmError::arg(format!("a timeout is a positive number of seconds, not {}", noodle_vm::fmt::float_repr(secs))));
            }
            Some(Duration::try_from_secs_f64(secs).map_err(|_| VmError::arg("the timeout is too large"))?)
        }
    };
    Ok(Spec { argv, input: opt_str(args[1])?, cwd: opt_str(args[2])?, env, timeout, check: matches!(args[5], Value::Bool(true)), capture: matches!(args[6], Value::Bool(true)) })
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
    arity(args, 7, "process.run")?;
    let argv = argv_of(ctx, args[0], "process.run")?;
    let spec = options(ctx, args, argv, "process.run")?;
    finish(ctx, spec)
}

fn process_shell(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 7, "process.shell")?;
    let command = as_str(ctx.heap, args[0], "process.shell")?.to_string();
    if command.contains('\0') {
        return Err(VmError::arg("a command cannot contain NUL"));
    }
    let spec = options(ctx, args, vec!["sh".to_string(), "-c".to_string(), command], "process.shell")?;
    finish(ctx, spec)
}

fn process_output(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "process.output")?;
    let argv = argv_of(ctx, args[0], "process.output")?;
    let all = [args[0], Value::None, args[1], Value::None, args[2], Value::Bool(true), Value::Bool(true)];
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

/// Starts the program, feeds and reads it, waits (killing it at the time limit), and checks its
/// status when asked.
fn execute(ctx: &mut Ctx, spec: &Spec) -> Result<Completed, VmError> {
    ctx.permit(Access::Run(&spec.argv[0]))?;
    if let Some(d) = &spec.cwd {
        ctx.permit(Access::Read(std::path::Path::new(d)))?;
    }
    // what this program printed so far comes before what the other prints
    ctx.out.flush().map_err(|e| crate::core::io_error("<stdout>", &e))?;
    let mut cmd = Command::new(&spec.argv[0]);
    cmd.args(&spec.argv[1..]);
    cmd.env_clear().envs(crate::os::vars()).envs(spec.env.iter().map(|(k, v)| (k, v)));
    if let Some(d) = &spec.cwd {
        cmd.current_dir(d);
    }
    cmd.stdin(if spec.input.is_some() { Stdio::piped() } else { Stdio::null() });
    let (out, err) = if spec.capture { (Stdio::piped(), Stdio::piped()) } else { (Stdio::inherit(), Stdio::inherit()) };
    cmd.stdout(out).stderr(err);
    let what = shown(&spec.argv);
    let mut child = cmd.spawn().map_err(|e| VmError::new(N2503, format!("cannot start `{what}`: {}", io_text(&e))))?;
    // input on a thread of its own: a program may not read it all before writing its output
    let feeder = match (spec.input.clone(), child.stdin.take()) {
        (Some(text), Some(mut stdin)) => Some(std::thread::spawn(move || {
            // a program that exits without reading its input closes the pipe: not an error here
            let _ = stdin.write_all(text.as_bytes());
        })),
        _ => None,
    };
    let read_all = |pipe: Option<Box<dyn Read + Send>>| pipe.map(|mut p| std::thread::spawn(move || {
        let mut buf = Vec::new();
        let r = p.read_to_end(&mut buf);
        (buf, r.err())
    }));
    let out_reader = read_all(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err_reader = read_all(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let start = Instant::now();
    let mut pause = Duration::from_micros(100);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) => {}
            Err(e) => return Err(VmError::new(N2503, format!("cannot wait for `{what}`: {}", io_text(&e)))),
        }
        if let Some(limit) = spec.timeout {
            if start.elapsed() >= limit {
                let _ = child.kill();
                let _ = child.wait();
                return Err(VmError::new(N2505, format!("`{what}` did not finish within {} s and was killed", noodle_vm::fmt::float_repr(limit.as_secs_f64()))));
            }
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(10));
    };
    if let Some(f) = feeder {
        let _ = f.join();
    }
    let collect = |h: Option<std::thread::JoinHandle<(Vec<u8>, Option<std::io::Error>)>>, which: &str| -> Result<Vec<u8>, VmError> {
        match h.map(|h| h.join()) {
            None => Ok(Vec::new()),
            Some(Ok((buf, None))) => Ok(buf),
            Some(Ok((_, Some(e)))) => Err(VmError::new(noodle_vm::codes::N2010, format!("reading the {which} of `{what}`: {}", io_text(&e)))),
            Some(Err(_)) => Err(VmError::new(noodle_vm::codes::N2010, format!("reading the {which} of `{what}` failed"))),
        }
    };
    let stdout = collect(out_reader, "output")?;
    let stderr = collect(err_reader, "error output")?;
    let code = match status.code() {
        Some(c) => i64::from(c),
        None => {
            use std::os::unix::process::ExitStatusExt;
            -i64::from(status.signal().unwrap_or(0))
        }
    };
    if spec.check && code != 0 {
        let tail = String::from_utf8_lossy(&stderr);
        let tail: Vec<&str> = tail.trim_end().lines().collect();
        let shown_err = tail[tail.len().saturating_sub(5)..].join("\n");
        let how = if code < 0 { format!("was ended by signal {}", -code) } else { format!("exited with status {code}") };
        let msg = if shown_err.is_empty() { format!("`{what}` {how}") } else { format!("`{what}` {how}:\n{shown_err}") };
        return Err(VmError::new(N2504, msg));
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
