//! The backup catalog as workflows read and annotate it: `backups.query`
//! (entries, e.g. the newest of each source, or every one for a retention
//! policy) and `backups.record_test` (a restore test's verdict).
//!
//! # Layout
//! - `query.rs`: `backups.query` and the entry's JSON shape.
//! - `record.rs`: `backups.record_test`.

mod query;
mod record;

use shutter_core::ActionEntry;
use shutter_core::action::Run as _;

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

pub(crate) fn actions() -> Vec<ActionEntry> {
    vec![
        query::QueryBackups::entry(()),
        record::RecordTest::entry(()),
    ]
}
