//! The platform-agnostic `snapshot` and `snapshot.delete`: one workflow
//! step, any cloud. A target reference (`aws://REGION/vol-...`,
//! `aws://REGION/i-...`, `openstack://CLOUD/SERVER_ID`,
//! `vsphere://VCENTER/vm-42`) picks the provider's own action, which runs
//! on the step's behalf ([`ActionContext::delegate`]): same idempotency key
//! (so a re-run adopts what an earlier try made), cancellation and secrets;
//! its log lines are kept ([`ActionContext::absorb`]).
//!
//! The provider actions are looked up by name among those registered, so
//! this module holds no cloud client of its own and an embedder's
//! configured providers (e.g. `shutter_aws::actions_with`) are the ones used.
//!
//! # Layout
//! - `target.rs`: parsing and checking target references.
//! - `create.rs`: `snapshot`: dispatch and the one output shape.
//! - `delete.rs`: `snapshot.delete`: dispatch from a `snapshot` output.

mod create;
mod delete;
mod target;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use shutter_core::action::Run as _;
use shutter_core::{Action, ActionContext, ActionEntry, ActionError};

/// The provider actions `snapshot` and `snapshot.delete` dispatch to.
const DELEGATES: &[&str] = &[
    "aws.ec2.create_snapshot",
    "aws.ec2.create_snapshots",
    "aws.ec2.delete_snapshot",
    "openstack.server.create_image",
    "openstack.image.delete",
    "vsphere.snapshot.create",
    "vsphere.snapshot.remove",
];

/// `snapshot` and `snapshot.delete`, dispatching to the provider actions
/// found in `registered` (collect those first). A provider missing from
/// `registered` fails only the steps that target it.
pub fn actions(registered: &[ActionEntry]) -> Vec<ActionEntry> {
    let delegates = Delegates(
        registered
            .iter()
            .filter(|(spec, _)| DELEGATES.contains(&spec.name.as_str()))
            .map(|(spec, action)| (spec.name.clone(), action.clone()))
            .collect(),
    );
    vec![
        create::TakeSnapshot::entry(delegates.clone()),
        delete::DeleteSnapshot::entry(delegates),
    ]
}

/// Provider actions by name.
#[derive(Debug, Clone)]
struct Delegates(BTreeMap<String, Arc<dyn Action>>);

impl Delegates {
    /// Runs the provider action `name` with `params` on the step's behalf.
    /// Its errors keep their kind and say which action failed.
    async fn run(
        &self,
        ctx: &ActionContext,
        name: &str,
        params: Json,
    ) -> Result<Json, ActionError> {
        let action = self.0.get(name).ok_or_else(|| {
            ActionError::fatal(format!(
                "`{name}` is not registered in this binary: its provider is not built in"
            ))
        })?;
        let delegate = ctx.delegate(params);
        let result = action.run(&delegate).await;
        ctx.absorb(delegate);
        result.map_err(|err| err.map_message(|message| format!("{name}: {message}")))
    }
}

/// The provider's parameters: what the dispatcher sets, plus `options`
/// passed through. An option may not replace what the target or the step's
/// own parameters decide, so a stray key cannot point the step elsewhere.
fn with_options(
    mut params: Map<String, Json>,
    options: &Map<String, Json>,
) -> Result<Json, ActionError> {
    for (key, value) in options {
        if params.contains_key(key) {
            return Err(ActionError::fatal(format!(
                "`options.{key}` cannot be passed through: the snapshot step sets `{key}` itself"
            )));
        }
        params.insert(key.clone(), value.clone());
    }
    Ok(Json::Object(params))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn options_pass_through_but_never_override() {
        let base = json!({"volume_id": "vol-1", "region": "us-east-1"});
        let base = base.as_object().unwrap().clone();
        let options = json!({"endpoint_url": "http://127.0.0.1:5000"});
        let merged = with_options(base.clone(), options.as_object().unwrap()).unwrap();
        assert_eq!(merged["endpoint_url"], "http://127.0.0.1:5000");
        assert_eq!(merged["volume_id"], "vol-1");
        let sneaky = json!({"region": "eu-west-1"});
        let err = with_options(base, sneaky.as_object().unwrap()).unwrap_err();
        assert_eq!(
            err,
            ActionError::fatal(
                "`options.region` cannot be passed through: the snapshot step sets `region` itself"
                    .to_owned()
            )
        );
    }

    #[test]
    fn every_delegate_is_a_registered_provider_action() {
        let mut registered = shutter_aws::actions();
        registered.extend(shutter_vmware::actions(std::sync::Arc::new(
            shutter_core::config::NoConfig,
        )));
        registered.extend(shutter_openstack::actions(
            shutter_openstack::ConfigSources::default().yaml,
        ));
        for name in DELEGATES {
            assert!(
                registered.iter().any(|(spec, _)| spec.name == *name),
                "{name} is not a provider action"
            );
        }
        let ours: Vec<String> = actions(&registered)
            .into_iter()
            .map(|(spec, _)| spec.name)
            .collect();
        assert_eq!(ours, ["snapshot", "snapshot.delete"]);
    }
}
