//! `std.actor`: the natives behind actors and tasks (`spawn`, `send`, `ask`, `await`,
//! supervisors, timers), the objects they hand to programs (actor references and tasks, both
//! native objects), and `ActorHost`, the scheduler as these natives see it. The language gives
//! actors their syntax (`actor`, `on`, `spawn`, `await`); this module is what it compiles to,
//! and `ProcHost` (process.rs) is its one implementation.
//!
//! Values cross between actors' heaps as `Msg`s (`noodle_vm::message`).

use noodle_compiler::codes::{N0200, N0244};
use noodle_native::{arity, as_float, as_int, as_list, as_str, bad, not_yet, simple, CallRule, Ctx, Flow, Heap, Module, NativeBox, NativeObject, Obj, RuleCall, Sendable, Type, Value, VmError};
use noodle_nbc::op::{KIND_ACTOR, KIND_SUPERVISOR_OFFSET};
use noodle_nbc::Program;
use crate::codes::N2305;
use noodle_vm::message::{export, import, Msg};
use noodle_vm::Key;
use std::any::Any;
use std::sync::Arc;

type R = Result<Value, VmError>;
type Poll = Result<Value, Flow>;

/// The `std.actor` module: its declarations and the functions behind them (and behind the
/// language's actor syntax).
pub fn module() -> Module {
    rules(Module::new("std.actor", include_str!("actor.noodle"))
        .function("__spawn", simple!(actor_spawn))
        .function("__send", actor_send)
        .function("__ask", actor_ask)
        .function("__stop", simple!(actor_stop))
        .function("__alive", simple!(actor_alive))
        .function("__monitor", simple!(actor_monitor))
        .function("__link", simple!(actor_link))
        .function("register", simple!(actor_register))
        .function("__whereis", simple!(actor_whereis))
        .function("supervisor", simple!(actor_supervisor))
        .function("__children", simple!(actor_children))
        .function("__restarts", simple!(actor_restarts))
        .function("__await", task_wait)
        .function("task.done", simple!(task_done))
        .function("timer", simple!(task_timer))
        .function("gather", task_gather)
        .function("__spawn_task", simple!(task_spawn))
        .function("task.cancel", simple!(task_cancel))
        .function("select", task_select)
        .function("__detach", simple!(task_detach))
        .function("__send_later", simple!(actor_send_later)))
}

/// What the checker needs beyond `actor.noodle`'s signatures: a supervisor is an actor (the
/// language's own type for it), its strategy is one of three names, and `register` takes an
/// actor reference.
fn rules(m: Module) -> Module {
    m.rule("supervisor", ActorRule(supervisor_rule)).rule("register", ActorRule(register_rule))
}

struct ActorRule(fn(&mut RuleCall) -> Option<Type>);

impl CallRule for ActorRule {
    fn check(&self, call: &mut RuleCall) -> Option<Type> {
        (self.0)(call)
    }
}

fn supervisor_rule(call: &mut RuleCall) -> Option<Type> {
    let strategy = call.arg("strategy").clone();
    if let Some(s) = strategy.text.as_deref() {
        let choices = ["one_for_one", "one_for_all", "rest_for_one"];
        if !choices.contains(&s) {
            let list: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
            call.error(N0244, format!("unknown supervision strategy \"{s}\""), strategy.span).hint(format!("expected {}", list.join(", ")));
        }
    }
    let parent = call.arg("parent").clone();
    let sup = Type::Actor(noodle_compiler::SUPERVISOR);
    if parent.given && !matches!(&parent.ty, Type::Unknown | Type::None) && parent.ty != sup && parent.ty != Type::optional(sup.clone()) {
        let shown = call.show(&parent.ty);
        call.error(N0200, format!("type mismatch: expected `actor.Supervisor?`, found `{shown}`"), parent.span).label(format!("this is `{shown}`"));
    }
    Some(sup)
}

fn register_rule(call: &mut RuleCall) -> Option<Type> {
    let r = call.arg("ref").clone();
    if !matches!(r.ty, Type::Actor(_) | Type::Unknown) {
        let shown = call.show(&r.ty);
        call.error(N0200, format!("`register` takes an actor reference, found `{shown}`"), r.span);
    }
    None
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
    /// The actor's heap limit in bytes (`spawn(max_heap: ...)`), over the run's own.
    pub max_heap: Option<usize>,
    /// The processor time the actor may use (`spawn(max_cpu: ...)`), counted afresh at each
    /// restart.
    pub max_cpu: Option<std::time::Duration>,
    /// The actor's call depth limit (`spawn(max_depth: ...)`), over the run's own.
    pub max_depth: Option<usize>,
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

/// The scheduler, as the actor natives of one process see it (the VM's own `Host` holds what
/// every module may use: streams, blocking calls, the clock, sleep). A call that cannot finish
/// yet returns `Ok(None)` (`Ok(false)` for `send`); the native then says `not_yet`, and the
/// process suspends with a wait that calls it again when the process next runs, so a blocking operation keeps its progress here,
/// in the host, not in the VM.
pub trait ActorHost {
    fn spawn(&mut self, spec: SpawnSpec) -> Result<ActorRef, VmError>;
    /// The global slots an actor with these functions may use (`Program::globals_used`),
    /// cached by the host.
    fn globals_used(&mut self, new: u32, receive: u32, on_stop: Option<u32>) -> Arc<[u32]>;
    fn supervisor(&mut self, spec: SupervisorSpec) -> Result<ActorRef, VmError>;
    fn send(&mut self, to: &ActorRef, msg: Msg) -> Result<bool, VmError>;
    /// Sends a request; the reply resolves the returned task.
    /// `timeout`: none for the run's default (`Config::ask_timeout`), infinity for none.
    fn ask(&mut self, to: &ActorRef, msg: Msg, timeout: Option<f64>) -> Result<Option<u64>, VmError>;
    /// The result of a task, or None until it is ready.
    fn wait(&mut self, task: u64) -> Result<Option<Msg>, VmError>;
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
    /// running. None until one has finished; N2303 after `timeout` seconds.
    fn select(&mut self, tasks: &[u64], timeout: Option<f64>) -> Result<Option<(usize, Msg)>, VmError>;
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
}

/// An actor reference as a Noodle value: equal (and hashed) by the actor's id, printed as
/// `<Counter #3>`, and sent to other actors as a copy of the reference.
pub struct ActorObj(pub ActorRef);

impl NativeObject for ActorObj {
    fn type_name(&self, program: &Program) -> String {
        noodle_vm::vm::actor_type_name(program, self.0.ty).to_string()
    }
    fn kind(&self) -> &'static str {
        "actor"
    }
    fn fmt(&self, program: &Program, out: &mut String) {
        out.push_str(&format!("<{} #{}>", noodle_vm::vm::actor_type_name(program, self.0.ty), self.0.id))
    }
    fn owned_bytes(&self) -> usize {
        16
    }
    fn equals(&self, other: &dyn NativeObject) -> Option<bool> {
        Some(other.downcast_ref::<ActorObj>().is_some_and(|o| o.0.id == self.0.id))
    }
    fn key(&self) -> Option<Key> {
        Some(Key::Native("actor", self.0.id))
    }
    /// `x is Counter` (`KIND_ACTOR` + the state's record type) or `x is actor.Supervisor`.
    fn is_kind(&self, _: &Program, kind: u16) -> bool {
        kind >= KIND_ACTOR && (self.0.ty == kind - KIND_ACTOR || (self.0.ty == u16::MAX && kind - KIND_ACTOR == KIND_SUPERVISOR_OFFSET))
    }
    fn send(&self, _: &Program) -> Result<Box<dyn Sendable>, VmError> {
        Ok(Box::new(SentActor(self.0.clone())))
    }
}

#[derive(Debug)]
struct SentActor(ActorRef);

impl Sendable for SentActor {
    fn receive(&self) -> NativeBox {
        NativeBox::new(ActorObj(self.0.clone()))
    }
}

/// A task of this process (an `ask` waiting for its reply, a timer, a task process), by the
/// host's id. It stays with its process: it cannot be sent.
pub struct TaskObj(pub u64);

impl NativeObject for TaskObj {
    fn type_name(&self, _: &Program) -> String {
        "task".into()
    }
    fn kind(&self) -> &'static str {
        "task"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&format!("<task #{}>", self.0))
    }
    fn owned_bytes(&self) -> usize {
        16
    }
    fn equals(&self, other: &dyn NativeObject) -> Option<bool> {
        Some(other.downcast_ref::<TaskObj>().is_some_and(|o| o.0 == self.0))
    }
}

/// The actor host of the running process, or N2305 when there is no runtime.
fn actor_host<'c>(host: Option<&'c mut (dyn noodle_native::Host + 'static)>) -> Result<&'c mut dyn ActorHost, VmError> {
    // upcast to Any (one virtual call for the type id)
    match host.and_then(|h| (h as &mut dyn Any).downcast_mut::<crate::process::ProcHost>()) {
        Some(h) => Ok(h),
        None => Err(no_runtime()),
    }
}

fn host<'c>(ctx: &'c mut Ctx) -> Result<&'c mut dyn ActorHost, VmError> {
    actor_host(ctx.host.as_deref_mut())
}

fn no_runtime() -> VmError {
    VmError::new(N2305, "actors and tasks need the Noodle runtime (this VM was created without one)")
}


/// The record type that marks a task process (no actor state).
pub const TASK_TY: u16 = u16::MAX - 2;

fn actor_ref(heap: &Heap, v: Value, name: &str) -> Result<ActorRef, VmError> {
    actor_ref_in(heap, v, name).cloned()
}

/// The reference `v` holds, borrowed from the heap.
fn actor_ref_in<'h>(heap: &'h Heap, v: Value, name: &str) -> Result<&'h ActorRef, VmError> {
    heap.native::<ActorObj>(v).map(|a| &a.0).ok_or_else(|| bad(name))
}

fn task_id(heap: &Heap, v: Value, name: &str) -> Result<u64, VmError> {
    heap.native::<TaskObj>(v).map(|t| t.0).ok_or_else(|| bad(name))
}

fn task_value(heap: &mut Heap, t: u64) -> Value {
    heap.alloc(Obj::Native(NativeBox::new(TaskObj(t))))
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
    heap.alloc(Obj::Native(NativeBox::new(ActorObj(a))))
}

/// `actor.spawn(new, receive, on_stop, ty, args, name, capacity, overflow, supervisor, restart, link, max_heap)`.
/// A new process's arguments (a list) as messages.
fn export_args(heap: &Heap, program: &Program, list: Value, name: &str) -> Result<Vec<Msg>, VmError> {
    as_list(heap, list, name)?.iter().map(|v| export(heap, program, v)).collect()
}

/// Copies of the globals a new process running these functions can reach.
fn export_globals(ctx: &mut Ctx, new: u32, receive: u32, on_stop: Option<u32>) -> Result<Arc<Vec<(u32, Msg)>>, VmError> {
    let used = host(ctx)?.globals_used(new, receive, on_stop);
    let globals = used
        .iter()
        .filter_map(|&g| match ctx.globals.get(g as usize) {
            // a global that cannot be copied (a closure) stays unset in the new process
            Some(v) if !matches!(v, Value::Undef) => export(ctx.heap, ctx.program, *v).ok().map(|m| (g, m)),
            _ => None,
        })
        .collect();
    Ok(Arc::new(globals))
}

fn actor_spawn(ctx: &mut Ctx, a: &[Value]) -> R {
    const N: &str = "actor.spawn";
    arity(a, 14, N)?;
    let max_depth = match a[13] {
        Value::None => None,
        v => {
            let n = as_int(v, N)?;
            if !(1..=10_000).contains(&n) {
                return Err(VmError::arg(format!("max_depth must be a number of calls from 1 to 10000 (got {n})")));
            }
            Some(n as usize)
        }
    };
    let max_cpu = match a[12] {
        Value::None => None,
        v => {
            let s = as_float(v, N)?;
            if !(s > 0.0 && s <= 1e9) {
                return Err(VmError::arg(format!("max_cpu must be a number of seconds, more than 0 and at most 1e9 (got {s})")));
            }
            Some(std::time::Duration::from_secs_f64(s))
        }
    };
    let max_heap = match a[11] {
        Value::None => None,
        v => {
            let n = as_int(v, N)?;
            if n < 1 {
                return Err(VmError::arg(format!("max_heap must be a positive number of bytes (got {n})")));
            }
            Some(n as usize)
        }
    };
    let args = export_args(ctx.heap, ctx.program, a[4], N)?;
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
        max_heap,
        max_cpu,
        max_depth,
    };
    let r = host(ctx)?.spawn(spec)?;
    Ok(actor_value(ctx.heap, r))
}

fn actor_send(ctx: &mut Ctx, a: &[Value]) -> Poll {
    arity(a, 2, "actor.send")?;
    // borrowed, not cloned: a clone is an atomic add on the receiver's reference count, a
    // cache line that every sender and the receiver's own thread keep taking from each other
    let to = actor_ref_in(ctx.heap, a[0], "actor.send")?;
    let msg = export(ctx.heap, ctx.program, a[1])?;
    let host = actor_host(ctx.host.as_deref_mut())?;
    match host.send(to, msg)? {
        true => Ok(Value::None),
        false => not_yet(actor_send, a),
    }
}

fn actor_ask(ctx: &mut Ctx, a: &[Value]) -> Poll {
    arity(a, 3, "actor.ask")?;
    // borrowed, not cloned (see `actor_send`)
    let to = actor_ref_in(ctx.heap, a[0], "actor.ask")?;
    let msg = export(ctx.heap, ctx.program, a[1])?;
    // `inf` waits until answered, also under a run's `--ask-timeout`
    let timeout = match a[2] {
        Value::None => None,
        Value::Float(f) if f == f64::INFINITY => Some(f),
        v => {
            let s = as_float(v, "an ask timeout")?;
            if !(s >= 0.0) {
                return Err(VmError::arg(format!("an ask timeout must be a number of seconds, not negative, or `math.inf` for none (got {s})")).into());
            }
            Some(s)
        }
    };
    let Some(t) = actor_host(ctx.host.as_deref_mut())?.ask(to, msg, timeout)? else { return not_yet(actor_ask, a) };
    Ok(task_value(ctx.heap, t))
}


/// A native that does one thing to the actor it is given and returns none.
fn on_actor(ctx: &mut Ctx, a: &[Value], name: &str, f: fn(&mut dyn ActorHost, &ActorRef) -> Result<(), VmError>) -> R {
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
    Ok(ctx.heap.alloc(Obj::List(items.into())))
}

fn actor_restarts(ctx: &mut Ctx, a: &[Value]) -> R {
    arity(a, 1, "actor.restarts")?;
    let sup = actor_ref(ctx.heap, a[0], "actor.restarts")?;
    let (_, n) = host(ctx)?.children(&sup)?;
    Ok(Value::Int(n as i64))
}

/// `await task`: its result, or suspends until there is one.
fn task_wait(ctx: &mut Ctx, a: &[Value]) -> Poll {
    arity(a, 1, "actor.await")?;
    let t = task_id(ctx.heap, a[0], "actor.await")?;
    let Some(m) = host(ctx)?.wait(t)? else { return not_yet(task_wait, a) };
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
    Ok(task_value(ctx.heap, t))
}

/// `gather(tasks)`: every result in order, once all are done; the first failure (in list
/// order) is raised.
fn task_gather(ctx: &mut Ctx, a: &[Value]) -> Poll {
    arity(a, 1, "task.gather")?;
    let ids: Vec<u64> = as_list(ctx.heap, a[0], "task.gather")?.iter().map(|v| task_id(ctx.heap, v, "task.gather")).collect::<Result<_, _>>()?;
    let h = host(ctx)?;
    // wait for the first unfinished one; once all are done, collect without suspending
    if let Some(t) = ids.iter().find(|t| !h.done(**t)) {
        if h.wait(*t)?.is_none() {
            return not_yet(task_gather, a);
        }
    }
    let mut out = Vec::with_capacity(ids.len());
    for t in ids {
        match h.wait(t)? {
            Some(m) => out.push(m),
            None => return not_yet(task_gather, a),
        }
    }
    let items: Vec<Value> = out.iter().map(|m| import(ctx.heap, ctx.program, m)).collect();
    Ok(ctx.heap.alloc(Obj::List(items.into())))
}

/// `task.spawn(func, args)`: runs `func(args...)` as a task of its own (an `async def` call or
/// `spawn f(...)`); the arguments and reachable globals are copied like a message.
fn task_spawn(ctx: &mut Ctx, a: &[Value]) -> R {
    const N: &str = "task.spawn";
    arity(a, 2, N)?;
    let f = func(a[0], N)?;
    let args = export_args(ctx.heap, ctx.program, a[1], N)?;
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
        max_heap: None,
        max_cpu: None,
        max_depth: None,
    };
    let t = host(ctx)?.spawn_task(spec)?;
    Ok(task_value(ctx.heap, t))
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
fn task_select(ctx: &mut Ctx, a: &[Value]) -> Poll {
    const N: &str = "task.select";
    arity(a, 2, N)?;
    let ids: Vec<u64> = as_list(ctx.heap, a[0], N)?.iter().map(|v| task_id(ctx.heap, v, N)).collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Err(VmError::arg("`select` needs at least one task").into());
    }
    let timeout = match a[1] {
        Value::None => None,
        v => Some(seconds(v, "a select timeout")?),
    };
    let Some((i, m)) = host(ctx)?.select(&ids, timeout)? else { return not_yet(task_select, a) };
    let v = import(ctx.heap, ctx.program, &m);
    Ok(ctx.heap.alloc(Obj::Tuple(noodle_vm::value::Fields::from_slice(&[Value::Int(i as i64), v]))))
}

/// `ref.send_after(seconds, msg)` / `ref.send_every(seconds, msg)`.
fn actor_send_later(ctx: &mut Ctx, a: &[Value]) -> R {
    const N: &str = "actor.send_later";
    arity(a, 4, N)?;
    let to = actor_ref(ctx.heap, a[0], N)?;
    let secs = seconds(a[1], "a delay")?;
    let msg = export(ctx.heap, ctx.program, a[2])?;
    let repeat = matches!(a[3], Value::Bool(true));
    if repeat && secs <= 0.0 {
        return Err(VmError::arg(format!("`send_every` needs a positive interval (got {secs})")));
    }
    let t = host(ctx)?.send_later(&to, msg, secs, repeat)?;
    Ok(task_value(ctx.heap, t))
}
