//! Feeds bytes to `noodle::load_nbc` and runs whatever loads, with an instruction budget.
//!
//! A random mutation almost never keeps the crc32 in the header right, so after trying the
//! bytes as they are, an input that starts with the NBC magic is tried again with its body
//! length and checksum recomputed: that is what lets the fuzzer reach the decoder, the
//! verifier and the VM. Seed the corpus with files from `noodle build` (docs/fuzzing.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use noodle::{Engine, Output, Permissions};

/// A sandbox denying every file, variable, program and server: a mutant may call
/// `fs.remove_tree` or `process.run` on anything.
fn sandboxed() -> &'static Engine {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut e = Engine::new();
        e.set_permissions(Permissions::sandbox());
        e
    })
}

/// Total budget: `RESUMES` slices of `STEP` ticks (calls and backward jumps).
const STEP: u64 = 1_000;
const RESUMES: u32 = 20;

fn run(bytes: &[u8]) {
    let Ok(p) = noodle::load_nbc(bytes) else { return };
    let _ = noodle::disassemble(&p);
    let io = Output {
        out: Box::new(std::io::sink()),
        err: Box::new(std::io::sink()),
        input: Box::new(std::io::Cursor::new(b"line one\nline two\n".to_vec())),
    };
    let Ok(mut rt) = sandboxed().runtime(p, io) else { return };
    let mut r = rt.start_with_budget(STEP);
    for _ in 0..RESUMES {
        match r {
            Ok(false) => r = rt.resume(STEP),
            Ok(true) => break,
            Err(u) => {
                let _ = u.render();
                break;
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    run(data);
    if data.len() >= 16 && &data[..4] == b"NBC\0" {
        let mut b = data.to_vec();
        let len = (b.len() - 16) as u32;
        b[8..12].copy_from_slice(&len.to_le_bytes());
        let crc = crc32fast::hash(&b[16..]);
        b[12..16].copy_from_slice(&crc.to_le_bytes());
        if b != data {
            run(&b);
        }
    }
});
