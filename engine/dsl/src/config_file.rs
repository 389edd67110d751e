//! Reading Shutter's config file (YAML) into `shutter_core::ConfigFile`:
//! the YAML parser stays here, with the language, and the crates that own
//! the sections read them as typed values (`ConfigFile::section`), with
//! mistakes located by this file's span index.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;
use shutter_core::config::{self, ConfigError, ConfigFile, ConfigSource};
use shutter_core::env::Env;

use crate::path::YamlPath;
use crate::source::Source;
use crate::span_index::SpanIndex;

/// Parses `text` (the file at `path`). `sections` lists the sections some
/// crate reads; any other top-level key is a mistake (a typo would
/// otherwise be ignored).
pub fn parse(path: &Path, text: &str, sections: &[&str]) -> Result<ConfigFile, ConfigError> {
    let source = Arc::new(Source::new(path.display().to_string(), text));
    let index = Arc::new(SpanIndex::build(&source));
    let locate = {
        let (source, index) = (source.clone(), index.clone());
        move |keys: &[&str]| {
            let path = keys
                .iter()
                .fold(YamlPath::root(), |path, key| match key.parse::<usize>() {
                    Ok(i) => path.index(i),
                    Err(_) => path.key(key),
                });
            let (found, span) = index.lookup(&path)?;
            if found != path {
                return None;
            }
            let at = span.key.as_ref().map_or(span.value.start, |key| key.start);
            Some(source.line_col(at))
        }
    };
    let at = |keys: &[&str]| -> String {
        locate(keys).map_or_else(
            || path.display().to_string(),
            |(line, column)| format!("{}:{line}:{column}", path.display()),
        )
    };
    let root: Json = if text.trim().is_empty() {
        Json::Object(serde_json::Map::new())
    } else {
        serde_yaml::from_str(text).map_err(|err| {
            let place = err
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            ConfigError(format!("{}{place}: {err}", path.display()))
        })?
    };
    let Json::Object(root) = root else {
        return Err(ConfigError(format!(
            "{}: the config file is a map of sections ({})",
            at(&[]),
            sections.join(", ")
        )));
    };
    let mut found = BTreeMap::new();
    for (name, value) in root {
        if !sections.contains(&name.as_str()) {
            let hint = shutter_core::suggest::help_for(&name, sections)
                .map_or_else(String::new, |help| format!("; {help}"));
            return Err(ConfigError(format!(
                "{}: unknown section `{name}`{hint}",
                at(&[&name])
            )));
        }
        found.insert(name, value);
    }
    Ok(ConfigFile::new(path.to_path_buf(), found, Arc::new(locate)))
}

/// YAML text to JSON, for providers that read YAML files of their own.
pub fn yaml_reader() -> shutter_core::config::ReadYaml {
    Arc::new(|text: &str| serde_yaml::from_str(text).map_err(|err| err.to_string()))
}

/// Reads and parses the file at `path`.
pub fn read(path: &Path, sections: &[&str]) -> Result<ConfigFile, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| ConfigError(format!("reading {}: {err}", path.display())))?;
    parse(path, &text, sections)
}

/// The config file where the environment says (`SHUTTER_CONFIG`, the
/// user's, the system's), read each time it is asked for.
#[derive(Debug, Clone)]
pub struct YamlConfig {
    env: Env,
    sections: Vec<&'static str>,
}

impl YamlConfig {
    /// `sections`: every section a crate of this binary reads.
    pub fn new(env: Env, sections: Vec<&'static str>) -> Self {
        Self { env, sections }
    }

    /// Where the file is, when there is one.
    pub fn path(&self) -> Result<Option<PathBuf>, ConfigError> {
        config::locate(&self.env)
    }
}

impl ConfigSource for YamlConfig {
    fn load(&self) -> Result<Option<ConfigFile>, ConfigError> {
        self.path()?
            .map(|path| read(&path, &self.sections))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECTIONS: &[&str] = &["vcenters", "vro_servers"];

    #[test]
    fn mistakes_point_at_line_and_column() {
        let path = Path::new("/etc/shutter/config.yaml");
        let file = parse(
            path,
            "vcenters:\n  prod:\n    url: x\n    pasword: p\n",
            SECTIONS,
        )
        .expect("parses");
        assert_eq!(
            file.at(&["vcenters", "prod", "url"]),
            "/etc/shutter/config.yaml:3:5"
        );
        let err = parse(path, "vcenter:\n  prod: {}\n", SECTIONS).expect_err("typo");
        assert!(
            err.0
                .contains("config.yaml:1:1: unknown section `vcenter`; did you mean `vcenters`?"),
            "{err}"
        );
        let err = parse(path, "vcenters: {}\nbackups: {}\n", SECTIONS).expect_err("unknown");
        assert!(
            err.0.contains(
                "config.yaml:2:1: unknown section `backups`; expected one of `vcenters`, `vro_servers`"
            ),
            "{err}"
        );
        let err = parse(path, "vcenters: [1\n", SECTIONS).expect_err("syntax");
        assert!(err.0.starts_with("/etc/shutter/config.yaml:"), "{err}");
        assert!(
            parse(path, "", SECTIONS)
                .expect("empty")
                .section_names()
                .next()
                .is_none()
        );
    }
}
