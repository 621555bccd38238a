//! `json.read_array(path)`: a file holding one JSON array, read element by element. A scanner
//! finds where each element ends (tracking strings, escapes and nesting, without recursion) and
//! copies just that element's bytes; the parser of `json.parse` then reads them. Memory holds
//! one element, whatever the file's size.

use super::{parse_text, Origin};
use crate::codes::N2501;
use noodle_native::{NativeBox, NativeObject, Obj, Value, VmError};
use noodle_native::Ctx;
use noodle_nbc::Program;
use std::io::BufRead;

type R = Result<Value, VmError>;

/// The most bytes one element may have (a larger one is N2501, not an exhausted memory).
const MAX_ELEMENT: usize = 1 << 30;

enum State {
    /// Before the `[`.
    Start,
    /// Inside the array; whether an element was read.
    Inside { any: bool },
    /// After the `]`, or closed.
    Done,
}

/// One element's text and where it starts.
struct Element {
    text: Vec<u8>,
    at: Origin,
}

pub struct ArrayReader {
    path: String,
    input: Option<Box<dyn BufRead>>,
    state: State,
    /// The position of the next byte: lines before it, characters before it on its line.
    line: usize,
    column: usize,
    count: i64,
    /// An element scanned by `has_next` and not yet taken.
    pending: Option<Element>,
}

impl NativeObject for ArrayReader {
    fn type_name(&self, _: &Program) -> String {
        "json.ArrayReader".to_string()
    }
    fn kind(&self) -> &'static str {
        "ArrayReader"
    }
    fn fmt(&self, _: &Program, out: &mut String) {
        out.push_str(&format!("<json.ArrayReader {}>", self.path));
    }
}

impl ArrayReader {
    fn error(&self, what: &str) -> VmError {
        VmError::new(N2501, format!("{}: malformed JSON at line {}, column {}: {what}", self.path, self.line + 1, self.column + 1))
    }

    fn io(&self, e: std::io::Error) -> VmError {
        crate::core::io_error(&self.path, &e)
    }

    fn peek(&mut self) -> Result<Option<u8>, VmError> {
        let Some(input) = self.input.as_mut() else { return Ok(None) };
        loop {
            match input.fill_buf() {
                Ok(b) => return Ok(b.first().copied()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io(e)),
            }
        }
    }

    fn bump(&mut self, b: u8) {
        if let Some(input) = self.input.as_mut() {
            input.consume(1);
        }
        if b == b'\n' {
            self.line += 1;
            self.column = 0;
        } else if b & 0xC0 != 0x80 {
            self.column += 1; // a character starts here (not a UTF-8 continuation byte)
        }
    }

    fn skip_ws(&mut self) -> Result<Option<u8>, VmError> {
        loop {
            match self.peek()? {
                Some(b @ (b' ' | b'\t' | b'\n' | b'\r')) => self.bump(b),
                other => return Ok(other),
            }
        }
    }

    /// The next element, taken (counted), or `None` after the `]`.
    fn take(&mut self) -> Result<Option<Element>, VmError> {
        let e = match self.pending.take() {
            Some(e) => Some(e),
            None => self.scan()?,
        };
        self.count += i64::from(e.is_some());
        Ok(e)
    }

    /// Scans the next element's text from the input, or `None` after the `]`.
    fn scan(&mut self) -> Result<Option<Element>, VmError> {
        let any = match self.state {
            State::Done => return Ok(None),
            State::Start => {
                match self.skip_ws()? {
                    Some(b'[') => self.bump(b'['),
                    Some(_) => return Err(self.error("expected `[`: the file must hold one JSON array")),
                    None => return Err(self.error("the file is empty: expected a JSON array")),
                }
                false
            }
            State::Inside { any } => any,
        };
        match self.skip_ws()? {
            Some(b']') => {
                self.bump(b']');
                self.state = State::Done;
                if self.skip_ws()?.is_some() {
                    return Err(self.error("extra text after the array"));
                }
                self.input = None;
                return Ok(None);
            }
            Some(b',') if any => {
                self.bump(b',');
                if let Some(b']') = self.skip_ws()? {
                    return Err(self.error("expected a value after `,` (a trailing comma is not JSON)"));
                }
            }
            Some(_) if any => return Err(self.error("expected `,` or `]` after an element")),
            Some(_) => {}
            None => return Err(self.error("the array is not closed: the file ends inside it")),
        }
        self.state = State::Inside { any: true };
        let at = Origin { lines: self.line, columns: self.column, file: Some(self.path.clone()) };
        let mut text = Vec::new();
        let (mut depth, mut in_string, mut escape) = (0usize, false, false);
        // chunk by chunk: the bytes of the element are scanned in the reader's buffer and
        // copied in one piece per chunk
        while let Some(input) = self.input.as_mut() {
            let chunk = match input.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(crate::core::io_error(&self.path, &e)),
            };
            if chunk.is_empty() {
                if depth == 0 && !in_string && !text.is_empty() {
                    break; // a scalar at the end: the missing `]` is reported next time
                }
                return Err(self.error("the array is not closed: the file ends inside an element"));
            }
            let (mut i, mut done) = (0, false);
            while i < chunk.len() {
                let b = chunk[i];
                if in_string {
                    if escape {
                        escape = false;
                    } else if b == b'\\' {
                        escape = true;
                    } else if b == b'"' {
                        in_string = false;
                        if depth == 0 {
                            i += 1;
                            done = true;
                            break;
                        }
                    }
                } else {
                    match b {
                        b'"' => in_string = true,
                        b'[' | b'{' => depth += 1,
                        b']' | b'}' if depth == 0 => {
                            done = true;
                            break;
                        }
                        b']' | b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                i += 1;
                                done = true;
                                break;
                            }
                        }
                        b',' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 => {
                            done = true;
                            break;
                        }
                        _ => {}
                    }
                }
                i += 1;
            }
            let taken = &chunk[..i];
            if text.len() + taken.len() > MAX_ELEMENT || text.try_reserve(taken.len()).is_err() {
                return Err(self.error("an element larger than 1 GiB, or too large for memory"));
            }
            text.extend_from_slice(taken);
            match taken.iter().rposition(|b| *b == b'\n') {
                Some(nl) => {
                    self.line += taken.iter().filter(|b| **b == b'\n').count();
                    self.column = taken[nl + 1..].iter().filter(|b| **b & 0xC0 != 0x80).count();
                }
                None => self.column += taken.iter().filter(|b| **b & 0xC0 != 0x80).count(),
            }
            input.consume(i);
            if done {
                break;
            }
        }
        Ok(Some(Element { text, at }))
    }
}

pub(super) fn read_array(ctx: &mut Ctx, args: &[Value]) -> R {
    noodle_native::arity(args, 1, "json.read_array")?;
    let path = crate::fs::read_path(ctx, args, 0, "json.read_array")?.to_string();
    let f = std::fs::File::open(&path).map_err(|e| crate::core::io_error(&path, &e))?;
    let r = ArrayReader { path, input: Some(Box::new(std::io::BufReader::with_capacity(1 << 16, f))), state: State::Start, line: 0, column: 0, count: 0, pending: None };
    Ok(ctx.heap.alloc(Obj::Native(NativeBox::new(r))))
}

fn reader<'h>(ctx: &'h mut Ctx, args: &[Value], name: &str) -> Result<&'h mut ArrayReader, VmError> {
    noodle_native::receiver_mut(ctx.heap, args, name)
}

/// The next element parsed, or `None` at the end.
fn next_value(ctx: &mut Ctx, args: &[Value], name: &str) -> Result<Option<Value>, VmError> {
    let Some(e) = reader(ctx, args, name)?.take()? else { return Ok(None) };
    if let Err(bad) = std::str::from_utf8(&e.text) {
        let at = Origin { columns: e.at.columns + String::from_utf8_lossy(&e.text[..bad.valid_up_to()]).chars().count(), ..e.at };
        return Err(VmError::new(N2501, format!("{}: malformed JSON at line {}, column {}: the text is not valid UTF-8", at.file.unwrap_or_default(), at.lines + 1, at.columns + 1)));
    }
    parse_text(ctx.heap, &e.text, e.at).map(Some)
}

/// `for item in reader`: a `null` element is an error rather than a silent end of the loop.
pub(super) fn reader_for_next(ctx: &mut Ctx, args: &[Value]) -> R {
    match next_value(ctx, args, "json.ArrayReader.__next__")? {
        Some(Value::None) => {
            let r = reader(ctx, args, "json.ArrayReader.__next__")?;
            Err(VmError::new(
                N2501,
                format!("{}: element {} is null, which would end a `for` loop early: read an array that holds nulls with has_next() and next()", r.path, r.count),
            ))
        }
        v => Ok(v.unwrap_or(Value::None)),
    }
}

pub(super) fn reader_next(ctx: &mut Ctx, args: &[Value]) -> R {
    match next_value(ctx, args, "json.ArrayReader.next")? {
        Some(v) => Ok(v),
        None => {
            let r = reader(ctx, args, "json.ArrayReader.next")?;
            Err(VmError::arg(format!("{}: next() after the last element (check has_next() first)", r.path)))
        }
    }
}

pub(super) fn reader_has_next(ctx: &mut Ctx, args: &[Value]) -> R {
    let r = reader(ctx, args, "json.ArrayReader.has_next")?;
    if r.pending.is_none() {
        r.pending = r.scan()?;
    }
    Ok(Value::Bool(r.pending.is_some()))
}

pub(super) fn reader_next_text(ctx: &mut Ctx, args: &[Value]) -> R {
    let Some(e) = reader(ctx, args, "json.ArrayReader.next_text")?.take()? else { return Ok(Value::None) };
    match String::from_utf8(e.text) {
        Ok(t) => Ok(ctx.heap.alloc_str(t)),
        Err(_) => Err(VmError::new(N2501, format!("{}: malformed JSON at line {}: the text is not valid UTF-8", e.at.file.unwrap_or_default(), e.at.lines + 1))),
    }
}

pub(super) fn reader_count(ctx: &mut Ctx, args: &[Value]) -> R {
    Ok(Value::Int(reader(ctx, args, "json.ArrayReader.count")?.count))
}

pub(super) fn reader_close(ctx: &mut Ctx, args: &[Value]) -> R {
    let r = reader(ctx, args, "json.ArrayReader.close")?;
    r.input = None;
    r.pending = None;
    r.state = State::Done;
    Ok(Value::None)
}
