//! `openstack.server.create_image`: Nova `createImage` (a snapshot of the
//! server into Glance), then waiting for the image to become active. The
//! image carries the idempotency key in its metadata, so a re-run adopts it
//! instead of snapshotting the server twice.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, LogLevel, ParamType};

use crate::glance::KEY_PROPERTY;
use crate::provider::Provider;

pub(super) fn action(provider: &Provider) -> (ActionSpec, Arc<dyn Action>) {
    let spec = super::with_summary(super::with_wait_params(
        super::with_cloud(ActionSpec::new(
            "openstack.server.create_image",
            "Snapshots a server with Nova createImage (POST /servers/{id}/action) and waits until the image is active. A re-run adopts the image made by a previous try.",
        ))
        .param("server_id", ParamType::String, "The server (instance) id.")
        .param("name", ParamType::String, "The image name.")
        .optional("metadata", ParamType::Object, None, "Image properties to set (values stored as strings).")
        .optional(
            "quiesce",
            ParamType::Boolean,
            Some(json!(false)),
            "Record `hw_qemu_guest_agent=yes` and `os_require_quiesce=yes` in the image: Nova freezes the guest's filesystems for snapshots of servers whose image has them.",
        )
        .optional("microversion", ParamType::String, None, "Compute API microversion to ask for (e.g. 2.45).")
        .optional("wait", ParamType::Boolean, Some(json!(true)), "Wait until the image is active."),
    ))
    .output("image_id", ParamType::String, "The new image's id.")
    .output("adopted", ParamType::Boolean, "Whether an image from a previous try was adopted.");
    typed(spec, provider.clone(), |provider, ctx, params| {
        Box::pin(create_image(provider, ctx, params))
    })
}

#[derive(Deserialize)]
struct Params {
    server_id: String,
    name: String,
    #[serde(default)]
    metadata: Map<String, Json>,
    #[serde(default)]
    quiesce: bool,
    #[serde(default)]
    microversion: Option<String>,
    #[serde(default = "super::yes")]
    wait: bool,
}

async fn create_image(
    provider: &Provider,
    ctx: &ActionContext,
    params: Params,
) -> Result<Json, ActionError> {
    let session = provider.session(ctx)?;
    let (server, name) = (params.server_id.as_str(), params.name.as_str());
    let options = super::wait_options(ctx)?;
    let (id, adopted) = match crate::glance::find_by_key(&session, &ctx.idempotency_key).await? {
        Some(image) => {
            let id = image
                .get("id")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned();
            ctx.log(
                LogLevel::Info,
                format!("adopting image {id} of server {server} from a previous try"),
            );
            (id, true)
        }
        None => {
            let mut metadata = Map::new();
            for (key, value) in &params.metadata {
                metadata.insert(key.clone(), super::property_value(value));
            }
            if params.quiesce {
                metadata.insert("hw_qemu_guest_agent".to_owned(), json!("yes"));
                metadata.insert("os_require_quiesce".to_owned(), json!("yes"));
            }
            metadata.insert(KEY_PROPERTY.to_owned(), json!(ctx.idempotency_key));
            let microversion = params.microversion.as_deref();
            let id =
                crate::nova::create_image(&session, server, name, &metadata, microversion).await?;
            ctx.log(
                LogLevel::Info,
                format!("server {server}: createImage accepted, image {id}"),
            );
            (id, false)
        }
    };
    let image = if !params.wait {
        crate::glance::get(&session, &id).await?
    } else {
        crate::glance::wait_active(&session, ctx, &id, options).await?
    };
    let mut out = crate::glance::summary(&image);
    out["image_id"] = json!(id);
    out["adopted"] = json!(adopted);
    Ok(out)
}
