//! `openstack.image.upload`: streams data into a queued image, hashing it
//! on the way. A re-run against an image that is already active checks the
//! source against Glance's hash and adopts it instead of failing.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError, LogLevel};
use shutter_core::{action_outputs, action_params};

use crate::digest::Digests;
use crate::provider::Provider;
use crate::source::Source;

#[action_outputs]
#[derive(Serialize)]
pub(super) struct Uploaded {
    #[serde(flatten)]
    digests: Digests,
    /// The image was already active with this data (a previous try
    /// uploaded it).
    adopted: bool,
}

/// Streams data into a queued image (PUT /v2/images/{id}/file) from file://,
/// http:// or https:// (e.g. a vSphere datastore URL), computing SHA-512 and
/// MD5 while streaming; memory stays flat.
#[action_params("openstack.image.upload")]
#[derive(Deserialize)]
pub(super) struct UploadImage {
    /// The image to fill (status queued).
    image_id: String,
    /// What the data is a copy of: the `backup` output of the step that
    /// made it (`vsphere.snapshot.create`). The image's backup catalog
    /// entry then names it as its original, and the original's source as
    /// its own.
    #[param(ty = Object)]
    made_from: Option<Json>,
}

impl Run<Provider> for UploadImage {
    type Outputs = Uploaded;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Uploaded> {
        let session = provider.session(ctx)?;
        let id = self.image_id.as_str();
        let source = Source::from_params(ctx)?;
        let original = crate::catalog::original(self.made_from.as_ref())?;
        let image = crate::glance::get(&session, id).await?;
        let status = crate::glance::status(&image);
        match status {
            "queued" => {}
            "active" => {
                let uploaded = adopt(&session, ctx, id, &image, &source).await?;
                record(&session, ctx, &image, original.as_ref(), &uploaded).await;
                return Ok(uploaded);
            }
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
        let uploaded = Uploaded {
            digests,
            adopted: false,
        };
        record(&session, ctx, &image, original.as_ref(), &uploaded).await;
        Ok(uploaded)
    }
}

/// Puts the image, now holding its data, in the backup catalog. The data
/// is in Glance whatever happens here, so a failure to place the image
/// is said in the log, never the step's failure.
async fn record(
    session: &crate::session::Session,
    ctx: &ActionContext,
    image: &Json,
    original: Option<&shutter_core::NewBackup>,
    uploaded: &Uploaded,
) {
    let id = image.get("id").and_then(Json::as_str).unwrap_or_default();
    let location = match crate::catalog::location(session).await {
        Ok(location) => location,
        Err(err) => {
            ctx.log(
                LogLevel::Warn,
                format!("image {id} is not in the backup catalog: {}", err.report()),
            );
            return;
        }
    };
    let mut entry = crate::catalog::image(location, id, Some(image), None);
    entry.size_bytes = Some(uploaded.digests.size);
    if let Some(original) = original {
        crate::catalog::link(&mut entry, original);
    }
    ctx.record_backup(entry);
}

/// The image is active: if its data is the source's, a previous try
/// uploaded it and this one succeeds; otherwise uploading is a conflict.
async fn adopt(
    session: &crate::session::Session,
    ctx: &ActionContext,
    id: &str,
    image: &Json,
    source: &Source,
) -> Result<Uploaded, ActionError> {
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
    Ok(Uploaded {
        digests,
        adopted: true,
    })
}
