//! Secrets: where their values come from, and redaction, so that no value
//! ever reaches a record, a log line or an error message.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value as Json;

/// Secret values by name. Debug never prints a value.
#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<String, String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Secrets {
    pub fn new(values: BTreeMap<String, String>) -> Self {
        Self { values }
    }

    /// The secrets `names` from the environment, as `SHUTTER_SECRET_<NAME>`
    /// (upper-cased). Missing ones are left out.
    pub fn from_env(names: &[String]) -> Self {
        let values = names
            .iter()
            .filter_map(|name| {
                let var = format!("SHUTTER_SECRET_{}", name.to_ascii_uppercase());
                std::env::var(var).ok().map(|value| (name.clone(), value))
            })
            .collect();
        Self { values }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Only the named secrets.
    pub fn only(&self, names: &[String]) -> Self {
        Self {
            values: self
                .values
                .iter()
                .filter(|(name, _)| names.contains(name))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// For expressions: `secrets.NAME`.
    pub fn to_value(&self) -> minijinja::Value {
        minijinja::Value::from_serialize(&self.values)
    }

    /// Replaces every secret value inside `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        // Longest first, so a secret containing another is hidden whole.
        let mut values: Vec<&String> = self.values.values().filter(|v| !v.is_empty()).collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for value in values {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), "***");
            }
        }
        out
    }

    /// Redacts every string inside a JSON value.
    pub fn redact_json(&self, value: &Json) -> Json {
        if self.values.is_empty() {
            return value.clone();
        }
        match value {
            Json::String(text) => Json::String(self.redact(text)),
            Json::Array(items) => Json::Array(items.iter().map(|v| self.redact_json(v)).collect()),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.redact_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secrets() -> Secrets {
        Secrets::new(
            [
                ("token".to_owned(), "s3cr3t-value".to_owned()),
                ("short".to_owned(), "s3cr3t".to_owned()),
            ]
            .into(),
        )
    }

    #[test]
    fn redacts_values_in_text_and_json() {
        let s = secrets();
        assert_eq!(s.redact("auth s3cr3t-value and s3cr3t"), "auth *** and ***");
        assert_eq!(
            s.redact_json(&json!({"a": ["x s3cr3t-value"], "n": 1})),
            json!({"a": ["x ***"], "n": 1})
        );
    }

    #[test]
    fn debug_shows_names_only() {
        assert_eq!(format!("{:?}", secrets()), "{\"short\", \"token\"}");
    }
}
