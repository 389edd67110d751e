//! clouds.yaml resolution, with files in a temporary directory.

use std::path::Path;

use super::*;

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

const CLOUDS: &str = r"
clouds:
  prod:
    auth:
      auth_url: https://keystone.example/v3
      username: backup
      project-name: ops
      user_domain_name: Default
      project_domain_name: Default
    region_name: RegionTwo
    interface: internal
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example
      application_credential_id: abc
      application_credential_secret: s3cret
  local:
    auth_type: none
    image_endpoint_override: http://127.0.0.1:9292
    compute_endpoint_override: http://127.0.0.1:8774/v2.1
";

#[test]
fn secure_yaml_is_merged_and_dashes_normalized() {
    let dir = tempfile::tempdir().unwrap();
    let clouds = write(dir.path(), "mine.yaml", CLOUDS);
    write(
        dir.path(),
        "secure.yaml",
        "clouds:\n  prod:\n    auth:\n      password: hunter2\n",
    );
    let mut sources = ConfigSources::isolated([("OS_CLIENT_CONFIG_FILE", clouds)])
        .with_yaml(shutter_dsl::config_file::yaml_reader());
    sources.cwd = Some(dir.path().to_path_buf());
    let cloud = load(&sources, Some("prod")).unwrap();
    let Auth::Password {
        auth_url,
        user,
        password,
        project,
        domain,
    } = &cloud.auth
    else {
        panic!("{cloud:?}")
    };
    assert_eq!(auth_url, "https://keystone.example/v3");
    assert_eq!(user.name.as_deref(), Some("backup"));
    assert_eq!(password.0, "hunter2");
    assert_eq!(project.as_ref().unwrap().name.as_deref(), Some("ops"));
    assert!(domain.is_none());
    assert_eq!(cloud.region.as_deref(), Some("RegionTwo"));
    assert_eq!(cloud.interface, "internal");
    assert!(!format!("{cloud:?}").contains("hunter2"));
}

#[test]
fn application_credentials_and_auth_none() {
    let dir = tempfile::tempdir().unwrap();
    let clouds = write(dir.path(), "clouds.yaml", CLOUDS);
    let sources = ConfigSources::isolated([("OS_CLIENT_CONFIG_FILE", clouds)])
        .with_yaml(shutter_dsl::config_file::yaml_reader());
    let cloud = load(&sources, Some("appcred")).unwrap();
    assert!(
        matches!(&cloud.auth, Auth::ApplicationCredential { id: Some(id), secret, .. } if id == "abc" && secret.0 == "s3cret")
    );
    let local = load(&sources, Some("local")).unwrap();
    assert_eq!(local.auth, Auth::None);
    assert_eq!(
        local.endpoint_override("image"),
        Some("http://127.0.0.1:9292")
    );
    assert_eq!(
        local.endpoint_override("compute"),
        Some("http://127.0.0.1:8774/v2.1")
    );
    assert_eq!(local.interface, "public");
}

#[test]
fn os_cloud_picks_the_default_and_unknown_names_list_the_known() {
    let dir = tempfile::tempdir().unwrap();
    let clouds = write(dir.path(), "clouds.yaml", CLOUDS);
    let sources = ConfigSources::isolated([
        ("OS_CLIENT_CONFIG_FILE", clouds.as_str()),
        ("OS_CLOUD", "local"),
    ])
    .with_yaml(shutter_dsl::config_file::yaml_reader());
    assert_eq!(load(&sources, None).unwrap().name, "local");
    assert_eq!(
        load(&sources, Some("prod")).unwrap_err(),
        "cloud `prod`: `auth.password` is required"
    );
    let err = load(&sources, Some("nope")).unwrap_err();
    assert!(
        err.contains("cloud `nope` not found") && err.contains("appcred, local, prod"),
        "{err}"
    );
}

#[test]
fn search_order_prefers_the_named_file_then_cwd_then_user_dir() {
    let named = tempfile::tempdir().unwrap();
    let cwd = tempfile::tempdir().unwrap();
    let user = tempfile::tempdir().unwrap();
    let one = |endpoint: &str| {
        format!("clouds:\n  c:\n    auth_type: none\n    endpoint_override: {endpoint}\n")
    };
    write(user.path(), "clouds.yaml", &one("http://user"));
    let mut sources = ConfigSources {
        yaml: shutter_dsl::config_file::yaml_reader(),
        user_dir: Some(user.path().to_path_buf()),
        cwd: Some(cwd.path().to_path_buf()),
        ..ConfigSources::default()
    };
    let endpoint = |s: &ConfigSources| load(s, Some("c")).unwrap().endpoint_override.unwrap();
    assert_eq!(endpoint(&sources), "http://user");
    write(cwd.path(), "clouds.yml", &one("http://cwd"));
    assert_eq!(endpoint(&sources), "http://cwd");
    let file = write(named.path(), "x.yaml", &one("http://named"));
    sources = sources.with_var("OS_CLIENT_CONFIG_FILE", file);
    assert_eq!(endpoint(&sources), "http://named");
}

#[test]
fn os_variables_make_the_envvars_cloud() {
    let sources = ConfigSources::isolated([
        ("OS_AUTH_URL", "http://127.0.0.1:5000/v3"),
        ("OS_USERNAME", "admin"),
        ("OS_PASSWORD", "pw"),
        ("OS_PROJECT_NAME", "admin"),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PROJECT_DOMAIN_NAME", "Default"),
        ("OS_REGION_NAME", "RegionOne"),
        ("OS_INTERFACE", "public"),
        ("OS_IDENTITY_API_VERSION", "3"),
    ])
    .with_yaml(shutter_dsl::config_file::yaml_reader());
    let cloud = load(&sources, None).unwrap();
    assert_eq!(cloud.name, ENVVARS);
    assert!(
        matches!(&cloud.auth, Auth::Password { user, .. } if user.domain_name.as_deref() == Some("Default"))
    );
    assert_eq!(cloud.region.as_deref(), Some("RegionOne"));

    let glance_only = ConfigSources::isolated([("OS_IMAGE_URL", "http://127.0.0.1:9292")])
        .with_yaml(shutter_dsl::config_file::yaml_reader());
    let cloud = load(&glance_only, Some("envvars")).unwrap();
    assert_eq!(cloud.auth, Auth::None);
    assert_eq!(
        cloud.endpoint_override("image"),
        Some("http://127.0.0.1:9292")
    );
}

#[test]
fn bad_configurations_say_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let clouds = write(
        dir.path(),
        "clouds.yaml",
        "clouds:\n  a:\n    auth_type: token\n  b:\n    auth_type: none\n  c:\n    identity_api_version: 2\n    auth: {auth_url: x, username: u, password: p}\n",
    );
    let sources = ConfigSources::isolated([("OS_CLIENT_CONFIG_FILE", clouds)])
        .with_yaml(shutter_dsl::config_file::yaml_reader());
    assert!(
        load(&sources, Some("a"))
            .unwrap_err()
            .contains("auth_type `token` is not supported")
    );
    assert!(
        load(&sources, Some("b"))
            .unwrap_err()
            .contains("needs an endpoint")
    );
    assert!(
        load(&sources, Some("c"))
            .unwrap_err()
            .contains("only Keystone v3")
    );
    let err = load(&ConfigSources::default(), None).unwrap_err();
    assert!(err.contains("no clouds.yaml found"), "{err}");
}

#[test]
fn an_empty_verify_or_insecure_never_turns_certificate_checks_off() {
    let local = |extra: serde_json::Value| {
        let mut raw = serde_json::json!({
            "auth_type": "none",
            "image_endpoint_override": "https://127.0.0.1:9292",
        });
        raw.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        Cloud::from_raw("local", raw).unwrap()
    };
    assert!(local(serde_json::json!({"verify": ""})).verify_tls);
    assert!(local(serde_json::json!({"insecure": ""})).verify_tls);
    assert!(local(serde_json::json!({"verify": " "})).verify_tls);
    assert!(!local(serde_json::json!({"verify": "false"})).verify_tls);
    assert!(!local(serde_json::json!({"insecure": true})).verify_tls);
}
