//! The one error shape every route answers with:
//! `{"error": {"code", "message", "details"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json_, json};
use shutter_core::StoreError;
use shutter_runtime::EngineError;

/// An error a handler returns. Client errors keep their status and say what
/// was wrong; internal errors become a generic 500 and are logged once here,
/// so no internal detail (paths, SQL, secret values) reaches the client.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) details: Option<Json_>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
        }
    }

    #[must_use]
    pub(crate) fn with_details(mut self, details: Json_) -> Self {
        self.details = Some(details);
        self
    }

    pub(crate) fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub(crate) fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// A failure of the server itself: logged with its cause, answered without it.
    pub(crate) fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!("internal error: {cause}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound(id) => Self::not_found(format_args!("execution {id}")),
            StoreError::Unavailable(cause) => {
                tracing::warn!("store unavailable: {cause}");
                // The cause (busy, a full disk) is the operator's to fix and
                // names no data.
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    format!("the execution store is unavailable ({cause}); try again"),
                )
            }
            StoreError::Busy { key, holder } => Self::conflict(
                "concurrency_busy",
                format!("another execution holds concurrency key `{key}` (policy skip)"),
            )
            .with_details(serde_json::json!({"key": key, "execution": holder.to_string()})),
            StoreError::Conflict(_) | StoreError::Fatal(_) => Self::internal(err),
        }
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::Store(err) => err.into(),
            EngineError::Inputs(errors) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_inputs",
                format!("{} invalid input(s)", errors.len()),
            )
            .with_details(json!(
                errors.iter().map(ToString::to_string).collect::<Vec<_>>()
            )),
            EngineError::ConcurrencyKey(message) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_inputs", message)
            }
            EngineError::NotRetryable { .. } => Self::conflict("not_retryable", err.to_string()),
            EngineError::UnknownStep { .. } => Self::bad_request(err.to_string()),
            EngineError::Unresumable { .. } => {
                Self::new(StatusCode::CONFLICT, "unresumable", err.to_string())
            }
            EngineError::Held(_) => Self::conflict("held_elsewhere", err.to_string()),
            EngineError::Panicked { .. } => Self::internal(err),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "details": self.details,
            }
        });
        (self.status, Json(body)).into_response()
    }
}
