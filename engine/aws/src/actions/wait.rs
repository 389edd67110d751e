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

use aws_sdk_ec2::types::Snapshot;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shutter_core::action::{Outcome, Run};
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionError};
use shutter_core::{action_outputs, action_params};
use shutter_kit::{Poll, Polled, poll_until};

use crate::failure::aws_error;
use crate::output;
use crate::settings::Clients;

/// The longest pause between two polls, whatever `poll` says.
const MAX_POLL: Duration = Duration::from_secs(60);

/// Waits until snapshots reach a state (default `completed`), polling
/// DescribeSnapshots with backoff and reporting AWS's progress. Fails (fatal)
/// when one is in the `error` state; running out of `timeout` is retryable.
#[action_params("aws.ec2.wait_snapshot", read_only)]
#[derive(Debug, Deserialize)]
pub(super) struct WaitSnapshot {
    /// The snapshot ids (a single id is accepted too).
    #[param(required)]
    #[serde(default, deserialize_with = "shutter_core::params::one_or_many")]
    ids: Vec<String>,
    /// The state to wait for.
    #[param(default = "completed")]
    state: Option<String>,
    /// How long to wait in one try.
    #[param(default = "6h")]
    timeout: Option<Span>,
    /// The first pause between polls; it grows by half each time, to at
    /// most a minute.
    #[param(default = "5s")]
    poll: Option<Span>,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Waited {
    /// The snapshots waited for.
    snapshot_ids: Vec<String>,
    /// Each snapshot as DescribeSnapshots last saw it (`id`, `state`,
    /// `progress`, `volume_id`, `tags`, ...).
    snapshots: Vec<Json>,
    /// The region they are in.
    region: String,
}

impl WaitSnapshot {
    fn poll(&self) -> Poll {
        let first = self.poll.map_or(Duration::from_secs(5), |span| span.0);
        Poll {
            first,
            growth: 1.5,
            cap: MAX_POLL.max(first),
            deadline: self
                .timeout
                .map_or(Duration::from_secs(6 * 3600), |span| span.0),
        }
    }
}

impl Run<Arc<Clients>> for WaitSnapshot {
    type Outputs = Waited;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<Waited> {
        let ids = &self.ids;
        if ids.is_empty() {
            return Err(ActionError::fatal("parameter `ids` names no snapshot"));
        }
        let target = self.state.as_deref().unwrap_or("completed");
        let ec2 = clients.for_step(ctx).await?;
        let on = ids.join(", ");
        let what = format!("aws ec2 wait_snapshot for {target}");
        let snapshots = poll_until(&ctx.cancel, &what, self.poll(), || async {
            let answer = ec2
                .client
                .describe_snapshots()
                .set_snapshot_ids(Some(ids.clone()))
                .send()
                .await
                .map_err(|err| aws_error("DescribeSnapshots", &on, &err))?;
            let snapshots = answer.snapshots().to_vec();
            Ok::<_, ActionError>(match look(ctx, &snapshots, target).await? {
                Some(waiting) => Polled::Waiting(waiting),
                None => Polled::Done(snapshots),
            })
        })
        .await?;
        Ok(Waited {
            snapshot_ids: ids.clone(),
            snapshots: snapshots
                .iter()
                .map(|s| output::snapshot(s, &ec2.region))
                .collect(),
            region: ec2.region.clone(),
        })
    }
}

/// Fails on a snapshot in `error` (it will never complete); otherwise
/// reports how far the others are, for pollers to see while the step runs,
/// and says what it still waits for (none: done).
async fn look(
    ctx: &ActionContext,
    snapshots: &[Snapshot],
    target: &str,
) -> Result<Option<String>, ActionError> {
    if let Some(failed) = snapshots
        .iter()
        .find(|s| state(s) == "error" && target != "error")
    {
        return Err(ActionError::fatal(format!(
            "aws ec2 wait_snapshot: {} is in state error: {}",
            failed.snapshot_id().unwrap_or_default(),
            failed.state_message().unwrap_or("AWS gave no reason"),
        )));
    }
    let waiting: Vec<&Snapshot> = snapshots.iter().filter(|s| state(s) != target).collect();
    if waiting.is_empty() {
        return Ok(None);
    }
    let summary = describe(&waiting);
    ctx.progress(
        overall(snapshots),
        format!(
            "{} of {} snapshots {target}; waiting for {summary}",
            snapshots.len() - waiting.len(),
            snapshots.len(),
        ),
    );
    ctx.flush().await?;
    Ok(Some(summary))
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
