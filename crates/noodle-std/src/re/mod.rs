//! `std.re`: regular expressions through the `regex` crate (finite automata: linear time in
//! the text for every pattern). A `Match` keeps the searched text (shared with its string
//! when the string is long) and its groups' byte spans; its positions are given in
//! characters, counted once per match.

use crate::codes::N2511;
use crate::io::str_value;
use noodle_native::{arity, as_int, as_str, simple, Continuation, Ctx, Flow, Module, NativeBox, NativeObject, Obj, Value, VmError};
use noodle_nbc::Program;
use std::rc::Rc;

type R = Result<Value, VmError>;

/// The `std.re` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.re", include_str!("re.noodle"))
        .function("compile", simple!(re_compile))
        .function("escape", simple!(re_escape))
        .function("is_match", simple!(re_is_match))
        .function("search", simple!(re_search))
        .function("find_all", simple!(re_find_all))
        .function("replace", simple!(re_replace))
        .function("split", simple!(re_split))
        .function("Regex.is_match", simple!(regex_is_match))
        .function("Regex.search", simple!(regex_search))
        .function("Regex.match", simple!(regex_match))
        .function("Regex.full_match", simple!(regex_full_match))
        .function("Regex.find_all", simple!(regex_find_all))
        .function("Regex.matches", simple!(regex_matches))
        .function("Regex.count", simple!(regex_count))
        .function("Regex.replace", simple!(regex_replace))
        .function("Regex.replace_with", regex_replace_with)
        .function("Regex.split", simple!(regex_split))
        .function("Regex.pattern", simple!(regex_pattern))
        .function("Regex.group_count", simple!(regex_group_count))
        .function("Regex.group_names", simple!(regex_group_names))
        .function("Match.text", simple!(match_text))
        .function("Match.start", simple!(match_start))
        .function("Match.end", simple!(match_end))
        .function("Match.group", simple!(match_group))
        .function("Match.named", simple!(match_named))
        .function("Match.groups", simple!(match_groups))
        .function("Match.named_groups", simple!(match_named_groups))
}

/// A compiled pattern, with its flags, and its anchored forms once `match` or `full_match`
/// needs them (`\A(?:...)`, `\A(?:...)\z`: the wrapper adds no group, so group numbers and
/// names stay the pattern's own).
pub struct RegexObj {
    re: regex::Regex,
    flags: (bool, bool, bool),
    at_start: std::cell::OnceCell<regex::Regex>,
    whole: std::cell::OnceCell<regex::Regex>,
}

impl RegexObj {
    fn anchored(&self, anchor: Anchor) -> Result<regex::Regex, VmError> {
        let (cell, wrap) = match anchor {
            Anchor::None => return Ok(self.re.clone()),
            Anchor::Start => (&self.at_start, format!("\\A(?:{})", self.re.as_str())),
            Anchor::Whole => (&self.whole, format!("\\A(?:{})\\z", self.re.as_str())),
        };
        if let Some(re) = cell.get() {
            return Ok(re.clone());
        }
        let (i, m, d) = self.flags;
        let re = build(&wrap, i, m, d)?;
        Ok(cell.get_or_init(|| re).clone())
    }
}

impl NativeObject for RegexObj {
    fn type_name(&self, _: &Program) -> String {
        "re.Regex".to_string()
    }
    fn kind(&self) -> &'static str {
        "Regex"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&format!("<re.Regex {}>", noodle_vm::fmt::str_repr(self.re.as_str())));
    }
}

/// One match: the text searched, the pattern (for group names), each group's byte span, and
/// the character index of the match's start.
pub struct MatchObj {
    subject: Rc<str>,
    re: regex::Regex,
    spans: Vec<Option<(usize, usize)>>,
    start: usize,
}

impl NativeObject for MatchObj {
    fn type_name(&self, _: &Program) -> String {
        "re.Match".to_string()
    }
    fn kind(&self) -> &'static str {
        "Match"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        let text = self.spans[0].map_or("", |(a, b)| &self.subject[a..b]);
        out.push_str(&format!("<re.Match {} at {}>", noodle_vm::fmt::str_repr(text), self.start));
    }
}

/// `pattern` compiled with the flags, or N2511 naming the column of the error.
fn build(pattern: &str, ignore_case: bool, multiline: bool, dot_all: bool) -> Result<regex::Regex, VmError> {
    regex::RegexBuilder::new(pattern).case_insensitive(ignore_case).multi_line(multiline).dot_matches_new_line(dot_all).build().map_err(|e| {
        // the syntax error's own position and kind, from the parser the crate uses
        let col = |offset: usize| pattern[..offset.min(pattern.len())].chars().count() + 1;
        let why = match regex_syntax::ParserBuilder::new().case_insensitive(ignore_case).multi_line(multiline).dot_matches_new_line(dot_all).build().parse(pattern) {
            Err(regex_syntax::Error::Parse(se)) => format!("column {}: {}", col(se.span().start.offset), se.kind()),
            Err(regex_syntax::Error::Translate(te)) => format!("column {}: {}", col(te.span().start.offset), te.kind()),
            Err(other) => other.to_string(),
            Ok(_) => match &e {
                regex::Error::CompiledTooBig(limit) => format!("its compiled form would be larger than {limit} bytes"),
                other => other.to_string().lines().last().unwrap_or("").trim_start_matches("error: ").to_string(),
            },
        };
        VmError::new(N2511, format!("invalid regular expression {}: {why}", noodle_vm::fmt::str_repr(pattern)))
    })
}

thread_local! {
    /// Patterns compiled for the module-level functions (`re.search(pattern, text)`), so a
    /// loop that calls one does not compile its pattern each time.
    static CACHE: std::cell::RefCell<std::collections::HashMap<String, regex::Regex>> = Default::default();
}

/// `pattern` compiled without flags, from the cache when it is there.
fn cached(pattern: &str) -> Result<regex::Regex, VmError> {
    if let Some(re) = CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return Ok(re);
    }
    let re = build(pattern, false, false, false)?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= 256 {
            c.clear();
        }
        c.insert(pattern.to_string(), re.clone());
    });
    Ok(re)
}

fn flag(v: Value) -> bool {
    matches!(v, Value::Bool(true))
}

fn re_compile(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 4, "re.compile")?;
    let flags = (flag(args[1]), flag(args[2]), flag(args[3]));
    let re = build(as_str(ctx.heap, args[0], "re.compile")?, flags.0, flags.1, flags.2)?;
    Ok(ctx.heap.alloc(Obj::Native(NativeBox::new(RegexObj { re, flags, at_start: Default::default(), whole: Default::default() }))))
}

fn re_escape(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "re.escape")?;
    let out = regex::escape(as_str(ctx.heap, args[0], "re.escape")?);
    str_value(ctx, &out, "the escaped text")
}

/// The regex of a method's receiver.
fn receiver_re(ctx: &Ctx, args: &[Value], name: &str) -> Result<regex::Regex, VmError> {
    Ok(noodle_native::receiver::<RegexObj>(ctx.heap, args, name)?.re.clone())
}

/// The text argument `i` as a shared string (no copy for a long one).
fn subject(ctx: &Ctx, args: &[Value], i: usize, name: &str) -> Result<Rc<str>, VmError> {
    match args.get(i) {
        Some(Value::Obj(r)) => match ctx.heap.get(*r) {
            Obj::Str(t) => Ok(t.to_rc()),
            _ => Err(noodle_native::bad(name)),
        },
        _ => Err(noodle_native::bad(name)),
    }
}

/// A `Match` for `caps` in `text`, whose start is character `start`.
fn match_value(ctx: &mut Ctx, re: &regex::Regex, text: &Rc<str>, caps: &regex::Captures, start: usize) -> Value {
    let spans = caps.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect();
    ctx.heap.alloc(Obj::Native(NativeBox::new(MatchObj { subject: text.clone(), re: re.clone(), spans, start })))
}

/// The first match of `re` in the text argument.
fn first_match(ctx: &mut Ctx, re: &regex::Regex, args: &[Value], i: usize, name: &str) -> R {
    let text = subject(ctx, args, i, name)?;
    let Some(caps) = re.captures(&text) else { return Ok(Value::None) };
    let start = text[..caps.get(0).map_or(0, |m| m.start())].chars().count();
    Ok(match_value(ctx, re, &text, &caps, start))
}

#[derive(Clone, Copy)]
enum Anchor {
    None,
    Start,
    Whole,
}

/// `search`, `match` and `full_match`: the first match of the receiver (anchored so).
fn method_match(ctx: &mut Ctx, args: &[Value], name: &str, anchor: Anchor) -> R {
    arity(args, 2, name)?;
    let re = noodle_native::receiver::<RegexObj>(ctx.heap, args, name)?.anchored(anchor)?;
    first_match(ctx, &re, args, 1, name)
}

fn regex_is_match(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "re.Regex.is_match")?;
    let re = receiver_re(ctx, args, "re.Regex.is_match")?;
    Ok(Value::Bool(re.is_match(as_str(ctx.heap, args[1], "re.Regex.is_match")?)))
}

fn regex_search(ctx: &mut Ctx, args: &[Value]) -> R {
    method_match(ctx, args, "re.Regex.search", Anchor::None)
}

fn regex_match(ctx: &mut Ctx, args: &[Value]) -> R {
    method_match(ctx, args, "re.Regex.match", Anchor::Start)
}

fn regex_full_match(ctx: &mut Ctx, args: &[Value]) -> R {
    method_match(ctx, args, "re.Regex.full_match", Anchor::Whole)
}

/// The text of every match of `re` in `text`, as a `list[str]`.
fn find_all(ctx: &mut Ctx, re: &regex::Regex, text: &str) -> R {
    let mut out = Vec::new();
    for m in re.find_iter(text) {
        out.push(str_value(ctx, m.as_str(), "a match")?);
    }
    Ok(ctx.heap.alloc(Obj::List(out.into())))
}

fn regex_find_all(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "re.Regex.find_all")?;
    let re = receiver_re(ctx, args, "re.Regex.find_all")?;
    let text = subject(ctx, args, 1, "re.Regex.find_all")?;
    find_all(ctx, &re, &text)
}

/// Every match of `re` in `text` as `Match` values, their character positions counted as the
/// search goes (once over the text in all), and each one's byte span.
fn all_matches(ctx: &mut Ctx, re: &regex::Regex, text: &Rc<str>) -> (Vec<Value>, Vec<(usize, usize)>) {
    let (mut out, mut spans) = (Vec::new(), Vec::new());
    let (mut byte, mut chr) = (0usize, 0usize);
    for caps in re.captures_iter(text) {
        let (s, e) = caps.get(0).map_or((0, 0), |m| (m.start(), m.end()));
        chr += text[byte..s].chars().count();
        byte = s;
        out.push(match_value(ctx, re, text, &caps, chr));
        spans.push((s, e));
    }
    (out, spans)
}

fn regex_matches(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "re.Regex.matches")?;
    let re = receiver_re(ctx, args, "re.Regex.matches")?;
    let text = subject(ctx, args, 1, "re.Regex.matches")?;
    let (out, _) = all_matches(ctx, &re, &text);
    Ok(ctx.heap.alloc(Obj::List(out.into())))
}

fn regex_count(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "re.Regex.count")?;
    let re = receiver_re(ctx, args, "re.Regex.count")?;
    Ok(Value::Int(re.find_iter(as_str(ctx.heap, args[1], "re.Regex.count")?).count() as i64))
}

/// N2011 when `template` names a group `re` does not have (`$9`, `${nope}`, or `$1x`, which
/// is the group named `1x`): the crate would put in nothing, silently.
fn check_template(re: &regex::Regex, template: &str) -> Result<(), VmError> {
    let b = template.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        i += 1;
        let (name, next) = match b.get(i) {
            Some(b'$') => {
                i += 1;
                continue;
            }
            Some(b'{') => match template[i + 1..].find('}') {
                Some(end) => (&template[i + 1..i + 1 + end], i + end + 2),
                None => continue,
            },
            _ => {
                let len = template[i..].bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'_').count();
                (&template[i..i + len], i + len)
            }
        };
        i = next;
        if name.is_empty() {
            continue;
        }
        let known = match name.parse::<usize>() {
            Ok(n) => n < re.captures_len(),
            Err(_) => re.capture_names().flatten().any(|n| n == name),
        };
        if !known {
            let hint = if name.starts_with(|c: char| c.is_ascii_digit()) && name.parse::<usize>().is_err() { format!(" (write `${{{}}}` for a group number followed by text)", name.trim_end_matches(|c: char| !c.is_ascii_digit())) } else { String::new() };
            return Err(VmError::arg(format!("re.Regex.replace: the template names group `{name}`, which the pattern does not have{hint}")));
        }
    }
    Ok(())
}

fn replace(ctx: &mut Ctx, re: &regex::Regex, text: &str, replacement: &str, count: i64) -> R {
    if count < 0 {
        return Err(VmError::arg(format!("re.Regex.replace: count cannot be negative ({count})")));
    }
    check_template(re, replacement)?;
    let out = re.replacen(text, count as usize, replacement);
    str_value(ctx, &out, "the replaced text")
}

fn regex_replace(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 4, "re.Regex.replace")?;
    let re = receiver_re(ctx, args, "re.Regex.replace")?;
    let count = as_int(args[3], "re.Regex.replace")?;
    let (text, rep) = (as_str(ctx.heap, args[1], "re.Regex.replace")?.to_string(), as_str(ctx.heap, args[2], "re.Regex.replace")?.to_string());
    replace(ctx, &re, &text, &rep, count)
}

/// `replace_with`: each match's `Match` is handed to `f` in turn (a call back into Noodle),
/// and the text is put together from the gaps and what `f` returned once the last returns.
fn regex_replace_with(ctx: &mut Ctx, args: &[Value]) -> Result<Value, Flow> {
    arity(args, 3, "re.Regex.replace_with")?;
    let re = receiver_re(ctx, args, "re.Regex.replace_with")?;
    let text = subject(ctx, args, 1, "re.Regex.replace_with")?;
    let (matches, spans) = all_matches(ctx, &re, &text);
    let f = args[2];
    let Some(first) = matches.first().copied() else { return Ok(str_value(ctx, &text, "the replaced text")?) };
    let k = ReplaceWith { text, spans, matches, f, out: String::new(), i: 0 };
    Err(ctx.call(f, &[first], Some(Box::new(k))))
}

struct ReplaceWith {
    text: Rc<str>,
    spans: Vec<(usize, usize)>,
    matches: Vec<Value>,
    f: Value,
    out: String,
    i: usize,
}

impl Continuation for ReplaceWith {
    fn resume(&mut self, ctx: &mut Ctx, result: Value) -> Result<Value, Flow> {
        let piece = as_str(ctx.heap, result, "re.Regex.replace_with")?;
        let from = if self.i == 0 { 0 } else { self.spans[self.i - 1].1 };
        self.out.push_str(&self.text[from..self.spans[self.i].0]);
        self.out.push_str(piece);
        self.i += 1;
        if let Some(next) = self.matches.get(self.i).copied() {
            return Err(ctx.call(self.f, &[next], None));
        }
        self.out.push_str(&self.text[self.spans[self.i - 1].1..]);
        Ok(str_value(ctx, &self.out, "the replaced text")?)
    }
    fn trace(&self, found: &mut dyn FnMut(Value)) {
        found(self.f);
        self.matches.iter().copied().for_each(found);
    }
}

fn split(ctx: &mut Ctx, re: &regex::Regex, text: &str, limit: Option<i64>) -> R {
    let parts: Vec<&str> = match limit {
        None => re.split(text).collect(),
        Some(n) if n >= 1 => re.splitn(text, n as usize).collect(),
        Some(n) => return Err(VmError::arg(format!("re.Regex.split: limit must be at least 1, not {n}"))),
    };
    let mut out = Vec::with_capacity(parts.len());
    for p in parts {
        out.push(str_value(ctx, p, "a part")?);
    }
    Ok(ctx.heap.alloc(Obj::List(out.into())))
}

fn regex_split(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "re.Regex.split")?;
    let re = receiver_re(ctx, args, "re.Regex.split")?;
    let limit = match args[2] {
        Value::None => None,
        v => Some(as_int(v, "re.Regex.split")?),
    };
    let text = subject(ctx, args, 1, "re.Regex.split")?;
    split(ctx, &re, &text, limit)
}

fn regex_pattern(ctx: &mut Ctx, args: &[Value]) -> R {
    let re = receiver_re(ctx, args, "re.Regex.pattern")?;
    str_value(ctx, re.as_str(), "the pattern")
}

fn regex_group_count(ctx: &mut Ctx, args: &[Value]) -> R {
    let re = receiver_re(ctx, args, "re.Regex.group_count")?;
    Ok(Value::Int(re.captures_len() as i64 - 1))
}

fn regex_group_names(ctx: &mut Ctx, args: &[Value]) -> R {
    let re = receiver_re(ctx, args, "re.Regex.group_names")?;
    let names: Vec<Value> = re.capture_names().flatten().map(|n| ctx.heap.alloc_str(n)).collect();
    Ok(ctx.heap.alloc(Obj::List(names.into())))
}

// ---- the module-level shortcuts: a cached pattern, then the method ----

fn re_is_match(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "re.is_match")?;
    let re = cached(as_str(ctx.heap, args[0], "re.is_match")?)?;
    Ok(Value::Bool(re.is_match(as_str(ctx.heap, args[1], "re.is_match")?)))
}

fn re_search(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "re.search")?;
    let re = cached(as_str(ctx.heap, args[0], "re.search")?)?;
    first_match(ctx, &re, args, 1, "re.search")
}

fn re_find_all(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "re.find_all")?;
    let re = cached(as_str(ctx.heap, args[0], "re.find_all")?)?;
    let text = subject(ctx, args, 1, "re.find_all")?;
    find_all(ctx, &re, &text)
}

fn re_replace(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "re.replace")?;
    let re = cached(as_str(ctx.heap, args[0], "re.replace")?)?;
    let (text, rep) = (as_str(ctx.heap, args[1], "re.replace")?.to_string(), as_str(ctx.heap, args[2], "re.replace")?.to_string());
    replace(ctx, &re, &text, &rep, 0)
}

fn re_split(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "re.split")?;
    let re = cached(as_str(ctx.heap, args[0], "re.split")?)?;
    let text = subject(ctx, args, 1, "re.split")?;
    split(ctx, &re, &text, None)
}

// ---- Match ----

fn the_match<'h>(ctx: &'h Ctx, args: &[Value], name: &str) -> Result<&'h MatchObj, VmError> {
    noodle_native::receiver::<MatchObj>(ctx.heap, args, name)
}

/// Group `i`'s text, or `none`.
fn group_value(ctx: &mut Ctx, args: &[Value], i: usize, name: &str) -> R {
    let m = the_match(ctx, args, name)?;
    let Some(Some((a, b))) = m.spans.get(i).copied() else {
        return if i < m.spans.len() { Ok(Value::None) } else { Err(VmError::arg(format!("{name}: the pattern has no group {i} (it has {})", m.spans.len() - 1))) };
    };
    let s = m.subject.clone();
    str_value(ctx, &s[a..b], "a group")
}

fn match_text(ctx: &mut Ctx, args: &[Value]) -> R {
    group_value(ctx, args, 0, "re.Match.text")
}

fn match_start(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Int(the_match(ctx, args, "re.Match.start")?.start as i64))
}

fn match_end(ctx: &mut Ctx, args: &[Value]) -> R {
    let m = the_match(ctx, args, "re.Match.end")?;
    let len = m.spans[0].map_or(0, |(a, b)| m.subject[a..b].chars().count());
    Ok(Value::Int((m.start + len) as i64))
}

fn match_group(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "re.Match.group")?;
    let i = as_int(args[1], "re.Match.group")?;
    let i = usize::try_from(i).map_err(|_| VmError::arg(format!("re.Match.group: no group {i}")))?;
    group_value(ctx, args, i, "re.Match.group")
}

fn match_named(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "re.Match.named")?;
    let name = as_str(ctx.heap, args[1], "re.Match.named")?;
    let m = the_match(ctx, args, "re.Match.named")?;
    let Some(i) = m.re.capture_names().position(|n| n == Some(name)) else {
        let names: Vec<String> = m.re.capture_names().flatten().map(|n| format!("`{n}`")).collect();
        let has = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        return Err(VmError::arg(format!("re.Match.named: the pattern has no group named `{name}` (its named groups: {has})")));
    };
    group_value(ctx, args, i, "re.Match.named")
}

fn match_groups(ctx: &mut Ctx, args: &[Value]) -> R {
    let n = the_match(ctx, args, "re.Match.groups")?.spans.len();
    let mut out = Vec::with_capacity(n.saturating_sub(1));
    for i in 1..n {
        out.push(group_value(ctx, args, i, "re.Match.groups")?);
    }
    Ok(ctx.heap.alloc(Obj::List(out.into())))
}

fn match_named_groups(ctx: &mut Ctx, args: &[Value]) -> R {
    let m = the_match(ctx, args, "re.Match.named_groups")?;
    let names: Vec<(usize, String)> = m.re.capture_names().enumerate().filter_map(|(i, n)| n.map(|n| (i, n.to_string()))).collect();
    let mut map = indexmap::IndexMap::new();
    for (i, n) in names {
        let v = group_value(ctx, args, i, "re.Match.named_groups")?;
        map.insert(n, v);
    }
    Ok(noodle_native::IntoValue::into_value(map, ctx.heap, ctx.program))
}
