//! `std.compress`: gzip and zlib through `flate2` (its pure-Rust miniz_oxide backend).
//! Decompression reads at most `max_size + 1` bytes, so the size check costs no more memory
//! than the limit.

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
