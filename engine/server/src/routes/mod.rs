//! The router: every route, its limits and its middleware.

pub(crate) mod backups;
pub(crate) mod executions;
pub(crate) mod nodes;
pub(crate) mod system;
pub(crate) mod vro;
pub(crate) mod workflows;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::auth;
use crate::error::ApiError;
use crate::server::ServerConfig;
use crate::state::AppState;

/// Largest request body but for workflow YAML.
const MAX_BODY: usize = 1 << 20;

pub(crate) fn router(state: AppState, config: &ServerConfig) -> Router {
    let deadline = state.0.max_wait + Duration::from_secs(30);
    let router = Router::new()
        .route(
            "/workflows",
            post(workflows::register)
                .layer(DefaultBodyLimit::max(shutter_dsl::limits::MAX_SOURCE_BYTES))
                .get(workflows::list),
        )
        .route("/workflows/{name}", get(workflows::get))
        .route("/workflows/{name}/executions", post(workflows::start))
        .route("/workflows/{name}/plan", post(workflows::plan))
        .route("/executions", get(executions::list))
        .route("/executions/{id}", get(executions::get))
        .route("/executions/{id}/events", get(executions::events))
        .route("/executions/{id}/steps/{step}/logs", get(executions::logs))
        .route("/executions/{id}/cancel", post(executions::cancel))
        .route("/executions/{id}/retry", post(executions::retry))
        .route("/backups", get(backups::list))
        .route("/backups/{id}", get(backups::get))
        .route("/vco/api/workflows/{name}/executions", post(vro::start))
        .route("/vco/api/workflows/{name}/executions/{id}", get(vro::get))
        // What the start answers in `Location`: vRO's URLs end with `/`.
        .route(
            "/vco/api/workflows/{name}/executions/{id}/",
            get(vro::get_at_location),
        )
        .route(
            "/vco/api/workflows/{name}/executions/{id}/state",
            get(vro::get_state).delete(vro::cancel),
        )
        .route("/nodes", get(nodes::get))
        .route("/healthz", get(system::healthz))
        .route("/metrics", get(system::metrics))
        .route("/openapi.json", get(system::openapi))
        // The web console: HTML for people, behind the same layers.
        .merge(crate::console::router(config.access.clone()))
        .fallback(|| async { ApiError::not_found("route") })
        .layer(middleware::from_fn(crate::etag::tag))
        .layer(middleware::from_fn_with_state(
            config.access.clone(),
            auth::require,
        ))
        .layer(middleware::from_fn(crate::cross_site::check))
        .layer(middleware::from_fn_with_state(
            config.allowed_hosts.clone(),
            crate::host::check,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            time_limit(request, next, deadline)
        }))
        .layer(middleware::from_fn(crate::shape::errors));
    // Outermost: the line says what the client got, refusals included.
    let router = if config.access_log {
        router.layer(middleware::from_fn(crate::access::log))
    } else {
        router
    };
    router.with_state(state)
}

/// No request holds a connection longer than the longest long poll allows.
async fn time_limit(request: Request, next: Next, deadline: Duration) -> Response {
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long",
        )
        .into_response(),
    }
}
