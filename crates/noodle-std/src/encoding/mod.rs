//! `std.encoding`: base64 (the `base64` crate), hex, URL percent-encoding, UTF-8 decoding with
//! an error policy, and UUIDs (v4 and v7, from the operating system's random source).

use crate::codes::N2506;
use base64::Engine;
use noodle_native::{arity, as_bytes, as_str, simple, Ctx, Module, Obj, Value, VmError};

type R = Result<Value, VmError>;

/// The `std.encoding` module: its declarations and the functions behind them.
pub fn module() -> Module {
    Module::new("std.encoding", include_str!("encoding.noodle"))
        .function("base64_encode", simple!(base64_encode))
        .function("base64_decode", simple!(base64_decode))
        .function("hex_encode", simple!(hex_encode))
        .function("hex_decode", simple!(hex_decode))
        .function("url_encode", simple!(url_encode))
        .function("url_decode", simple!(url_decode))
        .function("utf8_decode", simple!(utf8_decode))
        .function("uuid4", simple!(uuid4))
        .function("uuid7", simple!(uuid7))
}

fn bytes_value(ctx: &mut Ctx, b: Vec<u8>) -> R {
    Ok(ctx.heap.alloc(Obj::Bytes(b.into())))
}

fn engine(url_safe: bool, padding: bool) -> base64::engine::GeneralPurpose {
    use base64::engine::{DecodePaddingMode, GeneralPurposeConfig};
    let alphabet = if url_safe { &base64::alphabet::URL_SAFE } else { &base64::alphabet::STANDARD };
    let config = GeneralPurposeConfig::new().with_encode_padding(padding).with_decode_padding_mode(DecodePaddingMode::Indifferent);
    base64::engine::GeneralPurpose::new(alphabet, config)
}

fn base64_encode(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 3, "encoding.base64_encode")?;
    let data = as_bytes(ctx.heap, args[0], "encoding.base64_encode")?;
    let text = engine(matches!(args[1], Value::Bool(true)), matches!(args[2], Value::Bool(true))).encode(data);
    Ok(ctx.heap.alloc_str(text))
}

fn base64_decode(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "encoding.base64_decode")?;
    let text = as_str(ctx.heap, args[0], "encoding.base64_decode")?;
    let data = engine(matches!(args[1], Value::Bool(true)), true).decode(text.trim_end()).map_err(|e| {
        let why = match e {
            base64::DecodeError::InvalidByte(at, b) => format!("character {:?} at position {at} is not base64", b as char),
            base64::DecodeError::InvalidLength(n) => format!("a length of {n} base64 characters cannot be whole bytes"),
            base64::DecodeError::InvalidLastSymbol(at, b) => format!("the last character {:?} at position {at} has bits that no byte holds", b as char),
            base64::DecodeError::InvalidPadding => "the `=` padding is wrong".to_string(),
        };
        VmError::new(N2506, format!("malformed base64: {why}"))
    })?;
    bytes_value(ctx, data)
}

fn hex_encode(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "encoding.hex_encode")?;
    let s = crate::core::hex(as_bytes(ctx.heap, args[0], "encoding.hex_encode")?);
    Ok(ctx.heap.alloc_str(s))
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn hex_decode(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 1, "encoding.hex_decode")?;
    let text = as_str(ctx.heap, args[0], "encoding.hex_decode")?;
    if text.len() % 2 != 0 {
        return Err(VmError::new(N2506, format!("malformed hex: an odd number of digits ({})", text.chars().count())));
    }
    let mut out = Vec::with_capacity(text.len() / 2);
    let b = text.as_bytes();
    for i in (0..b.len()).step_by(2) {
        match (hex_digit(b[i]), hex_digit(b[i + 1])) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            (h, _) => {
                let at = if h.is_none() { i } else { i + 1 };
                let c = text[at..].chars().next().unwrap_or('?');
                return Err(VmError::new(N2506, format!("malformed hex: {c:?} at position {} is not a hex digit", text[..at].chars().count())));
            }
        }
    }
    bytes_value(ctx, out)
}

fn url_encode(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "encoding.url_encode")?;
    let text = as_str(ctx.heap, args[0], "encoding.url_encode")?;
    let plus = matches!(args[1], Value::Bool(true));
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b as char),
            b' ' if plus => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    Ok(ctx.heap.alloc_str(out))
}

fn url_decode(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "encoding.url_decode")?;
    let text = as_str(ctx.heap, args[0], "encoding.url_decode")?;
    let plus = matches!(args[1], Value::Bool(true));
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1).and_then(|h| hex_digit(*h)).zip(b.get(i + 2).and_then(|l| hex_digit(*l)));
                let Some((h, l)) = hex else {
                    return Err(VmError::new(N2506, format!("malformed URL encoding: `%` at position {} is not followed by two hex digits", text[..i].chars().count())));
                };
                out.push(h << 4 | l);
                i += 3;
            }
            b'+' if plus => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    let s = String::from_utf8(out).map_err(|e| VmError::new(N2506, format!("malformed URL encoding: the decoded bytes are not UTF-8 (at byte {})", e.utf8_error().valid_up_to())))?;
    Ok(ctx.heap.alloc_str(s))
}

fn utf8_decode(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 2, "encoding.utf8_decode")?;
    let data = as_bytes(ctx.heap, args[0], "encoding.utf8_decode")?;
    let policy = as_str(ctx.heap, args[1], "encoding.utf8_decode")?;
    let text = match policy {
        "strict" => match std::str::from_utf8(data) {
            Ok(s) => s.to_string(),
            Err(e) => return Err(VmError::new(N2506, format!("malformed UTF-8: invalid byte at position {}", e.valid_up_to()))),
        },
        "replace" => String::from_utf8_lossy(data).into_owned(),
        "ignore" => {
            let mut out = String::with_capacity(data.len());
            for chunk in data.utf8_chunks() {
                out.push_str(chunk.valid());
            }
            out
        }
        other => return Err(VmError::arg(format!("{other:?} is not an error policy (strict, replace, ignore)"))),
    };
    Ok(ctx.heap.alloc_str(text))
}

/// A UUID's 128 bits as its text, `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
fn uuid_string(v: u128) -> String {
    let h = crate::core::hex(&v.to_be_bytes());
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

fn random16() -> Result<[u8; 16], VmError> {
    let mut b = [0u8; 16];
    crate::random::secure_fill(&mut b)?;
    Ok(b)
}

fn uuid4(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "encoding.uuid4")?;
    let r = u128::from_be_bytes(random16()?);
    // version 4 in bits 76-79, variant 0b10 in bits 62-63
    let v = (r & !(0xf << 76) & !(0b11 << 62)) | (4 << 76) | (0b10 << 62);
    Ok(ctx.heap.alloc_str(uuid_string(v)))
}

/// The last UUID v7 made: (milliseconds, the 74 random bits), so that the next sorts after it.
static LAST_V7: std::sync::Mutex<(u64, u128)> = std::sync::Mutex::new((0, 0));

fn uuid7(ctx: &mut Ctx, args: &[Value]) -> R {
    arity(args, 0, "encoding.uuid7")?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let r = random16()?;
    let mut rand = u128::from_be_bytes(r) & ((1u128 << 74) - 1);
    let mut ms = now;
    {
        // within one millisecond (or when the clock goes back) the random part counts up from
        // the last one, as RFC 9562 allows, so each UUID sorts after the one before it
        let mut last = LAST_V7.lock().unwrap_or_else(|e| e.into_inner());
        if ms <= last.0 {
            ms = last.0;
            if rand <= last.1 {
                rand = last.1 + 1;
            }
        }
        *last = (ms, rand);
    }
    // 48 bits of time, 4 of version, 12 random, 2 of variant, 62 random
    let v = (u128::from(ms & 0xffff_ffff_ffff) << 80) | (7u128 << 76) | ((rand >> 62) << 64) | (2u128 << 62) | (rand & ((1u128 << 62) - 1));
    Ok(ctx.heap.alloc_str(uuid_string(v)))
}
