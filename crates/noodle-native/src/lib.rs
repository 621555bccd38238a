//! The native-module interface. A native module is one [`Module`]: its name (`std.math`), its
//! declarations written as Noodle source (signatures with `##` doc comments, opaque handle
//! types and their methods, constants), and the Rust functions behind the declared
//! functions. A [`Registry`] holds the modules a program is compiled and run with: the
//! compiler learns each module's types and signatures only from its declarations, and the VM
//! resolves each native only through the registry. The CLI's registry is the standard library
//! (`noodle-std`, plus `std.actor` from `noodle-runtime`); an embedder adds its own modules.
//!
//! What a native function can do (return, raise, call back into Noodle, suspend) and the one
//! heap object kind for the values a module owns are defined by the VM and re-exported here:
//! [`NativeFn`], [`Ctx`], [`Flow`], [`NativeObject`]. [`convert`] turns Noodle values into Rust
//! values and back, with a coded error on a mismatch.

pub mod codes;
pub mod convert;
pub mod shape;

pub use convert::{arity, as_bytes, as_dict, as_dict_mut, as_float, as_int, as_list, as_list_mut, as_set, as_set_mut, as_str, bad, receiver, receiver_mut, vec_with_capacity};
pub use convert::{arg, ret, Bytes, FromValue, IntoArgs, IntoValue, Object, Ref};
pub use noodle_vm::native::{CallRequest, Continuation, Ctx, Flow, Host, IoWait, NativeBox, NativeFn, NativeObject, Natives, Sendable, Wait};
pub use noodle_compiler::types::{Type, TE};
pub use noodle_compiler::{ArgShape, CallRule, RuleArg, RuleCall};
pub use noodle_vm::{Heap, List, Obj, Value, VmError};

use std::borrow::Cow;
use std::sync::Arc;

/// One native module: a name, its declarations (Noodle source) and the functions behind them.
#[derive(Clone)]
pub struct Module {
    name: String,
    declarations: Cow<'static, str>,
    /// (name as declared, function): `sqrt`, `Connection.query`, `list.push`.
    functions: Vec<(String, NativeFn)>,
    /// (name as declared, rule): the checker's extensions for calls whose types the
    /// declarations cannot say.
    rules: Vec<(String, Arc<dyn CallRule>)>,
}

impl Module {
    /// A module named `name` (dotted: `std.math`, `myapp.geo`) declared by `declarations`.
    pub fn new(name: impl Into<String>, declarations: impl Into<Cow<'static, str>>) -> Module {
        Module { name: name.into(), declarations: declarations.into(), functions: Vec::new(), rules: Vec::new() }
    }

    /// A rule for the calls of declared function `name` (see `CallRule`): the types its
    /// declaration cannot say, such as a result whose element type comes from a `dtype`
    /// argument.
    pub fn rule(mut self, name: &str, rule: impl CallRule + 'static) -> Module {
        self.rules.push((name.to_string(), Arc::new(rule)));
        self
    }

    /// The Rust function behind the declared function `name`: a module function (`sqrt`), a
    /// method of a handle type (`Connection.query`), or of a built-in type the module extends
    /// (`list.push`, `list[int].sum`).
    pub fn function(mut self, name: &str, f: NativeFn) -> Module {
        self.functions.push((name.to_string(), f));
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn declarations(&self) -> &str {
        &self.declarations
    }

    /// What a program names the native behind the declared function `name`: the module's last
    /// dotted part, a dot, the name (`math.sqrt`, `db.Connection.query`). The core module
    /// (`std.core`, the built-ins) leaves its prefix out (`print`, `list.push`).
    pub fn symbol(&self, name: &str) -> String {
        symbol(&self.name, name)
    }

    /// The declared names this module provides functions for.
    pub fn function_names(&self) -> impl Iterator<Item = &str> {
        self.functions.iter().map(|(n, _)| n.as_str())
    }
}

/// The symbol of the native behind `name` in module `module` (see `Module::symbol`).
pub fn symbol(module: &str, name: &str) -> String {
    if module == CORE {
        return name.to_string();
    }
    let prefix = module.rsplit('.').next().unwrap_or(module);
    format!("{prefix}.{name}")
}

/// The module of the built-ins (functions always in scope, methods of `str`, `list`, ...):
/// declared like any other, imported by no one.
pub const CORE: &str = "std.core";

/// The modules a program is compiled and run with.
#[derive(Clone, Default)]
pub struct Registry {
    modules: Vec<Arc<Module>>,
}

/// Why a module could not be added.
#[derive(Debug, Clone, PartialEq)]
pub struct RegistryError(pub String);

impl std::fmt::Display for RegistryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RegistryError {}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a module. Its name must be new and dotted names well formed (`std.math`,
    /// `mylib`); two functions may not have one name.
    pub fn add(&mut self, module: Module) -> Result<(), RegistryError> {
        let valid = !module.name.is_empty()
            && module.name.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !p.starts_with(|c: char| c.is_ascii_digit()));
        if !valid {
            return Err(RegistryError(format!("`{}` is not a module name (dotted names of letters, digits and `_`)", module.name)));
        }
        if self.get(&module.name).is_some() {
            return Err(RegistryError(format!("a module named `{}` is already registered", module.name)));
        }
        let mut seen = std::collections::HashSet::new();
        for (n, _) in &module.functions {
            if !seen.insert(n.as_str()) {
                return Err(RegistryError(format!("module `{}` provides two functions named `{n}`", module.name)));
            }
        }
        self.modules.push(Arc::new(module));
        Ok(())
    }

    /// `add`, for modules known to be well formed (the standard library): panics otherwise.
    pub fn with(mut self, module: Module) -> Registry {
        if let Err(e) = self.add(module) {
            panic!("{e}");
        }
        self
    }

    pub fn get(&self, name: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.name == name).map(|m| &**m)
    }

    pub fn modules(&self) -> impl Iterator<Item = &Module> {
        self.modules.iter().map(|m| &**m)
    }

    /// The declarations the compiler reads (each module's source and rules).
    pub fn declarations(&self) -> Vec<noodle_compiler::NativeModule> {
        self.modules
            .iter()
            .map(|m| noodle_compiler::NativeModule { name: m.name.clone(), source: m.declarations.clone(), rules: m.rules.clone() })
            .collect()
    }

    /// What is wrong with module `name` (registered here): its declarations do not compile,
    /// it declares a native it has no function for, or it has a function it does not declare.
    /// Empty when the module is sound.
    pub fn check(&self, name: &str) -> Vec<String> {
        let Some(module) = self.get(name) else { return vec![format!("no module named `{name}` is registered")] };
        let mut c = noodle_compiler::Compiler::new(Box::new(NoFiles), self.declarations().into());
        let declared = match c.declared_natives(name) {
            Ok(d) => d,
            Err(diags) => {
                let files = c.source_files();
                return diags.iter().map(|d| d.render(files).trim_end().to_string()).collect();
            }
        };
        let provided: Vec<String> = module.functions.iter().map(|(n, _)| module.symbol(n)).collect();
        let mut problems = Vec::new();
        for d in &declared {
            if !provided.contains(d) {
                problems.push(format!("module `{name}` declares native `{d}` but provides no function for it"));
            }
        }
        for p in &provided {
            if !declared.contains(p) {
                problems.push(format!("module `{name}` provides a function for `{p}`, which its declarations do not declare"));
            }
        }
        problems
    }

    /// The function table the VM resolves a program's natives from.
    pub fn natives(&self) -> Natives {
        let mut t = Natives::new();
        for m in &self.modules {
            for (n, f) in &m.functions {
                t.insert(m.symbol(n), *f);
            }
        }
        t
    }
}

/// Declarations import no files.
struct NoFiles;

impl noodle_compiler::SourceLoader for NoFiles {
    fn load(&mut self, path: &std::path::Path) -> std::io::Result<String> {
        Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} (a native module's declarations cannot import files)", path.display())))
    }
}

/// A `NativeFn` from a function that only returns or raises
/// (`fn(&mut Ctx, &[Value]) -> Result<Value, VmError>`), the common case.
#[macro_export]
macro_rules! simple {
    ($f:path) => {
        (|ctx: &mut $crate::Ctx, args: &[$crate::Value]| -> Result<$crate::Value, $crate::Flow> { $f(ctx, args).map_err($crate::Flow::from) }) as $crate::NativeFn
    };
}

/// `simple!` for a function that may wait outside the runtime (stdin, a database): the host
/// is told before and after, so that a scheduler keeps its other work going.
#[macro_export]
macro_rules! blocking {
    ($f:path) => {
        (|ctx: &mut $crate::Ctx, args: &[$crate::Value]| -> Result<$crate::Value, $crate::Flow> { ctx.blocking(|ctx| $f(ctx, args)).map_err($crate::Flow::from) }) as $crate::NativeFn
    };
}

/// "Not yet", from a native that may not finish at once (an `ask`, a socket read): the
/// process suspends with a wait that calls `f` again, with the same `args` (at most
/// `RETRY_ARGS`, the receiver included), each time it runs, until it returns or raises. The
/// progress of the operation lives in the host or in the native's object, so asking again is
/// how the native learns it can finish. (A wrapper that turned "not yet" into the suspension
/// cost a send a tenth of its time: the result was copied through memory in pieces.)
pub fn not_yet(f: NativeFn, args: &[Value]) -> Result<Value, Flow> {
    debug_assert!(args.len() <= RETRY_ARGS, "a native that may wait takes at most {RETRY_ARGS} arguments");
    let mut kept = [Value::None; RETRY_ARGS];
    let n = args.len().min(RETRY_ARGS);
    kept[..n].copy_from_slice(&args[..n]);
    Err(Flow::Suspend(Box::new(Retry { f, args: kept, n: n as u8 })))
}

/// The most arguments a native that may wait takes (`UdpSocket.send_to`: the socket, the
/// data, the host, the port); kept in the wait itself, not in an allocation of their own.
pub const RETRY_ARGS: usize = 4;

/// The wait `not_yet` makes.
struct Retry {
    f: NativeFn,
    args: [Value; RETRY_ARGS],
    n: u8,
}

impl Wait for Retry {
    fn poll(&mut self, ctx: &mut Ctx) -> Result<Option<Value>, VmError> {
        match (self.f)(ctx, &self.args[..self.n as usize]) {
            Ok(v) => Ok(Some(v)),
            Err(Flow::Suspend(_)) => Ok(None),
            Err(Flow::Raise(e)) => Err(e),
            Err(Flow::Call) => Err(bad("a waiting native (a call back)")),
        }
    }
    fn trace(&self, found: &mut dyn FnMut(Value)) {
        self.args[..self.n as usize].iter().for_each(|v| found(*v));
    }
}
