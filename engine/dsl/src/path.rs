//! A location inside the YAML document, as a path of keys and indexes.
//!
//! Diagnostics carry a path rather than a byte span because the fast path
//! (a valid file) never needs positions: spans are looked up by path only
//! when there is something to report (see `span_index`). A path is a shared
//! linked list, so extending one (done for every value checked) costs one
//! small allocation, not a copy of the whole path.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// One step down into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(String),
    Index(usize),
}

#[derive(Debug)]
struct Node {
    parent: YamlPath,
    segment: Segment,
    depth: usize,
}

/// A path from the document root, e.g. `steps.snapshot.with.vm`.
#[derive(Debug, Clone, Default)]
pub struct YamlPath(Option<Arc<Node>>);

impl YamlPath {
    pub fn root() -> Self {
        Self(None)
    }

    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        self.child(Segment::Key(key.to_owned()))
    }

    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        self.child(Segment::Index(index))
    }

    fn child(&self, segment: Segment) -> Self {
        Self(Some(Arc::new(Node {
            parent: self.clone(),
            segment,
            depth: self.depth() + 1,
        })))
    }

    fn depth(&self) -> usize {
        self.0.as_ref().map_or(0, |node| node.depth)
    }

    /// The segments from the root down.
    pub fn segments(&self) -> Vec<Segment> {
        let mut segments = Vec::with_capacity(self.depth());
        let mut at = self;
        while let Some(node) = &at.0 {
            segments.push(node.segment.clone());
            at = &node.parent;
        }
        segments.reverse();
        segments
    }

    /// The path one level up; the root is its own parent.
    #[must_use]
    pub fn parent(&self) -> Self {
        self.0
            .as_ref()
            .map_or_else(Self::root, |node| node.parent.clone())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_none()
    }
}

impl PartialEq for YamlPath {
    fn eq(&self, other: &Self) -> bool {
        let (mut a, mut b) = (self, other);
        if a.depth() != b.depth() {
            return false;
        }
        loop {
            match (&a.0, &b.0) {
                (None, None) => return true,
                (Some(x), Some(y)) if Arc::ptr_eq(x, y) => return true,
                (Some(x), Some(y)) if x.segment == y.segment => {
                    a = &x.parent;
                    b = &y.parent;
                }
                _ => return false,
            }
        }
    }
}

impl Eq for YamlPath {}

impl Hash for YamlPath {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut at = self;
        while let Some(node) = &at.0 {
            node.segment.hash(state);
            at = &node.parent;
        }
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let segments = self.segments();
        if segments.is_empty() {
            return f.write_str("(document)");
        }
        for (i, segment) in segments.iter().enumerate() {
            match segment {
                Segment::Key(key) if i == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn displays_keys_and_indexes() {
        let path = YamlPath::root().key("steps").key("a").key("needs").index(2);
        assert_eq!(path.to_string(), "steps.a.needs[2]");
        assert_eq!(path.parent().to_string(), "steps.a.needs");
        assert_eq!(YamlPath::root().to_string(), "(document)");
    }

    #[test]
    fn equal_paths_built_apart_are_equal_and_hash_alike() {
        let one = YamlPath::root().key("steps").key("a");
        let two = YamlPath::root().key("steps").key("a");
        assert_eq!(one, two);
        assert_ne!(one, YamlPath::root().key("steps").key("b"));
        assert_ne!(one, one.parent());
        let set: HashSet<YamlPath> = [one.clone()].into_iter().collect();
        assert!(set.contains(&two));
    }
}
