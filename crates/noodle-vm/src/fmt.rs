//! Printing values: `display` (what `print` and `str()` show), `repr` (quoted strings, used
//! inside collections and by the REPL), Python-compatible float text, and f-string format specs.

use crate::codes::N2011;
use crate::error::VmError;
use crate::heap::Heap;
use crate::value::{Obj, Value};
use noodle_nbc::Program;
use std::fmt::Write;

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when the
/// decimal exponent is in `-4 ..= 15` and in exponent notation (`1e+16`, `1.5e-05`) otherwise.
pub fn float_repr(f: f64) -> String {
    let mut out = String::new();
    push_float_repr(&mut out, f);
    out
}

/// `float_repr`, written onto `out`.
pub fn push_float_repr(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("nan");
        return;
    }
    if f.is_sign_negative() {
        out.push('-');
    }
    let a = f.abs();
    if a.is_infinite() {
        out.push_str("inf");
        return;
    }
    if a == 0.0 {
        out.push_str("0.0");
        return;
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e-7", "1e16".
    let (digits, exp) = shortest_digits(a);
    if !(-4..16).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        push_exponent(out, exp);
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', int_len - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.push_str(&digits);
    }
}

/// The shortest round-trip decimal digits of a positive finite float and its decimal exponent
/// (the value is `d.ddd × 10^exp`).
fn shortest_digits(a: f64) -> (String, i32) {
    let (digits, exp) = split_sci(&format!("{a:e}"));
    // When two shortest candidates are equally close (x.25 with an ulp of 0.125), Rust picks
    // the upper one and Python the one with an even last digit. Only an odd last digit can
    // differ: then prefer the correctly rounded (half-to-even) digits if they round-trip.
    let odd = digits.as_bytes().last().is_some_and(|d| d % 2 == 1);
    if odd {
        let rounded = format!("{a:.prec$e}", prec = digits.len() - 1);
        if rounded.parse::<f64>() == Ok(a) {
            let (d2, e2) = split_sci(&rounded);
            let d2 = d2.trim_end_matches('0');
            if !d2.is_empty() && d2.len() <= digits.len() {
                return (d2.to_string(), e2);
            }
        }
    }
    (digits, exp)
}

/// Splits Rust's `{:e}` output ("1.25e-3") into its digits ("125") and exponent (-3).
fn split_sci(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp.parse().unwrap_or(0))
}

/// Python's exponent suffix: `e+16`, `e-05`, `e+100`.
fn push_exponent(out: &mut String, exp: i32) {
    let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.unsigned_abs());
}

/// Nesting deeper than this prints as `...` (also stops cyclic structures).
const MAX_DEPTH: usize = 100;

struct Printer<'a> {
    heap: &'a Heap,
    program: &'a Program,
    out: String,
    /// Containers being printed (the path from the root): meeting one again is a cycle,
    /// printed as `...` the way Python prints `[[...]]`.
    path: Vec<crate::value::ObjRef>,
    /// Records shown as their `display` method said (see `displayed_records`).
    shown: Option<&'a Shown>,
}

/// The text of each record whose type declares `Display`, by its reference: what its
/// `display` method gave, computed before formatting (formatting cannot call Noodle code).
pub type Shown = std::collections::HashMap<u32, String>;

/// The records reachable from `values` whose types declare `Display` (each once, in the order
/// met), with the function of their `display` method: the calls `print` and `str` make before
/// formatting. Nothing is looked inside such a record (its text replaces it); the walk stops at
/// `MAX_DEPTH` and after `MAX_WALK` objects (the rest then prints without `display`).
pub fn displayed_records(heap: &Heap, program: &Program, values: &[Value]) -> Vec<(crate::value::ObjRef, u32)> {
    const MAX_WALK: usize = 100_000;
    if !program.types.iter().any(|t| t.flags & noodle_nbc::program::RECORD_DISPLAY != 0) {
        return Vec::new();
    }
    let display = program.method_names.iter().position(|m| m == "display");
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack: Vec<(Value, usize)> = values.iter().rev().map(|v| (*v, 0)).collect();
    while let Some((v, depth)) = stack.pop() {
        let Value::Obj(r) = v else { continue };
        if depth > MAX_DEPTH || seen.len() >= MAX_WALK || !seen.insert(r.0) {
            continue;
        }
        let before = stack.len();
        match heap.get(r) {
            Obj::List(items) => stack.extend(items.as_values().unwrap_or_default().iter().map(|x| (*x, depth + 1))),
            Obj::Tuple(items) => stack.extend(items.iter().map(|x| (*x, depth + 1))),
            Obj::Dict(m) => stack.extend(m.values().flat_map(|(k, v)| [(*k, depth + 1), (*v, depth + 1)])),
            Obj::Set(m) => stack.extend(m.values().map(|x| (*x, depth + 1))),
            Obj::Cell(x) => stack.push((*x, depth + 1)),
            Obj::Record { ty, fields } => {
                let rt = program.types.get(*ty as usize);
                let func = rt.filter(|t| t.flags & noodle_nbc::program::RECORD_DISPLAY != 0).and_then(|t| t.methods.iter().find(|(m, _)| Some(*m as usize) == display)).map(|(_, f)| *f);
                match func {
                    Some(f) => out.push((r, f)),
                    None => stack.extend(fields.iter().map(|x| (*x, depth + 1))),
                }
            }
            _ => {}
        }
        // depth first, in the order printed
        stack[before..].reverse();
    }
    out
}

impl Printer<'_> {
    fn value(&mut self, v: Value, quote: bool, depth: usize) {
        if depth > MAX_DEPTH {
            self.out.push_str("...");
            return;
        }
        match v {
            Value::None => self.out.push_str("none"),
            Value::Bool(b) => self.out.push_str(if b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(self.out, "{i}");
            }
            Value::Float(f) => push_float_repr(&mut self.out, f),
            Value::Func(f) => self.func(f),
            Value::Undef => self.out.push_str("<undefined>"),
            Value::Obj(r) => {
                if let Some(text) = self.shown.and_then(|s| s.get(&r.0)) {
                    self.out.push_str(text);
                    return;
                }
                let heap = self.heap;
                let container = !matches!(heap.get(r), Obj::Str(_) | Obj::Bytes(_));
                if container {
                    if self.path.contains(&r) {
                        self.out.push_str("...");
                        return;
                    }
                    self.path.push(r);
                }
                self.obj(r, quote, depth);
                if container {
                    self.path.pop();
                }
            }
        }
    }

    fn obj(&mut self, r: crate::value::ObjRef, quote: bool, depth: usize) {
        {
            {
                let heap = self.heap;
                match heap.get(r) {
                    Obj::Str(s) => {
                        if quote {
                            push_str_repr(&mut self.out, s)
                        } else {
                            self.out.push_str(s)
                        }
                    }
                    Obj::Bytes(b) => push_bytes_repr(&mut self.out, b),
                    Obj::List(items) => self.seq("[", items.iter(), "]", depth),
                    Obj::Tuple(items) => {
                        if items.len() == 1 {
                            self.out.push('(');
                            self.value(items[0], true, depth + 1);
                            self.out.push_str(",)");
                        } else {
                            self.seq("(", items.iter().copied(), ")", depth)
                        }
                    }
                    Obj::Dict(m) => {
                        self.out.push('{');
                        for (i, (image, (k, v))) in m.iter().enumerate() {
                            if i > 0 {
                                self.out.push_str(", ");
                            }
                            match (k, image) {
                                // string keys are kept only as their key image
                                (Value::Undef, crate::value::Key::Str(s)) => push_str_repr(&mut self.out, std::str::from_utf8(s.as_bytes()).unwrap_or("")),
                                _ => self.value(*k, true, depth + 1),
                            }
                            self.out.push_str(": ");
                            self.value(*v, true, depth + 1);
                        }
                        self.out.push('}');
                    }
                    Obj::Set(m) => {
                        if m.is_empty() {
                            self.out.push_str("set()");
                        } else {
                            self.out.push('{');
                            for (i, v) in m.values().enumerate() {
                                if i > 0 {
                                    self.out.push_str(", ");
                                }
                                self.value(*v, true, depth + 1);
                            }
                            self.out.push('}');
                        }
                    }
                    Obj::Record { ty, fields } => self.record(*ty, fields, depth),
                    Obj::Closure { func, .. } => self.func(*func),
                    Obj::Cell(v) => self.value(*v, quote, depth + 1),
                    Obj::Native(n) => n.fmt(self.program, &mut self.out),
                }
            }
        }
    }

    fn seq(&mut self, open: &str, items: impl Iterator<Item = Value>, close: &str, depth: usize) {
        self.out.push_str(open);
        for (i, v) in items.enumerate() {
            if i > 0 {
                self.out.push_str(", ");
            }
            self.value(v, true, depth + 1);
        }
        self.out.push_str(close);
    }

    fn func(&mut self, f: u32) {
        let name = self.program.funcs.get(f as usize).map_or("?", |f| f.name.as_str());
        let _ = write!(self.out, "<fn {name}>");
    }

    fn record(&mut self, ty: u16, fields: &[Value], depth: usize) {
        let program = self.program;
        let Some(rt) = program.types.get(ty as usize) else {
            self.out.push_str("<record>");
            return;
        };
        if ty == 0 && rt.enum_name.is_none() {
            // The built-in Error struct: `Error(CODE: message)` (not its cause and hidden value).
            self.out.push_str("Error(");
            for (i, v) in fields.iter().take(2).enumerate() {
                if i > 0 {
                    self.out.push_str(": ");
                }
                self.value(*v, false, depth + 1);
            }
            self.out.push(')');
            return;
        }
        match &rt.enum_name {
            Some(e) => {
                let _ = write!(self.out, "{e}.{}", rt.name);
                if !fields.is_empty() {
                    self.seq("(", fields.iter().copied(), ")", depth);
                }
            }
            None => {
                self.out.push_str(&rt.name);
                self.out.push('(');
                for (i, v) in fields.iter().enumerate() {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    if let Some(name) = rt.fields.get(i) {
                        self.out.push_str(name);
                        self.out.push_str(": ");
                    }
                    self.value(*v, true, depth + 1);
                }
                self.out.push(')');
            }
        }
    }
}

/// What `print` and `str()` show: strings as they are, everything else as `repr` would.
pub fn display(heap: &Heap, program: &Program, v: Value) -> String {
    if let Value::Obj(r) = v {
        if let Obj::Str(s) = heap.get(r) {
            return s.to_string();
        }
    }
    display_shown(heap, program, v, None)
}

/// `display`, with the records of `shown` replaced by their text.
pub fn display_shown(heap: &Heap, program: &Program, v: Value, shown: Option<&Shown>) -> String {
    if let Value::Obj(r) = v {
        if let Some(text) = shown.and_then(|s| s.get(&r.0)) {
            return text.clone();
        }
        if let Obj::Str(s) = heap.get(r) {
            return s.to_string();
        }
    }
    let mut p = Printer { heap, program, out: String::new(), path: Vec::new(), shown };
    p.value(v, false, 0);
    p.out
}

/// The quoted form: strings in double quotes with escapes, bytes as `b"..."`.
pub fn repr(heap: &Heap, program: &Program, v: Value) -> String {
    repr_shown(heap, program, v, None)
}

/// `repr`, with the records of `shown` replaced by their text.
pub fn repr_shown(heap: &Heap, program: &Program, v: Value, shown: Option<&Shown>) -> String {
    let mut p = Printer { heap, program, out: String::new(), path: Vec::new(), shown };
    p.value(v, true, 0);
    p.out
}

/// A string literal: `"..."` escaping `\\ \" \n \t \r` and other control characters as `\xHH`.
pub fn str_repr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    push_str_repr(&mut out, s);
    out
}

fn push_str_repr(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

pub fn push_bytes_repr(out: &mut String, b: &[u8]) {
    out.push_str("b\"");
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            b'\r' => out.push_str("\\r"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                let _ = write!(out, "\\x{c:02x}");
            }
        }
    }
    out.push('"');
}

// ---------------------------------------------------------------------------------------------
// Format specs

/// Widths and precisions above this are refused rather than allocating without bound.
const MAX_WIDTH: usize = 1_000_000;

struct Spec {
    fill: char,
    /// An explicit fill character was given (the `0` flag then does not replace it).
    fill_set: bool,
    align: Option<char>,
    sign: Option<char>,
    alt: bool,
    zero: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    ty: Option<char>,
}

fn spec_error(spec: &str, what: impl std::fmt::Display) -> VmError {
    VmError::new(N2011, format!("invalid format spec \"{spec}\": {what}"))
}

fn parse_spec(spec: &str) -> Result<Spec, VmError> {
    let cs: Vec<char> = spec.chars().collect();
    let mut s = Spec { fill: ' ', fill_set: false, align: None, sign: None, alt: false, zero: false, width: 0, grouping: None, precision: None, ty: None };
    let is_align = |c: char| matches!(c, '<' | '>' | '^' | '=');
    let mut i = 0;
    if cs.len() >= 2 && is_align(cs[1]) {
        s.fill = cs[0];
        s.fill_set = true;
        s.align = Some(cs[1]);
        i = 2;
    } else if !cs.is_empty() && is_align(cs[0]) {
        s.align = Some(cs[0]);
        i = 1;
    }
    if i < cs.len() && matches!(cs[i], '+' | '-' | ' ') {
        s.sign = Some(cs[i]);
        i += 1;
    }
    if i < cs.len() && cs[i] == '#' {
        s.alt = true;
        i += 1;
    }
    if i < cs.len() && cs[i] == '0' {
        s.zero = true;
        i += 1;
    }
    let number = |i: &mut usize| -> Result<Option<usize>, VmError> {
        let start = *i;
        while *i < cs.len() && cs[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start {
            return Ok(None);
        }
        let text: String = cs[start..*i].iter().collect();
        match text.parse::<usize>() {
            Ok(n) if n <= MAX_WIDTH => Ok(Some(n)),
            _ => Err(spec_error(spec, "width or precision too large")),
        }
    };
    s.width = number(&mut i)?.unwrap_or(0);
    if i < cs.len() && matches!(cs[i], ',' | '_') {
        s.grouping = Some(cs[i]);
        i += 1;
    }
    if i < cs.len() && cs[i] == '.' {
        i += 1;
        match number(&mut i)? {
            Some(p) => s.precision = Some(p),
            None => return Err(spec_error(spec, "missing precision after '.'")),
        }
    }
    if i < cs.len() {
        let c = cs[i];
        if !matches!(c, 'd' | 'f' | 'F' | 'e' | 'E' | 'g' | 'G' | 'x' | 'X' | 'o' | 'b' | 'c' | 'n' | 's' | '%') {
            return Err(spec_error(spec, format!("unknown format type '{c}'")));
        }
        s.ty = Some(c);
        i += 1;
    }
    if i < cs.len() {
        return Err(spec_error(spec, format!("unexpected '{}'", cs[i])));
    }
    Ok(s)
}

fn kind_of(heap: &Heap, v: Value) -> &'static str {
    match v {
        Value::None => "none",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Func(_) => "function",
        Value::Undef => "undefined",
        Value::Obj(r) => match heap.get(r) {
            Obj::Str(_) => "str",
            Obj::Bytes(_) => "bytes",
            Obj::List(_) => "list",
            Obj::Tuple(_) => "tuple",
            Obj::Dict(_) => "dict",
            Obj::Set(_) => "set",
            Obj::Record { .. } => "record",
            Obj::Closure { .. } => "function",
            Obj::Cell(_) => "cell",
            Obj::Native(n) => n.kind(),
        },
    }
}

/// Formats a value for `{x:spec}` in an f-string, like Python's `format(x, spec)`:
/// `[[fill]align][sign][#][0][width][,|_][.precision][type]`. Numbers align right by default,
/// everything else left. Non-numeric values are formatted as their `display` text (only the
/// `s` type or none applies to them).
pub fn format_spec(heap: &Heap, program: &Program, v: Value, spec: &str) -> Result<String, VmError> {
    if spec.is_empty() {
        return Ok(display(heap, program, v));
    }
    let s = parse_spec(spec)?;
    let wrong_type = |kind: &str| {
        let t = s.ty.unwrap_or(' ');
        spec_error(spec, format!("format type '{t}' cannot be used with a {kind} value"))
    };
    match v {
        Value::Int(i) => format_int(i, &s, spec, &wrong_type),
        Value::Float(f) => format_float(f, &s, &wrong_type),
        Value::Bool(b) => match s.ty {
            None | Some('s') => format_str(if b { "true" } else { "false" }, &s, spec),
            Some(_) => format_int(b as i64, &s, spec, &wrong_type),
        },
        _ => match s.ty {
            None | Some('s') => match v {
                Value::Obj(r) => match heap.get(r) {
                    Obj::Str(text) => format_str(text, &s, spec),
                    _ => format_str(&display(heap, program, v), &s, spec),
                },
                _ => format_str(&display(heap, program, v), &s, spec),
            },
            Some(_) => Err(wrong_type(kind_of(heap, v))),
        },
    }
}

/// Pads `body` to the spec's width with its fill and alignment.
fn pad(body: &str, s: &Spec, fill: char, align: char) -> String {
    let len = body.chars().count();
    if len >= s.width {
        return body.to_string();
    }
    let n = s.width - len;
    let (left, right) = match align {
        '<' => (0, n),
        '^' => (n / 2, n - n / 2),
        _ => (n, 0),
    };
    let mut out = String::with_capacity(body.len() + n * fill.len_utf8());
    out.extend(std::iter::repeat_n(fill, left));
    out.push_str(body);
    out.extend(std::iter::repeat_n(fill, right));
    out
}

fn format_str(text: &str, s: &Spec, spec: &str) -> Result<String, VmError> {
    if s.sign.is_some() {
        return Err(spec_error(spec, "a sign is not allowed when formatting a string"));
    }
    if s.alt {
        return Err(spec_error(spec, "'#' is not allowed when formatting a string"));
    }
    if let Some(g) = s.grouping {
        return Err(spec_error(spec, format!("'{g}' is not allowed when formatting a string")));
    }
    if s.align == Some('=') {
        return Err(spec_error(spec, "'=' alignment is not allowed when formatting a string"));
    }
    let text = match s.precision {
        Some(p) => match text.char_indices().nth(p) {
            Some((i, _)) => &text[..i],
            None => text,
        },
        None => text,
    };
    let fill = if s.zero && !s.fill_set { '0' } else { s.fill };
    Ok(pad(text, s, fill, s.align.unwrap_or('<')))
}

/// Inserts `sep` every `every` digits from the right, zero-extending the digits up to
/// `min_width` characters the way CPython does for `0`-padded grouped numbers.
fn group_digits(digits: &str, sep: char, every: usize, min_width: usize) -> String {
    let d: Vec<char> = digits.chars().collect();
    let mut remaining = d.len() as isize;
    let mut min_width = min_width as isize;
    let every = every as isize;
    let mut groups: Vec<String> = Vec::new();
    loop {
        let l = every.min(remaining.max(min_width).max(1));
        let n_zeros = (l - remaining).max(0);
        let n_chars = remaining.min(l).max(0);
        let mut g: String = std::iter::repeat_n('0', n_zeros as usize).collect();
        g.extend(&d[(remaining - n_chars) as usize..remaining as usize]);
        groups.push(g);
        remaining -= n_chars;
        min_width -= l;
        if remaining <= 0 && min_width <= 0 {
            break;
        }
        min_width -= 1;
    }
    groups.reverse();
    groups.join(&sep.to_string())
}

/// Assembles a formatted number: sign, prefix (`0x`), integer digits (grouped), the rest
/// (fraction, exponent, `%`), then padding.
fn finish_number(neg: bool, prefix: &str, int_digits: &str, rest: &str, group_every: usize, s: &Spec) -> String {
    let sign = if neg {
        "-"
    } else {
        match s.sign {
            Some('+') => "+",
            Some(' ') => " ",
            _ => "",
        }
    };
    let (fill, align) = if s.zero && !s.fill_set { ('0', s.align.unwrap_or('=')) } else { (s.fill, s.align.unwrap_or('>')) };
    let digits = match s.grouping {
        Some(sep) if !int_digits.is_empty() => {
            let min_width = if fill == '0' && align == '=' { s.width.saturating_sub(sign.len() + prefix.len() + rest.chars().count()) } else { 0 };
            group_digits(int_digits, sep, group_every, min_width)
        }
        _ => int_digits.to_string(),
    };
    if align == '=' {
        let len = sign.len() + prefix.len() + digits.chars().count() + rest.chars().count();
        let n = s.width.saturating_sub(len);
        let mut out = String::new();
        out.push_str(sign);
        out.push_str(prefix);
        out.extend(std::iter::repeat_n(fill, n));
        out.push_str(&digits);
        out.push_str(rest);
        out
    } else {
        pad(&format!("{sign}{prefix}{digits}{rest}"), s, fill, align)
    }
}

fn format_int(i: i64, s: &Spec, spec: &str, wrong_type: &dyn Fn(&str) -> VmError) -> Result<String, VmError> {
    let ty = s.ty.unwrap_or('d');
    if matches!(ty, 'e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%') {
        return format_float(i as f64, s, wrong_type);
    }
    if ty == 's' {
        return Err(wrong_type("int"));
    }
    if s.precision.is_some() {
        return Err(spec_error(spec, "precision is not allowed when formatting an int"));
    }
    if ty == 'c' {
        if s.sign.is_some() || s.alt || s.grouping.is_some() {
            return Err(spec_error(spec, "sign, '#' and grouping are not allowed with 'c'"));
        }
        let c = u32::try_from(i).ok().and_then(char::from_u32).ok_or_else(|| spec_error(spec, format!("{i} is not a valid code point")))?;
        let text = c.to_string();
        return Ok(finish_number(false, "", "", &text, 3, s));
    }
    let a = i.unsigned_abs();
    let (digits, prefix, every) = match ty {
        'x' => (format!("{a:x}"), "0x", 4),
        'X' => (format!("{a:X}"), "0X", 4),
        'o' => (format!("{a:o}"), "0o", 4),
        'b' => (format!("{a:b}"), "0b", 4),
        _ => (a.to_string(), "", 3),
    };
    if s.grouping == Some(',') && ty != 'd' && ty != 'n' {
        return Err(spec_error(spec, format!("',' cannot be used with '{ty}'")));
    }
    if s.grouping.is_some() && ty == 'n' {
        return Err(spec_error(spec, "grouping cannot be used with 'n'"));
    }
    let prefix = if s.alt { prefix } else { "" };
    Ok(finish_number(i < 0, prefix, &digits, "", every, s))
}

/// Splits a formatted non-negative number into leading digits and the rest.
fn split_digits(body: &str) -> (&str, &str) {
    let n = body.bytes().take_while(|b| b.is_ascii_digit()).count();
    body.split_at(n)
}

/// Rust's formatter refuses precisions above `u16::MAX`. A double's exact decimal expansion has
/// at most 1074 digits after the point and 767 significant digits, so formatting with these
/// many and padding with zeros is exact.
const EXACT_FIXED: usize = 1100;
const EXACT_SCI: usize = 800;

/// `{:.p$}` for any `p`.
fn fixed(a: f64, p: usize) -> String {
    let q = p.min(EXACT_FIXED);
    let mut s = format!("{a:.q$}");
    s.extend(std::iter::repeat_n('0', p - q));
    s
}

/// `{:.p$e}` (Rust's form, `1.50e0`) for any `p`.
fn sci_raw(a: f64, p: usize) -> String {
    let q = p.min(EXACT_SCI);
    let s = format!("{a:.q$e}");
    if p == q {
        return s;
    }
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mut out = mant.to_string();
    out.extend(std::iter::repeat_n('0', p - q));
    out.push('e');
    out.push_str(exp);
    out
}

/// `{:.p$e}` in Python's style: `1.234560e+02`.
fn sci(a: f64, p: usize, alt: bool) -> String {
    let s = sci_raw(a, p);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mut out = mant.to_string();
    if alt && !out.contains('.') {
        out.push('.');
    }
    push_exponent(&mut out, exp.parse().unwrap_or(0));
    out
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// `g` formatting of a non-negative finite value with `p` significant digits. `repr_style` is
/// the rule for an omitted type with a precision: exponent notation from `exp >= p - 1` and at
/// least one digit after the point in fixed notation.
fn general(a: f64, p: usize, alt: bool, repr_style: bool) -> String {
    let p = p.max(1);
    let exp = if a == 0.0 { 0 } else { split_sci(&sci_raw(a, p - 1)).1 };
    let limit = if repr_style { p as i32 - 1 } else { p as i32 };
    if exp < -4 || exp >= limit {
        let s = sci_raw(a, p - 1);
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mut out = if alt { mant.to_string() } else { strip_zeros(mant).to_string() };
        if alt && !out.contains('.') {
            out.push('.');
        }
        push_exponent(&mut out, e.parse().unwrap_or(0));
        out
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        let s = fixed(a, decimals);
        let mut out = if alt { s } else { strip_zeros(&s).to_string() };
        if alt && !out.contains('.') {
            out.push('.');
        }
        if repr_style && !out.contains('.') {
            out.push_str(".0");
        }
        out
    }
}

fn format_float(f: f64, s: &Spec, wrong_type: &dyn Fn(&str) -> VmError) -> Result<String, VmError> {
    let ty = s.ty;
    if !matches!(ty, None | Some('f' | 'F' | 'e' | 'E' | 'g' | 'G' | 'n' | '%')) {
        return Err(wrong_type("float"));
    }
    let neg = f.is_sign_negative() && !f.is_nan();
    let a = f.abs();
    let upper = matches!(ty, Some('F' | 'E' | 'G'));
    if !a.is_finite() {
        let mut body = if a.is_nan() { "nan" } else { "inf" }.to_string();
        if upper {
            body.make_ascii_uppercase();
        }
        if ty == Some('%') {
            body.push('%');
        }
        return Ok(finish_number(neg, "", "", &body, 3, s));
    }
    let body = match ty {
        Some('f' | 'F') => {
            let p = s.precision.unwrap_or(6);
            let mut b = fixed(a, p);
            if s.alt && p == 0 {
                b.push('.');
            }
            b
        }
        Some('%') => {
            let p = s.precision.unwrap_or(6);
            let mut b = fixed(a * 100.0, p);
            if s.alt && p == 0 {
                b.push('.');
            }
            b.push('%');
            b
        }
        Some('e' | 'E') => {
            let b = sci(a, s.precision.unwrap_or(6), s.alt);
            if upper {
                b.to_ascii_uppercase()
            } else {
                b
            }
        }
        Some('g' | 'G' | 'n') => {
            let b = general(a, s.precision.unwrap_or(6), s.alt, false);
            if upper {
                b.to_ascii_uppercase()
            } else {
                b
            }
        }
        _ => match s.precision {
            None => float_repr(a),
            Some(p) => general(a, p, s.alt, true),
        },
    };
    let (int_digits, rest) = split_digits(&body);
    Ok(finish_number(neg, "", int_digits, rest, 3, s))
}

#[cfg(test)]
#[allow(clippy::approx_constant, clippy::excessive_precision)]
mod tests {
    use super::*;
    use noodle_nbc::{Function, RecordType};

    #[test]
    fn float_repr_matches_python() {
        // Each pair checked against python3's repr().
        let cases: &[(f64, &str)] = &[
            (5.0, "5.0"),
            (0.1, "0.1"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (123456789012345.0, "123456789012345.0"),
            (1234567890123456.0, "1234567890123456.0"),
            (12345678901234567.0, "1.2345678901234568e+16"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.00012345, "0.00012345"),
            (-2.5, "-2.5"),
            (100.0, "100.0"),
            (1e15, "1000000000000000.0"),
            (1e22, "1e+22"),
            (1e100, "1e+100"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
            (3.141592653589793, "3.141592653589793"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0 / 3.0, "0.6666666666666666"),
            (123.456, "123.456"),
            (-1e-7, "-1e-07"),
            (9999999999999998.0, "9999999999999998.0"),
            (1.5e300, "1.5e+300"),
            (0.5, "0.5"),
            // ties between two shortest candidates go to the even digit, as in Python
            (-737442394383927.25, "-737442394383927.2"),
            (-890325975821640.25, "-890325975821640.2"),
            (0.375e-300, "3.75e-301"),
        ];
        for &(f, want) in cases {
            assert_eq!(float_repr(f), want, "repr of {f:?}");
        }
    }

    #[test]
    fn format_spec_matches_python() {
        let p = Program::default();
        let mut h = Heap::new();
        let s = h.alloc_str("abc");
        let e = h.alloc_str("héllo");
        // (value, spec, python3's format(value, spec))
        let cases: Vec<(Value, &str, &str)> = vec![
            (Value::Float(3.14159), ".2f", "3.14"),
            (Value::Int(7), ">4", "   7"),
            (Value::Int(255), "x", "ff"),
            (Value::Int(255), "#010x", "0x000000ff"),
            (Value::Int(255), "X", "FF"),
            (Value::Int(255), "_b", "1111_1111"),
            (Value::Int(8), "o", "10"),
            (Value::Int(-5), "#x", "-0x5"),
            (Value::Int(5), " d", " 5"),
            (Value::Int(5), "+d", "+5"),
            (Value::Int(1234), "010,", "00,001,234"),
            (Value::Int(1234), "09,", "0,001,234"),
            (Value::Int(1234), "08,", "0,001,234"),
            (Value::Int(1234), "07,", "001,234"),
            (Value::Int(1234567), ",", "1,234,567"),
            (Value::Int(-1234567), "_", "-1_234_567"),
            (Value::Int(12345678), "_x", "bc_614e"),
            (Value::Int(5), "<05", "50000"),
            (Value::Int(-12), "x<+8", "-12xxxxx"),
            (Value::Int(12), "=^6", "==12=="),
            (Value::Int(-42), "06", "-00042"),
            (Value::Int(42), "^7", "  42   "),
            (Value::Int(5), ".2f", "5.00"),
            (Value::Int(5), "e", "5.000000e+00"),
            (Value::Int(5), "%", "500.000000%"),
            (Value::Int(65), "c", "A"),
            (Value::Float(-1234.5), "012,.2f", "-0,001,234.50"),
            (Value::Float(0.125), ".2f", "0.12"),
            (Value::Float(0.375), ".2f", "0.38"),
            (Value::Float(0.5), ".0f", "0"),
            (Value::Float(1.5), ".0f", "2"),
            (Value::Float(2.5), ".0f", "2"),
            (Value::Float(1.0), ".3", "1.0"),
            (Value::Float(1e20), ".3", "1e+20"),
            (Value::Float(100.0), ".3", "1e+02"),
            (Value::Float(12.0), ".3", "12.0"),
            (Value::Float(123456.0), ".3", "1.23e+05"),
            (Value::Float(1.5), ".0", "2e+00"),
            (Value::Float(1e-7), ".3", "1e-07"),
            (Value::Float(0.0), ".3", "0.0"),
            (Value::Float(f64::NAN), "+", "+nan"),
            (Value::Float(-0.0), "+.1f", "-0.0"),
            (Value::Float(1e16), "", "1e+16"),
            (Value::Float(1e16), ">10", "     1e+16"),
            (Value::Float(0.0001), "g", "0.0001"),
            (Value::Float(0.00001), "g", "1e-05"),
            (Value::Float(123456789.0), "g", "1.23457e+08"),
            (Value::Float(1.5), "#g", "1.50000"),
            (Value::Float(0.0), "g", "0"),
            (Value::Float(-0.0), "g", "-0"),
            (Value::Float(100000.0), "g", "100000"),
            (Value::Float(1000000.0), "g", "1e+06"),
            (Value::Float(1.0), "#.0f", "1."),
            (Value::Float(1.5), "#.0e", "2.e+00"),
            (Value::Float(0.25), ".1%", "25.0%"),
            (Value::Float(12345.678), ",", "12,345.678"),
            (Value::Float(1e22), ",", "1e+22"),
            (Value::Float(1234567.0), ",.2f", "1,234,567.00"),
            (Value::Float(1234.5), "_", "1_234.5"),
            (Value::Float(f64::INFINITY), "010", "0000000inf"),
            (Value::Float(f64::NAN), "010,", "0000000nan"),
            (Value::Float(f64::NEG_INFINITY), "=+8", "-    inf"),
            (Value::Float(f64::INFINITY), "F", "INF"),
            (Value::Float(1234.5678), "E", "1.234568E+03"),
            (Value::Float(1234.5678), ".2e", "1.23e+03"),
            (Value::Float(1e-300), "e", "1.000000e-300"),
            (Value::Float(2.0), "10.3f", "     2.000"),
            (Value::Float(2.0), "<10.3f", "2.000     "),
            (Value::Float(-2.0), "*^11.3f", "**-2.000***"),
            (Value::Float(0.1), "", "0.1"),
            (Value::Float(3.0), "", "3.0"),
            (Value::Float(3.0), "8", "     3.0"),
            (Value::Float(1234.5678), "G", "1234.57"),
            (Value::Float(1.2345e-10), "G", "1.2345E-10"),
            (s, "", "abc"),
            (s, "5", "abc  "),
            (s, ">5", "  abc"),
            (s, "^8.2", "   ab   "),
            (s, "*^6", "*abc**"),
            (s, "05", "abc00"),
            (s, "s", "abc"),
            (s, ".1s", "a"),
            (e, "^9", "  héllo  "),
            (e, ".2", "hé"),
        ];
        for (v, spec, want) in cases {
            assert_eq!(format_spec(&h, &p, v, spec).as_deref(), Ok(want), "format({}, {spec:?})", repr(&h, &p, v));
        }
        // Noodle specifics: bools format as words unless a numeric type is given
        assert_eq!(format_spec(&h, &p, Value::Bool(true), ">6").unwrap(), "  true");
        assert_eq!(format_spec(&h, &p, Value::Bool(true), "d").unwrap(), "1");
        assert_eq!(format_spec(&h, &p, Value::None, "<6").unwrap(), "none  ");
        let l = h.alloc(Obj::List(vec![Value::Int(1), s].into()));
        assert_eq!(format_spec(&h, &p, l, ">12").unwrap(), "  [1, \"abc\"]");
        // errors (python3 raises ValueError for each)
        // big widths and precisions work (and are bounded)
        assert_eq!(format_spec(&h, &p, Value::Float(1.5), ".100000f").unwrap().len(), 100_002);
        assert_eq!(format_spec(&h, &p, Value::Float(1.5), ".100000e").unwrap().len(), 100_006);
        assert_eq!(format_spec(&h, &p, Value::Float(1.5), ".100000g").unwrap(), "1.5");
        assert_eq!(format_spec(&h, &p, Value::Float(1.5), "#.100000g").unwrap().len(), 100_001);
        // (python3: the exact expansion, which has 751 significant digits)
        let exact = format_spec(&h, &p, Value::Float(1e-320), ".100000").unwrap();
        assert!(exact.starts_with("9.999888671826830054133752367652800") && exact.ends_with("769439697265625e-321") && exact.len() == 757, "{exact}");
        let tiny = format_spec(&h, &p, Value::Float(5e-324), ".1080f").unwrap();
        assert!(tiny.starts_with("0.000") && tiny.ends_with("06419718265533447265625000000") && tiny.len() == 1082, "{tiny}");
        assert_eq!(format_spec(&h, &p, Value::Int(1), "1000000").unwrap().len(), 1_000_000);
        assert_eq!(format_spec(&h, &p, Value::Int(1), "1000001").unwrap_err().code, "N2011");
        for (v, spec) in [
            (s, "d"),
            (s, "+"),
            (s, "=5"),
            (s, ","),
            (Value::Int(1), ".2"),
            (Value::Int(1), ",x"),
            (Value::Int(1), "s"),
            (Value::Int(1), "5q"),
            (Value::Float(1.0), "d"),
            (Value::Float(1.0), "x"),
            (Value::Int(1), "."),
            (Value::Int(1), "99999999999999999999999"),
            (l, "d"),
        ] {
            let err = format_spec(&h, &p, v, spec).unwrap_err();
            assert_eq!(err.code, "N2011", "{spec}");
        }
    }

    #[test]
    fn display_and_repr() {
        let rt = |name: &str, en: Option<&str>, fields: &[&str]| RecordType {
            name: name.into(),
            enum_name: en.map(String::from),
            enum_id: 0,
            fields: fields.iter().map(|s| s.to_string()).collect(),
            methods: vec![],
            flags: 0,
        };
        let p = Program {
            types: vec![
                rt("Error", None, &["code", "message"]),
                rt("Point", None, &["x", "y"]),
                rt("Circle", Some("Shape"), &["r"]),
                rt("Red", Some("Color"), &[]),
            ],
            funcs: vec![Function { name: "main".into(), arity: 0, nregs: 0, ncaptures: 0, file: 0, code: vec![], lines: vec![] }],
            ..Default::default()
        };
        let mut h = Heap::new();
        let a = h.alloc_str("a\"b\\c\n\t\r\x01é");
        assert_eq!(display(&h, &p, a), "a\"b\\c\n\t\r\x01é");
        assert_eq!(repr(&h, &p, a), "\"a\\\"b\\\\c\\n\\t\\r\\x01é\"");
        let b = h.alloc(Obj::Bytes(b"hi\"\\\n\x00\xff"[..].into()));
        assert_eq!(display(&h, &p, b), "b\"hi\\\"\\\\\\n\\x00\\xff\"");
        let one = h.alloc_str("a");
        let l = h.alloc(Obj::List(vec![Value::Int(1), Value::Float(2.0), one, Value::None, Value::Bool(true)].into()));
        assert_eq!(display(&h, &p, l), "[1, 2.0, \"a\", none, true]");
        let t1 = h.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[Value::Int(1)])));
        let t0 = h.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[])));
        let t2 = h.alloc(Obj::Tuple(crate::value::Fields::from_slice(&[Value::Int(1), one])));
        assert_eq!(display(&h, &p, t1), "(1,)");
        assert_eq!(display(&h, &p, t0), "()");
        assert_eq!(display(&h, &p, t2), "(1, \"a\")");
        let key_b = h.alloc_str("b");
        let d = h.alloc(Obj::Dict(Box::new(
            [(crate::Key::Str("a".into()), (one, Value::Int(1))), (crate::Key::Str("b".into()), (key_b, Value::Int(2)))].into_iter().collect::<crate::value::DictMap>().into(),
        )));
        assert_eq!(display(&h, &p, d), "{\"a\": 1, \"b\": 2}");
        let d0 = h.alloc(Obj::Dict(Default::default()));
        assert_eq!(display(&h, &p, d0), "{}");
        let s0 = h.alloc(Obj::Set(Default::default()));
        assert_eq!(display(&h, &p, s0), "set()");
        let s2 = h.alloc(Obj::Set([(crate::Key::Int(1), Value::Int(1)), (crate::Key::Int(2), Value::Int(2))].into_iter().collect::<crate::value::SetMap>().into()));
        assert_eq!(display(&h, &p, s2), "{1, 2}");
        let pt = h.alloc(Obj::Record { ty: 1, fields: crate::value::Fields::from_slice(&[Value::Float(1.0), one]) });
        assert_eq!(display(&h, &p, pt), "Point(x: 1.0, y: \"a\")");
        let c = h.alloc(Obj::Record { ty: 2, fields: crate::value::Fields::from_slice(&[Value::Float(1.0)]) });
        assert_eq!(display(&h, &p, c), "Shape.Circle(1.0)");
        let red = h.alloc(Obj::Record { ty: 3, fields: crate::value::Fields::from_slice(&[]) });
        assert_eq!(display(&h, &p, red), "Color.Red");
        let code = h.alloc_str("N2007");
        let msg = h.alloc_str("cannot convert \"x\" to int");
        let err = h.alloc(Obj::Record { ty: 0, fields: crate::value::Fields::from_slice(&[code, msg]) });
        assert_eq!(display(&h, &p, err), "Error(N2007: cannot convert \"x\" to int)");
        assert_eq!(display(&h, &p, Value::Func(0)), "<fn main>");
        let cl = h.alloc(Obj::Closure { func: 0, captures: Box::new([]) });
        assert_eq!(display(&h, &p, cl), "<fn main>");
        assert_eq!(display(&h, &p, Value::Undef), "<undefined>");
        let cell = h.alloc(Obj::Cell(one));
        assert_eq!(display(&h, &p, cell), "a");
        assert_eq!(display(&h, &p, Value::Float(1e16)), "1e+16");
        assert_eq!(display(&h, &p, Value::Int(-3)), "-3");
        // a container met again on the path being printed is a cycle: `...`
        let cyc = h.alloc(Obj::List(vec![].into()));
        let Value::Obj(r) = cyc else { unreachable!() };
        if let Obj::List(v) = h.get_mut(r) {
            v.push(cyc);
            v.push(Value::Int(1));
            v.push(cyc);
        }
        assert_eq!(display(&h, &p, cyc), "[..., 1, ...]");
        // the same object twice, but not inside itself, prints in full
        let inner = h.alloc(Obj::List(vec![Value::Int(2)].into()));
        let twice = h.alloc(Obj::List(vec![inner, inner].into()));
        assert_eq!(display(&h, &p, twice), "[[2], [2]]");
    }
}
