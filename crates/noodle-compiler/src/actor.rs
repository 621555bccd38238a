//! Actors in the checker.
//!
//! `actor Counter { ... }` is desugared before declarations are registered:
//! - its state becomes a struct `CounterState` (the fields, the methods and the handlers as
//!   methods), reachable only through `self` in its own methods;
//! - three functions are generated as Noodle source in a file of their own (`<actor Counter>`):
//!   `Counter__new(args) -> CounterState` (builds the state and runs `init`),
//!   `Counter__receive(s, m: any) -> any` (calls the handler for the message's type) and, when
//!   the actor has `on_stop`, `Counter__stop(s)`;
//! - the name `Counter` becomes the type of references to such actors.
//!
//! `spawn Counter(args)` checks the arguments against `Counter__new` and calls the native
//! `actor.spawn` with the three functions; `ref.send(m)` / `ref.ask(m)` check that some handler
//! takes `m`'s type, so an unhandled message is a compile-time error (N0246).

use crate::codes::{N0101, N0106, N0201, N0242, N0243, N0244, N0245, N0246};
use crate::builder::Reg;
use crate::compiler::{Compiler, NameRes, Symbol};
use crate::args::{D, K, P};
use crate::types::Type;
use noodle_nbc::{Const, Op};
use noodle_syntax::ast::{self, Arg, Expr, ExprKind, Ident, Item};
use noodle_syntax::{Diagnostic, SourceFile, Span};

/// The type id of `actor.Supervisor` (not an index into `actors`).
pub const SUPERVISOR: u32 = u32::MAX;


#[derive(Clone, Debug)]
pub struct ActorInfo {
    pub name: String,
    pub module: usize,
    /// The state struct's name (`CounterState`).
    pub state: String,
    /// Handler method names, in declaration order.
    pub handlers: Vec<String>,
    pub has_stop: bool,
    pub span: Span,
}

const SPAWN_OPTIONS: &[&str] = &["name", "capacity", "overflow", "supervisor", "restart", "link", "max_heap", "max_cpu", "max_depth"];

impl Compiler {
    /// Replaces each `actor` item by its state struct and generated functions.
    pub(crate) fn desugar_actors(&mut self, mi: usize, module: ast::Module) -> ast::Module {
        if !module.items.iter().any(|i| matches!(i, Item::Actor(_))) {
            return module;
        }
        let src_file = self.modules[mi].file as usize;
        let mut items = Vec::with_capacity(module.items.len() + 4);
        for item in module.items {
            let Item::Actor(a) = item else {
                items.push(item);
                continue;
            };
            let text = self.files[src_file].text.clone();
            let slice = |s: Span| text.get(s.start as usize..s.end as usize).unwrap_or("").to_string();
            let name = a.name.name.clone();
            // A session keeps its actors running with the code they were spawned with, and a
            // reference's type names the declaration: a second `Counter` would give old
            // references the new handlers' types.
            if self.repl_module == Some(mi) && matches!(self.modules[mi].symbols.get(&name), Some((Symbol::Actor(_), _))) {
                self.error(N0101, format!("actor `{name}` is already declared in this session"), a.name.span)
                    .hint("actors spawned from it may still be running with its code; declare the new one under another name");
                continue;
            }
            let state = format!("{name}State");
            let mut ok = true;
            let mut handler_names = Vec::new();
            let mut dispatch = String::new();
            for h in &a.handlers {
                let msg_ty = match (&h.self_span, h.params.as_slice()) {
                    (Some(_), [p]) if p.ty.is_some() && p.default.is_none() => slice(p.ty.as_ref().unwrap().span()),
                    _ => {
                        self.error(N0242, format!("handler `{}` must take `self` and one message: `on {}(self, msg: Type)`", h.name.name, h.name.name), h.name.span)
                            .hint("a handler receives one message; put several values in a struct or an enum variant");
                        ok = false;
                        continue;
                    }
                };
                // messages are told apart by their type when the program runs, so it must be one
                // a value can be tested for (as `is` needs)
                let testable = match h.params[0].ty.as_ref() {
                    // `any` matches every value: it could not be told apart from the others
                    Some(ast::TypeExpr::Named { path, args, .. }) if args.is_empty() => !(path.len() == 1 && path[0].name == "any"),
                    Some(ast::TypeExpr::Named { path, args, .. }) => {
                        path.len() == 1 && matches!(path[0].name.as_str(), "list" | "set" | "dict") && args.iter().all(|t| matches!(t, ast::TypeExpr::Named { path, args, .. } if args.is_empty() && path.len() == 1 && path[0].name == "any"))
                    }
                    _ => false,
                };
                if !testable {
                    let ty_span = h.params[0].ty.as_ref().unwrap().span();
                    self.error(N0242, format!("handler `{}` takes `{msg_ty}`, which messages cannot be told apart by", h.name.name), ty_span)
                        .label("not a type a message can be dispatched on")
                        .hint(format!("a handler's message is a struct, an enum, int, float, bool, str, bytes, or `list[any]`/`dict[any, any]`/`set[any]`; wrap this one in a struct: `struct {} {{ value: {msg_ty} }}`", capitalise(&h.name.name)));
                    // the actor is still declared, without this handler
                    continue;
                }
                if a.methods.iter().any(|m| m.name.name == h.name.name) || handler_names.contains(&h.name.name) {
                    self.error(N0101, format!("`{}` is defined more than once in actor `{name}`", h.name.name), h.name.span);
                    ok = false;
                    continue;
                }
                handler_names.push(h.name.name.clone());
                if h.ret.is_some() {
                    dispatch.push_str(&format!("    if m is {msg_ty} {{ return s.{}(m as {msg_ty}) }}\n", h.name.name));
                } else {
                    dispatch.push_str(&format!("    if m is {msg_ty} {{\n        s.{}(m as {msg_ty})\n        return none\n    }}\n", h.name.name));
                }
            }
            let init = a.methods.iter().find(|m| m.name.name == "init");
            let on_stop = a.methods.iter().find(|m| m.name.name == "on_stop");
            if let Some(st) = on_stop {
                if st.self_span.is_none() || !st.params.is_empty() {
                    self.error(N0242, "`on_stop` must take only `self`: `def on_stop(self) { ... }`", st.name.span);
                    ok = false;
                }
            }
            let (params, construct) = match init {
                Some(f) => {
                    if f.self_span.is_none() {
                        self.error(N0242, "`init` must take `self` first: `def init(self, ...) { ... }`", f.name.span);
                        ok = false;
                    }
                    if let Some(field) = a.fields.iter().find(|f| f.default.is_none()) {
                        self.error(N0242, format!("state field `{}` needs a default value because actor `{name}` has `init`", field.name.name), field.name.span)
                            .hint(format!("write `{}: ... = <value>` and set it in `init`", field.name.name));
                        ok = false;
                    }
                    // a parameter written as a pattern is passed on under a plain name; `init`
                    // takes it apart
                    let ps: Vec<String> = f
                        .params
                        .iter()
                        .enumerate()
                        .map(|(i, p)| match (&p.pattern, &p.ty) {
                            (Some(_), Some(t)) => format!("__arg{i}: {}", slice(t.span().to(p.default.as_ref().map_or(t.span(), |d| d.span)))),
                            _ => slice(p.name.span.to(p.default.as_ref().map(|d| d.span).or(p.ty.as_ref().map(|t| t.span())).unwrap_or(p.name.span))),
                        })
                        .collect();
                    let names: Vec<String> = f.params.iter().enumerate().map(|(i, p)| if p.pattern.is_some() { format!("__arg{i}") } else { p.name.name.clone() }).collect();
                    (ps.join(", "), format!("    let s = {state}()\n    s.init({})\n    return s\n", names.join(", ")))
                }
                None => {
                    let req: Vec<&ast::FieldDecl> = a.fields.iter().filter(|f| f.default.is_none()).collect();
                    let ps: Vec<String> = req.iter().map(|f| format!("{}: {}", f.name.name, slice(f.ty.span()))).collect();
                    let named: Vec<String> = req.iter().map(|f| format!("{0}: {0}", f.name.name)).collect();
                    (ps.join(", "), format!("    return {state}({})\n", named.join(", ")))
                }
            };
            if !ok {
                continue;
            }
            let mut gen = format!("def {name}__new({params}) -> {state} {{\n{construct}}}\n\ndef {name}__receive(s: {state}, m: any) -> any {{\n{dispatch}    return none\n}}\n");
            if on_stop.is_some() {
                gen.push_str(&format!("\ndef {name}__stop(s: {state}) {{\n    s.on_stop()\n}}\n"));
            }
            // the generated code gets a file of its own, so its spans are valid
            let file = self.files.len() as u32;
            self.generated_files.push(file);
            self.program.files.push(format!("<actor {name}>"));
            self.files.push(SourceFile::new(format!("<actor {name}>"), gen.clone()));
            let (generated, diags) = noodle_syntax::parse(&gen, file);
            self.diags.extend(diags);
            let mut methods = a.methods.clone();
            methods.extend(a.handlers.iter().cloned());
            items.push(Item::Struct(ast::StructDecl { public: a.public, name: Ident { name: state.clone(), span: a.name.span }, type_params: vec![], implements: vec![], fields: a.fields.clone(), methods, span: a.span }));
            for g in generated.items {
                if let Item::Func(mut f) = g {
                    f.public = a.public;
                    items.push(Item::Func(f));
                }
            }
            let id = self.actors.len() as u32;
            self.actors.push(ActorInfo { name: name.clone(), module: mi, state, handlers: handler_names, has_stop: on_stop.is_some(), span: a.span });
            self.define(mi, &a.name, Symbol::Actor(id), a.public);
        }
        ast::Module { items }
    }

    /// A generated function of actor `id` (`new`, `receive`, `stop`), as (function index, VM id).
    fn actor_fn(&self, id: u32, what: &str) -> Option<(usize, u32)> {
        let a = &self.actors[id as usize];
        match self.modules[a.module].symbols.get(&format!("{}__{what}", a.name)) {
            Some((Symbol::Func(f), _)) => Some((*f, self.funcs[*f].func)),
            _ => None,
        }
    }

    /// The state struct of actor `id`.
    pub(crate) fn state_struct(&self, id: u32) -> Option<u32> {
        let a = &self.actors[id as usize];
        match self.modules[a.module].symbols.get(&a.state) {
            Some((Symbol::Struct(sid), _)) => Some(*sid),
            _ => None,
        }
    }

    /// Each handler's (message type, reply type).
    fn handler_types(&self, id: u32) -> Vec<(String, Type, Type)> {
        let Some(sid) = self.state_struct(id) else { return vec![] };
        let s = &self.structs[sid as usize];
        self.actors[id as usize]
            .handlers
            .iter()
            .filter_map(|h| {
                let f = &self.funcs[*s.methods.get(h)?];
                Some((h.clone(), f.params.first()?.ty.clone(), f.ret.clone()))
            })
            .collect()
    }

    /// `spawn [(options)] Actor(args)`.
    pub(crate) fn spawn(&mut self, options: &[Arg], call: &Expr, dst: Option<Reg>, span: Span) -> (Reg, Type) {
        let ExprKind::Call { callee, args } = &call.kind else { unreachable!("the parser only makes spawn of a call") };
        // `spawn f(...)`, `spawn Counter(...)`, and `spawn mod.f(...)` or `spawn mod.Counter(...)`
        // for a public function or actor of an imported module
        let target = match &callee.kind {
            ExprKind::Name(n) => Some(self.resolve(n)),
            ExprKind::Field { target: m, name, optional: false } => match self.public_module_item(m, &name.name) {
                Some(crate::compiler::Symbol::Func(fi)) => Some(NameRes::Func(fi)),
                Some(crate::compiler::Symbol::Actor(a)) => Some(NameRes::Actor(a)),
                _ => None,
            },
            _ => None,
        };
        let id = match target {
            Some(NameRes::Actor(id)) => Some(id),
            Some(NameRes::Func(fi)) if !self.funcs[fi].has_self => {
                // `spawn f(args)`: the call runs as a task
                if let Some(o) = options.first() {
                    self.error(N0243, "spawn options apply to actors, not to tasks", o.value.span).hint("write `spawn f(...)` without options");
                }
                return self.call_func(fi, None, args, dst, span, None, true);
            }
            _ => None,
        };
        let Some(id) = id else {
            let method = matches!(&callee.kind, ExprKind::Field { .. }) && target.is_none();
            let d = self
                .error(N0243, "`spawn` starts an actor or a task: `spawn Counter(...)` where `Counter` is declared with `actor`, or `spawn f(...)` for a function `f`", callee.span)
                .label("not an actor or a function");
            if method {
                d.hint("a method call cannot run as a task: call it from a top-level function, and spawn that");
            }
            for a in args.iter().chain(options) {
                self.expr(&a.value, None, None);
            }
            return (self.dst(dst), Type::Unknown);
        };
        let (Some((new_fi, new_f)), Some((_, recv_f))) = (self.actor_fn(id, "new"), self.actor_fn(id, "receive")) else {
            return (self.dst(dst), Type::Unknown);
        };
        let stop_f = self.actor_fn(id, "stop").map(|(_, f)| f);
        let ty = self.state_struct(id).map_or(0, |sid| self.structs[sid as usize].record);
        // native arguments: new, receive, stop, ty, args, name, capacity, overflow, supervisor, restart, link, max_heap, max_cpu, max_depth
        let base = self.b().alloc(15);
        self.emit(Op::LoadFunc { dst: base + 1, func: new_f });
        self.emit(Op::LoadFunc { dst: base + 2, func: recv_f });
        match stop_f {
            Some(f) => self.emit(Op::LoadFunc { dst: base + 3, func: f }),
            None => self.emit(Op::LoadNone { dst: base + 3 }),
        };
        self.load_const(Const::Int(ty as i64), Some(base + 4));
        // the initialiser's arguments, checked like a call to it, collected in a list
        let info = self.funcs[new_fi].clone();
        let aname = self.actors[id as usize].name.clone();
        let slots = self.bind_args(&aname, &info.params, args, span);
        let abase = self.b().alloc(info.params.len() as u32 + 1);
        self.store_args(&slots, &info.params, abase);
        self.emit(Op::NewList { dst: base + 5, base: abase, count: info.params.len() as u16 });
        // options
        let mut given: [Option<&Expr>; 9] = [None; 9];
        for o in options {
            let n = o.name.as_ref().expect("the parser requires named spawn options");
            match SPAWN_OPTIONS.iter().position(|x| *x == n.name) {
                Some(i) if given[i].is_none() => given[i] = Some(&o.value),
                Some(_) => {
                    self.error(N0201, format!("spawn option `{}` is given twice", n.name), n.span);
                }
                None => {
                    let mut d = Diagnostic::error(N0243, format!("unknown spawn option `{}`", n.name), n.span).label("not an option");
                    d = d.hint(format!("the options are {}", SPAWN_OPTIONS.join(", ")));
                    if let Some(s) = crate::compiler::suggest(&n.name, SPAWN_OPTIONS) {
                        d = d.hint(format!("did you mean `{s}`?"));
                    }
                    self.diags.push(d);
                    self.expr(&o.value, None, None);
                }
            }
        }
        let opt = |c: &mut Compiler, i: usize, reg: Reg, ty: &Type, default: Const| match given[i] {
            Some(e) => {
                c.expr_coerce(e, Some(reg), ty);
            }
            None => {
                c.load_const(default, Some(reg));
            }
        };
        self.opt_arg(given[0], base + 6, &Type::optional(Type::Str));
        opt(self, 1, base + 7, &Type::Int, Const::Int(1000));
        self.check_range(given[1], 1.0, f64::INFINITY, "a mailbox capacity must be at least 1");
        self.check_range(given[6], 1.0, f64::INFINITY, "max_heap must be a positive number of bytes");
        self.check_range(given[7], f64::MIN_POSITIVE, 1e9, "max_cpu must be a number of seconds, more than 0 and at most 1e9");
        self.check_range(given[8], 1.0, 10_000.0, "max_depth must be a number of calls from 1 to 10000");
        self.check_choice(given[2], &["block", "fail", "drop_oldest"], "overflow policy");
        opt(self, 2, base + 8, &Type::Str, Const::Str("block".into()));
        self.opt_arg(given[3], base + 9, &Type::optional(Type::Actor(SUPERVISOR)));
        self.check_choice(given[4], &["permanent", "transient", "temporary"], "restart policy");
        opt(self, 4, base + 10, &Type::Str, Const::Str("permanent".into()));
        match given[5] {
            Some(e) => {
                self.expr_coerce(e, Some(base + 11), &Type::Bool);
            }
            None => {
                self.emit(Op::LoadFalse { dst: base + 11 });
            }
        }
        self.opt_arg(given[6], base + 12, &Type::optional(Type::Int));
        self.opt_arg(given[7], base + 13, &Type::optional(Type::Float));
        self.opt_arg(given[8], base + 14, &Type::optional(Type::Int));
        (self.emit_native("actor.__spawn", base, 14, dst), Type::Actor(id))
    }

    /// An optional argument: compiled against `ty` into `reg`, or none when it is absent.
    fn opt_arg(&mut self, e: Option<&Expr>, reg: Reg, ty: &Type) {
        match e {
            Some(e) => {
                self.expr_coerce(e, Some(reg), ty);
            }
            None => {
                self.emit(Op::LoadNone { dst: reg });
            }
        }
    }

    /// A number option whose literal value is checked here (other values at run time, with
    /// the same message).
    fn check_range(&mut self, e: Option<&Expr>, lo: f64, hi: f64, what: &str) {
        let Some(e) = e else { return };
        let value = match &e.kind {
            ExprKind::Int(n) => Some(*n as f64),
            ExprKind::Float(f) => Some(*f),
            ExprKind::Unary(noodle_syntax::ast::UnOp::Neg, x) => match &x.kind {
                ExprKind::Int(n) => Some(-(*n as f64)),
                ExprKind::Float(f) => Some(-*f),
                _ => None,
            },
            _ => None,
        };
        if let Some(v) = value.filter(|v| !(*v >= lo && *v <= hi)) {
            self.error(N0244, format!("{what} (got {v})"), e.span);
        }
    }

    /// A string option whose literal value is checked here (other values at run time).
    fn check_choice(&mut self, e: Option<&Expr>, choices: &[&str], what: &str) {
        if let Some(Expr { kind: ExprKind::Str(s), span }) = e {
            if !choices.contains(&s.as_str()) {
                let list: Vec<String> = choices.iter().map(|c| format!("\"{c}\"")).collect();
                self.error(N0244, format!("unknown {what} \"{s}\""), *span).hint(format!("expected {}", list.join(", ")));
            }
        }
    }

    /// `await task`.
    pub(crate) fn await_expr(&mut self, x: &Expr, dst: Option<Reg>, _span: Span) -> (Reg, Type) {
        let base = self.b().alloc(2);
        let (_, t) = self.expr(x, Some(base + 1), None);
        let t = self.subst.resolve(&t);
        let result = match t {
            Type::Task(r) => *r,
            Type::Unknown => Type::Unknown,
            other => {
                let shown = self.show(&other);
                self.error(N0245, format!("`await` needs a task, found `{shown}`"), x.span)
                    .hint("tasks come from `ref.ask(...)`, `actor.timer(...)`, calls of `async def` functions and `spawn f(...)`; `actor.gather` and `actor.select` wait themselves");
                Type::Unknown
            }
        };
        (self.emit_native("actor.__await", base, 1, dst), result)
    }

    /// The handler of actor `id` that takes messages of type `t`.
    fn handler_for(&mut self, id: u32, t: &Type) -> Option<Type> {
        let hs = self.handler_types(id);
        for (_, mt, ret) in &hs {
            if self.subst.resolve(t) == *mt {
                return Some(ret.clone());
            }
        }
        // a variant's enum, or inference variables
        for (_, mt, ret) in &hs {
            if self.assignable(t, mt) && !matches!(mt, Type::Any) {
                return Some(ret.clone());
            }
        }
        None
    }

    /// Methods of actor references and supervisors.
    pub(crate) fn actor_method(&mut self, r: Reg, id: u32, name: &Ident, args: &[Arg], dst: Option<Reg>, span: Span) -> (Reg, Type) {
        let m = name.name.as_str();
        let shown = self.show(&Type::Actor(id));
        let sup = id == SUPERVISOR;
        let simple: Option<(&str, Type)> = match m {
            "stop" => Some(("actor.__stop", Type::None)),
            "alive" => Some(("actor.__alive", Type::Bool)),
            "monitor" => Some(("actor.__monitor", Type::None)),
            "link" => Some(("actor.__link", Type::None)),
            "restarts" if sup => Some(("actor.__restarts", Type::Int)),
            "children" if sup => Some(("actor.__children", Type::list(Type::Any))),
            _ => None,
        };
        if let Some((native, ret)) = simple {
            let base = self.native_args(&format!("{shown}.{m}"), Some(r), &[], args, span, 0);
            return (self.emit_native(native, base, 1, dst), ret);
        }
        if sup || !matches!(m, "send" | "ask" | "send_after" | "send_every") {
            let names: &[&str] = if sup { &["stop", "alive", "monitor", "link", "restarts", "children"] } else { &["send", "ask", "send_after", "send_every", "stop", "alive", "monitor", "link"] };
            let mut d = Diagnostic::error(N0106, format!("`{shown}` has no method `{m}`"), name.span).label("unknown method");
            if let Some(s) = crate::compiler::suggest(m, names) {
                d = d.hint(format!("did you mean `{s}`?"));
            } else if !sup {
                d = d.hint(format!("an actor's handlers are reached by messages: `ref.send(msg)` or `await ref.ask(msg)`; `{shown}` has {}", names.join(", ")));
            }
            self.diags.push(d);
            for a in args {
                self.expr(&a.value, None, None);
            }
            return (self.dst(dst), Type::Unknown);
        }
        // send(msg) / ask(msg, timeout: seconds) / send_after(seconds, msg) / send_every(seconds, msg)
        let ask = m == "ask";
        let later = matches!(m, "send_after" | "send_every");
        let (msg, timeout, delay) = match args {
            [a] if a.name.is_none() && !later => (&a.value, None, None),
            [a, t] if a.name.is_none() && ask && t.name.as_ref().is_some_and(|n| n.name == "timeout") => (&a.value, Some(&t.value), None),
            [d, a] if later && d.name.is_none() && a.name.is_none() => (&a.value, None, Some(&d.value)),
            _ => {
                let usage = match m {
                    "ask" => "`ref.ask(message)` or `ref.ask(message, timeout: seconds)`".to_string(),
                    "send" => "`ref.send(message)`".to_string(),
                    _ => format!("`ref.{m}(seconds, message)`"),
                };
                self.error(N0201, format!("`{m}` takes one message: {usage}"), span);
                for a in args {
                    self.expr(&a.value, None, None);
                }
                return (self.dst(dst), Type::Unknown);
            }
        };
        let base = self.b().alloc(5);
        self.emit(Op::Move { dst: base + 1, src: r });
        if let Some(d) = delay {
            self.expr_coerce(d, Some(base + 2), &Type::Float);
        }
        let msg_reg = if later { base + 3 } else { base + 2 };
        // a container literal for a handler of `list[any]` (`dict[any, any]`, `set[any]`) is
        // made as that type, as it would be for a parameter of it
        let any_container = |t: &Type| match (&msg.kind, t) {
            (ExprKind::List(_), Type::List(e)) | (ExprKind::Set(_), Type::Set(e)) => **e == Type::Any,
            (ExprKind::Dict(_), Type::Dict(k, v)) => **k == Type::Any && **v == Type::Any,
            _ => false,
        };
        let literal_for = self.handler_types(id).into_iter().map(|(_, t, _)| t).find(any_container);
        let (_, mt) = match literal_for {
            Some(t) => {
                self.expr_coerce(msg, Some(msg_reg), &t);
                (msg_reg, t)
            }
            None => self.expr(msg, Some(msg_reg), None),
        };
        let mt = self.subst.resolve(&mt);
        let ret = if mt == Type::Unknown {
            Type::Unknown
        } else {
            match self.handler_for(id, &mt) {
                Some(ret) => ret,
                None => {
                    let mshown = self.show(&mt);
                    let handled: Vec<String> = self.handler_types(id).iter().map(|(h, t, _)| format!("`{}` ({h})", self.show(t))).collect();
                    let mut d = Diagnostic::error(N0246, format!("actor `{shown}` has no handler for messages of type `{mshown}`"), msg.span).label("not handled");
                    d = d.hint(if handled.is_empty() { format!("`{shown}` declares no handlers") } else { format!("`{shown}` handles {}", handled.join(", ")) });
                    self.diags.push(d);
                    Type::Unknown
                }
            }
        };
        if later {
            self.emit(if m == "send_every" { Op::LoadTrue { dst: base + 4 } } else { Op::LoadFalse { dst: base + 4 } });
            return (self.emit_native("actor.__send_later", base, 4, dst), Type::Task(Box::new(Type::None)));
        }
        if !ask {
            return (self.emit_native("actor.__send", base, 2, dst), Type::None);
        }
        self.opt_arg(timeout, base + 3, &Type::optional(Type::Float));
        (self.emit_native("actor.__ask", base, 3, dst), Type::Task(Box::new(ret)))
    }

    /// `Counter.lookup(name)`: the actor registered under `name`, if it is a `Counter`.
    pub(crate) fn actor_static(&mut self, id: u32, name: &Ident, args: &[Arg], dst: Option<Reg>, span: Span) -> (Reg, Type) {
        let an = self.actors[id as usize].name.clone();
        if name.name != "lookup" {
            self.error(N0106, format!("actor `{an}` has no function `{}`", name.name), name.span).hint(format!("`{an}.lookup(name)` finds a registered actor; start one with `spawn {an}(...)`"));
            for a in args {
                self.expr(&a.value, None, None);
            }
            return (self.dst(dst), Type::Unknown);
        }
        let base = self.native_args(&format!("{an}.lookup"), None, &[P("name", K::Str, D::Req)], args, span, 1);
        let ty = self.state_struct(id).map_or(-1, |sid| self.structs[sid as usize].record as i64);
        self.load_const(Const::Int(ty), Some(base + 2));
        (self.emit_native("actor.__whereis", base, 2, dst), Type::optional(Type::Actor(id)))
    }
}

/// `total` as `Total` (for a hint that names a struct after a handler).
fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
