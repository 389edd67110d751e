//! `clouds.yaml` the way openstacksdk reads it: the file, `secure.yaml`
//! merged over it, `OS_CLOUD`, and `OS_*` variables as the cloud `envvars`.
//! Raw JSON is read first, then validated into a [`Cloud`].

mod cloud;
mod sources;

use std::path::Path;

use serde_json::{Map, Value as Json};

pub use cloud::{Auth, Cloud, Named, Secret};
pub use sources::ConfigSources;

/// The name of the cloud made of `OS_*` variables.
pub const ENVVARS: &str = "envvars";

/// Keys that belong in a cloud's `auth` section (variables map to them).
const AUTH_KEYS: &[&str] = &[
    "auth_url",
    "username",
    "user_id",
    "password",
    "project_name",
    "project_id",
    "tenant_name",
    "tenant_id",
    "user_domain_name",
    "user_domain_id",
    "project_domain_name",
    "project_domain_id",
    "domain_name",
    "domain_id",
    "default_domain_name",
    "default_domain_id",
    "application_credential_id",
    "application_credential_name",
    "application_credential_secret",
    "endpoint",
];

/// Variables that choose files or clouds rather than describe one.
const NOT_CLOUD_KEYS: &[&str] = &["OS_CLOUD", "OS_CLIENT_CONFIG_FILE", "OS_CLIENT_SECURE_FILE"];

/// The cloud `name` (or the default one), resolved and validated.
pub fn load(sources: &ConfigSources, name: Option<&str>) -> Result<Cloud, String> {
    let clouds_file = sources.find("clouds", "OS_CLIENT_CONFIG_FILE");
    let mut clouds = match &clouds_file {
        Some(path) => read_clouds(sources, path)?,
        None => Map::new(),
    };
    if let Some(path) = sources.find("secure", "OS_CLIENT_SECURE_FILE") {
        for (cloud, secure) in read_clouds(sources, &path)? {
            merge(clouds.entry(cloud).or_insert(Json::Null), secure);
        }
    }
    let from_env = env_cloud(sources);
    let name = match name.filter(|n| !n.is_empty()).or(sources.var("OS_CLOUD")) {
        Some(name) => name.to_owned(),
        None if from_env.is_some() => ENVVARS.to_owned(),
        None if clouds.len() == 1 => clouds.keys().next().cloned().unwrap_or_default(),
        None => {
            return Err(format!(
                "no cloud named: give `cloud`, set OS_CLOUD, or set OS_* variables ({})",
                describe(clouds_file.as_deref(), &clouds)
            ));
        }
    };
    let raw = match clouds.remove(&name) {
        Some(raw) => raw,
        None if name == ENVVARS => from_env.ok_or("cloud `envvars`: no OS_* variables set")?,
        None => {
            return Err(format!(
                "cloud `{name}` not found ({})",
                describe(clouds_file.as_deref(), &clouds)
            ));
        }
    };
    let mut cloud =
        Cloud::from_raw(&name, normalize(raw)).map_err(|e| format!("cloud `{name}`: {e}"))?;
    // A CA file named in clouds.yaml is relative to that file, whatever
    // directory the engine runs in.
    if let (Some(cacert), Some(file)) = (&mut cloud.cacert, &clouds_file)
        && cacert.is_relative()
        && name != ENVVARS
        && let Some(dir) = file.parent()
    {
        *cacert = dir.join(&*cacert);
    }
    Ok(cloud)
}

fn describe(file: Option<&Path>, clouds: &Map<String, Json>) -> String {
    match file {
        None => "no clouds.yaml found".to_owned(),
        Some(path) => {
            let names: Vec<&str> = clouds.keys().map(String::as_str).collect();
            format!("{} defines: {}", path.display(), names.join(", "))
        }
    }
}

/// The `clouds:` map of a clouds.yaml or secure.yaml.
fn read_clouds(sources: &ConfigSources, path: &Path) -> Result<Map<String, Json>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let value: Json = (sources.yaml)(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    match value.get("clouds") {
        None | Some(Json::Null) => Ok(Map::new()),
        Some(Json::Object(clouds)) => Ok(clouds.clone()),
        Some(_) => Err(format!("{}: `clouds` must be a mapping", path.display())),
    }
}

/// Deep merge: `over` wins, mappings merge key by key.
fn merge(base: &mut Json, over: Json) {
    match (base, over) {
        (Json::Object(base), Json::Object(over)) => {
            for (key, value) in over {
                merge(base.entry(key).or_insert(Json::Null), value);
            }
        }
        (base, over) => *base = over,
    }
}

/// openstacksdk accepts `project-name` for `project_name`.
fn normalize(value: Json) -> Json {
    match value {
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(k, v)| (k.replace('-', "_"), normalize(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The `envvars` cloud: `OS_FOO=x` becomes `foo: x` (auth keys under
/// `auth`), or `None` when no variable describes a cloud. `OS_IMAGE_URL`
/// (python-glanceclient's name) is `image_endpoint_override`.
fn env_cloud(sources: &ConfigSources) -> Option<Json> {
    let mut cloud = Map::new();
    let mut auth = Map::new();
    for (key, value) in &sources.env {
        if NOT_CLOUD_KEYS.contains(&key.as_str()) || value.is_empty() {
            continue;
        }
        let Some(name) = key.strip_prefix("OS_") else {
            continue;
        };
        let name = match name.to_ascii_lowercase() {
            n if n == "image_url" => "image_endpoint_override".to_owned(),
            n => n,
        };
        if AUTH_KEYS.contains(&name.as_str()) {
            auth.insert(name, Json::String(value.clone()));
        } else {
            cloud.insert(name, Json::String(value.clone()));
        }
    }
    let describes_one = !auth.is_empty()
        || cloud
            .keys()
            .any(|k| k.ends_with("endpoint_override") || k == "auth_type");
    if !describes_one {
        return None;
    }
    cloud.insert("auth".to_owned(), Json::Object(auth));
    Some(Json::Object(cloud))
}

#[cfg(test)]
mod tests;
