//! What the writer's own tests start from: one execution of one step.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use shutter_core::record::LogLevel;
use shutter_core::{Change, Claim, ExecutionId, Holder, NewExecution, Owner, StepKey, Store};

use super::SqliteStore;

/// Creates an execution of one step, `a`, and returns its claim.
pub(super) async fn one_step(store: &SqliteStore) -> Claim {
    let new = NewExecution {
        id: ExecutionId::new(),
        workflow: "w".into(),
        plan_hash: "h".into(),
        source: "version: 1".into(),
        source_path: None,
        inputs: json!({}),
        steps: vec!["a".into()],
        created_at: Utc::now(),
        idempotency_key: None,
        concurrency: None,
    };
    let id = new.id;
    let holder = Holder::new(Owner::this_process(), Duration::from_secs(30));
    store.create(new, &holder).await.unwrap();
    Claim::created(id)
}

/// Step `a` logs `message`: a change whose order the log shows.
pub(super) fn line(message: &str) -> Change {
    Change::Log {
        key: StepKey::step("a"),
        attempt: 1,
        level: LogLevel::Info,
        message: message.to_owned(),
        at: Utc::now(),
    }
}
