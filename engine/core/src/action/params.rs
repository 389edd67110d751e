//! Parameters read as a typed struct: a parameter of the wrong type, or a
//! required one missing, is an error naming it — never a silent default.
//!
//! The compiler checks literal types against the catalog; values that come
//! from expressions are checked here, when they are known. The helpers
//! below are for `#[serde(deserialize_with = ...)]`: an optional value that
//! is null or an empty string counts as not given ([`optional`]), so
//! `kms_key_id: ${{ inputs.kms_key }}` works when the input is empty.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;

use super::{ActionContext, ActionError};

impl ActionContext {
    /// The parameters as `T` (serde). Declare optional parameters with
    /// `#[serde(default)]` and refuse unknown ones with
    /// `#[serde(deny_unknown_fields)]` when the catalog lists them all.
    pub fn params<T: DeserializeOwned>(&self) -> Result<T, ActionError> {
        parse(&self.params)
    }
}

/// `params` as `T`, with errors naming the parameter at fault.
pub fn parse<T: DeserializeOwned>(params: &Json) -> Result<T, ActionError> {
    parse_at(None, params)
}

/// The one parameter `name` as `T` (an object such as `vcenter`), with
/// errors naming the field at fault: `parameter `vcenter.url`: ...`.
pub fn parse_param<T: DeserializeOwned>(name: &str, value: &Json) -> Result<T, ActionError> {
    parse_at(Some(name), value)
}

fn parse_at<T: DeserializeOwned>(name: Option<&str>, value: &Json) -> Result<T, ActionError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let why = err.inner().to_string();
        let at = match (name, path.as_str()) {
            (None, ".") => return ActionError::fatal(format!("parameters: {why}")),
            (None, path) => path.to_owned(),
            (Some(name), ".") => name.to_owned(),
            (Some(name), path) => format!("{name}.{path}"),
        };
        ActionError::fatal(format!("parameter `{at}`: {why}"))
    })
}

/// An optional parameter: null or `""` is not given. Use with
/// `#[serde(default, deserialize_with = "optional")]`.
pub fn optional<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Json::deserialize(deserializer)? {
        Json::Null => Ok(None),
        Json::String(text) if text.is_empty() => Ok(None),
        value => serde_json::from_value(value)
            .map(Some)
            .map_err(D::Error::custom),
    }
}

/// A parameter with a default: null or `""` is not given, so the default.
/// `#[action_params]` uses it for fields with `#[param(default = ...)]`.
pub fn optional_or<'de, D, T>(deserializer: D, default: fn() -> T) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    Ok(optional(deserializer)?.unwrap_or_else(default))
}

/// A required string that may not be empty (an expression that gave `""`
/// is as good as missing). Use with `#[serde(deserialize_with = "required")]`.
pub fn required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    if text.is_empty() {
        return Err(D::Error::custom("must not be empty"));
    }
    Ok(text)
}

/// A list of strings, where one string is a list of one and null or `""`
/// an empty list. Use with `#[serde(default, deserialize_with = "one_or_many")]`.
pub fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    match Json::deserialize(deserializer)? {
        Json::Null => Ok(Vec::new()),
        Json::String(text) if text.is_empty() => Ok(Vec::new()),
        Json::String(one) => Ok(vec![one]),
        Json::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Json::String(text) => Ok(text),
                other => Err(D::Error::custom(format!(
                    "expected a list of strings, found {other}"
                ))),
            })
            .collect(),
        other => Err(D::Error::custom(format!(
            "expected a string or a list of strings, found {other}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct List {
        #[serde(default)]
        page_size: Option<u64>,
        #[serde(default)]
        filters: std::collections::BTreeMap<String, String>,
    }

    #[test]
    fn a_wrong_type_names_the_parameter() {
        let list: List = parse(&json!({"page_size": 50})).expect("valid");
        assert_eq!(list.page_size, Some(50));
        let err = parse::<List>(&json!({"page_size": "abc"})).expect_err("a string");
        assert_eq!(
            err.message(),
            "parameter `page_size`: invalid type: string \"abc\", expected u64"
        );
        let err = parse::<List>(&json!({"filters": {"os": 7}})).expect_err("a number");
        assert!(
            err.message()
                .starts_with("parameter `filters.os`: invalid type"),
            "{err}"
        );
        let err = parse::<List>(&json!({"pagesize": 1})).expect_err("unknown");
        assert!(err.message().contains("unknown field `pagesize`"), "{err}");
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Copy {
        #[serde(default, deserialize_with = "optional")]
        kms_key_id: Option<String>,
        #[serde(default, deserialize_with = "optional")]
        encrypted: Option<bool>,
        #[serde(default, deserialize_with = "one_or_many")]
        ids: Vec<String>,
    }

    #[test]
    fn blank_is_not_given_but_a_wrong_type_is_an_error() {
        let copy: Copy =
            parse(&json!({"kms_key_id": "", "encrypted": null, "ids": "snap-1"})).expect("valid");
        assert_eq!(
            copy,
            Copy {
                kms_key_id: None,
                encrypted: None,
                ids: vec!["snap-1".to_owned()]
            }
        );
        let copy: Copy = parse(&json!({"ids": ["a", "b"], "encrypted": true})).expect("valid");
        assert_eq!(copy.ids, ["a", "b"]);
        assert_eq!(copy.encrypted, Some(true));
        let err = parse::<Copy>(&json!({"encrypted": "yes"})).expect_err("a string");
        assert!(
            err.message()
                .starts_with("parameter `encrypted`: invalid type: string"),
            "{err}"
        );
        let err = parse::<Copy>(&json!({"ids": ["a", 3]})).expect_err("a number");
        assert_eq!(
            err.message(),
            "parameter `ids`: expected a list of strings, found 3"
        );
    }

    #[test]
    fn one_parameter_names_its_fields_under_it() {
        let err = parse_param::<List>("listing", &json!({"page_size": true})).expect_err("bool");
        assert!(
            err.message()
                .starts_with("parameter `listing.page_size`: invalid type"),
            "{err}"
        );
        let err = parse_param::<List>("listing", &json!(3)).expect_err("not an object");
        assert!(
            err.message()
                .starts_with("parameter `listing`: invalid type"),
            "{err}"
        );
    }
}
