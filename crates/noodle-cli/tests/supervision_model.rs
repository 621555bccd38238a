//! Model-based test of supervision trees: random scenarios (a supervisor, its children, a
//! sequence of crashes and normal stops) run as generated Noodle programs under `NOODLE_SEED`
//! (one thread, virtual time), and their observable state after every event is compared with
//! what a model of Erlang/OTP's `supervisor` rules predicts.
//!
//! # The rules the model encodes (OTP `supervisor`, not Noodle's implementation)
//!
//! 1. **Restart policy**, on a child's exit (`restart_type` in the OTP docs):
//!    - `permanent`: always restarted;
//!    - `transient`: restarted only after an abnormal exit (not `normal`, `shutdown`,
//!      `{shutdown, _}`) — here: after a crash, not after `ref.stop()`;
//!    - `temporary`: never restarted, and its child spec is deleted as soon as it exits.
//! 2. A **non-temporary child that exits without being restarted** (a transient child that
//!    stopped normally) keeps its child spec, as a terminated child (`pid = undefined`;
//!    `which_children` lists it as `undefined`). supervisor.erl: `do_restart(normal, ...)` calls
//!    `del_child`, which removes the spec of a temporary child and only clears the pid of any
//!    other.
//! 3. **Intensity.** Each exit that is to be restarted adds one restart (`add_restart`), before
//!    the strategy runs; siblings stopped by the strategy add none. When more than
//!    `max_restarts` restarts lie within `within` seconds, the supervisor restarts nothing,
//!    terminates all its children and exits (Noodle: N2308, then N2309 to the linked creator).
//! 4. **Strategy**, when the exited child is to be restarted:
//!    - `one_for_one`: only that child is restarted;
//!    - `one_for_all`: all the other children are terminated, then *all* children in the spec
//!      list are started again, in start order (supervisor.erl: `restart_multiple_children` is
//!      `terminate_children` then `start_children`, and `start_children` starts every spec in
//!      the list whatever its pid, so a terminated child kept by rule 2 is started again too);
//!    - `rest_for_one`: the same for the exited child and the children after it in start order.
//!    - A `temporary` sibling terminated by `one_for_all` / `rest_for_one` is *not* restarted:
//!      its spec is removed (the docs: "A temporary child process is never restarted (even
//!      when the supervisor's restart strategy is rest_for_one or one_for_all and a sibling's
//!      death causes the temporary process to be terminated)"; supervisor.erl:
//!      `terminate_children` returns `remove` for a temporary child).
//!    - A sibling terminated by the strategy is not a restart of its own (its exit is consumed
//!      by the shutdown, not handled as a child exit): one exit, one restart.
//!
//! `within` is 1000 s, so with virtual time every restart stays in the period and intensity is
//! purely a count. The observable state printed after every event: for each child whether it
//! is running (`W.lookup(name) != none`) and how many times it has been started (its `init`
//! reports to a bookkeeping actor), `sup.restarts()` (restarts performed; the one refused by the
//! intensity limit is not performed), whether the supervisor has failed (`not sup.alive()`), and
//! whether the failure escalated to its creator (the supervisor is created by a helper actor
//! `Boss`, which the link kills with N2309, so the main program survives to observe it).
//!
//! A mismatch is never folded into the model: the test collects the scenarios where Noodle
//! disagrees with these rules, shrinks each one to a small scenario that still disagrees, names
//! the rule that explains it (by checking which Noodle-like variant of the model matches), and
//! fails with the scenario, its program, and the expected and actual output.
//!
//! `SUPERVISION_MODEL_SEED` and `SUPERVISION_MODEL_CASES` change the generator's seed and the
//! number of scenarios.

mod common;

use common::{run_with_timeout, unique, Run};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Pseudo-random numbers

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Strategy {
    OneForOne,
    OneForAll,
    RestForOne,
}

impl Strategy {
    fn name(self) -> &'static str {
        match self {
            Strategy::OneForOne => "one_for_one",
            Strategy::OneForAll => "one_for_all",
            Strategy::RestForOne => "rest_for_one",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Policy {
    Permanent,
    Transient,
    Temporary,
}

impl Policy {
    fn name(self) -> &'static str {
        match self {
            Policy::Permanent => "permanent",
            Policy::Transient => "transient",
            Policy::Temporary => "temporary",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Event {
    /// The child's current incarnation handles a message that throws.
    Crash(usize),
    /// `ref.stop()` on the child's current incarnation: a normal exit.
    Stop(usize),
}

impl Event {
    fn describe(self) -> String {
        match self {
            Event::Crash(k) => format!("crash c{k}"),
            Event::Stop(k) => format!("stop c{k}"),
        }
    }
}

#[derive(Clone, Debug)]
struct Scenario {
    /// The scenario's number in the generated sequence (kept by shrinking).
    id: usize,
    /// `NOODLE_SEED` for the run.
    noodle_seed: u64,
    strategy: Strategy,
    max_restarts: u32,
    policies: Vec<Policy>,
    events: Vec<Event>,
}

impl Scenario {
    fn generate(id: usize, rng: &mut SplitMix64) -> Scenario {
        let strategy = [Strategy::OneForOne, Strategy::OneForAll, Strategy::RestForOne][rng.range(0, 2) as usize];
        let max_restarts = rng.range(1, 4) as u32;
        let n = rng.range(1, 5) as usize;
        let policies = (0..n).map(|_| [Policy::Permanent, Policy::Transient, Policy::Temporary][rng.range(0, 2) as usize]).collect();
        let events = (0..rng.range(1, 8))
            .map(|_| {
                let k = rng.range(0, n as u64 - 1) as usize;
                // crashes a bit more often than normal stops: they are what restarts
                if rng.range(0, 2) < 2 {
                    Event::Crash(k)
                } else {
                    Event::Stop(k)
                }
            })
            .collect();
        Scenario { id, noodle_seed: rng.range(1, 1_000_000), strategy, max_restarts, policies, events }
    }

    fn describe(&self) -> String {
        let children: Vec<String> = self.policies.iter().enumerate().map(|(k, p)| format!("c{k}:{}", p.name())).collect();
        let events: Vec<String> = self.events.iter().map(|e| e.describe()).collect();
        format!(
            "scenario #{} (NOODLE_SEED={}): {} max_restarts={} children [{}] events [{}]",
            self.id,
            self.noodle_seed,
            self.strategy.name(),
            self.max_restarts,
            children.join(", "),
            events.join(", ")
        )
    }

    /// Smaller scenarios derived from this one, for shrinking a failure.
    fn simpler(&self) -> Vec<Scenario> {
        let mut out = Vec::new();
        for i in 0..self.events.len() {
            let mut s = self.clone();
            s.events.remove(i);
            out.push(s);
        }
        if self.policies.len() > 1 {
            for c in 0..self.policies.len() {
                let mut s = self.clone();
                s.policies.remove(c);
                s.events = self
                    .events
                    .iter()
                    .filter_map(|e| {
                        let (k, crash) = match *e {
                            Event::Crash(k) => (k, true),
                            Event::Stop(k) => (k, false),
                        };
                        if k == c {
                            return None;
                        }
                        let k = if k > c { k - 1 } else { k };
                        Some(if crash { Event::Crash(k) } else { Event::Stop(k) })
                    })
                    .collect();
                out.push(s);
            }
        }
        if self.max_restarts > 1 {
            let mut s = self.clone();
            s.max_restarts -= 1;
            out.push(s);
        }
        for (c, p) in self.policies.iter().enumerate() {
            if *p != Policy::Permanent {
                let mut s = self.clone();
                s.policies[c] = Policy::Permanent;
                out.push(s);
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// The model

/// Which rules the model follows: `OTP` is the reference; the other combinations stand for
/// ways an implementation can deviate, and are only used to name the rule behind a mismatch.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Rules {
    /// A temporary sibling terminated by one_for_all / rest_for_one is started again (OTP: it
    /// is removed; rule 4).
    temporary_siblings_restarted: bool,
    /// A transient child that exits normally is forgotten, so a later one_for_all /
    /// rest_for_one restart does not start it again (OTP: its spec stays and is started;
    /// rules 2 and 4).
    normal_exit_forgets_transient: bool,
}

const OTP: Rules = Rules { temporary_siblings_restarted: false, normal_exit_forgets_transient: false };

const DEVIATIONS: [(Rules, &str); 3] = [
    (
        Rules { temporary_siblings_restarted: true, normal_exit_forgets_transient: false },
        "a temporary sibling terminated by one_for_all/rest_for_one is restarted (OTP: never restarted, its spec is removed)",
    ),
    (
        Rules { temporary_siblings_restarted: false, normal_exit_forgets_transient: true },
        "a transient child that stopped normally is forgotten, so a later one_for_all/rest_for_one restart does not start it again (OTP: its spec is kept and start_children starts it)",
    ),
    (
        Rules { temporary_siblings_restarted: true, normal_exit_forgets_transient: true },
        "both: temporary siblings are restarted by one_for_all/rest_for_one, and normally stopped transient children are not",
    ),
];

#[derive(Clone, Copy)]
struct ChildState {
    running: bool,
    starts: u32,
}

struct Model<'a> {
    s: &'a Scenario,
    rules: Rules,
    children: Vec<ChildState>,
    /// The child specs the supervisor still has, in start order.
    specs: Vec<usize>,
    /// Restarts counted against the intensity (including the one that makes it give up).
    counted: u32,
    /// Restarts performed (what `sup.restarts()` reports).
    performed: u32,
    failed: bool,
}

impl<'a> Model<'a> {
    fn new(s: &'a Scenario, rules: Rules) -> Model<'a> {
        let n = s.policies.len();
        Model {
            s,
            rules,
            children: vec![ChildState { running: true, starts: 1 }; n],
            specs: (0..n).collect(),
            counted: 0,
            performed: 0,
            failed: false,
        }
    }

    /// Applies one event; returns whether it applied (the child was running).
    fn apply(&mut self, e: Event) -> bool {
        let (k, crashed) = match e {
            Event::Crash(k) => (k, true),
            Event::Stop(k) => (k, false),
        };
        if !self.children[k].running {
            return false;
        }
        self.children[k].running = false;
        let policy = self.s.policies[k];
        // rule 1
        let restart = match policy {
            Policy::Permanent => true,
            Policy::Transient => crashed,
            Policy::Temporary => false,
        };
        if !restart {
            // rules 1 and 2
            if policy == Policy::Temporary || self.rules.normal_exit_forgets_transient {
                self.specs.retain(|&c| c != k);
            }
            return true;
        }
        // rule 3
        self.counted += 1;
        if self.counted > self.s.max_restarts {
            self.failed = true;
            for c in &mut self.children {
                c.running = false;
            }
            return true;
        }
        self.performed += 1;
        // rule 4
        let pos = self.specs.iter().position(|&c| c == k).expect("a restarted child has a spec");
        let group: Vec<usize> = match self.s.strategy {
            Strategy::OneForOne => vec![k],
            Strategy::OneForAll => self.specs.clone(),
            Strategy::RestForOne => self.specs[pos..].to_vec(),
        };
        for &c in group.iter().rev() {
            if c != k {
                self.children[c].running = false;
                if self.s.policies[c] == Policy::Temporary && !self.rules.temporary_siblings_restarted {
                    self.specs.retain(|&x| x != c);
                }
            }
        }
        for &c in &group {
            if self.specs.contains(&c) {
                self.children[c].running = true;
                self.children[c].starts += 1;
            }
        }
        true
    }

    /// The line the program prints after `what`, in the same format.
    fn line(&self, what: &str, applied: bool) -> String {
        let mut l = what.to_string();
        if !applied {
            l.push_str(" (skipped)");
        }
        l.push(':');
        for (k, c) in self.children.iter().enumerate() {
            let _ = write!(l, " c{k}={}/{}", if c.running { "up" } else { "down" }, c.starts);
        }
        let _ = write!(l, " restarts={} failed={} escalated={}", self.performed, self.failed, self.failed);
        l
    }
}

/// What the program should print for `s` under `rules`.
fn expected(s: &Scenario, rules: Rules) -> String {
    let mut m = Model::new(s, rules);
    let mut out = m.line("start", true);
    out.push('\n');
    for &e in &s.events {
        let applied = m.apply(e);
        out.push_str(&m.line(&e.describe(), applied));
        out.push('\n');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The Noodle program

const PRELUDE: &str = r#"import std.actor
import std.time

struct Crash {}
struct Started { name: str }
struct Count { name: str }
struct Setup {}

# counts the starts of each child: a restarted child is a new actor, whose init runs again
actor Book {
    starts: dict[str, int] = {}
    on started(self, m: Started) {
        self.starts[m.name] = self.starts.get(m.name, 0) + 1
    }
    on count(self, m: Count) -> int {
        return self.starts.get(m.name, 0)
    }
}

actor W {
    label: str = ""
    def init(self, label: str) {
        self.label = label
        Book.lookup("book")!.send(Started(label))
    }
    on crash(self, m: Crash) {
        throw Error("E0001", f"{self.label} was told to crash")
    }
}

def crash(name: str) -> bool {
    let w = W.lookup(name)
    if w == none { return false }
    w.send(Crash())
    return true
}

def halt(name: str) -> bool {
    let w = W.lookup(name)
    if w == none { return false }
    w.stop()
    return true
}

def mark(up: bool) -> str {
    if up { return "up" }
    return "down"
}

def show(what: str, applied: bool, sup: actor.Supervisor, boss: Boss, book: Book, names: list[str]) {
    var line = what
    if not applied { line = line + " (skipped)" }
    line = line + ":"
    for name in names {
        let n = await book.ask(Count(name))
        line = line + f" {name}={mark(W.lookup(name) != none)}/{n}"
    }
    print(line, f"restarts={sup.restarts()} failed={not sup.alive()} escalated={not boss.alive()}")
}
"#;

/// The program for `s`. With `settle`, the system settles (virtual time) after every event
/// and the state is printed; without, the events follow each other with no pause (so the
/// interleaving depends on the seed) and the state is printed once at the end.
fn program(s: &Scenario, settle: bool) -> String {
    let mut p = String::from(PRELUDE);
    p.push_str("\n# the supervisor is linked to its creator: a Boss, so that its failure (N2309) does not end main\n");
    p.push_str("actor Boss {\n    on setup(self, m: Setup) -> actor.Supervisor {\n");
    let _ = writeln!(p, "        let sup = actor.supervisor(\"{}\", max_restarts: {}, within: 1000.0)", s.strategy.name(), s.max_restarts);
    for (k, pol) in s.policies.iter().enumerate() {
        let _ = writeln!(p, "        spawn(supervisor: sup, name: \"c{k}\", restart: \"{}\") W(\"c{k}\")", pol.name());
    }
    p.push_str("        return sup\n    }\n}\n\n");
    let names: Vec<String> = (0..s.policies.len()).map(|k| format!("\"c{k}\"")).collect();
    let _ = writeln!(p, "let names = [{}]", names.join(", "));
    p.push_str("let book = spawn(name: \"book\") Book()\n");
    p.push_str("let boss = spawn Boss()\n");
    p.push_str("let sup = await boss.ask(Setup())\n");
    p.push_str("time.sleep(0.05)\n");
    p.push_str("show(\"start\", true, sup, boss, book, names)\n");
    p.push_str("var applied = true\n");
    for &e in &s.events {
        let call = match e {
            Event::Crash(k) => format!("crash(\"c{k}\")"),
            Event::Stop(k) => format!("halt(\"c{k}\")"),
        };
        let _ = writeln!(p, "applied = {call}");
        if settle {
            p.push_str("time.sleep(0.05)\n");
            let _ = writeln!(p, "show(\"{}\", applied, sup, boss, book, names)", e.describe());
        }
    }
    if !settle {
        p.push_str("time.sleep(0.05)\n");
        p.push_str("show(\"end\", true, sup, boss, book, names)\n");
    }
    p
}

// ---------------------------------------------------------------------------------------------
// Running `noodle`

fn run_program(src: &str, noodle_seed: u64) -> Run {
    run_program_times(src, noodle_seed, 1).pop().unwrap()
}

/// Runs the program `times` times from the same file (the file's path is in the crash log's
/// stack traces, so it must not change between runs that are compared).
fn run_program_times(src: &str, noodle_seed: u64, times: usize) -> Vec<Run> {
    let dir = std::env::temp_dir().join(format!("noodle-supervision-model-{}-{}", std::process::id(), unique()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("scenario.noodle");
    std::fs::write(&file, src).unwrap();
    let runs = (0..times).map(|_| run_file(&file, &dir, noodle_seed, Duration::from_secs(30))).collect();
    let _ = std::fs::remove_dir_all(&dir);
    runs
}

fn run_file(file: &Path, dir: &Path, noodle_seed: u64, timeout: Duration) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_noodle"));
    cmd.arg("run").arg(file).current_dir(dir).env("NOODLE_SEED", noodle_seed.to_string());
    run_with_timeout(&mut cmd, timeout)
}

/// Runs `s` (settling after every event) and returns what it printed; a run that does not
/// end with status 0 panics, since the program is meant to survive every scenario.
fn actual(s: &Scenario) -> String {
    let src = program(s, true);
    let r = run_program(&src, s.noodle_seed);
    if r.code != Some(0) {
        panic!(
            "{}\nthe program did not exit with status 0 (status {:?})\n--- program ---\n{src}--- stdout ---\n{}--- stderr ---\n{}",
            s.describe(),
            r.code,
            r.stdout,
            r.stderr
        );
    }
    r.stdout
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn scenarios() -> Vec<Scenario> {
    let mut rng = SplitMix64(env_u64("SUPERVISION_MODEL_SEED", 0x005E_ED0F_0702));
    let n = env_u64("SUPERVISION_MODEL_CASES", 200) as usize;
    (0..n).map(|id| Scenario::generate(id, &mut rng)).collect()
}

/// Which deviation from OTP explains Noodle's output for `s`, if one does.
fn diagnose(s: &Scenario, got: &str) -> &'static str {
    DEVIATIONS.iter().find(|(rules, _)| expected(s, *rules) == got).map(|(_, why)| *why).unwrap_or("not explained by any of the known deviations")
}

/// Shrinks a scenario on which Noodle disagrees with the OTP model to a smaller one that
/// still disagrees, for the same reason.
fn shrink(s: &Scenario, why: &str) -> Scenario {
    let mut cur = s.clone();
    'outer: loop {
        for cand in cur.simpler() {
            let got = actual(&cand);
            if got != expected(&cand, OTP) && diagnose(&cand, &got) == why {
                cur = cand;
                continue 'outer;
            }
        }
        return cur;
    }
}

fn diff(expected: &str, got: &str) -> String {
    let mut out = String::new();
    let e: Vec<&str> = expected.lines().collect();
    let g: Vec<&str> = got.lines().collect();
    for i in 0..e.len().max(g.len()) {
        let a = e.get(i).copied().unwrap_or("<nothing>");
        let b = g.get(i).copied().unwrap_or("<nothing>");
        if a == b {
            let _ = writeln!(out, "    {a}");
        } else {
            let _ = writeln!(out, "  - {a}\n  + {b}");
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn supervision_follows_otp_rules() {
    let started = Instant::now();
    let all = scenarios();
    let mut failures: Vec<(Scenario, String)> = Vec::new();
    for s in &all {
        let got = actual(s);
        if got != expected(s, OTP) {
            failures.push((s.clone(), got));
        }
    }
    if failures.is_empty() {
        eprintln!("{} scenarios agree with the OTP model ({:.1} s)", all.len(), started.elapsed().as_secs_f64());
        return;
    }
    // group by the deviation that explains them; shrink one per group
    let mut report = format!("{} of {} scenarios disagree with the OTP model\n", failures.len(), all.len());
    let mut groups: Vec<(&'static str, Vec<&(Scenario, String)>)> = Vec::new();
    for f in &failures {
        let why = diagnose(&f.0, &f.1);
        match groups.iter_mut().find(|(w, _)| *w == why) {
            Some((_, v)) => v.push(f),
            None => groups.push((why, vec![f])),
        }
    }
    for (why, fs) in &groups {
        let ids: Vec<String> = fs.iter().map(|(s, _)| format!("#{}", s.id)).collect();
        let _ = writeln!(report, "\n=== {} scenario(s) [{}]: {why}", fs.len(), ids.join(" "));
        let small = shrink(&fs[0].0, why);
        let got = actual(&small);
        let want = expected(&small, OTP);
        let _ = writeln!(report, "minimal: {}", small.describe());
        let _ = writeln!(report, "(shrunk from {})", fs[0].0.describe());
        let _ = writeln!(report, "explained by: {}", diagnose(&small, &got));
        let _ = writeln!(report, "--- program (run with NOODLE_SEED={}) ---\n{}", small.noodle_seed, program(&small, true));
        let _ = writeln!(report, "--- expected (OTP model) ---\n{want}--- actual (noodle) ---\n{got}--- diff (- expected, + actual) ---\n{}", diff(&want, &got));
    }
    let _ = writeln!(report, "({:.1} s)", started.elapsed().as_secs_f64());
    panic!("{report}");
}

/// The same seed gives byte-identical output, also when the events come without pauses and
/// their interleaving with the restarts depends on the scheduler.
#[test]
fn seeded_runs_replay_exactly() {
    for s in scenarios().iter().take(12) {
        for settle in [true, false] {
            let src = program(s, settle);
            let mut runs = run_program_times(&src, s.noodle_seed, 2);
            let b = runs.pop().unwrap();
            let a = runs.pop().unwrap();
            assert_eq!(a.code, Some(0), "{}\n--- program ---\n{src}--- stderr ---\n{}", s.describe(), a.stderr);
            assert!(
                a.stdout == b.stdout && a.stderr == b.stderr && a.code == b.code,
                "{} (settle: {settle}): two runs differ\n--- program ---\n{src}--- first stdout ---\n{}--- second stdout ---\n{}--- first stderr ---\n{}--- second stderr ---\n{}",
                s.describe(),
                a.stdout,
                b.stdout,
                a.stderr,
                b.stderr
            );
        }
    }
}

/// The model itself on hand-checked cases, so that a mistake in it is not blamed on Noodle.
#[test]
fn model_examples() {
    use Event::*;
    use Policy::*;
    let sc = |strategy, max_restarts, policies: &[Policy], events: &[Event]| Scenario {
        id: 0,
        noodle_seed: 1,
        strategy,
        max_restarts,
        policies: policies.to_vec(),
        events: events.to_vec(),
    };
    let last = |s: &Scenario| expected(s, OTP).lines().last().unwrap().to_string();
    // one_for_all: a temporary sibling is terminated and removed, not restarted
    let s = sc(Strategy::OneForAll, 3, &[Permanent, Temporary], &[Crash(0)]);
    assert_eq!(last(&s), "crash c0: c0=up/2 c1=down/1 restarts=1 failed=false escalated=false");
    // a transient child stopped normally is not restarted, but one_for_all starts it again
    let s = sc(Strategy::OneForAll, 3, &[Permanent, Transient], &[Stop(1), Crash(0)]);
    assert_eq!(expected(&s, OTP).lines().nth(1).unwrap(), "stop c1: c0=up/1 c1=down/1 restarts=0 failed=false escalated=false");
    assert_eq!(last(&s), "crash c0: c0=up/2 c1=up/2 restarts=1 failed=false escalated=false");
    // rest_for_one restarts the child and those after it, not those before
    let s = sc(Strategy::RestForOne, 3, &[Permanent, Permanent, Permanent], &[Crash(1)]);
    assert_eq!(last(&s), "crash c1: c0=up/1 c1=up/2 c2=up/2 restarts=1 failed=false escalated=false");
    // intensity: the (max_restarts + 1)-th restart is refused and everything stops
    let s = sc(Strategy::OneForOne, 1, &[Permanent, Permanent], &[Crash(0), Crash(1), Crash(0)]);
    let out = expected(&s, OTP);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[2], "crash c1: c0=down/2 c1=down/1 restarts=1 failed=true escalated=true");
    assert_eq!(lines[3], "crash c0 (skipped): c0=down/2 c1=down/1 restarts=1 failed=true escalated=true");
    // a normal stop of a permanent child is a restart too; of a temporary one, not
    let s = sc(Strategy::OneForOne, 1, &[Permanent, Temporary], &[Stop(0), Stop(1), Crash(1)]);
    assert_eq!(last(&s), "crash c1 (skipped): c0=up/2 c1=down/1 restarts=1 failed=false escalated=false");
}
