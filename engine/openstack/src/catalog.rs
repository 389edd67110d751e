//! What the image actions put in the backup catalog: a Glance image, where
//! it is (the cloud's Keystone URL, the project and the region) and, when
//! the step says, what it was made from (`made_from`: another action's
//! `backup` output, e.g. the vSphere snapshot whose disk it holds).

use serde_json::Value as Json;
use shutter_core::record::Timestamp;
use shutter_core::{ActionError, BackupKind, BackupSource, Location, NewBackup};

use crate::config::Auth;
use crate::session::Session;

/// Where the session's images are: Keystone's URL (the image endpoint
/// without Keystone), the token's project (else the configured one) and
/// the region.
pub(crate) async fn location(session: &Session) -> Result<Location, ActionError> {
    let cloud = &session.cloud;
    let token = session.token().await?;
    let configured = match &cloud.auth {
        Auth::Password {
            auth_url, project, ..
        } => (
            Some(auth_url.clone()),
            project
                .as_ref()
                .and_then(|p| p.id.clone().or(p.name.clone())),
        ),
        Auth::ApplicationCredential { auth_url, .. } => (Some(auth_url.clone()), None),
        Auth::None => (cloud.endpoint_override("image").map(str::to_owned), None),
    };
    let project = token
        .and_then(|t| t.project_id.clone())
        .or(configured.1)
        .unwrap_or_else(|| "-".to_owned());
    Ok(Location::Openstack {
        auth_url: configured.0.unwrap_or_else(|| cloud.name.clone()),
        project,
        region: cloud.region.clone(),
    })
}

/// The catalog entry of image `id` at `location`, with what Glance said of
/// it (`image`, when read), of `source`.
pub(crate) fn image(
    location: Location,
    id: &str,
    image: Option<&Json>,
    source: Option<BackupSource>,
) -> NewBackup {
    let mut entry = NewBackup::new(BackupKind::GlanceImage, location, id);
    entry.source = source;
    if let Some(image) = image {
        entry.created_at = image
            .get("created_at")
            .and_then(Json::as_str)
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| Timestamp::from(at.to_utc()));
        entry.size_bytes = image.get("size").and_then(Json::as_u64);
        if let Some(name) = image.get("name").and_then(Json::as_str) {
            entry.tags.insert("name".to_owned(), name.to_owned());
        }
        // Shutter's own properties (`shutter_backup_of`, ...) are what a
        // workflow finds its backups by, as EC2 tags are; the idempotency
        // key is plumbing, kept out.
        let ours = image.as_object().into_iter().flatten().filter(|(key, _)| {
            key.starts_with("shutter_") && key.as_str() != crate::glance::KEY_PROPERTY
        });
        for (key, value) in ours {
            if let Some(text) = value.as_str() {
                entry.tags.insert(key.clone(), text.to_owned());
            }
        }
    }
    entry
}

/// What `made_from` names (a `backup` output of another step): read
/// before anything is done, so a wrong one fails the step at once.
pub(crate) fn original(made_from: Option<&Json>) -> Result<Option<NewBackup>, ActionError> {
    let Some(value) = made_from.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    serde_json::from_value(value.clone()).map(Some).map_err(|err| {
        ActionError::fatal(format!(
            "`made_from` must be the `backup` output of the step that made the original (kind, where, native_id, source): {err}"
        ))
    })
}

/// `entry` as a copy of `original`: made from it, and of its source,
/// placed where that source is.
pub(crate) fn link(entry: &mut NewBackup, original: &NewBackup) {
    entry.derived_from = Some(original.reference());
    entry.source = original.source.clone().map(|mut source| {
        source.location.get_or_insert(original.location.clone());
        source
    });
}
