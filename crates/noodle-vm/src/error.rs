//! Errors raised while running. They become Noodle `Error` values (record type 0 with fields
//! `code` and `message`) when a program can catch them.

use crate::codes::{N2002, N2003, N2011, N2018, N2099};
use noodle_codes::N2001;
#[derive(Clone, Debug, PartialEq)]
pub struct VmError {
    pub code: noodle_codes::Code,
    pub message: String,
    /// Where the error was raised before it reached this process (a failed task's own
    /// frames, ending with an `AWAITED` mark); the raise here adds its frames after them.
    pub trace: Option<Box<Vec<crate::vm::TraceFrame>>>,
    /// The error value itself when it came from another process and carries more than its
    /// code and message (a cause, a `Throwable` value): raised again as it was.
    pub value: Option<Box<crate::message::Carried>>,
    /// Set by `VmError::exit`: not an error but the end of the whole program with this exit
    /// status (`std.os.exit`). No handler catches it.
    pub exit: Option<u8>,
}

impl VmError {
    pub fn new(code: noodle_codes::Code, message: impl Into<String>) -> VmError {
        VmError { code, message: message.into(), trace: None, value: None, exit: None }
    }
    pub fn div_zero() -> VmError {
        VmError::new(N2001, "division by zero")
    }
    pub fn overflow(what: &str) -> VmError {
        VmError::new(N2002, format!("integer overflow in {what}"))
    }
    pub fn index(i: i64, len: usize) -> VmError {
        VmError::new(N2003, format!("index {i} out of range for length {len}"))
    }
    /// An error with a code known only at run time (a user's `Error("E0001", ...)` crossing
    /// from a task to whoever awaits it). Each distinct code is stored once for the life of
    /// the process.
    pub fn with_code(code: &str, message: impl Into<String>) -> VmError {
        static CODES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
        let mut codes = CODES.lock().unwrap_or_else(|e| e.into_inner());
        let code = match codes.iter().find(|c| **c == code) {
            Some(c) => *c,
            None => {
                let c: &'static str = Box::leak(code.to_string().into_boxed_str());
                codes.push(c);
                c
            }
        };
        VmError { code: noodle_codes::Code::user(code), message: message.into(), trace: None, value: None, exit: None }
    }
    /// The program ends now with exit status `status` (`std.os.exit`): it unwinds every frame
    /// of the process without running handlers, and the runtime ends the program.
    pub fn exit(status: u8) -> VmError {
        VmError { exit: Some(status), ..VmError::new(N2018, format!("the program exited with status {status}")) }
    }
    pub fn arg(msg: impl Into<String>) -> VmError {
        VmError::new(N2011, msg)
    }
    /// Bytecode asked for an operation on a value of the wrong kind. Verified bytecode from the
    /// compiler never does this; hand-made bytecode gets this error instead of undefined behaviour.
    pub fn bad_operand(op: &str) -> VmError {
        VmError::new(N2099, format!("invalid operand for `{op}` (malformed bytecode)"))
    }
}
