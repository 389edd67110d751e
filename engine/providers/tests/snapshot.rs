#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! `snapshot` and `snapshot.delete` against the real peers: EBS volumes and
//! instances on moto, a VM on vcsim, a server of a fake Nova whose images
//! land in the real Glance. Each test makes its own volumes, instances and
//! images (or its own VM's snapshots), so they share the peers safely.

mod support;

use serde_json::json;
use support::{Lab, fatal};

/// Whether vcsim lists the snapshot `id` of the VM `target`.
async fn listed(lab: &Lab, target: &str, id: &str) -> bool {
    let listed = lab.ok("vsphere.snapshot.list", json!({"vm": target})).await;
    listed["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["snapshot"]["moref"] == id)
}

#[tokio::test]
async fn an_aws_volume_is_snapshotted_adopted_on_a_rerun_and_deleted() {
    let lab = Lab::new().await;
    let region = "ap-northeast-1";
    let volume = support::volume(&lab.moto, region).await;
    let target = format!("aws://{region}/{volume}");
    let params = json!({"target": target, "name": "nightly", "description": "volume backup", "quiesce": true, "tags": {"team": "ops"}, "options": lab.aws_options()});
    let step = lab.step();
    let out = step.ok("snapshot", params.clone()).await;
    let id = out["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("snap-"), "{out}");
    assert_eq!(out["ids"], json!([id]));
    assert_eq!(out["provider"], "aws");
    assert_eq!(out["target"], target);
    assert_eq!(out["consistency"], "crash");
    assert_eq!(out["adopted"], false);
    assert!(out["created_at"].as_str().unwrap().contains('T'), "{out}");
    assert_eq!(out["details"]["volume_id"], volume.as_str());
    assert!(support::snapshot_exists(&lab.moto, region, &id).await);
    let warned = step.logs();
    assert!(
        warned.iter().any(|l| l.contains("aws cannot quiesce")),
        "{warned:?}"
    );

    // a second try of the same step adopts the snapshot; the provider's log line is kept
    let again = step.ok("snapshot", params).await;
    assert_eq!(
        (&again["id"], &again["adopted"]),
        (&out["id"], &json!(true))
    );
    assert!(
        step.logs()
            .iter()
            .any(|l| l.contains(&id) && l.contains("adopt")),
        "{:?}",
        step.logs()
    );

    let deleted = lab.delete(&out["snapshot"]).await;
    assert_eq!(deleted["deleted"], true, "{deleted}");
    assert_eq!(deleted["details"]["deleted"], json!([id]));
    assert!(!support::snapshot_exists(&lab.moto, region, &id).await);
    let twice = lab.delete(&out["snapshot"]).await;
    assert_eq!(twice["deleted"], false, "{twice}");
}

#[tokio::test]
async fn an_aws_instance_gets_one_snapshot_per_volume_and_all_are_deleted() {
    let lab = Lab::new().await;
    let region = "ap-northeast-2";
    let instance = support::instance(&lab.moto, region).await;
    let out = lab
        .ok("snapshot", json!({"target": format!("aws://{region}/{instance}"), "name": "instance-backup", "options": lab.aws_options()}))
        .await;
    let ids: Vec<String> = out["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 2, "{out}");
    assert_eq!(out["id"], ids[0].as_str());
    assert_eq!(out["consistency"], "crash");
    assert_eq!(out["details"]["snapshot_ids"], json!(ids));
    for id in &ids {
        assert!(support::snapshot_exists(&lab.moto, region, id).await);
    }
    // the whole output works as well as its `snapshot` reference
    let deleted = lab.delete(&out).await;
    assert_eq!(deleted["deleted"], true, "{deleted}");
    assert_eq!(deleted["ids"], json!(ids));
    for id in &ids {
        assert!(!support::snapshot_exists(&lab.moto, region, id).await);
    }
}

#[tokio::test]
async fn a_vsphere_vm_gets_a_quiesced_snapshot_that_is_removed() {
    let lab = Lab::new().await;
    let (vcenter, moref) = lab.vm("DC0_H0_VM1").await;
    let target = format!("vsphere://{vcenter}/{moref}");
    let step = lab.step();
    let out = step
        .ok("snapshot", json!({"target": target, "name": "Backup", "description": "Temporary Snapshot for Backup", "quiesce": true, "tags": {"ignored": "yes"}}))
        .await;
    assert_eq!(out["provider"], "vsphere");
    assert_eq!(out["consistency"], "quiesced", "{out}");
    assert_eq!(out["target"], target);
    let id = out["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("snapshot-"), "{out}");
    assert_eq!(out["details"]["snapshot"]["moref"], id.as_str());
    assert_eq!(out["details"]["quiesced"], true);
    assert!(
        out["details"]["disks"]
            .as_array()
            .is_some_and(|d| !d.is_empty()),
        "{out}"
    );
    assert!(
        step.logs().iter().any(|l| l.contains("carry no tags")),
        "{:?}",
        step.logs()
    );
    assert!(listed(&lab, &target, &id).await);

    let removed = lab.delete(&out["snapshot"]).await;
    assert_eq!(removed["deleted"], true, "{removed}");
    assert_eq!(removed["details"]["removed"], true);
    assert!(!listed(&lab, &target, &id).await);
    // the least a caller may give: provider, id and target
    let again = lab
        .ok(
            "snapshot.delete",
            json!({"snapshot": {"provider": "vsphere", "id": id, "target": target}}),
        )
        .await;
    assert_eq!(again["deleted"], false, "{again}");
}

#[tokio::test]
async fn a_vsphere_target_on_another_vcenter_is_refused() {
    let lab = Lab::new().await;
    let (_, moref) = lab.vm("DC0_H0_VM0").await;
    let target = format!("vsphere://00000000-0000-0000-0000-000000000000/{moref}");
    let message = fatal(
        lab.run("snapshot", json!({"target": target, "name": "Backup"}))
            .await,
    );
    assert!(
        message.starts_with("vsphere.snapshot.create: "),
        "{message}"
    );
    assert!(
        message.contains(
            "names vcenter 00000000-0000-0000-0000-000000000000, which no known connection is"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn an_openstack_server_is_snapshotted_into_glance_and_deleted() {
    let lab = Lab::new().await;
    let name = format!("web-01-{}", shutter_core::ExecutionId::new());
    let out = lab
        .ok("snapshot", json!({"target": "openstack://lab/web-01", "name": name, "description": "nightly", "quiesce": true, "tags": {"backup_of": "web-01"}, "options": {"interval": "100ms"}}))
        .await;
    assert_eq!(out["provider"], "openstack");
    assert_eq!(
        out["consistency"], "crash",
        "nova decides, shutter cannot vouch: {out}"
    );
    let id = out["id"].as_str().unwrap().to_owned();
    assert_eq!(out["ids"], json!([id]));
    assert_eq!(out["details"]["status"], "active");
    assert!(out["created_at"].as_str().unwrap().contains('T'), "{out}");
    let image = support::glance_image(&lab.glance, &id).await.unwrap();
    assert_eq!(image["name"], name.as_str());
    assert_eq!(image["backup_of"], "web-01");
    assert_eq!(image["description"], "nightly");
    assert_eq!(image["os_require_quiesce"], "yes");
    assert_eq!(image["size"], shutter_testpeers::nova::DISK.len());

    let deleted = lab.delete(&out["snapshot"]).await;
    assert_eq!(deleted["deleted"], true, "{deleted}");
    assert!(support::glance_image(&lab.glance, &id).await.is_none());
    let twice = lab.delete(&out["snapshot"]).await;
    assert_eq!(twice["deleted"], false, "{twice}");
}

#[tokio::test]
async fn provider_errors_keep_their_kind_and_name_the_action() {
    let lab = Lab::new().await;
    let message = fatal(
        lab.run(
            "snapshot",
            json!({"target": "openstack://lab/missing-01", "name": "x"}),
        )
        .await,
    );
    assert!(
        message.starts_with("openstack.server.create_image: "),
        "{message}"
    );
    assert!(message.contains("could not be found"), "{message}");
    let message = fatal(
        lab.run(
            "snapshot",
            json!({"target": "openstack://nowhere/web-01", "name": "x"}),
        )
        .await,
    );
    assert!(message.contains("nowhere"), "{message}");
}

#[tokio::test]
async fn bad_references_and_options_fail_before_any_provider_is_called() {
    let lab = Lab::new().await;
    for (target, expect) in [
        ("gcp://europe-west1/disk-1", "unknown scheme `gcp`"),
        (
            "aws://us-east-1/snap-0abc",
            "neither a volume (vol-...) nor an instance (i-...)",
        ),
        ("vsphere://vc/web-01", "is not a VM moRef"),
        ("openstack://lab", "exactly two parts"),
        ("web-01", "not a reference"),
    ] {
        let message = fatal(
            lab.run("snapshot", json!({"target": target, "name": "x"}))
                .await,
        );
        assert!(
            message.starts_with(&format!("snapshot target `{target}`: ")),
            "{message}"
        );
        assert!(message.contains(expect), "{target}: {message}");
    }
    let message = fatal(
        lab.run("snapshot", json!({"target": "aws://us-east-1/vol-1", "name": "x", "options": {"region": "eu-west-1"}}))
            .await,
    );
    assert!(
        message.contains("`options.region` cannot be passed through"),
        "{message}"
    );
    let message = fatal(
        lab.run(
            "snapshot.delete",
            json!({"snapshot": {"id": "snap-1", "target": "s3://bucket/key"}}),
        )
        .await,
    );
    assert!(message.contains("unknown scheme `s3`"), "{message}");
    let message = fatal(
        lab.run("snapshot.delete", json!({"snapshot": "snap-1"}))
            .await,
    );
    assert!(message.starts_with("parameter `snapshot`"), "{message}");
}
