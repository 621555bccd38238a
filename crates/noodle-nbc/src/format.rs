//! The `.nbc` binary format (version 5). All integers are little-endian.
//!
//! ```text
//! header   magic "NBC\0" | version u16 | flags u16 (0) | body length u32 | crc32 of body u32
//! body     files | consts | types | natives | method names | nglobals u32 | entry u32 | funcs
//! files    count u32, then each: str
//! consts   count u32, then each: tag u8 (0 int i64, 1 float f64, 2 str, 3 bytes) and payload
//! types    count u32, then each: name str | enum name str ("" for a struct) | enum id u16 |
//!          flags u8 (1 by value, 2 ordered, 4 display) | field count u32 + strs | method count u32 + (name u16, func u32)
//! natives  count u32 + strs;  method names: count u32 + strs
//! funcs    count u32, then each: name str | arity u16 | nregs u16 | ncaptures u16 | file u32 |
//!          code length u32 | instructions | line table
//! instr    opcode u8, then each operand at its width (u8, u16/i16 or u32/i32)
//! lines    run count u32, then (instruction count u32, position u32) runs
//! str      length u32 + UTF-8 bytes
//! ```

use crate::codes::{N0500, N0501, N0502, N0503, N0504};
use crate::op::{Op, Operand, OPCODES};
use crate::program::{Const, Function, Program, RecordType};
use std::fmt;

pub const MAGIC: &[u8; 4] = b"NBC\0";
/// Bumped whenever the encoding or the opcode table changes.
pub const FORMAT_VERSION: u16 = 5;
const HEADER_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    NotNbc,
    Version { found: u16, supported: u16 },
    Checksum { expected: u32, found: u32 },
    Malformed(String),
    Invalid(String),
}

impl LoadError {
    pub fn code(&self) -> noodle_codes::Code {
        match self {
            LoadError::NotNbc => N0500,
            LoadError::Version { .. } => N0501,
            LoadError::Checksum { .. } => N0502,
            LoadError::Malformed(_) => N0503,
            LoadError::Invalid(_) => N0504,
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            LoadError::NotNbc => write!(f, "not an NBC file (bad magic number)"),
            LoadError::Version { found, supported } => write!(
                f,
                "unsupported NBC format version {found}: this Noodle reads version {supported}; rebuild the file with `noodle build`"
            ),
            LoadError::Checksum { expected, found } => {
                write!(f, "NBC checksum mismatch (header says {expected:#010x}, contents hash to {found:#010x}): the file is corrupted")
            }
            LoadError::Malformed(m) => write!(f, "malformed NBC file: {m}"),
            LoadError::Invalid(m) => write!(f, "NBC verification failed: {m}"),
        }
    }
}

impl std::error::Error for LoadError {}

fn operand_width(k: Operand) -> usize {
    match k {
        Operand::Argc => 1,
        Operand::Reg | Operand::Cnt | Operand::Typ | Operand::Native | Operand::Meth | Operand::Kind | Operand::Imm16 | Operand::Rel => 2,
        Operand::Imm32 | Operand::Jmp | Operand::Glob | Operand::Cnst | Operand::Func => 4,
    }
}

struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
    }
    fn strs(&mut self, v: &[String]) {
        self.u32(v.len() as u32);
        for s in v {
            self.str(s);
        }
    }
}

/// Serialises a program to the `.nbc` format.
pub fn encode(p: &Program) -> Vec<u8> {
    let mut w = Writer { buf: Vec::new() };
    w.strs(&p.files);
    w.u32(p.consts.len() as u32);
    for c in &p.consts {
        match c {
            Const::Int(v) => {
                w.u8(0);
                w.buf.extend_from_slice(&v.to_le_bytes());
            }
            Const::Float(v) => {
                w.u8(1);
                w.buf.extend_from_slice(&v.to_bits().to_le_bytes());
            }
            Const::Str(s) => {
                w.u8(2);
                w.str(s);
            }
            Const::Bytes(b) => {
                w.u8(3);
                w.u32(b.len() as u32);
                w.buf.extend_from_slice(b);
            }
        }
    }
    w.u32(p.types.len() as u32);
    for t in &p.types {
        w.str(&t.name);
        w.str(t.enum_name.as_deref().unwrap_or(""));
        w.u16(t.enum_id);
        w.u8(t.flags);
        w.strs(&t.fields);
        w.u32(t.methods.len() as u32);
        for &(m, f) in &t.methods {
            w.u16(m);
            w.u32(f);
        }
    }
    w.strs(&p.natives);
    w.strs(&p.method_names);
    w.u32(p.nglobals);
    w.u32(p.entry);
    w.u32(p.funcs.len() as u32);
    for f in &p.funcs {
        w.str(&f.name);
        w.u16(f.arity);
        w.u16(f.nregs);
        w.u16(f.ncaptures);
        w.u32(f.file);
        w.u32(f.code.len() as u32);
        for op in &f.code {
            let opc = op.opcode();
            w.u8(opc);
            for (v, (_, kind)) in op.operands().iter().zip(OPCODES[opc as usize].1.iter()) {
                match operand_width(*kind) {
                    1 => w.u8(*v as u8),
                    2 => w.u16(*v as u16),
                    _ => w.u32(*v as u32),
                }
            }
        }
        // run-length line table
        let mut runs: Vec<(u32, u32)> = Vec::new();
        for &l in &f.lines {
            match runs.last_mut() {
                Some((n, line)) if *line == l => *n += 1,
                _ => runs.push((1, l)),
            }
        }
        w.u32(runs.len() as u32);
        for (n, l) in runs {
            w.u32(n);
            w.u32(l);
        }
    }
    let body = w.buf;
    let mut out = Vec::with_capacity(body.len() + HEADER_LEN);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

type R<T> = Result<T, LoadError>;

fn truncated(what: &str) -> LoadError {
    LoadError::Malformed(format!("truncated while reading {what}"))
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> R<&'a [u8]> {
        if self.buf.len() - self.pos < n {
            return Err(truncated(what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> R<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> R<u16> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().unwrap()))
    }
    fn u32(&mut self, what: &str) -> R<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn u64(&mut self, what: &str) -> R<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }
    /// A count of items each at least `min_size` bytes: refuses counts the rest of the file
    /// cannot hold, so a hostile count cannot make us allocate gigabytes.
    fn count(&mut self, what: &str, min_size: usize) -> R<usize> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min_size.max(1)) > self.buf.len() - self.pos {
            return Err(LoadError::Malformed(format!("{what} count {n} is larger than the file")));
        }
        Ok(n)
    }
    fn str(&mut self, what: &str) -> R<String> {
        let n = self.count(what, 1)?;
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| LoadError::Malformed(format!("{what} is not valid UTF-8")))
    }
    fn strs(&mut self, what: &str) -> R<Vec<String>> {
        let n = self.count(what, 4)?;
        (0..n).map(|_| self.str(what)).collect()
    }
}

/// Parses a `.nbc` file. The result still has to pass `verify` before it may run.
pub fn decode(bytes: &[u8]) -> Result<Program, LoadError> {
    if bytes.len() < 4 || &bytes[..4] != MAGIC {
        return Err(LoadError::NotNbc);
    }
    if bytes.len() < HEADER_LEN {
        return Err(truncated("the header"));
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != FORMAT_VERSION {
        return Err(LoadError::Version { found: version, supported: FORMAT_VERSION });
    }
    let flags = u16::from_le_bytes([bytes[6], bytes[7]]);
    if flags != 0 {
        return Err(LoadError::Malformed(format!("unknown header flags {flags:#06x} (this Noodle knows none)")));
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
    let crc = u32::from_le_bytes(bytes[12..16].try_into().unwrap());
    let body = &bytes[HEADER_LEN..];
    if body.len() != len {
        return Err(LoadError::Malformed(format!("body length is {} bytes but the header says {len}", body.len())));
    }
    let actual = crc32fast::hash(body);
    if actual != crc {
        return Err(LoadError::Checksum { expected: crc, found: actual });
    }
    let mut r = Reader { buf: body, pos: 0 };
    let files = r.strs("file names")?;
    let nconsts = r.count("constants", 5)?;
    let mut consts = Vec::with_capacity(nconsts);
    for _ in 0..nconsts {
        consts.push(match r.u8("constant tag")? {
            0 => Const::Int(r.u64("int constant")? as i64),
            1 => Const::Float(f64::from_bits(r.u64("float constant")?)),
            2 => Const::Str(r.str("string constant")?),
            3 => {
                let n = r.count("bytes constant", 1)?;
                Const::Bytes(r.take(n, "bytes constant")?.to_vec())
            }
            t => return Err(LoadError::Malformed(format!("unknown constant tag {t}"))),
        });
    }
    let ntypes = r.count("types", 19)?;
    let mut types = Vec::with_capacity(ntypes);
    for _ in 0..ntypes {
        let name = r.str("type name")?;
        let enum_name = r.str("enum name")?;
        let enum_id = r.u16("enum id")?;
        let flags = r.u8("record flags")?;
        if flags & !(crate::program::RECORD_BY_VALUE | crate::program::RECORD_ORDERED | crate::program::RECORD_DISPLAY) != 0 {
            return Err(LoadError::Malformed(format!("unknown record flags {flags:#04x}")));
        }
        let fields = r.strs("field names")?;
        let nm = r.count("methods", 6)?;
        let mut methods = Vec::with_capacity(nm);
        for _ in 0..nm {
            methods.push((r.u16("method name")?, r.u32("method function")?));
        }
        types.push(RecordType { name, enum_name: if enum_name.is_empty() { None } else { Some(enum_name) }, enum_id, fields, methods, flags });
    }
    let natives = r.strs("native names")?;
    let method_names = r.strs("method names")?;
    let nglobals = r.u32("global count")?;
    let entry = r.u32("entry function")?;
    let nfuncs = r.count("functions", 22)?;
    let mut funcs = Vec::with_capacity(nfuncs);
    for _ in 0..nfuncs {
        let name = r.str("function name")?;
        let arity = r.u16("arity")?;
        let nregs = r.u16("register count")?;
        let ncaptures = r.u16("capture count")?;
        let file = r.u32("file index")?;
        let ncode = r.count("instructions", 1)?;
        let mut code = Vec::with_capacity(ncode);
        for _ in 0..ncode {
            let opc = r.u8("opcode")?;
            let Some((_, operands)) = OPCODES.get(opc as usize) else {
                return Err(LoadError::Malformed(format!("unknown opcode {opc} in function `{name}`")));
            };
            let mut vals = Vec::with_capacity(operands.len());
            for (_, kind) in operands.iter() {
                let v = match kind {
                    Operand::Argc => r.u8("operand")? as i64,
                    Operand::Imm16 | Operand::Rel => r.u16("operand")? as i16 as i64,
                    Operand::Reg | Operand::Cnt | Operand::Typ | Operand::Native | Operand::Meth | Operand::Kind => r.u16("operand")? as i64,
                    Operand::Imm32 | Operand::Jmp => r.u32("operand")? as i32 as i64,
                    Operand::Glob | Operand::Cnst | Operand::Func => r.u32("operand")? as i64,
                };
                vals.push(v);
            }
            code.push(Op::from_parts(opc, &vals).ok_or_else(|| LoadError::Malformed(format!("bad instruction {opc}")))?);
        }
        let nruns = r.count("line table", 8)?;
        let mut lines = Vec::with_capacity(ncode);
        for _ in 0..nruns {
            let n = r.u32("line run")? as usize;
            let l = r.u32("line number")?;
            if lines.len() + n > ncode {
                return Err(LoadError::Malformed(format!("line table of `{name}` is longer than its code")));
            }
            lines.extend(std::iter::repeat(l).take(n));
        }
        if lines.len() != ncode {
            return Err(LoadError::Malformed(format!("line table of `{name}` does not cover its code")));
        }
        funcs.push(Function { name, arity, nregs, ncaptures, file, code, lines });
    }
    if r.pos != body.len() {
        return Err(LoadError::Malformed(format!("{} unexpected bytes after the last function", body.len() - r.pos)));
    }
    Ok(Program { files, consts, funcs, types, natives, method_names, nglobals, entry })
}
