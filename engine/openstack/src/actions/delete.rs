//! `openstack.image.delete`: an image that is already gone counts as
//! deleted, so compensations and re-runs are idempotent.

use serde::{Deserialize, Serialize};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError, LogLevel};
use shutter_core::{action_outputs, action_params};

use crate::provider::Provider;

/// Deletes an image. An image that no longer exists is not an error unless
/// `missing_ok` is false. With `location_key`, only in that place.
#[action_params("openstack.image.delete")]
#[derive(Deserialize)]
pub(super) struct DeleteImage {
    /// The image id.
    image_id: String,
    /// Succeed when the image does not exist.
    #[param(default = true)]
    missing_ok: bool,
    /// Where the image must be: a backup catalog entry's `location_key`
    /// (what `backups.delete` passes). When `cloud` is elsewhere, nothing
    /// is deleted and the step fails.
    location_key: Option<String>,
}

#[action_outputs]
#[derive(Serialize)]
pub(super) struct Deleted {
    /// Whether this call deleted it (false: it was already gone).
    deleted: bool,
}

impl Run<Provider> for DeleteImage {
    type Outputs = Deleted;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Deleted> {
        let session = provider.session(ctx)?;
        let id = self.image_id.as_str();
        let place = crate::catalog::location(&session).await?;
        if let Some(wanted) = &self.location_key
            && *wanted != place.key()
        {
            // Another project or cloud may hold an image of that id (or
            // will, when ids are reused): never delete it in the wrong one.
            return Err(ActionError::fatal(format!(
                "image {id} is cataloged at {wanted}, but cloud `{}` is {}: nothing deleted",
                session.cloud.name,
                place.key()
            )));
        }
        let deleted = crate::glance::delete(&session, id).await?;
        if !deleted {
            if !self.missing_ok {
                return Err(ActionError::fatal(format!(
                    "delete image {id}: 404 not found"
                )));
            }
            ctx.log(LogLevel::Info, format!("image {id} was already gone"));
        }
        // Gone either way: deleted now, or before by someone else.
        let entry = shutter_core::BackupRef {
            location: place.key(),
            native_id: id.to_owned(),
        };
        ctx.mark_backup(entry, shutter_core::BackupState::Deleted);
        Ok(Deleted { deleted })
    }
}
