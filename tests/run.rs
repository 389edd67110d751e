//! `shutter run`, `resume` and `executions` as a user runs them.

use std::process::Stdio;
use std::time::Duration;

use shutter_tests::{repo_root, shutter_bin};

fn shutter_at(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(shutter_bin())
        .args(args)
        .current_dir(repo_root())
        .env("SHUTTER_DB", db)
        .env("NO_COLOR", "1")
        .output()
        .expect("shutter starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_shipped_workflow_runs_and_prints_its_outputs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let out = shutter_at(&db, &["run", "workflows/diamond.yaml", "-i", "vm=db-02"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let outputs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("outputs are JSON");
    assert_eq!(
        outputs,
        serde_json::json!({"summary": "done: listing disks of db-02"})
    );
    let progress = text(&out.stderr);
    assert!(progress.contains("quiesce: waiting until"), "{progress}");
    assert!(
        progress.contains("cleanup: cleanup for db-02 (report ended succeeded)"),
        "{progress}"
    );
    assert!(progress.contains("execution succeeded"), "{progress}");
}

#[test]
fn the_last_execution_and_its_logs_are_read_here() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let out = shutter_at(&db, &["run", "workflows/diamond.yaml", "-i", "vm=db-03"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let logs = shutter_at(&db, &["executions", "logs", "--last"]);
    assert!(logs.status.success(), "{}", text(&logs.stderr));
    let lines = text(&logs.stdout);
    assert!(
        lines.contains("prepare") && lines.contains("preparing backup of db-03"),
        "{lines}"
    );
    // The one word after `--last WORKFLOW` is a step; `-f` on an ended
    // execution prints what there is and ends.
    let cleanup = shutter_at(
        &db,
        &["executions", "logs", "--last", "diamond", "cleanup", "-f"],
    );
    assert!(cleanup.status.success(), "{}", text(&cleanup.stderr));
    let cleanup = text(&cleanup.stdout);
    assert_eq!(cleanup.lines().count(), 1, "{cleanup}");
    assert!(cleanup.contains("cleanup for db-03"), "{cleanup}");
    let show = shutter_at(&db, &["executions", "show", "--last", "diamond", "--json"]);
    let snapshot: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    let id = snapshot["execution"]["id"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_default();
    assert_eq!(id.len(), 36, "{snapshot}");
    let by_prefix = shutter_at(&db, &["executions", "show", &id[..9], "--json"]);
    assert!(by_prefix.status.success(), "{}", text(&by_prefix.stderr));
    // The list: a header, and columns that line up under it.
    let list = text(&shutter_at(&db, &["executions", "list"]).stdout);
    let mut rows = list.lines();
    let header = rows.next().unwrap_or_default();
    assert!(
        header.starts_with("ID") && header.contains("DURATION"),
        "{list}"
    );
    let column = header.find("WORKFLOW").expect("a workflow column");
    let row = rows.next().unwrap_or_default();
    assert_eq!(row.get(column..column + 7), Some("diamond"), "{list}");
    let none = shutter_at(&db, &["executions", "show", "--last", "nosuch"]);
    assert!(!none.status.success());
    assert!(text(&none.stderr).contains("no execution of workflow `nosuch` here"));
}

#[test]
fn an_input_given_with_i_is_typed_by_its_declaration() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let file = dir.path().join("typed.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: typed\ninputs:\n  vm: {type: string}\n  keep: {type: integer}\nsteps:\n  s: {uses: core.noop}\noutputs:\n  vm: ${{ inputs.vm }}\n  keep: ${{ inputs.keep + 1 }}\n",
    )
    .expect("writable");
    let path = file.display().to_string();
    // A string input takes the text as it is; an integer one reads it.
    let out = shutter_at(&db, &["run", &path, "-i", "vm=42", "-i", "keep=6"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let outputs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("outputs are JSON");
    assert_eq!(outputs, serde_json::json!({"vm": "42", "keep": 7}));
    let refused = shutter_at(&db, &["run", &path, "-i", "vm=web", "-i", "keep=x"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains("input `keep`: expects integer, got a string"),
        "{}",
        text(&refused.stderr)
    );
}

#[test]
fn a_failing_workflow_exits_1_and_its_record_tells_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let out = shutter_at(&db, &["run", "workflows/retry.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let list = shutter_at(&db, &["executions", "list", "--json"]);
    let records: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let id = records[0]["id"].as_str().expect("an id").to_owned();
    assert_eq!(records[0]["state"], "failed");
    let show = shutter_at(&db, &["executions", "show", &id, "--json"]);
    let snapshot: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    let steps = snapshot["steps"].as_array().expect("steps");
    let flaky = steps.iter().find(|s| s["key"] == "flaky").expect("flaky");
    assert_eq!(flaky["state"], "failed");
    assert_eq!(flaky["attempts"].as_array().map(Vec::len), Some(3));
    let reserve = steps
        .iter()
        .find(|s| s["key"] == "reserve")
        .expect("reserve");
    assert_eq!(reserve["state"], "compensated");
    let human = text(&shutter_at(&db, &["executions", "show", &id]).stdout);
    assert!(
        human.contains("the storage array is busy (after 3 tries)"),
        "{human}"
    );
}

/// `executions retry` without `--server` runs the execution again here,
/// on the embedded store: `--from` a step re-runs it and what follows it,
/// keeps the rest, and exits as the execution ends.
#[test]
fn an_execution_is_retried_here_from_a_step() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let out = shutter_at(&db, &["run", "workflows/diamond.yaml", "-i", "vm=db-03"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list = shutter_at(&db, &["executions", "list", "--json"]);
    let records: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let id = records[0]["id"].as_str().expect("an id").to_owned();

    // Nothing failed, so a plain retry is refused, saying why.
    let refused = shutter_at(&db, &["executions", "retry", &id]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("succeeded"),
        "{}",
        text(&refused.stderr)
    );

    let again = shutter_at(&db, &["executions", "retry", &id, "--from", "report"]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert!(
        text(&again.stdout).contains(&format!("execution {id}")),
        "{}",
        text(&again.stdout)
    );
    let show = shutter_at(&db, &["executions", "show", &id, "--json"]);
    let snapshot: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    let tries = |key: &str| {
        snapshot["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .find(|s| s["key"] == key)
            .and_then(|s| s["attempts"].as_array().map(Vec::len))
    };
    assert_eq!(snapshot["execution"]["state"], "succeeded");
    assert_eq!(tries("report"), Some(2), "run again");
    assert_eq!(tries("cleanup"), Some(2), "a finally step runs again");
    assert_eq!(tries("inventory"), Some(1), "upstream keeps its result");
}

#[test]
fn bad_inputs_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let out = shutter_at(
        &db,
        &[
            "run",
            "workflows/for-each.yaml",
            "-i",
            "volumes=3",
            "-i",
            "volume=x",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let errors = text(&out.stderr);
    assert!(
        errors.contains(
            "input `volume`: the workflow declares no such input (did you mean `volumes`?)"
        ),
        "{errors}"
    );
    assert!(
        errors.contains("input `volumes`: expects array, got an integer"),
        "{errors}"
    );
    let list = shutter_at(&db, &["executions", "list", "--json"]);
    assert_eq!(text(&list.stdout).trim(), "[]");
}

/// Starts `shutter run` of `yaml` (written in `dir`) on `db`, its stderr
/// piped, and waits until its execution runs.
fn run_until_running(
    dir: &std::path::Path,
    db: &std::path::Path,
    yaml: &str,
) -> std::process::Child {
    let file = dir.join("workflow.yaml");
    std::fs::write(&file, yaml).expect("writable");
    let mut child = std::process::Command::new(shutter_bin())
        .args(["run", &file.display().to_string()])
        .env("SHUTTER_DB", db)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shutter starts");
    until_running(db, &mut child);
    child
}

/// Sends `child` a signal (`-INT`, `-TERM`) with `kill`.
fn signal(child: &std::process::Child, which: &str) {
    let sent = std::process::Command::new("kill")
        .args([which, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
}

/// Waits until `child`'s execution on `db` runs, and a moment more for
/// its first step to be under way.
fn until_running(db: &std::path::Path, child: &mut std::process::Child) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let list = shutter_at(db, &["executions", "list", "--state", "running", "--json"]);
        if text(&list.stdout).contains("\"running\"") {
            break;
        }
        if let Some(status) = child.try_wait().expect("child status") {
            let mut stderr = String::new();
            if let Some(mut pipe) = child.stderr.take() {
                std::io::Read::read_to_string(&mut pipe, &mut stderr).expect("stderr");
            }
            panic!("shutter run ended early ({status}): {stderr}");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the execution never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(200));
}

#[test]
fn ctrl_c_cancels_and_finally_steps_still_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let mut child = run_until_running(
        dir.path(),
        &db,
        "version: 1\nname: long\nsteps:\n  work: {uses: core.sleep, with: {duration: 1h}}\n  cleanup: {uses: core.log, needs: work, finally: true, with: {message: cleaned up}}\n",
    );
    // Interrupt as Ctrl-C would.
    signal(&child, "-INT");
    let status = child.wait().expect("shutter ends");
    assert_eq!(status.code(), Some(130));
    let list = shutter_at(&db, &["executions", "list", "--json"]);
    let records: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(records[0]["state"], "canceled");
    let id = records[0]["id"].as_str().expect("an id");
    let show = shutter_at(&db, &["executions", "show", id, "--json"]);
    let snapshot: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    let cleanup = snapshot["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["key"] == "cleanup"))
        .expect("cleanup");
    assert_eq!(cleanup["state"], "succeeded");
}

#[test]
fn sigterm_stops_at_once_and_resume_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let child = run_until_running(
        dir.path(),
        &db,
        "version: 1\nname: nap\nsteps:\n  nap: {uses: core.sleep, with: {duration: 3s}}\n  after: {uses: core.noop, needs: nap}\n",
    );
    signal(&child, "-TERM");
    let out = child.wait_with_output().expect("shutter ends");
    assert_eq!(out.status.code(), Some(143), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("stopped (SIGTERM); `shutter resume` continues the execution"),
        "{}",
        text(&out.stderr)
    );
    // Stopped, not canceled: the work is left for `shutter resume`, which
    // takes it at once on this host.
    let list = shutter_at(&db, &["executions", "list", "--json"]);
    let records: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(records[0]["state"], "running");
    let resumed = shutter_at(&db, &["resume"]);
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    let list = shutter_at(&db, &["executions", "list", "--json"]);
    let records: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(records[0]["state"], "succeeded");
}

#[test]
fn resume_with_nothing_left_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = shutter_at(&dir.path().join("s.db"), &["resume"]);
    assert!(out.status.success());
    assert!(text(&out.stderr).contains("nothing to resume"));
}

/// Starts `count` runs of `file` on `db` with a short lease and kills them
/// (SIGKILL) once every one is running: executions a dead engine left.
fn killed_runs(db: &std::path::Path, file: &std::path::Path, count: usize) {
    let mut children: Vec<std::process::Child> = (0..count)
        .map(|_| {
            std::process::Command::new(shutter_bin())
                .args(["run", &file.display().to_string(), "--lease", "2s"])
                .env("SHUTTER_DB", db)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("shutter starts")
        })
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let list = shutter_at(db, &["executions", "list", "--state", "running", "--json"]);
        let running: serde_json::Value =
            serde_json::from_slice(&list.stdout).unwrap_or(serde_json::Value::Null);
        if running.as_array().map_or(0, Vec::len) == count {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the executions never all ran"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    for child in &mut children {
        child.kill().expect("killed");
        child.wait().expect("reaped");
    }
    // Past the lease, the executions are orphans any engine may take.
    std::thread::sleep(Duration::from_millis(2500));
}

const SLOW: &str = "version: 1\nname: slow\nsteps:\n  first: {uses: core.log, with: {message: first}}\n  wait: {uses: core.sleep, needs: first, with: {duration: 2s}}\n  last: {uses: core.log, needs: wait, with: {message: the last step}}\n";

/// `count` runs of SLOW killed mid-way, then `shutter resume` on their
/// store: the directory (kept alive), the store and what resume did.
fn resume_after_killed_runs(
    count: usize,
) -> (tempfile::TempDir, std::path::PathBuf, std::process::Output) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let file = dir.path().join("slow.yaml");
    std::fs::write(&file, SLOW).expect("writable");
    killed_runs(&db, &file, count);
    let out = shutter_at(&db, &["resume", "--lease", "2s"]);
    (dir, db, out)
}

#[test]
fn resume_follows_the_execution_it_continues() {
    let (_dir, _db, out) = resume_after_killed_runs(1);
    let progress = text(&out.stderr);
    assert!(out.status.success(), "{progress}");
    assert!(progress.contains("resuming 1 execution on "), "{progress}");
    // Its steps as they end, as `shutter run` shows them, then the summary.
    assert!(progress.contains("last: the last step"), "{progress}");
    assert!(progress.contains("last: succeeded"), "{progress}");
    assert!(progress.contains("execution succeeded"), "{progress}");
    assert!(
        !progress.contains("] last:"),
        "one execution needs no label: {progress}"
    );
}

#[test]
fn resume_labels_each_line_when_it_continues_several() {
    let (_dir, db, out) = resume_after_killed_runs(2);
    let progress = text(&out.stderr);
    assert!(out.status.success(), "{progress}");
    assert!(progress.contains("resuming 2 executions on "), "{progress}");
    let list = shutter_at(&db, &["executions", "list", "--json"]);
    let records: serde_json::Value = serde_json::from_slice(&list.stdout).expect("json");
    let ids: Vec<&str> = records
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["id"].as_str().expect("an id"))
        .collect();
    assert_eq!(ids.len(), 2);
    let stdout = text(&out.stdout);
    // A line's label: a start of its execution's id (8 characters or
    // more) that is not a start of the other's.
    let labelled = |line: &str, id: &str, other: &str| {
        line.strip_prefix('[')
            .and_then(|rest| rest.split_once(']'))
            .is_some_and(|(label, _)| {
                label.len() >= 8 && id.starts_with(label) && !other.starts_with(label)
            })
    };
    for (id, other) in [(ids[0], ids[1]), (ids[1], ids[0])] {
        assert!(
            progress
                .lines()
                .any(|line| labelled(line, id, other) && line.ends_with("last: succeeded")),
            "{id}'s own label leads its lines: {progress}"
        );
        assert!(
            progress.lines().any(
                |line| labelled(line, id, other) && line.contains("] slow execution succeeded")
            ),
            "{id}'s summary: {progress}"
        );
        assert!(
            stdout
                .lines()
                .any(|line| line.starts_with(id) && line.ends_with("succeeded")),
            "one line per execution on stdout: {stdout}"
        );
    }
}

#[test]
fn a_cancel_recorded_here_stops_a_running_shutter_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let file = dir.path().join("long.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: long\nsteps:\n  work: {uses: core.sleep, with: {duration: 1h}}\n  cleanup: {uses: core.log, needs: work, finally: true, with: {message: cleaned up}}\n",
    )
    .expect("writable");
    let mut child = std::process::Command::new(shutter_bin())
        .args(["run", &file.display().to_string(), "--lease", "2s"])
        .env("SHUTTER_DB", &db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("shutter starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !text(&shutter_at(&db, &["executions", "list", "--state", "running", "--json"]).stdout)
        .contains("\"running\"")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the execution never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Another process, the same database: `cancel` records the request.
    let cancel = shutter_at(&db, &["executions", "cancel", "--last"]);
    assert!(cancel.status.success(), "{}", text(&cancel.stderr));
    assert!(
        text(&cancel.stdout).starts_with("cancel requested for "),
        "{}",
        text(&cancel.stdout)
    );
    // The running engine sees it (at its next lease renewal at the latest).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("child status") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("shutter run did not see the cancel");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130), "a canceled run exits 130");
    let show = shutter_at(&db, &["executions", "show", "--last", "--json"]);
    let snapshot: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    assert_eq!(snapshot["execution"]["state"], "canceled", "{snapshot:#}");
    let cleanup = snapshot["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["key"] == "cleanup"))
        .expect("cleanup");
    assert_eq!(cleanup["state"], "succeeded", "finally steps still run");
    // An ended execution has nothing to cancel, and says so.
    let again = shutter_at(&db, &["executions", "cancel", "--last"]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("has ended (canceled): nothing to cancel"),
        "{}",
        text(&again.stderr)
    );
}

type Time = chrono::DateTime<chrono::FixedOffset>;

/// The tries of the `nap` items of the newest execution: (start, end).
fn item_spans(db: &std::path::Path) -> Vec<(Time, Time)> {
    let show = shutter_at(db, &["executions", "show", "--last", "--json"]);
    assert!(show.status.success(), "{}", text(&show.stderr));
    let detail: serde_json::Value = serde_json::from_slice(&show.stdout).expect("json");
    let time = |value: &serde_json::Value| {
        chrono::DateTime::parse_from_rfc3339(value.as_str().expect("a time")).expect("RFC 3339")
    };
    let mut spans: Vec<(Time, Time)> = detail["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|step| step["key"].as_str().is_some_and(|k| k.starts_with("nap[")))
        .map(|step| {
            let attempt = &step["attempts"][0];
            (time(&attempt["started_at"]), time(&attempt["finished_at"]))
        })
        .collect();
    spans.sort();
    spans
}

/// `--max-steps 1`: the items of a `for_each` run one after the other
/// (each try starts after the one before ended); without it they overlap.
#[test]
fn max_steps_caps_the_steps_running_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("naps.yaml");
    std::fs::write(
        &file,
        "version: 1\nname: naps\nsteps:\n  nap:\n    uses: core.sleep\n    for_each: ${{ range(3) | list }}\n    with: {duration: 200ms}\n",
    )
    .expect("writable");
    let file = file.display().to_string();
    let db = dir.path().join("s.db");
    let out = shutter_at(&db, &["run", &file, "--max-steps", "1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let capped = item_spans(&db);
    assert_eq!(capped.len(), 3);
    for pair in capped.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "overlap: {capped:?}");
    }
    let out = shutter_at(&db, &["run", &file]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let free = item_spans(&db);
    assert!(free[1].0 < free[0].1, "they overlap by default: {free:?}");
    let refused = shutter_at(&db, &["run", &file, "--max-steps", "0"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
}
