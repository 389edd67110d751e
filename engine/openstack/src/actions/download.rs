//! `openstack.image.download`: an active image's data into a local file,
//! streamed and checked against Glance's size and hashes.

use std::sync::Arc;

use serde_json::{Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, ParamType};

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
    typed(spec, provider.clone(), |provider, ctx, params| {
        Box::pin(download(provider, ctx, params))
    })
}

#[derive(Debug, serde::Deserialize)]
struct DownloadParams {
    image_id: String,
    path: String,
}

async fn download(
    provider: &Provider,
    ctx: &ActionContext,
    params: DownloadParams,
) -> Result<Json, ActionError> {
    let session = provider.session(ctx)?;
    let DownloadParams { image_id, path } = params;
    let path = ctx
        .files
        .resolve(&path, shutter_core::files::Use::Write)
        .map_err(|e| ActionError::fatal(format!("path: {e}")))?;
    let digests = crate::glance::download(&session, ctx, &image_id, &path).await?;
    Ok(json!({
        "path": path.display().to_string(),
        "sha512": digests.sha512,
        "md5": digests.md5,
        "size": digests.size,
    }))
}
