//! `aws.ec2.create_snapshot` (one volume) and `aws.ec2.create_snapshots`
//! (every volume of an instance, at one point in time).

use std::sync::Arc;

use aws_sdk_ec2::types::{InstanceSpecification, ResourceType};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, ParamType};

use super::{created_snapshots, located};
use crate::failure::aws_error;
use crate::settings::Clients;
use crate::{idempotency, output, params};

pub(super) fn create_snapshot(clients: &Arc<Clients>) -> (ActionSpec, Arc<dyn Action>) {
    let spec = ActionSpec::new(
        "aws.ec2.create_snapshot",
        "Starts an EBS snapshot of one volume (CreateSnapshot). The snapshot is tagged with the step's idempotency key; a re-run adopts it instead of creating another. Undo with `aws.ec2.delete_snapshot`.",
    )
    .param("volume_id", ParamType::String, "The volume, e.g. `vol-0abc...`.")
    .optional("description", ParamType::String, None, "The snapshot's description.")
    .optional("tags", ParamType::Object, None, "Tags for the snapshot: a map of key to value.");
    let spec = located(spec)
        .output(
            "snapshot_id",
            ParamType::String,
            "The new (or adopted) snapshot.",
        )
        .output(
            "volume_id",
            ParamType::String,
            "The volume it is a snapshot of.",
        )
        .output(
            "state",
            ParamType::String,
            "`pending` until EBS has copied the data, then `completed`.",
        )
        .output(
            "start_time",
            ParamType::String,
            "When the snapshot was taken (RFC 3339).",
        )
        .output("region", ParamType::String, "The region it is in.")
        .output(
            "adopted",
            ParamType::Boolean,
            "True when an earlier try had created it.",
        );
    typed(spec, clients.clone(), |clients, ctx, params| {
        Box::pin(run_create_snapshot(clients, ctx, params))
    })
}

#[derive(Debug, Deserialize)]
struct SnapshotParams {
    #[serde(deserialize_with = "shutter_core::params::required")]
    volume_id: String,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    description: Option<String>,
    #[serde(default)]
    tags: params::Tags,
}

async fn run_create_snapshot(
    clients: &Arc<Clients>,
    ctx: &ActionContext,
    params: SnapshotParams,
) -> Result<Json, ActionError> {
    let SnapshotParams {
        volume_id,
        description,
        tags: params::Tags(tags),
    } = params;
    let volume_id = volume_id.as_str();
    let ec2 = clients.for_step(ctx).await?;
    let earlier = created_snapshots(&ec2, ctx, "DescribeSnapshots", volume_id).await?;
    if let Some(found) = earlier.first() {
        let id = found.snapshot_id().unwrap_or_default().to_owned();
        idempotency::log_adopted(ctx, "snapshot", std::slice::from_ref(&id), &ec2.region);
        return Ok(json!({
            "snapshot_id": id,
            "volume_id": found.volume_id().unwrap_or(volume_id),
            "state": found.state().map(|s| s.as_str()),
            "start_time": output::time(found.start_time()),
            "region": ec2.region,
            "adopted": true,
        }));
    }
    let created = ec2
        .client
        .create_snapshot()
        .volume_id(volume_id)
        .set_description(description)
        .tag_specifications(idempotency::tagged(ctx, ResourceType::Snapshot, &tags))
        .send()
        .await
        .map_err(|err| aws_error("CreateSnapshot", volume_id, &err))?;
    Ok(json!({
        "snapshot_id": created.snapshot_id(),
        "volume_id": created.volume_id().unwrap_or(volume_id),
        "state": created.state().map(|s| s.as_str()),
        "start_time": output::time(created.start_time()),
        "region": ec2.region,
        "adopted": false,
    }))
}

pub(super) fn create_snapshots(clients: &Arc<Clients>) -> (ActionSpec, Arc<dyn Action>) {
    let spec = ActionSpec::new(
        "aws.ec2.create_snapshots",
        "Starts crash-consistent snapshots of every EBS volume of an instance, taken at one point in time (CreateSnapshots). Tagged with the step's idempotency key; a re-run adopts them. Undo with `aws.ec2.delete_snapshot` and `snapshot_ids`.",
    )
    .param("instance_id", ParamType::String, "The instance, e.g. `i-0abc...`.")
    .optional("exclude_boot_volume", ParamType::Boolean, Some(json!(false)), "Leave out the root volume.")
    .optional("description", ParamType::String, None, "Description of every snapshot.")
    .optional("tags", ParamType::Object, None, "Tags for every snapshot: a map of key to value.");
    let spec = located(spec)
        .output(
            "snapshot_ids",
            ParamType::Array,
            "The snapshots, one per volume.",
        )
        .output(
            "snapshots",
            ParamType::Array,
            "`{snapshot_id, volume_id, state, start_time}` per volume.",
        )
        .output("region", ParamType::String, "The region they are in.")
        .output(
            "adopted",
            ParamType::Boolean,
            "True when an earlier try had created them.",
        );
    typed(spec, clients.clone(), |clients, ctx, params| {
        Box::pin(run_create_snapshots(clients, ctx, params))
    })
}

#[derive(Debug, Deserialize)]
struct InstanceParams {
    #[serde(deserialize_with = "shutter_core::params::required")]
    instance_id: String,
    #[serde(default)]
    exclude_boot_volume: bool,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    description: Option<String>,
    #[serde(default)]
    tags: params::Tags,
}

async fn run_create_snapshots(
    clients: &Arc<Clients>,
    ctx: &ActionContext,
    params: InstanceParams,
) -> Result<Json, ActionError> {
    let InstanceParams {
        instance_id,
        exclude_boot_volume: exclude_boot,
        description,
        tags: params::Tags(tags),
    } = params;
    let instance_id = instance_id.as_str();
    let ec2 = clients.for_step(ctx).await?;
    // One CreateSnapshots call makes them all, so finding any means
    // the earlier try's call went through: adopt what it made.
    let earlier = created_snapshots(&ec2, ctx, "DescribeSnapshots", instance_id).await?;
    let (snapshots, adopted): (Vec<Json>, bool) = if earlier.is_empty() {
        let created = ec2
            .client
            .create_snapshots()
            .instance_specification(
                InstanceSpecification::builder()
                    .instance_id(instance_id)
                    .exclude_boot_volume(exclude_boot)
                    .build(),
            )
            .set_description(description)
            .tag_specifications(idempotency::tagged(ctx, ResourceType::Snapshot, &tags))
            .send()
            .await
            .map_err(|err| aws_error("CreateSnapshots", instance_id, &err))?;
        let made = created
            .snapshots()
            .iter()
            .map(|s| {
                json!({
                    "snapshot_id": s.snapshot_id(),
                    "volume_id": s.volume_id(),
                    "state": s.state().map(|st| st.as_str()),
                    "start_time": output::time(s.start_time()),
                })
            })
            .collect();
        (made, false)
    } else {
        let found = earlier
            .iter()
            .map(|s| {
                json!({
                    "snapshot_id": s.snapshot_id(),
                    "volume_id": s.volume_id(),
                    "state": s.state().map(|st| st.as_str()),
                    "start_time": output::time(s.start_time()),
                })
            })
            .collect();
        (found, true)
    };
    let ids: Vec<String> = snapshots
        .iter()
        .filter_map(|s| s["snapshot_id"].as_str().map(str::to_owned))
        .collect();
    if adopted {
        idempotency::log_adopted(ctx, "snapshots", &ids, &ec2.region);
    }
    Ok(json!({
        "snapshot_ids": ids,
        "snapshots": snapshots,
        "region": ec2.region,
        "adopted": adopted,
    }))
}
