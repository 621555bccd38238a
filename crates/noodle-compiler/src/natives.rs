//! Native modules in the checker. A native module (`std.math`, `std.db`, an embedder's own) is
//! known to the compiler only by its declarations: Noodle source in which a `def` without a
//! body is a native function, `type Name { ... }` an opaque handle type, `extend[T] list[T] {
//! ... }` methods of a built-in type, and `pub let` a constant. The compiler reads them when a
//! program first imports the module (the core module, the built-ins, at start), declares
//! their items like any module's, and compiles a call of a native function to `CallNative`
//! with the native's symbol, which the VM resolves through the same registry.
//!
//! A few signatures cannot be written as types (a result whose element type comes from a
//! `dtype` argument, a parameter that is "a list or a dict"): the module attaches a
//! `CallRule` to those, which the checker asks after compiling the arguments against the
//! declared types.

use crate::builder::Reg;
use crate::compiler::{Compiler, FuncInfo, NameRes, ParamInfo, Symbol};
use crate::types::{Type, TE};
use indexmap::IndexMap;
use noodle_codes::Code;
use noodle_nbc::{Const, Op};
use noodle_syntax::ast::{self, Arg, Expr, ExprKind, Ident};
use noodle_syntax::{Diagnostic, Span};
use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

use crate::codes::{N0101, N0102, N0106, N0200, N0201, N0202, N0216};

/// A native module as the compiler receives it: its name, its declarations, and the rules
/// for the calls its declarations cannot type alone (by declared name: `zeros`,
/// `tensor.sum`, `Rows.tensor`).
#[derive(Clone)]
pub struct NativeModule {
    pub name: String,
    pub source: std::borrow::Cow<'static, str>,
    pub rules: Vec<(String, Arc<dyn CallRule>)>,
}

/// The shape of an argument's expression, for `CallRule::expect`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgShape {
    ListLiteral,
    DictLiteral,
    Other,
}

/// What a rule knows of one declared parameter at a call.
#[derive(Clone, Debug)]
pub struct RuleArg {
    pub name: String,
    /// Whether the call gave it (else it got its declared default).
    pub given: bool,
    /// Its type (resolved).
    pub ty: Type,
    pub span: Span,
    /// Its value when the checker knows it: a string literal or a module's string constant.
    pub text: Option<String>,
    /// For a list literal whose elements are lists or dicts: `ListLiteral`/`DictLiteral` of
    /// the first element (a rule may ask for `list[any]` of them).
    pub shape: ArgShape,
}

/// A checker extension for one native function: the types its declaration cannot say.
pub trait CallRule: Send + Sync {
    /// The type to check an argument against instead of the declared one (a list literal
    /// as `list[any]`), given the shape of its expression and, for a list literal, of its
    /// first element.
    fn expect(&self, _param: &str, _shape: ArgShape, _first: ArgShape) -> Option<Type> {
        None
    }
    /// Checks the arguments (reporting through `call.error`) and gives the call's type, or
    /// None for the declared one.
    fn check(&self, call: &mut RuleCall) -> Option<Type>;
    /// Whether the native gets, after its declared arguments, a description of each of its
    /// type parameters at the call (a string: see `crate::shape`), so that it can build values
    /// of that type: `json.decode[Config](text)`.
    fn describe_type_params(&self) -> bool {
        false
    }
}

/// A call, as a `CallRule` sees it.
pub struct RuleCall<'c> {
    /// The function as the program wrote it: `tensor.zeros`, `tensor.sum`.
    pub name: String,
    /// The receiver's type, for a method.
    pub receiver: Option<Type>,
    /// The declared parameters (after `self`), in order.
    pub args: Vec<RuleArg>,
    /// The function's own type arguments at this call, as far as they are known.
    pub type_args: Vec<Type>,
    pub span: Span,
    pub(crate) compiler: &'c mut Compiler,
}

impl RuleCall<'_> {
    /// The argument named `name` (a declared parameter).
    pub fn arg(&self, name: &str) -> &RuleArg {
        self.args.iter().find(|a| a.name == name).unwrap_or_else(|| panic!("no parameter `{name}` in the declaration of `{}`", self.name))
    }
    /// Reports an error at `span` (add a label or a hint to what this returns).
    pub fn error(&mut self, code: Code, message: impl Into<String>, span: Span) -> crate::compiler::DiagRef<'_> {
        self.compiler.error(code, message, span)
    }
    /// A type as diagnostics show it.
    pub fn show(&self, t: &Type) -> String {
        self.compiler.show(t)
    }
    /// The fields of struct type `t` (names and types, with `t`'s type arguments put in);
    /// None when `t` is not a struct.
    pub fn struct_fields(&self, t: &Type) -> Option<Vec<(String, Type)>> {
        let Type::Struct(id, targs) = self.compiler.subst.resolve(t) else { return None };
        let names = self.compiler.structs[id as usize].fields.iter().map(|(n, _)| n.clone());
        Some(names.zip(self.compiler.struct_field_types(id, &targs)).collect())
    }
}

/// A bound on a type variable of an `extend` block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bound {
    /// Values can be ordered (`sort`, `min`): int, float, str, bytes, bool, tuples and lists
    /// of those.
    Ord,
    /// Values can be dict keys or set elements.
    Hash,
    /// `Ord`, or a type parameter: generic code may order values by keys its caller gave it
    /// (their order is checked at run time).
    SortKey,
}

/// A native handle type (`db.Connection`).
#[derive(Clone, Debug)]
pub struct NativeTypeInfo {
    pub name: String,
    /// As types are shown: the module's last dotted part, a dot, the name (`db.Row`).
    pub display: String,
    pub module: usize,
    pub public: bool,
    /// Methods by name (several declarations of a name are overloads, chosen by argument
    /// count), properties included.
    pub methods: IndexMap<String, Vec<usize>>,
    /// `__len__`: `len(x)` works.
    pub len: bool,
    /// `__iter__`: `for v in x` gives this type.
    pub iter: Option<Type>,
    /// `__index__`: `x[k]` takes this key and gives this type.
    pub index: Option<(Type, Type)>,
    /// `__field__`: any other field name `x.name` reads `x["name"]` as this type.
    pub field: Option<Type>,
    /// `__next__` (a native): `for v in x` calls it until it gives none.
    pub next: Option<usize>,
}

/// An `extend` block: methods of a built-in type.
#[derive(Clone, Debug)]
pub struct ExtendInfo {
    pub module: usize,
    /// The built-in type it extends: `list`, `tensor`, ...
    pub kind: &'static str,
    /// The block's type variables: (id, bound).
    pub params: Vec<(u32, Option<Bound>)>,
    /// The type extended, with `Type::Param` for the variables.
    pub target: Type,
    pub methods: IndexMap<String, Vec<usize>>,
}

/// Where a native function's details live (its symbol, its rule).
#[derive(Clone)]
pub struct NativeFunc {
    pub symbol: Rc<str>,
    pub rule: Option<Arc<dyn CallRule>>,
    /// The last parameter takes any number of arguments.
    pub variadic: bool,
    /// A property: read as `x.name`, not called.
    pub property: bool,
    /// A protocol marker (`__len__`, `__iter__`, `__index__`, `__field__`): no native behind
    /// it, the VM reaches the object through its trait.
    pub marker: bool,
}

impl std::fmt::Debug for NativeFunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NativeFunc({})", self.symbol)
    }
}

/// The symbol of the native behind declared `name` in module `module` (as `noodle-native`
/// computes it): the module's last dotted part, a dot, the name; no prefix for the core.
pub fn native_symbol(module: &str, name: &str) -> String {
    if module == CORE {
        return name.to_string();
    }
    let prefix = module.rsplit('.').next().unwrap_or(module);
    format!("{prefix}.{name}")
}

/// The core module: the built-ins.
pub const CORE: &str = "std.core";

/// The protocol members a native type may declare.
const MARKERS: &[&str] = &["__len__", "__iter__", "__index__", "__field__"];

impl Compiler {
    /// The index of native module `name`, reading its declarations on first use; None when no
    /// module of that name is registered.
    pub(crate) fn native_module(&mut self, name: &str) -> Option<usize> {
        if let Some(&mi) = self.native_modules.get(name) {
            return Some(mi);
        }
        let decl = self.native_decls.iter().find(|m| m.name == name)?.clone();
        // declared with a function stack of its own (it may be read in the middle of a body)
        let saved_fns = std::mem::take(&mut self.fns);
        let saved_pending = std::mem::take(&mut self.pending);
        let file = self.files.len() as u32;
        let fname = format!("<{name}>");
        self.program.files.push(fname.clone());
        let (module, diags) = noodle_syntax::parse_declarations(&decl.source, file);
        self.files.push(noodle_syntax::SourceFile::new(fname, decl.source.to_string()));
        self.diags.extend(diags);
        let mi = self.modules.len();
        self.modules.push(crate::compiler::ModuleInfo { name: name.to_string(), file, dir: Default::default(), symbols: Default::default(), init: None, done: true, native: true });
        self.native_modules.insert(name.to_string(), mi);
        self.compile_declarations(mi, &module, &decl);
        self.fns = saved_fns;
        self.pending = saved_pending;
        Some(mi)
    }

    /// The core module, read on first use (None when the registry has none).
    pub(crate) fn core(&mut self) -> Option<usize> {
        if self.core.is_none() {
            self.core = self.native_module(CORE);
        }
        self.core
    }

    /// The names of the registered modules under `prefix.` (for hints).
    pub(crate) fn native_module_names(&self, prefix: &str) -> Vec<String> {
        let mut v: Vec<String> = self.native_decls.iter().map(|m| m.name.clone()).filter(|n| n.starts_with(prefix) && n != CORE).collect();
        v.sort();
        v
    }

    fn compile_declarations(&mut self, mi: usize, module: &ast::Module, decl: &NativeModule) {
        let rule = |name: &str| decl.rules.iter().find(|(n, _)| n == name).map(|(_, r)| r.clone());
        // types, structs, enums and interfaces (a declaration file may have plain Noodle types)
        // and functions with bodies; their bodies wait in `native_bodies` until the native
        // functions are declared below
        let plain: Vec<ast::Item> = module
            .items
            .iter()
            .filter(|it| match it {
                ast::Item::Import(_) | ast::Item::Struct(_) | ast::Item::Enum(_) | ast::Item::Interface(_) => true,
                ast::Item::Func(f) => f.body.is_some() || f.deferred.is_some(),
                _ => false,
            })
            .cloned()
            .collect();
        let outer = std::mem::take(&mut self.native_bodies);
        self.compile_module(mi, &ast::Module { items: plain });
        self.fns.push(self.new_fn_state("<decl>".into(), mi, 0, true));
        let mut types = Vec::new();
        for item in &module.items {
            if let ast::Item::NativeType(t) = item {
                let id = self.native_types.len() as u32;
                let prefix = decl.name.rsplit('.').next().unwrap_or(&decl.name);
                self.native_types.push(NativeTypeInfo {
                    name: t.name.name.clone(),
                    display: format!("{prefix}.{}", t.name.name),
                    module: mi,
                    public: t.public,
                    methods: IndexMap::new(),
                    len: false,
                    iter: None,
                    index: None,
                    field: None,
                    next: None,
                });
                self.define(mi, &t.name, Symbol::NativeType(id), t.public);
                types.push(id);
            }
        }
        let mut ti = 0;
        for item in &module.items {
            match item {
                ast::Item::Func(f) => {
                    if f.body.is_some() || f.deferred.is_some() {
                        continue; // written in Noodle: declared by `compile_module` above
                    }
                    let fi = self.declare_native(f, mi, None, &[], &decl.name, &f.name.name, rule(&f.name.name));
                    self.define(mi, &f.name, Symbol::Func(fi), f.public);
                }
                ast::Item::NativeType(t) => {
                    let id = types[ti];
                    ti += 1;
                    let self_ty = Type::Native(id);
                    for m in &t.methods {
                        let path = format!("{}.{}", t.name.name, m.name.name);
                        let fi = self.declare_native(m, mi, Some(self_ty.clone()), &[], &decl.name, &path, rule(&path));
                        self.native_type_member(id, m, fi);
                    }
                }
                ast::Item::Extend(e) => self.declare_extend(mi, e, decl, &rule),
                ast::Item::Stmt(s, public) => self.declare_constant(mi, s, *public),
                ast::Item::Actor(a) => {
                    self.error(N0216, "a native module declares no actors", a.name.span);
                }
                _ => {}
            }
        }
        self.fns.pop();
        for (fi, decl, self_ty) in std::mem::replace(&mut self.native_bodies, outer) {
            self.compile_func_body(fi, &decl, self_ty);
        }
    }

    /// Records a native type's member: a method (or property), or a protocol marker.
    fn native_type_member(&mut self, id: u32, m: &ast::FuncDecl, fi: usize) {
        let ret = self.funcs[fi].ret.clone();
        let t = &mut self.native_types[id as usize];
        match m.name.name.as_str() {
            "__len__" => t.len = true,
            "__iter__" => t.iter = Some(ret),
            "__index__" => t.index = Some((self.funcs[fi].params.first().map(|p| p.ty.clone()).unwrap_or(Type::Any), ret)),
            "__field__" => t.field = Some(ret),
            "__next__" => t.next = Some(fi),
            _ => t.methods.entry(m.name.name.clone()).or_default().push(fi),
        }
    }

    /// Declares one native function (or method): its signature, as `declare_func` does, but
    /// with no code of its own: calls go to `symbol`.
    #[allow(clippy::too_many_arguments)]
    fn declare_native(&mut self, f: &ast::FuncDecl, mi: usize, self_ty: Option<Type>, outer: &[(String, Type)], module: &str, path: &str, rule: Option<Arc<dyn CallRule>>) -> usize {
        let (tps, tp_ids) = self.new_type_params(outer, f);
        let saved = std::mem::replace(&mut self.f().type_params, tps);
        let mut params = Vec::with_capacity(f.params.len());
        let mut variadic = false;
        for (i, p) in f.params.iter().enumerate() {
            if f.params[..i].iter().any(|q| q.name.name == p.name.name) {
                self.error(N0101, format!("parameter `{}` is declared twice", p.name.name), p.name.span);
            }
            if p.variadic {
                if i + 1 != f.params.len() || p.default.is_some() {
                    self.error(N0216, format!("variadic parameter `{}` must come last, without a default", p.name.name), p.name.span);
                }
                variadic = true;
            }
            let ty = p.ty.as_ref().map(|t| self.resolve_type(t)).unwrap_or(Type::Unknown);
            params.push(ParamInfo { name: p.name.name.clone(), ty, default: p.default.as_ref().map(|d| Rc::new(crate::compiler::scoped_default(d, mi))) });
        }
        let ret = f.ret.as_ref().map(|t| self.resolve_type(t)).unwrap_or(Type::None);
        self.f().type_params = saved;
        let has_self = f.self_span.is_some();
        if self_ty.is_some() && !has_self {
            self.error(N0216, format!("`{}` needs `self` first: the members of a native type or an `extend` block are methods", f.name.name), f.name.span);
        }
        let qual = match &self_ty {
            Some(t) => format!("{}.{}", self.show(t), f.name.name),
            None => native_symbol(module, &f.name.name),
        };
        let marker = MARKERS.contains(&f.name.name.as_str());
        let fi = self.funcs.len();
        self.funcs.push(FuncInfo {
            name: qual,
            func: u32::MAX,
            params: Rc::new(params),
            ret,
            type_params: tp_ids,
            has_self,
            is_async: false,
            public: f.public || self_ty.is_some(),
            module: mi,
            span: f.span,
            native: Some(Rc::new(NativeFunc { symbol: native_symbol(module, path).into(), rule, variadic, property: f.property, marker })),
            self_ty: None,
            type_bindings: Vec::new(),
        });
        fi
    }

    /// `extend[T: Bound] TYPE { ... }`.
    fn declare_extend(&mut self, mi: usize, e: &ast::ExtendDecl, decl: &NativeModule, rule: &dyn Fn(&str) -> Option<Arc<dyn CallRule>>) {
        let mut tps = Vec::new();
        let mut params = Vec::new();
        for (name, bound) in &e.params {
            let id = self.next_type_param;
            self.next_type_param += 1;
            tps.push((name.name.clone(), Type::Param(id, name.name.clone())));
            let b = match bound.as_ref().map(|b| b.name.as_str()) {
                None => None,
                Some("Ord") => Some(Bound::Ord),
                Some("Hash") => Some(Bound::Hash),
                Some("SortKey") => Some(Bound::SortKey),
                Some(other) => {
                    self.error(N0102, format!("unknown bound `{other}`"), bound.as_ref().unwrap().span).hint("the bounds are `Ord`, `Hash` and `SortKey`");
                    None
                }
            };
            params.push((id, b));
        }
        let saved = std::mem::replace(&mut self.f().type_params, tps.clone());
        let target = self.resolve_type(&e.target);
        self.f().type_params = saved;
        // `extend[E] tensor[E]`: the variable is the tensor type (see `resolve_type`)
        let tensor_var = matches!(&e.target, ast::TypeExpr::Named { path, .. } if path.len() == 1 && path[0].name == "tensor") && matches!(target, Type::Param(..));
        let base = match type_kind(&target) {
            _ if tensor_var => "tensor",
            Some(kind) => kind,
            None if matches!(target, Type::Unknown) => return,
            None => {
                let shown = self.show(&target);
                self.error(N0216, format!("`extend` adds methods to a built-in type, not to `{shown}`"), e.target.span());
                return;
            }
        };
        // `list[int].sum` and `list[float].sum` are different natives; `list[T].push` is `list.push`
        let concrete = match &e.target {
            ast::TypeExpr::Named { args, .. } if !args.is_empty() && params.is_empty() => {
                let types: Vec<Type> = args.iter().map(|a| self.resolve_type_quiet(a)).collect();
                let parts: Vec<String> = types.iter().map(|t| self.show(t)).collect();
                format!("{base}[{}]", parts.join(", "))
            }
            _ => base.to_string(),
        };
        let mut methods: IndexMap<String, Vec<usize>> = IndexMap::new();
        for m in &e.methods {
            let path = format!("{concrete}.{}", m.name.name);
            let fi = self.declare_native(m, mi, Some(target.clone()), &tps, &decl.name, &path, rule(&path));
            methods.entry(m.name.name.clone()).or_default().push(fi);
        }
        self.extends.push(ExtendInfo { module: mi, kind: base, params, target, methods });
    }

    /// `pub let NAME: T = VALUE` in declarations: a constant, folded now.
    fn declare_constant(&mut self, mi: usize, s: &ast::Stmt, public: bool) {
        let ast::Stmt::Let { mutable: false, pat, ty, value, span } = s else {
            self.error(N0216, "a native module's top level holds declarations and `let` constants only", stmt_span(s));
            return;
        };
        let ast::PatKind::Bind(name) = &pat.kind else {
            self.error(N0216, "a constant needs a plain name", *span);
            return;
        };
        let (c, t) = match self.typed_const(mi, name, ty.as_deref(), value) {
            Ok(kt) => kt,
            Err((why, span)) => {
                self.error(N0216, format!("the value of constant `{name}` must be computable while compiling: {why}"), span);
                return;
            }
        };
        let id = Ident { name: name.clone(), span: pat.span };
        self.define(mi, &id, Symbol::Const(Rc::new((c, t))), public);
    }

    /// The methods of built-in type `t` named `name`, from the `extend` blocks of loaded
    /// modules whose target `t` fits (and whose bounds it meets), with the block's type
    /// variables as `t` fills them.
    pub(crate) fn extend_methods(&mut self, t: &Type, name: &str) -> Vec<(usize, Vec<(u32, Type)>)> {
        self.load_extenders(t);
        let mut out = Vec::new();
        let kind = type_kind(t);
        for e in &self.extends {
            if Some(e.kind) != kind {
                continue;
            }
            let Some(fis) = e.methods.get(name) else { continue };
            let mut binds = Vec::new();
            if !match_type(&e.target, t, &mut binds) {
                continue;
            }
            let meets = e.params.iter().all(|(id, b)| match (b, binds.iter().find(|(i, _)| i == id)) {
                (None, _) => true,
                (Some(Bound::Ord), Some((_, bt))) => self.orderable(bt),
                (Some(Bound::Hash), Some((_, bt))) => crate::builtins::hashable(bt),
                (Some(Bound::SortKey), Some((_, bt))) => self.orderable(bt) || matches!(bt, Type::Param(..)),
                (Some(_), None) => true,
            });
            if meets {
                out.extend(fis.iter().map(|fi| (*fi, binds.clone())));
            }
        }
        out
    }

    /// Every method name some `extend` block gives values of `t`'s kind (for hints).
    pub(crate) fn extend_method_names(&mut self, t: &Type) -> Vec<String> {
        self.load_extenders(t);
        let mut names = Vec::new();
        let kind = type_kind(t);
        for e in &self.extends {
            if Some(e.kind) == kind {
                names.extend(e.methods.keys().cloned());
            }
        }
        names
    }

    /// The module that extends a built-in type is read when a value of that type first needs
    /// a method: tensors' methods live in `std.tensor`, tasks' in `std.actor`.
    fn load_extenders(&mut self, t: &Type) {
        let module = match t {
            Type::Tensor(_) => "std.tensor",
            Type::Task(_) => "std.actor",
            _ => {
                self.core();
                return;
            }
        };
        if !self.native_modules.contains_key(module) {
            self.native_module(module);
        }
    }

    /// A call of native function `fi`: the arguments are bound to the declared parameters
    /// (positional, named, defaults, variadic), compiled against their types (or what the
    /// function's rule asks), checked by the rule, and passed to `CallNative`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn call_native_func(&mut self, fi: usize, recv: Option<(Reg, Type)>, binds: &[(u32, Type)], args: &[Arg], dst: Option<Reg>, span: Span, expected: Option<&Type>) -> (Reg, Type) {
        let info = self.funcs[fi].clone();
        let native = info.native.clone().expect("a native function");
        let mut inst: Vec<(u32, Type)> = binds.to_vec();
        for &tp in &info.type_params {
            if !inst.iter().any(|(id, _)| *id == tp) {
                inst.push((tp, self.subst.fresh()));
            }
        }
        let params: Vec<ParamInfo> = info.params.iter().map(|p| ParamInfo { ty: crate::expr::instantiate(&p.ty, &inst), ..p.clone() }).collect();
        let ret = crate::expr::instantiate(&info.ret, &inst);
        if let Some(exp) = expected {
            if self.subst.has_vars(&ret) {
                self.subst.unify(&ret, exp);
            }
        }
        let short = info.name.rsplit('.').next().unwrap_or(&info.name).to_string();
        let shown_name = match &recv {
            Some((_, t)) => format!("{}.{short}", self.show(t)),
            None => info.name.clone(),
        };
        // a built-in type's method given the wrong number of arguments: said as `str.upper`
        if let Some((_, rt)) = &recv {
            if matches!(type_kind(rt), Some("str" | "bytes" | "list" | "dict" | "set")) && args.iter().all(|a| a.name.is_none()) {
                let required = params.iter().filter(|p| p.default.is_none()).count();
                if args.len() < required || args.len() > params.len() {
                    let shown = self.show(rt);
                    if self.subst.has_vars(rt) {
                        // `any([])`: which overload is meant depends on the element type
                        self.error(noodle_syntax::codes::N0208, format!("cannot infer the type of this `{shown}`, so which `{short}` is meant is unknown"), span)
                            .hint("give the value a type first, e.g. `let flags: list[bool] = []`");
                        for a in args {
                            self.expr(&a.value, None, None);
                        }
                        return (self.dst(dst), Type::Unknown);
                    }
                    let expect = if required == params.len() { format!("{required}") } else { format!("{required} to {}", params.len()) };
                    let s = if params.len() == 1 { "" } else { "s" };
                    self.error(N0201, format!("`{shown}.{short}` takes {expect} argument{s} but {} were given", args.len()), span);
                    for a in args {
                        self.expr(&a.value, None, None);
                    }
                    return (self.dst(dst), Type::Unknown);
                }
            }
        }
        // which parameters the call gives, and with what
        let fixed = if native.variadic { params.len() - 1 } else { params.len() };
        let (slots, rest): (Vec<Option<Cow<'_, Expr>>>, Vec<&Expr>) = if native.variadic {
            for a in args {
                if let Some(n) = &a.name {
                    self.error(N0202, format!("`{short}` takes no named arguments"), n.span);
                }
            }
            let positional: Vec<&Arg> = args.iter().filter(|a| a.name.is_none()).collect();
            if positional.len() < fixed {
                self.error(N0201, format!("`{short}` takes at least {fixed} argument{} but {} were given", if fixed == 1 { "" } else { "s" }, positional.len()), span);
            }
            let slots = (0..fixed).map(|i| positional.get(i).map(|a| Cow::Borrowed(&a.value))).collect();
            (slots, positional.iter().skip(fixed).map(|a| &a.value).collect())
        } else {
            (self.bind_args(&short, &params, args, span), Vec::new())
        };
        let given: Vec<bool> = (0..fixed)
            .map(|i| {
                let p = &params[i];
                args.iter().enumerate().any(|(j, a)| match &a.name {
                    Some(n) => n.name == p.name,
                    None => j == i,
                })
            })
            .collect();
        let nrecv = recv.is_some() as usize;
        // a rule that asks for its type parameters' descriptions gets one more argument each
        let described: Vec<u32> = if native.rule.as_ref().is_some_and(|r| r.describe_type_params()) { info.type_params.clone() } else { Vec::new() };
        let argc = nrecv + fixed + rest.len() + described.len();
        let base = self.b().alloc(argc as u32 + 1);
        if let Some((r, _)) = &recv {
            self.emit(Op::Move { dst: base + 1, src: *r });
        }
        let mut rule_args = Vec::new();
        for (i, p) in params.iter().take(fixed).enumerate() {
            let reg = base + 1 + (nrecv + i) as u16;
            let Some(e) = &slots[i] else {
                self.emit(Op::LoadNone { dst: reg });
                rule_args.push(RuleArg { name: p.name.clone(), given: false, ty: Type::Unknown, span, text: None, shape: ArgShape::Other });
                continue;
            };
            let (shape, first) = arg_shape(e);
            let want = native.rule.as_ref().and_then(|r| r.expect(&p.name, shape, first)).unwrap_or_else(|| p.ty.clone());
            let ty = if matches!(self.subst.resolve(&want), Type::Any) {
                // a literal given for `any` is a `list[any]` (`dict`, `set`), unless a rule
                // looks at its own type; anything else keeps its own type
                let hint = if native.rule.is_none() { crate::expr::literal_any(e) } else { None };
                let (_, t) = self.expr(e, Some(reg), hint);
                self.subst.resolve(&t)
            } else {
                self.expr_coerce(e, Some(reg), &want);
                self.subst.resolve(&want)
            };
            let text = self.static_text(e);
            rule_args.push(RuleArg { name: p.name.clone(), given: given[i], ty, span: e.span, text, shape: first });
        }
        if native.variadic {
            let p = params.last().unwrap();
            for (k, e) in rest.iter().enumerate() {
                let reg = base + 1 + (nrecv + fixed + k) as u16;
                if matches!(self.subst.resolve(&p.ty), Type::Any) {
                    self.expr(e, Some(reg), crate::expr::literal_any(e));
                } else {
                    self.expr_coerce(e, Some(reg), &p.ty);
                }
            }
        }
        let mut ret = self.subst.resolve(&ret);
        if let Some(rule) = native.rule.clone() {
            let receiver = recv.as_ref().map(|(_, t)| t.clone());
            let type_args = info.type_params.iter().map(|tp| inst.iter().find(|(id, _)| id == tp).map_or(Type::Unknown, |(_, t)| self.subst.resolve(t))).collect();
            let mut call = RuleCall { name: shown_name, receiver, args: rule_args, type_args, span, compiler: self };
            if let Some(t) = rule.check(&mut call) {
                ret = t;
            }
        }
        for (k, tp) in described.iter().enumerate() {
            let reg = base + 1 + (argc - described.len() + k) as u16;
            let var = inst.iter().find(|(id, _)| id == tp).map(|(_, t)| t.clone()).unwrap_or(Type::Unknown);
            let t = self.subst.resolve(&var);
            if !self.describe_type_arg(&t, &info.name, reg, span) {
                // reported once: what the call gives is unknown from here on
                self.subst.unify(&var, &Type::Unknown);
                ret = self.subst.resolve(&ret);
            }
        }
        // a store through `list[any]` (and the like) may be into a cast's view of a typed list
        if let Some((_, rt)) = &recv {
            if matches!(&*native.symbol, "list.push" | "list.insert" | "list.extend" | "set.add") {
                self.check_dynamic(base + 1, rt);
            }
        }
        let n = self.native(&native.symbol);
        self.emit(Op::CallNative { base, native: n, argc: argc as u8 });
        // a native declared to return a list, set or dict makes a new one (one declared to
        // return `T` may return an element, which may be a cast's view of a typed list)
        if matches!(info.ret, Type::List(_) | Type::Set(_) | Type::Dict(..)) {
            self.mark_if_dynamic(base, &ret);
        }
        (self.to_dst(base, dst), ret)
    }

    /// A method of a built-in type (from `extend` blocks) or of a native type, chosen among
    /// its overloads by the number of arguments. None when the type has no method `name`.
    pub(crate) fn pick_overload(&mut self, cands: &[(usize, Vec<(u32, Type)>)], nargs: usize) -> Option<(usize, Vec<(u32, Type)>)> {
        let fits = |c: &Compiler, fi: usize| {
            let f = &c.funcs[fi];
            let n = f.params.len();
            let variadic = f.native.as_ref().is_some_and(|n| n.variadic);
            let required = f.params.iter().filter(|p| p.default.is_none()).count() - variadic as usize;
            nargs >= required && (variadic || nargs <= n)
        };
        cands.iter().find(|(fi, _)| fits(self, *fi)).or(cands.first()).cloned()
    }

    /// `x.name(args)` where `x` has native type `id`.
    pub(crate) fn native_type_method(&mut self, r: Reg, id: u32, name: &Ident, args: &[Arg], dst: Option<Reg>, span: Span) -> (Reg, Type) {
        let info = self.native_types[id as usize].clone();
        if name.name == "len" && info.len && args.is_empty() && !info.methods.contains_key("len") {
            let d = self.dst(dst);
            self.emit(Op::Len { dst: d, src: r });
            return (d, Type::Int);
        }
        let cands: Vec<(usize, Vec<(u32, Type)>)> = info.methods.get(&name.name).map(|v| v.iter().map(|fi| (*fi, vec![])).collect()).unwrap_or_default();
        let cands: Vec<_> = cands.into_iter().filter(|(fi, _)| !self.funcs[*fi].native.as_ref().is_some_and(|n| n.property)).collect();
        match self.pick_overload(&cands, args.len()) {
            Some((fi, binds)) => {
                if name.name == "len" && info.len {
                    // `x.len()` is `len(x)`, through the object
                    let d = self.dst(dst);
                    self.emit(Op::Len { dst: d, src: r });
                    return (d, Type::Int);
                }
                self.call_native_func(fi, Some((r, Type::Native(id))), &binds, args, dst, span, None)
            }
            None => {
                let mut d = Diagnostic::error(N0106, format!("`{}` has no method `{}`", info.display, name.name), name.span).label("unknown method");
                let names: Vec<&str> = info.methods.keys().map(|s| s.as_str()).collect();
                if let Some(s) = crate::compiler::suggest(&name.name, &names) {
                    d = d.hint(format!("did you mean `{s}`?"));
                } else if info.field.is_some() {
                    d = d.hint(format!("a {}'s columns are read as fields (`x.{}`) or by name (`x[\"{}\"]`), not called", info.name.to_lowercase(), name.name, name.name));
                }
                self.diags.push(d);
                for a in args {
                    self.expr(&a.value, None, None);
                }
                (self.dst(dst), Type::Unknown)
            }
        }
    }

    /// `x.name` on a value of a built-in or native type: a declared property, or (for a native
    /// type with `__field__`) the value under key `"name"`. None when there is neither.
    pub(crate) fn native_field(&mut self, r: Reg, t: &Type, name: &Ident, d: Reg) -> Option<Type> {
        let props: Vec<(usize, Vec<(u32, Type)>)> = match t {
            Type::Native(id) => self.native_types[*id as usize].methods.get(&name.name).map(|v| v.iter().map(|fi| (*fi, vec![])).collect()).unwrap_or_default(),
            _ => self.extend_methods(t, &name.name),
        };
        if let Some((fi, binds)) = props.into_iter().find(|(fi, _)| self.funcs[*fi].native.as_ref().is_some_and(|n| n.property)) {
            let (res, ty) = self.call_native_func(fi, Some((r, t.clone())), &binds, &[], Some(d), name.span, None);
            debug_assert_eq!(res, d);
            return Some(ty);
        }
        if let Type::Native(id) = t {
            let info = self.native_types[*id as usize].clone();
            if let Some(ft) = info.field {
                if !info.methods.contains_key(&name.name) {
                    let key = self.b().temp();
                    self.load_const(Const::Str(name.name.clone()), Some(key));
                    self.emit(Op::IndexGet { dst: d, obj: r, key });
                    return Some(ft);
                }
            }
            let mut dg = Diagnostic::error(N0106, format!("`{}` has no field `{}`", info.display, name.name), name.span);
            if info.methods.contains_key(&name.name) || (name.name == "len" && info.len) {
                dg = dg.hint(format!("`{}` is a method: call it with `()`", name.name));
            }
            self.diags.push(dg);
            return Some(Type::Unknown);
        }
        None
    }

    /// The value of a string argument when the checker knows it: a literal, or a native
    /// module's string constant (`tensor.f32`, or `f32` imported from it).
    pub(crate) fn static_text(&mut self, e: &Expr) -> Option<String> {
        let c = match &e.kind {
            ExprKind::Str(s) => return Some(s.clone()),
            ExprKind::Field { target, name, optional: false } => match &target.kind {
                ExprKind::Name(m) => match self.resolve(m) {
                    NameRes::Module(mi) => match self.modules[mi].symbols.get(&name.name) {
                        Some((Symbol::Const(c), _)) => c.clone(),
                        _ => return None,
                    },
                    _ => return None,
                },
                _ => return None,
            },
            ExprKind::Name(n) => match self.resolve(n) {
                NameRes::Const(c) => c,
                _ => return None,
            },
            _ => return None,
        };
        match &c.0 {
            Const::Str(s) => Some(s.clone()),
            _ => None,
        }
    }

    /// `mod.name` where `mod` is a native module and `name` a constant or a function (which is
    /// not a value: it has no code of its own).
    pub(crate) fn native_item_value(&mut self, mi: usize, name: &Ident, dst: Option<Reg>) -> Option<(Reg, Type)> {
        if !self.modules[mi].native {
            return None;
        }
        match self.modules[mi].symbols.get(&name.name).cloned() {
            Some((Symbol::Const(c), _)) => Some((self.load_constant(&c, dst), c.1.clone())),
            Some((Symbol::Func(_), _)) => {
                self.error(N0200, format!("`{}` is a native function and cannot be used as a value", name.name), name.span).hint(format!("wrap it in a lambda: `fn (x) => {}(x)`", name.name));
                Some((self.dst(dst), Type::Unknown))
            }
            None => {
                self.no_item(mi, name);
                Some((self.dst(dst), Type::Unknown))
            }
            _ => None,
        }
    }
}

/// Whether `pattern` (a type with `Param`s) fits `t`, binding the params.
fn match_type(pattern: &Type, t: &Type, binds: &mut Vec<(u32, Type)>) -> bool {
    match (pattern, t) {
        (Type::Param(id, _), t) => match binds.iter().find(|(i, _)| i == id) {
            Some((_, b)) => b == t,
            None => {
                binds.push((*id, t.clone()));
                true
            }
        },
        (Type::List(p), Type::List(x)) | (Type::Set(p), Type::Set(x)) | (Type::Task(p), Type::Task(x)) => match_type(p, x, binds),
        (Type::Dict(pk, pv), Type::Dict(k, v)) => match_type(pk, k, binds) && match_type(pv, v, binds),
        (p, t) => p == t,
    }
}

/// Which built-in type `t` is, as `extend` blocks name it.
fn type_kind(t: &Type) -> Option<&'static str> {
    Some(match t {
        Type::Str => "str",
        Type::Bytes => "bytes",
        Type::List(_) => "list",
        Type::Dict(..) => "dict",
        Type::Set(_) => "set",
        Type::Tensor(_) => "tensor",
        Type::Task(_) => "task",
        _ => return None,
    })
}

fn arg_shape(e: &Expr) -> (ArgShape, ArgShape) {
    let shape = |e: &Expr| match &e.kind {
        ExprKind::List(_) => ArgShape::ListLiteral,
        ExprKind::Dict(_) => ArgShape::DictLiteral,
        _ => ArgShape::Other,
    };
    let first = match &e.kind {
        ExprKind::List(items) => items.first().map(shape).unwrap_or(ArgShape::Other),
        _ => ArgShape::Other,
    };
    (shape(e), first)
}

fn stmt_span(s: &ast::Stmt) -> Span {
    match s {
        ast::Stmt::Let { span, .. } => *span,
        ast::Stmt::Expr(e) => e.span,
        _ => Span::default(),
    }
}

/// The element type a dtype name stands for (for rules: `"f32"` is `TE::F32`).
pub fn dtype(name: &str) -> Option<TE> {
    TE::from_name(name)
}

impl Compiler {
    /// The native symbols module `name` declares (every bodiless function and method but the
    /// protocol markers), after reading its declarations; or the diagnostics they have. For
    /// checking that a module implements what it declares, and nothing else.
    pub fn declared_natives(&mut self, name: &str) -> Result<Vec<String>, Vec<Diagnostic>> {
        let before = self.diags.len();
        let Some(mi) = self.native_module(name) else {
            return Err(vec![Diagnostic::error(crate::codes::N0103, format!("no native module `{name}` is registered"), Span::default())]);
        };
        if self.diags.len() > before {
            return Err(self.diags.split_off(before));
        }
        let mut out: Vec<String> = self.funcs.iter().filter(|f| f.module == mi).filter_map(|f| f.native.as_ref()).filter(|n| !n.marker).map(|n| n.symbol.to_string()).collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The source files read so far, to render diagnostics against.
    pub fn source_files(&self) -> &[noodle_syntax::SourceFile] {
        &self.files
    }
}
