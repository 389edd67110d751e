//! PostgreSQL's errors as the store's: what passes (a connection lost or
//! refused, a server shutting down, a full disk, a serialization conflict)
//! is `Unavailable`, so callers wait and retry; the rest is `Fatal`.

use shutter_core::StoreError;
use tokio_postgres::error::SqlState;

pub(super) fn pg_error(err: &tokio_postgres::Error) -> StoreError {
    if let Some(why) = tls_refusal(err) {
        return StoreError::Fatal(format!("postgres: TLS refused: {why}"));
    }
    let Some(code) = err.code() else {
        // No SQLSTATE: the connection itself failed or was closed; the
        // cause says why (refused, reset, ...).
        let why =
            std::error::Error::source(err).map_or_else(String::new, |cause| format!(": {cause}"));
        return StoreError::Unavailable(format!("postgres: {err}{why}"));
    };
    let passes = code.code().starts_with("08") // connection exceptions
        || code.code().starts_with("53") // insufficient resources (disk full, ...)
        || code.code().starts_with("57P") // shutting down, cannot connect now
        || *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
        || *code == SqlState::LOCK_NOT_AVAILABLE;
    let message = match err.as_db_error() {
        Some(db) => format!("postgres: {} ({})", db.message(), code.code()),
        None => format!("postgres: {err}"),
    };
    if passes {
        StoreError::Unavailable(message)
    } else {
        StoreError::Fatal(message)
    }
}

/// Why the TLS handshake was refused, when rustls refused it (a
/// certificate no root vouches for, a wrong name, no common protocol): a
/// setting to mend, not an outage to wait out.
fn tls_refusal(err: &tokio_postgres::Error) -> Option<String> {
    let mut cause = std::error::Error::source(err);
    while let Some(error) = cause {
        // tokio-rustls gives rustls's error inside an `io::Error`, whose
        // `source` skips it: look inside.
        if let Some(rustls) = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(rustls.to_string());
        }
        cause = error.source();
    }
    None
}

pub(super) fn pool_error(err: &deadpool_postgres::PoolError) -> StoreError {
    match err {
        deadpool_postgres::PoolError::Backend(err) => pg_error(err),
        other => StoreError::Unavailable(format!("postgres: {other}")),
    }
}

/// Whether the error is a unique-key violation (an id or key taken).
pub(super) fn is_unique_violation(err: &tokio_postgres::Error) -> bool {
    err.code() == Some(&SqlState::UNIQUE_VIOLATION)
}
