//! `openstack.image.verify`: Glance holds exactly the data that was streamed.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value as Json;
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, LogLevel, ParamType};

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
    typed(spec, provider.clone(), |provider, ctx, params| {
        Box::pin(verify(provider, ctx, params))
    })
}

#[derive(Deserialize)]
struct Params {
    image_id: String,
    sha512: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    md5: Option<String>,
}

async fn verify(
    provider: &Provider,
    ctx: &ActionContext,
    params: Params,
) -> Result<Json, ActionError> {
    let session = provider.session(ctx)?;
    let id = params.image_id.as_str();
    let want = params.sha512.to_ascii_lowercase();
    let image = crate::glance::get(&session, id).await?;
    let text = |name: &str| image.get(name).and_then(Json::as_str);
    let status = text("status").unwrap_or("unknown");
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
    if let Some(expected) = params.size
        && size != Some(expected)
    {
        return Err(ActionError::fatal(format!(
            "image {id}: size mismatch: Glance has {}, expected {expected}",
            size.map_or_else(|| "none".to_owned(), |s| s.to_string())
        )));
    }
    if let Some(md5) = params.md5.as_deref()
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
