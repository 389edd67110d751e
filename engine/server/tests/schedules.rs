#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! Schedules on an injected clock (tokio's, paused), and concurrency keys.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use chrono::TimeZone;
use shutter_store::MemoryStore;
use support::{newest, scheduled_server, server, start_per_vm};
use tokio_util::sync::CancellationToken;

async fn executions(store: &Arc<MemoryStore>) -> usize {
    newest(&**store, 100).await.len()
}

#[tokio::test(start_paused = true)]
async fn a_schedule_starts_each_tick_once_and_skips_missed_ones() {
    let store = Arc::new(MemoryStore::new());
    // 00:03 UTC: the 00:00 tick was missed (skipped); the next is 00:05.
    let wall = chrono::Utc.with_ymd_and_hms(2026, 11, 26, 0, 3, 0).unwrap();
    let server = scheduled_server(
        store.clone(),
        wall,
        "version: 1\nname: nightly\nschedule: '*/5 * * * *'\nsteps:\n  a: {uses: core.noop}\n",
    );
    let stop = CancellationToken::new();
    let schedules = server.spawn_schedules(stop.clone());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(executions(&store).await, 0, "00:04: nothing yet");
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(executions(&store).await, 1, "00:05:01: the 00:05 tick ran");
    tokio::time::sleep(Duration::from_secs(5 * 60)).await;
    assert_eq!(executions(&store).await, 2, "00:10:01: and the 00:10 one");
    // A second scheduler (another server, or a restart) does not start the
    // same ticks again.
    let again = server.spawn_schedules(stop.clone());
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(executions(&store).await, 2);
    let records = newest(&*store, 10).await;
    let ticks: Vec<_> = records
        .iter()
        .map(|r| r.created_at.format("%H:%M").to_string())
        .collect();
    assert_eq!(ticks, ["00:10", "00:05"]);
    stop.cancel();
    schedules.await.unwrap();
    again.await.unwrap();
}

const PER_VM: &str = "version: 1
name: per-vm
inputs:
  vm: {type: string, required: true}
concurrency: {key: '${{ inputs.vm }}', policy: POLICY}
steps:
  work: {uses: core.sleep, with: {duration: 1h}}
";

#[tokio::test]
async fn skip_refuses_a_second_run_for_the_same_key() {
    let api = server(None);
    api.register(&PER_VM.replace("POLICY", "skip")).await;
    let first = start_per_vm(&api, "a").await;
    assert_eq!(first.status, StatusCode::CREATED);
    let busy = start_per_vm(&api, "a").await;
    assert_eq!(busy.status, StatusCode::CONFLICT);
    assert_eq!(busy.body["error"]["code"], "concurrency_busy");
    assert_eq!(busy.body["error"]["details"]["execution"], first.body["id"]);
    let other = start_per_vm(&api, "b").await;
    assert_eq!(other.status, StatusCode::CREATED);
    // Once the first ends, the key is free again.
    let id = first.body["id"].as_str().unwrap();
    api.post(&format!("/executions/{id}/cancel"), "").await;
    api.finished(id).await;
    let after = start_per_vm(&api, "a").await;
    assert_eq!(after.status, StatusCode::CREATED, "{:?}", after.body);
}

#[tokio::test]
async fn queue_runs_the_second_after_the_first() {
    let api = server(None);
    api.register(&PER_VM.replace("POLICY", "queue")).await;
    let first = start_per_vm(&api, "a").await;
    let second = start_per_vm(&api, "a").await;
    let third = start_per_vm(&api, "a").await;
    assert_eq!(second.status, StatusCode::CREATED);
    let (first, second, third) = (
        first.body["id"].as_str().unwrap().to_owned(),
        second.body["id"].as_str().unwrap().to_owned(),
        third.body["id"].as_str().unwrap().to_owned(),
    );
    let queued = api.get(&format!("/executions/{second}")).await;
    assert_eq!(queued.body["state"], "queued");
    // Canceling one still in line records it canceled without running it.
    let canceled = api.post(&format!("/executions/{third}/cancel"), "").await;
    assert_eq!(canceled.status, StatusCode::ACCEPTED);
    let third_done = api.finished(&third).await;
    assert_eq!(third_done["state"], "canceled");
    assert_eq!(
        third_done["steps"][0]["attempts"].as_array().unwrap().len(),
        0
    );
    api.post(&format!("/executions/{first}/cancel"), "").await;
    api.finished(&first).await;
    let mut detail = api.get(&format!("/executions/{second}")).await;
    while detail.body["state"] == "queued" {
        detail = api.get(&format!("/executions/{second}?wait=5s")).await;
    }
    assert_eq!(detail.body["state"], "running", "{:?}", detail.body);
    api.post(&format!("/executions/{second}/cancel"), "").await;
    api.finished(&second).await;
}
