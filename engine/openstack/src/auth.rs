//! Keystone v3: getting a token (password or application credential) and
//! finding endpoints in its service catalog.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use shutter_core::ActionError;

use crate::config::{Auth, Cloud, Named, Secret};
use crate::error;

/// A Keystone token and what came with it.
#[derive(Debug)]
pub(crate) struct Token {
    pub(crate) id: Secret,
    pub(crate) expires_at: DateTime<Utc>,
    pub(crate) project_id: Option<String>,
    catalog: Vec<Service>,
}

#[derive(Debug, Clone, Deserialize)]
struct Service {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    endpoints: Vec<Endpoint>,
}

#[derive(Debug, Clone, Deserialize)]
struct Endpoint {
    interface: String,
    region_id: Option<String>,
    region: Option<String>,
    url: String,
}

#[derive(Debug, Deserialize)]
struct TokenBody {
    token: TokenFields,
}

#[derive(Debug, Deserialize)]
struct TokenFields {
    expires_at: DateTime<Utc>,
    project: Option<Json>,
    #[serde(default)]
    catalog: Vec<Service>,
}

impl Token {
    /// Whether the token is still good `margin` from now, so a call started
    /// with it does not expire halfway.
    pub(crate) fn fresh(&self, now: DateTime<Utc>, margin: chrono::Duration) -> bool {
        self.expires_at - margin > now
    }

    /// The URL of `service` (`image`, `compute`) for the cloud's interface
    /// and region.
    pub(crate) fn endpoint(&self, service: &str, cloud: &Cloud) -> Result<String, String> {
        let entries: Vec<&Endpoint> = self
            .catalog
            .iter()
            .filter(|s| s.kind == service)
            .flat_map(|s| &s.endpoints)
            .collect();
        if entries.is_empty() {
            return Err(format!(
                "no `{service}` service in the catalog of cloud `{}`",
                cloud.name
            ));
        }
        let in_region = |e: &&&Endpoint| match &cloud.region {
            None => true,
            Some(region) => {
                e.region_id.as_deref() == Some(region) || e.region.as_deref() == Some(region)
            }
        };
        entries
            .iter()
            .filter(in_region)
            .find(|e| e.interface == cloud.interface)
            .map(|e| e.url.clone())
            .ok_or_else(|| {
                let offered: Vec<String> = entries
                    .iter()
                    .map(|e| {
                        format!(
                            "{}/{}",
                            e.region_id
                                .as_deref()
                                .or(e.region.as_deref())
                                .unwrap_or("-"),
                            e.interface
                        )
                    })
                    .collect();
                format!(
                    "no `{service}` endpoint for interface `{}` in region `{}` (catalog has {})",
                    cloud.interface,
                    cloud.region.as_deref().unwrap_or("any"),
                    offered.join(", ")
                )
            })
    }
}

/// The Keystone v3 base URL: `auth_url` as given when it names v3, else with `/v3`.
fn identity_v3(auth_url: &str) -> String {
    let base = auth_url.trim_end_matches('/');
    if base.ends_with("/v3") {
        base.to_owned()
    } else {
        format!("{base}/v3")
    }
}

fn domain_ref(id: Option<&String>, name: Option<&String>) -> Json {
    match (id, name) {
        (Some(id), _) => json!({ "id": id }),
        (None, Some(name)) => json!({ "name": name }),
        // Keystone's own default domain, as openstacksdk assumes.
        (None, None) => json!({ "id": "default" }),
    }
}

fn named(thing: &Named) -> Json {
    match (&thing.id, &thing.name) {
        (Some(id), _) => json!({ "id": id }),
        (None, name) => json!({
            "name": name,
            "domain": domain_ref(thing.domain_id.as_ref(), thing.domain_name.as_ref()),
        }),
    }
}

/// The `POST /v3/auth/tokens` request body.
fn request_body(auth: &Auth) -> Option<(String, Json)> {
    match auth {
        Auth::Password {
            auth_url,
            user,
            password,
            project,
            domain,
        } => {
            let mut user_json = named(user);
            user_json["password"] = json!(password.0);
            let mut body = json!({ "auth": { "identity": {
                "methods": ["password"], "password": { "user": user_json } } } });
            if let Some(project) = project {
                body["auth"]["scope"] = json!({ "project": named(project) });
            } else if let Some(domain) = domain {
                body["auth"]["scope"] =
                    json!({ "domain": domain_ref(domain.id.as_ref(), domain.name.as_ref()) });
            }
            Some((identity_v3(auth_url), body))
        }
        Auth::ApplicationCredential {
            auth_url,
            id,
            name,
            user,
            secret,
        } => {
            let mut credential = json!({ "secret": secret.0 });
            if let Some(id) = id {
                credential["id"] = json!(id);
            } else {
                credential["name"] = json!(name);
                if let Some(user) = user {
                    credential["user"] = named(user);
                }
            }
            let body = json!({ "auth": { "identity": {
                "methods": ["application_credential"], "application_credential": credential } } });
            Some((identity_v3(auth_url), body))
        }
        Auth::None => None,
    }
}

/// Asks Keystone for a token. `None` for `auth_type: none`.
pub(crate) async fn authenticate(
    client: &reqwest::Client,
    cloud: &Cloud,
) -> Result<Option<Token>, ActionError> {
    let Some((base, body)) = request_body(&cloud.auth) else {
        return Ok(None);
    };
    let what = format!(
        "keystone authentication for cloud `{}` at {base}",
        cloud.name
    );
    let url = reqwest::Url::parse(&base)
        .map_err(|e| ActionError::fatal(format!("{what}: `auth_url` is not a URL: {e}")))
        .and_then(|base| shutter_kit::join(&base, &["auth", "tokens"]))?;
    let response = client
        .post(url)
        .json(&body)
        .timeout(std::time::Duration::from_secs(60))
        .send()
        .await
        .map_err(|e| shutter_kit::transport(&what, e))?;
    if !response.status().is_success() {
        return Err(error::status(&what, response).await);
    }
    let id = response
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| ActionError::fatal(format!("{what}: no X-Subject-Token in the answer")))?;
    // A token with its catalog is a few hundred KiB at most.
    let parsed: TokenBody = shutter_kit::json(&what, response, 16 << 20).await?;
    Ok(Some(Token {
        id: Secret(id),
        expires_at: parsed.token.expires_at,
        project_id: parsed
            .token
            .project
            .as_ref()
            .and_then(|p| p.get("id"))
            .and_then(Json::as_str)
            .map(str::to_owned),
        catalog: parsed.token.catalog,
    }))
}

impl Token {
    /// A copy whose id Keystone never issued (for tests of re-authentication).
    pub(crate) fn spoiled(&self) -> Self {
        Self {
            id: Secret("gAAAAA-not-a-token".to_owned()),
            expires_at: self.expires_at,
            project_id: self.project_id.clone(),
            catalog: self.catalog.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_body_scopes_to_the_project_with_default_domains() {
        let auth = Auth::Password {
            auth_url: "http://k:5000/".to_owned(),
            user: Named {
                name: Some("u".to_owned()),
                ..Named::default()
            },
            password: Secret("p".to_owned()),
            project: Some(Named {
                name: Some("ops".to_owned()),
                domain_name: Some("Default".to_owned()),
                ..Named::default()
            }),
            domain: None,
        };
        let (base, body) = request_body(&auth).unwrap();
        assert_eq!(base, "http://k:5000/v3");
        assert_eq!(
            body["auth"]["identity"]["password"]["user"],
            json!({"name": "u", "domain": {"id": "default"}, "password": "p"})
        );
        assert_eq!(
            body["auth"]["scope"],
            json!({"project": {"name": "ops", "domain": {"name": "Default"}}})
        );
    }

    #[test]
    fn catalog_lookup_honours_interface_and_region() {
        let token = Token {
            id: Secret("t".to_owned()),
            expires_at: Utc::now(),
            project_id: None,
            catalog: serde_json::from_value(json!([{"type": "image", "endpoints": [
                {"interface": "public", "region_id": "One", "url": "http://one-public"},
                {"interface": "internal", "region_id": "One", "url": "http://one-internal"},
                {"interface": "public", "region_id": "Two", "url": "http://two-public"}]}]))
            .unwrap(),
        };
        let mut cloud = crate::config::Cloud {
            name: "c".to_owned(),
            auth: Auth::None,
            region: Some("Two".to_owned()),
            interface: "public".to_owned(),
            endpoint_overrides: Default::default(),
            endpoint_override: None,
            verify_tls: true,
            cacert: None,
        };
        assert_eq!(
            token.endpoint("image", &cloud).unwrap(),
            "http://two-public"
        );
        cloud.region = Some("One".to_owned());
        cloud.interface = "internal".to_owned();
        assert_eq!(
            token.endpoint("image", &cloud).unwrap(),
            "http://one-internal"
        );
        cloud.interface = "admin".to_owned();
        let err = token.endpoint("image", &cloud).unwrap_err();
        assert!(
            err.contains("One/public, One/internal, Two/public"),
            "{err}"
        );
        assert!(
            token
                .endpoint("compute", &cloud)
                .unwrap_err()
                .contains("no `compute` service")
        );
        assert!(token.fresh(
            Utc::now() - chrono::Duration::minutes(3),
            chrono::Duration::minutes(2)
        ));
        assert!(!token.fresh(Utc::now(), chrono::Duration::minutes(2)));
    }
}
