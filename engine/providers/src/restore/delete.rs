//! `restore.delete`: removes what `restore` made, with the provider's own
//! action (`aws.ec2.delete_volume`, `openstack.server.delete`,
//! `vsphere.vm.destroy`). Gone already counts as deleted, so it is safe in
//! `finally` and as a compensation. Only what carries the very idempotency
//! key `restore` made it under is deleted (`made_by_key`): a wrong or
//! hand-written reference cannot take a production resource, nor another
//! of Shutter's.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError, LogLevel};
use shutter_core::{action_outputs, action_params};

use crate::delegates::Delegates;

/// Deletes what `restore` made: the volume (an attached one is refused:
/// detach it first), the server, or the clone (powered off first), and only
/// if it still carries the idempotency key it was made under. Gone already
/// counts as deleted. A revert in place made nothing to delete.
#[action_params("restore.delete")]
#[derive(Debug, Deserialize)]
pub(super) struct DeleteRestored {
    /// The `restored` output of `restore` (`{provider, kind, id,
    /// connection}`), or the whole output.
    #[param(ty = Object)]
    restored: Json,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Deleted {
    /// False when it was already gone (or nothing was made).
    deleted: bool,
    /// aws, openstack or vsphere.
    provider: String,
    /// What was deleted: `volume`, `server` or `vm`.
    kind: String,
    /// Its id.
    id: String,
    /// The provider action's own outputs, unchanged.
    #[output(ty = Object)]
    details: Json,
}

/// The `restored` reference, checked.
#[derive(Debug, Deserialize)]
pub(super) struct Made {
    provider: String,
    kind: String,
    id: String,
    #[serde(default)]
    connection: Map<String, Json>,
    /// The idempotency key the resource carries: only what carries it is
    /// deleted.
    #[serde(default)]
    key: String,
}

impl Made {
    pub(super) fn parse(value: &Json) -> Result<Self, ActionError> {
        let inner = value.get("restored").unwrap_or(value);
        let made: Self = serde_json::from_value(inner.clone()).map_err(|err| {
            ActionError::fatal(format!(
                "parameter `restored` must be the `restored` output of restore: {err}"
            ))
        })?;
        if made.id.is_empty() {
            return Err(ActionError::fatal(
                "parameter `restored` has an empty `id`".to_owned(),
            ));
        }
        if made.key.is_empty() && made.kind != "reverted" {
            return Err(ActionError::fatal(
                "parameter `restored` has no `key`: pass the `restored` output of restore as it is"
                    .to_owned(),
            ));
        }
        Ok(made)
    }
}

impl Run<Delegates> for DeleteRestored {
    type Outputs = Deleted;

    async fn run(self, ctx: &ActionContext, delegates: &Delegates) -> Outcome<Deleted> {
        let made = Made::parse(&self.restored)?;
        delete(delegates, ctx, made).await
    }
}

/// Deletes `made`: what `restore.delete` and `restore.test` share.
pub(super) async fn delete(
    delegates: &Delegates,
    ctx: &ActionContext,
    made: Made,
) -> Result<Deleted, ActionError> {
    let connection = |key: &str| made.connection.get(key).cloned();
    let mut params = Map::new();
    let (action, deleted_key) = match (made.provider.as_str(), made.kind.as_str()) {
        ("aws", "volume") => {
            params.insert("volume_id".into(), json!(made.id));
            for key in ["region", "endpoint_url"] {
                if let Some(value) = connection(key) {
                    params.insert(key.into(), value);
                }
            }
            ("aws.ec2.delete_volume", "deleted")
        }
        ("openstack", "server") => {
            params.insert("server_id".into(), json!(made.id));
            let cloud = connection("cloud").ok_or_else(|| {
                ActionError::fatal("parameter `restored` names no `connection.cloud`".to_owned())
            })?;
            params.insert("cloud".into(), cloud);
            ("openstack.server.delete", "deleted")
        }
        ("vsphere", "vm") => {
            let vcenter = connection("vcenter_uuid")
                .and_then(|v| v.as_str().map(str::to_owned))
                .ok_or_else(|| {
                    ActionError::fatal(
                        "parameter `restored` names no `connection.vcenter_uuid`".to_owned(),
                    )
                })?;
            params.insert(
                "vm".into(),
                json!(format!("vsphere://{vcenter}/{}", made.id)),
            );
            if let Some(named) = connection("vcenter") {
                params.insert("vcenter".into(), named);
            }
            ("vsphere.vm.destroy", "destroyed")
        }
        ("vsphere", "reverted") => {
            ctx.log(
                LogLevel::Info,
                format!(
                    "{} was reverted in place: there is nothing to delete",
                    made.id
                ),
            );
            return Ok(Deleted {
                deleted: false,
                provider: made.provider,
                kind: made.kind,
                id: made.id,
                details: json!({}),
            });
        }
        (provider, kind) => {
            return Err(ActionError::fatal(format!(
                "parameter `restored`: a {provider} {kind} is nothing restore makes"
            )));
        }
    };
    params.insert("made_by_key".into(), json!(made.key));
    let details = delegates.run(ctx, action, Json::Object(params)).await?;
    Ok(Deleted {
        deleted: details
            .get(deleted_key)
            .and_then(Json::as_bool)
            .unwrap_or(false),
        provider: made.provider,
        kind: made.kind,
        id: made.id,
        details,
    })
}
