//! The actions an engine can run: built-in ones by `uses:` name, and the
//! runner that makes an action of each `uses: wasm` step's module.

use std::collections::HashMap;
use std::sync::Arc;

use super::Action;
use crate::module::{ModuleRunner, ModuleSpec};

#[derive(Debug, Clone, Default)]
pub struct ActionRegistry {
    actions: HashMap<String, Arc<dyn Action>>,
    modules: Option<Arc<dyn ModuleRunner>>,
}

impl ActionRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn register(&mut self, name: &str, action: Arc<dyn Action>) {
        self.actions.insert(name.to_owned(), action);
    }

    /// What runs `uses: wasm` steps (the WebAssembly host).
    pub fn register_modules(&mut self, runner: Arc<dyn ModuleRunner>) {
        self.modules = Some(runner);
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Action>> {
        self.actions.get(name).cloned()
    }

    /// The action that runs `module`, when a module runner is registered.
    pub fn module(&self, module: &ModuleSpec) -> Option<Arc<dyn Action>> {
        self.modules.as_ref().map(|runner| runner.action(module))
    }
}
