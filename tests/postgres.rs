//! `--db postgres://...`: the commands that read and write executions, on
//! PostgreSQL instead of the SQLite file, and the password never shown.

use shutter_testpeers::postgres::ScratchDb;
use shutter_tests::{shutter, shutter_with};

const WORKFLOW: &str = "version: 1\nname: hello-pg\nsteps:\n  a: {uses: core.log, with: {message: hi}}\n  b: {uses: core.noop, needs: [a], with: {outputs: {x: 1}}}\n";

/// The scratch database's URL with a password in it (trust authentication
/// ignores it), to see that no output shows it.
fn with_password(url: &str) -> String {
    url.replacen(
        "postgres://postgres@",
        "postgres://postgres:pw-never-shown@",
        1,
    )
}

#[tokio::test]
async fn run_list_and_show_work_on_postgresql_and_never_show_the_password() {
    let db = ScratchDb::new().await;
    let url = with_password(&db.url);
    assert!(
        url.contains("pw-never-shown"),
        "the test URL carries a password: {url}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hello.yaml");
    std::fs::write(&file, WORKFLOW).unwrap();
    let file = file.display().to_string();

    let run = shutter(["run", &file, "--db", &url]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("execution succeeded"), "{}", run.stderr);
    let list = shutter(["executions", "list", "--json", "--db", &url]);
    assert_eq!(list.code, Some(0), "{}", list.stderr);
    let listed: serde_json::Value = serde_json::from_str(list.stdout.trim()).unwrap();
    let first = &listed.as_array().expect("a list")[0];
    assert_eq!(first["workflow"], "hello-pg", "{listed}");
    assert_eq!(first["state"], "succeeded", "{listed}");
    let id = first["id"].as_str().unwrap();
    let show = shutter(["executions", "show", id, "--db", &url]);
    assert_eq!(show.code, Some(0), "{}", show.stderr);
    for output in [&run, &list, &show] {
        let all = format!("{}{}", output.stdout, output.stderr);
        assert!(!all.contains("pw-never-shown"), "{all}");
    }
    // SQLite's integrity check is SQLite's.
    let check = shutter(["executions", "check", "--db", &url]);
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    assert!(check.stderr.contains("PostgreSQL"), "{}", check.stderr);
}

#[test]
fn a_postgresql_that_does_not_answer_is_a_clear_error_without_the_password() {
    let run = shutter([
        "executions",
        "list",
        "--db",
        "postgres://shutter:pw-never-shown@127.0.0.1:1/shutter",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("opening the execution store shutter@127.0.0.1:1/shutter"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("refused"), "{}", run.stderr);
    assert!(!run.stderr.contains("pw-never-shown"), "{}", run.stderr);
}

#[tokio::test]
async fn the_config_file_names_the_database_and_gives_its_password() {
    let db = ScratchDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hello.yaml");
    std::fs::write(&file, WORKFLOW).unwrap();
    let file = file.display().to_string();
    let config = dir.path().join("config.yaml");
    let write_config = |password: &str| {
        std::fs::write(
            &config,
            format!("database:\n  url: {}\n  {password}\n", db.url),
        )
        .unwrap();
    };
    write_config("password_env: SHUTTER_TEST_DB_PASSWORD");
    let config_path = config.display().to_string();
    let env = [
        ("SHUTTER_CONFIG", config_path.as_str()),
        ("SHUTTER_TEST_DB_PASSWORD", "pw-never-shown"),
    ];
    // No --db, no SHUTTER_DB: the config file's database.
    let run = shutter_with(["run", &file], &env);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let list = shutter(["executions", "list", "--json", "--db", &db.url]);
    assert!(
        list.stdout.contains("hello-pg"),
        "it ran on PostgreSQL: {}",
        list.stdout
    );
    let listed = shutter_with(["executions", "list"], &env);
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    assert!(listed.stdout.contains("hello-pg"), "{}", listed.stdout);
    for seen in [&run.stdout, &run.stderr, &listed.stdout, &listed.stderr] {
        assert!(!seen.contains("pw-never-shown"), "{seen}");
    }
    // A password source that gives nothing is an error naming its place.
    write_config("password_env: SHUTTER_TEST_UNSET_PASSWORD");
    let refused = shutter_with(["executions", "list"], &env);
    assert_ne!(refused.code, Some(0));
    assert!(
        refused.stderr.contains("config.yaml:3:3: database.password_env names SHUTTER_TEST_UNSET_PASSWORD, which is not set"),
        "{}",
        refused.stderr
    );
    write_config("password: a\n  password_env: B");
    let doubled = shutter_with(["executions", "list"], &env);
    assert!(
        doubled
            .stderr
            .contains("give at most one of password_env, password_file, password"),
        "{}",
        doubled.stderr
    );
}
