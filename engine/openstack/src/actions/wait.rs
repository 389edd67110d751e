//! `openstack.image.wait`: until the image is active.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value as Json;
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError};

use crate::provider::Provider;

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_summary(super::with_wait_params(
        super::with_cloud(ActionSpec::new(
            "openstack.image.wait",
            "Waits until an image is active; killed, deleted or deactivated fail the step.",
        ))
        .param("image_id", ParamType::String, "The image id."),
    ));
    (
        spec,
        Arc::new(Wait {
            provider: provider.clone(),
        }),
    )
}

#[derive(Debug)]
struct Wait {
    provider: Provider,
}

#[async_trait]
impl Action for Wait {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let session = self.provider.session(ctx)?;
        let options = super::wait_options(ctx)?;
        let image =
            crate::glance::wait_active(&session, ctx, ctx.str_param("image_id")?, options).await?;
        Ok(crate::glance::summary(&image))
    }
}
