//! `std.config`: settings into a typed struct from layers (the struct's defaults, a TOML file
//! read with the `toml` crate, environment variables, command-line flags), and a command-line
//! parser that prints usage and errors as standard tools do.
//!
//! The struct arrives as a type description (`noodle_native::shape`, as `json.decode[T]`
//! gets it). Its fields, flattened through nested structs (`db.url`), are the settings: each
//! has a flag (`--db.url`), an environment variable (`PREFIX` + `DB__URL`) and a place in the
//! file. Text from flags and variables is converted by the field's shape here; values from the
//! file go through `json::Builder`, which builds any described type from dicts and lists.

use crate::codes::N2515;
use crate::json::{show_path, Builder, Seg};
use indexmap::IndexMap;
use noodle_compiler::types::Type;
use noodle_native::shape::{Literal, Shape, TypeDesc};
use noodle_native::{arg, CallRule, Ctx, Heap, Module, Obj, RuleCall, Value, VmError};
use noodle_nbc::Program;
use noodle_vm::value::Dict;

type R = Result<Value, VmError>;

/// The `std.config` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.config", include_str!("config.noodle"))
        .function("load", noodle_native::blocking!(load))
        .rule("load", StructRule)
        .function("parse_args", noodle_native::simple!(parse_args))
        .rule("parse_args", StructRule)
        .function("usage", noodle_native::simple!(usage))
        .rule("usage", StructRule)
}

/// `T` must be a struct (its fields are the settings); the compiler describes it.
struct StructRule;

impl CallRule for StructRule {
    fn check(&self, call: &mut RuleCall) -> Option<Type> {
        let t = call.type_args.first().cloned()?;
        if matches!(t, Type::Unknown | Type::Var(_) | Type::Param(..)) {
            return None;
        }
        if call.struct_fields(&t).is_none() {
            let (name, shown) = (call.name.clone(), call.show(&t));
            call.error(noodle_compiler::codes::N0248, format!("`{name}` fills the fields of a struct, not `{shown}`"), call.span)
                .hint("declare a struct with one field per setting: `struct Options { port: int = 8080 }`");
        }
        None
    }
    fn describe_type_params(&self) -> bool {
        true
    }
}

// ---------------------------------------------------------------------------------------------
// the settings of a struct

/// One setting: a field that is not itself a struct, at a path of field names.
struct Setting {
    path: Vec<String>,
    shape: Shape,
    default: Option<Literal>,
    /// Inside an optional struct (`db: Db?`): needed only when that struct is given.
    under_optional: bool,
}

impl Setting {
    fn dotted(&self) -> String {
        self.path.join(".")
    }

    /// The flag as usage shows it: `--max-rows`.
    fn flag(&self) -> String {
        format!("--{}", self.dotted().replace('_', "-"))
    }

    fn env(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.path.join("__").to_uppercase())
    }

    /// The shape under an optional.
    fn inner(&self) -> &Shape {
        match &self.shape {
            Shape::Optional(x) => x,
            s => s,
        }
    }

    fn is_switch(&self) -> bool {
        matches!(self.inner(), Shape::Bool)
    }

    fn is_list(&self) -> bool {
        matches!(self.inner(), Shape::List(_) | Shape::Set(_))
    }

    /// Whether it may be left out: a usable default, or an optional (which is then `none`).
    fn has_default(&self) -> bool {
        matches!(&self.default, Some(l) if l.usable()) || matches!(self.shape, Shape::Optional(_) | Shape::Any | Shape::None)
    }

    /// Whether text (a flag's value, a variable) can give it.
    fn settable_by_text(&self) -> bool {
        let scalar = |s: &Shape| matches!(s, Shape::Int | Shape::Float | Shape::Str | Shape::Bool | Shape::Any | Shape::Enum(_));
        match self.inner() {
            Shape::List(e) | Shape::Set(e) => scalar(e),
            s => scalar(s),
        }
    }
}

/// The settings of record `k` and of the structs in its fields, depth first, in field order.
fn settings(desc: &TypeDesc, program: &Program, k: usize, prefix: &[String], under_optional: bool, out: &mut Vec<Setting>) {
    let rec = &desc.records[k];
    for (i, (shape, default)) in rec.fields.iter().enumerate() {
        let mut path = prefix.to_vec();
        path.push(program.types[rec.ty as usize].fields[i].clone());
        let leaf = |path: Vec<String>| Setting { path, shape: shape.clone(), default: default.clone(), under_optional };
        match record_of(shape) {
            // a struct that contains itself (or a very deep one) is a file-only setting
            Some(k2) if desc.records[k2].ty == rec.ty || path.len() >= 8 => out.push(leaf(path)),
            Some(k2) => settings(desc, program, k2, &path, under_optional || matches!(shape, Shape::Optional(_)), out),
            None => out.push(leaf(path)),
        }
    }
}

fn record_of(s: &Shape) -> Option<usize> {
    match s {
        Shape::Record(k) => Some(*k),
        Shape::Optional(x) => match **x {
            Shape::Record(k) => Some(k),
            _ => None,
        },
        _ => None,
    }
}

/// The closest of `names` to `name` (for "did you mean"), when close enough.
pub(crate) fn closest<'n>(name: &str, names: impl Iterator<Item = &'n str>) -> Option<&'n str> {
    names
        .map(|n| (noodle_compiler::edit_distance(name, n), n))
        .filter(|(d, n)| *d <= 2.max(n.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}


// ---------------------------------------------------------------------------------------------
// command-line flags

/// What the command line said: values by setting (a list's repeated flags in order), and
/// whether help was asked for.
#[derive(Default)]
struct Given {
    values: IndexMap<String, (Vec<String>, String)>,
    help: bool,
}

struct Cli<'a> {
    settings: &'a [Setting],
    positional: &'a [String],
    /// One-letter flags: letter to dotted name.
    short: IndexMap<char, String>,
}

impl Cli<'_> {
    fn find(&self, dotted: &str) -> Option<&Setting> {
        let want = dotted.replace('-', "_");
        self.settings.iter().find(|s| s.dotted() == want)
    }

    fn parse(&self, args: &[String]) -> Result<Given, String> {
        let mut given = Given::default();
        let mut rest: Vec<String> = Vec::new();
        let mut i = 0;
        let mut only_positional = false;
        while i < args.len() {
            let a = &args[i];
            i += 1;
            // `-3` and `-0.5` are values (unless a one-letter flag is that digit)
            let negative_number = a.len() > 1 && a[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.') && !a[1..].chars().next().is_some_and(|c| self.short.contains_key(&c));
            if only_positional || a == "-" || !a.starts_with('-') || negative_number {
                rest.push(a.clone());
                continue;
            }
            if a == "--" {
                only_positional = true;
                continue;
            }
            if a == "-h" || a == "--help" {
                given.help = true;
                return Ok(given);
            }
            let (setting, inline, shown) = if let Some(body) = a.strip_prefix("--") {
                let (name, inline) = match body.split_once('=') {
                    Some((n, v)) => (n, Some(v.to_string())),
                    None => (body, None),
                };
                match self.find(name) {
                    Some(s) if !self.positional.contains(&s.dotted()) => (s, inline, format!("--{name}")),
                    _ => {
                        // `--no-NAME` turns a switch off
                        let off = name.strip_prefix("no-").or_else(|| name.strip_prefix("no_")).and_then(|n| self.find(n)).filter(|s| s.is_switch());
                        match (off, inline) {
                            (Some(s), None) => {
                                given.values.insert(s.dotted(), (vec!["false".into()], format!("--{name}")));
                                continue;
                            }
                            (Some(_), Some(_)) => return Err(format!("--{name} takes no value")),
                            (None, _) => return Err(self.unknown(&format!("--{name}"))),
                        }
                    }
                }
            } else {
                let mut chars = a[1..].chars();
                let letter = chars.next().unwrap_or('-');
                let tail: String = chars.collect();
                let Some(s) = self.short.get(&letter).and_then(|d| self.find(d)) else {
                    return Err(self.unknown(a));
                };
                let inline = match tail.strip_prefix('=') {
                    Some(v) => Some(v.to_string()),
                    None if tail.is_empty() => None,
                    // `-vq`: one-letter switches written together, each turned on
                    None if s.is_switch() => {
                        let mut group = vec![s.dotted()];
                        for c in tail.chars() {
                            match self.short.get(&c).and_then(|d| self.find(d)) {
                                Some(o) if o.is_switch() => group.push(o.dotted()),
                                Some(_) => return Err(format!("-{c} in {a} takes a value: write it on its own (-{c} VALUE)")),
                                None => return Err(self.unknown(&format!("-{c}"))),
                            }
                        }
                        for d in group {
                            given.values.insert(d, (vec!["true".into()], a.clone()));
                        }
                        continue;
                    }
                    None => Some(tail),
                };
                (s, inline, format!("-{letter}"))
            };
            if !setting.settable_by_text() {
                return Err(format!("{shown} cannot be given on the command line"));
            }
            let value = match inline {
                Some(v) => v,
                None if setting.is_switch() => "true".to_string(),
                // the next argument is the value, unless it is another flag (`--name --count`);
                // a negative number (`--offset -5`) is a value
                None => match args.get(i) {
                    Some(v) if !(v.starts_with("--") || (v.starts_with('-') && v.len() == 2 && !v[1..].starts_with(|c: char| c.is_ascii_digit()))) => {
                        i += 1;
                        v.clone()
                    }
                    _ => return Err(format!("{shown} needs a value")),
                },
            };
            let entry = given.values.entry(setting.dotted()).or_insert_with(|| (Vec::new(), shown.clone()));
            if !setting.is_list() {
                entry.0.clear();
            }
            entry.0.push(value);
            entry.1 = shown;
        }
        // positional arguments fill the named fields in order; a list takes the rest
        let mut rest = rest.into_iter();
        for name in self.positional {
            let Some(s) = self.find(name) else { continue };
            let take: Vec<String> = if s.is_list() { rest.by_ref().collect() } else { rest.next().into_iter().collect() };
            if !take.is_empty() {
                given.values.insert(s.dotted(), (take, name.to_uppercase()));
            }
        }
        if let Some(extra) = rest.next() {
            return Err(format!("unexpected argument {extra:?}"));
        }
        Ok(given)
    }

    fn unknown(&self, flag: &str) -> String {
        let flags: Vec<String> = self.settings.iter().filter(|s| !self.positional.contains(&s.dotted())).map(Setting::flag).collect();
        // (a one-letter flag is too short for a useful guess)
        match closest(flag, flags.iter().map(String::as_str)).filter(|_| flag.starts_with("--")) {
            Some(f) => format!("unknown flag {flag} (did you mean {f}?)"),
            None => format!("unknown flag {flag}"),
        }
    }

    /// `usage: PROG [options] PATH [FILES...]`.
    fn usage_line(&self, program: &str) -> String {
        let mut line = format!("usage: {program} [options]");
        for name in self.positional {
            let Some(s) = self.find(name) else { continue };
            let mut shown = name.to_uppercase();
            if s.is_list() {
                shown.push_str("...");
            }
            if s.has_default() {
                shown = format!("[{shown}]");
            }
            line.push(' ');
            line.push_str(&shown);
        }
        line
    }

    fn help(&self, program: &str, description: &str, help: &IndexMap<String, String>, program_types: &Program) -> String {
        let mut out = self.usage_line(program);
        out.push('\n');
        if !description.is_empty() {
            out.push('\n');
            out.push_str(description);
            out.push('\n');
        }
        let describe = |s: &Setting| {
            let mut text = help.get(&s.dotted()).cloned().unwrap_or_default();
            let mut notes = Vec::new();
            let element = match s.inner() {
                Shape::List(e) | Shape::Set(e) => &**e,
                other => other,
            };
            if let Shape::Enum(vs) = element {
                let names: Vec<&str> = vs.iter().map(|ty| program_types.types[*ty as usize].name.as_str()).collect();
                notes.push(format!("one of {}", names.join(", ")));
            }
            match &s.default {
                Some(Literal::Int(i)) => notes.push(format!("default: {i}")),
                Some(Literal::Float(f)) => notes.push(format!("default: {}", noodle_vm::fmt::float_repr(*f))),
                Some(Literal::Str(t)) if !t.is_empty() => notes.push(format!("default: {t}")),
                Some(Literal::Variant(ty)) => notes.push(format!("default: {}", program_types.types[*ty as usize].name)),
                Some(Literal::Bool(true)) => notes.push(format!("on by default; --no-{} turns it off", s.dotted().replace('_', "-"))),
                _ => {}
            }
            let positional = self.positional.contains(&s.dotted());
            if s.is_list() && !positional {
                notes.push("repeatable".into());
            }
            if !s.has_default() && !positional && !s.under_optional {
                notes.push("required".into());
            }
            if !notes.is_empty() {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(&format!("({})", notes.join("; ")));
            }
            text
        };
        let mut rows: Vec<(String, String)> = Vec::new();
        let positional: Vec<&Setting> = self.positional.iter().filter_map(|n| self.find(n)).collect();
        if !positional.is_empty() {
            rows.push(("arguments:".into(), String::new()));
            for s in &positional {
                rows.push((format!("  {}", s.path.last().map(|n| n.to_uppercase()).unwrap_or_default()), describe(s)));
            }
        }
        rows.push(("options:".into(), String::new()));
        for s in self.settings.iter().filter(|s| !self.positional.contains(&s.dotted()) && s.settable_by_text()) {
            let letter = self.short.iter().find(|(_, d)| **d == s.dotted()).map(|(c, _)| format!("-{c}, ")).unwrap_or_default();
            let meta = match s.inner() {
                Shape::Bool => String::new(),
                Shape::Int => " INT".into(),
                Shape::Float => " FLOAT".into(),
                Shape::List(e) | Shape::Set(e) => match **e {
                    Shape::Int => " INT".into(),
                    Shape::Float => " FLOAT".into(),
                    Shape::Enum(_) => " NAME".into(),
                    _ => " TEXT".into(),
                },
                Shape::Enum(_) => " NAME".into(),
                _ => " TEXT".into(),
            };
            rows.push((format!("  {letter}{}{meta}", s.flag()), describe(s)));
        }
        rows.push(("  -h, --help".into(), "show this help and exit".into()));
        let width = rows.iter().filter(|(l, _)| !l.ends_with(':')).map(|(l, _)| l.chars().count()).max().unwrap_or(0).min(30);
        for (left, text) in rows {
            let n = left.chars().count();
            if text.is_empty() && left.ends_with(':') {
                out.push_str(&format!("\n{left}\n")); // a heading
            } else if text.is_empty() {
                out.push_str(&format!("{left}\n"));
            } else if n > width {
                out.push_str(&format!("{left}\n{:w$}  {text}\n", "", w = width));
            } else {
                out.push_str(&format!("{left}{:pad$}  {text}\n", "", pad = width - n));
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// building the struct

/// Where a call gets its settings from, for messages.
enum Mode<'a> {
    /// `load`: the file (for messages), the variable prefix.
    Load { file: Option<&'a str>, prefix: Option<&'a str> },
    /// `parse_args`: the positional names.
    Args { positional: &'a [String] },
}

struct Build<'a> {
    desc: &'a TypeDesc,
    program: &'a Program,
    settings: &'a [Setting],
    /// Text values by dotted setting, each with where it came from (`--port`, `environment
    /// variable APP_PORT`): flags over variables.
    text: IndexMap<String, (Vec<String>, String)>,
    mode: Mode<'a>,
}

fn error(message: String) -> VmError {
    VmError::new(N2515, message)
}

impl Build<'_> {
    /// Record `k`, at `path`, from the file's `table` (when there is one) and the text values.
    fn record(&self, heap: &mut Heap, k: usize, table: Option<&toml::Table>, path: &[String]) -> R {
        let rec = &self.desc.records[k];
        let names = &self.program.types[rec.ty as usize].fields;
        if let (Some(t), Mode::Load { file, .. }) = (table, &self.mode) {
            for key in t.keys() {
                if !names.contains(key) {
                    let mut p = path.to_vec();
                    p.push(key.clone());
                    let hint = match closest(key, names.iter().map(String::as_str)) {
                        Some(n) => format!(" (did you mean `{n}`?)"),
                        None => format!(" (the settings here are {})", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")),
                    };
                    return Err(error(format!("{}: unknown setting `{}`{hint}", file.unwrap_or("the file"), p.join("."))));
                }
            }
        }
        let mut fields = noodle_vm::value::Fields::new();
        for (i, (shape, default)) in rec.fields.iter().enumerate() {
            let mut p = path.to_vec();
            p.push(names[i].clone());
            let dotted = p.join(".");
            let from_file = table.and_then(|t| t.get(&names[i]));
            let nested = record_of(shape).filter(|_| self.settings.iter().any(|s| s.path.len() > p.len() && s.path.starts_with(&p)));
            let v = if let Some(k2) = nested {
                let sub = match from_file {
                    None => None,
                    Some(toml::Value::Table(t)) => Some(t),
                    Some(_) => return Err(error(format!("{}: `{dotted}` must be a table ([{dotted}]), with the fields of `{}`", self.file(), self.desc.show(&Shape::Record(k2), self.program)))),
                };
                let mentioned = sub.is_some() || self.text.keys().any(|d| d.starts_with(&format!("{dotted}.")));
                if !mentioned && matches!(default, Some(Literal::NotLiteral)) {
                    // `db: Db = Db(url: ...)`: its settings are not literals the layers can
                    // start from
                    let ty = self.desc.show(&Shape::Record(k2), self.program);
                    return Err(error(format!("`{dotted}` defaults to `{ty}(...)` with arguments, which the settings cannot start from: give its settings (`{dotted}.FIELD`), or make the default `{ty}()`, its fields' own defaults")));
                } else if !mentioned && matches!(shape, Shape::Optional(_)) && !matches!(default, Some(Literal::Fresh)) {
                    Value::None
                } else {
                    self.record(heap, k2, sub, &p)?
                }
            } else if let Some((texts, origin)) = self.text.get(&dotted) {
                convert(heap, self.program, shape, texts, origin)?
            } else if let Some(v) = from_file {
                let file = self.file().to_string();
                let report = |_: &TypeDesc, program: &Program, at: &[Seg<'static>], what: String| {
                    let _ = program;
                    error(format!("{file}: `{dotted}{}`: {what}", show_path(at).trim_start_matches('$')))
                };
                let raw = toml_value(heap, self.program, v);
                let mut b = Builder { heap, program: self.program, desc: self.desc, path: Vec::new(), report: &report, strict: true };
                b.build(shape, raw)?
            } else {
                match default.as_ref().and_then(|lit| self.desc.default_value(heap, lit, shape)) {
                    Some(v) => v,
                    None if default.is_none() && matches!(shape, Shape::Optional(_) | Shape::None | Shape::Any) => Value::None,
                    None => return Err(self.missing(&dotted, default.is_some())),
                }
            };
            fields.push(v);
        }
        Ok(heap.alloc(Obj::Record { ty: rec.ty, fields }))
    }

    fn file(&self) -> &str {
        match self.mode {
            Mode::Load { file: Some(f), .. } => f,
            _ => "the configuration",
        }
    }

    fn missing(&self, dotted: &str, non_literal_default: bool) -> VmError {
        let why = if non_literal_default { " (its default is not a literal, so it cannot be used here)" } else { "" };
        match &self.mode {
            Mode::Args { positional } if positional.iter().any(|p| p == dotted) => error(format!("the argument {} is required{why}", dotted.to_uppercase())),
            Mode::Args { .. } => error(format!("--{} is required{why}", dotted.replace('_', "-"))),
            Mode::Load { file, prefix } => {
                let mut places = Vec::new();
                if let Some(f) = file {
                    places.push(format!("in {f}"));
                }
                if let Some(p) = prefix {
                    places.push(format!("as {}{}", p, dotted.replace('.', "__").to_uppercase()));
                }
                places.push(format!("as --{}", dotted.replace('_', "-")));
                error(format!("the setting `{dotted}` is missing{why}: give it {}", places.join(", or ")))
            }
        }
    }
}

/// A TOML value as the dynamic value `json.parse` would make of the same data (a date-time
/// becomes its RFC 3339 text).
fn toml_value(heap: &mut Heap, program: &Program, v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => heap.alloc_str(s.clone()),
        toml::Value::Integer(i) => Value::Int(*i),
        toml::Value::Float(f) => Value::Float(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => heap.alloc_str(d.to_string()),
        toml::Value::Array(items) => {
            let vals: Vec<Value> = items.iter().map(|x| toml_value(heap, program, x)).collect();
            let r = heap.alloc_ref(Obj::List(vals.into()));
            heap.set_dynamic(r);
            Value::Obj(r)
        }
        toml::Value::Table(t) => {
            let mut d = Dict::default();
            for (k, x) in t {
                let key = heap.alloc_str(k.clone());
                let val = toml_value(heap, program, x);
                let image = noodle_vm::ops::key_of(heap, program, key);
                let stored = noodle_vm::ops::stored_dict_key(&image, key);
                d.insert(image, (stored, val));
            }
            let r = heap.alloc_ref(Obj::Dict(Box::new(d)));
            heap.set_dynamic(r);
            Value::Obj(r)
        }
    }
}

/// The variant named `name`, or else the one variant whose name matches it ignoring case and
/// with `-` for `_` (`--level debug` for `Debug`, `warn-level` for `warn_level`).
pub(crate) fn variant_loosely(heap: &mut Heap, program: &Program, variants: &[u16], name: &str) -> Option<Value> {
    noodle_native::shape::variant_named(heap, program, variants, name).or_else(|| {
        let name = name.replace('-', "_");
        let found: Vec<&str> = variants.iter().map(|ty| program.types[*ty as usize].name.as_str()).filter(|n| n.eq_ignore_ascii_case(&name)).collect();
        match found[..] {
            [one] => noodle_native::shape::variant_named(heap, program, variants, one),
            _ => None,
        }
    })
}

/// The texts given for a setting of shape `s` (one, or a list's several) as its value.
fn convert(heap: &mut Heap, program: &Program, s: &Shape, texts: &[String], origin: &str) -> R {
    let one = |heap: &mut Heap, s: &Shape, t: &str| -> R {
        let bad = |what: &str| error(format!("{origin}: expected {what}, found {}", noodle_vm::fmt::str_repr(t)));
        Ok(match s {
            Shape::Str | Shape::Any => heap.alloc_str(t.to_string()),
            Shape::Int => Value::Int(t.trim().parse().map_err(|_| bad("an int"))?),
            Shape::Float => Value::Float(t.trim().parse::<f64>().ok().filter(|f| f.is_finite()).ok_or_else(|| bad("a number"))?),
            Shape::Bool => Value::Bool(match t.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => true,
                "false" | "0" | "no" | "off" => false,
                _ => return Err(bad("true or false")),
            }),
            Shape::Enum(vs) => variant_loosely(heap, program, vs, t.trim()).ok_or_else(|| {
                let names: Vec<&str> = vs.iter().map(|ty| program.types[*ty as usize].name.as_str()).collect();
                bad(&format!("one of {}", names.join(", ")))
            })?,
            _ => return Err(error(format!("{origin}: this setting cannot be given as text"))),
        })
    };
    let inner = match s {
        Shape::Optional(x) => x,
        s => s,
    };
    // an empty value for an optional that is not text (`APP_TIMEOUT=`) is `none`
    if matches!(s, Shape::Optional(_)) && !matches!(inner, Shape::Str | Shape::Any) && texts.len() == 1 && texts[0].trim().is_empty() {
        return Ok(Value::None);
    }
    match inner {
        Shape::List(e) | Shape::Set(e) => {
            let mut vals = Vec::with_capacity(texts.len());
            for t in texts {
                vals.push(one(heap, e, t)?);
            }
            let obj = match inner {
                Shape::List(_) => Obj::List(vals.into()),
                _ => {
                    let mut set = noodle_vm::value::SetMap::default();
                    for x in vals {
                        let image = noodle_vm::ops::key_of(heap, program, x);
                        set.entry(image).or_insert(x);
                    }
                    Obj::Set(Box::new(set))
                }
            };
            let r = heap.alloc_ref(obj);
            if inner.is_dynamic() {
                heap.set_dynamic(r);
            }
            Ok(Value::Obj(r))
        }
        _ => one(heap, inner, texts.last().map(String::as_str).unwrap_or("")),
    }
}

// ---------------------------------------------------------------------------------------------
// the three functions

/// The command line a struct's settings make, after checking what the program asked for
/// (these are the program's mistakes, whatever the user typed).
fn cli<'a>(settings: &'a [Setting], positional: &'a [String], short: &IndexMap<String, String>, help: &IndexMap<String, String>) -> Result<Cli<'a>, VmError> {
    for (i, name) in positional.iter().enumerate() {
        let Some(s) = settings.iter().find(|s| s.dotted() == *name && s.settable_by_text()) else {
            return Err(error(format!("positional argument `{name}` is not a field of the struct that text can give")));
        };
        if s.is_list() && i + 1 < positional.len() {
            return Err(error(format!("positional argument `{name}` is a list, which takes the rest of the arguments: it must come last")));
        }
    }
    for s in settings {
        let d = s.dotted();
        if d == "help" {
            return Err(error("a setting named `help` clashes with --help: rename the field".into()));
        }
        if let Some(base) = d.strip_prefix("no_") {
            if settings.iter().any(|o| o.dotted() == base && o.is_switch()) {
                return Err(error(format!("a setting named `{d}` clashes with --no-{} (which turns `{base}` off): rename the field", base.replace('_', "-"))));
            }
        }
    }
    for key in help.keys() {
        if !settings.iter().any(|s| s.dotted() == *key) {
            let near = closest(key, settings.iter().map(|s| s.path.join("."))
                .collect::<Vec<_>>().iter().map(String::as_str)).map(|n| format!(" (did you mean `{n}`?)")).unwrap_or_default();
            return Err(error(format!("help is given for `{key}`, which is not a setting{near}")));
        }
    }
    let mut letters = IndexMap::new();
    for (field, letter) in short {
        let mut chars = letter.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) if c.is_ascii_alphanumeric() && c != 'h' => {
                if !settings.iter().any(|s| s.dotted() == *field) {
                    return Err(error(format!("short flag -{c} is for `{field}`, which is not a setting")));
                }
                letters.insert(c, field.clone());
            }
            _ => return Err(error(format!("short flag {letter:?} for `{field}` must be one letter or digit other than h"))),
        }
    }
    Ok(Cli { settings, positional, short: letters })
}

fn program_name(ctx: &Ctx, given: Option<String>) -> String {
    given.unwrap_or_else(|| {
        let entry = ctx.program.funcs.get(ctx.program.entry as usize).map(|f| f.file as usize);
        let file = entry.and_then(|i| ctx.program.files.get(i)).map(String::as_str).unwrap_or("program");
        let name = std::path::Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or("program");
        name.to_string()
    })
}

fn struct_settings(desc: &TypeDesc, program: &Program) -> Result<(usize, Vec<Setting>), VmError> {
    let Shape::Record(k) = desc.root else {
        return Err(error(format!("settings fill a struct, not `{}`", desc.show(&desc.root, program))));
    };
    let mut out = Vec::new();
    settings(desc, program, k, &[], false, &mut out);
    Ok((k, out))
}

/// `load[T](file, env_prefix, args, exit_on_error)`.
fn load(ctx: &mut Ctx, args: &[Value]) -> R {
    let exit_on_error: bool = arg(ctx, args, 3)?;
    match load_settings(ctx, args) {
        // (N2010: the settings file could not be read, also the user's mistake)
        Err(e) if exit_on_error && (e.code == N2515 || e.code == noodle_vm::codes::N2010) => {
            let program = program_name(ctx, None);
            let text = format!("{program}: error: {}\n(run `{program} --help` for the options)\n", e.message);
            end_with(ctx, text, 2, true)
        }
        r => r,
    }
}

/// Writes `text` (on standard error when `to_err`, after what standard output holds) and ends
/// the program with `status`: `--help` and command-line mistakes.
fn end_with(ctx: &mut Ctx, text: String, status: u8, to_err: bool) -> R {
    ctx.out.flush().map_err(|e| crate::core::io_error("<stdout>", &e))?;
    let w: &mut dyn std::io::Write = if to_err { ctx.err } else { ctx.out };
    w.write_all(text.as_bytes()).and_then(|_| w.flush()).map_err(|e| crate::core::io_error(if to_err { "<stderr>" } else { "<stdout>" }, &e))?;
    Err(VmError::exit(status))
}

fn load_settings(ctx: &mut Ctx, args: &[Value]) -> R {
    let file: Option<String> = match args.first() {
        Some(Value::None) => None,
        Some(_) => Some(crate::fs::read_path(ctx, args, 0, "config.load")?.to_string()),
        None => return Err(noodle_native::bad("config.load")),
    };
    let prefix: Option<String> = arg(ctx, args, 1)?;
    let argv: Vec<String> = arg(ctx, args, 2)?;
    let desc = TypeDesc::arg(ctx.heap, ctx.program, args, 4, "config.load")?;
    let (k, settings) = struct_settings(&desc, ctx.program)?;
    let table = match &file {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| crate::core::io_error(path, &e))?;
            Some(text.parse::<toml::Table>().map_err(|e| error(toml_error(path, &text, &e)))?)
        }
    };
    let no_positional: [String; 0] = [];
    let cli = cli(&settings, &no_positional, &IndexMap::new(), &IndexMap::new())?;
    let given = cli.parse(&argv).map_err(error)?;
    if given.help {
        let text = cli.help(&program_name(ctx, None), "", &IndexMap::new(), ctx.program);
        return end_with(ctx, text, 0, false);
    }
    let mut text = IndexMap::new();
    if let Some(p) = &prefix {
        for s in settings.iter().filter(|s| s.settable_by_text()) {
            let name = s.env(p);
            if let Some(v) = crate::os::var(&name) {
                let parts = if s.is_list() { v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect() } else { vec![v] };
                text.insert(s.dotted(), (parts, format!("environment variable {name}")));
            }
        }
    }
    for (dotted, v) in given.values {
        text.insert(dotted, v);
    }
    let b = Build { desc: &desc, program: ctx.program, settings: &settings, text, mode: Mode::Load { file: file.as_deref(), prefix: prefix.as_deref() } };
    b.record(ctx.heap, k, table.as_ref(), &[])
}

/// `file: line L, column C: reason` from the parser's error (its snippet left out).
fn toml_error(path: &str, text: &str, e: &toml::de::Error) -> String {
    let reason = e.message().trim();
    match e.span() {
        Some(span) => {
            let before = text.get(..span.start).unwrap_or(text);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
            format!("{path}: line {line}, column {column}: {reason}")
        }
        None => format!("{path}: {reason}"),
    }
}

struct ArgsCall {
    argv: Vec<String>,
    program: String,
    description: String,
    positional: Vec<String>,
    help: IndexMap<String, String>,
    short: IndexMap<String, String>,
}

/// `parse_args[T](args, program, description, positional, help, short, exit_on_error)`.
fn parse_args(ctx: &mut Ctx, args: &[Value]) -> R {
    let call = ArgsCall {
        argv: arg(ctx, args, 0)?,
        program: program_name(ctx, arg(ctx, args, 1)?),
        description: arg(ctx, args, 2)?,
        positional: arg(ctx, args, 3)?,
        help: arg(ctx, args, 4)?,
        short: arg(ctx, args, 5)?,
    };
    let exit_on_error: bool = arg(ctx, args, 6)?;
    let desc = TypeDesc::arg(ctx.heap, ctx.program, args, 7, "config.parse_args")?;
    let (k, settings) = struct_settings(&desc, ctx.program)?;
    if let Some(s) = settings.iter().find(|s| !s.settable_by_text() && !s.has_default() && !s.under_optional) {
        return Err(error(format!("`{}` cannot be given on the command line (a {}): give the field a default", s.dotted(), desc.show(&s.shape, ctx.program))));
    }
    let cli = cli(&settings, &call.positional, &call.short, &call.help)?;
    let result = cli.parse(&call.argv).map_err(error).and_then(|given| {
        if given.help {
            return Ok(None);
        }
        let b = Build { desc: &desc, program: ctx.program, settings: &settings, text: given.values, mode: Mode::Args { positional: &call.positional } };
        b.record(ctx.heap, k, None, &[]).map(Some)
    });
    match result {
        Ok(Some(v)) => Ok(v),
        Ok(None) => {
            let text = cli.help(&call.program, &call.description, &call.help, ctx.program);
            end_with(ctx, text, 0, false)
        }
        Err(e) if exit_on_error => {
            let text = format!("{}\n{}: error: {}\n(run `{} --help` for the options)\n", cli.usage_line(&call.program), call.program, e.message, call.program);
            end_with(ctx, text, 2, true)
        }
        Err(e) => Err(e),
    }
}

/// `usage[T](program, description, positional, help, short)`.
fn usage(ctx: &mut Ctx, args: &[Value]) -> R {
    let program = program_name(ctx, arg(ctx, args, 0)?);
    let description: String = arg(ctx, args, 1)?;
    let positional: Vec<String> = arg(ctx, args, 2)?;
    let help: IndexMap<String, String> = arg(ctx, args, 3)?;
    let short: IndexMap<String, String> = arg(ctx, args, 4)?;
    let desc = TypeDesc::arg(ctx.heap, ctx.program, args, 5, "config.usage")?;
    let (_, settings) = struct_settings(&desc, ctx.program)?;
    let cli = cli(&settings, &positional, &short, &help)?;
    let text = cli.help(&program, &description, &help, ctx.program);
    Ok(ctx.heap.alloc_str(text))
}
