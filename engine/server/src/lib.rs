//! Shutter's HTTP API: start, poll, wait for and cancel executions, with
//! the engine running in the same process (`shutter serve`).
//!
//! # Layout
//! - `server`: building the whole (store, engine, workflows), serving, graceful shutdown.
//! - `routes/`: the router; one file per resource (`workflows`, `executions`,
//!   `vro` for vRealize Orchestrator-shaped aliases, `system` for health,
//!   metrics and the OpenAPI document).
//! - `views`: the JSON the API answers with (decoupled from storage records).
//! - `error`: the one error shape; `extract`: parsing request parts.
//! - `feed`: the store decorator that wakes long polls when an execution changes.
//! - `runner`: executions running in this process; cancel; shutdown.
//! - `schedule`: cron starts. (Workflow `concurrency` keys live in the
//!   store and the engine: see `shutter-runtime`'s `concurrency`.)
//! - `workflows`: the served workflows and their versions (by plan hash).
//! - `listen`: accepting connections (request-head deadline, connection cap).
//! - `host`, `cross_site`, `auth`: who may call what (the `Host` check, CSRF,
//!   tokens); `shape`: every refusal in the error shape; `etag`.
//! - `access`: the access log (a line per request). `metrics`: Prometheus text. `vro`: typed parameters. `trim`: freed
//!   memory back to the OS after a burst.
//! - `openapi`: the generated OpenAPI document.
//! - `console/`: the operator's web console (HTML pages at `/` and `/ui/`),
//!   reading what the API reads.

mod access;
mod auth;
mod console;
mod cross_site;
mod error;
mod etag;
mod extract;
mod feed;
mod host;
mod kept;
mod listen;
mod metrics;
mod openapi;
mod routes;
mod runner;
mod schedule;
mod server;
mod session;
mod shape;
mod state;
mod trim;
pub mod views;
mod vro;
mod workflows;

pub use auth::{Access, Token};
pub use host::AllowedHosts;
pub use server::{Background, Server, ServerConfig, check_exposure};
pub use state::AppState;
pub use workflows::{Registered, WorkflowCheck, Workflows};
