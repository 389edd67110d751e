//! `shutter start` and `shutter executions ... --server`: the CLI as a
//! client of `shutter serve`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value as Json;
use shutter_tests::{repo_root, shutter_bin};

fn shutter(args: &[&str]) -> Output {
    Command::new(shutter_bin())
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env_remove("SHUTTER_SERVER")
        .env_remove("SHUTTER_API_TOKEN")
        .output()
        .expect("shutter runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `shutter serve` on a free loopback port with `args`, its stderr piped.
fn serve(db: &std::path::Path, args: &[&str]) -> Child {
    Command::new(shutter_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(db)
        .args(args)
        .current_dir(repo_root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shutter serve starts")
}

#[test]
fn the_cli_starts_waits_for_lists_shows_and_cancels_on_a_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("client.db");
    let mut server = serve(&db, &["--workflows", "workflows"]);
    let mut lines = BufReader::new(server.stderr.take().expect("piped")).lines();
    let base = loop {
        let line = lines.next().expect("serve says where").expect("readable");
        if let Some((_, rest)) = line.split_once(" on http://") {
            break format!(
                "http://{}",
                rest.split_whitespace().next().expect("address")
            );
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let started = shutter(&[
        "start",
        "diamond",
        "-i",
        "vm=web-01",
        "--wait",
        "--server",
        &base,
    ]);
    assert!(started.status.success(), "{}", text(&started.stderr));
    let out = text(&started.stdout);
    let id = out.lines().next().expect("the id first").trim().to_owned();
    assert!(out.contains("succeeded"), "{out}");

    let list = shutter(&[
        "executions",
        "list",
        "--json",
        "--workflow",
        "diamond",
        "--server",
        &base,
    ]);
    assert!(list.status.success(), "{}", text(&list.stderr));
    let items: Json = serde_json::from_slice(&list.stdout).expect("json");
    assert_eq!(items[0]["id"], id.as_str());

    let show = shutter(&["executions", "show", &id, "--server", &base]);
    assert!(
        text(&show.stdout).contains(&format!("execution {id}")),
        "{}",
        text(&show.stdout)
    );

    let waited = shutter(&["executions", "wait", &id, "--json", "--server", &base]);
    assert!(waited.status.success());

    // Any unique start of an id names it, and `--last` the newest.
    let prefix = &id[..13];
    let by_prefix = shutter(&["executions", "show", prefix, "--server", &base]);
    assert!(
        text(&by_prefix.stdout).contains(&format!("execution {id}")),
        "{}{}",
        text(&by_prefix.stdout),
        text(&by_prefix.stderr)
    );
    let newest = shutter(&["executions", "show", "--last", "diamond", "--server", &base]);
    assert!(
        text(&newest.stdout).contains(&format!("execution {id}")),
        "{}{}",
        text(&newest.stdout),
        text(&newest.stderr)
    );
    // Its log lines, oldest first, with times; one step's; a step it lacks.
    let logs = shutter(&["executions", "logs", prefix, "--server", &base]);
    assert!(logs.status.success(), "{}", text(&logs.stderr));
    let lines = text(&logs.stdout);
    let prepare = lines.find("preparing backup of web-01").expect(&lines);
    let cleanup = lines.find("cleanup for web-01").expect(&lines);
    assert!(prepare < cleanup, "oldest first: {lines}");
    assert!(
        lines.lines().all(|l| l.starts_with("20")),
        "each with its time: {lines}"
    );
    let report = shutter(&["executions", "logs", &id, "report", "--server", &base]);
    let report = text(&report.stdout);
    assert!(
        !report.is_empty() && report.lines().all(|l| l.contains(" report ")),
        "{report}"
    );
    let lacking = shutter(&["executions", "logs", &id, "nope", "--server", &base]);
    assert!(!lacking.status.success());
    assert!(
        text(&lacking.stderr).contains("has no step `nope` (its steps: "),
        "{}",
        text(&lacking.stderr)
    );
    let nowhere = shutter(&["executions", "show", "ffff", "--server", &base]);
    assert!(!nowhere.status.success());
    assert!(
        text(&nowhere.stderr).contains("no execution id starts with `ffff`"),
        "{}",
        text(&nowhere.stderr)
    );

    // Ending an execution that has ended is refused with the server's message.
    let cancel = shutter(&["executions", "cancel", &id, "--server", &base]);
    assert!(!cancel.status.success());
    assert!(
        text(&cancel.stderr).contains("already ended"),
        "{}",
        text(&cancel.stderr)
    );

    // An ended execution runs again from a step; a step it lacks is refused.
    let retried = shutter(&[
        "executions",
        "retry",
        &id,
        "--from",
        "report",
        "--server",
        &base,
    ]);
    assert!(retried.status.success(), "{}", text(&retried.stderr));
    assert!(
        text(&retried.stdout).contains(&format!("{id} runs again")),
        "{}",
        text(&retried.stdout)
    );
    let again = shutter(&["executions", "wait", &id, "--json", "--server", &base]);
    assert!(again.status.success(), "{}", text(&again.stdout));
    let unknown = shutter(&[
        "executions",
        "retry",
        &id,
        "--from",
        "nope",
        "--server",
        &base,
    ]);
    assert!(!unknown.status.success());
    assert!(
        text(&unknown.stderr).contains("has no step `nope` to retry from"),
        "{}",
        text(&unknown.stderr)
    );

    // Bad inputs come back as the server's 422 with its details.
    let bad = shutter(&["start", "diamond", "-i", "vm=5", "--server", &base]);
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("422"), "{}", text(&bad.stderr));

    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    assert!(server.wait().expect("serve ends").success());
}

#[test]
fn serve_keeps_executions_only_as_long_as_it_is_told() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("retention.db");
    let db_arg = db.display().to_string();
    let run = shutter(&[
        "run",
        "workflows/diamond.yaml",
        "-i",
        "vm=web-01",
        "--db",
        &db_arg,
    ]);
    assert!(run.status.success(), "{}", text(&run.stderr));
    let listed = shutter(&["executions", "list", "--json", "--db", &db_arg]);
    assert_eq!(
        serde_json::from_slice::<Json>(&listed.stdout)
            .expect("json")
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let mut server = serve(&db, &["--keep", "1ms"]);
    // If retention never says anything, the reading below must still end.
    let pid = server.id().to_string();
    std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_secs(60));
        let _ = Command::new("kill").args(["-KILL", &pid]).status();
    });
    let lines = BufReader::new(server.stderr.take().expect("piped")).lines();
    let mut said = Vec::new();
    for line in lines {
        let line = line.expect("readable");
        let done = line.contains("retention removed");
        said.push(line);
        if done {
            break;
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let _ = server.wait();
    assert!(
        said.iter()
            .any(|l| l.contains("retention removed 1 execution(s) finished before")),
        "{said:?}"
    );
    let listed = shutter(&["executions", "list", "--json", "--db", &db_arg]);
    assert_eq!(
        text(&listed.stdout).trim(),
        "[]",
        "{}",
        text(&listed.stderr)
    );
}

/// `--listen` takes a name; with stderr not a terminal the log has no
/// colour codes even without `NO_COLOR`; each request is one access line
/// without its query.
#[test]
fn serve_listens_on_a_name_and_logs_each_request_plainly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut server = Command::new(shutter_bin())
        .args(["serve", "--listen", "localhost:0", "--db"])
        .arg(dir.path().join("s.db"))
        .current_dir(repo_root())
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shutter serve starts");
    let mut lines = BufReader::new(server.stderr.take().expect("piped")).lines();
    let base = loop {
        let line = lines.next().expect("serve says where").expect("readable");
        if let Some((_, rest)) = line.split_once(" on http://") {
            break format!(
                "http://{}",
                rest.split_whitespace().next().expect("address")
            );
        }
    };
    assert!(
        base.starts_with("http://127.0.0.1:") || base.starts_with("http://[::1]:"),
        "{base}"
    );
    let answer = http_get(&base, "/healthz?probe=secret-ish");
    assert!(answer.contains("\"ok\""), "{answer}");
    let access = loop {
        let line = lines.next().expect("an access line").expect("readable");
        if line.contains("shutter::access") && line.contains("/healthz") {
            break line;
        }
    };
    let _ = server.kill();
    let _ = server.wait();
    assert!(
        !access.contains('\u{1b}'),
        "no colour codes on a pipe: {access:?}"
    );
    assert!(access.contains("method=GET"), "{access}");
    assert!(access.contains("path=/healthz"), "{access}");
    assert!(access.contains("status=200"), "{access}");
    assert!(!access.contains("probe"), "the query stays out: {access}");
}

/// A bare HTTP/1.1 GET over a socket, its whole answer as text.
fn http_get(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connects");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("sends");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("reads");
    answer
}
