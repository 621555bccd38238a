//! The verifier: every program is checked before the VM will run it, whether it came from the
//! compiler or from a file. See the crate docs for the invariant it establishes.

use crate::format::LoadError;
use crate::op::{Op, Operand, KIND_ACTOR, KIND_ENUM, KIND_FUNC, KIND_HANDLE, KIND_HANDLE_END, KIND_RECORD, KIND_SUPERVISOR_OFFSET, OPCODES};
use crate::program::{Const, Program};

fn bad(msg: String) -> LoadError {
    LoadError::Invalid(msg)
}

/// The most globals a program may declare (each costs memory before the program runs).
pub const MAX_GLOBALS: u32 = 1 << 24;

pub fn verify(p: &Program) -> Result<(), LoadError> {
    let nfuncs = p.funcs.len();
    if p.entry as usize >= nfuncs {
        return Err(bad(format!("entry function {} does not exist ({} functions)", p.entry, nfuncs)));
    }
    if p.funcs[p.entry as usize].arity != 0 {
        return Err(bad("the entry function must take no arguments".into()));
    }
    if p.nglobals > MAX_GLOBALS {
        return Err(bad(format!("{} globals is more than the limit of {MAX_GLOBALS}", p.nglobals)));
    }
    // Runtime errors are built as records of type 0, so it must be `Error(code, message,
    // cause, $value)`.
    match p.types.first() {
        Some(t) if t.name == "Error" && t.enum_name.is_none() && t.enum_id == u16::MAX && t.fields == ["code", "message", "cause", "$value"] && t.flags == 0 => {}
        _ => return Err(bad("type 0 must be the built-in struct `Error(code, message, cause, $value)`".into())),
    }
    let nenums = p.types.iter().filter(|t| t.enum_id != u16::MAX).map(|t| t.enum_id as usize + 1).max().unwrap_or(0);
    for (ti, t) in p.types.iter().enumerate() {
        for &(m, f) in &t.methods {
            if m as usize >= p.method_names.len() || f as usize >= nfuncs {
                return Err(bad(format!("type `{}` (#{ti}) has a method entry that points nowhere", t.name)));
            }
        }
        if t.fields.len() > u16::MAX as usize {
            return Err(bad(format!("type `{}` has too many fields", t.name)));
        }
    }
    for (fi, f) in p.funcs.iter().enumerate() {
        let ctx = |pc: usize, msg: String| bad(format!("function `{}` (#{fi}), instruction {pc}: {msg}", f.name));
        if f.arity > f.nregs {
            return Err(bad(format!("function `{}` has more parameters ({}) than registers ({})", f.name, f.arity, f.nregs)));
        }
        if f.file as usize >= p.files.len() {
            return Err(bad(format!("function `{}` names source file {} which does not exist", f.name, f.file)));
        }
        if f.lines.len() != f.code.len() {
            return Err(bad(format!("function `{}` has a line table of the wrong length", f.name)));
        }
        match f.code.last() {
            Some(Op::Return { .. } | Op::ReturnNone | Op::Jump { .. } | Op::Throw { .. }) => {}
            _ => return Err(bad(format!("function `{}` does not end with return, jump or throw", f.name))),
        }
        let nregs = f.nregs as usize;
        let len = f.code.len();
        let reg_range = |pc: usize, base: u16, count: usize| -> Result<(), LoadError> {
            if base as usize + count > nregs {
                return Err(ctx(pc, format!("register range r{base}..r{} exceeds the {nregs} registers", base as usize + count)));
            }
            Ok(())
        };
        for (pc, op) in f.code.iter().enumerate() {
            let opc = op.opcode() as usize;
            let kinds = OPCODES[opc].1;
            for (v, (fname, kind)) in op.operands().into_iter().zip(kinds.iter()) {
                let ok = match kind {
                    Operand::Reg => (v as usize) < nregs,
                    Operand::Cnst => (v as usize) < p.consts.len(),
                    Operand::Func => (v as usize) < nfuncs,
                    Operand::Glob => v < p.nglobals as i64,
                    Operand::Typ => (v as usize) < p.types.len(),
                    Operand::Native => (v as usize) < p.natives.len(),
                    Operand::Meth => (v as usize) < p.method_names.len(),
                    Operand::Jmp | Operand::Rel => {
                        let target = pc as i64 + 1 + v;
                        target >= 0 && (target as usize) < len
                    }
                    Operand::Kind => {
                        let k = v as u16;
                        k <= KIND_FUNC
                            || (k >= KIND_RECORD && k < KIND_ENUM && ((k - KIND_RECORD) as usize) < p.types.len())
                            || (k >= KIND_ENUM && k < KIND_ACTOR && ((k - KIND_ENUM) as usize) < nenums)
                            || (k >= KIND_ACTOR && k < KIND_HANDLE && (((k - KIND_ACTOR) as usize) < p.types.len() || k - KIND_ACTOR == KIND_SUPERVISOR_OFFSET))
                            || (KIND_HANDLE..KIND_HANDLE_END).contains(&k)
                    }
                    _ => true,
                };
                if !ok {
                    return Err(ctx(pc, format!("operand `{fname}` of {} is out of range ({v})", OPCODES[opc].0)));
                }
            }
            match *op {
                Op::Call { base, func } => reg_range(pc, base, 1 + p.funcs[func as usize].arity as usize)?,
                Op::CallValue { base, argc } | Op::CallNative { base, argc, .. } | Op::CallMethod { base, argc, .. } => {
                    reg_range(pc, base, 1 + argc as usize)?
                }
                Op::NewList { base, count, .. } | Op::NewSet { base, count, .. } | Op::NewTuple { base, count, .. } | Op::Concat { base, count, .. } => {
                    reg_range(pc, base, count as usize)?
                }
                Op::NewDict { base, count, .. } => reg_range(pc, base, 2 * count as usize)?,
                Op::NewRecord { ty, base, .. } => reg_range(pc, base, p.types[ty as usize].fields.len())?,
                Op::Slice { base, .. } => reg_range(pc, base, 2)?,
                Op::DictGet { key, .. } => reg_range(pc, key, 2)?,
                Op::MakeClosure { dst, func } => reg_range(pc, dst, 1 + p.funcs[func as usize].ncaptures as usize)?,
                Op::LoadCapture { idx, .. } => {
                    if idx >= f.ncaptures {
                        return Err(ctx(pc, format!("capture {idx} out of range ({} captures)", f.ncaptures)));
                    }
                }
                Op::Format { spec, .. } => {
                    if !matches!(p.consts[spec as usize], Const::Str(_)) {
                        return Err(ctx(pc, "format spec is not a string constant".into()));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}
