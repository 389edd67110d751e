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

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None)
    }

    /// Busy, locked and full are waited out (the server answers 503 and the
    /// runner retries for `--store-patience`); corruption is not.
    #[test]
    fn a_busy_locked_or_full_database_is_unavailable_not_broken() {
        for code in [
            rusqlite::ffi::SQLITE_BUSY,
            rusqlite::ffi::SQLITE_LOCKED,
            rusqlite::ffi::SQLITE_FULL,
            rusqlite::ffi::SQLITE_IOERR,
        ] {
            assert!(
                matches!(db_error(&failure(code)), StoreError::Unavailable(_)),
                "{code}"
            );
        }
        assert!(matches!(
            db_error(&failure(rusqlite::ffi::SQLITE_CORRUPT)),
            StoreError::Fatal(_)
        ));
    }
}
