//! Shutter's runtime: runs compiled plans durably on tokio.
//!
//! It knows the concepts of `shutter-core` (the [`Store`](shutter_core::Store)
//! trait records executions, [`Action`](shutter_core::Action)s do the work)
//! and the compiled [`Plan`](shutter_dsl::Plan), never a concrete database,
//! cloud or WebAssembly engine.
//!
//! # Layout
//! - `engine`: [`Engine`] — start, run, resume, retry; configuration.
//! - `concurrency`: workflow concurrency keys (computed at start, waited
//!   for before the first step; the store keeps each key's line).
//! - `turn`: waiting for what the store grants in turn (a limit slot, a key).
//! - `held`: the executions an engine holds (claims, leases, stopping a lost one).
//! - `rerun`: which steps a retry runs again (brackets kept whole).
//! - `dry_run/`: plans: what a run would do, read steps run for real,
//!   writes shown with their parameters (`shutter run --plan`).
//! - `executor/`: one execution's scheduler (`mod.rs`), a step's tries
//!   (`instance.rs`), backoff (`retry.rs`), compensation, expression scope,
//!   and the redacting sink every change passes through.

mod concurrency;
mod dry_run;
mod engine;
pub(crate) mod executor;
mod held;
mod rerun;
mod turn;

pub use dry_run::{Call, DryRun, Forecast, StepPlan};
pub use engine::{
    DEFAULT_MAX_CONCURRENT_STEPS, Engine, EngineConfig, EngineError, Started, WorkflowSource,
};
