//! `openstack.image.wait`: until the image is active.

use std::sync::Arc;

use serde_json::Value as Json;
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, ParamType};

use crate::provider::Provider;

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_summary(super::with_wait_params(
        super::with_cloud(ActionSpec::new(
            "openstack.image.wait",
            "Waits until an image is active; killed, deleted or deactivated fail the step.",
        ))
        .param("image_id", ParamType::String, "The image id."),
    ));
    typed(spec, provider.clone(), |provider, ctx, params| {
        Box::pin(wait(provider, ctx, params))
    })
}

async fn wait(
    provider: &Provider,
    ctx: &ActionContext,
    params: super::ImageParam,
) -> Result<Json, ActionError> {
    let session = provider.session(ctx)?;
    let options = super::wait_options(ctx)?;
    let image = crate::glance::wait_active(&session, ctx, &params.image_id, options).await?;
    Ok(crate::glance::summary(&image))
}
