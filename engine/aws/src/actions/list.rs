//! `aws.ec2.list_snapshots`: the snapshots of an owner, filtered by tags,
//! volume and state, read page by page with the SDK's paginator. Each
//! snapshot carries `id` and `created_at`, so the list can be given as is
//! to the `retention` WASM step.

use std::sync::Arc;

use aws_sdk_ec2::types::Filter;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, ParamType};

use super::{located, tag_filters};
use crate::failure::aws_error;
use crate::settings::Clients;
use crate::{output, params};

pub(super) fn list_snapshots(clients: &Arc<Clients>) -> (ActionSpec, Arc<dyn Action>) {
    let spec = ActionSpec::new(
        "aws.ec2.list_snapshots",
        "Lists snapshots (DescribeSnapshots, every page), newest first, filtered by owner, tags, volume and state.",
    )
    .optional("owner", ParamType::String, Some(json!("self")), "`self`, `amazon` or an account id.")
    .optional("tags", ParamType::Object, None, "Only snapshots with all these tags: a map of key to value (`*` matches any value).")
    .optional("volume_id", ParamType::String, None, "Only snapshots of this volume.")
    .optional("state", ParamType::String, None, "Only snapshots in this state (`pending`, `completed`, `error`).")
    .optional("page_size", ParamType::Integer, None, "Snapshots per DescribeSnapshots call (5 to 1000; AWS's default when absent).");
    let spec = located(spec)
        .output("snapshots", ParamType::Array, "`{id, snapshot_id, created_at, start_time, state, progress, volume_id, volume_size, description, encrypted, owner_id, region, tags}` per snapshot, newest first.")
        .output("snapshot_ids", ParamType::Array, "Their ids, in the same order.")
        .output("count", ParamType::Integer, "How many there are.")
        .output("region", ParamType::String, "The region listed.");
    typed(spec, clients.clone(), |clients, ctx, params| {
        Box::pin(run_list_snapshots(clients, ctx, params))
    })
}

#[derive(Debug, Deserialize)]
struct ListParams {
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    owner: Option<String>,
    #[serde(default)]
    tags: params::Tags,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    volume_id: Option<String>,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    state: Option<String>,
    #[serde(default, deserialize_with = "params::page_size")]
    page_size: Option<i32>,
}

async fn run_list_snapshots(
    clients: &Arc<Clients>,
    ctx: &ActionContext,
    params: ListParams,
) -> Result<Json, ActionError> {
    let ListParams {
        owner,
        tags,
        volume_id,
        state,
        page_size,
    } = params;
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
    let mut pages = match page_size {
        Some(size) => request.into_paginator().page_size(size),
        None => request.into_paginator(),
    }
    .items()
    .send();
    let mut snapshots = Vec::new();
    while let Some(item) = pages.next().await {
        let snapshot = item.map_err(|err| aws_error("DescribeSnapshots", owner, &err))?;
        snapshots.push(snapshot);
    }
    snapshots
        .sort_by_key(|s| std::cmp::Reverse(s.start_time().map(|t| (t.secs(), t.subsec_nanos()))));
    let ids: Vec<&str> = snapshots.iter().filter_map(|s| s.snapshot_id()).collect();
    Ok(json!({
        "snapshots": snapshots.iter().map(|s| output::snapshot(s, &ec2.region)).collect::<Vec<_>>(),
        "snapshot_ids": ids,
        "count": snapshots.len(),
        "region": ec2.region,
    }))
}
