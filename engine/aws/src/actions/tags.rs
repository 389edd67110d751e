//! `aws.ec2.create_tags`: adds or overwrites tags on snapshots, images,
//! volumes or instances. Setting the same tags again changes nothing, so
//! it is idempotent as it is.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError};
use shutter_core::{action_outputs, action_params};

use crate::failure::aws_error;
use crate::settings::Clients;
use crate::{IDEMPOTENCY_TAG, output, params};

/// Adds or overwrites tags on EC2 resources (CreateTags): snapshots, images,
/// volumes, instances.
#[action_params("aws.ec2.create_tags")]
#[derive(Debug, Deserialize)]
pub(super) struct CreateTags {
    /// The resources (a single id is accepted too).
    #[param(required)]
    #[serde(default, deserialize_with = "shutter_core::params::one_or_many")]
    resource_ids: Vec<String>,
    /// The tags: a map of key to value.
    #[param(required)]
    #[serde(default)]
    tags: params::Tags,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Tagged {
    /// The resources tagged.
    resource_ids: Vec<String>,
    /// The tags set.
    tags: serde_json::Map<String, Json>,
    /// The region.
    region: String,
}

impl Run<Arc<Clients>> for CreateTags {
    type Outputs = Tagged;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<Tagged> {
        let CreateTags {
            resource_ids: ids,
            tags: params::Tags(tags),
        } = self;
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
        Ok(Tagged {
            resource_ids: ids,
            tags: output::tags(&tags),
            region: ec2.region.clone(),
        })
    }
}
