//! `aws.ec2.delete_snapshot`: deletes one snapshot, a list, or the ones
//! carrying given tags. Made to be a compensation: a snapshot already gone
//! counts as deleted (unless `missing_ok: false`), so an undo that is
//! retried or resumed succeeds. Selecting by tags serves the compensation
//! of a `for_each` item, which can name its item but not the item's outputs.

use std::sync::Arc;

use aws_sdk_ec2::types::{Filter, Tag};
use serde::{Deserialize, Serialize};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError, BackupState};
use shutter_core::{action_outputs, action_params};

use super::{log_already_gone, tag_filters};
use crate::catalog;
use crate::failure::{aws_error, is_gone};
use crate::params;
use crate::settings::{Clients, Ec2};

/// Deletes snapshots (DeleteSnapshot): `snapshot_id`, `snapshot_ids`, and every
/// snapshot of yours carrying all of `tags`. One already gone counts as deleted
/// unless `missing_ok` is false, so it is safe as a compensation.
#[action_params("aws.ec2.delete_snapshot")]
#[derive(Debug, Deserialize)]
pub(super) struct DeleteSnapshot {
    /// A snapshot to delete.
    snapshot_id: Option<String>,
    /// Snapshots to delete (e.g. `aws.ec2.create_snapshots`' `snapshot_ids`).
    #[serde(default, deserialize_with = "shutter_core::params::one_or_many")]
    snapshot_ids: Vec<String>,
    /// Also delete every snapshot you own that carries all these tags (at
    /// least one tag).
    #[serde(default)]
    tags: params::Tags,
    /// Whether a snapshot that does not exist is fine.
    #[param(default = true)]
    missing_ok: bool,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Deleted {
    /// The snapshots this step deleted.
    deleted: Vec<String>,
    /// The snapshots that were already gone.
    missing: Vec<String>,
    /// The region.
    region: String,
}

impl Run<Arc<Clients>> for DeleteSnapshot {
    type Outputs = Deleted;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<Deleted> {
        let DeleteSnapshot {
            snapshot_ids: mut ids,
            snapshot_id,
            tags: params::Tags(tags),
            missing_ok,
        } = self;
        ids.extend(snapshot_id);
        let ec2 = clients.for_step(ctx).await?;
        if !tags.is_empty() {
            ids.extend(tagged(&ec2, &tags).await?);
        }
        let mut seen = std::collections::HashSet::new();
        ids.retain(|id| seen.insert(id.clone()));
        if ids.is_empty() && tags.is_empty() {
            return Err(ActionError::fatal(
                "give `snapshot_id`, `snapshot_ids` or `tags`: there is nothing to delete"
                    .to_owned(),
            ));
        }
        let account = owner_of(&ec2, &ids).await;
        let (mut deleted, mut missing) = (Vec::new(), Vec::new());
        for id in ids {
            let gone = delete_one(&ec2, ctx, &id, missing_ok).await?;
            // Gone either way: deleted now, or before by someone else.
            if let Some(account) = &account {
                let entry = catalog::reference(account, &ec2.region, &id);
                ctx.mark_backup(entry, BackupState::Deleted);
            }
            if gone {
                deleted.push(id);
            } else {
                missing.push(id);
            }
        }
        Ok(Deleted {
            deleted,
            missing,
            region: ec2.region.clone(),
        })
    }
}

/// The account that owns `ids` (yours: they are described with owner
/// `self`), to mark them in the backup catalog; `None` when none of them is
/// left to say (or EC2 does not answer: the delete itself will say why).
/// A filter, unlike `SnapshotIds`, is no error for an id that is gone.
async fn owner_of(ec2: &Ec2, ids: &[String]) -> Option<String> {
    if ids.is_empty() {
        return None;
    }
    let by_id = Filter::builder()
        .name("snapshot-id")
        .set_values(Some(ids.to_vec()))
        .build();
    let answer = ec2
        .client
        .describe_snapshots()
        .owner_ids("self")
        .filters(by_id)
        .send()
        .await
        .ok()?;
    answer
        .snapshots()
        .iter()
        .find_map(|s| s.owner_id().map(str::to_owned))
}

/// The snapshots of this account carrying every one of `tags`.
async fn tagged(ec2: &Ec2, tags: &[Tag]) -> Result<Vec<String>, ActionError> {
    let snapshots = ec2
        .client
        .describe_snapshots()
        .owner_ids("self")
        .set_filters(Some(tag_filters(tags)))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| aws_error("DescribeSnapshots", "tagged snapshots", &err))?;
    Ok(snapshots
        .iter()
        .filter_map(|s| s.snapshot_id().map(str::to_owned))
        .collect())
}

/// True when deleted now, false when it was already gone.
pub(super) async fn delete_one(
    ec2: &Ec2,
    ctx: &ActionContext,
    id: &str,
    missing_ok: bool,
) -> Result<bool, ActionError> {
    match ec2.client.delete_snapshot().snapshot_id(id).send().await {
        Ok(_) => Ok(true),
        Err(err) if missing_ok && is_gone(&err) => {
            log_already_gone(ctx, "snapshot", id, &ec2.region);
            Ok(false)
        }
        Err(err) => Err(aws_error("DeleteSnapshot", id, &err)),
    }
}
