//! The Noodle actor runtime: many lightweight processes (the main program, actors and
//! supervisors) multiplexed on a few OS threads.
//!
//! - Every actor is a process with its own `Vm` and heap; values cross between processes only
//!   as `Msg`s (`noodle_vm::message::export`/`import`).
//! - A process runs in *slices*: its system messages are applied, then its VM runs with an
//!   instruction budget. A slice ends when the budget is spent and another process waits (the
//!   process goes to the back of the global queue, so a busy loop cannot starve anyone), when
//!   it waits (it parks in its own inbox, and whoever makes it runnable again puts it back on a
//!   queue), or when it dies.
//! - Threaded mode: `threads` workers with work stealing (`crossbeam-deque`); a process woken
//!   by a worker goes to that worker's local queue, preempted ones to the global injector. The
//!   calling thread is the first worker and main is a process like the others (so an `ask`
//!   from main to an actor on the same thread costs a queue push, not a thread wake-up); the
//!   other workers start with the first actor or timer, so a program that never spawns starts
//!   no thread.
//! - Deterministic mode (`seed`): everything runs on the calling thread, the next process is
//!   picked by a seeded generator and time is virtual, so a run replays exactly.
//!
//! Supervision (`supervisor.rs`) is ordinary processes without a VM that react to their
//! children's exits.

pub mod actor;
pub mod codes;
mod output;
mod process;
mod reactor;
mod supervisor;

use crossbeam_deque::{Injector, Stealer, Worker};
use actor::ActorRef;
use noodle_vm::{Output, RunState, Vm};
use process::{Cell, Process};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The global slots a process's code may use (`Program::globals_used`).
type GlobalSlots = Arc<[u32]>;

/// The most worker threads `NOODLE_THREADS` may ask for: each is started with the program,
/// and thousands of them cost seconds before the first line runs.
pub const MAX_THREADS: usize = 256;

/// How the scheduler runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Worker threads, the calling thread included.
    pub threads: usize,
    /// Deterministic mode: one thread, seeded choice of the next process, virtual time.
    pub seed: Option<u64>,
    /// Safepoints (calls and backward jumps) a process may run before it yields.
    pub budget: u64,
    /// Each process's limits (heap, call depth): main's and every actor's.
    pub limits: noodle_vm::Limits,
    /// Actors and tasks alive at once (`--max-actors`); one more to spawn is N2312.
    pub max_actors: usize,
    /// Processor time the whole program may use (`--max-cpu`); past it, main fails with
    /// N2313 and the program ends.
    pub max_cpu: Option<Duration>,
    /// How long an `ask` given no `timeout:` waits for its answer (`--ask-timeout`); none:
    /// until it is answered.
    pub ask_timeout: Option<f64>,
}

/// Processor time used by the calling thread (for an actor's `max_cpu`).
pub(crate) fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to fill
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

/// Processor time used by the whole process, all threads together.
fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid timespec for the call to fill
    if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

/// How many actors and tasks may be alive at once unless `--max-actors` says otherwise (as
/// Erlang's process limit): an idle actor takes about 1 KB, so a program that spawns without
/// end gets N2312 long before it exhausts a machine's memory.
pub const DEFAULT_MAX_ACTORS: usize = 4 << 20;

impl Default for Config {
    fn default() -> Config {
        Config {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()).min(MAX_THREADS),
            seed: None,
            budget: 2_000,
            limits: noodle_vm::Limits::default(),
            max_actors: DEFAULT_MAX_ACTORS,
            max_cpu: None,
            ask_timeout: None,
        }
    }
}

impl Config {
    /// The default, changed by `NOODLE_THREADS` and `NOODLE_SEED` when they are set.
    pub fn from_env() -> Result<Config, String> {
        let mut c = Config::default();
        if let Ok(t) = std::env::var("NOODLE_THREADS") {
            c.threads = t.trim().parse().ok().filter(|n| (1..=MAX_THREADS).contains(n)).ok_or_else(|| format!("NOODLE_THREADS must be a number of threads from 1 to {MAX_THREADS}, not `{t}`"))?;
        }
        if let Ok(s) = std::env::var("NOODLE_SEED") {
            c.seed = Some(s.parse().map_err(|_| format!("NOODLE_SEED must be a whole number, not `{s}`"))?);
        }
        Ok(c)
    }
}

/// One pending timer: at `at` seconds, `task` of `cell` finishes.
struct Timer {
    at: f64,
    seq: u64,
    cell: Arc<Cell>,
    task: u64,
    /// A timed send (`send_after`, `send_every`), made when the timer fires, whether or not
    /// the process that asked for it is running (a REPL's main between inputs).
    send: Option<Arc<process::TimedSend>>,
    /// Set when the timer is called off (`cancel_timer`): it is skipped, and dropped early.
    cancel: Option<Arc<AtomicBool>>,
}

impl PartialEq for Timer {
    fn eq(&self, o: &Timer) -> bool {
        self.seq == o.seq
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, o: &Timer) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timer {
    /// Earliest first in a max-heap.
    fn cmp(&self, o: &Timer) -> std::cmp::Ordering {
        o.at.total_cmp(&self.at).then(o.seq.cmp(&self.seq))
    }
}

/// Where runnable processes wait (one per run, so the variants' sizes do not matter).
#[allow(clippy::large_enum_variant)]
enum Queue {
    /// The stealers are set once, when the workers start.
    Threaded { injector: Injector<Box<Process>>, stealers: std::sync::OnceLock<Vec<Stealer<Box<Process>>>> },
    Deterministic(Mutex<VecDeque<Box<Process>>>),
}

/// State shared by every process and thread of one run.
pub(crate) struct Shared {
    config: Config,
    /// The program new processes are made from: the last one main ran (a REPL's program grows
    /// with each input; `generation` counts the changes, and an idle process moves to the new
    /// one before its next message).
    template: std::sync::RwLock<noodle_vm::Template>,
    pub(crate) generation: AtomicU64,
    out: output::Sink,
    err: output::Sink,
    input: Arc<Mutex<Box<dyn std::io::BufRead + Send>>>,
    queue: Queue,
    /// Workers sleeping for want of work, and the lock/condvar they sleep on.
    idle: AtomicUsize,
    idle_lock: Mutex<()>,
    idle_cv: Condvar,
    workers_started: AtomicBool,
    /// Worker threads started besides the calling thread (spares not counted).
    worker_threads: AtomicUsize,
    /// The local queues of the workers not started yet (threaded mode).
    spare_locals: Mutex<Vec<Worker<Box<Process>>>>,
    /// Workers inside a call that waits outside the runtime (a database query), and the spare
    /// threads started to stand in for them.
    blocked: AtomicUsize,
    spares: AtomicUsize,
    /// Where a spare with nothing to stand in for waits a while for the next blocking call
    /// (woken at shutdown).
    spare_lock: Mutex<()>,
    spare_cv: Condvar,
    /// The globals each actor declaration or task function may use, by its `new` and
    /// `receive` functions (the same function twice for a task). A list: a program has a
    /// handful of these, and a scan costs less than hashing on every spawn.
    spawn_globals: Mutex<Vec<((u32, u32), GlobalSlots)>>,
    /// How main ended, once it has (threaded mode: any worker may run its last slice).
    main_done: Mutex<Option<(Vm, RunState)>>,
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
    pub(crate) shutdown: AtomicBool,
    /// The program has ended and every process is being stopped.
    pub(crate) shutdown_started: AtomicBool,
    next_id: AtomicU64,
    /// Every live process but main.
    cells: Mutex<process::CellTable>,
    names: Mutex<HashMap<String, ActorRef>>,
    /// Held while a wait that closes a cycle is settled (`ProcHost::wait_on`).
    pub(crate) deadlock_lock: Mutex<()>,
    /// Processes queued or running (for deadlock detection).
    active: AtomicUsize,
    timers: Mutex<BinaryHeap<Timer>>,
    timer_cv: Condvar,
    timer_seq: AtomicU64,
    timer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Timers called off since the heap was last cleared of them (`cancel_timer`).
    timers_cancelled: AtomicUsize,
    /// The I/O reactor (made by the first wait for a socket) and its thread (threaded mode).
    pub(crate) reactor: std::sync::OnceLock<reactor::Reactor>,
    reactor_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    start: Instant,
    /// Virtual seconds (deterministic mode), as f64 bits.
    virtual_now: AtomicU64,
    /// The record type of `Down` messages (from the prelude), if the program has it.
    down_ty: Option<u16>,
    /// Signalled whenever a process dies (shutdown waits on it).
    death_lock: Mutex<()>,
    death_cv: Condvar,
    rng: Mutex<u64>,
    /// Set once the program has used its processor time (`Config::max_cpu`), counted from
    /// `cpu_start`, the process's processor time when this run began (an embedder's process,
    /// or a REPL's, runs many).
    cpu_exceeded: AtomicBool,
    cpu_start: Mutex<Duration>,
    /// `std.os.exit` in an actor or task: the status plus one (0: not asked). Main ends with it
    /// at its next slice.
    exit_status: AtomicU32,
}

thread_local! {
    /// The local queue of the worker running on this thread, if it is one.
    static LOCAL: std::cell::RefCell<Option<Worker<Box<Process>>>> = const { std::cell::RefCell::new(None) };
    /// Slices this thread has looked for (for the global queue's turn in `find_work`).
    static TICK: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// The process most recently woken by this thread, which runs next unless the slot has
    /// been taken `MAX_LIFO_RUNS` times in a row (tokio's "LIFO slot"): two processes passing
    /// messages back and forth stay hot, yet cannot starve the queue.
    static LIFO_SLOT: std::cell::RefCell<Option<Box<Process>>> = const { std::cell::RefCell::new(None) };
    static LIFO_RUNS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

impl Shared {
    /// What new processes are made from (see `template`).
    pub(crate) fn template(&self) -> noodle_vm::Template {
        self.template.read().unwrap().clone()
    }

    fn deterministic(&self) -> bool {
        matches!(self.queue, Queue::Deterministic(_))
    }

    pub(crate) fn now(&self) -> f64 {
        if self.deterministic() {
            f64::from_bits(self.virtual_now.load(Ordering::Relaxed))
        } else {
            self.start.elapsed().as_secs_f64()
        }
    }

    fn advance_to(&self, t: f64) {
        if t > self.now() {
            self.virtual_now.store(t.to_bits(), Ordering::Relaxed);
        }
    }

    pub(crate) fn new_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Whether a process whose budget ran out may go on at once on this thread: threaded mode,
    /// and no other process waits to run. Otherwise a long computation alone in the runtime
    /// would go through the global queue every slice, start the other workers and hop between
    /// threads (its heap's cache lines with it). The deterministic scheduler keeps its seeded
    /// order and its virtual time per slice, so there a slice always ends.
    pub(crate) fn may_go_on(&self) -> bool {
        matches!(self.queue, Queue::Threaded { .. })
            && !has_work(self)
            // at the end of the program, slices end so that the shutdown can time out
            && !self.shutdown_started.load(Ordering::Relaxed)
            && LIFO_SLOT.with(|s| s.borrow().is_none())
    }

    /// Makes a process runnable. `preempted` ones go to the back of the global queue.
    pub(crate) fn schedule(self: &Arc<Self>, p: Box<Process>, preempted: bool) {
        self.active.fetch_add(1, Ordering::SeqCst);
        match &self.queue {
            Queue::Deterministic(q) => q.lock().unwrap().push_back(p),
            Queue::Threaded { injector, .. } => {
                self.start_workers();
                // whether another thread could take something new
                let mut stealable = true;
                let p = if preempted {
                    Some(p)
                } else {
                    LOCAL.with(|l| match &*l.borrow() {
                        Some(w) => {
                            // the woken process runs next on this thread (its message is hot
                            // in the cache); the one it displaces goes to the back of the queue
                            match LIFO_SLOT.with(|s| s.borrow_mut().replace(p)) {
                                Some(old) => w.push(old),
                                None => stealable = false,
                            }
                            None
                        }
                        None => Some(p),
                    })
                };
                if let Some(p) = p {
                    injector.push(p);
                }
                if !stealable {
                    // nothing for an idle thread to take: waking one would only cost a
                    // system call (tokio does not notify for its LIFO slot either)
                    return;
                }
                std::sync::atomic::fence(Ordering::SeqCst);
                if self.idle.load(Ordering::SeqCst) > 0 {
                    let _g = self.idle_lock.lock().unwrap();
                    self.idle_cv.notify_one();
                }
            }
        }
    }

    fn start_workers(self: &Arc<Self>) {
        if self.workers_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let locals = std::mem::take(&mut *self.spare_locals.lock().unwrap());
        let mut handles = self.workers.lock().unwrap();
        for (i, local) in locals.into_iter().enumerate() {
            let shared = self.clone();
            // a worker the system will not start is one fewer: the others steal its share
            if let Ok(h) = std::thread::Builder::new().name(format!("noodle-worker-{}", i + 1)).spawn(move || worker_loop(shared, local)) {
                handles.push(h);
                self.worker_threads.fetch_add(1, Ordering::SeqCst);
            }
        }
        let shared = self.clone();
        match std::thread::Builder::new().name("noodle-timers".into()).spawn(move || timer_loop(shared)) {
            Ok(h) => *self.timer_thread.lock().unwrap() = Some(h),
            Err(e) => self.log(&format!("warning: cannot start the timer thread ({e}): timeouts and sleeps will not end\n")),
        }
    }

    /// A process is about to wait outside the runtime on this thread (`entering`), or is back.
    /// While it waits, a spare thread runs the other processes, so a slow query holds up only
    /// the process that made it, never the scheduler (as Go hands its P to another thread
    /// around a blocking system call).
    pub(crate) fn blocking(self: &Arc<Self>, entering: bool) {
        if self.deterministic() {
            return;
        }
        if !entering {
            self.blocked.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        flush_lifo_slot();
        let blocked = self.blocked.fetch_add(1, Ordering::SeqCst) + 1;
        if self.cells.lock().unwrap().is_empty() {
            // main alone: there is nothing else to run meanwhile
            return;
        }
        if self.spares.load(Ordering::SeqCst) >= blocked {
            // a spare that lingers after the last blocking call takes over within 10 ms (it
            // polls: a wake-up per query would cost a system call each)
            return;
        }
        self.spares.fetch_add(1, Ordering::SeqCst);
        let shared = self.clone();
        let started = std::thread::Builder::new().name("noodle-spare".into()).spawn(move || spare_loop(shared));
        match started {
            Ok(h) => self.workers.lock().unwrap().push(h),
            // no thread to spare: the others carry on without one
            Err(_) => {
                self.spares.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// The I/O reactor, made (and in threaded mode its thread started) on first use.
    pub(crate) fn reactor(self: &Arc<Self>) -> std::io::Result<&reactor::Reactor> {
        if let Some(r) = self.reactor.get() {
            return Ok(r);
        }
        // one maker at a time: the thread is started once
        let mut thread = self.reactor_thread.lock().unwrap();
        if let Some(r) = self.reactor.get() {
            return Ok(r);
        }
        let _ = self.reactor.set(reactor::Reactor::new()?);
        if !self.deterministic() {
            let shared = self.clone();
            let h = std::thread::Builder::new().name("noodle-io".into()).spawn(move || reactor::reactor_loop(shared))?;
            *thread = Some(h);
        }
        Ok(self.reactor.get().expect("the reactor was just made"))
    }

    /// Whether a process waits for a socket.
    fn io_pending(&self) -> bool {
        self.reactor.get().is_some_and(|r| r.pending() > 0)
    }

    /// Whether a timer that is not called off is pending (one that is may linger in the heap).
    fn timers_pending(&self) -> bool {
        self.timers.lock().unwrap().iter().any(|t| !t.cancel.as_ref().is_some_and(|c| c.load(Ordering::SeqCst)))
    }

    /// A task of `cell` that finishes at `at` seconds.
    pub(crate) fn add_timer(self: &Arc<Self>, at: f64, cell: Arc<Cell>, task: u64) {
        let seq = self.timer_seq.fetch_add(1, Ordering::Relaxed);
        self.timers.lock().unwrap().push(Timer { at, seq, cell, task, send: None, cancel: None });
        if !self.deterministic() {
            self.start_workers();
            self.timer_cv.notify_one();
        }
    }

    /// `add_timer` for a timer that is usually called off before it fires (a socket wait's
    /// timeout): the flag `cancel_timer` takes.
    pub(crate) fn add_cancellable_timer(self: &Arc<Self>, at: f64, cell: Arc<Cell>, task: u64) -> Arc<AtomicBool> {
        let seq = self.timer_seq.fetch_add(1, Ordering::Relaxed);
        let flag = Arc::new(AtomicBool::new(false));
        self.timers.lock().unwrap().push(Timer { at, seq, cell, task, send: None, cancel: Some(flag.clone()) });
        if !self.deterministic() {
            self.start_workers();
            self.timer_cv.notify_one();
        }
        flag
    }

    /// Calls off a timer of `add_cancellable_timer`. A server whose every read has a 30 s
    /// timeout would otherwise keep 30 s worth of finished reads' timers (and the cells they
    /// hold) in the heap: once most of the heap is called off, it is rebuilt without them.
    pub(crate) fn cancel_timer(&self, flag: &AtomicBool) {
        if flag.swap(true, Ordering::SeqCst) {
            return;
        }
        let n = self.timers_cancelled.fetch_add(1, Ordering::Relaxed) + 1;
        if n > 1024 {
            let mut t = self.timers.lock().unwrap();
            if n * 2 > t.len() {
                t.retain(|x| !x.cancel.as_ref().is_some_and(|c| c.load(Ordering::SeqCst)));
                self.timers_cancelled.store(0, Ordering::Relaxed);
            }
        }
    }

    /// A timed send of `cell`'s task `task`, first made at `at`.
    pub(crate) fn add_send_timer(self: &Arc<Self>, at: f64, cell: Arc<Cell>, task: u64, send: Arc<process::TimedSend>) {
        let seq = self.timer_seq.fetch_add(1, Ordering::Relaxed);
        self.timers.lock().unwrap().push(Timer { at, seq, cell, task, send: Some(send), cancel: None });
        if !self.deterministic() {
            self.start_workers();
            self.timer_cv.notify_one();
        }
    }

    fn fire_due_timers(self: &Arc<Self>) {
        let now = self.now();
        let mut due = Vec::new();
        {
            let mut t = self.timers.lock().unwrap();
            while t.peek().is_some_and(|x| x.at <= now) {
                due.push(t.pop().unwrap());
            }
        }
        for t in due {
            if t.cancel.as_ref().is_some_and(|c| c.load(Ordering::SeqCst)) {
                continue;
            }
            match t.send {
                Some(send) => {
                    if send.cancelled.load(Ordering::SeqCst) {
                        continue;
                    }
                    // the runtime never waits for room: a full "block" mailbox takes it anyway
                    let alive = !matches!(process::deliver(self, &send.to, process::Envelope { msg: send.msg.clone(), reply: None }, None), process::Delivery::Dead);
                    match send.every {
                        Some(secs) if alive => self.add_send_timer(self.now() + secs, t.cell, t.task, send),
                        // done: the task that stands for it finishes
                        _ => process::deliver_sys(self, &t.cell, process::Sys::Timer { task: t.task }),
                    }
                }
                None => process::deliver_sys(self, &t.cell, process::Sys::Timer { task: t.task }),
            }
        }
    }

    /// The next process to run in deterministic mode: picked by the seed, or the oldest.
    fn next_deterministic(&self, seeded: bool) -> Option<Box<Process>> {
        let Queue::Deterministic(q) = &self.queue else { return None };
        let mut q = q.lock().unwrap();
        if q.is_empty() {
            return None;
        }
        let i = if seeded { (self.next_random() % q.len() as u64) as usize } else { 0 };
        q.remove(i)
    }

    /// Deterministic mode: wakes the processes whose sockets are ready, waiting up to
    /// `timeout` (None: until one is). How many it woke.
    fn poll_io(self: &Arc<Self>, timeout: Option<Duration>) -> usize {
        match self.reactor.get() {
            Some(r) => r.poll_once(self, timeout),
            None => 0,
        }
    }

    /// Deterministic mode, nothing to run: moves virtual time to the next timer and fires it.
    /// False when no timer is pending.
    fn jump_to_next_timer(self: &Arc<Self>) -> bool {
        let next_at = self.timers.lock().unwrap().peek().map(|t| t.at);
        match next_at {
            Some(at) => {
                self.advance_to(at);
                self.fire_due_timers();
                true
            }
            None => false,
        }
    }

    /// N2312 when spawning one more actor or task would pass `max_actors`.
    pub(crate) fn check_actor_limit(&self) -> Result<(), noodle_vm::VmError> {
        let n = self.cells.lock().unwrap().len();
        if n >= self.config.max_actors {
            return Err(noodle_vm::VmError::new(codes::N2312, format!("too many actors: {n} actors and tasks are alive, the limit is {} (--max-actors)", self.config.max_actors)));
        }
        Ok(())
    }

    /// Whether the program has used the processor time `--max-cpu` gives it (then main ends
    /// with N2313 at its next slice). Read between slices, never inside one.
    pub(crate) fn over_cpu(&self) -> bool {
        let Some(max) = self.config.max_cpu else { return false };
        if self.cpu_exceeded.load(Ordering::Relaxed) {
            return true;
        }
        let over = process_cpu_time().saturating_sub(*self.cpu_start.lock().unwrap()) > max;
        if over {
            self.cpu_exceeded.store(true, Ordering::Relaxed);
        }
        over
    }

    /// An actor or task called `std.os.exit(status)`: the program ends with the first status
    /// asked for, when main next runs (it is woken by the scheduler's loop).
    pub(crate) fn request_exit(&self, status: u8) {
        let _ = self.exit_status.compare_exchange(0, u32::from(status) + 1, Ordering::SeqCst, Ordering::SeqCst);
    }

    /// The status an actor or task asked the program to exit with, if one has.
    pub(crate) fn exit_requested(&self) -> Option<u8> {
        match self.exit_status.load(Ordering::SeqCst) {
            0 => None,
            n => Some((n - 1) as u8),
        }
    }

    pub(crate) fn log(&self, text: &str) {
        let mut e = self.err.lock().unwrap_or_else(|e| e.into_inner());
        let _ = e.write_all(text.as_bytes());
        let _ = e.flush();
    }

    pub(crate) fn output(&self) -> Output {
        Output {
            out: Box::new(output::ProcOut::new(self.out.clone())),
            err: Box::new(output::ProcOut::new(self.err.clone())),
            input: Box::new(output::SharedIn(self.input.clone())),
        }
    }

    pub(crate) fn notify_death(&self) {
        let _g = self.death_lock.lock().unwrap();
        self.death_cv.notify_all();
    }

    /// A deterministic pseudo-random number (splitmix64).
    fn next_random(&self) -> u64 {
        let mut s = self.rng.lock().unwrap();
        *s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn worker_loop(shared: Arc<Shared>, local: Worker<Box<Process>>) {
    LOCAL.with(|l| *l.borrow_mut() = Some(local));
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        if !run_some(&shared) && !spin_for_work(&shared) {
            idle_wait(&shared, Duration::from_millis(50));
        }
    }
    flush_lifo_slot();
    LOCAL.with(|l| *l.borrow_mut() = None);
}

/// A stand-in worker while another waits outside the runtime: it has no local queue (what it
/// wakes goes to the global one). When there are more spares than blocked workers it stops
/// running processes (so the pool is back to its size) and waits up to 100 ms for another
/// blocking call before it ends, so a run of queries does not start a thread each.
fn spare_loop(shared: Arc<Shared>) {
    let needed = |s: &Shared| s.spares.load(Ordering::SeqCst) <= s.blocked.load(Ordering::SeqCst);
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            shared.spares.fetch_sub(1, Ordering::SeqCst);
            return;
        }
        if !needed(&shared) {
            let until = Instant::now() + Duration::from_millis(100);
            let mut g = shared.spare_lock.lock().unwrap();
            while !needed(&shared) && Instant::now() < until && !shared.shutdown.load(Ordering::SeqCst) {
                g = shared.spare_cv.wait_timeout(g, Duration::from_millis(10)).unwrap().0;
            }
            drop(g);
            let spares = shared.spares.load(Ordering::SeqCst);
            if spares > shared.blocked.load(Ordering::SeqCst) && shared.spares.compare_exchange(spares, spares - 1, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                return;
            }
            continue;
        }
        if !run_some(&shared) {
            idle_wait(&shared, Duration::from_millis(10));
        }
    }
}

/// Runs one slice of a runnable process, if there is one.
fn run_some(shared: &Arc<Shared>) -> bool {
    let Some(p) = find_work(shared) else { return false };
    if p.cell.is_main {
        if let process::MainEnd::Done(vm, state) = process::run_main_slice(shared, p) {
            *shared.main_done.lock().unwrap() = Some((vm, state));
            // the calling thread may be asleep waiting for work
            let _g = shared.idle_lock.lock().unwrap();
            shared.idle_cv.notify_all();
        }
    } else {
        process::run_slice(shared, p);
    }
    shared.active.fetch_sub(1, Ordering::SeqCst);
    true
}

/// How long a worker that ran dry keeps looking before it sleeps.
const SPIN: Duration = Duration::from_micros(50);

/// Looks for work for a short while before the thread sleeps, as Go's idle Ps spin: a thread
/// that spawns or sends in a loop hands out work faster than a sleeping thread can be woken,
/// and a spinning thread is not counted idle, so the producer makes no system call to wake it.
fn spin_for_work(shared: &Arc<Shared>) -> bool {
    let until = Instant::now() + SPIN;
    loop {
        for _ in 0..64 {
            std::hint::spin_loop();
        }
        if run_some(shared) {
            return true;
        }
        if Instant::now() >= until || shared.shutdown.load(Ordering::Relaxed) {
            return false;
        }
    }
}

/// Sleeps until work may have arrived (or `timeout`).
fn idle_wait(shared: &Shared, timeout: Duration) {
    let g = shared.idle_lock.lock().unwrap();
    shared.idle.fetch_add(1, Ordering::SeqCst);
    std::sync::atomic::fence(Ordering::SeqCst);
    if !has_work(shared) && !shared.shutdown.load(Ordering::SeqCst) && shared.main_done.lock().unwrap().is_none() {
        let _ = shared.idle_cv.wait_timeout(g, timeout).unwrap();
    }
    shared.idle.fetch_sub(1, Ordering::SeqCst);
}

fn has_work(shared: &Shared) -> bool {
    let Queue::Threaded { injector, stealers } = &shared.queue else { return false };
    !injector.is_empty() || stealers.get().is_some_and(|all| all.iter().any(|s| !s.is_empty()))
}

const MAX_LIFO_RUNS: u32 = 3;

/// Moves this thread's LIFO slot to its queue, where other threads can steal it (before the
/// thread waits outside the runtime, or stops being a worker).
fn flush_lifo_slot() {
    if let Some(p) = LIFO_SLOT.with(|s| s.borrow_mut().take()) {
        LOCAL.with(|l| l.borrow().as_ref().map(|w| w.push(p)));
    }
}

fn find_work(shared: &Shared) -> Option<Box<Process>> {
    let Queue::Threaded { injector, stealers } = &shared.queue else { return None };
    // now and then the global queue goes first, so preempted processes are not starved by
    // a local queue that never runs dry (tokio does the same every 61 ticks)
    let tick = TICK.with(|t| {
        let n = t.get().wrapping_add(1);
        t.set(n);
        n
    });
    if tick.is_multiple_of(61) {
        if let crossbeam_deque::Steal::Success(p) = injector.steal() {
            return Some(p);
        }
    }
    if let Some(p) = LIFO_SLOT.with(|s| s.borrow_mut().take()) {
        let runs = LIFO_RUNS.with(|r| r.get());
        if runs < MAX_LIFO_RUNS {
            LIFO_RUNS.with(|r| r.set(runs + 1));
            return Some(p);
        }
        LOCAL.with(|l| l.borrow().as_ref().map(|w| w.push(p)));
    }
    LIFO_RUNS.with(|r| r.set(0));
    if let Some(p) = LOCAL.with(|l| l.borrow().as_ref().and_then(|w| w.pop())) {
        return Some(p);
    }
    loop {
        let steal = LOCAL.with(|l| match &*l.borrow() {
            Some(w) => injector.steal_batch_and_pop(w),
            None => injector.steal(),
        });
        match steal {
            crossbeam_deque::Steal::Success(p) => return Some(p),
            crossbeam_deque::Steal::Retry => continue,
            crossbeam_deque::Steal::Empty => break,
        }
    }
    for s in stealers.get().into_iter().flatten() {
        loop {
            // half of another thread's queue at once, so a thread that spawns in a loop
            // is not robbed one process at a time
            let steal = LOCAL.with(|l| match &*l.borrow() {
                Some(w) => s.steal_batch_and_pop(w),
                None => s.steal(),
            });
            match steal {
                crossbeam_deque::Steal::Success(p) => return Some(p),
                crossbeam_deque::Steal::Retry => continue,
                crossbeam_deque::Steal::Empty => break,
            }
        }
    }
    None
}

fn timer_loop(shared: Arc<Shared>) {
    let mut timers = shared.timers.lock().unwrap();
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            return;
        }
        let now = shared.now();
        match timers.peek() {
            Some(t) if t.at <= now => {
                drop(timers);
                shared.fire_due_timers();
                timers = shared.timers.lock().unwrap();
            }
            Some(t) => {
                let wait = Duration::from_secs_f64((t.at - now).min(0.05));
                timers = shared.timer_cv.wait_timeout(timers, wait).unwrap().0;
            }
            None => timers = shared.timer_cv.wait_timeout(timers, Duration::from_millis(50)).unwrap().0,
        }
    }
}

/// Runs a started main program (`Vm::start` or `begin_call` done) to the end under the
/// scheduler, then stops every actor still running (their `on_stop` hooks run) and returns
/// the VM and how main ended.
pub fn run_main(mut vm: Vm, config: &Config) -> (Vm, RunState) {
    let mut scheduler = Scheduler::new(&mut vm, config);
    let (mut vm, state) = scheduler.run(vm);
    scheduler.stop();
    // main's last output (a line not ended) goes out before the streams are taken back
    let state = vm.finish_output(state);
    let io = scheduler.shutdown();
    drop(vm.replace_io(io));
    (vm, state)
}

/// A scheduler that outlives one run of main, so that the actors one run spawns keep running
/// into the next: a REPL runs each input as a main program of its own. `run_main` is `new`,
/// one `run` and `shutdown`.
pub struct Scheduler {
    shared: Arc<Shared>,
    /// The calling thread's queue between runs (threaded mode); other workers may still steal
    /// from it. None before the first run.
    local: Option<Worker<Box<Process>>>,
    /// Between runs the calling thread counts as blocked (`keep_running_between_runs`), so
    /// that a spare thread runs the actors while the caller does something else (waits for
    /// the next REPL input).
    between_runs: bool,
    away: bool,
    done: bool,
    /// Main's cell and host (its tasks), kept between runs: a task or timer an earlier run
    /// started answers there, and what arrived between runs is taken at the next one.
    main_cell: Arc<Cell>,
    main_host: Option<Box<dyn noodle_vm::native::Host>>,
}

impl Scheduler {
    /// Takes `vm`'s streams for every process the scheduler will run (`vm` gets handles to
    /// them) and its program as the first template.
    pub fn new(vm: &mut Vm, config: &Config) -> Scheduler {
        let io = vm.replace_io(Output::silent());
        let down_ty = vm.program().types.iter().position(|t| t.name == "Down" && t.enum_name.is_none() && t.fields.len() == 4).map(|i| i as u16);
        let deterministic = config.seed.is_some();
        let shared = Arc::new(Shared {
            config: config.clone(),
            template: std::sync::RwLock::new(vm.template()),
            generation: AtomicU64::new(0),
            out: Arc::new(Mutex::new(io.out)),
            err: Arc::new(Mutex::new(io.err)),
            input: Arc::new(Mutex::new(io.input)),
            queue: if deterministic {
                Queue::Deterministic(Mutex::new(VecDeque::new()))
            } else {
                Queue::Threaded { injector: Injector::new(), stealers: std::sync::OnceLock::new() }
            },
            idle: AtomicUsize::new(0),
            idle_lock: Mutex::new(()),
            idle_cv: Condvar::new(),
            workers_started: AtomicBool::new(false),
            worker_threads: AtomicUsize::new(0),
            spare_locals: Mutex::new(Vec::new()),
            main_done: Mutex::new(None),
            spawn_globals: Mutex::new(Vec::new()),
            blocked: AtomicUsize::new(0),
            spares: AtomicUsize::new(0),
            spare_lock: Mutex::new(()),
            spare_cv: Condvar::new(),
            workers: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
            shutdown_started: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            cells: Mutex::new(process::CellTable::default()),
            names: Mutex::new(HashMap::new()),
            deadlock_lock: Mutex::new(()),
            active: AtomicUsize::new(0),
            timers: Mutex::new(BinaryHeap::new()),
            timer_cv: Condvar::new(),
            timer_seq: AtomicU64::new(0),
            timer_thread: Mutex::new(None),
            timers_cancelled: AtomicUsize::new(0),
            reactor: std::sync::OnceLock::new(),
            reactor_thread: Mutex::new(None),
            start: Instant::now(),
            virtual_now: AtomicU64::new(0f64.to_bits()),
            down_ty,
            death_lock: Mutex::new(()),
            death_cv: Condvar::new(),
            rng: Mutex::new(config.seed.unwrap_or(0)),
            cpu_exceeded: AtomicBool::new(false),
            cpu_start: Mutex::new(Duration::ZERO),
            exit_status: AtomicU32::new(0),
        });
        vm.replace_io(shared.output());
        let main_cell = Arc::new(Cell::new(0, u16::MAX - 1, None, usize::MAX, actor::Overflow::Block, true));
        Scheduler { shared, local: None, between_runs: false, away: false, done: false, main_cell, main_host: None }
    }

    /// Actors go on running while no run is in progress (the REPL between inputs), on a spare
    /// thread when the calling thread is the only worker. Without it they wait for the next
    /// run.
    pub fn keep_running_between_runs(&mut self) {
        self.between_runs = true;
    }

    /// Runs a started main program to its end; the actors it spawned keep running (until
    /// `shutdown`). `vm` may hold a later version of the program than the last run's (an
    /// extension of it, as `Vm::load` makes): new processes are made from it.
    pub fn run(&mut self, mut vm: Vm) -> (Vm, RunState) {
        let shared = self.shared.clone();
        let config = &shared.config;
        if config.limits != noodle_vm::Limits::default() {
            vm.set_limits(config.limits);
        }
        {
            let t = vm.template();
            let mut current = shared.template.write().unwrap();
            if !current.same(&t) {
                *current = t;
                shared.generation.fetch_add(1, Ordering::SeqCst);
            }
        }
        // the processor time of each run counts from its start
        if config.max_cpu.is_some() {
            *shared.cpu_start.lock().unwrap() = process_cpu_time();
            shared.cpu_exceeded.store(false, Ordering::SeqCst);
        }
        if std::mem::take(&mut self.away) {
            shared.blocking(false);
        }
        vm.replace_io(shared.output());
        let main_cell = self.main_cell.clone();
        vm.host = Some(self.main_host.take().unwrap_or_else(|| Box::new(process::ProcHost::new(shared.clone(), main_cell.clone()))));
        let main = Box::new(Process::main(main_cell.clone(), vm));
        let (mut vm, state) = if shared.deterministic() {
            run_deterministic(&shared, &main_cell, main)
        } else {
            let (result, local) = run_threaded(&shared, &main_cell, main, self.local.take());
            self.local = Some(local);
            result
        };
        self.main_host = vm.host.take();
        if self.between_runs && !shared.deterministic() && !shared.cells.lock().unwrap().is_empty() {
            shared.blocking(true);
            self.away = true;
        }
        (vm, state)
    }

    /// Stops every actor still running (newest first; their `on_stop` hooks get 5 seconds in
    /// all) and the threads, and gives back the streams taken by `new`.
    pub fn shutdown(mut self) -> Output {
        self.stop();
        let shared = &self.shared;
        let out = std::mem::replace(&mut *shared.out.lock().unwrap(), Box::new(std::io::sink()));
        let err = std::mem::replace(&mut *shared.err.lock().unwrap(), Box::new(std::io::sink()));
        // an abandoned actor may still be reading standard input: then the caller gets none back
        let input = match shared.input.try_lock() {
            Ok(mut i) => std::mem::replace(&mut *i, Box::new(std::io::empty())),
            Err(_) => Box::new(std::io::empty()),
        };
        Output { out, err, input }
    }

    fn stop(&mut self) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        if std::mem::take(&mut self.away) {
            self.shared.blocking(false);
        }
        if let Some(local) = self.local.take() {
            LOCAL.with(|l| *l.borrow_mut() = Some(local));
        }
        shutdown(&self.shared);
    }
}

impl Drop for Scheduler {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The calling thread is the first worker; main is one of the processes it (or any other
/// worker) runs. Returns when main has ended, with the calling thread's queue (`local`, the
/// one of an earlier run, or a new one on the first).
fn run_threaded(shared: &Arc<Shared>, main_cell: &Arc<Cell>, main: Box<Process>, local: Option<Worker<Box<Process>>>) -> ((Vm, RunState), Worker<Box<Process>>) {
    let mine = match local {
        Some(w) => w,
        None => {
            let n = shared.config.threads.max(1);
            // FIFO, not LIFO: with LIFO, two processes that keep waking each other (an ask in
            // a loop) would stay on top of the deque and starve everything beneath them
            let mut locals: Vec<Worker<Box<Process>>> = (0..n).map(|_| Worker::new_fifo()).collect();
            if let Queue::Threaded { stealers, .. } = &shared.queue {
                let _ = stealers.set(locals.iter().map(|w| w.stealer()).collect());
            }
            let mine = locals.remove(0);
            *shared.spare_locals.lock().unwrap() = locals;
            mine
        }
    };
    LOCAL.with(|l| *l.borrow_mut() = Some(mine));
    // queued by hand: `schedule` would start the other workers, and a program that never
    // spawns should start no thread
    shared.active.fetch_add(1, Ordering::SeqCst);
    LOCAL.with(|l| l.borrow().as_ref().unwrap().push(main));
    let mut quiet_checks = 0;
    let done = loop {
        if let Some(done) = shared.main_done.lock().unwrap().take() {
            break done;
        }
        if shared.over_cpu() || shared.exit_requested().is_some() {
            // main may be waiting: it ends at its next slice
            process::deliver_sys(shared, main_cell, process::Sys::Wake);
        }
        if run_some(shared) || spin_for_work(shared) {
            quiet_checks = 0;
            continue;
        }
        // Main waits, nothing is queued or running and no timer or socket wait is pending:
        // nothing can ever wake it. Checked three times in a row so a message in flight is not missed.
        let idle = shared.active.load(Ordering::SeqCst) == 0 && !shared.timers_pending() && !shared.io_pending();
        quiet_checks = if idle { quiet_checks + 1 } else { 0 };
        if quiet_checks >= 3 {
            if let Some(p) = main_cell.take_parked_main() {
                process::break_deadlock(shared, p);
                quiet_checks = 0;
                continue;
            }
        }
        idle_wait(shared, Duration::from_millis(if idle { 5 } else { 20 }));
    };
    // what this thread woke last goes where the other threads can take it
    flush_lifo_slot();
    let mine = LOCAL.with(|l| l.borrow_mut().take()).expect("the calling thread's queue");
    (done, mine)
}

/// Everything on this thread, in an order chosen by the seed, with virtual time.
fn run_deterministic(shared: &Arc<Shared>, main_cell: &Arc<Cell>, main: Box<Process>) -> (Vm, RunState) {
    shared.schedule(main, false);
    let mut main_result = None;
    loop {
        if let Some(r) = main_result.take() {
            return r;
        }
        match shared.next_deterministic(true) {
            Some(p) => {
                // each slice takes a little virtual time, so timeouts fire even while
                // something computes forever
                shared.advance_to(shared.now() + 0.000_1);
                shared.active.fetch_sub(1, Ordering::SeqCst);
                if p.cell.is_main {
                    if let process::MainEnd::Done(vm, state) = process::run_main_slice(shared, p) {
                        main_result = Some((vm, state));
                    }
                } else {
                    process::run_slice(shared, p);
                }
                shared.fire_due_timers();
                if shared.io_pending() {
                    // sockets that became ready meanwhile (without waiting)
                    shared.poll_io(Some(Duration::ZERO));
                }
                if shared.over_cpu() || shared.exit_requested().is_some() {
                    process::deliver_sys(shared, main_cell, process::Sys::Wake);
                }
            }
            // idle: wait for a socket, in real time, until the next timer is due; else jump to
            // the next timer, or main can never be woken
            None => {
                if shared.io_pending() {
                    let next = shared.timers.lock().unwrap().peek().map(|t| t.at);
                    let wait = next.map(|at| Duration::from_secs_f64((at - shared.now()).clamp(0.0, 1e9)));
                    if shared.poll_io(wait) > 0 {
                        continue;
                    }
                }
                if !shared.jump_to_next_timer() {
                    match main_cell.take_parked_main() {
                        Some(p) => process::break_deadlock(shared, p),
                        None => unreachable!("the deterministic scheduler is idle with main neither queued nor parked"),
                    }
                }
            }
        }
    }
}

/// How long the actors still running at the end of a program get to stop (their `on_stop`
/// hooks), as an OTP supervisor gives a child a shutdown timeout: then they are abandoned
/// with a warning, and the program ends all the same.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Stops every actor still alive (newest first, so children before their supervisors) and waits
/// for their `on_stop` hooks (up to `SHUTDOWN_TIMEOUT`), then stops the threads.
fn shutdown(shared: &Arc<Shared>) {
    shared.shutdown_started.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
    let mut abandoned = false;
    // each actor is told once (one spawned meanwhile, by an on_stop, is told when seen): an
    // actor busy for a while (in a database query) would otherwise get a new shutdown message
    // at every turn of this loop, until its queue filled the memory
    let mut told: std::collections::HashSet<u64> = std::collections::HashSet::new();
    loop {
        let mut cells: Vec<Arc<Cell>> = shared.cells.lock().unwrap().cells().cloned().collect();
        if cells.is_empty() {
            break;
        }
        cells.sort_by_key(|c| std::cmp::Reverse(c.id));
        for c in &cells {
            if told.insert(c.id) {
                process::deliver_sys(shared, c, process::Sys::Shutdown);
            }
        }
        if shared.deterministic() {
            // run until everyone has stopped (timers fire at once: nobody waits for them now)
            while Instant::now() < deadline {
                let Some(p) = shared.next_deterministic(false) else { break };
                shared.active.fetch_sub(1, Ordering::SeqCst);
                process::run_slice(shared, p);
            }
            // an on_stop hook may wait for a timer; with none pending, it waits forever
            if Instant::now() < deadline && !shared.cells.lock().unwrap().is_empty() && !shared.jump_to_next_timer() {
                break;
            }
        } else {
            // this thread is a worker too (the only one with NOODLE_THREADS=1)
            // with other workers, this thread leaves the stopping to them and only keeps the
            // time: an on_stop blocked in a native (reading input that never comes) then
            // holds a worker, not the end of the program. Alone, it runs them itself; an
            // on_stop that never returns is preempted like any code, so this loop ends.
            // workers proper: a spare (which ends once nothing is blocked) does not count
            let mut others = shared.worker_threads.load(Ordering::SeqCst) > 0;
            if !others && !shared.cells.lock().unwrap().is_empty() {
                // one thread in all (NOODLE_THREADS=1): a helper stops the actors, so that
                // this one can keep the time
                let s = shared.clone();
                if let Ok(h) = std::thread::Builder::new().name("noodle-stopper".into()).spawn(move || worker_loop(s, Worker::new_fifo())) {
                    shared.workers.lock().unwrap().push(h);
                    shared.worker_threads.fetch_add(1, Ordering::SeqCst);
                    others = true;
                }
            }
            if others {
                // what the shutdown woke may sit in this thread's slot, which no one steals
                flush_lifo_slot();
            }
            while !others && Instant::now() < deadline && run_some(shared) {}
            let g = shared.death_lock.lock().unwrap();
            // with other workers doing the stopping, this thread only keeps the time: it waits
            // for a death (or 20 ms) rather than spinning while an actor is busy
            if !shared.cells.lock().unwrap().is_empty() && (others || !has_work(shared)) {
                let _ = shared.death_cv.wait_timeout(g, Duration::from_millis(20)).unwrap();
            }
        }
        if Instant::now() >= deadline {
            let left = shared.cells.lock().unwrap().len();
            if left > 0 {
                shared.log(&format!("warning: {left} actor(s) did not stop within {} s of the end of the program (an on_stop that does not return?): abandoned\n", SHUTDOWN_TIMEOUT.as_secs()));
                abandoned = true;
            }
            break;
        }
    }
    shared.shutdown.store(true, Ordering::SeqCst);
    {
        let _g = shared.idle_lock.lock().unwrap();
        shared.idle_cv.notify_all();
    }
    shared.timer_cv.notify_all();
    if let Some(r) = shared.reactor.get() {
        r.wake();
    }
    {
        let _g = shared.spare_lock.lock().unwrap();
        shared.spare_cv.notify_all();
    }
    // a worker busy in an abandoned actor (a native that waits forever) is left behind: the
    // process ends without it
    let grace = Instant::now() + Duration::from_millis(200);
    for h in shared.workers.lock().unwrap().drain(..) {
        while abandoned && !h.is_finished() && Instant::now() < grace {
            std::thread::sleep(Duration::from_millis(2));
        }
        if !abandoned || h.is_finished() {
            let _ = h.join();
        }
    }
    if let Some(h) = shared.timer_thread.lock().unwrap().take() {
        let _ = h.join();
    }
    if let Some(h) = shared.reactor_thread.lock().unwrap().take() {
        let _ = h.join();
    }
    if let Some(r) = shared.reactor.get() {
        r.clear();
    }
    // drop whatever is left (timers hold cells)
    shared.timers.lock().unwrap().clear();
    LIFO_SLOT.with(|s| s.borrow_mut().take());
    LOCAL.with(|l| *l.borrow_mut() = None);
    shared.names.lock().unwrap().clear();
    shared.cells.lock().unwrap().clear();
}
