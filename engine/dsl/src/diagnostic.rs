//! Problems found in a workflow, and how they are shown.
//!
//! A [`Diagnostic`] is produced while checking, pointing at a YAML path.
//! [`Diagnostics::locate`] turns paths into <file:line:col> once, at the end,
//! and renders them with codespan-reporting or as JSON (for the HTTP API).

use std::fmt;
use std::ops::Range;

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label};
use codespan_reporting::files::SimpleFile;
use codespan_reporting::term::{self, termcolor};
use serde::Serialize;

use crate::limits::MAX_DIAGNOSTICS;
use crate::path::YamlPath;
use crate::source::Source;
use crate::span_index::SpanIndex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// Which part of a `key: value` pair the problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Key,
    Value,
}

/// One problem, before it is located in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Stable, kebab-case identifier (`unknown-key`, `cycle`...), for tools and tests.
    pub code: &'static str,
    pub message: String,
    pub path: Option<YamlPath>,
    pub anchor: Anchor,
    /// A byte offset known directly (YAML syntax errors), used when there is no path.
    pub offset: Option<usize>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            path: None,
            anchor: Anchor::Value,
            offset: None,
            help: None,
        }
    }

    #[must_use]
    pub fn at(mut self, path: &YamlPath) -> Self {
        self.path = Some(path.clone());
        self
    }

    #[must_use]
    pub fn at_key(mut self, path: &YamlPath) -> Self {
        self.path = Some(path.clone());
        self.anchor = Anchor::Key;
        self
    }

    #[must_use]
    pub fn at_offset(mut self, offset: usize) -> Self {
        self.offset = Some(offset);
        self
    }

    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// A diagnostic placed in its file: what tools and the HTTP API receive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Located {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Dotted YAML path of the offending node, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The source line at `line`.
    pub snippet: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    #[serde(skip)]
    span: Range<usize>,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// All diagnostics of one file, located.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnostics {
    pub items: Vec<Located>,
    /// How many more were found but not kept (see `MAX_DIAGNOSTICS`).
    pub omitted: usize,
    #[serde(skip)]
    source: Option<Source>,
}

impl Diagnostics {
    /// Locates every diagnostic in `source`, building the span index only if needed.
    pub fn locate(source: &Source, mut found: Vec<Diagnostic>) -> Self {
        let omitted = found.len().saturating_sub(MAX_DIAGNOSTICS);
        found.truncate(MAX_DIAGNOSTICS);
        let index = found
            .iter()
            .any(|d| d.path.is_some())
            .then(|| SpanIndex::build(source));
        let mut items: Vec<Located> = found
            .into_iter()
            .map(|d| locate_one(source, index.as_ref(), d))
            .collect();
        // Read in file order, whatever order the checks found them in.
        items.sort_by_key(|item| (item.span.start, item.span.end));
        Self {
            items,
            omitted,
            source: Some(source.clone()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len() + self.omitted
    }

    /// Renders every diagnostic with its snippet, as a terminal would show it.
    pub fn render(&self, color: bool) -> String {
        let Some(source) = &self.source else {
            return self.items.iter().map(|d| format!("{d}\n")).collect();
        };
        let file = SimpleFile::new(source.name(), source.text());
        let config = term::Config::default();
        let mut out: Vec<u8> = Vec::new();
        for item in &self.items {
            let mut diagnostic = match item.severity {
                Severity::Error => CsDiagnostic::error(),
                Severity::Warning => CsDiagnostic::warning(),
            }
            .with_code(item.code)
            .with_message(&item.message)
            .with_labels(vec![Label::primary((), item.span.clone())]);
            if let Some(help) = &item.help {
                diagnostic = diagnostic.with_notes(vec![format!("help: {help}")]);
            }
            let result = if color {
                let mut writer = termcolor::Ansi::new(&mut out);
                term::emit(&mut writer, &config, &file, &diagnostic)
            } else {
                let mut writer = termcolor::NoColor::new(&mut out);
                term::emit(&mut writer, &config, &file, &diagnostic)
            };
            if result.is_err() {
                // Rendering only fails on spans outside the file; fall back to one line.
                out.extend_from_slice(format!("{item}\n").as_bytes());
            }
        }
        if self.omitted > 0 {
            out.extend_from_slice(format!("... and {} more\n", self.omitted).as_bytes());
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}

fn locate_one(source: &Source, index: Option<&SpanIndex>, d: Diagnostic) -> Located {
    let span = match (&d.path, index, d.offset) {
        (_, _, Some(offset)) => offset..offset,
        (Some(path), Some(index), None) => match index.lookup(path) {
            Some((found, node)) => match (d.anchor, &node.key) {
                // Point at the key when asked, or when the exact node was not
                // found (e.g. a missing key: its parent's key is the best place).
                (Anchor::Key, Some(key)) => key.clone(),
                (_, Some(key)) if &found != path => key.clone(),
                _ => node.value.clone(),
            },
            None => 0..0,
        },
        _ => 0..0,
    };
    let (line, column) = source.line_col(span.start);
    Located {
        severity: d.severity,
        code: d.code,
        message: d.message,
        file: source.name().to_owned(),
        line,
        column,
        path: d.path.map(|p| p.to_string()),
        snippet: source.line_text(line).to_owned(),
        help: d.help,
        span,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_by_path_and_renders_the_snippet() {
        let source = Source::new("w.yaml", "name: demo\nsteps:\n  a:\n    usse: core.noop\n");
        let path = YamlPath::root().key("steps").key("a").key("usse");
        let found = vec![
            Diagnostic::error("unknown-key", "unknown key `usse`")
                .at_key(&path)
                .with_help("did you mean `uses`?"),
        ];
        let diagnostics = Diagnostics::locate(&source, found);
        let item = &diagnostics.items[0];
        assert_eq!((item.line, item.column), (4, 5));
        assert_eq!(item.snippet, "    usse: core.noop");
        let text = diagnostics.render(false);
        assert!(text.contains("w.yaml:4:5"), "{text}");
        assert!(text.contains("did you mean `uses`?"), "{text}");
    }

    #[test]
    fn keeps_a_bounded_number() {
        let source = Source::new("w.yaml", "a: 1\n");
        let found = (0..MAX_DIAGNOSTICS + 5)
            .map(|_| Diagnostic::error("x", "x"))
            .collect();
        let diagnostics = Diagnostics::locate(&source, found);
        assert_eq!(diagnostics.items.len(), MAX_DIAGNOSTICS);
        assert_eq!(diagnostics.omitted, 5);
        assert!(diagnostics.render(false).ends_with("... and 5 more\n"));
    }
}
