//! Managed object references: `VirtualMachine:vm-42`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::xml::Element;

/// A vSphere managed object reference: its type and its id (the `value`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MoRef {
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

impl MoRef {
    pub fn new(kind: &str, value: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            value: value.to_owned(),
        }
    }

    /// A reference as vim25 writes one: `<x type="Kind">value</x>`.
    pub fn from_element(element: &Element) -> Option<Self> {
        let kind = element.attr("type")?;
        let value = element.text.trim();
        (!value.is_empty()).then(|| Self::new(kind, value))
    }
}

impl fmt::Display for MoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}
