//! Fencing: a `shutter serve` frozen (SIGSTOP) past its lease, its
//! executions taken over and finished by `shutter resume`, then thawed
//! (SIGCONT). The thawed server must not write a thing into records it no
//! longer holds: every execution succeeds once, with one
//! `execution_finished` and a gapless event log, and every step's effect is
//! sent under one idempotency key.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value as Json;
use shutter_tests::recorder::Recorder;
use shutter_tests::served::Served;
use shutter_tests::{repo_root, shutter_bin};
use tokio::process::Command;

const EXECUTIONS: usize = 5;
const STEPS: usize = 3;
const LEASE: &str = "2s";

fn workflow() -> String {
    let mut yaml =
        String::from("version: 1\nname: fenced\ninputs:\n  url: {type: string}\nsteps:\n");
    for step in 0..STEPS {
        let needs = if step == 0 {
            String::new()
        } else {
            format!(", needs: [effect_{}]", step - 1)
        };
        yaml.push_str(&format!(
            "  effect_{step}: {{uses: http.request{needs}, with: {{url: \"${{{{ inputs.url }}}}\", method: POST, body: {{step: effect_{step}}}}}}}\n"
        ));
    }
    yaml
}

fn shutter(db: &std::path::Path) -> Command {
    let mut command = Command::new(shutter_bin());
    command
        .current_dir(repo_root())
        .env("SHUTTER_DB", db)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true);
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thawed_server_writes_nothing_into_executions_taken_over() {
    // Each effect is answered after 3 s: when the server freezes, every
    // execution has a request in flight.
    let recorder = Recorder::start(Duration::from_secs(3)).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("fencing.db");
    let workflows = dir.path().join("workflows");
    std::fs::create_dir(&workflows).expect("a dir");
    std::fs::write(workflows.join("fenced.yaml"), workflow()).expect("writable");

    let server = Served::start([
        "--lease".as_ref(),
        LEASE.as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        "--workflows".as_ref(),
        workflows.as_os_str(),
    ])
    .await;
    let mut ids = Vec::new();
    for _ in 0..EXECUTIONS {
        let (status, started) = server
            .post(
                "/workflows/fenced/executions",
                &serde_json::json!({"inputs": {"url": recorder.url()}}),
            )
            .await;
        assert_eq!(status, 201, "{started}");
        ids.push(started["id"].as_str().expect("an id").to_owned());
    }
    // Freeze it once every first effect is in flight.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while recorder.seen().requests.len() < EXECUTIONS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "effects never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.signal("STOP");
    // Past its lease, `shutter resume` takes every execution over and
    // finishes it (sending each in-flight request again, same key).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let resumed = shutter(&db)
        .args(["resume", "--lease", LEASE])
        .stderr(Stdio::null())
        .status()
        .await
        .expect("resume runs");
    assert!(resumed.success(), "resume finished every execution");
    // Thaw the old server: its answers arrive, its appends are refused.
    server.signal("CONT");
    tokio::time::sleep(Duration::from_secs(6)).await;

    for id in &ids {
        server.consistent_events(id, "").await;
        let detail = server.get(&format!("/executions/{id}")).await;
        assert_eq!(detail["state"], "succeeded", "{id}: {detail:#}");
    }
    // The thawed server noticed, and stopped what it no longer held.
    let logged = server.logged();
    assert!(
        logged.contains("held by another engine"),
        "the thawed server said it lost the executions:\n{logged}"
    );
    server.stop().await;

    // Every effect sent, each step under one key only.
    let seen = recorder.seen();
    let mut keys_by_step: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for (key, body) in &seen.effects {
        let body: Json = serde_json::from_str(body).expect("json body");
        let execution = key.split(':').nth(1).unwrap_or_default().to_owned();
        let step = body["step"].as_str().expect("a step").to_owned();
        keys_by_step
            .entry((execution, step))
            .or_default()
            .insert(key.clone());
    }
    assert_eq!(keys_by_step.len(), EXECUTIONS * STEPS, "{keys_by_step:#?}");
    for (step, keys) in &keys_by_step {
        assert_eq!(keys.len(), 1, "{step:?} sent under {keys:?}");
    }
    let repeated: usize = seen.requests.values().map(|n| n - 1).sum();
    assert!(
        repeated >= 1,
        "the in-flight requests were sent again after the takeover"
    );
}
