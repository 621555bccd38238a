//! The Noodle VM: a register machine over NBC, its heap and collector, and the seam to native
//! modules (`native`). The VM names no module: the functions behind a program's natives come
//! from the table it is given (`native::Natives`, built by `noodle-native`'s registry), and the
//! values modules own are `Obj::Native` objects reached through `native::NativeObject`.

pub mod codes;
pub mod error;
pub mod fmt;
pub mod heap;
pub mod input;
pub mod list;
pub mod message;
pub mod native;
pub mod ops;
pub mod permissions;
pub mod value;
pub mod vm;

pub use error::VmError;
pub use heap::Heap;
pub use list::List;
pub use value::{Key, Obj, ObjRef, Value};
pub use vm::{Limits, Output, RunState, Template, Uncaught, Vm};
