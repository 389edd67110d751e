#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The HTTP notifier against a receiver on 127.0.0.1: every try is signed
//! so that `sign::verify` accepts it, with the same delivery id; 503 is
//! tried again and 400 is not; a receiver that is not there uses up the
//! tries; a cancel ends the wait between tries at once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use shutter_core::notify::{Delivery, Notifier, NotifyEvent, Target};
use shutter_providers::notify::sign::verify;
use shutter_providers::notify::{Backoff, HttpNotifier};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "receiver-secret";
const BODY: &[u8] = br#"{"event":"failed","execution":"01J0000000000000000000000"}"#;

/// What the receiver saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    content_type: Option<String>,
    event: Option<String>,
    delivery: Option<String>,
    /// `verify` of its `Shutter-Signature`, as a receiver would check it.
    signature: Result<(), String>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A receiver at `/hook` answering the statuses of `answers` in turn (the
/// last one from then on), checking each request's signature.
async fn receiver(answers: Vec<u16>) -> (String, Log) {
    let log: Log = Arc::default();
    let seen = log.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            let answers = answers.clone();
            async move {
                let text = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|value| value.to_str().ok())
                        .map(str::to_owned)
                };
                let now = chrono::Utc::now().timestamp();
                let signature = text("shutter-signature").map_or_else(
                    || Err("unsigned".to_owned()),
                    |header| verify(SECRET, &header, &body, now, 300),
                );
                let mut seen = seen.lock().unwrap();
                seen.push(Seen {
                    content_type: text("content-type"),
                    event: text("shutter-event"),
                    delivery: text("shutter-delivery"),
                    signature,
                });
                let count = seen.len();
                let answer = answers
                    .get(count - 1)
                    .or(answers.last())
                    .copied()
                    .unwrap_or(200);
                (
                    StatusCode::from_u16(answer).unwrap(),
                    format!("answer number {count}"),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}/hook"), log)
}

fn target(url: String) -> Target {
    Target {
        name: "ops-hook".to_owned(),
        url,
        secret: Some(SECRET.to_owned()),
    }
}

fn quick(tries: u32) -> Backoff {
    Backoff {
        tries,
        first: Duration::from_millis(10),
        max: Duration::from_millis(50),
    }
}

async fn deliver(notifier: &HttpNotifier, url: String, cancel: &CancellationToken) -> Delivery {
    notifier
        .deliver(
            &target(url),
            NotifyEvent::Failed,
            "delivery-1",
            BODY,
            cancel,
        )
        .await
}

fn seen(log: &Log) -> Vec<Seen> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn a_503_is_tried_again_and_every_try_is_signed() {
    let (url, log) = receiver(vec![503, 200]).await;
    let notifier = HttpNotifier::with_backoff(quick(3)).unwrap();
    let delivery = deliver(&notifier, url, &CancellationToken::new()).await;
    assert_eq!(
        delivery,
        Delivery {
            delivered: true,
            status: Some(200),
            tries: 2,
            error: None,
        }
    );
    let seen = seen(&log);
    assert_eq!(seen.len(), 2, "{seen:?}");
    for request in &seen {
        assert_eq!(request.signature, Ok(()), "{request:?}");
        assert_eq!(request.event.as_deref(), Some("failed"));
        assert_eq!(request.delivery.as_deref(), Some("delivery-1"));
        assert_eq!(request.content_type.as_deref(), Some("application/json"));
    }
}

#[tokio::test]
async fn a_400_is_a_refusal_not_tried_again() {
    let (url, log) = receiver(vec![400]).await;
    let notifier = HttpNotifier::with_backoff(quick(3)).unwrap();
    let delivery = deliver(&notifier, url.clone(), &CancellationToken::new()).await;
    assert!(!delivery.delivered);
    assert_eq!(delivery.tries, 1);
    assert_eq!(delivery.status, Some(400));
    let error = delivery.error.unwrap();
    assert!(error.contains("answered 400"), "{error}");
    assert!(error.contains("ops-hook"), "names the receiver: {error}");
    assert!(
        error.contains("answer number 1"),
        "says what it said: {error}"
    );
    assert!(!error.contains(&url), "never the URL: {error}");
    assert_eq!(seen(&log).len(), 1);
}

#[tokio::test]
async fn a_receiver_that_is_not_there_uses_up_the_tries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let notifier = HttpNotifier::with_backoff(quick(3)).unwrap();
    let delivery = deliver(
        &notifier,
        format!("http://{addr}/hook?token=query-secret"),
        &CancellationToken::new(),
    )
    .await;
    assert!(!delivery.delivered);
    assert_eq!(delivery.tries, 3);
    assert_eq!(delivery.status, None);
    let error = delivery.error.unwrap();
    assert!(error.contains("no answer"), "{error}");
    assert!(!error.contains("query-secret"), "never the URL: {error}");
    assert!(!error.contains(SECRET), "never the secret: {error}");
}

#[tokio::test]
async fn a_cancel_ends_the_wait_between_tries() {
    let (url, log) = receiver(vec![500]).await;
    let notifier = HttpNotifier::with_backoff(Backoff {
        tries: 5,
        first: Duration::from_secs(10),
        max: Duration::from_secs(30),
    })
    .unwrap();
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    let watched = log.clone();
    tokio::spawn(async move {
        // Once the first try has reached the receiver, the notifier is
        // (or is about to be) waiting 10 s for the second.
        let deadline = Instant::now() + Duration::from_secs(5);
        while seen(&watched).is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        trigger.cancel();
    });
    let started = Instant::now();
    let delivery = deliver(&notifier, url, &cancel).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(!delivery.delivered);
    assert_eq!(delivery.error.as_deref(), Some("canceled"));
    assert_eq!(delivery.tries, 1);
    assert_eq!(seen(&log).len(), 1);
}
