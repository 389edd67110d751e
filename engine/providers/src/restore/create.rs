//! `restore`: dispatches on what the backup is to `aws.ec2.create_volume`,
//! `openstack.server.create`, `vsphere.vm.clone` or (in place)
//! `vsphere.snapshot.revert`, and gives back one output shape whatever the
//! cloud, with what `restore.delete` takes to remove it again.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError};
use shutter_core::{action_outputs, action_params};

use super::backup::{Artifact, Restorable};
use crate::delegates::Delegates;

/// Restores a backup on its own cloud, with the provider's own action: an EBS
/// snapshot as a new volume (`aws.ec2.create_volume`), a Glance image as a
/// new Nova server (`openstack.server.create`), a vSphere snapshot as a
/// clone of its VM (`vsphere.vm.clone`) or, with `in_place`, by reverting
/// the VM to it (`vsphere.snapshot.revert`). Same idempotency as those: a
/// re-run adopts what an earlier try restored. Undo with `restore.delete`.
#[action_params("restore")]
#[derive(Debug, Deserialize)]
pub(super) struct Restore {
    /// What to restore: a backup catalog entry's id, an entry of
    /// `backups.query`, or a reference (`aws://REGION/snap-ID`,
    /// `openstack://CLOUD/IMAGE_ID`, `vsphere://VCENTER/vm-N/snapshot-M`).
    #[param(ty = Any)]
    pub(super) backup: Json,
    /// The name of what is restored (aws: the volume's `Name` tag;
    /// openstack: the server's name; vsphere: the clone's name). Default:
    /// `restore-` and the backup's id there.
    pub(super) name: Option<String>,
    /// vsphere only: revert the VM itself to the snapshot instead of
    /// cloning it. What the VM holds since the snapshot is lost.
    #[param(default = false)]
    pub(super) in_place: bool,
    /// Tags (aws) or server metadata (openstack).
    pub(super) tags: Option<Map<String, Json>>,
    /// Passed through to the provider's action: aws `{endpoint_url,
    /// availability_zone, volume_type, ...}`; openstack `{cloud, flavor,
    /// networks}` (`cloud`, the clouds.yaml entry, is needed for a catalog
    /// entry); vsphere `{vcenter, folder, linked, power_on}`. Cannot
    /// override what the backup sets.
    pub(super) options: Option<Map<String, Json>>,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Restored {
    /// aws, openstack or vsphere.
    pub(super) provider: &'static str,
    /// What was made: `volume`, `server`, `vm` (a clone), or `reverted`
    /// (the VM itself, in place).
    pub(super) kind: &'static str,
    /// Its id: a volume id, a server id, the clone's (or reverted VM's) moRef.
    pub(super) id: String,
    /// The backup's id where it is (snapshot, image, snapshot moRef).
    pub(super) from: String,
    /// The catalog entry restored, when named by one.
    pub(super) backup: Option<String>,
    /// True when an earlier try had restored it.
    pub(super) adopted: bool,
    /// What `restore.delete` takes: `{provider, kind, id, connection,
    /// key}` (`key`: the idempotency key it carries).
    #[output(ty = Object)]
    pub(super) restored: Json,
    /// The provider action's own outputs, unchanged.
    #[output(ty = Object)]
    pub(super) details: Json,
}

impl Run<Delegates> for Restore {
    type Outputs = Restored;

    async fn run(self, ctx: &ActionContext, delegates: &Delegates) -> Outcome<Restored> {
        let what = Restorable::read(ctx, &self.backup).await?;
        restore(delegates, ctx, &what, &self).await
    }
}

/// Restores `what` as `asked` says: what `restore` and `restore.test` share.
pub(super) async fn restore(
    delegates: &Delegates,
    ctx: &ActionContext,
    what: &Restorable,
    asked: &Restore,
) -> Result<Restored, ActionError> {
    let mut options = asked.options.clone().unwrap_or_default();
    // An option an expression left empty (`${{ inputs.cloud }}` with no
    // cloud given) is not given, as for the actions' own parameters.
    options.retain(|_, value| !(value.is_null() || value.as_str() == Some("")));
    let tags = asked.tags.clone().unwrap_or_default();
    let from = what.artifact.id().to_owned();
    let name = asked
        .name
        .clone()
        .unwrap_or_else(|| format!("restore-{from}"));
    if asked.in_place && !matches!(what.artifact, Artifact::VsphereSnapshot { .. }) {
        return Err(ActionError::fatal(format!(
            "`in_place` restores a vsphere snapshot by reverting its VM; {} backups are restored as new resources",
            what.artifact.provider()
        )));
    }
    let mut params = Map::new();
    let (action, kind, connection) = match &what.artifact {
        Artifact::EbsSnapshot {
            region,
            snapshot_id,
        } => {
            let mut tags = tags;
            tags.entry("Name").or_insert_with(|| json!(name));
            params.insert("snapshot_id".into(), json!(snapshot_id));
            params.insert("region".into(), json!(region));
            params.insert("tags".into(), Json::Object(tags));
            let mut connection = json!({"region": region});
            if let Some(endpoint) = options.get("endpoint_url") {
                connection["endpoint_url"] = endpoint.clone();
            }
            ("aws.ec2.create_volume", "volume", connection)
        }
        Artifact::GlanceImage { cloud, image_id } => {
            let cloud = match cloud {
                Some(cloud) => {
                    params.insert("cloud".into(), json!(cloud));
                    json!(cloud)
                }
                None => options.get("cloud").cloned().ok_or_else(|| {
                    ActionError::fatal(format!(
                        "restoring Glance image {image_id} needs `options.cloud`, the clouds.yaml entry of its project"
                    ))
                })?,
            };
            params.insert("image_id".into(), json!(image_id));
            params.insert("name".into(), json!(name));
            if !tags.is_empty() {
                params.insert("metadata".into(), Json::Object(tags));
            }
            ("openstack.server.create", "server", json!({"cloud": cloud}))
        }
        Artifact::VsphereSnapshot {
            vcenter,
            vm,
            snapshot,
        } => {
            let reference = json!({"vcenter": vcenter, "vm": vm, "moref": snapshot});
            params.insert("snapshot".into(), reference);
            let mut connection = json!({"vcenter_uuid": vcenter});
            if let Some(named) = options.get("vcenter") {
                connection["vcenter"] = named.clone();
            }
            if asked.in_place {
                ("vsphere.snapshot.revert", "reverted", connection)
            } else {
                params.insert("name".into(), json!(name));
                ("vsphere.vm.clone", "vm", connection)
            }
        }
    };
    let details = delegates.run_with(ctx, action, params, &options).await?;
    let id = made_id(&details, kind)
        .ok_or_else(|| ActionError::fatal(format!("{action} did not say what it restored")))?;
    let provider = what.artifact.provider();
    Ok(Restored {
        provider,
        kind,
        // The key it was made under: `restore.delete` deletes only what
        // carries that very key, never another of Shutter's resources.
        restored: json!({"provider": provider, "kind": kind, "id": id, "connection": connection, "key": ctx.idempotency_key}),
        adopted: details
            .get("adopted")
            .and_then(Json::as_bool)
            .unwrap_or(false),
        id,
        from,
        backup: what.entry.as_ref().map(|entry| entry.id.clone()),
        details,
    })
}

/// The id of what the provider's action made, from its outputs.
fn made_id(details: &Json, kind: &str) -> Option<String> {
    let text = |value: Option<&Json>| value.and_then(Json::as_str).map(str::to_owned);
    match kind {
        "volume" => text(details.get("volume_id")),
        "server" => text(details.get("server_id")),
        // The clone's (or the reverted VM's) moRef: `vm` is the clone's
        // reference object, or the VM's moRef itself.
        _ => match details.get("vm") {
            Some(Json::Object(vm)) => text(vm.get("moref")),
            other => text(other),
        },
    }
}
