//! Property tests: compiling any text never panics, every program the compiler produces passes
//! the verifier, and what compiles runs (with a budget) without panicking.

use noodle::{Error, Output, Runtime};
use proptest::prelude::*;
use std::path::Path;

const VOCAB: &[&str] = &[
    "let", "var", "def", "fn", "return", "if", "elif", "else", "while", "for", "in", "break",
    "continue", "match", "struct", "enum", "interface", "pub", "import", "from", "as", "throw",
    "try", "catch", "finally", "true", "false", "none", "and", "or", "not", "is", "self",
    "x", "y", "n", "xs", "P", "E", "f", "print", "len", "str", "int", "float", "bool", "bytes",
    "list", "dict", "set", "any", "Error", "std", "math", "T", "push", "map", "code",
    "0", "1", "2", "3.5", "-1", "\"s\"", "b\"b\"", "f\"{x}\"", "\"open",
    "(", ")", "[", "]", "{", "}", ",", ".", ":", ";", "->", "=>", "?", "?.", "??", "!", "=",
    "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "**", "/", "//", "%", "&", "|", "^", "~",
    "<<", ">>", "..", "..=", "+=", "-=", "\n", "\n", "\n", " ",
];

/// Declarations that every generated program starts with, so that the statements below have
/// names to use and programs get past the checker into the code generator and the VM.
const DEFS: &str = "let x = 1
var y = 2
var n = 0
let xs = [1, 2, 3]
var s = \"a\"
struct P { a: int
 b: str }
enum E { A
 B(v: int) }
interface I { def m(self) -> int }
def f(a: int) -> int { return a + 1 }
def g[T](v: T) -> T { return v }
let p = P(1, \"z\")
let e = E.B(4)
let c = fn (a: int) -> int => a * y
let d = {\"k\": 1}
let o: int? = none
";

/// Statements valid after DEFS (in any order), to be mangled.
const LINES: &[&str] = &[
    "print(x, y)",
    "print(f(x))",
    "y += x",
    "n = n * 2",
    "s = s + str(n)",
    "for i in xs { print(i) }",
    "for i in 0..3 { n += i }",
    "while n < 10 { n += 3 }",
    "if x > 0 { print(\"pos\") } else { print(\"neg\") }",
    "print(p.a, p.b)",
    "print(match e { E.A => 0\n E.B(v) => v })",
    "try { throw Error(\"K\", \"m\") } catch err { print(err.code) } finally { print(1) }",
    "print(c(3))",
    "d[\"j\"] = 2",
    "print(xs.map(fn (v) => v * 2))",
    "print(g(5), g(\"t\"))",
    "print(o ?? 7)",
    "xs.push(4)",
    "print(len(xs), xs[0], (1, 2))",
    "print(f\"{x:>4} {s}\")",
    "let t = (x, s)",
    "var q = [p, P(2, \"w\")]",
    "print(xs.filter(fn (v) => v > 1).len())",
    "def h(k: int) -> int { if k < 2 { return k }\n return h(k - 1) + h(k - 2) }",
    "print({1, 2} == {2, 1}, \"a\" in s, x is int)",
];

fn soup(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..max).prop_map(|t| t.join(" "))
}

/// A few valid lines, some of them mangled (a token dropped, swapped or inserted).
fn lines() -> impl Strategy<Value = String> {
    let line = (prop::sample::select(LINES), any::<u8>(), prop::sample::select(VOCAB)).prop_map(|(l, r, tok)| {
        let mut words: Vec<&str> = l.split(' ').collect();
        let i = r as usize % words.len().max(1);
        match r % 8 {
            0 => {
                words.remove(i);
            }
            1 => words.insert(i, tok),
            2 => words[i] = tok,
            _ => {}
        }
        words.join(" ")
    });
    prop::collection::vec(line, 1..12).prop_map(|ls| format!("{DEFS}{}\n", ls.join("\n")))
}

/// Compiles `src`; if it compiles, runs it with a budget. Panics (failing the test) if the
/// compiler produced a program the verifier rejects.
fn compile_and_maybe_run(src: &str) {
    match noodle::compile_source(Path::new("/nonexistent-noodle-fuzz/fuzz.noodle"), src.to_string()) {
        Err(Error::Load(e)) => panic!("the compiler produced a program the verifier rejects: {e}\n--- source:\n{src}"),
        Err(e) => {
            let _ = e.render();
        }
        Ok(c) => {
            let _ = c.warnings.render();
            let io = Output { out: Box::new(Vec::new()), err: Box::new(Vec::new()), input: Box::new(std::io::Cursor::new(Vec::new())) };
            if let Ok(mut rt) = Runtime::new(c.program, io) {
                let mut r = rt.start_with_budget(1000);
                for _ in 0..20 {
                    match r {
                        Ok(false) => r = rt.resume(1000),
                        _ => break,
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn token_soup_never_panics(src in soup(60)) {
        compile_and_maybe_run(&src);
    }

    #[test]
    fn mangled_programs_never_panic(src in lines()) {
        compile_and_maybe_run(&src);
    }

    #[test]
    fn arbitrary_text_never_panics(src in any::<String>()) {
        compile_and_maybe_run(&src);
    }
}

#[test]
fn all_lines_together_compile_and_run() {
    // Keeps DEFS and LINES honest: if the language changes, the generator should change too.
    let src = format!("{DEFS}{}\n", LINES.join("\n"));
    match noodle::compile_source(Path::new("lines.noodle"), src.clone()) {
        Ok(_) => compile_and_maybe_run(&src),
        Err(e) => panic!("{}", e.render()),
    }
}

#[test]
fn mangled_programs_often_compile() {
    // The generator is only useful if a fair share of its programs reach code generation.
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = lines();
    let n = 200;
    let ok = (0..n)
        .filter(|_| {
            let src = strategy.new_tree(&mut runner).unwrap().current();
            noodle::compile_source(Path::new("m.noodle"), src).is_ok()
        })
        .count();
    eprintln!("{ok} of {n} mangled programs compiled");
    assert!(ok * 10 >= n, "only {ok} of {n} mangled programs compiled");
}
