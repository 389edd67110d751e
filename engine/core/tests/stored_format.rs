#![allow(clippy::unwrap_used, reason = "a test fails by panicking")]

//! The JSON that stores keep for good: every `Change` (the event log) and
//! every record, pinned by insta snapshots. A refactor that renames a
//! field or a variant fails here instead of silently changing what
//! existing databases hold; a deliberate change updates the snapshot and
//! comes with a migration.
//!
//! Each value is also read back from its JSON, so what is written can be
//! read.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use shutter_core::notify::{Delivery, NotifyEvent};
use shutter_core::record::{
    AttemptRecord, Change, Event, ExecutionRecord, ExecutionSnapshot, LogLevel, NewExecution,
    Notification, Progress, QueuedNotice, StepRecord,
};
use shutter_core::{
    Backup, BackupKind, BackupRef, BackupSource, BackupState, Census, ExecutionId, ExecutionState,
    Found, Location, NewBackup, RestoreTest, StepKey, StepState,
};

fn at(second: u32) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(&format!("2026-11-29T10:00:{second:02}Z"))
        .unwrap()
        .with_timezone(&Utc)
}

fn id() -> ExecutionId {
    "0195f0a4-7c3e-7d2a-9a51-3c2f1e0b8d11".parse().unwrap()
}

/// `value`'s JSON, after checking it reads back as the same value.
fn stored<T>(value: &T) -> serde_json::Value
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let json = serde_json::to_value(value).unwrap();
    let back: T = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(&back, value, "reads back as written");
    json
}

/// One of every change. The match lists every variant without a
/// wildcard, so a new variant does not compile until it is added here.
fn every_change() -> Vec<Change> {
    let snap = StepKey::step("snap");
    let item = StepKey::item("copy", 2);
    let changes = vec![
        Change::ExecutionStarted { at: at(0) },
        Change::ExecutionFinished {
            state: ExecutionState::Failed,
            outputs: Some(json!({"id": "snap-1"})),
            error: Some("step `copy[2]` failed".to_owned()),
            at: at(1),
        },
        Change::StepExpanded {
            key: item.clone(),
            items: vec![json!("eu-west-1"), json!({"region": "us-east-2"})],
            at: at(2),
        },
        Change::AttemptStarted {
            key: snap.clone(),
            attempt: 1,
            at: at(3),
        },
        Change::AttemptParams {
            key: snap.clone(),
            attempt: 1,
            params: json!({"volume_id": "vol-1", "token": "[redacted]"}),
            at: at(3),
        },
        Change::AttemptInterrupted {
            key: snap.clone(),
            attempt: 1,
            at: at(4),
        },
        Change::AttemptRetrying {
            key: snap.clone(),
            attempt: 2,
            error: "aws ec2 CreateSnapshot on vol-1: RequestLimitExceeded".to_owned(),
            next_at: at(9),
            at: at(5),
        },
        Change::StepSucceeded {
            key: snap.clone(),
            attempt: 3,
            outputs: json!({"snapshot_id": "snap-1", "adopted": false}),
            at: at(6),
        },
        Change::StepFailed {
            key: item.clone(),
            attempt: Some(1),
            error: "fatal".to_owned(),
            at: at(7),
        },
        Change::StepSkipped {
            key: snap.clone(),
            reason: "`when` was false".to_owned(),
            at: at(8),
        },
        Change::StepCanceled {
            key: snap.clone(),
            reason: "the execution was canceled".to_owned(),
            at: at(9),
        },
        Change::StepCompensated {
            key: snap.clone(),
            at: at(10),
        },
        Change::StepReset {
            key: snap.clone(),
            at: at(11),
        },
        Change::ExecutionRetried { at: at(12) },
        Change::CompensationFailed {
            key: snap.clone(),
            error: "delete failed".to_owned(),
            at: at(13),
        },
        Change::TimerSet {
            key: snap.clone(),
            fires_at: at(59),
            at: at(14),
        },
        Change::Log {
            key: snap.clone(),
            attempt: 1,
            level: LogLevel::Warn,
            message: "crash-consistent only".to_owned(),
            at: at(15),
        },
        Change::Progress {
            key: snap.clone(),
            percent: 40,
            message: "snap-1 pending 40%".to_owned(),
            at: at(16),
        },
        Change::StepWaiting {
            key: snap.clone(),
            pool: "vcenter:prod".to_owned(),
            at: at(17),
        },
        Change::BackupRecorded {
            key: snap.clone(),
            backup: Box::new(artifact()),
            at: at(18),
        },
        Change::BackupMarked {
            key: snap.clone(),
            backup: artifact().reference(),
            state: BackupState::Deleted,
            at: at(19),
        },
        Change::BackupsCounted {
            key: snap,
            census: Box::new(Census {
                location: artifact().location,
                kinds: vec![BackupKind::GlanceImage],
                found: vec![Found {
                    backup: artifact(),
                    execution: Some(id()),
                    step: Some("upload".to_owned()),
                }],
                unseen_since: at(20),
            }),
            at: at(21),
        },
        Change::BackupTested {
            key: StepKey::step("verify"),
            backup: artifact().reference(),
            passed: true,
            detail: "restored as vol-2: 8 GiB, encrypted".to_owned(),
            at: at(22),
        },
        Change::NotifyQueued {
            notice: queued_notice(),
        },
        Change::Notified {
            notification: Notification {
                event: NotifyEvent::StepFailed,
                target: "ops".to_owned(),
                step: Some("copy[2]".to_owned()),
                id: Some(format!("{}.3", id())),
                delivery: Delivery {
                    delivered: true,
                    status: Some(200),
                    tries: 2,
                    error: Some("the receiver answered 503".to_owned()),
                },
                at: at(23),
            },
        },
    ];
    for change in &changes {
        match change {
            Change::ExecutionStarted { .. }
            | Change::ExecutionFinished { .. }
            | Change::StepExpanded { .. }
            | Change::AttemptStarted { .. }
            | Change::AttemptParams { .. }
            | Change::AttemptInterrupted { .. }
            | Change::AttemptRetrying { .. }
            | Change::StepSucceeded { .. }
            | Change::StepFailed { .. }
            | Change::StepSkipped { .. }
            | Change::StepCanceled { .. }
            | Change::StepCompensated { .. }
            | Change::StepReset { .. }
            | Change::ExecutionRetried { .. }
            | Change::CompensationFailed { .. }
            | Change::TimerSet { .. }
            | Change::Log { .. }
            | Change::Progress { .. }
            | Change::StepWaiting { .. }
            | Change::BackupRecorded { .. }
            | Change::BackupMarked { .. }
            | Change::BackupsCounted { .. }
            | Change::BackupTested { .. }
            | Change::NotifyQueued { .. }
            | Change::Notified { .. } => {}
        }
    }
    changes
}

fn queued_notice() -> QueuedNotice {
    QueuedNotice {
        id: format!("{}.3", id()),
        event: NotifyEvent::StepFailed,
        receiver: 1,
        target: "ops".to_owned(),
        step: Some("copy[2]".to_owned()),
        body: json!({"event": "step_failed", "delivery": format!("{}.3", id())}),
        at: at(22),
    }
}

#[test]
fn every_change_keeps_its_json() {
    let changes = every_change();
    let kinds: Vec<&str> = changes.iter().map(Change::kind).collect();
    let mut unique = kinds.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), kinds.len(), "one of each: {kinds:?}");
    for change in &changes {
        let json = stored(change);
        assert_eq!(json["type"], change.kind(), "the `type` column matches");
    }
    let all: Vec<_> = changes.iter().map(stored).collect();
    insta::assert_json_snapshot!("changes", all);
}

#[test]
fn an_event_is_its_change_with_a_sequence_number() {
    let event = Event {
        seq: 7,
        change: Change::ExecutionStarted { at: at(0) },
    };
    insta::assert_json_snapshot!("event", stored(&event));
}

/// A vSphere snapshot uploaded to Glance: every field of an artifact set.
fn artifact() -> NewBackup {
    NewBackup {
        kind: BackupKind::GlanceImage,
        location: Location::Openstack {
            auth_url: "http://127.0.0.1:5000/v3".to_owned(),
            project: "0f3c".to_owned(),
            region: Some("RegionOne".to_owned()),
        },
        native_id: "6b1c5a9e-0d2f-4c55-9d5e-3f1a2b3c4d5e".to_owned(),
        source: Some(BackupSource {
            kind: "vm".to_owned(),
            id: "vm-42".to_owned(),
            uuid: Some("5012a1b2-c3d4-e5f6-0718-293a4b5c6d7e".to_owned()),
            location: Some(Location::Vsphere {
                vcenter: "7d3e-vc".to_owned(),
            }),
        }),
        derived_from: Some(BackupRef {
            location: "vsphere:7d3e-vc".to_owned(),
            native_id: "snapshot-12".to_owned(),
        }),
        created_at: Some(at(5)),
        size_bytes: Some(1 << 30),
        tags: [(
            "shutter:idempotency-key".to_owned(),
            "shutter:x:upload".to_owned(),
        )]
        .into(),
    }
}

/// A catalog entry of [`artifact`], missing, never tested.
fn catalog_entry() -> Backup {
    Backup {
        id: "0195f0a4-7c3e-7d2a-9a51-3c2f1e0b8d12".to_owned(),
        artifact: artifact(),
        execution: Some(id()),
        step: Some("upload".to_owned()),
        state: BackupState::Missing,
        state_at: at(20),
        recorded_at: at(6),
        last_seen_at: Some(at(7)),
        verified_at: None,
        last_test: None,
    }
}

#[test]
fn a_catalog_entry_keeps_its_json() {
    // Entries written before restore tests existed read the same.
    insta::assert_json_snapshot!("backup", stored(&catalog_entry()));
}

#[test]
fn a_tested_catalog_entry_keeps_its_json() {
    let entry = Backup {
        state: BackupState::Available,
        state_at: at(6),
        verified_at: Some(at(8)),
        last_test: Some(RestoreTest {
            passed: false,
            detail: "restore: snap-1 not found".to_owned(),
            at: at(9),
            execution: Some(id()),
            step: Some("test[0]".to_owned()),
        }),
        ..catalog_entry()
    };
    insta::assert_json_snapshot!("backup_tested", stored(&entry));
}

fn step_record() -> StepRecord {
    StepRecord {
        key: StepKey::item("copy", 2),
        state: StepState::Retrying,
        attempts: vec![
            AttemptRecord {
                number: 1,
                started_at: at(1),
                finished_at: Some(at(2)),
                error: Some("throttled".to_owned()),
                outputs: None,
                params: None,
                interrupted: false,
            },
            AttemptRecord {
                number: 2,
                started_at: at(3),
                finished_at: Some(at(4)),
                error: None,
                outputs: Some(json!({"ok": true})),
                params: Some(json!({"volume_id": "vol-1"})),
                interrupted: true,
            },
        ],
        outputs: Some(json!({"snapshot_id": "snap-1"})),
        error: Some("throttled".to_owned()),
        started_at: Some(at(1)),
        finished_at: None,
        next_attempt_at: Some(at(30)),
        waiting_for: None,
        timer: Some(at(40)),
        progress: Some(Progress {
            percent: 40,
            message: "pending".to_owned(),
        }),
        items: Some(vec![json!("a"), json!("b"), json!("c")]),
        succeeded_seq: Some(12),
        compensation_error: Some("delete failed".to_owned()),
        counted_from: 1,
    }
}

fn execution_record() -> ExecutionRecord {
    ExecutionRecord {
        id: id(),
        workflow: "nightly".to_owned(),
        plan_hash: "ab".repeat(32),
        state: ExecutionState::Succeeded,
        inputs: json!({"volume": "vol-1"}),
        outputs: Some(json!({"snapshot": "snap-1"})),
        error: None,
        created_at: at(0),
        started_at: Some(at(1)),
        finished_at: Some(at(9)),
        last_seq: 42,
        notifications: vec![Notification {
            event: NotifyEvent::Failed,
            target: "https://hooks.example/shutter".to_owned(),
            step: None,
            id: None,
            delivery: Delivery {
                delivered: false,
                status: Some(400),
                tries: 1,
                error: Some("the receiver answered 400".to_owned()),
            },
            at: at(10),
        }],
        pending_notices: vec![queued_notice()],
    }
}

#[test]
fn records_keep_their_json() {
    insta::assert_json_snapshot!("step_record", stored(&step_record()));
    // A fresh step leaves out what defaults (`counted_from`).
    insta::assert_json_snapshot!(
        "step_record_new",
        stored(&StepRecord::new(StepKey::step("snap")))
    );
    insta::assert_json_snapshot!("execution_record", stored(&execution_record()));
    let snapshot = ExecutionSnapshot {
        execution: execution_record(),
        source: "version: 1\nname: nightly\nsteps: {}\n".to_owned(),
        source_path: Some("workflows/nightly.yaml".to_owned()),
        steps: vec![StepRecord::new(StepKey::step("snap"))],
    };
    insta::assert_json_snapshot!("execution_snapshot", stored(&snapshot));
}

#[test]
fn a_new_execution_keeps_its_json() {
    let new = NewExecution {
        id: id(),
        workflow: "nightly".to_owned(),
        plan_hash: "cd".repeat(32),
        source: "version: 1\n".to_owned(),
        source_path: None,
        inputs: json!({}),
        steps: vec!["snap".to_owned(), "copy".to_owned()],
        created_at: at(0),
        idempotency_key: Some("nightly-2026-11-29".to_owned()),
        concurrency: None,
    };
    let json = serde_json::to_value(&new).unwrap();
    let back: NewExecution = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        json,
        "reads back as written"
    );
    insta::assert_json_snapshot!("new_execution", json);
}

/// States are stored by name, in the `state` columns and inside records.
#[test]
fn states_keep_their_names() {
    let executions = [
        ExecutionState::Queued,
        ExecutionState::Running,
        ExecutionState::Succeeded,
        ExecutionState::Failed,
        ExecutionState::Canceled,
    ];
    let steps = [
        StepState::Pending,
        StepState::Running,
        StepState::Retrying,
        StepState::Succeeded,
        StepState::Failed,
        StepState::Skipped,
        StepState::Canceled,
        StepState::Compensated,
        StepState::Waiting,
    ];
    insta::assert_json_snapshot!(
        "states",
        json!({
            "execution": executions.iter().map(stored).collect::<Vec<_>>(),
            "step": steps.iter().map(stored).collect::<Vec<_>>(),
        })
    );
}
