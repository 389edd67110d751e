//! `shutter start`, `shutter executions ... --server` and `shutter
//! workflows`: the CLI as a client of `shutter serve`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value as Json, json};
use shutter_tests::served::Served;
use shutter_tests::{Run, repo_root, shutter_bin};

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

/// The admin token of the servers below: registering workflows needs it.
const ADMIN: &str = "admin-secret";

/// A workflow to push: scheduled on a day no test runs on (Jan 1st,
/// 03:00 UTC), one step that only reads and one that would change
/// something (a sleep).
const PUSHED: &str = "version: 1
name: cli-pushed
description: Greets a VM, then pauses
schedule: \"0 3 1 1 *\"
inputs:
  vm: {type: string, default: web-01, description: The VM to greet}
  keep: {type: integer, default: 7, description: Snapshots kept}
steps:
  greet: {uses: core.log, with: {message: 'hello ${{ inputs.vm }}'}}
  pause: {uses: core.sleep, needs: [greet], with: {duration: 1s}}
";

/// `shutter serve` on its own database with an admin token, and a file
/// holding that token for `--token-file`.
async fn served_with_admin(dir: &Path) -> (Served, std::path::PathBuf) {
    let db = dir.join("workflows.db");
    let token = dir.join("admin.token");
    std::fs::write(&token, format!("{ADMIN}\n")).expect("the token file is written");
    let server = Served::start_with(
        ["--db".as_ref(), db.as_os_str()],
        &[("SHUTTER_ADMIN_TOKEN", ADMIN)],
    )
    .await;
    (server, token)
}

/// `shutter ARGS... --server BASE [--token-file TOKEN]`, off the async
/// workers (the server's log is read on them meanwhile).
async fn cli(server: &Served, token: Option<&Path>, args: &[&str]) -> Run {
    let mut all: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
    all.extend(["--server".to_owned(), server.base.clone()]);
    if let Some(token) = token {
        all.extend(["--token-file".to_owned(), token.display().to_string()]);
    }
    tokio::task::spawn_blocking(move || shutter_tests::shutter(&all))
        .await
        .expect("the CLI ran")
}

/// A table row's cells: what two spaces or more separate.
fn cells(row: &str) -> Vec<&str> {
    row.split("  ")
        .map(str::trim)
        .filter(|cell| !cell.is_empty())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflows_pushed_from_the_cli_are_listed_shown_and_planned() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, token) = served_with_admin(dir.path()).await;
    let token = Some(token.as_path());
    let file = dir.path().join("cli-pushed.yaml");
    let file_arg = file.display().to_string();
    std::fs::write(&file, PUSHED).expect("written");

    let first = cli(&server, token, &["workflows", "push", &file_arg]).await;
    assert!(first.success(), "{}", first.stderr);
    let first_hash = server.get("/workflows/cli-pushed").await["plan_hash"]
        .as_str()
        .expect("a plan hash")
        .to_owned();
    assert_eq!(
        first.stdout,
        format!(
            "{file_arg}: cli-pushed version 1 of 1 ({})\n",
            &first_hash[..12]
        )
    );
    // The same content again is the same version.
    let again = cli(&server, token, &["workflows", "push", &file_arg]).await;
    assert_eq!(again.stdout, first.stdout, "{}", again.stderr);

    // A changed file is the next version, which new executions run;
    // pushing the first content again does not make it the latest.
    let changed = PUSHED.replace("default: 7", "default: 8");
    std::fs::write(&file, &changed).expect("written");
    let second = cli(&server, token, &["workflows", "push", &file_arg]).await;
    assert!(second.success(), "{}", second.stderr);
    let second_hash = server.get("/workflows/cli-pushed").await["plan_hash"]
        .as_str()
        .expect("a plan hash")
        .to_owned();
    assert_ne!(second_hash, first_hash);
    assert_eq!(
        second.stdout,
        format!(
            "{file_arg}: cli-pushed version 2 of 2 ({})\n",
            &second_hash[..12]
        )
    );
    std::fs::write(&file, PUSHED).expect("written");
    let older = cli(&server, token, &["workflows", "push", &file_arg]).await;
    assert_eq!(
        older.stdout,
        format!(
            "{file_arg}: cli-pushed version 1 of 2 ({}); new executions run version 2 ({})\n",
            &first_hash[..12],
            &second_hash[..12]
        ),
        "{}",
        older.stderr
    );

    // The list: a header, and the workflow's cells under it.
    let list = cli(&server, token, &["workflows", "list"]).await;
    assert!(list.success(), "{}", list.stderr);
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(
        cells(lines[0]),
        [
            "NAME",
            "VERSIONS",
            "STEPS",
            "SCHEDULE",
            "NEXT TICK (UTC)",
            "DESCRIPTION"
        ],
        "{}",
        list.stdout
    );
    assert_eq!(lines.len(), 2, "{}", list.stdout);
    let row = cells(lines[1]);
    assert_eq!(
        row[..4],
        ["cli-pushed", "2", "2", "0 3 1 1 * (UTC)"],
        "{}",
        list.stdout
    );
    assert!(row[4].ends_with("-01-01 03:00"), "{}", list.stdout);
    assert_eq!(row[5], "Greets a VM, then pauses", "{}", list.stdout);
    assert_eq!(
        lines[0].find("DESCRIPTION"),
        lines[1].find("Greets"),
        "aligned: {}",
        list.stdout
    );
    let listed = cli(&server, token, &["workflows", "list", "--json"]).await;
    let listed: Json = serde_json::from_str(&listed.stdout).expect("JSON");
    assert_eq!(listed["items"][0]["name"], "cli-pushed");
    assert_eq!(listed["items"][0]["versions"], 2);

    // One workflow: its version, schedule, inputs and source.
    let show = cli(&server, token, &["workflows", "show", "cli-pushed"]).await;
    assert!(show.success(), "{}", show.stderr);
    let out = &show.stdout;
    assert!(
        out.contains(&format!("version:     2 of 2 ({})\n", &second_hash[..12])),
        "{out}"
    );
    assert!(out.contains("schedule:    0 3 1 1 * (UTC)\n"), "{out}");
    let input = |name: &str| {
        out.lines()
            .find(|line| line.trim_start().starts_with(&format!("{name} ")))
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
    };
    assert_eq!(
        input("keep"),
        Some(vec!["keep", "integer", "8", "Snapshots", "kept"]),
        "{out}"
    );
    assert_eq!(
        input("vm"),
        Some(vec![
            "vm",
            "string",
            "\"web-01\"",
            "The",
            "VM",
            "to",
            "greet"
        ]),
        "{out}"
    );
    assert!(out.ends_with(&format!("source:\n{changed}")), "{out}");

    // A plan: the read ran with the inputs given (the file's, `-i` wins),
    // the write would run.
    let inputs = dir.path().join("inputs.yaml");
    let inputs_arg = inputs.display().to_string();
    std::fs::write(&inputs, "vm: db-02\nkeep: 3\n").expect("written");
    let plan_args: [&str; 7] = [
        "workflows",
        "plan",
        "cli-pushed",
        "--inputs",
        &inputs_arg,
        "-i",
        "keep=4",
    ];
    let plan = cli(&server, token, &plan_args).await;
    assert!(plan.success(), "{}", plan.stderr);
    let out = &plan.stdout;
    assert!(
        out.starts_with(&format!(
            "plan of cli-pushed ({}): 1 write would run, 1 read ran",
            &second_hash[..12]
        )),
        "{out}"
    );
    assert!(out.contains("greet  core.log  ran (reads only)"), "{out}");
    assert!(out.contains("message: \"hello db-02\""), "{out}");
    assert!(out.contains("pause  core.sleep  WOULD RUN"), "{out}");
    let mut json_args = plan_args.to_vec();
    json_args.push("--json");
    let plan = cli(&server, token, &json_args).await;
    let plan: Json = serde_json::from_str(&plan.stdout).expect("JSON");
    assert_eq!(plan["inputs"], json!({"vm": "db-02", "keep": 4}));
    assert_eq!(plan["steps"]["greet"]["forecast"], "ran");
    assert_eq!(plan["steps"]["pause"]["forecast"], "would_run");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_push_names_the_file_and_the_servers_reasons() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, token) = served_with_admin(dir.path()).await;
    let good = dir.path().join("good.yaml");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&good, PUSHED).expect("written");
    std::fs::write(&bad, PUSHED.replace("uses: core.log,", "uses: core.logg,")).expect("written");
    let (good, bad) = (good.display().to_string(), bad.display().to_string());

    // Without the admin token, nothing is registered.
    let anonymous = cli(&server, None, &["workflows", "push", &good]).await;
    assert_eq!(anonymous.code, Some(1), "{}", anonymous.stderr);
    assert!(
        anonymous
            .stderr
            .contains(&format!("error: pushing {good}: ")),
        "{}",
        anonymous.stderr
    );

    // Each file is sent; the refused one is named with the problem.
    let pushed = cli(
        &server,
        Some(token.as_path()),
        &["workflows", "push", &good, &bad],
    )
    .await;
    assert_eq!(pushed.code, Some(1), "{}", pushed.stderr);
    assert!(
        pushed
            .stdout
            .starts_with(&format!("{good}: cli-pushed version 1 of 1 (")),
        "{}",
        pushed.stdout
    );
    let said = &pushed.stderr;
    assert!(said.contains(&format!("error: pushing {bad}: ")), "{said}");
    assert!(said.contains("422"), "{said}");
    assert!(said.contains("unknown action `core.logg`"), "{said}");
    assert!(said.contains("1 of 2 file(s) refused"), "{said}");
    let names: Vec<Json> = server.get("/workflows").await["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| item["name"].clone())
        .collect();
    assert_eq!(names, [json!("cli-pushed")]);

    // A file that is not there is named too.
    let missing = dir.path().join("missing.yaml").display().to_string();
    let nothing = cli(
        &server,
        Some(token.as_path()),
        &["workflows", "push", &missing],
    )
    .await;
    assert_eq!(nothing.code, Some(1));
    assert!(nothing.stderr.contains(&missing), "{}", nothing.stderr);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_reads_typed_inputs_from_a_file_and_names_go_into_urls_encoded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, token) = served_with_admin(dir.path()).await;
    let token = Some(token.as_path());
    let file = dir.path().join("cli-typed.yaml");
    std::fs::write(
        &file,
        "version: 1
name: cli-typed
inputs:
  vm: {type: string}
  keep: {type: integer}
  tags: {type: array}
  note: {type: string}
steps:
  greet: {uses: core.log, with: {message: 'hello ${{ inputs.vm }}'}}
",
    )
    .expect("written");
    let pushed = cli(
        &server,
        token,
        &["workflows", "push", &file.display().to_string()],
    )
    .await;
    assert!(pushed.success(), "{}", pushed.stderr);

    // `"5"` stays a string in a file, where `-i note=5` would be a number;
    // `-i keep=9` wins over the file's 3.
    let inputs = dir.path().join("inputs.yaml");
    std::fs::write(
        &inputs,
        "vm: \"042\"\nkeep: 3\ntags: [daily, db]\nnote: \"5\"\n",
    )
    .expect("written");
    let inputs_arg = inputs.display().to_string();
    let started = cli(
        &server,
        token,
        &[
            "start",
            "cli-typed",
            "--inputs",
            &inputs_arg,
            "-i",
            "keep=9",
        ],
    )
    .await;
    assert!(started.success(), "{}", started.stderr);
    let id = started.stdout.trim();
    let execution = server.get(&format!("/executions/{id}")).await;
    assert_eq!(
        execution["inputs"],
        json!({"vm": "042", "keep": 9, "tags": ["daily", "db"], "note": "5"}),
        "{execution}"
    );

    // A name is one path segment whatever it holds: the server says no
    // such workflow, never that no such route is (a raw `/`) or another
    // name (a raw `?`).
    for name in ["a/b", "nightly backup", "what?now"] {
        for args in [
            vec!["workflows", "show", name],
            vec!["workflows", "plan", name],
            vec!["start", name],
        ] {
            let run = cli(&server, token, &args).await;
            assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
            assert!(
                run.stderr.contains(&format!("workflow `{name}` not found")),
                "{args:?}: {}",
                run.stderr
            );
        }
    }
    server.stop().await;
}
