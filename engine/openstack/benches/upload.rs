#![allow(clippy::unwrap_used, reason = "a benchmark fails by panicking")]

//! Upload throughput and memory: a 2 GiB file streamed to the real Glance
//! peer on loopback by `openstack.image.upload`, against `curl -T` of the
//! same file to the same Glance in the same run.
//!
//!     cargo bench -p shutter-openstack --bench upload
//!
//! `SHUTTER_BENCH_MIB` (default 2048) sets the size, `SHUTTER_BENCH_ROUNDS`
//! (default 2) how many times each side uploads (alternating). Zeros are
//! fine as data: Glance neither compresses nor deduplicates.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use shutter_core::{ActionContext, RecordingSink};
use shutter_openstack::{ConfigSources, Provider};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident set size of this process, from `/proc/self/status` (`VmHWM`).
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn write_file(path: &Path, mib: u64) {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        file.write_all(&block).unwrap();
    }
    file.into_inner().unwrap().sync_all().unwrap();
}

async fn run(provider: &Provider, name: &str, params: Json) -> Json {
    let ctx = ActionContext::standalone(params, Arc::new(RecordingSink::default()));
    provider.action(name).unwrap().run(&ctx).await.unwrap()
}

/// A new image without data, in cloud `bench`: its id.
async fn new_image(provider: &Provider, name: &str) -> String {
    let params = json!({"cloud": "bench", "name": name});
    let image = run(provider, "openstack.image.create", params).await;
    image["id"].as_str().unwrap().to_owned()
}

async fn delete_image(provider: &Provider, id: &str) {
    let params = json!({"cloud": "bench", "image_id": id});
    run(provider, "openstack.image.delete", params).await;
}

fn rate(bytes: u64, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let mib = env_number("SHUTTER_BENCH_MIB", 2048);
    let rounds = env_number("SHUTTER_BENCH_ROUNDS", 2);
    let glance = shutter_testpeers::peer("glance")
        .var("OS_IMAGE_URL")
        .unwrap()
        .to_owned();
    let dir = tempfile::tempdir().unwrap();
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        format!("clouds:\n  bench:\n    auth_type: none\n    image_endpoint_override: {glance}\n"),
    )
    .unwrap();
    let provider = Provider::new(
        ConfigSources::isolated([("OS_CLIENT_CONFIG_FILE", clouds.display().to_string())])
            .with_yaml(shutter_dsl::config_file::yaml_reader()),
    );

    let file = dir.path().join("disk.raw");
    let started = Instant::now();
    write_file(&file, mib);
    let bytes = mib << 20;
    println!(
        "file: {mib} MiB written in {:.1}s; peak RSS before uploads: {} KiB",
        started.elapsed().as_secs_f64(),
        peak_rss_kib()
    );

    let (mut ours_total, mut curl_total) = (Duration::ZERO, Duration::ZERO);
    for round in 1..=rounds {
        let id = new_image(&provider, &format!("bench-shutter-{round}")).await;
        let started = Instant::now();
        let out = run(&provider, "openstack.image.upload", json!({"cloud": "bench", "image_id": id, "source": format!("file://{}", file.display())})).await;
        let ours = started.elapsed();
        assert_eq!(out["size"], bytes);
        delete_image(&provider, &id).await;

        let id = new_image(&provider, &format!("bench-curl-{round}")).await;
        let started = Instant::now();
        let status = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-T"])
            .arg(&file)
            .args(["-H", "Content-Type: application/octet-stream", "-X", "PUT"])
            .arg(format!("{glance}/v2/images/{id}/file"))
            .output()
            .unwrap();
        let curl = started.elapsed();
        assert_eq!(
            String::from_utf8_lossy(&status.stdout),
            "204",
            "curl: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        delete_image(&provider, &id).await;

        println!(
            "round {round}: shutter {:.1}s {:.0} MB/s | curl -T {:.1}s {:.0} MB/s | ratio {:.0}%",
            ours.as_secs_f64(),
            rate(bytes, ours),
            curl.as_secs_f64(),
            rate(bytes, curl),
            100.0 * curl.as_secs_f64() / ours.as_secs_f64()
        );
        ours_total += ours;
        curl_total += curl;
    }
    println!(
        "all rounds: shutter {:.0} MB/s, curl -T {:.0} MB/s, shutter at {:.0}% of curl; peak RSS {} KiB ({:.1} MiB)",
        rate(bytes * rounds, ours_total),
        rate(bytes * rounds, curl_total),
        100.0 * curl_total.as_secs_f64() / ours_total.as_secs_f64(),
        peak_rss_kib(),
        peak_rss_kib() as f64 / 1024.0
    );
}
