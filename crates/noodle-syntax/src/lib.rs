//! Noodle's syntax layer: source files, tokens, the AST, and the parser.
//!
//! Invariant (as in rust-analyzer): parsing never fails. `parse` always returns a module plus
//! the diagnostics it found, recovering at statement and declaration boundaries, so that later
//! stages can report more errors in the same run. This crate knows nothing of types or the VM.

pub mod codes;
pub mod ast;
pub mod diag;
pub mod lexer;
pub mod parser;
pub mod span;

pub use diag::{Diagnostic, Severity};
pub use parser::{parse, parse_body, parse_declarations, parse_deferring_bodies};
pub use span::{SourceFile, Span};
