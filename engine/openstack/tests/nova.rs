#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! `openstack.server.create_image` against a FAKE Nova (Nova has no light
//! real peer) that follows Nova's documented createImage request and
//! response and creates the image in the REAL Glance peer: 202 with a
//! `Location` header, or `{"image_id"}` from microversion 2.45; 404
//! `itemNotFound` for an unknown server; 409 `conflictingRequest` while the
//! server is busy.
//!
//! `openstack.server.create` and `openstack.server.delete` against the
//! shared fake Nova (`shutter_testpeers::nova`, which boots servers from
//! images of the REAL Glance peer, checking them there as Nova does): a
//! server booted from an uploaded image, adopted by a re-run with the same
//! idempotency key and never otherwise, a missing or unfinished image as a
//! fatal error naming it, deletion that a second run finds already done,
//! and a server Shutter did not boot left alone.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json as AxumJson, Router};
use common::{Clouds, sha512_hex, unique};
use serde_json::{Value as Json, json};
use shutter_core::{ActionContext, ActionError, RecordingSink};

/// The disk of the fake server `web-01`, as a snapshot of it contains.
const DISK: &[u8] = b"the disk of web-01, snapshotted by the fake nova";

#[derive(Clone)]
struct Nova {
    glance: String,
    client: reqwest::Client,
    calls: Arc<AtomicUsize>,
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
    if shutter_testpeers::nova::microversion(&headers) >= (2, 45) {
        (StatusCode::ACCEPTED, AxumJson(json!({"image_id": id}))).into_response()
    } else {
        (
            StatusCode::ACCEPTED,
            [("location", format!("{}/images/{id}", nova.glance))],
        )
            .into_response()
    }
}

/// The Glance peer's image endpoint.
fn glance_url() -> String {
    shutter_testpeers::peer("glance")
        .var("OS_IMAGE_URL")
        .unwrap()
        .to_owned()
}

/// A clouds.yaml whose cloud `lab` is `glance` and the Nova at `compute`.
fn lab_clouds(glance: &str, compute: &str) -> Clouds {
    Clouds::new(&format!(
        "clouds:\n  lab:\n    auth_type: none\n    image_endpoint_override: {glance}\n    compute_endpoint_override: {compute}\n"
    ))
}

/// The fake Nova on 127.0.0.1 and a clouds.yaml (`lab`) with Glance and it.
async fn lab() -> (Clouds, Arc<AtomicUsize>) {
    let glance = glance_url();
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
    let clouds = lab_clouds(&glance, &format!("http://{addr}/v2.1"));
    (clouds, calls)
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
        .delete_image("lab", out["image_id"].as_str().unwrap())
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
    let waited = clouds.wait_image("lab", id, "100ms").await;
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

/// The shared fake Nova over the real Glance, as cloud `lab`, and the
/// fake's compute endpoint, to see what it holds.
fn restore_lab() -> (Clouds, String) {
    let glance = glance_url();
    let compute = shutter_testpeers::nova::start(&glance);
    (lab_clouds(&glance, &compute), compute)
}

/// An active image of the Glance peer: created, uploaded from a file,
/// waited for.
async fn active_image(clouds: &Clouds) -> String {
    let id = clouds.new_image("lab", "restore-source").await;
    let source = clouds.path("restore-source.raw");
    common::data_file(&source, 64 << 10);
    clouds.upload("lab", &id, &source).await;
    let waited = clouds.wait_image("lab", &id, "100ms").await;
    assert_eq!(waited["status"], "active");
    id
}

/// What the fake Nova answers to GET /servers/{id}: the status, and the
/// server (null when none).
async fn nova_server(compute: &str, id: &str) -> (reqwest::StatusCode, Json) {
    let answer = reqwest::get(format!("{compute}/servers/{id}"))
        .await
        .unwrap();
    let status = answer.status();
    let body: Json = answer.json().await.unwrap_or(Json::Null);
    (status, body["server"].clone())
}

/// Every server the fake Nova lists (`GET /servers/detail`).
async fn servers_listed(compute: &str) -> Json {
    let listed: Json = reqwest::get(format!("{compute}/servers/detail"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    listed["servers"].clone()
}

/// Boots a server as another user of the cloud would: no Shutter key.
async fn boot_directly(compute: &str, name: &str, image: &str) -> String {
    let answer: Json = reqwest::Client::new()
        .post(format!("{compute}/servers"))
        .json(&json!({"server": {"name": name, "imageRef": image, "flavorRef": "m1.small"}}))
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["server"]["id"].as_str().unwrap().to_owned()
}

/// Runs `action` as a try of the step whose idempotency key is `key`: its
/// result, and the lines it logged.
async fn run_logged(
    clouds: &Clouds,
    action: &str,
    params: Json,
    key: &str,
) -> (Result<Json, ActionError>, Vec<String>) {
    let sink = Arc::new(RecordingSink::default());
    let mut ctx = ActionContext::standalone(params, sink.clone());
    ctx.idempotency_key = key.to_owned();
    let result = common::run_ctx(&clouds.provider, action, &ctx).await;
    ctx.flush().await.unwrap();
    (result, sink.log_messages())
}

#[tokio::test]
async fn create_boots_a_server_from_an_image_and_a_rerun_adopts_it() {
    let _serial = common::serial().await;
    let (clouds, compute) = restore_lab();
    let image = active_image(&clouds).await;
    let name = unique("restored");
    // Someone else's server of the same name, without Shutter's key.
    let foreign = boot_directly(&compute, &name, &image).await;
    let key = unique("shutter:restore");
    let params = json!({
        "cloud": "lab", "name": name, "image_id": image, "flavor": "m1.small",
        "networks": "none", "metadata": {"restored_from": image, "generation": 3},
        "poll": "100ms",
    });
    let (out, logged) = run_logged(&clouds, "openstack.server.create", params.clone(), &key).await;
    let out = out.unwrap();
    assert_eq!(out["status"], "ACTIVE");
    assert_eq!(out["adopted"], false);
    assert_eq!(out["name"], name.as_str());
    assert_eq!(out["image_id"], image.as_str());
    assert_eq!(out["flavor"], "m1.small");
    let id = out["server_id"].as_str().unwrap().to_owned();
    assert_ne!(
        id, foreign,
        "a server without the step's key is never adopted"
    );
    assert!(
        logged
            .iter()
            .any(|line| line.starts_with(&format!("booting server {id} "))),
        "{logged:?}"
    );

    // What Nova holds: the server booted from the image, with the step's key.
    let (status, server) = nova_server(&compute, &id).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(server["image"]["id"], image.as_str());
    assert_eq!(server["flavor"]["id"], "m1.small");
    assert_eq!(
        server["metadata"],
        json!({"restored_from": image, "generation": "3", "shutter_idempotency_key": key})
    );

    // The step runs again (a retry, a resume after a crash): the server is
    // adopted, not booted twice.
    let (again, logged) =
        run_logged(&clouds, "openstack.server.create", params.clone(), &key).await;
    let again = again.unwrap();
    assert_eq!(
        (again["server_id"].as_str(), again["adopted"].as_bool()),
        (Some(id.as_str()), Some(true))
    );
    assert_eq!(again["status"], "ACTIVE");
    assert!(
        logged
            .iter()
            .any(|line| line.starts_with(&format!("adopting server {id} "))),
        "{logged:?}"
    );

    // Another step (another key) with the same name boots its own.
    let other = clouds
        .run_keyed("openstack.server.create", params, &unique("shutter:other"))
        .await
        .unwrap();
    assert_eq!(other["adopted"], false);
    let other = other["server_id"].as_str().unwrap().to_owned();
    assert!(other != id && other != foreign, "{other}");

    for server in [id.as_str(), other.as_str(), foreign.as_str()] {
        let params = json!({"cloud": "lab", "server_id": server, "only_made_by_shutter": false, "poll": "100ms"});
        assert_eq!(
            clouds.ok("openstack.server.delete", params).await["deleted"],
            true
        );
    }
    clouds.delete_image("lab", &image).await;
}

#[tokio::test]
async fn booting_from_a_missing_or_unfinished_image_is_fatal_and_names_it() {
    let _serial = common::serial().await;
    let (clouds, compute) = restore_lab();
    let missing = "6c1a7c1e-0b4e-4f36-9d0b-000000000000";
    let name = unique("restored");
    let params = json!({"cloud": "lab", "name": name, "image_id": missing, "flavor": "m1.small"});
    let err = clouds.err("openstack.server.create", params).await;
    assert_eq!(
        err,
        ActionError::fatal(format!(
            "boot server `{name}` from image {missing} on cloud `lab`: 400 Bad Request: Can not find requested image"
        ))
    );

    // An image whose data was never uploaded (queued) cannot boot either.
    let queued = clouds.new_image("lab", "queued").await;
    let params = json!({"cloud": "lab", "name": name, "image_id": queued, "flavor": "m1.small"});
    let err = clouds.err("openstack.server.create", params).await;
    assert!(!err.is_retryable(), "{err:?}");
    assert!(
        err.message().contains(&format!(
            "from image {queued} on cloud `lab`: 400 Bad Request: Image {queued} is not active."
        )),
        "{err:?}"
    );

    // Nothing was booted.
    assert_eq!(servers_listed(&compute).await, json!([]));
    clouds.delete_image("lab", &queued).await;
}

#[tokio::test]
async fn a_server_nova_puts_in_error_is_deleted_and_the_step_fails_with_the_fault() {
    let _serial = common::serial().await;
    let (clouds, compute) = restore_lab();
    let image = active_image(&clouds).await;
    let name = unique("unschedulable");
    let params = json!({
        "cloud": "lab", "name": name, "image_id": image,
        "flavor": shutter_testpeers::nova::NO_VALID_HOST, "networks": "none", "poll": "100ms",
    });
    let (out, logged) = run_logged(
        &clouds,
        "openstack.server.create",
        params,
        &unique("shutter:error"),
    )
    .await;
    let err = out.unwrap_err();
    assert!(!err.is_retryable(), "{err:?}");
    assert!(
        err.message()
            .contains("went to ERROR: No valid host was found."),
        "{err:?}"
    );
    assert!(
        logged.iter().any(|line| line
            .contains("that this step booted is in ERROR (No valid host was found.")
            && line.ends_with("): deleted")),
        "{logged:?}"
    );
    // Nothing is left: the fake shows a deleted server once more, then 404.
    let listed = servers_listed(&compute).await;
    let left: Vec<&Json> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|server| server["OS-EXT-STS:task_state"] != "deleting")
        .collect();
    assert!(left.is_empty(), "{listed:#}");
    clouds.delete_image("lab", &image).await;
}

#[tokio::test]
async fn delete_removes_the_server_and_a_second_delete_finds_it_gone() {
    let _serial = common::serial().await;
    let (clouds, compute) = restore_lab();
    let image = active_image(&clouds).await;
    let key = unique("shutter:restore");
    // Not waited for: it is deleted while it still builds.
    let params = json!({"cloud": "lab", "name": unique("restored"), "image_id": image, "flavor": "m1.small", "wait": false});
    let booted = clouds
        .run_keyed("openstack.server.create", params, &key)
        .await
        .unwrap();
    assert_eq!(booted["status"], "BUILD");
    let id = booted["server_id"].as_str().unwrap().to_owned();

    let params = json!({"cloud": "lab", "server_id": id, "poll": "100ms"});
    let (deleted, logged) =
        run_logged(&clouds, "openstack.server.delete", params.clone(), &key).await;
    assert_eq!(deleted.unwrap(), json!({"deleted": true, "server_id": id}));
    assert!(
        logged.contains(&format!("deleting server {id}")),
        "{logged:?}"
    );
    assert_eq!(
        nova_server(&compute, &id).await.0,
        reqwest::StatusCode::NOT_FOUND
    );

    // The cleanup runs again (a retry, a second `finally`): nothing left
    // to delete, and no error.
    let (again, logged) = run_logged(&clouds, "openstack.server.delete", params, &key).await;
    assert_eq!(again.unwrap(), json!({"deleted": false, "server_id": id}));
    assert!(
        logged.contains(&format!("server {id} was already gone")),
        "{logged:?}"
    );
    clouds.delete_image("lab", &image).await;
}

#[tokio::test]
async fn delete_refuses_a_server_shutter_did_not_boot() {
    let _serial = common::serial().await;
    let (clouds, compute) = restore_lab();
    let image = active_image(&clouds).await;
    let name = unique("production-db");
    let foreign = boot_directly(&compute, &name, &image).await;

    let params = json!({"cloud": "lab", "server_id": foreign, "poll": "100ms"});
    let err = clouds.err("openstack.server.delete", params).await;
    assert_eq!(
        err,
        ActionError::fatal(format!(
            "refusing to delete server {foreign} (`{name}`): Shutter did not boot it (its metadata has no `shutter_idempotency_key`); set only_made_by_shutter: false to delete it anyway"
        ))
    );
    // Still there, and not being deleted.
    let (status, server) = nova_server(&compute, &foreign).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    assert_eq!(server["status"], "ACTIVE");
    assert!(server["OS-EXT-STS:task_state"].is_null(), "{server}");

    // Told in so many words, it deletes it.
    let params = json!({"cloud": "lab", "server_id": foreign, "only_made_by_shutter": false, "poll": "100ms"});
    let out = clouds.ok("openstack.server.delete", params).await;
    assert_eq!(out["deleted"], true);
    assert_eq!(
        nova_server(&compute, &foreign).await.0,
        reqwest::StatusCode::NOT_FOUND
    );
    clouds.delete_image("lab", &image).await;
}
