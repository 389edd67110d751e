//! The actions, one file per family, and what they share: the `region` and
//! `endpoint_url` parameters and the lookup of what an earlier try created.

mod copy;
mod delete;
mod image;
mod list;
mod snapshot;
mod sync;
mod tags;
mod volume;
mod wait;

use std::sync::Arc;

use aws_sdk_ec2::types::{Filter, Snapshot, Tag};
use shutter_core::action::{Run as _, with_params};
use shutter_core::{ActionContext, ActionEntry, ActionError, LogLevel};

use crate::failure::aws_error;
use crate::idempotency;
use crate::params::Located;
use crate::settings::{Clients, Ec2};

pub(crate) fn all(clients: &Arc<Clients>) -> Vec<ActionEntry> {
    let actions = vec![
        snapshot::CreateSnapshot::entry(clients.clone()),
        snapshot::CreateSnapshots::entry(clients.clone()),
        wait::WaitSnapshot::entry(clients.clone()),
        copy::CopySnapshot::entry(clients.clone()),
        delete::DeleteSnapshot::entry(clients.clone()),
        tags::CreateTags::entry(clients.clone()),
        list::ListSnapshots::entry(clients.clone()),
        image::CreateImage::entry(clients.clone()),
        image::DeregisterImage::entry(clients.clone()),
        sync::SyncBackups::entry(clients.clone()),
        volume::CreateVolume::entry(clients.clone()),
        volume::AttachVolume::entry(clients.clone()),
        volume::DeleteVolume::entry(clients.clone()),
    ];
    actions.into_iter().map(with_params::<Located>).collect()
}

/// Snapshots an earlier try of this step created, oldest first. Snapshots in
/// the `error` state are left alone: adopting one would fail every retry.
async fn created_snapshots(
    ec2: &Ec2,
    ctx: &ActionContext,
    operation: &str,
    on: &str,
) -> Result<Vec<Snapshot>, ActionError> {
    let usable = filter("status", &["pending", "completed"]);
    let found = ec2
        .client
        .describe_snapshots()
        .owner_ids("self")
        .filters(idempotency::created_by(ctx))
        .filters(usable)
        .send()
        .await
        .map_err(|err| aws_error(operation, on, &err))?;
    let mut snapshots = found.snapshots().to_vec();
    snapshots.sort_by_key(|s| s.start_time().map(|t| (t.secs(), t.subsec_nanos())));
    Ok(snapshots)
}

/// The id a create call answered with. An answer without one is retryable:
/// the next try adopts what the call made, by its tag.
fn answered_id<'a>(
    id: Option<&'a str>,
    operation: &str,
    on: &str,
    what: &str,
) -> Result<&'a str, ActionError> {
    id.ok_or_else(|| {
        ActionError::retryable(format!(
            "aws ec2 {operation} on {on}: no {what} id in the answer"
        ))
    })
}

/// Selects what has any of `values` as its `name` (a state, an id...).
fn filter(name: &str, values: &[&str]) -> Filter {
    values
        .iter()
        .fold(Filter::builder().name(name), |builder, value| {
            builder.values(*value)
        })
        .build()
}

/// Says in the log that `what` `id` was gone by the time this step came to
/// delete it (by an earlier try, or by someone else).
fn log_already_gone(ctx: &ActionContext, what: &str, id: &str, region: &str) {
    ctx.log(
        LogLevel::Info,
        format!("{what} {id} in {region} was already gone"),
    );
}

/// One `tag:KEY` filter per tag: a resource must carry them all.
fn tag_filters(tags: &[Tag]) -> Vec<Filter> {
    tags.iter()
        .map(|tag| {
            Filter::builder()
                .name(format!("tag:{}", tag.key().unwrap_or_default()))
                .values(tag.value().unwrap_or_default())
                .build()
        })
        .collect()
}
