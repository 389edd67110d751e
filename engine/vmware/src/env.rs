//! What the VMware actions read from around them: environment variables
//! (govc's `GOVC_*`, passwords the config file names) and Shutter's config
//! file (its `vcenters` and `vro_servers` sections). Both are injected, so
//! tests never change what other tests read.

use std::sync::Arc;

use shutter_core::config::{ConfigError, ConfigFile, ConfigSource, NoConfig};

/// Variables and the config file.
#[derive(Debug, Clone)]
pub struct Env {
    vars: shutter_core::Env,
    config: Arc<dyn ConfigSource>,
}

impl Env {
    /// The process environment, and no config file.
    pub fn process() -> Self {
        Self::new(shutter_core::Env::process())
    }

    /// Fixed variables, e.g. `Env::from_pairs(&[("GOVC_URL", "vc")])`, and
    /// no config file.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::new(shutter_core::Env::from_pairs(pairs))
    }

    /// Fixed variables from a map, and no config file.
    pub fn from_map(values: std::collections::HashMap<String, String>) -> Self {
        Self::new(shutter_core::Env::from_map(values))
    }

    pub fn new(vars: shutter_core::Env) -> Self {
        Self {
            vars,
            config: Arc::new(NoConfig),
        }
    }

    /// Where the config file comes from.
    #[must_use]
    pub fn with_config(mut self, config: Arc<dyn ConfigSource>) -> Self {
        self.config = config;
        self
    }

    /// A variable, when set and not empty.
    pub fn get(&self, name: &str) -> Option<String> {
        self.vars.get(name)
    }

    /// The config file as it is now.
    pub fn config(&self) -> Result<Option<ConfigFile>, ConfigError> {
        self.config.load()
    }
}
