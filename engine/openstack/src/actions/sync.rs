//! `openstack.image.sync_backups`: brings the backup catalog in line with
//! the images a cloud's Glance holds. Everything Shutter makes there
//! carries its idempotency key as an image property, so what carries it is
//! Shutter's: each such image is cataloged afterwards (with the execution
//! and step its key names, so a lost catalog is rebuilt), and each entry of
//! that Glance no longer there is `missing`. Nothing is deleted.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, BackupKind, BackupSource, Census, Found};
use shutter_core::{action_outputs, action_params};

use crate::glance::KEY_PROPERTY;
use crate::provider::Provider;

/// Reconciles the backup catalog with the cloud's Glance: images carrying
/// Shutter's key (every page) are cataloged, and cataloged images of this
/// Glance and project that are gone are marked `missing`. Deletes nothing;
/// schedule it.
#[action_params("openstack.image.sync_backups")]
#[derive(Deserialize)]
pub(super) struct SyncBackups {}

#[action_outputs]
#[derive(Serialize)]
pub(super) struct Synced {
    /// Images found carrying Shutter's key.
    images: usize,
}

impl Run<Provider> for SyncBackups {
    type Outputs = Synced;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Synced> {
        let session = provider.session(ctx)?;
        let location = crate::catalog::location(&session).await?;
        let listed_at = ctx.now();
        let images = crate::glance::list(&session, &Map::new(), 200, None).await?;
        let found: Vec<Found> = images
            .iter()
            .filter(|image| !crate::glance::ended(image))
            .filter_map(|image| {
                let key = image.get(KEY_PROPERTY).and_then(Json::as_str)?;
                let id = image.get("id").and_then(Json::as_str)?;
                // Nova names the server it snapshotted.
                let server = image.get("instance_uuid").and_then(Json::as_str);
                let source = server.map(|server| BackupSource {
                    kind: "server".to_owned(),
                    id: server.to_owned(),
                    uuid: None,
                    location: None,
                });
                let entry = crate::catalog::image(location.clone(), id, Some(image), source);
                Some(Found::made_by(entry, Some(key)))
            })
            .collect();
        let count = found.len();
        ctx.count_backups(Census {
            location,
            kinds: vec![BackupKind::GlanceImage],
            found,
            unseen_since: listed_at,
        });
        Ok(Synced { images: count })
    }
}
