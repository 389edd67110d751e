//! `aws.ec2.wait_snapshot`: polls `DescribeSnapshots` until every snapshot
//! is in the target state, reporting AWS's progress percentage as the
//! step's progress. Polls back off from `poll` to at most a minute (an EBS
//! snapshot takes minutes to hours), and every wait ends at once when the
//! step is canceled.
//!
//! A snapshot in the `error` state will never complete: that is fatal.
//! Running out of `timeout` is retryable: the snapshot may still complete,
//! and a step `retry` policy then simply waits longer.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::Snapshot;
use serde_json::{Value as Json, json};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError};
use tokio::time::Instant;

use super::located;
use crate::failure::aws_error;
use crate::settings::Clients;
use crate::{output, params};

/// The longest pause between two polls, whatever `poll` says.
const MAX_POLL: Duration = Duration::from_secs(60);

pub(super) fn wait_snapshot(clients: &Arc<Clients>) -> (ActionSpec, Arc<dyn Action>) {
    let spec = ActionSpec::new(
        "aws.ec2.wait_snapshot",
        "Waits until snapshots reach a state (default `completed`), polling DescribeSnapshots with backoff and reporting AWS's progress. Fails (fatal) when one is in the `error` state; running out of `timeout` is retryable.",
    )
    .param("ids", ParamType::Array, "The snapshot ids (a single id is accepted too).")
    .optional("state", ParamType::String, Some(json!("completed")), "The state to wait for.")
    .optional("timeout", ParamType::Duration, Some(json!("6h")), "How long to wait in one try.")
    .optional("poll", ParamType::Duration, Some(json!("5s")), "The first pause between polls; it grows by half each time, to at most a minute.");
    let spec = located(spec)
        .output("snapshot_ids", ParamType::Array, "The snapshots waited for.")
        .output("snapshots", ParamType::Array, "Each snapshot as DescribeSnapshots last saw it (`id`, `state`, `progress`, `volume_id`, `tags`, ...).")
        .output("region", ParamType::String, "The region they are in.");
    (
        spec,
        Arc::new(WaitSnapshot {
            clients: clients.clone(),
        }),
    )
}

#[derive(Debug)]
struct WaitSnapshot {
    clients: Arc<Clients>,
}

#[async_trait]
impl Action for WaitSnapshot {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let ids = params::strings(ctx, "ids")?;
        if ids.is_empty() {
            return Err(ActionError::Fatal(
                "parameter `ids` names no snapshot".to_owned(),
            ));
        }
        let target = params::opt_str(ctx, "state")?.unwrap_or("completed");
        let (timeout, timeout_text) = params::duration_or(ctx, "timeout", "6h")?;
        let (first_poll, _) = params::duration_or(ctx, "poll", "5s")?;
        let ec2 = self.clients.for_step(ctx).await?;
        let on = ids.join(", ");
        let deadline = Instant::now() + timeout;
        let mut pause = first_poll;
        loop {
            let answer = ec2
                .client
                .describe_snapshots()
                .set_snapshot_ids(Some(ids.clone()))
                .send()
                .await
                .map_err(|err| aws_error("DescribeSnapshots", &on, &err))?;
            let snapshots = answer.snapshots();
            if let Some(failed) = snapshots
                .iter()
                .find(|s| state(s) == "error" && target != "error")
            {
                return Err(ActionError::Fatal(format!(
                    "aws ec2 wait_snapshot: {} is in state error: {}",
                    failed.snapshot_id().unwrap_or_default(),
                    failed.state_message().unwrap_or("AWS gave no reason"),
                )));
            }
            let waiting: Vec<&Snapshot> = snapshots.iter().filter(|s| state(s) != target).collect();
            if waiting.is_empty() {
                return Ok(json!({
                    "snapshot_ids": ids,
                    "snapshots": snapshots.iter().map(|s| output::snapshot(s, &ec2.region)).collect::<Vec<_>>(),
                    "region": ec2.region,
                }));
            }
            let summary = describe(&waiting);
            ctx.progress(
                overall(snapshots),
                format!(
                    "{} of {} snapshots {target}; waiting for {summary}",
                    snapshots.len() - waiting.len(),
                    snapshots.len()
                ),
            );
            // Pollers see progress while the step still runs.
            ctx.flush().await?;
            let now = Instant::now();
            if now >= deadline {
                return Err(ActionError::Retryable(format!(
                    "aws ec2 wait_snapshot: not {target} after {timeout_text}: {summary}"
                )));
            }
            let nap = pause.min(deadline - now);
            tokio::select! {
                () = tokio::time::sleep(nap) => {}
                () = ctx.cancel.cancelled() => return Err(ActionError::Canceled),
            }
            pause = (pause + pause / 2).min(MAX_POLL.max(first_poll));
        }
    }
}

fn state(snapshot: &Snapshot) -> &str {
    snapshot.state().map_or("unknown", |s| s.as_str())
}

/// The mean of AWS's percentages: every snapshot weighs the same.
fn overall(snapshots: &[Snapshot]) -> u8 {
    let total: usize = snapshots
        .iter()
        .map(|s| usize::from(output::percent(s.progress())))
        .sum();
    u8::try_from(total / snapshots.len().max(1)).unwrap_or(100)
}

/// `snap-1 pending 40%, snap-2 pending 10%`.
fn describe(waiting: &[&Snapshot]) -> String {
    waiting
        .iter()
        .map(|s| {
            format!(
                "{} {} {}%",
                s.snapshot_id().unwrap_or_default(),
                state(s),
                output::percent(s.progress())
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}
