//! The AWS EBS backup workflow end to end against moto: through `shutter
//! run`, and through the HTTP API of `shutter serve`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value as Json, json};
use shutter_testpeers::{Peer, moto, peer};
use shutter_tests::{repo_root, shutter_bin};

/// A moto region pair no other test uses: regions are isolated in moto.
const REGION: &str = "ap-southeast-2";
const DR_REGION: &str = "ap-northeast-1";

/// Calls moto's EC2 query API from a synchronous test.
pub(crate) fn ec2(moto: &Peer, region: &str, params: &[(&str, &str)]) -> String {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(moto::ec2(&moto.url, region, params))
}

/// An instance with its root volume and one more attached.
fn instance(moto: &Peer) -> String {
    instance_in(moto, REGION)
}

/// An instance in `region` with its root volume and one more attached.
fn instance_in(moto: &Peer, region: &str) -> String {
    let run = ec2(
        moto,
        region,
        &[
            ("Action", "RunInstances"),
            ("ImageId", "ami-12345678"),
            ("InstanceType", "t3.micro"),
            ("MinCount", "1"),
            ("MaxCount", "1"),
        ],
    );
    let id = moto::first(&run, "instanceId");
    let zone = format!("{region}a");
    let volume = ec2(
        moto,
        region,
        &[
            ("Action", "CreateVolume"),
            ("AvailabilityZone", &zone),
            ("Size", "8"),
        ],
    );
    let volume = moto::first(&volume, "volumeId");
    ec2(
        moto,
        region,
        &[
            ("Action", "AttachVolume"),
            ("VolumeId", &volume),
            ("InstanceId", &id),
            ("Device", "/dev/sdf"),
        ],
    );
    id
}

fn shutter_with_moto(moto: &Peer, db: &std::path::Path) -> Command {
    let mut command = Command::new(shutter_bin());
    command
        .current_dir(repo_root())
        .env("SHUTTER_DB", db)
        .env("NO_COLOR", "1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE");
    for (key, value) in &moto.env {
        if key.starts_with("AWS_") {
            command.env(key, value);
        }
    }
    command
}

fn inputs(moto: &Peer, instance: &str) -> Json {
    json!({"instance_id": instance, "region": REGION, "dr_region": DR_REGION, "endpoint_url": moto.url})
}

fn check_backup(execution: &Json) {
    assert_eq!(execution["state"], "succeeded", "{execution:#}");
    let outputs = &execution["outputs"];
    assert_eq!(
        outputs["snapshot_ids"].as_array().expect("ids").len(),
        2,
        "{outputs}"
    );
    assert_eq!(
        outputs["copy_ids"].as_array().expect("ids").len(),
        2,
        "{outputs}"
    );
    assert_eq!(
        outputs["kept"], 4,
        "both volumes of the one backup and their copies, one backup set: {outputs}"
    );
    assert_eq!(outputs["pruned"], 0, "{outputs}");
}

#[test]
fn the_ebs_backup_workflow_runs_against_moto() {
    let moto = peer("moto");
    let instance = instance(&moto);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("aws.db");
    let inputs_file = dir.path().join("inputs.json");
    std::fs::write(&inputs_file, inputs(&moto, &instance).to_string()).expect("writable");
    let run = shutter_with_moto(&moto, &db)
        .args(["run", "workflows/aws-ebs-backup.yaml", "--inputs"])
        .arg(&inputs_file)
        .output()
        .expect("shutter runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let list = shutter_with_moto(&moto, &db)
        .args(["executions", "list", "--json"])
        .output()
        .expect("shutter runs");
    let records: Json = serde_json::from_slice(&list.stdout).expect("json");
    check_backup(&records[0]);
    // The snapshots exist in moto, tagged with the instance.
    let described = ec2(
        &moto,
        REGION,
        &[
            ("Action", "DescribeSnapshots"),
            ("Filter.1.Name", "tag:shutter-backup"),
            ("Filter.1.Value.1", &instance),
        ],
    );
    assert_eq!(described.matches("<snapshotId>").count(), 2, "{described}");
    check_catalog(&moto, &db);
    check_restore(&moto, &db, dir.path());
    check_sync(&moto, &db, dir.path());
}

/// The shipped restore workflows on the catalog of one backup: the restore
/// test proves the newest backup of each volume restorable (and says so in
/// `backups list`), and one backup restores as a volume of its size.
fn check_restore(moto: &Peer, db: &std::path::Path, dir: &std::path::Path) {
    let inputs = dir.join("restore-test.json");
    let given = json!({"provider": "aws", "endpoint_url": moto.url});
    std::fs::write(&inputs, given.to_string()).expect("writable");
    let inputs = inputs.to_str().expect("a utf-8 path");
    shutter_ok(
        moto,
        db,
        &["run", "workflows/restore-test.yaml", "--inputs", inputs],
    );
    let all = backups(moto, db, &["--provider", "aws"]);
    let verified: Vec<&Json> = all
        .iter()
        .filter(|e| e["verified_at"].is_string())
        .collect();
    assert_eq!(verified.len(), 2, "the newest of each volume: {all:#?}");
    for entry in &verified {
        assert_eq!(entry["last_test"]["passed"], true, "{entry:#}");
        let detail = entry["last_test"]["detail"].as_str().expect("a detail");
        assert!(
            detail.contains("8 GiB restored, 8 GiB in the catalog"),
            "{detail}"
        );
    }
    let table = shutter_ok(moto, db, &["backups", "list", "--provider", "aws"]);
    assert!(
        table.lines().next().is_some_and(|h| h.contains("VERIFIED")),
        "{table}"
    );
    assert_eq!(table.matches("never").count(), 2, "two not tested: {table}");
    // Every sandbox volume of the test was deleted (moto forgets them).
    for region in [REGION, DR_REGION] {
        let left = ec2(moto, region, &[("Action", "DescribeVolumes")]);
        assert!(
            !left.contains("restore-test-"),
            "sandbox volumes left: {left}"
        );
    }

    let backup = verified[0]["id"].as_str().expect("an id");
    let inputs = dir.join("restore.json");
    let given = json!({"backup": backup, "endpoint_url": moto.url});
    std::fs::write(&inputs, given.to_string()).expect("writable");
    let out = shutter_with_moto(moto, db)
        .args(["run", "workflows/restore-ebs-volume.yaml", "--inputs"])
        .arg(&inputs)
        .output()
        .expect("shutter runs");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    let outputs: Json = serde_json::from_slice(&out.stdout).expect("the outputs as json");
    assert_eq!(outputs["size_gib"], 8, "{outputs:#}");
    assert!(
        outputs["volume_id"]
            .as_str()
            .is_some_and(|v| v.starts_with("vol-")),
        "{outputs:#}"
    );
}

/// `shutter ARGS` on `db`: what it printed; the test fails if it fails.
fn shutter_ok(moto: &Peer, db: &std::path::Path, args: &[&str]) -> String {
    let mut command = shutter_with_moto(moto, db);
    command.args(args);
    succeeds(command)
}

/// What `command` printed; the test fails if it fails.
fn succeeds(mut command: Command) -> String {
    let out = command.output().expect("shutter runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `shutter backups list --json` with `args`, on `db`.
fn backups(moto: &Peer, db: &std::path::Path, args: &[&str]) -> Vec<Json> {
    let mut all = vec!["backups", "list", "--json"];
    all.extend_from_slice(args);
    let listed: Json = serde_json::from_str(&shutter_ok(moto, db, &all)).expect("json");
    listed.as_array().cloned().expect("a list")
}

/// Runs the shipped sync workflow on `db`.
fn sync(moto: &Peer, db: &std::path::Path, dir: &std::path::Path) {
    let inputs = dir.join("sync.json");
    // No grace: the test deletes a snapshot seconds after it was made.
    let given =
        json!({"region": REGION, "dr_region": DR_REGION, "endpoint_url": moto.url, "grace": "0s"});
    std::fs::write(&inputs, given.to_string()).expect("writable");
    let inputs = inputs.to_str().expect("a utf-8 path");
    shutter_ok(
        moto,
        db,
        &["run", "workflows/aws-backups-sync.yaml", "--inputs", inputs],
    );
}

/// A snapshot deleted behind Shutter's back is `missing` after a sync, and
/// a lost catalog is rebuilt by one, with each backup's execution.
fn check_sync(moto: &Peer, db: &std::path::Path, dir: &std::path::Path) {
    let ours = backups(moto, db, &["--provider", "aws"]);
    let execution = ours[0]["execution"]
        .as_str()
        .expect("a backup set")
        .to_owned();
    let victim = ours
        .iter()
        .find(|e| e["where"]["region"] == REGION)
        .and_then(|e| e["native_id"].as_str())
        .expect("an original")
        .to_owned();
    ec2(
        moto,
        REGION,
        &[("Action", "DeleteSnapshot"), ("SnapshotId", &victim)],
    );
    sync(moto, db, dir);
    let missing = backups(moto, db, &["--state", "missing"]);
    let missing: Vec<&str> = missing
        .iter()
        .filter_map(|e| e["native_id"].as_str())
        .collect();
    assert_eq!(
        missing,
        [victim.as_str()],
        "only the one deleted behind its back"
    );

    // The catalog lost: `shutter backups sync` rebuilds it, over the
    // places Shutter's config file lists.
    let lost = dir.join("lost.db");
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "backups:\n  sync:\n    aws_regions: [{REGION}, {DR_REGION}]\n    aws_endpoint_url: {}\n",
            moto.url
        ),
    )
    .expect("writable");
    let mut command = shutter_with_moto(moto, &lost);
    command
        .env("SHUTTER_CONFIG", &config)
        .args(["backups", "sync", "--aws-grace", "0s"]);
    let printed: Json = serde_json::from_str(&succeeds(command)).expect("the outputs, as JSON");
    assert!(
        printed["found"].as_u64().is_some_and(|found| found >= 3),
        "what it found, over every place: {printed:#}"
    );
    assert_eq!(
        printed["places"].as_array().map(Vec::len),
        Some(2),
        "one line per region: {printed:#}"
    );
    let rebuilt: Vec<Json> = backups(moto, &lost, &["--limit", "500"])
        .into_iter()
        .filter(|e| e["execution"] == execution.as_str())
        .collect();
    assert_eq!(
        rebuilt.len(),
        3,
        "the three left, with their backup set: {rebuilt:#?}"
    );
    assert!(
        rebuilt
            .iter()
            .all(|e| e["state"] == "available" && e["step"].is_string()),
        "{rebuilt:#?}"
    );
}

/// moto's account, which owns everything it makes.
const ACCOUNT: &str = "123456789012";

/// The backup catalog after one backup: the two snapshots (each of its
/// volume) and their two copies (each linked to its original), found by
/// source and shown one at a time.
fn check_catalog(moto: &Peer, db: &std::path::Path) {
    let shutter = |args: &[&str]| shutter_ok(moto, db, args);
    let all: Json = serde_json::from_str(&shutter(&["backups", "list", "--json"])).expect("json");
    let all = all.as_array().expect("a list");
    assert_eq!(all.len(), 4, "{all:#?}");
    let in_region = |region: &str| -> Vec<&Json> {
        all.iter()
            .filter(|e| e["where"]["region"] == region)
            .collect()
    };
    let (originals, copies) = (in_region(REGION), in_region(DR_REGION));
    assert_eq!((originals.len(), copies.len()), (2, 2), "{all:#?}");
    let original_refs: Vec<String> = originals
        .iter()
        .map(|e| {
            format!(
                "aws:{ACCOUNT}:{REGION}/{}",
                e["native_id"].as_str().expect("id")
            )
        })
        .collect();
    for entry in all {
        assert_eq!(entry["kind"], "ebs_snapshot");
        assert_eq!(entry["state"], "available");
        assert_eq!(entry["where"]["account"], ACCOUNT);
        assert!(entry["execution"].is_string(), "its backup set: {entry}");
    }
    for copy in &copies {
        let parent = copy["derived_from"]
            .as_str()
            .expect("a copy names its original");
        assert!(
            original_refs.iter().any(|r| r == parent),
            "{parent} in {original_refs:?}"
        );
    }
    let first = originals[0];
    let volume = first["source"]["id"].as_str().expect("of a volume");
    assert!(volume.starts_with("vol-"), "{first}");
    let of_volume: Json =
        serde_json::from_str(&shutter(&["backups", "list", "--source", volume, "--json"]))
            .expect("json");
    // The volume's snapshot and that snapshot's copy in the other region,
    // which is still of the volume where the volume is.
    let of_volume = of_volume.as_array().expect("a list");
    assert_eq!(of_volume.len(), 2, "{of_volume:#?}");
    assert!(
        of_volume.iter().any(|e| e["id"] == first["id"]),
        "{of_volume:#?}"
    );
    let own_ref = format!(
        "aws:{ACCOUNT}:{REGION}/{}",
        first["native_id"].as_str().expect("id")
    );
    assert!(
        of_volume
            .iter()
            .any(|e| e["derived_from"] == own_ref.as_str()),
        "{of_volume:#?}"
    );
    let volume_ref = format!("aws:{ACCOUNT}:{REGION}/volume/{volume}");
    for entry in of_volume {
        assert_eq!(entry["source"]["ref"], volume_ref.as_str(), "{entry:#}");
    }
    let table = shutter(&["backups", "list", "--provider", "aws"]);
    assert!(table.starts_with("ID "), "a header: {table}");
    assert_eq!(table.lines().count(), 5, "{table}");
    // Two pages of two, in the order of the whole list.
    let page = backups(moto, db, &["--limit", "2"]);
    let after = page[1]["id"].as_str().expect("an id");
    let rest = backups(moto, db, &["--limit", "2", "--cursor", after]);
    let paged: Vec<&Json> = page.iter().chain(&rest).map(|e| &e["id"]).collect();
    let whole: Vec<&Json> = all.iter().map(|e| &e["id"]).collect();
    assert_eq!(paged, whole);
    let refused = shutter_with_moto(moto, db)
        .args(["backups", "list", "--provider", "gcp"])
        .output()
        .expect("shutter runs");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("unknown provider `gcp`"), "{said}");
    let shown = shutter(&["backups", "show", first["id"].as_str().expect("id")]);
    assert!(shown.contains(&volume_ref), "{shown}");
}

/// `shutter serve` on a kernel-chosen port; its base URL.
fn serve(moto: &Peer, db: &std::path::Path) -> (Child, String) {
    let mut child = shutter_with_moto(moto, db)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--workflows",
            "workflows",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shutter serve starts");
    let stderr = child.stderr.take().expect("piped");
    let mut lines = BufReader::new(stderr).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("serve says where it listens")
            .expect("readable");
        if let Some(rest) = line.split_once(" on http://") {
            let addr = rest.1.split_whitespace().next().expect("an address");
            break format!("http://{addr}");
        }
    };
    // Keep draining its log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

#[test]
fn the_ebs_backup_workflow_runs_through_the_http_api() {
    let moto = peer("moto");
    let instance = instance(&moto);
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut child, base) = serve(&moto, &dir.path().join("api.db"));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let execution = runtime.block_on(async {
        let http = reqwest::Client::new();
        let started = http
            .post(format!("{base}/workflows/aws-ebs-backup/executions"))
            .header("idempotency-key", format!("backup-{instance}"))
            .json(&json!({"inputs": inputs(&moto, &instance)}))
            .send()
            .await
            .expect("serve answers");
        assert_eq!(started.status(), 201);
        let location = started.headers()["location"]
            .to_str()
            .expect("ascii")
            .to_owned();
        let mut etag = String::new();
        for _ in 0..200 {
            let answer = http
                .get(format!("{base}{location}?wait=30s"))
                .header("if-none-match", &etag)
                .send()
                .await
                .expect("serve answers");
            if answer.status() == 304 {
                continue;
            }
            etag = answer.headers()["etag"].to_str().expect("ascii").to_owned();
            let detail: Json = answer.json().await.expect("json");
            if ["succeeded", "failed", "canceled"].contains(&detail["state"].as_str().unwrap_or(""))
            {
                return detail;
            }
        }
        panic!("the execution did not end");
    });
    let backups = runtime.block_on(async {
        let answer = reqwest::get(format!(
            "{base}/backups?provider=aws&state=available&limit=10"
        ))
        .await
        .expect("serve answers");
        assert_eq!(answer.status(), 200);
        assert!(answer.headers().contains_key("etag"));
        let page: Json = answer.json().await.expect("json");
        page["items"].clone()
    });
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("serve ends");
    check_backup(&execution);
    assert_eq!(
        backups.as_array().map(Vec::len),
        Some(4),
        "two snapshots and their copies: {backups:#}"
    );
    assert!(status.success(), "serve stops cleanly on SIGTERM: {status}");
}

/// Retention over the catalog: a second backup the same day, with a policy
/// that keeps one day, prunes the first backup set in both regions (its
/// snapshots and their copies) by catalog entry.
#[test]
fn retention_prunes_an_older_backup_set_in_both_regions_through_the_catalog() {
    let (region, dr_region) = ("ca-central-1", "sa-east-1");
    let moto = peer("moto");
    let instance = instance_in(&moto, region);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("retention.db");
    let inputs = dir.path().join("inputs.json");
    let given = json!({"instance_id": instance, "region": region, "dr_region": dr_region,
        "endpoint_url": moto.url, "daily": 1, "weekly": 0, "monthly": 0});
    std::fs::write(&inputs, given.to_string()).expect("writable");
    let inputs = inputs.to_str().expect("a utf-8 path");
    let run = |db: &std::path::Path| -> Json {
        let out = shutter_ok(
            &moto,
            db,
            &["run", "workflows/aws-ebs-backup.yaml", "--inputs", inputs],
        );
        serde_json::from_str(&out).expect("the outputs as json")
    };
    let first = run(&db);
    assert_eq!(
        (&first["kept"], &first["pruned"]),
        (&json!(4), &json!(0)),
        "{first}"
    );
    // moto times snapshots to the second: the second set must be newer.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = run(&db);
    assert_eq!(
        (&second["kept"], &second["pruned"]),
        (&json!(4), &json!(4)),
        "the newest set kept, the first set's two snapshots and two copies pruned: {second}"
    );
    let deleted = backups(&moto, &db, &["--state", "deleted"]);
    let pruned: Vec<&str> = deleted
        .iter()
        .filter_map(|e| e["native_id"].as_str())
        .collect();
    assert_eq!(pruned.len(), 4, "{deleted:#?}");
    let originals: Vec<&Json> = first["snapshot_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .collect();
    for id in originals.iter().filter_map(|id| id.as_str()) {
        assert!(pruned.contains(&id), "{id} pruned: {pruned:?}");
        let described = ec2(
            &moto,
            region,
            &[("Action", "DescribeSnapshots"), ("SnapshotId.1", id)],
        );
        assert!(
            described.contains("InvalidSnapshot.NotFound"),
            "{id} is gone from moto: {described}"
        );
    }
    let available = backups(&moto, &db, &["--state", "available"]);
    assert_eq!(available.len(), 4, "the second set: {available:#?}");
}

/// A plan of the backup workflow (`shutter run --plan`): the reads run for
/// real (the catalog query, the retention module), the writes are listed
/// with their parameters and not made. With two backup sets in the catalog
/// and a policy of one day, it lists the older set's four entries as what
/// it would prune; afterwards moto and the catalog are as they were.
#[test]
fn a_plan_of_the_backup_lists_what_it_would_prune_and_changes_nothing() {
    let (region, dr_region) = ("eu-west-3", "eu-north-1");
    let moto = peer("moto");
    let instance = instance_in(&moto, region);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("plan.db");
    let write_inputs = |name: &str, extra: &Json| {
        let mut given = json!({"instance_id": instance, "region": region,
            "dr_region": dr_region, "endpoint_url": moto.url});
        for (key, value) in extra.as_object().expect("an object") {
            given[key] = value.clone();
        }
        let path = dir.path().join(name);
        std::fs::write(&path, given.to_string()).expect("writable");
        path.to_str().expect("a utf-8 path").to_owned()
    };
    let inputs = write_inputs("inputs.json", &json!({}));
    let backup = |workflow: &str| -> Json {
        let args = ["run", workflow, "--inputs", &inputs];
        serde_json::from_str(&shutter_ok(&moto, &db, &args)).expect("the outputs as json")
    };
    let first = backup("workflows/aws-ebs-backup.yaml");
    // moto times snapshots to the second: the second set must be newer.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // The second set is made without pruning (the policy keeps one backup
    // a day, and both are made today): the shipped workflow cut before
    // its retention steps.
    let shipped = std::fs::read_to_string(repo_root().join("workflows/aws-ebs-backup.yaml"))
        .expect("the shipped workflow");
    let cut = shipped
        .find("  # Retention over the backup catalog")
        .expect("the retention steps are marked");
    let no_prune = dir.path().join("no-prune.yaml");
    std::fs::write(
        &no_prune,
        format!(
            "{}outputs:\n  snapshot_ids: ${{{{ steps.snapshot.outputs.snapshot_ids }}}}\n",
            &shipped[..cut]
        ),
    )
    .expect("writable");
    backup(no_prune.to_str().expect("a utf-8 path"));
    let snapshots_in_moto = || {
        let described = ec2(
            &moto,
            region,
            &[
                ("Action", "DescribeSnapshots"),
                ("Filter.1.Name", "tag:shutter-backup"),
                ("Filter.1.Value.1", &instance),
            ],
        );
        described.matches("<snapshotId>").count()
    };
    assert_eq!(snapshots_in_moto(), 4, "two sets of two volumes");

    let one_day = write_inputs(
        "one-day.json",
        &json!({"daily": 1, "weekly": 0, "monthly": 0}),
    );
    let planned = shutter_ok(
        &moto,
        &db,
        &[
            "run",
            "--plan",
            "--json",
            "workflows/aws-ebs-backup.yaml",
            "--inputs",
            &one_day,
        ],
    );
    let plan: Json = serde_json::from_str(&planned).expect("the plan as json");
    let steps = &plan["steps"];
    assert_eq!(steps["snapshot"]["forecast"], "would_run", "{plan:#}");
    assert_eq!(steps["snapshot"]["effect"], "write");
    assert_eq!(
        steps["snapshot"]["calls"][0]["params"]["instance_id"],
        json!(instance)
    );
    for read in ["history", "plan"] {
        assert_eq!(steps[read]["forecast"], "ran", "{read}: {:#}", steps[read]);
    }
    // Tonight's backup is counted (`execution.plan`): with one backup a
    // day kept, both sets there now would go, in both regions.
    assert_eq!(steps["prune"]["items"], 8, "{:#}", steps["prune"]);
    let planned_ids: Vec<&str> = steps["prune"]["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|call| call["params"]["backup"].as_str().expect("an entry id"))
        .collect();
    let available = backups(&moto, &db, &["--state", "available"]);
    assert_eq!(available.len(), 8, "nothing was pruned: {available:#?}");
    let native_of = |id: &str| {
        available
            .iter()
            .find(|entry| entry["id"] == id)
            .and_then(|entry| entry["native_id"].as_str())
            .unwrap_or_else(|| panic!("{id} is in the catalog"))
            .to_owned()
    };
    let mut planned: Vec<String> = planned_ids.iter().map(|id| native_of(id)).collect();
    planned.sort();
    assert!(
        first["snapshot_ids"]
            .as_array()
            .expect("ids")
            .iter()
            .all(|id| planned.iter().any(|p| id == p.as_str())),
        "the first set is among them: {planned:?}"
    );
    assert_eq!(snapshots_in_moto(), 4, "the plan made and deleted nothing");
    let records = shutter_ok(&moto, &db, &["executions", "list", "--json"]);
    let records: Json = serde_json::from_str(&records).expect("json");
    assert_eq!(
        records.as_array().map(Vec::len),
        Some(2),
        "no execution recorded"
    );

    // The same plan as text: what would run, and each prune.
    let text = shutter_ok(
        &moto,
        &db,
        &[
            "run",
            "--plan",
            "workflows/aws-ebs-backup.yaml",
            "--inputs",
            &one_day,
        ],
    );
    assert!(text.contains("nothing was changed"), "{text}");
    assert!(
        text.contains("prune") && text.contains("WOULD RUN for 8 items"),
        "{text}"
    );
    for id in &planned_ids {
        assert!(text.contains(id), "{id} in {text}");
    }

    // The run prunes exactly what the plan listed. (moto dates snapshots to
    // the second: tonight's set must be newer than the second one.)
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let ran = shutter_ok(
        &moto,
        &db,
        &["run", "workflows/aws-ebs-backup.yaml", "--inputs", &one_day],
    );
    let ran: Json = serde_json::from_str(&ran).expect("the outputs as json");
    assert_eq!(ran["pruned"], 8, "{ran}");
    let mut deleted: Vec<String> = backups(&moto, &db, &["--state", "deleted"])
        .iter()
        .filter_map(|entry| entry["native_id"].as_str().map(str::to_owned))
        .collect();
    deleted.sort();
    assert_eq!(deleted, planned, "the plan's list is the run's");
}
