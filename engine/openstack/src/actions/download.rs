//! `openstack.image.download`: an active image's data into a local file,
//! streamed and checked against Glance's size and hashes.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError};

use crate::provider::Provider;

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_cloud(ActionSpec::new(
        "openstack.image.download",
        "Streams an active image's data to a file (written as PATH.part, renamed when complete) and checks it against Glance's size, os_hash_value (SHA-512) and checksum (MD5).",
    ))
    .param("image_id", ParamType::String, "The image (status active).")
    .param("path", ParamType::String, "Where to write the data (relative paths from the workflow file's directory; a served workflow writes only inside `--files`).")
    .output("path", ParamType::String, "The file written.")
    .output("sha512", ParamType::String, "SHA-512 of the data (hex).")
    .output("md5", ParamType::String, "MD5 of the data (hex).")
    .output("size", ParamType::Integer, "Bytes written.");
    (
        spec,
        Arc::new(Download {
            provider: provider.clone(),
        }),
    )
}

#[derive(Debug)]
struct Download {
    provider: Provider,
}

#[async_trait]
impl Action for Download {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let session = self.provider.session(ctx)?;
        let id = ctx.str_param("image_id")?;
        let path = ctx
            .files
            .resolve(ctx.str_param("path")?, shutter_runtime::files::Use::Write)
            .map_err(|e| ActionError::Fatal(format!("path: {e}")))?;
        let digests = crate::glance::download(&session, ctx, id, &path).await?;
        Ok(json!({
            "path": path.display().to_string(),
            "sha512": digests.sha512,
            "md5": digests.md5,
            "size": digests.size,
        }))
    }
}
