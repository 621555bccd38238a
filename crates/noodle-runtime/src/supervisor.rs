//! Supervisors: processes without a VM that restart their children by OTP's rules.
//!
//! - A child that ends is restarted or not by its restart policy: `permanent` always,
//!   `transient` only after a crash, `temporary` never (it is forgotten). A transient child
//!   that ended normally keeps its place, not running.
//! - `one_for_one` restarts only that child; `one_for_all` stops every other child (newest
//!   first) and starts them all again in order; `rest_for_one` does that for the children
//!   started after it. As in OTP, a temporary sibling stopped this way is not restarted (it is
//!   forgotten), and a sibling that had ended normally is started again with the others.
//! - More than `intensity` restarts within `period` seconds: the supervisor stops all its
//!   children and fails (N2308), which its own supervisor sees as a crashed child, or, at the
//!   top, the process that created it sees as a crashed link.
//! - A restarted child is a new actor (a new id) with the same name, so references to the old
//!   one go stale; registered names find the new one.

use crate::codes::{N2308, N2309};
use crate::process::{self, Cell, Process, Reason, SupView, Sys, Watch};
use crate::Shared;
use crate::actor::{Overflow, Restart, SpawnSpec, Strategy, SupervisorSpec};
use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

/// How to start a child (again).
#[derive(Clone)]
pub(crate) enum ChildKind {
    Actor(Arc<SpawnSpec>),
    Supervisor { spec: SupervisorSpec, children: Vec<ChildKind> },
}

pub(crate) struct Child {
    kind: ChildKind,
    cell: Arc<Cell>,
    /// False for a child that ended and was not restarted (a transient one that stopped
    /// normally): a group restart starts it again.
    running: bool,
}

impl Child {
    pub(crate) fn actor(spec: Arc<SpawnSpec>, cell: Arc<Cell>) -> Child {
        Child { kind: ChildKind::Actor(spec), cell, running: true }
    }

    fn new(kind: ChildKind, cell: Arc<Cell>) -> Child {
        Child { kind, cell, running: true }
    }

    fn policy(&self) -> Restart {
        match &self.kind {
            ChildKind::Actor(spec) => spec.restart,
            ChildKind::Supervisor { .. } => Restart::Permanent,
        }
    }
}

pub(crate) struct Sup {
    spec: SupervisorSpec,
    children: Vec<Child>,
    /// Times of the recent restarts (within `period`).
    recent: VecDeque<f64>,
    total: u64,
    /// Children this supervisor is stopping itself: their exits are expected.
    stopping: HashSet<u64>,
}

/// Starts a supervisor; under `parent` when given.
pub(crate) fn start(shared: &Arc<Shared>, spec: SupervisorSpec, parent: Option<Arc<Cell>>) -> Arc<Cell> {
    let cell = Arc::new(Cell::new(shared.new_id(), u16::MAX, spec.name.as_deref().map(Box::from), usize::MAX, Overflow::Block, false));
    if let Some(name) = &spec.name {
        shared.names.lock().unwrap().insert(name.clone(), cell.reference());
    }
    if let Some(parent) = &parent {
        cell.inbox.lock().unwrap().watchers.push((parent.clone(), Watch::Parent));
        let kind = ChildKind::Supervisor { spec: spec.clone(), children: Vec::new() };
        process::deliver_sys(shared, parent, Sys::Adopt(Box::new(Child::new(kind, cell.clone()))));
    }
    shared.cells.lock().unwrap().insert(cell.clone());
    let sup = Sup { spec, children: Vec::new(), recent: VecDeque::new(), total: 0, stopping: HashSet::new() };
    process::park_new(Box::new(Process::supervisor(cell.clone(), sup)));
    cell
}

/// Starts a child of the supervisor `me` from its recipe, without announcing it (the
/// supervisor records it itself).
fn start_child(shared: &Arc<Shared>, me: &Arc<Cell>, kind: &ChildKind) -> Arc<Cell> {
    match kind {
        ChildKind::Actor(spec) => {
            let cell = process::new_cell(shared, spec);
            if let Some(name) = &spec.name {
                shared.names.lock().unwrap().insert(name.clone(), cell.reference());
            }
            cell.inbox.lock().unwrap().watchers.push((me.clone(), Watch::Parent));
            process::start_actor(shared, spec, cell.clone());
            cell
        }
        ChildKind::Supervisor { spec, children } => {
            let cell = Arc::new(Cell::new(shared.new_id(), u16::MAX, spec.name.as_deref().map(Box::from), usize::MAX, Overflow::Block, false));
            if let Some(name) = &spec.name {
                shared.names.lock().unwrap().insert(name.clone(), cell.reference());
            }
            cell.inbox.lock().unwrap().watchers.push((me.clone(), Watch::Parent));
            shared.cells.lock().unwrap().insert(cell.clone());
            let mut sup = Sup { spec: spec.clone(), children: Vec::new(), recent: VecDeque::new(), total: 0, stopping: HashSet::new() };
            for k in children {
                let c = start_child(shared, &cell, k);
                sup.children.push(Child::new(k.clone(), c));
            }
            publish(&cell, &sup);
            process::park_new(Box::new(Process::supervisor(cell.clone(), sup)));
            cell
        }
    }
}

/// Makes the children visible to `children()`/`restarts()` and to a restarting parent.
fn publish(cell: &Cell, sup: &Sup) {
    let view = SupView { children: sup.children.iter().filter(|c| c.running).map(|c| c.cell.reference()).collect(), restarts: sup.total, specs: sup.children.iter().map(recipe).collect() };
    *cell.sup.lock().unwrap() = Some(Box::new(view));
}

/// A child's recipe, with a sub-supervisor's current children.
fn recipe(c: &Child) -> ChildKind {
    match &c.kind {
        ChildKind::Actor(s) => ChildKind::Actor(s.clone()),
        ChildKind::Supervisor { spec, .. } => ChildKind::Supervisor { spec: spec.clone(), children: c.cell.sup.lock().unwrap().as_ref().map(|v| v.specs.clone()).unwrap_or_default() },
    }
}

pub(crate) fn run_slice(shared: &Arc<Shared>, mut p: Box<Process>) {
    loop {
        let batch = process::take_sys(&p.cell);
        if batch.is_empty() {
            match process::park(p) {
                Some(back) => {
                    p = back;
                    continue;
                }
                None => return,
            }
        }
        let me = p.cell.clone();
        for s in batch {
            let sup = p.supervisor_mut();
            match s {
                Sys::Adopt(child) => {
                    sup.children.push(*child);
                    publish(&me, sup);
                }
                Sys::ChildExit { id, reason } => {
                    if let Some(failure) = child_exit(shared, &me, sup, id, reason) {
                        process::die(shared, p, failure);
                        return;
                    }
                }
                Sys::Shutdown | Sys::Stop => {
                    stop_all(shared, sup, 0);
                    process::die(shared, p, Reason::Shutdown);
                    return;
                }
                Sys::Exit(message) => {
                    stop_all(shared, sup, 0);
                    process::die(shared, p, Reason::Crashed { code: N2309.into(), message });
                    return;
                }
                Sys::Reply { .. } | Sys::Timer { .. } | Sys::Wake => {}
            }
        }
    }
}

/// Stops the children from index `from` on, newest first.
fn stop_all(shared: &Arc<Shared>, sup: &mut Sup, from: usize) {
    for c in sup.children[from..].iter().rev().filter(|c| c.running) {
        sup.stopping.insert(c.cell.id);
        process::deliver_sys(shared, &c.cell, Sys::Shutdown);
    }
}

/// Reacts to a child's end; returns the supervisor's own failure when it gives up.
fn child_exit(shared: &Arc<Shared>, me: &Arc<Cell>, sup: &mut Sup, id: u64, reason: Reason) -> Option<Reason> {
    if sup.stopping.remove(&id) {
        return None;
    }
    if shared.shutdown_started.load(std::sync::atomic::Ordering::SeqCst) {
        // the program is ending: nothing is restarted
        return None;
    }
    let i = sup.children.iter().position(|c| c.cell.id == id)?;
    let policy = sup.children[i].policy();
    let crashed = matches!(reason, Reason::Crashed { .. });
    let restart = match policy {
        Restart::Permanent => true,
        Restart::Transient => crashed,
        Restart::Temporary => false,
    };
    if !restart {
        if policy == Restart::Temporary {
            sup.children.remove(i);
        } else {
            sup.children[i].running = false;
        }
        publish(me, sup);
        return None;
    }
    let now = shared.now();
    sup.recent.push_back(now);
    while sup.recent.front().is_some_and(|t| *t <= now - sup.spec.period) {
        sup.recent.pop_front();
    }
    if sup.recent.len() as u64 > sup.spec.intensity as u64 {
        let who = me.describe(shared.template().program());
        let message = format!("supervisor {who} gave up: more than {} restart{} in {} s (the last child ended with {})", sup.spec.intensity, if sup.spec.intensity == 1 { "" } else { "s" }, sup.spec.period, reason.text());
        shared.log(&format!("error[{N2308}] {message}\n"));
        stop_all(shared, sup, 0);
        // its recipes stay: a supervisor above restarts it with the same children
        if let Some(view) = me.sup.lock().unwrap().as_mut() {
            view.children.clear();
            view.restarts = sup.total;
        }
        return Some(Reason::Crashed { code: N2308.into(), message });
    }
    sup.total += 1;
    let first = match sup.spec.strategy {
        Strategy::OneForOne => i,
        Strategy::OneForAll => 0,
        Strategy::RestForOne => i,
    };
    let last = match sup.spec.strategy {
        Strategy::OneForOne => i + 1,
        _ => sup.children.len(),
    };
    // stop the others that go down with it (newest first), then start them all in order;
    // temporary ones are not started again
    for j in (first..last).rev() {
        let c = &sup.children[j];
        if j != i && c.running {
            sup.stopping.insert(c.cell.id);
            process::deliver_sys(shared, &c.cell, Sys::Shutdown);
        }
    }
    for j in first..last {
        if sup.children[j].policy() == Restart::Temporary {
            continue;
        }
        let kind = recipe(&sup.children[j]);
        let cell = start_child(shared, me, &kind);
        sup.children[j] = Child::new(kind, cell);
    }
    let mut j = last;
    while j > first {
        j -= 1;
        if sup.children[j].policy() == Restart::Temporary {
            sup.children.remove(j);
        }
    }
    publish(me, sup);
    None
}
