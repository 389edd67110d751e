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
use std::time::Duration;

use serde_json::{Value as Json, json};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError};

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

fn duration(ctx: &ActionContext, name: &str, default: Duration) -> Result<Duration, ActionError> {
    match ctx.params.get(name).and_then(Json::as_str) {
        Some(text) => shutter_dsl::units::parse_duration(text)
            .map_err(|e| ActionError::Fatal(format!("parameter `{name}`: {e}"))),
        None => Ok(default),
    }
}

fn wait_options(ctx: &ActionContext) -> Result<crate::glance::WaitOptions, ActionError> {
    Ok(crate::glance::WaitOptions {
        interval: duration(ctx, "interval", Duration::from_secs(5))?,
        timeout: duration(ctx, "wait_timeout", Duration::from_secs(3600))?,
    })
}

/// Glance custom properties are strings: other JSON values are written as JSON text.
fn property_value(value: &Json) -> Json {
    match value {
        Json::String(_) => value.clone(),
        other => Json::String(other.to_string()),
    }
}
