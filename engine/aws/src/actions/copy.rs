//! `aws.ec2.copy_snapshot`: copies a snapshot into `region` (the client
//! runs in the destination region, as `CopySnapshot` requires). The copy
//! is tagged with the step's idempotency key in the destination region;
//! a re-run adopts it there.

use std::sync::Arc;

use aws_sdk_ec2::types::ResourceType;
use serde::Deserialize;
use serde_json::{Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, ParamType};

use super::{created_snapshots, located};
use crate::failure::aws_error;
use crate::settings::Clients;
use crate::{idempotency, params};

pub(super) fn copy_snapshot(clients: &Arc<Clients>) -> (ActionSpec, Arc<dyn Action>) {
    let spec = ActionSpec::new(
        "aws.ec2.copy_snapshot",
        "Copies a snapshot into `region` (CopySnapshot), e.g. to a second region for disaster recovery. The copy is tagged with the step's idempotency key; a re-run adopts it. Wait for it with `aws.ec2.wait_snapshot` in the destination region; undo with `aws.ec2.delete_snapshot`.",
    )
    .param("snapshot_id", ParamType::String, "The snapshot to copy.")
    .param("source_region", ParamType::String, "The region it is in.")
    .optional("encrypted", ParamType::Boolean, None, "Encrypt the copy (required to copy an unencrypted snapshot into an encrypted one).")
    .optional("kms_key_id", ParamType::String, None, "KMS key for the copy; default: the account's EBS default key.")
    .optional("description", ParamType::String, None, "The copy's description.")
    .optional("tags", ParamType::Object, None, "Tags for the copy: a map of key to value.");
    let spec = located(spec)
        .output("snapshot_id", ParamType::String, "The copy.")
        .output(
            "source_snapshot_id",
            ParamType::String,
            "The snapshot copied.",
        )
        .output(
            "source_region",
            ParamType::String,
            "Where it was copied from.",
        )
        .output(
            "region",
            ParamType::String,
            "Where the copy is (the destination region).",
        )
        .output(
            "state",
            ParamType::String,
            "The copy's state, usually `pending`; null when EC2 does not say.",
        )
        .output(
            "adopted",
            ParamType::Boolean,
            "True when an earlier try had created the copy.",
        );
    typed(spec, clients.clone(), |clients, ctx, params| {
        Box::pin(run_copy_snapshot(clients, ctx, params))
    })
}

#[derive(Debug, Deserialize)]
struct CopyParams {
    #[serde(deserialize_with = "shutter_core::params::required")]
    snapshot_id: String,
    #[serde(deserialize_with = "shutter_core::params::required")]
    source_region: String,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    encrypted: Option<bool>,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    kms_key_id: Option<String>,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    description: Option<String>,
    #[serde(default)]
    tags: params::Tags,
}

async fn run_copy_snapshot(
    clients: &Arc<Clients>,
    ctx: &ActionContext,
    params: CopyParams,
) -> Result<Json, ActionError> {
    let CopyParams {
        snapshot_id: source_id,
        source_region,
        encrypted,
        kms_key_id,
        description,
        tags,
    } = params;
    let ec2 = clients.for_step(ctx).await?;
    let on = format!("{source_id} from {source_region}");
    let earlier = created_snapshots(&ec2, ctx, "DescribeSnapshots", &on).await?;
    if let Some(found) = earlier.first() {
        let id = found.snapshot_id().unwrap_or_default().to_owned();
        idempotency::log_adopted(ctx, "snapshot copy", std::slice::from_ref(&id), &ec2.region);
        return Ok(json!({
            "snapshot_id": id,
            "source_snapshot_id": source_id,
            "source_region": source_region,
            "region": ec2.region,
            "state": found.state().map(|s| s.as_str()),
            "adopted": true,
        }));
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
    let copy_id = copied.snapshot_id().ok_or_else(|| {
        ActionError::retryable(format!(
            "aws ec2 CopySnapshot on {on}: no snapshot id in the answer"
        ))
    })?;
    // CopySnapshot answers with the id alone; the state is one Describe away.
    let state = ec2
        .client
        .describe_snapshots()
        .snapshot_ids(copy_id)
        .send()
        .await
        .ok()
        .and_then(|answer| {
            answer
                .snapshots()
                .first()
                .and_then(|s| s.state().map(|st| st.as_str().to_owned()))
        });
    Ok(json!({
        "snapshot_id": copy_id,
        "source_snapshot_id": source_id,
        "source_region": source_region,
        "region": ec2.region,
        "state": state,
        "adopted": false,
    }))
}
