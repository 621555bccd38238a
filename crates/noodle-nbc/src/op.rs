//! The instruction set. Registers are `u16` indexes into the current function's register
//! window. Instructions are type-specialised where the checker knows the types (`AddInt` vs
//! `AddFloat`), so the hot paths do no dynamic dispatch on value kinds.
//!
//! Calling convention: `Call { base, func }` calls with the arguments in registers
//! `base+1 ..= base+arity`; the callee's register window starts at `base+1` (its parameters are
//! its first registers) and the result is written to `base`.

/// Runtime kind codes used by `IsKind` / `CastKind` (`x is T`, `x as T`). Record types (structs,
/// enum variants) use `KIND_RECORD + type index`; `KIND_ENUM + enum index` tests any variant of
/// an enum.
pub const KIND_NONE: u16 = 0;
pub const KIND_BOOL: u16 = 1;
pub const KIND_INT: u16 = 2;
pub const KIND_FLOAT: u16 = 3;
pub const KIND_STR: u16 = 4;
pub const KIND_BYTES: u16 = 5;
pub const KIND_LIST: u16 = 6;
pub const KIND_DICT: u16 = 7;
pub const KIND_SET: u16 = 8;
pub const KIND_TUPLE: u16 = 9;
pub const KIND_FUNC: u16 = 10;
pub const KIND_RECORD: u16 = 0x1000;

/// An instruction's operand values, without an allocation (the verifier and the encoder look
/// at every instruction of a program).
#[derive(Clone, Copy, Debug)]
pub struct Operands {
    vals: [i64; 3],
    len: u8,
}

impl Operands {
    fn new(vals: &[i64]) -> Operands {
        let mut o = Operands { vals: [0; 3], len: vals.len() as u8 };
        o.vals[..vals.len()].copy_from_slice(vals);
        o
    }
}

impl std::ops::Deref for Operands {
    type Target = [i64];
    fn deref(&self) -> &[i64] {
        &self.vals[..self.len as usize]
    }
}

impl std::ops::DerefMut for Operands {
    fn deref_mut(&mut self) -> &mut [i64] {
        &mut self.vals[..self.len as usize]
    }
}

impl IntoIterator for Operands {
    type Item = i64;
    type IntoIter = std::iter::Take<std::array::IntoIter<i64, 3>>;
    fn into_iter(self) -> Self::IntoIter {
        self.vals.into_iter().take(self.len as usize)
    }
}

macro_rules! operand_ty {
    (reg) => { u16 };
    (cnt) => { u16 };
    (typ) => { u16 };
    (native) => { u16 };
    (meth) => { u16 };
    (kind) => { u16 };
    (argc) => { u8 };
    (imm16) => { i16 };
    (rel) => { i16 };
    (imm32) => { i32 };
    (jmp) => { i32 };
    (glob) => { u32 };
    (cnst) => { u32 };
    (func) => { u32 };
}

/// The kind of each operand, for the encoder, the verifier and the disassembler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    Reg,
    Cnt,
    Typ,
    Native,
    Meth,
    Kind,
    Argc,
    Imm16,
    Imm32,
    /// A 32-bit jump offset, relative to the next instruction.
    Jmp,
    /// A 16-bit jump offset (fused compare-and-branch instructions).
    Rel,
    Glob,
    Cnst,
    Func,
}

macro_rules! operand_kind {
    (reg) => { Operand::Reg };
    (cnt) => { Operand::Cnt };
    (typ) => { Operand::Typ };
    (native) => { Operand::Native };
    (meth) => { Operand::Meth };
    (kind) => { Operand::Kind };
    (argc) => { Operand::Argc };
    (imm16) => { Operand::Imm16 };
    (rel) => { Operand::Rel };
    (imm32) => { Operand::Imm32 };
    (jmp) => { Operand::Jmp };
    (glob) => { Operand::Glob };
    (cnst) => { Operand::Cnst };
    (func) => { Operand::Func };
}

macro_rules! ops {
    ($( $(#[$doc:meta])* $name:ident $( { $( $field:ident : $kind:ident ),* } )? ),* $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Op {
            $( $(#[$doc])* $name $( { $( $field: operand_ty!($kind) ),* } )? ),*
        }

        /// One entry per opcode, in opcode order: the mnemonic and the operands.
        pub const OPCODES: &[(&str, &[(&str, Operand)])] = &[
            $( (stringify!($name), &[ $( $( (stringify!($field), operand_kind!($kind)) ),* )? ]) ),*
        ];

        impl Op {
            pub fn opcode(&self) -> u8 {
                let mut _i = 0u8;
                $(
                    if let Op::$name { .. } = self { return _i; }
                    _i += 1;
                )*
                unreachable!()
            }

            /// The operand values, widened to i64, in declaration order.
            pub fn operands(&self) -> Operands {
                match *self {
                    $( Op::$name $( { $( $field ),* } )? => Operands::new(&[ $( $( $field as i64 ),* )? ]) ),*
                }
            }

            /// Rebuilds an instruction from an opcode and operand values (already range-checked
            /// by the decoder against each operand's width).
            pub fn from_parts(opcode: u8, vals: &[i64]) -> Option<Op> {
                let mut _i = 0u8;
                $(
                    if opcode == _i {
                        #[allow(unused_mut, unused_variables)]
                        let mut it = vals.iter();
                        return Some(Op::$name $( { $( $field: *it.next()? as operand_ty!($kind) ),* } )?);
                    }
                    _i += 1;
                )*
                None
            }
        }
    };
}

ops! {
    /// No operation (kept so patched code can be padded).
    Nop,
    Move { dst: reg, src: reg },
    LoadNone { dst: reg },
    LoadTrue { dst: reg },
    LoadFalse { dst: reg },
    LoadInt { dst: reg, val: imm32 },
    LoadConst { dst: reg, idx: cnst },
    LoadFunc { dst: reg, func: func },
    LoadGlobal { dst: reg, idx: glob },
    StoreGlobal { src: reg, idx: glob },

    // integer arithmetic (checked: overflow and division by zero raise errors)
    AddInt { dst: reg, a: reg, b: reg },
    SubInt { dst: reg, a: reg, b: reg },
    MulInt { dst: reg, a: reg, b: reg },
    DivInt { dst: reg, a: reg, b: reg },
    ModInt { dst: reg, a: reg, b: reg },
    PowInt { dst: reg, a: reg, b: reg },
    NegInt { dst: reg, src: reg },
    AddIntImm { dst: reg, a: reg, imm: imm16 },
    BitAnd { dst: reg, a: reg, b: reg },
    BitOr { dst: reg, a: reg, b: reg },
    BitXor { dst: reg, a: reg, b: reg },
    Shl { dst: reg, a: reg, b: reg },
    Shr { dst: reg, a: reg, b: reg },
    BitNot { dst: reg, src: reg },

    // float arithmetic
    AddFloat { dst: reg, a: reg, b: reg },
    SubFloat { dst: reg, a: reg, b: reg },
    MulFloat { dst: reg, a: reg, b: reg },
    DivFloat { dst: reg, a: reg, b: reg },
    FloorDivFloat { dst: reg, a: reg, b: reg },
    ModFloat { dst: reg, a: reg, b: reg },
    PowFloat { dst: reg, a: reg, b: reg },
    NegFloat { dst: reg, src: reg },
    IntToFloat { dst: reg, src: reg },
    /// `math.sqrt`, as an instruction rather than a native call (hot in numeric code).
    SqrtFloat { dst: reg, src: reg },

    // comparisons producing bools
    EqInt { dst: reg, a: reg, b: reg },
    NeInt { dst: reg, a: reg, b: reg },
    LtInt { dst: reg, a: reg, b: reg },
    LeInt { dst: reg, a: reg, b: reg },
    EqFloat { dst: reg, a: reg, b: reg },
    NeFloat { dst: reg, a: reg, b: reg },
    LtFloat { dst: reg, a: reg, b: reg },
    LeFloat { dst: reg, a: reg, b: reg },
    /// Structural equality on any two values.
    Eq { dst: reg, a: reg, b: reg },
    Ne { dst: reg, a: reg, b: reg },
    /// Ordering on str, bytes, tuples and lists (and numbers).
    Lt { dst: reg, a: reg, b: reg },
    Le { dst: reg, a: reg, b: reg },
    Not { dst: reg, src: reg },
    /// `item in container` for list, dict, set, str (substring), bytes.
    Contains { dst: reg, container: reg, item: reg },

    // control flow; offsets are relative to the next instruction
    Jump { off: jmp },
    JumpIfTrue { cond: reg, off: jmp },
    JumpIfFalse { cond: reg, off: jmp },
    JumpIfNone { src: reg, off: jmp },
    JumpIfNotNone { src: reg, off: jmp },
    // fused compare-and-branch: jump when the comparison holds
    JumpIfLtInt { a: reg, b: reg, off: rel },
    JumpIfLeInt { a: reg, b: reg, off: rel },
    JumpIfEqInt { a: reg, b: reg, off: rel },
    JumpIfNeInt { a: reg, b: reg, off: rel },
    JumpIfLtIntImm { a: reg, imm: imm16, off: rel },
    JumpIfLeIntImm { a: reg, imm: imm16, off: rel },
    JumpIfGtIntImm { a: reg, imm: imm16, off: rel },
    JumpIfGeIntImm { a: reg, imm: imm16, off: rel },
    JumpIfEqIntImm { a: reg, imm: imm16, off: rel },
    JumpIfNeIntImm { a: reg, imm: imm16, off: rel },
    JumpIfLtFloat { a: reg, b: reg, off: rel },
    JumpIfLeFloat { a: reg, b: reg, off: rel },
    /// Jump when `!(a < b)` (true for NaN operands).
    JumpIfNotLtFloat { a: reg, b: reg, off: rel },
    JumpIfNotLeFloat { a: reg, b: reg, off: rel },

    // calls
    Call { base: reg, func: func },
    /// Calls the function or closure value in register `base`.
    CallValue { base: reg, argc: argc },
    CallNative { base: reg, native: native, argc: argc },
    /// Interface dispatch: the receiver is in `base+1`; the method is looked up by name.
    CallMethod { base: reg, name: meth, argc: argc },
    Return { src: reg },
    ReturnNone,

    // objects
    NewList { dst: reg, base: reg, count: cnt },
    NewDict { dst: reg, base: reg, count: cnt },
    NewSet { dst: reg, base: reg, count: cnt },
    NewTuple { dst: reg, base: reg, count: cnt },
    /// Builds a record (struct or enum variant) from registers `base ..` (one per field).
    NewRecord { dst: reg, ty: typ, base: reg },
    /// Field `idx` of a record or element `idx` of a tuple.
    GetField { dst: reg, obj: reg, idx: cnt },
    SetField { obj: reg, idx: cnt, src: reg },
    ListGet { dst: reg, list: reg, idx: reg },
    ListSet { list: reg, idx: reg, src: reg },
    /// Indexing of dict, str, bytes, tuple and list values.
    IndexGet { dst: reg, obj: reg, key: reg },
    IndexSet { obj: reg, key: reg, src: reg },
    /// `obj[start:end]`: start is in `base`, end in `base+1` (none for an open end).
    Slice { dst: reg, obj: reg, base: reg },
    Len { dst: reg, src: reg },
    /// A list to iterate over: the list itself, a dict's keys, a set's elements, a string's
    /// characters, a bytes value's ints, a range's ints.
    IterList { dst: reg, src: reg },
    IsKind { dst: reg, src: reg, kind: kind },
    CastKind { dst: reg, src: reg, kind: kind },
    Unwrap { dst: reg, src: reg },

    // closures and captured variables
    /// Builds a closure over `func`, capturing registers `dst+1 ..= dst+ncaptures`.
    MakeClosure { dst: reg, func: func },
    LoadCapture { dst: reg, idx: cnt },
    NewCell { dst: reg, src: reg },
    CellGet { dst: reg, cell: reg },
    CellSet { cell: reg, src: reg },

    // strings
    ToStr { dst: reg, src: reg },
    /// Formats `src` with the format spec in string constant `spec`.
    Format { dst: reg, spec: cnst },
    /// Concatenates `count` values from registers `base ..`; values that are not strings are
    /// formatted as `str()` formats them.
    Concat { dst: reg, base: reg, count: cnt },
    AddStr { dst: reg, a: reg, b: reg },

    // errors
    /// Installs a handler: an error raised before the matching `TryEnd` jumps to `off` with the
    /// error value in `reg`.
    TryBegin { reg: reg, off: jmp },
    TryEnd,
    Throw { src: reg },
    /// `d.get(k, default)`: the value under key `r(key)` in dict `r(dict)`, or `r(key + 1)`
    /// when there is none. An instruction rather than a native call because counting with a
    /// dict (`d[k] = d.get(k, 0) + 1`) is that common.
    DictGet { dst: reg, dict: reg, key: reg },
    /// The step at the bottom of a `for` over a range: `r(a) += 1`, then jump (backward, a
    /// safe point) if `r(a) < r(b)`. One dispatch where the increment and the test took two.
    ForStep { a: reg, b: reg, off: rel },
    /// `ForStep` for an inclusive range (`a..=b`): if `r(a) < r(b)`, `r(a) += 1` and jump; so
    /// a range ending at the largest int ends there instead of overflowing.
    ForStepIncl { a: reg, b: reg, off: rel },
    /// Swaps the elements at indexes `r(i)` and `r(j)` of list `r(list)` (negative indexes
    /// count from the end): `let t = a[i]; a[i] = a[j]; a[j] = t` after its first statement.
    ListSwap { list: reg, i: reg, j: reg },
    /// Marks the list, dict or set just made in `obj` as made with `any` elements (for a
    /// `list[any]`, `set[any]` or `dict[any, any]`).
    MarkDynamic { obj: reg },
    /// N2016 unless the list, dict or set in `obj` was made with `any` elements: before a
    /// store through `list[any]`, `set[any]` or `dict[any, any]`, which may be a cast's view
    /// of a list made with one element type.
    CheckDynamic { obj: reg },
}

/// `IsKind`/`CastKind` code for "any variant of enum `n`": `KIND_ENUM + n`.
pub const KIND_ENUM: u16 = 0x2000;

/// `IsKind`/`CastKind` code for "a reference to an actor whose state is record type `t`":
/// `KIND_ACTOR + t`; `KIND_ACTOR + 0xFFF` is a supervisor.
pub const KIND_ACTOR: u16 = 0x3000;
/// The `KIND_ACTOR` offset that stands for supervisors.
pub const KIND_SUPERVISOR_OFFSET: u16 = 0xFFF;

/// `IsKind`/`CastKind` codes for a native module's handle types (`net.Stream`): from
/// `KIND_HANDLE` up to `KIND_HANDLE_END`, picked by `handle_kind` from the type's name, so the
/// compiler and the object agree without a table.
pub const KIND_HANDLE: u16 = 0x4000;
pub const KIND_HANDLE_END: u16 = 0x8000;

/// The kind code of the handle type named `name` (`net.Stream`): FNV-1a of the name, folded
/// into the handle range. `crates/noodle/tests/registry.rs` checks that no two of the
/// standard library's handle types share one.
pub fn handle_kind(name: &str) -> u16 {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    KIND_HANDLE + (h % u32::from(KIND_HANDLE_END - KIND_HANDLE)) as u16
}

impl Op {
    /// The jump offset of a jump instruction (relative to the next instruction).
    pub fn jump_offset(&self) -> Option<i64> {
        let kinds = OPCODES[self.opcode() as usize].1;
        let i = kinds.iter().position(|(_, k)| matches!(k, Operand::Jmp | Operand::Rel))?;
        Some(self.operands()[i])
    }

    /// Sets the jump offset; false when it does not fit the instruction's offset field.
    pub fn set_jump_offset(&mut self, off: i64) -> bool {
        let opc = self.opcode();
        let kinds = OPCODES[opc as usize].1;
        let Some(i) = kinds.iter().position(|(_, k)| matches!(k, Operand::Jmp | Operand::Rel)) else { return false };
        let fits = match kinds[i].1 {
            Operand::Rel => off >= i16::MIN as i64 && off <= i16::MAX as i64,
            _ => off >= i32::MIN as i64 && off <= i32::MAX as i64,
        };
        if !fits {
            return false;
        }
        let mut vals = self.operands();
        vals[i] = off;
        *self = Op::from_parts(opc, &vals).expect("same opcode");
        true
    }
}

// Eight bytes an instruction: the dispatch loop reads each with one load, and a function's code
// is two thirds the cache lines it took at twelve.
const _: () = assert!(std::mem::size_of::<Op>() == 8);
