#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! `http.request` against a real socket on 127.0.0.1: outputs, the
//! idempotency key header, how failures are classified (5xx, 408, 429
//! retryable), redirects (same host only: headers may carry secrets), and
//! typed parameters.

use std::sync::Arc;

use serde_json::{Value as Json, json};
use shutter_core::{ActionContext, ActionError, RecordingSink};
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
        matches!(&unavailable, ActionError::Retryable { message: m, .. } if m.contains("503")),
        "{unavailable:?}"
    );
    let missing = call(json!({"url": server(404).await})).await.unwrap_err();
    assert!(
        matches!(&missing, ActionError::Fatal { message: m, .. } if m.starts_with("GET http://127.0.0.1")),
        "{missing:?}"
    );
    let throttled = call(json!({"url": server(429).await})).await.unwrap_err();
    assert!(matches!(throttled, ActionError::Retryable { .. }));
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
    assert!(matches!(err, ActionError::Fatal { .. }));
}

#[tokio::test]
async fn a_refused_connection_is_retryable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = call(json!({"url": format!("http://{addr}/"), "timeout": "2s"}))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    // The message says which call; the recorded report keeps the cause.
    assert!(
        err.report().contains("Connection refused"),
        "{}",
        err.report()
    );
}

/// Redirects `/moved` to `target`; counts the requests that reach `/landed`
/// and keeps the `x-secret` header they carried.
async fn redirector(target: Option<String>) -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let landed = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = landed.clone();
    let target = target.unwrap_or_else(|| format!("http://{addr}/landed"));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (target, seen) = (target.clone(), seen.clone());
            tokio::spawn(async move {
                let mut buffer = vec![0; 8192];
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buffer[..n]).to_lowercase();
                let answer = if head.starts_with("get /moved") {
                    format!(
                        "HTTP/1.1 302 Found\r\nlocation: {target}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    )
                } else {
                    let secret = head
                        .lines()
                        .find_map(|line| line.strip_prefix("x-secret: "))
                        .unwrap_or("none")
                        .to_owned();
                    seen.lock().unwrap().push(secret);
                    "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok".to_owned()
                };
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (format!("http://{addr}"), landed)
}

#[tokio::test]
async fn redirects_are_followed_on_the_same_host_only() {
    let (same, landed) = redirector(None).await;
    let out = call(json!({"url": format!("{same}/moved"), "headers": {"x-secret": "s3cret"}}))
        .await
        .unwrap();
    assert_eq!(out["body"], "ok");
    assert_eq!(*landed.lock().unwrap(), ["s3cret"]);

    // 127.0.0.1 -> localhost: the same machine, another host to a client.
    let (other, reached) = redirector(None).await;
    let elsewhere = other.replace("127.0.0.1", "localhost") + "/landed";
    let (base, _) = redirector(Some(elsewhere)).await;
    let err = call(json!({"url": format!("{base}/moved"), "headers": {"x-secret": "s3cret"}}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Fatal { message, .. } if message.contains("302")),
        "{err:?}"
    );
    assert!(
        reached.lock().unwrap().is_empty(),
        "the other host saw nothing"
    );
}

#[tokio::test]
async fn a_request_timeout_is_retryable() {
    let err = call(json!({"url": server(408).await})).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn a_parameter_of_the_wrong_type_is_an_error_naming_it() {
    let err = call(json!({"url": server(200).await, "timeout": 30}))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ActionError::Fatal { message, .. } if message.starts_with("parameter `timeout`: invalid type: integer `30`")),
        "{err:?}"
    );
}
