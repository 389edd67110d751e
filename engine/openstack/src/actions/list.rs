//! `openstack.image.list`: images matching filters, every page.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError};

use crate::provider::Provider;

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_cloud(ActionSpec::new(
        "openstack.image.list",
        "Lists Glance images matching filters, following `next` across pages.",
    ))
    .optional(
        "filters",
        ParamType::Object,
        None,
        "Glance list filters: name, status, visibility, owner, tag, or any custom property.",
    )
    .optional(
        "page_size",
        ParamType::Integer,
        Some(json!(100)),
        "Images asked for per page (`limit`).",
    )
    .optional(
        "max",
        ParamType::Integer,
        None,
        "Stop after this many images.",
    )
    .output(
        "images",
        ParamType::Array,
        "The image records, newest first (Glance's default order).",
    )
    .output("count", ParamType::Integer, "How many images were found.");
    (
        spec,
        Arc::new(List {
            provider: provider.clone(),
        }),
    )
}

#[derive(Debug)]
struct List {
    provider: Provider,
}

#[async_trait]
impl Action for List {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let session = self.provider.session(ctx)?;
        let filters = match ctx.params.get("filters") {
            None | Some(Json::Null) => Map::new(),
            Some(Json::Object(map)) => map.clone(),
            Some(_) => {
                return Err(ActionError::Fatal(
                    "parameter `filters` must be an object".to_owned(),
                ));
            }
        };
        let page_size = ctx
            .params
            .get("page_size")
            .and_then(Json::as_u64)
            .unwrap_or(100)
            .max(1);
        let max = ctx
            .params
            .get("max")
            .and_then(Json::as_u64)
            .map(|m| usize::try_from(m).unwrap_or(usize::MAX));
        let images = crate::glance::list(&session, &filters, page_size, max).await?;
        Ok(json!({ "count": images.len(), "images": images }))
    }
}
