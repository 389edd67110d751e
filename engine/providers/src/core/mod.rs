//! The core actions: no cloud, used to build and test workflows.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value as Json};
use shutter_core::action::declared;
use shutter_core::units::Span;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, LogLevel};

pub(crate) fn actions() -> Vec<(ActionSpec, Arc<dyn Action>)> {
    let specs = shutter_core::Catalog::with_core();
    let spec = |name: &str| {
        specs
            .get(name)
            .cloned()
            .expect("core specs live in the core catalog")
    };
    vec![
        declared(spec("core.noop"), (), |(), _, params| {
            Box::pin(noop(params))
        }),
        declared(spec("core.log"), (), |(), ctx, params| {
            Box::pin(log(ctx, params))
        }),
        declared(spec("core.sleep"), (), |(), ctx, params| {
            Box::pin(sleep(ctx, params))
        }),
        declared(spec("core.fail"), (), |(), _, params| {
            Box::pin(fail(params))
        }),
    ]
}

#[derive(Debug, Deserialize)]
struct NoopParams {
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    outputs: Option<Map<String, Json>>,
}

/// Its `outputs`, as given.
async fn noop(params: NoopParams) -> Result<Json, ActionError> {
    Ok(Json::Object(params.outputs.unwrap_or_default()))
}

#[derive(Debug, Deserialize)]
struct LogParams {
    message: String,
    #[serde(default)]
    level: Level,
}

/// `core.log`'s levels, as written.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Level {
    Debug,
    #[default]
    Info,
    Warn,
    Error,
}

impl From<Level> for LogLevel {
    fn from(level: Level) -> Self {
        match level {
            Level::Debug => Self::Debug,
            Level::Info => Self::Info,
            Level::Warn => Self::Warn,
            Level::Error => Self::Error,
        }
    }
}

async fn log(ctx: &ActionContext, params: LogParams) -> Result<Json, ActionError> {
    ctx.log(params.level.into(), params.message.clone());
    Ok(serde_json::json!({ "message": params.message }))
}

#[derive(Debug, Deserialize)]
struct SleepParams {
    duration: Span,
}

async fn sleep(ctx: &ActionContext, params: SleepParams) -> Result<Json, ActionError> {
    ctx.sleep(params.duration.0).await?;
    Ok(serde_json::json!({}))
}

#[derive(Debug, Deserialize)]
struct FailParams {
    message: String,
    #[serde(default)]
    retryable: bool,
}

async fn fail(params: FailParams) -> Result<Json, ActionError> {
    Err(if params.retryable {
        ActionError::retryable(params.message)
    } else {
        ActionError::fatal(params.message)
    })
}
