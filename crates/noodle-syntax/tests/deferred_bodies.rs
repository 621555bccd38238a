//! `parse_deferring_bodies` + `parse_body` (the compiler's way of parsing a file: one body's
//! tree at a time) must read a program exactly as `parse` does: the same tree, the same
//! diagnostics. Checked on every `.noodle` file of the repository, on prefixes of a sample
//! program, and (never panicking, spans inside the source) on random token soup.

use noodle_syntax::ast::{FuncDecl, Item, Module};
use noodle_syntax::{parse, parse_body, parse_deferring_bodies, Diagnostic};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

/// Parses `src` with bodies deferred, then parses every deferred body, as the compiler does.
/// A body that does not parse leaves its function out, as `parse` leaves it out.
fn parse_deferred_then_bodies(src: &str) -> (Module, Vec<Diagnostic>) {
    let (mut module, mut diags) = parse_deferring_bodies(src, 0);
    let fill = |funcs: &mut Vec<FuncDecl>, diags: &mut Vec<Diagnostic>| {
        funcs.retain_mut(|f| {
            let Some(span) = f.deferred.take() else { return true };
            let (body, more) = parse_body(src, span);
            diags.extend(more);
            f.body = body;
            f.body.is_some()
        });
    };
    let items = std::mem::take(&mut module.items);
    for mut item in items {
        match &mut item {
            Item::Func(f) => {
                let mut one = vec![f.clone()];
                fill(&mut one, &mut diags);
                match one.pop() {
                    Some(f) => module.items.push(Item::Func(f)),
                    None => continue,
                }
            }
            Item::Struct(s) => {
                fill(&mut s.methods, &mut diags);
                module.items.push(item);
            }
            Item::Enum(e) => {
                fill(&mut e.methods, &mut diags);
                module.items.push(item);
            }
            // default methods
            Item::Interface(i) => {
                fill(&mut i.methods, &mut diags);
                module.items.push(item);
            }
            _ => module.items.push(item),
        }
    }
    (module, diags)
}

fn sorted(diags: &[Diagnostic]) -> Vec<String> {
    let mut v: Vec<String> = diags.iter().map(|d| format!("{} {}..{} {}", d.code, d.span.start, d.span.end, d.message)).collect();
    v.sort();
    v
}

/// The same diagnostics always; the same tree when the source has no errors (after an error
/// the trees may differ where `parse` drops a whole function that deferral keeps).
fn same_reading(src: &str) -> Result<(), String> {
    let (eager, eager_diags) = parse(src, 0);
    let (deferred, deferred_diags) = parse_deferred_then_bodies(src);
    let (a, b) = (sorted(&eager_diags), sorted(&deferred_diags));
    if a != b {
        return Err(format!("diagnostics differ\n  parse:    {a:?}\n  deferred: {b:?}"));
    }
    if eager_diags.is_empty() && format!("{eager:?}") != format!("{deferred:?}") {
        return Err("the trees differ".into());
    }
    Ok(())
}

fn noodle_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "target" && n != ".git") {
                noodle_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "noodle") {
            out.push(p);
        }
    }
}

#[test]
fn every_noodle_file_in_the_repository_reads_the_same() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    for dir in ["tests", "fuzz/corpus", "bench", "examples", "docs"] {
        noodle_files(&root.join(dir), &mut files);
    }
    assert!(files.len() > 500, "found only {} .noodle files under {}", files.len(), root.display());
    let mut bad = Vec::new();
    for f in &files {
        let Ok(src) = std::fs::read_to_string(f) else { continue };
        if let Err(e) = same_reading(&src) {
            bad.push(format!("{}: {e}", f.display()));
        }
    }
    assert!(bad.is_empty(), "{} of {} files read differently:\n{}", bad.len(), files.len(), bad.join("\n"));
}

#[test]
fn bodies_with_braces_in_strings_comments_and_names() {
    let src = r#"
struct S {
    n: int
    def show(self) -> str { return f"{{{self.n}}}" + "}" }   # a comment with }
}
enum E {
    A
    def f(self) -> int { return match self { E.A => 1 } }
}
def g(é: int) -> str {
    let t = "{ \" }"
    let u = b"}"
    # }}}
    if é > 0 { return f"{t}{u}{ {"k": 1}["k"] }" }
    return "}"
}
def h() { }
"#;
    same_reading(src).unwrap();
    let (module, _) = parse_deferring_bodies(src, 0);
    let deferred = module
        .items
        .iter()
        .flat_map(|it| match it {
            Item::Func(f) => vec![f],
            Item::Struct(s) => s.methods.iter().collect(),
            Item::Enum(e) => e.methods.iter().collect(),
            _ => vec![],
        })
        .filter(|f| f.deferred.is_some() && f.body.is_none())
        .count();
    assert_eq!(deferred, 4, "every function and method body is deferred");
}

#[test]
fn actor_members_and_nested_functions_are_not_deferred() {
    let src = "actor A {\n    n: int\n    def get(self) -> int { return self.n }\n    on ping(self, m: int) -> int { return m }\n}\ndef outer() -> int {\n    def inner() -> int { return 1 }\n    return inner()\n}\n";
    let (module, diags) = parse_deferring_bodies(src, 0);
    assert!(diags.is_empty(), "{diags:?}");
    let Item::Actor(a) = &module.items[0] else { panic!("an actor") };
    assert!(a.methods.iter().chain(&a.handlers).all(|f| f.body.is_some() && f.deferred.is_none()));
    let Item::Func(outer) = &module.items[1] else { panic!("a function") };
    let (body, diags) = parse_body(src, outer.deferred.expect("outer is deferred"));
    assert!(diags.is_empty(), "{diags:?}");
    let body = body.expect("the body parses");
    assert!(matches!(&body.stmts[0], noodle_syntax::ast::Stmt::Func(f) if f.body.is_some() && f.deferred.is_none()));
    same_reading(src).unwrap();
}

#[test]
fn errors_in_deferred_bodies_are_reported_once_and_in_the_same_places() {
    for src in [
        "def f() -> int {\n    let s = \"open\n    return 1\n}\n",
        "def f() {\n    let x = 1 +\n}\ndef g() { let y = ) }\n",
        "def f() {\n    let λ = 1 $ 2\n}\n",
        "def f() {\n    print(f\"{x\")\n}\n",
        "def add(a: int, b: int) -> int {\n    return a + b\n",
        "def f() {\n    if true {\n",
    ] {
        same_reading(src).unwrap_or_else(|e| panic!("{src:?}: {e}"));
    }
}

/// The sample program of `robustness.rs`: most of the syntax, with functions and methods whose
/// bodies hold braces in strings.
const SAMPLE: &str = include_str!("sample.noodle");

const VOCAB: &[&str] = &[
    "let", "var", "def", "fn", "return", "if", "else", "while", "for", "in", "match", "struct",
    "enum", "interface", "pub", "x", "y", "Point", "int", "0", "1", "3.14", "0x", "\"hi\"",
    "\"open", "\"{\"", "\"}\"", "b\"}\"", "f\"{x}\"", "f\"{\"", "f\"}}\"", "f\"{x", "(", ")", "[",
    "]", "{", "{", "}", "}", ",", ".", ":", "->", "=>", "=", "+", "\n", "\n", "\n    ", " ",
    "# c }\n", "é", "λ", "$",
];

fn soup(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..max).prop_map(|toks| toks.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn prefixes_of_a_program_read_the_same(cut in 0usize..1200) {
        let mut n = cut % (SAMPLE.len() + 1);
        while !SAMPLE.is_char_boundary(n) {
            n -= 1;
        }
        let src = &SAMPLE[..n];
        if let Err(e) = same_reading(src) {
            return Err(TestCaseError::fail(format!("{src:?}: {e}")));
        }
    }

    #[test]
    fn deferred_parsing_never_panics_and_spans_stay_inside(src in soup(60)) {
        let (_, diags) = parse_deferred_then_bodies(&src);
        for d in &diags {
            prop_assert!(d.span.start <= d.span.end && d.span.end as usize <= src.len(), "{:?}", d);
        }
    }
}
