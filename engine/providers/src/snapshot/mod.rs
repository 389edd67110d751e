//! The platform-agnostic `snapshot` and `snapshot.delete`: one workflow
//! step, any cloud. A target reference (`aws://REGION/vol-...`,
//! `aws://REGION/i-...`, `openstack://CLOUD/SERVER_ID`,
//! `vsphere://VCENTER/vm-42`) picks the provider's own action, which runs
//! on the step's behalf (`ActionContext::delegate`): same idempotency key
//! (so a re-run adopts what an earlier try made), cancellation and secrets;
//! its log lines are kept (`ActionContext::absorb`).
//!
//! The provider actions are looked up by name among those registered
//! (`crate::delegates`).
//!
//! # Layout
//! - `target.rs`: parsing and checking target references.
//! - `create.rs`: `snapshot`: dispatch and the one output shape.
//! - `delete.rs`: `snapshot.delete`: dispatch from a `snapshot` output.

mod create;
mod delete;
mod target;

use shutter_core::ActionEntry;
use shutter_core::action::Run as _;

use crate::delegates::Delegates;

/// The provider actions `snapshot` and `snapshot.delete` dispatch to.
pub(crate) const DELEGATES: &[&str] = &[
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
    let delegates = Delegates::pick(registered, DELEGATES);
    vec![
        create::TakeSnapshot::entry(delegates.clone()),
        delete::DeleteSnapshot::entry(delegates),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_delegate_is_a_registered_provider_action() {
        let mut registered = shutter_aws::actions();
        registered.extend(shutter_vmware::actions(std::sync::Arc::new(
            shutter_core::config::NoConfig,
        )));
        registered.extend(shutter_openstack::actions(
            shutter_openstack::ConfigSources::default().yaml,
        ));
        // What `restore` runs too: one list of the registered, checked once.
        let all = [
            DELEGATES,
            crate::restore::DELEGATES,
            crate::backups::DELEGATES,
        ];
        for name in all.concat() {
            assert!(
                registered.iter().any(|(spec, _)| spec.name == *name),
                "{name} is not a provider action"
            );
        }
        let ours: Vec<String> = actions(&registered)
            .into_iter()
            .chain(crate::restore::actions(&registered))
            .map(|(spec, _)| spec.name)
            .collect();
        assert_eq!(
            ours,
            [
                "snapshot",
                "snapshot.delete",
                "restore",
                "restore.delete",
                "restore.test"
            ]
        );
    }
}
