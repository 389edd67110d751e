#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! `backups.sync` against the real peers: one step reconciles a moto
//! region, vcsim and a Glance, each through its provider's own reconcile;
//! a place that fails does not stop the others.

mod support;

use std::sync::Arc;

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
    lab.volume_backed_up(region, &[]).await;

    let step = lab.step();
    let params = json!({
        "aws_regions": [region], "aws_endpoint_url": lab.moto, "aws_grace": "0s",
        "vcenters": ["default"], "clouds": ["lab"],
    });
    let out = step.ok("backups.sync", params).await;
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
        nothing.to_string().contains("name at least one place")
            && nothing.to_string().contains("there is none"),
        "{nothing}"
    );
}

#[tokio::test]
async fn a_step_naming_no_place_reconciles_those_the_config_file_lists() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    let config = Arc::new(shutter_dsl::config_file::YamlConfig::new(
        shutter_core::Env::from_map(std::collections::HashMap::from([(
            "SHUTTER_CONFIG".to_owned(),
            path.display().to_string(),
        )])),
        shutter_providers::config_sections(),
    ));
    let lab = Lab::with_config(config).await;
    let region = "eu-north-1";
    std::fs::write(
        &path,
        format!(
            "backups:\n  sync:\n    aws_regions: [{region}]\n    aws_endpoint_url: {}\n    vcenters: [default]\n    clouds: [lab]\n",
            lab.moto
        ),
    )
    .unwrap();

    let step = lab.step();
    let out = step.ok("backups.sync", json!({"aws_grace": "0s"})).await;
    let places: Vec<(&str, &str)> = out["places"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["provider"].as_str().unwrap(),
                p["place"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            ("aws", region),
            ("vsphere", "default"),
            ("openstack", "lab")
        ],
        "{out}"
    );
    assert_eq!(counted(&step.changes()).len(), 3);

    // Named places win over the file's.
    let out = lab.ok("backups.sync", json!({"clouds": ["lab"]})).await;
    assert_eq!(out["places"].as_array().unwrap().len(), 1, "{out}");

    // A typo is named at its line, before anything is reconciled.
    std::fs::write(&path, "backups:\n  sync:\n    cloud: [lab]\n").unwrap();
    let err = lab.run("backups.sync", json!({})).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("config.yaml:3:5: backups.sync.cloud: unknown field"),
        "{err}"
    );
}

#[tokio::test]
async fn a_backup_is_deleted_by_its_catalog_entry_and_marked() {
    let lab = Lab::new().await;
    let region = "eu-west-2";
    let entries = lab.volume_backed_up(region, &[]).await;
    let entry = entries[0].clone();
    let snapshot = entry.artifact.native_id.clone();
    let step = lab.step_reading(entries.clone());
    let params = json!({"backup": entry.id, "options": lab.aws_options()});
    let out = step.ok("backups.delete", params.clone()).await;
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
