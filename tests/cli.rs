//! The CLI's contract: exit codes, summaries, diagnostics with <file:line:col>.

use shutter_tests::{repo_root, shutter, shutter_with};

fn write(dir: &std::path::Path, name: &str, text: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("temp dir is writable");
    path.display().to_string()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("shutter-e2e-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}

#[test]
fn validate_reports_every_problem_with_its_location_and_exits_1() {
    let dir = temp_dir("validate");
    let file = write(
        &dir,
        "bad.yaml",
        b"version: 1\nname: bad\nsteps:\n  a:\n    uses: core.logg\n  b:\n    uses: core.log\n    needs: [c]\n    with: {message: x, colour: red}\n",
    );
    let run = shutter(["validate", &file]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!("{file}:5:11")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("did you mean `core.log`?"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("{file}:8:13")),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("{file}:9:24")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("3 problem(s)"), "{}", run.stderr);
}

#[test]
fn validate_checks_module_files_and_their_pins() {
    let dir = temp_dir("validate-modules");
    std::fs::write(dir.join("real.wasm"), b"\0asm\x01\0\0\0").expect("write");
    let pin = "0".repeat(64);
    let file = write(
        &dir,
        "modules.yaml",
        format!(
            "version: 1\nname: mods\nsteps:\n  gone:\n    uses: wasm\n    wasm: {{module: missing.wasm, sha256: {pin}}}\n  wrong:\n    uses: wasm\n    wasm: {{module: real.wasm, sha256: {pin}}}\n"
        )
        .as_bytes(),
    );
    let run = shutter(["validate", &file]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{file}:6:")), "{}", run.stderr);
    assert!(run.stderr.contains("missing.wasm"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{file}:9:")), "{}", run.stderr);
    assert!(
        run.stderr.contains("does not match its pin"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("2 problem(s)"), "{}", run.stderr);
}

#[test]
fn validate_as_json_gives_tools_line_and_column() {
    let dir = temp_dir("json");
    let file = write(
        &dir,
        "bad.yaml",
        b"version: 1\nname: bad\nsteps:\n  a: {uses: core.noop, needs: [zz]}\n",
    );
    let run = shutter(["validate", "--format", "json", &file]);
    assert_eq!(run.code, Some(1));
    let report: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    let first = &report["diagnostics"]["items"][0];
    assert_eq!(first["code"], "unknown-step");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(4), Some(32))
    );
    assert_eq!(first["path"], "steps.a.needs[0]");
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let run = shutter(["validate", "no/such/file.yaml"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("opening workflow no/such/file.yaml"),
        "{}",
        run.stderr
    );
}

/// A file that cannot be read does not hide what the others say.
#[test]
fn a_missing_file_does_not_stop_the_files_after_it() {
    let diamond = repo_root().join("workflows/diamond.yaml");
    let diamond = diamond.to_str().expect("utf-8 path");
    let run = shutter(["validate", "no/such/file.yaml", diamond]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("no/such/file.yaml"), "{}", run.stderr);
    assert!(
        run.stdout.contains("ok: ") && run.stdout.contains("workflow diamond"),
        "the second file is still checked: {}",
        run.stdout
    );
}

#[test]
fn actions_lists_the_catalog_and_describes_one() {
    let run = shutter(["actions"]);
    assert!(run.success());
    assert!(run.stdout.contains("core.sleep"), "{}", run.stdout);
    let run = shutter(["actions", "core.fail"]);
    assert!(
        run.stdout
            .contains("retryable (boolean, optional, default false)"),
        "{}",
        run.stdout
    );
    let run = shutter(["actions", "core.nope"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("unknown action `core.nope`"),
        "{}",
        run.stderr
    );
}

#[test]
fn validate_warns_of_a_declared_secret_that_is_not_set_here() {
    let dir = temp_dir("unset-secret");
    let file = write(
        &dir,
        "secret.yaml",
        b"version: 1\nname: s\nsecrets: [never_set_by_anyone]\nsteps:\n  a: {uses: core.noop}\n",
    );
    let run = shutter(["validate", &file]);
    assert_eq!(run.code, Some(0), "a warning, not an error: {}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "warning: {file}: secret `never_set_by_anyone` is not set here: set SHUTTER_SECRET_NEVER_SET_BY_ANYONE before running"
        )),
        "{}",
        run.stderr
    );
}

#[test]
fn validate_warns_of_a_limit_pool_this_hosts_config_file_lacks() {
    let dir = temp_dir("unsized-pool");
    let file = write(
        &dir,
        "limited.yaml",
        b"version: 1\nname: l\nsteps:\n  a: {uses: core.noop, limit: vcenter-prod}\n  b: {uses: core.noop, limit: nova-east}\n",
    );
    let config = write(
        &dir,
        "config.yaml",
        b"limits:\n  \"nova:*\": 2\n  nova-east: 1\n",
    );
    let run = shutter_with(["validate", &file], &[("SHUTTER_CONFIG", &config)]);
    assert_eq!(run.code, Some(0), "a warning, not an error: {}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "warning: {file}: step `a`: limit pool `vcenter-prod` is not in this host's config file (`limits:`): the step would fail here"
        )),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("nova-east"),
        "it is sized: {}",
        run.stderr
    );
}

#[test]
fn a_workflow_timeout_beyond_ten_years_is_refused_at_its_line() {
    let dir = temp_dir("huge-timeout");
    let file = write(
        &dir,
        "huge.yaml",
        b"version: 1\nname: h\ntimeout: 300000y\nsteps:\n  a: {uses: core.noop}\n",
    );
    let run = shutter(["validate", &file]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{file}:3:")), "{}", run.stderr);
}

#[test]
fn help_says_what_shutter_is_and_version_names_the_commit() {
    let help = shutter(["--help"]);
    assert_eq!(help.code, Some(0));
    assert!(
        help.stdout.contains("snapshots and backups") && help.stdout.contains("shutter serve"),
        "{}",
        help.stdout
    );
    let version = shutter(["--version"]);
    assert_eq!(version.code, Some(0));
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
    match commit {
        // Built from this checkout: the commit is its HEAD (a test run
        // builds again when HEAD moves).
        Some(commit) => assert!(
            version.stdout.contains(&format!("(commit {commit})")),
            "{} vs {commit}",
            version.stdout
        ),
        None => assert!(
            version.stdout.contains("(commit unknown)"),
            "{}",
            version.stdout
        ),
    }
}

#[test]
fn completions_are_printed_for_each_shell() {
    for (shell, marker) in [
        ("bash", "_shutter()"),
        ("zsh", "#compdef shutter"),
        ("fish", "complete -c shutter"),
    ] {
        let run = shutter(["completions", shell]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert!(run.stdout.contains(marker), "{shell}: {}", run.stdout);
        assert!(
            run.stdout.contains("executions"),
            "{shell} names subcommands"
        );
    }
    assert_eq!(shutter(["completions", "tcsh"]).code, Some(2));
}
