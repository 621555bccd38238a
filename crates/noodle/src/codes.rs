//! The index behind `noodle explain CODE`: every code any crate declares (each crate's
//! `src/codes.rs`, with the explanations in its `codes/` folder), joined and sorted here. No list
//! of codes is kept by hand: a code exists when its crate declares it, and the tests below and
//! in `tests/codes.rs` check that each one is raised somewhere and documented in
//! `docs/spec/errors.md`.

use std::sync::OnceLock;

/// One error code and its long explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeInfo {
    /// The code, as printed in `error[CODE]`, e.g. `N0200`.
    pub code: &'static str,
    /// A short title (the meaning column of the table in `docs/spec/errors.md`).
    pub title: &'static str,
    /// Several lines of plain text: what the error means, an example and how to fix it.
    pub explanation: &'static str,
}

/// The declared codes of every crate, as each crate lists them.
pub fn sources() -> Vec<(&'static str, &'static [noodle_codes::Explained])> {
    vec![
        ("noodle-codes", noodle_codes::EXPLAINED),
        ("noodle-syntax", noodle_syntax::codes::EXPLAINED),
        ("noodle-compiler", noodle_compiler::codes::EXPLAINED),
        ("noodle-nbc", noodle_nbc::codes::EXPLAINED),
        ("noodle", crate::error_codes::EXPLAINED),
        ("noodle-vm", noodle_vm::codes::EXPLAINED),
        ("noodle-tensor", noodle_tensor::codes::EXPLAINED),
        ("noodle-db", noodle_db::codes::EXPLAINED),
        ("noodle-runtime", noodle_runtime::codes::EXPLAINED),
        ("noodle-native", noodle_native::codes::EXPLAINED),
        ("noodle-std", noodle_std::codes::EXPLAINED),
    ]
}

/// Every code, in numeric order.
pub fn all() -> &'static [CodeInfo] {
    static ALL: OnceLock<Vec<CodeInfo>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v: Vec<CodeInfo> = sources()
            .iter()
            .flat_map(|(_, list)| list.iter())
            .map(|e| CodeInfo { code: e.code.as_str(), title: e.title(), explanation: e.explanation() })
            .collect();
        v.sort_by_key(|c| c.code);
        v
    })
}

/// Looks up a code, ignoring case: `n0200` and `N0200` both find the entry for N0200.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    let code = code.trim();
    all().iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in all() {
            assert!(seen.insert(c.code), "{} is declared twice", c.code);
            let b = c.code.as_bytes();
            assert_eq!(b.len(), 5, "{} is not N and 4 digits", c.code);
            assert_eq!(b[0], b'N', "{} does not start with N", c.code);
            assert!(b[1..].iter().all(u8::is_ascii_digit), "{} is not N and 4 digits", c.code);
            assert!(!c.title.is_empty(), "{} has no title (first line `# CODE: title`)", c.code);
        }
    }

    #[test]
    fn explanation_files_have_a_reasonable_shape() {
        for (_, list) in sources() {
            for e in list {
                let first = e.text.lines().next().unwrap_or("");
                assert!(first.starts_with(&format!("# {}: ", e.code)), "{}: the file must start with `# {}: title`", e.code, e.code);
            }
        }
        for c in all() {
            let lines: Vec<&str> = c.explanation.lines().collect();
            assert!((6..=20).contains(&lines.len()), "{}: {} lines", c.code, lines.len());
            for l in &lines {
                assert!(l.chars().count() < 100, "{}: line too long: {l}", c.code);
                assert_eq!(l.trim_end(), *l, "{}: trailing whitespace: {l:?}", c.code);
            }
        }
    }

    #[test]
    fn lookup_ignores_case() {
        assert_eq!(lookup("N0200").unwrap().code, "N0200");
        assert_eq!(lookup("n0200").unwrap().code, "N0200");
        assert_eq!(lookup(" N0001 ").unwrap().code, "N0001");
        assert!(lookup("N9999").is_none());
        assert!(lookup("").is_none());
        for c in all() {
            assert_eq!(lookup(&c.code.to_lowercase()).unwrap().code, c.code);
        }
    }
}
