//! Bounded memory under load, measured on a live `shutter serve` (its RSS
//! from /proc): after 2,000 long polls end, it returns near its baseline;
//! fifty versions of a 1 MB workflow keep only the latest ten in memory.

use std::time::Duration;

use shutter_tests::served::Served;

fn rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("a live process");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        / 1024
}

/// Waits up to 30 s for the RSS to come down to `limit` MiB; the last value.
async fn settles(pid: u32, limit: u64) -> u64 {
    let mut rss = rss_mib(pid);
    for _ in 0..60 {
        if rss <= limit {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        rss = rss_mib(pid);
    }
    rss
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_returns_near_its_baseline_after_a_burst() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("memory.db");
    let server = Served::start([
        "--allow-anonymous-admin".as_ref(),
        "--max-connections".as_ref(),
        "4096".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
    ])
    .await;
    let pid = server.pid();
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let registered = http
        .post(format!("{base}/workflows"))
        .header("content-type", "application/yaml")
        .body("version: 1\nname: long\nsteps:\n  nap: {uses: core.sleep, with: {duration: 1h}}\n")
        .send()
        .await
        .expect("registered");
    assert_eq!(registered.status(), 201);
    let (_, started) = server
        .post("/workflows/long/executions", &serde_json::json!({}))
        .await;
    let id = started["id"].as_str().expect("an id").to_owned();
    for _ in 0..50 {
        server.get(&format!("/executions/{id}")).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline = rss_mib(pid);

    // 2,000 long polls at once, each on its own connection.
    let polls: Vec<_> = (0..2000)
        .map(|_| {
            let url = format!("{base}/executions/{id}?wait=3s");
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                client.get(url).send().await.map(|r| r.status().as_u16())
            })
        })
        .collect();
    let mut answered = 0;
    for poll in polls {
        if matches!(poll.await, Ok(Ok(200))) {
            answered += 1;
        }
    }
    assert_eq!(answered, 2000, "every long poll was answered");
    let after = settles(pid, baseline + 10).await;
    eprintln!("RSS: {baseline} MiB before, {after} MiB after 2,000 long polls");
    assert!(
        after <= baseline + 10,
        "RSS stayed at {after} MiB after the polls ended (baseline {baseline} MiB)"
    );

    // Fifty versions of a 1 MB workflow: only the latest ten are kept.
    let padding = "x".repeat(1 << 20);
    let before = rss_mib(pid);
    for version in 0..50 {
        let yaml = format!(
            "version: 1\nname: big\ndescription: \"v{version} {padding}\"\nsteps:\n  a: {{uses: core.noop}}\n"
        );
        let answer = http
            .post(format!("{base}/workflows"))
            .header("content-type", "application/yaml")
            .body(yaml)
            .send()
            .await
            .expect("registered");
        assert_eq!(answer.status(), 201);
    }
    let detail = server.get("/workflows/big").await;
    assert_eq!(detail["versions"], 10);
    let after = settles(pid, before + 60).await;
    eprintln!("RSS: {before} MiB before, {after} MiB after 50 versions of 1 MB");
    assert!(
        after <= before + 60,
        "fifty 1 MB versions took RSS from {before} to {after} MiB"
    );
    server.stop().await;
}
