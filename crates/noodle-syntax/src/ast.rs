//! The abstract syntax tree produced by the parser. Every node carries its span.

use crate::span::Span;

#[derive(Clone, Debug)]
pub struct Module {
    pub items: Vec<Item>,
}

#[derive(Clone, Debug)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Item {
    Import(Import),
    Func(FuncDecl),
    Struct(StructDecl),
    Enum(EnumDecl),
    Interface(InterfaceDecl),
    Actor(ActorDecl),
    /// A top-level statement (including top-level `let`/`var`, which become globals).
    Stmt(Stmt, bool /* pub */),
    /// `type Name { def ... }` in a native module's declarations: an opaque handle type whose
    /// methods are natives.
    NativeType(NativeTypeDecl),
    /// `extend[T] list[T] { def ... }` in a native module's declarations: methods (natives)
    /// of a built-in type.
    Extend(ExtendDecl),
    /// `const NAME [: type] = value`: a value computed while compiling.
    Const(ConstDecl),
    /// `type Name[T, ...] = type`: another name for a type.
    TypeAlias(TypeAliasDecl),
}

#[derive(Clone, Debug)]
pub struct TypeAliasDecl {
    pub public: bool,
    pub name: Ident,
    pub type_params: Vec<Ident>,
    pub ty: TypeExpr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct ConstDecl {
    pub public: bool,
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub value: Expr,
    pub span: Span,
}

/// `type Name { methods }` (declarations only).
#[derive(Clone, Debug)]
pub struct NativeTypeDecl {
    pub public: bool,
    pub name: Ident,
    pub methods: Vec<FuncDecl>,
    pub span: Span,
}

/// `extend[T: Bound, ...] TYPE { methods }` (declarations only): the type variables with an
/// optional bound each, the built-in type they extend, and the methods.
#[derive(Clone, Debug)]
pub struct ExtendDecl {
    pub params: Vec<(Ident, Option<Ident>)>,
    pub target: TypeExpr,
    pub methods: Vec<FuncDecl>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Import {
    /// `import a.b.c [as x]` or `from a.b import x, y`.
    pub path: Vec<Ident>,
    pub alias: Option<Ident>,
    pub names: Option<Vec<(Ident, Option<Ident>)>>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Param {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub default: Option<Expr>,
    /// `name: T...` (declarations only, last parameter): any number of arguments.
    pub variadic: bool,
    /// A parameter written as a pattern (`(a, b): (int, int)`, `Point { x, y }: Point`): the
    /// argument is taken apart into its names; `name` is then `$argN`, which no program can
    /// write.
    pub pattern: Option<Pattern>,
}

#[derive(Clone, Debug)]
pub struct FuncDecl {
    pub public: bool,
    pub name: Ident,
    pub type_params: Vec<Ident>,
    /// `Some` when the first parameter is `self`.
    pub self_span: Option<Span>,
    pub params: Vec<Param>,
    pub ret: Option<TypeExpr>,
    /// `None` for interface method signatures, and for a body the parser skipped.
    pub body: Option<Block>,
    /// A body skipped by [`parse_deferring_bodies`](crate::parser::parse_deferring_bodies):
    /// the span of its `{ ... }`, which [`parse_body`](crate::parser::parse_body) parses when
    /// it is needed.
    pub deferred: Option<Span>,
    /// `async def`: a call starts it as a task.
    pub is_async: bool,
    /// `let name: T` in a native type or `extend` block (declarations only): a read-only
    /// property, `x.name`, computed by a native that takes the receiver.
    pub property: bool,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct FieldDecl {
    pub name: Ident,
    pub ty: TypeExpr,
    pub default: Option<Expr>,
}

#[derive(Clone, Debug)]
pub struct StructDecl {
    pub public: bool,
    pub name: Ident,
    /// `[T, ...]` after the name of a generic type.
    pub type_params: Vec<Ident>,
    /// `: Iface, ...`: the interfaces it declares (checked, and their default methods added).
    pub implements: Vec<TypeExpr>,
    pub fields: Vec<FieldDecl>,
    pub methods: Vec<FuncDecl>,
    pub span: Span,
}

/// `actor Name { fields, def methods, on handlers }`: state fields and methods like a struct's,
/// plus message handlers (`on name(self, msg: Type) -> Reply`).
#[derive(Clone, Debug)]
pub struct ActorDecl {
    pub public: bool,
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
    pub methods: Vec<FuncDecl>,
    pub handlers: Vec<FuncDecl>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct VariantDecl {
    pub name: Ident,
    pub fields: Vec<FieldDecl>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct EnumDecl {
    pub public: bool,
    pub name: Ident,
    /// `[T, ...]` after the name of a generic type.
    pub type_params: Vec<Ident>,
    /// `: Iface, ...`: the interfaces it declares (checked, and their default methods added).
    pub implements: Vec<TypeExpr>,
    pub variants: Vec<VariantDecl>,
    pub methods: Vec<FuncDecl>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct InterfaceDecl {
    pub public: bool,
    pub name: Ident,
    /// `[T, ...]` after the name of a generic type.
    pub type_params: Vec<Ident>,
    pub methods: Vec<FuncDecl>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum TypeExpr {
    /// `int`, `Point`, `list[int]`, `dict[str, int]`, `mod.Type`.
    Named { path: Vec<Ident>, args: Vec<TypeExpr>, span: Span },
    Tuple(Vec<TypeExpr>, Span),
    Optional(Box<TypeExpr>, Span),
    Func { params: Vec<TypeExpr>, ret: Option<Box<TypeExpr>>, span: Span },
}

impl TypeExpr {
    pub fn span(&self) -> Span {
        match self {
            TypeExpr::Named { span, .. } | TypeExpr::Tuple(_, span) | TypeExpr::Optional(_, span) | TypeExpr::Func { span, .. } => *span,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Block {
    pub stmts: Vec<Stmt>,
    pub span: Span,
    /// Whether a lambda or a nested `def` appears anywhere inside, so the compiler looks for
    /// captured variables only in blocks that can have them.
    pub has_closure: bool,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Let { mutable: bool, pat: Box<Pattern>, ty: Option<Box<TypeExpr>>, value: Expr, span: Span },
    Assign { target: Expr, op: Option<BinOp>, value: Expr, span: Span },
    Expr(Expr),
    Return(Option<Expr>, Span),
    Break(Span),
    Continue(Span),
    While { cond: Expr, body: Block, span: Span },
    For { pat: Box<Pattern>, iter: Expr, body: Block, span: Span },
    Throw(Expr, Span),
    /// `try { } catch e: T { } catch e { } finally { }`: the `catch` clauses in order.
    Try { body: Box<Block>, catch: Vec<CatchClause>, finally: Option<Box<Block>>, span: Span },
    /// `with value [as name] { body }`: runs the body, then `value.exit(true)` when it
    /// completed or `value.exit(false)` when it was left by an error, `return`, `break` or
    /// `continue`.
    With { value: Expr, name: Option<Ident>, body: Box<Block>, span: Span },
    /// A nested function declaration (a named closure).
    Func(Box<FuncDecl>),
}

/// `catch name [: Type] { body }`: with a type, only errors of that type (a struct or enum
/// declaring `Throwable`, or `Error` for every error).
#[derive(Clone, Debug)]
pub struct CatchClause {
    pub name: Ident,
    pub ty: Option<TypeExpr>,
    pub body: Block,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add, Sub, Mul, Div, FloorDiv, Mod, Pow, MatMul,
    Eq, Ne, Lt, Le, Gt, Ge,
    And, Or, BitAnd, BitOr, BitXor, Shl, Shr,
    In, NotIn, Coalesce,
}

impl BinOp {
    pub fn text(self) -> &'static str {
        match self {
            BinOp::Add => "+", BinOp::Sub => "-", BinOp::Mul => "*", BinOp::Div => "/",
            BinOp::FloorDiv => "//", BinOp::Mod => "%", BinOp::Pow => "**", BinOp::MatMul => "@", BinOp::Eq => "==",
            BinOp::Ne => "!=", BinOp::Lt => "<", BinOp::Le => "<=", BinOp::Gt => ">", BinOp::Ge => ">=",
            BinOp::And => "and", BinOp::Or => "or", BinOp::BitAnd => "&", BinOp::BitOr => "|",
            BinOp::BitXor => "^", BinOp::Shl => "<<", BinOp::Shr => ">>", BinOp::In => "in",
            BinOp::NotIn => "not in", BinOp::Coalesce => "??",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
    BitNot,
}

#[derive(Clone, Debug)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

#[derive(Clone, Debug)]
pub enum FStrPart {
    Lit(String),
    Expr(Expr, Option<String>),
}

/// One `if` or `elif` arm of an `If`.
#[derive(Clone, Debug)]
pub struct Comprehension {
    pub kind: CompKind,
    /// The element (a list or set), or the key (a dict).
    pub elem: Expr,
    /// A dict comprehension's value.
    pub value: Option<Expr>,
    /// The `for` and `if` clauses, outermost first; the first is a `for`.
    pub clauses: Vec<CompClause>,
    /// Whether a lambda appears inside (see `Block::has_closure`).
    pub has_closure: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompKind {
    List,
    Set,
    Dict,
}

#[derive(Clone, Debug)]
pub enum CompClause {
    For { pat: Pattern, iter: Expr },
    If(Expr),
}

#[derive(Clone, Debug)]
pub struct IfArm {
    pub cond: Expr,
    pub then: Block,
    /// From this arm's keyword to the end of the chain (what a nested `if` in the `else`
    /// would span).
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct MatchArm {
    pub pat: Pattern,
    pub guard: Option<Expr>,
    pub body: Expr,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    Bytes(Vec<u8>),
    FStr(Vec<FStrPart>),
    None,
    Name(String),
    SelfRef,
    List(Vec<Expr>),
    Dict(Vec<(Expr, Expr)>),
    Set(Vec<Expr>),
    Tuple(Vec<Expr>),
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Range { start: Box<Expr>, end: Box<Expr>, inclusive: bool },
    Call { callee: Box<Expr>, args: Vec<Arg> },
    /// `spawn Actor(args)` or `spawn(options) Actor(args)`.
    Spawn { options: Vec<Arg>, call: Box<Expr> },
    /// `await task`.
    Await(Box<Expr>),
    Field { target: Box<Expr>, name: Ident, optional: bool },
    /// `t.0`
    TupleField { target: Box<Expr>, index: u32 },
    Index { target: Box<Expr>, index: Box<Expr> },
    Slice { target: Box<Expr>, start: Option<Box<Expr>>, end: Option<Box<Expr>> },
    /// `a:b:c` as one entry of a multi-part subscript (`t[1:, ::2]`, `t[::-1]`); only valid
    /// inside `[...]`. Several entries form an `Index` whose index is a `Tuple`.
    SliceItem { start: Option<Box<Expr>>, stop: Option<Box<Expr>>, step: Option<Box<Expr>> },
    Unwrap(Box<Expr>),
    Is(Box<Expr>, Box<TypeExpr>),
    As(Box<Expr>, Box<TypeExpr>),
    Lambda { params: Vec<Param>, ret: Option<Box<TypeExpr>>, body: Box<Block> },
    /// `if c0 { .. } elif c1 { .. } else { .. }`: a chain of `elif` (or `else if`) arms is
    /// one `If`, so every pass walks a chain of any length in a loop, not a recursion.
    If { arms: Vec<IfArm>, else_: Option<Box<Block>> },
    Match { scrutinee: Box<Expr>, arms: Vec<MatchArm> },
    /// `[e for x in xs if c]`, `{e for ...}`, `{k: v for ...}`.
    Comprehension(Box<Comprehension>),
    Block(Block),
    /// A parameter's or field's default value as a call that omits it compiles it: its names
    /// are those of `scope`, the declaring module (a number the compiler gives), not the
    /// caller's. The parser never makes one.
    Default { scope: usize, expr: Box<Expr> },
    /// Placeholder after a parse error, so later passes can continue.
    Error,
}

#[derive(Clone, Debug)]
pub struct Pattern {
    pub kind: PatKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum PatKind {
    Wildcard,
    Bind(String),
    Int(i64),
    Float(f64),
    Str(String),
    Bool(bool),
    None,
    Range { lo: i64, hi: i64, inclusive: bool },
    Tuple(Vec<Pattern>),
    /// `E.V(p, ..)`, `V(p, ..)`, `E.V`, `V` (path has one or two parts); `args` is None without parens.
    Variant { path: Vec<Ident>, args: Option<Vec<Pattern>> },
    /// `Point { x: p, y }`
    Struct { path: Vec<Ident>, fields: Vec<(Ident, Pattern)> },
    /// `[a, b]`, `[first, *rest]`, `[*init, last]`: the elements of a list; with a rest (at
    /// `rest.0` among the items, `rest.1` its name or None for `*_`), any list at least as
    /// long as the other items.
    List { items: Vec<Pattern>, rest: Option<(usize, Option<Ident>)> },
    Or(Vec<Pattern>),
}
