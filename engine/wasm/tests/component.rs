#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The component ABI (`shutter:step/workflow-step`) with the hand-written
//! WAT fixtures of `wasm-steps/examples/wat/`: outputs, host logs and
//! progress, secrets only when granted, guest failures and traps.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde_json::json;
use sha2::{Digest, Sha256};
use shutter_core::{LogLevel, Secrets};
use shutter_wasm::{Abi, Failure, Grants, Limits, Outcome, Run, WasmHost};

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../wasm-steps/examples/wat")
        .join(name);
    wat::parse_file(&path).unwrap()
}

fn run(bytes: &[u8], grants: Grants) -> Outcome {
    let host = WasmHost::new(None).unwrap();
    let digest: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let loaded = host.load(bytes, &digest).unwrap();
    assert_eq!(loaded.abi, Abi::Component);
    host.run(
        &loaded,
        Run {
            params: json!({"a": 1}),
            limits: Limits::default(),
            grants,
            canceled: Arc::new(AtomicBool::new(false)),
            runtime: None,
        },
    )
}

#[test]
fn a_component_returns_outputs_and_reports_logs_and_progress() {
    let out = run(&fixture("echo.component.wat"), Grants::default());
    assert_eq!(
        out.result,
        Ok(json!({"echo": {"a": 1}, "has_token": false}))
    );
    assert_eq!(out.logs, vec![(LogLevel::Info, "echo called".to_owned())]);
    assert_eq!(out.progress, vec![(50, "halfway".to_owned())]);
}

#[test]
fn a_secret_is_visible_only_when_granted() {
    let granted = Grants {
        secrets: Secrets::new(BTreeMap::from([("token".to_owned(), "s3cret".to_owned())])),
        env: Vec::new(),
        http: Vec::new(),
    };
    let out = run(&fixture("echo.component.wat"), granted);
    assert_eq!(out.result, Ok(json!({"echo": {"a": 1}, "has_token": true})));
}

#[test]
fn a_guest_failure_keeps_its_message_and_retryability() {
    let out = run(&fixture("fail.component.wat"), Grants::default());
    assert_eq!(
        out.result,
        Err(Failure::Guest {
            message: "the array is busy".to_owned(),
            retryable: true
        })
    );
}

#[test]
fn a_trapping_component_is_a_failed_step() {
    let out = run(&fixture("trap.component.wat"), Grants::default());
    match out.result {
        Err(Failure::Trap(message)) => assert!(message.contains("unreachable"), "{message}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_core_module_is_not_taken_for_a_component() {
    let module = wat::parse_str("(module (func (export \"_start\")))").unwrap();
    assert_eq!(shutter_wasm::detect(&module), Ok(Abi::Command));
}
