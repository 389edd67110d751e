//! A fake Nova for the end-to-end tests: Nova has no light real peer. It
//! follows Nova's documented `createImage` server action (202, the image id
//! in the body from microversion 2.45 and in `Location` before) and makes
//! the snapshot for real in the Glance it is given: an image record, then
//! the server's disk uploaded into it, as Nova does.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value as Json, json};

/// What a snapshot of any fake server holds.
pub const DISK: &[u8] =
    b"the disk of a fake nova server, snapshotted for shutter's end-to-end tests";

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
        return (StatusCode::BAD_REQUEST, "only createImage is faked").into_response();
    };
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
    // Nova answers at once and uploads the disk afterwards.
    let upload = nova
        .http
        .put(format!("{}/v2/images/{id}/file", nova.glance))
        .header("content-type", "application/octet-stream")
        .body(DISK);
    tokio::spawn(async move {
        let _ = upload.send().await;
    });
    (
        StatusCode::ACCEPTED,
        [("location", format!("{}/images/{id}", nova.glance))],
        axum::Json(json!({"image_id": id})),
    )
        .into_response()
}

/// Starts the fake on 127.0.0.1 (on its own thread and runtime, for the
/// synchronous tests); its compute endpoint (`http://ADDR/v2.1`).
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
