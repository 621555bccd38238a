//! Running the `noodle` binary from the integration tests that need a time limit.
// Each test binary uses part of this module.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
}

/// Runs `cmd` (arguments, environment and directory already set) with stdin closed and kills
/// it after `timeout`. Its output goes to temporary files rather than pipes, so a program that
/// writes a lot cannot stall on a full pipe while the test waits for it.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Run {
    let out_path = temp_file("out");
    let err_path = out_path.with_extension("err");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("cannot start noodle");
    let start = Instant::now();
    let (code, timed_out) = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break (st.code(), false);
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let read = |p: &PathBuf| {
        let b = std::fs::read(p).unwrap_or_default();
        let _ = std::fs::remove_file(p);
        String::from_utf8_lossy(&b).into_owned()
    };
    Run { code, stdout: read(&out_path), stderr: read(&err_path), timed_out }
}

/// A fresh path in the temporary directory.
pub fn temp_file(ext: &str) -> PathBuf {
    std::env::temp_dir().join(format!("noodle-test-{}-{}.{ext}", std::process::id(), unique()))
}

pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}
