//! Snapshots: create (one volume, a whole instance), adopt after a crash,
//! copy to another region, tag, list (every page), delete.

use serde_json::json;
use shutter_aws::IDEMPOTENCY_TAG;

use crate::proxy::Proxy;
use crate::support::{
    Step, client, instance, on_moto, run_fatal, run_ok, snapshot, snapshots_tagged, sorted_strings,
    unique, volume,
};

#[tokio::test]
async fn create_snapshot_tags_it_with_the_key_and_the_users_tags() {
    let region = "eu-west-1";
    let (ec2, step) = on_moto(region).await;
    let vol = volume(&ec2, region).await;
    let run_tag = unique();
    let out = step
        .ok("aws.ec2.create_snapshot", json!({"volume_id": vol, "region": region, "description": "nightly", "tags": {"run": run_tag, "tier": 1}})).await;
    let id = out["snapshot_id"].as_str().unwrap();
    assert!(id.starts_with("snap-"), "{out}");
    assert_eq!(out["volume_id"], vol.as_str());
    assert_eq!(out["region"], region);
    assert_eq!(out["adopted"], false);
    assert_eq!(out["state"], "completed", "moto completes at once");
    assert!(out["start_time"].as_str().unwrap().ends_with('Z'), "{out}");
    assert_eq!(
        snapshots_tagged(&ec2, "run", &run_tag).await,
        vec![id.to_owned()]
    );
    assert_eq!(
        snapshots_tagged(&ec2, IDEMPOTENCY_TAG, &step.key).await,
        vec![id.to_owned()]
    );
    assert!(
        snapshots_tagged(&ec2, "tier", "1")
            .await
            .contains(&id.to_owned())
    );
}

#[tokio::test]
async fn a_rerun_after_a_crash_adopts_the_snapshot_instead_of_creating_a_second() {
    let region = "eu-west-2";
    let (ec2, step) = on_moto(region).await;
    let vol = volume(&ec2, region).await;
    let params = json!({"volume_id": vol, "region": region});
    // The first try creates the snapshot; the process dies before its
    // outputs are recorded. The step runs again with the same key.
    let first = step.ok("aws.ec2.create_snapshot", params.clone()).await;
    let again = step.ok("aws.ec2.create_snapshot", params).await;
    assert_eq!(again["snapshot_id"], first["snapshot_id"]);
    assert_eq!(again["adopted"], true);
    assert_eq!(again["volume_id"], vol.as_str());
    let tagged = snapshots_tagged(&ec2, IDEMPOTENCY_TAG, &step.key).await;
    assert_eq!(
        tagged.len(),
        1,
        "exactly one snapshot carries the key: {tagged:?}"
    );
    assert!(
        step.logs()
            .iter()
            .any(|l| l.starts_with("adopted snapshot ") && l.contains(&step.key)),
        "{:?}",
        step.logs()
    );
    // Another step (another key) snapshots the same volume anew.
    let other = run_ok(
        "aws.ec2.create_snapshot",
        json!({"volume_id": vol, "region": region}),
    )
    .await;
    assert_ne!(other["snapshot_id"], first["snapshot_id"]);
    assert_eq!(other["adopted"], false);
}

#[tokio::test]
async fn create_snapshots_takes_every_volume_of_an_instance_once() {
    let region = "eu-central-1";
    let (ec2, step) = on_moto(region).await;
    let server = instance(&ec2, region).await;
    let params = json!({"instance_id": server, "region": region, "tags": {"app": "db"}});
    let out = step.ok("aws.ec2.create_snapshots", params.clone()).await;
    let ids = out["snapshot_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 2, "root and data volume: {out}");
    // (moto leaves `state` out of its CreateSnapshots answer; EC2 sends it.)
    let volumes: Vec<&str> = out["snapshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["volume_id"].as_str().unwrap())
        .collect();
    assert!(volumes.iter().all(|v| v.starts_with("vol-")), "{out}");
    assert_ne!(volumes[0], volumes[1], "one snapshot per volume");
    assert_eq!(out["adopted"], false);

    let again = step.ok("aws.ec2.create_snapshots", params).await;
    assert_eq!(again["adopted"], true);
    assert_eq!(
        sorted_strings(&out["snapshot_ids"]),
        sorted_strings(&again["snapshot_ids"])
    );
    assert_eq!(
        snapshots_tagged(&ec2, IDEMPOTENCY_TAG, &step.key)
            .await
            .len(),
        2
    );

    let data_only = run_ok(
        "aws.ec2.create_snapshots",
        json!({"instance_id": server, "region": region, "exclude_boot_volume": true}),
    )
    .await;
    assert_eq!(
        data_only["snapshot_ids"].as_array().unwrap().len(),
        1,
        "{data_only}"
    );
}

#[tokio::test]
async fn copy_snapshot_lands_in_the_second_region_once_and_can_be_waited_for_there() {
    let (source, target) = ("ap-southeast-1", "ap-southeast-2");
    let ec2 = client(source).await;
    let snap = snapshot(source).await;
    let step = Step::moto();
    let params = json!({
        "snapshot_id": snap, "source_region": source, "region": target,
        "description": "dr copy", "tags": {"copy-of": snap},
    });
    let copy = step.ok("aws.ec2.copy_snapshot", params.clone()).await;
    let copy_id = copy["snapshot_id"].as_str().unwrap();
    assert_ne!(copy_id, snap.as_str());
    assert_eq!(copy["region"], target);
    assert_eq!(copy["source_snapshot_id"], snap.as_str());
    assert_eq!(copy["adopted"], false);
    let there = client(target).await;
    assert_eq!(
        snapshots_tagged(&there, IDEMPOTENCY_TAG, &step.key).await,
        vec![copy_id.to_owned()]
    );
    assert!(
        snapshots_tagged(&ec2, IDEMPOTENCY_TAG, &step.key)
            .await
            .is_empty(),
        "not in the source region"
    );

    let again = step.ok("aws.ec2.copy_snapshot", params).await;
    assert_eq!(again["snapshot_id"], copy_id);
    assert_eq!(again["adopted"], true);

    let waited = run_ok(
        "aws.ec2.wait_snapshot",
        json!({"ids": [copy_id], "region": target, "poll": "10ms"}),
    )
    .await;
    assert_eq!(waited["snapshots"][0]["state"], "completed");
    assert_eq!(waited["snapshots"][0]["description"], "dr copy");
    assert_eq!(waited["snapshots"][0]["tags"]["copy-of"], snap.as_str());
}

#[tokio::test]
async fn create_tags_then_list_by_tag_newest_first_then_delete() {
    let region = "ca-central-1";
    let ec2 = client(region).await;
    let vol = volume(&ec2, region).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let out = run_ok(
            "aws.ec2.create_snapshot",
            json!({"volume_id": vol, "region": region}),
        )
        .await;
        ids.push(out["snapshot_id"].as_str().unwrap().to_owned());
    }
    let label = unique();
    let tagged = run_ok(
        "aws.ec2.create_tags",
        json!({"resource_ids": ids, "region": region, "tags": {"backup-set": label, "keep": true}}),
    )
    .await;
    assert_eq!(tagged["tags"], json!({"backup-set": label, "keep": "true"}));

    let listed = run_ok(
        "aws.ec2.list_snapshots",
        json!({"region": region, "tags": {"backup-set": label}}),
    )
    .await;
    assert_eq!(listed["count"], 3);
    let snapshots = listed["snapshots"].as_array().unwrap();
    let seen = sorted_strings(&listed["snapshot_ids"]);
    let times: Vec<&str> = snapshots
        .iter()
        .map(|s| s["created_at"].as_str().unwrap())
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    assert_eq!(
        snapshots[0]["id"], snapshots[0]["snapshot_id"],
        "ready for the retention step"
    );
    assert_eq!(snapshots[0]["tags"]["keep"], "true");
    ids.sort();
    assert_eq!(seen, ids);

    let by_volume = run_ok(
        "aws.ec2.list_snapshots",
        json!({"region": region, "volume_id": vol, "state": "completed", "tags": {"backup-set": label}}),
    )
    .await;
    assert_eq!(by_volume["count"], 3);

    let deleted = run_ok(
        "aws.ec2.delete_snapshot",
        json!({"snapshot_ids": &ids[..2], "snapshot_id": ids[2], "region": region}),
    )
    .await;
    assert_eq!(deleted["deleted"].as_array().unwrap().len(), 3, "{deleted}");
    assert!(
        snapshots_tagged(&ec2, "backup-set", &label)
            .await
            .is_empty()
    );

    // By tags: what a `for_each` item's compensation can name.
    let extra = run_ok("aws.ec2.create_snapshot", json!({"volume_id": vol, "region": region, "tags": {"backup-set": label, "copy-of": "snap-x"}})).await;
    let by_tags = run_ok(
        "aws.ec2.delete_snapshot",
        json!({"tags": {"backup-set": label, "copy-of": "snap-x"}, "region": region}),
    )
    .await;
    assert_eq!(by_tags["deleted"], json!([extra["snapshot_id"]]));

    // Deleting again is fine by default (a compensation retried), an error when asked.
    let again = run_ok(
        "aws.ec2.delete_snapshot",
        json!({"snapshot_id": ids[0], "region": region}),
    )
    .await;
    assert_eq!(again["missing"], json!([ids[0]]));
    assert_eq!(again["deleted"], json!([]));
    let strict = run_fatal(
        "aws.ec2.delete_snapshot",
        json!({"snapshot_id": ids[0], "region": region, "missing_ok": false}),
    )
    .await;
    assert!(
        strict.starts_with(&format!(
            "aws ec2 DeleteSnapshot on {}: InvalidSnapshot.NotFound",
            ids[0]
        )),
        "{strict}"
    );
}

#[tokio::test]
async fn list_snapshots_reads_every_page() {
    let region = "sa-east-1";
    let ec2 = client(region).await;
    let vol = volume(&ec2, region).await;
    let label = unique();
    for _ in 0..12 {
        run_ok(
            "aws.ec2.create_snapshot",
            json!({"volume_id": vol, "region": region, "tags": {"set": label}}),
        )
        .await;
    }
    let proxy = Proxy::paging().await;
    let out = Step::new(&proxy.url)
        .run(
            "aws.ec2.list_snapshots",
            json!({"region": region, "tags": {"set": label}, "page_size": 5}),
        )
        .await
        .unwrap();
    assert_eq!(out["count"], 12, "{out}");
    let mut ids = sorted_strings(&out["snapshot_ids"]);
    ids.dedup();
    assert_eq!(ids.len(), 12, "no snapshot twice");
    assert_eq!(
        proxy.describes.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "5 + 5 + 2: three pages"
    );
}
