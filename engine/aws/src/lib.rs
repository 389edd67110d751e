//! AWS EC2 actions for Shutter: EBS snapshots (create, wait, copy, tag,
//! list, delete), AMIs (create, deregister) and restoring a snapshot as a
//! volume (create, attach, delete), on `aws-sdk-ec2`.
//!
//! Credentials, region and endpoint come from the standard `aws-config`
//! chain (environment, profiles, SSO, `credential_process`, IMDS); a step may
//! name its own `region` and `endpoint_url`, so one workflow runs against
//! AWS or a local emulator such as moto.
//!
//! Every resource an action creates carries the tag
//! [`IDEMPOTENCY_TAG`] = the step's idempotency key. Before creating, the
//! action looks for a resource with that tag and adopts it, so a step
//! re-run after a crash does not create a second snapshot or image.
//!
//! # Layout
//! - `settings`: [`AwsSettings`] (what an embedding binary may override) and
//!   the client cache: the chain is loaded once, a client made per region
//!   and endpoint.
//! - `params`: reading typed step parameters.
//! - `failure`: SDK errors to `ActionError::Retryable` / `Fatal`, by AWS error code.
//! - `idempotency`: the key tag, its filter and the tags put on what is created.
//! - `catalog`: the snapshots actions put in the backup catalog.
//! - `output`: snapshots, tags and timestamps as JSON outputs.
//! - `actions/`: one file per action family (`snapshot`, `wait`, `copy`,
//!   `delete`, `tags`, `list`, `image`, `sync`, `volume`), each with its
//!   catalog entry.

mod actions;
mod catalog;
mod failure;
mod idempotency;
mod output;
mod params;
mod settings;

use std::sync::Arc;

use shutter_core::Action;

pub use idempotency::{IDEMPOTENCY_TAG, RESTORE_TAG};
pub use settings::AwsSettings;

/// Every action of this provider: its catalog entry and its implementation,
/// configured by the standard `aws-config` chain alone.
pub fn actions() -> Vec<(shutter_core::ActionSpec, Arc<dyn Action>)> {
    actions_with(AwsSettings::default())
}

/// Every action of this provider, with `settings` taking precedence over
/// the standard chain (a binary's own configuration file; tests).
pub fn actions_with(settings: AwsSettings) -> Vec<(shutter_core::ActionSpec, Arc<dyn Action>)> {
    actions::all(&Arc::new(settings::Clients::new(settings)))
}
