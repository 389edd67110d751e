//! `openstack.image.upload`: streams data into a queued image, hashing it
//! on the way. A re-run against an image that is already active checks the
//! source against Glance's hash and adopts it instead of failing.

use std::sync::Arc;

use serde_json::{Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, LogLevel, ParamType};

use crate::provider::Provider;
use crate::source::Source;

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_cloud(ActionSpec::new(
        "openstack.image.upload",
        "Streams data into a queued image (PUT /v2/images/{id}/file) from file://, http:// or https:// (e.g. a vSphere datastore URL), computing SHA-512 and MD5 while streaming; memory stays flat.",
    ))
    .param("image_id", ParamType::String, "The image to fill (status queued).")
    .param("source", ParamType::String, "file:///path, a path (relative to the workflow file), or an http(s) URL.")
    .optional("source_user", ParamType::String, None, "User for HTTP basic auth on the source.")
    .optional("source_password_secret", ParamType::String, None, "Name of the granted secret holding the basic-auth password.")
    .optional(
        "source_headers",
        ParamType::Object,
        None,
        "Headers sent to the source: header name -> name of the granted secret holding its value (e.g. Cookie -> vsphere_session).",
    )
    .optional("source_verify_tls", ParamType::Boolean, Some(json!(true)), "Verify the source's TLS certificate.")
    .output("sha512", ParamType::String, "SHA-512 of the data streamed (hex).")
    .output("md5", ParamType::String, "MD5 of the data streamed (hex).")
    .output("size", ParamType::Integer, "Bytes streamed.")
    .output("adopted", ParamType::Boolean, "The image was already active with this data (a previous try uploaded it).");
    typed(spec, provider.clone(), |provider, ctx, params| {
        Box::pin(upload(provider, ctx, params))
    })
}

async fn upload(
    provider: &Provider,
    ctx: &ActionContext,
    params: super::ImageParam,
) -> Result<Json, ActionError> {
    let session = provider.session(ctx)?;
    let id = params.image_id.as_str();
    let source = Source::from_params(ctx)?;
    let image = crate::glance::get(&session, id).await?;
    let status = image
        .get("status")
        .and_then(Json::as_str)
        .unwrap_or("unknown");
    match status {
        "queued" => {}
        "active" => return adopt(&session, ctx, id, &image, &source).await,
        "saving" | "uploading" | "importing" => {
            return Err(ActionError::fatal(format!(
                "image {id} is already receiving data (status {status}): another upload is running or was cut off; delete the image and create it again"
            )));
        }
        other => {
            return Err(ActionError::fatal(format!(
                "image {id} is {other}: it cannot take data"
            )));
        }
    }
    ctx.log(
        LogLevel::Info,
        format!("uploading {} to image {id}", source.describe()),
    );
    let digests = crate::glance::upload(&session, ctx, id, &source).await?;
    Ok(
        json!({ "sha512": digests.sha512, "md5": digests.md5, "size": digests.size, "adopted": false }),
    )
}

/// The image is active: if its data is the source's, a previous try
/// uploaded it and this one succeeds; otherwise uploading is a conflict.
async fn adopt(
    session: &crate::session::Session,
    ctx: &ActionContext,
    id: &str,
    image: &Json,
    source: &Source,
) -> Result<Json, ActionError> {
    ctx.log(
        LogLevel::Info,
        format!(
            "image {id} is already active: comparing it with {}",
            source.describe()
        ),
    );
    let digests = crate::glance::digest_source(session, source).await?;
    let glance_sha512 = image
        .get("os_hash_value")
        .and_then(Json::as_str)
        .filter(|_| image.get("os_hash_algo").and_then(Json::as_str) == Some("sha512"));
    let glance_md5 = image.get("checksum").and_then(Json::as_str);
    let same = match (glance_sha512, glance_md5) {
        (Some(sha512), _) => sha512.eq_ignore_ascii_case(&digests.sha512),
        (None, Some(md5)) => md5.eq_ignore_ascii_case(&digests.md5),
        (None, None) => false,
    };
    if !same {
        return Err(ActionError::fatal(format!(
            "409 conflict: image {id} is already active with other data than {}: Glance image data cannot be replaced; create a new image",
            source.describe()
        )));
    }
    Ok(
        json!({ "sha512": digests.sha512, "md5": digests.md5, "size": digests.size, "adopted": true }),
    )
}
