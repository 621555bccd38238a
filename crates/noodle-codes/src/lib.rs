//! Error codes as data. Every user-facing error Noodle reports has a stable code (`N0200`).
//! Each crate owns a range of codes and declares them, as typed constants, in its own
//! `src/codes.rs` with [`codes!`]; each code's long explanation is a Markdown file beside it
//! (`codes/N0200.md`: a `# N0200: title` line, a blank line, then the text). The `noodle`
//! crate joins every crate's [`Explained`] list into the index behind `noodle explain`, and its
//! tests check both ways: every declared code is raised somewhere, and no code is written as a
//! bare string where a constant belongs.
//!
//! | range | crate |
//! | --- | --- |
//! | N0001–N0099 | `noodle-syntax` (lexer, parser) |
//! | N0100–N0499 | `noodle-compiler` (names, types, patterns) |
//! | N0500–N0599 | `noodle-nbc` (loading bytecode) |
//! | N0900–N0999 | `noodle` (the embedding API and the CLI) |
//! | N2000–N2099 | `noodle-vm` (run time) |
//! | N2100–N2199 | `noodle-tensor` |
//! | N2200–N2299 | `noodle-db` |
//! | N2300–N2399 | `noodle-vm` (N2301, values crossing heaps) and `noodle-runtime` (actors) |
//! | (any) | `noodle-codes` itself: N2001, N2012 and N2017, raised by crates that do not depend on each other (N2012 and N2017 by compiled code) |
//! | N2400–N2499 | `noodle-native` (conversions between Noodle and Rust values) |
//! | N2500–N2999 | `noodle-std` (the standard library's own modules) |

use std::fmt;

/// An error code, such as `N0200`. Codes are made only by [`codes!`] (and, for the codes of
/// errors a program makes itself, by [`Code::user`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(&'static str);

impl Code {
    #[doc(hidden)]
    pub const fn declared(code: &'static str) -> Code {
        Code(code)
    }
    /// A code a program chose (`Error("E0001", "...")`), carried as text.
    pub const fn user(code: &'static str) -> Code {
        Code(code)
    }
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<Code> for &str {
    fn eq(&self, other: &Code) -> bool {
        *self == other.0
    }
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        self.0
    }
}

/// A declared code with its explanation file's text.
#[derive(Clone, Copy, Debug)]
pub struct Explained {
    pub code: Code,
    /// The whole Markdown file: `# N0200: title`, a blank line, the explanation.
    pub text: &'static str,
}

impl Explained {
    /// The short title (after `# CODE: ` on the first line).
    pub fn title(&self) -> &'static str {
        let first = self.text.lines().next().unwrap_or("");
        first.split_once(": ").map_or("", |(_, t)| t.trim())
    }
    /// The explanation, without the title line.
    pub fn explanation(&self) -> &'static str {
        match self.text.find('\n') {
            Some(i) => self.text[i + 1..].trim(),
            None => "",
        }
    }
}

/// Declares a crate's codes: `noodle_codes::codes! { N2001, N2002 }` in `src/codes.rs` makes a
/// constant `N2001: Code` for each and `EXPLAINED`, each with the text of `codes/N2001.md`
/// (a missing file is a compile error).
#[macro_export]
macro_rules! codes {
    ($($code:ident),* $(,)?) => {
        $(
            pub const $code: $crate::Code = $crate::Code::declared(stringify!($code));
        )*
        /// Every code this crate declares, with its explanation.
        pub static EXPLAINED: &[$crate::Explained] = &[
            $( $crate::Explained { code: $code, text: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/codes/", stringify!($code), ".md")) }, )*
        ];
    };
}

// The codes that crates with no dependency on each other both raise: integer division by zero
// (the VM's `//` and the tensor kernels) and a global read before it was set (the VM, and code
// the compiler emits for top-level patterns).
codes! { N2001, N2012, N2017 }

impl From<Code> for String {
    fn from(c: Code) -> String {
        c.0.to_string()
    }
}
