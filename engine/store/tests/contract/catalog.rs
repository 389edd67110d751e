//! The backup catalog's part of the contract: what steps report is kept,
//! found by source, provider and state, paged newest first, marked, fenced
//! like the rest of an append, and kept when executions are pruned.

use std::sync::Arc;
use std::time::Duration;

use shutter_core::{
    Backup, BackupKind, BackupQuery, BackupSource, BackupState, Census, Change, ExecutionId,
    ExecutionState, Found, Location, NewBackup, StepKey, Store,
};

use super::{LEASE, append, at, elsewhere, ended, held_by, owner, started};

fn vsphere_snapshot(vcenter: &str, id: &str, vm: &str) -> NewBackup {
    let mut artifact = NewBackup::new(
        BackupKind::VsphereSnapshot,
        Location::Vsphere {
            vcenter: vcenter.into(),
        },
        id,
    );
    artifact.source = Some(BackupSource {
        kind: "vm".into(),
        id: vm.into(),
        uuid: Some(format!("uuid-of-{vm}")),
        location: None,
    });
    artifact
}

fn ebs_snapshot(id: &str) -> NewBackup {
    let mut artifact = NewBackup::new(
        BackupKind::EbsSnapshot,
        Location::Aws {
            account: "123456789012".into(),
            region: "us-east-1".into(),
        },
        id,
    );
    artifact.size_bytes = Some(8 << 30);
    artifact
}

fn recorded(step: &str, backup: NewBackup, second: i64) -> Change {
    Change::BackupRecorded {
        key: StepKey::step(step),
        backup: Box::new(backup),
        at: at(second),
    }
}

fn query() -> BackupQuery {
    BackupQuery {
        limit: 100,
        ..BackupQuery::default()
    }
}

pub(super) async fn the_catalog_keeps_what_steps_report(store: Arc<dyn Store>) {
    let claim = started(&store, "backup", &held_by(&owner(), LEASE)).await;
    let id = claim.id;
    // The same moRef in two vCenters: two sources.
    append(
        &store,
        claim,
        vec![
            recorded("a", vsphere_snapshot("vc-1", "snapshot-1", "vm-42"), 1),
            recorded("a", vsphere_snapshot("vc-2", "snapshot-1", "vm-42"), 2),
            recorded("b", ebs_snapshot("snap-1"), 3),
        ],
    )
    .await;
    let all = store.backups(&query()).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|b| b.artifact.native_id.as_str()).collect();
    assert_eq!(ids, ["snap-1", "snapshot-1", "snapshot-1"], "newest first");
    let ebs = &all[0];
    assert_eq!(ebs.execution, Some(id));
    assert_eq!(ebs.step.as_deref(), Some("b"));
    assert_eq!(ebs.state, BackupState::Available);
    assert_eq!(ebs.recorded_at, at(3));
    assert_eq!(ebs.artifact.size_bytes, Some(8 << 30));
    assert_eq!(store.backup(&ebs.id).await.unwrap().as_ref(), Some(ebs));
    assert_eq!(store.backup("no-such-id").await.unwrap(), None);

    let of = |source: &str| BackupQuery {
        source: Some(source.into()),
        ..query()
    };
    assert_eq!(
        store.backups(&of("vm-42")).await.unwrap().len(),
        2,
        "by moRef, both vCenters"
    );
    assert_eq!(
        store.backups(&of("uuid-of-vm-42")).await.unwrap().len(),
        2,
        "by the VM's uuid"
    );
    let one = store.backups(&of("vsphere:vc-2/vm/vm-42")).await.unwrap();
    assert_eq!(one.len(), 1, "by its full reference: one vCenter's");
    assert_eq!(
        one[0].artifact.location,
        Location::Vsphere {
            vcenter: "vc-2".into()
        }
    );
    assert!(store.backups(&of("vm-4")).await.unwrap().is_empty());
    let aws = BackupQuery {
        provider: Some("aws".into()),
        ..query()
    };
    assert_eq!(store.backups(&aws).await.unwrap().len(), 1);
    let vsphere = BackupQuery {
        kind: Some(BackupKind::VsphereSnapshot),
        ..query()
    };
    assert_eq!(store.backups(&vsphere).await.unwrap().len(), 2, "by kind");
    let since = BackupQuery {
        since: Some(at(2)),
        ..query()
    };
    assert_eq!(store.backups(&since).await.unwrap().len(), 2);

    // Keyset pages: two, then the one left.
    let first = store
        .backups(&BackupQuery {
            limit: 2,
            ..query()
        })
        .await
        .unwrap();
    let rest = store
        .backups(&BackupQuery {
            limit: 2,
            before: Some(first[1].id.clone()),
            ..query()
        })
        .await
        .unwrap();
    assert_eq!(first.len() + rest.len(), 3);
    assert_eq!(rest[0].id, all[2].id);
}

pub(super) async fn a_backup_reported_again_or_marked_stays_one_entry(store: Arc<dyn Store>) {
    let claim = started(&store, "backup", &held_by(&owner(), LEASE)).await;
    append(
        &store,
        claim,
        vec![recorded("a", ebs_snapshot("snap-1"), 1)],
    )
    .await;
    let first = store.backups(&query()).await.unwrap().remove(0);
    // A later try adopts it and reports it again, with its tags now.
    let mut again = ebs_snapshot("snap-1");
    again.tags.insert("team".into(), "db".into());
    append(&store, claim, vec![recorded("a", again, 5)]).await;
    let entries = store.backups(&query()).await.unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].id, first.id, "the first id stays");
    assert_eq!(entries[0].recorded_at, at(1));
    assert_eq!(entries[0].artifact.tags["team"], "db");

    // Deleted, and a mark of something the catalog never held.
    let deleted = Change::BackupMarked {
        key: StepKey::step("prune"),
        backup: ebs_snapshot("snap-1").reference(),
        state: BackupState::Deleted,
        at: at(9),
    };
    let unknown = Change::BackupMarked {
        key: StepKey::step("prune"),
        backup: ebs_snapshot("snap-unknown").reference(),
        state: BackupState::Deleted,
        at: at(9),
    };
    append(&store, claim, vec![deleted, unknown]).await;
    let entries = store.backups(&query()).await.unwrap();
    assert_eq!(entries.len(), 1, "a mark adds nothing");
    assert_eq!(entries[0].state, BackupState::Deleted);
    assert_eq!(entries[0].state_at, at(9));
    let available = BackupQuery {
        state: Some(BackupState::Available),
        ..query()
    };
    assert!(store.backups(&available).await.unwrap().is_empty());
}

pub(super) async fn a_fenced_append_records_no_backup_and_pruning_keeps_them(
    store: Arc<dyn Store>,
) {
    let stalled = held_by(&elsewhere("stalled"), Duration::ZERO);
    let stale = started(&store, "backup", &stalled).await;
    let id = stale.id;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let current = store
        .claim(id, &held_by(&owner(), LEASE))
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .append(stale, vec![recorded("a", ebs_snapshot("snap-stale"), 1)])
            .await
            .is_err()
    );
    assert!(
        store.backups(&query()).await.unwrap().is_empty(),
        "fenced: nothing kept"
    );
    append(
        &store,
        current,
        vec![
            recorded("a", ebs_snapshot("snap-1"), 2),
            ended(ExecutionState::Succeeded, 3),
        ],
    )
    .await;
    assert_eq!(store.prune(at(100)).await.unwrap(), 1);
    assert!(store.get(id).await.unwrap().is_none());
    let kept = store.backups(&query()).await.unwrap();
    assert_eq!(kept.len(), 1, "entries outlive their executions");
    assert_eq!(kept[0].execution, Some(id));
}

pub(super) async fn a_census_adds_what_the_catalog_lacks_and_marks_the_vanished_missing(
    store: Arc<dyn Store>,
) {
    let claim = started(&store, "sync", &held_by(&owner(), LEASE)).await;
    let elsewhere_vcenter = vsphere_snapshot("vc-1", "snapshot-1", "vm-42");
    append(
        &store,
        claim,
        vec![
            recorded("a", ebs_snapshot("snap-1"), 1),
            recorded("a", ebs_snapshot("snap-2"), 2),
            recorded("a", elsewhere_vcenter, 3),
        ],
    )
    .await;
    // The cloud holds snap-2 and snap-3 (made by an execution this catalog
    // never heard of, as after the database was lost); snap-1 is gone.
    let lost = ExecutionId::new();
    let census = |found: Vec<Found>, second: i64| Change::BackupsCounted {
        key: StepKey::step("sync"),
        census: Box::new(Census {
            location: ebs_snapshot("x").location,
            kinds: vec![BackupKind::EbsSnapshot],
            found,
            // The listing began a second before the census was written.
            unseen_since: at(second - 1),
        }),
        at: at(second),
    };
    let key = format!("shutter:{lost}:snap[2]");
    let found = vec![
        Found::made_by(ebs_snapshot("snap-2"), None),
        Found::made_by(ebs_snapshot("snap-3"), Some(&key)),
    ];
    append(&store, claim, vec![census(found, 10)]).await;
    let by_id = |entries: &[Backup], native: &str| {
        entries
            .iter()
            .find(|b| b.artifact.native_id == native)
            .cloned()
            .unwrap_or_else(|| panic!("{native} in {entries:#?}"))
    };
    let entries = store.backups(&query()).await.unwrap();
    assert_eq!(entries.len(), 4, "{entries:#?}");
    let gone = by_id(&entries, "snap-1");
    assert_eq!(gone.state, BackupState::Missing);
    assert_eq!(gone.state_at, at(10));
    assert_eq!(gone.last_seen_at, Some(at(1)), "when it was last seen");
    let kept = by_id(&entries, "snap-2");
    assert_eq!(
        (kept.state, kept.last_seen_at),
        (BackupState::Available, Some(at(10)))
    );
    let rebuilt = by_id(&entries, "snap-3");
    assert_eq!(rebuilt.state, BackupState::Available);
    assert_eq!(
        rebuilt.execution,
        Some(lost),
        "its backup set, from its marks"
    );
    assert_eq!(rebuilt.step.as_deref(), Some("snap[2]"));
    assert_eq!(
        by_id(&entries, "snapshot-1").state,
        BackupState::Available,
        "another place is not this census's"
    );
    // Back again (restored behind Shutter's back): available again.
    let found = vec![
        Found::made_by(ebs_snapshot("snap-1"), None),
        Found::made_by(ebs_snapshot("snap-2"), None),
        Found::made_by(ebs_snapshot("snap-3"), Some(&key)),
    ];
    append(&store, claim, vec![census(found, 20)]).await;
    let missing = BackupQuery {
        state: Some(BackupState::Missing),
        ..query()
    };
    assert!(store.backups(&missing).await.unwrap().is_empty());
    let back = store.backups(&query()).await.unwrap();
    assert_eq!(by_id(&back, "snap-1").id, gone.id, "the same entry");

    // Recorded while a listing ran (after it began): not taken for gone.
    // Deleted by Shutter but still listed a while: stays deleted.
    append(
        &store,
        claim,
        vec![
            recorded("a", ebs_snapshot("snap-4"), 29),
            Change::BackupMarked {
                key: StepKey::step("prune"),
                backup: ebs_snapshot("snap-2").reference(),
                state: BackupState::Deleted,
                at: at(29),
            },
        ],
    )
    .await;
    let found = vec![
        Found::made_by(ebs_snapshot("snap-1"), None),
        Found::made_by(ebs_snapshot("snap-2"), None),
        Found::made_by(ebs_snapshot("snap-3"), Some(&key)),
    ];
    append(&store, claim, vec![census(found, 30)]).await;
    let now = store.backups(&query()).await.unwrap();
    assert_eq!(
        by_id(&now, "snap-4").state,
        BackupState::Available,
        "too fresh to judge"
    );
    assert_eq!(
        by_id(&now, "snap-2").state,
        BackupState::Deleted,
        "not brought back"
    );
}

fn tested(backup: &NewBackup, passed: bool, second: i64) -> Change {
    Change::BackupTested {
        key: StepKey::step("test"),
        backup: backup.reference(),
        passed,
        detail: format!("restored: {passed}"),
        at: at(second),
    }
}

pub(super) async fn a_restore_test_verdict_is_kept_on_its_entry(store: Arc<dyn Store>) {
    let claim = started(&store, "restore-test", &held_by(&owner(), LEASE)).await;
    let id = claim.id;
    let snap = ebs_snapshot("snap-1");
    append(&store, claim, vec![recorded("a", snap.clone(), 1)]).await;
    let untested = store.backups(&query()).await.unwrap().remove(0);
    assert_eq!((untested.verified_at, &untested.last_test), (None, &None));
    // A pass, then a verdict on what the catalog never held (nothing).
    append(
        &store,
        claim,
        vec![
            tested(&snap, true, 5),
            tested(&ebs_snapshot("snap-x"), true, 5),
        ],
    )
    .await;
    let entries = store.backups(&query()).await.unwrap();
    assert_eq!(entries.len(), 1, "a verdict adds no entry");
    let passed = &entries[0];
    assert_eq!(passed.verified_at, Some(at(5)));
    let test = passed.last_test.as_ref().unwrap();
    assert!(test.passed);
    assert_eq!(test.detail, "restored: true");
    assert_eq!(
        (test.execution, test.step.as_deref()),
        (Some(id), Some("test"))
    );
    // A later failure is the last test; when it last passed stays.
    append(&store, claim, vec![tested(&snap, false, 9)]).await;
    let failed = store.backup(&passed.id).await.unwrap().unwrap();
    assert_eq!(failed.verified_at, Some(at(5)));
    let test = failed.last_test.unwrap();
    assert_eq!((test.passed, test.at), (false, at(9)));
    assert_eq!(
        failed.state,
        BackupState::Available,
        "a verdict is no state"
    );
}
