#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! `http.request` against a real socket on 127.0.0.1: outputs, the
//! idempotency key header, and how failures are classified.

use std::sync::Arc;

use serde_json::{Value as Json, json};
use shutter_runtime::{ActionContext, ActionError, RecordingSink};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Answers every request with `status` and echoes the request head in the body.
async fn server(status: u16) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0; 8192];
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buffer[..n]).to_lowercase();
                let body =
                    json!({"saw_key": head.contains("idempotency-key: shutter:")}).to_string();
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nx-test: yes\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/thing")
}

async fn call(params: Json) -> Result<Json, ActionError> {
    let registry = shutter_providers::registry();
    let action = registry.get("http.request").unwrap();
    let ctx = ActionContext::standalone(params, Arc::new(RecordingSink::default()));
    action.run(&ctx).await
}

#[tokio::test]
async fn returns_status_headers_and_parsed_json_and_sends_the_key() {
    let url = server(201).await;
    let out = call(json!({"url": url, "method": "POST", "body": {"a": 1}}))
        .await
        .unwrap();
    assert_eq!(out["status"], 201);
    assert_eq!(out["headers"]["x-test"], "yes");
    assert_eq!(out["json"], json!({"saw_key": true}));
}

#[tokio::test]
async fn server_errors_are_retryable_and_client_errors_fatal() {
    let unavailable = call(json!({"url": server(503).await})).await.unwrap_err();
    assert!(
        matches!(&unavailable, ActionError::Retryable(m) if m.contains("503")),
        "{unavailable:?}"
    );
    let missing = call(json!({"url": server(404).await})).await.unwrap_err();
    assert!(
        matches!(&missing, ActionError::Fatal(m) if m.starts_with("GET http://127.0.0.1")),
        "{missing:?}"
    );
    let throttled = call(json!({"url": server(429).await})).await.unwrap_err();
    assert!(matches!(throttled, ActionError::Retryable(_)));
}

#[tokio::test]
async fn expect_accepts_listed_statuses_only() {
    let url = server(404).await;
    let out = call(json!({"url": url, "expect": [200, 404]}))
        .await
        .unwrap();
    assert_eq!(out["status"], 404);
    let err = call(json!({"url": server(200).await, "expect": 204}))
        .await
        .unwrap_err();
    assert!(matches!(err, ActionError::Fatal(_)));
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = call(json!({"url": format!("http://{addr}/"), "timeout": "2s"}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Retryable(m) if m.contains("error")),
        "{err:?}"
    );
}
