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
//! - `page`: the shell every page shares and its security headers.
//! - `assets`: the embedded stylesheet and script (`assets/`).
//! - `sign_in`: the sign-in form and sign-out (the session cookie itself
//!   is `crate::session`).
//! - `escape`: text made safe for HTML and URLs; `badge`: how a state
//!   looks (colour, icon, word); `when`: times and durations.

mod assets;
mod badge;
mod escape;
mod execution;
mod graph;
mod layout;
mod list;
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
        .route("/ui/workflows", get(workflows::list))
        .route("/ui/workflows/{name}", get(workflows::show))
        .route("/ui/assets/console.css", get(assets::css))
        .route("/ui/assets/console.js", get(assets::js))
        .route("/ui/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/ui/sign-out", post(sign_in::sign_out))
        .layer(Extension(access))
}
