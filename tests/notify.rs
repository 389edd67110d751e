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

/// Serves `app` on a loopback port, on a thread of its own (the tests
/// run `shutter` as a child process and wait for it synchronously).
fn serve(app: axum::Router) -> std::net::SocketAddr {
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
            axum::serve(listener, app).await.expect("serves");
        });
    });
    rx.recv().expect("the receiver starts")
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
                let first =
                    received.event == "started" && !seen.iter().any(|r| r.event == "started");
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
    let address = serve(app);
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

/// What a receiver saw: each request's event and delivery id.
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A receiver that never answers the first `succeeded` request (its
/// sender is killed meanwhile) and answers 200 to everything else; it
/// keeps each request's event and delivery id.
fn stalling_receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let kept = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap| {
            let seen = kept.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                let event = header("shutter-event");
                let first = {
                    let mut seen = seen.lock().expect("not poisoned");
                    let first = event == "succeeded" && !seen.iter().any(|(e, _)| e == "succeeded");
                    seen.push((event, header("shutter-delivery")));
                    first
                };
                if first {
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                }
                StatusCode::OK
            }
        }),
    );
    let address = serve(app);
    (format!("http://{address}/hook"), seen)
}

/// `shutter run` is killed (SIGKILL) while it delivers the ending's
/// webhook: `shutter resume` sends that delivery again, with the same id,
/// and the record then shows it delivered and nothing pending.
#[test]
fn a_delivery_cut_short_by_a_killed_engine_is_sent_by_resume() {
    let (url, seen) = stalling_receiver();
    let dir = tempfile::tempdir().expect("temp dir");
    let workflow = dir.path().join("handed-over.yaml");
    std::fs::write(
        &workflow,
        format!(
            "version: 1
name: handed-over
notify:
  - url: {url}
steps:
  a: {{uses: core.noop}}
"
        ),
    )
    .expect("writable");
    let db = dir.path().join("notify.db");
    let mut run = std::process::Command::new(shutter_bin())
        .arg("run")
        .arg(&workflow)
        .env("SHUTTER_DB", &db)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("shutter runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while seen.lock().expect("not poisoned").is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "no delivery came in time"
        );
        assert!(
            run.try_wait().expect("waits").is_none(),
            "`shutter run` ended before its delivery did"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    run.kill().expect("killed");
    run.wait().expect("reaped");

    let show = |what: &str| -> Json {
        let out = std::process::Command::new(shutter_bin())
            .args(["executions", "list", "--json"])
            .env("SHUTTER_DB", &db)
            .output()
            .expect("shutter runs");
        let records: Json = serde_json::from_slice(&out.stdout).expect("json");
        let id = records[0]["id"].as_str().expect("an execution").to_owned();
        let out = std::process::Command::new(shutter_bin())
            .args(["executions", "show", &id, "--json"])
            .env("SHUTTER_DB", &db)
            .output()
            .expect("shutter runs");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{what}: json"))
    };
    // `executions show --json` on the local store prints the record.
    let before = show("before resume");
    assert_eq!(before["execution"]["state"], "succeeded", "{before:#}");
    let pending = before["execution"]["pending_notices"]
        .as_array()
        .expect("a list")
        .clone();
    assert_eq!(pending.len(), 1, "{before:#}");
    let delivery = pending[0]["id"].as_str().expect("an id").to_owned();

    let resume = std::process::Command::new(shutter_bin())
        .arg("resume")
        .env("SHUTTER_DB", &db)
        .env("NO_COLOR", "1")
        .output()
        .expect("shutter resumes");
    assert!(
        resume.status.success(),
        "{}",
        String::from_utf8_lossy(&resume.stderr)
    );
    let seen = seen.lock().expect("not poisoned").clone();
    assert_eq!(
        seen,
        vec![
            ("succeeded".to_owned(), delivery.clone()),
            ("succeeded".to_owned(), delivery.clone())
        ],
        "sent again under the same id"
    );
    let after = show("after resume");
    assert_eq!(after["execution"]["state"], "succeeded");
    assert!(
        after["execution"].get("pending_notices").is_none(),
        "nothing pending: {after:#}"
    );
    let notifications = after["execution"]["notifications"]
        .as_array()
        .expect("a list");
    assert_eq!(notifications.len(), 1, "{after:#}");
    assert_eq!(notifications[0]["delivered"], true);
    assert_eq!(notifications[0]["id"], delivery.as_str());
}
