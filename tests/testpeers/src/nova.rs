//! A fake Nova: Nova has no light real peer. It follows Nova's documented
//! `createImage` server action (202, the image id in the body from
//! microversion 2.45 and in `Location` before) and makes the snapshot for
//! real in the Glance it is given: an image record, then the server's disk
//! uploaded into it, as Nova does. Every server exists but those whose id
//! starts with `missing` (404 `itemNotFound`).

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value as Json, json};

/// What a snapshot of any fake server holds.
pub const DISK: &[u8] = b"the disk of a fake nova server, snapshotted for shutter's tests";

#[derive(Clone)]
struct Nova {
    glance: String,
    http: reqwest::Client,
}

async fn create_image(
    State(nova): State<Nova>,
    Path(server): Path<String>,
    axum::Json(body): axum::Json<Json>,
) -> Response {
    let Some(request) = body.get("createImage") else {
        let error = json!({"badRequest": {"code": 400, "message": "only createImage is faked"}});
        return (StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    };
    if server.starts_with("missing") {
        let message = format!("Instance {server} could not be found.");
        let error = json!({"itemNotFound": {"code": 404, "message": message}});
        return (StatusCode::NOT_FOUND, axum::Json(error)).into_response();
    }
    let mut image = json!({
        "name": request["name"], "disk_format": "raw", "container_format": "bare",
        "instance_uuid": server, "image_type": "snapshot",
    });
    for (key, value) in request["metadata"].as_object().into_iter().flatten() {
        image[key] = value.clone();
    }
    let created = nova
        .http
        .post(format!("{}/v2/images", nova.glance))
        .json(&image)
        .send()
        .await;
    let Ok(created) = created else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let Ok(created) = created.json::<Json>().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    // Nova answers at once and uploads the disk afterwards, trying again
    // while Glance is busy (its sqlite answers "database is locked" when
    // tests write to it at once), as Nova would.
    let url = format!("{}/v2/images/{id}/file", nova.glance);
    let http = nova.http.clone();
    tokio::spawn(async move {
        for _ in 0..50 {
            let sent = http
                .put(&url)
                .header("content-type", "application/octet-stream")
                .body(DISK)
                .send()
                .await;
            // Only a busy Glance is worth another try: any other answer
            // (409 once the upload began) will not change.
            match sent {
                Ok(answer) if !answer.status().is_server_error() => return,
                _ => {}
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    (
        StatusCode::ACCEPTED,
        [("location", format!("{}/images/{id}", nova.glance))],
        axum::Json(json!({"image_id": id})),
    )
        .into_response()
}

/// Starts the fake on 127.0.0.1, on its own thread and runtime (so sync and
/// async tests alike can use it); its compute endpoint (`http://ADDR/v2.1`).
pub fn start(glance: &str) -> String {
    let nova = Nova {
        glance: glance.trim_end_matches('/').to_owned(),
        http: reqwest::Client::new(),
    };
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let app = Router::new()
                .route("/v2.1/servers/{id}/action", post(create_image))
                .with_state(nova);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a free port");
            tx.send(listener.local_addr().expect("bound"))
                .expect("the test waits");
            let _ = axum::serve(listener, app).await;
        });
    });
    let addr = rx.recv().expect("the fake nova starts");
    format!("http://{addr}/v2.1")
}
