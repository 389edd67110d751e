#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The host against real guests: the C examples built from source by
//! `wasm-steps/build.sh` (`tests/run` builds them into
//! `$SHUTTER_WASM_EXAMPLES`), and small WAT modules for edge cases. Every
//! failure must end as an explained `Failure`, with the host still usable.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};
use shutter_wasm::{Abi, Failure, Grants, Limits, Run, WasmHost};

fn examples() -> PathBuf {
    let dir = std::env::var_os("SHUTTER_WASM_EXAMPLES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../wasm-steps/target"),
        PathBuf::from,
    );
    assert!(
        dir.join("spiral.wasm").exists(),
        "no example modules in {}: build them with `wasm-steps/build.sh {}` (tests/run does)",
        dir.display(),
        dir.display()
    );
    dir
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn host() -> WasmHost {
    WasmHost::new(None).unwrap()
}

fn run_bytes(host: &WasmHost, bytes: &[u8], params: Json, limits: Limits) -> shutter_wasm::Outcome {
    let loaded = host.load(bytes, &sha(bytes)).unwrap();
    host.run(
        &loaded,
        Run {
            params,
            limits,
            grants: Grants::default(),
            canceled: Arc::new(AtomicBool::new(false)),
            runtime: None,
        },
    )
}

fn run_example(host: &WasmHost, name: &str, params: Json, limits: Limits) -> shutter_wasm::Outcome {
    let bytes = std::fs::read(examples().join(name)).unwrap();
    run_bytes(host, &bytes, params, limits)
}

/// An example that takes no parameters, run under the default limits.
fn run_plain(host: &WasmHost, name: &str) -> shutter_wasm::Outcome {
    run_example(host, name, json!({}), Limits::default())
}

fn tree(value: i64, left: Json, right: Json) -> Json {
    json!({"value": value, "left": left, "right": right})
}

/// 1(2(4,5),3(6,7)): its spiral order is [1, 2, 3, 7, 6, 5, 4].
fn seven_nodes() -> Json {
    let leaf = |value| tree(value, Json::Null, Json::Null);
    tree(1, tree(2, leaf(4), leaf(5)), tree(3, leaf(6), leaf(7)))
}

#[test]
fn spiral_runs_as_a_wasi_command() {
    let host = host();
    let seven = seven_nodes();
    let out = run_example(
        &host,
        "spiral.wasm",
        json!({"tree": seven}),
        Limits::default(),
    );
    assert_eq!(out.result, Ok(json!({"order": [1, 2, 3, 7, 6, 5, 4]})));
    let empty = run_example(
        &host,
        "spiral.wasm",
        json!({"tree": null}),
        Limits::default(),
    );
    assert_eq!(empty.result, Ok(json!({"order": []})));
    let bytes = std::fs::read(examples().join("spiral.wasm")).unwrap();
    assert_eq!(shutter_wasm::detect(&bytes), Ok(Abi::Command));
}

#[test]
fn a_bad_input_is_a_fatal_failure_with_the_guests_message() {
    let out = run_example(
        &host(),
        "spiral.wasm",
        json!({"tree": {"left": null}}),
        Limits::default(),
    );
    match out.result {
        Err(Failure::Guest {
            message,
            retryable: false,
        }) => assert!(message.contains("value"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_infinite_loop_is_stopped_at_its_deadline() {
    let start = Instant::now();
    let out = run_example(
        &host(),
        "adversarial/infinite-loop.wasm",
        json!({}),
        Limits {
            timeout: Duration::from_millis(200),
            ..Limits::default()
        },
    );
    assert_eq!(
        out.result,
        Err(Failure::Deadline(Duration::from_millis(200)))
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn cancel_stops_a_running_guest() {
    let host = Arc::new(host());
    let bytes = std::fs::read(examples().join("adversarial/infinite-loop.wasm")).unwrap();
    let loaded = host.load(&bytes, &sha(&bytes)).unwrap();
    let canceled = Arc::new(AtomicBool::new(false));
    let flag = canceled.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    let out = host.run(
        &loaded,
        Run {
            params: json!({}),
            limits: Limits::default(),
            grants: Grants::default(),
            canceled,
            runtime: None,
        },
    );
    assert_eq!(out.result, Err(Failure::Canceled));
}

#[test]
fn a_memory_bomb_hits_the_cap() {
    let out = run_example(
        &host(),
        "adversarial/memory-bomb.wasm",
        json!({}),
        Limits {
            memory: 16 << 20,
            ..Limits::default()
        },
    );
    assert_eq!(out.result, Err(Failure::OutOfMemory(16 << 20)));
}

#[test]
fn deep_recursion_traps_with_a_clear_message() {
    let out = run_plain(&host(), "adversarial/deep-recursion.wasm");
    match out.result {
        Err(Failure::Trap(message)) => assert!(
            message.contains("out of bounds") || message.contains("stack overflow"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_filesystem_and_sockets_are_out_of_reach() {
    let host = host();
    let passwd = run_plain(&host, "adversarial/read-passwd.wasm");
    let out = passwd.result.unwrap();
    assert_eq!(out["opened"], false, "{out}");
    let socket = run_plain(&host, "adversarial/open-socket.wasm");
    let out = socket.result.unwrap();
    assert_eq!(out["sockets"], 0, "{out}");
}

#[test]
fn output_must_be_bounded_json_in_utf8() {
    let host = host();
    let huge = run_plain(&host, "adversarial/huge-output.wasm");
    assert_eq!(huge.result, Err(Failure::OutputTooLarge(1 << 20)));
    let bad = run_plain(&host, "adversarial/bad-json.wasm");
    assert!(
        matches!(bad.result, Err(Failure::InvalidOutput(ref m)) if m.starts_with("valid JSON")),
        "{:?}",
        bad.result
    );
    let bytes = run_plain(&host, "adversarial/bad-utf8.wasm");
    assert!(
        matches!(bytes.result, Err(Failure::InvalidOutput(ref m)) if m.starts_with("valid UTF-8")),
        "{:?}",
        bytes.result
    );
}

/// A guest that goes on writing after its writes fail (it ignores the
/// errors) is stopped when it passes the cap, not at its deadline.
#[test]
fn a_guest_writing_past_the_output_cap_is_stopped_at_once() {
    let module = wat::parse_str(
        r#"(module
            (import "wasi_snapshot_preview1" "fd_write"
                (func $fd_write (param i32 i32 i32 i32) (result i32)))
            (memory (export "memory") 1)
            ;; one iovec at 0: 4096 bytes from 4096
            (data (i32.const 0) "\00\10\00\00\00\10\00\00")
            (func (export "_start")
                (loop $again
                    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 16)))
                    (br $again))))"#,
    )
    .unwrap();
    let limits = Limits {
        timeout: Duration::from_secs(120),
        ..Limits::default()
    };
    let started = Instant::now();
    let outcome = run_bytes(&host(), &module, json!({}), limits);
    assert_eq!(outcome.result, Err(Failure::OutputTooLarge(1 << 20)));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "stopped at the cap, not run to its 120 s deadline: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_pinned_hash_that_does_not_match_refuses_to_load() {
    let bytes = std::fs::read(examples().join("echo.wasm")).unwrap();
    let err = host().load(&bytes, &"0".repeat(64)).unwrap_err();
    assert!(
        matches!(err, Failure::Load(ref m) if m.contains("does not match its pin")
            && !m.contains(&sha(&bytes))),
        "{err:?}"
    );
}

#[test]
fn exit_75_is_retryable_and_stderr_becomes_logs() {
    let wat = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (data (i32.const 100) "starting\nthe array is busy\n")
        (func (export "_start")
            (i32.store (i32.const 0) (i32.const 100))
            (i32.store (i32.const 4) (i32.const 27))
            (drop (call $write (i32.const 2) (i32.const 0) (i32.const 1) (i32.const 8)))
            (call $exit (i32.const 75))))"#;
    let out = run_bytes(
        &host(),
        &wat::parse_str(wat).unwrap(),
        json!({}),
        Limits::default(),
    );
    assert_eq!(
        out.result,
        Err(Failure::Guest {
            message: "the array is busy".into(),
            retryable: true
        })
    );
    assert_eq!(out.logs.len(), 2);
}

#[test]
fn a_module_without_start_or_with_unknown_imports_is_explained() {
    let host = host();
    let no_start = wat::parse_str("(module (memory (export \"memory\") 1))").unwrap();
    let out = run_bytes(&host, &no_start, json!({}), Limits::default());
    assert!(
        matches!(out.result, Err(Failure::Load(ref m)) if m.contains("no `_start`")),
        "{:?}",
        out.result
    );
    let foreign =
        wat::parse_str("(module (import \"env\" \"open_door\" (func)) (func (export \"_start\")))")
            .unwrap();
    let err = host.load(&foreign, &sha(&foreign)).unwrap_err();
    assert!(
        matches!(err, Failure::Load(ref m) if m.contains("does not provide") && m.contains("open_door")),
        "{err:?}"
    );
    let garbage = b"\0asm\x01\0\0\0\x99\x99";
    assert!(matches!(
        host.load(garbage, &sha(garbage)),
        Err(Failure::Load(_))
    ));
}

#[test]
fn the_host_keeps_working_after_hostile_guests() {
    let host = host();
    for name in [
        "adversarial/infinite-loop.wasm",
        "adversarial/memory-bomb.wasm",
        "adversarial/deep-recursion.wasm",
        "adversarial/huge-output.wasm",
    ] {
        let out = run_example(
            &host,
            name,
            json!({}),
            Limits {
                timeout: Duration::from_millis(100),
                memory: 16 << 20,
                ..Limits::default()
            },
        );
        assert!(out.result.is_err(), "{name}");
    }
    let out = run_example(
        &host,
        "echo.wasm",
        json!({"still": "alive"}),
        Limits::default(),
    );
    assert_eq!(out.result, Ok(json!({"echo": {"still": "alive"}})));
}

#[test]
fn compiled_modules_are_cached_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(examples().join("echo.wasm")).unwrap();
    {
        let host = WasmHost::new(Some(dir.path().to_path_buf())).unwrap();
        host.load(&bytes, &sha(&bytes)).unwrap();
    }
    let cached: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        cached
            .iter()
            .any(|name| name.starts_with(&sha(&bytes)) && name.ends_with(".cwasm")),
        "{cached:?}"
    );
    // A second host loads the artifact instead of compiling, and it runs.
    let host = WasmHost::new(Some(dir.path().to_path_buf())).unwrap();
    let out = run_bytes(&host, &bytes, json!({"n": 1}), Limits::default());
    assert_eq!(out.result, Ok(json!({"echo": {"n": 1}})));
}

#[test]
fn spiral_in_every_verified_language_gives_the_same_order() {
    let host = host();
    let seven = seven_nodes();
    for module in [
        "spiral.wasm",
        "spiral-go.wasm",
        "spiral-zig.wasm",
        "spiral-as.wasm",
    ] {
        let out = run_example(&host, module, json!({"tree": seven}), Limits::default());
        assert_eq!(
            out.result,
            Ok(json!({"order": [1, 2, 3, 7, 6, 5, 4]})),
            "{module}"
        );
        let empty = run_example(&host, module, json!({"tree": null}), Limits::default());
        assert_eq!(empty.result, Ok(json!({"order": []})), "{module}");
        for (tree, order) in one_sided_and_ragged() {
            let out = run_example(&host, module, json!({"tree": tree}), Limits::default());
            assert_eq!(out.result, Ok(json!({"order": order})), "{module}: {tree}");
        }
    }
}

/// Hand-built trees whose levels are not full, with their spiral orders
/// (level 1 left to right, level 2 right to left, and so on).
fn one_sided_and_ragged() -> Vec<(Json, Json)> {
    let leaf = |value| tree(value, Json::Null, Json::Null);
    let left_only = tree(
        1,
        tree(2, tree(3, leaf(4), Json::Null), Json::Null),
        Json::Null,
    );
    let right_only = tree(
        1,
        Json::Null,
        tree(2, Json::Null, tree(3, Json::Null, leaf(4))),
    );
    // levels [1] [2 3] [4 5] [6 7]
    let ragged = tree(
        1,
        tree(2, leaf(4), Json::Null),
        tree(3, Json::Null, tree(5, leaf(6), leaf(7))),
    );
    vec![
        (left_only, json!([1, 2, 3, 4])),
        (right_only, json!([1, 2, 3, 4])),
        (ragged, json!([1, 2, 3, 5, 4, 6, 7])),
        (leaf(9), json!([9])),
    ]
}
