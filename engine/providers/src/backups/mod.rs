//! The backup catalog as workflows read, annotate and reconcile it:
//! `backups.query` (entries, e.g. the newest of each source, or every one
//! for a retention policy), `backups.record_test` (a restore test's
//! verdict) and `backups.sync` (every place's reconcile in one step).
//!
//! # Layout
//! - `query.rs`: `backups.query` and the entry's JSON shape.
//! - `record.rs`: `backups.record_test`.
//! - `sync.rs`: `backups.sync`, delegating to each provider's reconcile.

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

/// The provider reconciles `backups.sync` runs.
pub(crate) const DELEGATES: &[&str] = &[
    "aws.ec2.sync_backups",
    "vsphere.sync_backups",
    "openstack.image.sync_backups",
];

/// `backups.query`, `backups.record_test` and `backups.sync` (which runs
/// the reconciles found in `registered`).
pub fn actions(registered: &[ActionEntry]) -> Vec<ActionEntry> {
    vec![
        query::QueryBackups::entry(()),
        record::RecordTest::entry(()),
        sync::SyncAll::entry(Delegates::pick(registered, DELEGATES)),
    ]
}
