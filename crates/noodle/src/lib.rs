//! The Noodle embedding API. The CLI, and later the Python module, the language server and the
//! cluster node, all go through this crate; none of them reaches into the compiler or the VM.
//!
//! ```no_run
//! let compiled = noodle::compile_file(std::path::Path::new("hello.noodle")).unwrap();
//! let mut rt = noodle::Runtime::new(compiled.program, noodle::Output::stdio()).unwrap();
//! rt.run().unwrap();
//! ```

use noodle_compiler::codes::N0219;
pub mod codes;
pub mod doc;
pub mod error_codes;

use noodle_compiler::{Compiler, SourceLoader};
pub use noodle_nbc::{LoadError, Program, FORMAT_VERSION as NBC_FORMAT_VERSION};
use noodle_syntax::{Diagnostic, SourceFile};
pub use indexmap::IndexMap;
pub use noodle_native::{arg, ret, Bytes, Continuation, Ctx, Flow, FromValue, IntoArgs, IntoValue, Module, NativeBox, NativeFn, NativeObject, Object, Ref, Registry, RegistryError, VmError, Wait};
pub use noodle_vm::vm::Uncaught;
pub use noodle_vm::permissions::{normalize as permissions_path, Access, Grant, Permissions};
pub use noodle_vm::{Limits, Output, RunState, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The standard library: every module of `noodle-std` and `std.actor` from the runtime.
pub fn standard_registry() -> Registry {
    let mut r = Registry::new();
    for m in noodle_std::modules() {
        r = r.with(m);
    }
    r.with(noodle_runtime::actor::module())
}

/// The modules programs are compiled and run with: the standard library, and any module an
/// embedder adds. The compiler learns each module from its declarations; the VM resolves each
/// native through the same registry. The free functions of this crate (`compile_file`,
/// `Runtime::new`, `Session::new`) use the standard engine.
#[derive(Clone)]
pub struct Engine {
    registry: Registry,
    natives: Arc<noodle_vm::native::Natives>,
    declarations: Arc<[noodle_compiler::NativeModule]>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An engine with the standard library.
    pub fn new() -> Engine {
        Engine::with_registry(standard_registry())
    }

    /// An engine with exactly these modules (it needs `std.core`, the built-ins, for the
    /// language's built-in functions and methods).
    pub fn with_registry(registry: Registry) -> Engine {
        let natives = Arc::new(registry.natives());
        let declarations = registry.declarations().into();
        Engine { registry, natives, declarations }
    }

    /// Adds a native module: programs compiled from now on can import it. Its declarations
    /// must compile, and it must provide a function for each native it declares and for no
    /// other (the error lists what is wrong).
    pub fn add_module(&mut self, module: Module) -> Result<(), RegistryError> {
        let name = module.name().to_string();
        let mut registry = self.registry.clone();
        registry.add(module)?;
        let problems = registry.check(&name);
        if !problems.is_empty() {
            return Err(RegistryError(problems.join("\n")));
        }
        *self = Engine::with_registry(registry);
        Ok(())
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// What programs run by this engine may touch outside themselves (files, environment
    /// variables, servers): unrestricted unless set; `Permissions::sandbox()` denies all
    /// until granted (N2013 for what is denied). Runtimes made from now on follow it.
    pub fn set_permissions(&mut self, permissions: Permissions) {
        let mut natives = (*self.natives).clone();
        natives.permissions = permissions;
        self.natives = Arc::new(natives);
    }

    /// The command-line arguments programs run by this engine see (`std.os.args`): empty
    /// unless set. Runtimes made from now on follow it.
    pub fn set_args(&mut self, args: Vec<String>) {
        let mut natives = (*self.natives).clone();
        natives.args = args;
        self.natives = Arc::new(natives);
    }

    fn compiler(&self, fuse: bool) -> Compiler {
        Compiler::with_fusion(Box::new(Fs), fuse, self.declarations.iter().cloned().collect())
    }

    /// Compiles a source text as the main module `path` (imports resolve relative to its
    /// folder).
    pub fn compile_source(&self, path: &Path, text: String) -> Result<Compiled, Error> {
        let mut c = self.compiler(true);
        let mut r = c.compile_main(path, text);
        if matches!(&r, Err(d) if d.iter().any(|d| d.code == N0219)) {
            // a function too large for 16-bit branches: compile again without them (the text
            // is taken back from the first try rather than copied up front: sources can be
            // large)
            let text = c.files.iter().find(|f| f.name == path.display().to_string()).map(|f| f.text.clone()).unwrap_or_default();
            c = self.compiler(false);
            r = c.compile_main(path, text);
        }
        let files = std::mem::take(&mut c.files);
        match r {
            Ok(out) => {
                noodle_nbc::verify(&out.program).map_err(Error::Load)?;
                Ok(Compiled { program: out.program, warnings: Diagnostics { items: out.warnings, files } })
            }
            Err(diags) => Err(Error::Compile(Diagnostics { items: diags, files })),
        }
    }

    pub fn compile_file(&self, path: &Path) -> Result<Compiled, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io(path.to_path_buf(), e))?;
        self.compile_source(path, text)
    }

    /// A program loaded to run with this engine's natives.
    pub fn runtime(&self, program: Program, io: Output) -> Result<Runtime, Error> {
        let scheduler = SchedulerConfig::from_env().map_err(Error::Setup)?;
        let vm = noodle_vm::Vm::new(program, io, self.natives.clone()).map_err(Error::Setup)?;
        Ok(Runtime { vm, scheduler })
    }

    /// The API reference of every registered module (`noodle doc --out`): (file name,
    /// Markdown), one page per module, `NAME.md`.
    pub fn doc_pages(&self) -> Vec<(String, String)> {
        let mut mods: Vec<&Module> = self.registry.modules().collect();
        mods.sort_by(|a, b| a.name().cmp(b.name()));
        mods.iter().map(|m| (format!("{}.md", m.name()), doc::module_page(m.name(), m.declarations(), true) + "\n")).collect()
    }

    /// An interactive session with this engine's modules.
    pub fn session(&self) -> Session {
        Session { compiler: self.compiler(true), vm: None, natives: self.natives.clone(), io: None, scheduler: SchedulerConfig::default(), running: None }
    }
}

/// The engine of the standard library, made once.
pub fn standard() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(Engine::new)
}

/// Compile-time errors (and warnings) with the sources needed to show them.
#[derive(Debug)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    pub files: Vec<SourceFile>,
}

impl Diagnostics {
    pub fn render(&self) -> String {
        let mut s = String::new();
        for d in &self.items {
            s.push_str(&d.render(&self.files));
            s.push('\n');
        }
        let errors = self.items.iter().filter(|d| d.severity == noodle_syntax::Severity::Error).count();
        if errors > 0 {
            s.push_str(&format!("error: could not compile: {errors} error{} found\n", if errors == 1 { "" } else { "s" }));
        }
        s
    }
    pub fn codes(&self) -> Vec<&'static str> {
        self.items.iter().map(|d| d.code.as_str()).collect()
    }
}

pub struct Compiled {
    pub program: Program,
    pub warnings: Diagnostics,
}

struct Fs;
impl SourceLoader for Fs {
    fn load(&mut self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

/// Why a file could not be compiled or loaded.
#[derive(Debug)]
pub enum Error {
    Io(PathBuf, std::io::Error),
    Compile(Diagnostics),
    Load(LoadError),
    Runtime(Uncaught),
    Setup(String),
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.render().trim_end())
    }
}

impl std::error::Error for Error {}

impl Error {
    pub fn render(&self) -> String {
        match self {
            Error::Io(p, e) => format!("error[{}]: cannot read {}: {e}\n", crate::error_codes::N0900, p.display()),
            Error::Compile(d) => d.render(),
            Error::Load(e) => format!("error[{}]: {e}\n", e.code()),
            Error::Runtime(u) => render_uncaught(u),
            Error::Setup(s) => format!("error[{}]: {s}\n", crate::error_codes::N0901),
        }
    }
}

/// An uncaught run-time error as the CLI shows it: `Uncaught::render`, with the source line
/// of the innermost frame (read again from its file, when it can be) under the message.
pub fn render_uncaught(u: &noodle_vm::vm::Uncaught) -> String {
    let full = u.render();
    let Some(f) = u.trace.iter().find(|f| f.line > 0 && f.file != noodle_vm::vm::NATIVE_FILE && f.file != noodle_vm::vm::AWAITED) else { return full };
    let Some(text) = std::fs::read_to_string(&f.file).ok().and_then(|t| t.lines().nth(f.line as usize - 1).map(str::to_string)) else { return full };
    let (head, trace) = full.split_once('\n').unwrap_or((&full, ""));
    // laid out as the compiler's diagnostics are
    let num = f.line.to_string();
    let width = num.len().max(2);
    let pad = " ".repeat(width);
    let mut s = format!("{head}\n  --> {}:{}{}\n{pad} |\n{num:>width$} | {text}\n", f.file, f.line, if f.col > 0 { format!(":{}", f.col) } else { String::new() });
    if f.col > 0 {
        // keep the line's tabs so that the caret lines up under them
        let lead: String = text.chars().take(f.col as usize - 1).map(|c| if c == '\t' { '\t' } else { ' ' }).collect();
        s.push_str(&format!("{pad} | {lead}^\n"));
    }
    s.push_str(trace);
    s
}

/// Compiles a source text as the main module `path` with the standard library.
pub fn compile_source(path: &Path, text: String) -> Result<Compiled, Error> {
    standard().compile_source(path, text)
}

pub fn compile_file(path: &Path) -> Result<Compiled, Error> {
    standard().compile_file(path)
}

/// Serialises a program to `.nbc` bytes.
pub fn encode(p: &Program) -> Vec<u8> {
    noodle_nbc::encode(p)
}

/// Decodes and verifies `.nbc` bytes. Untrusted input is fine: errors, never a crash.
pub fn load_nbc(bytes: &[u8]) -> Result<Program, LoadError> {
    let p = noodle_nbc::decode(bytes)?;
    noodle_nbc::verify(&p)?;
    Ok(p)
}

pub fn disassemble(p: &Program) -> String {
    noodle_nbc::disasm::disassemble(p)
}

pub use noodle_runtime::Config as SchedulerConfig;

/// A loaded program ready to run.
pub struct Runtime {
    vm: noodle_vm::Vm,
    scheduler: SchedulerConfig,
}

impl Runtime {
    /// A program loaded with the standard library's natives. The scheduler follows
    /// `NOODLE_THREADS` and `NOODLE_SEED` when they are set.
    pub fn new(program: Program, io: Output) -> Result<Runtime, Error> {
        standard().runtime(program, io)
    }

    /// How `run` and `call` schedule actors (threads, or a seed for deterministic mode).
    pub fn set_scheduler(&mut self, config: SchedulerConfig) {
        self.scheduler = config;
    }

    /// The scheduler's settings, to change in place: `rt.scheduler_mut().max_actors = 1000`,
    /// `.limits.max_heap = Some(64 << 20)` (each process), `.max_cpu` (the whole program).
    pub fn scheduler_mut(&mut self) -> &mut SchedulerConfig {
        &mut self.scheduler
    }

    /// Runs the program's top-level code to the end under the actor scheduler; actors still
    /// running then are stopped (their `on_stop` hooks run).
    pub fn run(&mut self) -> Result<(), Uncaught> {
        self.vm.start();
        match self.scheduled() {
            RunState::Finished(_) => Ok(()),
            RunState::Error(u) => Err(u),
            RunState::Paused | RunState::Suspended => unreachable!("the scheduler runs main to the end"),
        }
    }

    /// Runs the call already started on the VM under the scheduler.
    fn scheduled(&mut self) -> RunState {
        run_scheduled(&mut self.vm, &self.scheduler)
    }

    /// Runs with an instruction budget; `Ok(false)` means paused (call `resume`).
    pub fn start_with_budget(&mut self, budget: u64) -> Result<bool, Uncaught> {
        self.vm.start();
        self.resume(budget)
    }

    pub fn resume(&mut self, budget: u64) -> Result<bool, Uncaught> {
        match self.vm.run(Some(budget)) {
            RunState::Paused => Ok(false),
            s @ RunState::Finished(_) => match self.vm.finish_output(s) {
                RunState::Error(u) => Err(u),
                _ => Ok(true),
            },
            RunState::Error(u) => {
                let _ = self.vm.flush();
                Err(u)
            }
            // no scheduler here: actor natives fail with N2305 instead of suspending
            RunState::Suspended => Ok(false),
        }
    }

    /// Calls a top-level function by name (after `run`), with arguments converted from Rust
    /// values (a tuple: `(2, "x".to_string())`, or `()`), and converts its result to `R`:
    /// `let n: i64 = rt.call("add", (2, 40))?`. A result of another type is an error with code
    /// N2401 naming both types; so is an argument the function does not take.
    pub fn call<R>(&mut self, name: &str, args: impl IntoArgs) -> Result<R, Error>
    where
        R: for<'h> FromValue<'h>,
    {
        let f = self.vm.program().func_by_name(name).ok_or_else(|| Error::Setup(format!("no function named `{name}`")))?;
        let program = self.vm.template();
        let args = args.into_args(&mut self.vm.heap, program.program());
        self.vm.begin_call(f, &args).map_err(Error::Runtime)?;
        match self.scheduled() {
            RunState::Finished(v) => {
                R::convert(&self.vm.heap, self.vm.program(), v).map_err(|e| Error::Runtime(noodle_vm::Vm::uncaught_from(e)))
            }
            RunState::Error(u) => Err(Error::Runtime(u)),
            RunState::Paused | RunState::Suspended => unreachable!("the scheduler runs a call to the end"),
        }
    }

    /// Names of the program's top-level functions whose names start with `prefix`.
    pub fn functions_with_prefix(&self, prefix: &str) -> Vec<String> {
        self.vm.program().funcs.iter().filter(|f| f.name.starts_with(prefix) && !f.name.contains('.') && f.arity == 0).map(|f| f.name.clone()).collect()
    }

    /// Shows a value as `print` would.
    pub fn display(&self, v: Value) -> String {
        noodle_vm::fmt::display(&self.vm.heap, self.vm.program(), v)
    }

    /// Writes out buffered standard output; an error means output was lost.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.vm.flush()
    }

    /// Heap statistics: live objects and completed collections.
    pub fn heap_stats(&self) -> HeapStats {
        HeapStats { live: self.vm.heap.live(), collections: self.vm.heap.collections }
    }
}

#[derive(Clone, Copy, Debug)]
pub struct HeapStats {
    pub live: usize,
    pub collections: usize,
}

/// An interactive session: each input is compiled against everything before it, and globals,
/// functions and types persist. So do actors: one spawned by an input keeps running, and
/// later inputs can send to it, until the session is dropped (which stops them as the end of
/// a program does).
pub struct Session {
    compiler: Compiler,
    vm: Option<noodle_vm::Vm>,
    natives: Arc<noodle_vm::native::Natives>,
    /// Where the session's programs print (standard output unless `set_output`), taken when
    /// the first input runs.
    io: Option<Output>,
    scheduler: SchedulerConfig,
    /// The scheduler every input runs under, made by the first.
    running: Option<noodle_runtime::Scheduler>,
}

impl Drop for Session {
    fn drop(&mut self) {
        // stop the actors while the VM (and so the output it buffers) is still here
        if let Some(s) = self.running.take() {
            let io = s.shutdown();
            if let Some(vm) = self.vm.as_mut() {
                vm.replace_io(io);
                let _ = vm.finish_output(RunState::Finished(noodle_vm::Value::None));
            }
        }
    }
}

pub enum Eval {
    /// Compiled and ran; for an expression, its type.
    Ok(Option<String>),
    Compile(String),
    Runtime(String),
    /// The input called `os.exit` with this status: the session is over.
    Exit(u8),
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    /// A session with the standard library.
    pub fn new() -> Session {
        standard().session()
    }

    /// Where the inputs' output goes (before the first input runs; standard output otherwise).
    pub fn set_output(&mut self, io: Output) {
        self.io = Some(io);
    }

    /// The scheduler and limits each input runs under (`max_cpu` counts per input); set before
    /// the first input runs.
    pub fn set_scheduler(&mut self, config: SchedulerConfig) {
        self.scheduler = config;
    }

    pub fn eval(&mut self, text: &str) -> Eval {
        let mut r = self.compiler.compile_repl(text.to_string());
        if matches!(&r, Err(d) if d.iter().any(|d| d.code == N0219)) {
            self.compiler.fuse = false;
            r = self.compiler.compile_repl(text.to_string());
        }
        let files = self.compiler.files.clone();
        match r {
            Err(diags) => Eval::Compile(Diagnostics { items: diags, files }.render()),
            Ok(out) => {
                let program = out.program;
                if let Err(e) = noodle_nbc::verify(&program) {
                    return Eval::Compile(format!("error[{}]: {e}\n", e.code()));
                }
                let vm = match self.vm.as_mut() {
                    Some(vm) => {
                        if let Err(e) = vm.load(program) {
                            return Eval::Runtime(e);
                        }
                        vm
                    }
                    None => match noodle_vm::Vm::new(program, self.io.take().unwrap_or_else(Output::stdio), self.natives.clone()) {
                        Ok(vm) => self.vm.insert(vm),
                        Err(e) => return Eval::Runtime(e),
                    },
                };
                vm.start();
                let scheduler = self.running.get_or_insert_with(|| {
                    let mut s = noodle_runtime::Scheduler::new(vm, &self.scheduler);
                    s.keep_running_between_runs();
                    s
                });
                let placeholder = vm.template().instantiate(&[], Some(Output::silent()));
                let (back, state) = scheduler.run(std::mem::replace(vm, placeholder));
                *vm = back;
                match vm.finish_output(state) {
                    RunState::Finished(_) => Eval::Ok(out.expr_type),
                    RunState::Error(Uncaught { exit: Some(status), .. }) => Eval::Exit(status),
                    RunState::Error(u) => Eval::Runtime(u.render()),
                    RunState::Paused | RunState::Suspended => unreachable!("the scheduler runs main to the end"),
                }
            }
        }
    }
}

/// Runs the call started on `vm` under the scheduler. The VM moves into the scheduler for the
/// run and comes back with its heap and globals (a silent stand-in holds its place meanwhile).
fn run_scheduled(vm: &mut noodle_vm::Vm, config: &SchedulerConfig) -> RunState {
    let placeholder = vm.template().instantiate(&[], Some(Output::silent()));
    let taken = std::mem::replace(vm, placeholder);
    let (back, state) = noodle_runtime::run_main(taken, config);
    *vm = back;
    vm.finish_output(state)
}
