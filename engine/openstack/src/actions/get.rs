//! `openstack.image.get`: one image's record.

use serde::Deserialize;
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, action_params};

use crate::glance::Summary;
use crate::provider::Provider;

/// Reads one Glance image.
#[action_params("openstack.image.get", read_only)]
#[derive(Deserialize)]
pub(super) struct GetImage {
    /// The image id.
    image_id: String,
}

impl Run<Provider> for GetImage {
    type Outputs = Summary;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Summary> {
        let session = provider.session(ctx)?;
        let image = crate::glance::get(&session, &self.image_id).await?;
        Ok(crate::glance::summary(&image))
    }
}
