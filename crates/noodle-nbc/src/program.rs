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
    /// Source position of each instruction (same length as `code`): see `position`.
    pub lines: Vec<u32>,
}

/// How many bits of a position hold the line; the column is in the bits above them.
const LINE_BITS: u32 = 22;

/// A line-table entry: the 1-based line in the low 22 bits and the 1-based column (0 when
/// not known) in the high 10, each capped at the most its bits hold. A table made of plain
/// line numbers is a table of positions with unknown columns.
pub fn position(line: u32, col: u32) -> u32 {
    // a column past what the bits hold is unknown (0), not a wrong one
    let col = if col < 1 << (32 - LINE_BITS) { col } else { 0 };
    line.min((1 << LINE_BITS) - 1) | (col << LINE_BITS)
}

/// The line of a position.
pub fn position_line(pos: u32) -> u32 {
    pos & ((1 << LINE_BITS) - 1)
}

/// The column of a position (0: not known).
pub fn position_col(pos: u32) -> u32 {
    pos >> LINE_BITS
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
    /// `RECORD_BY_VALUE`, `RECORD_ORDERED`: how a struct's values compare (a struct declared
    /// `: Eq` or `: Ord`); 0 for other structs (by identity) and for variants (always by value).
    pub flags: u8,
}

/// A struct whose values are equal, and hash, by their fields (declared `: Eq`).
pub const RECORD_BY_VALUE: u8 = 1;
/// A struct whose values are ordered by their fields in order (declared `: Ord`).
pub const RECORD_ORDERED: u8 = 2;
/// A struct or variant whose values `print`, `str` and f-strings show with its method
/// `display` (declared `: Display`).
pub const RECORD_DISPLAY: u8 = 4;

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

impl Program {
    /// The globals that code reachable from `roots` may read or write, as a mask over the
    /// global slots. An actor's heap gets copies of only these at spawn.
    ///
    /// Reachable code is the closure over direct calls, function values made (`LoadFunc`,
    /// `MakeClosure`) and interface dispatch (every method of that name). A call through a
    /// function value can only reach a function whose value was made somewhere, so when
    /// reachable code calls one, every function made anywhere in the program counts too
    /// (a function value may arrive through a global or an argument). The result may be
    /// larger than what runs, never smaller.
    pub fn globals_used(&self, roots: &[u32]) -> Vec<bool> {
        let mut used = vec![false; self.nglobals as usize];
        let mut seen = vec![false; self.funcs.len()];
        let mut work: Vec<u32> = roots.to_vec();
        let mut indirect_added = false;
        while let Some(f) = work.pop() {
            let Some(func) = self.funcs.get(f as usize) else { continue };
            if std::mem::replace(&mut seen[f as usize], true) {
                continue;
            }
            for op in &func.code {
                match *op {
                    Op::LoadGlobal { idx, .. } | Op::StoreGlobal { idx, .. } => {
                        if let Some(u) = used.get_mut(idx as usize) {
                            *u = true;
                        }
                    }
                    Op::Call { func, .. } | Op::LoadFunc { func, .. } | Op::MakeClosure { func, .. } => work.push(func),
                    Op::CallMethod { name, .. } => {
                        work.extend(self.types.iter().flat_map(|t| t.methods.iter()).filter(|(n, _)| *n == name).map(|(_, f)| *f));
                    }
                    Op::CallValue { .. } if !indirect_added => {
                        indirect_added = true;
                        for g in &self.funcs {
                            for op in &g.code {
                                if let Op::LoadFunc { func, .. } | Op::MakeClosure { func, .. } = *op {
                                    work.push(func);
                                }
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(name: &str, code: Vec<Op>) -> Function {
        let lines = vec![1; code.len()];
        Function { name: name.into(), arity: 0, nregs: 2, ncaptures: 0, file: 0, code, lines }
    }

    #[test]
    fn globals_used_follows_calls_methods_and_function_values() {
        let p = Program {
            funcs: vec![
                // 0: the actor's root: calls 1, dispatches `m`, calls a value
                func("root", vec![Op::Call { base: 0, func: 1 }, Op::CallMethod { base: 0, name: 0, argc: 0 }, Op::CallValue { base: 0, argc: 0 }, Op::ReturnNone]),
                func("direct", vec![Op::LoadGlobal { dst: 0, idx: 0 }, Op::ReturnNone]),
                func("T.m", vec![Op::StoreGlobal { src: 0, idx: 1 }, Op::ReturnNone]),
                // 3: made as a value by main (4) only: reachable through CallValue
                func("by_value", vec![Op::LoadGlobal { dst: 0, idx: 2 }, Op::ReturnNone]),
                func("main", vec![Op::LoadFunc { dst: 0, func: 3 }, Op::LoadGlobal { dst: 0, idx: 3 }, Op::ReturnNone]),
                func("unrelated", vec![Op::LoadGlobal { dst: 0, idx: 4 }, Op::ReturnNone]),
            ],
            types: vec![RecordType { name: "T".into(), enum_name: None, enum_id: u16::MAX, fields: vec![], methods: vec![(0, 2)], flags: 0 }],
            method_names: vec!["m".into()],
            nglobals: 5,
            entry: 4,
            ..Program::default()
        };
        assert_eq!(p.globals_used(&[0]), vec![true, true, true, false, false]);
        // without the indirect call, `by_value` is not reachable
        assert_eq!(p.globals_used(&[1, 2]), vec![true, true, false, false, false]);
    }
}
