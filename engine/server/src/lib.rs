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
//! - `gate`: workflow `concurrency` keys (skip or queue). `schedule`: cron starts.
//! - `workflows`: the served workflows and their versions (by plan hash).
//! - `etag`, `auth`: middleware. `metrics`: Prometheus text. `vro`: typed parameters.
//! - `openapi`: the generated OpenAPI document.

mod auth;
mod error;
mod etag;
mod extract;
mod feed;
mod gate;
mod metrics;
mod openapi;
mod routes;
mod runner;
mod schedule;
mod server;
mod state;
mod views;
mod vro;
mod workflows;

pub use auth::Token;
pub use server::{Server, ServerConfig, check_exposure};
pub use state::AppState;
pub use workflows::{Registered, Workflows};
