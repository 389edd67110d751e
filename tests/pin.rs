//! A module under development: `sha256: dev` runs whatever the file holds
//! (a rebuild needs no new pin), `shutter step pin` writes the real pins in
//! place, and a server refuses `dev` unless started `--allow-unpinned`.

use std::path::Path;

use shutter_tests::served::Served;
use shutter_tests::shutter_bin;

/// A WASI command whose outputs are `{"version": N}`.
fn command_module(version: u32) -> Vec<u8> {
    let json = format!("{{\\\"version\\\": {version}}}");
    let length = json.len() - json.matches('\\').count();
    wat::parse_str(format!(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write"
                (func $fd_write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            (data (i32.const 64) "{json}")
            (func (export "_start")
                (i32.store (i32.const 0) (i32.const 64))
                (i32.store (i32.const 4) (i32.const {length}))
                (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#
    ))
    .expect("valid text")
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn shutter_in(dir: &Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(shutter_bin())
        .args(args)
        .current_dir(dir)
        .env("SHUTTER_DB", dir.join("s.db"))
        .env("NO_COLOR", "1")
        .output()
        .expect("shutter starts")
}

/// The workflow's written layout: comments, a block and a flow mapping,
/// quoted and plain pins.
const WORKFLOW: &str = "\
version: 1
name: dev-loop
# the step under development
steps:
  build:
    uses: wasm
    wasm:
      module: step.wasm   # ./build.sh writes it
      sha256: dev         # `shutter step pin` pins it
  again:
    uses: wasm
    needs: build
    wasm: {module: \"step.wasm\", sha256: \"dev\", memory: 16MiB}
outputs:
  version: ${{ steps.again.outputs.version }}
";

#[test]
fn a_module_under_development_runs_what_its_file_holds_until_step_pin_pins_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("dev.yaml");
    std::fs::write(&file, WORKFLOW).expect("writable");
    let module = dir.path().join("step.wasm");
    for version in [1, 2] {
        // A rebuild: the next run runs it, no pin pasted in between.
        std::fs::write(&module, command_module(version)).expect("writable");
        let out = shutter_in(dir.path(), &["run", "dev.yaml"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let outputs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(outputs, serde_json::json!({"version": version}));
    }
    let validated = shutter_in(dir.path(), &["validate", "dev.yaml"]);
    assert!(validated.status.success(), "{}", text(&validated.stderr));
    assert!(
        text(&validated.stderr).contains("unpinned (`sha256: dev`)"),
        "validate warns: {}",
        text(&validated.stderr)
    );

    let check = shutter_in(dir.path(), &["step", "pin", "--check", "dev.yaml"]);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check.stderr));
    assert_eq!(std::fs::read_to_string(&file).expect("readable"), WORKFLOW);

    let pinned = shutter_in(dir.path(), &["step", "pin", "dev.yaml"]);
    assert!(pinned.status.success(), "{}", text(&pinned.stderr));
    let hash = sha256(&std::fs::read(&module).expect("readable"));
    assert_eq!(
        std::fs::read_to_string(&file).expect("readable"),
        WORKFLOW
            .replace("dev         #", &format!("{hash}         #"))
            .replace("\"dev\"", &format!("\"{hash}\"")),
        "only the two values changed"
    );
    assert!(
        text(&pinned.stdout).contains("step `again`: step.wasm"),
        "{}",
        text(&pinned.stdout)
    );
    let check = shutter_in(dir.path(), &["step", "pin", "--check", "dev.yaml"]);
    assert!(check.status.success(), "{}", text(&check.stdout));
    assert!(text(&check.stdout).contains("pinned already"));

    // Pinned now: a rebuild no longer runs until it is pinned again.
    std::fs::write(&module, command_module(3)).expect("writable");
    let out = shutter_in(dir.path(), &["run", "dev.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("does not match its pin"),
        "{}",
        text(&out.stderr)
    );
    let pinned = shutter_in(dir.path(), &["step", "pin", "dev.yaml"]);
    assert!(pinned.status.success(), "{}", text(&pinned.stderr));
    let out = shutter_in(dir.path(), &["run", "dev.yaml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let outputs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(outputs, serde_json::json!({"version": 3}));
}

/// A workflow reached through a symbolic link (a dotfiles checkout, a
/// deploy directory): the file it points to is pinned, the link stays.
#[test]
fn step_pin_through_a_link_pins_the_file_and_keeps_the_link() {
    let dir = tempfile::tempdir().expect("temp dir");
    let real = dir.path().join("real");
    std::fs::create_dir(&real).expect("writable");
    std::fs::write(real.join("dev.yaml"), WORKFLOW).expect("writable");
    std::fs::write(dir.path().join("step.wasm"), command_module(1)).expect("writable");
    std::fs::copy(dir.path().join("step.wasm"), real.join("step.wasm")).expect("copied");
    std::os::unix::fs::symlink(real.join("dev.yaml"), dir.path().join("dev.yaml")).expect("link");
    let pinned = shutter_in(dir.path(), &["step", "pin", "dev.yaml"]);
    assert!(pinned.status.success(), "{}", text(&pinned.stderr));
    let link = std::fs::symlink_metadata(dir.path().join("dev.yaml")).expect("there");
    assert!(link.file_type().is_symlink(), "the link stays a link");
    let written = std::fs::read_to_string(real.join("dev.yaml")).expect("readable");
    assert!(!written.contains("sha256: dev"), "{written}");
    assert!(written.contains(&sha256(&command_module(1))), "{written}");
}

#[test]
fn step_pin_changes_nothing_when_it_cannot_pin() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("dev.yaml");
    // The module is missing: nothing is written, the error says which.
    std::fs::write(&file, WORKFLOW).expect("writable");
    let out = shutter_in(dir.path(), &["step", "pin", "dev.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("module `step.wasm` does not exist"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).expect("readable"), WORKFLOW);
    // A module by URL cannot be `dev`: there is no file to read.
    let by_url = "version: 1\nname: u\nsteps:\n  a:\n    uses: wasm\n    wasm: {module: \"https://example.com/m.wasm\", sha256: dev}\n";
    std::fs::write(&file, by_url).expect("writable");
    let out = shutter_in(dir.path(), &["validate", "dev.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("a module named by URL must be pinned")
            && text(&out.stderr).contains("dev.yaml:6:"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn a_server_refuses_unpinned_modules_unless_allowed() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("dev.yaml"), WORKFLOW).expect("writable");
    std::fs::write(dir.path().join("step.wasm"), command_module(7)).expect("writable");
    let workflows = dir.path().display().to_string();

    let db = dir.path().join("refusing.db").display().to_string();
    let refusing = Served::start(["--db", &db, "--workflows", &workflows]).await;
    let listed = refusing.get("/workflows/dev-loop").await;
    assert_eq!(listed["error"]["code"], "not_found", "{listed}");
    drop(refusing);

    let db = dir.path().join("allowing.db").display().to_string();
    let allowing =
        Served::start(["--db", &db, "--workflows", &workflows, "--allow-unpinned"]).await;
    let (status, started) = allowing
        .post("/workflows/dev-loop/executions", &serde_json::json!({}))
        .await;
    assert_eq!(status, 201, "{started}");
    let id = started["id"].as_str().expect("an id");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let detail = allowing.get(&format!("/executions/{id}?wait=5s")).await;
        if detail["state"] == "succeeded" {
            assert_eq!(detail["outputs"], serde_json::json!({"version": 7}));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline && detail["state"] != "failed",
            "{id} did not succeed: {detail:#}"
        );
    }
}
