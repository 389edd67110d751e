//! `openstack.image.download`: an active image's data into a local file,
//! streamed and checked against Glance's size and hashes.

use serde::{Deserialize, Serialize};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError};
use shutter_core::{action_outputs, action_params};

use crate::digest::Digests;
use crate::provider::Provider;

/// Streams an active image's data to a file (written as PATH.part, renamed when
/// complete) and checks it against Glance's size, `os_hash_value` (SHA-512) and
/// checksum (MD5).
#[action_params("openstack.image.download")]
#[derive(Debug, Deserialize)]
pub(super) struct DownloadImage {
    /// The image (status active).
    image_id: String,
    /// Where to write the data (relative paths from the workflow file's
    /// directory; a served workflow writes only inside `--files`).
    path: String,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Downloaded {
    /// The file written.
    path: String,
    #[serde(flatten)]
    digests: Digests,
}

impl Run<Provider> for DownloadImage {
    type Outputs = Downloaded;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Downloaded> {
        let session = provider.session(ctx)?;
        let DownloadImage { image_id, path } = self;
        let path = ctx
            .files
            .resolve(&path, shutter_core::files::Use::Write)
            .map_err(|e| ActionError::fatal(format!("path: {e}")))?;
        let digests = crate::glance::download(&session, ctx, &image_id, &path).await?;
        Ok(Downloaded {
            path: path.display().to_string(),
            digests,
        })
    }
}
