//! Human-readable listing of a program (`noodle disasm`).

use crate::op::{Operand, OPCODES};
use crate::program::{Const, Program};
use std::fmt::Write;

pub fn disassemble(p: &Program) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "; NBC version {}, {} functions, {} constants, {} types, {} globals, entry #{}", crate::FORMAT_VERSION, p.funcs.len(), p.consts.len(), p.types.len(), p.nglobals, p.entry);
    for (i, c) in p.consts.iter().enumerate() {
        let _ = writeln!(out, "const #{i} = {}", show_const(c));
    }
    for (i, t) in p.types.iter().enumerate() {
        let name = match &t.enum_name {
            Some(e) => format!("{e}.{}", t.name),
            None => t.name.clone(),
        };
        let _ = writeln!(out, "type #{i} {name}({})", t.fields.join(", "));
    }
    for (i, n) in p.natives.iter().enumerate() {
        let _ = writeln!(out, "native #{i} {n}");
    }
    for (fi, f) in p.funcs.iter().enumerate() {
        let file = p.files.get(f.file as usize).map(|s| s.as_str()).unwrap_or("?");
        let _ = writeln!(out, "\nfn #{fi} {} (arity {}, {} registers, {} captures) ; {file}", f.name, f.arity, f.nregs, f.ncaptures);
        for (pc, op) in f.code.iter().enumerate() {
            let opc = op.opcode() as usize;
            let (mnemonic, kinds) = OPCODES[opc];
            let mut args = Vec::new();
            for (v, (_name, kind)) in op.operands().into_iter().zip(kinds.iter()) {
                args.push(match kind {
                    Operand::Reg => format!("r{v}"),
                    Operand::Jmp | Operand::Rel => format!("->{}", pc as i64 + 1 + v),
                    Operand::Cnst => format!("#{v}"),
                    Operand::Func => format!("{}", p.funcs.get(v as usize).map(|f| f.name.as_str()).unwrap_or("?")),
                    Operand::Native => p.natives.get(v as usize).cloned().unwrap_or_default(),
                    Operand::Meth => format!(".{}", p.method_names.get(v as usize).cloned().unwrap_or_default()),
                    Operand::Typ => p.types.get(v as usize).map(|t| t.name.clone()).unwrap_or_default(),
                    Operand::Glob => format!("g{v}"),
                    _ => format!("{v}"),
                });
            }
            let pos = f.lines[pc];
            let at = match crate::position_col(pos) {
                0 => format!("{}", crate::position_line(pos)),
                c => format!("{}:{c}", crate::position_line(pos)),
            };
            let _ = writeln!(out, "  {pc:>4}  {at:>6}  {mnemonic:<16} {}", args.join(", "));
        }
    }
    out
}

fn show_const(c: &Const) -> String {
    match c {
        Const::Int(v) => format!("{v}"),
        Const::Float(v) => format!("{v:?}"),
        Const::Str(s) => format!("{s:?}"),
        Const::Bytes(b) => format!("b{:?}", String::from_utf8_lossy(b)),
    }
}
