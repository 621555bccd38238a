//! Property tests: the parser never panics, and every diagnostic it reports points inside the
//! source it was given (so the renderer can always show it).

use noodle_syntax::{parse, Diagnostic, SourceFile};
use proptest::prelude::*;

/// Tokens, keywords, brackets and whitespace of Noodle, including broken pieces (unterminated
/// strings, lone quotes, bad escapes, non-ASCII) so the lexer's error paths run too.
const VOCAB: &[&str] = &[
    // keywords
    "let", "var", "def", "fn", "return", "if", "elif", "else", "while", "for", "in", "break",
    "continue", "match", "struct", "enum", "interface", "pub", "import", "from", "as", "throw",
    "try", "catch", "finally", "true", "false", "none", "and", "or", "not", "is", "self",
    // names and types
    "x", "y", "n", "xs", "Point", "Shape", "print", "len", "int", "float", "str", "bool", "bytes",
    "list", "dict", "set", "any", "Error", "std", "math", "T",
    // literals
    "0", "1", "42", "3.14", "1e9", "0x1f", "0b101", "0x", "99999999999999999999999", "1_000",
    "\"hi\"", "\"a\\nb\"", "\"\\q\"", "\"open", "'", "\"", "b\"xy\"", "b\"\\xff\"", "b\"open",
    "f\"v={x}\"", "f\"{x:>8.2f}\"", "f\"{\"", "f\"}\"", "f\"{x", "f\"{f\"{x}\"}\"",
    // punctuation and operators
    "(", ")", "[", "]", "{", "}", ",", ".", ":", ";", "->", "=>", "?", "?.", "??", "!", "=",
    "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "**", "/", "//", "%", "&", "|", "^", "~",
    "<<", ">>", "..", "..=", "+=", "-=", "*=", "/=", "//=", "%=",
    // layout and oddities
    "\n", "\n", "\n    ", "\t", " ", "# comment\n", "\r\n", "\\", "$", "`", "@", "é", "λ", "🍜",
    "\u{0}", "\u{feff}",
];

/// Every diagnostic lies within the source (and on character boundaries).
fn check_spans(src: &str, diags: &[Diagnostic]) -> Result<(), TestCaseError> {
    let len = src.len() as u32;
    for d in diags {
        prop_assert_eq!(d.span.file, 0, "diagnostic in another file: {:?}", d);
        prop_assert!(d.span.start <= d.span.end, "inverted span: {:?}", d);
        prop_assert!(d.span.end <= len, "span past the end ({} bytes): {:?}", len, d);
        prop_assert!(src.is_char_boundary(d.span.start as usize) && src.is_char_boundary(d.span.end as usize), "span splits a character: {:?}", d);
        for (s, _) in &d.notes {
            prop_assert!(s.start <= s.end && s.end <= len, "note span outside the source: {:?}", d);
        }
    }
    Ok(())
}

/// Parses and renders every diagnostic (rendering must cope with any span).
fn parse_and_render(src: &str) -> Vec<Diagnostic> {
    let (_, diags) = parse(src, 0);
    let files = [SourceFile::new("fuzz.noodle", src)];
    for d in &diags {
        let _ = d.render(&files);
    }
    diags
}

fn soup(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCAB), 0..max).prop_map(|toks| {
        let mut s = String::new();
        for (i, t) in toks.iter().enumerate() {
            // alternate between glued and spaced tokens
            if i % 3 != 0 {
                s.push(' ');
            }
            s.push_str(t);
        }
        s
    })
}

/// Every prefix of the sample program, cut at a character boundary.
fn prefix(cut: usize) -> &'static str {
    let mut n = cut % (SAMPLE.len() + 1);
    while !SAMPLE.is_char_boundary(n) {
        n -= 1;
    }
    &SAMPLE[..n]
}

// The "never panic" properties and the "spans inside the source" properties are separate so
// that a span bug does not stop the search for panics.
proptest! {
    #![proptest_config(ProptestConfig { cases: 500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(src in any::<String>()) {
        parse_and_render(&src);
    }

    #[test]
    fn ascii_noise_never_panics(src in "[ -~\n\t]{0,200}") {
        parse_and_render(&src);
    }

    #[test]
    fn token_soup_never_panics(src in soup(80)) {
        parse_and_render(&src);
    }

    #[test]
    fn parse_expr_never_panics(src in soup(40)) {
        let _ = noodle_syntax::parser::parse_expr(&src, 0);
    }

    #[test]
    fn truncated_programs_never_panic(cut in 0usize..2000) {
        parse_and_render(prefix(cut));
    }

    #[test]
    fn arbitrary_strings_spans_within_source(src in any::<String>()) {
        check_spans(&src, &parse(&src, 0).1)?;
    }

    #[test]
    fn ascii_noise_spans_within_source(src in "[ -~\n\t]{0,200}") {
        check_spans(&src, &parse(&src, 0).1)?;
    }

    #[test]
    fn token_soup_spans_within_source(src in soup(80)) {
        check_spans(&src, &parse(&src, 0).1)?;
    }

    #[test]
    fn parse_expr_spans_within_source(src in soup(40)) {
        check_spans(&src, &noodle_syntax::parser::parse_expr(&src, 0).1)?;
    }

    #[test]
    fn truncated_programs_spans_within_source(cut in 0usize..2000) {
        let src = prefix(cut);
        check_spans(src, &parse(src, 0).1)?;
    }
}

/// Regression inputs found by the properties above (and by `fuzz/`): each must parse without
/// panicking and with every span inside the source.
const REGRESSIONS: &[&str] = &[
    // backslash at the end of the file inside a string: N0004 span ran one byte past the end
    "\"\\",
    "\"open \\",
    "b\"\\",
    "f\"\\",
    // unterminated `{` in an f-string at the end of the file: N0002 span ran one byte past the end
    "f\"{x b\"open f\"{x\"open",
    "f\"{x",
    "f\"{",
    "f\"{\"",
    "f\"{\"\\",
];

#[test]
fn regressions_spans_within_source() {
    let mut bad = Vec::new();
    for src in REGRESSIONS {
        let diags = parse_and_render(src);
        for d in &diags {
            if d.span.start > d.span.end || d.span.end as usize > src.len() {
                bad.push(format!("{src:?}: {} {}..{} ({} bytes): {}", d.code, d.span.start, d.span.end, src.len(), d.message));
            }
        }
    }
    assert!(bad.is_empty(), "diagnostic spans outside the source:\n{}", bad.join("\n"));
}

/// A sample with most of the syntax (also read by `deferred_bodies.rs`).
const SAMPLE: &str = include_str!("sample.noodle");

#[test]
fn deep_but_reasonable_nesting_parses() {
    // Nesting a human might write (and a little more) must work on a test thread's stack.
    for depth in [10usize, 50, 100] {
        let src = format!("print({}1{})\n", "(".repeat(depth), ")".repeat(depth));
        let (_, diags) = parse(&src, 0);
        assert!(diags.is_empty(), "depth {depth}: {diags:?}");
        let src = format!("let x = {}1{}\n", "[".repeat(depth), "]".repeat(depth));
        let (_, diags) = parse(&src, 0);
        assert!(diags.is_empty(), "depth {depth}: {diags:?}");
    }
}

#[test]
fn sample_parses_cleanly() {
    let (_, diags) = parse(SAMPLE, 0);
    // the sample is meant to be valid syntax; if the grammar moves, at least spans must hold
    for d in &diags {
        assert!(d.span.end as usize <= SAMPLE.len());
    }
}
