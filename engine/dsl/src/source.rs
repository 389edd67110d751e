//! A workflow's source text: read with limits, checked to be UTF-8, and able
//! to turn a byte offset into line and column.

use crate::diagnostic::Diagnostic;
use crate::limits::MAX_SOURCE_BYTES;

/// U+FEFF, encoded.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The text of one workflow file and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Source {
    name: String,
    text: String,
    line_starts: Vec<usize>,
}

impl Source {
    /// Accepts bytes as read from a file. Fails on oversized or non-UTF-8
    /// input with a diagnostic that points at the first bad byte. A leading
    /// byte-order mark (which some Windows editors write, and hide) is
    /// dropped: YAML parsers took it for a second document.
    pub fn from_bytes(
        name: impl Into<String>,
        mut bytes: Vec<u8>,
    ) -> Result<Self, Box<Diagnostic>> {
        let name = name.into();
        if bytes.len() > MAX_SOURCE_BYTES {
            return Err(Box::new(Diagnostic::error(
                "too-large",
                format!(
                    "workflow file is {} bytes, more than the limit of {} bytes",
                    bytes.len(),
                    MAX_SOURCE_BYTES
                ),
            )));
        }
        if bytes.starts_with(UTF8_BOM) {
            bytes.drain(..UTF8_BOM.len());
        }
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Self::new(name, text)),
            Err(err) => {
                let valid = err.utf8_error().valid_up_to();
                let prefix = String::from_utf8_lossy(&err.as_bytes()[..valid]).into_owned();
                let located = Self::new(name, prefix);
                let (line, col) = located.line_col(valid);
                Err(Box::new(Diagnostic::error(
                    "not-utf8",
                    format!(
                        "invalid UTF-8 at byte {valid} (line {line}, column {col}): workflow files must be UTF-8"
                    ),
                )))
            }
        }
    }

    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self {
            name: name.into(),
            text,
            line_starts,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        };
        let start = self.line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// Byte offset of a 1-based line and a 1-based column counted in characters.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(col.saturating_sub(1))
            .map_or(self.text.len(), |(i, _)| start + i)
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |next| next - 1);
        self.text[start..end.max(start)].trim_end_matches('\r')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_offsets_to_lines_and_columns() {
        let source = Source::new("w.yaml", "a: 1\nbé: 2\n");
        assert_eq!(source.line_col(0), (1, 1));
        assert_eq!(source.line_col(5), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(source.line_col(8), (2, 3));
        assert_eq!(source.offset_of(2, 3), 8);
        assert_eq!(source.line_text(2), "bé: 2");
    }

    #[test]
    fn rejects_invalid_utf8_with_its_position() {
        let err = Source::from_bytes("w.yaml", b"name: ok\nbad: \xff\n".to_vec()).unwrap_err();
        assert!(err.message.contains("line 2, column 6"), "{}", err.message);
    }

    #[test]
    fn rejects_oversized_input() {
        let err = Source::from_bytes("w.yaml", vec![b'#'; MAX_SOURCE_BYTES + 1]).unwrap_err();
        assert_eq!(err.code, "too-large");
    }
}
