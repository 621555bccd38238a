//! `std.hash`: digests from the RustCrypto crates (`sha2`, `sha3`, `hmac`), `blake3` and
//! `crc32fast`.

use noodle_native::{arity, as_bytes, simple, Ctx, Module, Obj, Value, VmError};
use sha2::Digest;

type R = Result<Value, VmError>;

/// The `std.hash` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.hash", include_str!("hash.noodle"))
        .function("sha256", simple!(hash_sha256))
        .function("sha512", simple!(hash_sha512))
        .function("sha3_256", simple!(hash_sha3_256))
        .function("blake3", simple!(hash_blake3))
        .function("hmac_sha256", simple!(hash_hmac_sha256))
        .function("crc32", simple!(hash_crc32))
        .function("equal", simple!(hash_equal))
}

/// The digest `f` makes of argument 0.
fn digest(ctx: &mut Ctx, args: &[Value], name: &str, f: impl Fn(&[u8]) -> Vec<u8>) -> R {
    arity(args, 1, name)?;
    let d = f(as_bytes(ctx.heap, args[0], name)?);
    Ok(ctx.heap.alloc(Obj::Bytes(d.into())))
}

fn hash_sha256(ctx: &mut Ctx, args: &[Value]) -> R {
    digest(ctx, args, "hash.sha256", |d| sha2::Sha256::digest(d).to_vec())
}

fn hash_sha512(ctx: &mut Ctx, args: &[Value]) -> R {
    digest(ctx, args, "hash.sha512", |d| sha2::Sha512::digest(d).to_vec())
}

fn hash_sha3_256(ctx: &mut Ctx, args: &[Value]) -> R {
    digest(ctx, args, "hash.sha3_256", |d| sha3::Sha3_256::digest(d).to_vec())
}

fn hash_blake3(ctx: &mut Ctx, args: &[Value]) -> R {
    digest(ctx, args, "hash.blake3", |d| blake3::hash(d).as_bytes().to_vec())
}

fn hash_hmac_sha256(ctx: &mut Ctx, args: &[Value]) -> R {
    use hmac::{KeyInit, Mac};
    arity(args, 2, "hash.hmac_sha256")?;
    let key = as_bytes(ctx.heap, args[0], "hash.hmac_sha256")?;
    let data = as_bytes(ctx.heap, args[1], "hash.hmac_sha256")?;
    // HMAC takes a key of any length
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).map_err(|_| VmError::arg("the HMAC key was refused"))?;
    mac.update(data);
    let out = mac.finalize().into_bytes().to_vec();
    Ok(ctx.heap.alloc(Obj::Bytes(out.into())))
}

fn hash_crc32(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "hash.crc32")?;
    let data = as_bytes(ctx.heap, args[0], "hash.crc32")?;
    Ok(Value::Int(i64::from(crc32fast::hash(data))))
}

fn hash_equal(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "hash.equal")?;
    let a = as_bytes(ctx.heap, args[0], "hash.equal")?;
    let b = as_bytes(ctx.heap, args[1], "hash.equal")?;
    // every byte is looked at whatever the first difference: the time says only the lengths
    let mut diff = u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    Ok(Value::Bool(std::hint::black_box(diff) == 0))
}
