//! Actions for vSphere and vRealize Orchestrator: snapshots over SOAP
//! (vim25), and vRO workflow runs over its REST API.
//!
//! vSphere: `vsphere.vm.get`, `vsphere.snapshot.create`,
//! `vsphere.snapshot.list`, `vsphere.snapshot.remove`. Every output names
//! the vCenter by its `about.instanceUuid` beside the moRef, since moRefs
//! repeat across vCenters. The plain functions behind the actions
//! ([`vsphere::snapshot::create_snapshot`] and friends) are public, for a
//! platform-agnostic `snapshot` dispatcher.
//!
//! vRO: `vro.workflow.run`, `vro.workflow.wait`, `vro.workflow.cancel`.
//!
//! # Layout
//!
//! - `env.rs`: where environment variables come from (injectable for tests).
//! - `config.rs`: Shutter's config file: named vCenter connections and vRO servers.
//! - `tls.rs`: HTTP clients with system roots, a CA file, or `insecure`.
//! - `vsphere/xml.rs`: a namespace-aware XML tree and escaping.
//! - `vsphere/request.rs`: building request bodies, escaped.
//! - `vsphere/moref.rs`: managed object references.
//! - `vsphere/error.rs`: `VsphereError`, faults, and how they map to `ActionError`.
//! - `vsphere/connection.rs`: which connection a step uses: `vcenter`, a named one, govc's variables.
//! - `vsphere/client.rs`: one session: service content, login, calls, re-login once.
//! - `vsphere/session.rs`: sessions shared per vCenter, user and trust.
//! - `vsphere/properties.rs`: the property collector.
//! - `vsphere/task.rs`: waiting for tasks, with progress and cancel.
//! - `vsphere/vm.rs`: finding and describing VMs, datastore URLs.
//! - `vsphere/snapshot.rs`: create (with adoption), list, remove.
//! - `vsphere/actions.rs`: the `vsphere.*` actions.
//! - `vro/params.rs`: JSON values <-> vRO typed parameters.
//! - `vro/client.rs`: the vRO REST calls and their errors.
//! - `vro/actions.rs`: the `vro.workflow.*` actions.

use std::sync::Arc;

use shutter_runtime::Action;

pub mod config;
pub mod env;
pub mod tls;
pub mod vro;
pub mod vsphere;

pub use env::Env;

/// Every action of this provider: its catalog entry and its implementation.
/// vSphere sessions go to the process-wide cache; defaults come from the
/// process environment.
pub fn actions() -> Vec<(shutter_dsl::ActionSpec, Arc<dyn Action>)> {
    actions_with(
        vsphere::session::SessionCache::global().clone(),
        Env::process(),
    )
}

/// The actions with their own session cache and environment (tests).
pub fn actions_with(
    sessions: vsphere::session::SessionCache,
    env: Env,
) -> Vec<(shutter_dsl::ActionSpec, Arc<dyn Action>)> {
    let vro = vro::actions::actions(&env);
    let shared = vsphere::actions::Shared { sessions, env };
    let mut all = vsphere::actions::actions(&shared);
    all.extend(vro);
    all
}
