//! A program that never spawns runs on the calling thread alone, however long it computes:
//! running out of its instruction budget with nothing else to run does not start the worker
//! threads or move main between threads (which cost 10-30% on every long benchmark).
//! Its own test binary, so no other test's actors start workers in this process.

use noodle::{Output, Runtime};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Names of this process's threads that belong to the actor scheduler.
fn scheduler_threads() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else { return vec![] };
    dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| n.starts_with("noodle-"))
        .collect()
}

fn run(src: &str) -> Vec<String> {
    let compiled = noodle::compile_source(Path::new("test.noodle"), src.to_string()).map_err(|e| e.render()).unwrap();
    let io = Output { out: Box::new(std::io::sink()), err: Box::new(std::io::sink()), input: Box::new(std::io::empty()) };
    let mut rt = Runtime::new(compiled.program, io).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !done.load(Ordering::SeqCst) {
                for n in scheduler_threads() {
                    if !seen.contains(&n) {
                        seen.push(n);
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            seen
        })
    };
    rt.run().unwrap();
    done.store(true, Ordering::SeqCst);
    watcher.join().unwrap()
}

#[test]
fn a_long_computation_without_actors_starts_no_scheduler_thread() {
    if std::fs::read_dir("/proc/self/task").is_err() {
        return; // no procfs to look at threads through
    }
    // tens of thousands of budget slices (the default budget is 2,000 safepoints)
    let seen = run("var total = 0\nfor i in 0..3000000 { total = (total + i * i) % 1000003 }\nprint(total)\n");
    assert!(seen.is_empty(), "scheduler threads started for a program with no actors: {seen:?}");
    // the check sees them when there are some
    let seen = run("struct Ping {}\nactor Echo {\n    on ping(self, m: Ping) -> int { return 1 }\n}\nlet e = spawn Echo()\nvar total = 0\nfor i in 0..20000 { total += await e.ask(Ping()) }\nprint(total)\n");
    assert!(seen.iter().any(|n| n.starts_with("noodle-worker")), "expected worker threads once an actor runs, saw {seen:?}");
}
