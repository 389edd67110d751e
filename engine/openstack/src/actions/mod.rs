//! The actions: one file each, with its catalog entry beside its code.

mod create;
mod create_image;
mod delete;
mod download;
mod get;
mod list;
mod upload;
mod verify;
mod wait;

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value as Json, json};
use shutter_core::units::Span;
use shutter_core::{Action, ActionContext, ActionError};
use shutter_core::{ActionSpec, ParamType};

use crate::provider::Provider;

pub(crate) fn all(provider: &Provider) -> Vec<(ActionSpec, Arc<dyn Action>)> {
    vec![
        list::action(provider),
        get::action(provider),
        create::action(provider),
        upload::action(provider),
        download::action(provider),
        wait::action(provider),
        verify::action(provider),
        delete::action(provider),
        create_image::action(provider),
    ]
}

/// The `cloud` parameter every action takes.
fn with_cloud(spec: ActionSpec) -> ActionSpec {
    spec.optional(
        "cloud",
        ParamType::String,
        None,
        "The clouds.yaml entry (default: OS_CLOUD, else the `envvars` cloud of OS_* variables).",
    )
}

fn with_summary(mut spec: ActionSpec) -> ActionSpec {
    for (name, ty, description) in crate::glance::SUMMARY {
        spec = spec.output(name, *ty, description);
    }
    spec
}

fn with_wait_params(spec: ActionSpec) -> ActionSpec {
    spec.optional(
        "interval",
        ParamType::Duration,
        Some(json!("5s")),
        "Time between two looks at the image.",
    )
    .optional(
        "wait_timeout",
        ParamType::Duration,
        Some(json!("1h")),
        "Give up waiting after this long (retryable: the step's retry policy may wait again).",
    )
}

/// The wait parameters (`interval`, `wait_timeout`).
#[derive(Deserialize)]
struct WaitParams {
    #[serde(default = "five_seconds")]
    interval: Span,
    #[serde(default = "an_hour")]
    wait_timeout: Span,
}

fn five_seconds() -> Span {
    Span::secs(5)
}

fn an_hour() -> Span {
    Span::secs(3600)
}

fn wait_options(ctx: &ActionContext) -> Result<crate::glance::WaitOptions, ActionError> {
    let params: WaitParams = ctx.params()?;
    Ok(crate::glance::WaitOptions {
        interval: params.interval.0,
        timeout: params.wait_timeout.0,
    })
}

/// The image an action is about.
#[derive(Deserialize)]
struct ImageParam {
    image_id: String,
}

fn yes() -> bool {
    true
}

/// Glance custom properties are strings: other JSON values are written as JSON text.
fn property_value(value: &Json) -> Json {
    match value {
        Json::String(_) => value.clone(),
        other => Json::String(other.to_string()),
    }
}
