//! Webhooks of one execution (`notify:`): each event goes to the receivers
//! that asked for it, delivered in the background (a slow receiver never
//! holds a step back), and each delivery's end is recorded on the
//! execution (`Change::Notified`). The execution ends only once its
//! deliveries have: its claim is held, and renewed, until then.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value as Json, json};
use shutter_core::action::ChangeSink;
use shutter_core::ids::ExecutionId;
use shutter_core::notify::{
    Delivery, NOTIFY_SECTION, Notifier, NotifyEvent, NotifySection, Target, shown_url,
};
use shutter_core::record::{Change, ExecutionRecord, Notification, QueuedNotice};
use shutter_core::secrets::Secrets;
use shutter_dsl::model::{Notify, NotifyTo};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::engine::Inner;

/// A receiver as this execution resolved it: where to send, or why it
/// cannot be sent to (recorded as a failed delivery of each of its events).
struct Receiver {
    events: Vec<NotifyEvent>,
    target: Result<Target, (String, String)>,
}

impl Receiver {
    /// The receiver as records show it.
    fn name(&self) -> &str {
        match &self.target {
            Ok(target) => &target.name,
            Err((name, _)) => name,
        }
    }
}

pub(crate) struct Notices {
    id: ExecutionId,
    workflow: String,
    receivers: Vec<Receiver>,
    notifier: Option<Arc<dyn Notifier>>,
    sink: Arc<dyn ChangeSink>,
    secrets: Secrets,
    /// Canceled when the execution is halted (its claim lost): a
    /// delivery then stops and records nothing.
    halt: CancellationToken,
    sent: AtomicU32,
    tasks: Mutex<JoinSet<()>>,
}

impl std::fmt::Debug for Notices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notices")
            .field("receivers", &self.receivers.len())
            .finish_non_exhaustive()
    }
}

impl Notices {
    pub(crate) fn new(
        inner: &Inner,
        id: ExecutionId,
        workflow: &shutter_dsl::Workflow,
        sink: Arc<dyn ChangeSink>,
        secrets: Secrets,
        halt: CancellationToken,
        record: &ExecutionRecord,
    ) -> Self {
        let receivers = if workflow.notify.is_empty() {
            Vec::new()
        } else {
            receivers(inner, &workflow.notify, &secrets)
        };
        Self {
            id,
            workflow: workflow.name.to_string(),
            receivers,
            notifier: inner.config.notifier.clone(),
            sink,
            secrets,
            halt,
            // Every delivery queued before (by an engine before this one)
            // has ended or is pending: numbers go on from there.
            sent: AtomicU32::new(
                u32::try_from(record.notifications.len() + record.pending_notices.len())
                    .unwrap_or(u32::MAX),
            ),
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// The deliveries `event` calls for, one per receiver that asked for
    /// it. They are written with the change that caused the event
    /// ([`changes`]), then [`Notices::dispatch`]ed: a dead engine loses
    /// none (whoever takes the execution over sends them). `execution`
    /// says where the execution stands (state, error, times); `step` is
    /// the failed step of `step_failed`, with its error.
    pub(crate) fn queue(
        &self,
        event: NotifyEvent,
        execution: Json,
        step: Option<(&str, &str)>,
    ) -> Vec<QueuedNotice> {
        let at = self.sink.now();
        self.receivers
            .iter()
            .enumerate()
            .filter(|(_, r)| r.events.contains(&event))
            .map(|(receiver, r)| {
                let number = self.sent.fetch_add(1, Ordering::Relaxed);
                let id = format!("{}.{number}", self.id);
                let mut body = json!({
                    "event": event.as_str(),
                    "delivery": id,
                    "at": at.to_rfc3339(),
                    "execution": execution,
                });
                if let Some((step, error)) = step {
                    body["step"] = json!({"id": step, "error": error});
                }
                QueuedNotice {
                    id,
                    event,
                    receiver,
                    target: r.name().to_owned(),
                    step: step.map(|(id, _)| id.to_owned()),
                    body: self.secrets.redact_json(&body),
                    at,
                }
            })
            .collect()
    }

    /// Delivers queued notices in the background, each recording its end
    /// (`Change::Notified`, naming the delivery).
    pub(crate) fn dispatch(&self, notices: Vec<QueuedNotice>) {
        for notice in notices {
            let sink = self.sink.clone();
            let halt = self.halt.clone();
            let notifier = self.notifier.clone();
            let target = self.receivers.get(notice.receiver).map_or_else(
                || {
                    Err((
                        notice.target.clone(),
                        format!("the workflow has no receiver #{}", notice.receiver),
                    ))
                },
                |r| r.target.clone(),
            );
            let task = async move {
                let (name, delivery) = match (target, notifier) {
                    (Err((name, why)), _) => (name, undelivered(why)),
                    (Ok(target), None) => (
                        target.name,
                        undelivered(
                            "this engine sends no webhooks (it was built without a notifier)"
                                .to_owned(),
                        ),
                    ),
                    (Ok(target), Some(notifier)) => {
                        let bytes = serde_json::to_vec(&notice.body).unwrap_or_default();
                        let delivery = notifier
                            .deliver(&target, notice.event, &notice.id, &bytes, &halt)
                            .await;
                        (target.name, delivery)
                    }
                };
                if halt.is_cancelled() {
                    return;
                }
                let notification = Notification {
                    event: notice.event,
                    target: name,
                    step: notice.step,
                    id: Some(notice.id),
                    delivery,
                    at: sink.now(),
                };
                if let Err(err) = sink.record(vec![Change::Notified { notification }]).await {
                    tracing::warn!("recording a webhook delivery failed: {err}");
                }
            };
            self.tasks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .spawn(task);
        }
    }

    /// Waits until every delivery sent so far has ended and been recorded.
    pub(crate) async fn settle(&self) {
        loop {
            let mut tasks = std::mem::take(
                &mut *self
                    .tasks
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            if tasks.is_empty() {
                return;
            }
            while tasks.join_next().await.is_some() {}
        }
    }

    /// The execution's part of a body.
    pub(crate) fn execution(
        &self,
        state: &str,
        error: Option<&str>,
        started_at: Option<String>,
        finished_at: Option<String>,
    ) -> Json {
        json!({
            "id": self.id.to_string(),
            "workflow": self.workflow,
            "state": state,
            "error": error,
            "started_at": started_at,
            "finished_at": finished_at,
            "url": format!("/executions/{}", self.id),
        })
    }
}

/// What records `notices` as decided on.
pub(crate) fn changes(notices: &[QueuedNotice]) -> Vec<Change> {
    notices
        .iter()
        .map(|notice| Change::NotifyQueued {
            notice: notice.clone(),
        })
        .collect()
}

fn undelivered(why: String) -> Delivery {
    Delivery {
        delivered: false,
        status: None,
        tries: 0,
        error: Some(why),
    }
}

/// The workflow's receivers, with sinks looked up in the config file and
/// secrets resolved.
fn receivers(inner: &Inner, notify: &[Notify], secrets: &Secrets) -> Vec<Receiver> {
    let load = || -> Result<NotifySection, String> {
        let file = inner.config.config.load().map_err(|err| err.to_string())?;
        let Some(file) = file else {
            return Err(format!(
                "no config file was found (it is looked for at {})",
                shutter_core::config::SEARCHED
            ));
        };
        file.section::<NotifySection>(NOTIFY_SECTION)
            .map_err(|err| err.to_string())
            .map(Option::unwrap_or_default)
    };
    // Read once, and only when a receiver names a sink.
    let named = notify
        .iter()
        .any(|entry| matches!(entry.to, NotifyTo::Sink(_)));
    let sinks = if named {
        load()
    } else {
        Ok(NotifySection::default())
    };
    notify
        .iter()
        .map(|entry| {
            let target = match &entry.to {
                NotifyTo::Url(url) => {
                    let secret = entry
                        .secret
                        .as_ref()
                        .and_then(|name| secrets.get(name))
                        .map(str::to_owned);
                    Ok(Target {
                        name: shown_url(url),
                        url: url.clone(),
                        secret,
                    })
                }
                NotifyTo::Sink(name) => sinks
                    .clone()
                    .and_then(|section| {
                        section.sinks.get(name).cloned().ok_or_else(|| {
                            let known: Vec<&str> = section.sinks.keys().map(String::as_str).collect();
                            format!("sink `{name}` is not in the config file's `notify.sinks` (it has: {})", if known.is_empty() { "none".to_owned() } else { known.join(", ") })
                        })
                    })
                    .map(|sink| {
                        let secret = sink.secret.as_ref().and_then(|secret| {
                            inner
                                .secrets
                                .resolve(std::slice::from_ref(secret))
                                .get(secret)
                                .map(str::to_owned)
                        });
                        Target {
                            name: name.clone(),
                            url: sink.url,
                            secret,
                        }
                    })
                    .map_err(|why| {
                        let why = if why.starts_with("sink `") {
                            why
                        } else {
                            format!("sink `{name}`: {why}")
                        };
                        (name.clone(), why)
                    }),
            };
            Receiver {
                events: entry.events.clone(),
                target,
            }
        })
        .collect()
}
