//! The core actions: no cloud, used to build and test workflows.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use shutter_dsl::ActionSpec;
use shutter_runtime::{Action, ActionContext, ActionError, LogLevel};

pub(crate) fn actions() -> Vec<(ActionSpec, Arc<dyn Action>)> {
    let specs = shutter_dsl::Catalog::with_core();
    let spec = |name: &str| {
        specs
            .get(name)
            .cloned()
            .expect("core specs live in the dsl catalog")
    };
    vec![
        (spec("core.noop"), Arc::new(Noop)),
        (spec("core.log"), Arc::new(Log)),
        (spec("core.sleep"), Arc::new(Sleep)),
        (spec("core.fail"), Arc::new(Fail)),
    ]
}

#[derive(Debug)]
struct Noop;

#[async_trait]
impl Action for Noop {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        Ok(ctx
            .params
            .get("outputs")
            .cloned()
            .unwrap_or_else(|| json!({})))
    }
}

#[derive(Debug)]
struct Log;

#[async_trait]
impl Action for Log {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let message = ctx.str_param("message")?;
        let level = match ctx
            .params
            .get("level")
            .and_then(Json::as_str)
            .unwrap_or("info")
        {
            "debug" => LogLevel::Debug,
            "info" => LogLevel::Info,
            "warn" => LogLevel::Warn,
            "error" => LogLevel::Error,
            other => {
                return Err(ActionError::Fatal(format!(
                    "unknown level `{other}`: use debug, info, warn or error"
                )));
            }
        };
        ctx.log(level, message);
        Ok(json!({ "message": message }))
    }
}

#[derive(Debug)]
struct Sleep;

#[async_trait]
impl Action for Sleep {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let text = ctx.str_param("duration")?;
        let duration = shutter_dsl::units::parse_duration(text).map_err(ActionError::Fatal)?;
        ctx.sleep(duration).await?;
        Ok(json!({}))
    }
}

#[derive(Debug)]
struct Fail;

#[async_trait]
impl Action for Fail {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let message = ctx.str_param("message")?.to_owned();
        if ctx
            .params
            .get("retryable")
            .and_then(Json::as_bool)
            .unwrap_or(false)
        {
            Err(ActionError::Retryable(message))
        } else {
            Err(ActionError::Fatal(message))
        }
    }
}
