//! Values to and from rows.

use chrono::SecondsFormat;
use shutter_core::record::Timestamp;
use shutter_core::{ExecutionRecord, StoreError};

/// Fixed-width RFC 3339 in UTC, so text order is time order.
pub(crate) fn time(at: Timestamp) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_time(text: &str) -> Result<Timestamp, StoreError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| StoreError::Fatal(format!("bad timestamp `{text}` in the database: {e}")))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records are plain data")
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Fatal(format!("bad record in the database: {e}")))
}

pub(crate) fn decode_execution(text: &str) -> Result<ExecutionRecord, StoreError> {
    from_json(text)
}

/// SQLite errors, grouped by what the caller does: busy, a full disk and
/// I/O errors pass (another process finishes, an operator frees space),
/// so they are `Unavailable`; the rest is `Fatal`.
pub(crate) fn db_error(err: &rusqlite::Error) -> StoreError {
    match err {
        rusqlite::Error::SqliteFailure(code, _)
            if matches!(
                code.code,
                rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::SystemIoFailure
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::OutOfMemory
            ) =>
        {
            StoreError::Unavailable(err.to_string())
        }
        _ => StoreError::Fatal(err.to_string()),
    }
}
