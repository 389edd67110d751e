#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The vRO actions against the fake in `support/vro_fake.rs` (vRO has no
//! public simulator): run, wait (with its deadline), outputs, failure,
//! cancel, progress, auth.

mod support;

use serde_json::{Value as Json, json};
use shutter_core::{ActionError, Change};
use support::{fatal, run_vro, run_vro_in, vro_fake};

fn basic(url: &str) -> Json {
    json!({"url": url, "username": vro_fake::USER, "password_secret": "vro_password"})
}

const SECRETS: &[(&str, &str)] = &[
    ("vro_password", vro_fake::PASSWORD),
    ("vro_token", vro_fake::TOKEN),
];

async fn start(vro: &Json, workflow: &str, parameters: Json) -> String {
    let (out, _) = run_vro(
        "vro.workflow.run",
        json!({"vro": vro, "workflow": workflow, "parameters": parameters}),
        SECRETS,
    )
    .await;
    out.unwrap()["execution"].as_str().unwrap().to_owned()
}

/// A fresh fake reached with basic auth, and an execution of `workflow`
/// started on it.
async fn started(workflow: &str, parameters: Json) -> (Json, String) {
    let vro = basic(&vro_fake::start().await);
    let execution = start(&vro, workflow, parameters).await;
    (vro, execution)
}

async fn cancel(vro: &Json, workflow: &str, execution: &str) -> Result<Json, ActionError> {
    let (out, _) = run_vro(
        "vro.workflow.cancel",
        json!({"vro": vro, "workflow": workflow, "execution": execution}),
        SECRETS,
    )
    .await;
    out
}

async fn wait(
    vro: &Json,
    workflow: &str,
    execution: &str,
) -> (Result<Json, ActionError>, Vec<Change>) {
    run_vro(
        "vro.workflow.wait",
        json!({"vro": vro, "workflow": workflow, "execution": execution, "poll_interval": "5ms", "max_poll_interval": "20ms"}),
        SECRETS,
    )
    .await
}

/// Runs `workflow` on a fresh fake reached with basic auth, its password
/// from `secrets`; the run must fail fatally: its message.
async fn fatal_run(workflow: &str, secrets: &[(&str, &str)]) -> String {
    let url = vro_fake::start().await;
    let (out, _) = run_vro(
        "vro.workflow.run",
        json!({"vro": basic(&url), "workflow": workflow}),
        secrets,
    )
    .await;
    fatal(out)
}

#[tokio::test]
async fn run_then_wait_maps_typed_outputs_back_to_plain_values() {
    let inputs = json!({
        "vmName": "web-01",
        "count": 3,
        "force": true,
        "tags": ["a", "b"],
        "target": {"type": "VC:VirtualMachine", "id": "vc-1/vm-7"},
    });
    let (vro, execution) = started("echo", inputs.clone()).await;
    assert!(execution.starts_with("exec-"), "{execution}");
    let (out, _) = wait(&vro, "echo", &execution).await;
    let out = out.unwrap();
    assert_eq!(out["state"], "completed");
    assert_eq!(out["execution"], execution.as_str());
    let outputs = &out["outputs"];
    for (name, value) in inputs.as_object().unwrap() {
        assert_eq!(&outputs[name], value, "output {name}");
    }
    assert_eq!(outputs["greeting"], "hello");
    assert_eq!(
        outputs["vm"],
        json!({"type": "VC:VirtualMachine", "id": "vc-1/vm-42"})
    );
    assert!(out["end_date"].is_string());
}

#[tokio::test]
async fn bearer_auth_works_too() {
    let url = vro_fake::start().await;
    let vro = json!({"url": format!("{url}/vco/api"), "token_secret": "vro_token"});
    let execution = start(&vro, "echo", json!({})).await;
    let (out, _) = wait(&vro, "echo", &execution).await;
    assert_eq!(out.unwrap()["outputs"]["greeting"], "hello");
}

#[tokio::test]
async fn a_failed_execution_is_fatal_with_its_content_exception() {
    let (vro, execution) = started("fails", json!({"vmName": "db-02"})).await;
    let (out, _) = wait(&vro, "fails", &execution).await;
    let message = fatal(out);
    assert!(
        message.starts_with(&format!(
            "vro workflow fails execution {execution} failed: "
        )),
        "{message}"
    );
    assert!(message.contains("datastore is full"), "{message}");
}

#[tokio::test]
async fn waiting_for_input_is_reported_as_progress() {
    let (vro, execution) = started("needs-input", json!({})).await;
    let (out, changes) = wait(&vro, "needs-input", &execution).await;
    assert_eq!(out.unwrap()["state"], "completed");
    let progress: Vec<String> = changes
        .iter()
        .filter_map(|c| match c {
            Change::Progress { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect();
    assert!(
        progress
            .iter()
            .any(|m| m.ends_with("waiting for user interaction")),
        "{progress:?}"
    );
    assert!(
        progress.iter().any(|m| m.ends_with(": running")),
        "{progress:?}"
    );
}

#[tokio::test]
async fn a_wait_ends_at_its_deadline_and_says_so() {
    let (vro, execution) = started("forever", json!({})).await;
    let (out, _) = run_vro(
        "vro.workflow.wait",
        json!({"vro": vro, "workflow": "forever", "execution": execution, "poll_interval": "10ms", "max_poll_interval": "20ms", "wait_timeout": "200ms"}),
        SECRETS,
    )
    .await;
    // Retryable: the step's retry policy may wait again; vRO runs on.
    let Err(ActionError::Retryable { message, .. }) = out else {
        panic!("expected a retryable end of the wait, got {out:?}");
    };
    assert_eq!(
        message,
        format!("vro workflow forever execution {execution}: still not done after 200ms")
    );
    let out = cancel(&vro, "forever", &execution).await;
    assert_eq!(out.unwrap()["state"], "canceled");
}

#[tokio::test]
async fn cancel_stops_an_execution_and_wait_then_fails() {
    let (vro, execution) = started("forever", json!({})).await;
    let out = cancel(&vro, "forever", &execution).await;
    assert_eq!(out.unwrap()["state"], "canceled");
    let (out, _) = wait(&vro, "forever", &execution).await;
    let message = fatal(out);
    assert!(message.contains("was canceled in vro"), "{message}");
}

#[tokio::test]
async fn wrong_credentials_are_a_clear_fatal_error() {
    let message = fatal_run("echo", &[("vro_password", "wrong")]).await;
    assert!(
        message.contains("vro refused the credentials (401 Unauthorized"),
        "{message}"
    );
    assert!(message.contains("Basic(vro-user)"), "{message}");
    assert!(
        !message.contains("wrong"),
        "the password must not leak: {message}"
    );
}

#[tokio::test]
async fn an_unknown_workflow_is_fatal() {
    let message = fatal_run("nope", SECRETS).await;
    assert!(message.contains("not found (404)"), "{message}");
}

#[tokio::test]
async fn a_named_server_from_shutters_config_runs_a_workflow() {
    let url = vro_fake::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), format!("{}\n", vro_fake::TOKEN)).unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "vro_servers:\n  basic:\n    url: {url}\n    username: {}\n    password_env: VRO_PASSWORD\n  bearer:\n    url: {url}/vco/api\n    token_file: token\n",
            vro_fake::USER
        ),
    )
    .unwrap();
    let path = config.display().to_string();
    let env = support::env_with_config(&[
        ("SHUTTER_CONFIG", &path),
        ("VRO_PASSWORD", vro_fake::PASSWORD),
    ]);
    for server in ["basic", "bearer"] {
        let (started, _) = run_vro_in(
            env.clone(),
            "vro.workflow.run",
            json!({"vro": server, "workflow": "echo", "parameters": {"vmName": "web-01"}}),
        )
        .await;
        let execution = started.unwrap()["execution"].as_str().unwrap().to_owned();
        let (waited, _) = run_vro_in(
            env.clone(),
            "vro.workflow.wait",
            json!({"vro": server, "workflow": "echo", "execution": execution, "poll_interval": "5ms"}),
        )
        .await;
        assert_eq!(waited.unwrap()["state"], "completed", "{server}");
    }
    let (unknown, _) = run_vro_in(
        env.clone(),
        "vro.workflow.run",
        json!({"vro": "bearr", "workflow": "echo"}),
    )
    .await;
    let message = unknown.unwrap_err().to_string();
    assert!(message.contains("did you mean `bearer`"), "{message}");
    // the wrong password from the environment is refused by vRO, never shown
    let wrong = support::env_with_config(&[("SHUTTER_CONFIG", &path), ("VRO_PASSWORD", "not-it")]);
    let (refused, _) = run_vro_in(
        wrong,
        "vro.workflow.run",
        json!({"vro": "basic", "workflow": "echo"}),
    )
    .await;
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("401"), "{message}");
    assert!(!message.contains("not-it"), "{message}");
}
