//! `aws.ec2.sync_backups`: brings the backup catalog in line with what EC2
//! holds in a region. Everything Shutter makes carries its idempotency tag,
//! so what carries it is Shutter's: each snapshot and AMI found is in the
//! catalog afterwards (with the execution and step its tag names, so a lost
//! catalog is rebuilt), and each entry of the region no longer there is
//! `missing`. Nothing is deleted.

use std::sync::Arc;

use aws_sdk_ec2::types::{Filter, Image, ImageState, Snapshot, SnapshotState};
use serde::{Deserialize, Serialize};
use shutter_core::action::{Outcome, Run};
use shutter_core::clock::before;
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionError, BackupKind, Census, Found};
use shutter_core::{action_outputs, action_params};

use super::filter;
use crate::catalog;
use crate::failure::aws_error;
use crate::idempotency::IDEMPOTENCY_TAG;
use crate::settings::{Clients, Ec2};

/// Reconciles the backup catalog with the region: the snapshots and AMIs
/// of yours carrying Shutter's tag (`DescribeSnapshots`, `DescribeImages`,
/// every page) are cataloged, and cataloged ones of this account and
/// region that are gone are marked `missing`. Deletes nothing; schedule it.
#[action_params("aws.ec2.sync_backups")]
#[derive(Debug, Deserialize)]
pub(super) struct SyncBackups {
    /// How long a fresh snapshot may take to show in EC2's lists (they are
    /// eventually consistent): one last seen more recently than this before
    /// the listing began is not marked missing.
    #[param(default = "10m")]
    #[serde(default = "ten_minutes")]
    grace: Span,
}

fn ten_minutes() -> Span {
    Span::secs(600)
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Synced {
    /// Snapshots found carrying Shutter's tag.
    snapshots: usize,
    /// AMIs found carrying Shutter's tag.
    images: usize,
    /// The account they belong to.
    account: String,
    /// The region.
    region: String,
}

impl Run<Arc<Clients>> for SyncBackups {
    type Outputs = Synced;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<Synced> {
        let ec2 = clients.for_step(ctx).await?;
        let listed_at = ctx.now();
        let (snapshots, images) = tokio::try_join!(tagged_snapshots(&ec2), tagged_images(&ec2))?;
        let owners = snapshots
            .iter()
            .filter_map(Snapshot::owner_id)
            .chain(images.iter().filter_map(Image::owner_id));
        let account = match owners.into_iter().next() {
            Some(owner) => owner.to_owned(),
            None => this_account(&ec2).await?,
        };
        let region = ec2.region.as_str();
        let mut found = Vec::with_capacity(snapshots.len() + images.len());
        // What failed or is on its way out is not a backup.
        let snapshots: Vec<Snapshot> = snapshots
            .into_iter()
            .filter(|s| s.state() != Some(&SnapshotState::Error))
            .collect();
        let images: Vec<Image> = images
            .into_iter()
            .filter(|i| matches!(i.state(), Some(ImageState::Available | ImageState::Pending)))
            .collect();
        for snapshot in &snapshots {
            let facts = catalog::described(snapshot);
            if let Some(entry) = catalog::snapshot(region, &facts, None) {
                found.push(Found::made_by(entry, catalog::key_tag(snapshot.tags())));
            }
        }
        for image in &images {
            if let Some(entry) = catalog::image(region, image, None) {
                found.push(Found::made_by(entry, catalog::key_tag(image.tags())));
            }
        }
        ctx.count_backups(Census {
            location: catalog::location(&account, region),
            kinds: vec![BackupKind::EbsSnapshot, BackupKind::Ami],
            found,
            unseen_since: before(listed_at, self.grace.0),
        });
        Ok(Synced {
            snapshots: snapshots.len(),
            images: images.len(),
            account,
            region: ec2.region.clone(),
        })
    }
}

fn shutters() -> Filter {
    filter("tag-key", &[IDEMPOTENCY_TAG])
}

async fn tagged_snapshots(ec2: &Ec2) -> Result<Vec<Snapshot>, ActionError> {
    ec2.client
        .describe_snapshots()
        .owner_ids("self")
        .filters(shutters())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| aws_error("DescribeSnapshots", "your snapshots", &err))
}

async fn tagged_images(ec2: &Ec2) -> Result<Vec<Image>, ActionError> {
    ec2.client
        .describe_images()
        .owners("self")
        .filters(shutters())
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| aws_error("DescribeImages", "your images", &err))
}

/// The account the credentials act for, when it owns nothing of Shutter's
/// here (a region emptied behind Shutter's back): the owner of its
/// security groups (every VPC has a default one).
async fn this_account(ec2: &Ec2) -> Result<String, ActionError> {
    let groups = ec2
        .client
        .describe_security_groups()
        .max_results(5)
        .send()
        .await
        .map_err(|err| aws_error("DescribeSecurityGroups", "your account", &err))?;
    groups
        .security_groups()
        .iter()
        .find_map(|g| g.owner_id().map(str::to_owned))
        .ok_or_else(|| {
            ActionError::fatal(
                "nothing of Shutter's in this region and no security group to tell the account by: nothing to reconcile against".to_owned(),
            )
        })
}
