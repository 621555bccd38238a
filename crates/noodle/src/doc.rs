//! `noodle doc`: the API reference of a module, as Markdown, from its source: a native module's
//! declarations or a user's `.noodle` file. Only public items are shown (and, of a native
//! module, nothing whose name starts with `__`). An item's documentation is the `##` comment
//! lines right above it; a module's is the `##` block that opens the file, when a blank line
//! separates it from what follows. Signatures are shown as written.

use noodle_syntax::ast::{self, Item, Stmt};
use std::fmt::Write;

/// The reference page of module `name` whose source is `text` (`native`: a native module's
/// declarations, parsed as such).
pub fn module_page(name: &str, text: &str, native: bool) -> String {
    let (module, _) = if native { noodle_syntax::parse_declarations(text, 0) } else { noodle_syntax::parse(text, 0) };
    let lines: Vec<&str> = text.lines().collect();
    let line_of = |offset: u32| text[..(offset as usize).min(text.len())].matches('\n').count();
    let doc_above = |offset: u32| doc_lines(&lines, line_of(offset));
    let sig = |span: noodle_syntax::Span, body: Option<u32>| signature(text, span.start, body.unwrap_or(span.end));
    let mut out = format!("# `{name}`\n\n");
    let intro = module_doc(&lines);
    if !intro.is_empty() {
        out.push_str(&intro);
        out.push_str("\n\n");
    }
    let public = |p: bool| p || native;
    let hidden = |n: &str| n.starts_with("__");

    let mut consts = String::new();
    let mut vars = String::new();
    let mut funcs = String::new();
    let mut types = String::new();
    for item in &module.items {
        match item {
            Item::Stmt(Stmt::Let { span, mutable, .. }, true) => {
                entry(if *mutable { &mut vars } else { &mut consts }, "###", &sig(*span, None), &doc_above(span.start));
            }
            Item::Const(c) if c.public => {
                entry(&mut consts, "###", &sig(c.span, None), &doc_above(c.span.start));
            }
            Item::Func(f) if f.public && !hidden(&f.name.name) => {
                entry(&mut funcs, "###", &sig(f.span, body_start(f)), &doc_above(f.span.start));
            }
            Item::Struct(s) if s.public => {
                let mut t = String::new();
                entry(&mut t, "###", &format!("struct {}{}", s.name.name, type_params(&s.type_params)), &doc_above(s.span.start));
                for fd in &s.fields {
                    let d = doc_above(fd.name.span.start);
                    let line = lines.get(line_of(fd.name.span.start)).map(|l| l.trim()).unwrap_or("");
                    let _ = writeln!(t, "- `{line}`{}", if d.is_empty() { String::new() } else { format!(": {}", d.replace('\n', " ")) });
                }
                if !s.fields.is_empty() {
                    t.push('\n');
                }
                methods(&mut t, &s.methods, text, &doc_above);
                types.push_str(&t);
            }
            Item::Enum(e) if e.public => {
                let mut t = String::new();
                entry(&mut t, "###", &format!("enum {}{}", e.name.name, type_params(&e.type_params)), &doc_above(e.span.start));
                for v in &e.variants {
                    let d = doc_above(v.name.span.start);
                    let line = lines.get(line_of(v.name.span.start)).map(|l| l.trim()).unwrap_or("");
                    let _ = writeln!(t, "- `{line}`{}", if d.is_empty() { String::new() } else { format!(": {}", d.replace('\n', " ")) });
                }
                t.push('\n');
                methods(&mut t, &e.methods, text, &doc_above);
                types.push_str(&t);
            }
            Item::Interface(i) if i.public => {
                let mut t = String::new();
                entry(&mut t, "###", &format!("interface {}{}", i.name.name, type_params(&i.type_params)), &doc_above(i.span.start));
                methods(&mut t, &i.methods, text, &doc_above);
                types.push_str(&t);
            }
            Item::TypeAlias(a) if a.public => {
                entry(&mut types, "###", &sig(a.span, None), &doc_above(a.span.start));
            }
            Item::NativeType(nt) if public(nt.public) => {
                let mut t = String::new();
                entry(&mut t, "###", &format!("type {}", nt.name.name), &doc_above(nt.span.start));
                let protocol: Vec<String> = nt.methods.iter().filter_map(|m| protocol_line(m, text)).collect();
                if !protocol.is_empty() {
                    for p in protocol {
                        let _ = writeln!(t, "- {p}");
                    }
                    t.push('\n');
                }
                methods(&mut t, &nt.methods, text, &doc_above);
                types.push_str(&t);
            }
            Item::Extend(e) => {
                let target = signature(text, e.target.span().start, e.target.span().end);
                let mut t = String::new();
                let _ = writeln!(t, "### Methods of `{target}`\n");
                if let Some(bound) = e.params.iter().find_map(|(n, b)| b.as_ref().map(|b| format!("`{}` is `{}`", n.name, b.name))) {
                    let _ = writeln!(t, "Where {bound}.\n");
                }
                methods(&mut t, &e.methods, text, &doc_above);
                types.push_str(&t);
            }
            _ => {}
        }
    }
    for (title, body) in [("Constants", consts), ("Variables", vars), ("Functions", funcs), ("Types and methods", types)] {
        if !body.is_empty() {
            let _ = write!(out, "## {title}\n\n{body}");
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// One item: a heading with its signature, then its documentation.
fn entry(out: &mut String, level: &str, sig: &str, doc: &str) {
    let _ = writeln!(out, "{level} `{sig}`\n");
    if !doc.is_empty() {
        let _ = writeln!(out, "{doc}\n");
    }
}

/// The methods of a public type (static ones too, called as `Type.name(...)`), but the
/// protocol members (`__len__`, shown as what they allow).
fn methods(out: &mut String, ms: &[ast::FuncDecl], text: &str, doc_above: &dyn Fn(u32) -> String) {
    for m in ms {
        if m.name.name.starts_with("__") {
            continue;
        }
        let sig = signature(text, m.span.start, body_start(m).unwrap_or(m.span.end));
        entry(out, "####", &sig, &doc_above(m.span.start));
    }
}

/// What a protocol member of a native type lets a program write.
fn protocol_line(m: &ast::FuncDecl, text: &str) -> Option<String> {
    let ret = m.ret.as_ref().map(|t| signature(text, t.span().start, t.span().end)).unwrap_or_else(|| "none".into());
    let key = m.params.first().and_then(|p| p.ty.as_ref()).map(|t| signature(text, t.span().start, t.span().end)).unwrap_or_default();
    Some(match m.name.name.as_str() {
        "__len__" => "`len(x)` (and `x.len()`) gives its length".to_string(),
        "__iter__" => format!("`for v in x` visits each `{ret}`"),
        "__next__" => format!("`for v in x` takes each `{}` as it comes", ret.trim_end_matches('?')),
        "__index__" => format!("`x[k]` with a `{key}` gives `{ret}`"),
        "__field__" => format!("`x.name` reads the value named `name` (`{ret}`)"),
        _ => return None,
    })
}

/// Where a function's body starts (its signature ends there).
fn body_start(f: &ast::FuncDecl) -> Option<u32> {
    f.deferred.map(|s| s.start).or(f.body.as_ref().map(|b| b.span.start))
}

/// The source from `start` to `end`, on one line.
fn signature(text: &str, start: u32, end: u32) -> String {
    let s = text.get(start as usize..end as usize).unwrap_or("");
    let s = s.strip_prefix("pub ").unwrap_or(s);
    let s = s.strip_prefix("def ").unwrap_or(s);
    s.split_whitespace().collect::<Vec<_>>().join(" ").replace("( ", "(").replace(" )", ")")
}

/// The `##` lines right above line `line`, without their markers.
fn doc_lines(lines: &[&str], line: usize) -> String {
    let mut docs = Vec::new();
    let mut i = line;
    while i > 0 {
        let l = lines[i - 1].trim();
        match l.strip_prefix("##") {
            Some(rest) => docs.push(rest.strip_prefix(' ').unwrap_or(rest)),
            None => break,
        }
        i -= 1;
    }
    docs.reverse();
    join_paragraphs(&docs)
}

/// The `##` block that opens a file, when a blank line follows it.
fn module_doc(lines: &[&str]) -> String {
    let mut docs = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        match lines[i].trim().strip_prefix("##") {
            Some(rest) => docs.push(rest.strip_prefix(' ').unwrap_or(rest)),
            None => break,
        }
        i += 1;
    }
    if i < lines.len() && !lines[i].trim().is_empty() {
        return String::new();
    }
    join_paragraphs(&docs)
}

/// Comment lines as Markdown: lines joined, empty `##` lines separating paragraphs.
fn join_paragraphs(lines: &[&str]) -> String {
    let mut out = String::new();
    for l in lines {
        if l.trim().is_empty() {
            out.push_str("\n\n");
        } else {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push(' ');
            }
            out.push_str(l.trim_end());
        }
    }
    out.trim().to_string()
}

/// `[A, B]` after a generic type's name in its heading.
fn type_params(ps: &[noodle_syntax::ast::Ident]) -> String {
    if ps.is_empty() {
        return String::new();
    }
    format!("[{}]", ps.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join(", "))
}
