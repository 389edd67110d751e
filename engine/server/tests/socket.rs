#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The server on a real socket: serving, graceful shutdown, and taking back
//! the executions a stopped server left running.

mod support;

use std::time::Duration;

use serde_json::Value as Json;
use shutter_runtime::EngineConfig;
use shutter_server::{Access, ServerConfig};
use support::server_on;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_stops_gracefully_and_the_next_start_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("socket.db");
    let config = ServerConfig {
        shutdown_grace: Duration::from_millis(100),
        access: Access {
            allow_anonymous_admin: true,
            ..Access::default()
        },
        ..ServerConfig::default()
    };
    let engine = EngineConfig {
        lease: Duration::from_millis(300),
        ..EngineConfig::default()
    };
    let (address, stop, serving) = serve_on(&db, config.clone(), engine.clone()).await;
    let base = format!("http://{address}");
    let http = reqwest::Client::new();
    let health = json_of(http.get(format!("{base}/healthz"))).await;
    assert_eq!(health["status"], "ok");
    let registered = http
        .post(format!("{base}/workflows"))
        .header("content-type", "application/yaml")
        .body("version: 1\nname: long\nsteps:\n  work: {uses: core.sleep, with: {duration: 1h}}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let start = http.post(format!("{base}/workflows/long/executions"));
    let started = json_of(start.json(&serde_json::json!({}))).await;
    let id = started["id"].as_str().unwrap().to_owned();
    // Long-poll until the sleep is running, so it is mid-step at shutdown.
    let poll = tokio::spawn({
        let http = http.clone();
        let url = format!("{base}/executions/{id}?wait=1s");
        async move {
            let mut state = String::new();
            for _ in 0..10 {
                let detail = json_of(http.get(&url)).await;
                state = detail["steps"][0]["state"].as_str().unwrap().to_owned();
                if state == "running" {
                    break;
                }
            }
            state
        }
    });
    assert_eq!(poll.await.unwrap(), "running");
    stop_within(stop, serving, Duration::from_secs(30)).await;

    // The execution stays recorded as running; a new server takes it back
    // once the old lease has expired.
    let next = server_on(&db, config, engine);
    let mut resumed = 0;
    for _ in 0..100 {
        resumed = next.resume().await.unwrap().0;
        if resumed > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(resumed, 1);
    let api = next.router();
    let request = axum::http::Request::post(format!("/executions/{id}/cancel"))
        .body(axum::body::Body::empty())
        .unwrap();
    let canceled = tower::ServiceExt::oneshot(api, request).await.unwrap();
    assert_eq!(canceled.status(), 202, "the resumed execution runs here");
}

/// Sends `request`; the JSON body of its answer.
async fn json_of(request: reqwest::RequestBuilder) -> Json {
    request.send().await.unwrap().json().await.unwrap()
}

/// A serving server: its address, how to stop it, and its task.
type Serving = (
    String,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
);

/// A server on the SQLite file `db` with `config` and `engine`, on a real
/// socket.
async fn serve_on(db: &std::path::Path, config: ServerConfig, engine: EngineConfig) -> Serving {
    let server = server_on(db, config, engine);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async move {
        let _ = stopped.await;
    }));
    (address, stop, serving)
}

/// Stops a server from [`serve_on`] and waits for it to end, cleanly and
/// within `limit` (its shutdown grace and more).
async fn stop_within(
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<std::io::Result<()>>,
    limit: Duration,
) {
    stop.send(()).unwrap();
    tokio::time::timeout(limit, serving)
        .await
        .expect("the server stops within the limit")
        .unwrap()
        .unwrap();
}

/// As [`serve_on`], on a new file, with `config`; the file's directory
/// goes with it.
async fn serve(config: ServerConfig) -> (Serving, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let serving = serve_on(&dir.path().join("s.db"), config, EngineConfig::default()).await;
    (serving, dir)
}

/// Reads until the server closes the connection (or `limit` passes).
async fn read_until_closed(stream: &mut tokio::net::TcpStream, limit: Duration) -> Option<String> {
    use tokio::io::AsyncReadExt;
    let mut answer = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut answer))
        .await
        .ok()
        .map(|_| String::from_utf8_lossy(&answer).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_heads_are_dropped_and_open_connections_are_capped() {
    use tokio::io::AsyncWriteExt;
    let config = ServerConfig {
        header_timeout: Duration::from_millis(300),
        max_connections: 4,
        ..ServerConfig::default()
    };
    let ((address, stop, serving), _dir) = serve(config).await;
    // Slow clients take every slot with half a request head each.
    let mut slow = Vec::new();
    for _ in 0..4 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // One more is refused at once, in the error shape.
    let mut extra = tokio::net::TcpStream::connect(&address).await.unwrap();
    let refused = read_until_closed(&mut extra, Duration::from_secs(5))
        .await
        .expect("answered at once");
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    let body: Json = serde_json::from_str(refused.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "too_many_connections");
    // The slow ones are closed once the head deadline passes.
    for stream in &mut slow {
        let closed = read_until_closed(stream, Duration::from_secs(5)).await;
        assert!(closed.is_some(), "the server closed a half-sent head");
    }
    // And their slots serve others again.
    let health = reqwest::get(format!("http://{address}/healthz"))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    stop_within(stop, serving, Duration::from_secs(10)).await;
}
