//! The platform-agnostic restore: `restore` brings a backup back (an EBS
//! snapshot as a volume, a Glance image as a Nova server, a vSphere
//! snapshot as a clone of its VM, or the VM reverted to it),
//! `restore.delete` removes what `restore` made, and `restore.test` does
//! both around a check of what came back and records the verdict on the
//! backup's catalog entry. Each runs the provider's own actions on the
//! step's behalf (`crate::delegates`), so a re-run adopts what an earlier
//! try restored.
//!
//! # Layout
//! - `backup.rs`: what to restore: a catalog entry, or a reference.
//! - `create.rs`: `restore`, and the one restore every action shares.
//! - `delete.rs`: `restore.delete`.
//! - `test.rs`: `restore.test`: restore, check, record, clean up.

mod backup;
mod create;
mod delete;
mod test;

use shutter_core::ActionEntry;
use shutter_core::action::Run as _;

use crate::delegates::Delegates;

/// The provider actions the restore actions run.
pub(crate) const DELEGATES: &[&str] = &[
    "aws.ec2.create_volume",
    "aws.ec2.delete_volume",
    "openstack.server.create",
    "openstack.server.delete",
    "vsphere.vm.clone",
    "vsphere.vm.destroy",
    "vsphere.vm.get",
    "vsphere.snapshot.revert",
];

/// `restore`, `restore.delete` and `restore.test`, running the provider
/// actions found in `registered` (collect those first).
pub fn actions(registered: &[ActionEntry]) -> Vec<ActionEntry> {
    let delegates = Delegates::pick(registered, DELEGATES);
    vec![
        create::Restore::entry(delegates.clone()),
        delete::DeleteRestored::entry(delegates.clone()),
        test::TestRestore::entry(delegates),
    ]
}
