//! `openstack.image.get`: one image's record.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value as Json;
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError};

use crate::provider::Provider;

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_summary(
        super::with_cloud(ActionSpec::new(
            "openstack.image.get",
            "Reads one Glance image.",
        ))
        .param("image_id", ParamType::String, "The image id."),
    );
    (
        spec,
        Arc::new(Get {
            provider: provider.clone(),
        }),
    )
}

#[derive(Debug)]
struct Get {
    provider: Provider,
}

#[async_trait]
impl Action for Get {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let session = self.provider.session(ctx)?;
        let image = crate::glance::get(&session, ctx.str_param("image_id")?).await?;
        Ok(crate::glance::summary(&image))
    }
}
