//! `openstack.image.list`: images matching filters, every page.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, ParamType};

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
    typed(spec, provider.clone(), |provider, ctx, params| {
        Box::pin(list(provider, ctx, params))
    })
}

#[derive(Deserialize)]
struct Params {
    #[serde(default)]
    filters: Map<String, Json>,
    #[serde(default = "a_hundred")]
    page_size: u64,
    #[serde(default)]
    max: Option<u64>,
}

fn a_hundred() -> u64 {
    100
}

async fn list(
    provider: &Provider,
    ctx: &ActionContext,
    params: Params,
) -> Result<Json, ActionError> {
    let session = provider.session(ctx)?;
    let max = params.max.map(|m| usize::try_from(m).unwrap_or(usize::MAX));
    let images =
        crate::glance::list(&session, &params.filters, params.page_size.max(1), max).await?;
    Ok(json!({ "count": images.len(), "images": images }))
}
