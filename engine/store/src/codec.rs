//! Values to and from rows, the same in every database: times as
//! fixed-width RFC 3339 text, records as JSON text.

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
