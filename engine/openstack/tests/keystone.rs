#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! Glance behind the real Keystone: password and application-credential
//! auth from clouds.yaml (+ secure.yaml), endpoint discovery from the
//! catalog, token reuse and renewal after a 401, images owned by the project.

mod common;

use std::collections::BTreeMap;

use common::{Clouds, data_file, fatal, unique};
use serde_json::{Value as Json, json};
use shutter_core::Secrets;
use shutter_testpeers::Peer;

fn peer() -> Peer {
    shutter_testpeers::peer("glance-keystone")
}

fn var<'a>(peer: &'a Peer, key: &str) -> &'a str {
    peer.var(key)
        .unwrap_or_else(|| panic!("peer env has no {key}"))
}

/// Cloud `ks` from the peer's variables (the password in secure.yaml), and
/// `anon` pointing at the same Glance without a token.
fn clouds(extra: &str) -> Clouds {
    let peer = peer();
    let yaml = format!(
        "clouds:\n  ks:\n    auth:\n      auth_url: {auth_url}\n      username: {user}\n      project_name: {project}\n      user_domain_name: {ud}\n      project_domain_name: {pd}\n    region_name: {region}\n    interface: public\n  anon:\n    auth_type: none\n    image_endpoint_override: {glance}\n{extra}",
        auth_url = var(&peer, "OS_AUTH_URL"),
        user = var(&peer, "OS_USERNAME"),
        project = var(&peer, "OS_PROJECT_NAME"),
        ud = var(&peer, "OS_USER_DOMAIN_NAME"),
        pd = var(&peer, "OS_PROJECT_DOMAIN_NAME"),
        region = var(&peer, "OS_REGION_NAME"),
        glance = var(&peer, "OS_IMAGE_URL"),
    );
    let dir = tempfile::tempdir().unwrap();
    let clouds_path = dir.path().join("clouds.yaml");
    let secure_path = dir.path().join("secure.yaml");
    std::fs::write(&clouds_path, yaml).unwrap();
    std::fs::write(
        &secure_path,
        format!(
            "clouds:\n  ks:\n    auth:\n      password: {}\n",
            var(&peer, "OS_PASSWORD")
        ),
    )
    .unwrap();
    let sources = shutter_openstack::ConfigSources::isolated([
        ("OS_CLIENT_CONFIG_FILE", clouds_path.display().to_string()),
        ("OS_CLIENT_SECURE_FILE", secure_path.display().to_string()),
    ])
    .with_yaml(shutter_dsl::config_file::yaml_reader());
    Clouds {
        dir,
        provider: shutter_openstack::Provider::new(sources),
    }
}

/// A token of the peer's admin, got by the test itself: (token, project id, user id).
async fn token() -> (String, String, String) {
    let peer = peer();
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": var(&peer, "OS_USERNAME"), "domain": {"name": var(&peer, "OS_USER_DOMAIN_NAME")},
            "password": var(&peer, "OS_PASSWORD")}}},
        "scope": {"project": {"name": var(&peer, "OS_PROJECT_NAME"), "domain": {"name": var(&peer, "OS_PROJECT_DOMAIN_NAME")}}}}});
    let response = reqwest::Client::new()
        .post(format!(
            "{}/auth/tokens",
            var(&peer, "OS_AUTH_URL").trim_end_matches('/')
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let token = response.headers()["x-subject-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let body: Json = response.json().await.unwrap();
    (
        token,
        body["token"]["project"]["id"].as_str().unwrap().to_owned(),
        body["token"]["user"]["id"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn images_belong_to_the_project_and_the_token_is_reused() {
    let _serial = common::serial().await;
    let clouds = clouds("");
    let (_, project_id, _) = token().await;
    let id = clouds.new_image("ks", "owned").await;
    let source = clouds.path("d.raw");
    let data = data_file(&source, 200_000);
    let uploaded = clouds.upload("ks", &id, &source).await;
    assert_eq!(uploaded["size"], data.len());
    let verified = clouds
        .ok("openstack.image.verify", json!({"cloud": "ks", "image_id": id, "sha512": uploaded["sha512"], "size": data.len()})).await;
    assert_eq!(verified["owner"], project_id.as_str());
    // five calls, one token
    assert_eq!(clouds.provider.authentications(), 1);

    // a token Keystone does not know: Glance answers 401, the provider
    // authenticates again once and the call succeeds
    clouds.provider.spoil_cached_tokens().await;
    let got = clouds.get_image("ks", &id).await;
    assert_eq!(got["status"], "active");
    assert_eq!(clouds.provider.authentications(), 2);
    clouds.delete_image("ks", &id).await;
}

#[tokio::test]
async fn without_a_token_glance_answers_401_and_bad_passwords_fail_fatally() {
    let clouds = clouds("  wrong:\n    auth:\n      auth_url: AUTH\n      username: admin\n      password: not-the-password\n      project_name: admin\n".replace("AUTH", var(&peer(), "OS_AUTH_URL")).as_str());
    let err = clouds
        .err("openstack.image.list", json!({"cloud": "anon"}))
        .await;
    assert!(
        fatal(&err).starts_with("list images on cloud `anon`: 401 unauthorized"),
        "{err:?}"
    );
    let err = clouds
        .err("openstack.image.list", json!({"cloud": "wrong"}))
        .await;
    let message = fatal(&err);
    assert!(
        message.starts_with("keystone authentication for cloud `wrong`") && message.contains("401"),
        "{message}"
    );
    assert!(!message.contains("not-the-password"));
}

#[tokio::test]
async fn application_credentials_authenticate() {
    let _serial = common::serial().await;
    let (token, project_id, user_id) = token().await;
    let peer = peer();
    let auth_url = var(&peer, "OS_AUTH_URL").trim_end_matches('/').to_owned();
    let response = reqwest::Client::new()
        .post(format!(
            "{auth_url}/users/{user_id}/application_credentials"
        ))
        .header("X-Auth-Token", &token)
        .json(&json!({"application_credential": {"name": unique("shutter-test")}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let credential: Json = response.json().await.unwrap();
    let clouds = clouds(&format!(
        "  appcred:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: {auth_url}\n      application_credential_id: {}\n      application_credential_secret: {}\n    region_name: RegionOne\n",
        credential["application_credential"]["id"].as_str().unwrap(),
        credential["application_credential"]["secret"]
            .as_str()
            .unwrap(),
    ));
    let id = clouds.new_image("appcred", "appcred").await;
    let got = clouds.get_image("appcred", &id).await;
    assert_eq!(got["owner"], project_id.as_str());
    clouds.delete_image("appcred", &id).await;
}

#[tokio::test]
async fn an_https_style_source_with_a_secret_header_streams_from_another_glance() {
    let _serial = common::serial().await;
    // the source: an image in the Keystone-backed Glance, read with a token
    // passed as a secret header (as a vSphere session cookie would be)
    let clouds = clouds(&format!(
        "  plain:\n    auth_type: none\n    image_endpoint_override: {}\n",
        shutter_testpeers::peer("glance")
            .var("OS_IMAGE_URL")
            .unwrap()
    ));
    let source_id = clouds.new_image("ks", "src").await;
    let file = clouds.path("src.raw");
    data_file(&file, 1_500_000);
    let original = clouds.upload("ks", &source_id, &file).await;

    let copy = clouds.new_image("plain", "copy").await;
    let (token, _, _) = token().await;
    let params = json!({
        "cloud": "plain",
        "image_id": copy,
        "source": format!("{}/v2/images/{source_id}/file", var(&peer(), "OS_IMAGE_URL")),
        "source_headers": {"X-Auth-Token": "source_token"},
    });
    let without = clouds.err("openstack.image.upload", params.clone()).await;
    assert!(
        fatal(&without).contains("`source_headers.X-Auth-Token` names the secret `source_token`"),
        "{without:?}"
    );
    let mut ctx = common::context(params);
    ctx.secrets = Secrets::new(BTreeMap::from([("source_token".to_owned(), token.clone())]));
    let copied = common::run_ctx(&clouds.provider, "openstack.image.upload", &ctx)
        .await
        .unwrap();
    assert_eq!(copied["sha512"], original["sha512"]);
    assert_eq!(copied["size"], 1_500_000);
    clouds.delete_image("plain", &copy).await;
    clouds.delete_image("ks", &source_id).await;
}
