//! A server as a step writes it inline, `{url, username, password_secret,
//! insecure, ca_file}` (vRO also `token_secret`): read once, typed, for
//! vCenter and vRO alike.

use serde::Deserialize;
use serde_json::Value as Json;
use shutter_core::files::Use;
use shutter_core::{ActionError, Files, Secrets, parse_param};

use crate::tls::Trust;

/// The fields of an inline server parameter. A field of the wrong type is
/// an error naming it (`parameter `vcenter.insecure`: ...`).
#[derive(Debug, Deserialize)]
pub struct ServerParam {
    #[serde(deserialize_with = "shutter_core::params::required")]
    pub url: String,
    // An empty value (an unset input) is the same as none given.
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    pub password_secret: Option<String>,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    pub token_secret: Option<String>,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    pub insecure: Option<bool>,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    pub ca_file: Option<String>,
}

impl ServerParam {
    /// Parameter `param` (`vcenter`, `vro`) read as a server.
    pub fn parse(param: &str, value: &Json) -> Result<Self, ActionError> {
        parse_param(param, value)
    }

    /// How to trust the server; a CA file must be one the step may read.
    pub fn trust(&self, param: &str, files: &Files) -> Result<Trust, ActionError> {
        let ca_file = self
            .ca_file
            .as_deref()
            .filter(|path| !path.is_empty())
            .map(|path| files.resolve(path, Use::Read))
            .transpose()
            .map_err(|e| ActionError::fatal(format!("`{param}.ca_file`: {e}")))?;
        Ok(Trust {
            insecure: self.insecure.unwrap_or(false),
            ca_file,
        })
    }

    /// The secret a field (`password_secret`) names, granted to the step.
    pub fn secret<'s>(
        &self,
        param: &str,
        field: &str,
        name: Option<&str>,
        secrets: &'s Secrets,
    ) -> Result<&'s str, ActionError> {
        let name = name.filter(|n| !n.is_empty()).ok_or_else(|| {
            ActionError::fatal(format!(
                "`{param}.{field}` is missing: name a secret granted to the step"
            ))
        })?;
        secrets.granted(&format!("{param}.{field}"), name)
    }
}
