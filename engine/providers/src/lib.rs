//! Shutter's built-in actions and their catalog entries.
//!
//! # Layout
//! - `core/`: `core.noop`, `core.log`, `core.sleep`, `core.fail`.
//! - `http.rs`: `http.request`.
//! - `snapshot/`: `snapshot` and `snapshot.delete`, one action over every
//!   cloud, dispatching to the provider actions by the target's scheme.
//! - the cloud providers live in their own crates (`shutter-aws`,
//!   `shutter-vmware`, `shutter-openstack`) and are gathered here.
//!
//! [`catalog`] and [`registry`] are the two views every binary needs: what
//! the compiler accepts, and what the engine runs. They are built from the
//! same list, so an action is never in one and not the other.

mod core;
mod http;
pub mod snapshot;

use std::sync::Arc;

use shutter_dsl::Catalog;
use shutter_runtime::{Action, ActionRegistry};

/// Every built-in action: its catalog entry and its implementation.
fn all() -> Vec<(shutter_dsl::ActionSpec, Arc<dyn Action>)> {
    let mut actions = core::actions();
    actions.push(http::action());
    actions.extend(shutter_aws::actions());
    actions.extend(shutter_vmware::actions());
    actions.extend(shutter_openstack::actions());
    actions.extend(snapshot::actions(&actions));
    actions
}

/// What the compiler checks `uses:` and `with:` against.
pub fn catalog() -> Catalog {
    let mut catalog = Catalog::empty();
    for (spec, _) in all() {
        catalog.register(spec);
    }
    catalog
}

/// What the engine runs.
pub fn registry() -> ActionRegistry {
    let mut registry = ActionRegistry::new();
    for (spec, action) in all() {
        registry.register(&spec.name, action);
    }
    registry
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
