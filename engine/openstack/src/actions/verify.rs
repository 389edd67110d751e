//! `openstack.image.verify`: Glance holds exactly the data that was streamed.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value as Json;
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError, LogLevel};

use crate::provider::Provider;

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_summary(
        super::with_cloud(ActionSpec::new(
            "openstack.image.verify",
            "Checks that an image is active and that Glance's os_hash_algo/os_hash_value (SHA-512) and size equal what was streamed.",
        ))
        .param("image_id", ParamType::String, "The image id.")
        .param("sha512", ParamType::String, "The expected SHA-512 (hex), e.g. an upload's or download's output.")
        .optional("size", ParamType::Integer, None, "The expected size in bytes.")
        .optional("md5", ParamType::String, None, "The expected MD5 (compared with Glance's `checksum`)."),
    );
    (
        spec,
        Arc::new(Verify {
            provider: provider.clone(),
        }),
    )
}

#[derive(Debug)]
struct Verify {
    provider: Provider,
}

#[async_trait]
impl Action for Verify {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let session = self.provider.session(ctx)?;
        let id = ctx.str_param("image_id")?;
        let want = ctx.str_param("sha512")?.to_ascii_lowercase();
        let image = crate::glance::get(&session, id).await?;
        let text = |name: &str| image.get(name).and_then(Json::as_str);
        let status = text("status").unwrap_or("unknown");
        if status != "active" {
            return Err(ActionError::Fatal(format!(
                "image {id} is {status}, not active"
            )));
        }
        match (text("os_hash_algo"), text("os_hash_value")) {
            (Some("sha512"), Some(value)) if value.eq_ignore_ascii_case(&want) => {}
            (Some("sha512"), Some(value)) => {
                return Err(ActionError::Fatal(format!(
                    "image {id}: sha512 mismatch: Glance has {value}, expected {want}"
                )));
            }
            (algo, _) => {
                return Err(ActionError::Fatal(format!(
                    "image {id}: Glance's hash is {}, not sha512: cannot verify",
                    algo.unwrap_or("missing")
                )));
            }
        }
        let size = image.get("size").and_then(Json::as_u64);
        if let Some(expected) = ctx.params.get("size").and_then(Json::as_u64)
            && size != Some(expected)
        {
            return Err(ActionError::Fatal(format!(
                "image {id}: size mismatch: Glance has {}, expected {expected}",
                size.map_or_else(|| "none".to_owned(), |s| s.to_string())
            )));
        }
        if let Some(md5) = ctx.params.get("md5").and_then(Json::as_str)
            && !text("checksum").is_some_and(|c| c.eq_ignore_ascii_case(md5))
        {
            return Err(ActionError::Fatal(format!(
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
