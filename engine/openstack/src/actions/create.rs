//! `openstack.image.create`: a new image record (no data yet), adopted
//! instead of created again when a previous try of the step made it.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, LogLevel, ParamType};

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
    typed(spec, provider.clone(), |provider, ctx, params| {
        Box::pin(create(provider, ctx, params))
    })
}

#[derive(Deserialize)]
struct Params {
    name: String,
    #[serde(default = "raw")]
    disk_format: String,
    #[serde(default = "bare")]
    container_format: String,
    #[serde(default)]
    visibility: Option<String>,
    #[serde(default)]
    properties: Option<Map<String, Json>>,
    #[serde(default)]
    tags: Option<Vec<String>>,
}

fn raw() -> String {
    "raw".to_owned()
}

fn bare() -> String {
    "bare".to_owned()
}

async fn create(
    provider: &Provider,
    ctx: &ActionContext,
    params: Params,
) -> Result<Json, ActionError> {
    let session = provider.session(ctx)?;
    let name = params.name.as_str();
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
        "disk_format": params.disk_format,
        "container_format": params.container_format,
    });
    if let Some(visibility) = &params.visibility {
        body["visibility"] = json!(visibility);
    }
    if let Some(tags) = &params.tags {
        body["tags"] = json!(tags);
    }
    if let Some(properties) = &params.properties {
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
    Ok(json!({ "id": id, "status": image["status"], "adopted": false }))
}
