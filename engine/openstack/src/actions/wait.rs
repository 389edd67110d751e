//! `openstack.image.wait`: until the image is active.

use crate::glance::Summary;
use crate::provider::Provider;
use serde::Deserialize;
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, action_params};

/// Waits until an image is active; killed, deleted or deactivated fail the
/// step.
#[action_params("openstack.image.wait", read_only)]
#[derive(Deserialize)]
pub(super) struct WaitImage {
    /// The image id.
    image_id: String,
}

impl Run<Provider> for WaitImage {
    type Outputs = Summary;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Summary> {
        let session = provider.session(ctx)?;
        let options = super::wait_options(ctx)?;
        let image = crate::glance::wait_active(&session, ctx, &self.image_id, options).await?;
        Ok(crate::glance::summary(&image))
    }
}
