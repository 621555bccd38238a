//! Diagnostics: a stable code, a message, a primary span with a label, optional notes and a
//! hint, and the plain-text renderer used by every front end (CLI, tests, REPL).

use crate::span::{SourceFile, Span};
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: noodle_codes::Code,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub hint: Option<String>,
    pub notes: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(code: noodle_codes::Code, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: String::new(),
            hint: None,
            notes: Vec::new(),
        }
    }
    pub fn warning(code: noodle_codes::Code, message: impl Into<String>, span: Span) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message, span) }
    }
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn note(mut self, span: Span, text: impl Into<String>) -> Self {
        self.notes.push((span, text.into()));
        self
    }

    /// Renders the diagnostic in the style of rustc: header, location, source line, caret.
    pub fn render(&self, files: &[SourceFile]) -> String {
        let mut out = String::new();
        let kind = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{kind}[{}]: {}", self.code, self.message);
        render_snippet(&mut out, files, self.span, &self.label);
        for (span, text) in &self.notes {
            if let Some(f) = files.get(span.file as usize) {
                let (l, c) = f.line_col(span.start);
                let _ = writeln!(out, "   = note: {text} ({}:{l}:{c})", f.name);
            }
        }
        if let Some(h) = &self.hint {
            let _ = writeln!(out, "   = hint: {h}");
        }
        out
    }
}

fn render_snippet(out: &mut String, files: &[SourceFile], span: Span, label: &str) {
    let Some(file) = files.get(span.file as usize) else { return };
    let (line, col) = file.line_col(span.start);
    let (end_line, end_col) = file.line_col(span.end.max(span.start));
    let _ = writeln!(out, "  --> {}:{line}:{col}", file.name);
    let full = file.line_text(line).replace('\t', " ");
    let width = line.to_string().len().max(2);
    let mut len = if end_line == line { end_col.saturating_sub(col).max(1) } else { (full.chars().count() + 1).saturating_sub(col).max(1) };
    // Very long lines are shown as a window around the span.
    const WINDOW: usize = 100;
    let chars: Vec<char> = full.chars().collect();
    let (text, col) = if chars.len() > WINDOW {
        let start = col.saturating_sub(40).max(1) - 1;
        let end = (start + WINDOW).min(chars.len());
        len = len.min(end.saturating_sub(col - 1).max(1));
        let mut t: String = chars[start..end].iter().collect();
        let mut shift = start;
        if start > 0 {
            t = format!("...{t}");
            shift = start.saturating_sub(3);
        }
        if end < chars.len() {
            t.push_str("...");
        }
        (t, col - shift)
    } else {
        (full, col)
    };
    let _ = writeln!(out, "{:>width$} |", "");
    let _ = writeln!(out, "{line:>width$} | {text}");
    let pad = " ".repeat(col - 1);
    let carets = "^".repeat(len);
    if label.is_empty() {
        let _ = writeln!(out, "{:>width$} | {pad}{carets}", "");
    } else {
        let _ = writeln!(out, "{:>width$} | {pad}{carets} {label}", "");
    }
}
