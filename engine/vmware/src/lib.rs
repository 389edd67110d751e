//! Actions for vSphere and vRealize Orchestrator: snapshots over SOAP
//! (vim25), and vRO workflow runs over its REST API.
//!
//! vSphere: `vsphere.vm.get`, `vsphere.snapshot.create`,
//! `vsphere.snapshot.list`, `vsphere.snapshot.remove`,
//! `vsphere.sync_backups`; to restore, `vsphere.snapshot.revert`,
//! `vsphere.vm.clone` and `vsphere.vm.destroy`. Every output names
//! the vCenter by its `about.instanceUuid` beside the moRef, since moRefs
//! repeat across vCenters. The plain functions behind the actions
//! ([`vsphere::snapshot::create_snapshot`] and friends) are public, for a
//! platform-agnostic `snapshot` dispatcher.
//!
//! vRO: `vro.workflow.run`, `vro.workflow.wait`, `vro.workflow.cancel`.
//!
//! # Layout
//!
//! - `env.rs`: environment variables and Shutter's config file (injectable for tests).
//! - `config.rs`: the config file's `vcenters` and `vro_servers` sections.
//! - `server.rs`: an inline server parameter (`vcenter`, `vro`), typed.
//! - `tls.rs`: HTTP clients (the kit's) with system roots, a CA file, or `insecure`.
//! - `vsphere/xml.rs`: a namespace-aware XML tree and escaping.
//! - `vsphere/request.rs`: building request bodies, escaped.
//! - `vsphere/moref.rs`: managed object references.
//! - `vsphere/error.rs`: `VsphereError`, faults, and how they map to `ActionError`.
//! - `vsphere/connection.rs`: which connection a step uses: `vcenter`, a named one, govc's variables.
//! - `vsphere/client.rs`: one session: service content, login, calls, re-login once.
//! - `vsphere/session.rs`: sessions shared per vCenter, user and trust.
//! - `vsphere/properties.rs`: the property collector.
//! - `vsphere/task.rs`: waiting for tasks (the kit's `poll_until`): progress, cancel, deadline.
//! - `vsphere/vm.rs`: finding and describing VMs, datastore URLs.
//! - `vsphere/snapshot.rs`: create (with adoption), list, remove.
//! - `vsphere/restore.rs`: revert to a snapshot, clone from one (with adoption), destroy a clone.
//! - `vsphere/actions.rs`: the `vsphere.*` actions.
//! - `vsphere/restore_actions.rs`: the restore actions.
//! - `vro/params.rs`: JSON values <-> vRO typed parameters.
//! - `vro/client.rs`: the vRO REST calls and their errors.
//! - `vro/actions.rs`: the `vro.workflow.*` actions.

use std::sync::Arc;

use shutter_core::config::ConfigSource;
use shutter_core::{Action, ActionSpec};

pub mod config;
pub mod env;
pub mod server;
pub mod tls;
pub mod vro;
pub mod vsphere;

pub use env::Env;

pub use config::SECTIONS as CONFIG_SECTIONS;

/// Every action of this provider: its catalog entry and its implementation.
/// vSphere sessions go to the process-wide cache; defaults come from the
/// process environment and `config` (Shutter's config file).
pub fn actions(config: Arc<dyn ConfigSource>) -> Vec<(ActionSpec, Arc<dyn Action>)> {
    actions_with(
        vsphere::session::SessionCache::global().clone(),
        Env::process().with_config(config),
    )
}

/// The actions with their own session cache and environment (tests).
pub fn actions_with(
    sessions: vsphere::session::SessionCache,
    env: Env,
) -> Vec<(ActionSpec, Arc<dyn Action>)> {
    let vro = vro::actions::actions(&env);
    let shared = vsphere::actions::Shared { sessions, env };
    let mut all = vsphere::actions::actions(&shared);
    all.extend(vro);
    all
}
