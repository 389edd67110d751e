//! `openstack.image.create`: a new image record (no data yet), adopted
//! instead of created again when a previous try of the step made it.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError, LogLevel};

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

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_cloud(ActionSpec::new(
        "openstack.image.create",
        "Creates a Glance image record (status queued). The image carries the step's idempotency key as the property `shutter_idempotency_key`; a re-run adopts the image it finds with it.",
    ))
    .param("name", ParamType::String, "The image name.")
    .optional("disk_format", ParamType::String, Some(json!("raw")), "raw, qcow2, vmdk, vdi, vhd, vhdx, iso, ...")
    .optional("container_format", ParamType::String, Some(json!("bare")), "bare, ova, ovf, docker, ...")
    .optional("visibility", ParamType::String, None, "private, shared, community or public (Glance's default: shared).")
    .optional("properties", ParamType::Object, None, "Custom properties (values are stored as strings).")
    .optional("tags", ParamType::Array, None, "Image tags.")
    .output("id", ParamType::String, "The image id.")
    .output("status", ParamType::String, "The image status (queued when new).")
    .output("adopted", ParamType::Boolean, "Whether an image from a previous try was adopted.");
    (
        spec,
        Arc::new(Create {
            provider: provider.clone(),
        }),
    )
}

#[derive(Debug)]
struct Create {
    provider: Provider,
}

#[async_trait]
impl Action for Create {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let session = self.provider.session(ctx)?;
        let name = ctx.str_param("name")?;
        if let Some(image) = crate::glance::find_by_key(&session, &ctx.idempotency_key).await? {
            let id = image.get("id").and_then(Json::as_str).unwrap_or_default();
            ctx.log(
                LogLevel::Info,
                format!("adopting image {id} created by a previous try"),
            );
            return Ok(json!({ "id": id, "status": image["status"], "adopted": true }));
        }
        let mut body = json!({
            "name": name,
            "disk_format": ctx.params.get("disk_format").and_then(Json::as_str).unwrap_or("raw"),
            "container_format": ctx.params.get("container_format").and_then(Json::as_str).unwrap_or("bare"),
        });
        if let Some(visibility) = ctx.params.get("visibility").and_then(Json::as_str) {
            body["visibility"] = json!(visibility);
        }
        if let Some(tags) = ctx.params.get("tags").filter(|t| t.is_array()) {
            body["tags"] = tags.clone();
        }
        if let Some(properties) = ctx.params.get("properties").and_then(Json::as_object) {
            for (key, value) in properties {
                if FIELDS.contains(&key.as_str()) || key == KEY_PROPERTY {
                    return Err(ActionError::Fatal(format!(
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
        Ok(json!({ "id": id, "status": image["status"], "adopted": false }))
    }
}
