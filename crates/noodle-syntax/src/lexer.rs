//! The lexer: UTF-8 text to tokens. Newlines are significant: a `Newline` token is produced at
//! the end of a line when the line could end a statement, outside parentheses and brackets.
//! A line whose next line starts with `.` or `?.` continues (method chains).

use crate::codes::{N0001, N0002, N0003, N0004, N0010};
use crate::diag::Diagnostic;
use crate::span::Span;

#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    Int(u64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    FStr(Vec<FPart>),
    // keywords
    Let, Var, Def, Fn, Return, If, Elif, Else, While, For, In, Break, Continue, Match, Struct,
    Enum, Interface, Pub, Import, From, As, Throw, Try, Catch, Finally, True, False, None_, And,
    Or, Not, Is, SelfKw, With, Spawn, Await,
    // punctuation
    LParen, RParen, LBracket, RBracket, LBrace, RBrace, Comma, Dot, Colon, Semi, Arrow, FatArrow,
    Question, QuestionDot, QuestionQuestion, Bang, Eq, EqEq, NotEq, Lt, Le, Gt, Ge, Plus, Minus,
    Star, StarStar, Slash, SlashSlash, Percent, Amp, Pipe, Caret, Tilde, Shl, Shr, DotDot,
    DotDotEq, At, AtEq, PlusEq, MinusEq, StarEq, StarStarEq, SlashEq, SlashSlashEq, PercentEq,
    Newline,
    Eof,
}

/// A piece of an f-string: literal text, or an expression (by byte range in the source) with an
/// optional format spec.
#[derive(Clone, Debug, PartialEq)]
pub enum FPart {
    Lit(String),
    Expr { start: usize, end: usize, spec: Option<String> },
}

#[derive(Clone, Debug)]
pub struct Token {
    pub tok: Tok,
    pub span: Span,
}

pub fn keyword(s: &str) -> Option<Tok> {
    Some(match s {
        "let" => Tok::Let,
        "var" => Tok::Var,
        "def" => Tok::Def,
        "fn" => Tok::Fn,
        "return" => Tok::Return,
        "if" => Tok::If,
        "elif" => Tok::Elif,
        "else" => Tok::Else,
        "while" => Tok::While,
        "for" => Tok::For,
        "in" => Tok::In,
        "break" => Tok::Break,
        "continue" => Tok::Continue,
        "match" => Tok::Match,
        "struct" => Tok::Struct,
        "enum" => Tok::Enum,
        "interface" => Tok::Interface,
        "pub" => Tok::Pub,
        "import" => Tok::Import,
        "from" => Tok::From,
        "as" => Tok::As,
        "throw" => Tok::Throw,
        "try" => Tok::Try,
        "catch" => Tok::Catch,
        "finally" => Tok::Finally,
        "with" => Tok::With,
        "spawn" => Tok::Spawn,
        "await" => Tok::Await,
        "true" => Tok::True,
        "false" => Tok::False,
        "none" => Tok::None_,
        "and" => Tok::And,
        "or" => Tok::Or,
        "not" => Tok::Not,
        "is" => Tok::Is,
        "self" => Tok::SelfKw,
        _ => return None,
    })
}

impl Tok {
    /// Can a statement end after this token? Used to decide whether a newline is a terminator.
    fn ends_statement(&self) -> bool {
        matches!(
            self,
            Tok::Ident(_) | Tok::Int(_) | Tok::Float(_) | Tok::Str(_) | Tok::Bytes(_) | Tok::FStr(_)
                | Tok::Return | Tok::Break | Tok::Continue | Tok::True | Tok::False | Tok::None_
                | Tok::SelfKw | Tok::RParen | Tok::RBracket | Tok::RBrace | Tok::Question | Tok::Bang
        )
    }

    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(s) => format!("identifier `{s}`"),
            Tok::Int(_) | Tok::Float(_) => "number".into(),
            Tok::Str(_) | Tok::FStr(_) => "string".into(),
            Tok::Bytes(_) => "bytes literal".into(),
            Tok::Newline => "end of line".into(),
            Tok::Eof => "end of file".into(),
            t => format!("`{}`", t.text()),
        }
    }

    pub fn text(&self) -> &'static str {
        match self {
            Tok::Let => "let", Tok::Var => "var", Tok::Def => "def", Tok::Fn => "fn",
            Tok::Return => "return", Tok::If => "if", Tok::Elif => "elif", Tok::Else => "else",
            Tok::While => "while", Tok::For => "for", Tok::In => "in", Tok::Break => "break",
            Tok::Continue => "continue", Tok::Match => "match", Tok::Struct => "struct",
            Tok::Enum => "enum", Tok::Interface => "interface", Tok::Pub => "pub",
            Tok::Import => "import", Tok::From => "from", Tok::As => "as", Tok::Throw => "throw",
            Tok::Try => "try", Tok::Catch => "catch", Tok::Finally => "finally", Tok::True => "true",
            Tok::False => "false", Tok::None_ => "none", Tok::And => "and", Tok::Or => "or",
            Tok::Not => "not", Tok::Is => "is", Tok::SelfKw => "self", Tok::With => "with",
            Tok::Spawn => "spawn", Tok::Await => "await",
            Tok::LParen => "(", Tok::RParen => ")", Tok::LBracket => "[", Tok::RBracket => "]",
            Tok::LBrace => "{", Tok::RBrace => "}", Tok::Comma => ",", Tok::Dot => ".",
            Tok::Colon => ":", Tok::Semi => ";", Tok::Arrow => "->", Tok::FatArrow => "=>",
            Tok::Question => "?", Tok::QuestionDot => "?.", Tok::QuestionQuestion => "??",
            Tok::Bang => "!", Tok::Eq => "=", Tok::EqEq => "==", Tok::NotEq => "!=", Tok::Lt => "<",
            Tok::Le => "<=", Tok::Gt => ">", Tok::Ge => ">=", Tok::Plus => "+", Tok::Minus => "-",
            Tok::Star => "*", Tok::StarStar => "**", Tok::Slash => "/", Tok::SlashSlash => "//",
            Tok::Percent => "%", Tok::Amp => "&", Tok::Pipe => "|", Tok::Caret => "^",
            Tok::Tilde => "~", Tok::Shl => "<<", Tok::Shr => ">>", Tok::DotDot => "..",
            Tok::DotDotEq => "..=", Tok::At => "@", Tok::AtEq => "@=", Tok::PlusEq => "+=", Tok::MinusEq => "-=", Tok::StarEq => "*=", Tok::StarStarEq => "**=",
            Tok::SlashEq => "/=", Tok::SlashSlashEq => "//=", Tok::PercentEq => "%=",
            _ => "?",
        }
    }
}

/// How a string literal is quoted: `b"..."` (bytes), `r"..."` (raw: a backslash is just a
/// backslash), `"""..."""` (triple: may span lines).
#[derive(Clone, Copy)]
struct Quote {
    bytes: bool,
    raw: bool,
    triple: bool,
}

pub struct Lexer<'a> {
    src: &'a str,
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    file: u32,
    /// Open delimiters: newlines are significant when the innermost is `{` (or none).
    delims: Vec<u8>,
    /// Tokens produced and not yet taken by the parser.
    pub tokens: Vec<Token>,
    pub diags: Vec<Diagnostic>,
    /// Could the last token produced end a statement? (Decides whether a newline counts.)
    last_ends: bool,
    /// The end of input has been reached and `Eof` produced.
    pub done: bool,
    /// Skimming (`skip_braces`): names are not copied out, since their tokens are dropped.
    skim: bool,
}

/// Lexes `src[start..end]` (the whole file, or an f-string hole).
pub fn lex(src: &str, file: u32, start: usize, end: usize) -> (Vec<Token>, Vec<Diagnostic>) {
    let mut lx = Lexer::new(src, file, start, end);
    while !lx.done {
        lx.step();
    }
    (lx.tokens, lx.diags)
}

impl<'a> Lexer<'a> {
    /// A lexer over `src[start..end]` that produces tokens on demand (`step`).
    pub fn new(src: &'a str, file: u32, start: usize, end: usize) -> Lexer<'a> {
        let start = if start == 0 && src.starts_with('\u{feff}') { 3 } else { start };
        Lexer { src, bytes: src.as_bytes(), pos: start, end, file, delims: Vec::new(), tokens: Vec::new(), diags: Vec::new(), last_ends: false, done: false, skim: false }
    }
}

impl<'a> Lexer<'a> {
    fn span(&self, s: usize, e: usize) -> Span {
        // error spans never point past the end of the input
        Span::new(self.file, s.min(self.end), e.min(self.end))
    }
    fn peek(&self) -> u8 {
        if self.pos < self.end { self.bytes[self.pos] } else { 0 }
    }
    fn peek_at(&self, n: usize) -> u8 {
        if self.pos + n < self.end { self.bytes[self.pos + n] } else { 0 }
    }
    fn push(&mut self, tok: Tok, s: usize) {
        self.last_ends = tok.ends_statement();
        self.tokens.push(Token { tok, span: self.span(s, self.pos) });
    }

    fn newline(&mut self, at: usize) {
        if matches!(self.delims.last(), Some(b'(' | b'[')) {
            return;
        }
        if !self.last_ends {
            return;
        }
        // Continuation: the next non-blank, non-comment line starts with `.` or `?.`.
        let mut p = self.pos;
        loop {
            while p < self.end && matches!(self.bytes[p], b' ' | b'\t' | b'\r' | b'\n') {
                p += 1;
            }
            if p < self.end && self.bytes[p] == b'#' {
                while p < self.end && self.bytes[p] != b'\n' {
                    p += 1;
                }
                continue;
            }
            break;
        }
        if p < self.end {
            let b = self.bytes[p];
            let b1 = if p + 1 < self.end { self.bytes[p + 1] } else { 0 };
            if (b == b'.' && b1 != b'.') || (b == b'?' && b1 == b'.') {
                return;
            }
        }
        self.last_ends = false;
        self.tokens.push(Token { tok: Tok::Newline, span: self.span(at, at + 1) });
    }

    /// Lexes on to the `}` that closes `depth` open braces, dropping the tokens before it, so
    /// that the `}` (or, when the input ends first, `Eof`) is the next token taken. This is how
    /// the parser skips a function body it parses later. Blanks, comments, plain names,
    /// operators and brackets are stepped over here byte by byte (`skim_plain`); everything
    /// else (strings, numbers, anything unusual) goes through `step` as usual, so strings hide
    /// their braces, delimiters are tracked and errors are reported exactly as in a full lex.
    pub fn skip_braces(&mut self, mut depth: u32) {
        debug_assert!(depth > 0 && self.tokens.is_empty(), "the parser has taken every token");
        self.skim = true;
        loop {
            self.skim_plain(&mut depth);
            // `skim_plain` counts every brace but the closing one, so a brace token from
            // `step` is that `}`
            self.step();
            if let Some(i) = self.tokens.iter().position(|t| matches!(t.tok, Tok::RBrace | Tok::Eof)) {
                self.tokens.drain(..i);
                self.skim = false;
                return;
            }
            self.tokens.clear();
        }
    }

    /// Steps over bytes that cannot produce an error: blanks, newlines, comments, ASCII names
    /// (not an `f"` or `b"` prefix), operator characters and brackets (tracked as `punct`
    /// tracks them; `depth` counts the open braces). Stops at anything else, and at the `}`
    /// that closes the last brace, which `step` lexes as a token. Newline tokens are not
    /// produced; nothing reads them while skimming, and that `}` sets the newline state again.
    fn skim_plain(&mut self, depth: &mut u32) {
        while self.pos < self.end {
            let c = self.bytes[self.pos];
            match c {
                b'(' | b'[' => {
                    self.delims.push(c);
                    self.pos += 1;
                }
                b'{' => {
                    self.delims.push(c);
                    *depth += 1;
                    self.pos += 1;
                }
                b')' => {
                    self.close_delim(b'(');
                    self.pos += 1;
                }
                b']' => {
                    self.close_delim(b'[');
                    self.pos += 1;
                }
                b'}' if *depth > 1 => {
                    self.close_delim(b'{');
                    *depth -= 1;
                    self.pos += 1;
                }
                b' ' | b'\t' | b'\r' | b'\n' | b',' | b'.' | b':' | b';' | b'-' | b'=' | b'?' | b'!' | b'<' | b'>' | b'+' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' | b'~' | b'@' => self.pos += 1,
                b'#' => {
                    while self.pos < self.end && self.bytes[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                    if matches!(c, b'f' | b'b' | b'r') && self.peek_at(1) == b'"' {
                        return;
                    }
                    let start = self.pos;
                    while self.pos < self.end && (self.bytes[self.pos] == b'_' || self.bytes[self.pos].is_ascii_alphanumeric()) {
                        self.pos += 1;
                    }
                    if self.pos < self.end && self.bytes[self.pos] >= 0x80 {
                        // a name that goes on in non-ASCII letters: let `step` lex all of it
                        self.pos = start;
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    /// Lexes one more lexeme (which may produce no token, for spaces and comments), or at the
    /// end of input the final newline and `Eof`.
    pub fn step(&mut self) {
        if self.done {
            return;
        }
        while self.pos < self.end {
            let s = self.pos;
            let c = self.peek();
            match c {
                b'\n' => {
                    self.pos += 1;
                    self.newline(s);
                }
                // blanks and comments produce nothing: go on to the next lexeme
                b' ' | b'\t' | b'\r' => {
                    self.pos += 1;
                    continue;
                }
                b'#' => {
                    while self.pos < self.end && self.peek() != b'\n' {
                        self.pos += 1;
                    }
                    continue;
                }
                b'0'..=b'9' => self.number(),
                b'"' => {
                    let triple = self.opens_triple(self.pos);
                    self.pos += if triple { 3 } else { 1 };
                    let s2 = self.string_body(s, Quote { bytes: false, raw: false, triple });
                    self.push(Tok::Str(s2), s);
                }
                b'r' if self.peek_at(1) == b'"' => {
                    let triple = self.opens_triple(self.pos + 1);
                    self.pos += if triple { 4 } else { 2 };
                    let s2 = self.string_body(s, Quote { bytes: false, raw: true, triple });
                    self.push(Tok::Str(s2), s);
                }
                b'f' if self.peek_at(1) == b'"' => {
                    let triple = self.opens_triple(self.pos + 1);
                    self.pos += if triple { 4 } else { 2 };
                    self.fstring(s, triple);
                }
                b'b' if self.peek_at(1) == b'"' => {
                    self.pos += 2;
                    let text = self.string_body(s, Quote { bytes: true, raw: false, triple: false });
                    let bytes = text.chars().map(|c| c as u32 as u8).collect();
                    self.push(Tok::Bytes(bytes), s);
                }
                c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                    if c >= 0x80 {
                        let ch = self.src[self.pos..].chars().next().unwrap();
                        if !ch.is_alphabetic() {
                            self.pos += ch.len_utf8();
                            self.diags.push(
                                Diagnostic::error(N0001, format!("unexpected character `{ch}`"), self.span(s, self.pos))
                                    .label("not valid here"),
                            );
                            continue;
                        }
                    }
                    while self.pos < self.end {
                        let b = self.peek();
                        if b == b'_' || b.is_ascii_alphanumeric() {
                            self.pos += 1;
                        } else if b >= 0x80 {
                            let ch = self.src[self.pos..].chars().next().unwrap();
                            if ch.is_alphanumeric() {
                                self.pos += ch.len_utf8();
                            } else {
                                break;
                            }
                        } else {
                            break;
                        }
                    }
                    let word = &self.src[s..self.pos];
                    let tok = if self.skim { Tok::Ident(String::new()) } else { keyword(word).unwrap_or_else(|| Tok::Ident(word.to_string())) };
                    self.push(tok, s);
                }
                _ => self.punct(s),
            }
            return;
        }
        let at = self.end;
        self.delims.clear();
        if self.last_ends {
            self.tokens.push(Token { tok: Tok::Newline, span: self.span(at, at) });
        }
        self.tokens.push(Token { tok: Tok::Eof, span: self.span(at, at) });
        self.done = true;
    }

    fn punct(&mut self, s: usize) {
        let c = self.peek();
        let c1 = self.peek_at(1);
        let c2 = self.peek_at(2);
        let (tok, n) = match (c, c1, c2) {
            (b'(', _, _) => (Tok::LParen, 1),
            (b')', _, _) => (Tok::RParen, 1),
            (b'[', _, _) => (Tok::LBracket, 1),
            (b']', _, _) => (Tok::RBracket, 1),
            (b'{', _, _) => (Tok::LBrace, 1),
            (b'}', _, _) => (Tok::RBrace, 1),
            (b',', _, _) => (Tok::Comma, 1),
            (b'.', b'.', b'=') => (Tok::DotDotEq, 3),
            (b'.', b'.', _) => (Tok::DotDot, 2),
            (b'.', _, _) => (Tok::Dot, 1),
            (b':', _, _) => (Tok::Colon, 1),
            (b';', _, _) => (Tok::Semi, 1),
            (b'-', b'>', _) => (Tok::Arrow, 2),
            (b'-', b'=', _) => (Tok::MinusEq, 2),
            (b'-', _, _) => (Tok::Minus, 1),
            (b'=', b'>', _) => (Tok::FatArrow, 2),
            (b'=', b'=', _) => (Tok::EqEq, 2),
            (b'=', _, _) => (Tok::Eq, 1),
            (b'?', b'.', _) => (Tok::QuestionDot, 2),
            (b'?', b'?', _) => (Tok::QuestionQuestion, 2),
            (b'?', _, _) => (Tok::Question, 1),
            (b'!', b'=', _) => (Tok::NotEq, 2),
            (b'!', _, _) => (Tok::Bang, 1),
            (b'<', b'<', _) => (Tok::Shl, 2),
            (b'<', b'=', _) => (Tok::Le, 2),
            (b'<', _, _) => (Tok::Lt, 1),
            (b'>', b'>', _) => (Tok::Shr, 2),
            (b'>', b'=', _) => (Tok::Ge, 2),
            (b'>', _, _) => (Tok::Gt, 1),
            (b'+', b'=', _) => (Tok::PlusEq, 2),
            (b'+', _, _) => (Tok::Plus, 1),
            (b'*', b'*', b'=') => (Tok::StarStarEq, 3),
            (b'*', b'*', _) => (Tok::StarStar, 2),
            (b'*', b'=', _) => (Tok::StarEq, 2),
            (b'*', _, _) => (Tok::Star, 1),
            (b'/', b'/', b'=') => (Tok::SlashSlashEq, 3),
            (b'/', b'/', _) => (Tok::SlashSlash, 2),
            (b'/', b'=', _) => (Tok::SlashEq, 2),
            (b'/', _, _) => (Tok::Slash, 1),
            (b'%', b'=', _) => (Tok::PercentEq, 2),
            (b'%', _, _) => (Tok::Percent, 1),
            (b'&', _, _) => (Tok::Amp, 1),
            (b'|', _, _) => (Tok::Pipe, 1),
            (b'^', _, _) => (Tok::Caret, 1),
            (b'~', _, _) => (Tok::Tilde, 1),
            (b'@', b'=', _) => (Tok::AtEq, 2),
            (b'@', _, _) => (Tok::At, 1),
            _ => {
                let ch = self.src[self.pos..].chars().next().unwrap_or('\0');
                self.pos += ch.len_utf8().max(1);
                let mut d = Diagnostic::error(N0001, format!("unexpected character `{ch}`"), self.span(s, self.pos))
                    .label("not valid here");
                if ch == '\'' {
                    d = d.hint("strings use double quotes: \"text\"");
                }
                self.diags.push(d);
                return;
            }
        };
        match tok {
            Tok::LParen => self.delims.push(b'('),
            Tok::LBracket => self.delims.push(b'['),
            Tok::LBrace => self.delims.push(b'{'),
            Tok::RParen => self.close_delim(b'('),
            Tok::RBracket => self.close_delim(b'['),
            Tok::RBrace => self.close_delim(b'{'),
            _ => {}
        }
        self.pos += n;
        self.push(tok, s);
    }

    /// A closing bracket pops to its opener (mismatches are the parser's to report).
    fn close_delim(&mut self, open: u8) {
        if let Some(i) = self.delims.iter().rposition(|&d| d == open) {
            self.delims.truncate(i);
        }
    }

    fn number(&mut self) {
        let s = self.pos;
        let radix = if self.peek() == b'0' && matches!(self.peek_at(1), b'x' | b'X') {
            16
        } else if self.peek() == b'0' && matches!(self.peek_at(1), b'b' | b'B') {
            2
        } else if self.peek() == b'0' && matches!(self.peek_at(1), b'o' | b'O') {
            8
        } else {
            10
        };
        if radix != 10 {
            self.pos += 2;
            let ds = self.pos;
            while self.pos < self.end && (self.peek().is_ascii_alphanumeric() || self.peek() == b'_') {
                self.pos += 1;
            }
            let digits: String = self.src[ds..self.pos].chars().filter(|&c| c != '_').collect();
            match u64::from_str_radix(&digits, radix) {
                Ok(v) => self.push(Tok::Int(v), s),
                Err(_) => {
                    self.diags.push(Diagnostic::error(N0003, "invalid number literal", self.span(s, self.pos)).label("not a valid integer"));
                    self.push(Tok::Int(0), s);
                }
            }
            return;
        }
        let mut is_float = false;
        while self.pos < self.end && (self.peek().is_ascii_digit() || self.peek() == b'_') {
            self.pos += 1;
        }
        if self.peek() == b'.' && self.peek_at(1).is_ascii_digit() {
            is_float = true;
            self.pos += 1;
            while self.pos < self.end && (self.peek().is_ascii_digit() || self.peek() == b'_') {
                self.pos += 1;
            }
        }
        if matches!(self.peek(), b'e' | b'E')
            && (self.peek_at(1).is_ascii_digit() || (matches!(self.peek_at(1), b'+' | b'-') && self.peek_at(2).is_ascii_digit()))
        {
            is_float = true;
            self.pos += 2;
            while self.pos < self.end && self.peek().is_ascii_digit() {
                self.pos += 1;
            }
        }
        let bad_suffix = self.pos < self.end && (self.peek().is_ascii_alphabetic() || self.peek() == b'_');
        if bad_suffix {
            while self.pos < self.end && (self.peek().is_ascii_alphanumeric() || self.peek() == b'_') {
                self.pos += 1;
            }
            self.diags.push(Diagnostic::error(N0003, "invalid number literal", self.span(s, self.pos)).label("unexpected letters in number"));
            self.push(Tok::Int(0), s);
            return;
        }
        let literal = &self.src[s..self.pos];
        let stripped: String;
        let text = if literal.contains('_') {
            stripped = literal.chars().filter(|&c| c != '_').collect();
            stripped.as_str()
        } else {
            literal
        };
        if is_float {
            let v: f64 = text.parse().unwrap_or(0.0);
            self.push(Tok::Float(v), s);
        } else {
            match text.parse::<u64>() {
                Ok(v) => self.push(Tok::Int(v), s),
                Err(_) => {
                    self.diags.push(
                        Diagnostic::error(N0003, "integer literal is too large", self.span(s, self.pos))
                            .label("does not fit in 64 bits")
                            .hint("int is a 64-bit signed integer; use a float literal (add `.0`) for larger magnitudes"),
                    );
                    self.push(Tok::Int(0), s);
                }
            }
        }
    }

    /// Reads an escape after a backslash; returns the char.
    fn escape(&mut self, bytes_mode: bool) -> Option<char> {
        if self.pos >= self.end {
            // a backslash at the very end: the caller reports the unterminated string
            return None;
        }
        let s = self.pos - 1;
        let c = self.peek();
        self.pos += 1;
        Some(match c {
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'0' => '\0',
            b'\\' => '\\',
            b'"' => '"',
            b'\'' => '\'',
            b'{' => '{',
            b'}' => '}',
            b'x' => {
                let h = self.src.get(self.pos..(self.pos + 2).min(self.end)).unwrap_or("");
                match u8::from_str_radix(h, 16) {
                    Ok(v) if h.len() == 2 && (bytes_mode || v < 0x80) => {
                        self.pos += 2;
                        v as char
                    }
                    _ => {
                        // the span covers `\x` and the next character (whole, never half a one)
                        let next = self.src[self.pos..self.end].chars().next().map_or(0, char::len_utf8);
                        self.diags.push(Diagnostic::error(N0004, "invalid escape sequence", self.span(s, self.pos + next))
                            .hint(if bytes_mode { "use \\xHH with two hex digits" } else { "use \\xHH with two hex digits below 80, or \\u{...} for other characters" }));
                        return None;
                    }
                }
            }
            b'u' if !bytes_mode && self.peek() == b'{' => {
                let close = self.src[self.pos..self.end].find('}');
                let ok = close.and_then(|c| {
                    let h = &self.src[self.pos + 1..self.pos + c];
                    u32::from_str_radix(h, 16).ok().and_then(char::from_u32).map(|ch| (ch, c))
                });
                match ok {
                    Some((ch, c)) => {
                        self.pos += c + 1;
                        ch
                    }
                    None => {
                        self.diags.push(Diagnostic::error(N0004, "invalid unicode escape", self.span(s, self.pos)).hint("write \\u{1F600} with 1 to 6 hex digits"));
                        return None;
                    }
                }
            }
            _ => {
                let ch = self.src[self.pos - 1..].chars().next().unwrap_or('?');
                self.pos += ch.len_utf8() - 1;
                self.diags.push(
                    Diagnostic::error(N0004, format!("invalid escape sequence `\\{ch}`"), self.span(s, self.pos))
                        .hint("valid escapes: \\n \\t \\r \\0 \\\\ \\\" \\xHH \\u{HHHH}"),
                );
                return None;
            }
        })
    }

    /// Does a `"""` start at `at`?
    fn opens_triple(&self, at: usize) -> bool {
        self.bytes.get(at..at + 3) == Some(b"\"\"\"")
    }

    fn string_body(&mut self, s: usize, q: Quote) -> String {
        let bytes_mode = q.bytes;
        let mut out = String::new();
        loop {
            if self.pos >= self.end || (!q.triple && self.peek() == b'\n') {
                let hint = if q.triple {
                    "add the closing `\"\"\"`"
                } else if q.bytes {
                    "add a closing `\"`; a bytes literal cannot span lines (use \\n)"
                } else {
                    "add a closing `\"`; such a string cannot span lines (use \\n, or a `\"\"\"` string)"
                };
                self.diags.push(
                    Diagnostic::error(N0002, "unterminated string literal", self.span(s, self.pos))
                        .label("this string is never closed")
                        .hint(hint),
                );
                return out;
            }
            let c = self.peek();
            if c == b'"' && (!q.triple || self.opens_triple(self.pos)) {
                self.pos += if q.triple { 3 } else { 1 };
                return out;
            }
            if c == b'\\' && !q.raw {
                self.pos += 1;
                if let Some(ch) = self.escape(bytes_mode) {
                    out.push(ch);
                }
                continue;
            }
            let ch = self.src[self.pos..].chars().next().unwrap();
            self.pos += ch.len_utf8();
            if bytes_mode && (ch as u32) >= 0x80 {
                self.diags.push(Diagnostic::error(N0004, "non-ASCII character in bytes literal", self.span(self.pos - ch.len_utf8(), self.pos)).hint("use \\xHH escapes"));
                continue;
            }
            out.push(ch);
        }
    }

    fn fstring(&mut self, s: usize, triple: bool) {
        let mut parts = Vec::new();
        let mut lit = String::new();
        loop {
            if self.pos >= self.end || (!triple && self.peek() == b'\n') {
                self.diags.push(
                    Diagnostic::error(N0002, "unterminated string literal", self.span(s, self.pos))
                        .label("this f-string is never closed"),
                );
                break;
            }
            let c = self.peek();
            if c == b'"' && (!triple || self.opens_triple(self.pos)) {
                self.pos += if triple { 3 } else { 1 };
                break;
            }
            if c == b'\\' {
                self.pos += 1;
                if let Some(ch) = self.escape(false) {
                    lit.push(ch);
                }
                continue;
            }
            if c == b'{' && self.peek_at(1) == b'{' {
                lit.push('{');
                self.pos += 2;
                continue;
            }
            if c == b'}' && self.peek_at(1) == b'}' {
                lit.push('}');
                self.pos += 2;
                continue;
            }
            if c == b'{' {
                if !lit.is_empty() {
                    parts.push(FPart::Lit(std::mem::take(&mut lit)));
                }
                self.pos += 1;
                let es = self.pos;
                let mut depth = 0;
                let mut spec_at = None;
                while self.pos < self.end && self.peek() != b'\n' {
                    match self.peek() {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' => depth -= 1,
                        b'}' if depth == 0 => break,
                        b'}' => depth -= 1,
                        b':' if depth == 0 && spec_at.is_none() => spec_at = Some(self.pos),
                        b'"' => {
                            // a string inside the hole: skip to its end
                            self.pos += 1;
                            while self.pos < self.end && self.peek() != b'"' && self.peek() != b'\n' {
                                if self.peek() == b'\\' {
                                    self.pos += 1;
                                }
                                self.pos = (self.pos + 1).min(self.end);
                            }
                        }
                        _ => {}
                    }
                    self.pos = (self.pos + 1).min(self.end);
                }
                if self.peek() != b'}' {
                    self.diags.push(Diagnostic::error(N0002, "unterminated `{` in f-string", self.span(es - 1, self.pos)).hint("close the interpolation with `}`; write `{{` for a literal brace"));
                    break;
                }
                let (end, spec) = match spec_at {
                    Some(p) => (p, Some(self.src[p + 1..self.pos].to_string())),
                    None => (self.pos, None),
                };
                if self.src[es..end].trim().is_empty() {
                    self.diags.push(Diagnostic::error(N0010, "empty expression in f-string", self.span(es - 1, self.pos + 1)));
                } else {
                    parts.push(FPart::Expr { start: es, end, spec });
                }
                self.pos += 1;
                continue;
            }
            if c == b'}' {
                self.diags.push(Diagnostic::error(N0001, "single `}` in f-string", self.span(self.pos, self.pos + 1)).hint("write `}}` for a literal brace"));
                self.pos += 1;
                continue;
            }
            let ch = self.src[self.pos..].chars().next().unwrap();
            self.pos += ch.len_utf8();
            lit.push(ch);
        }
        if !lit.is_empty() {
            parts.push(FPart::Lit(lit));
        }
        self.push(Tok::FStr(parts), s);
    }
}
