//! `std.csv`: CSV through the `csv` crate (its reader is a DFA over bytes, RFC 4180 quoting).
//! Records are read as byte records and made into Noodle values directly: strings for
//! `reader`/`parse`, struct fields converted cell by cell for `read_rows` (no string made for
//! a number), floats straight into a tensor's buffer for `read_tensor`.

use crate::codes::{N2509, N2510};
use crate::core::io_error;
use crate::fs::{read_path, write_path};
use crate::io::str_value;
use noodle_compiler::types::Type;
use noodle_native::shape::{Literal, Shape, TypeDesc};
use noodle_native::{arity, as_list, as_str, blocking, simple, ArgShape, CallRule, Ctx, Module, NativeBox, NativeObject, Obj, RuleCall, Value, VmError};
use noodle_nbc::Program;
use std::io::Read;

type R = Result<Value, VmError>;

/// The `std.csv` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.csv", include_str!("csv.noodle"))
        .function("reader", blocking!(csv_reader))
        .function("parse", simple!(csv_parse))
        .function("read_rows", blocking!(csv_read_rows))
        .rule("read_rows", RowsRule)
        .function("parse_rows", simple!(csv_parse_rows))
        .rule("parse_rows", RowsRule)
        .function("read_tensor", blocking!(csv_read_tensor))
        .function("writer", blocking!(csv_writer))
        .function("format_row", simple!(csv_format_row))
        .rule("format_row", RowRule)
        .rule("Writer.write_row", RowRule)
        .rule("Writer.write_rows", RowRule)
        .function("Reader.__next__", blocking!(reader_next))
        .function("Reader.next", blocking!(reader_next))
        .function("Reader.header", simple!(reader_header))
        .function("Reader.line", simple!(reader_line))
        .function("Reader.close", simple!(reader_close))
        .function("Reader.exit", simple!(reader_close))
        .function("Writer.write_row", blocking!(writer_write_row))
        .function("Writer.write_rows", blocking!(writer_write_rows))
        .function("Writer.flush", blocking!(writer_flush))
        .function("Writer.close", blocking!(writer_close))
        .function("Writer.exit", blocking!(writer_close))
}

/// `read_rows[T]`/`parse_rows[T]`: `T` must be a struct whose fields a cell can fill; the
/// native gets `T`'s description.
struct RowsRule;

impl CallRule for RowsRule {
    fn check(&self, call: &mut RuleCall) -> Option<Type> {
        let t = call.type_args.first().cloned()?;
        if matches!(t, Type::Unknown | Type::Var(_) | Type::Param(..)) {
            return None;
        }
        let name = call.name.clone();
        let Some(fields) = call.struct_fields(&t) else {
            let shown = call.show(&t);
            call.error(noodle_compiler::codes::N0248, format!("`{name}` builds rows of a struct type, not `{shown}`"), call.span).hint("declare a struct with one field per column you want");
            return None;
        };
        for (field, ft) in fields {
            let scalar = |t: &Type| matches!(t, Type::Int | Type::Float | Type::Str | Type::Bool | Type::Any | Type::Enum(..));
            let ok = match &ft {
                Type::Optional(x) => scalar(x),
                t => scalar(t),
            };
            if !ok {
                let shown = call.show(&ft);
                call.error(noodle_compiler::codes::N0248, format!("`{name}` cannot fill field `{field}` of type `{shown}` from a CSV cell"), call.span)
                    .hint("a cell becomes an int, float, str, bool, an enum without fields (by name), or an optional of those");
            }
        }
        None
    }
    fn describe_type_params(&self) -> bool {
        true
    }
}

/// A record to write (`fields`: a list of any element type, a literal checked as
/// `list[any]` so it may mix types) or records (`rows`: a list of those).
struct RowRule;

impl CallRule for RowRule {
    fn expect(&self, param: &str, shape: ArgShape, first: ArgShape) -> Option<Type> {
        let any_list = || Type::list(Type::Any);
        match (param, shape) {
            ("fields", ArgShape::ListLiteral) => Some(any_list()),
            ("rows", ArgShape::ListLiteral) if first == ArgShape::ListLiteral => Some(Type::list(any_list())),
            _ => None,
        }
    }
    fn check(&self, call: &mut RuleCall) -> Option<Type> {
        for (name, depth) in [("fields", 1), ("rows", 2)] {
            let Some(a) = call.args.iter().find(|a| a.name == name).cloned() else { continue };
            let ok = match (&a.ty, depth) {
                (Type::Unknown, _) | (Type::List(_), 1) => true,
                (Type::List(inner), _) => matches!(**inner, Type::List(_) | Type::Unknown),
                _ => false,
            };
            if !ok {
                let (shown, fname) = (call.show(&a.ty), call.name.clone());
                let want = if depth == 1 { "a list of fields" } else { "a list of records (lists of fields)" };
                call.error(noodle_compiler::codes::N0200, format!("argument `{name}` of `{fname}` must be {want}, found `{shown}`"), a.span);
            }
        }
        None
    }
}

/// The one-byte delimiter in argument `i`.
fn delimiter(ctx: &Ctx, args: &[Value], i: usize, name: &str) -> Result<u8, VmError> {
    let d = as_str(ctx.heap, args[i], name)?;
    match d.as_bytes() {
        [b] if b.is_ascii() && *b != b'"' && *b != b'\n' && *b != b'\r' => Ok(*b),
        _ => Err(VmError::arg(format!("{name}: the delimiter must be one ASCII character other than a quote or a line break, not {}", noodle_vm::fmt::str_repr(d)))),
    }
}

fn csv_reader_over<T: Read>(src: T, delim: u8) -> csv::Reader<Crlf<T>> {
    csv::ReaderBuilder::new().delimiter(delim).has_headers(false).flexible(true).terminator(csv::Terminator::Any(b'\n')).from_reader(Crlf::new(src, delim))
}

/// Reads the next record into `rec`, with the line it starts on as its position's line;
/// false at the end. `what` names the source in errors.
fn next_record<T: Read>(r: &mut csv::Reader<Crlf<T>>, rec: &mut csv::ByteRecord, what: &str) -> Result<bool, VmError> {
    let more = r.read_byte_record(rec).map_err(|e| match e.kind() {
        csv::ErrorKind::Io(io) if io.get_ref().is_some_and(|x| x.is::<RecordTooLarge>()) => VmError::new(N2509, format!("{what}: {io}")),
        csv::ErrorKind::Io(io) => io_error(what, io),
        _ => VmError::new(N2509, format!("{what}: malformed CSV: {e}")),
    })?;
    if more {
        let src = r.get_mut();
        let line = src.starts.pop_front().unwrap_or(0);
        if src.done && src.at == At::Quoted && src.starts.is_empty() {
            return Err(VmError::new(N2509, format!("{what}: line {line}: a quoted field is not closed before the end")));
        }
        let mut pos = rec.position().cloned().unwrap_or_else(csv::Position::new);
        pos.set_line(line);
        rec.set_position(Some(pos));
    }
    Ok(more)
}

/// Where `Crlf` is in the CSV syntax (the states of the `csv` crate's own reader, reduced to
/// what decides whether a `\r` is inside a quoted field).
#[derive(Clone, Copy, PartialEq)]
enum At {
    FieldStart,
    Unquoted,
    Quoted,
    /// A quote inside a quoted field: it ends the field, or starts a doubled `""`.
    QuoteInQuoted,
}

/// The source with each `\r\n` outside quoted fields made `\n`, so that the reader can end
/// records at `\n` alone (a `\r\n` inside a quoted field is data and is kept), and with the
/// line each record starts on noted as it passes: the `csv` crate's own record positions
/// count from where its read began, so they name the line before the right one after a
/// `\r\n` or an empty line.
pub(crate) struct Crlf<T: Read> {
    inner: T,
    delim: u8,
    at: At,
    buf: Vec<u8>,
    /// A `\r` read at the end of the last chunk, outside quotes: dropped if `\n` follows.
    held_cr: bool,
    done: bool,
    /// The line being read (from 1), whether the next byte starts a record (after a `\n`
    /// outside quotes), and the start lines of the records passed on and not yet taken.
    line: u64,
    record_start: bool,
    starts: std::collections::VecDeque<u64>,
    /// The bytes that can change the state, outside and inside a quoted field: runs of other
    /// bytes are copied through at once.
    special_out: [bool; 256],
    special_in: [bool; 256],
    /// Bytes passed since the last record started (counted by chunk: at most a chunk more),
    /// and that record's line: a record past `MAX_RECORD` is refused before it fills memory.
    record_bytes: usize,
    record_line: u64,
}

/// The largest CSV record read (a quote left open makes the rest of a file one field).
pub(crate) const MAX_RECORD: usize = 64 << 20;

/// The error `Crlf` stops with when a record passes `MAX_RECORD`.
#[derive(Debug)]
struct RecordTooLarge(u64);

impl std::fmt::Display for RecordTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: a record is larger than {} MiB (a quote left open?)", self.0, MAX_RECORD >> 20)
    }
}

impl std::error::Error for RecordTooLarge {}

impl<T: Read> Crlf<T> {
    fn new(inner: T, delim: u8) -> Crlf<T> {
        let mut special_out = [false; 256];
        for b in [b'"', b'\r', b'\n', delim] {
            special_out[b as usize] = true;
        }
        let mut special_in = [false; 256];
        for b in [b'"', b'\n'] {
            special_in[b as usize] = true;
        }
        Crlf { inner, delim, at: At::FieldStart, buf: vec![0; 1 << 16], held_cr: false, done: false, line: 1, record_start: true, starts: Default::default(), special_out, special_in, record_bytes: 0, record_line: 1 }
    }

    fn step(&mut self, b: u8) {
        if b == b'\n' {
            self.line += 1;
            self.record_start = self.at != At::Quoted;
        } else if std::mem::take(&mut self.record_start) {
            self.starts.push_back(self.line);
            self.record_bytes = 0;
            self.record_line = self.line;
        }
        self.at = match (self.at, b) {
            (At::Quoted, b'"') => At::QuoteInQuoted,
            (At::Quoted, _) => At::Quoted,
            (At::FieldStart, b'"') | (At::QuoteInQuoted, b'"') => At::Quoted,
            (_, b'\n') => At::FieldStart,
            (_, d) if d == self.delim => At::FieldStart,
            (_, _) => At::Unquoted,
        };
    }
}

impl<T: Read> Read for Crlf<T> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let mut n = 0;
        while n == 0 && !self.done && out.len() > 1 {
            // leave room for a held `\r` given back
            let want = (out.len() - 1).min(self.buf.len());
            let got = self.inner.read(&mut self.buf[..want])?;
            if got == 0 {
                self.done = true;
            }
            let mut i = 0;
            while i < got {
                if !self.held_cr {
                    // a run of bytes that change nothing but the field being unquoted: as
                    // `step` would leave it, without looking at each
                    let special = if self.at == At::Quoted { &self.special_in } else { &self.special_out };
                    let start = i;
                    while i < got && !special[self.buf[i] as usize] {
                        i += 1;
                    }
                    if i > start {
                        out[n..n + (i - start)].copy_from_slice(&self.buf[start..i]);
                        n += i - start;
                        if std::mem::take(&mut self.record_start) {
                            self.starts.push_back(self.line);
                            self.record_bytes = 0;
                            self.record_line = self.line;
                        }
                        if self.at != At::Quoted {
                            self.at = At::Unquoted;
                        }
                        continue;
                    }
                }
                let b = self.buf[i];
                i += 1;
                if std::mem::take(&mut self.held_cr) && b != b'\n' {
                    out[n] = b'\r';
                    n += 1;
                    self.step(b'\r');
                }
                if b == b'\r' && self.at != At::Quoted {
                    self.held_cr = true;
                    continue;
                }
                out[n] = b;
                n += 1;
                self.step(b);
            }
        }
        if self.done && std::mem::take(&mut self.held_cr) {
            out[n] = b'\r';
            n += 1;
            self.step(b'\r');
        }
        self.record_bytes += n;
        if self.record_bytes > MAX_RECORD {
            return Err(std::io::Error::other(RecordTooLarge(self.record_line)));
        }
        Ok(n)
    }
}

/// The line `rec` starts on.
fn line_of(rec: &csv::ByteRecord) -> u64 {
    rec.position().map_or(0, |p| p.line())
}

/// The text of `rec`'s fields, all at once (N2509 when it is not UTF-8): one check per record
/// rather than per field. Field `i` is `&text[rec.range(i)]`; each field starts on a
/// character boundary (checked, as a field split inside a character of broken input would
/// otherwise slip through).
fn record_text<'r>(rec: &'r csv::ByteRecord, what: &str) -> Result<&'r str, VmError> {
    let not_utf8 = |rec: &csv::ByteRecord| {
        let field = (0..rec.len()).find(|i| std::str::from_utf8(&rec[*i]).is_err()).map_or(1, |i| i + 1);
        VmError::new(N2509, format!("{what}: line {}, field {field}: not valid UTF-8 text", line_of(rec)))
    };
    let text = std::str::from_utf8(rec.as_slice()).map_err(|_| not_utf8(rec))?;
    if (0..rec.len()).any(|i| rec.range(i).is_some_and(|r| !text.is_char_boundary(r.start) || !text.is_char_boundary(r.end))) {
        return Err(not_utf8(rec));
    }
    Ok(text)
}

/// Field `i` of `rec`, whose text is `text` (from `record_text`).
fn field<'t>(text: &'t str, rec: &csv::ByteRecord, i: usize) -> &'t str {
    rec.range(i).and_then(|r| text.get(r)).unwrap_or("")
}

/// N2509: `rec` has fewer fields than the header's `columns`.
fn short_record(what: &str, rec: &csv::ByteRecord, columns: usize) -> VmError {
    let n = rec.len();
    VmError::new(N2509, format!("{what}: line {} has {n} field{}, but the header names {columns} columns", line_of(rec), if n == 1 { "" } else { "s" }))
}

/// `rec` as a `list[str]`.
fn record_value(ctx: &mut Ctx, rec: &csv::ByteRecord, what: &str) -> R {
    let text = record_text(rec, what)?;
    let mut items = Vec::with_capacity(rec.len());
    for i in 0..rec.len() {
        items.push(str_value(ctx, field(text, rec, i), "a CSV field")?);
    }
    Ok(ctx.heap.alloc(Obj::List(items.into())))
}

fn strings(rec: &csv::ByteRecord, what: &str) -> Result<Vec<String>, VmError> {
    let text = record_text(rec, what)?;
    Ok((0..rec.len()).map(|i| field(text, rec, i).to_string()).collect())
}

/// A CSV file read record by record; `inner` is `None` once closed or at its end.
pub struct Reader {
    path: String,
    inner: Option<csv::Reader<Crlf<std::fs::File>>>,
    header: Vec<String>,
    record: csv::ByteRecord,
    line: u64,
}

impl NativeObject for Reader {
    fn type_name(&self, _: &Program) -> String {
        "csv.Reader".to_string()
    }
    fn kind(&self) -> &'static str {
        "Reader"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&format!("<csv.Reader {}>", self.path));
    }
}

/// Opens `path` for reading (after asking to read it).
fn open(ctx: &Ctx, args: &[Value], name: &str) -> Result<(String, std::fs::File), VmError> {
    let path = read_path(ctx, args, 0, name)?.to_string();
    let f = std::fs::File::open(&path).map_err(|e| io_error(&path, &e))?;
    Ok((path, f))
}

fn csv_reader(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "csv.reader")?;
    let delim = delimiter(ctx, args, 1, "csv.reader")?;
    let (path, f) = open(ctx, args, "csv.reader")?;
    let mut inner = csv_reader_over(f, delim);
    let mut record = csv::ByteRecord::new();
    let mut header = Vec::new();
    if matches!(args[2], Value::Bool(true)) && next_record(&mut inner, &mut record, &path)? {
        header = strings(&record, &path)?;
    }
    let r = Reader { path, inner: Some(inner), header, record, line: 0 };
    Ok(ctx.heap.alloc(Obj::Native(NativeBox::new(r))))
}

fn reader_next(ctx: &mut Ctx, args: &[Value]) -> R {
    let r: &mut Reader = noodle_native::receiver_mut(ctx.heap, args, "csv.Reader.next")?;
    let Some(inner) = r.inner.as_mut() else { return Ok(Value::None) };
    if !next_record(inner, &mut r.record, &r.path)? {
        r.inner = None;
        return Ok(Value::None);
    }
    r.line = line_of(&r.record);
    let (rec, path) = (std::mem::take(&mut r.record), r.path.clone());
    let v = record_value(ctx, &rec, &path);
    let r: &mut Reader = noodle_native::receiver_mut(ctx.heap, args, "csv.Reader.next")?;
    r.record = rec;
    v
}

fn reader_header(ctx: &mut Ctx, args: &[Value]) -> R {
    let r: &Reader = noodle_native::receiver(ctx.heap, args, "csv.Reader.header")?;
    let header = r.header.clone();
    let items = header.iter().map(|h| ctx.heap.alloc_str(h.as_str())).collect::<Vec<_>>();
    Ok(ctx.heap.alloc(Obj::List(items.into())))
}

fn reader_line(ctx: &mut Ctx, args: &[Value]) -> R {
    let r: &Reader = noodle_native::receiver(ctx.heap, args, "csv.Reader.line")?;
    Ok(Value::Int(r.line as i64))
}

fn reader_close(ctx: &mut Ctx, args: &[Value]) -> R {
    let r: &mut Reader = noodle_native::receiver_mut(ctx.heap, args, "csv.Reader.close")?;
    r.inner = None;
    Ok(Value::None)
}

fn csv_parse(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "csv.parse")?;
    let delim = delimiter(ctx, args, 1, "csv.parse")?;
    let text = as_str(ctx.heap, args[0], "csv.parse")?.to_string();
    let mut r = csv_reader_over(text.as_bytes(), delim);
    let mut rec = csv::ByteRecord::new();
    let mut rows = Vec::new();
    while next_record(&mut r, &mut rec, "<text>")? {
        rows.push(record_value(ctx, &rec, "<text>")?);
    }
    Ok(ctx.heap.alloc(Obj::List(rows.into())))
}

/// Where each field of a row struct comes from: a column, its default, or `none`.
enum Source {
    Column(usize),
    Default(noodle_native::shape::Literal),
    None,
}

/// Reads typed rows (`read_rows`, `parse_rows`) from `r`, whose first record is the header.
fn typed_rows<T: Read>(ctx: &mut Ctx, desc: &TypeDesc, mut r: csv::Reader<Crlf<T>>, what: &str) -> R {
    let Shape::Record(k) = desc.root else { return Err(noodle_native::bad("csv.read_rows")) };
    let rec_shape = &desc.records[k];
    let program = ctx.program;
    let names = &program.types[rec_shape.ty as usize].fields;
    let mut rec = csv::ByteRecord::new();
    if !next_record(&mut r, &mut rec, what)? {
        return Err(VmError::new(N2509, format!("{what}: there is no header (the input is empty; a header naming the columns was expected)")));
    }
    let header = strings(&rec, what)?;
    let mut sources = Vec::with_capacity(names.len());
    for (name, (shape, default)) in names.iter().zip(&rec_shape.fields) {
        sources.push(match (header.iter().position(|h| h.trim() == name), default) {
            (Some(c), _) => Source::Column(c),
            // (a struct made from its defaults is no cell's value)
            (None, Some(d)) if d.usable() && *d != Literal::Fresh => Source::Default(d.clone()),
            (None, None) if matches!(shape, Shape::Optional(_) | Shape::Any) => Source::None,
            (None, d) => {
                let shown = desc.show(&desc.root, program);
                let why = if d.is_some() { " (its default is not a literal, so it cannot be used here)" } else { "" };
                return Err(VmError::new(N2509, format!("{what}: no column `{name}` (a field of `{shown}`) in the header{why}; it has {}", header.iter().map(|h| format!("`{}`", h.escape_debug())).collect::<Vec<_>>().join(", "))));
            }
        });
    }
    let mut rows = Vec::new();
    while next_record(&mut r, &mut rec, what)? {
        let text = record_text(&rec, what)?;
        let mut fields = noodle_vm::value::Fields::new();
        for (i, src) in sources.iter().enumerate() {
            let shape = &rec_shape.fields[i].0;
            fields.push(match src {
                Source::Column(c) => {
                    if *c >= rec.len() {
                        return Err(short_record(what, &rec, header.len()));
                    }
                    cell(ctx, desc, shape, &rec, field(text, &rec, *c), &header[*c], what)?
                }
                Source::Default(d) => desc.default_value(ctx.heap, d, shape).unwrap_or(Value::None),
                Source::None => Value::None,
            });
        }
        rows.push(ctx.heap.alloc(Obj::Record { ty: rec_shape.ty, fields }));
    }
    Ok(ctx.heap.alloc(Obj::List(rows.into())))
}

/// The cell `text` of `rec` converted to `shape` (N2510 when it does not convert).
fn cell(ctx: &mut Ctx, desc: &TypeDesc, shape: &Shape, rec: &csv::ByteRecord, text: &str, column: &str, what: &str) -> R {
    let t = text.trim();
    let fail = |ctx: &Ctx| {
        let want = desc.show(shape, ctx.program);
        VmError::new(N2510, format!("{what}: line {}, column {}: expected {want}, found {}", line_of(rec), noodle_vm::fmt::str_repr(column), noodle_vm::fmt::str_repr(text)))
    };
    let v = match shape {
        Shape::Optional(x) => return if t.is_empty() { Ok(Value::None) } else { cell(ctx, desc, x, rec, text, column, what) },
        Shape::Str | Shape::Any => return str_value(ctx, text, "a CSV field"),
        Shape::Int => t.parse().ok().map(Value::Int),
        Shape::Float => t.parse().ok().map(Value::Float),
        Shape::Bool => match t {
            "1" => Some(Value::Bool(true)),
            "0" => Some(Value::Bool(false)),
            _ if t.eq_ignore_ascii_case("true") => Some(Value::Bool(true)),
            _ if t.eq_ignore_ascii_case("false") => Some(Value::Bool(false)),
            _ => None,
        },
        Shape::Enum(vs) => noodle_native::shape::variant_named(ctx.heap, ctx.program, vs, t),
        _ => return Err(noodle_native::bad("csv.read_rows")),
    };
    v.ok_or_else(|| fail(ctx))
}

fn csv_read_rows(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "csv.read_rows")?;
    let desc = TypeDesc::arg(ctx.heap, ctx.program, args, 2, "csv.read_rows")?;
    let delim = delimiter(ctx, args, 1, "csv.read_rows")?;
    let (path, f) = open(ctx, args, "csv.read_rows")?;
    typed_rows(ctx, &desc, csv_reader_over(f, delim), &path)
}

fn csv_parse_rows(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "csv.parse_rows")?;
    let desc = TypeDesc::arg(ctx.heap, ctx.program, args, 2, "csv.parse_rows")?;
    let delim = delimiter(ctx, args, 1, "csv.parse_rows")?;
    let text = as_str(ctx.heap, args[0], "csv.parse_rows")?.to_string();
    typed_rows(ctx, &desc, csv_reader_over(text.as_bytes(), delim), "<text>")
}

fn csv_read_tensor(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 4, "csv.read_tensor")?;
    let delim = delimiter(ctx, args, 2, "csv.read_tensor")?;
    let wanted: Option<Vec<String>> = match args[1] {
        Value::None => None,
        v => Some(as_list(ctx.heap, v, "csv.read_tensor")?.iter().map(|c| as_str(ctx.heap, c, "csv.read_tensor").map(str::to_string)).collect::<Result<_, _>>()?),
    };
    let missing = match args[3] {
        Value::None => None,
        Value::Float(f) => Some(f),
        _ => return Err(noodle_native::bad("csv.read_tensor")),
    };
    let (path, f) = open(ctx, args, "csv.read_tensor")?;
    let mut r = csv_reader_over(f, delim);
    let mut rec = csv::ByteRecord::new();
    if !next_record(&mut r, &mut rec, &path)? {
        return Err(VmError::new(N2509, format!("{path}: the file is empty (a header naming the columns was expected)")));
    }
    let header = strings(&rec, &path)?;
    let cols: Vec<usize> = match &wanted {
        None => (0..header.len()).collect(),
        Some(names) => names
            .iter()
            .map(|n| header.iter().position(|h| h.trim() == n).ok_or_else(|| VmError::new(N2509, format!("{path}: no column `{n}` in the header; it has {}", header.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")))))
            .collect::<Result<_, _>>()?,
    };
    let mut data: Vec<f64> = Vec::new();
    let mut rows = 0usize;
    while next_record(&mut r, &mut rec, &path)? {
        for &c in &cols {
            let Some(raw) = rec.get(c) else {
                return Err(short_record(&path, &rec, header.len()));
            };
            let t = raw.trim_ascii();
            let x = match (t.is_empty(), missing) {
                (true, Some(m)) => Some(m),
                _ => std::str::from_utf8(t).ok().and_then(|s| s.parse::<f64>().ok()),
            };
            match x {
                Some(x) => data.push(x),
                None => {
                    let found = noodle_vm::fmt::str_repr(&String::from_utf8_lossy(raw));
                    return Err(VmError::new(N2510, format!("{path}: line {}, column {}: expected a number, found {found}", line_of(&rec), noodle_vm::fmt::str_repr(&header[c]))));
                }
            }
        }
        rows += 1;
    }
    let t = noodle_tensor::Tensor::from_vec(data, vec![rows, cols.len()]).map_err(|e| VmError::new(e.code, e.message))?;
    Ok(crate::tensor::tensor_value(ctx.heap, t))
}

/// A CSV file being written; `None` once closed.
pub struct Writer {
    path: String,
    inner: Option<csv::Writer<std::fs::File>>,
}

impl NativeObject for Writer {
    fn type_name(&self, _: &Program) -> String {
        "csv.Writer".to_string()
    }
    fn kind(&self) -> &'static str {
        "Writer"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&format!("<csv.Writer {}>", self.path));
    }
}

fn csv_writer_over<W: std::io::Write>(w: W, delim: u8) -> csv::Writer<W> {
    csv::WriterBuilder::new().delimiter(delim).flexible(true).from_writer(w)
}

fn csv_writer(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "csv.writer")?;
    let delim = delimiter(ctx, args, 1, "csv.writer")?;
    let path = write_path(ctx, args, 0, "csv.writer")?.to_string();
    let f = std::fs::File::create(&path).map_err(|e| io_error(&path, &e))?;
    let w = Writer { path, inner: Some(csv_writer_over(f, delim)) };
    Ok(ctx.heap.alloc(Obj::Native(NativeBox::new(w))))
}

/// The fields of the `list[any]` `row` as text, as `print` shows them (`none` empty).
fn row_fields(ctx: &Ctx, row: Value, name: &str) -> Result<Vec<String>, VmError> {
    let items = as_list(ctx.heap, row, name)?;
    let mut out = Vec::with_capacity(items.len());
    for v in items.iter() {
        out.push(match v {
            Value::None => String::new(),
            Value::Obj(r) => match (ctx.heap.get(r), noodle_native::shape::unit_variant_name(ctx.program, ctx.heap.get(r))) {
                (Obj::Str(s), _) => s.as_str().to_string(),
                // an enum variant without fields by its name, as `read_rows` reads it back
                (_, Some(variant)) => variant.to_string(),
                (Obj::List(_) | Obj::Dict(_) | Obj::Set(_) | Obj::Tuple(_), _) => {
                    let shown = noodle_vm::fmt::display(ctx.heap, ctx.program, v);
                    return Err(VmError::arg(format!("{name}: a CSV field is a single value, not {shown}")));
                }
                _ => noodle_vm::fmt::display(ctx.heap, ctx.program, v),
            },
            v => noodle_vm::fmt::display(ctx.heap, ctx.program, v),
        });
    }
    Ok(out)
}

fn write_rows(ctx: &mut Ctx, args: &[Value], rows: &[Value], name: &str) -> R {
    let texts: Vec<Vec<String>> = rows.iter().map(|r| row_fields(ctx, *r, name)).collect::<Result<_, _>>()?;
    let w: &mut Writer = noodle_native::receiver_mut(ctx.heap, args, name)?;
    let Some(inner) = w.inner.as_mut() else { return Err(VmError::new(noodle_vm::codes::N2010, format!("{}: the writer is closed", w.path))) };
    for fields in texts {
        inner.write_record(&fields).map_err(|e| VmError::new(noodle_vm::codes::N2010, format!("{}: {e}", w.path)))?;
    }
    Ok(Value::None)
}

fn writer_write_row(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "csv.Writer.write_row")?;
    write_rows(ctx, args, &[args[1]], "csv.Writer.write_row")
}

fn writer_write_rows(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "csv.Writer.write_rows")?;
    let rows = as_list(ctx.heap, args[1], "csv.Writer.write_rows")?.to_vec();
    write_rows(ctx, args, &rows, "csv.Writer.write_rows")
}

fn writer_flush(ctx: &mut Ctx, args: &[Value]) -> R {
    let w: &mut Writer = noodle_native::receiver_mut(ctx.heap, args, "csv.Writer.flush")?;
    if let Some(inner) = w.inner.as_mut() {
        inner.flush().map_err(|e| io_error(&w.path, &e))?;
    }
    Ok(Value::None)
}

fn writer_close(ctx: &mut Ctx, args: &[Value]) -> R {
    let w: &mut Writer = noodle_native::receiver_mut(ctx.heap, args, "csv.Writer.close")?;
    if let Some(inner) = w.inner.take() {
        let f = inner.into_inner().map_err(|e| io_error(&w.path, e.error()))?;
        f.sync_all().map_err(|e| io_error(&w.path, &e))?;
    }
    Ok(Value::None)
}

fn csv_format_row(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "csv.format_row")?;
    let delim = delimiter(ctx, args, 1, "csv.format_row")?;
    let fields = row_fields(ctx, args[0], "csv.format_row")?;
    let mut w = csv_writer_over(Vec::new(), delim);
    w.write_record(&fields).map_err(|e| VmError::arg(format!("csv.format_row: {e}")))?;
    let mut bytes = w.into_inner().map_err(|e| VmError::arg(format!("csv.format_row: {}", e.error())))?;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    // the fields were UTF-8 text, and quoting adds only ASCII
    let text = String::from_utf8(bytes).map_err(|_| noodle_native::bad("csv.format_row"))?;
    str_value(ctx, &text, "the CSV record")
}
