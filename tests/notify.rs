//! Webhooks end to end: `shutter run` of a workflow with `notify:` tells a
//! local receiver, which checks each signature by the documented recipe
//! (written here again, from docs/execution.md, not taken from Shutter)
//! and refuses the first delivery; each delivery is on the record.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use shutter_tests::shutter_bin;

const SECRET: &str = "whsec-test-4f1c";

/// HMAC-SHA256 (RFC 2104) over SHA-256's 64-byte blocks.
fn hmac(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

/// The recipe: `t` and `v1` from the header, HMAC of `t.body`, hex, equal,
/// and `t` within five minutes of now.
fn signed(headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let header = headers
        .get("shutter-signature")
        .and_then(|v| v.to_str().ok())
        .ok_or("no Shutter-Signature")?;
    let part = |name: &str| {
        header
            .split(',')
            .find_map(|p| p.trim().strip_prefix(name))
            .map(str::to_owned)
    };
    let t = part("t=").ok_or("no t")?;
    let v1 = part("v1=").ok_or("no v1")?;
    let age = chrono::Utc::now().timestamp() - t.parse::<i64>().map_err(|e| e.to_string())?;
    if age.abs() > 300 {
        return Err(format!("{age} s old"));
    }
    let mut message = t.into_bytes();
    message.push(b'.');
    message.extend_from_slice(body);
    let expected: String = hmac(SECRET.as_bytes(), &message)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    if expected == v1 {
        Ok(())
    } else {
        Err("the signature does not match".to_owned())
    }
}

#[derive(Debug, Clone)]
struct Received {
    event: String,
    delivery: String,
    body: Json,
    signed: Result<(), String>,
}

/// A receiver on 127.0.0.1: answers 503 to the first `started` request,
/// then 200 to any request it can verify (401 otherwise).
fn receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let seen: Arc<Mutex<Vec<Received>>> = Arc::default();
    let kept = seen.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a port");
            tx.send(listener.local_addr().expect("an address"))
                .expect("the test waits");
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                    let seen = kept.clone();
                    async move {
                        let header = |name: &str| {
                            headers
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned()
                        };
                        let received = Received {
                            event: header("shutter-event"),
                            delivery: header("shutter-delivery"),
                            body: serde_json::from_slice(&body).unwrap_or(Json::Null),
                            signed: signed(&headers, &body),
                        };
                        let mut seen = seen.lock().expect("not poisoned");
                        let first = received.event == "started"
                            && !seen.iter().any(|r| r.event == "started");
                        let ok = received.signed.is_ok();
                        seen.push(received);
                        match (first, ok) {
                            (true, _) => StatusCode::SERVICE_UNAVAILABLE,
                            (false, true) => StatusCode::OK,
                            (false, false) => StatusCode::UNAUTHORIZED,
                        }
                    }
                }),
            );
            axum::serve(listener, app).await.expect("serves");
        });
    });
    let address = rx.recv().expect("the receiver starts");
    (format!("http://{address}/hook"), seen)
}

#[test]
fn a_failed_run_tells_its_receiver_signed_and_records_each_delivery() {
    let (url, seen) = receiver();
    let dir = tempfile::tempdir().expect("temp dir");
    let workflow = dir.path().join("notified.yaml");
    std::fs::write(
        &workflow,
        format!(
            "version: 1
name: notified
secrets: [hook_key]
notify:
  - url: {url}?token=not-for-the-record
    events: [started, step_failed, failed]
    secret: hook_key
steps:
  boom:
    uses: core.fail
    with: {{message: disk full}}
"
        ),
    )
    .expect("writable");
    let db = dir.path().join("notify.db");
    let run = std::process::Command::new(shutter_bin())
        .arg("run")
        .arg(&workflow)
        .env("SHUTTER_DB", &db)
        .env("SHUTTER_SECRET_HOOK_KEY", SECRET)
        .env("NO_COLOR", "1")
        .output()
        .expect("shutter runs");
    assert!(!run.status.success(), "the workflow fails");

    let seen = seen.lock().expect("not poisoned").clone();
    let mut events: Vec<&str> = seen.iter().map(|r| r.event.as_str()).collect();
    events.sort_unstable();
    // The first `started` was refused (503) and sent again.
    assert_eq!(
        events,
        vec!["failed", "started", "started", "step_failed"],
        "{seen:#?}"
    );
    let of = |event: &str| -> Vec<&Received> { seen.iter().filter(|r| r.event == event).collect() };
    for received in &seen {
        assert_eq!(received.signed, Ok(()), "{received:#?}");
        assert_eq!(received.body["event"], received.event.as_str());
        assert_eq!(received.body["execution"]["workflow"], "notified");
    }
    let started = of("started");
    assert_eq!(
        started[0].delivery, started[1].delivery,
        "one delivery, two tries"
    );
    assert_eq!(of("step_failed")[0].body["step"]["id"], "boom");
    let failed = &of("failed")[0].body;
    assert!(
        failed["execution"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("disk full")),
        "{failed:#}"
    );

    let list = std::process::Command::new(shutter_bin())
        .args(["executions", "list", "--json"])
        .env("SHUTTER_DB", &db)
        .output()
        .expect("shutter runs");
    let records: Json = serde_json::from_slice(&list.stdout).expect("json");
    let notifications = records[0]["notifications"]
        .as_array()
        .expect("deliveries on the record");
    let tries: Vec<(&str, u64, bool)> = notifications
        .iter()
        .map(|n| {
            (
                n["event"].as_str().unwrap_or_default(),
                n["tries"].as_u64().unwrap_or_default(),
                n["delivered"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    let mut sorted = tries.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        vec![
            ("failed", 1, true),
            ("started", 2, true),
            ("step_failed", 1, true)
        ],
        "{notifications:#?}"
    );
    let text = serde_json::to_string(notifications).expect("json");
    assert!(
        !text.contains("not-for-the-record"),
        "no token on the record: {text}"
    );
    assert!(!text.contains(SECRET));
}
