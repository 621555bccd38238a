//! Placeholder normalisation. Programs may write `?` (positional), `$1` (numbered) or `:name`
//! (named) placeholders on any backend; this rewrites them into the one syntax the backend
//! understands and says which argument each placeholder takes. String literals, quoted
//! identifiers, comments, PostgreSQL dollar-quoted strings and `::` casts are left alone.

use crate::{DbError, ErrorKind, Placeholder, Result, Value};

/// The parameters a program passes: by position or by name.
#[derive(Clone, Debug, PartialEq)]
pub enum Params {
    Positional(Vec<Value>),
    Named(Vec<(String, Value)>),
}

impl Params {
    pub fn none() -> Params {
        Params::Positional(Vec::new())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Normalized {
    pub sql: String,
    /// How many placeholders the backend sees (`?1`..`?n` / `$1`..`$n`).
    pub count: usize,
    /// For named placeholders, the name bound to each number, in order.
    pub names: Vec<String>,
    style: Style,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Style {
    None,
    Question,
    Numbered,
    Named,
}

fn err(msg: String) -> DbError {
    DbError::new(ErrorKind::Query, msg)
}

/// If a string literal, quoted identifier, comment or dollar-quoted string starts at `i`, the
/// index just after it. Quotes are escaped by doubling them, and in `E'...'` strings also by a
/// backslash; `$tag$ ... $tag$` is PostgreSQL's dollar quoting (`$1` is a placeholder).
pub(crate) fn skip_literal(sql: &str, i: usize) -> Option<usize> {
    let b = sql.as_bytes();
    let n = b.len();
    match b[i] {
        q @ (b'\'' | b'"' | b'`') => {
            // `e'...'`, but not the end of a name such as `some'...'`
            let backslash = q == b'\'' && i > 0 && b[i - 1].eq_ignore_ascii_case(&b'e') && (i < 2 || !(b[i - 2].is_ascii_alphanumeric() || b[i - 2] == b'_'));
            let mut j = i + 1;
            while j < n {
                if backslash && b[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if b[j] == q {
                    if b.get(j + 1) == Some(&q) {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            Some((j + 1).min(n))
        }
        b'-' if b.get(i + 1) == Some(&b'-') => Some(sql[i..].find('\n').map_or(n, |k| i + k)),
        b'/' if b.get(i + 1) == Some(&b'*') => Some(sql[i + 2..].find("*/").map_or(n, |k| i + 2 + k + 2)),
        b'$' => {
            let mut j = i + 1;
            while j < n && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                j += 1;
            }
            if j < n && b[j] == b'$' && !b.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
                let tag = &sql[i..=j];
                Some(sql[j + 1..].find(tag).map_or(n, |end| j + 1 + end + tag.len()))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// Rewrites the placeholders of `sql` for `target`.
pub fn normalize(sql: &str, target: Placeholder) -> Result<Normalized> {
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut style = Style::None;
    let mut count = 0usize;
    let mut names: Vec<String> = Vec::new();
    let mut i = 0;
    let mut copied = 0;
    let mark = |n: usize, out: &mut String| match target {
        Placeholder::QuestionNumbered => {
            out.push('?');
            out.push_str(&n.to_string());
        }
        Placeholder::Dollar => {
            out.push('$');
            out.push_str(&n.to_string());
        }
    };
    let set_style = |s: Style, style: &mut Style| -> Result<()> {
        if *style != Style::None && *style != s {
            return Err(err("a statement cannot mix `?`, `$1` and `:name` placeholders; use one style".into()));
        }
        *style = s;
        Ok(())
    };
    while i < b.len() {
        if let Some(j) = skip_literal(sql, i) {
            i = j;
            continue;
        }
        match b[i] {
            b'?' => {
                set_style(Style::Question, &mut style)?;
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                out.push_str(&sql[copied..i]);
                let n = if j > i + 1 {
                    // `?NNN` is SQLite's numbered form; treat it as `$NNN`
                    sql[i + 1..j].parse::<usize>().map_err(|_| err(format!("bad placeholder `{}`", &sql[i..j])))?
                } else {
                    count + 1
                };
                count = count.max(n);
                mark(n, &mut out);
                i = j;
                copied = i;
            }
            b'$' if b.get(i + 1).is_some_and(|c| c.is_ascii_digit()) => {
                set_style(Style::Numbered, &mut style)?;
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let n: usize = sql[i + 1..j].parse().map_err(|_| err(format!("bad placeholder `{}`", &sql[i..j])))?;
                if n == 0 {
                    return Err(err("placeholders are numbered from `$1`".into()));
                }
                out.push_str(&sql[copied..i]);
                mark(n, &mut out);
                count = count.max(n);
                i = j;
                copied = i;
            }
            b':' if b.get(i + 1) == Some(&b':') => i += 2,
            b':' if b.get(i + 1).is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') && (i == 0 || b[i - 1] != b':') => {
                set_style(Style::Named, &mut style)?;
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                let name = &sql[i + 1..j];
                let n = match names.iter().position(|x| x == name) {
                    Some(k) => k + 1,
                    None => {
                        names.push(name.to_string());
                        names.len()
                    }
                };
                out.push_str(&sql[copied..i]);
                mark(n, &mut out);
                count = count.max(n);
                i = j;
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied.min(sql.len())..]);
    Ok(Normalized { sql: out, count, names, style })
}

impl Normalized {
    /// The values in placeholder order, checking that the program passed what the SQL asks for.
    pub fn bind(&self, params: Params) -> Result<Vec<Value>> {
        match params {
            Params::Positional(v) => {
                if self.style == Style::Named {
                    return Err(err(format!(
                        "the statement uses named placeholders (:{}) but the parameters are a list; pass a dict",
                        self.names[0]
                    )));
                }
                if v.len() != self.count {
                    return Err(err(format!(
                        "the statement has {} placeholder{} but {} parameter{} {} given",
                        self.count,
                        if self.count == 1 { "" } else { "s" },
                        v.len(),
                        if v.len() == 1 { "" } else { "s" },
                        if v.len() == 1 { "was" } else { "were" }
                    )));
                }
                Ok(v)
            }
            Params::Named(pairs) => {
                if self.style != Style::Named && self.count > 0 {
                    return Err(err("the statement uses positional placeholders but the parameters are a dict; pass a list".into()));
                }
                let mut out = Vec::with_capacity(self.names.len());
                for n in &self.names {
                    match pairs.iter().find(|(k, _)| k == n) {
                        Some((_, v)) => out.push(v.clone()),
                        None => return Err(err(format!("no value for the placeholder `:{n}`"))),
                    }
                }
                if let Some((k, _)) = pairs.iter().find(|(k, _)| !self.names.contains(k)) {
                    return Err(err(format!("the parameter `{k}` matches no placeholder in the statement")));
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str, t: Placeholder) -> String {
        normalize(s, t).unwrap().sql
    }

    #[test]
    fn rewrites_each_style() {
        use Placeholder::*;
        assert_eq!(n("select ? , ?", Dollar), "select $1 , $2");
        assert_eq!(n("select $2, $1", QuestionNumbered), "select ?2, ?1");
        assert_eq!(n("select :a, :b, :a", Dollar), "select $1, $2, $1");
        let x = normalize("select :a, :b, :a", Dollar).unwrap();
        assert_eq!(x.names, vec!["a", "b"]);
        assert_eq!(x.count, 2);
    }

    #[test]
    fn leaves_literals_comments_and_casts() {
        use Placeholder::*;
        assert_eq!(n("select '?', \"a?\", x::int, ? -- ?\n", Dollar), "select '?', \"a?\", x::int, $1 -- ?\n");
        assert_eq!(n("select 'it''s ?', /* ? */ ?", Dollar), "select 'it''s ?', /* ? */ $1");
        assert_eq!(n("select $$ ? $$, $tag$ :x $tag$, ?", Dollar), "select $$ ? $$, $tag$ :x $tag$, $1");
        assert_eq!(normalize("select 1", Dollar).unwrap().count, 0);
        assert_eq!(n("select E'it\\'s ?', ?", Dollar), "select E'it\\'s ?', $1");
        assert_eq!(n("select some'?', ?", Dollar), "select some'?', $1");
    }

    #[test]
    fn binding_checks_counts_and_names() {
        let x = normalize("select ?, ?", Placeholder::Dollar).unwrap();
        assert!(x.bind(Params::Positional(vec![Value::Int(1)])).unwrap_err().message.contains("2 placeholders but 1 parameter was given"));
        let y = normalize("select :a", Placeholder::Dollar).unwrap();
        assert_eq!(y.bind(Params::Named(vec![("a".into(), Value::Int(3))])).unwrap(), vec![Value::Int(3)]);
        assert!(y.bind(Params::Named(vec![])).unwrap_err().message.contains(":a"));
        assert!(y.bind(Params::Named(vec![("a".into(), Value::Null), ("b".into(), Value::Null)])).is_err());
        assert!(normalize("select ?, $1", Placeholder::Dollar).is_err());
    }
}
