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

/// Statements that are valid on their own or in sequence, to build programs that get past the
/// parser and into the checker and code generator.
const LINES: &[&str] = &[
    "let x = 1",
    "var y = 2",
    "var n = 0",
    "let xs = [1, 2, 3]",
    "var s = \"a\"",
    "struct P { a: int\n b: str }",
    "enum E { A\n B(v: int) }",
    "interface I { def m(self) -> int }",
    "def f(a: int) -> int { return a + 1 }",
    "def g[T](v: T) -> T { return v }",
    "print(x, y)",
    "print(f(x))",
    "y += x",
    "n = n * 2",
    "s = s + str(n)",
    "for i in xs { print(i) }",
    "for i in 0..3 { n += i }",
    "while n < 10 { n += 3 }",
    "if x > 0 { print(\"pos\") } else { print(\"neg\") }",
    "let p = P(1, \"z\")",
    "print(p.a, p.b)",
    "let e = E.B(4)",
    "print(match e { E.A => 0\n E.B(v) => v })",
    "try { throw Error(\"K\", \"m\") } catch err { print(err.code) } finally { print(1) }",
    "let c = fn (a: int) -> int => a * y",
    "print(c(3))",
    "let d = {\"k\": 1}",
    "d[\"j\"] = 2",
    "print(xs.map(fn (v) => v * 2))",
    "print(g(5), g(\"t\"))",
    "let o: int? = none",
    "print(o ?? 7)",
    "xs.push(4)",
    "print(len(xs), xs[0], (1, 2))",
    "print(f\"{x:>4} {s}\")",
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
    prop::collection::vec(line, 1..12).prop_map(|ls| ls.join("\n") + "\n")
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
    // Keeps LINES honest: if the language changes, the generator above should change with it.
    let src = LINES.join("\n") + "\n";
    match noodle::compile_source(Path::new("lines.noodle"), src.clone()) {
        Ok(_) => compile_and_maybe_run(&src),
        Err(e) => panic!("{}", e.render()),
    }
}
