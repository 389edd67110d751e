//! The OpenStack instance backup workflow end to end through `shutter run`:
//! Nova (a fake that snapshots into the real Glance) and the real Glance
//! for both clouds.

use std::process::Command;

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha512};
use shutter_testpeers::nova;
use shutter_testpeers::peer;
use shutter_tests::{repo_root, shutter_bin};

#[test]
fn the_instance_backup_workflow_snapshots_copies_verifies_and_prunes() {
    let glance = peer("glance");
    let _turn = shutter_testpeers::glance_turn();
    let image_url = glance.var("OS_IMAGE_URL").expect("glance's url").to_owned();
    let compute = nova::start(&image_url);
    let dir = tempfile::tempdir().expect("temp dir");
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        format!(
            "clouds:\n  production:\n    auth_type: none\n    image_endpoint_override: {image_url}\n    compute_endpoint_override: {compute}\n  backup:\n    auth_type: none\n    image_endpoint_override: {image_url}\n"
        ),
    )
    .expect("writable");
    let server = format!("web-{}", std::process::id());
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).expect("writable");
    let db = dir.path().join("os.db");
    let shutter = |args: &[&str]| {
        Command::new(shutter_bin())
            .args(args)
            .current_dir(repo_root())
            .env("SHUTTER_DB", &db)
            .env("NO_COLOR", "1")
            .env("OS_CLIENT_CONFIG_FILE", &clouds)
            .env_remove("OS_CLOUD")
            .output()
            .expect("shutter runs")
    };
    let server_input = format!("server_id={server}");
    let work_input = format!("work_dir={}", work.display());
    // The backup workflow of the server, with `more` inputs.
    let backup = |more: &[&str]| {
        let mut args = vec![
            "run",
            "workflows/openstack-instance-backup.yaml",
            "-i",
            &server_input,
            "-i",
            &work_input,
        ];
        args.extend_from_slice(more);
        shutter(&args)
    };
    let run = backup(&[]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let list = shutter(&["executions", "list", "--json"]);
    let records: Json = serde_json::from_slice(&list.stdout).expect("json");
    let outputs = &records[0]["outputs"];
    let expected: String = Sha512::digest(nova::DISK)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(outputs["sha512"], expected.as_str(), "{outputs}");
    assert_eq!(outputs["size"], nova::DISK.len(), "{outputs}");
    assert_eq!(outputs["pruned"], 0, "{outputs}");
    // The copy is in the backup Glance, active, with its provenance; the
    // snapshot in the source cloud was dropped once the copy was verified.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let images: Json = runtime.block_on(async {
        reqwest::get(format!("{image_url}/v2/images?shutter_backup_of={server}"))
            .await
            .expect("glance answers")
            .json()
            .await
            .expect("json")
    });
    let images = images["images"].as_array().expect("a list");
    assert_eq!(images.len(), 1, "{images:?}");
    assert_eq!(images[0]["status"], "active");
    assert_eq!(images[0]["id"], outputs["image_id"]);
    let snapshots: Json = runtime.block_on(async {
        reqwest::get(format!(
            "{image_url}/v2/images?shutter_snapshot_of={server}"
        ))
        .await
        .expect("glance answers")
        .json()
        .await
        .expect("json")
    });
    assert_eq!(
        snapshots["images"].as_array().map(Vec::len),
        Some(0),
        "{snapshots}"
    );
    // The catalog: the server's snapshot (dropped: `deleted`) and its copy,
    // linked to it and so of the server, both found by the server.
    let listed = shutter(&["backups", "list", "--source", &server, "--json"]);
    let entries: Json = serde_json::from_slice(&listed.stdout).expect("json");
    let entries = entries.as_array().expect("a list");
    assert_eq!(entries.len(), 2, "{entries:#?}");
    let (copy, snapshot) = (&entries[0], &entries[1]);
    assert_eq!(
        copy["native_id"], outputs["image_id"],
        "newest first: {entries:#?}"
    );
    assert_eq!(
        (copy["kind"].as_str(), snapshot["kind"].as_str()),
        (Some("glance_image"), Some("glance_image"))
    );
    assert_eq!(copy["state"], "available");
    assert_eq!(snapshot["state"], "deleted", "{snapshot:#}");
    let snapshot_ref = format!(
        "{}/{}",
        snapshot["location_key"].as_str().expect("a place"),
        snapshot["native_id"].as_str().expect("an id")
    );
    assert_eq!(copy["derived_from"], snapshot_ref.as_str());
    assert_eq!(copy["source"]["kind"], "server");
    assert_eq!(
        copy["source"]["ref"], snapshot["source"]["ref"],
        "the same server"
    );
    assert_eq!(copy["size_bytes"], nova::DISK.len());
    assert_eq!(
        (
            copy["tags"]["shutter_backup_of"].as_str(),
            copy["tags"]["shutter_backup_cloud"].as_str()
        ),
        (Some(server.as_str()), Some("backup")),
        "Shutter's properties are the entry's tags: {copy:#}"
    );

    // A second backup under a policy keeping one: retention over the
    // catalog prunes the first copy, by its entry.
    let again = backup(&["-i", r#"keep={"daily": 1, "weekly": 0, "monthly": 0}"#]);
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let list = shutter(&["executions", "list", "--json"]);
    let records: Json = serde_json::from_slice(&list.stdout).expect("json");
    let second = &records[0]["outputs"];
    assert_eq!(second["pruned"], 1, "{second}");
    let first_copy = copy["native_id"].clone();
    runtime.block_on(async {
        let status = reqwest::get(format!(
            "{image_url}/v2/images/{}",
            first_copy.as_str().expect("an id")
        ))
        .await
        .expect("glance answers")
        .status();
        assert_eq!(
            status,
            reqwest::StatusCode::NOT_FOUND,
            "the first copy is gone"
        );
    });

    // A prune that fails (Glance refuses to delete a protected image) does
    // not undo the new backup: the execution ends succeeded_with_errors,
    // exits 0 saying what failed, and both copies stay.
    let second_copy = second["image_id"].as_str().expect("an image id").to_owned();
    let protect = |on: bool| {
        runtime.block_on(async {
            let answer = reqwest::Client::new()
                .patch(format!("{image_url}/v2/images/{second_copy}"))
                .header(
                    "content-type",
                    "application/openstack-images-v2.1-json-patch",
                )
                .body(json!([{"op": "replace", "path": "/protected", "value": on}]).to_string())
                .send()
                .await
                .expect("glance answers");
            assert!(answer.status().is_success(), "{}", answer.status());
        });
    };
    protect(true);
    let third = backup(&["-i", r#"keep={"daily": 1, "weekly": 0, "monthly": 0}"#]);
    let said = String::from_utf8_lossy(&third.stderr);
    assert!(third.status.success(), "{said}");
    assert!(
        said.contains("succeeded with errors: step `prune` failed: item 0 failed"),
        "{said}"
    );
    protect(false);
    let list = shutter(&["executions", "list", "--json"]);
    let records: Json = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(
        records[0]["state"], "succeeded_with_errors",
        "{}",
        records[0]
    );
    let third_copy = records[0]["outputs"]["image_id"]
        .as_str()
        .expect("the new copy, in the outputs")
        .to_owned();
    for id in [&second_copy, &third_copy] {
        runtime.block_on(async {
            let image: Json = reqwest::get(format!("{image_url}/v2/images/{id}"))
                .await
                .expect("glance answers")
                .json()
                .await
                .expect("json");
            assert_eq!(image["status"], "active", "{image}");
        });
    }

    // The newest copy deleted behind Shutter's back: a sync of the backup
    // cloud finds it missing; what Shutter deleted stays `deleted`.
    let copy_id = third_copy;
    runtime.block_on(async {
        let gone = reqwest::Client::new()
            .delete(format!("{image_url}/v2/images/{copy_id}"))
            .send()
            .await
            .expect("glance answers");
        assert!(gone.status().is_success(), "{}", gone.status());
    });
    let sync = dir.path().join("sync.yaml");
    std::fs::write(
        &sync,
        "version: 1\nname: sync\nsteps:\n  sync:\n    uses: openstack.image.sync_backups\n    with: {cloud: backup}\n",
    )
    .expect("writable");
    let synced = shutter(&["run", sync.to_str().expect("utf-8")]);
    assert!(
        synced.status.success(),
        "{}",
        String::from_utf8_lossy(&synced.stderr)
    );
    let listed = shutter(&["backups", "list", "--source", &server, "--json"]);
    let entries: Json = serde_json::from_slice(&listed.stdout).expect("json");
    let state_of = |id: &Json| {
        entries
            .as_array()
            .expect("a list")
            .iter()
            .find(|e| &e["native_id"] == id)
            .map(|e| e["state"].clone())
    };
    assert_eq!(
        state_of(&Json::from(copy_id.as_str())),
        Some(Json::from("missing")),
        "{entries:#}"
    );
    assert_eq!(
        state_of(&first_copy),
        Some(Json::from("deleted")),
        "pruned by entry: {entries:#}"
    );
    assert_eq!(
        state_of(&snapshot["native_id"]),
        Some(Json::from("deleted")),
        "{entries:#}"
    );
}
