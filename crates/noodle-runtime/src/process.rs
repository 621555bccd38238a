//! Processes (the main program, actors, supervisors), their inboxes, and the `Host` that the
//! actor natives of one process talk to.

use crate::codes::{N2302, N2303, N2304, N2306, N2307, N2309, N2310, N2311, N2313};
use crate::supervisor::{self, Sup};
use crate::Shared;
use crate::actor::{self, ActorHost, ActorRef, Overflow, SpawnSpec, SupervisorSpec};
use noodle_vm::message::Msg;
use noodle_vm::native::{Host, IoWait};
use noodle_vm::vm::{render_trace, TraceFrame, Uncaught, AWAITED};
use noodle_vm::{RunState, Value, Vm, VmError};
use std::any::Any;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Messages handled before a process yields even if it has budget left.
const MESSAGES_PER_SLICE: usize = 128;

/// Why a process ended.
#[derive(Clone, Debug)]
pub(crate) enum Reason {
    /// Its work was done (or `stop` was asked for).
    Normal,
    /// Stopped by its supervisor or at the end of the program.
    Shutdown,
    Crashed { code: String, message: String },
}

impl Reason {
    pub(crate) fn text(&self) -> String {
        match self {
            Reason::Normal => "normal".into(),
            Reason::Shutdown => "shutdown".into(),
            Reason::Crashed { code, message } => format!("crashed: error[{code}]: {message}"),
        }
    }
    pub(crate) fn code(&self) -> &str {
        match self {
            Reason::Crashed { code, .. } => code,
            _ => "",
        }
    }
}

/// Control messages: applied before any ordinary message, never subject to the capacity.
pub(crate) enum Sys {
    Reply { task: u64, result: Result<Msg, VmError> },
    Timer { task: u64 },
    /// A mailbox this process was blocked on has room again.
    Wake,
    /// Stop after the current message (`stop(ref)`).
    Stop,
    /// Stop now (the supervisor or the end of the program).
    Shutdown,
    /// A linked process crashed: the message of the N2309 error it causes here.
    Exit(String),
    /// For supervisors: a child ended.
    ChildExit { id: u64, reason: Reason },
    /// For supervisors: a child started under it (boxed: the largest variant by far, and
    /// every control message is the size of the largest).
    Adopt(Box<supervisor::Child>),
}

pub(crate) struct Envelope {
    pub msg: Msg,
    pub reply: Option<(Arc<Cell>, u64)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Watch {
    Monitor,
    Link,
    /// The supervisor of this process.
    Parent,
    /// A sender waiting for room in this mailbox (overflow "block"); woken, not told of the
    /// end.
    Sender,
}

pub(crate) struct Inbox {
    user: VecDeque<Envelope>,
    sys: VecDeque<Sys>,
    /// Who hears of this process: monitors, links, its supervisor, and blocked senders (in
    /// the order they blocked). One list, as most processes have none.
    pub(crate) watchers: Vec<(Arc<Cell>, Watch)>,
    /// The process itself while it waits for something.
    parked: Option<Box<Process>>,
    /// The parked process is inside a call (waiting on a task): only control messages wake it.
    in_call: bool,
    closed: bool,
}

impl Inbox {
    fn runnable(&self) -> bool {
        !self.sys.is_empty() || (!self.in_call && !self.user.is_empty())
    }
}

/// The shared part of a process: what other processes (and references) reach.
pub(crate) struct Cell {
    pub id: u64,
    pub ty: u16,
    pub is_main: bool,
    pub name: Option<Box<str>>,
    capacity: usize,
    overflow: Overflow,
    pub(crate) inbox: Mutex<Inbox>,
    pub dead: AtomicBool,
    /// Stopping: crashed or told to stop, `on_stop` may still be running. `alive()` is false
    /// from here on, so whoever got the crash as an error sees it stopped.
    exiting: AtomicBool,
    /// Set (under the inbox lock) when a control message is queued, cleared when they are taken.
    has_sys: AtomicBool,
    /// Its index in the runtime's `CellTable`.
    slot: AtomicU32,
    /// For supervisors, what others may read of their state (boxed: most cells are actors,
    /// and an idle actor's size is what a million of them cost).
    pub(crate) sup: Mutex<Option<Box<SupView>>>,
    /// Odd while the process is parked waiting for another (by id and `CellTable` slot) in
    /// an await that has no timeout or a send to a full mailbox; changed at every start and
    /// end of such a wait (see `ProcHost::wait_on`).
    wait_seq: AtomicU64,
    waits_for: AtomicU64,
    waits_for_slot: AtomicU32,
}

/// Every process not yet ended (for the shutdown at the end of the program): a slab, which
/// costs a third of what a map from id to cell does per actor and needs no hashing.
#[derive(Default)]
pub(crate) struct CellTable {
    slots: Vec<Option<Arc<Cell>>>,
    free: Vec<u32>,
}

impl CellTable {
    pub(crate) fn insert(&mut self, cell: Arc<Cell>) {
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        cell.slot.store(i, Ordering::Relaxed);
        self.slots[i as usize] = Some(cell);
    }

    /// The live process in `slot`, if it is still the one with `id`.
    pub(crate) fn get(&self, slot: u32, id: u64) -> Option<Arc<Cell>> {
        self.slots.get(slot as usize)?.as_ref().filter(|c| c.id == id).cloned()
    }

    pub(crate) fn remove(&mut self, cell: &Arc<Cell>) {
        let i = cell.slot.load(Ordering::Relaxed);
        if let Some(entry) = self.slots.get_mut(i as usize) {
            if entry.as_ref().is_some_and(|c| Arc::ptr_eq(c, cell)) {
                *entry = None;
                self.free.push(i);
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn cells(&self) -> impl Iterator<Item = &Arc<Cell>> {
        self.slots.iter().flatten()
    }

    pub(crate) fn clear(&mut self) {
        self.slots.clear();
        self.free.clear();
    }
}

/// A supervisor's state as others see it.
#[derive(Default)]
pub(crate) struct SupView {
    /// The running children.
    pub children: Vec<ActorRef>,
    /// Restarts so far.
    pub restarts: u64,
    /// How to start each current child again (read by its own supervisor when it restarts
    /// this one).
    pub specs: Vec<supervisor::ChildKind>,
}

impl Cell {
    pub(crate) fn new(id: u64, ty: u16, name: Option<Box<str>>, capacity: usize, overflow: Overflow, is_main: bool) -> Cell {
        Cell {
            id,
            ty,
            is_main,
            name,
            capacity,
            overflow,
            inbox: Mutex::new(Inbox { user: VecDeque::new(), sys: VecDeque::new(), watchers: Vec::new(), parked: None, in_call: false, closed: false }),
            dead: AtomicBool::new(false),
            exiting: AtomicBool::new(false),
            has_sys: AtomicBool::new(false),
            slot: AtomicU32::new(u32::MAX),
            sup: Mutex::new(None),
            wait_seq: AtomicU64::new(0),
            waits_for: AtomicU64::new(0),
            waits_for_slot: AtomicU32::new(u32::MAX),
        }
    }

    pub(crate) fn reference(self: &Arc<Self>) -> ActorRef {
        ActorRef { id: self.id, ty: self.ty, cell: self.clone() }
    }

    /// "Worker #3" or "Worker #3 (\"w1\")", for logs and `Down` messages.
    pub(crate) fn describe(&self, program: &noodle_nbc::Program) -> String {
        if self.is_main {
            return "main".into();
        }
        if self.ty == actor::TASK_TY {
            return format!("task {} #{}", self.name.as_deref().unwrap_or("?"), self.id);
        }
        let base = format!("{} #{}", noodle_vm::vm::actor_type_name(program, self.ty), self.id);
        match &self.name {
            Some(n) => format!("{base} (\"{n}\")"),
            None => base,
        }
    }

    /// Takes main out of its inbox whatever it waits for (to report a deadlock).
    pub(crate) fn take_parked_main(&self) -> Option<Box<Process>> {
        self.inbox.lock().unwrap().parked.take()
    }
}

/// Whether the actor behind a reference has stopped.
fn is_dead(r: &ActorRef) -> bool {
    r.cell.downcast_ref::<Cell>().is_some_and(|c| c.dead.load(Ordering::SeqCst))
}

/// The `Down` message a monitor of `cell` receives, if the program has the `Down` type.
fn down_message(shared: &Shared, cell: &Cell, reason: &str, code: &str) -> Option<Msg> {
    let ty = shared.down_ty?;
    let who = cell.describe(shared.template().program());
    Some(Msg::Record { ty, fields: vec![Msg::Int(cell.id as i64), Msg::Str(who.into()), Msg::Str(reason.into()), Msg::Str(code.into())] })
}

fn cell_of(r: &ActorRef) -> Result<Arc<Cell>, VmError> {
    r.cell.clone().downcast::<Cell>().map_err(|_| foreign_ref())
}

fn foreign_ref() -> VmError {
    VmError::new(N2303, "this actor reference belongs to another runtime")
}

/// Makes a parked process runnable (under its inbox lock).
fn wake_locked(shared: &Arc<Shared>, ib: &mut Inbox) {
    if !ib.runnable() || ib.parked.is_none() {
        return;
    }
    if let Some(p) = ib.parked.take() {
        shared.schedule(p, false);
    }
}

/// Parks a process that has nothing to do yet (a new supervisor).
pub(crate) fn park_new(p: Box<Process>) {
    let cell = p.cell.clone();
    cell.inbox.lock().unwrap().parked = Some(p);
}

pub(crate) fn deliver_sys(shared: &Arc<Shared>, cell: &Cell, s: Sys) {
    let mut ib = cell.inbox.lock().unwrap();
    if ib.closed {
        return;
    }
    ib.sys.push_back(s);
    cell.has_sys.store(true, Ordering::Release);
    wake_locked(shared, &mut ib);
}

pub(crate) enum Delivery {
    Done,
    Dead,
    /// Full and the policy is "block": `sender` is registered to be woken.
    Blocked,
    Full,
}

/// Puts an ordinary message in `cell`'s mailbox, applying its capacity and overflow policy.
pub(crate) fn deliver(shared: &Arc<Shared>, cell: &Cell, env: Envelope, sender: Option<&Arc<Cell>>) -> Delivery {
    let mut ib = cell.inbox.lock().unwrap();
    if ib.closed {
        return Delivery::Dead;
    }
    if ib.user.len() >= cell.capacity {
        match cell.overflow {
            Overflow::Fail => return Delivery::Full,
            // the runtime itself (a `Down` notice, with no sender) never waits
            Overflow::Block => {
                if let Some(s) = sender {
                    if !ib.watchers.iter().any(|(b, w)| *w == Watch::Sender && b.id == s.id) {
                        ib.watchers.push((s.clone(), Watch::Sender));
                    }
                    return Delivery::Blocked;
                }
            }
            Overflow::DropOldest => {
                if let Some(old) = ib.user.pop_front() {
                    if let Some((to, task)) = old.reply {
                        deliver_sys(shared, &to, Sys::Reply { task, result: Err(VmError::new(N2304, "the request was dropped from a full mailbox (overflow \"drop_oldest\")")) });
                    }
                }
            }
        }
    }
    ib.user.push_back(env);
    wake_locked(shared, &mut ib);
    Delivery::Done
}

enum Kind {
    Main,
    /// An actor keeps only its handlers: the spawn's recipe is used up when its process is
    /// made (a supervisor keeps its own copy for restarts).
    Actor { receive: u32, on_stop: Option<u32> },
    /// A task: runs `spec.new(spec.args)` once; its result answers `reply`.
    Task,
    Supervisor(Box<Sup>),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    /// `new` could not even begin (only hand-made bytecode): crashes with `reason` when run.
    Start,
    /// Running `new`.
    Starting,
    Idle,
    Handling,
    /// Running `on_stop`.
    Stopping,
}

pub(crate) struct Process {
    pub cell: Arc<Cell>,
    vm: Option<Vm>,
    kind: Kind,
    phase: Phase,
    /// Who asked the message being handled.
    reply: Option<(Arc<Cell>, u64)>,
    /// Set by `stop`: end after the current message.
    stop_requested: bool,
    /// Why the process is stopping (while `on_stop` runs).
    reason: Option<Box<Reason>>,
    /// The actor's processor time limit and what it has used (`spawn(max_cpu: ...)`).
    cpu: Option<Box<CpuUse>>,
}

struct CpuUse {
    max: std::time::Duration,
    used: std::time::Duration,
}

impl Process {
    pub(crate) fn main(cell: Arc<Cell>, vm: Vm) -> Process {
        Process { cell, vm: Some(vm), kind: Kind::Main, phase: Phase::Handling, reply: None, stop_requested: false, reason: None, cpu: None }
    }

    pub(crate) fn supervisor(cell: Arc<Cell>, sup: Sup) -> Process {
        Process { cell, vm: None, kind: Kind::Supervisor(Box::new(sup)), phase: Phase::Idle, reply: None, stop_requested: false, reason: None, cpu: None }
    }

    pub(crate) fn supervisor_mut(&mut self) -> &mut Sup {
        match &mut self.kind {
            Kind::Supervisor(s) => s,
            _ => unreachable!("not a supervisor"),
        }
    }

    fn vm(&mut self) -> &mut Vm {
        self.vm.as_mut().expect("an actor process has a VM")
    }
}

/// Starts an actor process for `spec` in `cell`.
pub(crate) fn start_actor(shared: &Arc<Shared>, spec: &SpawnSpec, cell: Arc<Cell>) {
    let p = prepare(shared, spec, cell, Kind::Actor { receive: spec.receive, on_stop: spec.on_stop }, None);
    shared.schedule(p, false);
}

/// Starts a task process; its result goes to task `task` of `parent`.
fn start_task(shared: &Arc<Shared>, spec: &SpawnSpec, cell: Arc<Cell>, parent: Arc<Cell>, task: u64) {
    let p = prepare(shared, spec, cell, Kind::Task, Some((parent, task)));
    shared.schedule(p, false);
}

/// A new process with `new` already called, on the spawning thread: its globals, arguments,
/// registers and frame are allocated here, so the thread that runs it frees nothing the
/// spawner allocated (with glibc's malloc, such frees take the spawner's arena lock, and cost
/// more than the spawn itself when another thread runs the new actors).
fn prepare(shared: &Arc<Shared>, spec: &SpawnSpec, cell: Arc<Cell>, kind: Kind, reply: Option<(Arc<Cell>, u64)>) -> Box<Process> {
    // read first: a program changed meanwhile is adopted before the first message
    let generation = shared.generation.load(Ordering::Acquire);
    let mut vm = shared.template().instantiate(&spec.globals, None);
    let mut limits = shared.config.limits;
    if let Some(h) = spec.max_heap {
        limits.max_heap = Some(h);
    }
    if let Some(d) = spec.max_depth {
        limits.max_depth = Some(d);
    }
    if limits != noodle_vm::Limits::default() {
        vm.set_limits(limits);
    }
    let mut host = ProcHost::new(shared.clone(), cell.clone());
    host.generation = generation;
    vm.host = Some(Box::new(host));
    let args: Vec<Value> = {
        let (heap, program) = vm.heap_and_program();
        spec.args.iter().map(|m| noodle_vm::message::import(heap, program, m)).collect()
    };
    let (phase, reason) = match vm.begin_call(spec.new, &args) {
        Ok(()) => (Phase::Starting, None),
        // only hand-made bytecode gets here: the process crashes when it first runs
        Err(u) => (Phase::Start, Some(Box::new(Reason::Crashed { code: u.code, message: u.message }))),
    };
    shared.cells.lock().unwrap().insert(cell.clone());
    let cpu = spec.max_cpu.map(|max| Box::new(CpuUse { max, used: std::time::Duration::ZERO }));
    Box::new(Process { cell, vm: Some(vm), kind, phase, reply, stop_requested: false, reason, cpu })
}

pub(crate) fn new_cell(shared: &Arc<Shared>, spec: &SpawnSpec) -> Arc<Cell> {
    Arc::new(Cell::new(shared.new_id(), spec.ty, spec.name.as_deref().map(Box::from), spec.capacity, spec.overflow, false))
}

pub(crate) fn take_sys(cell: &Cell) -> VecDeque<Sys> {
    // checked without the lock first: a message between every control message is the
    // common case. One that arrives just after is taken on the next turn, or by `park`,
    // which looks under the lock.
    if !cell.has_sys.load(Ordering::Acquire) {
        return VecDeque::new();
    }
    let mut ib = cell.inbox.lock().unwrap();
    cell.has_sys.store(false, Ordering::Relaxed);
    std::mem::take(&mut ib.sys)
}

/// Parks `p` in its inbox unless something arrived meanwhile; returns it back if so.
pub(crate) fn park(p: Box<Process>) -> Option<Box<Process>> {
    let cell = p.cell.clone();
    let mut ib = cell.inbox.lock().unwrap();
    ib.in_call = p.vm.as_ref().is_some_and(|vm| vm.is_running());
    if ib.runnable() {
        return Some(p);
    }
    ib.parked = Some(p);
    None
}

fn reply(shared: &Arc<Shared>, to: Option<(Arc<Cell>, u64)>, result: Result<Msg, VmError>) {
    if let Some((cell, task)) = to {
        deliver_sys(shared, &cell, Sys::Reply { task, result });
    }
}

fn log_crash(shared: &Shared, who: &str, u: &Uncaught) {
    shared.log(&format!("error[{}] in actor {who}: {}\n{}", u.code, u.message, render_trace(&u.trace)));
}

/// Moves an idle actor to the program a later run of main loaded (a REPL's later input), so
/// that a message can hold values of types declared since it started.
fn follow_program(shared: &Shared, p: &mut Process) {
    let generation = shared.generation.load(Ordering::Acquire);
    if host_of(p).generation == generation {
        return;
    }
    let template = shared.template();
    if p.vm().adopt(&template) {
        host_of(p).generation = generation;
    }
}

/// A message left the mailbox `ib` locks: one sender blocked on it (overflow "block") is
/// woken to try again.
fn room_for_one(shared: &Arc<Shared>, mut ib: std::sync::MutexGuard<'_, Inbox>) {
    if let Some(i) = ib.watchers.iter().position(|(_, w)| *w == Watch::Sender) {
        let (b, _) = ib.watchers.remove(i);
        drop(ib);
        deliver_sys(shared, &b, Sys::Wake);
    }
}

/// Runs one slice of an actor or supervisor.
pub(crate) fn run_slice(shared: &Arc<Shared>, mut p: Box<Process>) {
    if let Kind::Supervisor(_) = p.kind {
        supervisor::run_slice(shared, p);
        return;
    }
    let mut handled = 0;
    loop {
        for s in take_sys(&p.cell) {
            apply(shared, &mut p, s);
        }
        if p.cpu.as_ref().is_some_and(|c| c.used > c.max) && p.reason.is_none() && p.phase != Phase::Stopping {
            let max = p.cpu.as_ref().map_or(0.0, |c| c.max.as_secs_f64());
            let u = Uncaught { code: N2313.into(), message: format!("the actor used the processor time it was given ({max} s, max_cpu at spawn)"), trace: vec![], value: None, exit: None };
            match crash(shared, p, u) {
                Some(back) => p = back,
                None => return,
            }
            continue;
        }
        if p.phase == Phase::Idle && p.reason.is_some() {
            // a shutdown or crash was applied while idle: run on_stop (or die)
            let reason = *p.reason.take().unwrap();
            match begin_stop(shared, p, reason) {
                Some(back) => p = back,
                None => return,
            }
        }
        match p.phase {
            Phase::Start => {
                let (code, message) = match p.reason.take().map(|r| *r) {
                    Some(Reason::Crashed { code, message }) => (code, message),
                    _ => unreachable!("a process in Start has the reason its `new` could not begin"),
                };
                match crash(shared, p, Uncaught { code, message, trace: vec![], value: None, exit: None }) {
                    Some(back) => p = back,
                    None => return,
                }
                continue;
            }
            Phase::Idle => {
                if p.stop_requested {
                    match begin_stop(shared, p, Reason::Normal) {
                        Some(back) => p = back,
                        None => return,
                    }
                } else {
                    if handled >= MESSAGES_PER_SLICE {
                        if !shared.may_go_on() {
                            shared.schedule(p, true);
                            return;
                        }
                        handled = 0;
                    }
                    let env = {
                        let mut ib = p.cell.inbox.lock().unwrap();
                        let env = ib.user.pop_front();
                        if env.is_some() {
                            room_for_one(shared, ib);
                        }
                        env
                    };
                    let Some(env) = env else {
                        if let Some(back) = park(p) {
                            p = back;
                            continue;
                        }
                        return;
                    };
                    let Kind::Actor { receive, .. } = p.kind else { unreachable!() };
                    // only a REPL's later inputs change the program
                    if shared.generation.load(Ordering::Relaxed) != 0 {
                        follow_program(shared, &mut p);
                    }
                    let vm = p.vm();
                    let state = vm.root;
                    let (heap, program) = vm.heap_and_program();
                    let msg = noodle_vm::message::import(heap, program, &env.msg);
                    drop(env.msg);
                    if let Err(u) = vm.begin_call(receive, &[state, msg]) {
                        reply(shared, env.reply, Err(VmError::new(N2302, u.message.clone())));
                        match crash(shared, p, u) {
                            Some(back) => p = back,
                            None => return,
                        }
                        continue;
                    }
                    p.reply = env.reply;
                    p.phase = Phase::Handling;
                }
            }
            Phase::Starting | Phase::Handling | Phase::Stopping => {}
        }
        let budget = shared.config.budget;
        resumed(&p.cell);
        let started = p.cpu.is_some().then(crate::thread_cpu_time);
        let state = p.vm().run(Some(budget));
        if let (Some(t0), Some(c)) = (started, p.cpu.as_mut()) {
            // checked at the top of the loop, whatever this slice ended in
            c.used += crate::thread_cpu_time().saturating_sub(t0);
        }
        match state {
            RunState::Finished(v) => match p.phase {
                Phase::Starting if matches!(p.kind, Kind::Task) => {
                    let to = p.reply.take();
                    let vm = p.vm();
                    let r = noodle_vm::message::export(&vm.heap, vm.program(), v);
                    reply(shared, to, r);
                    die(shared, p, Reason::Normal);
                    return;
                }
                Phase::Starting => {
                    p.vm().root = v;
                    p.phase = Phase::Idle;
                }
                Phase::Handling => {
                    let to = p.reply.take();
                    if to.is_some() {
                        let vm = p.vm();
                        let r = noodle_vm::message::export(&vm.heap, vm.program(), v);
                        reply(shared, to, r);
                    }
                    p.phase = Phase::Idle;
                    handled += 1;
                }
                Phase::Stopping => {
                    let reason = p.reason.take().map_or(Reason::Normal, |r| *r);
                    die(shared, p, reason);
                    return;
                }
                _ => unreachable!(),
            },
            RunState::Paused => {
                if shared.may_go_on() {
                    continue;
                }
                shared.schedule(p, true);
                return;
            }
            RunState::Suspended => {
                if let Some(back) = park(p) {
                    p = back;
                    continue;
                }
                return;
            }
            RunState::Error(u) => {
                if let Some(status) = u.exit {
                    // `std.os.exit` ends the whole program, not just this process
                    shared.request_exit(status);
                    die(shared, p, Reason::Shutdown);
                    return;
                }
                if p.phase == Phase::Stopping {
                    let who = p.cell.describe(shared.template().program());
                    log_crash(shared, &format!("{who} (in on_stop)"), &u);
                    let reason = p.reason.take().map_or(Reason::Normal, |r| *r);
                    die(shared, p, reason);
                    return;
                }
                match crash(shared, p, u) {
                    Some(back) => p = back,
                    None => return,
                }
            }
        }
    }
}

/// An uncaught error in `new` or a handler: log it, answer the asker, and start `on_stop`
/// (the process comes back to run it) or die.
fn crash(shared: &Arc<Shared>, mut p: Box<Process>, u: Uncaught) -> Option<Box<Process>> {
    if matches!(p.kind, Kind::Task) {
        // a task's error is its result: `await` raises it, with its own code
        p.cell.exiting.store(true, Ordering::SeqCst);
        let to = p.reply.take();
        let mut e = VmError::with_code(&u.code, u.message.clone());
        e.value = u.value.map(Box::new);
        let mut trace = u.trace;
        trace.push(TraceFrame { function: p.cell.describe(shared.template().program()), file: AWAITED.into(), line: 0, col: 0 });
        e.trace = Some(Box::new(trace));
        reply(shared, to, Err(e));
        p.vm().abort();
        die(shared, p, Reason::Crashed { code: u.code, message: u.message });
        return None;
    }
    let who = p.cell.describe(shared.template().program());
    log_crash(shared, &who, &u);
    p.cell.exiting.store(true, Ordering::SeqCst);
    let to = p.reply.take();
    reply(shared, to, Err(VmError::new(N2302, format!("actor {who} crashed while handling the request: error[{}]: {}", u.code, u.message))));
    p.vm().abort();
    let reason = Reason::Crashed { code: u.code, message: u.message };
    if p.phase == Phase::Starting || p.phase == Phase::Start {
        // no state to clean up
        die(shared, p, reason);
        return None;
    }
    p.phase = Phase::Idle;
    begin_stop(shared, p, reason)
}

/// Starts `on_stop` (the process comes back to run it) or dies at once (None).
fn begin_stop(shared: &Arc<Shared>, mut p: Box<Process>, reason: Reason) -> Option<Box<Process>> {
    p.cell.exiting.store(true, Ordering::SeqCst);
    let on_stop = match &p.kind {
        Kind::Actor { on_stop, .. } => *on_stop,
        _ => None,
    };
    let has_state = p.vm.as_ref().is_some_and(|vm| !matches!(vm.root, Value::None));
    if let (Some(f), true) = (on_stop, has_state) {
        let vm = p.vm();
        vm.abort();
        let state = vm.root;
        if vm.begin_call(f, &[state]).is_ok() {
            p.phase = Phase::Stopping;
            p.reason = Some(Box::new(reason));
            return Some(p);
        }
    }
    die(shared, p, reason);
    None
}

/// Applies a control message to an actor.
fn apply(shared: &Arc<Shared>, p: &mut Box<Process>, s: Sys) {
    match s {
        Sys::Reply { task, result } => host_of(p).resolve(task, result),
        Sys::Timer { task } => host_of(p).timer_fired(task),
        Sys::Wake => {}
        Sys::Stop => p.stop_requested = true,
        Sys::Shutdown => interrupt(shared, p, Reason::Shutdown),
        Sys::Exit(message) => {
            let u = Uncaught { code: N2309.into(), message, trace: vec![], value: None, exit: None };
            if p.phase != Phase::Stopping {
                log_crash(shared, &p.cell.describe(shared.template().program()), &u);
            }
            interrupt(shared, p, Reason::Crashed { code: u.code, message: u.message });
        }
        Sys::ChildExit { .. } | Sys::Adopt(_) => {}
    }
}

/// Abandons what the actor is doing and makes it stop for `reason`.
fn interrupt(shared: &Arc<Shared>, p: &mut Box<Process>, reason: Reason) {
    if p.phase == Phase::Stopping {
        return;
    }
    p.cell.exiting.store(true, Ordering::SeqCst);
    let to = p.reply.take();
    reply(shared, to, Err(VmError::new(N2303, format!("actor {} stopped before answering ({})", p.cell.describe(shared.template().program()), reason.text()))));
    if let Some(vm) = p.vm.as_mut() {
        vm.abort();
        host_of(p).end_deadline();
    }
    if p.phase == Phase::Start || p.phase == Phase::Starting {
        // `new` did not finish: there is no state for `on_stop`
        if let Some(vm) = p.vm.as_mut() {
            vm.root = Value::None;
        }
    }
    p.phase = Phase::Idle;
    p.reason = Some(Box::new(reason));
}

/// The host of a process that has a VM (None for a supervisor).
fn proc_host(p: &mut Process) -> Option<&mut ProcHost> {
    p.vm.as_mut().and_then(|vm| vm.host.as_mut()).and_then(|h| (&mut **h as &mut dyn Any).downcast_mut::<ProcHost>())
}

fn host_of(p: &mut Process) -> &mut ProcHost {
    proc_host(p).expect("a VM process has its host")
}

/// The end of a process: close its inbox, answer everyone still waiting on it, tell its
/// watchers, free its heap.
pub(crate) fn die(shared: &Arc<Shared>, mut p: Box<Process>, reason: Reason) {
    let cell = p.cell.clone();
    // tasks this process started and never saw finish end with it
    resumed(&cell);
    if let Some(h) = proc_host(&mut p) {
        for t in h.table.iter().flat_map(|t| t.tasks.values()) {
            match t {
                Task::Running(c) => deliver_sys(shared, c, Sys::Shutdown),
                Task::Later(send) => send.cancelled.store(true, Ordering::SeqCst),
                _ => {}
            }
        }
    }
    // described only when someone is told (an idle actor stopping tells no one)
    let who = || cell.describe(shared.template().program());
    let (pending, watchers) = {
        let mut ib = cell.inbox.lock().unwrap();
        ib.closed = true;
        cell.dead.store(true, Ordering::SeqCst);
        (std::mem::take(&mut ib.user), std::mem::take(&mut ib.watchers))
    };
    shared.cells.lock().unwrap().remove(&cell);
    {
        let mut names = shared.names.lock().unwrap();
        if !names.is_empty() {
            names.retain(|_, r| r.id != cell.id);
        }
    }
    for env in pending {
        reply(shared, env.reply, Err(VmError::new(N2303, format!("actor {} stopped before answering ({})", who(), reason.text()))));
    }
    for (w, how) in watchers {
        match how {
            Watch::Sender => deliver_sys(shared, &w, Sys::Wake),
            Watch::Monitor => {
                if let Some(m) = down_message(shared, &cell, &reason.text(), reason.code()) {
                    deliver(shared, &w, Envelope { msg: m, reply: None }, None);
                }
            }
            Watch::Link => {
                if let Reason::Crashed { code, message } = &reason {
                    deliver_sys(shared, &w, Sys::Exit(format!("linked actor {} crashed: error[{code}]: {message}", who())));
                }
            }
            Watch::Parent => deliver_sys(shared, &w, Sys::ChildExit { id: cell.id, reason: reason.clone() }),
        }
    }
    drop(p);
    shared.notify_death();
}

/// How a slice of main ended (once per wait, so its size does not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum MainEnd {
    Done(Vm, RunState),
    /// Parked in its inbox until something arrives.
    Waiting,
}

/// Runs main until it finishes, waits or has used its budget while others wait to run (then it
/// goes to the back of the queue like everyone else).
pub(crate) fn run_main_slice(shared: &Arc<Shared>, mut p: Box<Process>) -> MainEnd {
    let budget = Some(shared.config.budget);
    loop {
        if shared.over_cpu() {
            let mut vm = p.vm.take().unwrap();
            vm.abort();
            let max = shared.config.max_cpu.unwrap_or_default().as_secs_f64();
            let u = Uncaught { code: N2313.into(), message: format!("the program used the processor time it was given ({max} s, --max-cpu)"), trace: vec![], value: None, exit: None };
            return MainEnd::Done(vm, RunState::Error(u));
        }
        if let Some(status) = shared.exit_requested() {
            let mut vm = p.vm.take().unwrap();
            vm.abort();
            return MainEnd::Done(vm, RunState::Error(Vm::uncaught_from(VmError::exit(status))));
        }
        for s in take_sys(&p.cell) {
            match s {
                Sys::Reply { task, result } => host_of(&mut p).resolve(task, result),
                Sys::Timer { task } => host_of(&mut p).timer_fired(task),
                Sys::Exit(message) => {
                    let mut vm = p.vm.take().unwrap();
                    vm.abort();
                    let u = Uncaught { code: N2309.into(), message, trace: vec![], value: None, exit: None };
                    return MainEnd::Done(vm, RunState::Error(u));
                }
                _ => {}
            }
        }
        resumed(&p.cell);
        match p.vm().run(budget) {
            RunState::Paused => {
                if shared.may_go_on() {
                    continue;
                }
                shared.schedule(p, true);
                return MainEnd::Waiting;
            }
            RunState::Suspended => {
                if let Some(back) = park(p) {
                    p = back;
                    continue;
                }
                return MainEnd::Waiting;
            }
            other => {
                let vm = p.vm.take().unwrap();
                return MainEnd::Done(vm, other);
            }
        }
    }
}

/// Main waits for something nothing can send: it runs again, and the call it waits in
/// raises N2306 there (with its trace, and catchable like any error).
pub(crate) fn break_deadlock(shared: &Arc<Shared>, mut p: Box<Process>) {
    host_of(&mut p).deadlocked = true;
    shared.schedule(p, false);
}

fn deadlock_error() -> VmError {
    VmError::new(N2306, "deadlock: the main program waits for a reply, a message or room in a mailbox, and no actor is running or has a timer that could provide it")
}

/// The longest cycle of waiting processes reported as a deadlock (a longer chain is not
/// followed to its end, so that a wait costs a bounded time).
const MAX_WAIT_CHAIN: usize = 10_000;

/// The processes waiting for each other from `target` on, when they lead back to `me`: each
/// with the `wait_seq` its edge was read at (`target` first, `me` last). Called under
/// `Shared::deadlock_lock`; the edges are read one at a time, so see `find_cycle`.
fn walk_back(shared: &Shared, me: &Arc<Cell>, target: &Arc<Cell>) -> Option<Vec<(Arc<Cell>, u64)>> {
    let cells = shared.cells.lock().unwrap();
    let mut chain = Vec::new();
    let mut cur = target.clone();
    for _ in 0..MAX_WAIT_CHAIN {
        if Arc::ptr_eq(&cur, me) {
            chain.push((cur, 0));
            return Some(chain);
        }
        if cur.dead.load(Ordering::SeqCst) || cur.exiting.load(Ordering::SeqCst) {
            return None;
        }
        let seq = cur.wait_seq.load(Ordering::SeqCst);
        if seq % 2 == 0 {
            return None;
        }
        let (id, slot) = (cur.waits_for.load(Ordering::Acquire), cur.waits_for_slot.load(Ordering::Acquire));
        if cur.wait_seq.load(Ordering::SeqCst) != seq {
            return None;
        }
        let next = if id == me.id { Some(me.clone()) } else { cells.get(slot, id) };
        chain.push((cur, seq));
        cur = next?;
    }
    None
}

/// A cycle through `me`, as `walk_back` finds it twice with every edge unchanged between:
/// then all of them held at once (each `wait_seq` changes at every set and clear), so the
/// cycle is real and not made of edges read at different moments.
fn find_cycle(shared: &Shared, me: &Arc<Cell>, target: &Arc<Cell>) -> Option<Vec<Arc<Cell>>> {
    let first = walk_back(shared, me, target)?;
    let second = walk_back(shared, me, target)?;
    let same = first.len() == second.len() && first.iter().zip(&second).all(|((a, s), (b, t))| Arc::ptr_eq(a, b) && s == t);
    same.then(|| first.into_iter().map(|(c, _)| c).collect())
}

/// Publishes that `me` waits for `target`; true when `target` is waiting too, so that the
/// two may be part of a cycle. The edge is published by id and table slot, not as an `Arc`:
/// counting references to the target from every waiter would make its count a cache line
/// all threads fight over (an ask in a loop cost a tenth more). Both sides of a cycle
/// publish, then look, in one total order (`SeqCst`), so at least one sees the other.
/// A wait already published in this slice (`gather` looks at each task) ends first, so that
/// no reader takes the new target for the old wait.
fn publish_wait(me: &Cell, target: &Cell) -> bool {
    resumed(me);
    me.waits_for.store(target.id, Ordering::Release);
    me.waits_for_slot.store(target.slot.load(Ordering::Relaxed), Ordering::Release);
    me.wait_seq.fetch_add(1, Ordering::SeqCst);
    target.wait_seq.load(Ordering::SeqCst) % 2 == 1
}

/// Ends the wait `me` published, if any (only the process itself changes its `wait_seq`).
fn resumed(me: &Cell) {
    if me.wait_seq.load(Ordering::Relaxed) % 2 == 1 {
        me.wait_seq.fetch_add(1, Ordering::SeqCst);
    }
}

impl ProcHost {
    /// Records what this process is about to wait for without a timeout (an actor it asked,
    /// a task it started), and fails with N2306 when that closes a cycle: each process of it
    /// waits for the next, which handles nothing else while it waits, so none can go on. The
    /// wait that closes the cycle fails (as a database chooses one transaction of a
    /// deadlock); the others get the crash it causes as usual.
    fn wait_for(&mut self, task: u64) -> Result<(), VmError> {
        // borrowed from the task table, not cloned (see `publish_wait`)
        let target = match self.table.as_deref().and_then(|t| t.tasks.get(&task)) {
            Some(Task::Ask { to, timeout: None }) => to,
            Some(Task::Running(cell)) => cell,
            _ => return Ok(()),
        };
        if !publish_wait(&self.me, target) {
            return Ok(());
        }
        let target = target.clone();
        let result = self.settle(&target);
        if let (Err(_), Some(Task::Ask { .. })) = (&result, self.tasks().get(&task)) {
            // The request is withdrawn: the actor asked is busy in the cycle and has not
            // taken it, and handling it later would start the same cycle again. The task's
            // outcome is this error, taken now (awaiting it again is N2307, as for any task).
            let me = self.me.clone();
            let mut ib = target.inbox.lock().unwrap();
            let before = ib.user.len();
            ib.user.retain(|env| !matches!(&env.reply, Some((c, t)) if Arc::ptr_eq(c, &me) && *t == task));
            if ib.user.len() < before {
                room_for_one(&self.shared, ib);
            }
            self.tasks().remove(&task);
        }
        result
    }

    /// `wait_for` a process: the one asked or started, or the one whose full mailbox (overflow
    /// "block") a send waits on.
    fn wait_on(&mut self, target: &Arc<Cell>) -> Result<(), VmError> {
        if !publish_wait(&self.me, target) {
            return Ok(());
        }
        self.settle(target)
    }

    /// The target of a wait is waiting too: N2306 if the waits form a cycle through here.
    fn settle(&mut self, target: &Arc<Cell>) -> Result<(), VmError> {
        // Two processes closing the same cycle at once may both see it: settled under one
        // lock, the first fails and leaves the cycle, and the second then finds none.
        let shared = self.shared.clone();
        let _settling = shared.deadlock_lock.lock().unwrap();
        match find_cycle(&shared, &self.me, target) {
            Some(chain) => {
                resumed(&self.me);
                Err(self.deadlock_cycle(&chain))
            }
            None => Ok(()),
        }
    }

    fn deadlock_cycle(&self, chain: &[Arc<Cell>]) -> VmError {
        let template = self.shared.template();
        let program = template.program();
        let mut text = format!("deadlock: {} would wait for {}", self.me.describe(program), chain[0].describe(program));
        // a long cycle is named by its first few processes and the one closing it
        const SHOWN: usize = 6;
        for (i, c) in chain.iter().enumerate().skip(1) {
            if chain.len() > SHOWN + 1 && i == SHOWN {
                text.push_str(&format!(", which waits for {} more processes", chain.len() - SHOWN - 1));
            }
            if i < SHOWN || i == chain.len() - 1 {
                text.push_str(&format!(", which waits for {}", c.describe(program)));
            }
        }
        text.push_str(" (an actor takes no other message while it waits)");
        VmError::new(N2306, text)
    }

    /// N2306 when the scheduler found main deadlocked (see `break_deadlock`).
    fn check_deadlock(&mut self) -> Result<(), VmError> {
        if std::mem::take(&mut self.deadlocked) {
            return Err(deadlock_error());
        }
        Ok(())
    }
}

/// What a timed send sends, and to whom (`Shared::fire_due_timers` makes it).
pub(crate) struct TimedSend {
    pub(crate) to: Arc<Cell>,
    pub(crate) msg: Msg,
    pub(crate) every: Option<f64>,
    /// Set by `cancel` and when the process that asked for it ends.
    pub(crate) cancelled: AtomicBool,
}

enum Task {
    /// A request to this actor, with its timeout (without one, its await may be part of a
    /// deadlock).
    Ask { to: Arc<Cell>, timeout: Option<f64> },
    Timer,
    /// A wait for a socket (`Host::io_wait`): the reactor finishes it.
    Io,
    /// A task process (an `async def` call or `spawn f(...)`).
    Running(Arc<Cell>),
    /// `send_after` / `send_every`: made by the timer itself (see `TimedSend`); the timer
    /// tells this task when the sends are over.
    Later(Arc<TimedSend>),
    Done(Result<Msg, VmError>),
}

fn cancelled() -> VmError {
    VmError::new(N2311, "the task was cancelled")
}

/// One process's side of the scheduler: its tasks and what it is waiting for.
pub(crate) struct ProcHost {
    shared: Arc<Shared>,
    me: Arc<Cell>,
    /// Made on the first task (most actors never start one, and an idle actor's size is
    /// what a million of them cost).
    table: Option<Box<TaskTable>>,
    next_task: u64,
    /// The timer task of the blocking call in progress (`sleep`, or `select` with a timeout).
    deadline: Option<u64>,
    /// The wait for a socket in progress (`io_wait`).
    io: Option<IoWaiting>,
    /// The scheduler found main waiting for what nothing can give: its blocking call, asked
    /// again, fails with N2306 (which a `try` around it can catch).
    deadlocked: bool,
    /// The `Shared::generation` of this process's program.
    generation: u64,
}

/// A wait for a socket: its I/O task, the reactor's token for it, and the timer of its timeout.
struct IoWaiting {
    task: u64,
    token: usize,
    timer: Option<(u64, Arc<AtomicBool>)>,
}

/// Hashing for task ids, which a process numbers 1, 2, 3...: one multiplication (Fibonacci
/// hashing) instead of SipHash, which was a fifth of the instructions of an `ask` in a loop.
/// No one else chooses these keys, so there is nothing to defend against.
type TaskIds = std::hash::BuildHasherDefault<TaskIdHasher>;

#[derive(Default)]
struct TaskIdHasher(u64);

impl std::hash::Hasher for TaskIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[derive(Default)]
struct TaskTable {
    tasks: HashMap<u64, Task, TaskIds>,
    /// Tasks nobody will await (`task.detach`): dropped when they finish.
    detached: HashSet<u64, TaskIds>,
}

impl ProcHost {
    pub(crate) fn new(shared: Arc<Shared>, me: Arc<Cell>) -> ProcHost {
        let generation = shared.generation.load(Ordering::Acquire);
        ProcHost { shared, me, table: None, next_task: 1, deadline: None, io: None, deadlocked: false, generation }
    }

    fn tasks(&mut self) -> &mut HashMap<u64, Task, TaskIds> {
        &mut self.table.get_or_insert_default().tasks
    }

    fn detached(&mut self) -> &mut HashSet<u64, TaskIds> {
        &mut self.table.get_or_insert_default().detached
    }

    /// Forgets the blocking call's timer (it finished, or the call was abandoned), and a socket
    /// wait left behind by an abandoned call (an actor stopped in a read runs `on_stop`, whose
    /// own socket calls must not find the old wait).
    fn end_deadline(&mut self) {
        if let Some(t) = self.deadline.take() {
            self.tasks().remove(&t);
        }
        self.end_io();
    }

    fn end_io(&mut self) {
        if let Some(w) = self.io.take() {
            if let Some(r) = self.shared.reactor.get() {
                r.forget(w.token);
            }
            self.tasks().remove(&w.task);
            if let Some((t, flag)) = w.timer {
                self.tasks().remove(&t);
                self.shared.cancel_timer(&flag);
            }
        }
    }

    fn resolve(&mut self, task: u64, result: Result<Msg, VmError>) {
        if self.detached().remove(&task) {
            // a task stopped because the program ended (a server's connection task) did not fail
            let ending = self.shared.shutdown_started.load(Ordering::SeqCst);
            if let (Some(Task::Running(cell)), Err(e), false) = (self.tasks().remove(&task), &result, ending) {
                let who = cell.describe(self.shared.template().program());
                let trace = e.trace.as_deref().map(|t| render_trace(&t[..t.len().saturating_sub(1)])).unwrap_or_default();
                self.shared.log(&format!("error[{}] in {who}, which nothing awaits: {}\n{trace}", e.code, e.message));
            }
            self.tasks().remove(&task);
            return;
        }
        if let Some(t) = self.tasks().get_mut(&task) {
            if !matches!(t, Task::Done(_)) {
                *t = Task::Done(result);
            }
        }
    }

    fn timer_fired(&mut self, task: u64) {
        let shared = self.shared.clone();
        let Some(t) = self.tasks().get_mut(&task) else { return };
        match t {
            Task::Timer | Task::Io => *t = Task::Done(Ok(Msg::None)),
            Task::Ask { to, timeout } => {
                let who = to.describe(shared.template().program());
                let secs = timeout.unwrap_or_default();
                *t = Task::Done(Err(VmError::new(N2303, format!("the request timed out: actor {who} did not answer within {secs} s"))));
            }
            // the timer made the sends, and they are over
            Task::Later(_) => *t = Task::Done(Ok(Msg::None)),
            Task::Running(_) | Task::Done(_) => {}
        }
        if matches!(self.tasks().get(&task), Some(Task::Done(_))) && self.detached().remove(&task) {
            self.tasks().remove(&task);
        }
    }

    fn new_task(&mut self, t: Task) -> u64 {
        let id = self.next_task;
        self.next_task += 1;
        self.tasks().insert(id, t);
        id
    }
}

impl Host for ProcHost {
    fn output(&mut self) -> noodle_vm::Output {
        self.shared.output()
    }

    fn describe(&self) -> String {
        self.me.describe(self.shared.template().program())
    }

    fn blocking(&mut self, entering: bool) {
        self.shared.blocking(entering);
    }

    fn now(&mut self) -> f64 {
        self.shared.now()
    }

    fn io_waiting(&self) -> bool {
        self.io.is_some()
    }

    fn io_wait(&mut self, fd: i32, write: bool, timeout: Option<f64>) -> Result<IoWait, VmError> {
        if let Some(w) = self.io.take() {
            if self.done(w.task) {
                self.tasks().remove(&w.task);
                if let Some((t, flag)) = w.timer {
                    self.tasks().remove(&t);
                    self.shared.cancel_timer(&flag);
                }
                return Ok(IoWait::Ready);
            }
            if let Some((t, _)) = w.timer.as_ref().filter(|(t, _)| self.done(*t)) {
                let t = *t;
                if let Some(r) = self.shared.reactor.get() {
                    r.forget(w.token);
                }
                self.tasks().remove(&w.task);
                self.tasks().remove(&t);
                return Ok(IoWait::TimedOut);
            }
            self.io = Some(w);
            return Ok(IoWait::Pending);
        }
        let shared = self.shared.clone();
        let reactor = shared.reactor().map_err(|e| VmError::new(noodle_vm::codes::N2010, format!("cannot wait for a socket: {e}")))?;
        let task = self.new_task(Task::Io);
        let token = match reactor.wait(fd, write, self.me.clone(), task) {
            Ok(t) => t,
            Err(e) => {
                self.tasks().remove(&task);
                return Err(VmError::new(noodle_vm::codes::N2010, format!("cannot wait for a socket: {e}")));
            }
        };
        let timer = timeout.filter(|s| s.is_finite()).map(|secs| {
            let t = self.new_task(Task::Timer);
            let at = self.shared.now() + secs.max(0.0);
            (t, self.shared.add_cancellable_timer(at, self.me.clone(), t))
        });
        self.io = Some(IoWaiting { task, token, timer });
        Ok(IoWait::Pending)
    }

    fn sleep(&mut self, secs: f64) -> Result<bool, VmError> {
        match self.deadline {
            Some(t) => {
                if self.done(t) {
                    self.tasks().remove(&t);
                    self.deadline = None;
                    Ok(true)
                } else {
                    Ok(false)
                }
            }
            None => {
                let t = self.timer(secs);
                self.deadline = Some(t);
                Ok(false)
            }
        }
    }
}

impl Drop for ProcHost {
    /// A process that stops while waiting for a socket (cancelled, crashed, shut down) takes
    /// its wait out of the reactor, or a main program would seem to wait for it forever.
    fn drop(&mut self) {
        self.end_io();
    }
}

impl ActorHost for ProcHost {
    fn spawn(&mut self, spec: SpawnSpec) -> Result<ActorRef, VmError> {
        self.shared.check_actor_limit()?;
        let shared = self.shared.clone();
        let cell = new_cell(&shared, &spec);
        if let Some(name) = &spec.name {
            let mut names = shared.names.lock().unwrap();
            if let Some(old) = names.get(name) {
                if !is_dead(old) && spec.supervisor.is_none() {
                    return Err(VmError::new(N2310, format!("the name \"{name}\" is already registered to a running actor")));
                }
            }
            names.insert(name.clone(), cell.reference());
        }
        let r = cell.reference();
        if spec.link {
            cell.inbox.lock().unwrap().watchers.push((self.me.clone(), Watch::Link));
            self.me.inbox.lock().unwrap().watchers.push((cell.clone(), Watch::Link));
        }
        match spec.supervisor.clone() {
            Some(sup) => {
                let sup_cell = cell_of(&sup)?;
                if sup_cell.dead.load(Ordering::SeqCst) {
                    return Err(VmError::new(N2303, "the supervisor is not running"));
                }
                cell.inbox.lock().unwrap().watchers.push((sup_cell.clone(), Watch::Parent));
                // the supervisor keeps the recipe, for restarts
                let spec = Arc::new(spec);
                deliver_sys(&shared, &sup_cell, Sys::Adopt(Box::new(supervisor::Child::actor(spec.clone(), cell.clone()))));
                start_actor(&shared, &spec, cell);
            }
            None => start_actor(&shared, &spec, cell),
        }
        Ok(r)
    }

    fn globals_used(&mut self, new: u32, receive: u32, on_stop: Option<u32>) -> Arc<[u32]> {
        let mut cache = self.shared.spawn_globals.lock().unwrap();
        if let Some((_, used)) = cache.iter().find(|(k, _)| *k == (new, receive)) {
            return used.clone();
        }
        let roots: Vec<u32> = [Some(new), Some(receive), on_stop].into_iter().flatten().collect();
        let mask = self.shared.template().program().globals_used(&roots);
        let used: Arc<[u32]> = mask.iter().enumerate().filter(|(_, u)| **u).map(|(g, _)| g as u32).collect();
        cache.push(((new, receive), used.clone()));
        used
    }

    fn supervisor(&mut self, spec: SupervisorSpec) -> Result<ActorRef, VmError> {
        let shared = self.shared.clone();
        let parent = match &spec.parent {
            Some(p) => Some(cell_of(p)?),
            None => None,
        };
        let cell = supervisor::start(&shared, spec, parent.clone());
        if parent.is_none() {
            // no supervisor above: a failure escalates to whoever made it
            cell.inbox.lock().unwrap().watchers.push((self.me.clone(), Watch::Link));
        }
        Ok(cell.reference())
    }

    fn send(&mut self, to: &ActorRef, msg: Msg) -> Result<bool, VmError> {
        self.check_deadlock()?;
        // borrowed, not cloned (see `actor_send`)
        let cell = to.cell.downcast_ref::<Cell>().ok_or_else(foreign_ref)?;
        match deliver(&self.shared, cell, Envelope { msg, reply: None }, Some(&self.me)) {
            // a message to an actor that has stopped is dropped, as it could have been by a
            // moment's difference in timing
            Delivery::Done | Delivery::Dead => Ok(true),
            Delivery::Blocked => {
                let cell = cell_of(to)?;
                self.wait_on(&cell)?;
                Ok(false)
            }
            Delivery::Full => Err(full(cell, &self.shared)),
        }
    }

    fn ask(&mut self, to: &ActorRef, msg: Msg, timeout: Option<f64>) -> Result<Option<u64>, VmError> {
        self.check_deadlock()?;
        if to.id == self.me.id {
            return Err(VmError::new(N2306, "an actor cannot ask itself: it would wait for its own answer forever"));
        }
        let cell = cell_of(to)?;
        let task = self.next_task;
        match deliver(&self.shared, &cell, Envelope { msg, reply: Some((self.me.clone(), task)) }, Some(&self.me)) {
            Delivery::Done => {}
            Delivery::Dead => return Err(VmError::new(N2303, format!("actor {} is not running", cell.describe(self.shared.template().program())))),
            Delivery::Blocked => {
                self.wait_on(&cell)?;
                return Ok(None);
            }
            Delivery::Full => return Err(full(&cell, &self.shared)),
        }
        // none: the run's default; infinity: until answered
        let timeout = match timeout {
            None => self.shared.config.ask_timeout,
            Some(s) if s == f64::INFINITY => None,
            s => s,
        };
        let id = self.new_task(Task::Ask { to: cell.clone(), timeout });
        debug_assert_eq!(id, task);
        if let Some(secs) = timeout {
            let at = self.shared.now() + secs;
            self.shared.add_timer(at, self.me.clone(), id);
        }
        Ok(Some(id))
    }

    fn wait(&mut self, task: u64) -> Result<Option<Msg>, VmError> {
        if !matches!(self.tasks().get(&task), Some(Task::Done(_))) {
            self.check_deadlock()?;
            self.wait_for(task)?;
        }
        match self.tasks().get(&task) {
            Some(Task::Done(_)) => match self.tasks().remove(&task) {
                Some(Task::Done(r)) => r.map(Some),
                _ => unreachable!(),
            },
            Some(_) => Ok(None),
            None => Err(VmError::new(N2307, "this task's result was already taken by an earlier `await`")),
        }
    }

    fn done(&mut self, task: u64) -> bool {
        matches!(self.tasks().get(&task), Some(Task::Done(_)) | None)
    }

    fn spawn_task(&mut self, spec: SpawnSpec) -> Result<u64, VmError> {
        self.shared.check_actor_limit()?;
        let shared = self.shared.clone();
        let cell = Arc::new(Cell::new(shared.new_id(), actor::TASK_TY, spec.name.as_deref().map(Box::from), 1, Overflow::Block, false));
        let id = self.new_task(Task::Running(cell.clone()));
        start_task(&shared, &spec, cell, self.me.clone(), id);
        Ok(id)
    }

    fn send_later(&mut self, to: &ActorRef, msg: Msg, secs: f64, repeat: bool) -> Result<u64, VmError> {
        let to = cell_of(to)?;
        let send = Arc::new(TimedSend { to, msg, every: repeat.then_some(secs), cancelled: AtomicBool::new(false) });
        let id = self.new_task(Task::Later(send.clone()));
        let at = self.shared.now() + secs;
        self.shared.add_send_timer(at, self.me.clone(), id, send);
        Ok(id)
    }

    fn detach(&mut self, task: u64) {
        match self.tasks().get(&task) {
            Some(Task::Done(_)) => {
                if let Some(Task::Done(Err(e))) = self.tasks().remove(&task) {
                    self.shared.log(&format!("error[{}] in a task that nothing awaits: {}\n", e.code, e.message));
                }
            }
            Some(Task::Running(_) | Task::Ask { .. } | Task::Timer | Task::Io | Task::Later(_)) => {
                self.detached().insert(task);
            }
            None => {}
        }
    }

    fn cancel(&mut self, task: u64) -> bool {
        let shared = self.shared.clone();
        let Some(t) = self.tasks().get_mut(&task) else { return false };
        match t {
            Task::Done(_) => false,
            Task::Running(cell) => {
                deliver_sys(&shared, cell, Sys::Shutdown);
                *t = Task::Done(Err(cancelled()));
                true
            }
            Task::Later(send) => {
                send.cancelled.store(true, Ordering::SeqCst);
                *t = Task::Done(Err(cancelled()));
                true
            }
            Task::Ask { .. } | Task::Timer | Task::Io => {
                *t = Task::Done(Err(cancelled()));
                true
            }
        }
    }

    fn select(&mut self, tasks: &[u64], timeout: Option<f64>) -> Result<Option<(usize, Msg)>, VmError> {
        if let Some(i) = tasks.iter().position(|t| matches!(self.tasks().get(t), Some(Task::Done(_)))) {
            self.end_deadline();
            let Some(Task::Done(r)) = self.tasks().remove(&tasks[i]) else { unreachable!() };
            return r.map(|m| Some((i, m))).map_err(|mut e| {
                // say which of the tasks given to `select` failed
                if let Some(mark) = e.trace.as_deref_mut().and_then(|t| t.last_mut()).filter(|f| f.file == AWAITED) {
                    mark.function.push_str(&format!(" (tasks[{i}] of `select`)"));
                }
                e
            });
        }
        if tasks.iter().all(|t| !self.tasks().contains_key(t)) {
            self.end_deadline();
            return Err(VmError::new(N2307, "every task given to `select` was already awaited"));
        }
        if self.deadlocked {
            self.end_deadline();
            self.check_deadlock()?;
        }
        match (timeout, self.deadline) {
            (Some(secs), None) => self.deadline = Some(self.timer(secs)),
            (Some(_), Some(d)) if self.done(d) => {
                self.end_deadline();
                return Err(VmError::new(N2303, "`select` timed out before any task finished"));
            }
            _ => {}
        }
        Ok(None)
    }

    fn timer(&mut self, secs: f64) -> u64 {
        let id = self.new_task(Task::Timer);
        let at = self.shared.now() + secs;
        self.shared.add_timer(at, self.me.clone(), id);
        id
    }

    fn me(&mut self) -> Option<ActorRef> {
        if self.me.is_main {
            None
        } else {
            Some(self.me.reference())
        }
    }

    fn stop(&mut self, target: &ActorRef) -> Result<(), VmError> {
        let cell = cell_of(target)?;
        if cell.ty == u16::MAX {
            deliver_sys(&self.shared, &cell, Sys::Shutdown);
        } else {
            deliver_sys(&self.shared, &cell, Sys::Stop);
        }
        Ok(())
    }

    fn is_alive(&mut self, target: &ActorRef) -> bool {
        cell_of(target).is_ok_and(|c| !c.dead.load(Ordering::SeqCst) && !c.exiting.load(Ordering::SeqCst))
    }

    fn monitor(&mut self, target: &ActorRef) -> Result<(), VmError> {
        let cell = cell_of(target)?;
        let mut ib = cell.inbox.lock().unwrap();
        if ib.closed {
            drop(ib);
            if let Some(m) = down_message(&self.shared, &cell, "not running", "") {
                deliver(&self.shared, &self.me, Envelope { msg: m, reply: None }, None);
            }
            return Ok(());
        }
        ib.watchers.push((self.me.clone(), Watch::Monitor));
        Ok(())
    }

    fn link(&mut self, target: &ActorRef) -> Result<(), VmError> {
        let cell = cell_of(target)?;
        if cell.id == self.me.id {
            return Ok(());
        }
        {
            let mut ib = cell.inbox.lock().unwrap();
            if ib.closed {
                return Err(VmError::new(N2303, format!("actor {} is not running", cell.describe(self.shared.template().program()))));
            }
            ib.watchers.push((self.me.clone(), Watch::Link));
        }
        self.me.inbox.lock().unwrap().watchers.push((cell, Watch::Link));
        Ok(())
    }

    fn register(&mut self, name: &str, target: &ActorRef) -> Result<(), VmError> {
        let cell = cell_of(target)?;
        if cell.dead.load(Ordering::SeqCst) {
            return Err(VmError::new(N2303, format!("actor {} is not running", cell.describe(self.shared.template().program()))));
        }
        let mut names = self.shared.names.lock().unwrap();
        if let Some(old) = names.get(name) {
            if old.id != target.id && !is_dead(old) {
                return Err(VmError::new(N2310, format!("the name \"{name}\" is already registered to a running actor")));
            }
        }
        names.insert(name.to_string(), target.clone());
        Ok(())
    }

    fn whereis(&mut self, name: &str) -> Option<ActorRef> {
        let names = self.shared.names.lock().unwrap();
        names.get(name).filter(|r| !is_dead(r)).cloned()
    }

    fn children(&mut self, sup: &ActorRef) -> Result<(Vec<ActorRef>, u64), VmError> {
        let cell = cell_of(sup)?;
        if cell.ty != u16::MAX {
            return Err(VmError::arg("not a supervisor"));
        }
        let view = cell.sup.lock().unwrap();
        Ok(view.as_ref().map(|v| (v.children.clone(), v.restarts)).unwrap_or_default())
    }
}

fn full(cell: &Cell, shared: &Shared) -> VmError {
    VmError::new(N2304, format!("the mailbox of actor {} is full ({} messages; overflow \"fail\")", cell.describe(shared.template().program()), cell.capacity))
}
