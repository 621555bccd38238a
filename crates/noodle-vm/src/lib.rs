//! The Noodle VM: a register machine over NBC, its heap and collector, and the native
//! standard library.

pub mod codes;
pub mod actor;
pub mod error;
pub mod fmt;
pub mod heap;
pub mod db;
pub mod natives;
pub mod ops;
pub mod tensor;
pub mod value;
pub mod vm;

pub use error::VmError;
pub use heap::Heap;
pub use value::{Key, Obj, ObjRef, Value};
pub use vm::{Output, RunState, Template, Uncaught, Vm};
