//! `openstack.image.verify`: Glance holds exactly the data that was streamed.

use serde::Deserialize;
use serde_json::Value as Json;
use shutter_core::action::{Outcome, Run};
use shutter_core::action_params;
use shutter_core::{ActionContext, ActionError, LogLevel};

use crate::glance::Summary;
use crate::provider::Provider;

/// Checks that an image is active and that Glance's `os_hash_algo`/`os_hash_value`
/// (SHA-512) and size equal what was streamed.
#[action_params("openstack.image.verify", read_only)]
#[derive(Deserialize)]
pub(super) struct VerifyImage {
    /// The image id.
    image_id: String,
    /// The expected SHA-512 (hex), e.g. an upload's or download's output.
    sha512: String,
    /// The expected size in bytes.
    size: Option<u64>,
    /// The expected MD5 (compared with Glance's `checksum`).
    md5: Option<String>,
}

impl Run<Provider> for VerifyImage {
    type Outputs = Summary;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Summary> {
        let session = provider.session(ctx)?;
        let id = self.image_id.as_str();
        let want = self.sha512.to_ascii_lowercase();
        let image = crate::glance::get(&session, id).await?;
        let text = |name: &str| image.get(name).and_then(Json::as_str);
        let status = crate::glance::status(&image);
        if status != "active" {
            return Err(ActionError::fatal(format!(
                "image {id} is {status}, not active"
            )));
        }
        match (text("os_hash_algo"), text("os_hash_value")) {
            (Some("sha512"), Some(value)) if value.eq_ignore_ascii_case(&want) => {}
            (Some("sha512"), Some(value)) => {
                return Err(ActionError::fatal(format!(
                    "image {id}: sha512 mismatch: Glance has {value}, expected {want}"
                )));
            }
            (algo, _) => {
                return Err(ActionError::fatal(format!(
                    "image {id}: Glance's hash is {}, not sha512: cannot verify",
                    algo.unwrap_or("missing")
                )));
            }
        }
        let size = image.get("size").and_then(Json::as_u64);
        if let Some(expected) = self.size
            && size != Some(expected)
        {
            return Err(ActionError::fatal(format!(
                "image {id}: size mismatch: Glance has {}, expected {expected}",
                size.map_or_else(|| "none".to_owned(), |s| s.to_string())
            )));
        }
        if let Some(md5) = self.md5.as_deref()
            && !text("checksum").is_some_and(|c| c.eq_ignore_ascii_case(md5))
        {
            return Err(ActionError::fatal(format!(
                "image {id}: md5 mismatch: Glance has {}, expected {md5}",
                text("checksum").unwrap_or("none")
            )));
        }
        ctx.log(
            LogLevel::Info,
            format!("image {id} verified: sha512 and size match"),
        );
        Ok(crate::glance::summary(&image))
    }
}
