//! vRealize Orchestrator over its REST API (`/vco/api`).

pub(crate) mod actions;
pub mod client;
pub mod params;
