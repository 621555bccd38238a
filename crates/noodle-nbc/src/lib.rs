//! NBC — Noodle ByteCode. The instruction set (`op`), the in-memory program (`program`), the
//! versioned binary file format (`format`), the verifier every loaded program passes through
//! (`verify`), and a disassembler (`disasm`).
//!
//! Invariant: a `Program` that `verify` accepted cannot make the VM read or write outside its
//! register window, jump outside its code, or index a missing constant, function, type, native
//! or global. The VM relies on this and checks nothing of the sort per instruction.

pub mod codes;
pub mod disasm;
pub mod format;
pub mod op;
pub mod program;
pub mod verify;

pub use format::{decode, encode, LoadError, FORMAT_VERSION, MAGIC};
pub use op::Op;
pub use program::{position, position_col, position_line, Const, Function, Program, RecordType};
pub use verify::verify;
