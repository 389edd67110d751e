//! Reading a step's parameters. The compiler has checked literal types;
//! expressions are checked here, when their values are known. An optional
//! parameter that is null or an empty string counts as not given, so
//! `kms_key_id: ${{ inputs.kms_key }}` works when the input is empty.

use std::time::Duration;

use aws_sdk_ec2::types::Tag;
use serde_json::Value as Json;
use shutter_runtime::{ActionContext, ActionError};

fn given<'a>(ctx: &'a ActionContext, name: &str) -> Option<&'a Json> {
    match ctx.params.get(name) {
        None | Some(Json::Null) => None,
        Some(Json::String(text)) if text.is_empty() => None,
        Some(value) => Some(value),
    }
}

fn wrong(name: &str, expected: &str, value: &Json) -> ActionError {
    ActionError::Fatal(format!(
        "parameter `{name}` must be {expected}, got {value}"
    ))
}

pub(crate) fn opt_str<'a>(
    ctx: &'a ActionContext,
    name: &str,
) -> Result<Option<&'a str>, ActionError> {
    given(ctx, name)
        .map(|value| value.as_str().ok_or_else(|| wrong(name, "a string", value)))
        .transpose()
}

pub(crate) fn required_str<'a>(ctx: &'a ActionContext, name: &str) -> Result<&'a str, ActionError> {
    opt_str(ctx, name)?.ok_or_else(|| ActionError::Fatal(format!("missing parameter `{name}`")))
}

pub(crate) fn bool_or(ctx: &ActionContext, name: &str, default: bool) -> Result<bool, ActionError> {
    given(ctx, name).map_or(Ok(default), |value| {
        value
            .as_bool()
            .ok_or_else(|| wrong(name, "true or false", value))
    })
}

pub(crate) fn opt_bool(ctx: &ActionContext, name: &str) -> Result<Option<bool>, ActionError> {
    given(ctx, name)
        .map(|value| {
            value
                .as_bool()
                .ok_or_else(|| wrong(name, "true or false", value))
        })
        .transpose()
}

/// A list of strings; a single string is a list of one.
pub(crate) fn strings(ctx: &ActionContext, name: &str) -> Result<Vec<String>, ActionError> {
    match given(ctx, name) {
        None => Ok(Vec::new()),
        Some(Json::String(one)) => Ok(vec![one.clone()]),
        Some(Json::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| wrong(name, "a list of strings", item))
            })
            .collect(),
        Some(other) => Err(wrong(name, "a list of strings", other)),
    }
}

/// A map of tag keys to values; numbers and booleans become their text.
pub(crate) fn tags(ctx: &ActionContext, name: &str) -> Result<Vec<Tag>, ActionError> {
    let Some(value) = given(ctx, name) else {
        return Ok(Vec::new());
    };
    let map = value
        .as_object()
        .ok_or_else(|| wrong(name, "a map of tag keys to values", value))?;
    map.iter()
        .map(|(key, value)| {
            let text = match value {
                Json::String(text) => text.clone(),
                Json::Number(_) | Json::Bool(_) => value.to_string(),
                other => return Err(wrong(&format!("{name}.{key}"), "a string", other)),
            };
            Ok(Tag::builder().key(key).value(text).build())
        })
        .collect()
}

/// A duration such as `30s` or `2h`, and its text for messages.
pub(crate) fn duration_or(
    ctx: &ActionContext,
    name: &str,
    default: &str,
) -> Result<(Duration, String), ActionError> {
    let text = opt_str(ctx, name)?.unwrap_or(default);
    let duration = shutter_dsl::units::parse_duration(text)
        .map_err(|err| ActionError::Fatal(format!("parameter `{name}`: {err}")))?;
    Ok((duration, text.to_owned()))
}

/// A positive whole number that fits an `i32` (AWS's page sizes).
pub(crate) fn opt_i32(ctx: &ActionContext, name: &str) -> Result<Option<i32>, ActionError> {
    given(ctx, name)
        .map(|value| {
            value
                .as_u64()
                .and_then(|n| i32::try_from(n).ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| wrong(name, "a positive integer", value))
        })
        .transpose()
}
