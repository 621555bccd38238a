//! `std.http`: an HTTP/1.1 client and server written in Noodle over `std.net` (the
//! declarations are the implementation).

use noodle_native::Module;

/// The `std.http` module: its declarations, which are also its code.
pub fn module() -> Module {
    Module::new("std.http", include_str!("http.noodle"))
}
