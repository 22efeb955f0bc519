//! `ConfigError`: a fault in a configuration file, named by file, key and fix, in
//! Chinese and English. A leaf: config.rs and every domain that validates its own
//! raw config (categories, roster, the rubric, the templates) use it.

use std::fmt;

#[derive(Debug)]
pub struct ConfigError {
    pub file: String,
    /// The full key, "intake.deadline_day"; inside arrays with 0-based indexes,
    /// "department[2].senders[0]", which people see without the indexes.
    pub key: String,
    pub problem: String,
    pub fix: String,
    /// Where in `file`, when known.
    pub place: Option<Box<Place>>,
}

/// A place in a configuration file.
#[derive(Debug)]
pub struct Place {
    /// 1-based line and column (in characters).
    pub line: usize,
    pub column: usize,
    /// The line at fault, with carets under the place.
    pub excerpt: String,
}

impl ConfigError {
    pub fn new(file: &str, key: &str, problem: impl Into<String>, fix: impl Into<String>) -> Self {
        ConfigError { file: file.to_string(), key: key.to_string(), problem: problem.into(), fix: fix.into(), place: None }
    }

    /// The key as people read it: "department[2].senders[0]" → "department.senders"
    /// (the problem says which department, 1-based, and the position which line).
    pub fn shown_key(key: &str) -> String {
        let mut out = String::with_capacity(key.len());
        let mut depth = 0;
        for c in key.chars() {
            match c {
                '[' => depth += 1,
                ']' => depth -= 1,
                _ if depth == 0 => out.push(c),
                _ => {}
            }
        }
        out
    }

    /// Records where in `text` (the file's contents) the fault is: the line and
    /// column of `span`'s start, and that line with carets under the span.
    pub fn set_place(&mut self, text: &str, span: std::ops::Range<usize>) {
        let start = (0..=span.start.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let line_no = text[..start].matches('\n').count() + 1;
        let before = &text[line_start..start];
        let column = before.chars().count() + 1;
        let line = text[line_start..line_end].trim_end_matches('\r');
        let end = span.end.clamp(start, line_end);
        let marked = text.get(start..end).unwrap_or("").trim_end();
        let width = |s: &str| s.chars().map(|c| if is_wide(c) { 2 } else { 1 }).sum::<usize>();
        // Tabs stay tabs so the caret lines up whatever the tab width.
        let pad: String = before
            .chars()
            .map(|c| match c {
                '\t' => "\t",
                c if is_wide(c) => "  ",
                _ => " ",
            })
            .collect();
        let number = line_no.to_string();
        let excerpt = format!("  {number} | {line}\n  {} | {pad}{}", " ".repeat(number.len()), "^".repeat(width(marked).max(1)));
        self.place = Some(Box::new(Place { line: line_no, column, excerpt }));
    }
}

/// East Asian wide characters take two columns in a terminal.
fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "配置错误 (config error): 文件 {}", self.file)?;
        let key = Self::shown_key(&self.key);
        match (self.place.as_deref().map(|p| (p.line, p.column)), key.is_empty()) {
            (Some((line, column)), true) => write!(f, " 第 {line} 行第 {column} 列：{}", self.problem)?,
            (Some((line, column)), false) => write!(f, " 第 {line} 行第 {column} 列的 `{key}`：{}", self.problem)?,
            (None, true) => write!(f, "：{}", self.problem)?,
            (None, false) => write!(f, " 的 `{key}`：{}", self.problem)?,
        }
        if let Some(place) = &self.place {
            write!(f, "\n{}", place.excerpt)?;
        }
        write!(f, "\n  修改方法 (fix): {}", self.fix)
    }
}

impl std::error::Error for ConfigError {}
