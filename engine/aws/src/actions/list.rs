//! `aws.ec2.list_snapshots`: the snapshots of an owner, filtered by tags,
//! volume and state, read page by page with the SDK's paginator. Each
//! snapshot carries `id` and `created_at`, so the list can be given as is
//! to the `retention` WASM step.

use std::sync::Arc;

use aws_sdk_ec2::types::Filter;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shutter_core::ActionContext;
use shutter_core::action::{Outcome, Run};
use shutter_core::{action_outputs, action_params};

use super::tag_filters;
use crate::failure::aws_error;
use crate::settings::Clients;
use crate::{output, params};

/// Lists snapshots (DescribeSnapshots, every page), newest first, filtered by
/// owner, tags, volume and state.
#[action_params("aws.ec2.list_snapshots", read_only)]
#[derive(Debug, Deserialize)]
pub(super) struct ListSnapshots {
    /// `self`, `amazon` or an account id.
    #[param(default = "self")]
    owner: Option<String>,
    /// Only snapshots with all these tags: a map of key to value (`*`
    /// matches any value).
    #[serde(default)]
    tags: params::Tags,
    /// Only snapshots of this volume.
    volume_id: Option<String>,
    /// Only snapshots in this state (`pending`, `completed`, `error`).
    state: Option<String>,
    /// Snapshots per DescribeSnapshots call (5 to 1000; AWS's default when
    /// absent).
    #[serde(default, deserialize_with = "params::page_size")]
    page_size: Option<i32>,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Listed {
    /// `{id, snapshot_id, created_at, start_time, state, progress,
    /// volume_id, volume_size, description, encrypted, owner_id, region,
    /// tags}` per snapshot, newest first.
    snapshots: Vec<Json>,
    /// Their ids, in the same order.
    snapshot_ids: Vec<String>,
    /// How many there are.
    count: usize,
    /// The region listed.
    region: String,
}

impl Run<Arc<Clients>> for ListSnapshots {
    type Outputs = Listed;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<Listed> {
        let ListSnapshots {
            owner,
            tags,
            volume_id,
            state,
            page_size,
        } = self;
        let owner = owner.as_deref().unwrap_or("self");
        let mut filters = tag_filters(&tags.0);
        if let Some(volume) = volume_id {
            filters.push(Filter::builder().name("volume-id").values(volume).build());
        }
        if let Some(state) = state {
            filters.push(Filter::builder().name("status").values(state).build());
        }
        let ec2 = clients.for_step(ctx).await?;
        let request = ec2
            .client
            .describe_snapshots()
            .owner_ids(owner)
            .set_filters(Some(filters));
        let mut snapshots = match page_size {
            Some(size) => request.into_paginator().page_size(size),
            None => request.into_paginator(),
        }
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| aws_error("DescribeSnapshots", owner, &err))?;
        snapshots.sort_by_key(|s| {
            std::cmp::Reverse(s.start_time().map(|t| (t.secs(), t.subsec_nanos())))
        });
        Ok(Listed {
            snapshot_ids: snapshots
                .iter()
                .filter_map(|s| s.snapshot_id().map(str::to_owned))
                .collect(),
            count: snapshots.len(),
            snapshots: snapshots
                .iter()
                .map(|s| output::snapshot(s, &ec2.region))
                .collect(),
            region: ec2.region.clone(),
        })
    }
}
