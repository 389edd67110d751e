//! Shutter's own config file, and its `vcenters` section: named vCenter
//! connections, so a workflow says `vcenter: prod` (or targets
//! `vsphere://prod/vm-42`) while the operator keeps URLs, users, passwords
//! and CA files out of workflows.
//!
//! ```yaml
//! vcenters:
//!   prod:
//!     url: https://vc01.example.com/sdk
//!     username: svc-backup@vsphere.local
//!     password_env: VC01_PASSWORD      # or password_file, or password
//!     ca_file: vc01-ca.pem             # relative to this file
//! ```
//!
//! Where it is: `SHUTTER_CONFIG`, else `$XDG_CONFIG_HOME/shutter/config.yaml`
//! (`~/.config/shutter/config.yaml`), else `/etc/shutter/config.yaml`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::env::Env;
use crate::tls::Trust;
use crate::vsphere::connection::ConnectionConfig;
use crate::vsphere::error::VsphereError;

/// The variable naming the config file; when set, the file must exist.
pub const CONFIG_VAR: &str = "SHUTTER_CONFIG";

const SYSTEM_PATH: &str = "/etc/shutter/config.yaml";

const ONE_PASSWORD: &str = "give exactly one of password_env, password_file, password";

/// The parsed config file.
pub struct ShutterConfig {
    path: PathBuf,
    vcenters: BTreeMap<String, NamedVcenter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    vcenters: BTreeMap<String, NamedVcenter>,
}

/// One `vcenters` entry. No `Debug`: it may hold a password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedVcenter {
    url: String,
    username: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_env: Option<String>,
    #[serde(default)]
    password_file: Option<PathBuf>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    ca_file: Option<PathBuf>,
}

impl fmt::Debug for ShutterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutterConfig")
            .field("path", &self.path)
            .field("vcenters", &self.vcenters.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn invalid(message: impl Into<String>) -> VsphereError {
    VsphereError::Invalid(message.into())
}

impl ShutterConfig {
    /// The config file the environment points at, if there is one.
    pub fn locate(env: &Env) -> Result<Option<PathBuf>, VsphereError> {
        if let Some(path) = env.get(CONFIG_VAR) {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(invalid(format!(
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

    /// The config file, or `None` when there is none.
    pub fn load(env: &Env) -> Result<Option<Self>, VsphereError> {
        Self::locate(env)?.map(|path| Self::read(&path)).transpose()
    }

    /// Reads and checks one file. Errors name `file:line:col`.
    pub fn read(path: &Path) -> Result<Self, VsphereError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| invalid(format!("reading {}: {e}", path.display())))?;
        Self::parse(path, &text)
    }

    fn parse(path: &Path, text: &str) -> Result<Self, VsphereError> {
        let shape: FileShape = if text.trim().is_empty() {
            FileShape {
                vcenters: BTreeMap::new(),
            }
        } else {
            serde_yaml::from_str(text).map_err(|e| {
                let at = e
                    .location()
                    .map(|l| format!(":{}:{}", l.line(), l.column()))
                    .unwrap_or_default();
                invalid(format!("{}{at}: {e}", path.display()))
            })?
        };
        for (name, entry) in &shape.vcenters {
            let sources = [
                entry.password.is_some(),
                entry.password_env.is_some(),
                entry.password_file.is_some(),
            ];
            if sources.iter().filter(|given| **given).count() != 1 {
                return Err(invalid(format!(
                    "{}: vcenters.{name}: {ONE_PASSWORD}",
                    path.display()
                )));
            }
        }
        Ok(Self {
            path: path.to_owned(),
            vcenters: shape.vcenters,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn has_vcenter(&self, name: &str) -> bool {
        self.vcenters.contains_key(name)
    }

    /// The named connection, its password read now (from the engine's
    /// environment or a file), so a rotated password is picked up by the
    /// next step.
    pub fn vcenter(&self, name: &str, env: &Env) -> Result<ConnectionConfig, VsphereError> {
        let entry = self.vcenters.get(name).ok_or_else(|| {
            let hint = shutter_dsl::closest(name, self.vcenters.keys().map(String::as_str))
                .map(|best| format!(" (did you mean `{best}`?)"))
                .unwrap_or_default();
            let known: Vec<&str> = self.vcenters.keys().map(String::as_str).collect();
            invalid(format!(
                "no vcenter `{name}` in {}{hint}; it names: {}",
                self.path.display(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ))
        })?;
        let here = |what: &str| format!("{}: vcenters.{name}.{what}", self.path.display());
        let password = match (&entry.password, &entry.password_env, &entry.password_file) {
            (Some(inline), None, None) => inline.clone(),
            (None, Some(var), None) => env.get(var).ok_or_else(|| {
                invalid(format!(
                    "{}: the engine's environment has no {var}",
                    here("password_env")
                ))
            })?,
            (None, None, Some(file)) => {
                let file = self.relative(file);
                let text = std::fs::read_to_string(&file).map_err(|e| {
                    invalid(format!(
                        "{}: reading {}: {e}",
                        here("password_file"),
                        file.display()
                    ))
                })?;
                // Files written by `echo` end in a newline that is not part of it.
                text.trim_end_matches(['\r', '\n']).to_owned()
            }
            _ => return Err(invalid(format!("{}: {ONE_PASSWORD}", here("password")))),
        };
        let trust = Trust {
            insecure: entry.insecure,
            ca_file: entry.ca_file.as_deref().map(|f| self.relative(f)),
        };
        let config = ConnectionConfig::new(&entry.url, &entry.username, &password, trust)
            .map_err(|e| e.context(&format!("{}: vcenters.{name}", self.path.display())))?;
        Ok(config.named(name))
    }

    /// Paths in the file are relative to the file, as in clouds.yaml.
    fn relative(&self, path: &Path) -> PathBuf {
        match self.path.parent() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_map(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<HashMap<_, _>>(),
        )
    }

    fn parse(text: &str) -> Result<ShutterConfig, VsphereError> {
        ShutterConfig::parse(Path::new("/etc/shutter/config.yaml"), text)
    }

    const TWO: &str = "vcenters:\n  prod:\n    url: vc01.example.com\n    username: svc\n    password_env: VC01_PASSWORD\n    ca_file: certs/vc01.pem\n  lab:\n    url: https://127.0.0.1:8989/sdk\n    username: user\n    password: pass\n    insecure: true\n";

    #[test]
    fn a_named_connection_reads_its_password_when_used() {
        let config = parse(TWO).unwrap();
        let prod = config
            .vcenter("prod", &env(&[("VC01_PASSWORD", "s3cret")]))
            .unwrap();
        assert_eq!(prod.url.as_str(), "https://vc01.example.com/sdk");
        assert_eq!(prod.username, "svc");
        assert_eq!(prod.password(), "s3cret");
        assert_eq!(prod.name.as_deref(), Some("prod"));
        assert_eq!(
            prod.trust.ca_file.as_deref(),
            Some(Path::new("/etc/shutter/certs/vc01.pem")),
            "relative to the config file"
        );
        assert!(!prod.trust.insecure, "insecure is never the default");
        assert!(config.vcenter("lab", &env(&[])).unwrap().trust.insecure);
        let err = config.vcenter("prod", &env(&[])).unwrap_err().to_string();
        assert!(err.contains("VC01_PASSWORD"), "{err}");
        assert!(!format!("{config:?}").contains("pass\""), "{config:?}");
    }

    #[test]
    fn an_unknown_name_suggests_the_closest() {
        let config = parse(TWO).unwrap();
        let err = config.vcenter("prd", &env(&[])).unwrap_err().to_string();
        assert!(err.contains("did you mean `prod`"), "{err}");
        assert!(err.contains("lab, prod"), "{err}");
    }

    #[test]
    fn mistakes_in_the_file_point_at_line_and_column() {
        let err = parse("vcenters:\n  prod:\n    url: x\n    username: u\n    pasword: p\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/etc/shutter/config.yaml:5:5"), "{err}");
        assert!(err.contains("pasword"), "{err}");
        let err = parse("vcenters:\n  prod:\n    url: x\n    username: u\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("exactly one of password_env"), "{err}");
        let err = parse("vcenters:\n  prod:\n    url: x\n    username: u\n    password: a\n    password_env: B\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("exactly one"), "{err}");
        assert!(parse("").unwrap().vcenters.is_empty());
        assert!(parse("vcenters: [1]").is_err());
    }

    #[test]
    fn a_password_file_loses_its_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pw"), "from-file\n").unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(
            &path,
            "vcenters:\n  a:\n    url: vc\n    username: u\n    password_file: pw\n",
        )
        .unwrap();
        let config = ShutterConfig::load(&env(&[(CONFIG_VAR, path.to_str().unwrap())]))
            .unwrap()
            .unwrap();
        assert_eq!(
            config.vcenter("a", &env(&[])).unwrap().password(),
            "from-file"
        );
    }

    #[test]
    fn the_file_is_found_by_variable_then_user_dir() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("shutter").join("config.yaml");
        std::fs::create_dir_all(user.parent().unwrap()).unwrap();
        std::fs::write(&user, "").unwrap();
        let found =
            ShutterConfig::locate(&env(&[("XDG_CONFIG_HOME", dir.path().to_str().unwrap())]))
                .unwrap();
        assert_eq!(found.as_deref(), Some(user.as_path()));
        let err = ShutterConfig::locate(&env(&[(CONFIG_VAR, "/nonexistent/shutter.yaml")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("SHUTTER_CONFIG"), "{err}");
    }
}
