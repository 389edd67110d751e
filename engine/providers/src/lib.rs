//! Shutter's built-in actions and their catalog entries.
//!
//! # Layout
//! - `core/`: `core.noop`, `core.log`, `core.sleep`, `core.fail`.
//! - `http.rs`: `http.request`.
//! - `snapshot/`: `snapshot` and `snapshot.delete`, one action over every
//!   cloud, dispatching to the provider actions by the target's scheme.
//! - `restore/`: `restore`, `restore.delete` and `restore.test`, the same
//!   over every cloud, from a backup catalog entry or a reference.
//! - `backups/`: `backups.query`, `backups.record_test` and
//!   `backups.sync`, the backup catalog as workflows read, annotate and
//!   reconcile it.
//! - `delegates.rs`: running a provider's action on a step's behalf.
//! - `notify/`: the HTTP webhook notifier (`HttpNotifier`): signed POSTs
//!   with retries, and `notify::sign` for receivers to check them.
//! - the cloud providers live in their own crates (`shutter-aws`,
//!   `shutter-vmware`, `shutter-openstack`) and are gathered here.
//!
//! [`catalog`] and [`registry`] are the two views every binary needs: what
//! the compiler accepts, and what the engine runs. They are built from the
//! same list, so an action is never in one and not the other.

pub mod backups;
mod core;
mod delegates;
mod http;
pub mod notify;
pub mod restore;
pub mod snapshot;

use std::sync::Arc;

use shutter_core::config::{ConfigSource, NoConfig, ReadYaml};
use shutter_core::{Action, ActionRegistry, ActionSpec, Catalog};

/// What the providers read from around them, handed over by the binary.
#[derive(Clone)]
pub struct Settings {
    /// Shutter's config file (named vCenters and vRO servers, the places
    /// `backups.sync` reconciles).
    pub config: Arc<dyn ConfigSource>,
    /// How YAML files of the clouds' own are read (`clouds.yaml`).
    pub yaml: ReadYaml,
}

impl Default for Settings {
    /// No config file; clouds files read as JSON only.
    fn default() -> Self {
        Self {
            config: Arc::new(NoConfig),
            yaml: shutter_openstack::ConfigSources::default().yaml,
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Every built-in action: its catalog entry and its implementation.
fn all(settings: &Settings) -> Vec<(ActionSpec, Arc<dyn Action>)> {
    let mut actions = core::actions();
    actions.push(http::action());
    actions.extend(shutter_aws::actions());
    actions.extend(shutter_vmware::actions(settings.config.clone()));
    actions.extend(shutter_openstack::actions(settings.yaml.clone()));
    actions.extend(snapshot::actions(&actions));
    actions.extend(restore::actions(&actions));
    actions.extend(backups::actions(&actions, settings.config.clone()));
    actions
}

/// What the compiler checks `uses:` and `with:` against.
pub fn catalog() -> Catalog {
    let mut catalog = Catalog::empty();
    for (spec, _) in all(&Settings::default()) {
        catalog.register(spec);
    }
    catalog
}

/// What the engine runs, with no config file (tests, embedding).
pub fn registry() -> ActionRegistry {
    registry_with(&Settings::default())
}

/// What the engine runs, reading what `settings` say.
pub fn registry_with(settings: &Settings) -> ActionRegistry {
    let mut registry = ActionRegistry::new();
    for (spec, action) in all(settings) {
        registry.register(&spec.name, action);
    }
    registry
}

/// Every section of Shutter's config file the providers read.
pub fn config_sections() -> Vec<&'static str> {
    let mut sections = shutter_vmware::CONFIG_SECTIONS.to_vec();
    sections.push(backups::CONFIG_SECTION);
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_cataloged_action_is_implemented() {
        let registry = registry();
        for spec in catalog().actions() {
            assert!(
                registry.get(&spec.name).is_some(),
                "{} has no implementation",
                spec.name
            );
        }
    }
}
