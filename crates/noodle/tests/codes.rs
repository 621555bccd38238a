//! Error codes are data (see `noodle-codes`): each is declared once, by the crate that owns it,
//! with its explanation file beside it. These tests read the source of every crate and check
//! the other direction: every declared code is raised somewhere, and no code is written as a
//! bare string (which would bypass the declarations and could have no explanation).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs" || x == "noodle") {
            // a module written in Noodle (`std.http`) raises codes with `throw Error("N....")`
            out.push(p);
        }
    }
}

/// The code (not comments, not unit tests) of every library source file, with its path.
fn library_sources() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(crates_dir()).unwrap().flatten() {
        rust_files(&e.path().join("src"), &mut files);
    }
    files
        .into_iter()
        .filter(|p| !p.ends_with("codes.rs") && !p.ends_with("error_codes.rs"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let text = match text.find("#[cfg(test)]") {
                Some(i) => text[..i].to_string(),
                None => text,
            };
            let noodle = p.extension().is_some_and(|x| x == "noodle");
            let code: String = text
                .lines()
                // a Noodle comment line (`#`, `##`)
                .filter(|l| !(noodle && l.trim_start().starts_with('#')))
                .map(|l| match l.find("//") {
                    // a `//` inside a string (a URL) is kept: only the text after a comment start
                    Some(i) if l[..i].matches('"').count() % 2 == 0 => &l[..i],
                    _ => l,
                })
                .collect::<Vec<_>>()
                .join("\n");
            (p, code)
        })
        .collect()
}

fn code_words(text: &str) -> impl Iterator<Item = (usize, &str)> + '_ {
    text.match_indices('N').filter_map(move |(i, _)| {
        let w = text.get(i..i + 5)?;
        let before_ok = i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric();
        let after_ok = text.as_bytes().get(i + 5).is_none_or(|b| !b.is_ascii_alphanumeric());
        (before_ok && after_ok && w[1..].bytes().all(|b| b.is_ascii_digit())).then_some((i, w))
    })
}

#[test]
fn every_declared_code_is_raised_somewhere() {
    let mut used = BTreeSet::new();
    for (_, text) in library_sources() {
        for (_, w) in code_words(&text) {
            used.insert(w.to_string());
        }
    }
    let unused: Vec<&str> = noodle::codes::all().iter().map(|c| c.code).filter(|c| !used.contains(*c)).collect();
    assert!(unused.is_empty(), "declared (and explained) but raised nowhere: {unused:?}");
}

#[test]
fn no_code_is_written_as_a_bare_string() {
    let mut bad = Vec::new();
    // Noodle code has no constants: it writes its codes as strings (`throw Error("N2521", ...)`)
    for (path, text) in library_sources().into_iter().filter(|(p, _)| p.extension().is_some_and(|x| x == "rs")) {
        for (i, w) in code_words(&text) {
            let prev = text[..i].chars().next_back();
            // `"N0200"` or `error[N0200]` inside a string: the code bypasses its constant
            if prev == Some('"') || prev == Some('[') {
                bad.push(format!("{}: {w}", path.display()));
            }
        }
    }
    assert!(bad.is_empty(), "codes written as strings instead of their constants: {bad:?}");
}

#[test]
fn every_code_is_in_the_spec_table() {
    let spec = std::fs::read_to_string(crates_dir().join("../docs/spec/errors.md")).unwrap();
    let missing: Vec<&str> = noodle::codes::all().iter().map(|c| c.code).filter(|c| !spec.contains(&format!("| {c} "))).collect();
    assert!(missing.is_empty(), "codes missing from the table in docs/spec/errors.md: {missing:?}");
}
