//! OpenStack actions for Shutter: Keystone v3 authentication from
//! `clouds.yaml`, Glance images v2 (create, streamed upload and download,
//! wait, verify, list, delete), Nova `createImage`, and Nova servers booted
//! from an image and deleted again (restore tests).
//!
//! Every action takes `cloud`, a clouds.yaml entry resolved the way
//! openstacksdk does ([`config`]). Tokens are reused until shortly before
//! they expire and renewed once on a 401. Images carry the step's
//! idempotency key as the property `shutter_idempotency_key`, so a re-run
//! adopts what a previous try created. Servers carry it as a metadata item
//! of the same name, and only servers that carry it are deleted unless a
//! step says otherwise.
//!
//! # Layout
//! - `config/`: clouds.yaml + secure.yaml + `OS_*` variables -> [`Cloud`]
//!   (`sources.rs`: where files and variables come from; `cloud.rs`: validation)
//! - `auth.rs`: Keystone v3 token requests and the service catalog
//! - `tokens.rs`: the token cache shared by a provider's actions
//! - `session.rs`: one cloud's endpoints and authenticated calls (401 -> re-auth once)
//! - `error.rs`: HTTP statuses and error bodies (Glance HTML, Nova JSON) -> `ActionError`
//! - `digest.rs`: SHA-512 + MD5 while data streams
//! - `source.rs`: upload sources (file, http(s), vSphere datastore URLs)
//! - `glance/`: the image API calls, waiting, streamed transfers
//! - `nova.rs`: `createImage`, and asking for a compute microversion
//! - `servers.rs`: Nova servers: boot from an image, find by idempotency key,
//!   delete, wait until `ACTIVE` or gone
//! - `catalog.rs`: the images actions put in the backup catalog, and where
//! - `actions/`: one file per action, catalog entry beside the code
//! - `provider.rs`: [`Provider`], what the actions share

mod actions;
mod auth;
mod catalog;
pub mod config;
mod digest;
mod error;
mod glance;
mod nova;
mod provider;
mod servers;
mod session;
mod source;
mod tokens;

use std::sync::Arc;

use shutter_core::Action;

pub use config::{Cloud, ConfigSources};
pub use provider::Provider;

/// Every action of this provider: its catalog entry and its implementation,
/// configured from this process's environment and clouds.yaml files (read
/// with `yaml`).
pub fn actions(
    yaml: shutter_core::config::ReadYaml,
) -> Vec<(shutter_core::ActionSpec, Arc<dyn Action>)> {
    Provider::new(ConfigSources::from_process().with_yaml(yaml)).actions()
}
