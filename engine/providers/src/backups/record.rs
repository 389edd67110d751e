//! `backups.record_test`: a restore test's verdict, on the catalog entry.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shutter_core::ActionContext;
use shutter_core::action::{Outcome, Run};
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
        let entry = super::entry_ref(ctx, &self.backup).await?;
        ctx.record_test(entry.reference(), self.passed, self.detail);
        Ok(Recorded {
            backup: entry.id,
            passed: self.passed,
        })
    }
}
