//! Property test: well-typed programs that move typed lists, dicts and sets through `any`, cast
//! them back as `list[any]` (and the like) and store into them never reach N2099 (an operand
//! of the wrong kind, which only malformed bytecode may cause): every store through a cast's
//! view of a typed container is refused with N2016, and typed code reads only what it expects.

use noodle::{Output, Runtime};
use proptest::prelude::*;
use std::path::Path;

/// Typed containers, the same ones seen as `any`, genuinely dynamic ones, and typed readers.
const PRELUDE: &str = r#"
let ints: list[int] = [1, 2, 3]
let strs: list[str] = ["a", "bb"]
let nested: list[list[int]] = [[1], [2, 3]]
let counts: dict[str, int] = {"a": 1}
let keys: set[int] = {1, 2}
let rows: list[any] = [1, "two", [3]]
let table: dict[any, any] = {1: "one"}
let bag: set[any] = set()
let a_ints: any = ints
let a_strs: any = strs
let a_nested: any = nested
let a_counts: any = counts
let a_keys: any = keys
let a_rows: any = rows
let a_table: any = table
var views: list[list[any]] = []
def add[T](xs: list[T], x: T) { xs.push(x) }
def add_opt[T](xs: list[T]?, x: T) { if xs != none { xs.push(x) } }
def put[K, V](d: dict[K, V], k: K, v: V) { d[k] = v }
struct Stack[T] {
    items: list[T] = []
    def push(self, x: T) { self.items.push(x) }
}
var stacks: list[Stack[any]] = []
def check() {
    var n = 0
    for x in ints { n += x }
    for s in strs { n += len(s) }
    for xs in nested { for x in xs { n += x } }
    for k in counts.keys() { n += len(k) + counts[k] }
    for k in keys { n += k }
    print("ok", n > 0)
}
"#;

/// Statements valid after the prelude, in any order; each store is in a `try`.
const STMTS: &[&str] = &[
    r#"try { (a_ints as list[any]).push("s") } catch e { print(e.code) }"#,
    r#"try { (a_ints as list[any]).insert(0, 2.5) } catch e { print(e.code) }"#,
    r#"try { (a_ints as list[any])[0] = "s" } catch e { print(e.code) }"#,
    r#"try { (a_ints as list[any]).extend(["s"]) } catch e { print(e.code) }"#,
    r#"try { (a_strs as list[any]).push(1) } catch e { print(e.code) }"#,
    r#"try { add(a_strs as list[any], 7) } catch e { print(e.code) }"#,
    r#"try { add_opt(a_ints as list[any], "s") } catch e { print(e.code) }"#,
    r#"try { var twice = 2 * (a_ints as list[any])
    twice.push("fine") } catch e { print(e.code) }"#,
    r#"try { ((a_nested as list[any])[0] as list[any]).push("s") } catch e { print(e.code) }"#,
    r#"try { (a_nested as list[any]).push("s") } catch e { print(e.code) }"#,
    r#"try { (a_counts as dict[any, any])[5] = [1] } catch e { print(e.code) }"#,
    r#"try { (a_counts as dict[any, any])["z"] = "s" } catch e { print(e.code) }"#,
    r#"try { put(a_counts as dict[any, any], 1, 2) } catch e { print(e.code) }"#,
    r#"try { (a_keys as set[any]).add("s") } catch e { print(e.code) }"#,
    r#"try { if a_ints is list[any] { a_ints.push(none) } } catch e { print(e.code) }"#,
    r#"try { views.push(a_ints as list[any]) } catch e { print(e.code) }"#,
    r#"try { views.push(a_strs as list[any]) } catch e { print(e.code) }"#,
    r#"try { for v in views { v.push("s") } } catch e { print(e.code) }"#,
    r#"try { if len(views) > 0 { views.pop().push(1.5) } } catch e { print(e.code) }"#,
    r#"try { if len(views) > 0 { add(views[0], "s") } } catch e { print(e.code) }"#,
    r#"try { let c = (a_ints as list[any]).copy()
    c.push("fine") } catch e { print(e.code) }"#,
    r#"try { let s = (a_ints as list[any])[0:2]
    s.push("fine") } catch e { print(e.code) }"#,
    r#"(a_rows as list[any]).push("fine")"#,
    r#"(a_table as dict[any, any])["k"] = [1]"#,
    r#"add(a_rows as list[any], 2.5)"#,
    r#"bag.add("x")"#,
    r#"rows[0] = "zero""#,
    r#"print(len(a_ints as list[any]), (a_ints as list[any])[0])"#,
    r#"try { let s = Stack[any](items: a_ints as list[any])
    s.push("s") } catch e { print(e.code) }"#,
    r#"try { let s = Stack[any]()
    s.items = a_strs as list[any]
    s.push(1) } catch e { print(e.code) }"#,
    r#"try { let s = Stack[any]()
    s.push("fine")
    stacks.push(s) } catch e { print(e.code) }"#,
    r#"try { for s in stacks { s.push(3) } } catch e { print(e.code) }"#,
    r#"try { add(Stack[any]().items, "fine") } catch e { print(e.code) }"#,
    r#"try { let s = Stack[int]()
    s.push(4)
    stacks.push(Stack[any](items: s.items as list[any])) } catch e { print(e.code) }"#,
    "check()",
];

fn run(src: &str) -> String {
    let compiled = match noodle::compile_source(Path::new("gen.noodle"), src.to_string()) {
        Ok(c) => c,
        Err(e) => panic!("a generated program does not compile:\n{src}\n{}", e.render()),
    };
    let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let io = Output { out: Box::new(Sink(out.clone())), err: Box::new(Sink(out.clone())), input: Box::new(std::io::empty()) };
    let mut rt = Runtime::new(compiled.program, io).expect("runtime");
    let result = rt.run();
    let mut text = String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
    if let Err(u) = result {
        text.push_str(&u.render());
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn stores_through_any_never_reach_n2099(picks in proptest::collection::vec(0..STMTS.len(), 1..14)) {
        let mut src = PRELUDE.to_string();
        for &i in &picks {
            src.push_str(STMTS[i]);
            src.push('\n');
        }
        src.push_str("check()\n");
        let out = run(&src);
        prop_assert!(!out.contains("N2099"), "N2099 reached:\n{}\n--- output:\n{}", src, out);
        prop_assert!(out.trim_end().ends_with("ok true"), "the typed reads did not finish:\n{}\n--- output:\n{}", src, out);
    }
}

/// Every store the menu refuses is refused with N2016, and the fine ones go through.
#[test]
fn each_statement_alone() {
    for s in STMTS {
        let out = run(&format!("{PRELUDE}{s}\ncheck()\n"));
        assert!(!out.contains("N2099") && out.trim_end().ends_with("ok true"), "{s}\n{out}");
        if s.contains("fine") || !s.contains("try") {
            assert!(!out.contains("N2016"), "refused a store it should allow: {s}\n{out}");
        }
    }
}
