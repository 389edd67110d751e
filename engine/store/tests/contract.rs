#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The `Store` contract, run against every backend, plus a seeded
//! differential test: the same random changes give the same records in
//! SQLite as in memory.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::json;
use shutter_core::notify::{Delivery, NotifyEvent};
use shutter_core::record::{Notification, QueuedNotice, Timestamp};
use shutter_core::{
    Change, Claim, ConcurrencyKey, ExecutionId, ExecutionRecord, ExecutionSnapshot, ExecutionState,
    Holder, ListQuery, NewExecution, Owner, Page, Renewal, SlotRequest, StepKey, StepRecord,
    StepState, Store, StoreError, StoredWorkflow,
};
use shutter_store::{MemoryStore, PostgresStore, SqliteStore};
use shutter_testpeers::postgres::ScratchDb;

#[path = "contract/catalog.rs"]
mod catalog;
use catalog::{
    a_backup_reported_again_or_marked_stays_one_entry,
    a_census_adds_what_the_catalog_lacks_and_marks_the_vanished_missing,
    a_fenced_append_records_no_backup_and_pruning_keeps_them,
    a_restore_test_verdict_is_kept_on_its_entry, the_catalog_keeps_what_steps_report,
};

fn at(seconds: i64) -> Timestamp {
    Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
}

/// `owner` claiming with `lease`.
fn held_by(owner: &Owner, lease: Duration) -> Holder {
    Holder::new(owner.clone(), lease)
}

fn owner() -> Owner {
    Owner::this_process()
}

/// An engine on this host as process `pid`: whether it lives is seen
/// from here, so a pid no process has makes a dead engine.
fn here(id: &str, pid: u32) -> Owner {
    Owner {
        id: id.into(),
        host: owner().host,
        pid,
    }
}

/// An engine on another host: whether its process lives cannot be seen
/// from here, only its lease says.
fn elsewhere(id: &str) -> Owner {
    Owner {
        id: id.into(),
        host: "elsewhere".into(),
        pid: 1,
    }
}

fn new_execution(workflow: &str, created: i64) -> NewExecution {
    NewExecution {
        id: ExecutionId::new(),
        workflow: workflow.to_owned(),
        plan_hash: "h".into(),
        source: "version: 1".into(),
        source_path: Some("w.yaml".into()),
        inputs: json!({"vm": "web"}),
        steps: vec!["a".into(), "b".into()],
        created_at: at(created),
        idempotency_key: None,
        concurrency: None,
    }
}

const LEASE: Duration = Duration::from_secs(30);

/// A new execution of `workflow` held by `holder`, and its claim.
async fn started(store: &Arc<dyn Store>, workflow: &str, holder: &Holder) -> Claim {
    let new = new_execution(workflow, 0);
    let id = new.id;
    store.create(new, holder).await.unwrap();
    Claim::created(id)
}

/// Creates `new`, held by this process: its record.
async fn create(store: &Arc<dyn Store>, new: NewExecution) -> ExecutionRecord {
    store.create(new, &held_by(&owner(), LEASE)).await.unwrap()
}

/// Appends `changes` under `claim`: the sequence number of the last.
async fn append(store: &Arc<dyn Store>, claim: Claim, changes: Vec<Change>) -> u64 {
    store.append(claim, changes).await.unwrap()
}

/// The change that ends an execution in `state`, with no outputs and no
/// error.
fn ended(state: ExecutionState, second: i64) -> Change {
    Change::ExecutionFinished {
        state,
        outputs: None,
        error: None,
        at: at(second),
    }
}

/// Step `a` logs `line {n}`.
fn log_line(n: usize) -> Change {
    Change::Log {
        key: StepKey::step("a"),
        attempt: 1,
        level: shutter_core::record::LogLevel::Info,
        message: format!("line {n}"),
        at: at(1),
    }
}

async fn creates_with_pending_steps(store: Arc<dyn Store>) {
    let new = new_execution("w", 0);
    let id = new.id;
    let record = create(&store, new).await;
    assert_eq!(record.state, ExecutionState::Queued);
    let snapshot = store.snapshot(id).await.unwrap().unwrap();
    let keys: Vec<String> = snapshot.steps.iter().map(|s| s.key.to_string()).collect();
    assert_eq!(keys, vec!["a", "b"]);
    assert!(snapshot.steps.iter().all(|s| s.state == StepState::Pending));
    assert_eq!(snapshot.source, "version: 1");
    assert_eq!(snapshot.source_path.as_deref(), Some("w.yaml"));
    assert_eq!(
        store.get(id).await.unwrap().unwrap().inputs,
        json!({"vm": "web"})
    );
    assert!(store.get(ExecutionId::new()).await.unwrap().is_none());
}

/// What `snapshot_to_run` may leave out of a snapshot is only step records
/// as `StepRecord::new` makes them, and only before the execution starts.
async fn a_snapshot_to_run_leaves_out_only_fresh_records(store: Arc<dyn Store>) {
    let claim = started(&store, "w", &held_by(&owner(), LEASE)).await;
    let id = claim.id;
    let same_but_fresh = |full: &ExecutionSnapshot, to_run: &ExecutionSnapshot| {
        assert_eq!(to_run.execution.last_seq, full.execution.last_seq);
        assert_eq!(to_run.execution.state, full.execution.state);
        assert_eq!(
            (&to_run.source, &to_run.source_path),
            (&full.source, &full.source_path)
        );
        for step in &full.steps {
            match to_run.steps.iter().find(|kept| kept.key == step.key) {
                Some(kept) => assert_eq!(kept, step),
                None => assert_eq!(step, &StepRecord::new(step.key.clone())),
            }
        }
        assert!(to_run.steps.len() <= full.steps.len());
    };
    let full = store.snapshot(id).await.unwrap().unwrap();
    let to_run = store.snapshot_to_run(id).await.unwrap().unwrap();
    same_but_fresh(&full, &to_run);
    append(
        &store,
        claim,
        vec![
            Change::ExecutionStarted { at: at(1) },
            Change::AttemptStarted {
                key: StepKey::step("a"),
                attempt: 1,
                at: at(2),
            },
        ],
    )
    .await;
    let full = store.snapshot(id).await.unwrap().unwrap();
    let to_run = store.snapshot_to_run(id).await.unwrap().unwrap();
    same_but_fresh(&full, &to_run);
    // Once started, nothing is left out.
    assert_eq!(to_run.steps, full.steps);
    assert!(
        store
            .snapshot_to_run(ExecutionId::new())
            .await
            .unwrap()
            .is_none()
    );
}

async fn appends_fold_into_records_and_the_log(store: Arc<dyn Store>) {
    let claim = started(&store, "w", &held_by(&owner(), LEASE)).await;
    let id = claim.id;
    let a = StepKey::step("a");
    let item = StepKey::item("b", 0);
    let seq = append(
        &store,
        claim,
        vec![
            Change::ExecutionStarted { at: at(1) },
            Change::AttemptStarted {
                key: a.clone(),
                attempt: 1,
                at: at(2),
            },
            Change::Log {
                key: a.clone(),
                attempt: 1,
                level: shutter_core::LogLevel::Info,
                message: "hi".into(),
                at: at(2),
            },
        ],
    )
    .await;
    assert_eq!(seq, 3);
    let seq = append(
        &store,
        claim,
        vec![
            Change::StepSucceeded {
                key: a.clone(),
                attempt: 1,
                outputs: json!({"x": 1}),
                at: at(3),
            },
            Change::AttemptStarted {
                key: item.clone(),
                attempt: 1,
                at: at(4),
            },
        ],
    )
    .await;
    assert_eq!(seq, 5);
    let snapshot = store.snapshot(id).await.unwrap().unwrap();
    assert_eq!(snapshot.execution.state, ExecutionState::Running);
    assert_eq!(snapshot.execution.last_seq, 5);
    let step_a = &snapshot.steps[0];
    assert_eq!(
        (step_a.state, step_a.outputs.clone()),
        (StepState::Succeeded, Some(json!({"x": 1})))
    );
    assert_eq!(step_a.attempts[0].finished_at, Some(at(3)));
    assert_eq!(step_a.succeeded_seq, Some(4));
    assert_eq!(snapshot.steps.last().unwrap().key, item);
    let events = store.events(id, Page::new(3, 100)).await.unwrap();
    assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 5]);
    assert!(matches!(events[0].change, Change::StepSucceeded { .. }));
    assert_eq!(store.events(id, Page::new(0, 2)).await.unwrap().len(), 2);
}

async fn unknown_executions_are_not_found(store: Arc<dyn Store>) {
    let id = ExecutionId::new();
    assert_eq!(
        store
            .append(
                Claim::created(id),
                vec![Change::ExecutionStarted { at: at(0) }]
            )
            .await,
        Err(StoreError::NotFound(id))
    );
    assert_eq!(
        store.events(id, Page::new(0, 10)).await,
        Err(StoreError::NotFound(id))
    );
}

async fn lists_newest_first_with_filters_and_a_stable_cursor(store: Arc<dyn Store>) {
    let mut ids = Vec::new();
    for i in 0..7 {
        let new = new_execution(if i % 2 == 0 { "even" } else { "odd" }, i);
        ids.push(new.id);
        create(&store, new).await;
    }
    append(
        &store,
        Claim::created(ids[6]),
        vec![Change::ExecutionStarted { at: at(10) }],
    )
    .await;
    let page = |query: ListQuery| {
        let store = store.clone();
        async move {
            store
                .list(&query)
                .await
                .unwrap()
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    let first = page(ListQuery {
        limit: 3,
        ..ListQuery::default()
    })
    .await;
    assert_eq!(first, vec![ids[6], ids[5], ids[4]]);
    // A newer execution arriving between pages does not shift the next page.
    create(&store, new_execution("even", 100)).await;
    let second = page(ListQuery {
        limit: 3,
        before: Some(ids[4]),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(second, vec![ids[3], ids[2], ids[1]]);
    let odd = page(ListQuery {
        limit: 10,
        workflow: Some("odd".into()),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(odd, vec![ids[5], ids[3], ids[1]]);
    let running = page(ListQuery {
        limit: 10,
        state: Some(ExecutionState::Running),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(running, vec![ids[6]]);
    let recent = page(ListQuery {
        limit: 10,
        since: Some(at(5)),
        workflow: Some("odd".into()),
        ..ListQuery::default()
    })
    .await;
    assert_eq!(recent, vec![ids[5]]);
}

async fn orphans_are_claimed_once_and_live_owners_kept(store: Arc<dyn Store>) {
    let dead = here("dead", u32::MAX - 7);
    let alive = here("alive", 1);
    let orphan = new_execution("w", 0);
    let kept = new_execution("w", 1);
    let finished = new_execution("w", 2);
    let (orphan_id, finished_id) = (orphan.id, finished.id);
    store.create(orphan, &held_by(&dead, LEASE)).await.unwrap();
    store.create(kept, &held_by(&alive, LEASE)).await.unwrap();
    store
        .create(finished, &held_by(&dead, LEASE))
        .await
        .unwrap();
    append(
        &store,
        Claim::created(finished_id),
        vec![ended(ExecutionState::Succeeded, 3)],
    )
    .await;
    let me = owner();
    let claimed = store
        .claim_orphans(&held_by(&me, LEASE), &[], usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        claimed,
        vec![Claim {
            id: orphan_id,
            epoch: 2
        }]
    );
    assert_eq!(
        store
            .claim_orphans(
                &held_by(
                    &Owner {
                        id: "third".into(),
                        ..me.clone()
                    },
                    LEASE
                ),
                &[],
                usize::MAX
            )
            .await
            .unwrap(),
        Vec::<Claim>::new()
    );
    assert_eq!(
        store.renew(&held_by(&me, LEASE), &claimed).await.unwrap(),
        Renewal::default()
    );
}

/// An execution that ended with webhook deliveries still pending is taken
/// over like one that has not ended, until its deliveries are recorded.
async fn an_ended_execution_with_pending_webhooks_is_an_orphan_until_they_end(
    store: Arc<dyn Store>,
) {
    let dead = here("dead", u32::MAX - 7);
    let id = started(&store, "w", &held_by(&dead, LEASE)).await.id;
    let notice = QueuedNotice {
        id: format!("{id}.0"),
        event: NotifyEvent::Succeeded,
        receiver: 0,
        target: "ops".into(),
        step: None,
        body: json!({"event": "succeeded"}),
        at: at(3),
    };
    append(
        &store,
        Claim::created(id),
        vec![
            ended(ExecutionState::Succeeded, 3),
            Change::NotifyQueued {
                notice: notice.clone(),
            },
        ],
    )
    .await;
    let record = store.get(id).await.unwrap().unwrap();
    assert_eq!(record.pending_notices, vec![notice.clone()]);
    let me = held_by(&owner(), LEASE);
    let claimed = store.claim_orphans(&me, &[], usize::MAX).await.unwrap();
    assert_eq!(
        claimed,
        vec![Claim { id, epoch: 2 }],
        "taken over to deliver"
    );
    let delivered = Notification {
        event: NotifyEvent::Succeeded,
        target: "ops".into(),
        step: None,
        id: Some(notice.id.clone()),
        delivery: Delivery {
            delivered: true,
            status: Some(200),
            tries: 1,
            error: None,
        },
        at: at(4),
    };
    append(
        &store,
        claimed[0],
        vec![Change::Notified {
            notification: delivered,
        }],
    )
    .await;
    let record = store.get(id).await.unwrap().unwrap();
    assert!(record.pending_notices.is_empty(), "{record:?}");
    assert_eq!(record.notifications.len(), 1);
    assert_eq!(record.state, ExecutionState::Succeeded);
    // Its holder dies too: nothing is left to do, so no one takes it.
    let dead_again = here("dead-again", u32::MAX - 8);
    assert_eq!(
        store
            .claim(id, &held_by(&dead_again, LEASE))
            .await
            .unwrap()
            .map(|c| c.epoch),
        Some(3),
        "an ended execution may be claimed to run again"
    );
    assert_eq!(
        store.claim_orphans(&me, &[], usize::MAX).await.unwrap(),
        Vec::<Claim>::new()
    );
}

async fn appends_are_fenced_by_the_current_claim(store: Arc<dyn Store>) {
    let gone = elsewhere("stalled");
    let first = started(&store, "w", &held_by(&gone, Duration::ZERO)).await;
    let id = first.id;
    append(&store, first, vec![Change::ExecutionStarted { at: at(1) }]).await;
    // The lease ran out: another engine claims the execution.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let me = owner();
    let second = store
        .claim_orphans(&held_by(&me, LEASE), &[], usize::MAX)
        .await
        .unwrap();
    assert_eq!(second, vec![Claim { id, epoch: 2 }]);
    let before = store.events(id, Page::new(0, 100)).await.unwrap();
    // The stalled engine wakes: its appends are refused, and write nothing.
    let refused = store
        .append(
            first,
            vec![
                Change::StepSkipped {
                    key: StepKey::step("a"),
                    reason: "late".into(),
                    at: at(2),
                },
                Change::ExecutionFinished {
                    state: ExecutionState::Failed,
                    outputs: None,
                    error: Some("late".into()),
                    at: at(2),
                },
            ],
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert_eq!(store.events(id, Page::new(0, 100)).await.unwrap(), before);
    assert_eq!(
        store.get(id).await.unwrap().unwrap().state,
        ExecutionState::Running
    );
    // Renewing tells it it lost the execution; the holder's appends go on.
    assert_eq!(
        store
            .renew(&held_by(&gone, LEASE), &[first])
            .await
            .unwrap()
            .lost,
        vec![id]
    );
    assert_eq!(
        store.renew(&held_by(&me, LEASE), &second).await.unwrap(),
        Renewal::default()
    );
    append(&store, second[0], vec![ended(ExecutionState::Succeeded, 3)]).await;
    // An ended execution may be claimed again (a retry), at the next epoch;
    // a held one may not.
    let again = store.claim(id, &held_by(&me, LEASE)).await.unwrap();
    assert_eq!(again, Some(Claim { id, epoch: 3 }));
    let other = Owner {
        id: "other".into(),
        ..me.clone()
    };
    append(
        &store,
        again.unwrap(),
        vec![Change::ExecutionRetried { at: at(4) }],
    )
    .await;
    assert_eq!(
        store.claim(id, &held_by(&other, LEASE)).await.unwrap(),
        None
    );
    // Released, it may.
    store.release(again.unwrap()).await.unwrap();
    assert_eq!(
        store.claim(id, &held_by(&other, LEASE)).await.unwrap(),
        Some(Claim { id, epoch: 4 })
    );
}

async fn the_caller_keeps_what_it_holds(store: Arc<dyn Store>) {
    // An expired lease of the caller's own is taken back (an execution it
    // gave up while its store was down) unless it says it runs it.
    let me = owner();
    let held = new_execution("w", 0);
    let parked = new_execution("w", 1);
    let (held_id, parked_id) = (held.id, parked.id);
    store
        .create(held, &held_by(&me, Duration::ZERO))
        .await
        .unwrap();
    store
        .create(parked, &held_by(&me, Duration::ZERO))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    let claimed = store
        .claim_orphans(&held_by(&me, LEASE), &[held_id], usize::MAX)
        .await
        .unwrap();
    assert_eq!(
        claimed,
        vec![Claim {
            id: parked_id,
            epoch: 2
        }]
    );
}

/// Asks to create an execution with the idempotency `key`: the id asked
/// for, and the id of the execution the store answers with.
async fn create_keyed(
    store: &Arc<dyn Store>,
    key: &str,
    created: i64,
) -> (ExecutionId, ExecutionId) {
    let new = NewExecution {
        idempotency_key: Some(key.to_owned()),
        ..new_execution("w", created)
    };
    let asked = new.id;
    (asked, create(store, new).await.id)
}

async fn an_idempotency_key_starts_one_execution(store: Arc<dyn Store>) {
    let (first, created) = create_keyed(&store, "client-42", 0).await;
    assert_eq!(created, first);
    let (again, existing) = create_keyed(&store, "client-42", 1).await;
    assert_eq!(existing, first, "the first execution is returned");
    assert!(
        store.get(again).await.unwrap().is_none(),
        "nothing new is recorded"
    );
    let (other, created) = create_keyed(&store, "client-43", 2).await;
    assert_eq!(created, other);
}

async fn counts_executions_by_state(store: Arc<dyn Store>) {
    assert!(store.count_by_state().await.unwrap().is_empty());
    for created in 0..3 {
        create(&store, new_execution("w", created)).await;
    }
    create(&store, new_execution("v", 4)).await;
    let id = create(&store, new_execution("w", 3)).await.id;
    append(
        &store,
        Claim::created(id),
        vec![Change::ExecutionStarted { at: at(4) }],
    )
    .await;
    let mut counts = store.count_by_state().await.unwrap();
    counts.sort_by_key(|(state, _)| state.as_str());
    assert_eq!(
        counts,
        vec![(ExecutionState::Queued, 4), (ExecutionState::Running, 1)]
    );
    let mut by_workflow = store.count_by_workflow().await.unwrap();
    by_workflow.sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
    assert_eq!(
        by_workflow,
        vec![
            ("v".to_owned(), ExecutionState::Queued, 1),
            ("w".to_owned(), ExecutionState::Queued, 3),
            ("w".to_owned(), ExecutionState::Running, 1),
        ]
    );
}

async fn prunes_only_finished_executions(store: Arc<dyn Store>) {
    let old = new_execution("w", 0);
    let running = new_execution("w", 1);
    let (old_id, running_id) = (old.id, running.id);
    create(&store, old).await;
    create(&store, running).await;
    append(
        &store,
        Claim::created(old_id),
        vec![Change::ExecutionFinished {
            state: ExecutionState::Failed,
            outputs: None,
            error: Some("x".into()),
            at: at(5),
        }],
    )
    .await;
    append(
        &store,
        Claim::created(running_id),
        vec![Change::ExecutionStarted { at: at(5) }],
    )
    .await;
    assert_eq!(store.prune(at(4)).await.unwrap(), 0);
    assert_eq!(store.prune(at(6)).await.unwrap(), 1);
    assert!(store.get(old_id).await.unwrap().is_none());
    assert!(store.get(running_id).await.unwrap().is_some());
    // What is gone is not counted any more; what is left still is.
    let counts = store.count_by_workflow().await.unwrap();
    let total: u64 = counts.iter().map(|(_, _, n)| n).sum();
    assert_eq!(total, 1, "{counts:?}");
    assert!(
        counts
            .iter()
            .all(|(_, state, _)| *state == ExecutionState::Running),
        "{counts:?}"
    );
}

async fn keeps_workflow_versions_once_each_in_order(store: Arc<dyn Store>) {
    let version = |name: &str, hash: &str, second: i64| StoredWorkflow {
        name: name.to_owned(),
        plan_hash: hash.to_owned(),
        source: format!("version: 1\nname: {name}\n# {hash}\n"),
        path: (hash == "h1").then(|| "/srv/workflows/nightly.yaml".to_owned()),
        registered_at: at(second),
    };
    assert_eq!(store.workflows().await.unwrap(), vec![]);
    let first = version("nightly", "h1", 1);
    let second = version("nightly", "h2", 2);
    let other = version("weekly", "h1", 3);
    for workflow in [&first, &second, &other, &first] {
        store.save_workflow(workflow).await.unwrap();
    }
    assert_eq!(
        store.workflows().await.unwrap(),
        vec![first, second, other],
        "each version once, oldest first"
    );
}

async fn released_work_is_claimed_oldest_first_as_far_as_there_is_room(store: Arc<dyn Store>) {
    let busy = elsewhere("busy");
    let mut ids = Vec::new();
    for n in 0..3 {
        let new = new_execution("queued", n);
        ids.push(new.id);
        store.create(new, &held_by(&busy, LEASE)).await.unwrap();
    }
    // Live leases: nothing to take.
    let me = held_by(&owner(), LEASE);
    assert!(
        store
            .claim_orphans(&me, &[], usize::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    // The busy node had no room and released them: they are queued work.
    for id in &ids {
        store.release(Claim::created(*id)).await.unwrap();
    }
    let first = store.claim_orphans(&me, &[], 2).await.unwrap();
    assert_eq!(
        first.iter().map(|c| c.id).collect::<Vec<_>>(),
        ids[..2].to_vec(),
        "at most the room asked for, oldest first"
    );
    let rest = store.claim_orphans(&me, &[], 2).await.unwrap();
    assert_eq!(rest.iter().map(|c| c.id).collect::<Vec<_>>(), ids[2..]);
    assert!(store.claim_orphans(&me, &[], 2).await.unwrap().is_empty());
}

async fn a_cancel_request_reaches_the_holder_at_renewal(store: Arc<dyn Store>) {
    let me = held_by(&owner(), LEASE);
    let claim = started(&store, "w", &me).await;
    let id = claim.id;
    append(&store, claim, vec![Change::ExecutionStarted { at: at(1) }]).await;
    assert_eq!(
        store.renew(&me, &[claim]).await.unwrap(),
        Renewal::default()
    );
    assert!(store.request_cancel(id).await.unwrap());
    let renewal = store.renew(&me, &[claim]).await.unwrap();
    assert_eq!(renewal.cancel, vec![id]);
    assert!(renewal.lost.is_empty());
    // Until it ends, every renewal says so (one could be missed).
    assert_eq!(store.renew(&me, &[claim]).await.unwrap().cancel, vec![id]);
    append(&store, claim, vec![ended(ExecutionState::Canceled, 2)]).await;
    // Ended: nothing more to ask; a retry starts with no cancel pending.
    assert!(!store.request_cancel(id).await.unwrap());
    let again = store.claim(id, &me).await.unwrap().unwrap();
    append(&store, again, vec![Change::ExecutionRetried { at: at(3) }]).await;
    assert_eq!(
        store.renew(&me, &[again]).await.unwrap(),
        Renewal::default()
    );
    assert!(matches!(
        store.request_cancel(ExecutionId::new()).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn a_cancel_asked_while_no_one_held_it_reaches_the_next_holder(store: Arc<dyn Store>) {
    let dead = elsewhere("dead");
    let id = started(&store, "w", &held_by(&dead, Duration::ZERO))
        .await
        .id;
    assert!(store.request_cancel(id).await.unwrap());
    tokio::time::sleep(Duration::from_millis(5)).await;
    let me = held_by(&owner(), LEASE);
    let claims = store.claim_orphans(&me, &[], usize::MAX).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(store.renew(&me, &claims).await.unwrap().cancel, vec![id]);
}

async fn concurrent_appends_to_one_execution_all_land_and_a_stale_one_is_refused(
    store: Arc<dyn Store>,
) {
    let gone = elsewhere("stalled");
    let stale = started(&store, "w", &held_by(&gone, Duration::ZERO)).await;
    let id = stale.id;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let current = store
        .claim_orphans(&held_by(&owner(), LEASE), &[], 1)
        .await
        .unwrap()[0];
    let log = |n: usize, claim: Claim| {
        let store = store.clone();
        async move { store.append(claim, vec![log_line(n)]).await }
    };
    // Sent at once, they may be written together; each is answered alone.
    let mut sent = Vec::new();
    for n in 0..20 {
        let claim = if n == 7 { stale } else { current };
        sent.push(tokio::spawn(log(n, claim)));
    }
    let mut seqs = Vec::new();
    for (n, answer) in sent.into_iter().enumerate() {
        match answer.await.unwrap() {
            Ok(seq) => seqs.push(seq),
            Err(StoreError::Conflict(_)) if n == 7 => {}
            other => panic!("append {n}: {other:?}"),
        }
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=19).collect::<Vec<u64>>(), "gapless, one each");
    let events = store.events(id, Page::new(0, 100)).await.unwrap();
    assert_eq!(events.len(), 19);
    assert!(
        events.iter().all(|e| !matches!(&e.change,
            Change::Log { message, .. } if message == "line 7")),
        "the stale claim wrote nothing"
    );
}

/// Appends sent and not waited for (`Store::send_append`, where a store
/// sends them), fifty at once, each followed by one more of its sender's:
/// one taken back is never written and its sender appends its changes with
/// the next; one not taken back is written once, before the next. Either
/// way each line is in the log once, in its sender's order.
async fn a_sent_append_is_written_once_whether_taken_back_or_not(store: Arc<dyn Store>) {
    let claim = started(&store, "w", &held_by(&owner(), LEASE)).await;
    let senders: Vec<_> = (0..50)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let (first, then) = (log_line(2 * n), log_line(2 * n + 1));
                let Some(sent) = store.send_append(claim, vec![first.clone()]) else {
                    store.append(claim, vec![first]).await.unwrap();
                    store.append(claim, vec![then]).await.unwrap();
                    return;
                };
                if sent.withdraw() {
                    store.append(claim, vec![first, then]).await.unwrap();
                } else {
                    sent.committed().await.unwrap();
                    store.append(claim, vec![then]).await.unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let events = store.events(claim.id, Page::new(0, 1000)).await.unwrap();
    let lines: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.change {
            Change::Log { message, .. } => Some(message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(lines.len(), 100, "{lines:?}");
    for n in 0..50 {
        let at = |line: usize| {
            let line = format!("line {line}");
            let found: Vec<usize> = (0..lines.len()).filter(|&i| lines[i] == line).collect();
            assert_eq!(found.len(), 1, "{line} in {lines:?}");
            found[0]
        };
        assert!(at(2 * n) < at(2 * n + 1), "{lines:?}");
    }
}

/// A request that fails after it may have written (a second create of one
/// id) among appends sent at the same moment: it fails alone, every
/// append lands, and nothing of the failed one remains.
async fn a_request_failing_among_others_fails_alone(store: Arc<dyn Store>) {
    let first = new_execution("w", 0);
    let duplicate = NewExecution {
        workflow: "impostor".into(),
        ..first.clone()
    };
    let id = first.id;
    create(&store, first).await;
    let claim = Claim::created(id);
    let mut sent = Vec::new();
    for n in 0..30 {
        let store = store.clone();
        let duplicate = duplicate.clone();
        sent.push(tokio::spawn(async move {
            if n == 11 {
                let refused = store.create(duplicate, &held_by(&owner(), LEASE)).await;
                assert!(
                    matches!(refused, Err(StoreError::Conflict(_))),
                    "{refused:?}"
                );
                None
            } else {
                Some(store.append(claim, vec![log_line(n)]).await.unwrap())
            }
        }));
    }
    let mut seqs = Vec::new();
    for answer in sent {
        seqs.extend(answer.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=29).collect::<Vec<u64>>(), "gapless, one each");
    let record = store.get(id).await.unwrap().unwrap();
    assert_eq!(record.workflow, "w", "the duplicate changed nothing");
    assert_eq!(record.last_seq, 29);
    assert_eq!(store.events(id, Page::new(0, 100)).await.unwrap().len(), 29);
}

async fn a_renewal_does_not_bring_back_a_released_lease(store: Arc<dyn Store>) {
    let me = held_by(&owner(), LEASE);
    let claim = started(&store, "w", &me).await;
    let id = claim.id;
    // The renewal was on its way when the engine gave the execution up.
    store.release(claim).await.unwrap();
    assert_eq!(store.renew(&me, &[claim]).await.unwrap().lost, vec![id]);
    let other = held_by(&elsewhere("other"), LEASE);
    assert_eq!(
        store.claim_orphans(&other, &[], 1).await.unwrap(),
        vec![Claim { id, epoch: 2 }],
        "free at once, whatever the clocks say"
    );
}

fn slot(pool: &str, capacity: u32, step: &str) -> SlotRequest {
    SlotRequest {
        pool: pool.to_owned(),
        capacity,
        step: StepKey::step(step),
    }
}

async fn a_limit_pool_gives_its_slots_in_the_order_they_were_asked_for(store: Arc<dyn Store>) {
    let me = held_by(&owner(), LEASE);
    let (a, b, c, d) = (
        started(&store, "w", &me).await,
        started(&store, "w", &me).await,
        started(&store, "w", &me).await,
        started(&store, "w", &me).await,
    );
    let pool = slot("vcenter-prod", 2, "snap");
    assert!(store.take_slot(a, &pool).await.unwrap());
    assert!(store.take_slot(b, &pool).await.unwrap());
    assert!(
        !store.take_slot(c, &pool).await.unwrap(),
        "both slots are held"
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(!store.take_slot(d, &pool).await.unwrap());
    assert!(
        store.take_slot(a, &pool).await.unwrap(),
        "asking again keeps the slot"
    );
    // Another pool, and another step of the same execution, are apart.
    assert!(store.take_slot(c, &slot("nova", 1, "snap")).await.unwrap());
    assert!(
        !store
            .take_slot(c, &slot("vcenter-prod", 2, "other"))
            .await
            .unwrap()
    );
    store
        .free_slot(a, "vcenter-prod", &StepKey::step("snap"))
        .await
        .unwrap();
    assert!(
        !store.take_slot(d, &pool).await.unwrap(),
        "c asked first: the freed slot is its"
    );
    assert!(store.take_slot(c, &pool).await.unwrap());
    // Leaving the line (a canceled step) lets the next one by.
    store
        .free_slot(c, "vcenter-prod", &StepKey::step("other"))
        .await
        .unwrap();
    store
        .free_slot(b, "vcenter-prod", &StepKey::step("snap"))
        .await
        .unwrap();
    assert!(store.take_slot(d, &pool).await.unwrap());
}

async fn a_slot_counts_only_while_its_execution_runs_under_a_live_lease(store: Arc<dyn Store>) {
    let pool = slot("vcenter-prod", 1, "snap");
    // A node that dies holding the slot: its lease runs out.
    let dying = held_by(&elsewhere("dying"), Duration::from_millis(300));
    let held = started(&store, "w", &dying).await;
    assert!(store.take_slot(held, &pool).await.unwrap());
    let me = held_by(&owner(), LEASE);
    let mine = started(&store, "w", &me).await;
    assert!(!store.take_slot(mine, &pool).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        store.take_slot(mine, &pool).await.unwrap(),
        "the dead node's slot is free"
    );
    // Taken back, the first one asks anew at its next epoch and waits.
    let taken = store.claim(held.id, &me).await.unwrap().unwrap();
    assert_eq!(taken.epoch, 2);
    assert!(
        matches!(
            store.take_slot(held, &pool).await,
            Err(StoreError::Conflict(_))
        ),
        "a past claim takes no slot"
    );
    assert!(!store.take_slot(taken, &pool).await.unwrap());
    // An execution that ended holds nothing, even if a step kept its slot.
    finish(&store, mine).await;
    assert!(store.take_slot(taken, &pool).await.unwrap());
    // A free under a past claim frees nothing.
    store
        .free_slot(held, "vcenter-prod", &StepKey::step("snap"))
        .await
        .unwrap();
    let third = started(&store, "w", &me).await;
    assert!(!store.take_slot(third, &pool).await.unwrap());
}

async fn occupancy_shows_who_holds_what(store: Arc<dyn Store>) {
    let me = held_by(&owner(), LEASE);
    let dying = held_by(&elsewhere("dying"), Duration::from_millis(800));
    let theirs = started(&store, "w", &dying).await;
    let mine = started(&store, "w", &me).await;
    let released = started(&store, "w", &me).await;
    store.release(released).await.unwrap();
    let ended = started(&store, "w", &me).await;
    finish(&store, ended).await;
    let pool = slot("vcenter-prod", 1, "snap");
    assert!(store.take_slot(theirs, &pool).await.unwrap());
    assert!(!store.take_slot(mine, &pool).await.unwrap());
    let seen = store.occupancy().await.unwrap();
    let holders: Vec<(ExecutionId, Option<String>)> = seen
        .executions
        .iter()
        .map(|o| (o.id, o.lease.as_ref().map(|(owner, _)| owner.id.clone())))
        .collect();
    assert_eq!(
        holders,
        vec![
            (theirs.id, Some(dying.owner.id.clone())),
            (mine.id, Some(me.owner.id.clone())),
            (released.id, None),
        ],
        "unended executions, oldest first, with their holders; the ended one left out"
    );
    let rows: Vec<(String, ExecutionId, bool, bool)> = seen
        .slots
        .iter()
        .map(|r| (r.pool.clone(), r.execution, r.held, r.live))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("vcenter-prod".to_owned(), theirs.id, true, true),
            ("vcenter-prod".to_owned(), mine.id, false, true),
        ]
    );
    // The dying node's lease runs out: its slot no longer counts.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let later = store.occupancy().await.unwrap();
    let theirs_row = later
        .slots
        .iter()
        .find(|r| r.execution == theirs.id)
        .unwrap();
    assert!(theirs_row.held && !theirs_row.live);
    let (_, until) = later.executions[0].lease.clone().unwrap();
    assert!(until < chrono::Utc::now());
}

fn keyed(key: &str, skip: bool, idempotency: Option<&str>) -> NewExecution {
    NewExecution {
        concurrency: Some(ConcurrencyKey {
            key: key.to_owned(),
            skip,
        }),
        idempotency_key: idempotency.map(str::to_owned),
        ..new_execution("per-vm", 0)
    }
}

async fn finish(store: &Arc<dyn Store>, claim: Claim) {
    let done = ended(ExecutionState::Succeeded, 5);
    append(store, claim, vec![done]).await;
}

async fn a_concurrency_key_runs_one_at_a_time_in_the_order_started(store: Arc<dyn Store>) {
    let me = held_by(&owner(), LEASE);
    let first = store
        .create(keyed("per-vm/a", false, None), &me)
        .await
        .unwrap()
        .id;
    let second = store
        .create(keyed("per-vm/a", false, Some("start-2")), &me)
        .await
        .unwrap()
        .id;
    let elsewhere_key = store
        .create(keyed("per-vm/b", false, None), &me)
        .await
        .unwrap()
        .id;
    let unkeyed = store.create(new_execution("w", 0), &me).await.unwrap().id;
    assert!(store.holds_key(first).await.unwrap());
    assert!(!store.holds_key(second).await.unwrap(), "behind the first");
    assert!(store.holds_key(elsewhere_key).await.unwrap());
    assert!(store.holds_key(unkeyed).await.unwrap());
    // `skip` refuses while the key is held, naming the holder.
    match store.create(keyed("per-vm/a", true, None), &me).await {
        Err(StoreError::Busy { key, holder }) => {
            assert_eq!((key.as_str(), holder), ("per-vm/a", first));
        }
        other => panic!("expected busy, got {other:?}"),
    }
    // The same start asked again is answered with its execution.
    let again = store
        .create(keyed("per-vm/a", true, Some("start-2")), &me)
        .await
        .unwrap();
    assert_eq!(again.id, second);
    finish(&store, Claim::created(first)).await;
    assert!(store.holds_key(second).await.unwrap(), "its turn");
    // Run again (a retry), the first goes to the end of the line.
    let retried = store.claim(first, &me).await.unwrap().unwrap();
    assert!(!store.holds_key(first).await.unwrap());
    assert!(store.holds_key(second).await.unwrap());
    finish(&store, Claim::created(second)).await;
    assert!(store.holds_key(first).await.unwrap());
    finish(&store, retried).await;
    let free = store
        .create(keyed("per-vm/a", true, None), &me)
        .await
        .unwrap();
    assert!(
        store.holds_key(free.id).await.unwrap(),
        "nothing holds it now"
    );
    assert!(matches!(
        store.holds_key(ExecutionId::new()).await,
        Err(StoreError::NotFound(_))
    ));
}

macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(#[tokio::test] async fn $test() { super::$test(std::sync::Arc::new(super::MemoryStore::new())).await; })*
        }
        mod sqlite {
            $(#[tokio::test] async fn $test() {
                let dir = tempfile::tempdir().unwrap();
                let store = std::sync::Arc::new(super::SqliteStore::open(dir.path().join("shutter.db")).unwrap());
                super::$test(store).await;
            })*
        }
        // `Durability::Normal`, where a caller finding the writer idle
        // commits its own request: on two threads, so some requests are
        // committed by callers and some by the writer thread, side by side.
        mod sqlite_normal {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $test() {
                let dir = tempfile::tempdir().unwrap();
                let store = super::SqliteStore::open_with(
                    dir.path().join("shutter.db"),
                    shutter_store::Durability::Normal,
                )
                .unwrap();
                super::$test(std::sync::Arc::new(store)).await;
            })*
        }
        mod postgres {
            $(#[tokio::test] async fn $test() {
                let db = super::ScratchDb::new().await;
                let store = super::PostgresStore::connect(&db.url).await.unwrap();
                super::$test(std::sync::Arc::new(store)).await;
            })*
        }
    };
}

contract!(
    creates_with_pending_steps,
    a_snapshot_to_run_leaves_out_only_fresh_records,
    appends_fold_into_records_and_the_log,
    unknown_executions_are_not_found,
    lists_newest_first_with_filters_and_a_stable_cursor,
    orphans_are_claimed_once_and_live_owners_kept,
    an_ended_execution_with_pending_webhooks_is_an_orphan_until_they_end,
    appends_are_fenced_by_the_current_claim,
    the_caller_keeps_what_it_holds,
    prunes_only_finished_executions,
    an_idempotency_key_starts_one_execution,
    counts_executions_by_state,
    keeps_workflow_versions_once_each_in_order,
    released_work_is_claimed_oldest_first_as_far_as_there_is_room,
    a_cancel_request_reaches_the_holder_at_renewal,
    a_cancel_asked_while_no_one_held_it_reaches_the_next_holder,
    concurrent_appends_to_one_execution_all_land_and_a_stale_one_is_refused,
    a_sent_append_is_written_once_whether_taken_back_or_not,
    a_request_failing_among_others_fails_alone,
    a_renewal_does_not_bring_back_a_released_lease,
    a_limit_pool_gives_its_slots_in_the_order_they_were_asked_for,
    a_slot_counts_only_while_its_execution_runs_under_a_live_lease,
    a_concurrency_key_runs_one_at_a_time_in_the_order_started,
    occupancy_shows_who_holds_what,
    the_catalog_keeps_what_steps_report,
    a_backup_reported_again_or_marked_stays_one_entry,
    a_fenced_append_records_no_backup_and_pruning_keeps_them,
    a_census_adds_what_the_catalog_lacks_and_marks_the_vanished_missing,
    a_restore_test_verdict_is_kept_on_its_entry,
);

#[tokio::test]
async fn sqlite_keeps_everything_across_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/shutter.db");
    let new = new_execution("w", 0);
    let id = new.id;
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create(new, &held_by(&owner(), LEASE)).await.unwrap();
        store
            .append(
                Claim::created(id),
                vec![Change::ExecutionStarted { at: at(1) }],
            )
            .await
            .unwrap();
        store.close();
    }
    let store = SqliteStore::open(&path).unwrap();
    let snapshot = store.snapshot(id).await.unwrap().unwrap();
    assert_eq!(snapshot.execution.state, ExecutionState::Running);
    assert_eq!(store.events(id, Page::new(0, 10)).await.unwrap().len(), 1);
}

/// Separate connections (as separate processes would) opening one fresh file
/// at the same instant must all end up with the schema, none failing on a
/// migration the other already applied.
#[test]
fn sqlite_fresh_file_opened_concurrently_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..20 {
        let path = dir.path().join(format!("race-{round}.db"));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    SqliteStore::open(&path).map(|store| store.close())
                })
            })
            .collect();
        for opener in openers {
            let opened = opener.join().unwrap();
            assert!(opened.is_ok(), "round {round}: {opened:?}");
        }
    }
}

/// Random change sequences from a seed; both stores must agree exactly.
#[tokio::test]
async fn sqlite_postgres_and_memory_agree_on_random_histories() {
    use rand::{Rng, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("diff.db")).unwrap();
    let memory = MemoryStore::new();
    let db = ScratchDb::new().await;
    let postgres = PostgresStore::connect(&db.url).await.unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261125);
    for round in 0..20 {
        let new = new_execution("diff", round);
        let id = new.id;
        let holder = held_by(&owner(), LEASE);
        sqlite.create(new.clone(), &holder).await.unwrap();
        postgres.create(new.clone(), &holder).await.unwrap();
        memory.create(new, &holder).await.unwrap();
        for batch in 0..rng.random_range(1..8) {
            let changes: Vec<Change> = (0..rng.random_range(1..6))
                .map(|i| {
                    let key = if rng.random_bool(0.3) {
                        StepKey::item("b", rng.random_range(0..3))
                    } else {
                        StepKey::step("a")
                    };
                    let t = at(batch * 10 + i);
                    match rng.random_range(0..7) {
                        0 => Change::AttemptStarted {
                            key,
                            attempt: rng.random_range(1..4),
                            at: t,
                        },
                        1 => Change::StepSucceeded {
                            key,
                            attempt: 1,
                            outputs: json!({"n": rng.random_range(0..100)}),
                            at: t,
                        },
                        2 => Change::AttemptRetrying {
                            key,
                            attempt: 1,
                            error: "e".into(),
                            next_at: at(999),
                            at: t,
                        },
                        3 => Change::Progress {
                            key,
                            percent: rng.random_range(0..=100),
                            message: "p".into(),
                            at: t,
                        },
                        4 => Change::StepFailed {
                            key,
                            attempt: Some(1),
                            error: "f".into(),
                            at: t,
                        },
                        5 => Change::TimerSet {
                            key,
                            fires_at: at(500),
                            at: t,
                        },
                        _ => Change::ExecutionStarted { at: t },
                    }
                })
                .collect();
            let a = sqlite
                .append(Claim::created(id), changes.clone())
                .await
                .unwrap();
            let c = postgres
                .append(Claim::created(id), changes.clone())
                .await
                .unwrap();
            let b = memory.append(Claim::created(id), changes).await.unwrap();
            assert_eq!((a, c), (b, b));
        }
        let mut left = sqlite.snapshot(id).await.unwrap().unwrap();
        let mut right = memory.snapshot(id).await.unwrap().unwrap();
        let mut third = postgres.snapshot(id).await.unwrap().unwrap();
        for snapshot in [&mut left, &mut right, &mut third] {
            snapshot.steps.sort_by(|x, y| x.key.cmp(&y.key));
        }
        assert_eq!(left, right, "sqlite, round {round}");
        assert_eq!(third, right, "postgres, round {round}");
        let everything = Page::new(0, 1000);
        let events = memory.events(id, everything).await.unwrap();
        assert_eq!(sqlite.events(id, everything).await.unwrap(), events);
        assert_eq!(postgres.events(id, everything).await.unwrap(), events);
    }
}

#[tokio::test]
async fn postgres_nodes_starting_together_on_an_empty_database_migrate_once() {
    let db = ScratchDb::new().await;
    let (a, b, c) = tokio::join!(
        PostgresStore::connect(&db.url),
        PostgresStore::connect(&db.url),
        PostgresStore::connect(&db.url),
    );
    let (a, b, _c) = (a.unwrap(), b.unwrap(), c.unwrap());
    // One store's writes are the others' reads: they share the database.
    let new = new_execution("shared", 1);
    let id = new.id;
    a.create(new, &held_by(&owner(), LEASE)).await.unwrap();
    assert_eq!(b.get(id).await.unwrap().unwrap().workflow, "shared");
    let (client, connection) = tokio_postgres::connect(&db.url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let versions = client
        .query("SELECT version FROM shutter_schema", &[])
        .await
        .unwrap();
    assert_eq!(versions.len(), 1, "one version row");
    let version = usize::try_from(versions[0].get::<_, i32>(0)).unwrap();
    assert_eq!(version, PostgresStore::schema_version());
}

#[tokio::test]
async fn postgres_nodes_never_both_claim_an_orphan() {
    let db = ScratchDb::new().await;
    let a = PostgresStore::connect(&db.url).await.unwrap();
    let b = PostgresStore::connect(&db.url).await.unwrap();
    let dead = elsewhere("dead");
    let mut ids = Vec::new();
    for n in 0..20 {
        let new = new_execution("orphans", n);
        ids.push(new.id);
        a.create(new, &held_by(&dead, Duration::ZERO))
            .await
            .unwrap();
    }
    let node = |name: &str| Owner {
        id: name.into(),
        host: "h".into(),
        pid: std::process::id(),
    };
    let (node_a, node_b) = (held_by(&node("a"), LEASE), held_by(&node("b"), LEASE));
    let (first, second) = tokio::join!(
        a.claim_orphans(&node_a, &[], usize::MAX),
        b.claim_orphans(&node_b, &[], usize::MAX),
    );
    let mut claimed: Vec<ExecutionId> = first
        .unwrap()
        .iter()
        .chain(second.unwrap().iter())
        .map(|claim| claim.id)
        .collect();
    claimed.sort();
    ids.sort();
    assert_eq!(claimed, ids, "every orphan claimed exactly once");
}

#[tokio::test]
async fn postgres_that_does_not_answer_is_unavailable_and_passwords_stay_out() {
    let err = PostgresStore::connect("postgres://shutter:hunter2@127.0.0.1:1/shutter")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let err = PostgresStore::connect("postgres://x@127.0.0.1:5432/db?bogus=1")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Fatal(_)), "{err:?}");
    // TLS asked for, and a certificate no root vouches for (the test
    // server's is self-signed): a setting to mend, not an outage.
    let err = PostgresStore::connect("postgres://x:hunter2@127.0.0.1:5432/db?sslmode=require")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Fatal(_)), "{err:?}");
    assert!(err.to_string().contains("TLS refused"), "{err}");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}
