//! `std.compress`: gzip and zlib through `flate2` (its pure-Rust miniz_oxide backend), zstd
//! through `zstd` (the reference C library), in memory and streaming to and from files (the
//! streams are `std.fs`'s `LineReader` and `Writer` over a decoder or an encoder).
//! Decompression in memory reads at most `max_size + 1` bytes, so the size check costs no more
//! memory than the limit.

use crate::codes::N2507;
use noodle_native::{arity, as_bytes, as_int, simple, Ctx, Module, Obj, Value, VmError};
use std::io::{Read, Write};

type R = Result<Value, VmError>;

/// The `std.compress` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.compress", include_str!("compress.noodle"))
        .function("gzip", simple!(compress_gzip))
        .function("gunzip", simple!(compress_gunzip))
        .function("zlib_compress", simple!(compress_zlib))
        .function("zlib_decompress", simple!(compress_unzlib))
        .function("zstd", simple!(compress_zstd))
        .function("unzstd", simple!(compress_unzstd))
        .function("lines", noodle_native::blocking!(compress_lines))
        .function("writer", noodle_native::blocking!(compress_writer))
}

fn level(v: Value, name: &str) -> Result<flate2::Compression, VmError> {
    let l = as_int(v, name)?;
    if !(0..=9).contains(&l) {
        return Err(VmError::arg(format!("compression level {l} is out of range (0 to 9)")));
    }
    Ok(flate2::Compression::new(l as u32))
}

fn bytes_value(ctx: &mut Ctx, b: Vec<u8>) -> R {
    Ok(ctx.heap.alloc(Obj::Bytes(b.into())))
}

/// Compresses argument 0 at the level of argument 1 through `encode` (gzip or zlib).
fn compress_with(ctx: &mut Ctx, args: &[Value], name: &str, encode: fn(&[u8], flate2::Compression) -> std::io::Result<Vec<u8>>) -> R {
    arity(args, 2, name)?;
    let lvl = level(args[1], name)?;
    let out = encode(as_bytes(ctx.heap, args[0], name)?, lvl).map_err(|e| VmError::arg(format!("{name}: {e}")))?;
    bytes_value(ctx, out)
}

fn compress_gzip(ctx: &mut Ctx, args: &[Value]) -> R {
    compress_with(ctx, args, "compress.gzip", |data, lvl| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), lvl);
        e.write_all(data)?;
        e.finish()
    })
}

fn compress_zlib(ctx: &mut Ctx, args: &[Value]) -> R {
    compress_with(ctx, args, "compress.zlib_compress", |data, lvl| {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), lvl);
        e.write_all(data)?;
        e.finish()
    })
}

/// Reads `r` to its end, refusing more than `max` bytes (N2507).
fn read_limited(r: impl Read, max: i64, what: &str) -> Result<Vec<u8>, VmError> {
    if max < 0 {
        return Err(VmError::arg(format!("max_size cannot be negative ({max})")));
    }
    let mut out = Vec::new();
    let n = r.take(max as u64 + 1).read_to_end(&mut out).map_err(|e| VmError::new(N2507, format!("malformed {what} data: {e}")))?;
    if n as u64 > max as u64 {
        return Err(VmError::new(N2507, format!("the {what} data decompresses to more than max_size ({max} bytes)")));
    }
    Ok(out)
}

/// Decompresses argument 0 (at most argument 1 bytes) through the reader `decoder` makes.
fn decompress_with(ctx: &mut Ctx, args: &[Value], name: &str, what: &str, decoder: for<'d> fn(&'d [u8]) -> Box<dyn Read + 'd>) -> R {
    arity(args, 2, name)?;
    let max = as_int(args[1], name)?;
    let out = read_limited(decoder(as_bytes(ctx.heap, args[0], name)?), max, what)?;
    bytes_value(ctx, out)
}

fn compress_gunzip(ctx: &mut Ctx, args: &[Value]) -> R {
    decompress_with(ctx, args, "compress.gunzip", "gzip", |d| Box::new(flate2::read::MultiGzDecoder::new(d)))
}

fn compress_unzlib(ctx: &mut Ctx, args: &[Value]) -> R {
    decompress_with(ctx, args, "compress.zlib_decompress", "zlib", |d| Box::new(flate2::read::ZlibDecoder::new(d)))
}

fn zstd_level(v: Value, name: &str) -> Result<i32, VmError> {
    let l = as_int(v, name)?;
    if !(1..=22).contains(&l) {
        return Err(VmError::arg(format!("zstd level {l} is out of range (1 to 22)")));
    }
    Ok(l as i32)
}

fn compress_zstd(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "compress.zstd")?;
    let lvl = zstd_level(args[1], "compress.zstd")?;
    let out = zstd::bulk::compress(as_bytes(ctx.heap, args[0], "compress.zstd")?, lvl).map_err(|e| VmError::arg(format!("compress.zstd: {e}")))?;
    bytes_value(ctx, out)
}

fn compress_unzstd(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "compress.unzstd")?;
    let max = as_int(args[1], "compress.unzstd")?;
    let data = as_bytes(ctx.heap, args[0], "compress.unzstd")?;
    let d = zstd::stream::read::Decoder::new(data).map_err(|e| VmError::new(N2507, format!("malformed zstd data: {e}")))?;
    let out = read_limited(d, max, "zstd")?;
    bytes_value(ctx, out)
}

/// The streaming formats, by name or from a file's extension.
#[derive(Clone, Copy)]
enum Format {
    Gzip,
    Zstd,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Zstd => "zstd",
        }
    }

    /// `format` when given, else the path's extension (`.gz`, `.zst`).
    fn of(path: &str, format: Option<&str>) -> Result<Format, VmError> {
        let f = match format {
            Some(f) => f.to_ascii_lowercase(),
            None => match std::path::Path::new(path).extension().and_then(|e| e.to_str()) {
                Some("gz" | "gzip") => "gzip".into(),
                Some("zst" | "zstd") => "zstd".into(),
                _ => return Err(VmError::arg(format!("{path}: cannot tell the compression from the name (it does not end in .gz or .zst): give format: \"gzip\" or \"zstd\""))),
            },
        };
        match f.as_str() {
            "gzip" | "gz" => Ok(Format::Gzip),
            "zstd" | "zst" => Ok(Format::Zstd),
            other => Err(VmError::arg(format!("unknown compression format {other:?} (\"gzip\" or \"zstd\")"))),
        }
    }
}

/// `lines(path, format)`: the decompressed file, line by line, as an `fs.LineReader`.
fn compress_lines(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "compress.lines")?;
    let path = crate::fs::read_path(ctx, args, 0, "compress.lines")?.to_string();
    let format: Option<String> = noodle_native::arg(ctx, args, 1)?;
    let max_line = as_int(args[2], "compress.lines")?;
    if max_line < 1 {
        return Err(VmError::arg(format!("max_line must be at least 1 ({max_line})")));
    }
    let format = Format::of(&path, format.as_deref())?;
    let f = std::fs::File::open(&path).map_err(|e| crate::core::io_error(&path, &e))?;
    let file = std::io::BufReader::new(f);
    let reader: Box<dyn std::io::BufRead> = match format {
        Format::Gzip => Box::new(std::io::BufReader::new(flate2::bufread::MultiGzDecoder::new(file))),
        Format::Zstd => Box::new(std::io::BufReader::new(
            zstd::stream::read::Decoder::with_buffer(file).map_err(|e| VmError::new(N2507, format!("{path}: malformed zstd data: {e}")))?,
        )),
    };
    let r = crate::fs::LineReader::new(path, reader, Some(format.name()), Some(max_line as u64));
    Ok(ctx.heap.alloc(Obj::Native(noodle_native::NativeBox::new(r))))
}

struct GzSink(flate2::write::GzEncoder<std::io::BufWriter<std::fs::File>>);
/// (An `Option` so that a writer never closed still ends its stream when dropped, as
/// flate2's gzip encoder does: both formats then behave alike.)
struct ZstdSink(Option<zstd::stream::write::Encoder<'static, std::io::BufWriter<std::fs::File>>>);

impl Drop for ZstdSink {
    fn drop(&mut self) {
        if let Some(e) = self.0.take() {
            let _ = e.finish();
        }
    }
}

impl Write for GzSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl ZstdSink {
    fn encoder(&mut self) -> std::io::Result<&mut zstd::stream::write::Encoder<'static, std::io::BufWriter<std::fs::File>>> {
        self.0.as_mut().ok_or_else(|| std::io::Error::other("the stream is finished"))
    }
}

impl Write for ZstdSink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.encoder()?.write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.encoder()?.flush()
    }
}

impl crate::fs::Sink for GzSink {
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        let inner: Box<dyn crate::fs::Sink> = Box::new(self.0.finish()?);
        inner.finish()
    }
}

impl crate::fs::Sink for ZstdSink {
    fn finish(mut self: Box<Self>) -> std::io::Result<()> {
        let encoder = self.0.take().ok_or_else(|| std::io::Error::other("the stream is finished"))?;
        let inner: Box<dyn crate::fs::Sink> = Box::new(encoder.finish()?);
        inner.finish()
    }
}

/// `writer(path, format, level)`: an `fs.Writer` whose text is compressed into the file; its
/// `close` (or the end of a `with` block) ends the stream.
fn compress_writer(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "compress.writer")?;
    let path = crate::fs::write_path(ctx, args, 0, "compress.writer")?.to_string();
    let format: Option<String> = noodle_native::arg(ctx, args, 1)?;
    let format = Format::of(&path, format.as_deref())?;
    let sink_level = match (format, args[2]) {
        (_, Value::None) => None,
        (Format::Gzip, v) => Some(level(v, "compress.writer")?.level() as i32),
        (Format::Zstd, v) => Some(zstd_level(v, "compress.writer")?),
    };
    let f = std::fs::File::create(&path).map_err(|e| crate::core::io_error(&path, &e))?;
    let file = std::io::BufWriter::new(f);
    let sink: Box<dyn crate::fs::Sink> = match format {
        Format::Gzip => Box::new(GzSink(flate2::write::GzEncoder::new(file, flate2::Compression::new(sink_level.unwrap_or(6) as u32)))),
        Format::Zstd => Box::new(ZstdSink(Some(zstd::stream::write::Encoder::new(file, sink_level.unwrap_or(3)).map_err(|e| crate::core::io_error(&path, &e))?))),
    };
    let w = crate::fs::Writer::new(path, sink);
    Ok(ctx.heap.alloc(Obj::Native(noodle_native::NativeBox::new(w))))
}
