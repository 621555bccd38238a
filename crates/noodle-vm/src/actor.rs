//! What the VM knows about actors: references, messages, and the `Host` interface through which
//! the actor natives reach the scheduler. The scheduler itself lives in `noodle-runtime`; the
//! VM never starts a thread or waits on anything.
//!
//! Each actor runs in its own `Vm` with its own heap, so a value cannot simply be handed from
//! one actor to another: `export` turns it into a `Msg` (plain data that owns everything it
//! holds, `Send`, and shaped so it can later be serialised for other nodes) and `import`
//! rebuilds it in the receiving heap. Tensors are the exception that proves the rule: their
//! buffers are reference-counted and shared, so they cross without copying.

use crate::codes::{N2301, N2305};
use crate::error::VmError;
use crate::heap::Heap;
use crate::natives::Ctx;
use crate::value::{DictMap, Fields, Obj, SetMap, Value};
use noodle_nbc::Program;
use std::any::Any;
use std::sync::Arc;

/// The code a native returns to say "not yet": the VM re-executes the same call when the
/// process is resumed. Never visible to programs.
pub const SUSPEND: &str = "<suspend>";

pub fn suspend() -> VmError {
    VmError::new(noodle_codes::Code::user(SUSPEND), "")
}

/// A reference to an actor. `id` is unique for the life of the process and is what a reference
/// will carry between nodes; `cell` is the scheduler's handle (opaque to the VM) for sending
/// without a lookup.
#[derive(Clone)]
pub struct ActorRef {
    pub id: u64,
    /// The record type of the actor's state (for display and the checker's ref type), or
    /// u16::MAX for a supervisor.
    pub ty: u16,
    pub cell: Arc<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for ActorRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ActorRef({})", self.id)
    }
}

/// A value in transit between heaps: owns all its data.
#[derive(Clone, Debug)]
pub enum Msg {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Func(u32),
    Str(Box<str>),
    Bytes(Box<[u8]>),
    List(Vec<Msg>),
    Tuple(Vec<Msg>),
    Dict(Vec<(Msg, Msg)>),
    Set(Vec<Msg>),
    Record { ty: u16, fields: Vec<Msg> },
    /// A record whose fields (at most two) are all none, bools, numbers or functions, carried
    /// inline (`kinds` as in `flat_field`): the most common small message needs no allocation.
    Flat { ty: u16, n: u8, kinds: [u8; 2], bits: [u64; 2] },
    /// Boxed: a message is moved through every mailbox, and an inline tensor would make
    /// each one twice as large.
    Tensor(Box<noodle_tensor::Tensor>),
    Actor(ActorRef),
}

/// Deepest nesting `export` follows before giving up (a message that deep is almost certainly
/// a mistake, and recursion must stay bounded).
const MAX_DEPTH: usize = 10_000;

/// Copies `v` out of `heap`. Closures, cells, database handles and tasks cannot leave their
/// actor (N2301). Shared substructure is copied once per path, like a deep copy; a cycle is
/// refused rather than followed forever.
pub fn export(heap: &Heap, v: Value) -> Result<Msg, VmError> {
    let mut path = Path::new();
    export_in(heap, v, &mut path)
}

/// The objects being copied, outermost first (a message is rarely nested deeper than this
/// inline part, so sending one allocates nothing for it).
type Path = smallvec::SmallVec<[u32; 8]>;

/// A scalar value as (kind, bits) for `Msg::Flat`; None for an object.
fn flat_field(v: Value) -> Option<(u8, u64)> {
    Some(match v {
        Value::None | Value::Undef => (0, 0),
        Value::Bool(b) => (1, b as u64),
        Value::Int(i) => (2, i as u64),
        Value::Float(f) => (3, f.to_bits()),
        Value::Func(f) => (4, f as u64),
        Value::Obj(_) => return None,
    })
}

fn unflat_field(kind: u8, bits: u64) -> Value {
    match kind {
        1 => Value::Bool(bits != 0),
        2 => Value::Int(bits as i64),
        3 => Value::Float(f64::from_bits(bits)),
        4 => Value::Func(bits as u32),
        _ => Value::None,
    }
}

/// `Msg::Flat` for a record of at most two scalar fields.
fn flat_record(ty: u16, fields: &[Value]) -> Option<Msg> {
    if fields.len() > 2 {
        return None;
    }
    let (mut kinds, mut bits) = ([0u8; 2], [0u64; 2]);
    for (i, f) in fields.iter().enumerate() {
        (kinds[i], bits[i]) = flat_field(*f)?;
    }
    Some(Msg::Flat { ty, n: fields.len() as u8, kinds, bits })
}

fn export_in(heap: &Heap, v: Value, path: &mut Path) -> Result<Msg, VmError> {
    let r = match v {
        Value::None | Value::Undef => return Ok(Msg::None),
        Value::Bool(b) => return Ok(Msg::Bool(b)),
        Value::Int(i) => return Ok(Msg::Int(i)),
        Value::Float(f) => return Ok(Msg::Float(f)),
        Value::Func(f) => return Ok(Msg::Func(f)),
        Value::Obj(r) => r,
    };
    if path.contains(&r.0) {
        return Err(VmError::new(N2301, "a message cannot contain a cycle (a value that contains itself)"));
    }
    if path.len() >= MAX_DEPTH {
        return Err(VmError::new(N2301, "a message is nested too deeply to send"));
    }
    if let Obj::Record { ty, fields } = heap.get(r) {
        if let Some(m) = flat_record(*ty, fields) {
            return Ok(m);
        }
    }
    path.push(r.0);
    let all = |vals: &[Value], path: &mut Path| -> Result<Vec<Msg>, VmError> { vals.iter().map(|x| export_in(heap, *x, path)).collect() };
    let m = match heap.get(r) {
        Obj::Str(s) => Msg::Str(s.as_ref().into()),
        Obj::Bytes(b) => Msg::Bytes(b.as_ref().into()),
        Obj::List(items) => Msg::List(all(items, path)?),
        Obj::Tuple(items) => Msg::Tuple(all(items, path)?),
        Obj::Record { ty, fields } => Msg::Record { ty: *ty, fields: all(fields, path)? },
        Obj::Dict(m) => {
            let mut out = Vec::with_capacity(m.len());
            for (k, v) in m.values() {
                out.push((export_in(heap, *k, path)?, export_in(heap, *v, path)?));
            }
            Msg::Dict(out)
        }
        Obj::Set(m) => Msg::Set(m.values().map(|x| export_in(heap, *x, path)).collect::<Result<_, _>>()?),
        Obj::Tensor(t) => Msg::Tensor(t.clone()),
        Obj::Actor(a) => Msg::Actor(a.clone()),
        other => {
            let what = match other {
                Obj::Closure { .. } => "function",
                Obj::Cell(_) => "variable cell",
                Obj::Task(_) => "task",
                Obj::Db(d) => d.kind_name(),
                _ => "value",
            };
            return Err(VmError::new(N2301, format!("a {what} cannot be sent to another actor: only data (numbers, strings, collections, structs, enums, tensors and actor references) can")));
        }
    };
    path.pop();
    Ok(m)
}

/// Rebuilds a message in `heap`.
pub fn import(heap: &mut Heap, program: &Program, m: &Msg) -> Value {
    match m {
        Msg::None => Value::None,
        Msg::Bool(b) => Value::Bool(*b),
        Msg::Int(i) => Value::Int(*i),
        Msg::Float(f) => Value::Float(*f),
        Msg::Func(f) => Value::Func(*f),
        Msg::Str(s) => heap.alloc_str(&**s),
        Msg::Bytes(b) => heap.alloc(Obj::Bytes(b.as_ref().into())),
        Msg::List(items) => {
            let v: Vec<Value> = items.iter().map(|x| import(heap, program, x)).collect();
            heap.alloc(Obj::List(v))
        }
        Msg::Tuple(items) => {
            let v: Fields = items.iter().map(|x| import(heap, program, x)).collect();
            heap.alloc(Obj::Tuple(v))
        }
        Msg::Record { ty, fields } => {
            let v: Fields = fields.iter().map(|x| import(heap, program, x)).collect();
            heap.alloc(Obj::Record { ty: *ty, fields: v })
        }
        Msg::Flat { ty, n, kinds, bits } => {
            let v: Fields = (0..*n as usize).map(|i| unflat_field(kinds[i], bits[i])).collect();
            heap.alloc(Obj::Record { ty: *ty, fields: v })
        }
        Msg::Dict(items) => {
            let mut map = DictMap::default();
            for (k, v) in items {
                let k = import(heap, program, k);
                let v = import(heap, program, v);
                map.insert(crate::ops::key_of(heap, program, k), (k, v));
            }
            heap.alloc(Obj::Dict(Box::new(map.into())))
        }
        Msg::Set(items) => {
            let mut set = SetMap::default();
            for x in items {
                let v = import(heap, program, x);
                set.insert(crate::ops::key_of(heap, program, v), v);
            }
            heap.alloc(Obj::Set(Box::new(set)))
        }
        Msg::Tensor(t) => heap.alloc(Obj::Tensor(t.clone())),
        Msg::Actor(a) => heap.alloc(Obj::Actor(a.clone())),
    }
}

/// What happens when a message arrives at a full mailbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    /// The sender waits until there is room (the default: backpressure).
    Block,
    /// The send fails with N2304.
    Fail,
    /// The oldest waiting message is dropped to make room.
    DropOldest,
}

impl Overflow {
    pub fn parse(s: &str) -> Option<Overflow> {
        Some(match s {
            "block" => Overflow::Block,
            "fail" => Overflow::Fail,
            "drop_oldest" => Overflow::DropOldest,
            _ => return None,
        })
    }
}

/// When a supervisor restarts a child that stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// Always.
    Permanent,
    /// Only after a crash, not after a normal stop.
    Transient,
    /// Never.
    Temporary,
}

impl Restart {
    pub fn parse(s: &str) -> Option<Restart> {
        Some(match s {
            "permanent" => Restart::Permanent,
            "transient" => Restart::Transient,
            "temporary" => Restart::Temporary,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    OneForOne,
    OneForAll,
    RestForOne,
}

impl Strategy {
    pub fn parse(s: &str) -> Option<Strategy> {
        Some(match s {
            "one_for_one" => Strategy::OneForOne,
            "one_for_all" => Strategy::OneForAll,
            "rest_for_one" => Strategy::RestForOne,
            _ => return None,
        })
    }
}

/// Everything needed to start (and restart) an actor.
#[derive(Clone, Debug)]
pub struct SpawnSpec {
    /// Builds the state record from the arguments (runs the actor's `init`).
    pub new: u32,
    /// `receive(state, message) -> reply`: dispatches on the message's type.
    pub receive: u32,
    /// `on_stop(state)`, when the actor defines it.
    pub on_stop: Option<u32>,
    /// The state's record type.
    pub ty: u16,
    pub args: Vec<Msg>,
    pub name: Option<String>,
    pub capacity: usize,
    pub overflow: Overflow,
    pub supervisor: Option<ActorRef>,
    pub restart: Restart,
    /// The spawner's globals that the actor's code may use (slot, value), copied into the new
    /// actor's heap (and again at each restart).
    pub globals: Arc<Vec<(u32, Msg)>>,
    /// Link the new actor to the spawner.
    pub link: bool,
}

#[derive(Clone, Debug)]
pub struct SupervisorSpec {
    pub strategy: Strategy,
    /// At most `intensity` restarts within `period` seconds; one more and the supervisor
    /// stops its children and fails.
    pub intensity: u32,
    pub period: f64,
    pub name: Option<String>,
    pub parent: Option<ActorRef>,
}

/// The scheduler, as the natives of one process see it. Calls that cannot finish at once
/// return `Err(suspend())`; the VM then re-executes the same native call when the process is
/// resumed, so a blocking operation keeps its progress in the host, not in the VM.
pub trait Host: Send {
    /// For the scheduler to reach its own state inside a VM.
    fn as_any(&mut self) -> &mut dyn Any;
    /// The process's standard streams, asked for when it first calls a native.
    fn output(&mut self) -> crate::Output;
    fn spawn(&mut self, spec: SpawnSpec) -> Result<ActorRef, VmError>;
    /// The global slots an actor with these functions may use (`Program::globals_used`),
    /// cached by the host.
    fn globals_used(&mut self, new: u32, receive: u32, on_stop: Option<u32>) -> Arc<[u32]>;
    fn supervisor(&mut self, spec: SupervisorSpec) -> Result<ActorRef, VmError>;
    fn send(&mut self, to: &ActorRef, msg: Msg) -> Result<(), VmError>;
    /// Sends a request; the reply resolves the returned task.
    fn ask(&mut self, to: &ActorRef, msg: Msg, timeout: Option<f64>) -> Result<u64, VmError>;
    /// The result of a task, or `Err(suspend())` until it is ready.
    fn wait(&mut self, task: u64) -> Result<Msg, VmError>;
    /// Whether a task has finished (without waiting).
    fn done(&mut self, task: u64) -> bool;
    /// A task that finishes after `secs` with `none`.
    fn timer(&mut self, secs: f64) -> u64;
    /// Starts a task: a process that runs `spec.new(spec.args)` and whose result (or error)
    /// resolves the returned task.
    fn spawn_task(&mut self, spec: SpawnSpec) -> Result<u64, VmError>;
    /// Sends `msg` to `to` after `secs`, and then every `secs` when `repeat`; the returned
    /// task finishes after a single send, or never for a repeating one (until cancelled).
    fn send_later(&mut self, to: &ActorRef, msg: Msg, secs: f64, repeat: bool) -> Result<u64, VmError>;
    /// Cancels a task that has not finished: a running task process is stopped, a pending
    /// reply or timer is dropped, and waiting for it raises N2311. False if it had finished.
    fn cancel(&mut self, task: u64) -> bool;
    /// Nobody will wait for this task: forget its result when it finishes, and log its error.
    fn detach(&mut self, task: u64);
    /// The first of `tasks` to finish: its index and result (or error); the others keep
    /// running. `Err(suspend())` until one has finished; N2303 after `timeout` seconds.
    fn select(&mut self, tasks: &[u64], timeout: Option<f64>) -> Result<(usize, Msg), VmError>;
    /// Around a call that waits outside the runtime (a database, standard input): `true`
    /// before, `false` after, so the scheduler can run other processes on another thread
    /// meanwhile.
    fn blocking(&mut self, entering: bool);
    /// Suspends the process for `secs` (retried until the time has passed).
    fn sleep(&mut self, secs: f64) -> Result<(), VmError>;
    /// The running actor, or None in the main program.
    fn me(&mut self) -> Option<ActorRef>;
    /// Asks an actor to stop after its current message (`on_stop` runs).
    fn stop(&mut self, target: &ActorRef) -> Result<(), VmError>;
    fn is_alive(&mut self, target: &ActorRef) -> bool;
    /// Delivers a `Down` message to the caller when `target` stops.
    fn monitor(&mut self, target: &ActorRef) -> Result<(), VmError>;
    /// Links the caller and `target`: when either crashes, the other crashes too.
    fn link(&mut self, target: &ActorRef) -> Result<(), VmError>;
    fn register(&mut self, name: &str, target: &ActorRef) -> Result<(), VmError>;
    fn whereis(&mut self, name: &str) -> Option<ActorRef>;
    /// A supervisor's children (in start order) and its restart count.
    fn children(&mut self, sup: &ActorRef) -> Result<(Vec<ActorRef>, u64), VmError>;
    /// Seconds since the runtime started (virtual in deterministic mode).
    fn now(&mut self) -> f64;
}

/// The name of an actor's state type, for display.
pub fn type_name(program: &Program, ty: u16) -> &str {
    if ty == u16::MAX {
        return "Supervisor";
    }
    // the state struct of `actor Counter` is `CounterState`
    program.types.get(ty as usize).map_or("actor", |t| t.name.strip_suffix("State").unwrap_or(&t.name))
}

/// Runs `f`, which may wait outside the runtime, telling the host before and after.
pub(crate) fn blocking<T>(ctx: &mut Ctx, f: impl FnOnce(&mut Ctx) -> T) -> T {
    if let Some(h) = ctx.host.as_deref_mut() {
        h.blocking(true);
    }
    let r = f(ctx);
    if let Some(h) = ctx.host.as_deref_mut() {
        h.blocking(false);
    }
    r
}

pub(crate) fn host<'c>(ctx: &'c mut Ctx) -> Result<&'c mut (dyn Host + 'static), VmError> {
    match ctx.host.as_deref_mut() {
        Some(h) => Ok(h),
        None => Err(no_runtime()),
    }
}

fn no_runtime() -> VmError {
    VmError::new(N2305, "actors and tasks need the Noodle runtime (this VM was created without one)")
}

// ---------------------------------------------------------------------------------------------
// natives: `actor.*` (references, spawning, messages, supervision) and `task.*` (waiting)

use crate::natives::{arity, as_float, as_int, as_list, as_str};

type R = Result<Value, VmError>;

pub static NATIVES: &[(&str, crate::natives::NativeFn)] = &[
    ("actor.spawn", actor_spawn),
    ("actor.send", actor_send),
    ("actor.ask", actor_ask),
    ("actor.me", actor_me),
    ("actor.stop", actor_stop),
    ("actor.alive", actor_alive),
    ("actor.monitor", actor_monitor),
    ("actor.link", actor_link),
    ("actor.register", actor_register),
    ("actor.whereis", actor_whereis),
    ("actor.supervisor", actor_supervisor),
    ("actor.children", actor_children),
    ("actor.restarts", actor_restarts),
    ("task.wait", task_wait),
    ("task.done", task_done),
    ("task.timer", task_timer),
    ("task.gather", task_gather),
    ("task.spawn", task_spawn),
    ("task.cancel", task_cancel),
    ("task.select", task_select),
    ("task.detach", task_detach),
    ("actor.send_later", actor_send_later),
];

/// The record type that marks a task process (no actor state).
pub const TASK_TY: u16 = u16::MAX - 2;

fn bad(name: &str) -> VmError {
    VmError::bad_operand(name)
}

fn actor_ref(heap: &Heap, v: Value, name: &str) -> Result<ActorRef, VmError> {
    actor_ref_in(heap, v, name).cloned()
}

/// The reference `v` holds, borrowed from the heap.
fn actor_ref_in<'h>(heap: &'h Heap, v: Value, name: &str) -> Result<&'h ActorRef, VmError> {
    match v {
        Value::Obj(r) => match heap.get(r) {
            Obj::Actor(a) => Ok(a),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

fn task_id(heap: &Heap, v: Value, name: &str) -> Result<u64, VmError> {
    match v {
        Value::Obj(r) => match heap.get(r) {
            Obj::Task(t) => Ok(*t),
            _ => Err(bad(name)),
        },
        _ => Err(bad(name)),
    }
}

fn opt_str(heap: &Heap, v: Value, name: &str) -> Result<Option<String>, VmError> {
    match v {
        Value::None => Ok(None),
        v => Ok(Some(as_str(heap, v, name)?.to_string())),
    }
}

fn func(v: Value, name: &str) -> Result<u32, VmError> {
    match v {
        Value::Func(f) => Ok(f),
        _ => Err(bad(name)),
    }
}

/// A duration in seconds: finite and not negative.
fn seconds(v: Value, what: &str) -> Result<f64, VmError> {
    let s = as_float(v, what)?;
    if !s.is_finite() || s < 0.0 {
        return Err(VmError::arg(format!("{what} must be a finite number of seconds, not negative (got {s})")));
    }
    Ok(s)
}

fn actor_value(heap: &mut Heap, a: ActorRef) -> Value {
    heap.alloc(Obj::Actor(a))
}

/// `actor.spawn(new, receive, on_stop, ty, args, name, capacity, overflow, supervisor, restart, link)`.
/// A new process's arguments (a list) as messages.
fn export_args(heap: &Heap, list: Value, name: &str) -> Result<Vec<Msg>, VmError> {
    as_list(heap, list, name)?.iter().map(|v| export(heap, *v)).collect()
}

/// Copies of the globals a new process running these functions can reach.
fn export_globals(ctx: &mut Ctx, new: u32, receive: u32, on_stop: Option<u32>) -> Result<Arc<Vec<(u32, Msg)>>, VmError> {
    let used = host(ctx)?.globals_used(new, receive, on_stop);
    let globals = used
        .iter()
        .filter_map(|&g| match ctx.globals.get(g as usize) {
            // a global that cannot be copied (a closure) stays unset in the new process
            Some(v) if !matches!(v, Value::Undef) => export(ctx.heap, *v).ok().map(|m| (g, m)),
            _ => None,
        })
        .collect();
    Ok(Arc::new(globals))
}

fn actor_spawn(ctx: &mut Ctx, a: &[Value]) -> R {
    const N: &str = "actor.spawn";
    arity(a, 11, N)?;
    let args = export_args(ctx.heap, a[4], N)?;
    let capacity = as_int(a[6], N)?;
    if capacity < 1 {
        return Err(VmError::arg(format!("a mailbox capacity must be at least 1 (got {capacity})")));
    }
    let overflow_s = as_str(ctx.heap, a[7], N)?;
    let overflow = Overflow::parse(overflow_s).ok_or_else(|| VmError::arg(format!("unknown overflow policy `{overflow_s}` (expected \"block\", \"fail\" or \"drop_oldest\")")))?;
    let restart_s = as_str(ctx.heap, a[9], N)?;
    let restart = Restart::parse(restart_s).ok_or_else(|| VmError::arg(format!("unknown restart policy `{restart_s}` (expected \"permanent\", \"transient\" or \"temporary\")")))?;
    let supervisor = match a[8] {
        Value::None => None,
        v => Some(actor_ref(ctx.heap, v, N)?),
    };
    let (new, receive) = (func(a[0], N)?, func(a[1], N)?);
    let on_stop = match a[2] {
        Value::None => None,
        v => Some(func(v, N)?),
    };
    let spec = SpawnSpec {
        new,
        receive,
        on_stop,
        ty: u16::try_from(as_int(a[3], N)?).map_err(|_| bad(N))?,
        args,
        name: opt_str(ctx.heap, a[5], N)?,
        capacity: capacity as usize,
        overflow,
        supervisor,
        restart,
        link: matches!(a[10], Value::Bool(true)),
        globals: export_globals(ctx, new, receive, on_stop)?,
    };
    let r = host(ctx)?.spawn(spec)?;
    Ok(actor_value(ctx.heap, r))
}

fn actor_send(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 2, "actor.send")?;
    // borrowed, not cloned: a clone is an atomic add on the receiver's reference count, a
    // cache line that every sender and the receiver's own thread keep taking from each other
    let to = actor_ref_in(ctx.heap, a[0], "actor.send")?;
    let msg = export(ctx.heap, a[1])?;
    let Some(host) = ctx.host.as_deref_mut() else { return Err(no_runtime()) };
    host.send(to, msg)?;
    Ok(Value::None)
}

fn actor_ask(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 3, "actor.ask")?;
    let to = actor_ref(ctx.heap, a[0], "actor.ask")?;
    let msg = export(ctx.heap, a[1])?;
    let timeout = match a[2] {
        Value::None => None,
        v => Some(seconds(v, "an ask timeout")?),
    };
    let t = host(ctx)?.ask(&to, msg, timeout)?;
    Ok(ctx.heap.alloc(Obj::Task(t)))
}

fn actor_me(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 0, "actor.me")?;
    match host(ctx)?.me() {
        Some(r) => Ok(actor_value(ctx.heap, r)),
        None => Ok(Value::None),
    }
}

/// A native that does one thing to the actor it is given and returns none.
fn on_actor(ctx: &mut Ctx, a: &[Value], name: &str, f: fn(&mut dyn Host, &ActorRef) -> Result<(), VmError>) -> R {
    arity(a, 1, name)?;
    let to = actor_ref(ctx.heap, a[0], name)?;
    f(host(ctx)?, &to)?;
    Ok(Value::None)
}

fn actor_stop(ctx: &mut Ctx, a: &[Value]) -> R {
    on_actor(ctx, a, "actor.stop", |h, r| h.stop(r))
}

fn actor_alive(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 1, "actor.alive")?;
    let to = actor_ref(ctx.heap, a[0], "actor.alive")?;
    Ok(Value::Bool(host(ctx)?.is_alive(&to)))
}

fn actor_monitor(ctx: &mut Ctx, a: &[Value]) -> R {
    on_actor(ctx, a, "actor.monitor", |h, r| h.monitor(r))
}

fn actor_link(ctx: &mut Ctx, a: &[Value]) -> R {
    on_actor(ctx, a, "actor.link", |h, r| h.link(r))
}

fn actor_register(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 2, "actor.register")?;
    let name = as_str(ctx.heap, a[0], "actor.register")?.to_string();
    let to = actor_ref(ctx.heap, a[1], "actor.register")?;
    host(ctx)?.register(&name, &to)?;
    Ok(Value::None)
}

/// `actor.whereis(name, ty)`: the actor registered under `name` if its state type is `ty`.
fn actor_whereis(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 2, "actor.whereis")?;
    let name = as_str(ctx.heap, a[0], "actor.whereis")?.to_string();
    let ty = as_int(a[1], "actor.whereis")?;
    match host(ctx)?.whereis(&name) {
        Some(r) if r.ty as i64 == ty => Ok(actor_value(ctx.heap, r)),
        _ => Ok(Value::None),
    }
}

/// `actor.supervisor(strategy, intensity, period, name, parent)`.
fn actor_supervisor(ctx: &mut Ctx, a: &[Value]) -> R {
    const N: &str = "actor.supervisor";
    arity(a, 5, N)?;
    let s = as_str(ctx.heap, a[0], N)?;
    let strategy = Strategy::parse(s).ok_or_else(|| VmError::arg(format!("unknown supervision strategy `{s}` (expected \"one_for_one\", \"one_for_all\" or \"rest_for_one\")")))?;
    let intensity = as_int(a[1], N)?;
    if intensity < 0 {
        return Err(VmError::arg(format!("max_restarts cannot be negative (got {intensity})")));
    }
    let period = seconds(a[2], "a restart period")?;
    if period == 0.0 {
        return Err(VmError::arg("a restart period must be more than 0 seconds"));
    }
    let spec = SupervisorSpec {
        strategy,
        intensity: intensity.min(u32::MAX as i64) as u32,
        period,
        name: opt_str(ctx.heap, a[3], N)?,
        parent: match a[4] {
            Value::None => None,
            v => Some(actor_ref(ctx.heap, v, N)?),
        },
    };
    let r = host(ctx)?.supervisor(spec)?;
    Ok(actor_value(ctx.heap, r))
}

fn actor_children(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 1, "actor.children")?;
    let sup = actor_ref(ctx.heap, a[0], "actor.children")?;
    let (kids, _) = host(ctx)?.children(&sup)?;
    let items: Vec<Value> = kids.into_iter().map(|k| actor_value(ctx.heap, k)).collect();
    Ok(ctx.heap.alloc(Obj::List(items)))
}

fn actor_restarts(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 1, "actor.restarts")?;
    let sup = actor_ref(ctx.heap, a[0], "actor.restarts")?;
    let (_, n) = host(ctx)?.children(&sup)?;
    Ok(Value::Int(n as i64))
}

/// `await task`: its result, or suspends until there is one.
fn task_wait(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 1, "task.wait")?;
    let t = task_id(ctx.heap, a[0], "task.wait")?;
    let m = host(ctx)?.wait(t)?;
    Ok(import(ctx.heap, ctx.program, &m))
}

fn task_done(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 1, "task.done")?;
    let t = task_id(ctx.heap, a[0], "task.done")?;
    Ok(Value::Bool(host(ctx)?.done(t)))
}

fn task_timer(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 1, "task.timer")?;
    let secs = seconds(a[0], "a timer")?;
    let t = host(ctx)?.timer(secs);
    Ok(ctx.heap.alloc(Obj::Task(t)))
}

/// `gather(tasks)`: every result in order, once all are done; the first failure (in list
/// order) is raised.
fn task_gather(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 1, "task.gather")?;
    let ids: Vec<u64> = as_list(ctx.heap, a[0], "task.gather")?.iter().map(|v| task_id(ctx.heap, *v, "task.gather")).collect::<Result<_, _>>()?;
    let h = host(ctx)?;
    // wait for the first unfinished one; once all are done, collect without suspending
    if let Some(t) = ids.iter().find(|t| !h.done(**t)) {
        h.wait(*t)?;
    }
    let mut out = Vec::with_capacity(ids.len());
    for t in ids {
        out.push(h.wait(t)?);
    }
    let items: Vec<Value> = out.iter().map(|m| import(ctx.heap, ctx.program, m)).collect();
    Ok(ctx.heap.alloc(Obj::List(items)))
}

/// `task.spawn(func, args)`: runs `func(args...)` as a task of its own (an `async def` call or
/// `spawn f(...)`); the arguments and reachable globals are copied like a message.
fn task_spawn(ctx: &mut Ctx, a: &[Value]) -> R {
    const N: &str = "task.spawn";
    arity(a, 2, N)?;
    let f = func(a[0], N)?;
    let args = export_args(ctx.heap, a[1], N)?;
    let globals = export_globals(ctx, f, f, None)?;
    let name = ctx.program.funcs.get(f as usize).map(|x| x.name.clone());
    let spec = SpawnSpec {
        new: f,
        receive: f,
        on_stop: None,
        ty: TASK_TY,
        args,
        name,
        capacity: 1,
        overflow: Overflow::Block,
        supervisor: None,
        restart: Restart::Temporary,
        globals,
        link: false,
    };
    let t = host(ctx)?.spawn_task(spec)?;
    Ok(ctx.heap.alloc(Obj::Task(t)))
}

fn task_detach(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 1, "task.detach")?;
    let t = task_id(ctx.heap, a[0], "task.detach")?;
    host(ctx)?.detach(t);
    Ok(Value::None)
}

fn task_cancel(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 1, "task.cancel")?;
    let t = task_id(ctx.heap, a[0], "task.cancel")?;
    Ok(Value::Bool(host(ctx)?.cancel(t)))
}

/// `select(tasks, timeout)`: `(index, result)` of the first task to finish.
fn task_select(ctx: &mut Ctx, a: &[Value]) -> R {
    const N: &str = "task.select";
    arity(a, 2, N)?;
    let ids: Vec<u64> = as_list(ctx.heap, a[0], N)?.iter().map(|v| task_id(ctx.heap, *v, N)).collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Err(VmError::arg("`select` needs at least one task"));
    }
    let timeout = match a[1] {
        Value::None => None,
        v => Some(seconds(v, "a select timeout")?),
    };
    let (i, m) = host(ctx)?.select(&ids, timeout)?;
    let v = import(ctx.heap, ctx.program, &m);
    Ok(ctx.heap.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[Value::Int(i as i64), v]))))
}

/// `ref.send_after(seconds, msg)` / `ref.send_every(seconds, msg)`.
fn actor_send_later(ctx: &mut Ctx, a: &[Value]) -> R {
    const N: &str = "actor.send_later";
    arity(a, 4, N)?;
    let to = actor_ref(ctx.heap, a[0], N)?;
    let secs = seconds(a[1], "a delay")?;
    let msg = export(ctx.heap, a[2])?;
    let repeat = matches!(a[3], Value::Bool(true));
    if repeat && secs <= 0.0 {
        return Err(VmError::arg(format!("`send_every` needs a positive interval (got {secs})")));
    }
    let t = host(ctx)?.send_later(&to, msg, secs, repeat)?;
    Ok(ctx.heap.alloc(Obj::Task(t)))
}
