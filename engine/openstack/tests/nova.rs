#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! `openstack.server.create_image` against a FAKE Nova (Nova has no light
//! real peer) that follows Nova's documented createImage request and
//! response and creates the image in the REAL Glance peer: 202 with a
//! `Location` header, or `{"image_id"}` from microversion 2.45; 404
//! `itemNotFound` for an unknown server; 409 `conflictingRequest` while the
//! server is busy.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json as AxumJson, Router};
use common::{Clouds, unique};
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha512};
use shutter_core::ActionError;

/// The disk of the fake server `web-01`, as a snapshot of it contains.
const DISK: &[u8] = b"the disk of web-01, snapshotted by the fake nova";

#[derive(Clone)]
struct Nova {
    glance: String,
    client: reqwest::Client,
    calls: Arc<AtomicUsize>,
}

fn microversion(headers: &HeaderMap) -> (u32, u32) {
    let text = headers
        .get("openstack-api-version")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("compute "))
        .or_else(|| {
            headers
                .get("x-openstack-nova-api-version")
                .and_then(|v| v.to_str().ok())
        })
        .unwrap_or("2.1");
    let (major, minor) = text.split_once('.').unwrap_or(("2", "1"));
    (major.parse().unwrap_or(2), minor.parse().unwrap_or(1))
}

async fn action(
    State(nova): State<Nova>,
    Path(server): Path<String>,
    headers: HeaderMap,
    AxumJson(body): AxumJson<Json>,
) -> Response {
    nova.calls.fetch_add(1, Ordering::SeqCst);
    let Some(request) = body.get("createImage") else {
        return (
            StatusCode::BAD_REQUEST,
            AxumJson(json!({"badRequest": {"code": 400, "message": "only createImage is faked"}})),
        )
            .into_response();
    };
    match server.as_str() {
        "web-01" => {}
        "busy-01" => {
            let message = format!(
                "Cannot 'createImage' instance {server} while it is in task_state image_snapshot"
            );
            return (
                StatusCode::CONFLICT,
                AxumJson(json!({"conflictingRequest": {"code": 409, "message": message}})),
            )
                .into_response();
        }
        _ => {
            let message = format!("Instance {server} could not be found.");
            return (
                StatusCode::NOT_FOUND,
                AxumJson(json!({"itemNotFound": {"code": 404, "message": message}})),
            )
                .into_response();
        }
    }
    // Nova creates the image record (queued), answers, and uploads later.
    let mut image = json!({"name": request["name"], "disk_format": "raw", "container_format": "bare", "instance_uuid": server, "image_type": "snapshot"});
    for (key, value) in request
        .get("metadata")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
    {
        image[key] = value.clone();
    }
    let created: Json = nova
        .client
        .post(format!("{}/v2/images", nova.glance))
        .json(&image)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    let upload = nova
        .client
        .put(format!("{}/v2/images/{id}/file", nova.glance))
        .header("content-type", "application/octet-stream")
        .body(DISK);
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        upload.send().await.unwrap();
    });
    if microversion(&headers) >= (2, 45) {
        (StatusCode::ACCEPTED, AxumJson(json!({"image_id": id}))).into_response()
    } else {
        (
            StatusCode::ACCEPTED,
            [("location", format!("{}/images/{id}", nova.glance))],
        )
            .into_response()
    }
}

/// The fake Nova on 127.0.0.1 and a clouds.yaml (`lab`) with Glance and it.
async fn lab() -> (Clouds, Arc<AtomicUsize>) {
    let glance = shutter_testpeers::peer("glance")
        .var("OS_IMAGE_URL")
        .unwrap()
        .to_owned();
    let calls = Arc::new(AtomicUsize::new(0));
    let nova = Nova {
        glance: glance.clone(),
        client: reqwest::Client::new(),
        calls: calls.clone(),
    };
    let app = Router::new()
        .route("/v2.1/servers/{id}/action", post(action))
        .with_state(nova);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let clouds = Clouds::new(&format!(
        "clouds:\n  lab:\n    auth_type: none\n    image_endpoint_override: {glance}\n    compute_endpoint_override: http://{addr}/v2.1\n"
    ));
    (clouds, calls)
}

fn sha512_hex(data: &[u8]) -> String {
    Sha512::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn create_image_waits_for_the_snapshot_and_adopts_it_on_a_rerun() {
    let _serial = common::serial().await;
    let (clouds, calls) = lab().await;
    let key = unique("shutter:nova");
    let params = json!({"cloud": "lab", "server_id": "web-01", "name": unique("web-01-backup"), "metadata": {"backup_of": "web-01"}, "quiesce": true, "interval": "100ms"});
    let out = clouds
        .run_keyed("openstack.server.create_image", params.clone(), &key)
        .await
        .unwrap();
    assert_eq!(out["status"], "active");
    assert_eq!(out["adopted"], false);
    assert_eq!(out["sha512"], sha512_hex(DISK));
    assert_eq!(out["image"]["backup_of"], "web-01");
    assert_eq!(out["image"]["os_require_quiesce"], "yes");
    assert_eq!(out["image"]["shutter_idempotency_key"], key.as_str());
    assert_eq!(out["image_id"], out["id"]);

    // the step is re-run after a crash: the image is adopted, Nova not called again
    let again = clouds
        .run_keyed("openstack.server.create_image", params, &key)
        .await
        .unwrap();
    assert_eq!(
        (again["image_id"].clone(), again["adopted"].clone()),
        (out["image_id"].clone(), json!(true))
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    clouds
        .ok(
            "openstack.image.delete",
            json!({"cloud": "lab", "image_id": out["image_id"]}),
        )
        .await;
}

#[tokio::test]
async fn microversion_2_45_names_the_image_in_the_body() {
    let _serial = common::serial().await;
    let (clouds, _) = lab().await;
    let out = clouds
        .ok("openstack.server.create_image", json!({"cloud": "lab", "server_id": "web-01", "name": unique("mv"), "microversion": "2.45", "wait": false})).await;
    assert_eq!(out["status"], "queued");
    let id = out["image_id"].as_str().unwrap();
    let waited = clouds
        .ok(
            "openstack.image.wait",
            json!({"cloud": "lab", "image_id": id, "interval": "100ms"}),
        )
        .await;
    assert_eq!(waited["size"], DISK.len());
    clouds.delete_image("lab", id).await;
}

#[tokio::test]
async fn unknown_servers_are_fatal_and_busy_servers_retryable() {
    let (clouds, _) = lab().await;
    let err = clouds
        .err(
            "openstack.server.create_image",
            json!({"cloud": "lab", "server_id": "nope", "name": "x"}),
        )
        .await;
    assert_eq!(
        err,
        ActionError::fatal("createImage of server nope on cloud `lab`: 404 not found: Instance nope could not be found.".to_owned())
    );
    let err = clouds
        .err(
            "openstack.server.create_image",
            json!({"cloud": "lab", "server_id": "busy-01", "name": "x"}),
        )
        .await;
    assert!(
        matches!(&err, ActionError::Retryable { message: m, .. } if m.contains("409 conflict: Cannot 'createImage'")),
        "{err:?}"
    );
}
