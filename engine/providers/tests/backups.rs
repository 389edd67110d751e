#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! `backups.sync` against the real peers: one step reconciles a moto
//! region, vcsim and a Glance, each through its provider's own reconcile;
//! a place that fails does not stop the others.

mod support;

use serde_json::json;
use shutter_core::{ActionError, Change};
use support::Lab;

/// The places the step's censuses counted, by location key.
fn counted(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter_map(|change| match change {
            Change::BackupsCounted { census, .. } => Some(census.location.key()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn one_step_reconciles_every_place_and_a_failing_one_does_not_stop_the_others() {
    let lab = Lab::new().await;
    let region = "eu-west-3";
    let volume = support::volume(&lab.moto, region).await;
    let snapshot = lab.step();
    snapshot
        .run(
            "snapshot",
            json!({"target": format!("aws://{region}/{volume}"), "name": "nightly", "options": lab.aws_options()}),
        )
        .await
        .unwrap();

    let step = lab.step();
    let params = json!({
        "aws_regions": [region], "aws_endpoint_url": lab.moto, "aws_grace": "0s",
        "vcenters": ["default"], "clouds": ["lab"],
    });
    let out = step.run("backups.sync", params).await.unwrap();
    let places = out["places"].as_array().unwrap();
    let providers: Vec<&str> = places
        .iter()
        .map(|p| p["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers, ["aws", "vsphere", "openstack"], "{out}");
    assert!(places.iter().all(|p| p["error"].is_null()), "{out}");
    assert!(
        places[0]["found"].as_u64().unwrap() >= 1,
        "the snapshot: {out}"
    );
    let places = counted(&step.changes());
    assert_eq!(places.len(), 3, "{places:?}");
    assert!(
        places[0].starts_with("aws:") && places[0].ends_with(region),
        "{places:?}"
    );
    assert!(places[1].starts_with("vsphere:"), "{places:?}");
    assert!(places[2].starts_with("openstack:"), "{places:?}");

    // A cloud clouds.yaml does not have: the others are still counted.
    let step = lab.step();
    let params =
        json!({"aws_regions": [region], "aws_endpoint_url": lab.moto, "clouds": ["nowhere"]});
    let err = step.run("backups.sync", params).await.unwrap_err();
    let message = match &err {
        ActionError::Fatal { message, .. } => message.clone(),
        other => panic!("expected fatal, got {other:?}"),
    };
    assert!(
        message.contains("1 of 2 places") && message.contains("openstack nowhere"),
        "{message}"
    );
    assert_eq!(
        counted(&step.changes()).len(),
        1,
        "the region was counted all the same"
    );

    let nothing = lab.run("backups.sync", json!({})).await.unwrap_err();
    assert!(
        nothing.to_string().contains("name at least one place"),
        "{nothing}"
    );
}

#[tokio::test]
async fn a_backup_is_deleted_by_its_catalog_entry_and_marked() {
    let lab = Lab::new().await;
    let region = "eu-west-2";
    let volume = support::volume(&lab.moto, region).await;
    let backup = lab.step();
    backup
        .run(
            "snapshot",
            json!({"target": format!("aws://{region}/{volume}"), "name": "old", "options": lab.aws_options()}),
        )
        .await
        .unwrap();
    let entries = backup.cataloged();
    let entry = entries[0].clone();
    let snapshot = entry.artifact.native_id.clone();
    let step = lab.step_reading(entries.clone());
    let params = json!({"backup": entry.id, "options": lab.aws_options()});
    let out = step.run("backups.delete", params.clone()).await.unwrap();
    assert_eq!(out["deleted"], true, "{out}");
    assert_eq!(out["native_id"], snapshot.as_str());
    assert!(!support::snapshot_exists(&lab.moto, region, &snapshot).await);
    let marks = step.marks();
    assert_eq!(
        marks,
        [(entry.reference(), shutter_core::BackupState::Deleted)]
    );
    // Gone already: deleted again is no error.
    let again = lab
        .step_reading(entries)
        .run("backups.delete", params)
        .await
        .unwrap();
    assert_eq!(again["deleted"], false, "{again}");
    let unknown = lab
        .step_reading(Vec::new())
        .run("backups.delete", json!({"backup": "no-such-entry"}))
        .await
        .unwrap_err();
    assert!(
        unknown.to_string().contains("not in the catalog"),
        "{unknown}"
    );
}
