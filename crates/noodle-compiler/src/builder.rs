//! Emitting one function's code: registers, jumps with back-patching, and the line table.

use noodle_nbc::Op;

pub type Reg = u16;

pub struct FuncBuilder {
    pub name: String,
    pub arity: u16,
    pub code: Vec<Op>,
    pub lines: Vec<u32>,
    /// Next free register; registers below are in use (locals and live temporaries).
    pub next: u32,
    /// High-water mark: the function's register window size.
    pub max: u32,
    /// The source position (`noodle_nbc::position`) given to the instructions emitted next.
    pub pos: u32,
    pub file: u32,
    pub overflow: bool,
    /// A fused 16-bit branch could not reach its target.
    pub fuse_overflow: bool,
}

pub struct Label(pub usize);

impl FuncBuilder {
    pub fn new(name: String, file: u32, arity: u16) -> FuncBuilder {
        FuncBuilder { name, arity, code: Vec::with_capacity(16), lines: Vec::with_capacity(16), next: arity as u32, max: arity as u32, pos: 1, file, overflow: false, fuse_overflow: false }
    }

    pub fn emit(&mut self, op: Op) -> usize {
        self.code.push(op);
        self.lines.push(self.pos);
        self.code.len() - 1
    }

    /// Allocates `n` consecutive registers. An empty range (`[]`, `{}`) still names a register
    /// of the window: its start is an instruction's `base` operand, which the verifier checks
    /// like any register.
    pub fn alloc(&mut self, n: u32) -> Reg {
        let r = self.next;
        self.next += n;
        let top = self.next.max(r + 1);
        if top > self.max {
            self.max = top;
        }
        if self.next >= u16::MAX as u32 {
            self.overflow = true;
            return 0;
        }
        r as Reg
    }
    pub fn temp(&mut self) -> Reg {
        self.alloc(1)
    }
    pub fn mark(&self) -> u32 {
        self.next
    }
    pub fn release(&mut self, mark: u32) {
        self.next = mark;
    }

    pub fn here(&self) -> usize {
        self.code.len()
    }

    /// Emits a forward jump to be patched later.
    pub fn jump(&mut self) -> Label {
        Label(self.emit(Op::Jump { off: 0 }))
    }
    pub fn jump_if_false(&mut self, cond: Reg) -> Label {
        Label(self.emit(Op::JumpIfFalse { cond, off: 0 }))
    }
    pub fn jump_if_true(&mut self, cond: Reg) -> Label {
        Label(self.emit(Op::JumpIfTrue { cond, off: 0 }))
    }
    pub fn jump_if_none(&mut self, src: Reg) -> Label {
        Label(self.emit(Op::JumpIfNone { src, off: 0 }))
    }
    pub fn jump_if_not_none(&mut self, src: Reg) -> Label {
        Label(self.emit(Op::JumpIfNotNone { src, off: 0 }))
    }

    /// Points the jump at `label` to the current position.
    pub fn patch(&mut self, label: Label) {
        let target = self.here();
        self.patch_to(label, target);
    }
    pub fn patch_to(&mut self, label: Label, target: usize) {
        let off = target as i64 - label.0 as i64 - 1;
        if !self.code[label.0].set_jump_offset(off) {
            // a 16-bit fused branch cannot reach: the function is recompiled without fusion
            self.fuse_overflow = true;
        }
    }
    /// Emits a backward jump to `target`.
    pub fn jump_back(&mut self, target: usize) {
        let off = target as i64 - self.here() as i64 - 1;
        self.emit(Op::Jump { off: off as i32 });
    }
}

/// Where a jump instruction at `pc` goes, if it is one.
pub fn jump_target(op: &Op, pc: usize) -> Option<usize> {
    op.jump_offset().map(|off| (pc as i64 + 1 + off) as usize)
}
