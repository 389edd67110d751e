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
    verify: Option<bool>,
    insecure: Option<bool>,
    #[serde(flatten)]
    rest: BTreeMap<String, Json>,
}

impl Cloud {
    pub(crate) fn from_raw(name: &str, raw: Json) -> Result<Self, String> {
        let raw: RawCloud = serde_json::from_value(raw).map_err(|e| e.to_string())?;
        if let Some(version) = &raw.identity_api_version {
            let text = version.to_string().replace('"', "");
            if !text.starts_with('3') {
                return Err(format!(
                    "identity_api_version {text}: only Keystone v3 is supported"
                ));
            }
        }
        let text = |key: &str| -> Option<String> {
            match raw.auth.get(key) {
                Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Json::Number(n)) => Some(n.to_string()),
                _ => None,
            }
        };
        let mut endpoint_overrides = BTreeMap::new();
        for (key, value) in &raw.rest {
            if let (Some(service), Some(url)) =
                (key.strip_suffix("_endpoint_override"), value.as_str())
            {
                endpoint_overrides.insert(service.replace('_', "-"), url.to_owned());
            }
        }
        let endpoint_override = raw.endpoint_override.clone().or_else(|| text("endpoint"));
        let has_override = endpoint_override.is_some() || !endpoint_overrides.is_empty();
        let kind = match raw.auth_type.as_deref() {
            Some(kind) => kind.to_ascii_lowercase().replace(['-', '_'], ""),
            None if text("application_credential_secret").is_some() => {
                "v3applicationcredential".to_owned()
            }
            None if text("auth_url").is_none() && has_override => "none".to_owned(),
            None => "password".to_owned(),
        };
        let auth_url = || text("auth_url").ok_or("`auth.auth_url` is required");
        let default_domain = Named {
            domain_id: text("default_domain_id"),
            domain_name: text("default_domain_name"),
            ..Named::default()
        };
        let auth = match kind.as_str() {
            "password" | "v3password" => {
                let user = Named {
                    id: text("user_id"),
                    name: text("username"),
                    domain_id: text("user_domain_id").or_else(|| default_domain.domain_id.clone()),
                    domain_name: text("user_domain_name")
                        .or_else(|| default_domain.domain_name.clone()),
                };
                if user.id.is_none() && user.name.is_none() {
                    return Err("`auth.username` or `auth.user_id` is required".to_owned());
                }
                let project = Named {
                    id: text("project_id").or_else(|| text("tenant_id")),
                    name: text("project_name").or_else(|| text("tenant_name")),
                    domain_id: text("project_domain_id")
                        .or_else(|| default_domain.domain_id.clone()),
                    domain_name: text("project_domain_name")
                        .or_else(|| default_domain.domain_name.clone()),
                };
                let domain = Named {
                    id: text("domain_id"),
                    name: text("domain_name"),
                    ..Named::default()
                };
                Auth::Password {
                    auth_url: auth_url()?,
                    password: Secret(text("password").ok_or("`auth.password` is required")?),
                    user,
                    project: (project.id.is_some() || project.name.is_some()).then_some(project),
                    domain: (domain.id.is_some() || domain.name.is_some()).then_some(domain),
                }
            }
            "v3applicationcredential" | "applicationcredential" => {
                let user = Named {
                    id: text("user_id"),
                    name: text("username"),
                    domain_id: text("user_domain_id"),
                    domain_name: text("user_domain_name"),
                };
                let (id, name) = (
                    text("application_credential_id"),
                    text("application_credential_name"),
                );
                if id.is_none() && name.is_none() {
                    return Err(
                        "`auth.application_credential_id` (or `_name` with the user) is required"
                            .to_owned(),
                    );
                }
                Auth::ApplicationCredential {
                    auth_url: auth_url()?,
                    id,
                    name,
                    user: (user.id.is_some() || user.name.is_some()).then_some(user),
                    secret: Secret(
                        text("application_credential_secret")
                            .ok_or("`auth.application_credential_secret` is required")?,
                    ),
                }
            }
            "none" | "noauth" => {
                if !has_override {
                    return Err("`auth_type: none` needs an endpoint: `endpoint_override`, `auth.endpoint` or `<service>_endpoint_override`".to_owned());
                }
                Auth::None
            }
            other => {
                return Err(format!(
                    "auth_type `{other}` is not supported (password, v3applicationcredential, none)"
                ));
            }
        };
        let interface = raw.interface.or(raw.endpoint_type).map_or_else(
            || "public".to_owned(),
            |i| i.to_ascii_lowercase().trim_end_matches("url").to_owned(),
        );
        if !["public", "internal", "admin"].contains(&interface.as_str()) {
            return Err(format!(
                "interface `{interface}`: expected public, internal or admin"
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            auth,
            region: raw.region_name.filter(|r| !r.is_empty()),
            interface,
            endpoint_overrides,
            endpoint_override,
            verify_tls: raw.verify.unwrap_or(true) && !raw.insecure.unwrap_or(false),
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
