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
    let run = ec2(
        moto,
        REGION,
        &[
            ("Action", "RunInstances"),
            ("ImageId", "ami-12345678"),
            ("InstanceType", "t3.micro"),
            ("MinCount", "1"),
            ("MaxCount", "1"),
        ],
    );
    let id = moto::first(&run, "instanceId");
    let zone = format!("{REGION}a");
    let volume = ec2(
        moto,
        REGION,
        &[
            ("Action", "CreateVolume"),
            ("AvailabilityZone", &zone),
            ("Size", "8"),
        ],
    );
    let volume = moto::first(&volume, "volumeId");
    ec2(
        moto,
        REGION,
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
        outputs["kept"], 2,
        "both volumes of the one backup: {outputs}"
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
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("serve ends");
    check_backup(&execution);
    assert!(status.success(), "serve stops cleanly on SIGTERM: {status}");
}
