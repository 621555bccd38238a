//! `std.json`: JSON text to Noodle values and back.
//!
//! The parser builds VM values directly from the text (no intermediate tree), so a document
//! costs its values and nothing more: objects become `dict[str, any]` in their key order,
//! arrays `list[any]` (unboxed when all ints, floats or bools), integers `int`, other numbers
//! `float`. Both directions stop at `MAX_DEPTH` levels of nesting, which also catches a value
//! that contains itself.

use crate::codes::{N2501, N2502, N2508};
use noodle_native::shape::{DescribeTypes, Literal, Shape, TypeDesc};
use noodle_native::{arity, simple, Ctx, Heap, Module, Obj, Value, VmError};
use noodle_nbc::Program;
use noodle_vm::value::{Dict, DictMap, Key, Text};

mod stream;

type R = Result<Value, VmError>;

/// Arrays and objects nested deeper than this are refused (parsing and encoding alike).
pub const MAX_DEPTH: usize = 1000;

/// The `std.json` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.json", include_str!("json.noodle"))
        .function("parse", simple!(json_parse))
        .function("decode", simple!(json_decode))
        .rule("decode", DescribeTypes)
        .function("encode", simple!(json_encode))
        .function("pretty", simple!(json_pretty))
        .function("read_array", noodle_native::blocking!(stream::read_array))
        .function("ArrayReader.__next__", noodle_native::blocking!(stream::reader_for_next))
        .function("ArrayReader.next", noodle_native::blocking!(stream::reader_next))
        .function("ArrayReader.has_next", noodle_native::blocking!(stream::reader_has_next))
        .function("ArrayReader.next_text", noodle_native::blocking!(stream::reader_next_text))
        .function("ArrayReader.count", simple!(stream::reader_count))
        .function("ArrayReader.close", simple!(stream::reader_close))
        .function("ArrayReader.exit", simple!(stream::reader_close))
}

/// Parses the whole of `text` (UTF-8) as one JSON value, `at` saying where it starts.
pub(crate) fn parse_text(heap: &mut Heap, text: &[u8], at: Origin) -> R {
    let mut p = Parser { s: text, i: 0, heap, depth: 0, vals: Vec::new(), keys: Vec::new(), at };
    p.skip_ws();
    let v = p.value()?;
    p.skip_ws();
    if p.i < p.s.len() {
        return Err(p.error("extra text after the JSON value"));
    }
    Ok(v)
}

fn json_parse(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "json.parse")?;
    // the text is read while values are made on the same heap: its buffer, shared
    let text = match args[0] {
        Value::Obj(r) => match ctx.heap.get(r) {
            Obj::Str(t) => t.clone(),
            _ => return Err(noodle_native::bad("json.parse")),
        },
        _ => return Err(noodle_native::bad("json.parse")),
    };
    parse_text(ctx.heap, text.as_str().as_bytes(), Origin::default())
}

/// `decode[T](text)`: the text parsed as `parse` does, then built into a `T` (its description
/// is argument 1) by `Builder`. Building makes new containers (a parsed list is `list[any]`,
/// which a `list[int]` must not be) and reuses strings.
fn json_decode(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "json.decode")?;
    let desc = TypeDesc::arg(ctx.heap, ctx.program, args, 1, "json.decode")?;
    let v = json_parse(ctx, &args[..1])?;
    let report = |desc: &TypeDesc, program: &Program, path: &[Seg<'static>], what: String| {
        VmError::new(N2508, format!("JSON does not match `{}`: {}: {what}", desc.show(&desc.root, program), show_path(path)))
    };
    let mut b = Builder { heap: ctx.heap, program: ctx.program, desc: &desc, path: Vec::new(), report: &report, strict: false };
    b.build(&desc.root, v)
}

/// How a `Builder` reports a mismatch: from the type built, the path to the value and what is
/// wrong there (N2508 for `json.decode`; `std.config` names the file the value came from).
pub(crate) type Report<'a> = &'a dyn Fn(&TypeDesc, &Program, &[Seg<'static>], String) -> VmError;

/// Builds a value of a described type from a parsed JSON value (or any value made of dicts
/// with string keys, lists and scalars), keeping the path to the value being built for the
/// first mismatch's message.
pub(crate) struct Builder<'a> {
    pub heap: &'a mut Heap,
    pub program: &'a Program,
    pub desc: &'a TypeDesc,
    pub path: Vec<Seg<'static>>,
    pub report: Report<'a>,
    /// Settings files (`std.config`): a member a struct does not have is an error, and an
    /// enum's variant may be named in any case. JSON ignores extra members, and names exactly.
    pub strict: bool,
}

impl Builder<'_> {
    /// The mismatch at the current path, as `report` words it.
    fn error(&self, what: String) -> VmError {
        (self.report)(self.desc, self.program, &self.path, what)
    }

    /// What a parsed value is, in JSON's terms.
    fn found(&self, v: Value) -> String {
        match v {
            Value::None => "null".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Obj(r) => match self.heap.get(r) {
                Obj::Str(_) => "str".into(),
                Obj::List(_) => "an array".into(),
                Obj::Dict(_) => "an object".into(),
                _ => "a value".into(),
            },
            _ => "a value".into(),
        }
    }

    fn mismatch(&self, s: &Shape, v: Value) -> VmError {
        self.error(format!("expected {}, found {}", self.desc.show(s, self.program), self.found(v)))
    }

    pub fn build(&mut self, s: &Shape, v: Value) -> R {
        let ok = match (s, v) {
            (Shape::Any, _) | (Shape::Int, Value::Int(_)) | (Shape::Float, Value::Float(_)) | (Shape::Bool, Value::Bool(_)) | (Shape::None, Value::None) => true,
            (Shape::Optional(_), Value::None) => true,
            (Shape::Float, Value::Int(i)) => return Ok(Value::Float(i as f64)),
            (Shape::Optional(x), _) => return self.build(x, v),
            (Shape::Str, Value::Obj(r)) => matches!(self.heap.get(r), Obj::Str(_)),
            _ => false,
        };
        if ok {
            return Ok(v);
        }
        let Value::Obj(r) = v else { return Err(self.mismatch(s, v)) };
        match (s, self.heap.get(r)) {
            (Shape::List(e), Obj::List(l)) => {
                let items = l.to_vec();
                let out = self.elements(e, &items)?;
                Ok(self.container(Obj::List(out.into()), s))
            }
            (Shape::Tuple(es), Obj::List(l)) => {
                if l.len() != es.len() {
                    let n = l.len();
                    return Err(self.error(format!("expected {} (an array of {} elements), found an array of {n}", self.desc.show(s, self.program), es.len())));
                }
                let items = l.to_vec();
                let mut out = noodle_vm::value::Fields::new();
                for (i, (e, x)) in es.iter().zip(items).enumerate() {
                    self.path.push(Seg::Index(i));
                    out.push(self.build(e, x)?);
                    self.path.pop();
                }
                Ok(self.heap.alloc(Obj::Tuple(out)))
            }
            (Shape::Set(e), Obj::List(l)) => {
                let items = l.to_vec();
                let out = self.elements(e, &items)?;
                let mut set = noodle_vm::value::SetMap::default();
                for x in out {
                    let image = noodle_vm::ops::key_of(self.heap, self.program, x);
                    set.entry(image).or_insert(x);
                }
                Ok(self.container(Obj::Set(Box::new(set)), s))
            }
            (Shape::Dict(ks, vs), Obj::Dict(d)) => {
                let entries: Vec<(Text, Value)> = d.iter().filter_map(|(k, (_, v))| if let Key::Str(t) = k { Some((t.clone(), *v)) } else { None }).collect();
                let mut out = Dict::default();
                for (k, x) in entries {
                    self.path.push(Seg::Key(k.as_str().to_string().into()));
                    let key = self.key(ks, &k)?;
                    let val = self.build(vs, x)?;
                    self.path.pop();
                    let image = noodle_vm::ops::key_of(self.heap, self.program, key);
                    let stored = noodle_vm::ops::stored_dict_key(&image, key);
                    out.insert(image, (stored, val));
                }
                Ok(self.container(Obj::Dict(Box::new(out)), s))
            }
            (Shape::Record(k), Obj::Dict(d)) => {
                let desc = self.desc;
                let rec = &desc.records[*k];
                let names = &self.program.types[rec.ty as usize].fields;
                let given: Vec<Option<Value>> = names.iter().map(|n| d.get(&Key::Str(Text::from(n.as_str()))).map(|(_, v)| *v)).collect();
                if self.strict {
                    let extra = d.keys().find_map(|k| match k {
                        Key::Str(t) if !names.iter().any(|n| n == t.as_str()) => Some(t.as_str().to_string()),
                        _ => None,
                    });
                    if let Some(extra) = extra {
                        let near = crate::config::closest(&extra, names.iter().map(String::as_str)).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
                        return Err(self.error(format!("unknown setting `{extra}` in `{}`{near}", desc.show(&Shape::Record(*k), self.program))));
                    }
                }
                let mut fields = noodle_vm::value::Fields::new();
                for (i, ((fs, default), x)) in rec.fields.iter().zip(given).enumerate() {
                    let name = &self.program.types[rec.ty as usize].fields[i];
                    let v = match (x, default) {
                        (Some(x), _) => {
                            self.path.push(Seg::Key(name.clone().into()));
                            let v = self.build(fs, x)?;
                            self.path.pop();
                            v
                        }
                        (None, None) if matches!(fs, Shape::Optional(_) | Shape::None | Shape::Any) => Value::None,
                        (None, lit) => match lit.as_ref().and_then(|l| desc.default_value(self.heap, l, fs)) {
                            Some(v) => v,
                            None => {
                                let why = match lit {
                                    Some(Literal::Fresh) => "; its default struct has a field without a literal default, so decoding cannot make it",
                                    Some(_) => "; its default is not a literal, so decoding cannot use it",
                                    None => "",
                                };
                                return Err(self.error(format!("missing field `{name}` (of `{}`){why}", desc.show(&Shape::Record(*k), self.program))));
                            }
                        },
                    };
                    fields.push(v);
                }
                Ok(self.heap.alloc(Obj::Record { ty: rec.ty, fields }))
            }
            (Shape::Enum(vs), Obj::Str(t)) => {
                let name = t.as_str().to_string();
                let found = match self.strict {
                    true => crate::config::variant_loosely(self.heap, self.program, vs, &name),
                    false => noodle_native::shape::variant_named(self.heap, self.program, vs, &name),
                };
                found.ok_or_else(|| {
                    let names: Vec<&str> = vs.iter().map(|ty| self.program.types[*ty as usize].name.as_str()).collect();
                    self.error(format!("expected {} (one of {}), found {}", self.desc.show(s, self.program), names.join(", "), noodle_vm::fmt::str_repr(&name)))
                })
            }
            _ => Err(self.mismatch(s, v)),
        }
    }

    fn elements(&mut self, e: &Shape, items: &[Value]) -> Result<Vec<Value>, VmError> {
        let mut out = Vec::with_capacity(items.len());
        for (i, x) in items.iter().enumerate() {
            self.path.push(Seg::Index(i));
            out.push(self.build(e, *x)?);
            self.path.pop();
        }
        Ok(out)
    }

    /// A new container of shape `s` (made as `list[any]`, ... when `s` says so).
    fn container(&mut self, obj: Obj, s: &Shape) -> Value {
        let r = self.heap.alloc_ref(obj);
        if s.is_dynamic() {
            self.heap.set_dynamic(r);
        }
        Value::Obj(r)
    }

    /// An object's key, read as a dict key of shape `s` (JSON keys are strings; `encode`
    /// writes int and bool keys as their text).
    fn key(&mut self, s: &Shape, k: &Text) -> R {
        let t = k.as_str();
        let v = match s {
            Shape::Str | Shape::Any => Some(self.heap.alloc_str(t.to_string())),
            Shape::Int => t.parse().ok().map(Value::Int),
            Shape::Float => t.parse().ok().map(Value::Float),
            Shape::Bool => match t {
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => None,
            },
            Shape::Optional(x) => return self.key(x, k),
            Shape::Enum(_) => {
                let v = self.heap.alloc_str(t.to_string());
                return self.build(s, v);
            }
            _ => None,
        };
        v.ok_or_else(|| self.error(format!("the key {} cannot be read as {}", noodle_vm::fmt::str_repr(t), self.desc.show(s, self.program))))
    }
}

/// A path as messages show it: `$.servers[2].port`, its two ends when it is long.
pub(crate) fn show_path(path: &[Seg]) -> String {
    let seg = |s: &Seg| match s {
        Seg::Index(i) => format!("[{i}]"),
        Seg::Key(k) if k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => format!(".{k}"),
        Seg::Key(k) => format!("[{}]", noodle_vm::fmt::str_repr(k)),
    };
    let n = path.len();
    let shown: String = if n > 12 {
        let head: String = path[..6].iter().map(seg).collect();
        let tail: String = path[n - 6..].iter().map(seg).collect();
        format!("{head}...{tail}")
    } else {
        path.iter().map(seg).collect()
    };
    format!("${shown}")
}

struct Parser<'a> {
    /// The text: valid UTF-8 (it is a string's), so a slice between two ASCII bytes is too.
    s: &'a [u8],
    i: usize,
    heap: &'a mut Heap,
    depth: usize,
    /// The elements (members' values) of the arrays and objects being read, innermost last: one
    /// stack for all levels, so each container is allocated once, at its exact size.
    vals: Vec<Value>,
    /// The keys of the objects being read, as `vals`.
    keys: Vec<Text>,
    /// Where the text starts in a larger one (an element of a streamed array), for messages.
    at: Origin,
}

/// Where a parsed text starts in its file: lines before it, characters before it on its first
/// line, and the file's name (none for `parse`'s string).
#[derive(Default, Clone)]
pub(crate) struct Origin {
    pub lines: usize,
    pub columns: usize,
    pub file: Option<String>,
}

impl Parser<'_> {
    /// N2501 at the current position: line and column (in characters, from 1).
    fn error(&self, what: &str) -> VmError {
        let at = self.i.min(self.s.len());
        let before = &self.s[..at];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
        let mut col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        if line == 1 {
            col += self.at.columns;
        }
        let line = line + self.at.lines;
        match &self.at.file {
            Some(f) => VmError::new(N2501, format!("{f}: malformed JSON at line {line}, column {col}: {what}")),
            None => VmError::new(N2501, format!("malformed JSON at line {line}, column {col}: {what}")),
        }
    }

    /// A container made as `list[any]` or `dict[any, any]`: the program may store any value
    /// in it (see `Heap::set_dynamic`).
    fn dynamic(&mut self, obj: Obj) -> Value {
        let r = self.heap.alloc_ref(obj);
        self.heap.set_dynamic(r);
        Value::Obj(r)
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    fn value(&mut self) -> R {
        match self.s.get(self.i) {
            None => Err(self.error("the text ends where a value was expected")),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => {
                let s = self.string()?;
                Ok(self.heap.alloc_str(s))
            }
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::None),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error(&format!("expected a value, found {}", self.found()))),
        }
    }

    /// What is at the current position, for an error message.
    fn found(&self) -> String {
        match String::from_utf8_lossy(&self.s[self.i..(self.i + 4).min(self.s.len())]).chars().next().filter(|c| *c != char::REPLACEMENT_CHARACTER) {
            Some(c) if c.is_control() => format!("{:?}", c),
            Some(c) => format!("`{c}`"),
            None if self.i >= self.s.len() => "the end of the text".to_string(),
            None => "a broken character".to_string(),
        }
    }

    fn word(&mut self, w: &str, v: Value) -> R {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            let found: String = self.s[self.i..].iter().take_while(|b| b.is_ascii_alphanumeric()).take(20).map(|b| *b as char).collect();
            Err(self.error(&format!("expected `{w}`, found `{found}`")))
        }
    }

    fn enter(&mut self) -> Result<(), VmError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(&format!("arrays and objects nested more than {MAX_DEPTH} levels deep")));
        }
        self.i += 1;
        self.skip_ws();
        Ok(())
    }

    fn array(&mut self) -> R {
        self.enter()?;
        let start = self.vals.len();
        if self.s.get(self.i) == Some(&b']') {
            self.i += 1;
        } else {
            loop {
                let v = self.value()?;
                self.vals.push(v);
                if self.end_of(b']', "an array element")? {
                    break;
                }
            }
        }
        self.depth -= 1;
        let items: Vec<Value> = self.vals.drain(start..).collect();
        Ok(self.dynamic(Obj::List(items.into())))
    }

    fn object(&mut self) -> R {
        self.enter()?;
        let start = self.keys.len();
        if self.s.get(self.i) == Some(&b'}') {
            self.i += 1;
        } else {
            loop {
                if self.s.get(self.i) != Some(&b'"') {
                    return Err(self.error(&format!("expected a string (an object's key), found {}", self.found())));
                }
                let key = self.string()?;
                self.skip_ws();
                if self.s.get(self.i) != Some(&b':') {
                    return Err(self.error(&format!("expected `:` after an object's key, found {}", self.found())));
                }
                self.i += 1;
                self.skip_ws();
                let v = self.value()?;
                self.keys.push(key);
                self.vals.push(v);
                if self.end_of(b'}', "an object member")? {
                    break;
                }
            }
        }
        self.depth -= 1;
        let n = self.keys.len() - start;
        let mut map = DictMap::with_capacity_and_hasher(n, Default::default());
        let vstart = self.vals.len() - n;
        for (k, v) in self.keys.drain(start..).zip(self.vals.drain(vstart..)) {
            // a key given twice keeps its first place and its last value (as Python's)
            map.insert(Key::Str(k), (Value::Undef, v));
        }
        Ok(self.dynamic(Obj::Dict(Box::new(Dict::from(map)))))
    }

    /// After an element of an array or object: a `,` (false: another follows) or the closing
    /// `close` (true), each consumed with the space after it.
    fn end_of(&mut self, close: u8, what: &str) -> Result<bool, VmError> {
        self.skip_ws();
        match self.s.get(self.i) {
            Some(b',') => {
                self.i += 1;
                self.skip_ws();
                Ok(false)
            }
            Some(&c) if c == close => {
                self.i += 1;
                Ok(true)
            }
            _ => Err(self.error(&format!("expected `,` or `{}` after {what}, found {}", close as char, self.found()))),
        }
    }

    /// The text between two positions of ASCII bytes (quotes, escapes).
    fn text(&self, from: usize, to: usize) -> &str {
        // SAFETY: `s` is valid UTF-8 and `from` and `to` are at ASCII bytes (or its ends), so
        // they are character boundaries and the slice is valid UTF-8 too
        unsafe { std::str::from_utf8_unchecked(&self.s[from..to]) }
    }

    /// A string literal, the position on its opening quote.
    fn string(&mut self) -> Result<Text, VmError> {
        self.i += 1;
        let start = self.i;
        // the common case: no escapes, one slice of the text
        while let Some(&b) = self.s.get(self.i) {
            match b {
                b'"' => {
                    let t = Text::from(self.text(start, self.i));
                    self.i += 1;
                    return Ok(t);
                }
                b'\\' => break,
                0..=0x1f => return Err(self.error(&format!("a control character ({}) in a string: write it as an escape", self.found()))),
                _ => self.i += 1,
            }
        }
        let mut out: Vec<u8> = self.s[start..self.i].to_vec();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                self.i = start - 1;
                return Err(self.error("a string that is never closed"));
            };
            match b {
                b'"' => {
                    self.i += 1;
                    let s = String::from_utf8(out).map_err(|_| self.error("invalid UTF-8"))?;
                    return Ok(Text::from(s));
                }
                b'\\' => {
                    let esc = self.s.get(self.i + 1).copied();
                    let c = match esc {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let c = self.unicode_escape()?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                            continue;
                        }
                        _ => {
                            self.i += 1;
                            return Err(self.error(&format!("`\\{}` is not an escape (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)", self.found().trim_matches('`'))));
                        }
                    };
                    out.push(c as u8);
                    self.i += 2;
                }
                0..=0x1f => return Err(self.error(&format!("a control character ({}) in a string: write it as an escape", self.found()))),
                _ => {
                    out.push(b);
                    self.i += 1;
                }
            }
        }
    }

    /// `\uXXXX` (a pair of them for a character beyond the Basic Multilingual Plane), the
    /// position on the backslash; leaves the position after it.
    fn unicode_escape(&mut self) -> Result<char, VmError> {
        let hex4 = |p: &mut Parser, at: usize| -> Result<u32, VmError> {
            let digits = p.s.get(at..at + 4).and_then(|d| std::str::from_utf8(d).ok()).filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()));
            match digits {
                Some(d) => Ok(u32::from_str_radix(d, 16).unwrap_or(0)),
                None => {
                    p.i = at;
                    Err(p.error("`\\u` needs four hex digits"))
                }
            }
        };
        let hi = hex4(self, self.i + 2)?;
        self.i += 6;
        if (0xD800..0xDC00).contains(&hi) {
            if self.s.get(self.i..self.i + 2) == Some(b"\\u") {
                let lo = hex4(self, self.i + 2)?;
                if (0xDC00..0xE000).contains(&lo) {
                    self.i += 6;
                    let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                    return char::from_u32(c).ok_or_else(|| self.error("an invalid character escape"));
                }
            }
            self.i -= 6;
            return Err(self.error(&format!("`\\u{hi:04x}` is half of a surrogate pair without its other half")));
        }
        if (0xDC00..0xE000).contains(&hi) {
            self.i -= 6;
            return Err(self.error(&format!("`\\u{hi:04x}` is half of a surrogate pair without its other half")));
        }
        char::from_u32(hi).ok_or_else(|| self.error("an invalid character escape"))
    }

    fn number(&mut self) -> R {
        let start = self.i;
        let digits = |p: &mut Parser| {
            let from = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i - from
        };
        if self.s[self.i] == b'-' {
            self.i += 1;
        }
        let int_start = self.i;
        let n = digits(self);
        if n == 0 {
            return Err(self.error(&format!("expected a digit, found {}", self.found())));
        }
        if n > 1 && self.s[int_start] == b'0' {
            self.i = int_start;
            return Err(self.error("a number cannot start with 0 (JSON has no octal)"));
        }
        let mut float = false;
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            float = true;
            if digits(self) == 0 {
                return Err(self.error(&format!("expected a digit after `.`, found {}", self.found())));
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            float = true;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.error(&format!("expected a digit in the exponent, found {}", self.found())));
            }
        }
        // only ASCII digits, signs, `.` and `e` were consumed
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("");
        if float {
            return match text.parse::<f64>() {
                Ok(f) if f.is_finite() => Ok(Value::Float(f)),
                Ok(_) => Err(self.error(&format!("the number {text} is out of range for float (64 bits); write it as a string"))),
                Err(_) => Err(self.error("an invalid number")),
            };
        }
        match text.parse::<i64>() {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => {
                self.i = start;
                Err(self.error(&format!("the integer {text} is out of range for int (64 bits); write it as a string, or with a fraction to read it as a float")))
            }
        }
    }
}

fn json_encode(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "json.encode")?;
    let indent = match args[1] {
        Value::None => None,
        Value::Int(n) if (0..=16).contains(&n) => Some(n as usize),
        Value::Int(n) => return Err(VmError::arg(format!("indent {n} is out of range (0 to 16 spaces)"))),
        _ => return Err(noodle_native::bad("json.encode")),
    };
    let sort_keys = matches!(args[2], Value::Bool(true));
    encode_value(ctx, args[0], indent, sort_keys)
}

fn json_pretty(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "json.pretty")?;
    encode_value(ctx, args[0], Some(2), false)
}

fn encode_value(ctx: &mut Ctx, v: Value, indent: Option<usize>, sort_keys: bool) -> R {
    let out = encode_text(ctx.heap, ctx.program, v, indent, sort_keys)?;
    Ok(ctx.heap.alloc_str(out))
}

/// `v` as JSON text (also for `std.log`'s JSON lines).
pub(crate) fn encode_text(heap: &Heap, program: &Program, v: Value, indent: Option<usize>, sort_keys: bool) -> Result<String, VmError> {
    let mut e = Encoder { heap, program, out: String::new(), indent, sort_keys, path: Vec::new() };
    e.value(v)?;
    Ok(e.out)
}

/// One step of the path to the value being written: an element's index or a member's key.
pub(crate) enum Seg<'h> {
    Index(usize),
    Key(std::borrow::Cow<'h, str>),
}

/// Writes values as JSON text. It walks the heap without copying what it visits: lists and
/// dicts are read in place, keys and field names borrowed; the path is kept as indices and
/// borrowed keys, and made into text only for an error.
struct Encoder<'h> {
    heap: &'h Heap,
    program: &'h Program,
    out: String,
    indent: Option<usize>,
    sort_keys: bool,
    /// Where the value being written is, for an error's message (its length is the depth).
    path: Vec<Seg<'h>>,
}

impl<'h> Encoder<'h> {
    /// N2502: `what` cannot be written, at the current path; `hint` says what to do instead.
    fn error(&self, what: &str, hint: &str) -> VmError {
        let hint = if hint.is_empty() { String::new() } else { format!("; {hint}") };
        VmError::new(N2502, format!("cannot encode {what} as JSON (at {}){hint}", show_path(&self.path)))
    }

    fn newline(&mut self) {
        if let Some(n) = self.indent {
            self.out.push('\n');
            for _ in 0..n * self.path.len() {
                self.out.push(' ');
            }
        }
    }

    fn value(&mut self, v: Value) -> Result<(), VmError> {
        match v {
            Value::None => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if b { "true" } else { "false" }),
            Value::Int(i) => push_int(&mut self.out, i),
            Value::Float(f) if f.is_finite() => noodle_vm::fmt::push_float_repr(&mut self.out, f),
            Value::Float(f) => return Err(self.error(&format!("the float {}", noodle_vm::fmt::float_repr(f)), "JSON numbers are finite (write `none` or a string instead)")),
            Value::Func(_) => return Err(self.error("a function", "")),
            Value::Undef => return Err(noodle_native::bad("json.encode")),
            Value::Obj(r) => {
                if self.path.len() >= MAX_DEPTH {
                    return Err(self.error(&format!("a value nested more than {MAX_DEPTH} levels deep"), "a list, dict or struct that contains itself is nested without end"));
                }
                let heap = self.heap;
                match heap.get(r) {
                    Obj::Str(s) => push_string(&mut self.out, s.as_str()),
                    Obj::List(l) => self.array(l.len(), |i| l.get(i).unwrap_or(Value::None))?,
                    Obj::Tuple(items) => self.array(items.len(), |i| items[i])?,
                    Obj::Set(s) => self.array(s.len(), |i| s.get_index(i).map_or(Value::None, |(_, v)| *v))?,
                    Obj::Dict(d) => {
                        let mut members = Vec::with_capacity(d.len());
                        for (image, (stored, v)) in d.iter() {
                            let key: std::borrow::Cow<'h, str> = match (image, stored) {
                                (Key::Str(s), _) => s.as_str().into(),
                                (_, Value::Int(i)) => i.to_string().into(),
                                (_, Value::Bool(b)) => b.to_string().into(),
                                (_, k) => {
                                    let shown = noodle_vm::fmt::display(self.heap, self.program, *k);
                                    return Err(self.error(&format!("the dict key {shown}"), "object keys are strings (int and bool keys are written as their text)"));
                                }
                            };
                            members.push((key, *v));
                        }
                        self.object(members)?;
                    }
                    Obj::Record { ty, fields } => {
                        let program = self.program;
                        let Some(t) = program.types.get(*ty as usize) else { return Err(noodle_native::bad("json.encode")) };
                        if let Some(e) = &t.enum_name {
                            if !fields.is_empty() {
                                return Err(self.error(&format!("the enum value {e}.{}", t.name), "only variants without fields are written (as their name): convert it to a struct or dict first"));
                            }
                            push_string(&mut self.out, &t.name);
                            return Ok(());
                        }
                        // fields named `$...` are the runtime's own (an `Error`'s thrown value)
                        let members: Vec<(std::borrow::Cow<'h, str>, Value)> = t.fields.iter().zip(fields.iter()).filter(|(n, _)| !n.starts_with('$')).map(|(n, v)| (n.as_str().into(), *v)).collect();
                        self.object(members)?;
                    }
                    Obj::Bytes(_) => return Err(self.error("bytes", "encode them as text first, for example with `b.hex()`")),
                    Obj::Closure { .. } => return Err(self.error("a function", "")),
                    Obj::Cell(_) => return Err(noodle_native::bad("json.encode")),
                    Obj::Native(n) => return Err(self.error(&format!("a {}", n.type_name(self.program)), "convert it first (a tensor with `to_list()`)")),
                }
            }
        }
        Ok(())
    }

    /// An array of `n` elements, element `i` given by `at(i)`.
    fn array(&mut self, n: usize, at: impl Fn(usize) -> Value) -> Result<(), VmError> {
        if n == 0 {
            self.out.push_str("[]");
            return Ok(());
        }
        self.out.push('[');
        for i in 0..n {
            if i > 0 {
                self.out.push(',');
            }
            self.path.push(Seg::Index(i));
            self.newline();
            self.value(at(i))?;
            self.path.pop();
        }
        self.newline();
        self.out.push(']');
        Ok(())
    }

    fn object(&mut self, mut members: Vec<(std::borrow::Cow<'h, str>, Value)>) -> Result<(), VmError> {
        if members.is_empty() {
            self.out.push_str("{}");
            return Ok(());
        }
        if self.sort_keys {
            members.sort_by(|a, b| a.0.cmp(&b.0));
        }
        self.out.push('{');
        for (i, (k, v)) in members.into_iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            self.path.push(Seg::Key(k));
            self.newline();
            if let Some(Seg::Key(k)) = self.path.last() {
                push_string(&mut self.out, k);
            }
            self.out.push(':');
            if self.indent.is_some() {
                self.out.push(' ');
            }
            self.value(v)?;
            self.path.pop();
        }
        self.newline();
        self.out.push('}');
        Ok(())
    }
}

/// `i` in decimal, without going through the formatting machinery.
fn push_int(out: &mut String, i: i64) {
    let mut buf = [0u8; 20];
    let mut n = i.unsigned_abs();
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if i < 0 {
        out.push('-');
    }
    // only ASCII digits were written
    out.push_str(std::str::from_utf8(&buf[at..]).unwrap_or(""));
}

/// `s` as a JSON string: quotes, and escapes for `"`, `\` and control characters; the rest as
/// UTF-8.
pub(crate) fn push_string(out: &mut String, s: &str) {
    out.push('"');
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let esc = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        if esc.is_empty() {
            use std::fmt::Write;
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(esc);
        }
        from = i + 1;
    }
    out.push_str(&s[from..]);
    out.push('"');
}
