//! `openstack.image.delete`: an image that is already gone counts as
//! deleted, so compensations and re-runs are idempotent.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, LogLevel, ParamType};

use crate::provider::Provider;

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_cloud(ActionSpec::new(
        "openstack.image.delete",
        "Deletes an image. An image that no longer exists is not an error unless `missing_ok` is false.",
    ))
    .param("image_id", ParamType::String, "The image id.")
    .optional("missing_ok", ParamType::Boolean, Some(json!(true)), "Succeed when the image does not exist.")
    .output("deleted", ParamType::Boolean, "Whether this call deleted it (false: it was already gone).");
    typed(spec, provider.clone(), |provider, ctx, params| {
        Box::pin(delete(provider, ctx, params))
    })
}

#[derive(Deserialize)]
struct Params {
    image_id: String,
    #[serde(default = "super::yes")]
    missing_ok: bool,
}

async fn delete(
    provider: &Provider,
    ctx: &ActionContext,
    params: Params,
) -> Result<Json, ActionError> {
    let session = provider.session(ctx)?;
    let id = params.image_id.as_str();
    let deleted = crate::glance::delete(&session, id).await?;
    if !deleted {
        if !params.missing_ok {
            return Err(ActionError::fatal(format!(
                "delete image {id}: 404 not found"
            )));
        }
        ctx.log(LogLevel::Info, format!("image {id} was already gone"));
    }
    Ok(json!({ "deleted": deleted }))
}
