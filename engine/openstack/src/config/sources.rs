//! Where configuration comes from: environment variables and the
//! directories searched for `clouds.yaml` and `secure.yaml`.
//!
//! The environment is a map held here rather than read from the process at
//! each use, so tests (which run in parallel in one process) can each point
//! at their own files without touching the process environment.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;
use shutter_core::config::ReadYaml;

/// The environment and the search directories for one configuration lookup.
#[derive(Clone)]
pub struct ConfigSources {
    /// `OS_*` variables (others are ignored).
    pub env: HashMap<String, String>,
    /// Searched first (`./clouds.yaml`), when set.
    pub cwd: Option<PathBuf>,
    /// `~/.config/openstack` (or `$XDG_CONFIG_HOME/openstack`), when set.
    pub user_dir: Option<PathBuf>,
    /// `/etc/openstack`, when set.
    pub site_dir: Option<PathBuf>,
    /// How `clouds.yaml` is read (the binary hands one over; by default
    /// only JSON, which `clouds.json` is).
    pub yaml: ReadYaml,
}

impl Default for ConfigSources {
    fn default() -> Self {
        Self {
            env: HashMap::new(),
            cwd: None,
            user_dir: None,
            site_dir: None,
            yaml: Arc::new(|text: &str| {
                serde_json::from_str::<Json>(text).map_err(|err| {
                    format!("{err} (this engine reads clouds files as JSON only: it was given no YAML reader)")
                })
            }),
        }
    }
}

impl std::fmt::Debug for ConfigSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigSources")
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("cwd", &self.cwd)
            .field("user_dir", &self.user_dir)
            .field("site_dir", &self.site_dir)
            .finish_non_exhaustive()
    }
}

impl ConfigSources {
    /// What openstacksdk would read in this process.
    pub fn from_process() -> Self {
        let env: HashMap<String, String> = std::env::vars()
            .filter(|(key, _)| key.starts_with("OS_"))
            .collect();
        let user_dir = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))
            .map(|dir| dir.join("openstack"));
        Self {
            env,
            cwd: std::env::current_dir().ok(),
            user_dir,
            site_dir: Some(PathBuf::from("/etc/openstack")),
            ..Self::default()
        }
    }

    /// Reads YAML files with `yaml`.
    #[must_use]
    pub fn with_yaml(mut self, yaml: ReadYaml) -> Self {
        self.yaml = yaml;
        self
    }

    /// Only the given variables and no search directories: the files are
    /// the ones `OS_CLIENT_CONFIG_FILE` / `OS_CLIENT_SECURE_FILE` name.
    pub fn isolated<K: Into<String>, V: Into<String>>(
        env: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            env: env.into_iter().map(|(k, v)| (k.into(), v.into())).collect(),
            ..Self::default()
        }
    }

    #[must_use]
    pub fn with_var(mut self, key: &str, value: impl Into<String>) -> Self {
        self.env.insert(key.to_owned(), value.into());
        self
    }

    pub fn var(&self, key: &str) -> Option<&str> {
        self.env
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The first existing file among the candidates for `stem` (`clouds` or
    /// `secure`), in openstacksdk's order: the file the variable names, then
    /// the current directory, the user's and the site's directory.
    pub(crate) fn find(&self, stem: &str, variable: &str) -> Option<PathBuf> {
        let named = self.var(variable).map(PathBuf::from);
        let dirs = [&self.cwd, &self.user_dir, &self.site_dir];
        let searched = dirs
            .into_iter()
            .flatten()
            .flat_map(|dir| ["yaml", "yml", "json"].map(|ext| dir.join(format!("{stem}.{ext}"))));
        named
            .into_iter()
            .chain(searched)
            .find(|path| path.is_file())
    }
}
