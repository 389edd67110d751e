//! `limit:` across nodes: three `shutter serve` processes on one
//! PostgreSQL database, their config file giving the pool `target` two
//! slots, run executions whose every step calls one server; that server
//! never sees more than two requests at once, and every step runs.

use std::time::Duration;

use shutter_testpeers::postgres::ScratchDb;
use shutter_tests::recorder::Recorder;
use shutter_tests::served::Served;

const NODES: usize = 3;
const EXECUTIONS: usize = 6;
const ITEMS: usize = 4;

const WORKFLOW: &str = "version: 1
name: limited
inputs:
  url: {type: string}
steps:
  call:
    uses: http.request
    for_each: [1, 2, 3, 4]
    limit: target
    with: {url: \"${{ inputs.url }}\", method: POST, body: {item: \"${{ item }}\"}}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pool_of_two_is_never_exceeded_across_three_nodes() {
    let db = ScratchDb::new().await;
    let recorder = Recorder::start(Duration::from_millis(300)).await;
    let dir = tempfile::tempdir().expect("a temp dir");
    std::fs::write(dir.path().join("limited.yaml"), WORKFLOW).expect("writable");
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, "limits:\n  target: 2\n").expect("writable");
    let config = config.display().to_string();
    let workflows = dir.path().display().to_string();
    let mut nodes = Vec::new();
    for _ in 0..NODES {
        let args = ["--db", &db.url, "--workflows", &workflows];
        nodes.push(Served::start_with(args, &[("SHUTTER_CONFIG", &config)]).await);
    }
    let mut ids = Vec::new();
    for n in 0..EXECUTIONS {
        let (status, body) = nodes[n % NODES]
            .post(
                "/workflows/limited/executions",
                &serde_json::json!({"inputs": {"url": recorder.url()}}),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(body["id"].as_str().expect("an id").to_owned());
    }
    let mut waited = false;
    for (n, id) in ids.iter().enumerate() {
        let node = &nodes[(n + 1) % NODES];
        let mut detail = serde_json::Value::Null;
        for _ in 0..600 {
            detail = node.get(&format!("/executions/{id}")).await;
            if detail["state"] != "running" && detail["state"] != "queued" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(detail["state"], "succeeded", "{detail}");
        let events = node.consistent_events(id, "limited").await;
        waited |= events
            .iter()
            .any(|event| event["type"] == "step_waiting" && event["pool"] == "target");
    }
    let seen = recorder.seen();
    let requests: usize = seen.requests.values().sum();
    assert_eq!(requests, EXECUTIONS * ITEMS, "every item ran once");
    assert_eq!(seen.most_in_flight, 2, "two slots, both used, never more");
    assert!(waited, "some step was recorded waiting for `target`");
    for node in nodes {
        node.stop().await;
    }
}
