//! `std.os`: the program's arguments and exit status, its environment, and facts about the
//! machine.
//!
//! The environment a program changes (`set_env`, `unset_env`) is an overlay over the
//! process's real one, kept here: changing the real environment of a process whose other
//! threads may read it at the same moment (a scheduler thread, a C library calling `getenv`)
//! is undefined behaviour in C, and the overlay is what the programs Noodle starts inherit.

use indexmap::IndexMap;
use noodle_native::{arity, as_float, as_int, as_str, simple, Ctx, Module, NativeBox, NativeObject, Obj, Sendable, Value, VmError};
use noodle_nbc::Program;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use noodle_vm::permissions::Access;
use std::collections::BTreeMap;
use std::sync::Mutex;

type R = Result<Value, VmError>;

/// The `std.os` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.os", include_str!("os.noodle"))
        .function("args", simple!(os_args))
        .function("exit", simple!(os_exit))
        .function("env", simple!(os_env))
        .function("set_env", simple!(os_set_env))
        .function("unset_env", simple!(os_unset_env))
        .function("environ", simple!(os_environ))
        .function("cwd", simple!(os_cwd))
        .function("pid", simple!(os_pid))
        .function("hostname", simple!(os_hostname))
        .function("platform", simple!(os_platform))
        .function("arch", simple!(os_arch))
        .function("catch_signals", simple!(os_catch_signals))
        .function("Signals.pending", simple!(signals_pending))
        .function("Signals.wait", noodle_native::blocking!(signals_wait))
}

/// Variables the program set (`Some`) or removed (`None`), over the real environment.
static OVERLAY: Mutex<BTreeMap<String, Option<String>>> = Mutex::new(BTreeMap::new());

fn overlay() -> std::sync::MutexGuard<'static, BTreeMap<String, Option<String>>> {
    OVERLAY.lock().unwrap_or_else(|e| e.into_inner())
}

/// The environment variable `name` as the program sees it.
pub fn var(name: &str) -> Option<String> {
    match overlay().get(name) {
        Some(v) => v.clone(),
        None => std::env::var(name).ok(),
    }
}

/// The whole environment as the program sees it, by name (what a started program inherits).
pub fn vars() -> BTreeMap<String, String> {
    let mut all: BTreeMap<String, String> = std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect();
    for (k, v) in overlay().iter() {
        match v {
            Some(v) => all.insert(k.clone(), v.clone()),
            None => all.remove(k),
        };
    }
    all
}

fn os_args(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "os.args")?;
    let items: Vec<Value> = ctx.args.iter().map(|a| ctx.heap.alloc_str(a.as_str())).collect();
    Ok(ctx.heap.alloc(noodle_native::Obj::List(items.into())))
}

fn os_exit(_: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "os.exit")?;
    let status = as_int(args[0], "os.exit")?;
    let status = u8::try_from(status).map_err(|_| VmError::arg(format!("exit status {status} is out of range (0 to 255)")))?;
    Err(VmError::exit(status))
}

fn os_env(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "os.env")?;
    let name = as_str(ctx.heap, args[0], "os.env")?;
    ctx.permit(Access::Env(name))?;
    match var(name) {
        Some(v) => Ok(ctx.heap.alloc_str(v)),
        None => Ok(Value::None),
    }
}

/// N2011 unless `name` can name an environment variable.
fn check_name(name: &str) -> Result<(), VmError> {
    if name.is_empty() || name.contains(['=', '\0']) {
        return Err(VmError::arg(format!("{name:?} is not an environment variable name (it must be non-empty, without `=` or NUL)")));
    }
    Ok(())
}

fn os_set_env(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "os.set_env")?;
    let name = as_str(ctx.heap, args[0], "os.set_env")?;
    let value = as_str(ctx.heap, args[1], "os.set_env")?;
    check_name(name)?;
    if value.contains('\0') {
        return Err(VmError::arg(format!("the value for environment variable `{name}` contains a NUL character")));
    }
    ctx.permit(Access::Env(name))?;
    overlay().insert(name.to_string(), Some(value.to_string()));
    Ok(Value::None)
}

fn os_unset_env(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "os.unset_env")?;
    let name = as_str(ctx.heap, args[0], "os.unset_env")?;
    check_name(name)?;
    ctx.permit(Access::Env(name))?;
    overlay().insert(name.to_string(), None);
    Ok(Value::None)
}

fn os_environ(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "os.environ")?;
    let visible: IndexMap<String, String> = vars().into_iter().filter(|(k, _)| ctx.permit(Access::Env(k)).is_ok()).collect();
    Ok(noodle_native::IntoValue::into_value(visible, ctx.heap, ctx.program))
}

fn os_cwd(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "os.cwd")?;
    let dir = std::env::current_dir().map_err(|e| crate::core::io_error("the working folder", &e))?;
    ctx.permit(Access::Read(&dir))?;
    Ok(ctx.heap.alloc_str(dir.to_string_lossy().as_ref()))
}

fn os_pid(_: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "os.pid")?;
    Ok(Value::Int(i64::from(std::process::id())))
}

fn os_hostname(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "os.hostname")?;
    ctx.permit(Access::Env("HOSTNAME"))?;
    Ok(ctx.heap.alloc_str(hostname().map_err(|e| crate::core::io_error("the host name", &e))?))
}

fn hostname() -> std::io::Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..end]).into_owned())
}

fn os_platform(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "os.platform")?;
    Ok(ctx.heap.alloc_str(std::env::consts::OS))
}

fn os_arch(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "os.arch")?;
    Ok(ctx.heap.alloc_str(std::env::consts::ARCH))
}

/// The signals `catch_signals` knows, by name.
const SIGNALS: [(&str, i32); 5] = [
    ("interrupt", signal_hook::consts::SIGINT),
    ("terminate", signal_hook::consts::SIGTERM),
    ("hangup", signal_hook::consts::SIGHUP),
    ("user1", signal_hook::consts::SIGUSR1),
    ("user2", signal_hook::consts::SIGUSR2),
];

/// Caught signals: one flag per kind, set by the handler (an atomic store is all a signal
/// handler may safely do) and cleared when reported.
#[derive(Clone, Debug)]
pub struct Signals(Arc<Vec<(&'static str, Arc<AtomicBool>)>>);

impl NativeObject for Signals {
    fn type_name(&self, _: &Program) -> String {
        "os.Signals".to_string()
    }
    fn kind(&self) -> &'static str {
        "Signals"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        let names: Vec<&str> = self.0.iter().map(|(n, _)| *n).collect();
        out.push_str(&format!("<os.Signals {}>", names.join(", ")));
    }
    fn send(&self, _: &Program) -> Result<Box<dyn Sendable>, VmError> {
        Ok(Box::new(self.clone()))
    }
}

impl Sendable for Signals {
    fn receive(&self) -> NativeBox {
        NativeBox::new(self.clone())
    }
}

impl Signals {
    /// The first kind that arrived, its flag cleared.
    fn take(&self) -> Option<&'static str> {
        self.0.iter().find(|(_, f)| f.swap(false, Ordering::SeqCst)).map(|(n, _)| *n)
    }
}

fn os_catch_signals(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "os.catch_signals")?;
    let list = noodle_native::as_list(ctx.heap, args[0], "os.catch_signals")?;
    let mut flags = Vec::new();
    for v in list.iter() {
        let name = as_str(ctx.heap, v, "os.catch_signals")?;
        let Some((n, sig)) = SIGNALS.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = SIGNALS.iter().map(|(n, _)| *n).collect();
            return Err(VmError::arg(format!("{name:?} is not a signal catch_signals knows ({})", known.join(", "))));
        };
        if flags.iter().any(|(m, _): &(&str, Arc<AtomicBool>)| m == n) {
            continue;
        }
        let flag = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(*sig, flag.clone()).map_err(|e| VmError::new(noodle_vm::codes::N2010, format!("cannot catch signal {n}: {e}")))?;
        flags.push((*n, flag));
    }
    Ok(ctx.heap.alloc(Obj::Native(NativeBox::new(Signals(Arc::new(flags))))))
}

fn signals_of<'h>(ctx: &'h Ctx, args: &[Value]) -> Result<&'h Signals, VmError> {
    noodle_native::receiver(ctx.heap, args, "os.Signals")
}

fn name_value(ctx: &mut Ctx, name: Option<&'static str>) -> R {
    Ok(name.map_or(Value::None, |n| ctx.heap.alloc_str(n)))
}

fn signals_pending(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "os.Signals.pending")?;
    let got = signals_of(ctx, args)?.take();
    name_value(ctx, got)
}

fn signals_wait(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "os.Signals.wait")?;
    let limit = match args[1] {
        Value::None => None,
        v => {
            let secs = as_float(v, "os.Signals.wait")?;
            if secs.is_nan() || secs < 0.0 {
                return Err(VmError::arg("a timeout cannot be negative"));
            }
            Some(std::time::Duration::try_from_secs_f64(secs).map_err(|_| VmError::arg("the timeout is too large"))?)
        }
    };
    let signals = signals_of(ctx, args)?.clone();
    let start = std::time::Instant::now();
    // a short sleep between looks: a flag is all a handler can set, and 5 ms is quick enough
    // for a person pressing Ctrl-C
    let got = loop {
        if let Some(n) = signals.take() {
            break Some(n);
        }
        if limit.is_some_and(|l| start.elapsed() >= l) {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    name_value(ctx, got)
}
