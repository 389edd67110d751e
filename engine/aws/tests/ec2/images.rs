//! AMIs: create (adopted on a re-run), deregister with their snapshots.

use serde_json::json;
use shutter_aws::IDEMPOTENCY_TAG;
use shutter_core::{BackupKind, BackupState};

use crate::support::{
    instance, on_moto, place, run_fatal, run_ok, run_recorded, sorted_strings, unique,
};

#[tokio::test]
async fn create_image_once_then_deregister_it_with_its_snapshots() {
    let region = "ap-northeast-1";
    let (ec2, step) = on_moto(region).await;
    let server = instance(&ec2, region).await;
    let name = format!("backup-{}", unique());
    let params = json!({"instance_id": server, "name": name, "no_reboot": true, "region": region, "tags": {"app": "web"}});
    let out = step.ok("aws.ec2.create_image", params.clone()).await;
    let image_id = out["image_id"].as_str().unwrap().to_owned();
    assert!(image_id.starts_with("ami-"), "{out}");
    assert_eq!(out["name"], name.as_str());
    assert_eq!(out["adopted"], false);
    let image = ec2
        .describe_images()
        .image_ids(&image_id)
        .send()
        .await
        .unwrap();
    let image = &image.images()[0];
    let tags: Vec<_> = image
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert!(tags.contains(&("app", "web")), "{tags:?}");
    assert!(
        tags.contains(&(IDEMPOTENCY_TAG, step.key.as_str())),
        "{tags:?}"
    );
    let snapshots: Vec<String> = image
        .block_device_mappings()
        .iter()
        .filter_map(|m| m.ebs()?.snapshot_id().map(str::to_owned))
        .collect();
    assert!(!snapshots.is_empty(), "an AMI stands on snapshots");

    // The catalog holds the AMI, of its instance, where it is.
    let recorded = step.recorder.backups();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    let ami = &recorded[0];
    assert_eq!(ami.kind, BackupKind::Ami);
    assert_eq!(ami.native_id, image_id);
    assert_eq!(ami.location, place(region));
    let source = ami.source.as_ref().unwrap();
    assert_eq!(
        (source.kind.as_str(), source.id.as_str()),
        ("instance", server.as_str())
    );
    assert_eq!(ami.tags.get("app").map(String::as_str), Some("web"));

    let again = step.ok("aws.ec2.create_image", params).await;
    assert_eq!(again["image_id"], image_id.as_str());
    assert_eq!(again["adopted"], true);
    assert_eq!(
        step.recorder.backups()[1].reference(),
        ami.reference(),
        "the same entry"
    );

    let (gone, deregister) = run_recorded(
        "aws.ec2.deregister_image",
        json!({"image_id": image_id, "delete_snapshots": true, "region": region}),
    )
    .await;
    let marks = deregister.backup_marks();
    assert_eq!(
        marks[0],
        (ami.reference(), BackupState::Deleted),
        "{marks:?}"
    );
    assert_eq!(
        marks.len(),
        1 + snapshots.len(),
        "the image and its snapshots: {marks:?}"
    );
    assert_eq!(gone["deregistered"], true);
    let mut expected = snapshots.clone();
    expected.sort();
    assert_eq!(sorted_strings(&gone["deleted_snapshot_ids"]), expected);
    assert!(
        ec2.describe_images()
            .owners("self")
            .image_ids(&image_id)
            .send()
            .await
            .map(|a| a.images().is_empty())
            .unwrap_or(true)
    );

    let twice = run_ok(
        "aws.ec2.deregister_image",
        json!({"image_id": image_id, "region": region}),
    )
    .await;
    assert_eq!(twice["deregistered"], false);
    let strict = run_fatal(
        "aws.ec2.deregister_image",
        json!({"image_id": image_id, "region": region, "missing_ok": false}),
    )
    .await;
    assert!(
        strict.starts_with(&format!(
            "aws ec2 DeregisterImage on {image_id}: InvalidAMIID."
        )),
        "{strict}"
    );
}

#[tokio::test]
async fn an_image_of_an_instance_that_does_not_exist_is_fatal() {
    let message = run_fatal(
        "aws.ec2.create_image",
        json!({"instance_id": "i-00000000000000000", "name": "x", "region": "ap-northeast-1"}),
    )
    .await;
    assert!(
        message
            .starts_with("aws ec2 CreateImage on i-00000000000000000: InvalidInstanceID.NotFound"),
        "{message}"
    );
}
