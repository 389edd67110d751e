//! Node-kill chaos: three `shutter serve` nodes on one PostgreSQL database
//! run 100 executions of a 10-step workflow whose steps call a server that
//! counts requests per idempotency key, while a random node is killed with
//! SIGKILL every few seconds and started again. Every execution must
//! succeed, every step's effect be applied under one key only, the records
//! be consistent (one `execution_finished` each, gapless event sequences),
//! and no execution pause for much longer than a lease.
//!
//! The nodes share one host here, so a killed node's executions are taken
//! back as soon as a sweep sees its process gone; across hosts that waits
//! for the lease to run out (the store's contract tests cover that path).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

use rand::{Rng, SeedableRng};
use shutter_testpeers::postgres::ScratchDb;
use shutter_tests::recorder::Recorder;
use shutter_tests::served::Served;

const EXECUTIONS: usize = 100;
const STEPS: usize = 10;
const NODES: usize = 3;
const KILLS: usize = 5;
/// How long the counting server takes to answer each step's request.
const STEP_TIME: Duration = Duration::from_millis(1500);
const LEASE: Duration = Duration::from_secs(2);

fn workflow() -> String {
    let mut yaml = String::from(
        "version: 1\nname: chaos\ninputs:\n  url: {type: string}\n  n: {type: integer}\nsteps:\n",
    );
    for step in 0..STEPS {
        let needs = if step == 0 {
            String::new()
        } else {
            format!("    needs: s{}\n", step - 1)
        };
        let _ = write!(
            yaml,
            "  s{step}:\n    uses: http.request\n{needs}    with: {{url: \"${{{{ inputs.url }}}}\", method: POST, body: {{step: \"s{step}-${{{{ inputs.n }}}}\"}}}}\n"
        );
    }
    yaml
}

async fn start_node(db: &str, workflows: &std::path::Path) -> Served {
    Served::start([
        "--db",
        db,
        "--lease",
        &format!("{}ms", LEASE.as_millis()),
        "--max-executions",
        // Two nodes have room for everything: a dead node's work is never
        // kept waiting for room, only for the takeover.
        &(EXECUTIONS / 2).to_string(),
        "--workflows",
        &workflows.display().to_string(),
    ])
    .await
}

/// Executions of the chaos workflow by state, read through any live node.
async fn states(node: &Served) -> BTreeMap<String, String> {
    let mut states = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = node
            .get(&format!(
                "/executions?workflow=chaos&limit=500{}",
                cursor
                    .as_deref()
                    .map(|c| format!("&cursor={c}"))
                    .unwrap_or_default()
            ))
            .await;
        for item in page["items"].as_array().expect("a page") {
            states.insert(
                item["id"].as_str().expect("an id").to_owned(),
                item["state"].as_str().expect("a state").to_owned(),
            );
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return states,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_nodes_at_random_loses_nothing_and_repeats_no_effect() {
    let db = ScratchDb::new().await;
    let recorder = Recorder::start(STEP_TIME).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("chaos.yaml"), workflow()).expect("writable");
    let seed: u64 = std::env::var("SHUTTER_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    eprintln!("chaos test seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);

    let mut nodes = Vec::new();
    for _ in 0..NODES {
        nodes.push(start_node(&db.url, dir.path()).await);
    }
    // All started on one node, which has room for half: the rest is queued
    // for the others to take.
    let mut ids = Vec::new();
    for n in 0..EXECUTIONS {
        let (status, body) = nodes[0]
            .post(
                "/workflows/chaos/executions",
                &serde_json::json!({"inputs": {"url": recorder.url(), "n": n}}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().expect("an id").to_owned());
    }

    let began = std::time::Instant::now();
    let mut kills = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(rng.random_range(1500..2500))).await;
        let states = states(&nodes[0]).await;
        let open = states
            .values()
            .filter(|s| !["succeeded", "failed", "canceled"].contains(&s.as_str()))
            .count();
        if open == 0 {
            break;
        }
        assert!(
            began.elapsed() < Duration::from_secs(600),
            "{open} executions still open after 10 minutes (seed {seed})"
        );
        let victim = rng.random_range(0..NODES);
        let mut node = nodes.remove(victim);
        node.child.start_kill().expect("SIGKILL is sent");
        let _ = node.child.wait().await;
        kills += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
        nodes.insert(victim, start_node(&db.url, dir.path()).await);
    }
    eprintln!(
        "{EXECUTIONS} executions done in {:?} with {kills} kills",
        began.elapsed()
    );
    assert!(
        kills >= KILLS,
        "everything ended after {kills} kills, before {KILLS} (seed {seed})"
    );

    // Every execution succeeded, once, with a gapless event log; the
    // longest quiet spell within one is about a lease beyond a step's time.
    let mut longest = Duration::ZERO;
    for id in &ids {
        let events = nodes[1]
            .consistent_events(id, &format!("(seed {seed})"))
            .await;
        let finished = events
            .iter()
            .find(|e| e["type"] == "execution_finished")
            .expect("checked: one");
        assert_eq!(
            finished["state"], "succeeded",
            "execution {id}: {finished:#}"
        );
        let times: Vec<chrono::DateTime<chrono::FixedOffset>> = events
            .iter()
            .filter_map(|e| chrono::DateTime::parse_from_rfc3339(e["at"].as_str()?).ok())
            .collect();
        assert_eq!(times.len(), events.len(), "every event has its time");
        for pair in times.windows(2) {
            let quiet = (pair[1] - pair[0]).to_std().unwrap_or_default();
            longest = longest.max(quiet);
        }
    }
    eprintln!(
        "longest pause within an execution: {longest:?} (a step takes {STEP_TIME:?}, the lease is {LEASE:?})"
    );
    assert!(
        longest < STEP_TIME + LEASE + Duration::from_secs(3),
        "an execution stood still for {longest:?} (seed {seed})"
    );

    // Each step's effect under one key; repeated requests absorbed.
    let seen = recorder.seen();
    let mut keys_by_step: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (key, body) in &seen.effects {
        let body: serde_json::Value = serde_json::from_str(body).expect("json body");
        let step = body["step"].as_str().expect("a step").to_owned();
        keys_by_step.entry(step).or_default().insert(key.clone());
    }
    assert_eq!(keys_by_step.len(), EXECUTIONS * STEPS, "seed {seed}");
    for (step, keys) in &keys_by_step {
        assert_eq!(
            keys.len(),
            1,
            "{step} ran under keys {keys:?} (seed {seed})"
        );
    }
    let repeated: usize = seen.requests.values().map(|n| n - 1).sum();
    eprintln!(
        "{} effects, {repeated} repeated requests absorbed by their idempotency keys",
        seen.effects.len()
    );
    for node in nodes {
        node.stop().await;
    }
}
