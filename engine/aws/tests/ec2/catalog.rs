//! What the snapshot actions put in the backup catalog, against moto: the
//! snapshot where it is (moto's account and the region) and of what (its
//! volume), a copy linked to its original, the same entry again when a
//! re-run adopts, and a delete marking it.

use serde_json::json;
use shutter_aws::IDEMPOTENCY_TAG;
use shutter_core::{BackupKind, BackupRef, BackupState};

use crate::support::{on_moto, place, run_recorded, volume};

#[tokio::test]
async fn a_snapshot_is_recorded_where_it_is_and_of_what_and_once_when_adopted() {
    let region = "eu-west-3";
    let (ec2, step) = on_moto(region).await;
    let vol = volume(&ec2, region).await;
    let params = json!({"volume_id": vol, "region": region, "tags": {"team": "db"}});
    let out = step.ok("aws.ec2.create_snapshot", params.clone()).await;
    let id = out["snapshot_id"].as_str().unwrap();
    let recorded = step.recorder.backups();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let entry = &recorded[0];
    assert_eq!(entry.kind, BackupKind::EbsSnapshot);
    assert_eq!(entry.location, place(region));
    assert_eq!(entry.native_id, id);
    let source = entry.source.as_ref().unwrap();
    assert_eq!(
        (source.kind.as_str(), source.id.as_str()),
        ("volume", vol.as_str())
    );
    assert_eq!(entry.size_bytes, Some(8 << 30), "the 8 GiB volume");
    assert!(entry.created_at.is_some());
    assert_eq!(entry.tags.get("team").map(String::as_str), Some("db"));
    assert!(
        !entry.tags.contains_key(IDEMPOTENCY_TAG),
        "the key is Shutter's own"
    );
    // A re-run adopts it and reports the same artifact: one catalog entry.
    step.ok("aws.ec2.create_snapshot", params).await;
    let again = step.recorder.backups();
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].reference(), entry.reference());
}

#[tokio::test]
async fn a_copy_is_linked_to_its_original_and_a_delete_marks_both_places() {
    let (source_region, target) = ("ap-south-1", "ap-northeast-2");
    let (ec2, step) = on_moto(source_region).await;
    let vol = volume(&ec2, source_region).await;
    let snap = step
        .ok(
            "aws.ec2.create_snapshot",
            json!({"volume_id": vol, "region": source_region}),
        )
        .await;
    let original = snap["snapshot_id"].as_str().unwrap();
    let (copy, copier) = run_recorded(
        "aws.ec2.copy_snapshot",
        json!({"snapshot_id": original, "source_region": source_region, "region": target}),
    )
    .await;
    let copy_id = copy["snapshot_id"].as_str().unwrap();
    let recorded = copier.backups();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].location, place(target));
    assert_eq!(recorded[0].native_id, copy_id);
    let source = recorded[0]
        .source
        .as_ref()
        .expect("of the original's volume");
    assert_eq!(source.id, vol);
    assert_eq!(
        source.location,
        Some(place(source_region)),
        "where the volume is"
    );
    assert_eq!(
        recorded[0].derived_from,
        Some(BackupRef {
            location: place(source_region).key(),
            native_id: original.to_owned(),
        })
    );

    let (_, deleter) = run_recorded(
        "aws.ec2.delete_snapshot",
        json!({"snapshot_id": copy_id, "region": target}),
    )
    .await;
    assert_eq!(
        deleter.backup_marks(),
        vec![(recorded[0].reference(), BackupState::Deleted)]
    );
}
