//! `/backups`: the backup catalog, listed with filters and read one entry
//! at a time. (Every GET gets an `ETag`: see `etag.rs`.)

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use shutter_core::{BackupKind, BackupQuery, BackupState};
use utoipa::IntoParams;

use crate::error::ApiError;
use crate::extract::{cut_to_page, page_size, since};
use crate::state::AppState;
use crate::views::{BackupPage, BackupView};

/// The catalog's filters, as `GET /backups` and the console's backups page
/// (`/ui/backups`) both take them: one struct and one check
/// ([`ListParams::to_query`]), so the page and the API cannot drift.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Only backups of this source: its id (`vol-...`, a VM's moRef), its
    /// lasting uuid (a VM's instanceUuid) or its full `ref`.
    pub(crate) source: Option<String>,
    /// Only this provider's: `aws`, `openstack` or `vsphere`.
    pub(crate) provider: Option<String>,
    /// Only those in this state: `available`, `deleted` or `missing`.
    pub(crate) state: Option<String>,
    /// Only this kind: `ebs_snapshot`, `ami`, `glance_image` or
    /// `vsphere_snapshot`.
    pub(crate) kind: Option<String>,
    /// Only those recorded at or after this time (RFC 3339).
    pub(crate) since: Option<String>,
    /// Page size, 1 to 500 (default 50).
    pub(crate) limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub(crate) cursor: Option<String>,
}

/// The providers the catalog knows (`Location::provider`).
pub(crate) const PROVIDERS: [&str; 3] = ["aws", "openstack", "vsphere"];

impl ListParams {
    /// The store's query, each filter checked (an unknown provider, state
    /// or kind is refused with the values allowed); empty values are no
    /// filter. One more than a page is asked for, to know whether an older
    /// page exists: the page size is returned beside it.
    pub(crate) fn to_query(&self) -> Result<(BackupQuery, usize), ApiError> {
        let limit = page_size(self.limit)?;
        let given = |value: Option<&String>| value.filter(|v| !v.is_empty()).cloned();
        let provider = one_of(
            given(self.provider.as_ref()),
            "provider",
            &PROVIDERS.join(", "),
            |p| PROVIDERS.contains(&p).then(|| p.to_owned()),
        )?;
        let query = BackupQuery {
            source: given(self.source.as_ref()),
            provider,
            state: one_of(
                given(self.state.as_ref()),
                "state",
                "available, deleted, missing",
                BackupState::parse,
            )?,
            kind: one_of(
                given(self.kind.as_ref()),
                "kind",
                "ebs_snapshot, ami, glance_image, vsphere_snapshot",
                BackupKind::parse,
            )?,
            since: since(given(self.since.as_ref()))?,
            before: given(self.cursor.as_ref()),
            limit: limit + 1,
        };
        Ok((query, limit))
    }
}

/// `value` read by `parse`, when given; a 400 naming the values `allowed`
/// when `parse` does not know it.
fn one_of<T>(
    value: Option<String>,
    what: &str,
    allowed: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<Option<T>, ApiError> {
    value
        .map(|value| {
            parse(&value).ok_or_else(|| {
                ApiError::bad_request(format!("unknown {what} `{value}` (one of {allowed})"))
            })
        })
        .transpose()
}

/// Lists the backup catalog, newest first, a page at a time. The cursor is
/// the last entry seen, so entries recorded meanwhile never shift a page.
#[utoipa::path(get, path = "/backups", params(ListParams), tag = "backups", operation_id = "listBackups",
    responses((status = 200, body = BackupPage), (status = 400, body = crate::views::ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<Json<BackupPage>, ApiError> {
    let (query, limit) = params.to_query()?;
    let mut entries = state.store().backups(&query).await?;
    let next_cursor = cut_to_page(&mut entries, limit, |e| e.id.clone());
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
