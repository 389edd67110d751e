//! `aws.ec2.create_tags`: adds or overwrites tags on snapshots, images,
//! volumes or instances. Setting the same tags again changes nothing, so
//! it is idempotent as it is.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, ParamType};

use super::located;
use crate::failure::aws_error;
use crate::settings::Clients;
use crate::{IDEMPOTENCY_TAG, output, params};

pub(super) fn create_tags(clients: &Arc<Clients>) -> (ActionSpec, Arc<dyn Action>) {
    let spec = ActionSpec::new(
        "aws.ec2.create_tags",
        "Adds or overwrites tags on EC2 resources (CreateTags): snapshots, images, volumes, instances.",
    )
    .param("resource_ids", ParamType::Array, "The resources (a single id is accepted too).")
    .param("tags", ParamType::Object, "The tags: a map of key to value.");
    let spec = located(spec)
        .output("resource_ids", ParamType::Array, "The resources tagged.")
        .output("tags", ParamType::Object, "The tags set.")
        .output("region", ParamType::String, "The region.");
    typed(spec, clients.clone(), |clients, ctx, params| {
        Box::pin(run_create_tags(clients, ctx, params))
    })
}

#[derive(Debug, Deserialize)]
struct TagParams {
    #[serde(default, deserialize_with = "shutter_core::params::one_or_many")]
    resource_ids: Vec<String>,
    #[serde(default)]
    tags: params::Tags,
}

async fn run_create_tags(
    clients: &Arc<Clients>,
    ctx: &ActionContext,
    params: TagParams,
) -> Result<Json, ActionError> {
    let TagParams {
        resource_ids: ids,
        tags: params::Tags(tags),
    } = params;
    if ids.is_empty() || tags.is_empty() {
        return Err(ActionError::fatal(
            "`resource_ids` and `tags` must each name at least one".to_owned(),
        ));
    }
    // Overwriting the key tag would let another step adopt the resource.
    if tags.iter().any(|tag| tag.key() == Some(IDEMPOTENCY_TAG)) {
        return Err(ActionError::fatal(format!(
            "the tag `{IDEMPOTENCY_TAG}` is Shutter's own and cannot be set"
        )));
    }
    let ec2 = clients.for_step(ctx).await?;
    let on = ids.join(", ");
    ec2.client
        .create_tags()
        .set_resources(Some(ids.clone()))
        .set_tags(Some(tags.clone()))
        .send()
        .await
        .map_err(|err| aws_error("CreateTags", &on, &err))?;
    Ok(json!({ "resource_ids": ids, "tags": output::tags(&tags), "region": ec2.region }))
}
