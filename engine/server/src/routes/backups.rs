//! `/backups`: the backup catalog, listed with filters and read one entry
//! at a time. (Every GET gets an `ETag`: see `etag.rs`.)

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use shutter_core::{BackupKind, BackupQuery, BackupState};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{page_size, since};
use crate::state::AppState;
use crate::views::{BackupPage, BackupView};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only backups of this source: its id (`vol-...`, a VM's moRef), its
    /// lasting uuid (a VM's instanceUuid) or its full `ref`.
    source: Option<String>,
    /// Only this provider's: `aws`, `openstack` or `vsphere`.
    provider: Option<String>,
    /// Only those in this state: `available`, `deleted` or `missing`.
    state: Option<String>,
    /// Only this kind: `ebs_snapshot`, `ami`, `glance_image` or
    /// `vsphere_snapshot`.
    kind: Option<String>,
    /// Only those recorded at or after this time (RFC 3339).
    since: Option<String>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

const PROVIDERS: [&str; 3] = ["aws", "openstack", "vsphere"];

/// Lists the backup catalog, newest first, a page at a time. The cursor is
/// the last entry seen, so entries recorded meanwhile never shift a page.
#[utoipa::path(get, path = "/backups", params(ListParams), tag = "backups", operation_id = "listBackups",
    responses((status = 200, body = BackupPage), (status = 400, body = crate::views::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Json<BackupPage>, ApiError> {
    let limit = page_size(params.limit)?;
    let given = |value: Option<String>| value.filter(|v| !v.is_empty());
    let provider = given(params.provider);
    if let Some(provider) = &provider
        && !PROVIDERS.contains(&provider.as_str())
    {
        return Err(ApiError::bad_request(format!(
            "unknown provider `{provider}` (one of {})",
            PROVIDERS.join(", ")
        )));
    }
    let query = BackupQuery {
        source: given(params.source),
        provider,
        state: given(params.state)
            .map(|s| {
                BackupState::parse(&s).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "unknown state `{s}` (one of available, deleted, missing)"
                    ))
                })
            })
            .transpose()?,
        kind: given(params.kind)
            .map(|k| {
                BackupKind::parse(&k).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "unknown kind `{k}` (one of ebs_snapshot, ami, glance_image, vsphere_snapshot)"
                    ))
                })
            })
            .transpose()?,
        since: since(params.since)?,
        before: given(params.cursor),
        limit: limit + 1,
    };
    let mut entries = state.store().backups(&query).await?;
    let next_cursor = if entries.len() > limit {
        entries.truncate(limit);
        entries.last().map(|e| e.id.clone())
    } else {
        None
    };
    Ok(Json(BackupPage {
        items: entries.iter().map(BackupView::from).collect(),
        next_cursor,
    }))
}

/// One entry of the backup catalog.
#[utoipa::path(get, path = "/backups/{id}", params(("id" = String, Path)), tag = "backups", operation_id = "getBackup",
    responses((status = 200, body = BackupView), (status = 304), (status = 404, body = crate::views::ErrorBody)))]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<BackupView>, ApiError> {
    let entry = state
        .store()
        .backup(&id)
        .await?
        .ok_or_else(|| ApiError::not_found(format_args!("backup {id}")))?;
    Ok(Json(BackupView::from(&entry)))
}
