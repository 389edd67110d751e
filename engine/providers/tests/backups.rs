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
