//! The operator's web console (issue 18), served by `shutter serve` next
//! to the API: server-rendered HTML, a little vanilla JavaScript for live
//! updates and buttons, the DAG laid out here as SVG. Nothing is loaded
//! from elsewhere and nothing is built at run time: the assets are in the
//! binary.
//!
//! The console reads through the same store and views as the JSON API
//! and changes nothing itself: its buttons call the API's own routes
//! (`POST /executions/{id}/cancel`, `/retry`) from the browser, with a
//! JSON body, so the API's layers (the `Host` check, the cross-site
//! refusal, tokens) guard the console as they guard every client.
//!
//! # Layout
//! - `list`: the executions page (filters, counts by state, keyset paging).
//! - `execution`: one execution (header, buttons, steps, their details).
//! - `graph`: the execution's DAG as SVG; `layout`: where its boxes go.
//! - `timeline`: the steps' tries over time (a Gantt chart), as SVG.
//! - `workflows`: what this server runs (source, DAG, versions) and the
//!   form that starts a workflow or asks for its plan.
//! - `backups`: the backup catalog (by source, across clouds and
//!   vCenters; the last restore test; the executions that made them).
//! - `nodes`: the nodes sharing the store, what each holds, the limit
//!   pools and their lines.
//! - `page`: the shell every page shares and its security headers.
//! - `assets`: the embedded stylesheet and script (`assets/`).
//! - `sign_in`: the sign-in form and sign-out (the session cookie itself
//!   is `crate::session`).
//! - `escape`: text made safe for HTML and URLs; `badge`: how a state
//!   looks (colour, icon, word); `when`: times and durations.

mod assets;
mod backups;
mod badge;
mod escape;
mod execution;
mod graph;
mod layout;
mod list;
mod nodes;
mod page;
mod sign_in;
mod timeline;
mod when;
mod workflows;

use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::auth::Access;
use crate::state::AppState;

/// Where a browser lands.
const HOME: &str = "/ui/executions";

/// The console's routes, merged into the API's router (inside its layers).
pub(crate) fn router(access: Access) -> Router<AppState> {
    Router::new()
        // 303: whatever the method, the browser follows with a GET.
        .route("/", get(|| async { Redirect::to(HOME) }))
        .route(HOME, get(list::show))
        .route("/ui/executions/{id}", get(execution::show))
        .route(
            "/ui/executions/{id}/timeline",
            get(execution::timeline_part),
        )
        .route("/ui/nodes", get(nodes::show))
        .route("/ui/workflows", get(workflows::list))
        .route("/ui/workflows/{name}", get(workflows::show))
        .route("/ui/backups", get(backups::show))
        .route("/ui/assets/console.css", get(assets::css))
        .route("/ui/assets/console.js", get(assets::js))
        .route("/ui/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/ui/sign-out", post(sign_in::sign_out))
        .layer(Extension(access))
        .layer(axum::middleware::map_response(refusal_page))
}

/// A refused page (an unknown execution, a malformed id) as a page a person
/// can read, with the API's message and a way back; the API's own routes
/// keep answering JSON.
async fn refusal_page(response: axum::response::Response) -> axum::response::Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || crate::shape::is_html(&response) {
        return response;
    }
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 10)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|body| body["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    let title = status.canonical_reason().unwrap_or("Refused");
    let main = format!(
        r#"<h1>{title}</h1><p class="problem">{message}</p><p><a href="{HOME}">Back to the executions</a></p>"#,
        title = escape::escape(title),
        message = escape::escape(&message),
    );
    let mut page = page::respond(page::document(title, page::Section::Executions, &main));
    *page.status_mut() = status;
    page
}
