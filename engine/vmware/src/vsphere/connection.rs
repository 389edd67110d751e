//! Which vCenter a step talks to, as whom, and how it trusts it: the
//! step's `vcenter` parameter (an object, or a connection named in
//! Shutter's config), else the connection its `vm`/`snapshot` reference
//! names, else govc's environment variables.

use std::fmt;

use reqwest::Url;
use serde_json::Value as Json;
use shutter_core::Files;
use shutter_core::secrets::Secrets;

use super::error::VsphereError;
use crate::config::ShutterConfig;
use crate::env::Env;
use crate::server::ServerParam;
use crate::tls::Trust;

/// A vCenter endpoint and its credentials.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ConnectionConfig {
    /// The SDK endpoint, `https://HOST[:PORT]/sdk`.
    pub url: Url,
    pub username: String,
    password: String,
    pub trust: Trust,
    /// The name of the connection in Shutter's config, when it came from there.
    pub name: Option<String>,
}

impl fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("url", &self.url.as_str())
            .field("username", &self.username)
            .field("trust", &self.trust)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn invalid(message: impl Into<String>) -> VsphereError {
    VsphereError::Invalid(message.into())
}

impl ConnectionConfig {
    /// `url` may be a bare host (`vc.example.com`): https and `/sdk` are added.
    pub fn new(
        url: &str,
        username: &str,
        password: &str,
        trust: Trust,
    ) -> Result<Self, VsphereError> {
        let (url, _, _) = normalize(url)?;
        if username.is_empty() {
            return Err(invalid(format!("vcenter {url}: no username")));
        }
        Ok(Self {
            url,
            username: username.to_owned(),
            password: password.to_owned(),
            trust,
            name: None,
        })
    }

    /// The same connection, known by a name from Shutter's config.
    #[must_use]
    pub fn named(mut self, name: &str) -> Self {
        self.name = Some(name.to_owned());
        self
    }

    /// Whether `reference` (a vCenter named in a `vsphere://` reference or
    /// a `vcenter` field) is this connection's name.
    pub fn is_called(&self, reference: &str) -> bool {
        self.name.as_deref() == Some(reference)
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The connection a step asks for, first found of:
    /// 1. its `vcenter` parameter: an object, or the name of a connection
    ///    in Shutter's config;
    /// 2. the connection its `vm` or `snapshot` reference names
    ///    (`vsphere://NAME/...` or a `connection` field), when Shutter's
    ///    config has one by that name;
    /// 3. `GOVC_URL`, `GOVC_USERNAME`, `GOVC_PASSWORD`, `GOVC_INSECURE` and
    ///    `GOVC_TLS_CA_CERTS`.
    ///
    /// Sources are never mixed, so a password from one is never sent to a
    /// URL another chose.
    pub fn from_step(
        params: &Json,
        secrets: &Secrets,
        env: &Env,
        files: &Files,
    ) -> Result<Self, VsphereError> {
        match params.get("vcenter") {
            Some(Json::Object(_)) => from_param(&params["vcenter"], secrets, files),
            Some(Json::String(name)) if !name.is_empty() => named(name, env),
            None | Some(Json::Null) => match referenced_connection(params, env)? {
                Some(config) => Ok(config),
                None => from_env(env),
            },
            Some(_) => Err(invalid(
                "parameter `vcenter` must be the name of a connection in Shutter's config or an object {url, username, password_secret, insecure, ca_file}",
            )),
        }
    }
}

/// A connection named in Shutter's config.
fn named(name: &str, env: &Env) -> Result<ConnectionConfig, VsphereError> {
    let config = ShutterConfig::load(env)?.ok_or_else(|| {
        invalid(format!(
            "vcenter `{name}` names a connection, but there is no Shutter config file: set {} or write ~/.config/shutter/config.yaml (docs/configuration.md)",
            crate::config::CONFIG_VAR
        ))
    })?;
    config.vcenter(name, env)
}

/// The connection a `vm` or `snapshot` reference names in Shutter's
/// config. None when the reference names no vCenter or names it by its
/// instanceUuid (the caller falls back to govc's variables, and the
/// instanceUuid is checked once connected); an error when it names one by
/// a name no config file knows.
fn referenced_connection(
    params: &Json,
    env: &Env,
) -> Result<Option<ConnectionConfig>, VsphereError> {
    let Some(name) = ["vm", "snapshot"]
        .iter()
        .filter_map(|param| params.get(*param))
        .find_map(reference_vcenter)
    else {
        return Ok(None);
    };
    if is_instance_uuid(name) {
        return Ok(None);
    }
    match ShutterConfig::load(env)? {
        Some(config) if config.has_vcenter(name) => config.vcenter(name, env).map(Some),
        Some(config) => Err(invalid(format!(
            "the reference names vcenter `{name}`, which is neither an instanceUuid nor a connection in {}",
            config.path().display()
        ))),
        None => Err(invalid(format!(
            "the reference names vcenter `{name}`, which is not an instanceUuid, and there is no Shutter config file naming connections (set {})",
            crate::config::CONFIG_VAR
        ))),
    }
}

/// The instanceUuid a step's `vm` or `snapshot` reference names its
/// vCenter by, when the step names no connection (no `vcenter`
/// parameter, no `connection` in the reference): the step then connects to
/// whichever known connection is that vCenter (`Shared::client`), so a
/// backup catalog entry of any vCenter restores without naming one.
pub(crate) fn referenced_instance_uuid(params: &Json) -> Option<&str> {
    if !matches!(params.get("vcenter"), None | Some(Json::Null)) {
        return None;
    }
    ["vm", "snapshot"]
        .iter()
        .filter_map(|param| params.get(*param))
        .find_map(reference_vcenter)
        .filter(|name| is_instance_uuid(name))
}

/// The vCenter a reference names: `vsphere://VCENTER/...`, or the
/// `connection` (else `vcenter`) field of an object reference.
fn reference_vcenter(value: &Json) -> Option<&str> {
    match value {
        Json::String(text) => text
            .trim()
            .strip_prefix("vsphere://")
            .and_then(|rest| rest.split('/').next()),
        Json::Object(map) => ["connection", "vcenter"]
            .iter()
            .find_map(|field| map.get(*field).and_then(Json::as_str)),
        _ => None,
    }
    .filter(|name| !name.is_empty())
}

/// vCenter instanceUuids are RFC 4122 UUIDs: 8-4-4-4-12 hex digits.
pub(crate) fn is_instance_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups
            .iter()
            .all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn from_param(
    value: &Json,
    secrets: &Secrets,
    files: &Files,
) -> Result<ConnectionConfig, VsphereError> {
    let param = ServerParam::parse("vcenter", value).map_err(invalid_param)?;
    let username = param
        .username
        .as_deref()
        .filter(|name| !name.is_empty())
        .ok_or_else(|| invalid("`vcenter.username` is missing"))?;
    let password = param
        .secret(
            "vcenter",
            "password_secret",
            param.password_secret.as_deref(),
            secrets,
        )
        .map_err(invalid_param)?;
    let trust = param.trust("vcenter", files).map_err(invalid_param)?;
    ConnectionConfig::new(&param.url, username, password, trust)
}

fn invalid_param(err: shutter_core::ActionError) -> VsphereError {
    VsphereError::Invalid(err.message().to_owned())
}

fn from_env(env: &Env) -> Result<ConnectionConfig, VsphereError> {
    let raw = env.get("GOVC_URL").ok_or_else(|| {
        invalid("no vCenter: give the step a `vcenter` parameter (a connection name or an object) or set GOVC_URL")
    })?;
    let (url, url_user, url_password) = normalize(&raw)?;
    let username = env
        .get("GOVC_USERNAME")
        .or(url_user)
        .ok_or_else(|| invalid("GOVC_URL is set but GOVC_USERNAME is not"))?;
    let password = env
        .get("GOVC_PASSWORD")
        .or(url_password)
        .ok_or_else(|| invalid("GOVC_URL is set but GOVC_PASSWORD is not"))?;
    let insecure = env
        .get("GOVC_INSECURE")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes"));
    let ca_file = env.get("GOVC_TLS_CA_CERTS").map(Into::into);
    ConnectionConfig::new(
        url.as_str(),
        &username,
        &password,
        Trust { insecure, ca_file },
    )
}

/// The SDK URL without credentials, and the credentials it carried.
fn normalize(raw: &str) -> Result<(Url, Option<String>, Option<String>), VsphereError> {
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("https://{raw}")
    };
    let mut url = Url::parse(&with_scheme).map_err(|e| invalid(format!("vcenter url: {e}")))?;
    if !matches!(url.scheme(), "https" | "http") || url.host_str().is_none() {
        return Err(invalid("vcenter url must be https://HOST[:PORT][/sdk]"));
    }
    let user = (!url.username().is_empty()).then(|| decode(url.username()));
    let password = url.password().map(decode);
    // Infallible for http(s) URLs with a host, checked above.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if url.path().is_empty() || url.path() == "/" {
        url.set_path("/sdk");
    }
    Ok((url, user, password))
}

fn decode(text: &str) -> String {
    // Userinfo is percent-encoded in a URL; govc users write it raw.
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs)
    }

    /// The connection of a step with no `vcenter` parameter nor reference,
    /// in an environment of `pairs`.
    fn without_params(pairs: &[(&str, &str)]) -> Result<ConnectionConfig, VsphereError> {
        ConnectionConfig::from_step(
            &json!({}),
            &Secrets::default(),
            &env(pairs),
            &Files::default(),
        )
    }

    #[test]
    fn govc_variables_are_the_default() {
        let config = without_params(&[
            ("GOVC_URL", "vc.example.com"),
            ("GOVC_USERNAME", "admin"),
            ("GOVC_PASSWORD", "pw"),
            ("GOVC_INSECURE", "1"),
        ])
        .unwrap();
        assert_eq!(config.url.as_str(), "https://vc.example.com/sdk");
        assert_eq!(config.username, "admin");
        assert_eq!(config.password(), "pw");
        assert!(config.trust.insecure);
        assert!(!format!("{config:?}").contains("pw"));
    }

    #[test]
    fn credentials_in_govc_url_are_taken_out_of_it() {
        let config =
            without_params(&[("GOVC_URL", "https://u%40corp:p%3Ass@vc:8443/sdk")]).unwrap();
        assert_eq!(config.url.as_str(), "https://vc:8443/sdk");
        assert_eq!(config.username, "u@corp");
        assert_eq!(config.password(), "p:ss");
        assert!(!config.trust.insecure);
    }

    #[test]
    fn the_step_parameter_takes_its_password_from_a_secret() {
        let secrets = Secrets::new([("vc".to_owned(), "s3cret".to_owned())].into());
        let params = json!({"vcenter": {"url": "https://vc/sdk", "username": "a", "password_secret": "vc", "ca_file": "ca.pem"}});
        let config = ConnectionConfig::from_step(
            &params,
            &secrets,
            &env(&[("GOVC_PASSWORD", "other")]),
            &Files::Anywhere {
                base: Some("/wf".into()),
            },
        )
        .unwrap();
        assert_eq!(config.password(), "s3cret");
        assert_eq!(
            config.trust.ca_file.as_deref(),
            Some(Path::new("/wf/ca.pem"))
        );
        assert!(!config.trust.insecure, "insecure is never the default");
        let missing = json!({"vcenter": {"url": "https://vc/sdk", "username": "a", "password_secret": "nope"}});
        let err = ConnectionConfig::from_step(&missing, &secrets, &env(&[]), &Files::default())
            .unwrap_err();
        assert!(err.to_string().contains("secret `nope`"), "{err}");
    }

    #[test]
    fn no_connection_at_all_is_a_clear_error() {
        let err = without_params(&[]).unwrap_err();
        assert!(err.to_string().contains("GOVC_URL"), "{err}");
    }
}
