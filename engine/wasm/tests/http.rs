#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! Outgoing HTTP from a component (`shutter:step/http`) with the WAT
//! fixture `fetch.component.wat`, against a small HTTP server on
//! 127.0.0.1: granted hosts answer, others are refused before any
//! connection, redirects come back to the guest, the deadline bounds a
//! request, and no grant means no HTTP.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use shutter_core::LogLevel;
use shutter_wasm::{Failure, Grants, Limits, Outcome, Run, WasmHost};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// A server answering `/hello` with what it was sent, `/redirect` with a
/// 302, and `/slow` never; it counts the connections it accepted.
async fn server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(answer(socket));
        }
    });
    (addr.to_string(), accepted)
}

async fn answer(socket: tokio::net::TcpStream) {
    let mut reader = BufReader::new(socket);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).await.unwrap();
    let mut length = 0;
    let mut marker = String::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap();
        match name.to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap(),
            "x-marker" => value.trim().clone_into(&mut marker),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.unwrap();
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap(), parts.next().unwrap());
    let reply = match path.split('?').next().unwrap_or_default() {
        "/hello" => {
            let got = json!({"method": method, "marker": marker, "body": String::from_utf8_lossy(&body)});
            let got = got.to_string();
            format!(
                "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\nx-reply: yes\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{got}",
                got.len()
            )
        }
        "/redirect" => "HTTP/1.1 302 Found\r\nlocation: http://elsewhere.test/\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
        _ => std::future::pending::<String>().await,
    };
    reader.get_mut().write_all(reply.as_bytes()).await.unwrap();
}

fn fetch_component() -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../wasm-steps/examples/wat/fetch.component.wat");
    wat::parse_file(&path).unwrap()
}

/// Runs the fetch component once on a blocking thread, as the engine does.
async fn fetch(request: Json, allow: &[String], timeout: Duration) -> Outcome {
    fetch_until(request, allow, timeout, Arc::new(AtomicBool::new(false))).await
}

async fn fetch_until(
    request: Json,
    allow: &[String],
    timeout: Duration,
    canceled: Arc<AtomicBool>,
) -> Outcome {
    let allow = allow.to_vec();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let host = WasmHost::new(None).unwrap();
        let bytes = fetch_component();
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let loaded = host.load(&bytes, &digest).unwrap();
        host.run(
            &loaded,
            Run {
                params: request,
                limits: Limits {
                    timeout,
                    ..Limits::default()
                },
                grants: Grants {
                    http: allow,
                    ..Grants::default()
                },
                canceled,
                runtime: Some(runtime),
            },
        )
    })
    .await
    .unwrap()
}

fn guest_message(outcome: &Outcome) -> String {
    match &outcome.result {
        Err(Failure::Guest { message, retryable }) => {
            assert!(!retryable);
            message.clone()
        }
        other => panic!("expected the guest's failure, got {other:?}"),
    }
}

const SECOND: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_granted_host_answers_the_guest() {
    let (addr, accepted) = server().await;
    let out = fetch(
        json!({"method": "post", "url": format!("http://{addr}/hello?token=hidden"),
               "headers": {"x-marker": "m1"}, "body": "ping"}),
        std::slice::from_ref(&addr),
        SECOND,
    )
    .await;
    let response = out.result.clone().unwrap();
    assert_eq!(response["status"], 201, "{response}");
    assert_eq!(response["headers"]["x-reply"], "yes");
    let body: Json = serde_json::from_str(response["body"].as_str().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"method": "POST", "marker": "m1", "body": "ping"})
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    // one debug line per request: method and URL without its query
    assert_eq!(
        out.logs,
        vec![(
            LogLevel::Debug,
            format!("http POST http://{addr}/hello -> 201")
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_host_not_granted_is_refused_before_connecting() {
    let (addr, accepted) = server().await;
    let port = addr.rsplit_once(':').unwrap().1;
    for allow in [
        vec!["example.com".to_owned()],
        vec!["127.0.0.1:1".to_owned()],
        vec![format!("*.0.0.1:{port}")],
    ] {
        let out = fetch(
            json!({"url": format!("http://{addr}/hello")}),
            &allow,
            SECOND,
        )
        .await;
        let message = guest_message(&out);
        assert!(
            message.contains(&format!("http to {addr} is not granted to this step")),
            "{message}"
        );
    }
    let out = fetch(json!({"url": format!("http://{addr}/hello")}), &[], SECOND).await;
    assert!(
        guest_message(&out).contains("granted no http"),
        "{:?}",
        out.result
    );
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "no request left the host"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_comes_back_to_the_guest_unfollowed() {
    let (addr, _) = server().await;
    let out = fetch(
        json!({"url": format!("http://{addr}/redirect")}),
        &[addr],
        SECOND,
    )
    .await;
    let response = out.result.unwrap();
    assert_eq!(response["status"], 302);
    assert_eq!(response["headers"]["location"], "http://elsewhere.test/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_step_deadline_bounds_a_request() {
    let (addr, _) = server().await;
    let started = std::time::Instant::now();
    let out = fetch(
        json!({"url": format!("http://{addr}/slow")}),
        &[addr],
        Duration::from_millis(300),
    )
    .await;
    // the request gives up at the deadline, then the guest is stopped
    assert_eq!(
        out.result,
        Err(Failure::Deadline(Duration::from_millis(300))),
        "{:?}",
        out.logs
    );
    assert!(
        out.logs
            .iter()
            .any(|(_, line)| line.contains("no answer before the step's deadline")),
        "{:?}",
        out.logs
    );
    assert!(started.elapsed() < SECOND, "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_stops_a_request_in_flight() {
    let (addr, _) = server().await;
    let canceled = Arc::new(AtomicBool::new(false));
    let flag = canceled.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        flag.store(true, Ordering::Relaxed);
    });
    let started = std::time::Instant::now();
    let out = fetch_until(
        json!({"url": format!("http://{addr}/slow")}),
        &[addr],
        SECOND,
        canceled,
    )
    .await;
    // the host call ends, then the guest is stopped at its next tick
    assert!(
        matches!(&out.result, Err(Failure::Canceled))
            || matches!(&out.result, Err(Failure::Guest { message, .. }) if message.contains("canceled")),
        "{:?}",
        out.result
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_request_is_explained() {
    let (addr, _) = server().await;
    let out = fetch(
        json!({"uri": "http://x/"}),
        std::slice::from_ref(&addr),
        SECOND,
    )
    .await;
    assert!(
        guest_message(&out).contains("is not {method, url"),
        "{:?}",
        out.result
    );
    let out = fetch(json!({"url": "file:///etc/passwd"}), &[addr], SECOND).await;
    assert!(
        guest_message(&out).contains("only http and https"),
        "{:?}",
        out.result
    );
}
