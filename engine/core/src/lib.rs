//! Shutter's concepts, with no executor and no compiler: what every crate
//! shares. Providers (the clouds, WebAssembly) depend on this crate and
//! the provider kit only, so they never compile the workflow compiler.
//!
//! # Layout
//! - `action`: the [`Action`] trait, its [`ActionContext`] (typed
//!   parameters, granted secrets, logs, durable sleep) and [`ActionError`]
//!   (retryable or fatal, keeping its cause); [`ActionRegistry`].
//! - `module`: what a `uses: wasm` step names ([`ModuleSpec`]), and the
//!   [`ModuleRunner`] that makes an action of one.
//! - `store`: the [`Store`] trait and claims; `record`: records, changes
//!   and their fold; `ids`, `state`: identifiers and states.
//! - `catalog`: built-in actions described as data ([`ActionSpec`],
//!   [`ParamType`], [`Catalog`]); `units`: durations and sizes.
//! - `backup`: the backup catalog's entries ([`Backup`]): what actions
//!   made, where, of what, and whether it is still there.
//! - `limits`: pools of slots a step waits for (`limit:`), across nodes;
//!   `occupancy`: who holds which execution and slot, for operators.
//! - `notify`: webhooks: events, targets, the [`notify::Notifier`] trait.
//! - `secrets`: secret values and redaction; `files`: which host files a
//!   step may name; `clock`: injected time.
//! - `config`: Shutter's config file, whose sections the crates that use
//!   them read ([`ConfigFile`], [`ConfigSource`]); `env`: environment
//!   variables, from the process or, in tests, a map.
//! - `recording`: [`RecordingSink`], for running an action outside an
//!   execution; `suggest`: "did you mean".

pub mod action;
pub mod backup;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod env;
pub mod files;
pub mod ids;
pub mod limits;
pub mod mac;
pub mod module;
pub mod notify;
pub mod occupancy;
pub mod record;
mod recording;
pub mod secrets;
pub mod sent;
pub mod state;
pub mod store;
pub mod store_hook;
pub mod suggest;
pub mod units;

pub use action::{
    Action, ActionContext, ActionEntry, ActionError, ActionRegistry, ChangeSink, ContextParts,
};
pub use action::{params, parse_param, parse_params};
pub use backup::{
    Backup, BackupKind, BackupQuery, BackupRef, BackupSource, BackupState, Census, Found, Location,
    NewBackup, RestoreTest,
};
pub use catalog::{ActionSpec, Catalog, Effect, ParamType};
pub use config::{ConfigError, ConfigFile, ConfigSource};
pub use env::Env;
pub use files::Files;
pub use ids::{ExecutionId, StepKey};
pub use limits::{LimitPools, SlotRequest};
pub use module::{ModuleRunner, ModuleSpec, UNPINNED};
pub use occupancy::{Occupancy, Occupant, PoolRow};
pub use record::{
    Change, ConcurrencyKey, Event, ExecutionRecord, ExecutionSnapshot, LogLevel, NewExecution,
    StepRecord,
};
pub use recording::RecordingSink;
pub use secrets::Secrets;
pub use sent::{AppendHold, SentAppend};
pub use shutter_derive::{action_outputs, action_params};
pub use state::{ExecutionState, StepState};
pub use store::{
    Announcement, Claim, Holder, ListQuery, Owner, Page, Renewal, Store, StoreError, StoredWorkflow,
};
