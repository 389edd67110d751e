//! `backups.delete`: deletes a backup named by its catalog entry, with its
//! provider's own delete, so one retention policy over the catalog
//! (`backups.query` -> `retention` -> `backups.delete`) prunes every cloud.
//! The provider's delete marks the entry `deleted`; a backup already gone
//! counts as deleted, so it is safe to retry.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError, BackupKind, BackupState, Location};
use shutter_core::{action_outputs, action_params};

use crate::delegates::Delegates;

/// Deletes a backup by its catalog entry, with its provider's delete
/// (`aws.ec2.delete_snapshot`, `aws.ec2.deregister_image` with its
/// snapshots, `openstack.image.delete`, `vsphere.snapshot.remove`), which
/// marks the entry `deleted`. A backup already gone counts as deleted.
#[action_params("backups.delete")]
#[derive(Debug, Deserialize)]
pub(super) struct DeleteBackup {
    /// The catalog entry: its id, or an entry of `backups.query` (read
    /// afresh from the catalog).
    #[param(ty = Any)]
    backup: Json,
    /// Passed through to the provider's delete: aws `{endpoint_url}`,
    /// openstack `{cloud}` (needed: the clouds.yaml entry of the image's
    /// project), vsphere `{vcenter}`. Cannot override what the entry sets.
    options: Option<Map<String, Json>>,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Deleted {
    /// The catalog entry's id.
    backup: String,
    /// Its kind (`ebs_snapshot`, `ami`, `glance_image`, `vsphere_snapshot`).
    kind: &'static str,
    /// Its id where it is.
    native_id: String,
    /// False when it was already gone (or already marked deleted).
    deleted: bool,
    /// The provider action's own outputs, unchanged.
    #[output(ty = Object)]
    details: Json,
}

impl Run<Delegates> for DeleteBackup {
    type Outputs = Deleted;

    async fn run(self, ctx: &ActionContext, delegates: &Delegates) -> Outcome<Deleted> {
        let entry = super::entry_ref(ctx, &self.backup).await?;
        let artifact = &entry.artifact;
        let id = artifact.native_id.clone();
        let kind = artifact.kind.as_str();
        let mut options = self.options.unwrap_or_default();
        options.retain(|_, value| !(value.is_null() || value.as_str() == Some("")));
        let mut params = Map::new();
        let (action, deleted) = match (&artifact.kind, &artifact.location) {
            (BackupKind::EbsSnapshot, Location::Aws { region, .. }) => {
                params.insert("snapshot_id".into(), json!(id));
                params.insert("region".into(), json!(region));
                ("aws.ec2.delete_snapshot", "deleted")
            }
            (BackupKind::Ami, Location::Aws { region, .. }) => {
                params.insert("image_id".into(), json!(id));
                params.insert("region".into(), json!(region));
                params.insert("delete_snapshots".into(), json!(true));
                ("aws.ec2.deregister_image", "deregistered")
            }
            (BackupKind::GlanceImage, Location::Openstack { .. }) => {
                if !options.contains_key("cloud") {
                    return Err(ActionError::fatal(format!(
                        "deleting Glance image {id} needs `options.cloud`, the clouds.yaml entry of its project"
                    )));
                }
                params.insert("image_id".into(), json!(id));
                // The cloud named must be where the entry says.
                params.insert("location_key".into(), json!(artifact.location.key()));
                ("openstack.image.delete", "deleted")
            }
            (BackupKind::VsphereSnapshot, Location::Vsphere { vcenter }) => {
                let vm = artifact
                    .source
                    .as_ref()
                    .filter(|source| source.kind == "vm")
                    .ok_or_else(|| {
                        ActionError::fatal(format!(
                            "backup {} (vsphere snapshot {id}): the catalog does not know its VM",
                            entry.id
                        ))
                    })?;
                let reference = json!({"vcenter": vcenter, "vm": vm.id, "moref": id});
                params.insert("snapshot".into(), reference);
                ("vsphere.snapshot.remove", "removed")
            }
            _ => {
                return Err(ActionError::fatal(format!(
                    "backup {}: its kind ({kind}) and location do not agree",
                    entry.id
                )));
            }
        };
        if entry.state == BackupState::Deleted {
            ctx.log(
                shutter_core::LogLevel::Info,
                format!("backup {} ({kind} {id}) is deleted already", entry.id),
            );
        }
        let details = delegates.run_with(ctx, action, params, &options).await?;
        let deleted = match details.get(deleted) {
            Some(Json::Bool(done)) => *done,
            // aws lists what it deleted and what was already gone.
            Some(Json::Array(done)) => !done.is_empty(),
            _ => false,
        };
        Ok(Deleted {
            backup: entry.id.clone(),
            kind,
            native_id: id,
            deleted,
            details,
        })
    }
}
