/// A byte range in one source file. `file` indexes the compiler's file table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: u32,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: u32, start: usize, end: usize) -> Span {
        Span { file, start: start as u32, end: end as u32 }
    }
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
}

/// A loaded source file with a line index for turning offsets into line/column.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let mut line_starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        SourceFile { name: name.into(), text, line_starts }
    }

    /// 1-based line and column (column counts characters).
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let offset = (offset as usize).min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        let start = self.line_starts[line];
        let col = self.text.get(start..offset).map(|s| s.chars().count()).unwrap_or(0);
        (line + 1, col + 1)
    }

    /// The 1-based line of an offset (cheaper than `line_col`).
    pub fn line_of(&self, offset: u32) -> usize {
        match self.line_starts.binary_search(&(offset as usize)) {
            Ok(l) => l + 1,
            Err(l) => l,
        }
    }

    /// `line_of`, looking first at `hint` (a 1-based line) and the few lines after it: code
    /// is generated mostly in source order, and this spares a binary search over every line
    /// of a large file per instruction.
    pub fn line_of_near(&self, offset: u32, hint: usize) -> usize {
        let off = offset as usize;
        let mut i = hint.max(1) - 1;
        if self.line_starts.get(i).is_some_and(|&s| s <= off) {
            for _ in 0..4 {
                match self.line_starts.get(i + 1) {
                    Some(&next) if next <= off => i += 1,
                    _ => return i + 1,
                }
            }
        }
        self.line_of(offset)
    }

    /// The 1-based column (in characters) of `offset`, which is on 1-based line `line`.
    pub fn col_in_line(&self, offset: u32, line: usize) -> usize {
        let start = self.line_starts.get(line.max(1) - 1).copied().unwrap_or(0);
        let end = (offset as usize).clamp(start, self.text.len());
        self.text.get(start..end).map_or(0, |s| s.chars().count()) + 1
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let start = self.line_starts.get(line - 1).copied().unwrap_or(self.text.len());
        let end = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::SourceFile;

    #[test]
    fn line_of_near_agrees_with_line_of_for_any_hint() {
        let f = SourceFile::new("t", "a\nbb\n\nccc\nd\n\n\n\n\n\nlast");
        for off in 0..=f.text.len() as u32 + 2 {
            for hint in 0..=f.line_count() + 2 {
                assert_eq!(f.line_of_near(off, hint), f.line_of(off), "offset {off}, hint {hint}");
            }
        }
    }
}
