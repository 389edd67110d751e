//! What a `uses: wasm` step names: its module and what it may reach. The
//! compiler checks it; a [`ModuleRunner`] (the WebAssembly host) turns it
//! into the action that runs the step.

use std::sync::Arc;

use crate::action::Action;

/// A step's `wasm:` block, checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ModuleSpec {
    /// A path inside the modules directory, or an https URL.
    pub module: String,
    /// The pinned SHA-256, lower-case hex, or [`UNPINNED`] for a local
    /// module under development.
    pub sha256: String,
    /// Memory cap in bytes, when given.
    pub memory: Option<u64>,
    /// Hosts it may call over HTTP (components only).
    pub allow_http: Vec<String>,
    /// Secrets it may read with `secret()`.
    pub allow_secrets: Vec<String>,
    /// Environment variables it may read.
    pub allow_env: Vec<String>,
}

/// The pin of a local module under development (`sha256: dev`): whatever
/// the file holds when the step runs. `shutter step pin` replaces it with
/// the file's hash; `shutter serve` refuses it unless `--allow-unpinned`.
pub const UNPINNED: &str = "dev";

/// Whether a `module` names a URL (to fetch) rather than a local file.
pub fn is_url(module: &str) -> bool {
    module.contains("://")
}

impl ModuleSpec {
    /// Whether the module is under development (`sha256: dev`).
    pub fn is_unpinned(&self) -> bool {
        self.sha256 == UNPINNED
    }
}

/// Makes the action that runs one module.
pub trait ModuleRunner: Send + Sync + std::fmt::Debug {
    fn action(&self, module: &ModuleSpec) -> Arc<dyn Action>;
}
