//! `openstack.image.get`: one image's record.

use std::sync::Arc;

use serde_json::Value as Json;
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, ParamType};

use crate::provider::Provider;

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_summary(
        super::with_cloud(ActionSpec::new(
            "openstack.image.get",
            "Reads one Glance image.",
        ))
        .param("image_id", ParamType::String, "The image id."),
    );
    typed(spec, provider.clone(), |provider, ctx, params| {
        Box::pin(get(provider, ctx, params))
    })
}

async fn get(
    provider: &Provider,
    ctx: &ActionContext,
    params: super::ImageParam,
) -> Result<Json, ActionError> {
    let session = provider.session(ctx)?;
    let image = crate::glance::get(&session, &params.image_id).await?;
    Ok(crate::glance::summary(&image))
}
