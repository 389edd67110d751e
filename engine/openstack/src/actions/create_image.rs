//! `openstack.server.create_image`: Nova `createImage` (a snapshot of the
//! server into Glance), then waiting for the image to become active. The
//! image carries the idempotency key in its metadata, so a re-run adopts it
//! instead of snapshotting the server twice.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, BackupSource, LogLevel};
use shutter_core::{action_outputs, action_params};

use crate::glance::{KEY_PROPERTY, Summary};
use crate::provider::Provider;

/// Snapshots a server with Nova createImage (POST /servers/{id}/action) and
/// waits until the image is active. A re-run adopts the image made by a
/// previous try.
#[action_params("openstack.server.create_image")]
#[derive(Deserialize)]
pub(super) struct CreateServerImage {
    /// The server (instance) id.
    server_id: String,
    /// The image name.
    name: String,
    /// Image properties to set (values stored as strings).
    #[serde(default)]
    metadata: Map<String, Json>,
    /// Record `hw_qemu_guest_agent=yes` and `os_require_quiesce=yes` in the
    /// image: Nova freezes the guest's filesystems for snapshots of servers
    /// whose image has them.
    #[param(default = false)]
    quiesce: bool,
    /// Compute API microversion to ask for (e.g. 2.45).
    microversion: Option<String>,
    /// Wait until the image is active.
    #[param(default = true)]
    wait: bool,
}

#[action_outputs]
#[derive(Serialize)]
pub(super) struct Made {
    /// The new image's id.
    image_id: String,
    /// Whether an image from a previous try was adopted.
    adopted: bool,
    #[serde(flatten)]
    summary: Summary,
    /// Its backup catalog entry as reported (`kind`, `where`,
    /// `native_id`, `source`): give it as `made_from` to a step that
    /// copies the image elsewhere (`openstack.image.upload`).
    #[output(ty = Object)]
    backup: Json,
}

impl Run<Provider> for CreateServerImage {
    type Outputs = Made;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Made> {
        let session = provider.session(ctx)?;
        let (server, name) = (self.server_id.as_str(), self.name.as_str());
        let options = super::wait_options(ctx)?;
        let (id, adopted) = match crate::glance::find_by_key(&session, &ctx.idempotency_key).await?
        {
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
                for (key, value) in &self.metadata {
                    metadata.insert(key.clone(), super::property_value(value));
                }
                if self.quiesce {
                    metadata.insert("hw_qemu_guest_agent".to_owned(), json!("yes"));
                    metadata.insert("os_require_quiesce".to_owned(), json!("yes"));
                }
                metadata.insert(KEY_PROPERTY.to_owned(), json!(ctx.idempotency_key));
                let microversion = self.microversion.as_deref();
                let id = crate::nova::create_image(&session, server, name, &metadata, microversion)
                    .await?;
                ctx.log(
                    LogLevel::Info,
                    format!("server {server}: createImage accepted, image {id}"),
                );
                (id, false)
            }
        };
        // In the catalog as soon as it exists, with its details once read.
        let location = crate::catalog::location(&session).await?;
        let of_server = || BackupSource {
            kind: "server".to_owned(),
            id: server.to_owned(),
            uuid: None,
            location: None,
        };
        ctx.record_backup(crate::catalog::image(
            location.clone(),
            &id,
            None,
            Some(of_server()),
        ));
        let image = if !self.wait {
            crate::glance::get(&session, &id).await?
        } else {
            crate::glance::wait_active(&session, ctx, &id, options).await?
        };
        let backup = crate::catalog::image(location, &id, Some(&image), Some(of_server()));
        let backup_json = serde_json::to_value(&backup).unwrap_or(Json::Null);
        ctx.record_backup(backup);
        Ok(Made {
            image_id: id,
            adopted,
            summary: crate::glance::summary(&image),
            backup: backup_json,
        })
    }
}
