#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! How the OpenStack provider trusts and follows servers, against the real
//! Glance peer: clouds.yaml `cacert` is honoured (behind a TLS proxy whose
//! CA only that file holds), an untrusted certificate is fatal, secret
//! `source_headers` never follow a redirect to another host, and a
//! parameter of the wrong type is an error naming it.

mod common;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use common::{Clouds, glance_cloud};
use serde_json::json;
use shutter_core::{ActionError, Secrets};

fn glance_addr() -> SocketAddr {
    let peer = shutter_testpeers::peer("glance");
    let url = reqwest::Url::parse(peer.var("OS_IMAGE_URL").unwrap_or(&peer.url)).unwrap();
    url.socket_addrs(|| None).unwrap()[0]
}

#[tokio::test]
async fn clouds_yaml_cacert_is_trusted_and_no_other_certificate_is() {
    let proxy = shutter_testpeers::tls::tls_proxy(glance_addr()).await;
    let url = &proxy.url;
    let clouds = Clouds::new(&format!(
        "clouds:\n  tls:\n    auth_type: none\n    image_endpoint_override: {url}\n    cacert: test-ca.pem\n  plain:\n    auth_type: none\n    image_endpoint_override: {url}\n"
    ));
    // Relative to the clouds.yaml that names it.
    proxy.write_ca(clouds.dir.path(), "test-ca.pem");
    let listed = clouds
        .ok("openstack.image.list", json!({"cloud": "tls", "max": 1}))
        .await;
    assert!(listed["images"].is_array(), "{listed}");

    let refused = clouds
        .err("openstack.image.list", json!({"cloud": "plain", "max": 1}))
        .await;
    assert!(
        matches!(&refused, ActionError::Fatal { message, .. } if message.contains("TLS certificate is not trusted")),
        "not retried, and says what to do: {refused:?}"
    );
}

/// Serves `/moved` as a redirect to `target`, and counts what reaches `/data`.
async fn redirecting(target: String) -> String {
    let app = axum::Router::new().route(
        "/moved",
        axum::routing::get(move || {
            let target = target.clone();
            async move { (StatusCode::FOUND, [(header::LOCATION, target)]).into_response() }
        }),
    );
    serve(app).await
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn secret_source_headers_do_not_follow_a_redirect_to_another_host() {
    let _serial = common::serial().await;
    let reached = Arc::new(AtomicUsize::new(0));
    let seen = reached.clone();
    let other = serve(axum::Router::new().route(
        "/data",
        axum::routing::get(move |headers: HeaderMap| {
            seen.fetch_add(1, Ordering::SeqCst);
            async move { format!("{:?}", headers.get("x-auth-token")) }
        }),
    ))
    .await;
    // The same server by another name: a different host to a client.
    let elsewhere = other.replace("127.0.0.1", "localhost") + "/data";
    let source = redirecting(elsewhere).await + "/moved";

    let clouds = glance_cloud();
    let image = clouds.new_image("glance", "redirected").await;
    let mut ctx = common::context(json!({
        "cloud": "glance",
        "image_id": image,
        "source": source,
        "source_headers": {"X-Auth-Token": "token"},
    }));
    ctx.secrets = Secrets::new(BTreeMap::from([("token".to_owned(), "s3cret".to_owned())]));
    let refused = common::run_ctx(&clouds.provider, "openstack.image.upload", &ctx)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ActionError::Fatal { message, .. } if message.contains("302") && message.contains("another host")),
        "{refused:?}"
    );
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the other host saw nothing"
    );
    clouds.delete_image("glance", &image).await;
}

#[tokio::test]
async fn a_parameter_of_the_wrong_type_is_an_error_naming_it() {
    let clouds = glance_cloud();
    let err = clouds
        .err(
            "openstack.image.list",
            json!({"cloud": "glance", "page_size": "abc"}),
        )
        .await;
    assert!(
        matches!(&err, ActionError::Fatal { message, .. } if message.starts_with("parameter `page_size`: invalid type: string \"abc\"")),
        "{err:?}"
    );
}
