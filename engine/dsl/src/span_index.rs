//! Positions of YAML nodes by path, for diagnostics.
//!
//! `serde_yaml` gives values without positions, so when a file has something
//! to report, it is read once more with yaml-rust2's event parser, which
//! marks every node. Events are pulled in a loop with an explicit stack
//! (no recursion), so nesting depth cannot overflow the native stack.

use std::collections::HashMap;
use std::ops::Range;

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::limits::MAX_DEPTH;
use crate::path::YamlPath;
use crate::source::Source;

/// Where a node sits in the source: its key (for mapping values) and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeSpan {
    pub(crate) key: Option<Range<usize>>,
    pub(crate) value: Range<usize>,
}

/// Node positions of one document, looked up by path.
#[derive(Debug, Default)]
pub(crate) struct SpanIndex {
    nodes: HashMap<YamlPath, NodeSpan>,
}

enum Frame {
    Map {
        path: YamlPath,
        /// The key just read, waiting for its value; `None` when the next node is a key.
        key: Option<(String, Range<usize>)>,
    },
    Seq {
        path: YamlPath,
        next: usize,
    },
}

impl SpanIndex {
    /// Builds the index. A document yaml-rust2 cannot read yields the nodes
    /// read so far; lookups then fall back to the nearest known parent.
    pub(crate) fn build(source: &Source) -> Self {
        let mut index = Self::default();
        let mut parser = Parser::new_from_str(source.text());
        let mut stack: Vec<Frame> = Vec::new();
        while let Ok((event, mark)) = parser.next_token() {
            let start = offset(source, mark);
            match event {
                Event::StreamEnd => break,
                Event::Scalar(text, style, ..) => {
                    let end = scalar_end(source, start, &text, style);
                    index.place(&mut stack, Some(text), start..end);
                }
                Event::Alias(_) => {
                    index.place(&mut stack, None, start..start + 1);
                }
                Event::MappingStart(..) | Event::SequenceStart(..) => {
                    let is_map = matches!(event, Event::MappingStart(..));
                    let end = line_end(source, start);
                    let path = index.place(&mut stack, None, start..end);
                    if stack.len() >= MAX_DEPTH {
                        break;
                    }
                    stack.push(if is_map {
                        Frame::Map { path, key: None }
                    } else {
                        Frame::Seq { path, next: 0 }
                    });
                }
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                }
                _ => {}
            }
        }
        index
    }

    /// Records a node at the position the stack says it occupies and returns its path.
    fn place(
        &mut self,
        stack: &mut [Frame],
        scalar: Option<String>,
        span: Range<usize>,
    ) -> YamlPath {
        let (path, key) = match stack.last_mut() {
            None => (YamlPath::root(), None),
            Some(Frame::Seq { path, next }) => {
                let child = path.index(*next);
                *next += 1;
                (child, None)
            }
            Some(Frame::Map { path, key }) => match key.take() {
                Some((name, key_span)) => (path.key(&name), Some(key_span)),
                None => {
                    // This node is a key: remember it for the value that follows.
                    let name = scalar.unwrap_or_else(|| "<complex key>".to_owned());
                    let child = path.key(&name);
                    *key = Some((name, span));
                    return child;
                }
            },
        };
        self.nodes
            .insert(path.clone(), NodeSpan { key, value: span });
        path
    }

    /// The span of `path`, or of its nearest ancestor the index knows.
    pub(crate) fn lookup(&self, path: &YamlPath) -> Option<(YamlPath, &NodeSpan)> {
        let mut current = path.clone();
        loop {
            if let Some(span) = self.nodes.get(&current) {
                return Some((current, span));
            }
            if current.is_root() {
                return None;
            }
            current = current.parent();
        }
    }
}

/// Where the nodes at exactly `paths` are written in `source` (the file
/// read once for all): for a scalar, its text with its quotes. Tools that
/// edit a file in place (`shutter step pin`) replace those ranges and
/// keep everything else as written.
pub fn value_spans(source: &Source, paths: &[YamlPath]) -> Vec<Option<Range<usize>>> {
    let index = SpanIndex::build(source);
    paths
        .iter()
        .map(|path| {
            let (found, span) = index.lookup(path)?;
            (found == *path).then(|| span.value.clone())
        })
        .collect()
}

/// Where the first alias (`*name`) of the document is, if it has one: what
/// an error about aliases expanding too far points at, as serde_yaml gives
/// no position for it.
pub(crate) fn first_alias(source: &Source) -> Option<usize> {
    let mut parser = Parser::new_from_str(source.text());
    while let Ok((event, mark)) = parser.next_token() {
        match event {
            Event::Alias(_) => return Some(offset(source, mark)),
            Event::StreamEnd => return None,
            _ => {}
        }
    }
    None
}

fn offset(source: &Source, mark: Marker) -> usize {
    // yaml-rust2 marks lines from 1 and columns from 0, counted in characters.
    source.offset_of(mark.line(), mark.col() + 1)
}

fn line_end(source: &Source, start: usize) -> usize {
    source.text()[start..]
        .find('\n')
        .map_or(source.text().len(), |i| start + i)
}

fn scalar_end(source: &Source, start: usize, text: &str, style: TScalarStyle) -> usize {
    let quotes = match style {
        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => 2,
        _ => 0,
    };
    (start + text.len().max(1) + quotes).min(line_end(source, start).max(start + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span_text<'a>(source: &'a Source, range: &Range<usize>) -> &'a str {
        &source.text()[range.clone()]
    }

    #[test]
    fn finds_keys_and_values_by_path() {
        let source = Source::new(
            "w.yaml",
            "name: demo\nsteps:\n  a:\n    uses: core.noop\n    needs: [b, \"c\"]\n",
        );
        let index = SpanIndex::build(&source);
        let path = YamlPath::root().key("steps").key("a").key("uses");
        let (found, span) = index.lookup(&path).unwrap();
        assert_eq!(found, path);
        assert_eq!(span_text(&source, span.key.as_ref().unwrap()), "uses");
        assert_eq!(span_text(&source, &span.value), "core.noop");
        assert_eq!(source.line_col(span.value.start), (4, 11));

        let needs = YamlPath::root().key("steps").key("a").key("needs").index(1);
        let (_, span) = index.lookup(&needs).unwrap();
        assert_eq!(span_text(&source, &span.value), "\"c\"");
    }

    #[test]
    fn falls_back_to_the_nearest_parent() {
        let source = Source::new("w.yaml", "steps:\n  a: {uses: x}\n");
        let index = SpanIndex::build(&source);
        let missing = YamlPath::root().key("steps").key("a").key("with").key("p");
        let (found, _) = index.lookup(&missing).unwrap();
        assert_eq!(found.to_string(), "steps.a");
    }

    #[test]
    fn survives_deep_nesting_without_recursion() {
        let text = "[".repeat(10_000) + &"]".repeat(10_000);
        let source = Source::new("w.yaml", text);
        // yaml-rust2 refuses such depth; the index is then partial, never a crash.
        let index = SpanIndex::build(&source);
        assert!(index.nodes.len() <= MAX_DEPTH + 1);
    }
}
