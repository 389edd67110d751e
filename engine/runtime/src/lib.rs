//! Shutter's runtime: runs compiled plans durably on tokio.
//!
//! It knows traits, never a concrete database, cloud or wasm engine: the
//! [`Store`] records executions, [`Action`]s do the work.
//!
//! # Layout
//! - `engine`: [`Engine`] — start, run, resume; configuration.
//! - `held`: the executions an engine holds (claims, leases, stopping a lost one).
//! - `executor/`: one execution's scheduler (`mod.rs`), a step's tries
//!   (`instance.rs`), backoff (`retry.rs`), compensation, expression scope,
//!   and the redacting sink every change passes through.
//! - `action`: the [`Action`] trait and its context.
//! - `store`: the [`Store`] trait; `record`: records, changes and their fold.
//! - `ids`, `state`: identifiers and states.
//! - `clock`: injected time; `secrets`: secret values and redaction;
//!   `files`: which host files a step may name.
//! - `recording`: [`RecordingSink`], for running an action outside an execution.

pub mod action;
pub mod clock;
mod engine;
pub(crate) mod executor;
pub mod files;
mod held;
pub mod ids;
pub mod record;
mod recording;
pub mod secrets;
pub mod state;
pub mod store;

pub use action::{Action, ActionContext, ActionError, ActionRegistry, ChangeSink};
pub use engine::{Engine, EngineConfig, EngineError, Started, WorkflowSource};
pub use files::Files;
pub use ids::{ExecutionId, StepKey};
pub use record::{
    Change, Event, ExecutionRecord, ExecutionSnapshot, LogLevel, NewExecution, StepRecord,
};
pub use recording::RecordingSink;
pub use secrets::Secrets;
pub use state::{ExecutionState, StepState};
pub use store::{Claim, ListQuery, Owner, Store, StoreError};
