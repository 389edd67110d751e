//! Request parts parsed into domain values, with errors in the API's shape.

use std::time::Duration;

use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, header};
use shutter_core::ExecutionId;

use crate::error::ApiError;

/// `axum::Json`, but a malformed body answers in the API's error shape.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct JsonBody<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        let code = match rejection.status() {
            axum::http::StatusCode::PAYLOAD_TOO_LARGE => "too_large",
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
            _ => "invalid_body",
        };
        Self::new(rejection.status(), code, rejection.body_text())
    }
}

pub(crate) fn execution_id(text: &str) -> Result<ExecutionId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request(format!("`{text}` is not an execution id")))
}

/// `?wait=30s`: how long to hold the request, at most `max`.
pub(crate) fn wait(text: Option<&str>, max: Duration) -> Result<Option<Duration>, ApiError> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let wait = shutter_core::units::parse_duration(text)
        .map_err(|err| ApiError::bad_request(format!("wait: {err}")))?;
    Ok(Some(wait.min(max)))
}

/// The entity tags of `If-None-Match`, as sent (quotes included).
pub(crate) fn if_none_match(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/").to_owned())
        .filter(|tag| !tag.is_empty())
        .collect()
}

/// A client's `Idempotency-Key`: printable ASCII, at most 255 bytes.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|key| !key.is_empty() && key.len() <= 255)
        .ok_or_else(|| {
            ApiError::bad_request("Idempotency-Key must be 1 to 255 printable ASCII characters")
        })?;
    Ok(Some(key.to_owned()))
}

/// Default and largest page of a list (`?limit=`).
const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

/// `?limit=`: 1 to 500, 50 when not given.
pub(crate) fn page_size(limit: Option<usize>) -> Result<usize, ApiError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if (1..=MAX_PAGE).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::bad_request(format!(
            "limit must be 1 to {MAX_PAGE}"
        )))
    }
}

/// Cuts `items`, read one more than a page of `limit` (to learn whether an
/// older page exists), to the page: the cursor of the next page, its last
/// item's (`cursor_of`), when there is one.
pub(crate) fn cut_to_page<T>(
    items: &mut Vec<T>,
    limit: usize,
    cursor_of: impl FnOnce(&T) -> String,
) -> Option<String> {
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().map(cursor_of)
}

/// `?since=`: an RFC 3339 time or a duration back from now (`1h`, `7d`);
/// absent or empty for none.
pub(crate) fn since(
    text: Option<String>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    text.filter(|s| !s.is_empty())
        .map(|s| {
            shutter_core::units::parse_since(&s, chrono::Utc::now())
                .map_err(|err| ApiError::bad_request(format!("since: {err}")))
        })
        .transpose()
}
