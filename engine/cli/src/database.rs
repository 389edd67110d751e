//! The `database:` section of Shutter's config file: the store to use when
//! neither `--db` nor `SHUTTER_DB` names one, and the password of a
//! PostgreSQL URL that carries none — so a service's unit file or command
//! line never holds it.
//!
//! ```yaml
//! database:
//!   url: postgres://shutter@db.internal/shutter
//!   password_file: /run/secrets/shutter-db   # or password_env, or password
//! ```
//!
//! A password in the URL itself wins; without one here either, libpq's
//! password file (`PGPASSFILE`, `~/.pgpass`) is read.

use std::path::PathBuf;

use anyhow::Context as _;
use serde::Deserialize;

/// The section's name.
pub(crate) const SECTION: &str = "database";

/// The section as written, every key optional. No `Debug`: it may hold a
/// password.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Database {
    pub(crate) url: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
    password_file: Option<PathBuf>,
}

/// The section, with where the config file is for messages.
pub(crate) struct Configured {
    pub(crate) database: Database,
    /// `file:line:col` of the section.
    at: String,
    file: shutter_core::ConfigFile,
}

impl Configured {
    /// The section of the config file, if the file has one.
    pub(crate) fn load() -> anyhow::Result<Option<Self>> {
        use shutter_core::ConfigSource as _;
        let Some(file) = crate::db::config_source().load()? else {
            return Ok(None);
        };
        let Some(database) = file.section::<Database>(SECTION)? else {
            return Ok(None);
        };
        Ok(Some(Self {
            database,
            at: file.at(&[SECTION]),
            file,
        }))
    }

    /// The password the section gives, if any: exactly one of
    /// `password_env`, `password_file` and `password`. Errors name the
    /// file and the key, never the value.
    pub(crate) fn password(&self) -> anyhow::Result<Option<String>> {
        let Database {
            password,
            password_env,
            password_file,
            ..
        } = &self.database;
        let given = [
            password.is_some(),
            password_env.is_some(),
            password_file.is_some(),
        ];
        if given.iter().filter(|set| **set).count() > 1 {
            anyhow::bail!(
                "{}: database: give at most one of password_env, password_file, password",
                self.at
            );
        }
        if let Some(password) = password {
            return Ok(Some(password.clone()));
        }
        if let Some(var) = password_env {
            let value = std::env::var(var).with_context(|| {
                format!(
                    "{}: database.password_env names {var}, which is not set",
                    self.file.at(&[SECTION, "password_env"])
                )
            })?;
            return Ok(Some(value));
        }
        if let Some(path) = password_file {
            let path = self.file.relative(path);
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "{}: database.password_file: reading {}",
                    self.file.at(&[SECTION, "password_file"]),
                    path.display()
                )
            })?;
            return Ok(Some(text.trim_end_matches(['\n', '\r']).to_owned()));
        }
        Ok(None)
    }
}
