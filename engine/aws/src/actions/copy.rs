//! `aws.ec2.copy_snapshot`: copies a snapshot into `region` (the client
//! runs in the destination region, as `CopySnapshot` requires). The copy
//! is tagged with the step's idempotency key in the destination region;
//! a re-run adopts it there.

use std::sync::Arc;

use aws_sdk_ec2::types::ResourceType;
use serde::{Deserialize, Serialize};
use shutter_core::ActionContext;
use shutter_core::action::{Outcome, Run};
use shutter_core::{action_outputs, action_params};

use super::{answered_id, created_snapshots};
use crate::catalog::{self, Original, described};
use crate::failure::aws_error;
use crate::settings::Clients;
use crate::{idempotency, params};

/// Copies a snapshot into `region` (CopySnapshot), e.g. to a second region for
/// disaster recovery. The copy is tagged with the step's idempotency key; a
/// re-run adopts it. Wait for it with `aws.ec2.wait_snapshot` in the
/// destination region; undo with `aws.ec2.delete_snapshot`.
#[action_params("aws.ec2.copy_snapshot")]
#[derive(Debug, Deserialize)]
pub(super) struct CopySnapshot {
    /// The snapshot to copy.
    snapshot_id: String,
    /// The region it is in.
    source_region: String,
    /// Encrypt the copy (required to copy an unencrypted snapshot into an
    /// encrypted one).
    encrypted: Option<bool>,
    /// KMS key for the copy; default: the account's EBS default key.
    kms_key_id: Option<String>,
    /// The copy's description.
    description: Option<String>,
    /// Tags for the copy: a map of key to value.
    #[serde(default)]
    tags: params::Tags,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Copied {
    /// The copy.
    snapshot_id: String,
    /// The snapshot copied.
    source_snapshot_id: String,
    /// Where it was copied from.
    source_region: String,
    /// Where the copy is (the destination region).
    region: String,
    /// The copy's state, usually `pending`; null when EC2 does not say.
    state: Option<String>,
    /// True when an earlier try had created the copy.
    adopted: bool,
}

impl Run<Arc<Clients>> for CopySnapshot {
    type Outputs = Copied;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<Copied> {
        let CopySnapshot {
            snapshot_id: source_id,
            source_region,
            encrypted,
            kms_key_id,
            description,
            tags,
        } = self;
        let ec2 = clients.for_step(ctx).await?;
        let on = format!("{source_id} from {source_region}");
        let earlier = created_snapshots(&ec2, ctx, "DescribeSnapshots", &on).await?;
        if let Some(found) = earlier.first() {
            let id = idempotency::log_adopted_one(
                ctx,
                "snapshot copy",
                found.snapshot_id(),
                &ec2.region,
            );
            let source = original(clients, ctx, &source_region, &source_id).await;
            catalog::record_snapshot(ctx, &ec2.region, &described(found), Some(source));
            return Ok(Copied {
                snapshot_id: id,
                source_snapshot_id: source_id,
                source_region,
                region: ec2.region.clone(),
                state: found.state().map(|s| s.as_str().to_owned()),
                adopted: true,
            });
        }
        let copied = ec2
            .client
            .copy_snapshot()
            .source_snapshot_id(&source_id)
            .source_region(&source_region)
            .set_encrypted(encrypted)
            .set_kms_key_id(kms_key_id)
            .set_description(description)
            .tag_specifications(idempotency::tagged(ctx, ResourceType::Snapshot, &tags.0))
            .send()
            .await
            .map_err(|err| aws_error("CopySnapshot", &on, &err))?;
        let copy_id = answered_id(copied.snapshot_id(), "CopySnapshot", &on, "snapshot")?;
        // CopySnapshot answers with the id alone; the state (and the owner,
        // size and tags for the catalog) are one Describe away.
        let answer = ec2
            .client
            .describe_snapshots()
            .snapshot_ids(copy_id)
            .send()
            .await
            .ok();
        let copy = answer.as_ref().and_then(|a| a.snapshots().first());
        let state = copy.and_then(|s| s.state().map(|st| st.as_str().to_owned()));
        match copy {
            Some(copy) => {
                let source = original(clients, ctx, &source_region, &source_id).await;
                catalog::record_snapshot(ctx, &ec2.region, &described(copy), Some(source));
            }
            None => {
                // Not yet described (EC2 is eventually consistent): the
                // catalog learns of it at the next sync.
                let facts = catalog::SnapshotFacts {
                    id: Some(copy_id),
                    ..catalog::SnapshotFacts::default()
                };
                catalog::record_snapshot(ctx, &ec2.region, &facts, None);
            }
        }
        Ok(Copied {
            snapshot_id: copy_id.to_owned(),
            source_snapshot_id: source_id,
            source_region,
            region: ec2.region.clone(),
            state,
            adopted: false,
        })
    }
}

/// The snapshot copied, for the copy's catalog entry.
async fn original<'a>(
    clients: &Clients,
    ctx: &ActionContext,
    region: &'a str,
    snapshot: &'a str,
) -> Original<'a> {
    Original {
        region,
        snapshot,
        volume: original_volume(clients, ctx, region, snapshot).await,
    }
}

/// The volume the original snapshot is of, for the copy's catalog entry;
/// `None` when its region does not say (the copy is recorded all the same).
async fn original_volume(
    clients: &Clients,
    ctx: &ActionContext,
    region: &str,
    snapshot: &str,
) -> Option<String> {
    let there = clients.in_region(ctx, Some(region)).await.ok()?;
    let answer = there
        .client
        .describe_snapshots()
        .snapshot_ids(snapshot)
        .send()
        .await
        .ok()?;
    let volume = answer.snapshots().first()?.volume_id()?;
    (volume != catalog::PLACEHOLDER_VOLUME).then(|| volume.to_owned())
}
