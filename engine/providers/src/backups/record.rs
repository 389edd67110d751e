//! `backups.record_test`: a restore test's verdict, on the catalog entry.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError, Backup};
use shutter_core::{action_outputs, action_params};

/// Records a restore test's verdict on a catalog entry: `passed` sets when
/// it was last proven restorable (`verified_at`, shown by `shutter backups
/// list`); a failure is kept with its detail. `restore.test` records its own
/// verdict; this is for tests made of other steps.
#[action_params("backups.record_test")]
#[derive(Debug, Deserialize)]
pub(super) struct RecordTest {
    /// The catalog entry: its id, or an entry of `backups.query`.
    #[param(ty = Any)]
    backup: Json,
    /// Whether the backup was restored and checked.
    passed: bool,
    /// What was checked, or what failed.
    #[param(default = "")]
    detail: String,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Recorded {
    /// The catalog entry's id.
    backup: String,
    /// The verdict recorded.
    passed: bool,
}

impl Run<()> for RecordTest {
    type Outputs = Recorded;

    async fn run(self, ctx: &ActionContext, (): &()) -> Outcome<Recorded> {
        let entry = entry_ref(ctx, &self.backup).await?;
        ctx.record_test(entry.reference(), self.passed, self.detail);
        Ok(Recorded {
            backup: entry.id,
            passed: self.passed,
        })
    }
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
        Err(err) => Err(super::catalog_error(err)),
    }
}
