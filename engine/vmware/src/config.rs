//! The `vcenters` and `vro_servers` sections of Shutter's config file
//! (`shutter_core::config`): named connections, so a workflow says
//! `vcenter: prod` (or targets `vsphere://prod/vm-42`) or `vro: orchestrator`
//! while the operator keeps URLs, users, passwords and CA files out of
//! workflows.
//!
//! ```yaml
//! vcenters:
//!   prod:
//!     url: https://vc01.example.com/sdk
//!     username: svc-backup@vsphere.local
//!     password_env: VC01_PASSWORD      # or password_file, or password
//!     ca_file: vc01-ca.pem             # relative to this file
//! vro_servers:
//!   orchestrator:
//!     url: https://vro.example.com
//!     token_file: /run/secrets/vro     # bearer; or username + password_*
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use shutter_core::config::ConfigFile;

use crate::env::Env;
use crate::tls::Trust;
use crate::vro::client::{Auth, VroConfig};
use crate::vsphere::connection::ConnectionConfig;
use crate::vsphere::error::VsphereError;

pub use shutter_core::config::CONFIG_VAR;

/// The sections of Shutter's config file this crate reads.
pub const SECTIONS: &[&str] = &["vcenters", "vro_servers"];

const ONE_PASSWORD: &str = "give exactly one of password_env, password_file, password";

/// The VMware sections of the config file.
pub struct ShutterConfig {
    file: ConfigFile,
    vcenters: BTreeMap<String, NamedVcenter>,
    vro_servers: BTreeMap<String, NamedVro>,
}

/// One `vro_servers` entry: `username` + a password (basic auth, vRO 7)
/// or a token (bearer, vRO 8). No `Debug`: it may hold a secret. Here and
/// in [`NamedVcenter`], serde reads an absent `Option` field as `None`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedVro {
    url: String,
    username: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    token: Option<String>,
    token_env: Option<String>,
    token_file: Option<PathBuf>,
    #[serde(default)]
    insecure: bool,
    ca_file: Option<PathBuf>,
}

impl NamedVro {
    fn password(&self) -> Source<'_> {
        Source::of(&self.password, &self.password_env, &self.password_file)
    }

    fn token(&self) -> Source<'_> {
        Source::of(&self.token, &self.token_env, &self.token_file)
    }
}

impl NamedVcenter {
    fn password(&self) -> Source<'_> {
        Source::of(&self.password, &self.password_env, &self.password_file)
    }
}

/// Where a secret of the config file comes from: written inline, an
/// environment variable of the engine, or a file.
enum Source<'a> {
    None,
    Inline(&'a str),
    Env(&'a str),
    File(&'a Path),
    Several,
}

impl<'a> Source<'a> {
    fn of(inline: &'a Option<String>, env: &'a Option<String>, file: &'a Option<PathBuf>) -> Self {
        match (inline, env, file) {
            (None, None, None) => Self::None,
            (Some(value), None, None) => Self::Inline(value),
            (None, Some(var), None) => Self::Env(var),
            (None, None, Some(path)) => Self::File(path),
            _ => Self::Several,
        }
    }
}

/// One `vcenters` entry. No `Debug`: it may hold a password.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NamedVcenter {
    url: String,
    username: String,
    password: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
    #[serde(default)]
    insecure: bool,
    ca_file: Option<PathBuf>,
}

impl fmt::Debug for ShutterConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutterConfig")
            .field("path", &self.file.path())
            .field("vcenters", &self.vcenters.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn invalid(message: impl Into<String>) -> VsphereError {
    VsphereError::Invalid(message.into())
}

impl ShutterConfig {
    /// The config file, or `None` when there is none.
    pub fn load(env: &Env) -> Result<Option<Self>, VsphereError> {
        env.config()
            .map_err(|e| invalid(e.0))?
            .map(Self::from_file)
            .transpose()
    }

    /// The VMware sections of `file`, checked.
    pub fn from_file(file: ConfigFile) -> Result<Self, VsphereError> {
        let vcenters: BTreeMap<String, NamedVcenter> = file
            .section("vcenters")
            .map_err(|e| invalid(e.0))?
            .unwrap_or_default();
        let vro_servers: BTreeMap<String, NamedVro> = file
            .section("vro_servers")
            .map_err(|e| invalid(e.0))?
            .unwrap_or_default();
        for (name, entry) in &vcenters {
            if matches!(entry.password(), Source::None | Source::Several) {
                return Err(invalid(format!(
                    "{}: vcenters.{name}: {ONE_PASSWORD}",
                    file.at(&["vcenters", name])
                )));
            }
        }
        for (name, entry) in &vro_servers {
            let problem = match (entry.password(), entry.token(), &entry.username) {
                (Source::Several, _, _) => {
                    Some("give one of password_env, password_file, password")
                }
                (_, Source::Several, _) => Some("give one of token_env, token_file, token"),
                (Source::None, Source::None, _) => Some(
                    "give username + password_env | password_file | password (basic) or token_env | token_file | token (bearer)",
                ),
                (Source::None, _, _) | (_, Source::None, Some(_)) => None,
                (_, Source::None, None) => Some("a password needs a username"),
                _ => Some("give a password (basic) or a token (bearer), not both"),
            };
            if let Some(problem) = problem {
                return Err(invalid(format!(
                    "{}: vro_servers.{name}: {problem}",
                    file.at(&["vro_servers", name])
                )));
            }
        }
        Ok(Self {
            file,
            vcenters,
            vro_servers,
        })
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The names of the configured vCenter connections.
    pub fn vcenter_names(&self) -> impl Iterator<Item = &str> {
        self.vcenters.keys().map(String::as_str)
    }

    pub fn has_vcenter(&self, name: &str) -> bool {
        self.vcenters.contains_key(name)
    }

    /// The named connection, its password read now (from the engine's
    /// environment or a file), so a rotated password is picked up by the
    /// next step.
    pub fn vcenter(&self, name: &str, env: &Env) -> Result<ConnectionConfig, VsphereError> {
        let (entry, here) = self.entry(&self.vcenters, "vcenters", "vcenter", name)?;
        let password = self.secret(entry.password(), &here, "password", env)?;
        let trust = self.trust(entry.insecure, entry.ca_file.as_deref());
        let config = ConnectionConfig::new(&entry.url, &entry.username, &password, trust)
            .map_err(|e| e.context(&here))?;
        Ok(config.named(name))
    }

    /// The named vRO server, its password or token read now.
    pub fn vro(&self, name: &str, env: &Env) -> Result<VroConfig, VsphereError> {
        let (entry, here) = self.entry(&self.vro_servers, "vro_servers", "vro server", name)?;
        let auth = match (&entry.username, entry.token()) {
            (_, Source::None) => Auth::Basic {
                username: entry.username.clone().unwrap_or_default(),
                password: self.secret(entry.password(), &here, "password", env)?,
            },
            (_, token) => Auth::Bearer(self.secret(token, &here, "token", env)?),
        };
        let trust = self.trust(entry.insecure, entry.ca_file.as_deref());
        VroConfig::new(&entry.url, auth, trust).map_err(|e| invalid(format!("{here}: {e}")))
    }

    /// Entry `name` of `section` (whose entries are `entries`) and where it
    /// is, for messages; an unknown name is an error naming a `what`.
    fn entry<'m, T>(
        &self,
        entries: &'m BTreeMap<String, T>,
        section: &str,
        what: &str,
        name: &str,
    ) -> Result<(&'m T, String), VsphereError> {
        let entry = entries
            .get(name)
            .ok_or_else(|| self.unknown(what, name, entries.keys()))?;
        Ok((
            entry,
            format!("{}: {section}.{name}", self.path().display()),
        ))
    }

    /// The value of a secret the file points at.
    fn secret(
        &self,
        source: Source<'_>,
        here: &str,
        what: &str,
        env: &Env,
    ) -> Result<String, VsphereError> {
        match source {
            Source::Inline(value) => Ok(value.to_owned()),
            Source::Env(var) => env.get(var).ok_or_else(|| {
                invalid(format!(
                    "{here}.{what}_env: the engine's environment has no {var}"
                ))
            }),
            Source::File(file) => {
                let file = self.relative(file);
                let text = std::fs::read_to_string(&file).map_err(|e| {
                    invalid(format!(
                        "{here}.{what}_file: reading {}: {e}",
                        file.display()
                    ))
                })?;
                // Files written by `echo` end in a newline that is not part of it.
                Ok(text.trim_end_matches(['\r', '\n']).to_owned())
            }
            Source::None | Source::Several => Err(invalid(format!(
                "{here}: give exactly one of {what}_env, {what}_file, {what}"
            ))),
        }
    }

    /// An unknown name: the names there are, and the closest one.
    fn unknown<'a>(
        &self,
        what: &str,
        name: &str,
        known: impl Iterator<Item = &'a String>,
    ) -> VsphereError {
        let known: Vec<&str> = known.map(String::as_str).collect();
        let hint = shutter_core::suggest::closest(name, known.iter().copied())
            .map(|best| format!(" (did you mean `{best}`?)"))
            .unwrap_or_default();
        invalid(format!(
            "no {what} `{name}` in {}{hint}; it names: {}",
            self.path().display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ))
    }

    /// What a server's certificate is checked against: its `insecure` and
    /// `ca_file` (relative to the file).
    fn trust(&self, insecure: bool, ca_file: Option<&Path>) -> Trust {
        Trust {
            insecure,
            ca_file: ca_file.map(|f| self.relative(f)),
        }
    }

    /// Paths in the file are relative to the file, as in clouds.yaml.
    fn relative(&self, path: &Path) -> PathBuf {
        self.file.relative(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs)
    }

    fn parse(text: &str) -> Result<ShutterConfig, VsphereError> {
        let file =
            shutter_dsl::config_file::parse(Path::new("/etc/shutter/config.yaml"), text, SECTIONS)
                .map_err(|e| invalid(e.0))?;
        ShutterConfig::from_file(file)
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
    fn a_vro_server_needs_exactly_one_way_to_authenticate() {
        let entry =
            |body: &str| parse(&format!("vro_servers:\n  o:\n    url: https://vro\n{body}"));
        let bearer = entry("    token: t\n").unwrap();
        assert!(matches!(
            bearer.vro("o", &env(&[])).unwrap().auth,
            Auth::Bearer(ref token) if token == "t"
        ));
        let basic = entry("    username: u\n    password_env: P\n").unwrap();
        let vro = basic.vro("o", &env(&[("P", "pw")])).unwrap();
        assert_eq!(vro.api.as_str(), "https://vro/vco/api");
        assert_eq!(
            vro.auth,
            Auth::Basic {
                username: "u".into(),
                password: "pw".into()
            }
        );
        for (body, says) in [
            ("", "give username + password"),
            ("    password: p\n", "a password needs a username"),
            (
                "    username: u\n    password: p\n    token: t\n",
                "not both",
            ),
            ("    token: t\n    token_env: T\n", "one of token_env"),
        ] {
            let err = entry(body).unwrap_err().to_string();
            assert!(err.contains(says), "{body:?}: {err}");
        }
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
        let vars = shutter_core::Env::from_pairs(&[(CONFIG_VAR, path.to_str().unwrap())]);
        let source = shutter_dsl::config_file::YamlConfig::new(vars.clone(), SECTIONS.to_vec());
        let config = ShutterConfig::load(&Env::new(vars).with_config(std::sync::Arc::new(source)))
            .unwrap()
            .unwrap();
        assert_eq!(
            config.vcenter("a", &env(&[])).unwrap().password(),
            "from-file"
        );
    }
}
