//! Secrets: where their values come from, and redaction, so that no value
//! ever reaches a record, a log line or an error message.
//!
//! Redaction hides each value as written and in the forms a value takes on
//! its way through HTTP clients and JSON: URL-encoded, JSON-escaped and
//! base64 (at each of the three alignments a value can have inside a
//! longer base64 text, such as `user:password` in a basic-auth header).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use serde_json::Value as Json;

/// Forms other than the value itself are hidden only for values at least
/// this long: shorter ones would hide common text.
const MIN_DERIVED: usize = 4;

/// The text put where a secret was.
pub const REDACTED: &str = "***";

/// Secret values by name. Debug never prints a value.
#[derive(Clone, Default)]
pub struct Secrets {
    values: BTreeMap<String, String>,
    /// Every form to hide, longest first (a secret containing another is
    /// hidden whole).
    patterns: Vec<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

impl Secrets {
    pub fn new(values: BTreeMap<String, String>) -> Self {
        let mut patterns: Vec<String> = values
            .values()
            .filter(|value| !value.is_empty())
            .flat_map(|value| forms(value))
            .collect();
        patterns.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        patterns.dedup();
        Self { values, patterns }
    }

    /// The variable a secret is read from: `SHUTTER_SECRET_<NAME>`.
    pub fn variable(name: &str) -> String {
        format!("SHUTTER_SECRET_{}", name.to_ascii_uppercase())
    }

    /// The secrets `names` from the environment ([`Secrets::variable`]).
    /// Missing and empty ones are left out.
    pub fn from_env(names: &[String]) -> Self {
        let values = names
            .iter()
            .filter_map(|name| {
                std::env::var(Self::variable(name))
                    .ok()
                    .filter(|value| !value.is_empty())
                    .map(|value| (name.clone(), value))
            })
            .collect();
        Self::new(values)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The secret `name` that parameter `param` names (`vcenter.password_secret`),
    /// or the one error every action gives when it is not granted.
    pub fn granted(&self, param: &str, name: &str) -> Result<&str, crate::ActionError> {
        self.get(name).ok_or_else(|| {
            crate::ActionError::fatal(format!(
                "`{param}` names the secret `{name}`, which is not granted to this step or has no value"
            ))
        })
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// Only the named secrets.
    pub fn only(&self, names: &[String]) -> Self {
        Self::new(
            self.values
                .iter()
                .filter(|(name, _)| names.contains(name))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// These secrets and `other`'s (`other` wins on a name both hold).
    #[must_use]
    pub fn merged(&self, other: &Self) -> Self {
        let mut values = self.values.clone();
        values.extend(other.values.clone());
        Self::new(values)
    }

    /// Name -> value, for expressions (`secrets.NAME`).
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.values
    }

    /// Replaces every secret inside `text`, in any of its forms, with `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for pattern in &self.patterns {
            if out.contains(pattern.as_str()) {
                out = out.replace(pattern.as_str(), REDACTED);
            }
        }
        out
    }

    /// Redacts every string inside a JSON value, keys included.
    pub fn redact_json(&self, value: &Json) -> Json {
        if self.patterns.is_empty() {
            return value.clone();
        }
        match value {
            Json::String(text) => Json::String(self.redact(text)),
            Json::Array(items) => Json::Array(items.iter().map(|v| self.redact_json(v)).collect()),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (self.redact(k), self.redact_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// The forms of `value` that may reach a record.
fn forms(value: &str) -> Vec<String> {
    let mut forms = vec![value.to_owned()];
    if value.len() < MIN_DERIVED {
        return forms;
    }
    let json = serde_json::to_string(value).unwrap_or_default();
    forms.push(json.trim_matches('"').to_owned());
    let url = percent_encoding::utf8_percent_encode(value, COMPONENT).to_string();
    forms.push(lowercase_escapes(&url));
    forms.push(url.replace("%20", "+"));
    forms.push(url);
    for engine in [
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        forms.extend(base64_cores(value.as_bytes(), engine));
    }
    forms.retain(|form| !form.is_empty());
    forms
}

/// What `encodeURIComponent` leaves alone: letters, digits and `-_.!~*'()`.
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// The part of the base64 text of `bytes` that does not depend on what
/// comes before or after it, for each of the three offsets `bytes` can
/// start at inside a longer text.
fn base64_cores(bytes: &[u8], engine: &base64::engine::GeneralPurpose) -> Vec<String> {
    (0..3)
        .filter_map(|offset| {
            let mut padded = vec![0u8; offset];
            padded.extend_from_slice(bytes);
            let encoded = engine.encode(&padded);
            // Characters holding only bits of `bytes`: from the first
            // whole sextet after the prefix to the last whole one inside.
            let start = (offset * 8).div_ceil(6);
            let end = ((offset + bytes.len()) * 8) / 6;
            let core = encoded.get(start..end)?;
            (core.len() >= MIN_DERIVED).then(|| core.to_owned())
        })
        .collect()
}

/// `%2F` as `%2f`: some encoders write hex in lower case.
fn lowercase_escapes(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut chars = url.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            out.extend(chars.by_ref().take(2).map(|hex| hex.to_ascii_lowercase()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE};
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
    fn redacts_keys_as_well_as_values() {
        let s = secrets();
        assert_eq!(
            s.redact_json(&json!({"s3cr3t-value": {"ok": "s3cr3t"}})),
            json!({"***": {"ok": "***"}})
        );
    }

    #[test]
    fn redacts_the_forms_a_value_takes_in_transit() {
        let value = "p@ss w/rd\"+é&=?";
        let s = Secrets::new([("pw".to_owned(), value.to_owned())].into());
        let url = percent_encoding::utf8_percent_encode(value, COMPONENT).to_string();
        let json = serde_json::to_string(value).unwrap();
        for (form, text) in [
            ("url", format!("https://h/?q={url}&x=1")),
            ("url, lower-case hex", format!("q={}", url.to_lowercase())),
            ("form", format!("a=1&q={}", url.replace("%20", "+"))),
            ("json", format!("{{\"body\": {json}}}")),
            ("base64", format!("Basic {}", STANDARD.encode(value))),
            (
                "base64 inside user:password",
                format!("Basic {}", STANDARD.encode(format!("admin:{value}"))),
            ),
            (
                "base64 at offset 2",
                URL_SAFE.encode(format!("ab{value}xyz")),
            ),
        ] {
            let redacted = s.redact(&text);
            assert!(redacted.contains(REDACTED), "{form}: {text} -> {redacted}");
            for leak in [value, url.as_str(), json.trim_matches('"')] {
                assert!(!redacted.contains(leak), "{form}: {redacted}");
            }
        }
    }

    #[test]
    fn short_values_are_hidden_only_as_written() {
        let s = Secrets::new([("pin".to_owned(), "42x".to_owned())].into());
        assert_eq!(s.redact("pin 42x"), "pin ***");
        // Its base64 (`NDJ4`) is common text at this length: left alone.
        assert_eq!(s.redact("NDJ4"), "NDJ4");
    }

    #[test]
    fn debug_shows_names_only() {
        assert_eq!(format!("{:?}", secrets()), "{\"short\", \"token\"}");
    }
}
