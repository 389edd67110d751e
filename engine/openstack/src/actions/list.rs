//! `openstack.image.list`: images matching filters, every page.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use shutter_core::ActionContext;
use shutter_core::action::{Outcome, Run};
use shutter_core::{action_outputs, action_params};

use crate::provider::Provider;

/// Lists Glance images matching filters, following `next` across pages.
#[action_params("openstack.image.list", read_only)]
#[derive(Deserialize)]
pub(super) struct ListImages {
    /// Glance list filters: name, status, visibility, owner, tag, or any
    /// custom property.
    #[serde(default)]
    filters: Map<String, Json>,
    /// Images asked for per page (`limit`).
    #[param(default = 100)]
    page_size: u64,
    /// Stop after this many images.
    max: Option<u64>,
}

#[action_outputs]
#[derive(Serialize)]
pub(super) struct Listed {
    /// The image records, newest first (Glance's default order).
    images: Vec<Json>,
    /// How many images were found.
    count: usize,
}

impl Run<Provider> for ListImages {
    type Outputs = Listed;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Listed> {
        let session = provider.session(ctx)?;
        let max = self.max.map(|m| usize::try_from(m).unwrap_or(usize::MAX));
        let images =
            crate::glance::list(&session, &self.filters, self.page_size.max(1), max).await?;
        Ok(Listed {
            count: images.len(),
            images,
        })
    }
}
