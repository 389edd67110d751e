//! The `vro.workflow.*` actions: start an execution, wait for it, cancel it.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use shutter_core::action::{Outcome, Run};
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionEntry, ActionError, ParamType};
use shutter_core::{action_outputs, action_params};
use shutter_kit::{Poll, Polled, poll_until};

use super::client::{VroClient, VroConfig};
use super::params::{from_parameters, to_parameters};
use crate::env::Env;

const VRO_PARAM: &str = "The vRO server: the name of a server in Shutter's config (vro_servers, docs/configuration.md), or {url, username + password_secret (basic) or token_secret (bearer), insecure, ca_file}.";

/// The vRO actions; `env` is where named servers' passwords and the config
/// file's location come from.
pub(crate) fn actions(env: &Env) -> Vec<ActionEntry> {
    let actions = vec![
        RunWorkflow::entry(env.clone()),
        WaitExecution::entry(env.clone()),
        CancelExecution::entry(env.clone()),
    ];
    actions.into_iter().map(on_vro).collect()
}

/// Adds the `vro` parameter every action takes, after its own; the client
/// reads it from the step's parameters.
fn on_vro((spec, action): ActionEntry) -> ActionEntry {
    (spec.param("vro", ParamType::Any, VRO_PARAM), action)
}

fn client(ctx: &ActionContext, env: &Env) -> Result<VroClient, ActionError> {
    VroClient::new(VroConfig::from_step(
        ctx.param("vro")?,
        &ctx.secrets,
        env,
        &ctx.files,
    )?)
}

/// Starts a vRO workflow (`POST /vco/api/workflows/{id}/executions`). Not
/// idempotent on vRO's side: a try cut short after vRO accepted it may start a
/// second execution.
#[action_params("vro.workflow.run")]
#[derive(Debug, Deserialize)]
struct RunWorkflow {
    /// The workflow's id.
    workflow: String,
    /// Inputs by name: strings, numbers, booleans, arrays, `{type, id}` for
    /// SDK objects, other objects as Properties.
    parameters: Option<Map<String, Json>>,
}

#[action_outputs]
#[derive(Debug, Serialize)]
struct Started {
    /// The new execution's id.
    execution: String,
    /// The workflow's id.
    workflow: String,
}

impl Run<Env> for RunWorkflow {
    type Outputs = Started;

    async fn run(self, ctx: &ActionContext, env: &Env) -> Outcome<Started> {
        let parameters =
            to_parameters(&self.parameters.unwrap_or_default()).map_err(ActionError::fatal)?;
        let execution = client(ctx, env)?.start(&self.workflow, parameters).await?;
        Ok(Started {
            execution,
            workflow: self.workflow,
        })
    }
}

/// Which execution `wait` and `cancel` are about.
#[action_params]
#[derive(Debug, Deserialize)]
struct ExecutionParams {
    /// The workflow's id.
    workflow: String,
    /// The execution's id (the `execution` output of `vro.workflow.run`).
    execution: String,
}

/// Waits for a vRO execution to end, polling its state with backoff; `waiting`
/// (user interaction or a signal) is reported as progress. Fails with vRO's
/// `content-exception` when the execution fails.
#[action_params("vro.workflow.wait", read_only)]
#[derive(Debug, Deserialize)]
struct WaitExecution {
    #[serde(flatten)]
    target: ExecutionParams,
    /// The first wait between polls; it grows by half each poll.
    #[param(default = "2s")]
    #[serde(default = "WaitExecution::poll_interval")]
    poll_interval: Span,
    /// The longest wait between polls.
    #[param(default = "30s")]
    #[serde(default = "WaitExecution::max_poll_interval")]
    max_poll_interval: Span,
    /// How long to wait for the execution to end; past it the step fails
    /// (retryable: its retry policy may wait again) and the execution goes
    /// on in vRO.
    #[param(default = "24h")]
    #[serde(default = "WaitExecution::wait_timeout")]
    wait_timeout: Span,
}

impl WaitExecution {
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

#[action_outputs]
#[derive(Debug, Serialize)]
struct Ended {
    /// completed.
    state: &'static str,
    /// The output parameters by name, as plain values.
    outputs: Map<String, Json>,
    /// The execution's id.
    execution: String,
    /// The workflow's id.
    workflow: String,
    /// When vRO started it.
    #[output(ty = String)]
    start_date: Json,
    /// When vRO finished it.
    #[output(ty = String)]
    end_date: Json,
}

impl Run<Env> for WaitExecution {
    type Outputs = Ended;

    async fn run(self, ctx: &ActionContext, env: &Env) -> Outcome<Ended> {
        let ExecutionParams {
            workflow,
            execution,
        } = &self.target;
        let client = client(ctx, env)?;
        let what = format!("vro workflow {workflow} execution {execution}");
        let last = Mutex::new(String::new());
        poll_until(&ctx.cancel, &what, self.poll(), || async {
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
        Ok(Ended {
            state: "completed",
            outputs: from_parameters(&field("output-parameters")),
            execution: execution.clone(),
            workflow: workflow.clone(),
            start_date: field("start-date"),
            end_date: field("end-date"),
        })
    }
}

/// What an execution that has not ended is doing, for its progress.
fn waiting(execution: &str, state: &str) -> String {
    match state {
        "waiting" => format!("vro execution {execution}: waiting for user interaction"),
        "waiting-signal" => format!("vro execution {execution}: waiting for a signal"),
        other => format!("vro execution {execution}: {other}"),
    }
}

#[action_outputs]
#[derive(Debug, Serialize)]
struct Canceled {
    /// The execution's state after the request (canceled, or what it ended
    /// as).
    state: String,
    /// The execution's id.
    execution: String,
}

/// Asks vRO to cancel an execution (`DELETE .../executions/{id}/state`) and
/// reports its state afterwards.
#[action_params("vro.workflow.cancel")]
#[derive(Debug, Deserialize)]
struct CancelExecution {
    #[serde(flatten)]
    target: ExecutionParams,
}

impl Run<Env> for CancelExecution {
    type Outputs = Canceled;

    async fn run(self, ctx: &ActionContext, env: &Env) -> Outcome<Canceled> {
        let ExecutionParams {
            workflow,
            execution,
        } = self.target;
        let client = client(ctx, env)?;
        client.cancel(&workflow, &execution).await?;
        let state = client.state(&workflow, &execution).await?;
        Ok(Canceled { state, execution })
    }
}
