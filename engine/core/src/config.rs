//! Shutter's config file: one YAML file for the whole product, found at
//! `SHUTTER_CONFIG` (which must exist when set), else
//! `$XDG_CONFIG_HOME/shutter/config.yaml` (`~/.config/shutter/config.yaml`),
//! else `/etc/shutter/config.yaml`.
//!
//! Its sections belong to the crates that read them (`vcenters` and
//! `vro_servers` to the VMware provider): a crate takes its section as a
//! typed struct with [`ConfigFile::section`], and a mistake is reported at
//! the file's line and column. The file is read by a [`ConfigSource`] —
//! the YAML reader lives with the language (`shutter_dsl::config_file`), so
//! providers do not compile a YAML parser — each time a step needs it, so
//! an edit or a rotated password applies at the next step.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::env::Env;

/// The variable naming the config file; when set, the file must exist.
pub const CONFIG_VAR: &str = "SHUTTER_CONFIG";

const SYSTEM_PATH: &str = "/etc/shutter/config.yaml";
/// Where Shutter looks for its config file, in order (see [`locate`]), for
/// messages about a file that was not found.
pub const SEARCHED: &str = "`SHUTTER_CONFIG`, then `$XDG_CONFIG_HOME/shutter/config.yaml` (else `~/.config/shutter/config.yaml`), then `/etc/shutter/config.yaml`";

/// A mistake in the config file, or in finding or reading it; it names the
/// file and, when known, the line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where a dotted path of the file (`vcenters.prod.url`) is: line and
/// column, 1-based.
pub type Locate = dyn Fn(&[&str]) -> Option<(usize, usize)> + Send + Sync;

/// The config file, read.
#[derive(Clone)]
pub struct ConfigFile {
    path: PathBuf,
    sections: BTreeMap<String, Json>,
    locate: Arc<Locate>,
}

impl fmt::Debug for ConfigFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sections may hold secrets: only their names.
        f.debug_struct("ConfigFile")
            .field("path", &self.path)
            .field("sections", &self.sections.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl ConfigFile {
    /// A file read by a [`ConfigSource`]: its top-level sections, and how
    /// to find where a path is written.
    pub fn new(path: PathBuf, sections: BTreeMap<String, Json>, locate: Arc<Locate>) -> Self {
        Self {
            path,
            sections,
            locate,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of the file's sections.
    pub fn section_names(&self) -> impl Iterator<Item = &str> {
        self.sections.keys().map(String::as_str)
    }

    /// Section `name` as `T`, or `None` when the file has none. A mistake
    /// (an unknown key, a wrong type) names `file:line:col` and the path.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        let Some(value) = self.sections.get(name) else {
            return Ok(None);
        };
        serde_path_to_error::deserialize(value)
            .map(Some)
            .map_err(|err| {
                let inner = err.path().to_string();
                let why = err.inner().to_string();
                let mut path: Vec<&str> = vec![name];
                if inner != "." {
                    path.extend(inner.split('.'));
                }
                // Some deserializers name an unknown key only in the
                // message, not the path: point at it all the same.
                if let Some(key) = why
                    .strip_prefix("unknown field `")
                    .and_then(|rest| rest.split('`').next())
                    && path.last() != Some(&key)
                {
                    path.push(key);
                }
                let shown = path.join(".");
                ConfigError(format!("{}: {shown}: {why}", self.at(&path)))
            })
    }

    /// `file:line:col` of a path of the file (the file alone when unknown).
    pub fn at(&self, path: &[&str]) -> String {
        // The path of an unknown field ends at the map that holds it; the
        // message names the field, and its map's place is near enough.
        let mut path = path.to_vec();
        loop {
            if let Some((line, column)) = (self.locate)(&path) {
                return format!("{}:{line}:{column}", self.path.display());
            }
            if path.pop().is_none() {
                return self.path.display().to_string();
            }
        }
    }

    /// A file the config names, relative to the config file's directory
    /// (as in clouds.yaml).
    pub fn relative(&self, file: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if file.is_relative() => dir.join(file),
            _ => file.to_owned(),
        }
    }
}

/// Reads YAML text into a JSON value. A provider that reads YAML files of
/// its own (OpenStack's `clouds.yaml`) is handed one by the binary
/// (`shutter_dsl::config_file::yaml_reader`), so it compiles no YAML parser.
pub type ReadYaml = Arc<dyn Fn(&str) -> Result<Json, String> + Send + Sync>;

/// Reads the config file when asked (each time, so edits apply at once).
pub trait ConfigSource: Send + Sync + fmt::Debug {
    /// The config file, or `None` when there is none.
    fn load(&self) -> Result<Option<ConfigFile>, ConfigError>;
}

/// No config file: for tests and for embedding without one.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoConfig;

impl ConfigSource for NoConfig {
    fn load(&self) -> Result<Option<ConfigFile>, ConfigError> {
        Ok(None)
    }
}

/// The config file `env` points at, if there is one (see the module docs).
pub fn locate(env: &Env) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(path) = env.get(CONFIG_VAR) {
        let path = PathBuf::from(path);
        if !path.is_file() {
            return Err(ConfigError(format!(
                "{CONFIG_VAR} names {}, which is not a file",
                path.display()
            )));
        }
        return Ok(Some(path));
    }
    let user_dir = env
        .get("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env.get("HOME").map(|home| Path::new(&home).join(".config")));
    let candidates = user_dir
        .map(|dir| dir.join("shutter").join("config.yaml"))
        .into_iter()
        .chain([PathBuf::from(SYSTEM_PATH)]);
    Ok(candidates.into_iter().find(|path| path.is_file()))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Entry {
        #[allow(dead_code, reason = "read by the test through Debug")]
        url: String,
    }

    fn file() -> ConfigFile {
        let sections = [(
            "things".to_owned(),
            json!({"a": {"url": "x", "pasword": 1}}),
        )]
        .into_iter()
        .collect();
        ConfigFile::new(
            PathBuf::from("/etc/shutter/config.yaml"),
            sections,
            Arc::new(|path: &[&str]| match path {
                ["things", "a"] => Some((2, 3)),
                ["things"] => Some((1, 1)),
                _ => None,
            }),
        )
    }

    #[test]
    fn a_mistake_in_a_section_names_the_file_line_and_path() {
        let err = file()
            .section::<BTreeMap<String, Entry>>("things")
            .expect_err("unknown field");
        assert!(
            err.0
                .starts_with("/etc/shutter/config.yaml:2:3: things.a.pasword: unknown field"),
            "{err}"
        );
        assert!(err.0.contains("pasword"), "{err}");
        assert!(file().section::<Json>("absent").expect("fine").is_none());
        assert_eq!(
            file().relative(Path::new("ca.pem")),
            PathBuf::from("/etc/shutter/ca.pem")
        );
    }

    #[test]
    fn the_file_is_found_by_variable_then_user_dir() {
        let dir = tempfile::tempdir().expect("temp dir");
        let user = dir.path().join("shutter").join("config.yaml");
        std::fs::create_dir_all(user.parent().expect("a parent")).expect("dirs");
        std::fs::write(&user, "").expect("written");
        let home = dir.path().to_str().expect("utf-8");
        let found = locate(&Env::from_pairs(&[("XDG_CONFIG_HOME", home)])).expect("found");
        assert_eq!(found.as_deref(), Some(user.as_path()));
        let err = locate(&Env::from_pairs(&[(
            CONFIG_VAR,
            "/nonexistent/shutter.yaml",
        )]))
        .expect_err("missing");
        assert!(err.0.contains("SHUTTER_CONFIG"), "{err}");
    }
}
