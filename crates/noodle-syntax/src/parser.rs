//! A recursive-descent parser with Pratt-style expressions. It never fails: errors become
//! diagnostics, and the parser re-synchronises at the next statement or declaration.

use crate::codes::{N0003, N0010, N0011, N0013, N0208, N0215};
use crate::ast::*;
use crate::diag::Diagnostic;
use crate::lexer::{lex, FPart, Lexer, Tok, Token};
use crate::span::Span;

/// Parses one source file. `file` is the index of the file in the caller's file table.
pub fn parse(src: &str, file: u32) -> (Module, Vec<Diagnostic>) {
    parse_module(src, file, false)
}

/// Parses one source file but skips the bodies of its functions and of its structs' and
/// enums' methods, recording where each is (`FuncDecl::deferred`). A compiler needs every
/// declaration of a module before it compiles any body, so with this it holds one body's tree
/// at a time instead of the whole file's, which is most of the front end's memory and time on
/// large files. The skipped text is still lexed here, so its lexical errors are reported here
/// (and `parse_body` does not report them again).
pub fn parse_deferring_bodies(src: &str, file: u32) -> (Module, Vec<Diagnostic>) {
    parse_module(src, file, true)
}

/// Parses a native module's declarations: Noodle source in which a `def` may have no body
/// (a native function), `type Name { ... }` declares an opaque handle type, `extend[T]
/// list[T] { ... }` adds methods to a built-in type, and a last parameter may be variadic
/// (`values: any...`). `type` and `extend` are names everywhere else.
pub fn parse_declarations(src: &str, file: u32) -> (Module, Vec<Diagnostic>) {
    let mut p = Parser::new(src, file, Lexer::new(src, file, 0, src.len()));
    p.declarations = true;
    let items = p.module();
    p.diags.append(&mut p.lexer.diags);
    (Module { items }, p.diags)
}

fn parse_module(src: &str, file: u32, defer_bodies: bool) -> (Module, Vec<Diagnostic>) {
    // Tokens are lexed as the parser needs them and dropped behind it, so a large file never
    // holds all its tokens at once.
    let mut p = Parser::new(src, file, Lexer::new(src, file, 0, src.len()));
    p.defer_bodies = defer_bodies;
    let items = p.module();
    p.diags.append(&mut p.lexer.diags);
    (Module { items }, p.diags)
}

/// Parses a body that `parse_deferring_bodies` skipped (`deferred` is its span). The body is
/// parsed as it would have been in place: same nesting depth, same recovery. `None` when it
/// does not parse as a block at all (a missing `}`), as a function in place would have failed.
pub fn parse_body(src: &str, deferred: Span) -> (Option<Block>, Vec<Diagnostic>) {
    let (file, start, end) = (deferred.file, deferred.start as usize, deferred.end as usize);
    let mut p = Parser::new(src, file, Lexer::new(src, file, start, end));
    let block = p.block().ok();
    p.skip_newlines();
    if block.is_some() && !p.at(&Tok::Eof) && p.diags.is_empty() {
        // the block closed early (after an error the recovery mistook a `}`): in place, the
        // rest would have been read as top-level code
        p.error_here("expected the end of the function body");
    }
    (block, p.diags)
}

/// Parses a single expression (used by the REPL to show a value's type).
pub fn parse_expr(src: &str, file: u32) -> (Expr, Vec<Diagnostic>) {
    let mut p = Parser::new(src, file, Lexer::new(src, file, 0, src.len()));
    p.skip_newlines();
    let e = p.expr().unwrap_or(Expr { kind: ExprKind::Error, span: Span::new(file, 0, src.len()) });
    p.skip_newlines();
    if !p.at(&Tok::Eof) {
        p.error_here("expected end of expression");
    }
    p.diags.append(&mut p.lexer.diags);
    (e, p.diags)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    /// A window of tokens: `tokens[0]` is token number `base`; `pos` is absolute.
    tokens: Vec<Token>,
    base: usize,
    src: &'a str,
    file: u32,
    pos: usize,
    diags: Vec<Diagnostic>,
    last_err_pos: usize,
    /// Current nesting of expressions, blocks, patterns and types (bounded, so that deeply
    /// nested input cannot overflow the stack of the parser or of later passes).
    depth: u32,
    /// Parsing the value of a `with` statement, where `as NAME {` names the value.
    with_head: bool,
    /// Lambdas and nested `def`s begun so far (for `Block::has_closure`).
    closures: u32,
    /// Skip (and record) the bodies of functions and of struct and enum methods.
    defer_bodies: bool,
    /// Reading a native module's declarations (`parse_declarations`).
    declarations: bool,
}

/// The deepest nesting of expressions, blocks, patterns and types a file may have.
pub const MAX_NESTING: u32 = 200;

type PResult<T> = Result<T, ()>;

const BP_COALESCE: u8 = 1;
const BP_OR: u8 = 2;
const BP_AND: u8 = 3;
const BP_NOT: u8 = 4;
const BP_CMP: u8 = 5;
const BP_RANGE: u8 = 6;
const BP_UNARY: u8 = 14;

fn infix_bp(t: &Tok) -> Option<(u8, BinOp)> {
    Some(match t {
        Tok::QuestionQuestion => (BP_COALESCE, BinOp::Coalesce),
        Tok::Or => (BP_OR, BinOp::Or),
        Tok::And => (BP_AND, BinOp::And),
        Tok::EqEq => (BP_CMP, BinOp::Eq),
        Tok::NotEq => (BP_CMP, BinOp::Ne),
        Tok::Lt => (BP_CMP, BinOp::Lt),
        Tok::Le => (BP_CMP, BinOp::Le),
        Tok::Gt => (BP_CMP, BinOp::Gt),
        Tok::Ge => (BP_CMP, BinOp::Ge),
        Tok::In => (BP_CMP, BinOp::In),
        Tok::Pipe => (7, BinOp::BitOr),
        Tok::Caret => (8, BinOp::BitXor),
        Tok::Amp => (9, BinOp::BitAnd),
        Tok::Shl => (10, BinOp::Shl),
        Tok::Shr => (10, BinOp::Shr),
        Tok::Plus => (11, BinOp::Add),
        Tok::Minus => (11, BinOp::Sub),
        Tok::Star => (12, BinOp::Mul),
        Tok::At => (12, BinOp::MatMul),
        Tok::Slash => (12, BinOp::Div),
        Tok::SlashSlash => (12, BinOp::FloorDiv),
        Tok::Percent => (12, BinOp::Mod),
        Tok::StarStar => (15, BinOp::Pow),
        _ => return None,
    })
}

/// Tokens the parser may look at ahead of `pos` without asking for more.
const LOOKAHEAD: usize = 3;
/// Tokens kept behind `pos` (`prev_span`, and a look back of two).
const KEEP_BEHIND: usize = 4;

impl<'a> Parser<'a> {
    fn new(src: &'a str, file: u32, lexer: Lexer<'a>) -> Parser<'a> {
        let mut p = Parser { lexer, tokens: Vec::with_capacity(8), base: 0, src, file, pos: 0, diags: Vec::new(), last_err_pos: usize::MAX, depth: 0, with_head: false, closures: 0, defer_bodies: false, declarations: false };
        p.fill(LOOKAHEAD);
        p
    }

    /// A parser over tokens lexed already (f-string holes).
    fn from_tokens(src: &'a str, file: u32, tokens: Vec<Token>) -> Parser<'a> {
        let mut lexer = Lexer::new(src, file, 0, 0);
        lexer.done = true;
        Parser { lexer, tokens, base: 0, src, file, pos: 0, diags: Vec::new(), last_err_pos: usize::MAX, depth: 0, with_head: false, closures: 0, defer_bodies: false, declarations: false }
    }

    /// Lexes until the token `abs` exists (or the input ends).
    fn fill(&mut self, abs: usize) {
        while self.base + self.tokens.len() <= abs && !self.lexer.done {
            self.lexer.step();
            self.tokens.append(&mut self.lexer.tokens);
        }
    }

    /// Token number `abs`, or the last one (`Eof`) past the end.
    fn tok(&self, abs: usize) -> &Token {
        let i = abs.saturating_sub(self.base).min(self.tokens.len() - 1);
        &self.tokens[i]
    }

    // ---- token helpers ----
    fn peek(&self) -> &Tok {
        &self.tok(self.pos).tok
    }
    fn peek_at(&self, n: usize) -> &Tok {
        debug_assert!(n < LOOKAHEAD);
        &self.tok(self.pos + n).tok
    }
    /// The current token without its text (a name or string comes back empty): a copy to
    /// match on that allocates nothing, for callers that only look at the kind.
    fn peek_kind(&self) -> Tok {
        match self.peek() {
            Tok::Ident(_) => Tok::Ident(String::new()),
            Tok::Str(_) => Tok::Str(String::new()),
            Tok::FStr(_) => Tok::FStr(Vec::new()),
            Tok::Bytes(_) => Tok::Bytes(Vec::new()),
            other => other.clone(),
        }
    }
    fn span(&self) -> Span {
        self.tok(self.pos).span
    }
    fn prev_span(&self) -> Span {
        self.tok(self.pos.saturating_sub(1)).span
    }
    /// Is the current token of `t`'s kind? (`t` is a keyword or punctuation: callers never
    /// ask for a particular name or literal.)
    fn at(&self, t: &Tok) -> bool {
        std::mem::discriminant(self.peek()) == std::mem::discriminant(t)
    }
    /// Steps over the current token and says whether it was of `t`'s kind.
    fn bump_is(&mut self, t: &Tok) -> bool {
        let was = self.at(t);
        self.advance();
        was
    }
    fn bump_span(&mut self) -> Span {
        let span = self.tok(self.pos).span;
        self.advance();
        span
    }
    /// `bump` without the copy of the token (most callers only step over it; a copy of a
    /// name or string token is an allocation).
    fn advance(&mut self) {
        if !matches!(self.tok(self.pos).tok, Tok::Eof) {
            self.pos += 1;
        }
        self.fill(self.pos + LOOKAHEAD);
        if self.pos - self.base > 4096 {
            // only the few tokens at and after `pos` move
            let drop = self.pos - self.base - KEEP_BEHIND;
            self.tokens.drain(..drop);
            self.base += drop;
        }
    }
    fn eat(&mut self, t: &Tok) -> bool {
        if self.at(t) {
            self.advance();
            true
        } else {
            false
        }
    }
    fn skip_newlines(&mut self) {
        while matches!(self.peek(), Tok::Newline | Tok::Semi) {
            self.advance();
        }
    }
    /// Looks past newlines for `t`; consumes the newlines only if it is there.
    fn peek_past_newlines(&mut self, t: &Tok) -> bool {
        let mut i = self.pos;
        loop {
            self.fill(i);
            if !matches!(self.tok(i).tok, Tok::Newline) || self.base + self.tokens.len() <= i {
                break;
            }
            i += 1;
        }
        &self.tok(i).tok == t
    }

    fn error_here(&mut self, msg: &str) {
        let found = self.peek().describe();
        let span = self.span();
        self.error_at(span, format!("{msg}, found {found}"), "");
    }
    fn error_at(&mut self, span: Span, msg: String, label: &str) {
        // One error per position: avoids cascades while recovering.
        if self.last_err_pos == self.pos {
            return;
        }
        self.last_err_pos = self.pos;
        let code = if matches!(self.peek(), Tok::Eof) && msg.contains("expected `}`") { N0011 } else { N0010 };
        let mut d = Diagnostic::error(code, msg, span);
        if !label.is_empty() {
            d = d.label(label);
        }
        self.diags.push(d);
    }
    fn expect(&mut self, t: Tok) -> PResult<Span> {
        if self.at(&t) {
            Ok(self.bump_span())
        } else {
            let found = self.peek().describe();
            let span = self.span();
            if matches!(self.peek(), Tok::Eof) && matches!(t, Tok::RBrace | Tok::RParen | Tok::RBracket) {
                if self.last_err_pos != self.pos {
                    self.last_err_pos = self.pos;
                    self.diags.push(
                        Diagnostic::error(N0011, format!("unclosed delimiter: expected `{}` before the end of the file", t.text()), span)
                            .label("file ends here")
                            .hint(format!("add the missing `{}`", t.text())),
                    );
                }
            } else {
                let label = format!("expected `{}`", t.text());
                self.error_at(span, format!("expected `{}`, found {found}", t.text()), &label);
            }
            Err(())
        }
    }
    /// The current token with its text moved out (for a token about to be consumed).
    fn take_tok(&mut self) -> Tok {
        let i = self.pos - self.base;
        match &mut self.tokens[i].tok {
            Tok::Ident(s) => Tok::Ident(std::mem::take(s)),
            Tok::Str(s) => Tok::Str(std::mem::take(s)),
            Tok::FStr(p) => Tok::FStr(std::mem::take(p)),
            Tok::Bytes(b) => Tok::Bytes(std::mem::take(b)),
            other => other.clone(),
        }
    }
    fn ident(&mut self) -> PResult<Ident> {
        match self.peek() {
            Tok::Ident(_) => {
                let Tok::Ident(name) = self.take_tok() else { unreachable!() };
                let span = self.bump_span();
                Ok(Ident { name, span })
            }
            t => {
                let text = t.text();
                if text.chars().all(|c| c.is_ascii_alphabetic()) {
                    // a keyword where a name should be: say so, the message alone puzzles
                    let (span, found) = (self.span(), t.describe());
                    self.error_at(span, format!("expected a name, found {found}"), &format!("`{text}` is a keyword and cannot be used as a name"));
                } else {
                    self.error_here("expected a name");
                }
                Err(())
            }
        }
    }
    /// A name after `.`: keywords are allowed there (`t.var()`, `x.match`), since the dot
    /// already says a member follows.
    fn member_name(&mut self) -> PResult<Ident> {
        let text = self.peek().text();
        if !matches!(self.peek(), Tok::Ident(_)) && !text.is_empty() && text.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            let span = self.bump_span();
            return Ok(Ident { name: text.to_string(), span });
        }
        self.ident()
    }
    /// End of a statement: newline, `;`, or before `}` / EOF.
    fn end_stmt(&mut self) -> PResult<()> {
        match self.peek() {
            Tok::Newline | Tok::Semi => {
                self.advance();
                Ok(())
            }
            Tok::RBrace | Tok::Eof => Ok(()),
            _ => {
                self.error_here("expected end of statement");
                Err(())
            }
        }
    }
    /// Skips to the start of the next statement at this nesting level.
    fn sync_stmt(&mut self) {
        let mut depth = 0i32;
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::LBrace => depth += 1,
                Tok::RBrace => {
                    if depth == 0 {
                        return;
                    }
                    depth -= 1;
                    if depth == 0 {
                        self.advance();
                        if matches!(self.peek(), Tok::Newline | Tok::Semi) {
                            self.advance();
                        }
                        return;
                    }
                }
                Tok::Newline | Tok::Semi if depth == 0 => {
                    self.advance();
                    return;
                }
                _ => {}
            }
            self.advance();
        }
    }
    /// `async def` where only a plain `def` may be: reports it and skips the `async`.
    fn async_not_allowed(&mut self, what: &str) -> bool {
        if !matches!(self.peek(), Tok::Ident(s) if s == "async") || self.peek_at(1) != &Tok::Def {
            return false;
        }
        let span = self.span();
        self.error_at(span, format!("{what} cannot be `async`: only top-level functions can"), "not allowed here");
        self.advance();
        true
    }

    /// Skips to the next top-level declaration keyword at the start of a line.
    fn sync_item(&mut self) {
        loop {
            match self.peek() {
                Tok::Eof => return,
                Tok::Def | Tok::Struct | Tok::Enum | Tok::Interface | Tok::Import | Tok::From | Tok::Pub
                    if self.pos == 0 || matches!(self.tok(self.pos - 1).tok, Tok::Newline | Tok::RBrace | Tok::Semi) =>
                {
                    return
                }
                _ => {
                    self.advance();
                }
            }
        }
    }

    // ---- items ----
    fn module(&mut self) -> Vec<Item> {
        let mut items = Vec::new();
        loop {
            self.skip_newlines();
            if self.at(&Tok::Eof) {
                break;
            }
            if self.at(&Tok::RBrace) {
                let span = self.span();
                self.error_at(span, "unexpected `}`".into(), "no block to close");
                self.advance();
                continue;
            }
            let start = self.pos;
            match self.item() {
                Ok(it) => items.push(it),
                Err(()) => {
                    if matches!(self.peek(), Tok::Def | Tok::Struct | Tok::Enum | Tok::Interface) && self.pos == start {
                        self.advance();
                    }
                    self.sync_item();
                }
            }
        }
        items
    }

    fn item(&mut self) -> PResult<Item> {
        let public = self.eat(&Tok::Pub);
        match self.peek() {
            Tok::Import | Tok::From if public => {
                let span = self.span();
                self.error_at(span, "`pub` cannot be applied to an import".into(), "re-exporting is not supported");
                Err(())
            }
            Tok::Import | Tok::From => {
                let i = self.import()?;
                self.end_stmt()?;
                Ok(Item::Import(i))
            }
            Tok::Def => Ok(Item::Func(self.func(public, false)?)),
            Tok::Ident(s) if s == "async" && self.peek_at(1) == &Tok::Def => {
                let start = self.bump_span();
                let mut f = self.func(public, false)?;
                f.is_async = true;
                f.span = start.to(f.span);
                Ok(Item::Func(f))
            }
            Tok::Struct => Ok(Item::Struct(self.struct_decl(public)?)),
            Tok::Ident(s) if s == "actor" && matches!(self.peek_at(1), Tok::Ident(_)) && self.peek_at(2) == &Tok::LBrace => Ok(Item::Actor(self.actor_decl(public)?)),
            Tok::Enum => Ok(Item::Enum(self.enum_decl(public)?)),
            Tok::Interface => Ok(Item::Interface(self.interface_decl(public)?)),
            Tok::Ident(s) if s == "type" && matches!(self.peek_at(1), Tok::Ident(_)) && matches!(self.peek_at(2), Tok::Eq | Tok::LBracket) => {
                let start = self.bump_span();
                let name = self.ident()?;
                let type_params = self.type_params()?;
                self.expect(Tok::Eq)?;
                let ty = self.type_expr()?;
                let span = start.to(self.prev_span());
                self.end_stmt()?;
                Ok(Item::TypeAlias(TypeAliasDecl { public, name, type_params, ty, span }))
            }
            Tok::Ident(s) if self.declarations && s == "type" && matches!(self.peek_at(1), Tok::Ident(_)) => Ok(Item::NativeType(self.native_type_decl(public)?)),
            Tok::Ident(s) if self.declarations && s == "extend" && !public => Ok(Item::Extend(self.extend_decl()?)),
            Tok::Let | Tok::Var => {
                let s = self.stmt()?;
                Ok(Item::Stmt(s, public))
            }
            Tok::Ident(s) if s == "const" && matches!(self.peek_at(1), Tok::Ident(_)) => {
                let start = self.bump_span();
                let name = self.ident()?;
                let ty = if self.eat(&Tok::Colon) { Some(self.type_expr()?) } else { None };
                self.expect(Tok::Eq)?;
                let value = self.expr()?;
                let span = start.to(self.prev_span());
                self.end_stmt()?;
                Ok(Item::Const(ConstDecl { public, name, ty, value, span }))
            }
            _ if public => {
                self.error_here("expected `def`, `struct`, `enum`, `interface`, `const`, `type`, `let` or `var` after `pub`");
                Err(())
            }
            _ => {
                let s = self.stmt_recover()?;
                Ok(Item::Stmt(s, false))
            }
        }
    }

    fn stmt_recover(&mut self) -> PResult<Stmt> {
        match self.stmt() {
            Ok(s) => Ok(s),
            Err(()) => {
                self.sync_stmt();
                Err(())
            }
        }
    }

    fn import(&mut self) -> PResult<Import> {
        let start = self.span();
        if self.eat(&Tok::From) {
            let path = self.dotted()?;
            self.expect(Tok::Import)?;
            let mut names = Vec::new();
            let paren = self.eat(&Tok::LParen);
            loop {
                if paren {
                    self.skip_newlines();
                }
                let n = self.ident()?;
                let alias = if self.eat(&Tok::As) { Some(self.ident()?) } else { None };
                names.push((n, alias));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            if paren {
                self.skip_newlines();
                self.expect(Tok::RParen)?;
            }
            Ok(Import { path, alias: None, names: Some(names), span: start.to(self.prev_span()) })
        } else {
            self.expect(Tok::Import)?;
            let path = self.dotted()?;
            let alias = if self.eat(&Tok::As) { Some(self.ident()?) } else { None };
            Ok(Import { path, alias, names: None, span: start.to(self.prev_span()) })
        }
    }

    fn dotted(&mut self) -> PResult<Vec<Ident>> {
        let mut path = vec![self.ident()?];
        while self.eat(&Tok::Dot) {
            path.push(self.ident()?);
        }
        Ok(path)
    }

    /// `: Iface, Iface[T]` after a struct's or enum's name: the interfaces it declares.
    fn implements(&mut self) -> PResult<Vec<TypeExpr>> {
        let mut out = Vec::new();
        if self.eat(&Tok::Colon) {
            loop {
                out.push(self.type_expr()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn type_params(&mut self) -> PResult<Vec<Ident>> {
        let mut tps = Vec::new();
        if self.eat(&Tok::LBracket) {
            loop {
                tps.push(self.ident()?);
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(Tok::RBracket)?;
        }
        Ok(tps)
    }

    /// `def name[T](params) -> T { body }`; in interfaces the body is absent.
    /// With `body_optional` (an interface's method), a signature alone ends at the line's end.
    fn func(&mut self, public: bool, body_optional: bool) -> PResult<FuncDecl> {
        let start = self.expect(Tok::Def)?;
        self.func_rest(start, public, body_optional)
    }

    /// A function after its introducing keyword (`def`, or `on` in an actor).
    fn func_rest(&mut self, start: Span, public: bool, body_optional: bool) -> PResult<FuncDecl> {
        // a declared method may be named by a keyword (`def var(self)`), as it is called after
        // a dot (`t.var()`)
        let name = if self.declarations { self.member_name()? } else { self.ident()? };
        let type_params = self.type_params()?;
        self.expect(Tok::LParen)?;
        let mut self_span = None;
        let mut params = Vec::new();
        self.skip_newlines();
        if self.at(&Tok::SelfKw) {
            self_span = Some(self.bump_span());
            if !self.at(&Tok::RParen) {
                self.expect(Tok::Comma)?;
            }
        }
        params.extend(self.params(Tok::RParen, true)?);
        params.shrink_to_fit();
        self.expect(Tok::RParen)?;
        let ret = if self.eat(&Tok::Arrow) { Some(self.type_expr()?) } else { None };
        let (body, deferred) = if self.declarations && !self.at(&Tok::LBrace) {
            // a native function: declared here, implemented by the module in Rust
            self.end_stmt()?;
            (None, None)
        } else if body_optional && !self.at(&Tok::LBrace) {
            // an interface method without a default
            self.end_stmt()?;
            (None, None)
        } else if self.defer_bodies && self.depth == 0 {
            let (span, closed) = self.skip_body()?;
            if !closed {
                // a body open at the end of the file: read now, as it would be in place, so
                // its error comes before that of an enclosing declaration's unclosed `{`
                let (body, diags) = parse_body(self.src, span);
                if !diags.is_empty() {
                    // the body ran to the end of the file, where this parser now is: one error
                    // per position, as in place
                    self.last_err_pos = self.pos;
                }
                self.diags.extend(diags);
                (Some(body.ok_or(())?), None)
            } else {
                (None, Some(span))
            }
        } else {
            (Some(self.block()?), None)
        };
        Ok(FuncDecl { public, name, type_params, self_span, params, ret, body, deferred, is_async: false, property: false, span: start.to(self.prev_span()) })
    }

    /// Steps over a `{ ... }` body to its matching `}` (or to the end of the file, where
    /// `parse_body` reports the missing `}`), and returns its span and whether it was closed.
    fn skip_body(&mut self) -> PResult<(Span, bool)> {
        let start = self.expect(Tok::LBrace)?;
        let mut depth = 1u32;
        // the tokens lexed already (the look-ahead), then the lexer skims the rest
        while self.pos < self.base + self.tokens.len() {
            match self.tok(self.pos).tok {
                Tok::Eof => return Ok((start.to(self.span()), false)),
                Tok::LBrace => depth += 1,
                Tok::RBrace => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok((start.to(self.bump_span()), true));
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        self.lexer.skip_braces(depth);
        self.tokens.append(&mut self.lexer.tokens);
        self.fill(self.pos + LOOKAHEAD);
        let closed = self.at(&Tok::RBrace);
        let end = if closed { self.bump_span() } else { self.span() };
        Ok((start.to(end), closed))
    }

    fn params(&mut self, close: Tok, require_types: bool) -> PResult<Vec<Param>> {
        let mut params = Vec::new();
        loop {
            self.skip_newlines();
            if self.at(&close) {
                break;
            }
            if self.at(&Tok::SelfKw) {
                let span = self.span();
                self.diags.push(Diagnostic::error(N0215, "`self` must be the first parameter", span).label("move `self` first"));
                self.advance();
            } else {
                // a pattern in place of a name takes the argument apart
                let pattern = if !self.declarations && matches!(self.peek(), Tok::LParen | Tok::LBracket) || matches!(self.peek(), Tok::Ident(n) if n.starts_with(|c: char| c.is_uppercase())) && self.peek_at(1) == &Tok::LBrace {
                    Some(self.pattern_no_or()?)
                } else {
                    None
                };
                let name = match &pattern {
                    Some(p) => Ident { name: format!("$arg{}", params.len()), span: p.span },
                    None => self.ident()?,
                };
                let ty = if self.eat(&Tok::Colon) {
                    Some(self.type_expr()?)
                } else {
                    if require_types {
                        let span = name.span;
                        let shown = match &pattern {
                            Some(_) => self.src[span.start as usize..span.end as usize].to_string(),
                            None => name.name.clone(),
                        };
                        self.diags.push(
                            Diagnostic::error(N0208, format!("parameter `{shown}` needs a type"), span)
                                .label("missing `: type`")
                                .hint(format!("write `{shown}: int` (or the type it should have)")),
                        );
                    }
                    None
                };
                // `values: any...` (`..` then `.`)
                let variadic = self.declarations && self.at(&Tok::DotDot) && self.peek_at(1) == &Tok::Dot;
                if variadic {
                    self.advance();
                    self.advance();
                }
                let default = if self.eat(&Tok::Eq) { Some(self.expr()?) } else { None };
                params.push(Param { name, ty, default, variadic, pattern });
            }
            self.skip_newlines();
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.skip_newlines();
        Ok(params)
    }

    fn field_decl(&mut self) -> PResult<FieldDecl> {
        let name = self.ident()?;
        self.expect(Tok::Colon)?;
        let ty = self.type_expr()?;
        let default = if self.eat(&Tok::Eq) { Some(self.expr()?) } else { None };
        Ok(FieldDecl { name, ty, default })
    }

    fn struct_decl(&mut self, public: bool) -> PResult<StructDecl> {
        let start = self.expect(Tok::Struct)?;
        let name = self.ident()?;
        let type_params = self.type_params()?;
        let implements = self.implements()?;
        let (fields, methods, _) = self.members(false)?;
        Ok(StructDecl { public, name, type_params, implements, fields, methods, span: start.to(self.prev_span()) })
    }

    /// `actor Name { ... }`; `actor` and `on` are keywords only here, so they stay usable as
    /// names elsewhere (`import std.actor`).
    fn actor_decl(&mut self, public: bool) -> PResult<ActorDecl> {
        let start = self.span();
        self.advance();
        let name = self.ident()?;
        // an actor's methods and handlers are rewritten as a whole before they are compiled
        let defer = std::mem::replace(&mut self.defer_bodies, false);
        let members = self.members(true);
        self.defer_bodies = defer;
        let (fields, methods, handlers) = members?;
        Ok(ActorDecl { public, name, fields, methods, handlers, span: start.to(self.prev_span()) })
    }

    /// `{ fields and methods }` of a struct, or of an actor (which also has `on` handlers).
    #[allow(clippy::type_complexity)]
    fn members(&mut self, handlers_allowed: bool) -> PResult<(Vec<FieldDecl>, Vec<FuncDecl>, Vec<FuncDecl>)> {
        self.expect(Tok::LBrace)?;
        let mut fields = Vec::new();
        let mut methods = Vec::new();
        let mut handlers = Vec::new();
        loop {
            self.skip_newlines();
            while self.eat(&Tok::Comma) {
                self.skip_newlines();
            }
            if self.at(&Tok::RBrace) || self.at(&Tok::Eof) {
                break;
            }
            let mpub = self.eat(&Tok::Pub);
            if self.async_not_allowed("methods") {
                continue;
            }
            let r = if self.at(&Tok::Def) {
                self.func(mpub, false).map(|f| methods.push(f))
            } else if handlers_allowed && matches!(self.peek(), Tok::Ident(s) if s == "on") && matches!(self.peek_at(1), Tok::Ident(_)) {
                // `on name(self, msg: T)`: the rest is parsed as a `def`
                let on = self.bump_span();
                self.func_rest(on, mpub, false).map(|f| handlers.push(f))
            } else {
                self.field_decl().map(|f| fields.push(f))
            };
            if r.is_err() {
                self.sync_stmt();
            }
        }
        self.expect(Tok::RBrace)?;
        Ok((fields, methods, handlers))
    }

    /// `type Name { def ... }` (declarations): the methods of an opaque handle type.
    fn native_type_decl(&mut self, public: bool) -> PResult<NativeTypeDecl> {
        let start = self.bump_span();
        let name = self.ident()?;
        let methods = self.method_block()?;
        Ok(NativeTypeDecl { public, name, methods, span: start.to(self.prev_span()) })
    }

    /// `extend[T: Bound] TYPE { def ... }` (declarations): methods of a built-in type.
    fn extend_decl(&mut self) -> PResult<ExtendDecl> {
        let start = self.bump_span();
        let mut params = Vec::new();
        if self.eat(&Tok::LBracket) {
            loop {
                let name = self.ident()?;
                let bound = if self.eat(&Tok::Colon) { Some(self.ident()?) } else { None };
                params.push((name, bound));
                if !self.eat(&Tok::Comma) {
                    break;
                }
            }
            self.expect(Tok::RBracket)?;
        }
        let target = self.type_expr()?;
        let methods = self.method_block()?;
        Ok(ExtendDecl { params, target, methods, span: start.to(self.prev_span()) })
    }

    /// `{ def ... }`: methods only (a native type's, or an `extend` block's).
    fn method_block(&mut self) -> PResult<Vec<FuncDecl>> {
        self.expect(Tok::LBrace)?;
        let mut methods = Vec::new();
        loop {
            self.skip_newlines();
            if self.at(&Tok::RBrace) || self.at(&Tok::Eof) {
                break;
            }
            let mpub = self.eat(&Tok::Pub);
            let r = if self.at(&Tok::Let) { self.property(mpub) } else { self.func(mpub, false) };
            match r {
                Ok(f) => methods.push(f),
                Err(()) => self.sync_stmt(),
            }
        }
        self.expect(Tok::RBrace)?;
        Ok(methods)
    }

    /// `let name: T` in a native type or `extend` block: a property, read as `x.name`.
    fn property(&mut self, public: bool) -> PResult<FuncDecl> {
        let start = self.expect(Tok::Let)?;
        let name = self.ident()?;
        self.expect(Tok::Colon)?;
        let ret = Some(self.type_expr()?);
        self.end_stmt()?;
        let span = start.to(self.prev_span());
        Ok(FuncDecl { public, self_span: Some(name.span), name, type_params: vec![], params: vec![], ret, body: None, deferred: None, is_async: false, property: true, span })
    }

    fn enum_decl(&mut self, public: bool) -> PResult<EnumDecl> {
        let start = self.expect(Tok::Enum)?;
        let name = self.ident()?;
        let type_params = self.type_params()?;
        let implements = self.implements()?;
        self.expect(Tok::LBrace)?;
        let mut variants = Vec::new();
        let mut methods = Vec::new();
        loop {
            self.skip_newlines();
            while self.eat(&Tok::Comma) {
                self.skip_newlines();
            }
            if self.at(&Tok::RBrace) || self.at(&Tok::Eof) {
                break;
            }
            let mpub = self.eat(&Tok::Pub);
            if self.at(&Tok::Def) {
                match self.func(mpub, false) {
                    Ok(f) => methods.push(f),
                    Err(()) => self.sync_stmt(),
                }
                continue;
            }
            let r = (|| -> PResult<VariantDecl> {
                let vname = self.ident()?;
                let mut fields = Vec::new();
                if self.eat(&Tok::LParen) {
                    let mut i = 0;
                    loop {
                        self.skip_newlines();
                        if self.at(&Tok::RParen) {
                            break;
                        }
                        if matches!(self.peek(), Tok::Ident(_)) && self.peek_at(1) == &Tok::Colon {
                            fields.push(self.field_decl()?);
                        } else {
                            let ty = self.type_expr()?;
                            fields.push(FieldDecl { name: Ident { name: format!("{i}"), span: ty.span() }, ty, default: None });
                        }
                        i += 1;
                        self.skip_newlines();
                        if !self.eat(&Tok::Comma) {
                            break;
                        }
                    }
                    self.skip_newlines();
                    self.expect(Tok::RParen)?;
                }
                let span = vname.span.to(self.prev_span());
                Ok(VariantDecl { name: vname, fields, span })
            })();
            match r {
                Ok(v) => variants.push(v),
                Err(()) => self.sync_stmt(),
            }
        }
        self.expect(Tok::RBrace)?;
        Ok(EnumDecl { public, name, type_params, implements, variants, methods, span: start.to(self.prev_span()) })
    }

    fn interface_decl(&mut self, public: bool) -> PResult<InterfaceDecl> {
        let start = self.expect(Tok::Interface)?;
        let name = self.ident()?;
        let type_params = self.type_params()?;
        self.expect(Tok::LBrace)?;
        let mut methods = Vec::new();
        loop {
            self.skip_newlines();
            if self.at(&Tok::RBrace) || self.at(&Tok::Eof) {
                break;
            }
            match self.func(false, true) {
                Ok(f) => methods.push(f),
                Err(()) => self.sync_stmt(),
            }
        }
        self.expect(Tok::RBrace)?;
        Ok(InterfaceDecl { public, name, type_params, methods, span: start.to(self.prev_span()) })
    }

    // ---- types ----
    fn type_expr(&mut self) -> PResult<TypeExpr> {
        if !self.enter(1) {
            return Err(());
        }
        self.depth += 1;
        let r = self.type_inner();
        self.depth -= 1;
        r
    }

    fn type_inner(&mut self) -> PResult<TypeExpr> {
        let start = self.span();
        let mut t = match self.peek_kind() {
            Tok::LParen => {
                self.advance();
                let mut elems = Vec::new();
                loop {
                    self.skip_newlines();
                    if self.at(&Tok::RParen) {
                        break;
                    }
                    elems.push(self.type_expr()?);
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.expect(Tok::RParen)?;
                if elems.len() == 1 && !matches!(self.tok(self.pos - 2).tok, Tok::Comma) {
                    elems.pop().unwrap()
                } else {
                    TypeExpr::Tuple(elems, start.to(self.prev_span()))
                }
            }
            Tok::Fn => {
                self.closures += 1;
                self.advance();
                self.expect(Tok::LParen)?;
                let mut params = Vec::new();
                loop {
                    if self.at(&Tok::RParen) {
                        break;
                    }
                    params.push(self.type_expr()?);
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.expect(Tok::RParen)?;
                let ret = if self.eat(&Tok::Arrow) { Some(Box::new(self.type_expr()?)) } else { None };
                TypeExpr::Func { params, ret, span: start.to(self.prev_span()) }
            }
            Tok::None_ => {
                let span = self.bump_span();
                TypeExpr::Named { path: vec![Ident { name: "none".into(), span }], args: vec![], span }
            }
            Tok::Ident(_) => {
                let path = self.dotted()?;
                let mut args = Vec::new();
                if self.eat(&Tok::LBracket) {
                    loop {
                        args.push(self.type_expr()?);
                        if !self.eat(&Tok::Comma) {
                            break;
                        }
                    }
                    self.expect(Tok::RBracket)?;
                }
                TypeExpr::Named { path, args, span: start.to(self.prev_span()) }
            }
            _ => {
                self.error_here("expected a type");
                return Err(());
            }
        };
        while self.at(&Tok::Question) {
            self.advance();
            t = TypeExpr::Optional(Box::new(t), start.to(self.prev_span()));
        }
        Ok(t)
    }

    // ---- statements ----
    fn block(&mut self) -> PResult<Block> {
        if !self.enter(1) {
            return Err(());
        }
        self.depth += 1;
        let r = self.block_inner();
        self.depth -= 1;
        r
    }

    fn block_inner(&mut self) -> PResult<Block> {
        let closures = self.closures;
        let start = self.expect(Tok::LBrace)?;
        let mut stmts = Vec::new();
        loop {
            self.skip_newlines();
            if self.at(&Tok::RBrace) || self.at(&Tok::Eof) {
                break;
            }
            if let Ok(s) = self.stmt_recover() {
                stmts.push(s);
            }
        }
        self.expect(Tok::RBrace)?;
        // (no shrink_to_fit: the compiler holds one body's tree at a time, and a shrink is a
        // reallocation per list)
        Ok(Block { stmts, span: start.to(self.prev_span()), has_closure: self.closures != closures })
    }

    fn stmt(&mut self) -> PResult<Stmt> {
        let start = self.span();
        if matches!(self.peek(), Tok::Ident(n) if n == "const") && matches!(self.peek_at(1), Tok::Ident(_)) {
            self.diags.push(
                Diagnostic::error(N0010, "`const` declares a constant of the module, not of a block", start)
                    .label("inside a function or block")
                    .hint("declare it at the top level of the file, or use `let` here"),
            );
            return Err(());
        }
        let s = match self.peek() {
            Tok::Let | Tok::Var => {
                let mutable = self.bump_is(&Tok::Var);
                let pat = self.pattern_no_or()?;
                let ty = if self.eat(&Tok::Colon) { Some(self.type_expr()?) } else { None };
                if !self.at(&Tok::Eq) {
                    let span = self.span();
                    self.error_at(span, format!("expected `=` and a value, found {}", self.peek().describe()), "bindings need a value");
                    return Err(());
                }
                self.advance();
                let value = self.expr()?;
                Stmt::Let { mutable, pat: Box::new(pat), ty: ty.map(Box::new), value, span: start.to(self.prev_span()) }
            }
            Tok::Return => {
                self.advance();
                let value = if matches!(self.peek(), Tok::Newline | Tok::Semi | Tok::RBrace | Tok::Eof) { None } else { Some(self.expr()?) };
                Stmt::Return(value, start.to(self.prev_span()))
            }
            Tok::Break => {
                self.advance();
                Stmt::Break(start)
            }
            Tok::Continue => {
                self.advance();
                Stmt::Continue(start)
            }
            Tok::Throw => {
                self.advance();
                let e = self.expr()?;
                Stmt::Throw(e, start.to(self.prev_span()))
            }
            Tok::While => {
                self.advance();
                let cond = self.expr()?;
                let body = self.block()?;
                Stmt::While { cond, body, span: start.to(self.prev_span()) }
            }
            Tok::For => {
                self.advance();
                let pat = self.pattern_no_or()?;
                self.expect(Tok::In)?;
                let iter = self.expr()?;
                let body = self.block()?;
                Stmt::For { pat: Box::new(pat), iter, body, span: start.to(self.prev_span()) }
            }
            Tok::Try => {
                self.advance();
                let body = self.block()?;
                let mut catch = Vec::new();
                let mut finally = None;
                while self.peek_past_newlines(&Tok::Catch) {
                    self.skip_newlines();
                    self.advance();
                    let name = self.ident()?;
                    let ty = if self.eat(&Tok::Colon) { Some(self.type_expr()?) } else { None };
                    let body = self.block()?;
                    catch.push(CatchClause { name, ty, body });
                }
                if self.peek_past_newlines(&Tok::Finally) {
                    self.skip_newlines();
                    self.advance();
                    finally = Some(self.block()?);
                }
                if catch.is_empty() && finally.is_none() {
                    let span = self.span();
                    self.error_at(span, "expected `catch` or `finally` after a `try` block".into(), "");
                    return Err(());
                }
                Stmt::Try { body: Box::new(body), catch, finally: finally.map(Box::new), span: start.to(self.prev_span()) }
            }
            Tok::With => {
                self.advance();
                // `as NAME {` ends the value: it names the value rather than casting it
                let outer = std::mem::replace(&mut self.with_head, true);
                let value = self.expr();
                self.with_head = outer;
                let value = value?;
                let name = if self.eat(&Tok::As) { Some(self.ident()?) } else { None };
                let body = self.block()?;
                Stmt::With { value, name, body: Box::new(body), span: start.to(self.prev_span()) }
            }
            Tok::Def => {
                self.closures += 1;
                Stmt::Func(Box::new(self.func(false, false)?))
            }
            Tok::Ident(s) if s == "async" && self.peek_at(1) == &Tok::Def => {
                self.async_not_allowed("nested functions");
                self.closures += 1;
                Stmt::Func(Box::new(self.func(false, false)?))
            }
            _ => {
                let e = self.expr()?;
                if self.at(&Tok::Comma) {
                    // tuple assignment: a, b = b, a
                    let mut targets = vec![e];
                    while self.eat(&Tok::Comma) {
                        targets.push(self.expr()?);
                    }
                    let tspan = start.to(self.prev_span());
                    self.expect(Tok::Eq)?;
                    let vstart = self.span();
                    let mut values = vec![self.expr()?];
                    while self.eat(&Tok::Comma) {
                        values.push(self.expr()?);
                    }
                    let vspan = vstart.to(self.prev_span());
                    let value = if values.len() == 1 { values.pop().unwrap() } else { Expr { kind: ExprKind::Tuple(values), span: vspan } };
                    Stmt::Assign { target: Expr { kind: ExprKind::Tuple(targets), span: tspan }, op: None, value, span: start.to(self.prev_span()) }
                } else {
                    let op = match self.peek() {
                        Tok::Eq => Some(None),
                        Tok::PlusEq => Some(Some(BinOp::Add)),
                        Tok::MinusEq => Some(Some(BinOp::Sub)),
                        Tok::StarEq => Some(Some(BinOp::Mul)),
                        Tok::StarStarEq => Some(Some(BinOp::Pow)),
                        Tok::SlashEq => Some(Some(BinOp::Div)),
                        Tok::SlashSlashEq => Some(Some(BinOp::FloorDiv)),
                        Tok::PercentEq => Some(Some(BinOp::Mod)),
                        Tok::AtEq => Some(Some(BinOp::MatMul)),
                        _ => None,
                    };
                    match op {
                        Some(op) => {
                            self.advance();
                            let value = self.expr()?;
                            Stmt::Assign { target: e, op, value, span: start.to(self.prev_span()) }
                        }
                        None => Stmt::Expr(e),
                    }
                }
            }
        };
        self.end_stmt()?;
        Ok(s)
    }

    // ---- expressions ----
    /// The `for`/`if` clauses of a comprehension whose element (and value) are parsed, and its
    /// closing bracket.
    fn comprehension(&mut self, kind: CompKind, elem: Expr, value: Option<Expr>, close: Tok, closures: u32, start: Span) -> PResult<Expr> {
        let mut clauses = Vec::new();
        loop {
            self.skip_newlines();
            if self.eat(&Tok::For) {
                let pat = self.pattern_no_or()?;
                self.expect(Tok::In)?;
                let iter = self.expr()?;
                clauses.push(CompClause::For { pat, iter });
            } else if self.eat(&Tok::If) {
                clauses.push(CompClause::If(self.expr()?));
            } else {
                break;
            }
        }
        self.expect(close)?;
        let has_closure = self.closures != closures;
        let kind = ExprKind::Comprehension(Box::new(Comprehension { kind, elem, value, clauses, has_closure }));
        Ok(Expr { kind, span: start.to(self.prev_span()) })
    }

    pub fn expr(&mut self) -> PResult<Expr> {
        self.expr_bp(0)
    }

    /// Enters one more level of nesting; false (with an error) past `MAX_NESTING`.
    fn enter(&mut self, levels: u32) -> bool {
        if self.depth + levels > MAX_NESTING {
            let span = self.span();
            if self.last_err_pos != self.pos {
                self.last_err_pos = self.pos;
                self.diags.push(
                    Diagnostic::error(N0013, format!("nested too deeply (more than {MAX_NESTING} levels)"), span)
                        .label("nesting limit reached here")
                        .hint("split the expression or block into smaller functions or variables"),
                );
            }
            return false;
        }
        true
    }

    fn expr_bp(&mut self, min_bp: u8) -> PResult<Expr> {
        if !self.enter(1) {
            return Err(());
        }
        self.depth += 1;
        let r = self.expr_bp_inner(min_bp);
        self.depth -= 1;
        r
    }

    fn expr_bp_inner(&mut self, min_bp: u8) -> PResult<Expr> {
        let outer = self.depth;
        let r = self.expr_bp_loop(min_bp);
        self.depth = outer;
        r
    }

    fn expr_bp_loop(&mut self, min_bp: u8) -> PResult<Expr> {
        let mut lhs = self.prefix()?;
        loop {
            // each operator applied nests the tree one level deeper
            if !self.enter(1) {
                return Err(());
            }
            self.depth += 1;
            let t = self.peek_kind();
            // `not in`
            if t == Tok::Not && self.peek_at(1) == &Tok::In {
                if BP_CMP < min_bp || BP_CMP == min_bp {
                    break;
                }
                self.advance();
                self.advance();
                let rhs = self.expr_bp(BP_CMP)?;
                self.no_chained_comparison();
                let span = lhs.span.to(rhs.span);
                lhs = Expr { kind: ExprKind::Binary(BinOp::NotIn, Box::new(lhs), Box::new(rhs)), span };
                continue;
            }
            if matches!(t, Tok::Is | Tok::As) {
                if 13 <= min_bp {
                    break;
                }
                if t == Tok::As && self.with_head && matches!(self.peek_at(1), Tok::Ident(_)) && self.peek_at(2) == &Tok::LBrace {
                    break;
                }
                self.advance();
                let ty = self.type_expr()?;
                let span = lhs.span.to(ty.span());
                lhs = Expr {
                    kind: if t == Tok::Is { ExprKind::Is(Box::new(lhs), Box::new(ty)) } else { ExprKind::As(Box::new(lhs), Box::new(ty)) },
                    span,
                };
                continue;
            }
            if matches!(t, Tok::DotDot | Tok::DotDotEq) {
                if BP_RANGE <= min_bp {
                    break;
                }
                self.advance();
                let rhs = self.expr_bp(BP_RANGE)?;
                let span = lhs.span.to(rhs.span);
                lhs = Expr { kind: ExprKind::Range { start: Box::new(lhs), end: Box::new(rhs), inclusive: t == Tok::DotDotEq }, span };
                continue;
            }
            let Some((bp, op)) = infix_bp(&t) else { break };
            if bp <= min_bp {
                break;
            }
            self.advance();
            // `**` is right associative; comparisons do not chain.
            let rbp = if op == BinOp::Pow { bp - 1 } else { bp };
            let rhs = if op == BinOp::Pow { self.pow_rhs()? } else { self.expr_bp(rbp)? };
            if bp == BP_CMP {
                self.no_chained_comparison();
            }
            let span = lhs.span.to(rhs.span);
            lhs = Expr { kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)), span };
        }
        Ok(lhs)
    }

    /// After a comparison: another comparison operator would chain, which Noodle refuses.
    fn no_chained_comparison(&mut self) {
        let chained = matches!(infix_bp(self.peek()), Some((BP_CMP, _))) || (self.at(&Tok::Not) && self.peek_at(1) == &Tok::In);
        if chained {
            let span = self.span();
            self.diags.push(Diagnostic::error(N0010, "comparison operators cannot be chained", span).hint("write `a < b and b < c`"));
        }
    }

    /// The right operand of `**`: a unary expression that may itself contain `**`.
    fn pow_rhs(&mut self) -> PResult<Expr> {
        self.expr_bp(BP_UNARY)
    }

    fn prefix(&mut self) -> PResult<Expr> {
        let start = self.span();
        match self.peek() {
            Tok::Minus => {
                self.advance();
                // -9223372036854775808 is a valid literal
                if let Tok::Int(v) = *self.peek() {
                    if v == 1u64 << 63 && !matches!(self.peek_at(1), Tok::StarStar) {
                        let end = self.bump_span();
                        return self.postfix(Expr { kind: ExprKind::Int(i64::MIN), span: start.to(end) });
                    }
                }
                let e = self.expr_bp(BP_UNARY)?;
                let span = start.to(e.span);
                Ok(Expr { kind: ExprKind::Unary(UnOp::Neg, Box::new(e)), span })
            }
            Tok::Tilde => {
                self.advance();
                let e = self.expr_bp(BP_UNARY)?;
                let span = start.to(e.span);
                Ok(Expr { kind: ExprKind::Unary(UnOp::BitNot, Box::new(e)), span })
            }
            Tok::Not => {
                self.advance();
                let e = self.expr_bp(BP_NOT)?;
                let span = start.to(e.span);
                Ok(Expr { kind: ExprKind::Unary(UnOp::Not, Box::new(e)), span })
            }
            Tok::Await => {
                self.advance();
                let e = self.expr_bp(BP_UNARY)?;
                let span = start.to(e.span);
                Ok(Expr { kind: ExprKind::Await(Box::new(e)), span })
            }
            Tok::Spawn => {
                self.advance();
                let options = if self.eat(&Tok::LParen) {
                    let args = self.args()?;
                    self.expect(Tok::RParen)?;
                    if let Some(a) = args.iter().find(|a| a.name.is_none()) {
                        let span = a.value.span;
                        self.error_at(span, "spawn options are named: `spawn(name: \"w1\", capacity: 100) Worker()`".into(), "give this option a name");
                        return Err(());
                    }
                    args
                } else {
                    Vec::new()
                };
                let call = self.expr_bp(BP_UNARY)?;
                if !matches!(call.kind, ExprKind::Call { .. }) {
                    let span = call.span;
                    self.error_at(span, "`spawn` needs a call: `spawn Counter(0)` starts an actor, `spawn f(x)` a task".into(), "expected a call");
                    return Err(());
                }
                let span = start.to(call.span);
                Ok(Expr { kind: ExprKind::Spawn { options, call: Box::new(call) }, span })
            }
            _ => {
                let e = self.primary()?;
                self.postfix(e)
            }
        }
    }

    fn postfix(&mut self, e: Expr) -> PResult<Expr> {
        let outer = self.depth;
        let r = self.postfix_loop(e);
        self.depth = outer;
        r
    }

    fn postfix_loop(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            if matches!(self.peek(), Tok::LParen | Tok::Dot | Tok::QuestionDot | Tok::LBracket | Tok::Bang) {
                // each postfix operation nests the tree one level deeper
                if !self.enter(1) {
                    return Err(());
                }
                self.depth += 1;
            }
            match self.peek_kind() {
                Tok::LParen => {
                    self.advance();
                    let args = self.args()?;
                    self.expect(Tok::RParen)?;
                    let span = e.span.to(self.prev_span());
                    e = Expr { kind: ExprKind::Call { callee: Box::new(e), args }, span };
                }
                Tok::Dot | Tok::QuestionDot => {
                    let optional = self.bump_is(&Tok::QuestionDot);
                    match self.peek_kind() {
                        Tok::Int(i) if !optional => {
                            self.advance();
                            let span = e.span.to(self.prev_span());
                            e = Expr { kind: ExprKind::TupleField { target: Box::new(e), index: i as u32 }, span };
                        }
                        Tok::Float(_) if !optional => {
                            // `t.0.1` lexes as `t` `.` `0.1`
                            let tspan = self.bump_span();
                            let text = &self.src[tspan.start as usize..tspan.end as usize];
                            let mut parts = text.split('.');
                            let a: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                            let b: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
                            let s1 = e.span.to(tspan);
                            e = Expr { kind: ExprKind::TupleField { target: Box::new(e), index: a }, span: s1 };
                            e = Expr { kind: ExprKind::TupleField { target: Box::new(e), index: b }, span: s1 };
                        }
                        _ => {
                            let name = self.member_name()?;
                            let span = e.span.to(name.span);
                            e = Expr { kind: ExprKind::Field { target: Box::new(e), name, optional }, span };
                        }
                    }
                }
                Tok::LBracket => {
                    self.advance();
                    self.skip_newlines();
                    let mut items = vec![self.subscript_item()?];
                    while self.eat(&Tok::Comma) {
                        self.skip_newlines();
                        if self.at(&Tok::RBracket) {
                            break;
                        }
                        items.push(self.subscript_item()?);
                    }
                    self.skip_newlines();
                    self.expect(Tok::RBracket)?;
                    let span = e.span.to(self.prev_span());
                    let target = Box::new(e);
                    let kind = if items.len() == 1 {
                        match items.pop().unwrap() {
                            // `xs[a:b]`: the plain slice of lists, strings and bytes
                            Expr { kind: ExprKind::SliceItem { start, stop, step: None }, .. } => ExprKind::Slice { target, start, end: stop },
                            index => ExprKind::Index { target, index: Box::new(index) },
                        }
                    } else {
                        let first = items[0].span;
                        let last = items[items.len() - 1].span;
                        ExprKind::Index { target, index: Box::new(Expr { kind: ExprKind::Tuple(items), span: first.to(last) }) }
                    };
                    e = Expr { kind, span };
                }
                Tok::Bang => {
                    self.advance();
                    let span = e.span.to(self.prev_span());
                    e = Expr { kind: ExprKind::Unwrap(Box::new(e)), span };
                }
                _ => return Ok(e),
            }
        }
    }

    /// One entry of a subscript: an expression, or a slice `start:stop:step` with each part
    /// optional.
    fn subscript_item(&mut self) -> PResult<Expr> {
        let begin = self.span();
        let ends = |t: &Tok| matches!(t, Tok::Colon | Tok::Comma | Tok::RBracket);
        let start = if ends(self.peek()) { None } else { Some(Box::new(self.expr()?)) };
        if !self.eat(&Tok::Colon) {
            return match start {
                Some(e) => Ok(*e),
                // `t[]`, `t[, 1]`: reports "expected an expression"
                None => self.expr(),
            };
        }
        let stop = if ends(self.peek()) { None } else { Some(Box::new(self.expr()?)) };
        let step = if self.eat(&Tok::Colon) {
            if matches!(self.peek(), Tok::Comma | Tok::RBracket) { None } else { Some(Box::new(self.expr()?)) }
        } else {
            None
        };
        Ok(Expr { kind: ExprKind::SliceItem { start, stop, step }, span: begin.to(self.prev_span()) })
    }

    fn args(&mut self) -> PResult<Vec<Arg>> {
        let mut args = Vec::new();
        loop {
            self.skip_newlines();
            if self.at(&Tok::RParen) {
                break;
            }
            let name = if matches!(self.peek(), Tok::Ident(_)) && self.peek_at(1) == &Tok::Colon {
                let n = self.ident()?;
                self.advance();
                Some(n)
            } else {
                None
            };
            let value = self.expr()?;
            args.push(Arg { name, value });
            self.skip_newlines();
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.skip_newlines();
        Ok(args)
    }

    fn primary(&mut self) -> PResult<Expr> {
        let start = self.span();
        // every arm that uses the token's text consumes the token
        let tok = self.take_tok();
        let kind = match tok {
            Tok::Int(v) => {
                self.advance();
                if v > i64::MAX as u64 {
                    self.diags.push(
                        Diagnostic::error(N0003, "integer literal is too large", start)
                            .label("does not fit in a 64-bit int")
                            .hint("the largest int is 9223372036854775807"),
                    );
                }
                ExprKind::Int(v as i64)
            }
            Tok::Float(v) => {
                self.advance();
                ExprKind::Float(v)
            }
            Tok::Str(s) => {
                self.advance();
                ExprKind::Str(s)
            }
            Tok::Bytes(b) => {
                self.advance();
                ExprKind::Bytes(b)
            }
            Tok::FStr(parts) => {
                self.advance();
                let mut out = Vec::new();
                for p in parts {
                    match p {
                        FPart::Lit(s) => out.push(FStrPart::Lit(s)),
                        FPart::Expr { start: s, end, spec } => {
                            // a hole is one level deeper than the f-string: f-strings nested
                            // in holes count against the nesting limit like parentheses
                            if !self.enter(1) {
                                out.push(FStrPart::Expr(Expr { kind: ExprKind::Error, span: Span::new(self.file, s, end) }, spec));
                                continue;
                            }
                            let (toks, d) = lex(self.src, self.file, s, end);
                            self.diags.extend(d);
                            let toks: Vec<Token> = toks.into_iter().filter(|t| t.tok != Tok::Newline).collect();
                            let mut sub = Parser::from_tokens(self.src, self.file, toks);
                            sub.depth = self.depth + 1;
                            let r = sub.expr();
                            if r.is_ok() && !sub.at(&Tok::Eof) {
                                sub.error_here("expected `}` after the f-string expression");
                            }
                            self.diags.extend(sub.diags);
                            out.push(FStrPart::Expr(r.unwrap_or(Expr { kind: ExprKind::Error, span: Span::new(self.file, s, end) }), spec));
                        }
                    }
                }
                ExprKind::FStr(out)
            }
            Tok::True => {
                self.advance();
                ExprKind::Bool(true)
            }
            Tok::False => {
                self.advance();
                ExprKind::Bool(false)
            }
            Tok::None_ => {
                self.advance();
                ExprKind::None
            }
            Tok::SelfKw => {
                self.advance();
                ExprKind::SelfRef
            }
            Tok::Ident(name) => {
                self.advance();
                ExprKind::Name(name)
            }
            Tok::LParen => {
                self.advance();
                self.skip_newlines();
                if self.eat(&Tok::RParen) {
                    ExprKind::Tuple(vec![])
                } else {
                    let first = self.expr()?;
                    self.skip_newlines();
                    if self.eat(&Tok::Comma) {
                        let mut elems = vec![first];
                        loop {
                            self.skip_newlines();
                            if self.at(&Tok::RParen) {
                                break;
                            }
                            elems.push(self.expr()?);
                            self.skip_newlines();
                            if !self.eat(&Tok::Comma) {
                                break;
                            }
                        }
                        self.skip_newlines();
                        self.expect(Tok::RParen)?;
                        ExprKind::Tuple(elems)
                    } else {
                        self.expect(Tok::RParen)?;
                        // keep the parenthesised span
                        return Ok(Expr { kind: first.kind, span: start.to(self.prev_span()) });
                    }
                }
            }
            Tok::LBracket => {
                self.advance();
                let mut elems = Vec::new();
                let closures = self.closures;
                loop {
                    self.skip_newlines();
                    if self.at(&Tok::RBracket) {
                        break;
                    }
                    elems.push(self.expr()?);
                    if elems.len() == 1 && self.at(&Tok::For) {
                        let elem = elems.pop().unwrap();
                        return self.comprehension(CompKind::List, elem, None, Tok::RBracket, closures, start);
                    }
                    self.skip_newlines();
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.skip_newlines();
                self.expect(Tok::RBracket)?;
                ExprKind::List(elems)
            }
            Tok::LBrace => {
                self.advance();
                self.skip_newlines();
                if self.eat(&Tok::RBrace) {
                    ExprKind::Dict(vec![])
                } else {
                    let closures = self.closures;
                    let first = self.expr()?;
                    if self.at(&Tok::For) {
                        return self.comprehension(CompKind::Set, first, None, Tok::RBrace, closures, start);
                    }
                    if self.eat(&Tok::Colon) {
                        let v = self.expr()?;
                        if self.at(&Tok::For) {
                            return self.comprehension(CompKind::Dict, first, Some(v), Tok::RBrace, closures, start);
                        }
                        let mut entries = vec![(first, v)];
                        loop {
                            self.skip_newlines();
                            if !self.eat(&Tok::Comma) {
                                break;
                            }
                            self.skip_newlines();
                            if self.at(&Tok::RBrace) {
                                break;
                            }
                            let k = self.expr()?;
                            self.expect(Tok::Colon)?;
                            let v = self.expr()?;
                            entries.push((k, v));
                        }
                        self.skip_newlines();
                        self.expect(Tok::RBrace)?;
                        ExprKind::Dict(entries)
                    } else {
                        let mut elems = vec![first];
                        loop {
                            self.skip_newlines();
                            if !self.eat(&Tok::Comma) {
                                break;
                            }
                            self.skip_newlines();
                            if self.at(&Tok::RBrace) {
                                break;
                            }
                            elems.push(self.expr()?);
                        }
                        self.skip_newlines();
                        self.expect(Tok::RBrace)?;
                        ExprKind::Set(elems)
                    }
                }
            }
            Tok::Fn => {
                self.closures += 1;
                self.advance();
                self.expect(Tok::LParen)?;
                let params = self.params(Tok::RParen, false)?;
                self.expect(Tok::RParen)?;
                let ret = if self.eat(&Tok::Arrow) { Some(self.type_expr()?) } else { None };
                let body = if self.at(&Tok::FatArrow) {
                    self.advance();
                    let closures = self.closures;
                    let e = self.expr()?;
                    let span = e.span;
                    Block { stmts: vec![Stmt::Return(Some(e), span)], span, has_closure: self.closures != closures }
                } else {
                    self.block()?
                };
                ExprKind::Lambda { params, ret: ret.map(Box::new), body: Box::new(body) }
            }
            Tok::If => return self.if_expr(),
            Tok::Match => {
                self.advance();
                let scrutinee = self.expr()?;
                self.expect(Tok::LBrace)?;
                let mut arms = Vec::new();
                loop {
                    self.skip_newlines();
                    while self.eat(&Tok::Comma) {
                        self.skip_newlines();
                    }
                    if self.at(&Tok::RBrace) || self.at(&Tok::Eof) {
                        break;
                    }
                    let r = (|| -> PResult<MatchArm> {
                        let pat = self.pattern()?;
                        let guard = if self.eat(&Tok::If) { Some(self.expr()?) } else { None };
                        self.expect(Tok::FatArrow)?;
                        let body = if self.at(&Tok::LBrace) {
                            let b = self.block()?;
                            let span = b.span;
                            Expr { kind: ExprKind::Block(b), span }
                        } else {
                            self.expr()?
                        };
                        let span = pat.span.to(body.span);
                        Ok(MatchArm { pat, guard, body, span })
                    })();
                    match r {
                        Ok(a) => arms.push(a),
                        Err(()) => self.sync_stmt(),
                    }
                }
                self.expect(Tok::RBrace)?;
                ExprKind::Match { scrutinee: Box::new(scrutinee), arms }
            }
            _ => {
                let found = tok.describe();
                self.error_at(start, format!("expected an expression, found {found}"), "expected an expression");
                return Err(());
            }
        };
        Ok(Expr { kind, span: start.to(self.prev_span()) })
    }

    /// `if` with its `elif` / `else if` arms, read in a loop: a chain of 20,000 arms takes no
    /// more stack than one.
    fn if_expr(&mut self) -> PResult<Expr> {
        let start = self.expect(Tok::If)?;
        let mut arms = Vec::new();
        let mut starts = vec![start];
        let mut else_ = None;
        loop {
            let cond = self.expr()?;
            let then = self.block()?;
            arms.push(IfArm { cond, then, span: *starts.last().unwrap() });
            if self.peek_past_newlines(&Tok::Elif) {
                self.skip_newlines();
                starts.push(self.span());
                self.advance();
            } else if self.peek_past_newlines(&Tok::Else) {
                self.skip_newlines();
                self.advance();
                if self.at(&Tok::If) {
                    starts.push(self.span());
                    self.advance();
                } else {
                    else_ = Some(Box::new(self.block()?));
                    break;
                }
            } else {
                break;
            }
        }
        let end = self.prev_span();
        for (arm, s) in arms.iter_mut().zip(&starts) {
            arm.span = s.to(end);
        }
        Ok(Expr { kind: ExprKind::If { arms, else_ }, span: start.to(end) })
    }

    // ---- patterns ----
    fn pattern(&mut self) -> PResult<Pattern> {
        let first = self.pattern_no_or()?;
        if !self.at(&Tok::Pipe) {
            return Ok(first);
        }
        let mut alts = vec![first];
        while self.eat(&Tok::Pipe) {
            alts.push(self.pattern_no_or()?);
        }
        let span = alts[0].span.to(alts.last().unwrap().span);
        Ok(Pattern { kind: PatKind::Or(alts), span })
    }

    fn pattern_no_or(&mut self) -> PResult<Pattern> {
        if !self.enter(1) {
            return Err(());
        }
        self.depth += 1;
        let r = self.pattern_inner();
        self.depth -= 1;
        r
    }

    fn pattern_inner(&mut self) -> PResult<Pattern> {
        let start = self.span();
        let wildcard = matches!(self.peek(), Tok::Ident(name) if name == "_");
        let kind = match self.peek_kind() {
            Tok::Ident(_) if wildcard => {
                self.advance();
                PatKind::Wildcard
            }
            Tok::Ident(_) => {
                let path = self.dotted()?;
                if self.at(&Tok::LParen) {
                    self.advance();
                    let mut args = Vec::new();
                    loop {
                        self.skip_newlines();
                        if self.at(&Tok::RParen) {
                            break;
                        }
                        args.push(self.pattern()?);
                        if !self.eat(&Tok::Comma) {
                            break;
                        }
                    }
                    self.skip_newlines();
                    self.expect(Tok::RParen)?;
                    PatKind::Variant { path, args: Some(args) }
                } else if self.at(&Tok::LBrace) && path.last().is_some_and(|p| p.name.chars().next().is_some_and(|c| c.is_uppercase())) {
                    self.advance();
                    let mut fields = Vec::new();
                    loop {
                        self.skip_newlines();
                        if self.at(&Tok::RBrace) {
                            break;
                        }
                        let f = self.ident()?;
                        let p = if self.eat(&Tok::Colon) {
                            self.pattern()?
                        } else {
                            Pattern { kind: PatKind::Bind(f.name.clone()), span: f.span }
                        };
                        fields.push((f, p));
                        self.skip_newlines();
                        if !self.eat(&Tok::Comma) {
                            break;
                        }
                    }
                    self.skip_newlines();
                    self.expect(Tok::RBrace)?;
                    PatKind::Struct { path, fields }
                } else if path.len() == 1 {
                    PatKind::Bind(path[0].name.clone())
                } else {
                    PatKind::Variant { path, args: None }
                }
            }
            Tok::Minus | Tok::Int(_) => {
                let neg = self.eat(&Tok::Minus);
                match *self.peek() {
                    Tok::Int(v) => {
                        self.advance();
                        let v = if neg { (v as i64).wrapping_neg() } else { v as i64 };
                        if matches!(self.peek(), Tok::DotDot | Tok::DotDotEq) {
                            let inclusive = self.bump_is(&Tok::DotDotEq);
                            let neg2 = self.eat(&Tok::Minus);
                            match *self.peek() {
                                Tok::Int(h) => {
                                    self.advance();
                                    let h = if neg2 { (h as i64).wrapping_neg() } else { h as i64 };
                                    PatKind::Range { lo: v, hi: h, inclusive }
                                }
                                _ => {
                                    self.error_here("expected an integer to end the range pattern");
                                    return Err(());
                                }
                            }
                        } else {
                            PatKind::Int(v)
                        }
                    }
                    Tok::Float(f) => {
                        self.advance();
                        PatKind::Float(if neg { -f } else { f })
                    }
                    _ => {
                        self.error_here("expected a number after `-` in a pattern");
                        return Err(());
                    }
                }
            }
            Tok::Float(f) => {
                self.advance();
                PatKind::Float(f)
            }
            Tok::LBracket => {
                self.advance();
                let mut items = Vec::new();
                let mut rest = None;
                loop {
                    self.skip_newlines();
                    if self.at(&Tok::RBracket) {
                        break;
                    }
                    if self.eat(&Tok::Star) {
                        let name = self.ident()?;
                        if rest.is_some() {
                            self.diags.push(Diagnostic::error(N0010, "a list pattern can have only one `*rest`", name.span));
                        }
                        rest = Some((items.len(), if name.name == "_" { None } else { Some(name) }));
                    } else {
                        items.push(self.pattern()?);
                    }
                    self.skip_newlines();
                    if !self.eat(&Tok::Comma) {
                        break;
                    }
                }
                self.skip_newlines();
                self.expect(Tok::RBracket)?;
                PatKind::List { items, rest }
            }
            Tok::Str(_) => {
                let Tok::Str(s) = self.take_tok() else { unreachable!() };
                self.advance();
                PatKind::Str(s)
            }
            Tok::True => {
                self.advance();
                PatKind::Bool(true)
            }
            Tok::False => {
                self.advance();
                PatKind::Bool(false)
            }
            Tok::None_ => {
                self.advance();
                PatKind::None
            }
            Tok::LParen => {
                self.advance();
                let mut elems = Vec::new();
                let mut trailing_comma = false;
                loop {
                    self.skip_newlines();
                    if self.at(&Tok::RParen) {
                        break;
                    }
                    elems.push(self.pattern()?);
                    trailing_comma = self.eat(&Tok::Comma);
                    if !trailing_comma {
                        break;
                    }
                }
                self.expect(Tok::RParen)?;
                if elems.len() == 1 && !trailing_comma {
                    return Ok(elems.pop().unwrap());
                }
                PatKind::Tuple(elems)
            }
            _ => {
                self.error_here("expected a pattern");
                return Err(());
            }
        };
        Ok(Pattern { kind, span: start.to(self.prev_span()) })
    }
}
