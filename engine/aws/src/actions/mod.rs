//! The actions, one file per family, and what they share: the `region` and
//! `endpoint_url` parameters and the lookup of what an earlier try created.

mod copy;
mod delete;
mod image;
mod list;
mod snapshot;
mod tags;
mod wait;

use std::sync::Arc;

use aws_sdk_ec2::types::{Filter, Snapshot, Tag};
use shutter_core::{Action, ActionContext, ActionError};
use shutter_core::{ActionSpec, ParamType};

use crate::failure::aws_error;
use crate::idempotency;
use crate::settings::{Clients, Ec2};

pub(crate) fn all(clients: &Arc<Clients>) -> Vec<(ActionSpec, Arc<dyn Action>)> {
    vec![
        snapshot::create_snapshot(clients),
        snapshot::create_snapshots(clients),
        wait::wait_snapshot(clients),
        copy::copy_snapshot(clients),
        delete::delete_snapshot(clients),
        tags::create_tags(clients),
        list::list_snapshots(clients),
        image::create_image(clients),
        image::deregister_image(clients),
    ]
}

/// Adds the parameters every action takes: where its requests go.
fn located(spec: ActionSpec) -> ActionSpec {
    spec.optional(
        "region",
        ParamType::String,
        None,
        "AWS region, e.g. `eu-west-1`; default: the standard chain's (`AWS_REGION`, the profile's `region`, IMDS).",
    )
    .optional(
        "endpoint_url",
        ParamType::String,
        None,
        "Send requests here instead of AWS's endpoint (a VPC endpoint, an emulator); default: `AWS_ENDPOINT_URL_EC2`, `AWS_ENDPOINT_URL` or the profile's `endpoint_url`.",
    )
}

/// Snapshots an earlier try of this step created, oldest first. Snapshots in
/// the `error` state are left alone: adopting one would fail every retry.
async fn created_snapshots(
    ec2: &Ec2,
    ctx: &ActionContext,
    operation: &str,
    on: &str,
) -> Result<Vec<Snapshot>, ActionError> {
    let usable = Filter::builder()
        .name("status")
        .values("pending")
        .values("completed")
        .build();
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
