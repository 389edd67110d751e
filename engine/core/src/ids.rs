//! Identifiers of executions and of step instances.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An execution's id: a `UUIDv7`, so ids sort by creation time (keyset
/// pagination and "newest first" need no extra index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExecutionId(uuid::Uuid);

impl ExecutionId {
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }
}

impl Default for ExecutionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ExecutionId {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        uuid::Uuid::parse_str(text)
            .map(Self)
            .map_err(|_| format!("`{text}` is not an execution id"))
    }
}

/// One runnable instance of a step: the step itself, or one item of its
/// `for_each`. Written `snap` or `snap[3]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct StepKey {
    pub step: String,
    pub item: Option<usize>,
}

impl StepKey {
    pub fn step(step: &str) -> Self {
        Self {
            step: step.to_owned(),
            item: None,
        }
    }

    pub fn item(step: &str, item: usize) -> Self {
        Self {
            step: step.to_owned(),
            item: Some(item),
        }
    }

    /// Its text (`snap`, `snap[3]`), as [`fmt::Display`] writes it:
    /// borrowed, without an allocation, for a step without items.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self.item {
            None => std::borrow::Cow::Borrowed(&self.step),
            Some(_) => std::borrow::Cow::Owned(self.to_string()),
        }
    }
}

impl fmt::Display for StepKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.item {
            Some(item) => write!(f, "{}[{item}]", self.step),
            None => f.write_str(&self.step),
        }
    }
}

/// Written as its text, straight into the output: every event and step
/// record names its step, and going through a `String` (a clone and a
/// format) was two allocations each time (issue 19).
impl Serialize for StepKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.item {
            None => serializer.serialize_str(&self.step),
            Some(_) => serializer.collect_str(self),
        }
    }
}

impl From<StepKey> for String {
    fn from(key: StepKey) -> Self {
        key.to_string()
    }
}

impl TryFrom<String> for StepKey {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        match text.strip_suffix(']').and_then(|t| t.split_once('[')) {
            Some((step, item)) => item
                .parse()
                .map(|item| Self::item(step, item))
                .map_err(|_| format!("`{text}` is not a step key")),
            None => Ok(Self {
                step: text,
                item: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_keys_round_trip_through_text() {
        for key in [StepKey::step("snap"), StepKey::item("snap", 3)] {
            assert_eq!(StepKey::try_from(key.to_string()), Ok(key));
        }
        assert_eq!(StepKey::item("a", 12).to_string(), "a[12]");
        assert_eq!(StepKey::item("a", 12).text(), "a[12]");
        assert_eq!(StepKey::step("a").text(), "a");
    }

    #[test]
    fn step_keys_are_written_as_their_text_also_as_map_keys() {
        for key in [StepKey::step("snap"), StepKey::item("snap", 3)] {
            let text = serde_json::to_string(&key).expect("serializes");
            assert_eq!(text, format!("\"{key}\""));
            assert_eq!(
                serde_json::from_str::<StepKey>(&text).ok(),
                Some(key.clone())
            );
            let map = std::collections::BTreeMap::from([(key.clone(), 1)]);
            let text = serde_json::to_string(&map).expect("serializes");
            assert_eq!(text, format!("{{\"{key}\":1}}"));
        }
    }

    #[test]
    fn execution_ids_sort_by_creation() {
        let first = ExecutionId::new();
        let second = ExecutionId::new();
        assert!(first < second);
        assert_eq!(first.to_string().parse::<ExecutionId>(), Ok(first));
    }
}
