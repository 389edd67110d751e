//! The backup catalog as workflows read, annotate and reconcile it:
//! `backups.query` (entries, e.g. the newest of each source, or every one
//! for a retention policy), `backups.record_test` (a restore test's
//! verdict), `backups.sync` (every place's reconcile in one step) and
//! `backups.delete` (what a retention policy over the catalog prunes).
//!
//! # Layout
//! - `query.rs`: `backups.query` and the entry's JSON shape.
//! - `record.rs`: `backups.record_test`.
//! - here: reading an entry a parameter names (`entry_ref`), shared by
//!   these actions and `restore`.
//! - `sync.rs`: `backups.sync`, delegating to each provider's reconcile.
//! - `places.rs`: the places the config file lists for it.
//! - `delete.rs`: `backups.delete`, a backup deleted by its catalog entry.

mod delete;
mod places;
mod query;
mod record;
mod sync;

use std::sync::Arc;

use serde_json::Value as Json;
use shutter_core::action::Run as _;
use shutter_core::config::ConfigSource;
use shutter_core::store::StoreError;
use shutter_core::{ActionContext, ActionEntry, ActionError, Backup};

use crate::delegates::Delegates;

/// A failed read of the catalog: worth another try only when the store
/// was unavailable.
pub(crate) fn catalog_error(err: StoreError) -> ActionError {
    let message = format!("reading the backup catalog: {err}");
    match err {
        StoreError::Unavailable(_) => ActionError::retryable(message),
        _ => ActionError::fatal(message),
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

/// The section of Shutter's config file these actions read.
pub const CONFIG_SECTION: &str = places::SECTION;

/// `backups.query`, `backups.record_test`, `backups.sync` and
/// `backups.delete` (the last two run the provider actions found in
/// `registered`; a sync naming no place reads them from `config`).
pub fn actions(registered: &[ActionEntry], config: Arc<dyn ConfigSource>) -> Vec<ActionEntry> {
    let delegates = Delegates::pick(registered, DELEGATES);
    vec![
        query::QueryBackups::entry(()),
        record::RecordTest::entry(()),
        sync::SyncAll::entry(sync::Reconcilers {
            delegates: delegates.clone(),
            config,
        }),
        delete::DeleteBackup::entry(delegates),
    ]
}

/// The catalog entry a parameter names: its id, or an object with its
/// `id` (an entry of `backups.query`), read afresh from the catalog so an
/// output edited on the way cannot point elsewhere.
pub(crate) async fn entry_ref(ctx: &ActionContext, value: &Json) -> Result<Backup, ActionError> {
    let id = match value {
        Json::String(id) => id.as_str(),
        Json::Object(map) => map.get("id").and_then(Json::as_str).ok_or_else(|| {
            ActionError::fatal("parameter `backup`: the object has no `id`".to_owned())
        })?,
        other => {
            return Err(ActionError::fatal(format!(
                "parameter `backup` must be a catalog entry's id or an entry of backups.query, not {other}"
            )));
        }
    };
    match ctx.backup(id).await {
        Ok(Some(entry)) => Ok(entry),
        Ok(None) => Err(ActionError::fatal(format!(
            "backup `{id}` is not in the catalog"
        ))),
        Err(err) => Err(catalog_error(err)),
    }
}
