//! Restoring a snapshot as a volume, against moto: the volume keeps the
//! snapshot's size and encryption, a re-run adopts it, it attaches to an
//! instance (once), and the delete refuses what Shutter did not make.

use serde_json::json;

use crate::support::{Step, fatal, instance, on_moto, unique};

/// A volume of `gib` GiB in the region's first zone, and a completed
/// snapshot of it.
async fn snapshot_of(ec2: &aws_sdk_ec2::Client, region: &str, gib: i32, encrypted: bool) -> String {
    let volume = ec2
        .create_volume()
        .availability_zone(format!("{region}a"))
        .size(gib)
        .encrypted(encrypted)
        .send()
        .await
        .unwrap();
    ec2.create_snapshot()
        .volume_id(volume.volume_id().unwrap())
        .send()
        .await
        .unwrap()
        .snapshot_id()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_volume_from_a_snapshot_keeps_its_size_and_encryption_and_a_rerun_adopts_it() {
    let region = "eu-central-1";
    let (ec2, step) = on_moto(region).await;
    let snapshot = snapshot_of(&ec2, region, 12, true).await;
    let params = json!({"snapshot_id": snapshot, "region": region, "tags": {"purpose": "restore"}});
    let out = step.ok("aws.ec2.create_volume", params.clone()).await;
    let id = out["volume_id"].as_str().unwrap().to_owned();
    assert_eq!(out["snapshot_id"], snapshot.as_str());
    assert_eq!(out["size_gib"], 12);
    assert_eq!(out["encrypted"], true);
    assert_eq!(out["state"], "available");
    let zone = out["availability_zone"].as_str().unwrap();
    assert!(zone.starts_with(region), "a zone of the region: {zone}");
    assert_eq!(out["adopted"], false);
    let described = ec2.describe_volumes().volume_ids(&id).send().await.unwrap();
    let tags = described.volumes()[0].tags();
    assert!(tags.iter().any(|t| t.key() == Some("purpose")), "{tags:?}");
    assert!(
        tags.iter()
            .any(|t| t.key() == Some(shutter_aws::RESTORE_TAG)),
        "{tags:?}"
    );
    assert!(
        !tags
            .iter()
            .any(|t| t.key() == Some(shutter_aws::IDEMPOTENCY_TAG)),
        "a restored volume is not marked as a backup: {tags:?}"
    );

    let again = step.ok("aws.ec2.create_volume", params).await;
    assert_eq!(
        (&again["volume_id"], &again["adopted"]),
        (&out["volume_id"], &json!(true))
    );

    // Larger on request; a volume smaller than its snapshot is EC2's refusal.
    let bigger = crate::support::run_ok(
        "aws.ec2.create_volume",
        json!({"snapshot_id": snapshot, "region": region, "size_gib": 20, "volume_type": "gp3", "availability_zone": "eu-central-1b"}),
    )
    .await;
    assert_eq!(bigger["size_gib"], 20);
    assert_eq!(bigger["volume_type"], "gp3");
    assert_eq!(bigger["availability_zone"], "eu-central-1b");
}

#[tokio::test]
async fn a_restored_volume_attaches_once_and_is_deleted_with_its_detach() {
    let region = "us-west-1";
    let (ec2, step) = on_moto(region).await;
    let snapshot = snapshot_of(&ec2, region, 8, false).await;
    let made = step
        .ok(
            "aws.ec2.create_volume",
            json!({"snapshot_id": snapshot, "region": region}),
        )
        .await;
    assert_eq!(made["encrypted"], false);
    let volume = made["volume_id"].as_str().unwrap();
    let server = instance(&ec2, region).await;
    let attach =
        json!({"volume_id": volume, "instance_id": server, "device": "/dev/sdg", "region": region});
    let attacher = Step::moto();
    let attached = attacher.ok("aws.ec2.attach_volume", attach.clone()).await;
    assert_eq!(attached["state"], "attached", "{attached}");
    assert_eq!(attached["adopted"], false);
    let again = attacher.ok("aws.ec2.attach_volume", attach).await;
    assert_eq!(again["adopted"], true, "attached already: {again}");
    assert_eq!(again["device"], "/dev/sdg");

    let other = instance(&ec2, region).await;
    let message = fatal(
        crate::support::run(
            "aws.ec2.attach_volume",
            json!({"volume_id": volume, "instance_id": other, "device": "/dev/sdh", "region": region}),
        )
        .await,
    );
    assert!(message.contains("detach it first"), "{message}");

    let delete = json!({"volume_id": volume, "region": region});
    let message = fatal(crate::support::run("aws.ec2.delete_volume", delete.clone()).await);
    assert!(message.contains("detach: true"), "{message}");
    let deleted = crate::support::run_ok(
        "aws.ec2.delete_volume",
        json!({"volume_id": volume, "region": region, "detach": true}),
    )
    .await;
    assert_eq!(deleted["deleted"], true, "{deleted}");
    let twice = crate::support::run_ok("aws.ec2.delete_volume", delete).await;
    assert_eq!(twice["deleted"], false, "gone already: {twice}");
}

#[tokio::test]
async fn a_volume_shutter_did_not_make_is_not_deleted() {
    let region = "us-east-2";
    let (ec2, _) = on_moto(region).await;
    let theirs = ec2
        .create_volume()
        .availability_zone(format!("{region}a"))
        .size(1)
        .send()
        .await
        .unwrap();
    let id = theirs.volume_id().unwrap();
    let message = fatal(
        crate::support::run(
            "aws.ec2.delete_volume",
            json!({"volume_id": id, "region": region}),
        )
        .await,
    );
    assert!(message.contains("Shutter did not make it"), "{message}");
    let still = ec2.describe_volumes().volume_ids(id).send().await.unwrap();
    assert_eq!(still.volumes().len(), 1);
    let missing = crate::support::run(
        "aws.ec2.create_volume",
        json!({"snapshot_id": format!("snap-{}", &unique()[..8]), "region": region}),
    )
    .await;
    assert!(fatal(missing).contains("CreateVolume"));
}
