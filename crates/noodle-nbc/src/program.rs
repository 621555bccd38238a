//! The in-memory form of a compiled program.

use crate::op::Op;

#[derive(Clone, Debug, PartialEq)]
pub enum Const {
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Function {
    pub name: String,
    /// Number of parameters (they occupy registers `0 .. arity`).
    pub arity: u16,
    /// Size of the register window.
    pub nregs: u16,
    /// Number of captured values a closure over this function carries.
    pub ncaptures: u16,
    /// Index into `Program::files`.
    pub file: u32,
    pub code: Vec<Op>,
    /// Source line of each instruction (same length as `code`).
    pub lines: Vec<u32>,
}

/// A record type: a struct, or one variant of an enum.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordType {
    /// For a variant, the variant's name; `enum_name` is the enum's.
    pub name: String,
    pub enum_name: Option<String>,
    /// Index of the enum this variant belongs to (`IsKind` with `KIND_ENUM`), or u16::MAX.
    pub enum_id: u16,
    pub fields: Vec<String>,
    /// Methods callable through interface dispatch: (index into `method_names`, function).
    pub methods: Vec<(u16, u32)>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Program {
    pub files: Vec<String>,
    pub consts: Vec<Const>,
    pub funcs: Vec<Function>,
    pub types: Vec<RecordType>,
    /// Names of the native functions the program uses, resolved when it is loaded.
    pub natives: Vec<String>,
    pub method_names: Vec<String>,
    pub nglobals: u32,
    /// The function that runs the program's top-level code.
    pub entry: u32,
}

impl Program {
    pub fn func_by_name(&self, name: &str) -> Option<u32> {
        self.funcs.iter().position(|f| f.name == name).map(|i| i as u32)
    }
}
