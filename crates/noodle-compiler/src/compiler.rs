//! Compiler state: modules, declarations, scopes, and the driver.

use noodle_syntax::codes::N0215;
use crate::codes::{N0100, N0101, N0102, N0103, N0104, N0107, N0108, N0200, N0204, N0205, N0209, N0214, N0216, N0217, N0219};
use crate::builder::{FuncBuilder, Label, Reg};
use crate::builtins;
use crate::types::{Show, Subst, Type, TypeNames};
use indexmap::IndexMap;
use noodle_nbc::{Const, Function, Op, Program, RecordType};
use noodle_syntax::ast::{self, Block, Expr, Item, TypeExpr};
use noodle_syntax::{Diagnostic, SourceFile, Span};
// foldhash, not SipHash: the checker hashes every name it resolves, and its input is the
// user's own program
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Reads module source files. The CLI uses the file system; tests and the REPL may not.
pub trait SourceLoader {
    fn load(&mut self, path: &Path) -> std::io::Result<String>;
}

pub struct FsLoader;
impl SourceLoader for FsLoader {
    fn load(&mut self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

pub struct CompileOutput {
    pub program: Program,
    pub warnings: Vec<Diagnostic>,
    /// For a REPL line that is a single expression: its type, shown to the user.
    pub expr_type: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ParamInfo {
    pub name: String,
    pub ty: Type,
    pub default: Option<Rc<Expr>>,
}

#[derive(Clone, Debug)]
pub struct FuncInfo {
    pub name: String,
    pub func: u32,
    pub params: Rc<Vec<ParamInfo>>,
    pub ret: Type,
    /// Type parameter ids of a generic function.
    pub type_params: Vec<u32>,
    pub has_self: bool,
    /// `async def`: a call starts a task.
    pub is_async: bool,
    pub public: bool,
    pub module: usize,
    pub span: Span,
    /// A native function (declared by a native module): its symbol, and its rule.
    pub native: Option<Rc<crate::natives::NativeFunc>>,
    /// A method's struct or enum type, with the type's own parameters as its arguments (they
    /// come first in `type_params`): a call unifies it with the receiver's type.
    pub self_ty: Option<Type>,
    /// An interface's default method copied into a type: the interface's type parameters, by
    /// name, as the type's declaration gives them (`struct Box[T]: Container[T]`).
    pub type_bindings: Vec<(String, Type)>,
}

#[derive(Clone, Debug)]
pub struct StructInfo {
    pub name: String,
    pub module: usize,
    pub public: bool,
    pub fields: Vec<(String, Type)>,
    pub defaults: Vec<Option<Rc<Expr>>>,
    pub methods: IndexMap<String, usize>,
    pub record: u16,
    pub span: Span,
    /// A generic struct's type parameters (`Type::Param`s, by name); field types use them.
    pub type_params: Vec<(String, Type)>,
    /// Declares `Throwable`: `throw` and `catch e: Name` take it.
    pub throwable: bool,
    /// Declares `Display`: shown by its `display` method.
    pub display: bool,
}

#[derive(Clone, Debug)]
pub struct VariantInfo {
    pub name: String,
    pub fields: Vec<(String, Type)>,
    pub record: u16,
}

#[derive(Clone, Debug)]
pub struct EnumInfo {
    pub name: String,
    pub module: usize,
    pub public: bool,
    pub variants: Vec<VariantInfo>,
    pub methods: IndexMap<String, usize>,
    pub enum_id: u16,
    pub type_params: Vec<(String, Type)>,
    pub throwable: bool,
    pub display: bool,
}

#[derive(Clone, Debug)]
pub struct IfaceInfo {
    pub name: String,
    pub module: usize,
    pub public: bool,
    pub methods: Vec<(String, Vec<Type>, Type)>,
    pub type_params: Vec<(String, Type)>,
    /// Each method's default body, if it has one (a type that declares the interface gets a
    /// copy of each default it does not define).
    pub defaults: Vec<Option<Rc<ast::FuncDecl>>>,
    /// Each method's parameters (names and default values, for calls on an interface value).
    pub params: Vec<Rc<Vec<ParamInfo>>>,
}

/// `type Name[T] = ...`: resolved when first used, in its own module.
#[derive(Clone, Debug)]
pub struct AliasInfo {
    pub module: usize,
    pub decl: Rc<ast::TypeAliasDecl>,
    /// The aliased type (with `Type::Param`s for a generic alias) once resolved.
    pub ty: Option<(Type, Vec<(String, Type)>)>,
    /// Being resolved now: meeting it again is a cycle.
    pub resolving: bool,
}

#[derive(Clone, Debug)]
pub struct GlobalInfo {
    pub name: String,
    pub ty: Type,
    pub mutable: bool,
    pub idx: u32,
}

#[derive(Clone, Debug)]
pub enum Symbol {
    Func(usize),
    Struct(u32),
    Actor(u32),
    Enum(u32),
    Iface(u32),
    Global(usize),
    Module(usize),
    /// A native module's constant (folded when its declarations are read).
    Const(Rc<(Const, Type)>),
    /// A native module's handle type.
    NativeType(u32),
    /// A type alias (`type Name = ...`).
    Alias(u32),
}

#[derive(Debug)]
pub struct ModuleInfo {
    pub name: String,
    pub file: u32,
    pub dir: PathBuf,
    pub symbols: HashMap<String, (Symbol, bool)>,
    pub init: Option<u32>,
    pub done: bool,
    /// A native module's declarations (no code of its own, no initialiser).
    pub native: bool,
}

#[derive(Clone, Debug)]
pub struct Local {
    pub reg: Reg,
    pub ty: Type,
    pub mutable: bool,
    /// The register holds a cell (the variable is captured by a closure and mutable).
    pub cell: bool,
    /// For a narrowed mutable variable: its declared type (assignments are checked against it).
    pub wide: Option<Type>,
    /// This local is a narrowed copy of a global: assignments also store the global.
    pub global: Option<u32>,
}

#[derive(Clone, Debug)]
pub struct Capture {
    pub name: String,
    pub ty: Type,
    pub mutable: bool,
    pub cell: bool,
    /// Where the value comes from in the enclosing function.
    pub source: CapSource,
}

#[derive(Clone, Debug)]
pub enum CapSource {
    Local(Reg),
    Capture(u16),
}

pub struct LoopCtx {
    pub breaks: Vec<Label>,
    pub continues: Vec<Label>,
    pub try_depth: usize,
    /// A comprehension's hidden loop (see `push_loop`).
    pub comprehension: bool,
}

pub struct FnState {
    pub b: FuncBuilder,
    pub scopes: Vec<Vec<(String, Local)>>,
    pub captures: Vec<Capture>,
    /// Names referenced from nested closures: such `var`s live in cells.
    pub captured_names: HashSet<String>,
    pub ret: Type,
    pub loops: Vec<LoopCtx>,
    /// Enclosing `try` blocks, with their `finally` blocks (inlined on early exits).
    pub tries: Vec<Option<Block>>,
    pub self_ty: Option<Type>,
    pub module: usize,
    pub type_params: Vec<(String, Type)>,
    pub is_init: bool,
    /// `MarkDynamic` instructions emitted after making a container whose element type was
    /// not known yet: each becomes a `Nop` at the end of the function unless its type turned
    /// out to be `list[any]`, `set[any]` or `dict[any, any]`.
    pub dynamic_marks: Vec<(usize, Type)>,
    /// The variables of the enclosing `catch e: Type` clauses, with the error each came out of:
    /// `throw e` raises that error again (its trace and all) rather than a new one.
    pub caught: Vec<(Reg, Reg)>,
}

pub enum NameRes {
    Local(Local),
    Capture(u16, Capture),
    Global(usize),
    Func(usize),
    Struct(u32),
    Enum(u32),
    Iface(u32),
    Actor(u32),
    Module(usize),
    Const(Rc<(Const, Type)>),
    NativeType(u32),
    Alias(u32),
    Builtin(&'static str),
    None,
}

pub struct Compiler {
    /// `MarkDynamic`s whose container's type was not known when they were emitted:
    /// (function, pc, type); each becomes a `Nop` unless the type is an `any_container`.
    pub dynamic_marks: Vec<(u32, usize, Type)>,
    /// In the `match` being checked: the most elements a list pattern names, so that lists
    /// are told apart by their length up to it (see `pattern.rs`).
    pub list_longest: usize,
    /// The last column `set_line` found: (file, line, offset, column).
    col_cache: (u32, usize, u32, usize),
    pub files: Vec<SourceFile>,
    pub diags: Vec<Diagnostic>,
    pub warnings: Vec<Diagnostic>,
    pub subst: Subst,
    pub program: Program,
    pub consts: HashMap<ConstKey, u32>,
    pub natives: HashMap<String, u16>,
    pub method_names: HashMap<String, u16>,
    pub modules: Vec<ModuleInfo>,
    pub module_by_path: HashMap<PathBuf, usize>,
    pub funcs: Vec<FuncInfo>,
    pub structs: Vec<StructInfo>,
    pub actors: Vec<crate::actor::ActorInfo>,
    /// Files of code generated for actors (`<actor Name>`).
    pub generated_files: Vec<u32>,
    pub enums: Vec<EnumInfo>,
    pub ifaces: Vec<IfaceInfo>,
    pub aliases: Vec<AliasInfo>,
    pub globals: Vec<GlobalInfo>,
    pub fns: Vec<FnState>,
    pub loader: Box<dyn SourceLoader>,
    pub next_type_param: u32,
    /// Function bodies waiting to be compiled: (func info index, declaration, self type).
    pub(crate) pending: Vec<(usize, ast::FuncDecl, Option<Type>)>,
    /// The core module (the built-ins' declarations) once read (see `core`).
    pub(crate) core: Option<usize>,
    /// The native modules a program may import (the registry's declarations).
    pub native_decls: Rc<[crate::natives::NativeModule]>,
    /// The native modules read so far, by name.
    pub native_modules: HashMap<String, usize>,
    pub native_types: Vec<crate::natives::NativeTypeInfo>,
    /// The Noodle bodies of a native module being declared (its functions with bodies, its
    /// structs' and enums' methods), compiled once its native functions are declared too, so
    /// that a body may call them (`natives.rs`, `compile_declarations`).
    pub(crate) native_bodies: Vec<(usize, Rc<ast::FuncDecl>, Option<Type>)>,
    pub extends: Vec<crate::natives::ExtendInfo>,
    /// Modules in the order they finished compiling: dependencies before dependents.
    init_order: Vec<usize>,
    import_stack: Vec<PathBuf>,
    pub(crate) repl_module: Option<usize>,
    pub repl_expr_type: Option<String>,
    /// Emit fused 16-bit compare-and-branch instructions. Turned off (and the program
    /// recompiled) when a function is too large for them to reach.
    pub fuse: bool,
    /// `with` statements compiled so far (numbers their hidden locals).
    pub(crate) with_count: u32,
    /// While a default value is compiled at a call: the module whose names it uses, and the
    /// defaults being compiled (by position), so that one that constructs itself again, directly
    /// or through another struct's default, is an error rather than an endless expansion.
    pub(crate) default_scope: Option<usize>,
    pub(crate) defaults_open: Vec<(u32, u32)>,
    /// The spans of the comprehensions being compiled: the bodies of their hidden loops.
    pub(crate) comprehension_spans: Vec<Span>,
}

/// What to do instead of a default N0216 refuses, for a struct's field or a parameter.
pub(crate) fn default_hint(field: bool) -> &'static str {
    if field {
        "give the field the default `none` (it becomes optional), and set it after construction"
    } else {
        "compute the value inside the function instead, from an optional parameter"
    }
}

/// A default value wrapped so that a call in any module compiles it with the names of module
/// `mi`, which declares it.
pub(crate) fn scoped_default(d: &Expr, mi: usize) -> Expr {
    Expr { kind: ast::ExprKind::Default { scope: mi, expr: Box::new(d.clone()) }, span: d.span }
}

/// A default value as written (without the scope `scoped_default` gave it).
pub(crate) fn unscoped(d: &Expr) -> &Expr {
    match &d.kind {
        ast::ExprKind::Default { expr, .. } => expr,
        _ => d,
    }
}

#[derive(Hash, PartialEq, Eq, Clone)]
pub enum ConstKey {
    Int(i64),
    Float(u64),
    Str(String),
    Bytes(Vec<u8>),
}

impl TypeNames for Compiler {
    fn struct_name(&self, id: u32) -> String {
        self.structs[id as usize].name.clone()
    }
    fn enum_name(&self, id: u32) -> String {
        self.enums[id as usize].name.clone()
    }
    fn iface_name(&self, id: u32) -> String {
        self.ifaces[id as usize].name.clone()
    }
    fn native_name(&self, id: u32) -> String {
        self.native_types[id as usize].display.clone()
    }
    fn actor_name(&self, id: u32) -> String {
        if id == crate::actor::SUPERVISOR {
            return "actor.Supervisor".into();
        }
        self.actors[id as usize].name.clone()
    }
}

pub const ERROR_STRUCT: u32 = 0;
/// The field of an `Error` that holds a thrown `Throwable` value (none for other errors).
pub const ERROR_VALUE_FIELD: u16 = 3;
/// An `Error` record's fields: code, message, cause, the thrown value.
pub const ERROR_FIELDS: u32 = 4;

/// The names of the built-in types, which no type parameter may take.
pub(crate) const BUILTIN_TYPE_NAMES: &[&str] = &["int", "float", "bool", "str", "bytes", "none", "any", "list", "dict", "set", "tensor", "task"];

/// How many modules a chain of imports may hold (main, a module it imports, one that module
/// imports, ...) before N0108.
pub const MAX_IMPORT_DEPTH: usize = 100;

/// A just-reported diagnostic, to add a label or hint to.
pub struct DiagRef<'a>(&'a mut Diagnostic);

impl DiagRef<'_> {
    pub fn label(self, s: impl Into<String>) -> Self {
        self.0.label = s.into();
        self
    }
    pub fn hint(self, s: impl Into<String>) -> Self {
        self.0.hint = Some(s.into());
        self
    }
}

impl Compiler {
    /// A compiler for programs that may use the native modules `natives` (the core module,
    /// `std.core`, gives the built-ins).
    pub fn new(loader: Box<dyn SourceLoader>, natives: Rc<[crate::natives::NativeModule]>) -> Compiler {
        Compiler::with_fusion(loader, true, natives)
    }

    /// A compiler that does (or does not) emit fused 16-bit branches.
    pub fn with_fusion(loader: Box<dyn SourceLoader>, fuse: bool, natives: Rc<[crate::natives::NativeModule]>) -> Compiler {
        let mut c = Compiler {
            list_longest: 0,
            dynamic_marks: Vec::new(),
            col_cache: (u32::MAX, 0, 0, 0),
            files: Vec::new(),
            diags: Vec::new(),
            warnings: Vec::new(),
            subst: Subst::default(),
            program: Program::default(),
            consts: HashMap::new(),
            natives: HashMap::new(),
            method_names: HashMap::new(),
            modules: Vec::new(),
            module_by_path: HashMap::new(),
            funcs: Vec::new(),
            structs: Vec::new(),
            actors: Vec::new(),
            generated_files: Vec::new(),
            enums: Vec::new(),
            ifaces: Vec::new(),
            aliases: Vec::new(),
            globals: Vec::new(),
            fns: Vec::new(),
            loader,
            next_type_param: 0,
            pending: Vec::new(),
            core: None,
            native_decls: natives,
            native_modules: HashMap::new(),
            native_types: Vec::new(),
            native_bodies: Vec::new(),
            extends: Vec::new(),
            init_order: Vec::new(),
            import_stack: Vec::new(),
            repl_module: None,
            repl_expr_type: None,
            fuse,
            with_count: 0,
            default_scope: None,
            defaults_open: Vec::new(),
            comprehension_spans: Vec::new(),
        };
        // The built-in `Error` struct is type 0 / record 0.
        // `cause` is another error this one wraps; `$value` (which no program can name) the value
        // of a `Throwable` type that was thrown (see `throw_stmt`)
        c.program.types.push(RecordType { name: "Error".into(), enum_name: None, enum_id: u16::MAX, fields: vec!["code".into(), "message".into(), "cause".into(), "$value".into()], methods: vec![], flags: 0 });
        let none = || Some(Rc::new(Expr { kind: ast::ExprKind::None, span: Span::default() }));
        c.structs.push(StructInfo {
            name: "Error".into(),
            module: 0,
            public: true,
            fields: vec![("code".into(), Type::Str), ("message".into(), Type::Str), ("cause".into(), Type::optional(Type::Struct(ERROR_STRUCT, vec![]))), ("$value".into(), Type::Any)],
            defaults: vec![None, None, none(), none()],
            methods: IndexMap::new(),
            record: 0,
            span: Span::default(),
            type_params: Vec::new(),
            throwable: false,
            display: false,
        });
        // Function 0 is the program entry; its code is written at the end.
        c.program.funcs.push(Function { name: "<main>".into(), arity: 0, nregs: 1, ncaptures: 0, file: 0, code: vec![Op::ReturnNone], lines: vec![0] });
        // The built-ins' declarations (the core module) are read when a program first needs
        // them: a method of a built-in type, or one of its types (`Down`). A hello world
        // needs neither.
        c
    }

    // ---- diagnostics and display ----
    pub fn error(&mut self, code: noodle_codes::Code, msg: impl Into<String>, span: Span) -> DiagRef<'_> {
        self.diags.push(Diagnostic::error(code, msg, span));
        DiagRef(self.diags.last_mut().unwrap())
    }
    pub fn show(&self, t: &Type) -> String {
        Show(t, self, &self.subst).to_string()
    }

    // ---- constants and tables ----
    pub fn konst(&mut self, c: Const) -> u32 {
        let key = match &c {
            Const::Int(v) => ConstKey::Int(*v),
            Const::Float(v) => ConstKey::Float(v.to_bits()),
            Const::Str(s) => ConstKey::Str(s.clone()),
            Const::Bytes(b) => ConstKey::Bytes(b.clone()),
        };
        if let Some(&i) = self.consts.get(&key) {
            return i;
        }
        let i = self.program.consts.len() as u32;
        self.program.consts.push(c);
        self.consts.insert(key, i);
        i
    }
    pub fn native(&mut self, name: &str) -> u16 {
        if let Some(&i) = self.natives.get(name) {
            return i;
        }
        let i = self.program.natives.len() as u16;
        self.program.natives.push(name.to_string());
        self.natives.insert(name.to_string(), i);
        i
    }
    pub fn method_name(&mut self, name: &str) -> u16 {
        if let Some(&i) = self.method_names.get(name) {
            return i;
        }
        let i = self.program.method_names.len() as u16;
        self.program.method_names.push(name.to_string());
        self.method_names.insert(name.to_string(), i);
        i
    }

    // ---- current function helpers ----
    pub fn f(&mut self) -> &mut FnState {
        self.fns.last_mut().unwrap()
    }
    pub fn b(&mut self) -> &mut FuncBuilder {
        &mut self.fns.last_mut().unwrap().b
    }
    pub fn emit(&mut self, op: Op) -> usize {
        self.b().emit(op)
    }
    pub fn set_line(&mut self, span: Span) {
        if self.fns.is_empty() {
            return;
        }
        let file = span.file as usize;
        if let Some(f) = self.files.get(file) {
            let hint = noodle_nbc::position_line(self.fns.last().unwrap().b.pos) as usize;
            let line = f.line_of_near(span.start, hint);
            // columns count characters: go on from the last one found on this line (code is
            // compiled mostly left to right), so a long line is not counted again per part
            let (cf, cl, coff, ccol) = self.col_cache;
            let col = if cf == span.file && cl == line && coff <= span.start {
                ccol + f.text.get(coff as usize..span.start as usize).map_or(0, |s| s.chars().count())
            } else {
                f.col_in_line(span.start, line)
            };
            self.col_cache = (span.file, line, span.start, col);
            self.b().pos = noodle_nbc::position(line as u32, col as u32);
        }
    }
    /// The position the next instruction gets (see `set_line`), to restore after a part.
    pub fn pos(&self) -> Option<u32> {
        self.fns.last().map(|f| f.b.pos)
    }
    pub fn set_pos(&mut self, pos: Option<u32>) {
        if let (Some(p), Some(f)) = (pos, self.fns.last_mut()) {
            f.b.pos = p;
        }
    }
    pub fn cur_module(&self) -> usize {
        // a default value is compiled at the call but names what its own module names
        if let Some(m) = self.default_scope {
            return m;
        }
        self.fns.last().map(|f| f.module).unwrap_or(0)
    }

    pub fn push_scope(&mut self) {
        self.f().scopes.push(Vec::new());
    }
    pub fn pop_scope(&mut self) {
        self.f().scopes.pop();
    }
    pub fn declare_local(&mut self, name: &str, ty: Type, mutable: bool) -> Local {
        let cell = mutable && self.f().captured_names.contains(name);
        let reg = self.b().temp();
        let l = Local { reg, ty, mutable, cell, wide: None, global: None };
        self.f().scopes.last_mut().unwrap().push((name.to_string(), l.clone()));
        l
    }
    /// Binds a name to an existing register (pattern bindings, narrowing).
    pub fn bind_local(&mut self, name: &str, l: Local) {
        self.f().scopes.last_mut().unwrap().push((name.to_string(), l));
    }

    // ---- name resolution ----
    pub fn resolve(&mut self, name: &str) -> NameRes {
        if let Some(m) = self.default_scope {
            // a default sees its own module's names, never the caller's locals
            return self.resolve_module_symbol(m, name);
        }
        let depth = self.fns.len();
        if depth > 0 {
            if let Some(r) = self.resolve_in_fn(depth - 1, name) {
                return r;
            }
        }
        let m = self.cur_module();
        self.resolve_module_symbol(m, name)
    }

    fn find_local(&self, fi: usize, name: &str) -> Option<Local> {
        for scope in self.fns[fi].scopes.iter().rev() {
            for (n, l) in scope.iter().rev() {
                if n == name {
                    return Some(l.clone());
                }
            }
        }
        None
    }

    fn resolve_in_fn(&mut self, fi: usize, name: &str) -> Option<NameRes> {
        if let Some(l) = self.find_local(fi, name) {
            return Some(NameRes::Local(l));
        }
        if let Some(i) = self.fns[fi].captures.iter().position(|c| c.name == name) {
            return Some(NameRes::Capture(i as u16, self.fns[fi].captures[i].clone()));
        }
        if self.fns[fi].is_init || fi == 0 {
            return None;
        }
        // Look in the enclosing function; capture from it.
        let outer = self.resolve_in_fn(fi - 1, name)?;
        let cap = match outer {
            // A narrowed mutable global is not a variable of the enclosing function: the closure
            // reads the global itself, at its declared type (narrowing does not reach closures)
            NameRes::Local(l) if l.global.is_some() => {
                let m = self.cur_module();
                return Some(self.resolve_module_symbol(m, name));
            }
            NameRes::Local(l) => Capture { name: name.into(), ty: l.ty.clone(), mutable: l.mutable, cell: l.cell, source: CapSource::Local(l.reg) },
            NameRes::Capture(i, c) => Capture { source: CapSource::Capture(i), ..c },
            other => return Some(other),
        };
        self.fns[fi].captures.push(cap.clone());
        Some(NameRes::Capture(self.fns[fi].captures.len() as u16 - 1, cap))
    }

    pub fn resolve_module_symbol(&mut self, m: usize, name: &str) -> NameRes {
        if let Some((sym, _)) = self.modules[m].symbols.get(name) {
            return sym_res(sym);
        }
        if name == "Error" {
            return NameRes::Struct(ERROR_STRUCT);
        }
        if let Some(b) = builtins::builtin_function(name) {
            return NameRes::Builtin(b);
        }
        if let Some(core) = self.core() {
            if let Some((sym, true)) = self.modules[core].symbols.get(name) {
                return sym_res(sym);
            }
        }
        NameRes::None
    }

    // ---- types ----
    /// `resolve_type`, reporting nothing (the type was resolved, and reported, before).
    pub(crate) fn resolve_type_quiet(&mut self, te: &TypeExpr) -> Type {
        let n = self.diags.len();
        let t = self.resolve_type(te);
        self.diags.truncate(n);
        t
    }

    /// N0200 unless values of `t` can be hashed (dict keys, set elements).
    pub(crate) fn require_hashable(&mut self, t: &Type, what: &str, span: Span) {
        if !crate::builtins::hashable(&self.subst.resolve(t)) {
            let shown = self.show(t);
            self.error(N0200, format!("`{shown}` values cannot be {what}"), span)
                .label("not hashable")
                .hint("dict keys and set elements must be int, float, bool, str, bytes, none, optionals and tuples of those, or enum/struct values");
        }
    }

    pub fn resolve_type(&mut self, te: &TypeExpr) -> Type {
        match te {
            TypeExpr::Optional(t, _) => Type::optional(self.resolve_type(t)),
            TypeExpr::Tuple(ts, _) => Type::Tuple(ts.iter().map(|t| self.resolve_type(t)).collect()),
            TypeExpr::Func { params, ret, .. } => {
                let ps = params.iter().map(|t| self.resolve_type(t)).collect();
                let r = ret.as_ref().map(|t| self.resolve_type(t)).unwrap_or(Type::None);
                Type::Func(ps, Box::new(r))
            }
            TypeExpr::Named { path, args, span } => {
                let arity = |c: &mut Compiler, n: usize| -> bool {
                    if args.len() != n {
                        c.error(N0214, format!("`{}` takes {} type argument{}, found {}", path[0].name, n, if n == 1 { "" } else { "s" }, args.len()), *span)
                            .label("wrong number of type arguments");
                        false
                    } else {
                        true
                    }
                };
                if path.len() == 1 {
                    let name = path[0].name.as_str();
                    let simple = match name {
                        "int" => Some(Type::Int),
                        "float" => Some(Type::Float),
                        "bool" => Some(Type::Bool),
                        "str" => Some(Type::Str),
                        "bytes" => Some(Type::Bytes),
                        "none" => Some(Type::None),
                        "any" => Some(Type::Any),
                        _ => None,
                    };
                    if let Some(t) = simple {
                        arity(self, 0);
                        return t;
                    }
                    match name {
                        "task" => {
                            if !arity(self, 1) {
                                return Type::Unknown;
                            }
                            return Type::Task(Box::new(self.resolve_type(&args[0])));
                        }
                        "list" | "set" => {
                            if !arity(self, 1) {
                                return Type::Unknown;
                            }
                            let t = self.resolve_type(&args[0]);
                            if name == "set" {
                                self.require_hashable(&t, "set elements", args[0].span());
                            }
                            return if name == "list" { Type::list(t) } else { Type::Set(Box::new(t)) };
                        }
                        "tensor" => {
                            if !arity(self, 1) {
                                return Type::Unknown;
                            }
                            // in a native module's declarations, `tensor[E]` with a type
                            // variable `E` is a tensor of any element type: the variable
                            // stands for the whole tensor type
                            if let TypeExpr::Named { path, args: a, .. } = &args[0] {
                                if path.len() == 1 && a.is_empty() && self.modules[self.cur_module()].native {
                                    if let Some((_, t)) = self.fns.last().and_then(|f| f.type_params.iter().rev().find(|(n, _)| *n == path[0].name)) {
                                        return t.clone();
                                    }
                                }
                            }
                            let elem = match &args[0] {
                                TypeExpr::Named { path, args: a, .. } if path.len() == 1 && a.is_empty() => crate::types::TE::from_name(&path[0].name),
                                _ => None,
                            };
                            return match elem {
                                Some(e) => Type::Tensor(e),
                                None => {
                                    self.error(N0102, "a tensor's element type must be `f32`, `f64`, `i64` or `bool`", args[0].span()).label("not a tensor element type");
                                    Type::Unknown
                                }
                            };
                        }
                        "dict" => {
                            if !arity(self, 2) {
                                return Type::Unknown;
                            }
                            let k = self.resolve_type(&args[0]);
                            self.require_hashable(&k, "dict keys", args[0].span());
                            let v = self.resolve_type(&args[1]);
                            return Type::Dict(Box::new(k), Box::new(v));
                        }
                        _ => {}
                    }
                    // (a default compiled at a call does not see the caller's type parameters,
                    // nor its own type's: the call fixes them, so the default leaves them out)
                    if let Some(f) = self.fns.last().filter(|_| self.default_scope.is_none()) {
                        if let Some((_, t)) = f.type_params.iter().rev().find(|(n, _)| n == name) {
                            return t.clone();
                        }
                    }
                    let m = self.cur_module();
                    let res = self.resolve_module_symbol(m, name);
                    if matches!(res, NameRes::None) && self.default_scope.is_some() {
                        self.error(N0102, format!("unknown type `{name}` in a default value"), *span)
                            .hint("a default names the types of its own module, not type parameters: leave type arguments out (`Box()`), the field's type gives them");
                        return Type::Unknown;
                    }
                    return self.type_from_res(res, name, args, *span);
                }
                // mod.Type
                let m = self.cur_module();
                let res = self.resolve_module_symbol(m, &path[0].name);
                // supervisors are actors, which the language gives their types
                if let (NameRes::Module(mi), 2) = (&res, path.len()) {
                    if self.modules[*mi].native && self.modules[*mi].name == "std.actor" {
                        if path[1].name == "Supervisor" && args.is_empty() {
                            return Type::Actor(crate::actor::SUPERVISOR);
                        }
                        self.error(N0102, format!("unknown type `actor.{}`", path[1].name), *span).hint("`std.actor` has one type: `actor.Supervisor`");
                        return Type::Unknown;
                    }
                }
                match res {
                    NameRes::Module(mi) if path.len() == 2 => {
                        let name = &path[1].name;
                        match self.modules[mi].symbols.get(name).cloned() {
                            Some((sym, public)) => {
                                if !public {
                                    self.error(N0104, format!("`{}` is not public in module `{}`", name, self.modules[mi].name), path[1].span)
                                        .hint("mark it `pub` in its module to use it here");
                                }
                                let res = sym_res(&sym);
                                self.type_from_res(res, name, args, *span)
                            }
                            None => {
                                let types: Vec<String> = self.modules[mi].symbols.iter().filter(|(_, (s, p))| *p && matches!(s, Symbol::NativeType(_) | Symbol::Struct(_) | Symbol::Enum(_) | Symbol::Iface(_) | Symbol::Alias(_))).map(|(n, _)| n.clone()).collect();
                                let refs: Vec<&str> = types.iter().map(|s| s.as_str()).collect();
                                let hint = suggest(name, &refs).map(|s| format!("did you mean `{}.{s}`?", path[0].name));
                                let d = self.error(N0102, format!("unknown type `{}.{}`", path[0].name, name), *span);
                                if let Some(h) = hint {
                                    d.hint(h);
                                }
                                Type::Unknown
                            }
                        }
                    }
                    _ => {
                        let full: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
                        self.error(N0102, format!("unknown type `{}`", full.join(".")), *span);
                        Type::Unknown
                    }
                }
            }
        }
    }

    fn type_from_res(&mut self, res: NameRes, name: &str, args: &[TypeExpr], span: Span) -> Type {
        let nargs = args.len();
        let generic = match &res {
            NameRes::Struct(s) => Some(self.structs[*s as usize].type_params.len()),
            NameRes::Enum(e) => Some(self.enums[*e as usize].type_params.len()),
            NameRes::Iface(i) => Some(self.ifaces[*i as usize].type_params.len()),
            NameRes::Alias(a) => self.alias_type(*a).map(|(_, ps)| ps.len()),
            _ => None,
        };
        if let Some(want) = generic.filter(|&n| n > 0 || matches!(res, NameRes::Alias(_))) {
            if nargs != want {
                let s = if want == 1 { "" } else { "s" };
                let msg = if want == 0 { format!("`{name}` is not generic") } else { format!("`{name}` takes {want} type argument{s}, found {nargs}") };
                let d = self.error(N0214, msg, span).label(format!("{nargs} type argument{}", if nargs == 1 { "" } else { "s" }));
                if want > 0 && nargs == 0 {
                    d.hint(format!("write `{name}[{}]`", vec!["..."; want].join(", ")));
                }
                return Type::Unknown;
            }
            let targs: Vec<Type> = args.iter().map(|a| self.resolve_type(a)).collect();
            return match res {
                NameRes::Struct(s) => Type::Struct(s, targs),
                NameRes::Enum(e) => Type::Enum(e, targs),
                NameRes::Iface(i) => Type::Interface(i, targs),
                NameRes::Alias(a) => {
                    let (t, ps) = self.alias_type(a).unwrap_or((Type::Unknown, vec![]));
                    crate::expr::instantiate(&t, &type_inst(&ps, &targs))
                }
                _ => unreachable!(),
            };
        }
        let t = match res {
            NameRes::Struct(s) => Type::Struct(s, vec![]),
            NameRes::Enum(e) => Type::Enum(e, vec![]),
            NameRes::Iface(i) => Type::Interface(i, vec![]),
            NameRes::Alias(_) => return Type::Unknown,
            NameRes::Actor(a) => Type::Actor(a),
            NameRes::NativeType(t) => Type::Native(t),
            _ => {
                let mut d = Diagnostic::error(N0102, format!("unknown type `{name}`"), span).label("not a type");
                if let Some(s) = suggest(name, &["int", "float", "bool", "str", "bytes", "none", "any", "list", "dict", "set", "tensor"]) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
                self.diags.push(d);
                return Type::Unknown;
            }
        };
        if nargs > 0 {
            self.error(N0214, format!("`{name}` is not generic"), span).label("takes no type arguments");
        }
        t
    }

    /// A type alias's type and parameters, resolved (in its own module) when first asked for;
    /// None for an alias that refers to itself (N0102, reported here).
    pub(crate) fn alias_type(&mut self, a: u32) -> Option<(Type, Vec<(String, Type)>)> {
        let info = self.aliases[a as usize].clone();
        if let Some(t) = info.ty {
            return Some(t);
        }
        if info.resolving {
            self.error(N0102, format!("type alias `{}` refers to itself", info.decl.name.name), info.decl.name.span)
                .hint("an alias is another name for a type; for a recursive type declare a struct or enum");
            self.aliases[a as usize].ty = Some((Type::Unknown, self.generic_params(&info.decl.type_params)));
            return None;
        }
        self.aliases[a as usize].resolving = true;
        let params = self.generic_params(&info.decl.type_params);
        let mut st = self.new_fn_state("<decl>".into(), info.module, 0, true);
        st.type_params = params.clone();
        self.fns.push(st);
        let t = self.resolve_type(&info.decl.ty);
        self.fns.pop();
        self.aliases[a as usize].resolving = false;
        if self.aliases[a as usize].ty.is_none() {
            self.aliases[a as usize].ty = Some((t, params));
        }
        self.aliases[a as usize].ty.clone()
    }

    /// New `Type::Param`s for a generic type's (or alias's) parameters.
    pub(crate) fn generic_params(&mut self, names: &[ast::Ident]) -> Vec<(String, Type)> {
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            if BUILTIN_TYPE_NAMES.contains(&n.name.as_str()) {
                self.error(N0101, format!("a type parameter cannot be named `{}`: that is a built-in type", n.name), n.span).hint("use a capital letter, as in `T` or `Item`");
            }
            if out.iter().any(|(m, _): &(String, Type)| *m == n.name) {
                self.error(N0101, format!("type parameter `{}` is declared twice", n.name), n.span);
            }
            let id = self.next_type_param;
            self.next_type_param += 1;
            out.push((n.name.clone(), Type::Param(id, n.name.clone())));
        }
        out
    }

    /// A struct's fields with its type parameters replaced by `args` (its type's arguments).
    pub(crate) fn struct_fields(&self, s: u32, args: &[Type]) -> Vec<(String, Type)> {
        let info = &self.structs[s as usize];
        let inst = type_inst(&info.type_params, args);
        info.fields.iter().map(|(n, t)| (n.clone(), crate::expr::instantiate(t, &inst))).collect()
    }

    /// An enum variant's fields with the enum's type parameters replaced by `args`.
    pub(crate) fn variant_fields(&self, e: u32, v: usize, args: &[Type]) -> Vec<(String, Type)> {
        let info = &self.enums[e as usize];
        let inst = type_inst(&info.type_params, args);
        info.variants[v].fields.iter().map(|(n, t)| (n.clone(), crate::expr::instantiate(t, &inst))).collect()
    }

    /// The type arguments of `t` as a value of struct `s` (`any` for each when `t` is not
    /// one, as when a pattern matches an `any`).
    pub(crate) fn struct_args(&self, t: &Type, s: u32) -> Vec<Type> {
        match t {
            Type::Struct(x, a) if *x == s => a.clone(),
            _ => vec![Type::Any; self.structs[s as usize].type_params.len()],
        }
    }

    /// As `struct_args`, for enum `e`.
    pub(crate) fn enum_args(&self, t: &Type, e: u32) -> Vec<Type> {
        match t {
            Type::Enum(x, a) if *x == e => a.clone(),
            Type::Optional(i) => self.enum_args(i, e),
            _ => vec![Type::Any; self.enums[e as usize].type_params.len()],
        }
    }

    /// Can a value of generic type `t` be seen with `any` for its type arguments (after a
    /// cast, an `is` test or a pattern on an `any`) without letting code store a value of
    /// the wrong type in it? Not a generic struct (its fields can be assigned); an enum when
    /// each payload field is a type parameter itself, the enum itself, or has none (a `list[T]`
    /// payload would be a `list[any]` its methods store into unchecked).
    pub(crate) fn generic_view_safe(&self, t: &Type) -> bool {
        match t {
            Type::Struct(s, _) => self.structs[*s as usize].type_params.is_empty(),
            Type::Enum(e, _) => {
                let info = &self.enums[*e as usize];
                let own = Type::Enum(*e, info.type_params.iter().map(|p| p.1.clone()).collect());
                info.variants.iter().all(|v| v.fields.iter().all(|(_, ft)| matches!(ft, Type::Param(..)) || *ft == own || !crate::expr::contains_param(ft)))
            }
            _ => true,
        }
    }

    /// Fresh inference variables for a generic type's parameters (none when not generic).
    pub(crate) fn fresh_args(&mut self, params: &[(String, Type)]) -> Vec<Type> {
        params.iter().map(|_| self.subst.fresh()).collect()
    }

    /// Is a value of type `from` usable where `to` is expected? (Unifies inference variables.)
    pub fn assignable(&mut self, from: &Type, to: &Type) -> bool {
        let from = self.subst.resolve(from);
        let to = self.subst.resolve(to);
        match (&from, &to) {
            // an inference variable met by an earlier error takes it on (see `unify`)
            (Type::Unknown, Type::Var(_)) | (Type::Var(_), Type::Unknown) => self.subst.unify(&from, &to),
            (Type::Never, _) | (Type::Unknown, _) | (_, Type::Unknown) | (_, Type::Any) => true,
            (Type::Var(_), _) | (_, Type::Var(_)) => self.subst.unify(&from, &to),
            (Type::None, Type::Optional(_)) => true,
            (Type::Optional(a), Type::Optional(b)) => self.assignable(a, b) && (self.subst.unify(a, b) || matches!(**b, Type::Any | Type::Interface(..))),
            (_, Type::Optional(b)) => self.assignable(&from, b),
            (Type::Struct(..) | Type::Enum(..), Type::Interface(i, args)) => self.satisfies(from.clone(), *i, args).is_ok(),
            (Type::Int, Type::Float) => true,
            (Type::Func(p1, r1), Type::Func(p2, r2)) => {
                p1.len() == p2.len() && p1.iter().zip(p2.iter()).all(|(a, b)| self.subst.unify(a, b)) && (self.subst.unify(r1, r2) || matches!(self.subst.resolve(r2), Type::None))
            }
            _ => self.subst.unify(&from, &to),
        }
    }

    /// Checks that a struct or enum has every method of an interface with the same signature.
    pub fn satisfies(&mut self, t: Type, iface: u32, iargs: &[Type]) -> Result<(), String> {
        if let Some(which) = self.standard_interface(iface).filter(|w| *w != "Display") {
            // declared, not structural
            let ok = match (&t, which) {
                (Type::Struct(s, _), "Eq") => self.program.types[self.structs[*s as usize].record as usize].flags & noodle_nbc::program::RECORD_BY_VALUE != 0,
                (Type::Struct(s, _), "Ord") => self.struct_ordered(*s),
                (Type::Enum(..), "Eq") => true,
                (_, "Throwable") => self.is_throwable(&t),
                _ => false,
            };
            return if ok { Ok(()) } else { Err(format!("it does not declare `{which}` (`struct Name: {which} {{ ... }}`)")) };
        }
        let info = &self.ifaces[iface as usize];
        let iinst = type_inst(&info.type_params, iargs);
        let methods = info.methods.clone();
        let defaults: Vec<bool> = info.defaults.iter().map(|d| d.is_some()).collect();
        let (table, targs, tparams) = match &t {
            Type::Struct(s, a) => (self.structs[*s as usize].methods.clone(), a.clone(), self.structs[*s as usize].type_params.clone()),
            Type::Enum(e, a) => (self.enums[*e as usize].methods.clone(), a.clone(), self.enums[*e as usize].type_params.clone()),
            _ => return Err("only structs and enums can implement interfaces".into()),
        };
        let tinst = type_inst(&tparams, &targs);
        for (k, (name, params, ret)) in methods.into_iter().enumerate() {
            let Some(&fi) = table.get(&name) else {
                if defaults[k] {
                    let shown = self.show(&Type::Interface(iface, iargs.to_vec()));
                    return Err(format!("it has no method `{name}` (declare `: {shown}` after its name to get the interface's default `{name}`)"));
                }
                return Err(format!("it has no method `{name}`"));
            };
            let f = &self.funcs[fi];
            let own = f.type_params.len() > tparams.len();
            let inst = |t: &Type| self.subst.resolve(&crate::expr::instantiate(t, &tinst));
            let fparams: Vec<Type> = f.params.iter().map(|p| inst(&p.ty)).collect();
            let fret = inst(&f.ret);
            let want: Vec<Type> = params.iter().map(|p| self.subst.resolve(&crate::expr::instantiate(p, &iinst))).collect();
            let want_ret = self.subst.resolve(&crate::expr::instantiate(&ret, &iinst));
            let f_has_self = f.has_self;
            // the interface's arguments may still be open (`def take[T](g: Getter[T])` given a
            // `Box[int]`), or the type's (`let c: Container[int] = Box()`): the method's
            // signature settles them
            let open = want.iter().chain(std::iter::once(&want_ret)).chain(fparams.iter()).chain(std::iter::once(&fret)).any(|t| self.subst.has_vars(t));
            let same = fparams.len() == want.len()
                && if open {
                    fparams.iter().zip(&want).all(|(a, b)| self.subst.unify(a, b)) && self.subst.unify(&fret, &want_ret)
                } else {
                    fparams == want && fret == want_ret
                };
            if !f_has_self {
                return Err(format!("its method `{name}` does not take `self` (an interface's methods are called on a value)"));
            }
            if own || !same {
                let sig = |c: &Compiler, ps: &[Type], r: &Type| format!("({}) -> {}", ps.iter().map(|p| c.show(p)).collect::<Vec<_>>().join(", "), c.show(r));
                return Err(format!("its method `{name}` has a different signature: `{}`, where the interface has `{}`", sig(self, &fparams, &fret), sig(self, &want, &want_ret)));
            }
        }
        Ok(())
    }

    /// Reports a mismatch when `from` is not assignable to `to`, with a targeted message.
    pub fn expect_type(&mut self, from: &Type, to: &Type, span: Span) -> bool {
        if self.assignable(from, to) {
            return true;
        }
        let rf = self.subst.resolve(from);
        let rt = self.subst.resolve(to);
        if let (Type::Optional(inner), false) = (&rf, matches!(rt, Type::Optional(_))) {
            if self.assignable(inner, &rt) {
                self.diags.push(
                    Diagnostic::error(N0204, format!("`{}` may be none, but `{}` is expected", self.show(&rf), self.show(&rt)), span)
                        .label("this may be none")
                        .hint("check it first (`if x != none { ... }`), give a default with `??`, or assert with `!`"),
                );
                return false;
            }
        }
        if let (Type::Struct(..) | Type::Enum(..), Type::Interface(i, args)) = (&rf, &rt) {
            let why = self.satisfies(rf.clone(), *i, args).err().unwrap_or_default();
            self.diags.push(
                Diagnostic::error(N0209, format!("`{}` does not implement interface `{}`: {why}", self.show(&rf), self.show(&rt)), span)
                    .label(format!("this is `{}`", self.show(&rf))),
            );
            return false;
        }
        let mut d = Diagnostic::error(N0200, format!("type mismatch: expected `{}`, found `{}`", self.show(&rt), self.show(&rf)), span)
            .label(format!("this is `{}`", self.show(&rf)));
        match (&rf, &rt) {
            (Type::Str, Type::Int) => d = d.hint("convert with int(...)"),
            (Type::Str, Type::Float) => d = d.hint("convert with float(...)"),
            (Type::Int | Type::Float | Type::Bool, Type::Str) => d = d.hint("convert with str(...) or use an f-string"),
            (Type::Float, Type::Int) => d = d.hint("convert with int(...) (truncates) or math.round(...)"),
            _ => {}
        }
        self.diags.push(d);
        false
    }

    // ---- modules ----
    fn load_module_text(&mut self, name: String, path: PathBuf, text: String) -> usize {
        let file = self.files.len() as u32;
        self.program.files.push(path.display().to_string());
        let display = path.display().to_string();
        // bodies are parsed one at a time as they are compiled (`compile_func_body`)
        let (module, diags) = noodle_syntax::parse_deferring_bodies(&text, file);
        self.files.push(SourceFile::new(display, text));
        self.diags.extend(diags);
        let dir = path.parent().map(|p| p.to_path_buf()).unwrap_or_default();
        let mi = self.modules.len();
        self.modules.push(ModuleInfo { name, file, dir, symbols: HashMap::new(), init: None, done: false, native: false });
        self.module_by_path.insert(path.clone(), mi);
        self.import_stack.push(path);
        let module = self.desugar_actors(mi, module);
        self.compile_module(mi, &module);
        self.import_stack.pop();
        mi
    }

    /// Compiles a program whose main module is `path` with source `text`.
    pub fn compile_main(&mut self, path: &Path, text: String) -> Result<CompileOutput, Vec<Diagnostic>> {
        let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "main".into());
        let mi = self.load_module_text(name, path.to_path_buf(), text);
        self.finish(Some(mi))
    }

    /// Compiles one REPL input against everything earlier inputs declared. The returned program
    /// contains everything so far; its entry runs only the new input's top-level code.
    pub fn compile_repl(&mut self, text: String) -> Result<CompileOutput, Vec<Diagnostic>> {
        // the modules a line may need without importing them are read before it, so that a
        // line rolled back after an error never takes half of one with it
        self.core();
        for m in ["std.tensor", "std.actor"] {
            self.native_module(m);
        }
        let file = self.files.len() as u32;
        let fname = format!("<repl {}>", file);
        self.program.files.push(fname.clone());
        self.files.push(SourceFile::new(fname, text.clone()));
        let (module, diags) = noodle_syntax::parse(&text, file);
        let before = (self.funcs.len(), self.structs.len(), self.enums.len(), self.ifaces.len(), self.globals.len(), self.program.nglobals, self.program.types.len(), self.program.funcs.len());
        let saved_symbols = self.repl_module.map(|m| self.modules[m].symbols.clone());
        // what an import in the input may add: modules and what is declared with them
        let loaded = (self.modules.len(), self.init_order.len(), self.extends.len(), self.native_types.len(), self.actors.len(), self.aliases.len());
        self.diags.extend(diags);
        let mi = match self.repl_module {
            Some(m) => {
                self.modules[m].file = file;
                self.modules[m].done = false;
                m
            }
            None => {
                let m = self.modules.len();
                self.modules.push(ModuleInfo { name: "repl".into(), file, dir: std::env::current_dir().unwrap_or_default(), symbols: HashMap::new(), init: None, done: false, native: false });
                self.repl_module = Some(m);
                m
            }
        };
        self.repl_expr_type = None;
        if let [Item::Stmt(ast::Stmt::Expr(_), _)] = module.items.as_slice() {
            self.repl_expr_type = Some(String::new());
        }
        let module = self.desugar_actors(mi, module);
        self.compile_module(mi, &module);
        let r = self.finish(Some(mi));
        if r.is_err() {
            // Roll back the declarations of the failed input so the session stays usable.
            self.funcs.truncate(before.0);
            self.structs.truncate(before.1);
            self.enums.truncate(before.2);
            self.ifaces.truncate(before.3);
            self.globals.truncate(before.4);
            self.program.nglobals = before.5;
            self.program.types.truncate(before.6);
            self.program.funcs.truncate(before.7);
            if let Some(s) = saved_symbols {
                self.modules[mi].symbols = s;
            } else {
                self.modules[mi].symbols.clear();
            }
            self.pending.clear();
            self.native_bodies.clear();
            // Modules the failed input imported are forgotten with the declarations above
            // (their functions and types are gone): a later import reads them again, rather
            // than finding a module whose symbols name what no longer exists.
            let n = loaded.0;
            self.modules.truncate(n.max(mi + 1));
            self.module_by_path.retain(|_, m| *m < n || *m == mi);
            self.native_modules.retain(|_, m| *m < n || *m == mi);
            if self.core.is_some_and(|c| c >= n && c != mi) {
                self.core = None;
            }
            self.init_order.truncate(loaded.1);
            self.extends.truncate(loaded.2);
            self.native_types.truncate(loaded.3);
            self.actors.truncate(loaded.4);
            self.aliases.truncate(loaded.5);
        }
        r
    }

    fn finish(&mut self, main: Option<usize>) -> Result<CompileOutput, Vec<Diagnostic>> {
        let mut errors: Vec<Diagnostic> = std::mem::take(&mut self.diags);
        // An error in an actor's generated code repeats one in the actor's own declaration
        // (its message types are the handlers'); show only the user's.
        if errors.iter().any(|d| !self.generated_files.contains(&d.span.file)) {
            errors.retain(|d| !self.generated_files.contains(&d.span.file));
        }
        // report in source order (declarations, top-level code and bodies are checked in passes)
        errors.sort_by_key(|d| (d.span.file, d.span.start));
        if !errors.is_empty() {
            self.dynamic_marks.clear();
            return Err(errors);
        }
        // the marks whose container type was open when emitted, now that every type is known
        for (func, pc, t) in std::mem::take(&mut self.dynamic_marks) {
            let keep = any_container(&self.subst.resolve(&t));
            if let Some(op) = self.program.funcs.get_mut(func as usize).and_then(|f| f.code.get_mut(pc)) {
                if !keep && matches!(op, Op::MarkDynamic { .. }) {
                    *op = Op::Nop;
                }
            }
        }
        // entry: run module initialisers in dependency order (the REPL: only the new one)
        let mut code = Vec::new();
        let mut lines = Vec::new();
        let order: Vec<usize> = if self.repl_module.is_some() && main == self.repl_module {
            self.init_order.iter().copied().filter(|&i| !self.modules[i].done || Some(i) == main).collect()
        } else {
            self.init_order.clone()
        };
        for mi in order {
            if let Some(init) = self.modules[mi].init {
                code.push(Op::Call { base: 0, func: init });
                lines.push(0);
            }
            self.modules[mi].done = true;
        }
        code.push(Op::ReturnNone);
        lines.push(0);
        self.program.funcs[0] = Function { name: "<main>".into(), arity: 0, nregs: 1, ncaptures: 0, file: 0, code, lines };
        self.program.entry = 0;
        let expr_type = self.repl_expr_type.take().filter(|s| !s.is_empty());
        // A REPL session keeps building on its program; a one-shot compile hands it over.
        let program = if self.repl_module.is_some() { self.program.clone() } else { std::mem::take(&mut self.program) };
        Ok(CompileOutput { program, warnings: std::mem::take(&mut self.warnings), expr_type })
    }

    fn import_module(&mut self, from: usize, path: &[ast::Ident], span: Span) -> Option<Symbol> {
        let full: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
        let name = full.join(".");
        // a registered native module (the standard library, or an embedder's)
        if let Some(mi) = self.native_module(&name) {
            return Some(Symbol::Module(mi));
        }
        if path[0].name == "std" {
            // compare what follows `std.`, so `std.nothing` is not "close" to `std.string`
            let known = self.native_module_names("std.");
            let lasts: Vec<&str> = known.iter().map(|s| &s["std.".len()..]).collect();
            let asked = &name["std.".len().min(name.len())..];
            let hint = match suggest(asked, &lasts) {
                Some(close) => format!("did you mean `std.{close}`?"),
                None => format!("standard modules: {}", known.join(", ")),
            };
            self.error(N0103, format!("no standard module `{name}`"), span).hint(hint);
            return None;
        }
        let mut p = self.modules[from].dir.clone();
        for (i, part) in path.iter().enumerate() {
            if i + 1 == path.len() {
                p.push(format!("{}.noodle", part.name));
            } else {
                p.push(&part.name);
            }
        }
        if self.import_stack.contains(&p) {
            let chain: Vec<String> = self.import_stack.iter().skip_while(|x| **x != p).map(|x| x.display().to_string()).collect();
            self.error(N0107, format!("import cycle: {} -> {}", chain.join(" -> "), p.display()), span)
                .hint("move the shared declarations into a third module that both import");
            return None;
        }
        if let Some(&mi) = self.module_by_path.get(&p) {
            return Some(Symbol::Module(mi));
        }
        if self.import_stack.len() >= MAX_IMPORT_DEPTH {
            // each nested import compiles its module inside the importer's, on the stack
            self.error(N0108, format!("imports nested too deeply: importing `{}` here makes a chain of {} modules, each importing the next (the limit is {MAX_IMPORT_DEPTH})", path.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join("."), self.import_stack.len() + 1), span)
                .label("imported here")
                .hint("a module that imports a module that imports ...: import the modules from fewer levels (one module may import many)");
            return None;
        }
        let text = match self.loader.load(&p) {
            Ok(t) => t,
            Err(e) => {
                let full: Vec<&str> = path.iter().map(|i| i.name.as_str()).collect();
                self.error(N0103, format!("module `{}` not found: cannot read {} ({})", full.join("."), p.display(), e.kind()), span)
                    .label("imported here");
                return None;
            }
        };
        let name = path.last().unwrap().name.clone();
        // compile the imported module completely, with its own function stack
        let saved_fns = std::mem::take(&mut self.fns);
        let saved_pending = std::mem::take(&mut self.pending);
        let mi = self.load_module_text(name, p, text);
        self.fns = saved_fns;
        self.pending = saved_pending;
        Some(Symbol::Module(mi))
    }

    pub(crate) fn define(&mut self, m: usize, name: &ast::Ident, sym: Symbol, public: bool) {
        // The REPL may redefine names; a file may not.
        if self.repl_module != Some(m) {
            if let Some((old, _)) = self.modules[m].symbols.get(&name.name) {
                let what = match old {
                    Symbol::Func(_) => "function",
                    Symbol::Struct(_) => "struct",
                    Symbol::Actor(_) => "actor",
                    Symbol::Enum(_) => "enum",
                    Symbol::Iface(_) => "interface",
                    Symbol::Global(_) | Symbol::Const(_) => "variable",
                    Symbol::NativeType(_) | Symbol::Alias(_) => "type",
                    Symbol::Module(_) => "import",
                };
                self.error(N0101, format!("`{}` is defined more than once", name.name), name.span)
                    .label(format!("a {what} with this name already exists in this module"));
                return;
            }
        }
        self.modules[m].symbols.insert(name.name.clone(), (sym, public));
    }

    pub(crate) fn compile_module(&mut self, mi: usize, module: &ast::Module) {
        // 1. imports
        for item in &module.items {
            if let Item::Import(imp) = item {
                let Some(sym) = self.import_module(mi, &imp.path, imp.span) else { continue };
                match &imp.names {
                    None => {
                        let bind = imp.alias.clone().unwrap_or_else(|| imp.path.last().unwrap().clone());
                        self.define(mi, &bind, sym, false);
                    }
                    Some(names) => {
                        for (n, alias) in names {
                            let found = match &sym {
                                Symbol::Module(other) => match self.modules[*other].symbols.get(&n.name).cloned() {
                                    Some((s, true)) => Some(s),
                                    Some((s, false)) => {
                                        self.error(N0104, format!("`{}` is not public in module `{}`", n.name, self.modules[*other].name), n.span)
                                            .hint("mark it `pub` in its module to import it");
                                        Some(s)
                                    }
                                    None => None,
                                },
                                _ => None,
                            };
                            let bind = alias.clone().unwrap_or_else(|| n.clone());
                            match (found, &sym) {
                                (Some(s), _) => self.define(mi, &bind, s, false),
                                (None, Symbol::Module(other)) => {
                                    let m = self.modules[*other].name.clone();
                                    self.error(N0100, format!("module `{m}` has no item `{}`", n.name), n.span);
                                }
                                (None, _) => {
                                    self.error(N0100, format!("module has no item `{}`", n.name), n.span);
                                }
                            }
                        }
                    }
                }
            }
        }
        // 2. type declarations (names first so they can refer to each other)
        let mut struct_ids = Vec::new();
        let mut enum_ids = Vec::new();
        let mut iface_ids = Vec::new();
        for item in &module.items {
            match item {
                Item::Struct(s) => {
                    let id = self.structs.len() as u32;
                    let record = self.program.types.len() as u16;
                    self.program.types.push(RecordType { name: s.name.name.clone(), enum_name: None, enum_id: u16::MAX, fields: s.fields.iter().map(|f| f.name.name.clone()).collect(), methods: vec![], flags: 0 });
                    let type_params = self.generic_params(&s.type_params);
                    self.structs.push(StructInfo { name: s.name.name.clone(), module: mi, public: s.public, fields: vec![], defaults: vec![], methods: IndexMap::new(), record, span: s.span, type_params, throwable: false, display: false });
                    self.define(mi, &s.name, Symbol::Struct(id), s.public);
                    struct_ids.push(id);
                }
                Item::Enum(e) => {
                    let id = self.enums.len() as u32;
                    let enum_id = self.enums.len() as u16;
                    let type_params = self.generic_params(&e.type_params);
                    self.enums.push(EnumInfo { name: e.name.name.clone(), module: mi, public: e.public, variants: vec![], methods: IndexMap::new(), enum_id, type_params, throwable: false, display: false });
                    self.define(mi, &e.name, Symbol::Enum(id), e.public);
                    enum_ids.push(id);
                }
                Item::Interface(i) => {
                    let id = self.ifaces.len() as u32;
                    let type_params = self.generic_params(&i.type_params);
                    self.ifaces.push(IfaceInfo { name: i.name.name.clone(), module: mi, public: i.public, methods: vec![], type_params, defaults: vec![], params: vec![] });
                    self.define(mi, &i.name, Symbol::Iface(id), i.public);
                    iface_ids.push(id);
                }
                Item::TypeAlias(a) => {
                    let id = self.aliases.len() as u32;
                    self.aliases.push(AliasInfo { module: mi, decl: Rc::new(a.clone()), ty: None, resolving: false });
                    self.define(mi, &a.name, Symbol::Alias(id), a.public);
                }
                _ => {}
            }
        }
        // A pseudo function state so type resolution knows the current module.
        self.fns.push(self.new_fn_state("<decl>".into(), mi, 0, true));
        // 3. constants, in order (each may use the ones before it), before anything that may
        // use them (field defaults, parameter defaults, bodies)
        for item in &module.items {
            if let Item::Const(c) = item {
                self.declare_const(mi, c);
            }
        }
        let (mut si, mut ei, mut ii) = (0, 0, 0);
        for item in &module.items {
            match item {
                Item::Struct(s) => {
                    let id = struct_ids[si];
                    si += 1;
                    self.f().type_params = self.structs[id as usize].type_params.clone();
                    let mut seen = HashSet::new();
                    let mut fields = Vec::new();
                    let mut defaults = Vec::new();
                    for f in &s.fields {
                        if !seen.insert(f.name.name.clone()) {
                            self.error(N0101, format!("field `{}` is declared twice", f.name.name), f.name.span);
                        }
                        let t = self.resolve_type(&f.ty);
                        fields.push((f.name.name.clone(), t));
                        defaults.push(f.default.as_ref().map(|d| Rc::new(self.const_default(d, mi, true))));
                    }
                    self.structs[id as usize].fields = fields;
                    self.structs[id as usize].defaults = defaults;
                    // `: Eq` and `: Ord` now, so every struct's flags are known when fields
                    // are checked against them (`declare_implements`)
                    for te in &s.implements {
                        if let Type::Interface(i, _) = self.resolve_type_quiet(te) {
                            let flags = match self.standard_interface(i) {
                                Some("Eq") => noodle_nbc::program::RECORD_BY_VALUE,
                                Some("Ord") => noodle_nbc::program::RECORD_BY_VALUE | noodle_nbc::program::RECORD_ORDERED,
                                _ => 0,
                            };
                            let rec = self.structs[id as usize].record as usize;
                            self.program.types[rec].flags |= flags;
                        }
                    }
                }
                Item::Enum(e) => {
                    let id = enum_ids[ei];
                    ei += 1;
                    self.f().type_params = self.enums[id as usize].type_params.clone();
                    let mut variants = Vec::new();
                    let mut seen = HashSet::new();
                    for v in &e.variants {
                        if !seen.insert(v.name.name.clone()) {
                            self.error(N0101, format!("variant `{}` is declared twice", v.name.name), v.name.span);
                        }
                        let fields: Vec<(String, Type)> = v.fields.iter().map(|f| (f.name.name.clone(), self.resolve_type(&f.ty))).collect();
                        let record = self.program.types.len() as u16;
                        self.program.types.push(RecordType {
                            name: v.name.name.clone(),
                            enum_name: Some(e.name.name.clone()),
                            enum_id: self.enums[id as usize].enum_id,
                            fields: fields.iter().map(|f| f.0.clone()).collect(),
                            methods: vec![],
                            flags: 0,
                        });
                        variants.push(VariantInfo { name: v.name.name.clone(), fields, record });
                    }
                    self.enums[id as usize].variants = variants;
                }
                Item::Interface(i) => {
                    let id = iface_ids[ii];
                    ii += 1;
                    self.f().type_params = self.ifaces[id as usize].type_params.clone();
                    let mut methods = Vec::new();
                    let mut all_params = Vec::new();
                    for m in &i.methods {
                        if m.self_span.is_none() {
                            self.error(N0215, format!("interface method `{}` must take `self` as its first parameter", m.name.name), m.name.span);
                        }
                        if let Some(tp) = m.type_params.first() {
                            self.error(N0214, format!("interface method `{}` cannot have type parameters of its own", m.name.name), tp.span)
                                .hint("give the interface the type parameter instead (`interface Name[U] { ... }`), or make the method's parameter `any`");
                        }
                        // (its names still resolve, so that is the one error)
                        let own = self.generic_params(&m.type_params);
                        let scope = self.f().type_params.len();
                        self.f().type_params.extend(own);
                        let ps: Vec<Type> = m.params.iter().map(|p| p.ty.as_ref().map(|t| self.resolve_type(t)).unwrap_or(Type::Unknown)).collect();
                        let infos: Vec<ParamInfo> = m.params.iter().zip(&ps).map(|(p, t)| ParamInfo { name: p.name.name.clone(), ty: t.clone(), default: p.default.as_ref().map(|d| Rc::new(self.const_default(d, mi, false))) }).collect();
                        all_params.push(Rc::new(infos));
                        let r = m.ret.as_ref().map(|t| self.resolve_type(t)).unwrap_or(Type::None);
                        self.f().type_params.truncate(scope);
                        methods.push((m.name.name.clone(), ps, r));
                    }
                    self.ifaces[id as usize].methods = methods;
                    self.ifaces[id as usize].params = all_params;
                    self.ifaces[id as usize].defaults = i.methods.iter().map(|m| (m.body.is_some() || m.deferred.is_some()).then(|| Rc::new(m.clone()))).collect();
                }
                Item::TypeAlias(_) => {}
                _ => {}
            }
        }
        self.f().type_params = Vec::new();
        // aliases nothing refers to are still checked
        for item in &module.items {
            if let Item::TypeAlias(a) = item {
                if let Some((Symbol::Alias(id), _)) = self.modules[mi].symbols.get(&a.name.name).cloned() {
                    self.alias_type(id);
                }
            }
        }
        // 3. function and method signatures
        let mut bodies: Vec<(usize, &ast::FuncDecl, Option<Type>)> = Vec::new();
        let mut default_bodies: Vec<(usize, Rc<ast::FuncDecl>, Type)> = Vec::new();
        let (mut si, mut ei) = (0, 0);
        for item in &module.items {
            match item {
                Item::Func(f) => {
                    if f.self_span.is_some() {
                        self.error(N0215, "`self` is only allowed in methods", f.self_span.unwrap()).hint("declare this function inside a struct or enum");
                    }
                    let fi = self.declare_func(f, mi, None, Vec::new());
                    self.define(mi, &f.name, Symbol::Func(fi), f.public);
                    bodies.push((fi, f, None));
                }
                Item::Struct(s) => {
                    let id = struct_ids[si];
                    si += 1;
                    for m in &s.methods {
                        let self_ty = Type::Struct(id, self.structs[id as usize].type_params.iter().map(|p| p.1.clone()).collect());
                        let fi = self.declare_func(m, mi, Some(self_ty.clone()), Vec::new());
                        if self.structs[id as usize].methods.insert(m.name.name.clone(), fi).is_some() {
                            self.error(N0101, format!("method `{}` is defined twice", m.name.name), m.name.span);
                        }
                        if self.structs[id as usize].fields.iter().any(|(n, _)| *n == m.name.name) {
                            self.error(N0101, format!("`{}` is both a field and a method", m.name.name), m.name.span);
                        }
                        if m.self_span.is_some() {
                            let mn = self.method_name(&m.name.name);
                            let rec = self.structs[id as usize].record as usize;
                            let func = self.funcs[fi].func;
                            self.program.types[rec].methods.push((mn, func));
                        }
                        bodies.push((fi, m, Some(self_ty)));
                    }
                    let self_ty = Type::Struct(id, self.structs[id as usize].type_params.iter().map(|p| p.1.clone()).collect());
                    self.declare_implements(self_ty, &s.implements, &mut default_bodies);
                }
                Item::Enum(e) => {
                    let id = enum_ids[ei];
                    ei += 1;
                    for m in &e.methods {
                        let self_ty = Type::Enum(id, self.enums[id as usize].type_params.iter().map(|p| p.1.clone()).collect());
                        let fi = self.declare_func(m, mi, Some(self_ty.clone()), Vec::new());
                        if self.enums[id as usize].methods.insert(m.name.name.clone(), fi).is_some() {
                            self.error(N0101, format!("method `{}` is defined twice", m.name.name), m.name.span);
                        }
                        if m.self_span.is_some() {
                            let mn = self.method_name(&m.name.name);
                            let func = self.funcs[fi].func;
                            let recs: Vec<u16> = self.enums[id as usize].variants.iter().map(|v| v.record).collect();
                            for rec in recs {
                                self.program.types[rec as usize].methods.push((mn, func));
                            }
                        }
                        bodies.push((fi, m, Some(self_ty)));
                    }
                    let self_ty = Type::Enum(id, self.enums[id as usize].type_params.iter().map(|p| p.1.clone()).collect());
                    self.declare_implements(self_ty, &e.implements, &mut default_bodies);
                }
                _ => {}
            }
        }
        self.fns.pop();
        if self.modules[mi].native {
            // a native module's structs, enums and functions with bodies are written in Noodle
            // (`std.collections`, `std.datetime`): their bodies are compiled by
            // `compile_declarations` once the native functions they may call are declared; the
            // module has no top-level code to run
            for (fi, decl, self_ty) in bodies {
                if decl.body.is_some() || decl.deferred.is_some() {
                    self.native_bodies.push((fi, Rc::new(decl.clone()), self_ty));
                } else {
                    self.error(N0216, format!("`{}` has no body: a method of a struct or enum is written in Noodle (a native module's own functions and handle types are declared without bodies)", decl.name.name), decl.name.span);
                }
            }
            for (fi, decl, self_ty) in default_bodies {
                self.native_bodies.push((fi, decl, Some(self_ty)));
            }
            return;
        }
        // 4. top-level code: the module initialiser (defines globals)
        let init_idx = self.program.funcs.len() as u32;
        self.program.funcs.push(Function { name: format!("<init {}>", self.modules[mi].name), arity: 0, nregs: 0, ncaptures: 0, file: self.modules[mi].file, code: vec![], lines: vec![] });
        self.modules[mi].init = Some(init_idx);
        let mut st = self.new_fn_state(format!("<init {}>", self.modules[mi].name), mi, 0, true);
        st.captured_names = HashSet::new();
        self.fns.push(st);
        let stmts: Vec<(&ast::Stmt, bool)> = module.items.iter().filter_map(|it| if let Item::Stmt(s, p) = it { Some((s, *p)) } else { None }).collect();
        let n = stmts.len();
        for (i, (s, public)) in stmts.into_iter().enumerate() {
            let last = i + 1 == n;
            self.top_level_stmt(mi, s, public, last);
        }
        self.emit(Op::ReturnNone);
        let st = self.fns.pop().unwrap();
        self.finish_fn(init_idx, st, 0);
        // 5. function bodies
        for (fi, decl, self_ty) in bodies {
            self.compile_func_body(fi, decl, self_ty);
        }
        for (fi, decl, self_ty) in default_bodies {
            self.compile_func_body(fi, &decl, Some(self_ty));
        }
        if !self.init_order.contains(&mi) {
            self.init_order.push(mi);
        }
    }

    /// A parameter's or field's default, as call sites compile it: the expression, scoped to
    /// module `mi` that declares it, when it is a literal, a constant name or a constructor call
    /// of such values, else (N0216) an error placeholder.
    fn const_default(&mut self, d: &Expr, mi: usize, field: bool) -> Expr {
        if self.check_const_default(d, Some(field)) {
            scoped_default(d, mi)
        } else {
            Expr { kind: ast::ExprKind::Error, span: d.span }
        }
    }

    /// Whether `d` has the form of a default; when not and `report` says whether it is a
    /// field's (or a parameter's), N0216.
    fn check_const_default(&mut self, d: &Expr, report: Option<bool>) -> bool {
        use ast::ExprKind as K;
        let ok = match &d.kind {
            K::Int(_) | K::Float(_) | K::Bool(_) | K::Str(_) | K::None | K::Bytes(_) => true,
            K::Unary(ast::UnOp::Neg, e) => matches!(e.kind, K::Int(_) | K::Float(_)),
            K::List(v) | K::Tuple(v) => v.is_empty() || matches!(d.kind, K::Tuple(_)),
            K::Dict(v) => v.is_empty(),
            K::Name(_) | K::Field { .. } => true,
            // a constructor (`Stack()`, `Point(0, 0)`, `Box[int]()`): its kind is checked where
            // it is compiled, since the names it uses may be declared later in the module
            K::Call { callee, args } => {
                matches!(&callee.kind, K::Name(_) | K::Field { .. } | K::Index { .. }) && args.iter().all(|a| self.check_const_default(&a.value, None))
            }
            _ => false,
        };
        if let (false, Some(field)) = (ok, report) {
            self.error(N0216, "a default value must be a literal, a constant name or a constructor call", d.span).hint(default_hint(field));
        }
        ok
    }

    pub fn new_fn_state(&self, name: String, module: usize, arity: u16, is_init: bool) -> FnState {
        let file = self.modules.get(module).map(|m| m.file).unwrap_or(0);
        FnState {
            b: FuncBuilder::new(name, file, arity),
            scopes: vec![Vec::new()],
            captures: Vec::new(),
            captured_names: HashSet::new(),
            ret: Type::None,
            loops: Vec::new(),
            tries: Vec::new(),
            self_ty: None,
            module,
            type_params: Vec::new(),
            dynamic_marks: Vec::new(),
            caught: Vec::new(),
            is_init,
        }
    }

    /// Fresh type parameters for `f`'s own (after `outer`, those of an enclosing `extend`):
    /// the names in scope in its signature, and their ids.
    pub(crate) fn new_type_params(&mut self, outer: &[(String, Type)], f: &ast::FuncDecl) -> (Vec<(String, Type)>, Vec<u32>) {
        let mut tps = outer.to_vec();
        let mut tp_ids = Vec::new();
        for tp in &f.type_params {
            if BUILTIN_TYPE_NAMES.contains(&tp.name.as_str()) {
                self.error(N0101, format!("a type parameter cannot be named `{}`: that is a built-in type", tp.name), tp.span).hint("use a capital letter, as in `T` or `Item`");
            }
            let id = self.next_type_param;
            self.next_type_param += 1;
            tps.push((tp.name.clone(), Type::Param(id, tp.name.clone())));
            tp_ids.push(id);
        }
        (tps, tp_ids)
    }

    /// N0100 for `module.name` where module `mi` has no public item `name`.
    pub(crate) fn no_item(&mut self, mi: usize, name: &ast::Ident) {
        let module = self.modules[mi].name.clone();
        let names: Vec<String> = self.modules[mi].symbols.iter().filter(|(_, (_, p))| *p).map(|(n, _)| n.clone()).collect();
        let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        let mut d = Diagnostic::error(N0100, format!("module `{module}` has no item `{}`", name.name), name.span);
        if let Some(s) = suggest(&name.name, &refs) {
            d = d.hint(format!("did you mean `{s}`?"));
        }
        self.diags.push(d);
    }

    /// A type's `: Iface, ...` clause: each must be an interface, the type gets a copy of each
    /// default method it does not define (compiled with `self` of its type, in the
    /// interface's module), and must then satisfy it (N0209 at the clause).
    fn declare_implements(&mut self, self_ty: Type, implements: &[TypeExpr], default_bodies: &mut Vec<(usize, Rc<ast::FuncDecl>, Type)>) {
        if implements.is_empty() {
            return;
        }
        let saved = std::mem::replace(&mut self.f().type_params, owner_params(&self_ty));
        let ifaces: Vec<(Type, Span)> = implements.iter().map(|te| (self.resolve_type(te), te.span())).collect();
        self.f().type_params = saved;
        let mut declared: Vec<u32> = Vec::new();
        let mut normal: Vec<(u32, Vec<Type>, Span)> = Vec::new();
        for (t, span) in ifaces {
            if let Type::Interface(i, _) = &t {
                if declared.contains(i) {
                    let shown = self.show(&t);
                    self.error(N0101, format!("interface `{shown}` is declared twice"), span);
                    continue;
                }
                declared.push(*i);
            }
            let (i, args) = match t {
                Type::Interface(i, args) => (i, args),
                Type::Unknown => continue,
                other => {
                    let shown = self.show(&other);
                    self.error(N0209, format!("`{shown}` is not an interface"), span).hint("after `:` a struct or enum lists the interfaces it implements");
                    continue;
                }
            };
            match self.standard_interface(i) {
                Some("Throwable") => {
                    self.declare_throwable(&self_ty, span);
                    continue;
                }
                Some(which @ ("Eq" | "Ord")) => {
                    self.check_comparable(&self_ty, which, span);
                    continue;
                }
                Some("Display") => {
                    // an ordinary interface, and the records show through its method
                    let recs: Vec<u16> = match &self_ty {
                        Type::Struct(s, _) => vec![self.structs[*s as usize].record],
                        Type::Enum(e, _) => self.enums[*e as usize].variants.iter().map(|v| v.record).collect(),
                        _ => vec![],
                    };
                    for rec in recs {
                        self.program.types[rec as usize].flags |= noodle_nbc::program::RECORD_DISPLAY;
                    }
                    match &self_ty {
                        Type::Struct(s, _) => self.structs[*s as usize].display = true,
                        Type::Enum(e, _) => self.enums[*e as usize].display = true,
                        _ => {}
                    }
                }
                _ => {}
            }
            normal.push((i, args, span));
        }
        // every interface's defaults first (the first declared gives a method two of them
        // have), so that one interface's required method may be another's default
        let has = |c: &Compiler, name: &str| match &self_ty {
            Type::Struct(s, _) => c.structs[*s as usize].methods.contains_key(name),
            Type::Enum(e, _) => c.enums[*e as usize].methods.contains_key(name),
            _ => true,
        };
        let mut copied: Vec<(usize, usize, Rc<ast::FuncDecl>)> = Vec::new();
        for (k, (i, args, _)) in normal.iter().enumerate() {
            let info = self.ifaces[*i as usize].clone();
            let bindings: Vec<(String, Type)> = info.type_params.iter().map(|p| p.0.clone()).zip(args.iter().cloned()).collect();
            for ((name, _, _), default) in info.methods.iter().zip(&info.defaults) {
                let Some(decl) = default else { continue };
                if has(self, name) {
                    continue;
                }
                // the default's signature names the interface's parameters, in its module
                let st = self.new_fn_state("<decl>".into(), info.module, 0, true);
                self.fns.push(st);
                let fi = self.declare_func(decl, info.module, Some(self_ty.clone()), bindings.clone());
                self.fns.pop();
                let mn = self.method_name(name);
                let func = self.funcs[fi].func;
                match &self_ty {
                    Type::Struct(s, _) => {
                        self.structs[*s as usize].methods.insert(name.clone(), fi);
                        let rec = self.structs[*s as usize].record as usize;
                        self.program.types[rec].methods.push((mn, func));
                    }
                    Type::Enum(e, _) => {
                        self.enums[*e as usize].methods.insert(name.clone(), fi);
                        let recs: Vec<u16> = self.enums[*e as usize].variants.iter().map(|v| v.record).collect();
                        for rec in recs {
                            self.program.types[rec as usize].methods.push((mn, func));
                        }
                    }
                    _ => {}
                }
                copied.push((k, fi, decl.clone()));
            }
        }
        // then each interface checked; the defaults of one the type does not satisfy are not
        // compiled (they would only repeat its error)
        let mut failed = vec![false; normal.len()];
        for (k, (i, args, span)) in normal.iter().enumerate() {
            if let Err(why) = self.satisfies(self_ty.clone(), *i, args) {
                let (ts, is) = (self.show(&self_ty), self.show(&Type::Interface(*i, args.clone())));
                self.error(N0209, format!("`{ts}` does not implement interface `{is}`: {why}"), *span).label("declared here");
                failed[k] = true;
            }
        }
        for (k, fi, decl) in copied {
            if !failed[k] {
                default_bodies.push((fi, decl, self_ty.clone()));
            }
        }
    }

    /// `Eq` or `Ord` when interface `i` is the core module's: what a struct declares to be
    /// compared by value (see `RECORD_BY_VALUE`, `RECORD_ORDERED`).
    pub(crate) fn standard_interface(&self, i: u32) -> Option<&'static str> {
        let info = &self.ifaces[i as usize];
        if Some(info.module) != self.core {
            return None;
        }
        match info.name.as_str() {
            "Eq" => Some("Eq"),
            "Ord" => Some("Ord"),
            "Throwable" => Some("Throwable"),
            "Display" => Some("Display"),
            _ => None,
        }
    }

    /// Can a value of type `t` hold, or be, a value of a type declaring `Display` (so that
    /// showing it needs the `str` native, which calls `display` methods, rather than the
    /// `ToStr` instruction)? `any`, type parameters and interfaces may hold anything.
    pub(crate) fn may_display(&self, t: &Type) -> bool {
        fn walk(c: &Compiler, t: &Type, seen: &mut Vec<(bool, u32)>, depth: usize) -> bool {
            if depth > 32 {
                return true;
            }
            match t {
                Type::Any | Type::Param(..) | Type::Interface(..) | Type::Var(_) => true,
                Type::List(a) | Type::Set(a) | Type::Optional(a) | Type::Task(a) => walk(c, a, seen, depth + 1),
                Type::Dict(k, v) => walk(c, k, seen, depth + 1) || walk(c, v, seen, depth + 1),
                Type::Tuple(ts) => ts.iter().any(|t| walk(c, t, seen, depth + 1)),
                Type::Struct(s, args) => {
                    if c.structs[*s as usize].display {
                        return true;
                    }
                    if seen.contains(&(false, *s)) {
                        return false;
                    }
                    seen.push((false, *s));
                    c.struct_fields(*s, args).iter().any(|(_, ft)| walk(c, ft, seen, depth + 1))
                }
                Type::Enum(e, args) => {
                    if c.enums[*e as usize].display {
                        return true;
                    }
                    if seen.contains(&(true, *e)) {
                        return false;
                    }
                    seen.push((true, *e));
                    (0..c.enums[*e as usize].variants.len()).any(|vi| c.variant_fields(*e, vi, args).iter().any(|(_, ft)| walk(c, ft, seen, depth + 1)))
                }
                _ => false,
            }
        }
        walk(self, &self.subst.resolve(t), &mut Vec::new(), 0)
    }

    /// `str(x)` of the value in `src` into `dst`: the `ToStr` instruction, or the `str` native
    /// when the value may show through a `display` method.
    pub(crate) fn emit_to_str(&mut self, dst: Reg, src: Reg, t: &Type) {
        if self.may_display(t) {
            let base = self.b().alloc(2);
            self.emit(Op::Move { dst: base + 1, src });
            let n = self.native("str");
            self.emit(Op::CallNative { base, native: n, argc: 1 });
            self.emit(Op::Move { dst, src: base });
        } else {
            self.emit(Op::ToStr { dst, src });
        }
    }

    /// Does struct `s` declare `Ord`?
    pub(crate) fn struct_ordered(&self, s: u32) -> bool {
        let rec = self.structs[s as usize].record as usize;
        self.program.types.get(rec).is_some_and(|t| t.flags & noodle_nbc::program::RECORD_ORDERED != 0)
    }

    /// Can values of type `t` be ordered with `<` (sort, min, max)?
    pub(crate) fn orderable(&self, t: &Type) -> bool {
        builtins::orderable(t, &|s| self.struct_ordered(s))
    }

    /// A type declaring `Throwable`: its `message` (and `code`, if it has one) must be a `str`
    /// field or a method `(self) -> str`, from which `throw` makes the `Error` it throws.
    fn declare_throwable(&mut self, self_ty: &Type, span: Span) {
        let name = self.show(self_ty);
        for (part, required) in [("message", true), ("code", false)] {
            let field = match self_ty {
                Type::Struct(s, args) => self.struct_fields(*s, args).into_iter().find(|f| f.0 == part).map(|f| f.1),
                _ => None,
            };
            let method = match self_ty {
                Type::Struct(s, _) => self.structs[*s as usize].methods.get(part).copied(),
                Type::Enum(e, _) => self.enums[*e as usize].methods.get(part).copied(),
                _ => None,
            };
            let ok = match (field, method) {
                (Some(t), _) => self.subst.resolve(&t) == Type::Str,
                (None, Some(fi)) => {
                    let f = &self.funcs[fi];
                    f.has_self && f.params.is_empty() && f.ret == Type::Str && f.type_params.len() == crate::compiler::owner_len(self_ty)
                }
                (None, None) => !required,
            };
            if !ok {
                self.error(N0209, format!("`{name}` cannot declare `Throwable`: it needs a `{part}: str` field or a method `def {part}(self) -> str`"), span)
                    .label("declared here")
                    .hint(if required { "the message is what an uncaught error prints; `code` is optional (the type's name by default)" } else { "`code` is optional: without one the error's code is the type's name" });
                return;
            }
        }
        match self_ty {
            Type::Struct(s, _) => self.structs[*s as usize].throwable = true,
            Type::Enum(e, _) => self.enums[*e as usize].throwable = true,
            _ => {}
        }
    }

    /// A type declaring `Eq` (`Ord`): a struct whose fields can be hashed (ordered) by value.
    fn check_comparable(&mut self, self_ty: &Type, which: &str, span: Span) {
        let (s, args) = match self_ty {
            Type::Struct(s, args) => (*s, args.clone()),
            // enum values are compared by value already
            Type::Enum(..) if which == "Eq" => return,
            _ => {
                let shown = self.show(self_ty);
                self.error(N0209, format!("`{shown}` cannot declare `{which}`: only structs declare it"), span)
                    .hint(if which == "Ord" { "order enum values with `sort_by` and a key, such as a number for each variant" } else { "enum values are always compared by value" });
                return;
            }
        };
        let name = self.structs[s as usize].name.clone();
        for (field, ft) in self.struct_fields(s, &args) {
            let ok = match which {
                "Eq" => builtins::hashable(&ft),
                // `Ord` includes `Eq`: its values are keys by value too
                _ => matches!(ft, Type::Param(..)) || (self.orderable(&ft) && builtins::hashable(&ft)),
            };
            if !ok {
                let shown = self.show(&ft);
                let what = if which == "Eq" {
                    "compared and hashed by value"
                } else if self.orderable(&ft) {
                    "hashed (an `Ord` value is a key by value too)"
                } else {
                    "ordered"
                };
                self.error(N0209, format!("struct `{name}` cannot declare `{which}`: its field `{field}` is a `{shown}`, which cannot be {what}"), span)
                    .label("declared here")
                    .hint(if which == "Eq" { "fields of an `Eq` struct must be hashable: numbers, str, bytes, bool, none, tuples and optionals of those, enums and structs" } else { "fields of an `Ord` struct must be numbers, str, bytes, bool, tuples of those, or `Ord` structs (not lists: `Ord` includes `Eq`, so values are hashed)" });
                return;
            }
        }
    }

    fn declare_func(&mut self, f: &ast::FuncDecl, mi: usize, self_ty: Option<Type>, bindings: Vec<(String, Type)>) -> usize {
        // a method of a generic type has the type's parameters before its own (and a default
        // method copied from an interface, the interface's, as the type's declaration gives them)
        let owner = self_ty.as_ref().map(owner_params).unwrap_or_default();
        let owner_ids: Vec<u32> = owner.iter().filter_map(|(_, t)| if let Type::Param(id, _) = t { Some(*id) } else { None }).collect();
        // the interface's names last, so they win over the type's own (both are often `T`):
        // the default's body knows only the interface's
        let outer: Vec<(String, Type)> = owner.into_iter().chain(bindings.iter().cloned()).collect();
        let (tps, own_ids) = self.new_type_params(&outer, f);
        let tp_ids: Vec<u32> = owner_ids.into_iter().chain(own_ids).collect();
        let saved = std::mem::take(&mut self.f().type_params);
        self.f().type_params = tps;
        let mut params = Vec::with_capacity(f.params.len());
        for (i, p) in f.params.iter().enumerate() {
            // parameter lists are short: a scan is cheaper than a set of copied names
            if f.params[..i].iter().any(|q| q.name.name == p.name.name) {
                self.error(N0101, format!("parameter `{}` is declared twice", p.name.name), p.name.span);
            }
            let ty = p.ty.as_ref().map(|t| self.resolve_type(t)).unwrap_or(Type::Unknown);
            let default = p.default.as_ref().map(|d| Rc::new(self.const_default(d, mi, false)));
            params.push(ParamInfo { name: p.name.name.clone(), ty, default });
        }
        let ret = f.ret.as_ref().map(|t| self.resolve_type(t)).unwrap_or(Type::None);
        self.f().type_params = saved;
        let func = self.program.funcs.len() as u32;
        let qual = match &self_ty {
            Some(Type::Struct(s, _)) => format!("{}.{}", self.structs[*s as usize].name, f.name.name),
            Some(Type::Enum(e, _)) => format!("{}.{}", self.enums[*e as usize].name, f.name.name),
            Some(t) => format!("{}.{}", self.show(t), f.name.name),
            None => f.name.name.clone(),
        };
        self.program.funcs.push(Function { name: qual.clone(), arity: 0, nregs: 0, ncaptures: 0, file: self.modules[mi].file, code: vec![], lines: vec![] });
        let fi = self.funcs.len();
        self.funcs.push(FuncInfo { name: qual, func, params: Rc::new(params), ret, type_params: tp_ids, has_self: f.self_span.is_some(), is_async: f.is_async, public: f.public, module: mi, span: f.span, native: None, self_ty, type_bindings: bindings });
        fi
    }

    pub fn finish_fn(&mut self, func: u32, st: FnState, ncaptures: u16) {
        let mut b = st.b;
        // decided once the whole module is checked: a lambda's list type may be settled by the
        // call it is an argument of, after its own code is done
        for (pc, t) in st.dynamic_marks {
            self.dynamic_marks.push((func, pc, t));
        }
        if b.fuse_overflow {
            self.error(N0219, format!("function `{}` is too large for short branches", b.name), Span::default());
        }
        if b.overflow {
            self.error(N0217, format!("function `{}` needs more than 65535 registers", b.name), Span::default());
        }
        // A forward jump may target the end of the code, so end with a return unless the last
        // instruction already leaves the function.
        let len = b.code.len();
        let jumps_to_end = b.code.iter().enumerate().any(|(pc, op)| crate::builder::jump_target(op, pc) == Some(len));
        if jumps_to_end || !matches!(b.code.last(), Some(Op::Return { .. } | Op::ReturnNone | Op::Throw { .. } | Op::Jump { .. })) {
            b.emit(Op::ReturnNone);
        }
        let f = &mut self.program.funcs[func as usize];
        f.arity = b.arity;
        f.nregs = b.max.max(1).min(u16::MAX as u32) as u16;
        f.ncaptures = ncaptures;
        f.code = b.code;
        f.lines = b.lines;
    }

    pub(crate) fn compile_func_body(&mut self, fi: usize, decl: &ast::FuncDecl, self_ty: Option<Type>) {
        let parsed;
        let body = match (&decl.body, decl.deferred) {
            (Some(body), _) => body,
            (None, Some(span)) => {
                let (body, diags) = noodle_syntax::parse_body(&self.files[span.file as usize].text, span);
                self.diags.extend(diags);
                // a body that does not parse (its error is reported) gets no code: the
                // program is not produced
                let Some(body) = body else { return };
                parsed = body;
                &parsed
            }
            (None, None) => unreachable!("only interface methods have no body, and they are not compiled"),
        };
        let mut info = self.funcs[fi].clone();
        info.has_self &= self_ty.is_some();
        let arity = info.params.len() as u16 + if info.has_self { 1 } else { 0 };
        let mut st = self.new_fn_state(info.name.clone(), info.module, arity, false);
        st.ret = info.ret.clone();
        st.self_ty = if info.has_self { self_ty.clone() } else { None };
        let outer = self_ty.as_ref().map(owner_params).unwrap_or_default();
        let own = info.type_params.iter().skip(outer.len());
        st.type_params = outer.into_iter().chain(info.type_bindings.iter().cloned()).chain(decl.type_params.iter().zip(own).map(|(n, id)| (n.name.clone(), Type::Param(*id, n.name.clone())))).collect();
        st.captured_names = crate::stmt::captured_names(body);
        self.fns.push(st);
        let mut reg = 0u16;
        if info.has_self {
            let t = self.f().self_ty.clone().unwrap();
            self.bind_local("self", Local { reg: 0, ty: t, mutable: false, cell: false, wide: None, global: None });
            reg = 1;
        }
        for p in info.params.iter() {
            let l = Local { reg, ty: p.ty.clone(), mutable: false, cell: false, wide: None, global: None };
            self.bind_local(&p.name, l);
            reg += 1;
        }
        // parameters written as patterns are taken apart before the body runs
        let first = info.has_self as u16;
        for (i, (p, d)) in info.params.iter().zip(decl.params.iter()).enumerate() {
            if let Some(pat) = &d.pattern {
                self.set_line(pat.span);
                self.bind_pattern(pat, first + i as u16, &p.ty.clone(), false);
            }
        }
        self.set_line(decl.span);
        let diverges = self.block_stmts(body);
        let ret = self.subst.resolve(&info.ret);
        if !diverges {
            if matches!(ret, Type::None | Type::Unknown | Type::Any) {
                self.emit(Op::ReturnNone);
            } else {
                let end = Span { start: body.span.end.saturating_sub(1), ..body.span };
                let msg = format!("function `{}` may reach its end without returning a `{}`", decl.name.name, self.show(&ret));
                self.diags.push(
                    Diagnostic::error(N0205, msg, end)
                        .label("control can reach here")
                        .note(decl.name.span, "declared here")
                        .hint("add a `return` on every path, or change the return type"),
                );
            }
        }
        let st = self.fns.pop().unwrap();
        self.finish_fn(info.func, st, 0);
    }
}

fn sym_res(sym: &Symbol) -> NameRes {
    match sym {
        Symbol::Func(f) => NameRes::Func(*f),
        Symbol::Struct(s) => NameRes::Struct(*s),
        Symbol::Actor(a) => NameRes::Actor(*a),
        Symbol::Enum(e) => NameRes::Enum(*e),
        Symbol::Iface(i) => NameRes::Iface(*i),
        Symbol::Global(g) => NameRes::Global(*g),
        Symbol::Module(m) => NameRes::Module(*m),
        Symbol::Const(c) => NameRes::Const(c.clone()),
        Symbol::NativeType(t) => NameRes::NativeType(*t),
        Symbol::Alias(a) => NameRes::Alias(*a),
    }
}

/// How many type parameters a generic struct or enum type has (its methods have them first).
pub(crate) fn owner_len(t: &Type) -> usize {
    match t {
        Type::Struct(_, a) | Type::Enum(_, a) => a.len(),
        _ => 0,
    }
}

/// The type parameters of a generic struct or enum, from its own type as its methods see it.
fn owner_params(t: &Type) -> Vec<(String, Type)> {
    match t {
        Type::Struct(_, args) | Type::Enum(_, args) => args.iter().filter_map(|a| if let Type::Param(_, n) = a { Some((n.clone(), a.clone())) } else { None }).collect(),
        _ => Vec::new(),
    }
}

/// The instantiation of a generic type's parameters by its arguments.
pub(crate) fn type_inst(params: &[(String, Type)], args: &[Type]) -> Vec<(u32, Type)> {
    params.iter().zip(args).filter_map(|((_, p), a)| if let Type::Param(id, _) = p { Some((*id, a.clone())) } else { None }).collect()
}

/// `list[any]`, `set[any]` or `dict[any, any]`: a type through which a value of any type can be
/// stored in a container (see `Op::MarkDynamic`).
pub fn any_container(t: &Type) -> bool {
    match t {
        Type::List(e) | Type::Set(e) => **e == Type::Any,
        Type::Dict(k, v) => **k == Type::Any && **v == Type::Any,
        _ => false,
    }
}

impl Compiler {
    /// After making the container in `r` of type `t`: marks it dynamic when `t` is an
    /// `any_container` (now, or once its inference variables are solved).
    pub(crate) fn mark_if_dynamic(&mut self, r: Reg, t: &Type) {
        let t = self.subst.resolve(t);
        if any_container(&t) {
            self.emit(Op::MarkDynamic { obj: r });
        } else if self.subst.has_vars(&t) && matches!(t, Type::List(_) | Type::Set(_) | Type::Dict(..)) {
            let pc = self.emit(Op::MarkDynamic { obj: r });
            self.f().dynamic_marks.push((pc, t));
        }
    }

    /// Before storing through a container of type `t` held in `r`: N2016 at run time when
    /// `t` is an `any_container` and the container was not made as one (a cast's view).
    /// Throws an `Error` whose code and message are in `base` and `base + 1` (of
    /// `ERROR_FIELDS` registers from `base`): a run-time check's failure.
    pub(crate) fn throw_error_at(&mut self, base: Reg) {
        self.emit(Op::LoadNone { dst: base + 2 });
        self.emit(Op::LoadNone { dst: base + 3 });
        self.emit(Op::NewRecord { dst: base, ty: 0, base });
        self.emit(Op::Throw { src: base });
    }

    pub(crate) fn check_dynamic(&mut self, r: Reg, t: &Type) {
        if any_container(&self.subst.resolve(t)) {
            self.emit(Op::CheckDynamic { obj: r });
        }
    }
}

/// The closest name by edit distance, for "did you mean" hints.
pub fn suggest<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let mut best = None;
    let mut best_d = usize::MAX;
    for c in candidates {
        let d = edit_distance(name, c);
        if d < best_d && d <= (name.len() / 3).max(1) && *c != name {
            best_d = d;
            best = Some(*c);
        }
    }
    best
}

/// Levenshtein distance over characters (also `std.config`'s hints, with its own threshold).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = if a[i - 1] == b[j - 1] { 0 } else { 1 };
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A constant's value while it is folded.
#[derive(Clone, Debug, PartialEq)]
enum ConstVal {
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
}

impl Compiler {
    /// `const NAME [: T] = value`: folds the value (N0221 when it cannot be computed while
    /// compiling) and defines the name as a constant of the module.
    fn declare_const(&mut self, mi: usize, c: &ast::ConstDecl) {
        let (k, t) = match self.typed_const(mi, &c.name.name, c.ty.as_ref(), &c.value) {
            Ok(kt) => kt,
            Err((why, span)) => {
                self.error(crate::codes::N0221, format!("the value of `const {}` cannot be computed while compiling: {why}", c.name.name), span)
                    .hint("a constant is made of literals, other constants and operators on them; use `let` for a value computed when the program runs");
                // defined anyway (as an unknown), so its uses do not also report it
                (Const::Int(0), Type::Unknown)
            }
        };
        self.define(mi, &c.name, Symbol::Const(Rc::new((k, t))), c.public);
    }

    /// A constant's folded value with its type, converted to the declared type `ty` when
    /// given (an int to a float; N0200 for another mismatch); `Err` says why it cannot be
    /// folded. A `bool` is kept as an int `Const` with type `bool`. For `const` declarations
    /// and native modules' `let` constants alike.
    pub(crate) fn typed_const(&mut self, mi: usize, name: &str, ty: Option<&TypeExpr>, value: &Expr) -> Result<(Const, Type), (String, Span)> {
        let mut v = self.fold_value(mi, value)?;
        if let Some(te) = ty {
            let want = self.resolve_type(te);
            v = match (v, &want) {
                (ConstVal::Int(i), Type::Float) => ConstVal::Float(i as f64),
                (v, _) => v,
            };
            let got = const_type(&v);
            if got != want && !want.is_error() {
                let (w, g) = (self.show(&want), self.show(&got));
                self.error(N0200, format!("constant `{name}` is declared `{w}` but its value is `{g}`"), value.span);
            }
        }
        let t = const_type(&v);
        Ok((
            match v {
                ConstVal::Int(i) => Const::Int(i),
                ConstVal::Bool(b) => Const::Int(b as i64),
                ConstVal::Float(f) => Const::Float(f),
                ConstVal::Str(s) => Const::Str(s),
            },
            t,
        ))
    }

    /// The value of a constant expression, or why it has none and where.
    fn fold_value(&mut self, mi: usize, e: &Expr) -> Result<ConstVal, (String, Span)> {
        use ast::{BinOp as B, ExprKind as K, UnOp as U};
        use ConstVal as V;
        let not_const = |what: &str| Err((what.to_string(), e.span));
        Ok(match &e.kind {
            K::Int(i) => V::Int(*i),
            K::Float(f) => V::Float(*f),
            K::Str(s) => V::Str(s.clone()),
            K::Bool(b) => V::Bool(*b),
            K::Name(n) => match self.resolve_module_symbol(mi, n) {
                NameRes::Const(c) => const_val(&c).ok_or((format!("`{n}` is a bytes constant"), e.span))?,
                NameRes::None => return not_const(&format!("`{n}` is not a constant defined before it")),
                _ => return not_const(&format!("`{n}` is not a constant")),
            },
            K::Field { target, name, optional: false } => match &target.kind {
                K::Name(m) => match self.resolve_module_symbol(mi, m) {
                    NameRes::Module(other) => match self.modules[other].symbols.get(&name.name) {
                        Some((Symbol::Const(c), true)) => const_val(&c.clone()).ok_or((format!("`{m}.{}` is a bytes constant", name.name), e.span))?,
                        _ => return not_const(&format!("`{m}.{}` is not a public constant", name.name)),
                    },
                    _ => return not_const("only a module's constants can be read with `.` here"),
                },
                _ => return not_const("only a module's constants can be read with `.` here"),
            },
            K::Unary(op, x) => match (op, self.fold_value(mi, x)?) {
                (U::Neg, V::Int(i)) => V::Int(i.checked_neg().ok_or(("the negation overflows".to_string(), e.span))?),
                (U::Neg, V::Float(f)) => V::Float(-f),
                (U::Not, V::Bool(b)) => V::Bool(!b),
                (U::BitNot, V::Int(i)) => V::Int(!i),
                _ => return not_const("this operator does not apply to that value"),
            },
            K::Binary(op, a, b) => {
                let (x, y) = (self.fold_value(mi, a)?, self.fold_value(mi, b)?);
                let overflow = || ("the arithmetic overflows".to_string(), e.span);
                match (op, x, y) {
                    (B::Add, V::Str(p), V::Str(q)) if p.len() + q.len() <= 1 << 20 => V::Str(p + &q),
                    (B::Add, V::Str(_), V::Str(_)) => return not_const("the text would be longer than 1 MiB"),
                    (B::Mul, V::Str(p), V::Int(n)) => match usize::try_from(n) {
                        Ok(n) if p.len().saturating_mul(n) <= 1 << 20 => V::Str(p.repeat(n)),
                        _ => return not_const("the repeat count is negative, or the text longer than 1 MiB"),
                    },
                    (B::In, V::Str(p), V::Str(q)) => V::Bool(q.contains(&p)),
                    (B::NotIn, V::Str(p), V::Str(q)) => V::Bool(!q.contains(&p)),
                    (op @ (B::Eq | B::Ne | B::Lt | B::Le | B::Gt | B::Ge), x, y) => {
                        let ord = match (&x, &y) {
                            (V::Str(p), V::Str(q)) => Some(p.cmp(q)),
                            (V::Bool(p), V::Bool(q)) => Some(p.cmp(q)),
                            (V::Int(p), V::Int(q)) => Some(p.cmp(q)),
                            (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => {
                                let f = |v: &V| if let V::Int(i) = v { *i as f64 } else if let V::Float(f) = v { *f } else { 0.0 };
                                f(&x).partial_cmp(&f(&y))
                            }
                            _ => return not_const("these values cannot be compared"),
                        };
                        use std::cmp::Ordering::*;
                        V::Bool(match (op, ord) {
                            (B::Eq, o) => o == Some(Equal),
                            (B::Ne, o) => o != Some(Equal),
                            (B::Lt, o) => o == Some(Less),
                            (B::Le, o) => matches!(o, Some(Less | Equal)),
                            (B::Gt, o) => o == Some(Greater),
                            _ => matches!(ord, Some(Greater | Equal)),
                        })
                    }
                    (B::And, V::Bool(p), V::Bool(q)) => V::Bool(p && q),
                    (B::Or, V::Bool(p), V::Bool(q)) => V::Bool(p || q),
                    (B::Add, V::Int(p), V::Int(q)) => V::Int(p.checked_add(q).ok_or_else(overflow)?),
                    (B::Sub, V::Int(p), V::Int(q)) => V::Int(p.checked_sub(q).ok_or_else(overflow)?),
                    (B::Mul, V::Int(p), V::Int(q)) => V::Int(p.checked_mul(q).ok_or_else(overflow)?),
                    (B::FloorDiv | B::Mod, V::Int(_), V::Int(0)) => return Err(("division by zero".to_string(), e.span)),
                    // floored, as `//` and `%` are when the program runs
                    (B::FloorDiv, V::Int(p), V::Int(q)) => V::Int(p.checked_div(q).map(|d| if p % q != 0 && (p < 0) != (q < 0) { d - 1 } else { d }).ok_or_else(overflow)?),
                    // `MIN % -1` is 0 when the program runs too
                    (B::Mod, V::Int(_), V::Int(-1)) => V::Int(0),
                    (B::Mod, V::Int(p), V::Int(q)) => V::Int(p.checked_rem(q).map(|r| if r != 0 && (r < 0) != (q < 0) { r + q } else { r }).ok_or_else(overflow)?),
                    (B::Pow, V::Int(p), V::Int(q)) => V::Int(u32::try_from(q).ok().and_then(|q| p.checked_pow(q)).ok_or(("the power overflows or has a negative exponent".to_string(), e.span))?),
                    (B::Shl, V::Int(p), V::Int(q)) => V::Int(u32::try_from(q).ok().filter(|q| *q < 64).and_then(|q| p.checked_shl(q)).filter(|r| r >> q == p).ok_or_else(overflow)?),
                    (B::BitAnd, V::Int(p), V::Int(q)) => V::Int(p & q),
                    (B::BitOr, V::Int(p), V::Int(q)) => V::Int(p | q),
                    (B::BitXor, V::Int(p), V::Int(q)) => V::Int(p ^ q),
                    (op, x, y) => {
                        let num = |v: &V| match v {
                            V::Int(i) => Some(*i as f64),
                            V::Float(f) => Some(*f),
                            _ => None,
                        };
                        let (Some(p), Some(q)) = (num(&x), num(&y)) else { return not_const("this operator does not apply to these values") };
                        V::Float(match op {
                            B::Add => p + q,
                            B::Sub => p - q,
                            B::Mul => p * q,
                            B::Div => p / q,
                            B::Pow => p.powf(q),
                            _ => return not_const("this operator is not computed in constants"),
                        })
                    }
                }
            }
            _ => return not_const("it is not made of literals, constants and operators"),
        })
    }
}

fn const_type(v: &ConstVal) -> Type {
    match v {
        ConstVal::Int(_) => Type::Int,
        ConstVal::Float(_) => Type::Float,
        ConstVal::Str(_) => Type::Str,
        ConstVal::Bool(_) => Type::Bool,
    }
}

fn const_val(c: &(Const, Type)) -> Option<ConstVal> {
    Some(match (&c.0, &c.1) {
        (Const::Int(i), Type::Bool) => ConstVal::Bool(*i != 0),
        (Const::Int(i), _) => ConstVal::Int(*i),
        (Const::Float(f), _) => ConstVal::Float(*f),
        (Const::Str(s), _) => ConstVal::Str(s.clone()),
        (Const::Bytes(_), _) => return None,
    })
}

