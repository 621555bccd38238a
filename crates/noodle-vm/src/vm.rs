//! The interpreter: a register machine over verified NBC.
//!
//! State lives in the `Vm` (register stack, call frames, handlers, heap), not in Rust locals
//! across calls, so execution can stop after an instruction budget and resume later (actor
//! fairness, `await`, debugger breakpoints and resource limits all build on `run`).

use crate::codes::{N2004, N2005, N2006, N2009, N2011, N2014, N2099};
use noodle_codes::N2012;
use crate::error::VmError;
use crate::fmt;
use crate::heap::Heap;
use crate::list::List;
use crate::native::{CallRequest, Continuation, Ctx, Flow, Host, NativeFn, Natives, Wait};
use crate::ops;
use crate::value::{Obj, ObjRef, Text, Value, INLINE_STR};
use noodle_nbc::op::*;
use noodle_nbc::{Const, Op, Program};
use std::io::{BufRead, Write};
use std::rc::Rc;
use std::sync::Arc;

/// The file a native's stack trace entry names.
pub const NATIVE_FILE: &str = "<native>";

/// Maximum number of `try` blocks entered and not yet left (all frames together) before
/// N2009: 10,000 frames with 100 each. Only hand-made bytecode comes near it.
pub const MAX_HANDLERS: usize = 1 << 20;
/// Maximum call depth before N2009.
pub const MAX_DEPTH: usize = 10_000;
/// Maximum number of registers on the stack (all frames together) before N2009: 16M values,
/// 256 MiB, whatever the register counts a (possibly hostile) program declares.
pub const MAX_STACK: usize = 1 << 24;

/// Where a program's standard streams go.
pub struct Output {
    pub out: Box<dyn Write + Send>,
    pub err: Box<dyn Write + Send>,
    pub input: Box<dyn BufRead + Send>,
}

impl Output {
    /// Streams that discard what is written and read nothing (no allocation: the boxes hold
    /// zero-sized values).
    pub fn silent() -> Output {
        Output { out: Box::new(std::io::sink()), err: Box::new(std::io::sink()), input: Box::new(std::io::empty()) }
    }

    /// The process's stdout (buffered), stderr and stdin.
    pub fn stdio() -> Output {
        Output {
            out: Box::new(std::io::BufWriter::with_capacity(1 << 16, std::io::stdout())),
            err: Box::new(std::io::stderr()),
            input: Box::new(std::io::BufReader::new(std::io::stdin())),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Frame {
    func: u32,
    /// The frame's first register. The return value goes to register `base - 1` (the
    /// caller's `base` operand).
    base: u32,
    /// The next instruction to run, saved when the frame is left: a pointer into the function's
    /// code, so a return resumes its caller with one load, not a lookup of the caller's code
    /// and an index into it. Valid while the program is (`load` runs with no frames).
    ip: *const Op,
}

impl Frame {
    fn new(prog: &Program, func: u32, base: usize) -> Frame {
        Frame { func, base: base as u32, ip: prog.funcs[func as usize].code.as_ptr() }
    }

    /// Where the frame is, as an index into its function's code.
    fn pc(&self, prog: &Program) -> usize {
        // SAFETY: `ip` points into (or one past) this function's code
        unsafe { self.ip.offset_from(prog.funcs[self.func as usize].code.as_ptr()) as usize }
    }
}

/// Makes room for one more frame, up to `MAX_DEPTH`; false when the stack is that deep. The
/// capacity never passes `MAX_DEPTH`, so the call path's one test (length == capacity) also
/// stands for the depth limit.
#[cold]
fn grow_frames(frames: &mut Vec<Frame>, max: usize) -> bool {
    let n = frames.len();
    if n >= max {
        return false;
    }
    frames.reserve_exact(n.clamp(1, max - n));
    true
}

fn max_depth(limits: &Option<Box<Limits>>) -> usize {
    limits.as_deref().and_then(|l| l.max_depth).unwrap_or(MAX_DEPTH).min(MAX_DEPTH)
}

/// What one process may use, where it is not the default (`noodle run --max-heap`,
/// `--max-depth`, or `spawn(max_heap: ...)` for one actor).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    /// Bytes the heap may hold live (after a collection); over it, N2014.
    pub max_heap: Option<usize>,
    /// Calls that may be nested (at most `MAX_DEPTH`); over it, N2009.
    pub max_depth: Option<usize>,
}

#[derive(Clone, Debug)]
struct Handler {
    /// Number of frames when the handler was installed.
    depth: usize,
    pc: usize,
    reg: usize,
}

/// An error nobody caught: its code, message and the stack at the throw.
#[derive(Clone, Debug, PartialEq)]
pub struct Uncaught {
    pub code: String,
    pub message: String,
    /// Innermost first.
    pub trace: Vec<TraceFrame>,
    /// The error value, copied out, when it carries more than its code and message (see
    /// `VmError::value`).
    pub value: Option<crate::message::Carried>,
    /// Not an error: the program called `std.os.exit` with this status (code N2018). The
    /// embedder ends the program with it and reports nothing.
    pub exit: Option<u8>,
}

/// One line of a stack trace.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceFrame {
    /// The function as the program names it (`Counter.add`, `<module main>`, `list.map`), or,
    /// for an `AWAITED` mark, what raised the error below it (``task `work` #3``).
    pub function: String,
    /// Its source file; `NATIVE_FILE` for a native, `AWAITED` for the mark between a task's
    /// own frames and those of the code that awaited it.
    pub file: String,
    pub line: u32,
    /// 1-based; 0 when not known.
    pub col: u32,
}

/// The `file` of the mark where a trace goes from a task's frames to its awaiter's.
pub const AWAITED: &str = "<awaited>";

/// How many times in a row one frame is shown before the rest of its run is counted instead
/// (a runaway recursion is one line and a count, not 10,000 lines).
const FOLD_AFTER: usize = 3;
/// A trace longer than this (after folding) shows its first and last frames only.
const MAX_TRACE_LINES: usize = 60;

impl TraceFrame {
    fn same_place(&self, o: &TraceFrame) -> bool {
        self.function == o.function && self.file == o.file && self.line == o.line && self.col == o.col
    }
}

impl Uncaught {
    pub fn render(&self) -> String {
        format!("error[{}]: {}\n{}", self.code, self.message, render_trace(&self.trace))
    }
}

/// The lines of a trace, each `  at f (file:line:col)`, with runs of one frame folded and a
/// very long trace cut in the middle.
pub fn render_trace(trace: &[TraceFrame]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut i = 0;
    while i < trace.len() {
        let f = &trace[i];
        let run = trace[i..].iter().take_while(|g| g.same_place(f)).count();
        let shown = if run > FOLD_AFTER + 1 { FOLD_AFTER } else { run };
        for _ in 0..shown {
            lines.push(match f.file.as_str() {
                AWAITED => format!("  ... raised in {}, awaited at:", f.function),
                NATIVE_FILE => format!("  at {} ({})", f.function, f.file),
                _ if f.col > 0 => format!("  at {} ({}:{}:{})", f.function, f.file, f.line, f.col),
                _ => format!("  at {} ({}:{})", f.function, f.file, f.line),
            });
        }
        if run > shown {
            let more = run - shown;
            lines.push(format!("  ... {} more call{} of `{}`", group(more), if more == 1 { "" } else { "s" }, f.function));
        }
        i += run;
    }
    if lines.len() > MAX_TRACE_LINES {
        let (head, tail) = (MAX_TRACE_LINES * 2 / 3, MAX_TRACE_LINES / 3);
        let cut = lines.len() - head - tail;
        lines.splice(head..lines.len() - tail, [format!("  ... {} more lines", group(cut))]);
    }
    let mut s = String::new();
    for l in lines {
        s.push_str(&l);
        s.push('\n');
    }
    s
}

/// `9990` as `9,990`.
fn group(n: usize) -> String {
    let d = n.to_string();
    let mut out = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[derive(Debug)]
pub enum RunState {
    Finished(Value),
    /// The instruction budget ran out; call `run` again to continue.
    Paused,
    /// A native is waiting for something only the host can provide (a reply, a timer, room in
    /// a mailbox); call `run` again once the host says it may be ready.
    Suspended,
    Error(Uncaught),
}

pub struct Vm {
    program: Arc<Program>,
    natives: Arc<Linked>,
    /// Constants made on first use (`Undef` until then), so a new actor's heap starts empty.
    consts: Vec<Value>,
    globals: Vec<Value>,
    stack: Vec<Value>,
    frames: Vec<Frame>,
    handlers: Vec<Handler>,
    pub heap: Heap,
    /// None until the first native call, which asks the host for the streams: most actors
    /// never print, and the streams were a fifth of an idle actor's size.
    io: Option<Box<Output>>,
    /// Frames below this depth belong to an outer `call`; returning to it finishes.
    entry_depth: usize,
    /// A return that leaves fewer frames than this needs a second look: it finishes the run
    /// (`entry_depth`) or leaves the frame of the innermost `try` handler, which must be
    /// dropped. One comparison on the return path stands for both (`set_floor`).
    floor: usize,
    /// A value the host keeps alive in this heap between calls (an actor's state), or None.
    pub root: Value,
    /// The scheduler, for the actor and task natives; None outside a runtime.
    pub host: Option<Box<dyn Host>>,
    /// What natives that call back or wait, and throws, leave (made on first use: most
    /// actors never need it, and an actor's VM is kept small).
    aux: Option<Box<Aux>>,
    /// A native's request to call back into Noodle (`Ctx::call`), made by the first one and
    /// reused (most processes never call back, and an actor's VM is kept small).
    request: Option<Box<CallRequest>>,
    /// Limits of this process other than the defaults (`set_limits`); None for most.
    limits: Option<Box<Limits>>,
    /// A native pushed a call back: `run` counts it against the budget (as `enter!` does).
    tick: bool,
    /// Calls back since `run` last counted them against the budget.
    callbacks: u32,
}

/// How many calls back a native makes before `run` counts them against the budget (each
/// counts as one call; they are counted in batches so the loop need not stop at each).
const CALLBACKS_PER_TICK: u32 = 64;

/// `let $ctx = Ctx { .. }` over the VM's parts, for a native (the streams are asked of the host
/// first when the process has none yet). A macro, not a method: the context borrows some
/// fields and the caller goes on using others (the stack, the native frames).
macro_rules! native_ctx {
    ($vm:ident, $prog:expr, $ctx:ident) => {
        if $vm.io.is_none() {
            $vm.take_host_io();
        }
        let io = $vm.io.as_deref_mut().expect("streams are set above");
        let mut $ctx = Ctx {
            heap: &mut $vm.heap,
            program: $prog,
            out: &mut *io.out,
            err: &mut *io.err,
            input: &mut *io.input,
            host: $vm.host.as_deref_mut(),
            globals: &$vm.globals,
            request: &mut $vm.request,
            permissions: &$vm.natives.table.permissions,
            args: &$vm.natives.table.args,
        };
    };
}

/// A stack trace: (function, file, line) of each frame, innermost first.
type Trace = Vec<TraceFrame>;

/// The VM's state that most processes never use.
#[derive(Default)]
struct Aux {
    /// Natives that called back into Noodle and wait for the call to return, innermost last.
    native_frames: Vec<NativeFrame>,
    /// What a suspended native waits for; polled when the process runs again.
    waiting: Option<Waiting>,
    /// Trace of the most recent throw of each error object (for uncaught reports).
    last_trace: Option<(ObjRef, Trace)>,
    /// The status `std.os.exit` asked for: the process unwinds without handlers.
    exit: Option<u8>,
}

/// What the out-of-line part of a return or a native call leads to.
enum Below {
    /// Go on in the caller (the frame on top, as before).
    Caller,
    /// A native called back again: go on in the frame it pushed.
    Called,
    /// The frames changed (a call back was pushed) or the process waits: `exec` returns, and
    /// `run` goes on from the frame on top.
    Other,
    /// Raise this error in the frame on top.
    Fail(VmError),
}

/// A native that called a Noodle function and continues when it returns.
struct NativeFrame {
    /// The number of frames when the native was called (its caller is frame `depth - 1`; the
    /// function it calls is frame `depth`).
    depth: usize,
    /// The register (absolute) the native's result goes to.
    dst: usize,
    /// The native's index in the program's table (for stack traces).
    native: u16,
    cont: Box<dyn Continuation>,
    /// The last function it called back and where: calling the same one again (`map` calls
    /// its function once per element) skips finding it and sizing its window.
    site: Option<CallSite>,
}

#[derive(Clone, Copy)]
struct CallSite {
    callee: Value,
    func: u32,
    base: usize,
    argc: usize,
    code: *const Op,
}

/// The same function value (the same function, or the same closure object).
#[inline]
fn same_callee(a: Value, b: Value) -> bool {
    match (a, b) {
        (Value::Func(x), Value::Func(y)) => x == y,
        (Value::Obj(x), Value::Obj(y)) => x == y,
        _ => false,
    }
}

/// A suspended native call.
struct Waiting {
    wait: Box<dyn Wait>,
    /// The register (absolute) its value goes to, or None when it goes to the innermost native
    /// frame's continuation.
    dst: Option<usize>,
}

// SAFETY: a `Vm` is moved between scheduler threads but only ever used by one thread at a time.
// Its `Rc`s (strings, keys) point only into its own heap: constants are made per heap, and
// values cross between VMs only through `actor::export`/`import`, which copy the data, so no
// `Rc` is ever shared with another VM and moving the whole VM moves every owner together.
unsafe impl Send for Vm {}

/// A loaded program's code and resolved natives, shared by every process that runs it.
#[derive(Clone)]
pub struct Template {
    program: Arc<Program>,
    natives: Arc<Linked>,
}

/// A program's natives, resolved by symbol from `table` (kept for `Vm::load`); one per program,
/// shared by its processes.
struct Linked {
    fns: Box<[NativeFn]>,
    table: Arc<Natives>,
}

impl Template {
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Whether both are the same loaded program.
    pub fn same(&self, other: &Template) -> bool {
        Arc::ptr_eq(&self.program, &other.program)
    }

    /// A new VM for another process (an actor): the same code and natives, its own empty
    /// heap, stack and globals. Its globals start as copies of `globals` (slot, value exported
    /// from the spawning process); the other slots stay unassigned. With `io` None, the
    /// streams come from the host (`Host::output`) when a native first runs.
    pub fn instantiate(&self, globals: &[(u32, crate::message::Msg)], io: Option<Output>) -> Vm {
        let mut vm = Vm {
            program: self.program.clone(),
            natives: self.natives.clone(),
            consts: Vec::new(),
            globals: Vec::new(),
            stack: Vec::new(),
            frames: Vec::new(),
            handlers: Vec::new(),
            heap: Heap::new(),
            io: io.map(Box::new),
            entry_depth: 0,
            floor: 1,
            root: Value::None,
            host: None,
            aux: None,
            request: None,
            limits: None,
            tick: false,
            callbacks: 0,
        };
        // only the slots the actor's code can reach (`Program::globals_used`) need to exist
        let len = globals.iter().map(|(g, _)| *g as usize + 1).max().unwrap_or(0);
        vm.globals = vec![Value::Undef; len.min(self.program.nglobals as usize)];
        for (g, m) in globals {
            let v = crate::message::import(&mut vm.heap, &self.program, m);
            if let Some(slot) = vm.globals.get_mut(*g as usize) {
                *slot = v;
            }
        }
        vm
    }
}

fn bad(op: &str) -> VmError {
    VmError::bad_operand(op)
}

impl Vm {
    /// Prepares a program to run (verifying it), with its natives resolved from `natives`.
    /// Fails if the program names a native the table lacks.
    pub fn new(program: Program, io: Output, natives: Arc<Natives>) -> Result<Vm, String> {
        let empty = Template { program: Arc::new(Program::default()), natives: Arc::new(Linked { fns: Box::new([]), table: natives }) };
        let mut vm = empty.instantiate(&[], Some(io));
        vm.load(program)?;
        Ok(vm)
    }

    /// What new processes of this program are made from.
    pub fn template(&self) -> Template {
        Template { program: self.program.clone(), natives: self.natives.clone() }
    }

    /// The heap, to change, and the program, to read (a message imported into this VM).
    pub fn heap_and_program(&mut self) -> (&mut Heap, &Program) {
        (&mut self.heap, &self.program)
    }

    /// Moves an idle process to an extension of its program that another VM has loaded (a
    /// REPL's actor, after a later input). False while a call is in progress.
    pub fn adopt(&mut self, template: &Template) -> bool {
        if !self.frames.is_empty() {
            return false;
        }
        self.program = template.program.clone();
        self.natives = template.natives.clone();
        if self.globals.len() < self.program.nglobals as usize {
            self.globals.resize(self.program.nglobals as usize, Value::Undef);
        }
        true
    }

    /// Replaces the program with an extended version of it (the REPL), keeping globals and heap.
    pub fn load(&mut self, program: Program) -> Result<(), String> {
        // a frame keeps a pointer into its program's code
        if !self.frames.is_empty() {
            return Err("a program cannot be replaced while a call in it is paused".into());
        }
        // The dispatch loop trusts verified code (register indexes, jump targets): never run
        // a program that has not passed the verifier.
        noodle_nbc::verify(&program).map_err(|e| e.to_string())?;
        let mut natives = Vec::with_capacity(program.natives.len());
        for n in &program.natives {
            natives.push(self.natives.table.get(n).ok_or_else(|| format!("unknown native function `{n}`"))?);
        }
        self.natives = Arc::new(Linked { fns: natives.into(), table: self.natives.table.clone() });
        self.globals.resize(program.nglobals as usize, Value::Undef);
        self.program = Arc::new(program);
        Ok(())
    }

    #[cold]
    fn store_global_slow(&mut self, idx: usize, v: Value) {
        self.globals.resize(idx + 1, Value::Undef);
        self.globals[idx] = v;
    }

    /// Makes constant `idx` in this heap (the first `LoadConst` of it).
    #[cold]
    fn make_const(&mut self, idx: usize) -> Value {
        if self.consts.len() <= idx {
            // grown on demand: an actor pays only for the constants up to the ones it uses
            self.consts.resize(idx + 1, Value::Undef);
        }
        let v = match &self.program.consts[idx] {
            Const::Int(i) => Value::Int(*i),
            Const::Float(f) => Value::Float(*f),
            Const::Str(s) => self.heap.alloc_str(s.as_str()),
            Const::Bytes(b) => self.heap.alloc(Obj::Bytes(b.as_slice().into())),
        };
        self.consts[idx] = v;
        v
    }

    /// Starts a call of `func` with `args` (run it with `run`). The host uses it to run an
    /// actor's initialiser and handlers.
    pub fn begin_call(&mut self, func: u32, args: &[Value]) -> Result<(), Uncaught> {
        if self.program.funcs.get(func as usize).map(|f| f.arity as usize) != Some(args.len()) {
            return Err(Uncaught { code: N2011.into(), message: "wrong number of arguments for call".into(), trace: vec![], value: None, exit: None });
        }
        self.push_entry(func, args)
    }

    /// Whether a call is in progress (started and neither finished nor failed).
    pub fn is_running(&self) -> bool {
        self.frames.len() > self.entry_depth
    }

    /// Abandons every call in progress (an actor stopped or crashed by a linked one).
    pub fn abort(&mut self) {
        self.frames.truncate(self.entry_depth);
        self.handlers.retain(|h| h.depth <= self.entry_depth);
        self.drop_natives_above(self.entry_depth);
        self.set_floor();
    }

    /// Recomputes `floor` after `entry_depth`, the handlers or the native frames change: a
    /// return to fewer frames than this finishes the run, leaves a `try`, or hands a result
    /// to a native that called back.
    fn set_floor(&mut self) {
        let native = self.native_frames().last().map_or(0, |f| f.depth + 1);
        self.floor = self.handlers.last().map_or(0, |h| h.depth).max(self.entry_depth + 1).max(native);
    }

    /// The state natives and throws leave, made on first use.
    fn aux(&mut self) -> &mut Aux {
        self.aux.get_or_insert_with(Box::default)
    }

    /// Natives that called back and wait for their call to return, innermost last.
    fn native_frames(&self) -> &[NativeFrame] {
        self.aux.as_deref().map_or(&[], |a| &a.native_frames)
    }

    /// Whether a native waits for the host (the process is suspended).
    fn is_waiting(&self) -> bool {
        self.aux.as_deref().is_some_and(|a| a.waiting.is_some())
    }

    /// The exit status once a native asked the program to end (`VmError::exit`).
    fn exiting(&self) -> Option<u8> {
        self.aux.as_deref().and_then(|a| a.exit)
    }

    fn last_trace(&self) -> Option<&(ObjRef, Trace)> {
        self.aux.as_deref().and_then(|a| a.last_trace.as_ref())
    }

    /// Abandons the natives that called back from frames above `depth`, and any wait.
    fn drop_natives_above(&mut self, depth: usize) {
        if let Some(a) = self.aux.as_deref_mut() {
            a.native_frames.retain(|f| f.depth <= depth);
            a.waiting = None;
        }
    }

    /// Renders a value as `print` would.
    pub fn display(&self, v: Value) -> String {
        fmt::display(&self.heap, &self.program, v)
    }

    /// Stack trace of an error raised by the host (no frames: the host is not Noodle code).
    pub fn uncaught_from(e: VmError) -> Uncaught {
        Uncaught { code: e.code.to_string(), message: e.message, trace: vec![], value: None, exit: e.exit }
    }

    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Starts the program's entry function. Follow with `run`.
    pub fn start(&mut self) {
        let entry = self.program.entry;
        // nothing runs yet, so there is room for the entry frame
        let _ = self.push_entry(entry, &[]);
    }

    fn push_entry(&mut self, func: u32, args: &[Value]) -> Result<(), Uncaught> {
        let base = self.frames.last().map(|f| f.base as usize + self.program.funcs[f.func as usize].nregs as usize).unwrap_or(0) + 1;
        let need = base + self.program.funcs[func as usize].nregs as usize + 1;
        if self.stack.len() < need {
            self.stack.resize(need, Value::None);
        }
        for (i, a) in args.iter().enumerate() {
            self.stack[base + i] = *a;
        }
        // an idle actor keeps its (empty) frame vector, so it starts at one frame
        if self.frames.len() == self.frames.capacity() && !grow_frames(&mut self.frames, max_depth(&self.limits)) {
            return Err(Uncaught { code: N2009.into(), message: format!("call depth exceeded ({} nested calls)", self.max_depth()), trace: vec![], value: None, exit: None });
        }
        self.entry_depth = self.frames.len();
        self.set_floor();
        self.frames.push(Frame::new(&self.program, func, base));
        Ok(())
    }

    /// `Concat`: strings are copied; any other value is formatted as `str()` would, so
    /// `"w" + str(n)` and f-strings build one string with one allocation, on the stack while it
    /// is short. Out of line: inlined, its string building changed how the dispatch loop kept
    /// its registers, and other instructions paid for it (binary_trees +2%).
    #[inline(never)]
    fn concat(&mut self, prog: &Program, start: usize, count: usize) -> Result<ObjRef, VmError> {
        let mut out = StrBuf::new();
        for i in start..start + count {
            match self.stack[i] {
                Value::Obj(o) => match self.heap.get(o) {
                    Obj::Str(s) => out.push(s),
                    _ => out.push(&fmt::display(&self.heap, prog, Value::Obj(o))),
                },
                Value::Int(n) => {
                    let mut buf = [0u8; 20];
                    out.push(format_int(n, &mut buf));
                }
                v => out.push(&fmt::display(&self.heap, prog, v)),
            }
        }
        // built into its slot (see `Heap::alloc_with`)
        match out.into_text() {
            Ok(text) => Ok(self.heap.alloc_with(|| Obj::Str(text))),
            Err(e) => Err(e),
        }
    }

    /// `NewDict`, out of line (as `concat`: the dispatch loop keeps its registers better
    /// without it). A key nested too deeply is N2011.
    #[inline(never)]
    fn new_dict(&mut self, prog: &Program, start: usize, count: usize) -> Result<Value, VmError> {
        let mut m = crate::value::DictMap::with_capacity_and_hasher(count, Default::default());
        for i in 0..count {
            let k = self.stack[start + 2 * i];
            let v = self.stack[start + 2 * i + 1];
            let image = ops::storable_key(&self.heap, prog, k)?;
            let stored = ops::stored_dict_key(&image, k);
            m.insert(image, (stored, v));
        }
        Ok(self.heap.alloc(Obj::Dict(Box::new(m.into()))))
    }

    /// `NewSet`, out of line.
    #[inline(never)]
    fn new_set(&mut self, prog: &Program, start: usize, count: usize) -> Result<Value, VmError> {
        let mut m = crate::value::SetMap::with_capacity_and_hasher(count, Default::default());
        for i in 0..count {
            let k = self.stack[start + i];
            m.insert(ops::storable_key(&self.heap, prog, k)?, k);
        }
        Ok(self.heap.alloc(Obj::Set(Box::new(m))))
    }

    /// `AddStr`, out of line: a string too large for memory is N2011.
    #[inline(never)]
    fn add_str(&mut self, a: Value, b: Value) -> Result<Value, VmError> {
        let s = match (a, b) {
            (Value::Obj(x), Value::Obj(y)) => match (self.heap.get(x), self.heap.get(y)) {
                (Obj::Str(x), Obj::Str(y)) => concat_str(x, y)?,
                _ => return Err(bad("AddStr")),
            },
            _ => return Err(bad("AddStr")),
        };
        Ok(self.heap.alloc_str(s))
    }

    /// A native call, out of line: it is never the cheap part of an instruction, and its
    /// setup (the streams, the context) need not weigh on the dispatch loop's registers.
    #[inline(never)]
    fn call_native(&mut self, prog: &Program, native: u16, start: usize, argc: usize) -> Result<Value, Flow> {
        let f = self.natives.fns[native as usize];
        native_ctx!(self, prog, ctx);
        f(&mut ctx, &self.stack[start..start + argc])
    }

    /// Runs `f` with a native context (for continuations and waits).
    fn with_ctx<T>(&mut self, f: impl FnOnce(&mut Ctx) -> T) -> T {
        native_ctx!(self, &self.program, ctx);
        f(&mut ctx)
    }

    /// A native asked to call back into Noodle (`Flow::Call`) from the call whose result goes
    /// to register `dst` (absolute): records it as a native frame (for a first call) and pushes
    /// the frame of the function it calls. The caller's `ip` must be saved already.
    #[inline(never)]
    fn native_call_back(&mut self, native: u16, dst: usize, first: bool) -> Result<(), VmError> {
        let Some(req) = self.request.as_deref_mut() else { return Err(bad("CallNative (a call back without a request)")) };
        let (callee, argc) = (req.callee, req.args.len());
        let func = match callee {
            Value::Func(f) => f,
            Value::Obj(o) => match self.heap.get(o) {
                Obj::Closure { func, .. } => *func,
                _ => return Err(VmError::new(crate::codes::N2011, "a native can only call a function value")),
            },
            _ => return Err(VmError::new(crate::codes::N2011, "a native can only call a function value")),
        };
        let Some(f) = self.program.funcs.get(func as usize) else { return Err(bad("CallNative (function)")) };
        if f.arity as usize != argc {
            return Err(VmError::new(crate::codes::N2011, format!("a native called a function of {} parameters with {argc} arguments", f.arity)));
        }
        // the callee's window starts above the caller's, past the register that holds the
        // closure (where `LoadCapture` finds it) and then its result
        let top = self.frames.last().map_or(0, |fr| fr.base as usize + self.program.funcs[fr.func as usize].nregs as usize);
        let base = top + 1;
        let need = base + f.nregs as usize + 1;
        if need > MAX_STACK {
            return Err(VmError::new(crate::codes::N2009, format!("stack overflow: the call stack needs more than {MAX_STACK} registers")));
        }
        if self.frames.len() == self.frames.capacity() && !grow_frames(&mut self.frames, max_depth(&self.limits)) {
            return Err(VmError::new(crate::codes::N2009, format!("call depth exceeded ({} nested calls): infinite recursion?", self.max_depth())));
        }
        match self.request.as_deref_mut().and_then(|r| r.then.take()) {
            Some(cont) if first => {
                let depth = self.frames.len();
                self.aux().native_frames.push(NativeFrame { depth, dst, native, cont, site: None })
            }
            None if first => return Err(bad("CallNative (a call back without a continuation)")),
            // a continuation that hands on to a new one is replaced by it
            Some(cont) => {
                if let Some(f) = self.aux.as_deref_mut().and_then(|a| a.native_frames.last_mut()) {
                    f.cont = cont;
                }
            }
            None => {}
        }
        if self.stack.len() < need {
            self.stack.resize(need.max(self.stack.len() * 2).min(MAX_STACK), Value::None);
        }
        self.stack[base - 1] = callee;
        if let Some(req) = self.request.as_deref() {
            self.stack[base..base + argc].copy_from_slice(&req.args);
        }
        let frame = Frame::new(&self.program, func, base);
        self.frames.push(frame);
        self.set_floor();
        if let Some(nf) = self.aux.as_deref_mut().and_then(|a| a.native_frames.last_mut()) {
            nf.site = Some(CallSite { callee, func, base, argc, code: frame.ip });
        }
        Ok(())
    }

    /// `native_call_back` for a continuation that calls the function it called last time,
    /// with as many arguments: the window is where it was. False when the call is not that.
    #[inline]
    fn call_back_again(&mut self) -> bool {
        let Some(req) = self.request.as_deref() else { return false };
        let Some(nf) = self.native_frames().last() else { return false };
        let Some(site) = nf.site else { return false };
        if req.then.is_some() || !same_callee(site.callee, req.callee) || req.args.len() != site.argc || self.frames.len() == self.frames.capacity() {
            return false;
        }
        // the stack was sized for this window when it was first entered, and never shrinks
        let window = &mut self.stack[site.base - 1..site.base + site.argc];
        window[0] = site.callee;
        for (slot, a) in window[1..].iter_mut().zip(req.args.iter()) {
            *slot = *a;
        }
        self.frames.push(Frame { func: site.func, base: site.base as u32, ip: site.code });
        true
    }

    /// A return that left fewer frames than `floor`: drops the handlers of the frame left and,
    /// when a native called the function that returned, hands it the result.
    #[cold]
    #[inline(never)]
    fn below_floor(&mut self, n: usize, v: Value) -> Below {
        if self.handlers.last().is_some_and(|h| h.depth > n) {
            while self.handlers.last().is_some_and(|h| h.depth > n) {
                self.handlers.pop();
            }
            self.set_floor();
        }
        if self.native_frames().last().is_none_or(|f| f.depth != n) {
            return Below::Caller;
        }
        // the native goes on with the result; most often (`map`) it calls the same function
        // again: its fast path writes the next arguments straight into the window
        if let (Some(nf), true) = (self.aux.as_deref_mut().and_then(|a| a.native_frames.last_mut()), self.frames.len() < self.frames.capacity()) {
            if let Some(site) = nf.site {
                // SAFETY: the window was sized when the site was first called, and the stack
                // never shrinks
                let window = unsafe { self.stack.get_unchecked_mut(site.base - 1..site.base + site.argc) };
                if nf.cont.again(&self.heap, v, &mut window[1..]) {
                    window[0] = site.callee;
                    // SAFETY: there is room (checked above)
                    unsafe {
                        let n = self.frames.len();
                        self.frames.as_mut_ptr().add(n).write(Frame { func: site.func, base: site.base as u32, ip: site.code });
                        self.frames.set_len(n + 1);
                    }
                    // the loop goes straight on in the function; every so many calls (or when
                    // the collector wants to run) `run` takes them into account as safe points
                    self.callbacks += 1;
                    if self.callbacks >= CALLBACKS_PER_TICK || self.heap.wants_gc() {
                        self.tick = true;
                        return Below::Other;
                    }
                    return Below::Called;
                }
            }
        }
        let r = self.native_resume_once(v);
        if let Err(Flow::Call) = r {
            if self.call_back_again() {
                self.tick = true;
                return Below::Other;
            }
        }
        match self.native_step(r) {
            Ok(true) => {
                self.tick = true;
                Below::Other
            }
            Ok(false) if self.is_waiting() => Below::Other,
            // the native finished: its result is in the caller's register
            Ok(false) => Below::Caller,
            Err(Flow::Raise(e)) => Below::Fail(e),
            Err(_) => Below::Fail(bad("CallNative (continuation)")),
        }
    }

    /// A native call that did not just return: it raised, called back (`Flow::Call`) or
    /// suspended. The caller's `ip` is saved; `run` goes on from the frame on top.
    #[cold]
    #[inline(never)]
    fn native_flow(&mut self, flow: Flow, native: u16, dst: usize) -> Below {
        match flow {
            Flow::Raise(e) => Below::Fail(e),
            Flow::Call => match self.native_call_back(native, dst, true) {
                Ok(()) => {
                    self.tick = true;
                    Below::Other
                }
                Err(e) => Below::Fail(e),
            },
            Flow::Suspend(wait) => {
                // the call is over as far as the code goes: its value arrives later
                self.aux().waiting = Some(Waiting { wait, dst: Some(dst) });
                Below::Other
            }
        }
    }

    /// The function a native called back returned `v`: the native's continuation goes on.
    /// Returns Ok(true) when it called back again (a new frame is on top), Ok(false) when the
    /// native finished (its result is written, its frame gone) or suspended (`self.waiting`).
    #[inline(never)]
    fn native_resume(&mut self, v: Value) -> Result<bool, Flow> {
        let r = self.native_resume_once(v);
        self.native_step(r)
    }

    /// The innermost native frame's continuation, given `v`.
    #[inline]
    fn native_resume_once(&mut self, v: Value) -> Result<Value, Flow> {
        native_ctx!(self, &self.program, ctx);
        let Some(nf) = self.aux.as_deref_mut().and_then(|a| a.native_frames.last_mut()) else { return Err(Flow::from(bad("native frame"))) };
        nf.cont.resume(&mut ctx, v)
    }

    /// What a continuation (or a wait feeding one) gave.
    fn native_step(&mut self, r: Result<Value, Flow>) -> Result<bool, Flow> {
        match r {
            Ok(result) => {
                let f = self.aux.as_deref_mut().and_then(|a| a.native_frames.pop()).expect("a native frame");
                self.stack[f.dst] = result;
                self.set_floor();
                Ok(false)
            }
            Err(Flow::Call) => {
                let (native, dst) = self.native_frames().last().map(|f| (f.native, f.dst)).expect("a native frame");
                self.native_call_back(native, dst, false).map_err(|e| {
                    self.aux.as_deref_mut().and_then(|a| a.native_frames.pop());
                    self.set_floor();
                    Flow::from(e)
                })?;
                Ok(true)
            }
            Err(Flow::Suspend(wait)) => {
                self.aux().waiting = Some(Waiting { wait, dst: None });
                Ok(false)
            }
            Err(Flow::Raise(e)) => {
                self.aux.as_deref_mut().and_then(|a| a.native_frames.pop());
                self.set_floor();
                Err(Flow::Raise(e))
            }
        }
    }

    /// Polls what a suspended native waits for. Ok(true) when the run can go on.
    fn poll_waiting(&mut self) -> Result<bool, VmError> {
        let Some(mut w) = self.aux.as_deref_mut().and_then(|a| a.waiting.take()) else { return Ok(true) };
        match self.with_ctx(|ctx| w.wait.poll(ctx))? {
            None => {
                self.aux().waiting = Some(w);
                Ok(false)
            }
            Some(v) => match w.dst {
                Some(dst) => {
                    self.stack[dst] = v;
                    Ok(true)
                }
                None => match self.native_resume(v) {
                    Ok(_) => Ok(!self.is_waiting()),
                    Err(Flow::Raise(e)) => Err(e),
                    Err(_) => Err(bad("native wait")),
                },
            },
        }
    }

    #[cold]
    fn take_host_io(&mut self) {
        let io = self.host.as_mut().map_or_else(Output::silent, |h| h.output());
        self.io = Some(Box::new(io));
    }

    /// Writes out what the program's standard output holds. An error means output was lost:
    /// the caller must not report success.
    pub fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.io {
            Some(io) => io.out.flush(),
            None => Ok(()),
        }
    }

    /// The error of a run whose output could not be written at the end (N2010).
    pub fn output_lost(e: &std::io::Error) -> Uncaught {
        Uncaught { code: crate::codes::N2010.into(), message: format!("cannot write to standard output: {e}; output was lost"), trace: vec![], value: None, exit: None }
    }

    /// Flushes standard output at the end of a run: a run that finished but could not write
    /// its output ends with N2010 instead (one that failed keeps its own error).
    pub fn finish_output(&mut self, state: RunState) -> RunState {
        match (self.flush(), state) {
            (Err(e), RunState::Finished(_)) => RunState::Error(Vm::output_lost(&e)),
            // `std.os.exit(0)` reports success: not when output was lost
            (Err(e), RunState::Error(u)) if u.exit == Some(0) => RunState::Error(Vm::output_lost(&e)),
            (_, s) => s,
        }
    }

    /// Gives the VM new streams and returns its old ones (silent ones if it had none yet).
    pub fn replace_io(&mut self, io: Output) -> Output {
        self.io.replace(Box::new(io)).map_or_else(Output::silent, |b| *b)
    }

    fn make_error(&mut self, e: VmError) -> Value {
        if let Some(status) = e.exit {
            self.aux().exit = Some(status);
        }
        let err = match &e.value {
            // an error from another process that carried more: raised again as it was
            Some(v) => crate::message::import(&mut self.heap, &self.program, &v.0),
            None => {
                let code = self.heap.alloc_str(e.code.as_str());
                let msg = self.heap.alloc_str(e.message);
                // code, message, cause, and the thrown `Throwable` value (none here)
                self.heap.alloc(Obj::Record { ty: 0, fields: crate::value::Fields::from_slice(&[code, msg, Value::None, Value::None]) })
            }
        };
        if let (Some(mut cause), Value::Obj(r)) = (e.trace, err) {
            // raised elsewhere first (a task): its frames, then this process's (the throw that
            // follows keeps this trace, as for a rethrow)
            cause.extend(self.trace());
            self.aux().last_trace = Some((r, *cause));
        }
        err
    }

    fn trace(&self) -> Trace {
        let p = &self.program;
        let mut out = Vec::new();
        for (i, f) in self.frames.iter().enumerate().rev() {
            // a native that called back sits between the function it called and its caller
            for nf in self.native_frames().iter().rev().filter(|nf| nf.depth == i + 1) {
                let name = p.natives.get(nf.native as usize).cloned().unwrap_or_default();
                out.push(TraceFrame { function: name, file: NATIVE_FILE.to_string(), line: 0, col: 0 });
            }
            let func = &p.funcs[f.func as usize];
            if func.name == "<main>" {
                continue;
            }
            // an actor's generated dispatch (`Counter__receive`) is not the program's code
            if let Some(actor) = func.name.strip_suffix("__receive").or(func.name.strip_suffix("__new")).or(func.name.strip_suffix("__stop")) {
                if p.func_by_name(&format!("{actor}__receive")).is_some() {
                    continue;
                }
            }
            let pos = func.lines.get(f.pc(p).saturating_sub(1)).copied().unwrap_or(0);
            let file = p.files.get(func.file as usize).cloned().unwrap_or_default();
            let name = match func.name.strip_prefix("<init ") {
                Some(m) => format!("<module {}", m),
                None => match func.name.split_once("State.") {
                    // a handler of `actor Counter` is a method of its state struct `CounterState`
                    Some((actor, m)) if p.func_by_name(&format!("{actor}__receive")).is_some() => format!("{actor}.{m}"),
                    _ => func.name.clone(),
                },
            };
            out.push(TraceFrame { function: name, file, line: noodle_nbc::position_line(pos), col: noodle_nbc::position_col(pos) });
        }
        out
    }

    /// Finds a handler for `err`; returns false when there is none (the frames are left as
    /// they were at the throw, for the trace).
    fn throw(&mut self, err: Value) -> bool {
        if self.exiting().is_some() {
            // `std.os.exit`: nothing catches it
            return false;
        }
        let keep = matches!((self.last_trace(), err), (Some((r, _)), Value::Obj(e)) if *r == e);
        if !keep {
            if let Value::Obj(e) = err {
                let trace = self.trace();
                self.aux().last_trace = Some((e, trace));
            }
        }
        match self.handlers.last() {
            Some(h) if h.depth > self.entry_depth => {
                let h = self.handlers.pop().unwrap();
                // natives whose call back the error left are abandoned
                while self.native_frames().last().is_some_and(|f| f.depth >= h.depth) {
                    self.aux.as_deref_mut().and_then(|a| a.native_frames.pop());
                }
                self.set_floor();
                self.frames.truncate(h.depth);
                let f = self.frames.last_mut().unwrap();
                f.ip = self.program.funcs[f.func as usize].code[h.pc..].as_ptr();
                self.stack[h.reg] = err;
                true
            }
            _ => false,
        }
    }

    fn uncaught(&mut self, err: Value) -> RunState {
        let (code, message) = match err {
            Value::Obj(r) => match self.heap.get(r) {
                Obj::Record { ty: 0, fields } if fields.len() >= 2 => {
                    let mut message = fmt::display(&self.heap, &self.program, fields[1]);
                    // the errors it wraps, outermost first (a chain of `cause`s, cut short)
                    let mut cause = fields.get(2).copied().unwrap_or(Value::None);
                    for _ in 0..16 {
                        let Value::Obj(c) = cause else { break };
                        let Obj::Record { ty: 0, fields: cf } = self.heap.get(c) else { break };
                        if cf.len() < 2 {
                            break;
                        }
                        message.push_str(&format!("\ncaused by {}: {}", fmt::display(&self.heap, &self.program, cf[0]), fmt::display(&self.heap, &self.program, cf[1])));
                        cause = cf.get(2).copied().unwrap_or(Value::None);
                    }
                    (fmt::display(&self.heap, &self.program, fields[0]), message)
                }
                _ => (N2099.into(), fmt::display(&self.heap, &self.program, err)),
            },
            _ => (N2099.into(), fmt::display(&self.heap, &self.program, err)),
        };
        let trace = match (self.last_trace(), err) {
            (Some((r, t)), Value::Obj(e)) if *r == e => t.clone(),
            _ => self.trace(),
        };
        let exit = self.aux.as_deref_mut().and_then(|a| a.exit.take());
        // an error with a cause or a thrown value goes on whole (to whoever awaits a task)
        let value = match err {
            Value::Obj(r) => match self.heap.get(r) {
                Obj::Record { ty: 0, fields } if fields.iter().skip(2).any(|v| !matches!(v, Value::None)) => crate::message::export(&self.heap, &self.program, err).ok().map(crate::message::Carried),
                _ => None,
            },
            _ => None,
        };
        self.frames.truncate(self.entry_depth);
        self.handlers.retain(|h| h.depth <= self.entry_depth);
        self.drop_natives_above(self.entry_depth);
        self.set_floor();
        RunState::Error(Uncaught { code, message, trace, value, exit })
    }

    /// Sets this process's limits (`Limits::default()`: the defaults).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = if limits == Limits::default() { None } else { Some(Box::new(limits)) };
        // frames already reserved past a lower depth limit would not be noticed
        if let Some(d) = limits.max_depth {
            if self.frames.capacity() > d {
                self.frames.shrink_to(d.max(self.frames.len()));
            }
        }
    }

    fn max_depth(&self) -> usize {
        max_depth(&self.limits)
    }

    /// A collection at a safe point: None, or the error value of a heap over its limit.
    /// Out of line and cold, so that the dispatch loop's safe points stay as small as they
    /// were before limits (fib's calls paid 3% for the inlined check).
    #[cold]
    #[inline(never)]
    fn safepoint_collect(&mut self) -> Option<Value> {
        match self.collect_checked() {
            Ok(()) => None,
            Err(e) => Some(self.make_error(e)),
        }
    }

    /// Collects, then holds the process to its heap limit: N2014 when what is live is over it
    /// (after a full collection, so garbage is never counted).
    fn collect_checked(&mut self) -> Result<(), VmError> {
        self.collect_garbage();
        let Some(max) = self.limits.as_deref().and_then(|l| l.max_heap) else { return Ok(()) };
        if self.heap.live_bytes() > max {
            self.collect_full();
            let live = self.heap.live_bytes();
            if live > max {
                return Err(VmError::new(N2014, format!("heap limit exceeded: {} MiB live, the limit is {} MiB (--max-heap, or max_heap at spawn)", live >> 20, max >> 20)));
            }
        }
        Ok(())
    }

    fn collect_full(&mut self) {
        self.heap.force_full();
        self.collect_garbage();
    }

    fn collect_garbage(&mut self) {
        let top = self.frames.last().map(|f| f.base as usize + self.program.funcs[f.func as usize].nregs as usize).unwrap_or(0).min(self.stack.len());
        for v in &mut self.stack[top..] {
            *v = Value::None;
        }
        let trace_root = self.last_trace().map(|(r, _)| Value::Obj(*r));
        // what natives that called back or wait hold
        let mut held = Vec::new();
        for f in self.native_frames() {
            f.cont.trace(&mut |v| held.push(v));
        }
        if let Some(w) = self.aux.as_deref().and_then(|a| a.waiting.as_ref()) {
            w.wait.trace(&mut |v| held.push(v));
        }
        self.heap.collect(
            self.stack[..top]
                .iter()
                .chain(self.globals.iter())
                .chain(self.consts.iter())
                .chain(trace_root.iter())
                .chain(std::iter::once(&self.root))
                .chain(held.iter()),
        );
    }

    /// Runs until the program finishes, fails, or (with a budget) pauses. The budget counts
    /// calls and backward jumps.
    pub fn run(&mut self, budget: Option<u64>) -> RunState {
        if self.frames.len() <= self.entry_depth {
            // nothing started, or already finished: there is nothing to run
            return RunState::Finished(Value::None);
        }
        let mut budget = budget.unwrap_or(u64::MAX).max(1);
        // a native that suspended: its value first
        match self.poll_waiting() {
            Ok(true) => {}
            Ok(false) => return RunState::Suspended,
            Err(e) => {
                let err = self.make_error(e);
                if !self.throw(err) {
                    return self.uncaught(err);
                }
            }
        }
        loop {
            match self.exec(&mut budget) {
                Ok(Some(state)) => return state,
                Ok(None) => {
                    // a native raised, called back (a safe point, as a call is) or suspended
                    if self.is_waiting() {
                        return RunState::Suspended;
                    }
                    if std::mem::take(&mut self.tick) {
                        if self.heap.wants_gc() {
                            if let Some(err) = self.safepoint_collect() {
                                if !self.throw(err) {
                                    return self.uncaught(err);
                                }
                            }
                        }
                        let calls = std::mem::take(&mut self.callbacks).max(1);
                        budget = budget.saturating_sub(calls as u64);
                        if budget == 0 {
                            return RunState::Paused;
                        }
                    }
                }
                Err(err) => {
                    if !self.throw(err) {
                        return self.uncaught(err);
                    }
                    // a jump to a handler is a safe point, as a backward jump is: a loop that
                    // goes round only through `catch` is collected and preempted like any
                    if self.heap.wants_gc() {
                        if let Some(err) = self.safepoint_collect() {
                            if !self.throw(err) {
                                return self.uncaught(err);
                            }
                        }
                    }
                    budget -= 1;
                    if budget == 0 {
                        return RunState::Paused;
                    }
                }
            }
        }
    }

    /// The dispatch loop. Returns Ok(Some) when done or paused, Err(error value) on a throw.
    fn exec(&mut self, budget: &mut u64) -> Result<Option<RunState>, Value> {
        // SAFETY: `self.program` is only replaced by `load`, which needs `&mut self` outside
        // any run, so the program outlives this call. Not cloned: every actor's VM shares
        // this `Arc`, and an increment per call made its count a cache line that all
        // scheduler threads kept taking from each other (8% of a fan-out profile).
        let prog: &Program = unsafe { &*Arc::as_ptr(&self.program) };
        let fr = *self.frames.last().expect("no frame to run");
        // the next instruction, as a pointer: one register for dispatch instead of a slice and an
        // index (the slice is spilled in this large function, and reloaded on every instruction)
        let mut ip: *const Op = fr.ip;
        // saves `ip` in the running frame, for a return to it, a trace or a resume
        macro_rules! save_ip {
            () => {
                self.frames.last_mut().unwrap().ip = ip
            };
        }
        let mut base = fr.base as usize;
        // the budget in a local, written back on the way out: through the reference, each call
        // and backward jump loaded and stored it
        let mut fuel = *budget;
        macro_rules! out {
            ($e:expr) => {{
                *budget = fuel;
                return $e;
            }};
        }
        // SAFETY: the verifier proved every register operand is below the function's `nregs`,
        // and a frame is only entered after the stack holds `base + nregs` values. `regs` is
        // recomputed whenever the stack may have moved (frame entry) or the frame changes.
        let mut regs: *mut Value = unsafe { self.stack.as_mut_ptr().add(base) };
        macro_rules! r {
            ($i:expr) => {
                *unsafe { &mut *regs.add($i as usize) }
            };
        }
        // writes a register as two 8-byte stores (see `put`)
        macro_rules! w {
            ($i:expr, $v:expr) => {{
                let v = $v;
                unsafe { put(regs.add($i as usize), v) }
            }};
        }
        macro_rules! fail {
            ($e:expr) => {{
                save_ip!();
                let e = $e;
                let v = self.make_error(e);
                out!(Err(v));
            }};
        }
        macro_rules! int {
            ($i:expr, $op:expr) => {
                match r!($i) {
                    Value::Int(v) => v,
                    _ => fail!(bad($op)),
                }
            };
        }
        macro_rules! float {
            ($i:expr, $op:expr) => {
                match r!($i) {
                    Value::Float(v) => v,
                    _ => fail!(bad($op)),
                }
            };
        }
        macro_rules! tick {
            () => {
                fuel -= 1;
                if fuel == 0 || self.heap.wants_gc() {
                    save_ip!();
                    if self.heap.wants_gc() {
                        if let Some(v) = self.safepoint_collect() {
                            out!(Err(v));
                        }
                    }
                    if fuel == 0 {
                        out!(Ok(Some(RunState::Paused)));
                    }
                }
            };
        }
        // Relative jump; backward jumps are safe points (budget, collection).
        macro_rules! jump {
            ($off:expr) => {{
                let off = $off as isize;
                // SAFETY: the verifier proved every jump target is inside the function
                ip = unsafe { ip.offset(off) };
                if off < 0 {
                    tick!();
                }
            }};
        }
        // Enters `func` with its window at `new_base`. The common case costs two tests (room
        // on the register stack, room in the frame vector); the limits are checked only when
        // either has to grow.
        macro_rules! enter {
            ($func:expr, $new_base:expr) => {{
                // SAFETY: the verifier proved every function operand is in range, and function
                // values are only made from those
                let f = unsafe { prog.funcs.get_unchecked($func as usize) };
                let need = $new_base + f.nregs as usize;
                // the new window starts where the callee's operand says, unless the stack moves
                let mut window = unsafe { regs.add($new_base - base) };
                if self.stack.len() < need {
                    if need > MAX_STACK {
                        fail!(VmError::new(N2009, format!("stack overflow: the call stack needs more than {MAX_STACK} registers")));
                    }
                    self.stack.resize(need.max(self.stack.len() * 2).min(MAX_STACK), Value::None);
                    window = unsafe { self.stack.as_mut_ptr().add($new_base) };
                }
                let n = self.frames.len();
                if n == self.frames.capacity() && !grow_frames(&mut self.frames, max_depth(&self.limits)) {
                    fail!(VmError::new(N2009, format!("call depth exceeded ({} nested calls): infinite recursion?", self.max_depth())));
                }
                // SAFETY: a frame is running (n >= 1) and there is room for one more
                unsafe {
                    let frames = self.frames.as_mut_ptr();
                    (*frames.add(n - 1)).ip = ip;
                    frames.add(n).write(Frame { func: $func, base: $new_base as u32, ip: f.code.as_ptr() });
                    self.frames.set_len(n + 1);
                }
                ip = f.code.as_ptr();
                base = $new_base;
                regs = window;
                tick!();
            }};
        }
        // Returns `$v` to the caller (or out of the run, from its entry frame).
        macro_rules! leave {
            ($v:expr) => {{
                let v = $v;
                // SAFETY: every frame's base is at least 1; base - 1 is the caller's result
                // register (or the slot reserved below an entry frame).
                unsafe { put(regs.sub(1), v) };
                #[allow(unused_mut)]
                let mut n = self.frames.len() - 1;
                // SAFETY: frames are plain data; the running one is dropped without a read
                unsafe { self.frames.set_len(n) };
                if n < self.floor {
                    // read back from the register, so `v` is not kept for these paths: kept,
                    // it went to the stack a part at a time and came back whole (a stalled
                    // store-to-load forwarding on every return of none)
                    // SAFETY: written just above
                    let v = fresh(unsafe { &*regs.sub(1) });
                    if n <= self.entry_depth {
                        out!(Ok(Some(RunState::Finished(v))));
                    }
                    // a `try` left, or a native that called back getting its result: out of
                    // line, so the dispatch loop stays small; anything but going on in the
                    // caller returns to `run`
                    match self.below_floor(n, v) {
                        Below::Caller => {}
                        // a native called the same function again: run it (below, as the
                        // frame on top)
                        Below::Called => n = self.frames.len(),
                        Below::Other => out!(Ok(None)),
                        Below::Fail(e) => {
                            // raised in the native's caller, which is on top again
                            ip = self.frames.last().expect("a frame").ip;
                            fail!(e)
                        }
                    }
                }
                // SAFETY: n > entry_depth >= 0, so the caller's frame is there
                let caller = unsafe { self.frames.get_unchecked(n - 1) };
                ip = caller.ip;
                base = caller.base as usize;
                regs = unsafe { self.stack.as_mut_ptr().add(base) };
            }};
        }
        loop {
            // SAFETY: verified code ends with a return/jump/throw and every jump target is in
            // range, so `ip` never leaves the function's code.
            let op = unsafe { *ip };
            ip = unsafe { ip.add(1) };
            match op {
                Op::Nop => {}
                Op::Move { dst, src } => w!(dst, fresh(&r!(src))),
                Op::LoadNone { dst } => w!(dst, Value::None),
                Op::LoadTrue { dst } => w!(dst, Value::Bool(true)),
                Op::LoadFalse { dst } => w!(dst, Value::Bool(false)),
                Op::LoadInt { dst, val } => w!(dst, Value::Int(val as i64)),
                Op::LoadConst { dst, idx } => {
                    let v = match self.consts.get(idx as usize) {
                        Some(v) if !matches!(v, Value::Undef) => *v,
                        _ => self.make_const(idx as usize),
                    };
                    w!(dst, v);
                }
                Op::LoadFunc { dst, func } => w!(dst, Value::Func(func)),
                Op::LoadGlobal { dst, idx } => {
                    // an actor's VM has only the slots its code can reach
                    let v = self.globals.get(idx as usize).copied().unwrap_or(Value::Undef);
                    if let Value::Undef = v {
                        fail!(VmError::new(N2012, "a global variable was used before its definition ran"));
                    }
                    w!(dst, v);
                }
                Op::StoreGlobal { src, idx } => {
                    let v = r!(src);
                    match self.globals.get_mut(idx as usize) {
                        Some(g) => *g = v,
                        None => self.store_global_slow(idx as usize, v),
                    }
                }

                Op::AddInt { dst, a, b } => match int!(a, "AddInt").checked_add(int!(b, "AddInt")) {
                    Some(v) => w!(dst, Value::Int(v)),
                    None => fail!(VmError::overflow("addition")),
                },
                Op::SubInt { dst, a, b } => match int!(a, "SubInt").checked_sub(int!(b, "SubInt")) {
                    Some(v) => w!(dst, Value::Int(v)),
                    None => fail!(VmError::overflow("subtraction")),
                },
                Op::MulInt { dst, a, b } => match int!(a, "MulInt").checked_mul(int!(b, "MulInt")) {
                    Some(v) => w!(dst, Value::Int(v)),
                    None => fail!(VmError::overflow("multiplication")),
                },
                Op::DivInt { dst, a, b } => {
                    let (x, y) = (int!(a, "DivInt"), int!(b, "DivInt"));
                    if y == 0 {
                        fail!(VmError::div_zero());
                    }
                    match x.checked_div(y) {
                        Some(q) => {
                            let q = if x % y != 0 && ((x < 0) != (y < 0)) { q - 1 } else { q };
                            w!(dst, Value::Int(q));
                        }
                        None => fail!(VmError::overflow("division")),
                    }
                }
                Op::ModInt { dst, a, b } => {
                    let (x, y) = (int!(a, "ModInt"), int!(b, "ModInt"));
                    if y == 0 {
                        fail!(VmError::div_zero());
                    }
                    let m = x.checked_rem(y).unwrap_or(0);
                    w!(dst, Value::Int(if m != 0 && ((m < 0) != (y < 0)) { m + y } else { m }));
                }
                Op::PowInt { dst, a, b } => {
                    let (x, y) = (int!(a, "PowInt"), int!(b, "PowInt"));
                    if y < 0 {
                        fail!(VmError::arg("negative exponent for an int power; use a float base (2.0 ** -1)"));
                    }
                    let v = match x {
                        0 | 1 => Some(if y == 0 { 1 } else { x }),
                        -1 => Some(if y % 2 == 0 { 1 } else { -1 }),
                        _ => u32::try_from(y).ok().and_then(|y| x.checked_pow(y)),
                    };
                    match v {
                        Some(v) => w!(dst, Value::Int(v)),
                        None => fail!(VmError::overflow("power")),
                    }
                }
                Op::NegInt { dst, src } => match int!(src, "NegInt").checked_neg() {
                    Some(v) => w!(dst, Value::Int(v)),
                    None => fail!(VmError::overflow("negation")),
                },
                Op::AddIntImm { dst, a, imm } => match int!(a, "AddIntImm").checked_add(imm as i64) {
                    Some(v) => w!(dst, Value::Int(v)),
                    None => fail!(VmError::overflow("addition")),
                },
                Op::BitAnd { dst, a, b } => w!(dst, Value::Int(int!(a, "BitAnd") & int!(b, "BitAnd"))),
                Op::BitOr { dst, a, b } => w!(dst, Value::Int(int!(a, "BitOr") | int!(b, "BitOr"))),
                Op::BitXor { dst, a, b } => w!(dst, Value::Int(int!(a, "BitXor") ^ int!(b, "BitXor"))),
                Op::Shl { dst, a, b } => {
                    let (x, y) = (int!(a, "Shl"), int!(b, "Shl"));
                    if y < 0 {
                        fail!(VmError::arg("negative shift count"));
                    }
                    if y >= 64 {
                        if x == 0 {
                            w!(dst, Value::Int(0));
                        } else {
                            fail!(VmError::overflow("left shift"));
                        }
                    } else {
                        let v = x << y;
                        if v >> y != x {
                            fail!(VmError::overflow("left shift"));
                        }
                        w!(dst, Value::Int(v));
                    }
                }
                Op::Shr { dst, a, b } => {
                    let (x, y) = (int!(a, "Shr"), int!(b, "Shr"));
                    if y < 0 {
                        fail!(VmError::arg("negative shift count"));
                    }
                    w!(dst, Value::Int(x >> y.min(63)));
                }
                Op::BitNot { dst, src } => w!(dst, Value::Int(!int!(src, "BitNot"))),

                Op::AddFloat { dst, a, b } => w!(dst, Value::Float(float!(a, "AddFloat") + float!(b, "AddFloat"))),
                Op::SubFloat { dst, a, b } => w!(dst, Value::Float(float!(a, "SubFloat") - float!(b, "SubFloat"))),
                Op::MulFloat { dst, a, b } => w!(dst, Value::Float(float!(a, "MulFloat") * float!(b, "MulFloat"))),
                Op::DivFloat { dst, a, b } => w!(dst, Value::Float(float!(a, "DivFloat") / float!(b, "DivFloat"))),
                Op::FloorDivFloat { dst, a, b } => w!(dst, Value::Float((float!(a, "FloorDivFloat") / float!(b, "FloorDivFloat")).floor())),
                Op::ModFloat { dst, a, b } => {
                    let (x, y) = (float!(a, "ModFloat"), float!(b, "ModFloat"));
                    let m = x % y;
                    w!(dst, Value::Float(if m != 0.0 && ((m < 0.0) != (y < 0.0)) { m + y } else { m }));
                }
                Op::PowFloat { dst, a, b } => w!(dst, Value::Float(float!(a, "PowFloat").powf(float!(b, "PowFloat")))),
                Op::NegFloat { dst, src } => w!(dst, Value::Float(-float!(src, "NegFloat"))),
                Op::IntToFloat { dst, src } => w!(dst, Value::Float(int!(src, "IntToFloat") as f64)),
                Op::SqrtFloat { dst, src } => w!(dst, Value::Float(float!(src, "SqrtFloat").sqrt())),

                Op::EqInt { dst, a, b } => {
                    let v = match (r!(a), r!(b)) {
                        (Value::Int(x), Value::Int(y)) => x == y,
                        (Value::Bool(x), Value::Bool(y)) => x == y,
                        _ => fail!(bad("EqInt")),
                    };
                    w!(dst, Value::Bool(v));
                }
                Op::NeInt { dst, a, b } => w!(dst, Value::Bool(int!(a, "NeInt") != int!(b, "NeInt"))),
                Op::LtInt { dst, a, b } => w!(dst, Value::Bool(int!(a, "LtInt") < int!(b, "LtInt"))),
                Op::LeInt { dst, a, b } => w!(dst, Value::Bool(int!(a, "LeInt") <= int!(b, "LeInt"))),
                Op::EqFloat { dst, a, b } => w!(dst, Value::Bool(float!(a, "EqFloat") == float!(b, "EqFloat"))),
                Op::NeFloat { dst, a, b } => w!(dst, Value::Bool(float!(a, "NeFloat") != float!(b, "NeFloat"))),
                Op::LtFloat { dst, a, b } => w!(dst, Value::Bool(float!(a, "LtFloat") < float!(b, "LtFloat"))),
                Op::LeFloat { dst, a, b } => w!(dst, Value::Bool(float!(a, "LeFloat") <= float!(b, "LeFloat"))),
                Op::Eq { dst, a, b } => w!(dst, Value::Bool(ops::values_equal(&self.heap, &prog, r!(a), r!(b)))),
                Op::Ne { dst, a, b } => w!(dst, Value::Bool(!ops::values_equal(&self.heap, &prog, r!(a), r!(b)))),
                Op::Lt { dst, a, b } => match ops::compare(&self.heap, &prog, r!(a), r!(b)) {
                    Ok(o) => w!(dst, Value::Bool(o == std::cmp::Ordering::Less)),
                    Err(e) => fail!(e),
                },
                Op::Le { dst, a, b } => match ops::compare(&self.heap, &prog, r!(a), r!(b)) {
                    Ok(o) => w!(dst, Value::Bool(o != std::cmp::Ordering::Greater)),
                    Err(e) => fail!(e),
                },
                Op::Not { dst, src } => match r!(src) {
                    Value::Bool(b) => w!(dst, Value::Bool(!b)),
                    _ => fail!(bad("Not")),
                },
                Op::Contains { dst, container, item } => match self.contains(&prog, r!(container), r!(item)) {
                    Ok(b) => w!(dst, Value::Bool(b)),
                    Err(e) => fail!(e),
                },

                Op::Jump { off } => jump!(off),
                Op::JumpIfTrue { cond, off } => match r!(cond) {
                    Value::Bool(true) => jump!(off),
                    Value::Bool(false) => {}
                    _ => fail!(bad("JumpIfTrue")),
                },
                Op::JumpIfFalse { cond, off } => match r!(cond) {
                    Value::Bool(false) => jump!(off),
                    Value::Bool(true) => {}
                    _ => fail!(bad("JumpIfFalse")),
                },
                Op::JumpIfNone { src, off } => {
                    if let Value::None = r!(src) {
                        jump!(off);
                    }
                }
                Op::JumpIfNotNone { src, off } => {
                    if !matches!(r!(src), Value::None) {
                        jump!(off);
                    }
                }
                Op::JumpIfLtInt { a, b, off } => {
                    if int!(a, "JumpIfLtInt") < int!(b, "JumpIfLtInt") {
                        jump!(off);
                    }
                }
                Op::JumpIfLeInt { a, b, off } => {
                    if int!(a, "JumpIfLeInt") <= int!(b, "JumpIfLeInt") {
                        jump!(off);
                    }
                }
                Op::JumpIfEqInt { a, b, off } => {
                    if int!(a, "JumpIfEqInt") == int!(b, "JumpIfEqInt") {
                        jump!(off);
                    }
                }
                Op::JumpIfNeInt { a, b, off } => {
                    if int!(a, "JumpIfNeInt") != int!(b, "JumpIfNeInt") {
                        jump!(off);
                    }
                }
                Op::ForStep { a, b, off } => {
                    let Some(i) = int!(a, "ForStep").checked_add(1) else { fail!(VmError::overflow("addition")) };
                    w!(a, Value::Int(i));
                    if i < int!(b, "ForStep") {
                        jump!(off);
                    }
                }
                Op::ForStepIncl { a, b, off } => {
                    // tested before stepping: the last value is the end itself, which may be
                    // the largest int
                    let i = int!(a, "ForStepIncl");
                    if i < int!(b, "ForStepIncl") {
                        w!(a, Value::Int(i + 1));
                        jump!(off);
                    }
                }
                Op::JumpIfLtIntImm { a, imm, off } => {
                    if int!(a, "JumpIfLtIntImm") < imm as i64 {
                        jump!(off);
                    }
                }
                Op::JumpIfLeIntImm { a, imm, off } => {
                    if int!(a, "JumpIfLeIntImm") <= imm as i64 {
                        jump!(off);
                    }
                }
                Op::JumpIfGtIntImm { a, imm, off } => {
                    if int!(a, "JumpIfGtIntImm") > imm as i64 {
                        jump!(off);
                    }
                }
                Op::JumpIfGeIntImm { a, imm, off } => {
                    if int!(a, "JumpIfGeIntImm") >= imm as i64 {
                        jump!(off);
                    }
                }
                Op::JumpIfEqIntImm { a, imm, off } => {
                    if int!(a, "JumpIfEqIntImm") == imm as i64 {
                        jump!(off);
                    }
                }
                Op::JumpIfNeIntImm { a, imm, off } => {
                    if int!(a, "JumpIfNeIntImm") != imm as i64 {
                        jump!(off);
                    }
                }
                Op::JumpIfLtFloat { a, b, off } => {
                    if float!(a, "JumpIfLtFloat") < float!(b, "JumpIfLtFloat") {
                        jump!(off);
                    }
                }
                Op::JumpIfLeFloat { a, b, off } => {
                    if float!(a, "JumpIfLeFloat") <= float!(b, "JumpIfLeFloat") {
                        jump!(off);
                    }
                }
                Op::JumpIfNotLtFloat { a, b, off } => {
                    if !(float!(a, "JumpIfNotLtFloat") < float!(b, "JumpIfNotLtFloat")) {
                        jump!(off);
                    }
                }
                Op::JumpIfNotLeFloat { a, b, off } => {
                    if !(float!(a, "JumpIfNotLeFloat") <= float!(b, "JumpIfNotLeFloat")) {
                        jump!(off);
                    }
                }

                Op::Call { base: b, func } => {
                    let nb = base + b as usize + 1;
                    enter!(func, nb);
                }
                Op::CallValue { base: b, argc } => {
                    let nb = base + b as usize + 1;
                    // a closure stays in register `b` (the callee's result register) while it
                    // runs: `LoadCapture` finds it there
                    let func = match r!(b) {
                        Value::Func(f) => f,
                        Value::Obj(o) => match self.heap.get(o) {
                            Obj::Closure { func, .. } => *func,
                            _ => fail!(bad("CallValue")),
                        },
                        _ => fail!(bad("CallValue")),
                    };
                    if prog.funcs[func as usize].arity != argc as u16 {
                        fail!(bad("CallValue (arity)"));
                    }
                    enter!(func, nb);
                }
                Op::CallMethod { base: b, name, argc } => {
                    let nb = base + b as usize + 1;
                    let func = match r!(b as usize + 1) {
                        Value::Obj(o) => match self.heap.get(o) {
                            Obj::Record { ty, .. } => prog.types[*ty as usize].methods.iter().find(|(m, _)| *m == name).map(|(_, f)| *f),
                            _ => None,
                        },
                        _ => None,
                    };
                    let Some(func) = func else {
                        let m = prog.method_names[name as usize].clone();
                        fail!(VmError::new(N2099, format!("value has no method `{m}` (malformed bytecode)")));
                    };
                    if prog.funcs[func as usize].arity != argc as u16 {
                        fail!(bad("CallMethod (arity)"));
                    }
                    enter!(func, nb);
                }
                Op::CallNative { base: b, native, argc } => {
                    let start = base + b as usize + 1;
                    match self.call_native(prog, native, start, argc as usize) {
                        Ok(v) => w!(b, v),
                        Err(Flow::Raise(e)) => fail!(e),
                        Err(flow) => {
                            // called back or suspended: out of line, then `run` goes on
                            save_ip!();
                            match self.native_flow(flow, native, base + b as usize) {
                                Below::Caller => {}
                                Below::Fail(e) => fail!(e),
                                _ => out!(Ok(None)),
                            }
                        }
                    }
                }
                Op::Return { src } => leave!(fresh(&r!(src))),
                Op::ReturnNone => leave!(Value::None),

                Op::NewList { dst, base: b, count } => {
                    let s = base + b as usize;
                    let v = List::from_slice(&self.stack[s..s + count as usize]);
                    w!(dst, self.heap.alloc(Obj::List(v)));
                }
                Op::NewTuple { dst, base: b, count } => {
                    let s = base + b as usize;
                    let v = fresh_fields(&self.stack[s..s + count as usize]);
                    w!(dst, Value::Obj(self.heap.alloc_inline(Obj::Tuple(v))));
                }
                Op::NewDict { dst, base: b, count } => match self.new_dict(&prog, base + b as usize, count as usize) {
                    Ok(v) => w!(dst, v),
                    Err(e) => fail!(e),
                },
                Op::NewSet { dst, base: b, count } => match self.new_set(&prog, base + b as usize, count as usize) {
                    Ok(v) => w!(dst, v),
                    Err(e) => fail!(e),
                },
                Op::NewRecord { dst, ty, base: b } => {
                    // SAFETY: the verifier proved that `ty` names a type and that the
                    // registers of its fields are in the window
                    let n = unsafe { prog.types.get_unchecked(ty as usize) }.fields.len();
                    let values = unsafe { std::slice::from_raw_parts(regs.add(b as usize), n) };
                    let r = self.heap.alloc_with(|| Obj::Record { ty, fields: fresh_fields(values) });
                    w!(dst, Value::Obj(r));
                }
                Op::GetField { dst, obj, idx } => {
                    // the field is copied straight into the register: through an `Option<Value>`
                    // it went via two overlapping stack slots, and reading them back stalled
                    // (30% of nbody)
                    if let Value::Obj(o) = r!(obj) {
                        if let Obj::Record { fields, .. } | Obj::Tuple(fields) = self.heap.get(o) {
                            if let Some(f) = fields.get(idx as usize) {
                                w!(dst, *f);
                                continue;
                            }
                        }
                    }
                    fail!(bad("GetField"));
                }
                Op::SetField { obj, idx, src } => {
                    let v = fresh(&r!(src));
                    let ok = match r!(obj) {
                        Value::Obj(o) => match self.heap.get_mut(o) {
                            Obj::Record { fields, .. } => fields.get_mut(idx as usize).map(|f| *f = v).is_some(),
                            _ => false,
                        },
                        _ => false,
                    };
                    if !ok {
                        fail!(bad("SetField"));
                    }
                }
                // Each storage has its own arm, bounds check and all: one dispatch on the
                // storage per access (a `len()` then a `get` dispatched twice, and cost quicksort
                // 14% more instructions than the boxed list did).
                Op::ListGet { dst, list, idx } => {
                    let i = int!(idx, "ListGet");
                    let Value::Obj(o) = r!(list) else { fail!(bad("ListGet")) };
                    let Obj::List(l) = self.heap.get(o) else { fail!(bad("ListGet")) };
                    macro_rules! get {
                        ($v:expr, $wrap:expr) => {{
                            let v = $v;
                            let Some(j) = list_index(i, v.len()) else { fail!(VmError::index(i, v.len())) };
                            // SAFETY: `list_index` returned an index below the length
                            w!(dst, $wrap(*unsafe { v.get_unchecked(j) }));
                        }};
                    }
                    match l {
                        List::Ints(v) => get!(v, Value::Int),
                        List::Values(v) => get!(v, |x: Value| x),
                        List::Floats(v) => get!(v, Value::Float),
                        List::Bools(v) => get!(v, Value::Bool),
                    }
                }
                Op::ListSet { list, idx, src } => {
                    let i = int!(idx, "ListSet");
                    let val = fresh(&r!(src));
                    let Value::Obj(o) = r!(list) else { fail!(bad("ListSet")) };
                    let Obj::List(l) = self.heap.get_mut(o) else { fail!(bad("ListSet")) };
                    macro_rules! set {
                        ($v:expr, $x:expr) => {{
                            let v = $v;
                            let Some(j) = list_index(i, v.len()) else { fail!(VmError::index(i, v.len())) };
                            // SAFETY: `list_index` returned an index below the length
                            *unsafe { v.get_unchecked_mut(j) } = $x;
                        }};
                    }
                    match (l, val) {
                        (List::Ints(v), Value::Int(x)) => set!(v, x),
                        (List::Values(v), x) => set!(v, x),
                        (List::Floats(v), Value::Float(x)) => set!(v, x),
                        (List::Bools(v), Value::Bool(x)) => set!(v, x),
                        // another kind: the list is boxed first
                        (l, x) => {
                            let Some(j) = list_index(i, l.len()) else { fail!(VmError::index(i, l.len())) };
                            // SAFETY: `list_index` returned an index below the length
                            unsafe { l.set_unchecked(j, x) };
                        }
                    }
                }
                Op::ListSwap { list, i, j } => {
                    let (x, y) = (int!(i, "ListSwap"), int!(j, "ListSwap"));
                    let Value::Obj(o) = r!(list) else { fail!(bad("ListSwap")) };
                    let Obj::List(l) = self.heap.get_mut(o) else { fail!(bad("ListSwap")) };
                    macro_rules! swap {
                        ($v:expr) => {{
                            let v = $v;
                            let n = v.len();
                            let Some(p) = list_index(x, n) else { fail!(VmError::index(x, n)) };
                            let Some(q) = list_index(y, n) else { fail!(VmError::index(y, n)) };
                            v.swap(p, q);
                        }};
                    }
                    match l {
                        List::Ints(v) => swap!(v),
                        List::Values(v) => swap!(v),
                        List::Floats(v) => swap!(v),
                        List::Bools(v) => swap!(v),
                    }
                }
                Op::MarkDynamic { obj } => {
                    if let Value::Obj(o) = r!(obj) {
                        self.heap.set_dynamic(o);
                    }
                }
                Op::CheckDynamic { obj } => {
                    if let Value::Obj(o) = r!(obj) {
                        if !self.heap.is_dynamic(o) {
                            fail!(not_dynamic(self.heap.get(o)));
                        }
                    }
                }
                Op::IndexGet { dst, obj, key } => match self.index_get(&prog, r!(obj), r!(key)) {
                    Ok(v) => w!(dst, v),
                    Err(e) => fail!(e),
                },
                Op::DictGet { dst, dict, key } => {
                    let Value::Obj(o) = r!(dict) else { fail!(bad("DictGet")) };
                    let Obj::Dict(d) = self.heap.get(o) else { fail!(bad("DictGet")) };
                    let v = match ops::dict_position(&self.heap, &prog, d, r!(key)) {
                        Ok(i) => d[i].1,
                        Err(_) => r!(key as usize + 1),
                    };
                    w!(dst, v);
                }
                Op::IndexSet { obj, key, src } => {
                    let (k, v) = (r!(key), r!(src));
                    let Value::Obj(o) = r!(obj) else { fail!(bad("IndexSet")) };
                    let found = match self.heap.get(o) {
                        Obj::Dict(d) => ops::dict_position(&self.heap, &prog, d, k),
                        _ => fail!(bad("IndexSet")),
                    };
                    let Obj::Dict(d) = self.heap.get_mut(o) else { unreachable!() };
                    match found {
                        Ok(i) => d.set_at(i, v),
                        Err(image) => {
                            let image = match ops::check_storable(image) {
                                Ok(image) => image,
                                Err(e) => fail!(e),
                            };
                            let stored = ops::stored_dict_key(&image, k);
                            if !d.add(image, stored, v) {
                                fail!(too_large("the dict"));
                            }
                        }
                    }
                }
                Op::Slice { dst, obj, base: b } => {
                    let (s, e) = (r!(b), r!(b as usize + 1));
                    match self.slice(r!(obj), s, e) {
                        Ok(v) => w!(dst, v),
                        Err(e) => fail!(e),
                    }
                }
                Op::Len { dst, src } => {
                    let Value::Obj(o) = r!(src) else { fail!(bad("Len")) };
                    let n = match self.heap.get(o) {
                        Obj::Str(s) => str_len(s),
                        Obj::Bytes(b) => b.len(),
                        Obj::List(v) => v.len(),
                        Obj::Tuple(v) => v.len(),
                        Obj::Dict(m) => m.len(),
                        Obj::Set(m) => m.len(),
                        Obj::Native(n) => match n.len() {
                            Some(Ok(n)) => n,
                            Some(Err(e)) => fail!(e),
                            None => fail!(bad("Len")),
                        },
                        _ => fail!(bad("Len")),
                    };
                    w!(dst, Value::Int(n as i64));
                }
                Op::IterList { dst, src } => match self.iter_list(r!(src)) {
                    Ok(v) => w!(dst, v),
                    Err(e) => fail!(e),
                },
                Op::IsKind { dst, src, kind } => w!(dst, Value::Bool(self.is_kind(&prog, r!(src), kind))),
                Op::CastKind { dst, src, kind } => {
                    let v = r!(src);
                    if !self.is_kind(&prog, v, kind) {
                        let want = kind_name(&prog, kind);
                        let got = ops::type_name(&self.heap, &prog, v);
                        if kind >= noodle_nbc::op::KIND_HANDLE {
                            // the program does not keep the names of native modules' types
                            fail!(VmError::new(N2006, format!("cannot cast a `{got}` value to the native module type of the cast")));
                        }
                        fail!(VmError::new(N2006, format!("cannot cast a `{got}` value to `{want}`")));
                    }
                    w!(dst, v);
                }
                Op::Unwrap { dst, src } => {
                    let v = fresh(&r!(src));
                    if let Value::None = v {
                        fail!(VmError::new(N2005, "unwrapped a none value (with `!`, or a narrowed global that was set to none after its check)"));
                    }
                    w!(dst, v);
                }

                Op::MakeClosure { dst, func } => {
                    let n = prog.funcs[func as usize].ncaptures as usize;
                    let s = base + dst as usize + 1;
                    let captures: Box<[Value]> = self.stack[s..s + n].into();
                    w!(dst, self.heap.alloc(Obj::Closure { func, captures }));
                }
                Op::LoadCapture { dst, idx } => {
                    // the closure being run is the value it was called through (`CallValue`),
                    // which stays below its window until it returns
                    // SAFETY: every frame's base is at least 1 (see `leave!`)
                    let v = match unsafe { *regs.sub(1) } {
                        Value::Obj(c) => match self.heap.get(c) {
                            Obj::Closure { captures, .. } => captures.get(idx as usize).copied(),
                            _ => None,
                        },
                        _ => None,
                    };
                    match v {
                        Some(v) => w!(dst, v),
                        None => fail!(bad("LoadCapture")),
                    }
                }
                Op::NewCell { dst, src } => {
                    let v = r!(src);
                    w!(dst, Value::Obj(self.heap.alloc_inline(Obj::Cell(v))));
                }
                Op::CellGet { dst, cell } => {
                    let Value::Obj(o) = r!(cell) else { fail!(bad("CellGet")) };
                    let Obj::Cell(v) = self.heap.get(o) else { fail!(bad("CellGet")) };
                    w!(dst, *v);
                }
                Op::CellSet { cell, src } => {
                    let v = r!(src);
                    let Value::Obj(o) = r!(cell) else { fail!(bad("CellSet")) };
                    let Obj::Cell(c) = self.heap.get_mut(o) else { fail!(bad("CellSet")) };
                    *c = v;
                }

                Op::ToStr { dst, src } => {
                    let v = r!(src);
                    if let Value::Obj(o) = v {
                        if let Obj::Str(_) = self.heap.get(o) {
                            w!(dst, v);
                            continue;
                        }
                    }
                    if let Value::Int(i) = v {
                        // the common case, formatted without an intermediate String
                        let mut buf = [0u8; 20];
                        w!(dst, self.heap.alloc_str(format_int(i, &mut buf)));
                        continue;
                    }
                    let s = fmt::display(&self.heap, &prog, v);
                    w!(dst, self.heap.alloc_str(s.as_str()));
                }
                Op::Format { dst, spec } => {
                    let Const::Str(spec) = &prog.consts[spec as usize] else { fail!(bad("Format")) };
                    match fmt::format_spec(&self.heap, &prog, r!(dst), spec) {
                        Ok(s) => w!(dst, self.heap.alloc_str(s)),
                        Err(e) => fail!(e),
                    }
                }
                Op::Concat { dst, base: b, count } => {
                    match self.concat(prog, base + b as usize, count as usize) {
                        Ok(r) => w!(dst, Value::Obj(r)),
                        Err(e) => fail!(e),
                    }
                }
                Op::AddStr { dst, a, b } => match self.add_str(r!(a), r!(b)) {
                    Ok(v) => w!(dst, v),
                    Err(e) => fail!(e),
                },

                Op::TryBegin { reg, off } => {
                    save_ip!();
                    if self.handlers.len() >= MAX_HANDLERS {
                        fail!(too_many_handlers());
                    }
                    let pc = self.frames.last().unwrap().pc(prog);
                    self.handlers.push(Handler { depth: self.frames.len(), pc: (pc as isize + off as isize) as usize, reg: base + reg as usize });
                    self.set_floor();
                }
                Op::TryEnd => {
                    self.handlers.pop();
                    self.set_floor();
                }
                Op::Throw { src } => {
                    save_ip!();
                    out!(Err(r!(src)));
                }
            }
        }
    }

    fn contains(&self, prog: &Program, container: Value, item: Value) -> Result<bool, VmError> {
        let Value::Obj(o) = container else { return Err(bad("Contains")) };
        Ok(match self.heap.get(o) {
            Obj::List(v) => match v.position_unboxed(item) {
                Some(at) => at.is_some(),
                None => v.iter().any(|x| ops::values_equal(&self.heap, prog, x, item)),
            },
            Obj::Dict(d) => ops::dict_position(&self.heap, prog, d, item).is_ok(),
            Obj::Set(m) => ops::key_position(&self.heap, prog, m, item).is_ok(),
            Obj::Str(s) => match item {
                Value::Obj(i) => match self.heap.get(i) {
                    Obj::Str(needle) => s.contains(&**needle),
                    _ => return Err(bad("Contains")),
                },
                _ => return Err(bad("Contains")),
            },
            Obj::Bytes(b) => match item {
                Value::Int(i) => b.iter().any(|x| *x as i64 == i),
                Value::Obj(i) => match self.heap.get(i) {
                    Obj::Bytes(n) => n.is_empty() || b.windows(n.len()).any(|w| w == &**n),
                    _ => return Err(bad("Contains")),
                },
                _ => return Err(bad("Contains")),
            },
            _ => return Err(bad("Contains")),
        })
    }

    fn index_get(&mut self, prog: &Program, obj: Value, key: Value) -> Result<Value, VmError> {
        let Value::Obj(o) = obj else { return Err(bad("IndexGet")) };
        let idx = |i: i64, n: usize| -> Result<usize, VmError> { list_index(i, n).ok_or_else(|| VmError::index(i, n)) };
        match self.heap.get(o) {
            Obj::Dict(d) => match ops::dict_position(&self.heap, prog, d, key) {
                Ok(i) => Ok(d[i].1),
                Err(_) => Err(VmError::new(N2004, format!("key not found: {}", fmt::repr(&self.heap, prog, key)))),
            },
            Obj::List(v) => {
                let Value::Int(i) = key else { return Err(bad("IndexGet")) };
                // SAFETY: `idx` returned an index below the length
                Ok(unsafe { v.get_unchecked(idx(i, v.len())?) })
            }
            Obj::Tuple(v) => {
                let Value::Int(i) = key else { return Err(bad("IndexGet")) };
                Ok(v[idx(i, v.len())?])
            }
            Obj::Bytes(b) => {
                let Value::Int(i) = key else { return Err(bad("IndexGet")) };
                Ok(Value::Int(b[idx(i, b.len())?] as i64))
            }
            Obj::Str(s) => {
                let Value::Int(i) = key else { return Err(bad("IndexGet")) };
                let ch: String = if s.is_ascii() {
                    let j = idx(i, s.len())?;
                    s[j..j + 1].to_string()
                } else {
                    let n = s.chars().count();
                    let j = idx(i, n)?;
                    s.chars().nth(j).unwrap().to_string()
                };
                Ok(self.heap.alloc_str(ch))
            }
            Obj::Native(_) => match self.heap.with_native(o, |n, heap| n.index(heap, key)) {
                Some(Some(r)) => r,
                _ => Err(bad("IndexGet")),
            },
            _ => Err(bad("IndexGet")),
        }
    }

    fn slice(&mut self, obj: Value, s: Value, e: Value) -> Result<Value, VmError> {
        let Value::Obj(o) = obj else { return Err(bad("Slice")) };
        let bound = |v: Value, n: usize, default: usize| -> Result<usize, VmError> {
            match v {
                Value::None => Ok(default),
                Value::Int(i) => {
                    let j = if i < 0 { i + n as i64 } else { i };
                    Ok(j.clamp(0, n as i64) as usize)
                }
                _ => Err(bad("Slice")),
            }
        };
        let out = match self.heap.get(o) {
            Obj::List(v) => {
                let n = v.len();
                let (a, b) = (bound(s, n, 0)?, bound(e, n, n)?);
                Obj::List(if a < b { v.slice(a, b) } else { List::new() })
            }
            Obj::Bytes(v) => {
                let n = v.len();
                let (a, b) = (bound(s, n, 0)?, bound(e, n, n)?);
                Obj::Bytes(if a < b { v[a..b].into() } else { Rc::from(&[][..]) })
            }
            Obj::Str(st) => {
                if st.is_ascii() {
                    let n = st.len();
                    let (a, b) = (bound(s, n, 0)?, bound(e, n, n)?);
                    Obj::Str(if a < b { st[a..b].into() } else { "".into() })
                } else {
                    let chars: Vec<char> = st.chars().collect();
                    let n = chars.len();
                    let (a, b) = (bound(s, n, 0)?, bound(e, n, n)?);
                    Obj::Str(if a < b { chars[a..b].iter().collect::<String>().into() } else { "".into() })
                }
            }
            _ => return Err(bad("Slice")),
        };
        Ok(self.heap.alloc(out))
    }

    fn iter_list(&mut self, v: Value) -> Result<Value, VmError> {
        let Value::Obj(o) = v else { return Err(bad("IterList")) };
        let items: Vec<Value> = match self.heap.get(o) {
            Obj::List(_) => return Ok(v),
            Obj::Dict(_) => ops::dict_keys(&mut self.heap, o),
            Obj::Set(m) => m.values().copied().collect(),
            Obj::Tuple(t) => t.to_vec(),
            Obj::Bytes(b) => b.iter().map(|x| Value::Int(*x as i64)).collect(),
            Obj::Str(s) => {
                let s = s.clone();
                let mut out = Vec::with_capacity(s.len());
                for c in s.chars() {
                    let mut buf = [0u8; 4];
                    out.push(self.heap.alloc_str(&*c.encode_utf8(&mut buf)));
                }
                out
            }
            // a tensor iterates over its first axis, a result over its rows: as the module says
            Obj::Native(_) => match self.heap.with_native(o, |n, heap| n.iterate(heap)) {
                Some(Some(items)) => items?,
                _ => return Err(bad("IterList")),
            },
            _ => return Err(bad("IterList")),
        };
        Ok(self.heap.alloc(Obj::List(items.into())))
    }

    fn is_kind(&self, prog: &Program, v: Value, kind: u16) -> bool {
        match kind {
            KIND_NONE => matches!(v, Value::None),
            KIND_BOOL => matches!(v, Value::Bool(_)),
            KIND_INT => matches!(v, Value::Int(_)),
            KIND_FLOAT => matches!(v, Value::Float(_)),
            KIND_FUNC => matches!(v, Value::Func(_)) || matches!(v, Value::Obj(o) if matches!(self.heap.get(o), Obj::Closure { .. })),
            _ => {
                let Value::Obj(o) = v else { return false };
                let obj = self.heap.get(o);
                match kind {
                    KIND_STR => matches!(obj, Obj::Str(_)),
                    KIND_BYTES => matches!(obj, Obj::Bytes(_)),
                    KIND_LIST => matches!(obj, Obj::List(_)),
                    KIND_DICT => matches!(obj, Obj::Dict(_)),
                    KIND_SET => matches!(obj, Obj::Set(_)),
                    KIND_TUPLE => matches!(obj, Obj::Tuple(_)),
                    k if k >= KIND_ACTOR => matches!(obj, Obj::Native(n) if n.is_kind(prog, k)),
                    k if k >= KIND_ENUM => matches!(obj, Obj::Record { ty, .. } if prog.types[*ty as usize].enum_id == k - KIND_ENUM),
                    k if k >= KIND_RECORD => matches!(obj, Obj::Record { ty, .. } if *ty == k - KIND_RECORD),
                    _ => false,
                }
            }
        }
    }
}

/// A copy of a register that was probably written by the instruction just before. Left to
/// itself, the compiler writes a value in the pieces its variant uses (the tag byte, then the
/// payload) and copies it with one 16-byte read, which the processor cannot forward from two
/// pending stores, so it waits for them to reach the cache (a stall that profiles showed on
/// moves, returns and field stores right after arithmetic). So the interpreter writes every
/// register as two 8-byte halves (`put`, the `w!` macro) and copies them as two 8-byte halves
/// here: each read is forwarded from the one store that wrote it, with no branch on the
/// variant, and a copy is two loads instead of one per piece (binary_trees: 6% fewer
/// instructions than copying the pieces). Volatile reads keep the compiler from merging the
/// halves back into one 16-byte read.
#[inline(always)]
fn fresh(v: &Value) -> Value {
    use std::mem::MaybeUninit;
    use std::ptr::read_volatile;
    let p = v as *const Value as *const MaybeUninit<u64>;
    // SAFETY: `v` is 16 bytes, read as two halves that may hold uninitialised padding; both
    // together are the same value
    unsafe { std::mem::transmute::<[MaybeUninit<u64>; 2], Value>([read_volatile(p), read_volatile(p.add(1))]) }
}

/// `i` as an index into a list of length `n` (negative counts from the end), if in range. One
/// unsigned comparison decides the common case, a non-negative index in range.
#[inline(always)]
fn list_index(i: i64, n: usize) -> Option<usize> {
    if (i as u64) < n as u64 {
        Some(i as usize)
    } else {
        negative_index(i, n)
    }
}

#[cold]
fn negative_index(i: i64, n: usize) -> Option<usize> {
    let j = i.checked_add(n as i64)?;
    (i < 0 && j >= 0).then_some(j as usize)
}

/// The fields of a new record or tuple from its registers, each read with `fresh` (they were
/// usually written by the instructions just before).
#[inline(always)]
fn fresh_fields(values: &[Value]) -> crate::value::Fields {
    use crate::value::Fields;
    match values {
        [] => Fields::new(),
        [a] => Fields::from_buf_and_len([fresh(a), Value::None], 1),
        [a, b] => Fields::from_buf([fresh(a), fresh(b)]),
        _ => Fields::from_slice(values),
    }
}

/// Writes a value as two 8-byte stores, whatever its variant, so that a later read of either
/// half (`fresh`) is forwarded from one store. A variant's padding goes into the first half
/// as whatever the register held: it is never read as part of a value.
#[inline(always)]
unsafe fn put(p: *mut Value, v: Value) {
    use std::mem::MaybeUninit;
    // SAFETY: `Value` is 16 bytes; its padding becomes uninitialised halves, which
    // `MaybeUninit` may hold, and the caller's `p` points to a register
    let w = unsafe { std::mem::transmute::<Value, [MaybeUninit<u64>; 2]>(v) };
    let q = p as *mut MaybeUninit<u64>;
    unsafe {
        q.write(w[0]);
        q.add(1).write(w[1]);
    }
}

/// Formats an int into `buf` without allocating.
fn format_int(i: i64, buf: &mut [u8; 20]) -> &str {
    // two digits per division, from a table (as the `itoa` crate does): half the divisions
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut n = i.unsigned_abs();
    let mut pos = buf.len();
    while n >= 100 {
        let d = (n % 100) as usize * 2;
        n /= 100;
        pos -= 2;
        buf[pos..pos + 2].copy_from_slice(&PAIRS[d..d + 2]);
    }
    if n >= 10 {
        let d = n as usize * 2;
        pos -= 2;
        buf[pos..pos + 2].copy_from_slice(&PAIRS[d..d + 2]);
    } else {
        pos -= 1;
        buf[pos] = b'0' + n as u8;
    }
    if i < 0 {
        // i64::MIN has 19 digits, so there is always room for the sign
        pos -= 1;
        buf[pos] = b'-';
    }
    // SAFETY: digits and '-' are ASCII
    unsafe { std::str::from_utf8_unchecked(&buf[pos..]) }
}

/// A string built from pieces on the stack while it is short, so that the string object made
/// from it is the only allocation (`"w" + str(n)`, f-strings).
struct StrBuf {
    len: usize,
    inline: [u8; 128],
    /// Everything, once it no longer fits `inline`.
    long: String,
    /// Memory for `long` could not be had: the string is too large (see `into_text`).
    failed: bool,
}

impl StrBuf {
    #[inline]
    fn new() -> StrBuf {
        StrBuf { len: 0, inline: [0; 128], long: String::new(), failed: false }
    }

    /// Inlined, with the long case out of line: as one function, every push paid the long
    /// case's register saves (half of its instructions for a word or a number).
    #[inline(always)]
    fn push(&mut self, s: &str) {
        let end = self.len + s.len();
        if self.long.is_empty() && end <= self.inline.len() {
            copy_short(&mut self.inline[self.len..end], s.as_bytes());
            self.len = end;
        } else {
            self.push_long(s);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_long(&mut self, s: &str) {
        if self.failed {
            return;
        }
        // a program controls how long its strings get: memory it cannot have is an error it
        // can catch, not an abort
        if self.long.is_empty() {
            let mut long = String::new();
            if long.try_reserve_exact(self.len + s.len()).is_err() {
                self.failed = true;
                return;
            }
            long.push_str(self.as_str());
            self.long = long;
        }
        if self.long.try_reserve(s.len()).is_err() {
            self.failed = true;
            return;
        }
        self.long.push_str(s);
    }

    #[inline]
    fn as_str(&self) -> &str {
        if self.long.is_empty() {
            // SAFETY: `inline[..len]` holds whole `&str`s, one after another
            unsafe { std::str::from_utf8_unchecked(&self.inline[..self.len]) }
        } else {
            &self.long
        }
    }

    /// The string as a `Text`. A short one is taken straight from the buffer, which is zero
    /// past what was pushed, as an inline text wants: no second copy. Inlined, so that the
    /// text is written once, into the heap slot that `alloc_with` gives it: returned from a
    /// call, it came back through the stack and its copy into the slot stalled on the call's
    /// writes.
    #[inline(always)]
    fn into_text(self) -> Result<Text, VmError> {
        if self.long.is_empty() && self.len <= INLINE_STR {
            let mut bytes = [0u8; INLINE_STR];
            bytes.copy_from_slice(&self.inline[..INLINE_STR]);
            // SAFETY: `inline` starts zeroed and holds whole `&str`s up to `len`
            Ok(unsafe { Text::from_padded(bytes, self.len) })
        } else {
            self.into_long_text()
        }
    }

    #[inline(never)]
    fn into_long_text(self) -> Result<Text, VmError> {
        if self.failed {
            return Err(too_large("string"));
        }
        Text::try_from_str(self.as_str()).ok_or_else(|| too_large("string"))
    }
}

/// `dst.copy_from_slice(src)` for the few bytes a word or a number has, without a call to
/// `memcpy` (which cost more than the copy itself in string building). Two overlapping
/// fixed-size moves cover any length from 4 to 16.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len();
    assert_eq!(dst.len(), n);
    // SAFETY: both are `n` bytes long; each read and write below stays inside them
    unsafe {
        let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
        match n {
            0 => {}
            1..=3 => {
                *d = *s;
                *d.add(n / 2) = *s.add(n / 2);
                *d.add(n - 1) = *s.add(n - 1);
            }
            4..=8 => {
                let a = (s as *const u32).read_unaligned();
                let b = (s.add(n - 4) as *const u32).read_unaligned();
                (d as *mut u32).write_unaligned(a);
                (d.add(n - 4) as *mut u32).write_unaligned(b);
            }
            9..=16 => {
                let a = (s as *const u64).read_unaligned();
                let b = (s.add(n - 8) as *const u64).read_unaligned();
                (d as *mut u64).write_unaligned(a);
                (d.add(n - 8) as *mut u64).write_unaligned(b);
            }
            _ => std::ptr::copy_nonoverlapping(s, d, n),
        }
    }
}

/// `a + b` as one allocation of the result (short results are built on the stack).
fn concat_str(a: &str, b: &str) -> Result<Text, VmError> {
    let mut out = StrBuf::new();
    out.push(a);
    out.push(b);
    out.into_text()
}

/// Bytecode that enters `try` again and again without leaving it (our compiler pairs each
/// TryBegin with a TryEnd or a throw).
#[cold]
fn too_many_handlers() -> VmError {
    VmError::new(N2009, format!("too many `try` blocks entered and not left ({MAX_HANDLERS})"))
}

/// N2011 for a value that would need more memory than the process can have.
#[cold]
fn too_large(what: &str) -> VmError {
    VmError::new(N2011, format!("{what} is too large: there is not enough memory for it"))
}

fn str_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// The name of an actor type from its state's record type (`actor Counter` keeps its state in
/// the struct `CounterState`), or `Supervisor` for u16::MAX.
pub fn actor_type_name(program: &Program, ty: u16) -> &str {
    if ty == u16::MAX {
        return "Supervisor";
    }
    program.types.get(ty as usize).map_or("actor", |t| t.name.strip_suffix("State").unwrap_or(&t.name))
}

fn kind_name(prog: &Program, kind: u16) -> String {
    match kind {
        KIND_NONE => "none".into(),
        KIND_BOOL => "bool".into(),
        KIND_INT => "int".into(),
        KIND_FLOAT => "float".into(),
        KIND_STR => "str".into(),
        KIND_BYTES => "bytes".into(),
        KIND_LIST => "list".into(),
        KIND_DICT => "dict".into(),
        KIND_SET => "set".into(),
        KIND_TUPLE => "tuple".into(),
        KIND_FUNC => "function".into(),
        k if k >= noodle_nbc::op::KIND_HANDLE => "native type".into(),
        k if k >= KIND_ACTOR && k - KIND_ACTOR == KIND_SUPERVISOR_OFFSET => "actor.Supervisor".into(),
        k if k >= KIND_ACTOR => actor_type_name(prog, k - KIND_ACTOR).to_string(),
        k if k >= KIND_ENUM => prog.types.iter().find(|t| t.enum_id == k - KIND_ENUM).and_then(|t| t.enum_name.clone()).unwrap_or_default(),
        k => prog.types.get((k - KIND_RECORD) as usize).map(|t| t.name.clone()).unwrap_or_default(),
    }
}


/// N2016: a store of any value into a container made with one element type, through a cast.
#[cold]
#[inline(never)]
fn not_dynamic(o: &Obj) -> VmError {
    let (kind, ty) = match o {
        Obj::Dict(_) => ("dict", "dict[any, any]"),
        Obj::Set(_) => ("set", "set[any]"),
        _ => ("list", "list[any]"),
    };
    VmError::new(crate::codes::N2016, format!("this {kind} was made with a specific element type, so it cannot be changed through `{ty}` (a cast or `is` test only lets it be read that way)"))
}

#[cfg(test)]
mod tests {
    use super::{concat_str, format_int, list_index, StrBuf};

    #[test]
    fn strbuf_builds_short_and_long_strings() {
        for pieces in [vec![], vec![""], vec!["w", "123"], vec!["é", "漢字", ""], vec!["x"; 200], vec!["ab"; 64], vec!["ab"; 65]] {
            let mut b = StrBuf::new();
            for p in &pieces {
                b.push(p);
            }
            assert_eq!(b.as_str(), pieces.concat());
        }
        // a piece that crosses the inline size, and one longer than it on its own
        let mut b = StrBuf::new();
        b.push(&"a".repeat(100));
        b.push(&"ü".repeat(20));
        b.push(&"z".repeat(300));
        assert_eq!(b.as_str(), "a".repeat(100) + &"ü".repeat(20) + &"z".repeat(300));
        assert_eq!(&*concat_str("w", "42").unwrap(), "w42");
        // every length across the inline size and the small-copy cases, as one piece and as two
        for n in 0..=40 {
            let s: String = ('a'..='z').cycle().take(n).collect();
            let whole = concat_str(&s, "").unwrap();
            assert_eq!(&*whole, s.as_str());
            assert!(whole == crate::value::Text::from(s.as_str()), "length {n}: equal texts must compare equal");
            for cut in 0..=n {
                assert_eq!(&*concat_str(&s[..cut], &s[cut..]).unwrap(), s.as_str(), "{n} split at {cut}");
            }
        }
        assert_eq!(&*concat_str(&"q".repeat(128), "!").unwrap(), "q".repeat(128) + "!");
    }

    #[test]
    fn fresh_fields_match_from_slice_at_every_size() {
        use crate::value::{Fields, Value};
        let vals = [Value::Int(1), Value::Float(2.5), Value::Bool(true), Value::None];
        for n in 0..=vals.len() {
            let (a, b) = (super::fresh_fields(&vals[..n]), Fields::from_slice(&vals[..n]));
            assert_eq!(a.spilled(), b.spilled(), "size {n}");
            assert_eq!(format!("{:?}", &a[..]), format!("{:?}", &b[..]));
        }
    }

    #[test]
    fn fresh_copies_every_variant() {
        use crate::value::{ObjRef, Value};
        let vals = [
            Value::None,
            Value::Undef,
            Value::Bool(true),
            Value::Bool(false),
            Value::Int(i64::MIN),
            Value::Int(-1),
            Value::Float(-0.0),
            Value::Float(f64::NAN),
            Value::Obj(ObjRef(u32::MAX)),
            Value::Obj(ObjRef(7)),
            Value::Func(3),
        ];
        for v in vals {
            assert_eq!(format!("{:?}", super::fresh(&v)), format!("{v:?}"));
        }
        // over a register that held another variant before
        let mut regs = [Value::Float(1.5), Value::Bool(true)];
        regs[0] = super::fresh(&regs[1]);
        assert!(matches!(regs[0], Value::Bool(true)));
        regs[1] = Value::Obj(ObjRef(42));
        regs[0] = super::fresh(&regs[1]);
        assert!(matches!(regs[0], Value::Obj(ObjRef(42))));
    }

    /// A program that loops for ever (one backward jump), to pause.
    fn looping() -> noodle_nbc::Program {
        let f = noodle_nbc::program::Function { name: "<main>".into(), arity: 0, nregs: 1, ncaptures: 0, file: 0, code: vec![noodle_nbc::Op::Jump { off: -1 }], lines: vec![1] };
        let error = noodle_nbc::program::RecordType { name: "Error".into(), enum_name: None, enum_id: u16::MAX, fields: vec!["code".into(), "message".into(), "cause".into(), "$value".into()], methods: vec![], flags: 0 };
        noodle_nbc::Program { files: vec!["loop".into()], funcs: vec![f], types: vec![error], ..Default::default() }
    }

    /// A function that returns inside a `try` without `TryEnd` (our compiler always ends the
    /// block first, but bytecode may come from elsewhere): its handler must be dropped with
    /// its frame, so that a later throw reaches the handler of the frame still running.
    #[test]
    fn a_return_drops_the_handlers_of_its_frame() {
        use noodle_nbc::Op;
        use super::{RunState, Vm};
        let func = |name: &str, nregs: u16, code: Vec<Op>| {
            let lines = vec![1; code.len()];
            noodle_nbc::program::Function { name: name.into(), arity: 0, nregs, ncaptures: 0, file: 0, code, lines }
        };
        let main = func(
            "<main>",
            5,
            vec![
                Op::TryBegin { reg: 2, off: 3 },
                Op::Call { base: 0, func: 1 },
                Op::Call { base: 1, func: 2 },
                Op::ReturnNone,
                Op::LoadInt { dst: 3, val: 7 },
                Op::Return { src: 3 },
            ],
        );
        let leaves_its_try = func("leaves_its_try", 1, vec![Op::TryBegin { reg: 0, off: 1 }, Op::Return { src: 0 }, Op::LoadInt { dst: 0, val: 99 }, Op::Return { src: 0 }]);
        // instruction 2 is where the stale handler would resume, in whatever frame is running
        let throws = func(
            "throws",
            4,
            vec![
                Op::LoadInt { dst: 0, val: 1 },
                Op::Jump { off: 2 },
                Op::LoadInt { dst: 0, val: 55 },
                Op::Return { src: 0 },
                Op::LoadInt { dst: 1, val: 2 },
                Op::NewRecord { dst: 2, ty: 0, base: 0 },
                Op::Throw { src: 2 },
            ],
        );
        let mut p = looping();
        p.funcs = vec![main, leaves_its_try, throws];
        let mut vm = Vm::new(p, crate::vm::Output::silent(), Default::default()).unwrap();
        vm.start();
        match vm.run(None) {
            RunState::Finished(crate::value::Value::Int(7)) => {}
            other => panic!("the throw should reach <main>'s handler, got {:?}", std::mem::discriminant(&other)),
        }
    }

    /// Hand-made bytecode that enters a `try` in a loop and never leaves it: the handler stack
    /// is bounded (N2009, which the newest handler catches), not grown until memory runs out.
    #[test]
    fn try_blocks_entered_without_end_are_bounded() {
        use noodle_nbc::Op;
        use super::{RunState, Vm};
        let code = vec![Op::TryBegin { reg: 0, off: 1 }, Op::Jump { off: -2 }, Op::Return { src: 0 }];
        let mut p = looping();
        p.funcs = vec![noodle_nbc::program::Function { name: "<main>".into(), arity: 0, nregs: 1, ncaptures: 0, file: 0, lines: vec![1; code.len()], code }];
        let mut vm = Vm::new(p, crate::vm::Output::silent(), Default::default()).unwrap();
        vm.start();
        match vm.run(None) {
            RunState::Finished(v @ crate::value::Value::Obj(_)) => {
                let shown = crate::fmt::display(&vm.heap, vm.program(), v);
                assert!(shown.contains("N2009"), "{shown}");
            }
            other => panic!("expected the N2009 error as the result, got {:?}", std::mem::discriminant(&other)),
        }
    }

    /// A loop whose only way round is a throw to a handler before it has no backward jump;
    /// the jump to the handler is a safe point, so the loop is preempted (and collected).
    #[test]
    fn a_loop_through_a_handler_is_preempted() {
        use noodle_nbc::Op;
        use super::{RunState, Vm};
        let code = vec![Op::LoadInt { dst: 1, val: 1 }, Op::TryBegin { reg: 0, off: -2 }, Op::Throw { src: 1 }, Op::ReturnNone];
        let mut p = looping();
        p.funcs = vec![noodle_nbc::program::Function { name: "<main>".into(), arity: 0, nregs: 2, ncaptures: 0, file: 0, lines: vec![1; code.len()], code }];
        let mut vm = Vm::new(p, crate::vm::Output::silent(), Default::default()).unwrap();
        vm.start();
        assert!(matches!(vm.run(Some(1000)), RunState::Paused), "the loop must yield when its budget is spent");
        assert!(matches!(vm.run(Some(10)), RunState::Paused), "and again when resumed");
    }

    #[test]
    fn a_paused_call_keeps_its_program() {
        use super::{RunState, Vm};
        let mut vm = Vm::new(looping(), crate::vm::Output::silent(), Default::default()).unwrap();
        vm.start();
        assert!(matches!(vm.run(Some(100)), RunState::Paused));
        // its frame points into the running program's code: replacing it is refused
        assert!(vm.load(looping()).is_err());
        assert!(matches!(vm.run(Some(100)), RunState::Paused), "the paused loop goes on");
    }

    #[test]
    fn list_index_counts_negative_indexes_from_the_end() {
        assert_eq!(list_index(0, 3), Some(0));
        assert_eq!(list_index(2, 3), Some(2));
        assert_eq!(list_index(3, 3), None);
        assert_eq!(list_index(-1, 3), Some(2));
        assert_eq!(list_index(-3, 3), Some(0));
        assert_eq!(list_index(-4, 3), None);
        assert_eq!(list_index(0, 0), None);
        assert_eq!(list_index(-1, 0), None);
        assert_eq!(list_index(i64::MIN, 3), None);
        assert_eq!(list_index(i64::MAX, 3), None);
        assert_eq!(list_index(i64::MIN, usize::MAX >> 1), None);
    }

    #[test]
    fn format_int_at_the_extremes() {
        let mut buf = [0u8; 20];
        for n in [0, 7, -7, 9, 10, -10, 99, 100, 101, -999, 1_000_000, 12_345, i64::MAX, i64::MIN, i64::MIN + 1] {
            assert_eq!(format_int(n, &mut buf), n.to_string());
        }
        for n in -1000..1000 {
            assert_eq!(format_int(n, &mut buf), n.to_string());
        }
    }
}
