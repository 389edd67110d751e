//! WebAssembly steps through the binary: shipped workflows, the pinned
//! hash, hostile modules inside a workflow, and `shutter step run`.

use std::path::{Path, PathBuf};

use shutter_tests::{repo_root, shutter_bin};

fn examples() -> PathBuf {
    std::env::var_os("SHUTTER_WASM_EXAMPLES")
        .map_or_else(|| repo_root().join("wasm-steps/target"), PathBuf::from)
}

fn shutter_at(db: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(shutter_bin())
        .args(args)
        .current_dir(repo_root())
        .env("SHUTTER_DB", db)
        .output()
        .expect("shutter starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sha256(path: &std::path::Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    text(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_owned()
}

#[test]
fn the_spiral_workflow_runs_its_module_in_the_sandbox() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = shutter_at(&dir.path().join("s.db"), &["run", "workflows/spiral.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let outputs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(outputs["order"], serde_json::json!([1, 2, 3, 7, 6, 5, 4]));
}

#[test]
fn the_shipped_modules_are_what_the_sources_build() {
    for name in ["spiral", "retention", "verify-manifest"] {
        let shipped = repo_root().join(format!("workflows/modules/{name}.wasm"));
        let built = examples().join(format!("{name}.wasm"));
        assert_eq!(
            sha256(&shipped),
            sha256(&built),
            "workflows/modules/{name}.wasm differs from a fresh build: copy {} there and update the pinned sha256 in workflows/",
            built.display()
        );
    }
}

#[test]
fn a_module_that_is_not_the_pinned_one_fails_before_anything_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let module = repo_root().join("workflows/modules/spiral.wasm");
    std::fs::copy(&module, dir.path().join("spiral.wasm")).expect("copied");
    let file = dir.path().join("pinned.yaml");
    std::fs::write(
        &file,
        format!(
            "version: 1\nname: pinned\nsteps:\n  first: {{uses: core.log, with: {{message: must not run}}}}\n  traverse:\n    uses: wasm\n    needs: first\n    wasm: {{module: spiral.wasm, sha256: {}}}\n",
            "ab".repeat(32)
        ),
    )
    .expect("writable");
    let out = shutter_at(&db, &["run", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("does not match its pin") && stderr.contains("pinned.yaml:8:"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(&sha256(&module)),
        "the hash found is not told: {stderr}"
    );
    let list = shutter_at(&db, &["executions", "list", "--json"]);
    assert_eq!(text(&list.stdout).trim(), "[]", "nothing was recorded");
}

#[test]
fn a_hostile_module_fails_its_step_and_the_rest_of_the_workflow_goes_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let bomb = dir.path().join("memory-bomb.wasm");
    std::fs::copy(examples().join("adversarial/memory-bomb.wasm"), &bomb).expect("copied");
    let file = dir.path().join("bomb.yaml");
    std::fs::write(
        &file,
        format!(
            "version: 1\nname: bomb\nsteps:\n  bomb:\n    uses: wasm\n    wasm: {{module: memory-bomb.wasm, sha256: {}, memory: 8MiB}}\n  cleanup:\n    uses: core.log\n    needs: bomb\n    finally: true\n    with: {{message: \"bomb ended ${{{{ steps.bomb.state }}}}\"}}\n",
            sha256(&bomb)
        ),
    )
    .expect("writable");
    let out = shutter_at(&db, &["run", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    let progress = text(&out.stderr);
    assert!(
        progress.contains("bomb: failed: the step hit its memory cap of 8388608 bytes"),
        "{progress}"
    );
    assert!(
        progress.contains("cleanup: bomb ended failed"),
        "{progress}"
    );
}

#[test]
fn step_run_is_the_authors_inner_loop() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let spiral = examples().join("spiral.wasm");
    let out = shutter_at(
        &db,
        &[
            "step",
            "run",
            &spiral.display().to_string(),
            "--input",
            r#"{"tree": {"value": 1, "right": {"value": 2}}}"#,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let outputs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(outputs, serde_json::json!({"order": [1, 2]}));
    let looping = examples().join("adversarial/infinite-loop.wasm");
    let out = shutter_at(
        &db,
        &[
            "step",
            "run",
            &looping.display().to_string(),
            "--timeout",
            "200ms",
        ],
    );
    // A deadline is retryable in a workflow: 75, not 1.
    assert_eq!(out.status.code(), Some(75), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("ran past its deadline of 200ms"),
        "{}",
        text(&out.stderr)
    );
    // Text modules run as they are, no build step: WAT components.
    let wat = repo_root().join("wasm-steps/examples/wat");
    let run_wat = |file: &str, input: &str| {
        shutter_at(
            &db,
            &[
                "step",
                "run",
                &wat.join(file).display().to_string(),
                "--input",
                input,
            ],
        )
    };
    let echoed = run_wat("echo.component.wat", r#"{"vm": "web-01"}"#);
    assert!(echoed.status.success(), "{}", text(&echoed.stderr));
    let outputs: serde_json::Value = serde_json::from_slice(&echoed.stdout).expect("json");
    assert_eq!(outputs["echo"], serde_json::json!({"vm": "web-01"}));
    let busy = run_wat("fail.component.wat", "{}");
    assert_eq!(
        busy.status.code(),
        Some(75),
        "retryable: {}",
        text(&busy.stderr)
    );
    assert!(text(&busy.stderr).contains("the array is busy"));
    let trapped = run_wat("trap.component.wat", "{}");
    assert_eq!(
        trapped.status.code(),
        Some(1),
        "fatal: {}",
        text(&trapped.stderr)
    );
    // A mistake in the text is named with its place.
    let broken = dir.path().join("broken.wat");
    std::fs::write(
        &broken,
        "(module\n  (func (export \"_start\") (i32.nope))\n)\n",
    )
    .expect("write");
    let out = shutter_at(&db, &["step", "run", &broken.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("broken.wat:2:"),
        "names the file and line: {}",
        text(&out.stderr)
    );
}

/// `shutter step new NAME --lang LANG` in `dir`, then the project's
/// `build.sh`: the project and build.sh's output. What build.sh needs is
/// installed by wasm-steps/build.sh, which tests/run runs first, so a
/// missing toolchain fails the test (build.sh's stderr says how to install
/// it) rather than skipping it.
fn step_new(dir: &Path, name: &str, lang: &str) -> (PathBuf, std::process::Output) {
    let out = std::process::Command::new(shutter_bin())
        .args(["step", "new", name, "--lang", lang])
        .current_dir(dir)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("{name}/build.sh")),
        "says what to run next: {}",
        text(&out.stdout)
    );
    let project = dir.join(name);
    let built = std::process::Command::new(project.join("build.sh"))
        .output()
        .expect("build.sh runs");
    (project, built)
}

/// Runs `module` (a template's build, or its text) as every template's
/// step behaves: it logs "NAME started" and returns `{"received": <params>}`.
fn assert_template_step_runs(dir: &Path, module: &Path, name: &str) {
    let out = shutter_at(
        &dir.join("s.db"),
        &[
            "step",
            "run",
            &module.display().to_string(),
            "--input",
            r#"{"hello": "world", "n": [1, 2.5]}"#,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let outputs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        outputs,
        serde_json::json!({"received": {"hello": "world", "n": [1, 2.5]}})
    );
    assert!(
        text(&out.stderr).contains(&format!("{name} started")),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn step_new_writes_a_project_that_builds_and_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    // `c` is the default language.
    let out = std::process::Command::new(shutter_bin())
        .args(["step", "new", "hello-step"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("hello-step/main.c").exists());
    let built = std::process::Command::new(dir.path().join("hello-step/build.sh"))
        .output()
        .expect("build.sh runs");
    assert!(built.status.success(), "{}", text(&built.stderr));
    let module = dir.path().join("hello-step/hello-step.wasm");
    assert_template_step_runs(dir.path(), &module, "hello-step");
}

#[test]
fn step_new_knows_its_languages() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(shutter_bin())
        .args(["step", "new", "x", "--lang", "cobol"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(
        text(&out.stderr).contains("c, go, rust, wat, assemblyscript"),
        "lists the languages: {}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("x").exists());
    let out = std::process::Command::new(shutter_bin())
        .args(["step", "new", "1st", "--lang", "go"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not a step name"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn step_new_go_builds_a_wasi_command_that_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (project, built) = step_new(dir.path(), "go-step", "go");
    assert!(built.status.success(), "{}", text(&built.stderr));
    assert_template_step_runs(dir.path(), &project.join("go-step.wasm"), "go-step");
}

#[test]
fn step_new_assemblyscript_builds_a_wasi_command_that_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    // `as` is short for `assemblyscript`.
    let (project, built) = step_new(dir.path(), "as-step", "as");
    assert!(built.status.success(), "{}", text(&built.stderr));
    assert_template_step_runs(dir.path(), &project.join("as-step.wasm"), "as-step");
}

#[test]
fn step_new_wat_runs_without_a_build() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (project, built) = step_new(dir.path(), "wat-step", "wat");
    // Nothing to build: build.sh says so, or writes the binary when
    // wasm-tools is installed.
    assert!(built.status.success(), "{}", text(&built.stderr));
    assert_template_step_runs(dir.path(), &project.join("wat-step.wat"), "wat-step");
    let binary = project.join("wat-step.wasm");
    if binary.exists() {
        assert_template_step_runs(dir.path(), &binary, "wat-step");
    } else {
        assert!(
            text(&built.stdout).contains("cargo install --locked wasm-tools"),
            "{}",
            text(&built.stdout)
        );
    }
}

/// The preferred ABI from the preferred language: a fresh Rust project
/// builds (cargo, wasm32-wasip2, wit-bindgen from crates.io) into a
/// component that runs. tests/run installs the target with rustup.
#[test]
fn step_new_rust_builds_a_component_that_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (project, built) = step_new(dir.path(), "rust-step", "rust");
    assert!(
        built.status.success(),
        "{}{}",
        text(&built.stdout),
        text(&built.stderr)
    );
    let module = project.join("rust-step.wasm");
    let bytes = std::fs::read(&module).expect("build.sh wrote the module");
    // A component's preamble: version 0x0d, layer 1 (a core module is 1, 0).
    assert_eq!(
        bytes.get(..8),
        Some(&b"\0asm\x0d\0\x01\0"[..]),
        "a component"
    );
    assert_template_step_runs(dir.path(), &module, "rust-step");
}

/// Without the target, build.sh says the one command that installs it
/// instead of a cargo error (a `rustup` that lists only the host's).
#[test]
fn step_new_rust_says_how_to_get_its_target_when_it_is_missing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(shutter_bin())
        .args(["step", "new", "rust-step", "--lang", "rust"])
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("writable");
    let rustup = bin.join("rustup");
    std::fs::write(&rustup, "#!/bin/sh\necho x86_64-unknown-linux-gnu\n").expect("writable");
    std::fs::set_permissions(&rustup, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let project = dir.path().join("rust-step");
    let built = std::process::Command::new(project.join("build.sh"))
        .env("PATH", path)
        .output()
        .expect("build.sh runs");
    assert!(!built.status.success());
    assert!(
        text(&built.stderr).contains("rustup target add wasm32-wasip2"),
        "{}",
        text(&built.stderr)
    );
    assert!(!project.join("rust-step.wasm").exists());
}

#[test]
fn retention_keeps_and_deletes_a_multi_volume_backup_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("s.db");
    let retention = examples().join("retention.wasm");
    // Two backups of a two-volume instance on the same day: daily=1 keeps
    // the newer backup, both its volumes, and deletes both of the older.
    let input = serde_json::json!({
        "snapshots": [
            {"id": "snap-a1", "created_at": "2026-11-26T01:00:00Z", "tags": {"set": "run-1"}},
            {"id": "snap-a2", "created_at": "2026-11-26T01:00:01Z", "tags": {"set": "run-1"}},
            {"id": "snap-b1", "created_at": "2026-11-26T02:00:00Z", "tags": {"set": "run-2"}},
            {"id": "snap-b2", "created_at": "2026-11-26T02:00:02Z", "tags": {"set": "run-2"}},
            {"id": "snap-lone", "created_at": "2026-11-20T02:00:00Z"}
        ],
        "policy": {"daily": 1},
        "group_by": "tags.set"
    });
    let out = shutter_at(
        &db,
        &[
            "step",
            "run",
            &retention.display().to_string(),
            "--input",
            &input.to_string(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids = |list: &str| -> Vec<String> {
        let mut ids: Vec<String> = plan[list]
            .as_array()
            .expect("a list")
            .iter()
            .map(|e| e["id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(ids("keep"), ["snap-b1", "snap-b2"], "{plan}");
    assert_eq!(ids("delete"), ["snap-a1", "snap-a2", "snap-lone"], "{plan}");
}

/// A blocking HTTP server on 127.0.0.1 for one test: `/fetch.wasm` is the
/// `fetch` component, `/hello` a JSON greeting; it counts module downloads.
fn module_server(component: Vec<u8>) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{BufRead, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = listener.local_addr().expect("bound").to_string();
    let downloads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = downloads.clone();
    std::thread::spawn(move || {
        for socket in listener.incoming().flatten() {
            let mut reader = std::io::BufReader::new(socket);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
            }
            let (status, body): (&str, Vec<u8>) = match line.split_whitespace().nth(1) {
                Some("/fetch.wasm") => {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    ("200 OK", component.clone())
                }
                Some("/hello") => ("200 OK", br#"{"hello":"from the host"}"#.to_vec()),
                _ => ("404 Not Found", Vec::new()),
            };
            let mut socket = reader.into_inner();
            let _ = write!(
                socket,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = socket.write_all(&body);
        }
    });
    (addr, downloads)
}

#[test]
fn a_module_by_url_calls_the_hosts_its_step_is_granted() {
    let component =
        wat::parse_file(repo_root().join("wasm-steps/examples/wat/fetch.component.wat"))
            .expect("the fixture parses");
    let pin: String = {
        use sha2::Digest;
        sha2::Sha256::digest(&component)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let (addr, downloads) = module_server(component);
    let (proxy, proxied) = proxy_trap();
    let dir = tempfile::tempdir().expect("temp dir");
    let workflow = |name: &str, allow: &str| {
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(
            &file,
            format!(
                "version: 1\nname: {name}\nsteps:\n  call:\n    uses: wasm\n    wasm: {{module: \"http://{addr}/fetch.wasm\", sha256: {pin}, allow: {{http: [{allow}]}}}}\n    with: {{url: \"http://{addr}/hello\"}}\noutputs:\n  status: ${{{{ steps.call.outputs.status }}}}\n  body: ${{{{ steps.call.outputs.body }}}}\n"
            ),
        )
        .expect("writable");
        file.display().to_string()
    };
    let run = |file: &str| {
        std::process::Command::new(shutter_bin())
            .args(["run", file])
            .current_dir(repo_root())
            .env("SHUTTER_DB", dir.path().join("s.db"))
            .env("SHUTTER_CACHE", dir.path().join("cache"))
            // Neither the module fetcher nor the guest's HTTP host may
            // follow proxy variables (a proxy would see the module and
            // the step's traffic).
            .envs(["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"].map(|name| (name, &proxy)))
            .output()
            .expect("shutter starts")
    };
    let granted = run(&workflow("granted", &format!("\"{addr}\"")));
    assert!(granted.status.success(), "{}", text(&granted.stderr));
    let outputs: serde_json::Value = serde_json::from_slice(&granted.stdout).expect("json");
    assert_eq!(outputs["status"], 200, "{outputs}");
    assert_eq!(outputs["body"], r#"{"hello":"from the host"}"#);

    let refused = run(&workflow("refused", "\"example.com\""));
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr).contains(&format!("http to {addr} is not granted to this step")),
        "{}",
        text(&refused.stderr)
    );
    assert_eq!(
        downloads.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the module is downloaded once, then kept by its sha256"
    );
    assert_eq!(
        proxied.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "proxy variables are ignored"
    );
}

/// A listener standing in for a proxy: the URL to set in proxy variables,
/// and how many connections reached it.
fn proxy_trap() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for _socket in listener.incoming().flatten() {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (url, connections)
}
