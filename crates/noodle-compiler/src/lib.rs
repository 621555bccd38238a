//! The Noodle compiler: checks types and emits NBC in one pass per function.
//!
//! Declarations are collected first (types, then signatures) so that order in a file does not
//! matter; then each module's top-level code and each function body is checked and compiled.
//! Static types choose specialised instructions (`AddInt`, `GetField` at a fixed slot, direct
//! `Call`s), so the VM does no dynamic type dispatch on hot paths.
//!
//! A `Compiler` is a session: the REPL keeps one and compiles each line against what earlier
//! lines declared.

pub mod codes;
mod args;
mod builder;
mod builtins;
mod compiler;
mod expr;
mod pattern;
mod stmt;
mod tensor;
mod actor;
mod shape;
pub mod natives;
pub mod types;

pub use natives::{ArgShape, CallRule, NativeModule, RuleArg, RuleCall};
pub use noodle_syntax::{Diagnostic, Span};
pub use actor::SUPERVISOR;
pub use compiler::{edit_distance, CompileOutput, Compiler, DiagRef, FsLoader, SourceLoader};
