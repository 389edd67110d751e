//! The places a deployment backs up to, as Shutter's config file lists
//! them (section `backups`, key `sync`), so a scheduled `backups.sync` or
//! a bare `shutter backups sync` reconciles every one without the list
//! being repeated in each workflow:
//!
//! ```yaml
//! backups:
//!   sync:
//!     aws_regions: [us-east-1, us-west-2]
//!     vcenters: [prod, dr]          # connections of the `vcenters` section
//!     clouds: [site-a]              # clouds.yaml entries
//! ```

use serde::Deserialize;
use shutter_core::config::{ConfigFile, ConfigSource, SEARCHED};

/// The config file's section this module reads.
pub(crate) const SECTION: &str = "backups";

/// Places to reconcile, from a step's parameters or the config file.
#[derive(Debug, Default, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Places {
    #[serde(default)]
    pub(crate) aws_regions: Vec<String>,
    #[serde(default)]
    pub(crate) aws_endpoint_url: Option<String>,
    #[serde(default)]
    pub(crate) vcenters: Vec<String>,
    #[serde(default)]
    pub(crate) clouds: Vec<String>,
}

impl Places {
    pub(crate) fn is_empty(&self) -> bool {
        self.aws_regions.is_empty() && self.vcenters.is_empty() && self.clouds.is_empty()
    }
}

/// The `backups` section: only `sync` today, a section of its own so that
/// what else the catalog comes to need has a home.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    #[serde(default)]
    sync: Places,
}

/// The places the config file lists, or why none can be had: no file, no
/// `backups.sync`, an empty list, or a mistake (named at its line).
pub(crate) fn configured(config: &dyn ConfigSource) -> Result<Places, String> {
    let file = config.load().map_err(|err| err.0)?.ok_or_else(|| {
        format!(
            "name at least one place (`aws_regions`, `vcenters` or `clouds`), or list them under `backups.sync` in Shutter's config file; there is none ({SEARCHED})"
        )
    })?;
    from_file(&file)
}

fn from_file(file: &ConfigFile) -> Result<Places, String> {
    let section: Option<Section> = file.section(SECTION).map_err(|err| err.0)?;
    let places = section.map(|s| s.sync).unwrap_or_default();
    if places.is_empty() {
        return Err(format!(
            "name at least one place (`aws_regions`, `vcenters` or `clouds`), or list them under `backups.sync` in {}",
            file.path().display()
        ));
    }
    Ok(places)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn file(text: &str) -> ConfigFile {
        shutter_dsl::config_file::parse(
            Path::new("/etc/shutter/config.yaml"),
            text,
            &[SECTION, "vcenters"],
        )
        .unwrap()
    }

    #[test]
    fn the_places_are_read_from_the_backups_section() {
        let places = from_file(&file(
            "vcenters: {}\nbackups:\n  sync:\n    aws_regions: [us-east-1]\n    aws_endpoint_url: http://127.0.0.1:5000\n    clouds: [site-a]\n",
        ))
        .unwrap();
        assert_eq!(
            places,
            Places {
                aws_regions: vec!["us-east-1".into()],
                aws_endpoint_url: Some("http://127.0.0.1:5000".into()),
                vcenters: vec![],
                clouds: vec!["site-a".into()],
            }
        );
    }

    #[test]
    fn a_mistake_is_named_at_its_line_and_an_empty_list_is_refused() {
        let err = from_file(&file("backups:\n  sync:\n    aws_region: [us-east-1]\n")).unwrap_err();
        assert!(
            err.starts_with("/etc/shutter/config.yaml:3:5: backups.sync.aws_region: unknown field"),
            "{err}"
        );
        for text in ["vcenters: {}\n", "backups:\n  sync: {}\n"] {
            let err = from_file(&file(text)).unwrap_err();
            assert!(
                err.contains("list them under `backups.sync` in /etc/shutter/config.yaml"),
                "{err}"
            );
        }
        let err = configured(&shutter_core::config::NoConfig).unwrap_err();
        assert!(err.contains("there is none (`SHUTTER_CONFIG`"), "{err}");
    }
}
