#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! Webhooks as the executor sends them (`notify:`): the events a receiver
//! asked for, with the step that failed, each delivery on the record; a
//! receiver that cannot be reached is recorded as such, never silently
//! dropped. (The HTTP notifier itself is tested in `shutter-providers`,
//! and end to end against a local receiver in the e2e tests.)

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use shutter_core::notify::{Delivery, Notifier, NotifyEvent, Target};
use shutter_core::{Claim, ExecutionRecord};
use shutter_runtime::{Engine, EngineConfig};
use shutter_store::MemoryStore;
use tokio_util::sync::CancellationToken;

mod support;

/// Accepts every delivery and keeps what it was given.
#[derive(Debug, Default)]
struct Inbox {
    got: Mutex<Vec<(String, NotifyEvent, Json, bool)>>,
}

#[async_trait]
impl Notifier for Inbox {
    async fn deliver(
        &self,
        target: &Target,
        event: NotifyEvent,
        _id: &str,
        body: &[u8],
        _cancel: &CancellationToken,
    ) -> Delivery {
        let body: Json = serde_json::from_slice(body).unwrap();
        self.got
            .lock()
            .unwrap()
            .push((target.name.clone(), event, body, target.secret.is_some()));
        Delivery {
            delivered: true,
            status: Some(204),
            tries: 1,
            error: None,
        }
    }
}

async fn run(yaml: &str, notifier: Option<Arc<dyn Notifier>>) -> ExecutionRecord {
    let store = Arc::new(MemoryStore::new());
    let config = EngineConfig {
        notifier,
        ..EngineConfig::default()
    };
    let engine = Engine::new(
        store,
        shutter_providers::registry(),
        shutter_providers::catalog(),
        config,
    )
    .with_secrets(|_| shutter_core::Secrets::new([("hook".to_owned(), "k3y".to_owned())].into()));
    support::run_to_end(&engine, yaml, &json!({}), CancellationToken::new()).await
}

#[tokio::test]
async fn receivers_are_told_what_they_asked_for_and_each_delivery_is_recorded() {
    let inbox = Arc::new(Inbox::default());
    let yaml = "
version: 1
name: told
secrets: [hook]
notify:
  - url: https://hooks.example/shutter?token=t0k
    events: [started, step_failed, succeeded_with_errors, failed]
    secret: hook
  - url: https://quiet.example/
steps:
  prune:
    uses: core.fail
    on_error: continue
    with: {message: snapshot in use}
  after:
    uses: core.noop
    needs: [prune]
";
    let record = run(yaml, Some(inbox.clone())).await;
    assert_eq!(record.state.as_str(), "succeeded_with_errors");
    let got = inbox.got.lock().unwrap().clone();
    let told: Vec<(&str, NotifyEvent)> = got.iter().map(|(n, e, _, _)| (n.as_str(), *e)).collect();
    assert!(
        told.contains(&("https://hooks.example/shutter", NotifyEvent::Started)),
        "{told:?}"
    );
    assert!(told.contains(&("https://hooks.example/shutter", NotifyEvent::StepFailed)));
    assert!(told.contains(&(
        "https://hooks.example/shutter",
        NotifyEvent::SucceededWithErrors
    )));
    // The second receiver asked for nothing: how executions end.
    assert!(told.contains(&("https://quiet.example/", NotifyEvent::SucceededWithErrors)));
    assert_eq!(told.len(), 4, "{told:?}");
    let step_failed = got
        .iter()
        .find(|(_, e, _, _)| *e == NotifyEvent::StepFailed)
        .unwrap();
    assert_eq!(step_failed.2["step"]["id"], "prune");
    assert!(
        step_failed.2["step"]["error"]
            .as_str()
            .unwrap()
            .contains("snapshot in use")
    );
    assert!(step_failed.3, "signed with the workflow's secret");
    let ended = got
        .iter()
        .find(|(n, e, _, _)| {
            *e == NotifyEvent::SucceededWithErrors && n.starts_with("https://quiet")
        })
        .unwrap();
    assert_eq!(ended.2["execution"]["state"], "succeeded_with_errors");
    assert!(!ended.3, "no secret, no signature");
    // Every delivery is on the record, before the execution is handed back.
    assert_eq!(record.notifications.len(), 4, "{:?}", record.notifications);
    assert!(record.notifications.iter().all(|n| n.delivery.delivered));
    let text = serde_json::to_string(&record).unwrap();
    assert!(!text.contains("t0k"), "the URL's token is not recorded");
}

#[tokio::test]
async fn a_receiver_that_cannot_be_reached_is_recorded_not_dropped() {
    let yaml = "
version: 1
name: unheard
notify:
  - sink: ops
  - url: https://hooks.example/
steps:
  a: {uses: core.noop}
";
    // No config file (so no sink `ops`), and no notifier at all.
    let record = run(yaml, None).await;
    assert_eq!(record.state.as_str(), "succeeded");
    let mut why: Vec<(String, Option<String>)> = record
        .notifications
        .iter()
        .map(|n| (n.target.clone(), n.delivery.error.clone()))
        .collect();
    why.sort();
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(!record.notifications.iter().any(|n| n.delivery.delivered));
    assert_eq!(why[0].0, "https://hooks.example/");
    assert!(
        why[0].1.as_deref().unwrap().contains("sends no webhooks"),
        "{why:?}"
    );
    assert_eq!(why[1].0, "ops");
    assert!(
        why[1].1.as_deref().unwrap().contains("sink `ops`"),
        "{why:?}"
    );
}

/// Never answers: the engine sending through it dies mid-delivery.
#[derive(Debug, Default)]
struct Hangs;

#[async_trait]
impl Notifier for Hangs {
    async fn deliver(
        &self,
        _target: &Target,
        _event: NotifyEvent,
        _id: &str,
        _body: &[u8],
        cancel: &CancellationToken,
    ) -> Delivery {
        cancel.cancelled().await;
        Delivery {
            delivered: false,
            status: None,
            tries: 1,
            error: Some("canceled".to_owned()),
        }
    }
}

/// Keeps the delivery ids it was given.
#[derive(Debug, Default)]
struct Ids {
    got: Mutex<Vec<(NotifyEvent, String, Json)>>,
}

#[async_trait]
impl Notifier for Ids {
    async fn deliver(
        &self,
        _target: &Target,
        event: NotifyEvent,
        id: &str,
        body: &[u8],
        _cancel: &CancellationToken,
    ) -> Delivery {
        let body = serde_json::from_slice(body).unwrap();
        self.got.lock().unwrap().push((event, id.to_owned(), body));
        Delivery {
            delivered: true,
            status: Some(200),
            tries: 1,
            error: None,
        }
    }
}

fn engine_on(
    store: Arc<MemoryStore>,
    notifier: Arc<dyn Notifier>,
    lease: std::time::Duration,
) -> Engine {
    let config = EngineConfig {
        notifier: Some(notifier),
        lease,
        ..EngineConfig::default()
    };
    Engine::new(
        store,
        shutter_providers::registry(),
        shutter_providers::catalog(),
        config,
    )
}

/// An engine dies after the execution ended but before its webhook was
/// delivered: the delivery was recorded as pending with the ending, and
/// the engine that takes the execution over sends it, under the same
/// delivery id, and records it.
#[tokio::test]
async fn a_delivery_cut_short_by_a_dead_engine_is_sent_by_the_next() {
    let yaml = "
version: 1
name: handed-over
notify:
  - url: https://hooks.example/
steps:
  a: {uses: core.noop}
";
    let store = Arc::new(MemoryStore::new());
    let lease = std::time::Duration::from_millis(300);
    let first = engine_on(store.clone(), Arc::new(Hangs), lease);
    let (id, plan) = support::start(&first, yaml, &json!({})).await;
    let running = tokio::spawn({
        let first = first.clone();
        async move {
            first
                .run(Claim::created(id), plan, CancellationToken::new())
                .await
        }
    });
    // Wait until the execution has ended with its delivery pending.
    let pending = loop {
        let record = first.store().get(id).await.unwrap().unwrap();
        if record.state.is_terminal() && !record.pending_notices.is_empty() {
            break record.pending_notices.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    };
    // The engine dies: its task is gone and its lease runs out.
    running.abort();
    assert!(running.await.unwrap_err().is_cancelled());
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event, NotifyEvent::Succeeded);
    tokio::time::sleep(lease * 2).await;

    let ids = Arc::new(Ids::default());
    let second = engine_on(store.clone(), ids.clone(), lease);
    let resumed = second
        .resume_orphans(CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(resumed.len(), 1, "the ended execution was taken over");
    let record = resumed.into_iter().next().unwrap().unwrap();
    assert_eq!(record.id, id);
    assert_eq!(record.state.as_str(), "succeeded", "still as it ended");
    assert!(record.pending_notices.is_empty(), "{record:?}");
    let got = ids.got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "sent once: {got:?}");
    assert_eq!(got[0].0, NotifyEvent::Succeeded);
    assert_eq!(got[0].1, pending[0].id, "the same delivery id as queued");
    assert_eq!(got[0].2["execution"]["state"], "succeeded");
    let ended: Vec<_> = record
        .notifications
        .iter()
        .filter(|n| n.event == NotifyEvent::Succeeded)
        .collect();
    assert_eq!(ended.len(), 1, "{:?}", record.notifications);
    assert!(ended[0].delivery.delivered);
    assert_eq!(ended[0].id.as_deref(), Some(pending[0].id.as_str()));
    // Nothing is left for a third engine.
    let third = engine_on(store, ids.clone(), lease);
    tokio::time::sleep(lease * 2).await;
    assert!(
        third
            .resume_orphans(CancellationToken::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(ids.got.lock().unwrap().len(), 1);
}
