//! `openstack.image.delete`: an image that is already gone counts as
//! deleted, so compensations and re-runs are idempotent.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError, LogLevel};

use crate::provider::Provider;

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_cloud(ActionSpec::new(
        "openstack.image.delete",
        "Deletes an image. An image that no longer exists is not an error unless `missing_ok` is false.",
    ))
    .param("image_id", ParamType::String, "The image id.")
    .optional("missing_ok", ParamType::Boolean, Some(json!(true)), "Succeed when the image does not exist.")
    .output("deleted", ParamType::Boolean, "Whether this call deleted it (false: it was already gone).");
    (
        spec,
        Arc::new(Delete {
            provider: provider.clone(),
        }),
    )
}

#[derive(Debug)]
struct Delete {
    provider: Provider,
}

#[async_trait]
impl Action for Delete {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let session = self.provider.session(ctx)?;
        let id = ctx.str_param("image_id")?;
        let deleted = crate::glance::delete(&session, id).await?;
        if !deleted {
            if ctx.params.get("missing_ok").and_then(Json::as_bool) == Some(false) {
                return Err(ActionError::Fatal(format!(
                    "delete image {id}: 404 not found"
                )));
            }
            ctx.log(LogLevel::Info, format!("image {id} was already gone"));
        }
        Ok(json!({ "deleted": deleted }))
    }
}
