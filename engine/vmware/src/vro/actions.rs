//! The `vro.workflow.*` actions: start an execution, wait for it, cancel it.

use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use shutter_core::action::typed;
use shutter_core::units::Span;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, ParamType};
use shutter_kit::{Poll, Polled, poll_until};

use super::client::{VroClient, VroConfig};
use super::params::{from_parameters, to_parameters};
use crate::env::Env;

const VRO_PARAM: &str = "The vRO server: the name of a server in Shutter's config (vro_servers, docs/configuration.md), or {url, username + password_secret (basic) or token_secret (bearer), insecure, ca_file}.";

/// The vRO actions; `env` is where named servers' passwords and the config
/// file's location come from.
pub(crate) fn actions(env: &Env) -> Vec<(ActionSpec, Arc<dyn Action>)> {
    vec![
        typed(run_spec(), env.clone(), |env, ctx, params| {
            Box::pin(start_execution(env, ctx, params))
        }),
        typed(wait_spec(), env.clone(), |env, ctx, params| {
            Box::pin(wait_execution(env, ctx, params))
        }),
        typed(cancel_spec(), env.clone(), |env, ctx, params| {
            Box::pin(cancel_execution(env, ctx, params))
        }),
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

async fn start_execution(
    env: &Env,
    ctx: &ActionContext,
    params: RunParams,
) -> Result<Json, ActionError> {
    let parameters =
        to_parameters(&params.parameters.unwrap_or_default()).map_err(ActionError::fatal)?;
    let execution = client(ctx, env)?
        .start(&params.workflow, parameters)
        .await?;
    Ok(json!({ "execution": execution, "workflow": params.workflow }))
}

/// The parameters of `vro.workflow.run` beyond `vro`.
#[derive(Debug, Deserialize)]
struct RunParams {
    #[serde(deserialize_with = "shutter_core::params::required")]
    workflow: String,
    /// Null is the same as none given.
    #[serde(default)]
    parameters: Option<Map<String, Json>>,
}

/// Which execution `wait` and `cancel` are about.
#[derive(Debug, Deserialize)]
struct ExecutionParams {
    #[serde(deserialize_with = "shutter_core::params::required")]
    workflow: String,
    #[serde(deserialize_with = "shutter_core::params::required")]
    execution: String,
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
    .optional("wait_timeout", ParamType::Duration, Some(json!("24h")), "How long to wait for the execution to end; past it the step fails (retryable: its retry policy may wait again) and the execution goes on in vRO.")
    .output("state", ParamType::String, "completed.")
    .output("outputs", ParamType::Object, "The output parameters by name, as plain values.")
    .output("execution", ParamType::String, "The execution's id.")
    .output("workflow", ParamType::String, "The workflow's id.")
    .output("start_date", ParamType::String, "When vRO started it.")
    .output("end_date", ParamType::String, "When vRO finished it.")
}

/// The parameters of `vro.workflow.wait` beyond `vro`.
#[derive(Debug, Deserialize)]
struct WaitParams {
    #[serde(flatten)]
    target: ExecutionParams,
    #[serde(default = "WaitParams::poll_interval")]
    poll_interval: Span,
    #[serde(default = "WaitParams::max_poll_interval")]
    max_poll_interval: Span,
    #[serde(default = "WaitParams::wait_timeout")]
    wait_timeout: Span,
}

impl WaitParams {
    fn poll_interval() -> Span {
        Span::secs(2)
    }
    fn max_poll_interval() -> Span {
        Span::secs(30)
    }
    fn wait_timeout() -> Span {
        Span::secs(24 * 3600)
    }
    fn poll(&self) -> Poll {
        Poll {
            first: self.poll_interval.0,
            growth: 1.5,
            cap: self.max_poll_interval.0,
            deadline: self.wait_timeout.0,
        }
    }
}

async fn wait_execution(
    env: &Env,
    ctx: &ActionContext,
    params: WaitParams,
) -> Result<Json, ActionError> {
    let ExecutionParams {
        workflow,
        execution,
    } = &params.target;
    let client = client(ctx, env)?;
    let what = format!("vro workflow {workflow} execution {execution}");
    let last = Mutex::new(String::new());
    poll_until(&ctx.cancel, &what, params.poll(), || async {
        let state = client.state(workflow, execution).await?;
        let news = *last.lock().expect("no panic while holding this lock") != state;
        if news {
            state.clone_into(&mut last.lock().expect("no panic while holding this lock"));
        }
        match state.as_str() {
            "completed" => Ok(Polled::Done(())),
            "failed" => {
                let record = client.execution(workflow, execution).await?;
                let cause = record
                    .get("content-exception")
                    .and_then(Json::as_str)
                    .unwrap_or("no content-exception given");
                Err(ActionError::fatal(format!("{what} failed: {cause}")))
            }
            "canceled" => Err(ActionError::fatal(format!("{what} was canceled in vro"))),
            other => {
                if news {
                    // vRO gives no percentage; the state is the news.
                    ctx.progress(0, waiting(execution, other));
                    ctx.flush().await?;
                }
                Ok(Polled::Pending)
            }
        }
    })
    .await?;
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

/// What an execution that has not ended is doing, for its progress.
fn waiting(execution: &str, state: &str) -> String {
    match state {
        "waiting" => format!("vro execution {execution}: waiting for user interaction"),
        "waiting-signal" => format!("vro execution {execution}: waiting for a signal"),
        other => format!("vro execution {execution}: {other}"),
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

async fn cancel_execution(
    env: &Env,
    ctx: &ActionContext,
    params: ExecutionParams,
) -> Result<Json, ActionError> {
    let ExecutionParams {
        workflow,
        execution,
    } = params;
    let client = client(ctx, env)?;
    client.cancel(&workflow, &execution).await?;
    let state = client.state(&workflow, &execution).await?;
    Ok(json!({ "state": state, "execution": execution }))
}
