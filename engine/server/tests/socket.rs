#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The server on a real socket: serving, graceful shutdown, and taking back
//! the executions a stopped server left running.

mod support;

use std::time::Duration;

use serde_json::Value as Json;
use shutter_runtime::EngineConfig;
use shutter_server::ServerConfig;
use support::server_on;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_stops_gracefully_and_the_next_start_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("socket.db");
    let config = ServerConfig {
        shutdown_grace: Duration::from_millis(100),
        ..ServerConfig::default()
    };
    let engine = EngineConfig {
        lease: Duration::from_millis(300),
        ..EngineConfig::default()
    };
    let server = server_on(&db, config.clone(), engine.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async move {
        let _ = stopped.await;
    }));
    let http = reqwest::Client::new();
    let health: Json = http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    let registered = http
        .post(format!("{base}/workflows"))
        .header("content-type", "application/yaml")
        .body("version: 1\nname: long\nsteps:\n  work: {uses: core.sleep, with: {duration: 1h}}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let started: Json = http
        .post(format!("{base}/workflows/long/executions"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = started["id"].as_str().unwrap().to_owned();
    // Long-poll until the sleep is running, so it is mid-step at shutdown.
    let poll = tokio::spawn({
        let http = http.clone();
        let url = format!("{base}/executions/{id}?wait=1s");
        async move {
            let mut state = String::new();
            for _ in 0..10 {
                let detail: Json = http.get(&url).send().await.unwrap().json().await.unwrap();
                state = detail["steps"][0]["state"].as_str().unwrap().to_owned();
                if state == "running" {
                    break;
                }
            }
            state
        }
    });
    assert_eq!(poll.await.unwrap(), "running");
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(30), serving)
        .await
        .expect("shutdown within the grace")
        .unwrap()
        .unwrap();

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
