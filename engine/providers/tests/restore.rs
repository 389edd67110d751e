#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! `restore`, `restore.delete` and `restore.test` against the real peers:
//! an EBS snapshot on moto restored as a volume, a vSphere snapshot on
//! vcsim restored as a clone (vcsim runs the clone's API flow but copies
//! no disk contents: what is checked is what vCenter reports) or by
//! reverting its VM (a VM of the test's own: see `support/vcsim.rs`), a
//! Glance image booted as a server of the fake Nova.
//! Each backup is made by the `snapshot` action, and its catalog entry is
//! the one that action recorded.

mod support;

use serde_json::{Value as Json, json};
use support::{Lab, fatal};

fn unique() -> String {
    shutter_core::ExecutionId::new().to_string()
}

/// `restore.test` of `entry` on moto, in a step whose catalog holds
/// `entries`: its outputs and the verdicts it recorded.
async fn restore_tested(
    lab: &Lab,
    entries: Vec<shutter_core::Backup>,
    entry: &shutter_core::Backup,
) -> (Json, Vec<(shutter_core::BackupRef, bool, String)>) {
    let step = lab.step_reading(entries);
    let out = step
        .ok(
            "restore.test",
            json!({"backup": entry.id, "options": lab.aws_options()}),
        )
        .await;
    (out, step.verdicts())
}

#[tokio::test]
async fn an_ebs_snapshot_restores_as_a_volume_of_its_size_and_encryption() {
    let lab = Lab::new().await;
    let region = "sa-east-1";
    let entries = lab.volume_backed_up(region, &[("Encrypted", "true")]).await;
    let entry = &entries[0];
    let step = lab.step_reading(entries.clone());
    let params = json!({"backup": entry.id, "name": "restored", "options": lab.aws_options()});
    let out = step.ok("restore", params.clone()).await;
    assert_eq!(
        (&out["provider"], &out["kind"]),
        (&json!("aws"), &json!("volume"))
    );
    let id = out["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("vol-"), "{out}");
    assert_eq!(out["from"], entry.artifact.native_id.as_str());
    assert_eq!(out["backup"], entry.id.as_str());
    assert_eq!(out["details"]["size_gib"], 8, "the snapshot's size: {out}");
    assert_eq!(out["details"]["encrypted"], true, "{out}");
    assert_eq!(out["details"]["state"], "available");
    assert_eq!(out["adopted"], false);

    // A second try of the step adopts the volume it made.
    let again = step.ok("restore", params).await;
    assert_eq!(
        (&again["id"], &again["adopted"]),
        (&out["id"], &json!(true))
    );

    // A reference under another key, or none, deletes nothing.
    let mut forged = out["restored"].clone();
    forged["key"] = json!("shutter:someone-else:restore");
    let message = fatal(lab.run("restore.delete", json!({"restored": forged})).await);
    assert!(message.contains("not made by the step"), "{message}");
    forged.as_object_mut().unwrap().remove("key");
    let message = fatal(lab.run("restore.delete", json!({"restored": forged})).await);
    assert!(message.contains("no `key`"), "{message}");
    assert!(support::volume_exists(&lab.moto, region, &id).await);
    let deleted = lab
        .ok("restore.delete", json!({"restored": out["restored"]}))
        .await;
    assert_eq!(deleted["deleted"], true, "{deleted}");
    assert!(!support::volume_exists(&lab.moto, region, &id).await);
    let twice = lab.ok("restore.delete", json!({"restored": out})).await;
    assert_eq!(twice["deleted"], false, "gone already: {twice}");
}

#[tokio::test]
async fn a_restore_test_records_its_verdict_and_cleans_up_and_a_lost_snapshot_fails_it() {
    let lab = Lab::new().await;
    let region = "ca-central-1";
    let entries = lab.volume_backed_up(region, &[]).await;
    let entry = entries[0].clone();
    let (out, verdicts) = restore_tested(&lab, entries.clone(), &entry).await;
    assert_eq!(out["passed"], true, "{out}");
    assert_eq!(out["cleaned_up"], true);
    assert_eq!(out["backup"], entry.id.as_str());
    let detail = out["detail"].as_str().unwrap();
    assert!(
        detail.contains("size: 8 GiB restored, 8 GiB in the catalog"),
        "{detail}"
    );
    let restored = out["restored"]["id"].as_str().unwrap();
    assert!(
        !support::volume_exists(&lab.moto, region, restored).await,
        "cleaned up"
    );
    assert_eq!(verdicts.len(), 1, "{verdicts:?}");
    assert_eq!((&verdicts[0].0, verdicts[0].1), (&entry.reference(), true));

    // Deleted behind Shutter's back: the test fails, the step does not.
    let snapshot = &entry.artifact.native_id;
    support::ec2(
        &lab.moto,
        region,
        &[("Action", "DeleteSnapshot"), ("SnapshotId", snapshot)],
    )
    .await;
    let (out, verdicts) = restore_tested(&lab, entries, &entry).await;
    assert_eq!(out["passed"], false, "{out}");
    assert_eq!(out["cleaned_up"], false, "nothing was restored");
    assert_eq!(out["restored"], Json::Null);
    assert!(
        out["detail"].as_str().unwrap().contains(snapshot.as_str()),
        "{out}"
    );
    assert_eq!((&verdicts[0].0, verdicts[0].1), (&entry.reference(), false));
}

#[tokio::test]
async fn what_cannot_be_restored_is_refused_with_why() {
    let lab = Lab::new().await;
    let step = lab.step_reading(Vec::new());
    let message = fatal(
        step.run("restore", json!({"backup": "0190-no-such-entry"}))
            .await,
    );
    assert!(message.contains("not in the catalog"), "{message}");
    let message = fatal(
        step.run("restore", json!({"backup": "aws://eu-west-1/vol-1"}))
            .await,
    );
    assert!(message.contains("aws://REGION/snap-ID"), "{message}");
    let message = fatal(
        step.run(
            "restore",
            json!({"backup": "aws://eu-west-1/snap-1", "in_place": true}),
        )
        .await,
    );
    assert!(message.contains("in_place"), "{message}");
    let message = fatal(
        lab.run(
            "restore.delete",
            json!({"restored": {"provider": "aws", "kind": "ami", "id": "ami-1", "key": "shutter:x:y"}}),
        )
        .await,
    );
    assert!(message.contains("nothing restore makes"), "{message}");
}

#[tokio::test]
async fn a_vsphere_snapshot_restores_as_a_clone_or_by_reverting_its_vm() {
    let lab = Lab::new().await;
    // Never a stock VM: vcsim's clones share their source's disks.
    let own = support::vcsim::vm_with_disk(&format!("restore-source-{}", unique())).await;
    let (vcenter, moref) = lab.vm(&own).await;
    let target = format!("vsphere://{vcenter}/{moref}");
    let entries = lab.backed_up(&target, json!({})).await;
    let entry = entries[0].clone();
    let step = lab.step_reading(entries.clone());
    let name = format!("restored-{}", unique());
    let out = step
        .ok("restore", json!({"backup": entry.id, "name": name}))
        .await;
    assert_eq!(
        (&out["provider"], &out["kind"]),
        (&json!("vsphere"), &json!("vm"))
    );
    let clone = out["id"].as_str().unwrap().to_owned();
    assert_ne!(clone, moref, "a new VM: {out}");
    let got = lab
        .ok(
            "vsphere.vm.get",
            json!({"vm": format!("vsphere://{vcenter}/{clone}")}),
        )
        .await;
    assert_eq!(got["name"], name.as_str());
    let deleted = lab
        .ok("restore.delete", json!({"restored": out["restored"]}))
        .await;
    assert_eq!(deleted["deleted"], true, "{deleted}");

    let tested = lab
        .step_reading(entries.clone())
        .run("restore.test", json!({"backup": entry.id}))
        .await
        .unwrap();
    assert_eq!(tested["passed"], true, "{tested}");
    assert!(
        tested["detail"].as_str().unwrap().contains("disks"),
        "{tested}"
    );
    assert_eq!(tested["cleaned_up"], true);

    let reverted = lab
        .step_reading(entries)
        .run("restore", json!({"backup": entry.id, "in_place": true}))
        .await
        .unwrap();
    assert_eq!(reverted["kind"], "reverted", "{reverted}");
    let now = lab.ok("vsphere.vm.get", json!({"vm": target})).await;
    assert_eq!(now["current_snapshot"], entry.artifact.native_id.as_str());
    let nothing = lab
        .ok("restore.delete", json!({"restored": reverted["restored"]}))
        .await;
    assert_eq!(
        nothing["deleted"], false,
        "a revert made nothing: {nothing}"
    );
}

#[tokio::test]
async fn a_glance_image_boots_as_a_nova_server() {
    let lab = Lab::new().await;
    let server = format!("web-{}", unique());
    let entries = lab
        .backed_up(
            &format!("openstack://lab/{server}"),
            json!({"interval": "100ms"}),
        )
        .await;
    let entry = entries[0].clone();
    let step = lab.step_reading(entries.clone());
    let message = fatal(step.run("restore", json!({"backup": entry.id})).await);
    assert!(message.contains("options.cloud"), "{message}");
    let options = json!({"cloud": "lab", "flavor": "1"});
    let out = step
        .ok("restore", json!({"backup": entry.id, "options": options}))
        .await;
    assert_eq!(
        (&out["provider"], &out["kind"]),
        (&json!("openstack"), &json!("server"))
    );
    assert_eq!(out["details"]["status"], "ACTIVE", "{out}");
    assert_eq!(
        out["details"]["image_id"],
        entry.artifact.native_id.as_str()
    );
    let deleted = lab
        .ok("restore.delete", json!({"restored": out["restored"]}))
        .await;
    assert_eq!(deleted["deleted"], true, "{deleted}");

    // What the test lacks is not the backup's fault: no verdict.
    let lacking = lab.step_reading(entries.clone());
    let message = fatal(
        lacking
            .run(
                "restore.test",
                json!({"backup": entry.id, "options": {"cloud": "lab"}}),
            )
            .await,
    );
    assert!(message.contains("options.flavor"), "{message}");
    assert!(lacking.verdicts().is_empty(), "no verdict recorded");

    let tested = lab
        .step_reading(entries)
        .run(
            "restore.test",
            json!({"backup": entry.id, "options": options}),
        )
        .await
        .unwrap();
    assert_eq!(tested["passed"], true, "{tested}");
    assert_eq!(tested["cleaned_up"], true);
}
