//! `openstack.image.create`: a new image record (no data yet), adopted
//! instead of created again when a previous try of the step made it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError, LogLevel};
use shutter_core::{action_outputs, action_params};

use crate::glance::KEY_PROPERTY;
use crate::provider::Provider;

/// Keys of the create body that are not custom properties.
const FIELDS: &[&str] = &[
    "name",
    "disk_format",
    "container_format",
    "visibility",
    "tags",
    "min_disk",
    "min_ram",
    "protected",
];

/// Creates a Glance image record (status queued). The image carries the step's
/// idempotency key as the property `shutter_idempotency_key`; a re-run adopts
/// the image it finds with it.
#[action_params("openstack.image.create")]
#[derive(Deserialize)]
pub(super) struct CreateImage {
    /// The image name.
    name: String,
    /// raw, qcow2, vmdk, vdi, vhd, vhdx, iso, ...
    #[param(default = "raw")]
    disk_format: String,
    /// bare, ova, ovf, docker, ...
    #[param(default = "bare")]
    container_format: String,
    /// private, shared, community or public (Glance's default: shared).
    visibility: Option<String>,
    /// Custom properties (values are stored as strings).
    properties: Option<Map<String, Json>>,
    /// Image tags.
    tags: Option<Vec<String>>,
}

#[action_outputs]
#[derive(Serialize)]
pub(super) struct Created {
    /// The image id.
    id: String,
    /// The image status (queued when new).
    #[output(ty = String)]
    status: Json,
    /// Whether an image from a previous try was adopted.
    adopted: bool,
}

impl Run<Provider> for CreateImage {
    type Outputs = Created;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Created> {
        let session = provider.session(ctx)?;
        let name = self.name.as_str();
        if let Some(image) = crate::glance::find_by_key(&session, &ctx.idempotency_key).await? {
            let id = image.get("id").and_then(Json::as_str).unwrap_or_default();
            ctx.log(
                LogLevel::Info,
                format!("adopting image {id} created by a previous try"),
            );
            return Ok(Created {
                id: id.to_owned(),
                status: image["status"].clone(),
                adopted: true,
            });
        }
        let mut body = json!({
            "name": name,
            "disk_format": self.disk_format,
            "container_format": self.container_format,
        });
        if let Some(visibility) = &self.visibility {
            body["visibility"] = json!(visibility);
        }
        if let Some(tags) = &self.tags {
            body["tags"] = json!(tags);
        }
        if let Some(properties) = &self.properties {
            for (key, value) in properties {
                if FIELDS.contains(&key.as_str()) || key == KEY_PROPERTY {
                    return Err(ActionError::fatal(format!(
                        "property `{key}` is reserved: use the parameter of that name"
                    )));
                }
                body[key] = super::property_value(value);
            }
        }
        body[KEY_PROPERTY] = json!(ctx.idempotency_key);
        let image = crate::glance::create(&session, &body).await?;
        let id = image.get("id").and_then(Json::as_str).unwrap_or_default();
        ctx.log(LogLevel::Info, format!("created image {id} ({name})"));
        Ok(Created {
            id: id.to_owned(),
            status: image["status"].clone(),
            adopted: false,
        })
    }
}
