//! A validated cloud: how to authenticate and where its services are.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A value that must never be printed (passwords, credential secrets).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A user, project or domain, by id or by name (within a domain).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Named {
    pub id: Option<String>,
    pub name: Option<String>,
    pub domain_id: Option<String>,
    pub domain_name: Option<String>,
}

/// How to get a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Auth {
    /// Keystone v3 `password`, scoped to a project or a domain when given.
    Password {
        auth_url: String,
        user: Named,
        password: Secret,
        project: Option<Named>,
        domain: Option<Named>,
    },
    /// Keystone v3 `application_credential` (scoped by the credential itself).
    ApplicationCredential {
        auth_url: String,
        id: Option<String>,
        name: Option<String>,
        user: Option<Named>,
        secret: Secret,
    },
    /// No Keystone: requests go unauthenticated to the endpoint overrides.
    None,
}

/// One cloud of clouds.yaml, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    pub name: String,
    pub auth: Auth,
    pub region: Option<String>,
    /// `public`, `internal` or `admin`.
    pub interface: String,
    /// Endpoints by service type (`image`, `compute`), overriding the catalog.
    pub endpoint_overrides: BTreeMap<String, String>,
    /// `endpoint_override` (or `auth.endpoint` with `auth_type: none`): any service.
    pub endpoint_override: Option<String>,
    /// Verify TLS certificates (`verify: false` or `insecure: true` turn it off).
    pub verify_tls: bool,
    /// Extra trusted CA certificates (`cacert`, `OS_CACERT`), a PEM file.
    pub cacert: Option<std::path::PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
struct RawCloud {
    auth_type: Option<String>,
    #[serde(default)]
    auth: BTreeMap<String, Json>,
    region_name: Option<String>,
    interface: Option<String>,
    endpoint_type: Option<String>,
    identity_api_version: Option<Json>,
    endpoint_override: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    verify: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    insecure: Option<bool>,
    cacert: Option<String>,
    #[serde(flatten)]
    rest: BTreeMap<String, Json>,
}

/// A yes/no setting as clouds.yaml writes it (`true`) or as a variable
/// gives it (`OS_INSECURE=true`).
fn flag<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    match Option::<Json>::deserialize(deserializer)? {
        // An empty value (`OS_INSECURE=`, `verify: ""`) is not given: it
        // must never turn certificate checks off.
        None | Some(Json::Null) => Ok(None),
        Some(Json::Bool(flag)) => Ok(Some(flag)),
        Some(Json::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
            "" => Ok(None),
            "true" | "yes" | "1" => Ok(Some(true)),
            "false" | "no" | "0" => Ok(Some(false)),
            _ => Err(serde::de::Error::custom(format!(
                "`{text}` is not true or false"
            ))),
        },
        Some(other) => Err(serde::de::Error::custom(format!(
            "{other} is not true or false"
        ))),
    }
}

impl Cloud {
    /// A cloud of clouds.yaml (or of `OS_*` variables), checked: Keystone
    /// v3 only, an auth type Shutter speaks, and what that type needs.
    pub(crate) fn from_raw(name: &str, raw: Json) -> Result<Self, String> {
        let raw: RawCloud = serde_json::from_value(raw).map_err(|e| e.to_string())?;
        check_identity_version(raw.identity_api_version.as_ref())?;
        let fields = AuthFields(&raw.auth);
        let endpoint_overrides = service_overrides(&raw.rest);
        let endpoint_override = raw
            .endpoint_override
            .clone()
            .or_else(|| fields.text("endpoint"));
        let has_override = endpoint_override.is_some() || !endpoint_overrides.is_empty();
        let auth = match auth_kind(&raw, &fields, has_override).as_str() {
            "password" | "v3password" => password(&fields)?,
            "v3applicationcredential" | "applicationcredential" => application_credential(&fields)?,
            "none" | "noauth" if has_override => Auth::None,
            "none" | "noauth" => {
                return Err("`auth_type: none` needs an endpoint: `endpoint_override`, `auth.endpoint` or `<service>_endpoint_override`".to_owned());
            }
            other => {
                return Err(format!(
                    "auth_type `{other}` is not supported (password, v3applicationcredential, none)"
                ));
            }
        };
        Ok(Self {
            name: name.to_owned(),
            auth,
            region: raw.region_name.clone().filter(|r| !r.is_empty()),
            interface: interface(&raw)?,
            endpoint_overrides,
            endpoint_override,
            verify_tls: raw.verify.unwrap_or(true) && !raw.insecure.unwrap_or(false),
            cacert: raw
                .cacert
                .filter(|path| !path.is_empty())
                .map(std::path::PathBuf::from),
        })
    }

    /// The configured endpoint of `service`, if any.
    pub fn endpoint_override(&self, service: &str) -> Option<&str> {
        self.endpoint_overrides
            .get(service)
            .or(self.endpoint_override.as_ref())
            .map(String::as_str)
    }
}

fn check_identity_version(version: Option<&Json>) -> Result<(), String> {
    let Some(version) = version else {
        return Ok(());
    };
    let text = version.to_string().replace('"', "");
    if text.starts_with('3') {
        Ok(())
    } else {
        Err(format!(
            "identity_api_version {text}: only Keystone v3 is supported"
        ))
    }
}

/// The `auth` map of a cloud: text values (numbers as their digits), an
/// empty string counting as not given.
struct AuthFields<'a>(&'a BTreeMap<String, Json>);

impl AuthFields<'_> {
    fn text(&self, key: &str) -> Option<String> {
        match self.0.get(key) {
            Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Json::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    fn required(&self, key: &str) -> Result<String, String> {
        self.text(key)
            .ok_or_else(|| format!("`auth.{key}` is required"))
    }

    /// A user, project or domain written as `<kind>_id`, `<kind>_name`
    /// (`project_*` also as the older `tenant_*`).
    fn named(&self, id: &[&str], name: &[&str]) -> Named {
        Named {
            id: id.iter().find_map(|key| self.text(key)),
            name: name.iter().find_map(|key| self.text(key)),
            ..Named::default()
        }
    }
}

/// `<service>_endpoint_override` keys, by service type (`image`, `compute`).
fn service_overrides(rest: &BTreeMap<String, Json>) -> BTreeMap<String, String> {
    rest.iter()
        .filter_map(|(key, value)| {
            let service = key.strip_suffix("_endpoint_override")?;
            Some((service.replace('_', "-"), value.as_str()?.to_owned()))
        })
        .collect()
}

/// The auth type, normalized (`v3password`); guessed when not written, as
/// openstacksdk does.
fn auth_kind(raw: &RawCloud, fields: &AuthFields<'_>, has_override: bool) -> String {
    match raw.auth_type.as_deref() {
        Some(kind) => kind.to_ascii_lowercase().replace(['-', '_'], ""),
        None if fields.text("application_credential_secret").is_some() => {
            "v3applicationcredential".to_owned()
        }
        None if fields.text("auth_url").is_none() && has_override => "none".to_owned(),
        None => "password".to_owned(),
    }
}

fn password(fields: &AuthFields<'_>) -> Result<Auth, String> {
    let default_domain_id = fields.text("default_domain_id");
    let default_domain_name = fields.text("default_domain_name");
    let user = Named {
        domain_id: fields
            .text("user_domain_id")
            .or_else(|| default_domain_id.clone()),
        domain_name: fields
            .text("user_domain_name")
            .or_else(|| default_domain_name.clone()),
        ..fields.named(&["user_id"], &["username"])
    };
    if user.id.is_none() && user.name.is_none() {
        return Err("`auth.username` or `auth.user_id` is required".to_owned());
    }
    let project = Named {
        domain_id: fields.text("project_domain_id").or(default_domain_id),
        domain_name: fields.text("project_domain_name").or(default_domain_name),
        ..fields.named(
            &["project_id", "tenant_id"],
            &["project_name", "tenant_name"],
        )
    };
    let domain = fields.named(&["domain_id"], &["domain_name"]);
    Ok(Auth::Password {
        auth_url: fields.required("auth_url")?,
        password: Secret(fields.required("password")?),
        user,
        project: (project.id.is_some() || project.name.is_some()).then_some(project),
        domain: (domain.id.is_some() || domain.name.is_some()).then_some(domain),
    })
}

fn application_credential(fields: &AuthFields<'_>) -> Result<Auth, String> {
    let user = Named {
        domain_id: fields.text("user_domain_id"),
        domain_name: fields.text("user_domain_name"),
        ..fields.named(&["user_id"], &["username"])
    };
    let (id, name) = (
        fields.text("application_credential_id"),
        fields.text("application_credential_name"),
    );
    if id.is_none() && name.is_none() {
        return Err(
            "`auth.application_credential_id` (or `_name` with the user) is required".to_owned(),
        );
    }
    Ok(Auth::ApplicationCredential {
        auth_url: fields.required("auth_url")?,
        id,
        name,
        user: (user.id.is_some() || user.name.is_some()).then_some(user),
        secret: Secret(fields.required("application_credential_secret")?),
    })
}

/// `public`, `internal` or `admin` (`interface`, or the older
/// `endpoint_type`, with any `URL` suffix dropped).
fn interface(raw: &RawCloud) -> Result<String, String> {
    let interface = raw
        .interface
        .clone()
        .or_else(|| raw.endpoint_type.clone())
        .map_or_else(
            || "public".to_owned(),
            |i| i.to_ascii_lowercase().trim_end_matches("url").to_owned(),
        );
    if ["public", "internal", "admin"].contains(&interface.as_str()) {
        Ok(interface)
    } else {
        Err(format!(
            "interface `{interface}`: expected public, internal or admin"
        ))
    }
}
