//! A full disk under `shutter serve`: the store on a small tmpfs is filled
//! while executions run, then the tmpfs is enlarged. While full, a start is
//! refused with 503 and its cause, running executions stop where they are
//! (recorded, nothing lost); once there is room, every accepted execution
//! finishes without a restart, and the database checks out intact.
//!
//! Mounting a tmpfs needs root (CI runs as root; `tests/run` says so when
//! it is not).

use std::time::Duration;

use shutter_tests::served::Served;
use shutter_tests::shutter_bin;

const EXECUTIONS: usize = 4;

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(dir: &std::path::Path, size: &str) -> Self {
        std::fs::create_dir_all(dir).expect("a mount point");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .expect("mount runs");
        assert!(
            status.success(),
            "mounting a tmpfs failed: the disk-full test needs root"
        );
        Self(dir.to_path_buf())
    }

    fn resize(&self, size: &str) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()
            .expect("mount runs");
        assert!(status.success(), "remounting the tmpfs");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

/// Writes zeros into `path` until the file system is full.
fn fill(path: &std::path::Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("a filler file");
    let block = vec![0u8; 64 << 10];
    while file.write_all(&block).is_ok() {}
    let _ = file.sync_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_executions_and_room_lets_them_finish() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let disk = Tmpfs::mount(&dir.path().join("disk"), "2m");
    let db = disk.0.join("shutter.db");
    let workflows = dir.path().join("workflows");
    std::fs::create_dir(&workflows).expect("a dir");
    let mut yaml = String::from(
        "version: 1\nname: busy\nsteps:\n  s0: {uses: core.sleep, with: {duration: 200ms}}\n",
    );
    for step in 1..20 {
        yaml.push_str(&format!(
            "  s{step}: {{uses: core.log, needs: [s{}], with: {{message: \"step {step} {}\"}}}}\n",
            step - 1,
            "x".repeat(2000)
        ));
    }
    std::fs::write(workflows.join("busy.yaml"), yaml).expect("writable");

    let server = Served::start([
        "--lease".as_ref(),
        "1s".as_ref(),
        "--store-patience".as_ref(),
        "2s".as_ref(),
        "--db".as_ref(),
        db.as_os_str(),
        "--workflows".as_ref(),
        workflows.as_os_str(),
    ])
    .await;
    let mut ids = Vec::new();
    for _ in 0..EXECUTIONS {
        let (status, started) = server
            .post("/workflows/busy/executions", &serde_json::json!({}))
            .await;
        assert_eq!(status, 201, "{started}");
        ids.push(started["id"].as_str().expect("an id").to_owned());
    }
    // Full while they run.
    fill(&disk.0.join("filler"));
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (status, body) = server
        .post("/workflows/busy/executions", &serde_json::json!({}))
        .await;
    assert_eq!(status, 503, "a start on a full disk");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("full"),
        "the cause is said: {body}"
    );
    assert_eq!(server.get("/healthz").await["status"], "ok");
    let mut unfinished = 0;
    for id in &ids {
        let detail = server.get(&format!("/executions/{id}")).await;
        unfinished += usize::from(detail["state"] != "succeeded");
    }
    assert!(
        unfinished > 0,
        "the disk filled before the executions ended"
    );

    // Room again: every execution finishes, without a restart.
    disk.resize("64m");
    for id in &ids {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let detail = server.get(&format!("/executions/{id}?wait=5s")).await;
            if detail["state"] == "succeeded" {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline && detail["state"] != "failed",
                "{id} did not finish: {detail:#}"
            );
        }
    }
    server.stop().await;
    let check = std::process::Command::new(shutter_bin())
        .args(["executions", "check", "--db"])
        .arg(&db)
        .output()
        .expect("check runs");
    assert!(
        check.status.success(),
        "integrity check: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}
