//! The backup catalog as workflows read, annotate and reconcile it:
//! `backups.query` (entries, e.g. the newest of each source, or every one
//! for a retention policy), `backups.record_test` (a restore test's
//! verdict), `backups.sync` (every place's reconcile in one step) and
//! `backups.delete` (what a retention policy over the catalog prunes).
//!
//! # Layout
//! - `query.rs`: `backups.query` and the entry's JSON shape.
//! - `record.rs`: `backups.record_test`.
//! - `sync.rs`: `backups.sync`, delegating to each provider's reconcile.
//! - `delete.rs`: `backups.delete`, a backup deleted by its catalog entry.

mod delete;
mod query;
mod record;
mod sync;

use shutter_core::ActionEntry;
use shutter_core::action::Run as _;

use crate::delegates::Delegates;

pub(crate) use record::entry_ref;

/// A failed read of the catalog: worth another try only when the store
/// was unavailable.
pub(crate) fn catalog_error(err: shutter_core::store::StoreError) -> shutter_core::ActionError {
    let message = format!("reading the backup catalog: {err}");
    match err {
        shutter_core::store::StoreError::Unavailable(_) => {
            shutter_core::ActionError::retryable(message)
        }
        _ => shutter_core::ActionError::fatal(message),
    }
}

/// The provider actions `backups.sync` and `backups.delete` run.
pub(crate) const DELEGATES: &[&str] = &[
    "aws.ec2.sync_backups",
    "vsphere.sync_backups",
    "openstack.image.sync_backups",
    "aws.ec2.delete_snapshot",
    "aws.ec2.deregister_image",
    "openstack.image.delete",
    "vsphere.snapshot.remove",
];

/// `backups.query`, `backups.record_test`, `backups.sync` and
/// `backups.delete` (the last two run the provider actions found in
/// `registered`).
pub fn actions(registered: &[ActionEntry]) -> Vec<ActionEntry> {
    let delegates = Delegates::pick(registered, DELEGATES);
    vec![
        query::QueryBackups::entry(()),
        record::RecordTest::entry(()),
        sync::SyncAll::entry(delegates.clone()),
        delete::DeleteBackup::entry(delegates),
    ]
}
