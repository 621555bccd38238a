//! `std.core`: the built-in functions (always in scope) and the methods of `str`, `bytes`,
//! `list`, `dict` and `set`. Methods receive their receiver as `args[0]`. A native never panics:
//! wrong arity or wrong value kinds, which only hand-made bytecode can produce, give N2099.

use noodle_native::{arity, as_bytes, as_dict, as_dict_mut, as_float, as_int, as_list, as_list_mut, as_set, as_set_mut, as_str, bad, simple, vec_with_capacity};
use noodle_native::{Ctx, Flow, Heap, List, Module, Obj, Value, VmError};
use noodle_vm::codes::{N2007, N2008, N2010};
use noodle_vm::fmt::{display, display_shown, displayed_records, repr_shown, str_repr, Shown};
use noodle_vm::ops::{compare, key_of, truthy, type_name, values_equal};
use noodle_vm::value::Text;

use noodle_nbc::Program;
use std::cmp::Ordering;
use std::rc::Rc;

mod callbacks;

/// The `std.core` module: the built-ins, declared in `core.noodle`.
pub fn module() -> Module {
    Module::new(noodle_native::CORE, include_str!("core.noodle"))
        .function("list.map", callbacks::list_map)
        .function("list.filter", callbacks::list_filter)
        .function("list.reduce", callbacks::list_reduce)
        .function("list.any", callbacks::list_any)
        .function("list.all", callbacks::list_all)
        .function("list.sort_by", callbacks::list_sort_by)
        .function("list.sorted_by", callbacks::list_sorted_by)
        .function("list.reversed", simple!(list_reversed))
        .function("list.zip", simple!(list_zip))
        .function("list.count", simple!(list_count))
        .function("list[bool].any", simple!(bools_any))
        .function("list[bool].all", simple!(bools_all))
        .function("str.count", simple!(str_count))
        .function("print", print)
        .function("__repl_show", repl_show)
        .function("int", simple!(int))
        .function("float", simple!(float))
        .function("bool", simple!(bool_))
        .function("abs", simple!(abs))
        .function("min", simple!(min))
        .function("max", simple!(max))
        .function("assert", simple!(assert))
        .function("type_of", simple!(type_of))
        .function("range", simple!(range))
        .function("__range_len", simple!(range_len))
        .function("bytes", simple!(to_bytes))
        .function("set", simple!(set_new))
        .function("__list_concat", simple!(list_concat))
        .function("__bytes_concat", simple!(bytes_concat))
        .function("bytes.join", simple!(bytes_join))
        .function("__list_repeat", simple!(list_repeat))
        .function("__str_repeat", simple!(str_repeat))
        .function("str.upper", simple!(str_upper))
        .function("str.lower", simple!(str_lower))
        .function("str.trim", simple!(str_trim))
        .function("str.trim_start", simple!(str_trim_start))
        .function("str.trim_end", simple!(str_trim_end))
        .function("str.split", simple!(str_split))
        .function("str.split_whitespace", simple!(str_split_whitespace))
        .function("str.lines", simple!(str_lines))
        .function("str.join", simple!(str_join))
        .function("str.contains", simple!(str_contains))
        .function("str.starts_with", simple!(str_starts_with))
        .function("str.ends_with", simple!(str_ends_with))
        .function("str.find", simple!(str_find))
        .function("str.replace", simple!(str_replace))
        .function("str.repeat", simple!(str_repeat_method))
        .function("str.chars", simple!(str_chars))
        .function("str.bytes", simple!(str_bytes))
        .function("str.is_digit", simple!(str_is_digit))
        .function("str.is_alpha", simple!(str_is_alpha))
        .function("str.is_space", simple!(str_is_space))
        .function("bytes.decode", simple!(bytes_decode))
        .function("bytes.hex", simple!(bytes_hex))
        .function("list.push", simple!(list_push))
        .function("list.pop", simple!(list_pop))
        .function("list.insert", simple!(list_insert))
        .function("list.remove_at", simple!(list_remove_at))
        .function("list.extend", simple!(list_extend))
        .function("list.contains", simple!(list_contains))
        .function("list.index_of", simple!(list_index_of))
        .function("list.reverse", simple!(list_reverse))
        .function("list.sort", simple!(list_sort))
        .function("list.sorted", simple!(list_sorted))
        .function("list.argsort", simple!(list_argsort))
        .function("list.copy", simple!(list_copy))
        .function("list.clear", simple!(list_clear))
        .function("list.enumerate", simple!(list_enumerate))
        .function("list[str].join", simple!(list_join))
        .function("list[int].sum", simple!(list_sum_int))
        .function("list[float].sum", simple!(list_sum_float))
        .function("list.min", simple!(list_min))
        .function("list.max", simple!(list_max))
        .function("list.first", simple!(list_first))
        .function("list.last", simple!(list_last))
        .function("dict.get", simple!(dict_get))
        .function("dict.contains", simple!(dict_contains))
        .function("dict.remove", simple!(dict_remove))
        .function("dict.keys", simple!(dict_keys))
        .function("dict.values", simple!(dict_values))
        .function("dict.items", simple!(dict_items))
        .function("dict.clear", simple!(dict_clear))
        .function("dict.copy", simple!(dict_copy))
        .function("set.add", simple!(set_add))
        .function("set.remove", simple!(set_remove))
        .function("set.contains", simple!(set_contains))
        .function("set.union", simple!(set_union))
        .function("set.intersection", simple!(set_intersection))
        .function("set.difference", simple!(set_difference))
        .function("set.to_list", simple!(set_to_list))
        .function("set.copy", simple!(set_copy))
        .function("set.clear", simple!(set_clear))
        .function("len", simple!(len))
        .function("str", to_str)
        .function("str.len", simple!(len))
        .function("bytes.len", simple!(len))
        .function("list.len", simple!(len))
        .function("dict.len", simple!(len))
        .function("set.len", simple!(len))
}

// ---------------------------------------------------------------------------------------------
// helpers

type R = Result<Value, VmError>;

use noodle_vm::value::{DictMap, SetMap};

fn new_list(heap: &mut Heap, items: Vec<Value>) -> Value {
    heap.alloc(Obj::List(items.into()))
}

fn new_str_list(heap: &mut Heap, parts: Vec<Text>) -> Value {
    let items: Vec<Value> = parts.into_iter().map(|p| heap.alloc(Obj::Str(p))).collect();
    heap.alloc(Obj::List(List::Values(items)))
}


/// An I/O error's text without Rust's " (os error N)" suffix.
pub(crate) fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s,
    }
}

pub(crate) fn io_error(what: &str, e: &std::io::Error) -> VmError {
    VmError::new(N2010, format!("{what}: {}", io_text(e)))
}

pub(crate) fn write_all(w: &mut dyn std::io::Write, text: &str, what: &str) -> Result<(), VmError> {
    w.write_all(text.as_bytes()).map_err(|e| io_error(what, &e))
}

pub(crate) fn push_display(heap: &Heap, program: &Program, v: Value, out: &mut String, shown: Option<&Shown>) {
    if let Value::Obj(r) = v {
        if let (Obj::Str(s), None) = (heap.get(r), shown) {
            out.push_str(s);
            return;
        }
    }
    out.push_str(&display_shown(heap, program, v, shown));
}

/// The values separated by spaces, then a newline.
pub(crate) fn print_line(heap: &Heap, program: &Program, args: &[Value], shown: Option<&Shown>) -> String {
    let mut s = String::new();
    for (i, v) in args.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        push_display(heap, program, *v, &mut s, shown);
    }
    s.push('\n');
    s
}

/// What a native that shows values does with their text (see `show_then`).
#[derive(Clone, Copy)]
pub(crate) enum Then {
    /// The REPL's echo of an expression's value (quoted, as `repr`).
    Repl,
    Print,
    Str,
    Write,
    Eprint,
}

/// Shows `args` as `then` says: first calling the `display` method of each record in them
/// whose type declares `Display` (each a call back into Noodle, one after another), then
/// formatting with those texts in their place.
pub(crate) fn show_then(ctx: &mut Ctx, args: &[Value], then: Then) -> Result<Value, Flow> {
    let todo = displayed_records(ctx.heap, ctx.program, args);
    let Some(&(r, f)) = todo.first() else {
        return finish_show(ctx, args, None, then).map_err(Flow::from);
    };
    let showing = Showing { args: args.to_vec(), todo, texts: Shown::new(), then };
    Err(ctx.call(Value::Func(f), &[Value::Obj(r)], Some(Box::new(showing))))
}

fn finish_show(ctx: &mut Ctx, args: &[Value], shown: Option<&Shown>, then: Then) -> R {
    match then {
        Then::Repl => {
            arity(args, 1, "repl_show")?;
            let mut text = repr_shown(ctx.heap, ctx.program, args[0], shown);
            text.push('\n');
            write_all(ctx.out, &text, "<stdout>")?;
            Ok(Value::None)
        }
        Then::Print | Then::Eprint => {
            let line = print_line(ctx.heap, ctx.program, args, shown);
            match then {
                Then::Print => write_all(ctx.out, &line, "<stdout>")?,
                _ => write_all(ctx.err, &line, "<stderr>")?,
            }
            Ok(Value::None)
        }
        Then::Str => {
            arity(args, 1, "str")?;
            let text = display_shown(ctx.heap, ctx.program, args[0], shown);
            Ok(ctx.heap.alloc_str(text))
        }
        Then::Write => {
            arity(args, 1, "io.write")?;
            let mut s = String::new();
            push_display(ctx.heap, ctx.program, args[0], &mut s, shown);
            write_all(ctx.out, &s, "<stdout>")?;
            Ok(Value::None)
        }
    }
}

/// `show_then` waiting for the `display` calls: the text of each in turn.
struct Showing {
    args: Vec<Value>,
    todo: Vec<(noodle_vm::value::ObjRef, u32)>,
    texts: Shown,
    then: Then,
}

impl noodle_native::Continuation for Showing {
    fn resume(&mut self, ctx: &mut Ctx, result: Value) -> Result<Value, Flow> {
        let text = as_str(ctx.heap, result, "display")?.to_string();
        let done = self.texts.len();
        self.texts.insert(self.todo[done].0 .0, text);
        match self.todo.get(done + 1) {
            Some(&(r, f)) => Err(ctx.call(Value::Func(f), &[Value::Obj(r)], None)),
            None => finish_show(ctx, &self.args, Some(&self.texts), self.then).map_err(Flow::from),
        }
    }
    fn trace(&self, found: &mut dyn FnMut(Value)) {
        self.args.iter().copied().chain(self.todo.iter().map(|(r, _)| Value::Obj(*r))).for_each(found)
    }
}

const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// Float to int for `int()` and the rounding functions: NaN and infinities fail with N2007,
/// values outside the int range with N2002.
pub(crate) fn float_to_int(f: f64, what: &str) -> Result<i64, VmError> {
    if f.is_nan() {
        return Err(VmError::new(N2007, "cannot convert nan to int"));
    }
    if f.is_infinite() {
        return Err(VmError::new(N2007, format!("cannot convert {} to int", if f > 0.0 { "inf" } else { "-inf" })));
    }
    let t = f.trunc();
    if (-TWO_63..TWO_63).contains(&t) {
        Ok(t as i64)
    } else {
        Err(VmError::overflow(what))
    }
}

// ---------------------------------------------------------------------------------------------
// built-in functions

fn print(ctx: &mut Ctx, args: &[Value]) -> Result<Value, Flow> {
    show_then(ctx, args, Then::Print)
}

fn repl_show(ctx: &mut Ctx, args: &[Value]) -> Result<Value, Flow> {
    show_then(ctx, args, Then::Repl)
}

fn int(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "int")?;
    Ok(Value::Int(match args[0] {
        Value::Int(i) => i,
        Value::Float(f) => float_to_int(f, "int()")?,
        Value::Bool(b) => b as i64,
        v => {
            let s = as_str(ctx.heap, v, "int")?;
            let t = s.trim();
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(VmError::new(N2007, format!("cannot convert {} to int", str_repr(s))));
            }
            t.parse::<i64>().map_err(|_| VmError::overflow("int()"))?
        }
    }))
}

fn float(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "float")?;
    Ok(Value::Float(match args[0] {
        Value::Int(i) => i as f64,
        Value::Float(f) => f,
        Value::Bool(b) => b as i64 as f64,
        v => {
            let s = as_str(ctx.heap, v, "float")?;
            let t = s.trim();
            // Rust's parser accepts what Python's float() does (inf, nan, 1e5, .5), except
            // underscores, which Noodle does not accept in strings either.
            t.parse::<f64>().map_err(|_| VmError::new(N2007, format!("cannot convert {} to float", str_repr(s))))?
        }
    }))
}

fn bool_(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "bool")?;
    Ok(Value::Bool(truthy(ctx.heap, args[0])))
}

fn abs(_ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "abs")?;
    match args[0] {
        Value::Int(i) => i.checked_abs().map(Value::Int).ok_or_else(|| VmError::overflow("abs")),
        Value::Float(f) => Ok(Value::Float(f.abs())),
        _ => Err(bad("abs")),
    }
}

/// The smaller (or larger) of two values; the first one on ties. Numbers follow Python (a NaN
/// argument is not an error), an int and a float give a float; other values use `compare`.
fn pick(heap: &Heap, program: &Program, a: Value, b: Value, want_max: bool) -> R {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(Value::Int(if want_max { x.max(y) } else { x.min(y) })),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
            let (x, y) = (as_float(a, "min")?, as_float(b, "min")?);
            let take_b = if want_max { y > x } else { y < x };
            Ok(Value::Float(if take_b { y } else { x }))
        }
        _ => {
            let o = compare(heap, program, b, a)?;
            let take_b = if want_max { o == Ordering::Greater } else { o == Ordering::Less };
            Ok(if take_b { b } else { a })
        }
    }
}

fn min(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "min")?;
    pick(ctx.heap, ctx.program, args[0], args[1], false)
}

fn max(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "max")?;
    pick(ctx.heap, ctx.program, args[0], args[1], true)
}

fn assert(ctx: &mut Ctx, args: &[Value]) -> R {
    if args.is_empty() || args.len() > 2 {
        return Err(bad("assert"));
    }
    if truthy(ctx.heap, args[0]) {
        return Ok(Value::None);
    }
    let msg = match args.get(1) {
        Some(Value::None) | None => "assertion failed".to_string(),
        Some(&m) => display(ctx.heap, ctx.program, m),
    };
    Err(VmError::new(N2008, msg))
}

/// `len(x)` (the language compiles it to an instruction; this is the same, as a function).
fn len(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "len")?;
    let Value::Obj(r) = args[0] else { return Err(bad("len")) };
    let n = match ctx.heap.get(r) {
        Obj::Str(s) => s.chars().count(),
        Obj::Bytes(b) => b.len(),
        Obj::List(v) => v.len(),
        Obj::Tuple(v) => v.len(),
        Obj::Dict(d) => d.len(),
        Obj::Set(s) => s.len(),
        Obj::Native(n) => match n.len() {
            Some(r) => r?,
            None => return Err(bad("len")),
        },
        _ => return Err(bad("len")),
    };
    Ok(Value::Int(n as i64))
}

/// `str(x)` (an instruction too, `ToStr`, for values that cannot show through a `display`
/// method): what `print` shows.
fn to_str(ctx: &mut Ctx, args: &[Value]) -> Result<Value, Flow> {
    show_then(ctx, args, Then::Str)
}

fn type_of(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "type_of")?;
    let name = type_name(ctx.heap, ctx.program, args[0]);
    Ok(ctx.heap.alloc_str(name))
}

/// `range(...)`'s first value, step and number of values.
fn range_spec(args: &[Value]) -> Result<(i128, i128, i128), VmError> {
    let n = |i: usize| as_int(args[i], "range");
    let (start, stop, step) = match args.len() {
        1 => (0, n(0)?, 1),
        2 => (n(0)?, n(1)?, 1),
        3 => (n(0)?, n(1)?, n(2)?),
        _ => return Err(bad("range")),
    };
    if step == 0 {
        return Err(VmError::arg("range step cannot be zero"));
    }
    let (start, stop, step) = (start as i128, stop as i128, step as i128);
    let len = if step > 0 && start < stop {
        (stop - start + step - 1) / step
    } else if step < 0 && start > stop {
        (start - stop - step - 1) / -step
    } else {
        0
    };
    Ok((start, step, len))
}

/// `__range_len(start, stop, step)`: how many values `for x in range(start, stop, step)`
/// counts through, without making the list (N2011 for a zero step, as `range`).
fn range_len(_: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "range")?;
    let (_, _, len) = range_spec(args)?;
    // at most 2^64 / 1 values, and an int holds fewer: past i64::MAX the loop is endless anyway
    Ok(Value::Int(i64::try_from(len).unwrap_or(i64::MAX)))
}

/// `bytes(x)`: a list of ints, each a byte, or a str's UTF-8 (or a copy of bytes).
fn to_bytes(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "bytes")?;
    let data: Vec<u8> = if let Ok(s) = as_str(ctx.heap, args[0], "bytes") {
        s.as_bytes().to_vec()
    } else if let Ok(b) = noodle_native::as_bytes(ctx.heap, args[0], "bytes") {
        b.to_vec()
    } else {
        {
            let items = as_list(ctx.heap, args[0], "bytes")?;
            let mut out = vec_with_capacity(items.len(), "bytes")?;
            for (i, v) in items.iter().enumerate() {
                let n = as_int(v, "bytes")?;
                out.push(u8::try_from(n).map_err(|_| VmError::arg(format!("bytes: {n} at index {i} is not a byte (0 to 255)")))?);
            }
            out
        }
    };
    Ok(ctx.heap.alloc(Obj::Bytes(data.into())))
}

fn range(ctx: &mut Ctx, args: &[Value]) -> R {
    let (start, step, len) = range_spec(args)?;
    let len = usize::try_from(len).map_err(|_| VmError::arg("range is too large"))?;
    let mut items = vec_with_capacity(len, "range")?;
    let mut x = start;
    for _ in 0..len {
        items.push(x as i64);
        x += step;
    }
    Ok(ctx.heap.alloc(Obj::List(List::Ints(items))))
}

fn set_new(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "set_new")?;
    Ok(ctx.heap.alloc(Obj::Set(Box::default())))
}

fn list_concat(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "list_concat")?;
    let a = as_list(ctx.heap, args[0], "list_concat")?;
    let b = as_list(ctx.heap, args[1], "list_concat")?;
    let items = a.concat(b).ok_or_else(|| VmError::arg("list is too large"))?;
    Ok(ctx.heap.alloc(Obj::List(items)))
}

/// `a + b` of two `bytes` (N2011 past the memory the process can get).
fn bytes_concat(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "bytes_concat")?;
    let a = noodle_native::as_bytes(ctx.heap, args[0], "bytes_concat")?;
    let b = noodle_native::as_bytes(ctx.heap, args[1], "bytes_concat")?;
    let mut out: Vec<u8> = Vec::new();
    out.try_reserve_exact(a.len() + b.len()).map_err(|_| VmError::arg("bytes is too large"))?;
    out.extend_from_slice(a);
    out.extend_from_slice(b);
    Ok(ctx.heap.alloc(Obj::Bytes(out.into())))
}

/// `sep.join(parts)` for bytes: one allocation of the final size (N2011 past the memory the
/// process can get).
fn bytes_join(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "bytes.join")?;
    let sep = noodle_native::as_bytes(ctx.heap, args[0], "bytes.join")?;
    let parts = as_list(ctx.heap, args[1], "bytes.join")?;
    let mut total = sep.len().saturating_mul(parts.len().saturating_sub(1));
    for v in parts.iter() {
        total = total.saturating_add(noodle_native::as_bytes(ctx.heap, v, "bytes.join")?.len());
    }
    let mut out: Vec<u8> = Vec::new();
    out.try_reserve_exact(total).map_err(|_| VmError::arg("bytes is too large"))?;
    for (i, v) in parts.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(noodle_native::as_bytes(ctx.heap, v, "bytes.join")?);
    }
    Ok(ctx.heap.alloc(Obj::Bytes(out.into())))
}

/// `(x, n)` or `(n, x)`: the repeated value and the count.
fn repeat_args(args: &[Value], name: &str) -> Result<(Value, i64), VmError> {
    arity(args, 2, name)?;
    match (args[0], args[1]) {
        (Value::Int(n), x @ Value::Obj(_)) | (x @ Value::Obj(_), Value::Int(n)) => Ok((x, n)),
        _ => Err(bad(name)),
    }
}

fn list_repeat(ctx: &mut Ctx, args: &[Value]) -> R {
    let (l, n) = repeat_args(args, "list_repeat")?;
    let src = as_list(ctx.heap, l, "list_repeat")?;
    let n = n.max(0) as usize;
    let items = src.repeat(n).ok_or_else(|| VmError::arg("repeated list is too large"))?;
    Ok(ctx.heap.alloc(Obj::List(items)))
}

fn repeat_str(ctx: &mut Ctx, s: Value, n: i64, name: &str) -> R {
    let text = as_str(ctx.heap, s, name)?;
    let n = n.max(0) as usize;
    let total = text.len().checked_mul(n).ok_or_else(|| VmError::arg("repeated string is too large"))?;
    if total == 0 {
        return Ok(ctx.heap.alloc_str(""));
    }
    let mut out = String::new();
    out.try_reserve_exact(total).map_err(|_| VmError::arg("repeated string is too large"))?;
    for _ in 0..n {
        out.push_str(text);
    }
    // the string value is a copy: its memory is probed first, as `out` is still held
    let value = Text::try_from_str(&out).ok_or_else(|| VmError::arg("repeated string is too large: there is not enough memory for it"))?;
    drop(out);
    Ok(ctx.heap.alloc_str(value))
}

fn str_repeat(ctx: &mut Ctx, args: &[Value]) -> R {
    let (s, n) = repeat_args(args, "str_repeat")?;
    repeat_str(ctx, s, n, "str_repeat")
}

// ---------------------------------------------------------------------------------------------
// str

fn str_map(ctx: &mut Ctx, args: &[Value], name: &str, f: fn(&str) -> String) -> R {
    arity(args, 1, name)?;
    let s = f(as_str(ctx.heap, args[0], name)?);
    Ok(ctx.heap.alloc_str(s))
}

/// A substring of the receiver: the same object when nothing was cut off.
fn str_slice_fn(ctx: &mut Ctx, args: &[Value], name: &str, f: fn(&str) -> &str) -> R {
    arity(args, 1, name)?;
    let s = as_str(ctx.heap, args[0], name)?;
    let t = f(s);
    if t.len() == s.len() {
        return Ok(args[0]);
    }
    let t = Text::from(t);
    Ok(ctx.heap.alloc(Obj::Str(t)))
}

fn str_upper(ctx: &mut Ctx, args: &[Value]) -> R {
    str_map(ctx, args, "str.upper", str::to_uppercase)
}

fn str_lower(ctx: &mut Ctx, args: &[Value]) -> R {
    str_map(ctx, args, "str.lower", str::to_lowercase)
}

fn str_trim(ctx: &mut Ctx, args: &[Value]) -> R {
    str_slice_fn(ctx, args, "str.trim", str::trim)
}

fn str_trim_start(ctx: &mut Ctx, args: &[Value]) -> R {
    str_slice_fn(ctx, args, "str.trim_start", str::trim_start)
}

fn str_trim_end(ctx: &mut Ctx, args: &[Value]) -> R {
    str_slice_fn(ctx, args, "str.trim_end", str::trim_end)
}

fn str_split(ctx: &mut Ctx, args: &[Value]) -> R {
    if args.len() != 2 && args.len() != 3 {
        return Err(bad("str.split"));
    }
    let s = as_str(ctx.heap, args[0], "str.split")?;
    let sep = as_str(ctx.heap, args[1], "str.split")?;
    if sep.is_empty() {
        return Err(VmError::arg("empty separator"));
    }
    let parts: Vec<Text> = match args.get(2) {
        // at most `limit` splits: `limit + 1` parts, the last one the rest of the text
        Some(&l) => {
            let limit = as_int(l, "str.split")?;
            if limit < 0 {
                return Err(VmError::arg(format!("split: the limit must not be negative, got {limit}")));
            }
            s.splitn((limit as usize).saturating_add(1), sep).map(Text::from).collect()
        }
        None => s.split(sep).map(Text::from).collect(),
    };
    Ok(new_str_list(ctx.heap, parts))
}

/// How many times `sub` occurs in the text, not overlapping (N2011 for an empty `sub`).
fn str_count(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "str.count")?;
    let s = as_str(ctx.heap, args[0], "str.count")?;
    let sub = as_str(ctx.heap, args[1], "str.count")?;
    if sub.is_empty() {
        return Err(VmError::arg("count: the text to count must not be empty"));
    }
    Ok(Value::Int(s.matches(sub).count() as i64))
}

fn str_split_whitespace(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "str.split_whitespace")?;
    let s = as_str(ctx.heap, args[0], "str.split_whitespace")?;
    let parts: Vec<Text> = s.split_whitespace().map(Text::from).collect();
    Ok(new_str_list(ctx.heap, parts))
}

/// Python's `str.splitlines()`: splits at `\n`, `\r\n`, `\r`, `\v`, `\f`, `\x1c`-`\x1e`,
/// `\x85`, U+2028 and U+2029; a final line break does not start another line.
fn split_lines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = s.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        match c {
            '\n' | '\x0b' | '\x0c' | '\x1c' | '\x1d' | '\x1e' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            '\r' => {
                out.push(&s[start..i]);
                start = i + 1;
                if let Some(&(_, '\n')) = it.peek() {
                    it.next();
                    start += 1;
                }
            }
            _ => {}
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

fn str_lines(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "str.lines")?;
    let s = as_str(ctx.heap, args[0], "str.lines")?;
    let parts: Vec<Text> = split_lines(s).into_iter().map(Text::from).collect();
    Ok(new_str_list(ctx.heap, parts))
}

fn join(heap: &Heap, items: &List, sep: &str, name: &str) -> Result<String, VmError> {
    let mut out = String::new();
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(as_str(heap, v, name)?);
    }
    Ok(out)
}

fn str_join(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "str.join")?;
    let sep = as_str(ctx.heap, args[0], "str.join")?;
    let items = as_list(ctx.heap, args[1], "str.join")?;
    let s = join(ctx.heap, items, sep, "str.join")?;
    Ok(ctx.heap.alloc_str(s))
}

fn str_pred2(ctx: &mut Ctx, args: &[Value], name: &str, f: fn(&str, &str) -> bool) -> R {
    arity(args, 2, name)?;
    let s = as_str(ctx.heap, args[0], name)?;
    let t = as_str(ctx.heap, args[1], name)?;
    Ok(Value::Bool(f(s, t)))
}

fn str_contains(ctx: &mut Ctx, args: &[Value]) -> R {
    str_pred2(ctx, args, "str.contains", |s, t| s.contains(t))
}

fn str_starts_with(ctx: &mut Ctx, args: &[Value]) -> R {
    str_pred2(ctx, args, "str.starts_with", |s, t| s.starts_with(t))
}

fn str_ends_with(ctx: &mut Ctx, args: &[Value]) -> R {
    str_pred2(ctx, args, "str.ends_with", |s, t| s.ends_with(t))
}

fn str_find(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "str.find")?;
    let s = as_str(ctx.heap, args[0], "str.find")?;
    let t = as_str(ctx.heap, args[1], "str.find")?;
    Ok(match s.find(t) {
        Some(b) => Value::Int(s[..b].chars().count() as i64),
        None => Value::None,
    })
}

fn str_replace(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "str.replace")?;
    let s = as_str(ctx.heap, args[0], "str.replace")?;
    let a = as_str(ctx.heap, args[1], "str.replace")?;
    let b = as_str(ctx.heap, args[2], "str.replace")?;
    if !a.is_empty() && !s.contains(a) {
        return Ok(args[0]);
    }
    // Guard the size first: replacing "" inserts `b` between every two characters.
    let count = if a.is_empty() { s.chars().count() + 1 } else { s.matches(a).count() };
    let grow = b.len().saturating_sub(a.len()).checked_mul(count).and_then(|g| g.checked_add(s.len()));
    if grow.is_none_or(|n| n > isize::MAX as usize / 2) {
        return Err(VmError::arg("replaced string is too large"));
    }
    let r = s.replace(a, b);
    Ok(ctx.heap.alloc_str(r))
}

fn str_repeat_method(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "str.repeat")?;
    let n = as_int(args[1], "str.repeat")?;
    if n < 0 {
        return Err(VmError::arg("repeat count cannot be negative"));
    }
    repeat_str(ctx, args[0], n, "str.repeat")
}

fn str_chars(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "str.chars")?;
    let s = as_str(ctx.heap, args[0], "str.chars")?;
    let mut buf = [0u8; 4];
    let parts: Vec<Text> = s.chars().map(|c| Text::from(&*c.encode_utf8(&mut buf))).collect();
    Ok(new_str_list(ctx.heap, parts))
}

fn str_bytes(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "str.bytes")?;
    let b: Rc<[u8]> = as_str(ctx.heap, args[0], "str.bytes")?.as_bytes().into();
    Ok(ctx.heap.alloc(Obj::Bytes(b)))
}

fn str_all(ctx: &mut Ctx, args: &[Value], name: &str, f: fn(char) -> bool) -> R {
    arity(args, 1, name)?;
    let s = as_str(ctx.heap, args[0], name)?;
    Ok(Value::Bool(!s.is_empty() && s.chars().all(f)))
}

fn str_is_digit(ctx: &mut Ctx, args: &[Value]) -> R {
    str_all(ctx, args, "str.is_digit", |c| c.is_ascii_digit())
}

fn str_is_alpha(ctx: &mut Ctx, args: &[Value]) -> R {
    str_all(ctx, args, "str.is_alpha", char::is_alphabetic)
}

fn str_is_space(ctx: &mut Ctx, args: &[Value]) -> R {
    str_all(ctx, args, "str.is_space", char::is_whitespace)
}

// ---------------------------------------------------------------------------------------------
// bytes

fn bytes_decode(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "bytes.decode")?;
    let b = as_bytes(ctx.heap, args[0], "bytes.decode")?;
    let s = Text::from(std::str::from_utf8(b).map_err(|_| VmError::new(N2007, "invalid UTF-8 in bytes"))?);
    Ok(ctx.heap.alloc(Obj::Str(s)))
}

/// `b` as lowercase hex, two digits a byte (`bytes.hex`, `encoding.hex_encode`, tokens and
/// temporary names).
pub(crate) fn hex(b: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
    s
}

fn bytes_hex(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "bytes.hex")?;
    let s = hex(as_bytes(ctx.heap, args[0], "bytes.hex")?);
    Ok(ctx.heap.alloc_str(s))
}

// ---------------------------------------------------------------------------------------------
// list

/// N2011 for a list that cannot grow: the memory for it cannot be had.
fn list_too_large() -> VmError {
    VmError::arg("the list is too large: there is not enough memory for it")
}

fn list_push(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "list.push")?;
    let l = as_list_mut(ctx.heap, args[0], "list.push")?;
    if !l.try_reserve(1) {
        return Err(list_too_large());
    }
    l.push(args[1]);
    Ok(Value::None)
}

fn list_pop(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list.pop")?;
    as_list_mut(ctx.heap, args[0], "list.pop")?.pop().ok_or_else(|| VmError::arg("pop from an empty list"))
}

fn list_insert(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "list.insert")?;
    let i = as_int(args[1], "list.insert")?;
    let l = as_list_mut(ctx.heap, args[0], "list.insert")?;
    let len = l.len() as i64;
    let at = if i < 0 { (i + len).max(0) } else { i.min(len) };
    if !l.try_reserve(1) {
        return Err(list_too_large());
    }
    l.insert(at as usize, args[2]);
    Ok(Value::None)
}

fn list_remove_at(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "list.remove_at")?;
    let i = as_int(args[1], "list.remove_at")?;
    let l = as_list_mut(ctx.heap, args[0], "list.remove_at")?;
    let len = l.len();
    let at = if i < 0 { i.checked_add(len as i64) } else { Some(i) };
    match at {
        Some(at) if at >= 0 && (at as u64) < len as u64 => Ok(l.remove(at as usize)),
        _ => Err(VmError::index(i, len)),
    }
}

fn list_extend(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "list.extend")?;
    // a copy (the source may be the list itself), made fallibly as the growth is
    let items = as_list(ctx.heap, args[1], "list.extend")?.try_clone().ok_or_else(list_too_large)?;
    let l = as_list_mut(ctx.heap, args[0], "list.extend")?;
    if l.is_empty() {
        *l = items;
        return Ok(Value::None);
    }
    if !l.try_reserve(items.len()) {
        return Err(list_too_large());
    }
    l.extend_from(&items);
    Ok(Value::None)
}

fn position(ctx: &Ctx, args: &[Value], name: &str) -> Result<Option<usize>, VmError> {
    arity(args, 2, name)?;
    let l = as_list(ctx.heap, args[0], name)?;
    Ok(match l.position_unboxed(args[1]) {
        Some(at) => at,
        None => l.iter().position(|v| values_equal(ctx.heap, ctx.program, v, args[1])),
    })
}

fn list_contains(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Bool(position(ctx, args, "list.contains")?.is_some()))
}

fn list_index_of(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(position(ctx, args, "list.index_of")?.map_or(Value::None, |i| Value::Int(i as i64)))
}

fn bools_any(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list[bool].any")?;
    Ok(Value::Bool(match as_list(ctx.heap, args[0], "list[bool].any")? {
        List::Bools(v) => v.contains(&true),
        l => l.iter().any(|v| matches!(v, Value::Bool(true))),
    }))
}

fn bools_all(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list[bool].all")?;
    Ok(Value::Bool(match as_list(ctx.heap, args[0], "list[bool].all")? {
        List::Bools(v) => !v.contains(&false),
        l => l.iter().all(|v| matches!(v, Value::Bool(true))),
    }))
}

fn list_count(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "list.count")?;
    let l = as_list(ctx.heap, args[0], "list.count")?;
    Ok(Value::Int(match (l, args[1]) {
        (List::Ints(v), Value::Int(x)) => v.iter().filter(|y| **y == x).count(),
        (List::Bools(v), Value::Bool(x)) => v.iter().filter(|y| **y == x).count(),
        _ => l.iter().filter(|v| values_equal(ctx.heap, ctx.program, *v, args[1])).count(),
    } as i64))
}

fn list_reversed(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list.reversed")?;
    let mut items = as_list(ctx.heap, args[0], "list.reversed")?.clone();
    items.reverse();
    Ok(ctx.heap.alloc(Obj::List(items)))
}

/// Pairs of the elements at the same index, as long as the shorter list.
fn list_zip(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "list.zip")?;
    let a = as_list(ctx.heap, args[0], "list.zip")?.to_vec();
    let b = as_list(ctx.heap, args[1], "list.zip")?.to_vec();
    let pairs = a.into_iter().zip(b).map(|(x, y)| ctx.heap.alloc(Obj::Tuple(noodle_vm::value::Fields::from_slice(&[x, y])))).collect();
    Ok(new_list(ctx.heap, pairs))
}

fn list_reverse(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list.reverse")?;
    as_list_mut(ctx.heap, args[0], "list.reverse")?.reverse();
    Ok(Value::None)
}

/// A stable merge sort with a comparison that can fail; the first error stops it. (The standard
/// library's sorts may panic when a comparison is inconsistent, which an aborted comparison
/// would be.)
fn merge_sort<T: Copy>(v: &mut [T], cmp: &mut dyn FnMut(T, T) -> Result<Ordering, VmError>) -> Result<(), VmError> {
    const RUN: usize = 16;
    let n = v.len();
    for start in (0..n).step_by(RUN) {
        let end = (start + RUN).min(n);
        for i in start + 1..end {
            let x = v[i];
            let mut j = i;
            while j > start && cmp(v[j - 1], x)? == Ordering::Greater {
                v[j] = v[j - 1];
                j -= 1;
            }
            v[j] = x;
        }
    }
    if n <= RUN {
        return Ok(());
    }
    let mut a: Vec<T> = v.to_vec();
    let mut b: Vec<T> = a.clone();
    let mut width = RUN;
    while width < n {
        let mut lo = 0;
        while lo < n {
            let mid = (lo + width).min(n);
            let hi = (lo + 2 * width).min(n);
            let (mut i, mut j, mut k) = (lo, mid, lo);
            while i < mid && j < hi {
                if cmp(a[j], a[i])? == Ordering::Less {
                    b[k] = a[j];
                    j += 1;
                } else {
                    b[k] = a[i];
                    i += 1;
                }
                k += 1;
            }
            b[k..k + (mid - i)].copy_from_slice(&a[i..mid]);
            k += mid - i;
            b[k..k + (hi - j)].copy_from_slice(&a[j..hi]);
            lo = hi;
        }
        std::mem::swap(&mut a, &mut b);
        width *= 2;
    }
    v.copy_from_slice(&a);
    Ok(())
}

/// The order that sorts `items` stably, as indices.
fn sort_order(heap: &Heap, program: &Program, items: &[Value]) -> Result<Vec<usize>, VmError> {
    // Fast paths for the common homogeneous lists: (key, index) pairs sorted in place, the
    // index breaking ties, so an unstable sort gives the stable order (and reads memory in
    // order, where sorting indexes by a key looked up elsewhere did not).
    if let Some(keys) = items.iter().map(|v| if let Value::Int(k) = v { Some(*k) } else { None }).collect::<Option<Vec<i64>>>() {
        return Ok(int_order(&keys));
    }
    if let Some(mut pairs) = items.iter().enumerate().map(|(i, v)| if let Value::Float(f) = v { (!f.is_nan()).then_some((*f, i)) } else { None }).collect::<Option<Vec<(f64, usize)>>>() {
        pairs.sort_unstable_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal).then(a.1.cmp(&b.1)));
        return Ok(pairs.into_iter().map(|(_, i)| i).collect());
    }
    let mut idx: Vec<usize> = (0..items.len()).collect();
    let strs: Option<Vec<&str>> = items
        .iter()
        .map(|v| match v {
            Value::Obj(r) => match heap.get(*r) {
                Obj::Str(s) => Some(&**s),
                _ => None,
            },
            _ => None,
        })
        .collect();
    if let Some(strs) = strs {
        idx.sort_by(|&i, &j| strs[i].cmp(strs[j]));
        return Ok(idx);
    }
    merge_sort(&mut idx, &mut |i, j| compare(heap, program, items[i], items[j]))?;
    Ok(idx)
}

/// The stable sorting order of int keys: a radix sort (least significant digit first, so
/// stable) for long lists, skipping the digits all keys share; a comparison sort of (key,
/// index) pairs for short ones.
fn int_order(keys: &[i64]) -> Vec<usize> {
    let n = keys.len();
    if n < 512 || n > u32::MAX as usize {
        let mut pairs: Vec<(i64, usize)> = keys.iter().copied().zip(0..).collect();
        pairs.sort_unstable();
        return pairs.into_iter().map(|(_, i)| i).collect();
    }
    const BITS: u32 = 11;
    const BUCKETS: usize = 1 << BITS;
    const DIGITS: usize = 64usize.div_ceil(BITS as usize);
    // sorted by their distance from the smallest key: only as many digits as the range needs
    let (lo, hi) = keys.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &k| (lo.min(k), hi.max(k)));
    let mut a: Vec<(u64, u32)> = keys.iter().zip(0u32..).map(|(&k, i)| (k.wrapping_sub(lo) as u64, i)).collect();
    let varying = 64 - (hi.wrapping_sub(lo) as u64).leading_zeros() as usize;
    let digits = varying.div_ceil(BITS as usize).min(DIGITS);
    // those digits' counts in one pass
    let mut counts = vec![[0usize; BUCKETS]; digits];
    for &(k, _) in &a {
        for (d, count) in counts.iter_mut().enumerate() {
            count[((k >> (d as u32 * BITS)) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    let mut b = vec![(0u64, 0u32); n];
    for (d, count) in counts.iter_mut().enumerate() {
        // a digit every key shares orders nothing
        if count.contains(&n) {
            continue;
        }
        let shift = d as u32 * BITS;
        let mut sum = 0;
        for c in count.iter_mut() {
            let here = *c;
            *c = sum;
            sum += here;
        }
        for &(k, i) in &a {
            let digit = ((k >> shift) as usize) & (BUCKETS - 1);
            b[count[digit]] = (k, i);
            count[digit] += 1;
        }
        std::mem::swap(&mut a, &mut b);
    }
    a.into_iter().map(|(_, i)| i as usize).collect()
}

fn sorted_values(heap: &Heap, program: &Program, items: &[Value]) -> Result<Vec<Value>, VmError> {
    Ok(sort_order(heap, program, items)?.into_iter().map(|i| items[i]).collect())
}

fn list_sort(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list.sort")?;
    if as_list_mut(ctx.heap, args[0], "list.sort")?.sort_unboxed() {
        return Ok(Value::None);
    }
    let items = as_list(ctx.heap, args[0], "list.sort")?;
    let sorted = sorted_values(ctx.heap, ctx.program, &items.values())?;
    as_list_mut(ctx.heap, args[0], "list.sort")?.replace(sorted);
    Ok(Value::None)
}

fn list_sorted(ctx: &mut Ctx, args: &[Value]) -> R {
    if args.is_empty() || args.len() > 2 {
        return Err(bad("list.sorted"));
    }
    let reverse = matches!(args.get(1), Some(Value::Bool(true)));
    let items = as_list(ctx.heap, args[0], "list.sorted")?;
    let mut copy = items.clone();
    if reverse {
        // descending and stable: equal elements keep their order
        copy.reverse();
    }
    if !copy.sort_unboxed() {
        let sorted = sorted_values(ctx.heap, ctx.program, &copy.values())?;
        copy.replace(sorted);
    }
    if reverse {
        copy.reverse();
    }
    Ok(ctx.heap.alloc(Obj::List(copy)))
}

fn list_argsort(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list.argsort")?;
    let items = as_list(ctx.heap, args[0], "list.argsort")?;
    let order = sort_order(ctx.heap, ctx.program, &items.values())?;
    Ok(new_list(ctx.heap, order.into_iter().map(|i| Value::Int(i as i64)).collect()))
}

fn list_copy(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list.copy")?;
    let items = as_list(ctx.heap, args[0], "list.copy")?.clone();
    Ok(ctx.heap.alloc(Obj::List(items)))
}

fn list_clear(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list.clear")?;
    as_list_mut(ctx.heap, args[0], "list.clear")?.clear();
    Ok(Value::None)
}

fn list_enumerate(ctx: &mut Ctx, args: &[Value]) -> R {
    if args.is_empty() || args.len() > 2 {
        return Err(bad("list.enumerate"));
    }
    let start = match args.get(1) {
        None | Some(Value::None) => 0,
        Some(&v) => as_int(v, "list.enumerate")?,
    };
    let items = as_list(ctx.heap, args[0], "list.enumerate")?.to_vec();
    if items.len() > 0 && start.checked_add(items.len() as i64 - 1).is_none() {
        return Err(VmError::overflow("enumerate"));
    }
    let pairs = items.into_iter().enumerate().map(|(i, v)| ctx.heap.alloc(Obj::Tuple(noodle_vm::value::Fields::from_slice(&[Value::Int(start + i as i64), v])))).collect();
    Ok(new_list(ctx.heap, pairs))
}

fn list_join(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "list.join")?;
    let items = as_list(ctx.heap, args[0], "list.join")?;
    let sep = as_str(ctx.heap, args[1], "list.join")?;
    let s = join(ctx.heap, items, sep, "list.join")?;
    Ok(ctx.heap.alloc_str(s))
}

fn list_sum_int(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list.sum_int")?;
    let mut total: i64 = 0;
    if let List::Ints(v) = as_list(ctx.heap, args[0], "list.sum_int")? {
        let total = v.iter().try_fold(0i64, |t, x| t.checked_add(*x)).ok_or_else(|| VmError::overflow("sum"))?;
        return Ok(Value::Int(total));
    }
    for v in as_list(ctx.heap, args[0], "list.sum_int")? {
        total = total.checked_add(as_int(v, "list.sum_int")?).ok_or_else(|| VmError::overflow("sum"))?;
    }
    Ok(Value::Int(total))
}

fn list_sum_float(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list.sum_float")?;
    let mut total = 0.0;
    for v in as_list(ctx.heap, args[0], "list.sum_float")? {
        total += as_float(v, "list.sum_float")?;
    }
    Ok(Value::Float(total))
}

fn list_extreme(ctx: &mut Ctx, args: &[Value], name: &str, want_max: bool) -> R {
    arity(args, 1, name)?;
    let items = as_list(ctx.heap, args[0], name)?;
    let mut rest = items.iter();
    let Some(first) = rest.next() else {
        return Err(VmError::arg(format!("{} of an empty list", if want_max { "max" } else { "min" })));
    };
    let mut best = first;
    for v in rest {
        best = pick(ctx.heap, ctx.program, best, v, want_max)?;
    }
    Ok(best)
}

fn list_min(ctx: &mut Ctx, args: &[Value]) -> R {
    list_extreme(ctx, args, "list.min", false)
}

fn list_max(ctx: &mut Ctx, args: &[Value]) -> R {
    list_extreme(ctx, args, "list.max", true)
}

fn list_first(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list.first")?;
    Ok(as_list(ctx.heap, args[0], "list.first")?.first().unwrap_or(Value::None))
}

fn list_last(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "list.last")?;
    Ok(as_list(ctx.heap, args[0], "list.last")?.last().unwrap_or(Value::None))
}

// ---------------------------------------------------------------------------------------------
// dict

fn dict_get(ctx: &mut Ctx, args: &[Value]) -> R {
    if args.len() != 2 && args.len() != 3 {
        return Err(bad("dict.get"));
    }
    let d = as_dict(ctx.heap, args[0], "dict.get")?;
    Ok(match noodle_vm::ops::dict_position(ctx.heap, ctx.program, d, args[1]) {
        Ok(i) => d[i].1,
        Err(_) => args.get(2).copied().unwrap_or(Value::None),
    })
}

fn dict_contains(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "dict.contains")?;
    let d = as_dict(ctx.heap, args[0], "dict.contains")?;
    Ok(Value::Bool(noodle_vm::ops::dict_position(ctx.heap, ctx.program, d, args[1]).is_ok()))
}

fn dict_remove(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "dict.remove")?;
    let key = key_of(ctx.heap, ctx.program, args[1]);
    Ok(as_dict_mut(ctx.heap, args[0], "dict.remove")?.shift_remove(&key).map_or(Value::None, |(_, v)| v))
}

fn dict_keys(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "dict.keys")?;
    as_dict(ctx.heap, args[0], "dict.keys")?;
    let Value::Obj(d) = args[0] else { return Err(bad("dict.keys")) };
    let keys = noodle_vm::ops::dict_keys(ctx.heap, d);
    Ok(new_list(ctx.heap, keys))
}

fn dict_values(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "dict.values")?;
    let values = as_dict(ctx.heap, args[0], "dict.values")?.values().map(|&(_, v)| v).collect();
    Ok(new_list(ctx.heap, values))
}

fn dict_items(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "dict.items")?;
    let values: Vec<Value> = as_dict(ctx.heap, args[0], "dict.items")?.values().map(|&(_, v)| v).collect();
    let Value::Obj(d) = args[0] else { return Err(bad("dict.items")) };
    let pairs: Vec<(Value, Value)> = noodle_vm::ops::dict_keys(ctx.heap, d).into_iter().zip(values).collect();
    let items = pairs.into_iter().map(|(k, v)| ctx.heap.alloc(Obj::Tuple(noodle_vm::value::Fields::from_slice(&[k, v])))).collect();
    Ok(new_list(ctx.heap, items))
}

fn dict_clear(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "dict.clear")?;
    as_dict_mut(ctx.heap, args[0], "dict.clear")?.clear();
    Ok(Value::None)
}

fn dict_copy(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "dict.copy")?;
    let d = DictMap::clone(as_dict(ctx.heap, args[0], "dict.copy")?);
    Ok(ctx.heap.alloc(Obj::Dict(Box::new(d.into()))))
}

// ---------------------------------------------------------------------------------------------
// set

fn set_add(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "set.add")?;
    let key = noodle_vm::ops::storable_key(ctx.heap, ctx.program, args[1])?;
    let set = as_set_mut(ctx.heap, args[0], "set.add")?;
    if set.len() == set.capacity() && !set.contains_key(&key) && !noodle_vm::value::grow(set) {
        return Err(VmError::arg("the set is too large: there is not enough memory for it"));
    }
    set.entry(key).or_insert(args[1]);
    Ok(Value::None)
}

fn set_remove(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "set.remove")?;
    let key = key_of(ctx.heap, ctx.program, args[1]);
    Ok(Value::Bool(as_set_mut(ctx.heap, args[0], "set.remove")?.shift_remove(&key).is_some()))
}

fn set_contains(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "set.contains")?;
    let set = as_set(ctx.heap, args[0], "set.contains")?;
    Ok(Value::Bool(noodle_vm::ops::key_position(ctx.heap, ctx.program, set, args[1]).is_ok()))
}

fn set_union(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "set.union")?;
    let mut out = as_set(ctx.heap, args[0], "set.union")?.clone();
    for (k, &v) in as_set(ctx.heap, args[1], "set.union")? {
        if !out.contains_key(k) {
            out.insert(k.clone(), v);
        }
    }
    Ok(ctx.heap.alloc(Obj::Set(Box::new(out))))
}

fn set_filter(ctx: &mut Ctx, args: &[Value], name: &str, keep_common: bool) -> R {
    arity(args, 2, name)?;
    let a = as_set(ctx.heap, args[0], name)?;
    let b = as_set(ctx.heap, args[1], name)?;
    let out: SetMap = a.iter().filter(|(k, _)| b.contains_key(*k) == keep_common).map(|(k, &v)| (k.clone(), v)).collect();
    Ok(ctx.heap.alloc(Obj::Set(Box::new(out))))
}

fn set_intersection(ctx: &mut Ctx, args: &[Value]) -> R {
    set_filter(ctx, args, "set.intersection", true)
}

fn set_difference(ctx: &mut Ctx, args: &[Value]) -> R {
    set_filter(ctx, args, "set.difference", false)
}

fn set_to_list(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "set.to_list")?;
    let items = as_set(ctx.heap, args[0], "set.to_list")?.values().copied().collect();
    Ok(new_list(ctx.heap, items))
}

fn set_copy(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "set.copy")?;
    let s = as_set(ctx.heap, args[0], "set.copy")?.clone();
    Ok(ctx.heap.alloc(Obj::Set(Box::new(s))))
}

fn set_clear(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "set.clear")?;
    as_set_mut(ctx.heap, args[0], "set.clear")?.clear();
    Ok(Value::None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use noodle_nbc::RecordType;
    use noodle_vm::fmt::repr;

    struct T {
        heap: Heap,
        program: Program,
        out: Vec<u8>,
        err: Vec<u8>,
        input: std::io::Cursor<Vec<u8>>,
        /// Unrestricted, unless a test sandboxes the natives it calls.
        permissions: noodle_vm::permissions::Permissions,
    }

    impl T {
        fn new() -> T {
            let program = Program {
                types: vec![
                    RecordType { name: "Error".into(), enum_name: None, enum_id: u16::MAX, fields: vec!["code".into(), "message".into()], methods: vec![], flags: 0 },
                    RecordType { name: "Point".into(), enum_name: None, enum_id: u16::MAX, fields: vec!["x".into(), "y".into()], methods: vec![], flags: 0 },
                    RecordType { name: "Circle".into(), enum_name: Some("Shape".into()), enum_id: 0, fields: vec!["r".into()], methods: vec![], flags: 0 },
                ],
                ..Default::default()
            };
            T { heap: Heap::new(), program, out: vec![], err: vec![], input: std::io::Cursor::new(vec![]), permissions: Default::default() }
        }
        fn call(&mut self, name: &str, args: &[Value]) -> R {
            let f = natives().get(name).unwrap_or_else(|| panic!("no native {name}"));
            let mut request = Default::default();
            let mut ctx = Ctx { heap: &mut self.heap, program: &self.program, out: &mut self.out, err: &mut self.err, input: &mut self.input, host: None, globals: &[], request: &mut request, permissions: &self.permissions, args: &[] };
            f(&mut ctx, args).map_err(|flow| match flow {
                noodle_native::Flow::Raise(e) => e,
                // a native that calls back (`map`) asks the VM for the call: there is none here
                other => VmError::new(noodle_vm::codes::N2099, format!("{name} asked for {other:?}")),
            })
        }
        fn s(&mut self, s: &str) -> Value {
            self.heap.alloc_str(s)
        }
        fn list(&mut self, items: Vec<Value>) -> Value {
            self.heap.alloc(Obj::List(items.into()))
        }
        fn ints(&mut self, items: &[i64]) -> Value {
            self.list(items.iter().map(|&i| Value::Int(i)).collect())
        }
        fn show(&self, v: Value) -> String {
            repr(&self.heap, &self.program, v)
        }
        fn ok(&mut self, name: &str, args: &[Value]) -> String {
            let v = self.call(name, args).unwrap_or_else(|e| panic!("{name} failed: {e:?}"));
            self.show(v)
        }
        fn err(&mut self, name: &str, args: &[Value]) -> VmError {
            self.call(name, args).expect_err(name)
        }
    }

    /// Every native of the standard library (but `std.actor`'s, which need a runtime).
    fn natives() -> noodle_native::Natives {
        let mut r = noodle_native::Registry::new();
        for m in crate::modules() {
            r = r.with(m);
        }
        r.natives()
    }

    fn all_names() -> Vec<String> {
        natives().symbols().map(str::to_string).collect()
    }

    #[test]
    fn int_order_is_a_stable_sort() {
        // long enough for the radix path, with repeats, negatives and the extremes
        let mut keys: Vec<i64> = (0..5000).map(|i: i64| (i * 7919) % 1000 - 500).collect();
        keys.extend([i64::MIN, i64::MAX, 0, -1, i64::MIN, i64::MAX]);
        let mut want: Vec<usize> = (0..keys.len()).collect();
        want.sort_by_key(|&i| keys[i]);
        assert_eq!(int_order(&keys), want);
        let short = [3, -1, 3, 2, -1];
        assert_eq!(int_order(&short), vec![1, 4, 3, 0, 2]);
    }

    #[test]
    fn no_panics_on_bad_operands() {
        let mut t = T::new();
        // every native runs, `fs`, `process` and `os` included: in a sandbox, so that none of
        // them touches files, programs or the environment (they refuse at `permit`, N2013)
        t.permissions = noodle_vm::permissions::Permissions::sandbox();
        let s = t.s("x");
        let l = t.ints(&[1]);
        let samples = [Value::None, Value::Int(-1), Value::Float(f64::NAN), Value::Bool(true), s, l, Value::Func(0), Value::Undef];
        for name in all_names() {
            if name == "time.sleep" || name.starts_with("io.") {
                continue;
            }
            for n in 0..=4 {
                for a in samples {
                    for b in samples {
                        let args = [a, b, s, Value::Int(2)];
                        let _ = t.call(&name, &args[..n]);
                    }
                }
            }
        }
    }

    #[test]
    fn conversions() {
        let mut t = T::new();
        assert_eq!(t.ok("int", &[Value::Float(-3.9)]), "-3");
        assert_eq!(t.ok("int", &[Value::Bool(true)]), "1");
        let s = t.s("  -42\n");
        assert_eq!(t.ok("int", &[s]), "-42");
        let s = t.s("+7");
        assert_eq!(t.ok("int", &[s]), "7");
        for bad in ["x", "1_000", "", "-", "1.5", "+-1", "0x10"] {
            let s = t.s(bad);
            let e = t.err("int", &[s]);
            assert_eq!(e.code, "N2007");
            assert_eq!(e.message, format!("cannot convert {} to int", str_repr(bad)));
        }
        let s = t.s("99999999999999999999");
        assert_eq!(t.err("int", &[s]).code, "N2002");
        assert_eq!(t.err("int", &[Value::Float(f64::NAN)]).message, "cannot convert nan to int");
        assert_eq!(t.err("int", &[Value::Float(f64::INFINITY)]).code, "N2007");
        assert_eq!(t.err("int", &[Value::Float(1e19)]).code, "N2002");
        assert_eq!(t.ok("float", &[Value::Int(3)]), "3.0");
        for (text, want) in [("1e5", "100000.0"), (" 2.5 ", "2.5"), ("inf", "inf"), ("-Infinity", "-inf"), ("nan", "nan"), (".5", "0.5")] {
            let s = t.s(text);
            assert_eq!(t.ok("float", &[s]), want);
        }
        let s = t.s("x");
        assert_eq!(t.err("float", &[s]).message, "cannot convert \"x\" to float");
        let e = t.s("");
        assert_eq!(t.ok("bool", &[e]), "false");
        assert_eq!(t.ok("bool", &[s]), "true");
        assert_eq!(t.ok("abs", &[Value::Int(-5)]), "5");
        assert_eq!(t.ok("abs", &[Value::Float(-0.5)]), "0.5");
        assert_eq!(t.err("abs", &[Value::Int(i64::MIN)]).code, "N2002");
        assert_eq!(t.ok("min", &[Value::Int(3), Value::Int(2)]), "2");
        assert_eq!(t.ok("max", &[Value::Int(3), Value::Float(2.5)]), "3.0");
        let (a, b) = (t.s("apple"), t.s("banana"));
        assert_eq!(t.ok("max", &[a, b]), "\"banana\"");
        assert_eq!(t.ok("type_of", &[Value::Int(1)]), "\"int\"");
        let c = t.heap.alloc(Obj::Record { ty: 2, fields: noodle_vm::value::Fields::from_slice(&[Value::Float(1.0)]) });
        assert_eq!(t.ok("type_of", &[c]), "\"Shape\"");
        let p = t.heap.alloc(Obj::Record { ty: 1, fields: noodle_vm::value::Fields::from_slice(&[Value::Float(1.0), Value::Float(2.0)]) });
        assert_eq!(t.ok("type_of", &[p]), "\"Point\"");
        assert_eq!(t.ok("type_of", &[Value::Func(0)]), "\"function\"");
        assert!(t.call("assert", &[Value::Bool(true)]).is_ok());
        assert_eq!(t.err("assert", &[Value::Bool(false)]), VmError::new(noodle_vm::codes::N2008, "assertion failed"));
        let m = t.s("boom");
        assert_eq!(t.err("assert", &[Value::Bool(false), m]), VmError::new(noodle_vm::codes::N2008, "boom"));
    }

    #[test]
    fn ranges_and_repeats() {
        let mut t = T::new();
        assert_eq!(t.ok("range", &[Value::Int(4)]), "[0, 1, 2, 3]");
        assert_eq!(t.ok("range", &[Value::Int(2), Value::Int(5)]), "[2, 3, 4]");
        assert_eq!(t.ok("range", &[Value::Int(10), Value::Int(0), Value::Int(-3)]), "[10, 7, 4, 1]");
        assert_eq!(t.ok("range", &[Value::Int(0), Value::Int(10), Value::Int(4)]), "[0, 4, 8]");
        assert_eq!(t.ok("range", &[Value::Int(5), Value::Int(0)]), "[]");
        assert_eq!(t.err("range", &[Value::Int(0), Value::Int(1), Value::Int(0)]).code, "N2011");
        assert_eq!(t.ok("range", &[Value::Int(i64::MAX - 1), Value::Int(i64::MAX)]), format!("[{}]", i64::MAX - 1));
        assert!(t.call("range", &[Value::Int(i64::MIN), Value::Int(i64::MAX)]).is_err());
        let l = t.ints(&[1, 2]);
        assert_eq!(t.ok("__list_repeat", &[l, Value::Int(2)]), "[1, 2, 1, 2]");
        assert_eq!(t.ok("__list_repeat", &[Value::Int(-1), l]), "[]");
        assert!(t.call("__list_repeat", &[l, Value::Int(i64::MAX)]).is_err());
        let m = t.ints(&[3]);
        assert_eq!(t.ok("__list_concat", &[l, m]), "[1, 2, 3]");
        let s = t.s("ab");
        assert_eq!(t.ok("__str_repeat", &[s, Value::Int(3)]), "\"ababab\"");
        assert_eq!(t.ok("__str_repeat", &[s, Value::Int(-3)]), "\"\"");
        assert_eq!(t.ok("str.repeat", &[s, Value::Int(0)]), "\"\"");
        assert_eq!(t.err("str.repeat", &[s, Value::Int(-1)]), VmError::new(noodle_vm::codes::N2011, "repeat count cannot be negative"));
        assert!(t.call("str.repeat", &[s, Value::Int(i64::MAX)]).is_err());
        // empty things repeated many times finish at once
        let e = t.s("");
        assert_eq!(t.ok("str.repeat", &[e, Value::Int(i64::MAX)]), "\"\"");
        let el = t.ints(&[]);
        assert_eq!(t.ok("__list_repeat", &[el, Value::Int(i64::MAX)]), "[]");
        assert_eq!(t.ok("set", &[]), "set()");
    }

    #[test]
    fn strings() {
        let mut t = T::new();
        let s = t.s("a,b,,c");
        let comma = t.s(",");
        assert_eq!(t.ok("str.split", &[s, comma]), "[\"a\", \"b\", \"\", \"c\"]");
        let e = t.s("");
        assert_eq!(t.ok("str.split", &[e, comma]), "[\"\"]");
        assert_eq!(t.err("str.split", &[s, e]).code, "N2011");
        assert_eq!(t.ok("str.split", &[s, comma, Value::Int(1)]), "[\"a\", \"b,,c\"]");
        assert_eq!(t.ok("str.split", &[s, comma, Value::Int(0)]), "[\"a,b,,c\"]");
        assert_eq!(t.ok("str.split", &[s, comma, Value::Int(99)]), "[\"a\", \"b\", \"\", \"c\"]");
        assert_eq!(t.err("str.split", &[s, comma, Value::Int(-1)]).code, "N2011");
        assert_eq!(t.ok("str.count", &[s, comma]), "3");
        assert_eq!(t.err("str.count", &[s, e]).code, "N2011");
        let ws = t.s("  one \t two\nthree  ");
        assert_eq!(t.ok("str.split_whitespace", &[ws]), "[\"one\", \"two\", \"three\"]");
        assert_eq!(t.ok("str.trim", &[ws]), "\"one \\t two\\nthree\"");
        assert_eq!(t.ok("str.trim_start", &[ws]), "\"one \\t two\\nthree  \"");
        assert_eq!(t.ok("str.trim_end", &[ws]), "\"  one \\t two\\nthree\"");
        let lines = t.s("a\nb\r\nc\rd\n\ne\n");
        assert_eq!(t.ok("str.lines", &[lines]), "[\"a\", \"b\", \"c\", \"d\", \"\", \"e\"]");
        assert_eq!(t.ok("str.lines", &[e]), "[]");
        let u = t.s("héllo wörld");
        assert_eq!(t.ok("str.upper", &[u]), "\"HÉLLO WÖRLD\"");
        let o = t.s("wö");
        assert_eq!(t.ok("str.find", &[u, o]), "6");
        let z = t.s("z");
        assert_eq!(t.ok("str.find", &[u, z]), "none");
        assert_eq!(t.ok("str.contains", &[u, o]), "true");
        let h = t.s("hé");
        assert_eq!(t.ok("str.starts_with", &[u, h]), "true");
        assert_eq!(t.ok("str.ends_with", &[u, h]), "false");
        let l = t.s("l");
        let big_l = t.s("L");
        assert_eq!(t.ok("str.replace", &[u, l, big_l]), "\"héLLo wörLd\"");
        let dash = t.s("-");
        let abc = t.s("abc");
        assert_eq!(t.ok("str.replace", &[abc, e, dash]), "\"-a-b-c-\"");
        assert_eq!(t.ok("str.chars", &[h]), "[\"h\", \"é\"]");
        assert_eq!(t.ok("str.bytes", &[h]), "b\"h\\xc3\\xa9\"");
        let parts = t.list(vec![abc, h]);
        assert_eq!(t.ok("str.join", &[dash, parts]), "\"abc-hé\"");
        assert_eq!(t.ok("list[str].join", &[parts, dash]), "\"abc-hé\"");
        let digits = t.s("0123");
        assert_eq!(t.ok("str.is_digit", &[digits]), "true");
        assert_eq!(t.ok("str.is_digit", &[e]), "false");
        assert_eq!(t.ok("str.is_alpha", &[h]), "true");
        assert_eq!(t.ok("str.is_alpha", &[u]), "false");
        let sp = t.s(" \t\n");
        assert_eq!(t.ok("str.is_space", &[sp]), "true");
        let b = t.heap.alloc(Obj::Bytes(Rc::from(&b"\xfe\xad"[..])));
        assert_eq!(t.ok("bytes.hex", &[b]), "\"fead\"");
        assert_eq!(t.err("bytes.decode", &[b]), VmError::new(noodle_vm::codes::N2007, "invalid UTF-8 in bytes"));
        let hb = t.call("str.bytes", &[h]).unwrap();
        assert_eq!(t.ok("bytes.decode", &[hb]), "\"hé\"");
        assert_eq!(t.ok("string.code", &[h]), "104");
        assert_eq!(t.err("string.code", &[e]).code, "N2011");
        assert_eq!(t.ok("string.from_code", &[Value::Int(233)]), "\"é\"");
        assert_eq!(t.err("string.from_code", &[Value::Int(0xD800)]).code, "N2011");
        assert_eq!(t.err("string.from_code", &[Value::Int(-1)]).code, "N2011");
    }

    #[test]
    fn lists() {
        let mut t = T::new();
        let l = t.ints(&[3, 1, 2]);
        let short = t.ints(&[7]);
        assert_eq!(t.ok("list.zip", &[l, short]), "[(3, 7)]");
        assert_eq!(t.ok("list.reversed", &[l]), "[2, 1, 3]");
        assert_eq!(t.ok("list.count", &[l, Value::Int(1)]), "1");
        assert_eq!(t.ok("list.sorted", &[l, Value::Bool(true)]), "[3, 2, 1]");
        assert_eq!(t.ok("list.enumerate", &[short, Value::Int(5)]), "[(5, 7)]");
        assert_eq!(t.err("list.enumerate", &[l, Value::Int(i64::MAX)]).code, "N2002");
        assert_eq!(t.show(l), "[3, 1, 2]");
        t.call("list.push", &[l, Value::Int(0)]).unwrap();
        assert_eq!(t.show(l), "[3, 1, 2, 0]");
        assert_eq!(t.ok("list.pop", &[l]), "0");
        t.call("list.insert", &[l, Value::Int(-1), Value::Int(9)]).unwrap();
        assert_eq!(t.show(l), "[3, 1, 9, 2]");
        t.call("list.insert", &[l, Value::Int(100), Value::Int(8)]).unwrap();
        t.call("list.insert", &[l, Value::Int(-100), Value::Int(7)]).unwrap();
        assert_eq!(t.show(l), "[7, 3, 1, 9, 2, 8]");
        assert_eq!(t.ok("list.remove_at", &[l, Value::Int(-1)]), "8");
        assert_eq!(t.ok("list.remove_at", &[l, Value::Int(0)]), "7");
        assert_eq!(t.err("list.remove_at", &[l, Value::Int(4)]), VmError::index(4, 4));
        assert_eq!(t.err("list.remove_at", &[l, Value::Int(-5)]), VmError::index(-5, 4));
        assert_eq!(t.err("list.remove_at", &[l, Value::Int(i64::MIN)]).code, "N2003");
        assert_eq!(t.ok("list.sorted", &[l]), "[1, 2, 3, 9]");
        assert_eq!(t.ok("list.argsort", &[l]), "[1, 3, 0, 2]");
        assert_eq!(t.show(l), "[3, 1, 9, 2]");
        t.call("list.sort", &[l]).unwrap();
        assert_eq!(t.show(l), "[1, 2, 3, 9]");
        t.call("list.extend", &[l, l]).unwrap();
        assert_eq!(t.show(l), "[1, 2, 3, 9, 1, 2, 3, 9]");
        assert_eq!(t.ok("list.index_of", &[l, Value::Float(3.0)]), "2");
        assert_eq!(t.ok("list.index_of", &[l, Value::Int(5)]), "none");
        assert_eq!(t.ok("list.contains", &[l, Value::Int(9)]), "true");
        assert_eq!(t.ok("list[int].sum", &[l]), "30");
        assert_eq!(t.ok("list.min", &[l]), "1");
        assert_eq!(t.ok("list.max", &[l]), "9");
        assert_eq!(t.ok("list.first", &[l]), "1");
        assert_eq!(t.ok("list.last", &[l]), "9");
        t.call("list.reverse", &[l]).unwrap();
        assert_eq!(t.ok("list.first", &[l]), "9");
        let c = t.call("list.copy", &[l]).unwrap();
        t.call("list.clear", &[l]).unwrap();
        assert_eq!(t.show(l), "[]");
        assert_eq!(t.show(c), "[9, 3, 2, 1, 9, 3, 2, 1]");
        assert_eq!(t.err("list.pop", &[l]), VmError::new(noodle_vm::codes::N2011, "pop from an empty list"));
        assert_eq!(t.err("list.min", &[l]).code, "N2011");
        assert_eq!(t.ok("list.first", &[l]), "none");
        assert_eq!(t.ok("list[int].sum", &[l]), "0");
        let big = t.ints(&[i64::MAX, 1]);
        assert_eq!(t.err("list[int].sum", &[big]).code, "N2002");
        let fl = t.list(vec![Value::Float(0.1), Value::Float(0.2), Value::Float(0.3)]);
        assert_eq!(t.ok("list[float].sum", &[fl]), "0.6000000000000001");
        let nan = t.list(vec![Value::Float(1.0), Value::Float(f64::NAN)]);
        assert_eq!(t.err("list.sort", &[nan]).code, "N2011");
        let (a, b) = (t.s("a"), t.s("b"));
        let strs = t.list(vec![b, a]);
        assert_eq!(t.ok("list.enumerate", &[strs]), "[(0, \"b\"), (1, \"a\")]");
        assert_eq!(t.ok("list.sorted", &[strs]), "[\"a\", \"b\"]");
        // stable sort of tuples by the general path, with many elements
        let mut items = vec![];
        for i in 0..100 {
            let s = t.s(&format!("k{}", i % 7));
            items.push(t.heap.alloc(Obj::Tuple(noodle_vm::value::Fields::from_slice(&[Value::Int(i % 5), s]))));
        }
        let tl = t.list(items.clone());
        let sorted = t.call("list.sorted", &[tl]).unwrap();
        let mut want = items.clone();
        want.sort_by(|x, y| compare(&t.heap, &t.program, *x, *y).unwrap());
        let want = t.list(want);
        assert!(values_equal(&t.heap, &t.program, sorted, want));
        let order = t.call("list.argsort", &[tl]).unwrap();
        let Value::Obj(r) = order else { panic!() };
        let Obj::List(order) = t.heap.get(r) else { panic!() };
        let order: Vec<i64> = order.iter().map(|v| if let Value::Int(i) = v { i } else { -1 }).collect();
        for w in order.windows(2) {
            let o = compare(&t.heap, &t.program, items[w[0] as usize], items[w[1] as usize]).unwrap();
            assert!(o == Ordering::Less || (o == Ordering::Equal && w[0] < w[1]));
        }
    }

    #[test]
    fn merge_sort_is_stable_and_sorts() {
        let mut v: Vec<(i32, usize)> = (0..1000).map(|i| (((i * 7919) % 13) as i32, i)).collect();
        let mut want = v.clone();
        want.sort_by_key(|p| p.0);
        merge_sort(&mut v, &mut |a, b| Ok(a.0.cmp(&b.0))).unwrap();
        assert_eq!(v, want);
    }

    #[test]
    fn dicts_and_sets() {
        let mut t = T::new();
        let (a, b, c) = (t.s("a"), t.s("b"), t.s("c"));
        let mut m = DictMap::default();
        for (k, v) in [(a, 1), (b, 2), (c, 3)] {
            m.insert(key_of(&t.heap, &t.program, k), (k, Value::Int(v)));
        }
        let d = t.heap.alloc(Obj::Dict(Box::new(m.into())));
        let b2 = t.s("b");
        let z = t.s("z");
        assert_eq!(t.ok("dict.get", &[d, b2]), "2");
        assert_eq!(t.ok("dict.get", &[d, z]), "none");
        assert_eq!(t.ok("dict.get", &[d, z, Value::Int(0)]), "0");
        assert_eq!(t.ok("dict.get", &[d, b2, Value::Int(0)]), "2");
        assert_eq!(t.ok("dict.contains", &[d, b2]), "true");
        assert_eq!(t.ok("dict.remove", &[d, b2]), "2");
        assert_eq!(t.ok("dict.remove", &[d, b2]), "none");
        assert_eq!(t.ok("dict.keys", &[d]), "[\"a\", \"c\"]");
        assert_eq!(t.ok("dict.values", &[d]), "[1, 3]");
        assert_eq!(t.ok("dict.items", &[d]), "[(\"a\", 1), (\"c\", 3)]");
        let d2 = t.call("dict.copy", &[d]).unwrap();
        t.call("dict.clear", &[d]).unwrap();
        assert_eq!(t.show(d), "{}");
        assert_eq!(t.show(d2), "{\"a\": 1, \"c\": 3}");

        let s = t.call("set", &[]).unwrap();
        for i in [3, 1, 2, 1] {
            t.call("set.add", &[s, Value::Int(i)]).unwrap();
        }
        assert_eq!(t.show(s), "{3, 1, 2}");
        let s2 = t.call("set", &[]).unwrap();
        for i in [2, 4, 3] {
            t.call("set.add", &[s2, Value::Int(i)]).unwrap();
        }
        assert_eq!(t.ok("set.union", &[s, s2]), "{3, 1, 2, 4}");
        assert_eq!(t.ok("set.intersection", &[s, s2]), "{3, 2}");
        assert_eq!(t.ok("set.difference", &[s, s2]), "{1}");
        assert_eq!(t.ok("set.remove", &[s, Value::Int(3)]), "true");
        assert_eq!(t.ok("set.remove", &[s, Value::Int(3)]), "false");
        assert_eq!(t.ok("set.contains", &[s, Value::Int(1)]), "true");
        assert_eq!(t.ok("set.to_list", &[s]), "[1, 2]");
        let s3 = t.call("set.copy", &[s]).unwrap();
        t.call("set.clear", &[s]).unwrap();
        assert_eq!(t.show(s), "set()");
        assert_eq!(t.show(s3), "{1, 2}");
    }

    #[test]
    fn math() {
        let mut t = T::new();
        assert_eq!(t.ok("math.sqrt", &[Value::Float(2.0)]), "1.4142135623730951");
        assert_eq!(t.ok("math.sqrt", &[Value::Float(-1.0)]), "nan");
        assert_eq!(t.ok("math.log", &[Value::Float(-1.0)]), "nan");
        assert_eq!(t.ok("math.pow", &[Value::Float(2.0), Value::Float(10.0)]), "1024.0");
        assert_eq!(t.ok("math.floor", &[Value::Float(-1.5)]), "-2");
        assert_eq!(t.ok("math.ceil", &[Value::Float(-1.5)]), "-1");
        assert_eq!(t.ok("math.trunc", &[Value::Float(-1.5)]), "-1");
        assert_eq!(t.ok("math.round", &[Value::Float(2.5)]), "2");
        assert_eq!(t.ok("math.round", &[Value::Float(3.5)]), "4");
        assert_eq!(t.ok("math.round", &[Value::Float(-0.5)]), "0");
        assert_eq!(t.err("math.round", &[Value::Float(f64::NAN)]).code, "N2007");
        assert_eq!(t.err("math.floor", &[Value::Float(1e300)]).code, "N2002");
        assert_eq!(t.ok("math.gcd", &[Value::Int(-12), Value::Int(18)]), "6");
        assert_eq!(t.ok("math.gcd", &[Value::Int(0), Value::Int(0)]), "0");
        assert_eq!(t.err("math.gcd", &[Value::Int(i64::MIN), Value::Int(0)]).code, "N2002");
        assert_eq!(t.ok("math.hypot", &[Value::Float(3.0), Value::Float(4.0)]), "5.0");
        assert_eq!(t.ok("math.is_nan", &[Value::Float(f64::NAN)]), "true");
        assert_eq!(t.ok("math.is_inf", &[Value::Float(f64::NEG_INFINITY)]), "true");
    }

    #[test]
    fn io() {
        let mut t = T::new();
        let (a, l) = (t.s("a"), t.ints(&[1]));
        t.call("print", &[a, Value::Int(1), l, Value::None]).unwrap();
        t.call("io.write", &[a]).unwrap();
        t.call("__repl_show", &[a]).unwrap();
        t.call("print", &[]).unwrap();
        assert_eq!(String::from_utf8(t.out.clone()).unwrap(), "a 1 [1] none\na\"a\"\n\n");
        t.call("io.eprint", &[a, Value::Float(2.0)]).unwrap();
        assert_eq!(String::from_utf8(t.err.clone()).unwrap(), "a 2.0\n");
        t.input = std::io::Cursor::new(b"one\r\ntwo\nrest\nof it".to_vec());
        assert_eq!(t.ok("io.read_line", &[]), "\"one\"");
        assert_eq!(t.ok("io.read_line", &[]), "\"two\"");
        assert_eq!(t.ok("io.read_all", &[]), "\"rest\\nof it\"");
        assert_eq!(t.ok("io.read_line", &[]), "none");
        let dir = std::env::temp_dir().join(format!("noodle-natives-test-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = t.s(dir.join("f.txt").to_str().unwrap());
        let text = t.s("hello\n");
        t.call("io.write_file", &[path, text]).unwrap();
        t.call("io.append_file", &[path, text]).unwrap();
        assert_eq!(t.ok("io.read_file", &[path]), "\"hello\\nhello\\n\"");
        assert_eq!(t.ok("io.file_exists", &[path]), "true");
        let missing = t.s(dir.join("missing.txt").to_str().unwrap());
        assert_eq!(t.ok("io.file_exists", &[missing]), "false");
        let e = t.err("io.read_file", &[missing]);
        assert_eq!(e.code, "N2010");
        assert!(e.message.ends_with("missing.txt: No such file or directory"), "{}", e.message);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(t.err("time.sleep", &[Value::Float(-1.0)]).code, "N2011");
        t.call("time.sleep", &[Value::Float(0.0)]).unwrap();
        let m1 = t.call("time.monotonic", &[]).unwrap();
        let m2 = t.call("time.monotonic", &[]).unwrap();
        assert!(matches!((m1, m2), (Value::Float(a), Value::Float(b)) if b >= a));
        assert!(matches!(t.call("time.now", &[]).unwrap(), Value::Float(x) if x > 1.6e9));
    }
}
