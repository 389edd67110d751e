//! The crash test: `shutter run` killed with SIGKILL at random moments,
//! `shutter resume` after each (and killed too), until the execution ends.
//! It must end `succeeded`, and every step's side effect must have been
//! applied under one idempotency key only, so applied exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::process::Stdio;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use shutter_tests::recorder::Recorder;
use shutter_tests::{repo_root, shutter_bin};
use tokio::process::Command;

const LANES: usize = 12;
const KILLS: usize = 20;

/// Lanes of sleep -> effect -> sleep -> effect, joined at the end: 50
/// steps, about 13 s long, so twenty kills (every 50-800 ms) land while it
/// runs, many while an effect's request is in flight.
fn workflow() -> String {
    let mut yaml =
        String::from("version: 1\nname: crash\ninputs:\n  url: {type: string}\nsteps:\n");
    for lane in 0..LANES {
        let _ = write!(
            yaml,
            "  wait_{lane}:\n    uses: core.sleep\n    with: {{duration: {}ms}}\n\
             \x20 first_{lane}:\n    uses: http.request\n    needs: wait_{lane}\n    with: {{url: \"${{{{ inputs.url }}}}\", method: POST, body: {{step: first_{lane}}}}}\n\
             \x20 pause_{lane}:\n    uses: core.sleep\n    needs: first_{lane}\n    with: {{duration: {}ms}}\n\
             \x20 second_{lane}:\n    uses: http.request\n    needs: pause_{lane}\n    with: {{url: \"${{{{ inputs.url }}}}\", method: POST, body: {{step: second_{lane}}}}}\n",
            5000 + lane * 150,
            5000 + lane * 100,
        );
    }
    yaml.push_str("  join:\n    uses: core.log\n    needs: [");
    yaml.push_str(
        &(0..LANES)
            .map(|l| format!("second_{l}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    yaml.push_str("]\n    with: {message: all lanes done}\n  report:\n    uses: http.request\n    needs: join\n    with: {url: \"${{ inputs.url }}\", method: POST, body: {step: report}}\n");
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
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs `command`, sending `SIGKILL` to it after `after` unless it ended first.
/// Returns whether it was killed.
async fn run_and_kill(mut command: Command, after: Duration) -> bool {
    let mut child = command.spawn().expect("shutter starts");
    tokio::select! {
        _ = child.wait() => false,
        () = tokio::time::sleep(after) => {
            child.start_kill().expect("SIGKILL is sent");
            let _ = child.wait().await;
            true
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_twenty_times_it_still_finishes_with_each_effect_once() {
    let recorder = Recorder::start(Duration::from_millis(200)).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("crash.db");
    let file = dir.path().join("crash.yaml");
    std::fs::write(&file, workflow()).expect("writable");
    // SHUTTER_CRASH_SEED replays a failed run.
    let seed: u64 = std::env::var("SHUTTER_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("crash test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let mut first = shutter(&db);
    first
        .arg("run")
        .arg(&file)
        .arg("-i")
        .arg(format!("url={}", recorder.url()));
    let mut kills =
        usize::from(run_and_kill(first, Duration::from_millis(rng.random_range(50..800))).await);
    let mut rounds = 0;
    while kills < KILLS && rounds < 200 {
        rounds += 1;
        let mut resume = shutter(&db);
        resume.arg("resume");
        if run_and_kill(resume, Duration::from_millis(rng.random_range(50..800))).await {
            kills += 1;
        } else {
            break;
        }
    }
    // Let the last resume finish.
    let status = shutter(&db)
        .arg("resume")
        .status()
        .await
        .expect("resume runs");
    assert!(status.success(), "final resume failed (seed {seed})");

    let output = shutter(&db)
        .args(["executions", "list", "--json"])
        .stdout(Stdio::piped())
        .output()
        .await
        .expect("list runs");
    let records: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    let records = records.as_array().expect("a list");
    assert_eq!(records.len(), 1, "one execution (seed {seed})");
    assert_eq!(
        records[0]["state"], "succeeded",
        "seed {seed}: {:#}",
        records[0]
    );
    eprintln!("{kills} kills over {rounds} resumes");
    assert_eq!(
        kills, KILLS,
        "the execution ended before {KILLS} kills (seed {seed})"
    );

    // Every effect step applied once, under one key; no step under two keys.
    let seen = recorder.seen();
    let mut keys_by_step: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, body) in &seen.effects {
        let body: serde_json::Value = serde_json::from_str(body).expect("json body");
        let step = body["step"].as_str().expect("a step name").to_owned();
        keys_by_step.entry(step).or_default().insert(key.clone());
    }
    let expected: BTreeSet<String> = (0..LANES)
        .flat_map(|l| [format!("first_{l}"), format!("second_{l}")])
        .chain(["report".to_owned()])
        .collect();
    assert_eq!(
        keys_by_step.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "seed {seed}"
    );
    for (step, keys) in &keys_by_step {
        assert_eq!(
            keys.len(),
            1,
            "step {step} ran under several keys {keys:?} (seed {seed})"
        );
    }
    let duplicates: usize = seen.requests.values().map(|n| n - 1).sum();
    eprintln!(
        "{} effects, {duplicates} repeated requests absorbed by their idempotency keys",
        seen.effects.len()
    );
    // Kills land while effects are in flight often enough that a run without
    // any repeated request would mean the keys were never put to the test.
    assert!(
        duplicates > 0,
        "no kill landed between an effect and its record (seed {seed})"
    );
}
