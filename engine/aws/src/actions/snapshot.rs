//! `aws.ec2.create_snapshot` (one volume) and `aws.ec2.create_snapshots`
//! (every volume of an instance, at one point in time).

use std::sync::Arc;

use aws_sdk_ec2::primitives::DateTime;
use aws_sdk_ec2::types::{InstanceSpecification, ResourceType, SnapshotState};
use serde::{Deserialize, Serialize};
use shutter_core::ActionContext;
use shutter_core::action::{Outcome, Run};
use shutter_core::{action_outputs, action_params};

use super::created_snapshots;
use crate::catalog::{self, SnapshotFacts, described};
use crate::failure::aws_error;
use crate::settings::Clients;
use crate::{idempotency, output, params};

/// Starts an EBS snapshot of one volume (CreateSnapshot). The snapshot is
/// tagged with the step's idempotency key; a re-run adopts it instead of
/// creating another. Undo with `aws.ec2.delete_snapshot`.
#[action_params("aws.ec2.create_snapshot")]
#[derive(Debug, Deserialize)]
pub(super) struct CreateSnapshot {
    /// The volume, e.g. `vol-0abc...`.
    volume_id: String,
    /// The snapshot's description.
    description: Option<String>,
    /// Tags for the snapshot: a map of key to value.
    #[serde(default)]
    tags: params::Tags,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Created {
    /// The new (or adopted) snapshot.
    snapshot_id: Option<String>,
    /// The volume it is a snapshot of.
    volume_id: String,
    /// `pending` until EBS has copied the data, then `completed`.
    state: Option<String>,
    /// When the snapshot was taken (RFC 3339).
    start_time: Option<String>,
    /// The region it is in.
    region: String,
    /// True when an earlier try had created it.
    adopted: bool,
}

impl Run<Arc<Clients>> for CreateSnapshot {
    type Outputs = Created;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<Created> {
        let CreateSnapshot {
            volume_id,
            description,
            tags: params::Tags(tags),
        } = self;
        let ec2 = clients.for_step(ctx).await?;
        let earlier = created_snapshots(&ec2, ctx, "DescribeSnapshots", &volume_id).await?;
        if let Some(found) = earlier.first() {
            let id =
                idempotency::log_adopted_one(ctx, "snapshot", found.snapshot_id(), &ec2.region);
            catalog::record_snapshot(ctx, &ec2.region, &described(found), None);
            return Ok(Created {
                snapshot_id: Some(id),
                volume_id: found.volume_id().unwrap_or(&volume_id).to_owned(),
                state: found.state().map(|s| s.as_str().to_owned()),
                start_time: output::time(found.start_time()),
                region: ec2.region.clone(),
                adopted: true,
            });
        }
        let created = ec2
            .client
            .create_snapshot()
            .volume_id(&volume_id)
            .set_description(description)
            .tag_specifications(idempotency::tagged(ctx, ResourceType::Snapshot, &tags))
            .send()
            .await
            .map_err(|err| aws_error("CreateSnapshot", &volume_id, &err))?;
        let facts = SnapshotFacts {
            id: created.snapshot_id(),
            owner: created.owner_id(),
            volume: created.volume_id(),
            size_gib: created.volume_size(),
            started: created.start_time(),
            tags: created.tags(),
        };
        catalog::record_snapshot(ctx, &ec2.region, &facts, None);
        Ok(Created {
            snapshot_id: created.snapshot_id().map(str::to_owned),
            volume_id: created.volume_id().unwrap_or(&volume_id).to_owned(),
            state: created.state().map(|s| s.as_str().to_owned()),
            start_time: output::time(created.start_time()),
            region: ec2.region.clone(),
            adopted: false,
        })
    }
}

/// Starts crash-consistent snapshots of every EBS volume of an instance, taken
/// at one point in time (CreateSnapshots). Tagged with the step's idempotency
/// key; a re-run adopts them. Undo with `aws.ec2.delete_snapshot` and
/// `snapshot_ids`.
#[action_params("aws.ec2.create_snapshots")]
#[derive(Debug, Deserialize)]
pub(super) struct CreateSnapshots {
    /// The instance, e.g. `i-0abc...`.
    instance_id: String,
    /// Leave out the root volume.
    #[param(default = false)]
    exclude_boot_volume: bool,
    /// Description of every snapshot.
    description: Option<String>,
    /// Tags for every snapshot: a map of key to value.
    #[serde(default)]
    tags: params::Tags,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct CreatedAll {
    /// The snapshots, one per volume.
    snapshot_ids: Vec<String>,
    /// `{snapshot_id, volume_id, state, start_time}` per volume.
    snapshots: Vec<VolumeSnapshot>,
    /// The region they are in.
    region: String,
    /// True when an earlier try had created them.
    adopted: bool,
}

#[derive(Debug, Serialize)]
pub(super) struct VolumeSnapshot {
    snapshot_id: Option<String>,
    volume_id: Option<String>,
    state: Option<String>,
    start_time: Option<String>,
}

impl VolumeSnapshot {
    // CreateSnapshots answers with `SnapshotInfo`, DescribeSnapshots with
    // `Snapshot`: the same four fields, by other types.
    fn new(
        id: Option<&str>,
        volume: Option<&str>,
        state: Option<&SnapshotState>,
        started: Option<&DateTime>,
    ) -> Self {
        Self {
            snapshot_id: id.map(str::to_owned),
            volume_id: volume.map(str::to_owned),
            state: state.map(|st| st.as_str().to_owned()),
            start_time: output::time(started),
        }
    }
}

impl Run<Arc<Clients>> for CreateSnapshots {
    type Outputs = CreatedAll;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<CreatedAll> {
        let CreateSnapshots {
            instance_id,
            exclude_boot_volume: exclude_boot,
            description,
            tags: params::Tags(tags),
        } = self;
        let ec2 = clients.for_step(ctx).await?;
        // One CreateSnapshots call makes them all, so finding any means
        // the earlier try's call went through: adopt what it made.
        let earlier = created_snapshots(&ec2, ctx, "DescribeSnapshots", &instance_id).await?;
        let adopted = !earlier.is_empty();
        let snapshots: Vec<VolumeSnapshot> = if adopted {
            for found in &earlier {
                catalog::record_snapshot(ctx, &ec2.region, &described(found), None);
            }
            let described = earlier.iter();
            described
                .map(|s| {
                    VolumeSnapshot::new(s.snapshot_id(), s.volume_id(), s.state(), s.start_time())
                })
                .collect()
        } else {
            let created = ec2
                .client
                .create_snapshots()
                .instance_specification(
                    InstanceSpecification::builder()
                        .instance_id(&instance_id)
                        .exclude_boot_volume(exclude_boot)
                        .build(),
                )
                .set_description(description)
                .tag_specifications(idempotency::tagged(ctx, ResourceType::Snapshot, &tags))
                .send()
                .await
                .map_err(|err| aws_error("CreateSnapshots", &instance_id, &err))?;
            for made in created.snapshots() {
                let facts = SnapshotFacts {
                    id: made.snapshot_id(),
                    owner: made.owner_id(),
                    volume: made.volume_id(),
                    size_gib: made.volume_size(),
                    started: made.start_time(),
                    tags: made.tags(),
                };
                catalog::record_snapshot(ctx, &ec2.region, &facts, None);
            }
            let made = created.snapshots().iter();
            made.map(|s| {
                VolumeSnapshot::new(s.snapshot_id(), s.volume_id(), s.state(), s.start_time())
            })
            .collect()
        };
        let ids: Vec<String> = snapshots
            .iter()
            .filter_map(|s| s.snapshot_id.clone())
            .collect();
        if adopted {
            idempotency::log_adopted(ctx, "snapshots", &ids, &ec2.region);
        }
        Ok(CreatedAll {
            snapshot_ids: ids,
            snapshots,
            region: ec2.region.clone(),
            adopted,
        })
    }
}
