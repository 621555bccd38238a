//! The fuzz targets of `fuzz/` on a fixed time budget, for CI: no nightly toolchain, no
//! libFuzzer, the same entry points. The corpus is what the repository already holds (every
//! program under `tests/`, and `.nbc` files compiled from them and from `tests/nbc/`); each
//! step takes one or two corpus inputs and mutates them (bytes flipped, inserted, deleted or
//! repeated, keywords and punctuation from `fuzz/dict/noodle.dict` inserted, two inputs
//! spliced). Nothing may panic; a stack overflow or an abort ends this test process, which CI
//! reports as a failure.
//!
//! `NOODLE_FUZZ_SECS` sets each target's budget (default 10 s), `NOODLE_FUZZ_SEED` the seed
//! (default fixed, so a CI run is reproducible up to timing). A failing input is written to
//! the temporary directory and its path printed. The long campaign (docs/fuzzing.md) is this
//! test with a budget of hours.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Caps this test process's address space (4 GiB), as libFuzzer's `-rss_limit_mb` does: a
/// mutant that asks for a list of a billion elements then gets Noodle's catchable error for
/// memory it cannot have, instead of taking the machine's memory. (An allocation Noodle makes
/// infallibly would abort the process: a finding.)
fn limit_memory() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(unix)]
        {
            let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
            // SAFETY: getrlimit/setrlimit with a valid struct; a failure leaves the limit as
            // it was
            unsafe {
                if libc::getrlimit(libc::RLIMIT_AS, &mut lim) == 0 {
                    lim.rlim_cur = lim.rlim_max.min(4 << 30);
                    libc::setrlimit(libc::RLIMIT_AS, &lim);
                }
            }
        }
    });
}

fn budget() -> Duration {
    let secs = std::env::var("NOODLE_FUZZ_SECS").ok().and_then(|s| s.parse::<f64>().ok()).filter(|s| *s > 0.0).unwrap_or(10.0);
    Duration::from_secs_f64(secs)
}

/// xorshift64*: small, fast, and the same sequence everywhere for one seed.
struct Rng(u64);

impl Rng {
    fn seeded(salt: u64) -> Rng {
        let seed = std::env::var("NOODLE_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261207u64);
        Rng((seed ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|e| e == ext) {
            out.push(p);
        }
    }
}

/// Every committed program: the source corpus.
fn source_corpus() -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    files(&root().join("tests"), "noodle", &mut paths);
    files(&root().join("examples"), "noodle", &mut paths);
    let corpus: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).filter(|b| b.len() < 64 << 10).collect();
    assert!(corpus.len() > 100, "the corpus is the repository's programs: found only {}", corpus.len());
    corpus
}

/// The tokens of the libFuzzer dictionary (`name="token"` lines).
fn dictionary() -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(root().join("fuzz/dict/noodle.dict")).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let v = l.split_once('=')?.1.trim();
            let v = v.strip_prefix('"')?.strip_suffix('"')?;
            Some(v.replace("\\\"", "\"").replace("\\\\", "\\").into_bytes())
        })
        .collect()
}

fn mutate(rng: &mut Rng, corpus: &[Vec<u8>], dict: &[Vec<u8>]) -> Vec<u8> {
    let mut b = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let len = b.len();
        match rng.below(7) {
            0 if len > 0 => {
                let i = rng.below(len);
                b[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(len + 1);
                b.insert(i, rng.next() as u8);
            }
            2 if len > 0 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                b.drain(i..i + n);
            }
            3 if len > 0 => {
                // repeat a piece: deep nesting and long chains
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(16));
                let piece = b[i..i + n].to_vec();
                let times = 1 + rng.below(300);
                let at = rng.below(len + 1);
                let rep: Vec<u8> = piece.iter().copied().cycle().take(piece.len() * times).collect();
                b.splice(at..at, rep);
            }
            4 if !dict.is_empty() => {
                let t = &dict[rng.below(dict.len())];
                let at = rng.below(len + 1);
                b.splice(at..at, t.iter().copied());
            }
            5 => {
                // splice the head of this input with the tail of another
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(len + 1);
                let from = rng.below(other.len() + 1);
                b.truncate(cut);
                b.extend_from_slice(&other[from..]);
            }
            _ if len > 0 => {
                let i = rng.below(len);
                b[i] = rng.next() as u8;
            }
            _ => b.push(b'\n'),
        }
    }
    b.truncate(256 << 10);
    b
}

/// Runs `target` on mutated inputs until the budget is spent; the number of executions.
fn campaign(name: &str, salt: u64, corpus: &[Vec<u8>], target: impl Fn(&[u8])) -> u64 {
    limit_memory();
    let dict = dictionary();
    let mut rng = Rng::seeded(salt);
    let start = Instant::now();
    let limit = budget();
    let mut runs = 0u64;
    // the corpus as it is, then mutants
    for input in corpus {
        if start.elapsed() > limit {
            break;
        }
        check(name, input, &target);
        runs += 1;
    }
    while start.elapsed() < limit {
        let input = mutate(&mut rng, corpus, &dict);
        check(name, &input, &target);
        runs += 1;
    }
    println!("{name}: {runs} executions in {:.1} s", start.elapsed().as_secs_f64());
    runs
}

fn check(name: &str, input: &[u8], target: &impl Fn(&[u8])) {
    // `NOODLE_FUZZ_LAST=DIR`: each input is written there before it runs, so the one that
    // aborts the process (a stack overflow) is left behind
    if let Ok(dir) = std::env::var("NOODLE_FUZZ_LAST") {
        let _ = std::fs::write(Path::new(&dir).join(format!("last-{name}.bin")), input);
    }
    let began = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| target(input)));
    // `NOODLE_FUZZ_SLOW=DIR`: an input that took over a second is kept there (one that runs
    // past the budget makes the campaign overrun it)
    if began.elapsed() > Duration::from_secs(1) {
        if let Ok(dir) = std::env::var("NOODLE_FUZZ_SLOW") {
            let _ = std::fs::write(Path::new(&dir).join(format!("slow-{name}-{}ms.bin", began.elapsed().as_millis())), input);
        }
    }
    if outcome.is_err() {
        let path = std::env::temp_dir().join(format!("noodle-fuzz-{name}-{}.bin", std::process::id()));
        let _ = std::fs::write(&path, input);
        panic!("{name}: a panic on the input saved in {}", path.display());
    }
}

/// `fuzz/fuzz_targets/parse_check.rs`: the whole front end, and the verifier on what it makes.
fn parse_check(bytes: &[u8]) {
    let src = String::from_utf8_lossy(bytes).into_owned();
    if let Ok(compiled) = noodle::compile_source(Path::new("/nonexistent-noodle-fuzz/main.noodle"), src) {
        let bytes = noodle::encode(&compiled.program);
        noodle::load_nbc(&bytes).expect("what the compiler makes must load and verify");
    }
}

/// The engine the mutants run with: a sandbox that denies every file, variable, program and
/// server (N2013), since a mutated program may call `fs.remove_tree` or `process.run` on
/// anything (a first REPL run left a file named `printf` in the checkout).
fn sandboxed() -> &'static noodle::Engine {
    static ENGINE: std::sync::OnceLock<noodle::Engine> = std::sync::OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut e = noodle::Engine::new();
        e.set_permissions(noodle::Permissions::sandbox());
        e
    })
}

/// `fuzz/fuzz_targets/load_nbc.rs`: the loader, the verifier and a budgeted run.
fn load_nbc(bytes: &[u8]) {
    let run = |bytes: &[u8]| {
        let Ok(p) = noodle::load_nbc(bytes) else { return };
        let _ = noodle::disassemble(&p);
        let io = noodle::Output { out: Box::new(std::io::sink()), err: Box::new(std::io::sink()), input: Box::new(std::io::Cursor::new(b"line\n".to_vec())) };
        let Ok(mut rt) = sandboxed().runtime(p, io) else { return };
        let mut r = rt.start_with_budget(1_000);
        for _ in 0..20 {
            match r {
                Ok(false) => r = rt.resume(1_000),
                Ok(true) => break,
                Err(u) => {
                    let _ = u.render();
                    break;
                }
            }
        }
    };
    run(bytes);
    // a mutation rarely keeps the checksum right: try again with it (and the length) fixed,
    // which is what reaches the decoder, the verifier and the VM
    if bytes.len() >= 16 && &bytes[..4] == b"NBC\0" {
        let mut b = bytes.to_vec();
        let len = (b.len() - 16) as u32;
        b[8..12].copy_from_slice(&len.to_le_bytes());
        let crc = crc32fast::hash(&b[16..]);
        b[12..16].copy_from_slice(&crc.to_le_bytes());
        if b != bytes {
            run(&b);
        }
    }
}

#[test]
fn the_front_end_on_mutated_programs() {
    let corpus = source_corpus();
    assert!(campaign("parse_check", 1, &corpus, parse_check) > 0);
}

#[test]
fn the_loader_and_vm_on_mutated_bytecode() {
    // the corpus: the committed programs that compile, as bytecode, and the malformed fixtures
    let mut corpus: Vec<Vec<u8>> = source_corpus()
        .into_iter()
        .filter_map(|src| noodle::compile_source(Path::new("/nonexistent-noodle-fuzz/main.noodle"), String::from_utf8(src).ok()?).ok())
        .map(|c| noodle::encode(&c.program))
        .collect();
    let mut fixtures = Vec::new();
    files(&root().join("tests/nbc"), "nbc", &mut fixtures);
    corpus.extend(fixtures.iter().filter_map(|p| std::fs::read(p).ok()));
    assert!(corpus.len() > 50, "only {} bytecode inputs", corpus.len());
    assert!(campaign("load_nbc", 2, &corpus, load_nbc) > 0);
}

/// The REPL: an interactive session given the input's paragraphs (text between blank lines) one
/// after another, as a user types them: a paragraph that does not compile or raises leaves the
/// session going. Each input runs on one thread with 0.2 s of processor time, so a mutant
/// `while true {}` ends with N2313 instead of hanging the campaign.
/// The inputs that once crashed `repl_eval` (`fuzz/regressions/repl_eval/`), each run as the
/// campaign runs it.
#[test]
fn the_repl_on_inputs_that_crashed_it() {
    let mut paths = Vec::new();
    files(&root().join("fuzz/regressions/repl_eval"), "txt", &mut paths);
    assert!(!paths.is_empty(), "no regression inputs found");
    for p in paths {
        let bytes = std::fs::read(&p).unwrap();
        check("repl_eval", &bytes, &repl_eval);
    }
}

fn repl_eval(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let mut session = sandboxed().session();
    session.set_output(noodle::Output { out: Box::new(std::io::sink()), err: Box::new(std::io::sink()), input: Box::new(std::io::Cursor::new(b"line\n".to_vec())) });
    let mut config = noodle::SchedulerConfig::default();
    config.threads = 1;
    config.max_cpu = Some(Duration::from_millis(200));
    session.set_scheduler(config);
    for input in text.split("\n\n").take(40) {
        match session.eval(input) {
            noodle::Eval::Exit(_) => break,
            noodle::Eval::Ok(_) | noodle::Eval::Compile(_) | noodle::Eval::Runtime(_) => {}
        }
    }
}

#[test]
fn the_repl_on_mutated_sessions() {
    let corpus = source_corpus();
    assert!(campaign("repl_eval", 4, &corpus, repl_eval) > 0);
}

thread_local! {
    /// The runtimes of the checks written in Noodle (`fuzz/*_check.noodle`), by file, each
    /// compiled and run once: the check is the function `check(text) -> str`.
    static CHECKS: std::cell::RefCell<std::collections::HashMap<&'static str, noodle::Runtime>> = Default::default();
}

/// Runs the Noodle check `source` (named `name`, for messages) on `bytes` as text: the
/// `json_parse`, `csv_parse` and `re_compile` targets (see each `fuzz/NAME_check.noodle`).
fn noodle_check(name: &'static str, source: &'static str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes).into_owned();
    CHECKS.with(|cell| {
        let mut map = cell.borrow_mut();
        let rt = map.entry(name).or_insert_with(|| {
            let c = noodle::compile_source(Path::new(&format!("/nonexistent-noodle-fuzz/{name}.noodle")), source.to_string()).unwrap_or_else(|e| panic!("the {name} check compiles: {e:?}"));
            let mut rt = noodle::Runtime::new(c.program, noodle::Output::silent()).unwrap_or_else(|e| panic!("the {name} check loads: {e:?}"));
            rt.run().unwrap_or_else(|e| panic!("the {name} check's top level runs: {}", e.render()));
            rt
        });
        if let Err(e) = rt.call::<String>("check", (text,)) {
            panic!("the {name} check failed on {bytes:?}: {}", e.render());
        }
    });
}

/// `fuzz/fuzz_targets/json_parse.rs`: `json.parse` on any text, and the round trip through
/// `json.encode` on what it accepts.
fn json_parse(bytes: &[u8]) {
    noodle_check("json", include_str!("../../../fuzz/json_check.noodle"), bytes);
}

#[test]
fn json_parse_on_mutated_documents() {
    let corpus: Vec<Vec<u8>> = [
        r#"{"name": "noodle", "port": 8080, "ratio": 0.5, "tags": ["a", "b"], "ok": true, "none": null}"#,
        r#"[1, -2, 3.5e10, -0.0, 1E-7, 9223372036854775807, "x\n\u00e9\ud83d\ude00", [], {}, [[[]]]]"#,
        r#"{"nested": {"deeper": {"list": [{"a": 1}, {"b": [true, false, null]}]}}}"#,
        r#""\"\\\/\b\f\n\r\t\u0000""#,
        "  \n\t 12345678901234567890  ",
        "[\"unterminated, {\"a\" 1}, 01, 1e, NaN, -]",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    assert!(campaign("json_parse", 3, &corpus, json_parse) > 0);
}

/// `fuzz/fuzz_targets/csv_parse.rs`: `csv.parse` on any text, the round trip through
/// `csv.format_row`, and typed rows.
fn csv_parse(bytes: &[u8]) {
    noodle_check("csv", include_str!("../../../fuzz/csv_check.noodle"), bytes);
}

#[test]
fn csv_parse_on_mutated_documents() {
    let corpus: Vec<Vec<u8>> = [
        "a,b,c,d\n1,2.5,x,true\n,,\"q,\"\"r\",\n",
        "a;b;c;d\r\n-3;1e3;\"multi\r\nline\";0\r\n\r\n",
        "c\n\"\"\n\"x\ry\"\n\"unterminated\n",
        "a,c\n9223372036854775808,\u{e9}\u{1F600}\n\r\r\n,,,,\n\"a\"b,c\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    assert!(campaign("csv_parse", 3, &corpus, csv_parse) > 0);
}

/// `fuzz/fuzz_targets/re_compile.rs`: any text as a pattern, and what compiles run every way.
fn re_compile(bytes: &[u8]) {
    noodle_check("re", include_str!("../../../fuzz/re_check.noodle"), bytes);
}

#[test]
fn re_compile_on_mutated_patterns() {
    let corpus: Vec<Vec<u8>> = [
        r"(?P<key>\w+)=(?P<value>\d+)",
        r"\b\d{1,3}(\.\d{1,3}){3}\b",
        r"(?i)^error\s+\[(worker-\d+)\]|took (\d{4,})ms",
        r"(a|b|)*?[^\s\p{L}]{0,3}$",
        r"x*|(?m)^$|\B",
        r"[[:alpha:]]+(?:-(?<n>\d+))?",
        r"((((\1(?<=a)",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    assert!(campaign("re_compile", 4, &corpus, re_compile) > 0);
}
