//! `aws.ec2.delete_snapshot`: deletes one snapshot, a list, or the ones
//! carrying given tags. Made to be a compensation: a snapshot already gone
//! counts as deleted (unless `missing_ok: false`), so an undo that is
//! retried or resumed succeeds. Selecting by tags serves the compensation
//! of a `for_each` item, which can name its item but not the item's outputs.

use std::sync::Arc;

use aws_sdk_ec2::types::Tag;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, LogLevel, ParamType};

use super::{located, tag_filters};
use crate::failure::{aws_error, is_gone};
use crate::params;
use crate::settings::{Clients, Ec2};

pub(super) fn delete_snapshot(clients: &Arc<Clients>) -> (ActionSpec, Arc<dyn Action>) {
    let spec = ActionSpec::new(
        "aws.ec2.delete_snapshot",
        "Deletes snapshots (DeleteSnapshot): `snapshot_id`, `snapshot_ids`, and every snapshot of yours carrying all of `tags`. One already gone counts as deleted unless `missing_ok` is false, so it is safe as a compensation.",
    )
    .optional("snapshot_id", ParamType::String, None, "A snapshot to delete.")
    .optional("snapshot_ids", ParamType::Array, None, "Snapshots to delete (e.g. `aws.ec2.create_snapshots`' `snapshot_ids`).")
    .optional("tags", ParamType::Object, None, "Also delete every snapshot you own that carries all these tags (at least one tag).")
    .optional("missing_ok", ParamType::Boolean, Some(json!(true)), "Whether a snapshot that does not exist is fine.");
    let spec = located(spec)
        .output(
            "deleted",
            ParamType::Array,
            "The snapshots this step deleted.",
        )
        .output(
            "missing",
            ParamType::Array,
            "The snapshots that were already gone.",
        )
        .output("region", ParamType::String, "The region.");
    typed(spec, clients.clone(), |clients, ctx, params| {
        Box::pin(run_delete_snapshot(clients, ctx, params))
    })
}

#[derive(Debug, Deserialize)]
struct DeleteParams {
    #[serde(default, deserialize_with = "shutter_core::params::one_or_many")]
    snapshot_ids: Vec<String>,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    snapshot_id: Option<String>,
    #[serde(default)]
    tags: params::Tags,
    #[serde(default = "yes")]
    missing_ok: bool,
}

fn yes() -> bool {
    true
}

async fn run_delete_snapshot(
    clients: &Arc<Clients>,
    ctx: &ActionContext,
    params: DeleteParams,
) -> Result<Json, ActionError> {
    let DeleteParams {
        snapshot_ids: mut ids,
        snapshot_id,
        tags: params::Tags(tags),
        missing_ok,
    } = params;
    ids.extend(snapshot_id);
    let ec2 = clients.for_step(ctx).await?;
    if !tags.is_empty() {
        ids.extend(tagged(&ec2, &tags).await?);
    }
    let mut seen = std::collections::HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    if ids.is_empty() && tags.is_empty() {
        return Err(ActionError::fatal(
            "give `snapshot_id`, `snapshot_ids` or `tags`: there is nothing to delete".to_owned(),
        ));
    }
    let (mut deleted, mut missing) = (Vec::new(), Vec::new());
    for id in ids {
        if delete_one(&ec2, ctx, &id, missing_ok).await? {
            deleted.push(id);
        } else {
            missing.push(id);
        }
    }
    Ok(json!({ "deleted": deleted, "missing": missing, "region": ec2.region }))
}

/// The snapshots of this account carrying every one of `tags`.
async fn tagged(ec2: &Ec2, tags: &[Tag]) -> Result<Vec<String>, ActionError> {
    let mut pages = ec2
        .client
        .describe_snapshots()
        .owner_ids("self")
        .set_filters(Some(tag_filters(tags)))
        .into_paginator()
        .items()
        .send();
    let mut ids = Vec::new();
    while let Some(item) = pages.next().await {
        let snapshot =
            item.map_err(|err| aws_error("DescribeSnapshots", "tagged snapshots", &err))?;
        ids.extend(snapshot.snapshot_id().map(str::to_owned));
    }
    Ok(ids)
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
            ctx.log(
                LogLevel::Info,
                format!("snapshot {id} in {} was already gone", ec2.region),
            );
            Ok(false)
        }
        Err(err) => Err(aws_error("DeleteSnapshot", id, &err)),
    }
}
