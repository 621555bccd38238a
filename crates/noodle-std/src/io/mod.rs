//! `std.io`: standard streams and whole files.

use crate::core::{io_error, show_then, Then};
use noodle_native::{blocking, simple};
use noodle_native::{arity, as_str, Ctx, Flow, Module, Value, VmError};
use noodle_vm::permissions::Access;
use noodle_vm::value::Text;

type R = Result<Value, VmError>;

/// The `std.io` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.io", include_str!("io.noodle"))
        .function("read_line", blocking!(io_read_line))
        .function("read_all", blocking!(io_read_all))
        .function("read_file", simple!(io_read_file))
        .function("write_file", simple!(io_write_file))
        .function("append_file", simple!(io_append_file))
        .function("file_exists", simple!(io_file_exists))
        .function("write", io_write)
        .function("eprint", io_eprint)
}

fn io_read_line(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "io.read_line")?;
    ctx.out.flush().map_err(|e| io_error("<stdout>", &e))?;
    let mut buf = Vec::new();
    let n = noodle_vm::input::read_until(ctx.input, b'\n', &mut buf).map_err(|e| io_error("<stdin>", &e))?;
    if n == 0 {
        return Ok(Value::None);
    }
    strip_line_end(&mut buf);
    text_value(ctx, buf, "the line")
}

/// A line read with its `\n` or `\r\n` taken off (`io.read_line`, `fs.lines`).
pub(crate) fn strip_line_end(buf: &mut Vec<u8>) {
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    }
}

/// A string value of bytes read (invalid UTF-8 replaced).
fn text_value(ctx: &mut Ctx, buf: Vec<u8>, what: &str) -> R {
    let s = match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    str_value(ctx, &s, what)
}

/// A string value of text read, failing softly (N2011) where memory for it cannot be had.
pub(crate) fn str_value(ctx: &mut Ctx, s: &str, what: &str) -> R {
    let text = Text::try_from_str(s).ok_or_else(|| VmError::arg(format!("{what} is too large: there is not enough memory for it")))?;
    Ok(ctx.heap.alloc_str(text))
}

fn io_read_all(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "io.read_all")?;
    ctx.out.flush().map_err(|e| io_error("<stdout>", &e))?;
    let mut buf = Vec::new();
    noodle_vm::input::read_to_end(ctx.input, &mut buf).map_err(|e| io_error("<stdin>", &e))?;
    text_value(ctx, buf, "the input")
}

fn io_read_file(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "io.read_file")?;
    let path = as_str(ctx.heap, args[0], "io.read_file")?;
    ctx.permit(Access::Read(std::path::Path::new(path)))?;
    match String::from_utf8(crate::fs::read_all(path)?) {
        Ok(text) => {
            let path = path.to_string();
            str_value(ctx, &text, &path)
        }
        Err(_) => Err(io_error(path, &std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8"))),
    }
}

fn io_write_file(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "io.write_file")?;
    let path = as_str(ctx.heap, args[0], "io.write_file")?;
    ctx.permit(Access::Write(std::path::Path::new(path)))?;
    let text = as_str(ctx.heap, args[1], "io.write_file")?;
    std::fs::write(path, text).map_err(|e| io_error(path, &e))?;
    Ok(Value::None)
}

fn io_append_file(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "io.append_file")?;
    let path = as_str(ctx.heap, args[0], "io.append_file")?;
    ctx.permit(Access::Write(std::path::Path::new(path)))?;
    let text = as_str(ctx.heap, args[1], "io.append_file")?;
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).map_err(|e| io_error(path, &e))?;
    std::io::Write::write_all(&mut f, text.as_bytes()).map_err(|e| io_error(path, &e))?;
    Ok(Value::None)
}

fn io_file_exists(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "io.file_exists")?;
    let path = as_str(ctx.heap, args[0], "io.file_exists")?;
    ctx.permit(Access::Read(std::path::Path::new(path)))?;
    Ok(Value::Bool(std::path::Path::new(path).exists()))
}

fn io_write(ctx: &mut Ctx, args: &[Value]) -> Result<Value, Flow> {
    show_then(ctx, args, Then::Write)
}

fn io_eprint(ctx: &mut Ctx, args: &[Value]) -> Result<Value, Flow> {
    show_then(ctx, args, Then::Eprint)
}

