//! SQLite's errors as the store's.

use shutter_core::StoreError;

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
