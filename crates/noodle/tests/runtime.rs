//! The embedding API: running with an instruction budget (preemption), calling functions,
//! and bounded memory under heavy allocation, cycles included.

use noodle::{Output, Runtime};
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Buf(Arc<Mutex<Vec<u8>>>);
impl Write for Buf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn runtime(src: &str) -> (Runtime, Buf) {
    let compiled = noodle::compile_source(Path::new("test.noodle"), src.to_string()).map_err(|e| e.render()).unwrap();
    let out = Buf::default();
    let io = Output { out: Box::new(out.clone()), err: Box::new(std::io::sink()), input: Box::new(std::io::empty()) };
    (Runtime::new(compiled.program, io).unwrap(), out)
}

fn text(b: &Buf) -> String {
    String::from_utf8(b.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn budget_pauses_and_resumes_to_the_same_result() {
    let src = "var total = 0\nfor i in 0..100000 { total = (total + i * i) % 1000003 }\nprint(total)\n";
    let (mut rt, out) = runtime(src);
    let mut pauses = 0;
    let mut done = rt.start_with_budget(1000).unwrap();
    while !done {
        pauses += 1;
        done = rt.resume(1000).unwrap();
    }
    assert!(pauses >= 99, "a 100k-iteration loop with a budget of 1000 pauses about 100 times, paused {pauses}");
    let (mut rt2, out2) = runtime(src);
    rt2.run().unwrap();
    assert_eq!(text(&out), text(&out2));
}

#[test]
fn an_infinite_loop_can_be_stopped() {
    let (mut rt, _) = runtime("var n = 0\nwhile true { n += 1 }\n");
    assert!(!rt.start_with_budget(10_000).unwrap());
    for _ in 0..10 {
        assert!(!rt.resume(10_000).unwrap(), "the loop never finishes, but each slice returns");
    }
}

#[test]
fn call_a_function_by_name() {
    let (mut rt, out) = runtime("def add(a: int, b: int) -> int {\n    print(\"adding\")\n    return a + b\n}\n");
    rt.run().unwrap();
    let v: i64 = rt.call("add", (2i64, 40i64)).unwrap();
    assert_eq!(v, 42);
    assert_eq!(text(&out), "adding\n");
    assert!(rt.call::<()>("nope", ()).is_err());
    // a result read as another type, and arguments the function does not take: coded errors
    match rt.call::<String>("add", (1i64, 2i64)) {
        Err(noodle::Error::Runtime(u)) => assert_eq!((u.code.as_str(), u.message.as_str()), ("N2401", "expected a value of type `str`, found `int`")),
        other => panic!("expected N2401, got {:?}", other.map(|_| ())),
    }
    match rt.call::<i64>("add", (1i64,)) {
        Err(noodle::Error::Runtime(u)) => assert_eq!(u.code, "N2011"),
        other => panic!("expected N2011, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn errors_from_calls_carry_code_and_trace() {
    let (mut rt, _) = runtime("def boom(n: int) -> int {\n    return 10 // n\n}\n");
    rt.run().unwrap();
    match rt.call::<i64>("boom", (0i64,)) {
        Err(noodle::Error::Runtime(u)) => {
            assert_eq!(u.code, "N2001");
            assert_eq!(u.trace[0].function, "boom");
            assert_eq!(u.trace[0].line, 2);
        }
        other => panic!("expected a runtime error, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn calls_convert_collections_both_ways() {
    let src = "def stats(xs: list[float], names: dict[str, int]) -> (float, list[str], int?) {\n    var total = 0.0\n    for x in xs { total += x }\n    return (total, names.keys(), names.get(\"b\"))\n}\n";
    let (mut rt, _) = runtime(src);
    rt.run().unwrap();
    let mut names = noodle::IndexMap::new();
    names.insert("a".to_string(), 1i64);
    names.insert("b".to_string(), 2i64);
    let (total, keys, b): (f64, Vec<String>, Option<i64>) = rt.call("stats", (vec![1.5, 2.5], names)).unwrap();
    assert_eq!((total, keys, b), (4.0, vec!["a".to_string(), "b".to_string()], Some(2)));
}

#[test]
fn a_dict_with_string_keys_reads_back_into_rust() {
    // a dict keeps string keys as text, not as string values: the conversion must read them
    let src = "def counts() -> dict[str, int] {\n    return {\"a\": 1, \"bb\": 2}\n}\ndef by_id() -> dict[int, str] {\n    return {7: \"x\"}\n}\n";
    let (mut rt, _) = runtime(src);
    rt.run().unwrap();
    let counts: noodle::IndexMap<String, i64> = rt.call("counts", ()).unwrap();
    assert_eq!(counts.into_iter().collect::<Vec<_>>(), vec![("a".to_string(), 1), ("bb".to_string(), 2)]);
    let by_id: noodle::IndexMap<i64, String> = rt.call("by_id", ()).unwrap();
    assert_eq!(by_id.get(&7).map(String::as_str), Some("x"));
}

#[test]
fn cyclic_garbage_is_collected() {
    // Two million nodes in two-element cycles: without cycle collection this needs gigabytes.
    let src = "struct Node {\n    other: Node?\n    payload: list[int]\n}\nvar kept = 0\nfor i in 0..1000000 {\n    let a = Node(none, [i])\n    let b = Node(a, [i])\n    a.other = b\n    kept += len(b.other!.payload)\n}\nprint(kept)\n";
    let (mut rt, out) = runtime(src);
    rt.run().unwrap();
    assert_eq!(text(&out), "1000000\n");
    let stats = rt.heap_stats();
    assert!(stats.collections > 0, "the collector ran");
    assert!(stats.live < 1_000_000, "live objects stay bounded: {}", stats.live);
}

#[test]
fn resuming_a_finished_program_is_harmless() {
    let (mut rt, out) = runtime("print(1)\n");
    assert!(rt.start_with_budget(1000).unwrap());
    assert!(rt.resume(1000).unwrap(), "nothing left to run");
    assert!(rt.resume(0).unwrap());
    assert_eq!(text(&out), "1\n");
}

/// A loop body longer than a 16-bit branch can span: the function is compiled again without
/// fused branches (N0219 is never shown), and both kinds of range still run, `continue`,
/// `break` and an inclusive end at the largest int included.
#[test]
fn range_loops_too_long_for_short_branches_still_run() {
    let body = "        t += i\n".repeat(33_000);
    let filler = "        n += 1\n".repeat(33_000);
    let src = format!(
        "def main() {{
    var t = 0
    for i in 0..4 {{
        if i == 1 {{ continue }}
        if i == 3 {{ break }}
{body}    }}
    print(t)
    var last = 0
    var n = 0
    for i in 9223372036854775806..=9223372036854775807 {{
        last = i
{filler}    }}
    print(last, n)
}}
main()
"
    );
    let (mut rt, out) = runtime(&src);
    rt.run().unwrap();
    // i = 0 adds 0 and i = 2 adds 2, 33,000 times
    assert_eq!(text(&out), "66000\n9223372036854775807 66000\n");
}

#[test]
fn a_native_calling_back_pauses_and_resumes_under_a_budget() {
    // map calls its function 200,000 times from a native: the budget still pauses it, and
    // resuming continues the same map to the same result
    let (mut rt, out) = runtime("let ys = range(200000).map(fn (x) => x * 2)\nprint(len(ys), ys[199999], ys.filter(fn (y) => y % 3 == 0).reduce(0, fn (a, y) => a + y))\n");
    let mut pauses = 0;
    let mut done = rt.start_with_budget(1000).unwrap();
    while !done {
        pauses += 1;
        done = rt.resume(1000).unwrap();
    }
    assert!(pauses > 100, "the calls back counted against the budget: {pauses} pauses");
    assert_eq!(text(&out), "200000 399998 13333266666\n");
}

#[test]
fn values_held_by_a_native_that_calls_back_survive_collections() {
    // each call makes a new string; the results are held by the native until the list is made,
    // while the collector runs many times
    let (mut rt, out) = runtime("let ys = range(300000).map(fn (x) => \"v\" + str(x) + \"!\")\nprint(len(ys), ys[0], ys[123456], ys[299999])\nlet ws = ys.filter(fn (y) => y.ends_with(\"7!\"))\nprint(len(ws), ws[0])\n");
    rt.run().unwrap();
    assert_eq!(text(&out), "300000 v0! v123456! v299999!\n30000 v7!\n");
    assert!(rt.heap_stats().collections > 2, "collections ran: {}", rt.heap_stats().collections);
}
