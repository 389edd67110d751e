//! The `vro.workflow.*` actions: start an execution, wait for it, cancel it.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError};

use super::client::{VroClient, VroConfig};
use super::params::{from_parameters, to_parameters};
use crate::env::Env;

const VRO_PARAM: &str = "The vRO server: the name of a server in Shutter's config (vro_servers, docs/configuration.md), or {url, username + password_secret (basic) or token_secret (bearer), insecure, ca_file}.";

/// The vRO actions; `env` is where named servers' passwords and the config
/// file's location come from.
pub(crate) fn actions(env: &Env) -> Vec<(ActionSpec, Arc<dyn Action>)> {
    vec![
        (run_spec(), Arc::new(Run(env.clone()))),
        (wait_spec(), Arc::new(Wait(env.clone()))),
        (cancel_spec(), Arc::new(Cancel(env.clone()))),
    ]
}

fn client(ctx: &ActionContext, env: &Env) -> Result<VroClient, ActionError> {
    VroClient::new(VroConfig::from_step(
        ctx.param("vro")?,
        &ctx.secrets,
        env,
        &ctx.files,
    )?)
}

fn run_spec() -> ActionSpec {
    ActionSpec::new(
        "vro.workflow.run",
        "Starts a vRO workflow (POST /vco/api/workflows/{id}/executions). Not idempotent on vRO's side: a try cut short after vRO accepted it may start a second execution.",
    )
    .param("vro", ParamType::Any, VRO_PARAM)
    .param("workflow", ParamType::String, "The workflow's id.")
    .optional(
        "parameters",
        ParamType::Object,
        Some(json!({})),
        "Inputs by name: strings, numbers, booleans, arrays, {type, id} for SDK objects, other objects as Properties.",
    )
    .output("execution", ParamType::String, "The new execution's id.")
    .output("workflow", ParamType::String, "The workflow's id.")
}

#[derive(Debug)]
struct Run(Env);

#[async_trait]
impl Action for Run {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let workflow = ctx.str_param("workflow")?;
        let empty = Map::new();
        let values = match ctx.params.get("parameters") {
            None | Some(Json::Null) => &empty,
            Some(Json::Object(map)) => map,
            Some(_) => {
                return Err(ActionError::Fatal(
                    "parameter `parameters` must be an object".to_owned(),
                ));
            }
        };
        let parameters = to_parameters(values).map_err(ActionError::Fatal)?;
        let execution = client(ctx, &self.0)?.start(workflow, parameters).await?;
        Ok(json!({ "execution": execution, "workflow": workflow }))
    }
}

fn wait_spec() -> ActionSpec {
    ActionSpec::new(
        "vro.workflow.wait",
        "Waits for a vRO execution to end, polling its state with backoff; `waiting` (user interaction or a signal) is reported as progress. Fails with vRO's content-exception when the execution fails.",
    )
    .param("vro", ParamType::Any, VRO_PARAM)
    .param("workflow", ParamType::String, "The workflow's id.")
    .param("execution", ParamType::String, "The execution's id (the `execution` output of vro.workflow.run).")
    .optional("poll_interval", ParamType::Duration, Some(json!("2s")), "The first wait between polls; it grows by half each poll.")
    .optional("max_poll_interval", ParamType::Duration, Some(json!("30s")), "The longest wait between polls.")
    .output("state", ParamType::String, "completed.")
    .output("outputs", ParamType::Object, "The output parameters by name, as plain values.")
    .output("execution", ParamType::String, "The execution's id.")
    .output("workflow", ParamType::String, "The workflow's id.")
    .output("start_date", ParamType::String, "When vRO started it.")
    .output("end_date", ParamType::String, "When vRO finished it.")
}

#[derive(Debug)]
struct Wait(Env);

fn duration(ctx: &ActionContext, name: &str, default: Duration) -> Result<Duration, ActionError> {
    match ctx.params.get(name).and_then(Json::as_str) {
        Some(text) => shutter_dsl::units::parse_duration(text)
            .map_err(|e| ActionError::Fatal(format!("parameter `{name}`: {e}"))),
        None => Ok(default),
    }
}

#[async_trait]
impl Action for Wait {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let workflow = ctx.str_param("workflow")?;
        let execution = ctx.str_param("execution")?;
        let client = client(ctx, &self.0)?;
        let max = duration(ctx, "max_poll_interval", Duration::from_secs(30))?;
        let mut delay = duration(ctx, "poll_interval", Duration::from_secs(2))?.min(max);
        let mut last = String::new();
        loop {
            let state = client.state(workflow, execution).await?;
            match state.as_str() {
                "completed" => break,
                "failed" => {
                    let record = client.execution(workflow, execution).await?;
                    let cause = record
                        .get("content-exception")
                        .and_then(Json::as_str)
                        .unwrap_or("no content-exception given");
                    return Err(ActionError::Fatal(format!(
                        "vro workflow {workflow} execution {execution} failed: {cause}"
                    )));
                }
                "canceled" => {
                    return Err(ActionError::Fatal(format!(
                        "vro workflow {workflow} execution {execution} was canceled in vro"
                    )));
                }
                _ if state != last => {
                    let message = match state.as_str() {
                        "waiting" => {
                            format!("vro execution {execution}: waiting for user interaction")
                        }
                        "waiting-signal" => {
                            format!("vro execution {execution}: waiting for a signal")
                        }
                        other => format!("vro execution {execution}: {other}"),
                    };
                    // vRO gives no percentage; the state is the news.
                    ctx.progress(0, message);
                    ctx.flush().await?;
                }
                _ => {}
            }
            last = state;
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = ctx.cancel.cancelled() => return Err(ActionError::Canceled),
            }
            delay = delay.mul_f32(1.5).min(max);
        }
        let record = client.execution(workflow, execution).await?;
        let field = |name: &str| record.get(name).cloned().unwrap_or(Json::Null);
        Ok(json!({
            "state": "completed",
            "outputs": from_parameters(&field("output-parameters")),
            "execution": execution,
            "workflow": workflow,
            "start_date": field("start-date"),
            "end_date": field("end-date"),
        }))
    }
}

fn cancel_spec() -> ActionSpec {
    ActionSpec::new(
        "vro.workflow.cancel",
        "Asks vRO to cancel an execution (DELETE .../executions/{id}/state) and reports its state afterwards.",
    )
    .param("vro", ParamType::Any, VRO_PARAM)
    .param("workflow", ParamType::String, "The workflow's id.")
    .param("execution", ParamType::String, "The execution's id.")
    .output("state", ParamType::String, "The execution's state after the request (canceled, or what it ended as).")
    .output("execution", ParamType::String, "The execution's id.")
}

#[derive(Debug)]
struct Cancel(Env);

#[async_trait]
impl Action for Cancel {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let workflow = ctx.str_param("workflow")?;
        let execution = ctx.str_param("execution")?;
        let client = client(ctx, &self.0)?;
        client.cancel(workflow, execution).await?;
        let state = client.state(workflow, execution).await?;
        Ok(json!({ "state": state, "execution": execution }))
    }
}
