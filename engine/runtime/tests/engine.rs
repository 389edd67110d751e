#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The executor's behaviour, on the in-memory store with paused tokio time:
//! no test sleeps for real; time jumps when every task waits.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use shutter_core::{
    Action, ActionContext, ActionError, Change, Claim, ExecutionRecord, ExecutionSnapshot,
    ExecutionState, Page, Secrets, StepState, Store,
};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::Engine;
use shutter_store::MemoryStore;
use tokio_util::sync::CancellationToken;

#[path = "support/busy.rs"]
mod busy;
mod support;
use busy::Busy;

/// Fails with a retryable error until its `succeed_on` try; notes when each try ran.
#[derive(Debug, Default)]
struct Flaky {
    tries: Mutex<Vec<tokio::time::Instant>>,
}

#[async_trait]
impl Action for Flaky {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let succeed_on = ctx
            .params
            .get("succeed_on")
            .and_then(Json::as_u64)
            .unwrap_or(1) as usize;
        let mut tries = self.tries.lock().unwrap();
        tries.push(tokio::time::Instant::now());
        if tries.len() >= succeed_on {
            Ok(json!({"tries": tries.len()}))
        } else {
            Err(ActionError::retryable(format!(
                "try {} failed",
                tries.len()
            )))
        }
    }
}

/// The string parameter `name`.
fn string(ctx: &ActionContext, name: &str) -> Result<String, ActionError> {
    shutter_core::parse_param(name, ctx.param(name)?)
}

/// Says whether the secret its `name` parameter names was granted.
#[derive(Debug, Default)]
struct SecretReader;

#[async_trait]
impl Action for SecretReader {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let name = string(ctx, "name")?;
        Ok(json!({"granted": ctx.secrets.get(&name).map(str::len)}))
    }
}

/// Echoes the secret its `name` parameter names back in the ways a client
/// library might: URL-encoded in a log line, base64 in a basic-auth
/// header, JSON-escaped and as a key in its outputs, and in its error.
#[derive(Debug, Default)]
struct Leaky;

#[async_trait]
impl Action for Leaky {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        use base64::Engine as _;
        let value = ctx
            .secrets
            .get(&string(ctx, "name")?)
            .unwrap_or("")
            .to_owned();
        // As `encodeURIComponent` does.
        let encoded: String = value
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        ctx.log(shutter_core::LogLevel::Info, format!("GET /?key={encoded}"));
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("admin:{value}"));
        ctx.log(
            shutter_core::LogLevel::Info,
            format!("Authorization: Basic {basic}"),
        );
        let said = format!("server said: {}", serde_json::to_string(&value).unwrap());
        match ctx.params.get("fail") {
            Some(Json::Bool(true)) => return Err(ActionError::fatal(said)),
            Some(Json::String(how)) if how == "retry" => return Err(ActionError::retryable(said)),
            _ => {}
        }
        let mut outputs = serde_json::Map::new();
        outputs.insert(value.clone(), json!({"echo": value}));
        Ok(Json::Object(outputs))
    }
}

/// Logs and fails with what its sensitive `auth` parameter resolved to.
#[derive(Debug, Default)]
struct Echo;

#[async_trait]
impl Action for Echo {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let auth = string(ctx, "auth")?;
        ctx.log(shutter_core::LogLevel::Info, format!("sending {auth}"));
        if ctx.params.get("succeed") == Some(&Json::Bool(true)) {
            return Ok(json!({ "sent": auth }));
        }
        Err(ActionError::fatal(format!("401 for {auth}")))
    }
}

/// Panics, as a buggy action might.
#[derive(Debug, Default)]
struct Panics;

#[async_trait]
impl Action for Panics {
    async fn run(&self, _ctx: &ActionContext) -> Result<Json, ActionError> {
        let items: Vec<u8> = Vec::new();
        Ok(json!({"first": items[3]}))
    }
}

/// Never ends unless canceled or timed out (a hung undo).
#[derive(Debug, Default)]
struct Hangs;

#[async_trait]
impl Action for Hangs {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        ctx.cancel.cancelled().await;
        Err(ActionError::Canceled)
    }
}

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    flaky: Arc<Flaky>,
    busy: Arc<Busy>,
}

fn harness() -> Harness {
    harness_with(Secrets::default())
}

/// A harness whose secret `token` is `hunter2-very-secret`.
fn harness_with_token() -> Harness {
    harness_with(support::token_secret())
}

fn harness_with(secrets: Secrets) -> Harness {
    let store = Arc::new(MemoryStore::new());
    let flaky = Arc::new(Flaky::default());
    let busy = Arc::new(Busy::default());
    let mut catalog = shutter_providers::catalog();
    catalog.register(
        ActionSpec::new("test.flaky", "fails, then succeeds")
            .optional("succeed_on", ParamType::Integer, None, "")
            .output("tries", ParamType::Integer, ""),
    );
    catalog.register(ActionSpec::new("test.busy", "sleeps 10s"));
    catalog.register(
        ActionSpec::new("test.secret", "reads a secret by name")
            .param("name", ParamType::String, "")
            .output("granted", ParamType::Any, ""),
    );
    catalog.register(
        ActionSpec::new("test.leaky", "echoes a secret in many forms")
            .param("name", ParamType::String, "")
            .optional(
                "fail",
                ParamType::Any,
                None,
                "true: fatally; \"retry\": retryably",
            )
            .with_dynamic_outputs(),
    );
    catalog.register(
        ActionSpec::new("test.echo", "echoes a sensitive parameter")
            .param("auth", ParamType::String, "")
            .sensitive()
            .optional("succeed", ParamType::Boolean, None, "")
            .output("sent", ParamType::String, ""),
    );
    catalog.register(ActionSpec::new("test.panics", "panics"));
    catalog.register(ActionSpec::new("test.hangs", "never ends"));
    let mut actions = shutter_providers::registry();
    actions.register("test.leaky", Arc::new(Leaky));
    actions.register("test.echo", Arc::new(Echo));
    actions.register("test.panics", Arc::new(Panics));
    actions.register("test.hangs", Arc::new(Hangs));
    actions.register("test.flaky", flaky.clone());
    actions.register("test.busy", busy.clone());
    actions.register("test.secret", Arc::new(SecretReader));
    Harness {
        engine: support::engine_with_secrets(store.clone(), actions, catalog, secrets),
        store,
        flaky,
        busy,
    }
}

impl Harness {
    async fn start(
        &self,
        yaml: &str,
        inputs: Json,
    ) -> (shutter_core::ExecutionId, Arc<shutter_dsl::Plan>) {
        support::start(&self.engine, yaml, &inputs).await
    }

    async fn run(&self, yaml: &str, inputs: Json) -> (ExecutionRecord, ExecutionSnapshot) {
        self.run_with(yaml, inputs, CancellationToken::new()).await
    }

    async fn run_with(
        &self,
        yaml: &str,
        inputs: Json,
        cancel: CancellationToken,
    ) -> (ExecutionRecord, ExecutionSnapshot) {
        let record = support::run_to_end(&self.engine, yaml, &inputs, cancel).await;
        let snapshot = self.store.snapshot(record.id).await.unwrap().unwrap();
        (record, snapshot)
    }

    /// Runs `yaml` (no inputs) until it ends: its record alone.
    async fn finish(&self, yaml: &str) -> ExecutionRecord {
        support::run_to_end(&self.engine, yaml, &json!({}), CancellationToken::new()).await
    }

    /// Retries the execution (`from` a step, when given) and runs it until it ends.
    async fn retry(&self, id: shutter_core::ExecutionId, from: Option<&str>) -> ExecutionRecord {
        let (plan, claim) = self.engine.retry(id, from).await.unwrap();
        self.engine
            .run(claim, plan, CancellationToken::new())
            .await
            .unwrap()
    }

    async fn changes(&self, id: shutter_core::ExecutionId) -> Vec<Change> {
        self.store
            .events(id, Page::new(0, 100_000))
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.change)
            .collect()
    }
}

fn state_of(snapshot: &ExecutionSnapshot, key: &str) -> StepState {
    support::step(snapshot, key).state
}

#[tokio::test(start_paused = true)]
async fn retries_count_every_try_and_wait_as_configured() {
    let h = harness();
    let (record, snapshot) = h
        .run(
            "version: 1\nname: t\nsteps:\n  a:\n    uses: test.flaky\n    with: {succeed_on: 3}\n    retry: {attempts: 3, backoff: exponential, delay: 2s, max_delay: 1m, jitter: false}\n",
            json!({}),
        )
        .await;
    assert_eq!(record.state, ExecutionState::Succeeded);
    let a = &snapshot.steps[0];
    assert_eq!(a.attempts.len(), 3);
    assert_eq!(a.attempts[0].error.as_deref(), Some("try 1 failed"));
    let tries = h.flaky.tries.lock().unwrap().clone();
    assert_eq!(tries[1] - tries[0], Duration::from_secs(2));
    assert_eq!(tries[2] - tries[1], Duration::from_secs(4));
    assert_eq!(a.outputs, Some(json!({"tries": 3})));
}

#[tokio::test(start_paused = true)]
async fn a_step_out_of_tries_fails_the_execution() {
    let h = harness();
    let (record, snapshot) = h
        .run(
            "version: 1\nname: t\nsteps:\n  a:\n    uses: test.flaky\n    with: {succeed_on: 9}\n    retry: {attempts: 2, backoff: fixed, delay: 1s}\n  b: {uses: core.noop, needs: a}\n",
            json!({}),
        )
        .await;
    assert_eq!(record.state, ExecutionState::Failed);
    assert_eq!(h.flaky.tries.lock().unwrap().len(), 2);
    assert_eq!(
        snapshot.steps[0].error.as_deref(),
        Some("try 2 failed (after 2 tries)")
    );
    assert_eq!(state_of(&snapshot, "b"), StepState::Canceled);
    assert!(record.error.unwrap().contains("step `a` failed"));
}

#[tokio::test(start_paused = true)]
async fn a_step_timeout_ends_a_try() {
    let h = harness();
    let start = tokio::time::Instant::now();
    let (record, snapshot) = h
        .run("version: 1\nname: t\nsteps:\n  a:\n    uses: core.sleep\n    timeout: 5s\n    with: {duration: 1h}\n", json!({}))
        .await;
    assert_eq!(record.state, ExecutionState::Failed);
    assert_eq!(
        snapshot.steps[0].error.as_deref(),
        Some("timed out after 5s")
    );
    assert!(start.elapsed() < Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn a_workflow_timeout_fails_it_and_compensates() {
    let h = harness();
    let (record, snapshot) = h
        .run(
            "version: 1\nname: t\ntimeout: 1m\nsteps:\n  a:\n    uses: core.noop\n    compensate: {uses: core.log, with: {message: undo a}}\n  b: {uses: core.sleep, needs: a, with: {duration: 1h}}\n",
            json!({}),
        )
        .await;
    assert_eq!(record.state, ExecutionState::Failed);
    assert_eq!(
        record.error.as_deref(),
        Some("the workflow timed out after 1m")
    );
    assert_eq!(state_of(&snapshot, "a"), StepState::Compensated);
    assert_eq!(state_of(&snapshot, "b"), StepState::Canceled);
}

#[tokio::test(start_paused = true)]
async fn compensation_runs_in_reverse_order_of_success() {
    let h = harness();
    let yaml = "version: 1\nname: t\nsteps:\n  a:\n    uses: core.noop\n    compensate: {uses: core.log, with: {message: undo a}}\n  b:\n    uses: core.noop\n    needs: a\n    compensate: {uses: core.log, with: {message: undo b}}\n  c:\n    uses: core.log\n    needs: b\n    with: {message: made c}\n    compensate: {uses: core.log, with: {message: \"undo ${{ steps.c.outputs.message }}\"}}\n  d: {uses: core.fail, needs: c, with: {message: boom}}\n";
    let record = h.finish(yaml).await;
    assert_eq!(record.state, ExecutionState::Failed);
    let undone: Vec<String> = h
        .changes(record.id)
        .await
        .into_iter()
        .filter_map(|c| match c {
            Change::StepCompensated { key, .. } => Some(key.to_string()),
            Change::Log { message, .. } if message.starts_with("undo") => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(
        undone,
        vec!["undo made c", "c", "undo b", "b", "undo a", "a"]
    );
}

#[tokio::test(start_paused = true)]
async fn finally_runs_on_success_failure_and_cancel() {
    let yaml = |body: &str| {
        format!(
            "version: 1\nname: t\nsteps:\n  work:\n    {body}\n  cleanup:\n    uses: core.log\n    needs: work\n    finally: true\n    with: {{message: \"work ended ${{{{ steps.work.state }}}}\"}}\n"
        )
    };
    let h = harness();
    for (body, ended, said) in [
        (
            "uses: core.noop",
            ExecutionState::Succeeded,
            "work ended succeeded",
        ),
        (
            "uses: core.fail\n    with: {message: no}",
            ExecutionState::Failed,
            "work ended failed",
        ),
    ] {
        let (record, snapshot) = h.run(&yaml(body), json!({})).await;
        assert_eq!(
            (record.state, state_of(&snapshot, "cleanup")),
            (ended, StepState::Succeeded)
        );
        assert_eq!(snapshot.steps[1].outputs, Some(json!({"message": said})));
    }

    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        trigger.cancel();
    });
    let (canceled, snapshot) = h
        .run_with(
            &yaml("uses: core.sleep\n    with: {duration: 1h}"),
            json!({}),
            cancel,
        )
        .await;
    assert_eq!(canceled.state, ExecutionState::Canceled);
    assert_eq!(state_of(&snapshot, "work"), StepState::Canceled);
    assert_eq!(state_of(&snapshot, "cleanup"), StepState::Succeeded);
    assert_eq!(
        snapshot.steps[1].outputs,
        Some(json!({"message": "work ended canceled"}))
    );
}

#[tokio::test(start_paused = true)]
async fn a_step_that_may_fail_lets_the_execution_go_on_and_end_succeeded_with_errors() {
    let h = harness();
    let yaml = r#"version: 1
name: t
steps:
  snap:
    uses: core.log
    with: {message: snapped}
    compensate: {uses: core.log, with: {message: undo snap}}
  prune:
    uses: core.fail
    needs: snap
    on_error: continue
    with: {message: glance is down}
  report:
    uses: core.log
    needs: prune
    with: {message: "prune ${{ steps.prune.state }}: ${{ steps.prune.error }}"}
  each:
    uses: core.fail
    for_each: [a, b, c]
    concurrency: 1
    on_error: continue
    with: {message: "no ${{ item }}"}
outputs:
  said: ${{ steps.report.outputs.message }}
"#;
    let (record, snapshot) = h.run(yaml, json!({})).await;
    assert_eq!(
        record.state,
        ExecutionState::SucceededWithErrors,
        "{record:?}"
    );
    assert_eq!(
        record.outputs,
        Some(json!({"said": "prune failed: glance is down"}))
    );
    let error = record.error.clone().unwrap_or_default();
    assert!(
        error.contains("step `prune` failed: glance is down")
            && error.contains("step `each` failed: item 0 failed: no a"),
        "{error}"
    );
    // Nothing compensated; every item ran, none canceled.
    assert_eq!(state_of(&snapshot, "snap"), StepState::Succeeded);
    for item in ["each[0]", "each[1]", "each[2]"] {
        assert_eq!(state_of(&snapshot, item), StepState::Failed, "{item}");
    }
    let logs: Vec<String> = h
        .changes(record.id)
        .await
        .into_iter()
        .filter_map(|c| match c {
            Change::Log { message, .. } => Some(message),
            _ => None,
        })
        .collect();
    assert!(!logs.iter().any(|m| m == "undo snap"), "{logs:?}");

    // A failure elsewhere still fails the execution, and compensates.
    let (failed, _) = h
        .run(
            &yaml.replace("outputs:", "  later:\n    uses: core.fail\n    needs: report\n    with: {message: real}\noutputs:"),
            json!({}),
        )
        .await;
    assert_eq!(failed.state, ExecutionState::Failed);
    assert_eq!(failed.error.as_deref(), Some("step `later` failed: real"));
}

#[tokio::test(start_paused = true)]
async fn a_plain_retry_keeps_the_items_that_succeeded_and_from_a_step_reruns_them_all() {
    let h = harness();
    // Flaky counts tries across items: the first succeeds (try 1), the
    // second fails (try 2 of the 3 it needs), the third is canceled.
    let yaml = "version: 1\nname: t\nsteps:\n  each:\n    uses: test.flaky\n    for_each: [1, 3, 1]\n    concurrency: 1\n    with: {succeed_on: \"${{ item }}\"}\n";
    let failed = h.finish(yaml).await;
    assert_eq!(failed.state, ExecutionState::Failed);
    let id = failed.id;
    let record = h.retry(id, None).await;
    assert_eq!(record.state, ExecutionState::Succeeded, "{record:?}");
    assert_eq!(
        h.flaky.tries.lock().unwrap().len(),
        4,
        "the first item was not run again"
    );
    // From the step: every item again.
    let record = h.retry(id, Some("each")).await;
    assert_eq!(record.state, ExecutionState::Succeeded);
    assert_eq!(h.flaky.tries.lock().unwrap().len(), 7);
    let unknown = h.engine.retry(id, Some("nope")).await.unwrap_err();
    assert!(
        unknown
            .to_string()
            .contains("has no step `nope` to retry from"),
        "{unknown}"
    );
}

#[tokio::test(start_paused = true)]
async fn for_each_respects_its_concurrency_and_collects_outputs() {
    let h = harness();
    let (record, snapshot) = h
        .run(
            "version: 1\nname: t\ninputs:\n  vols: {type: array, default: [a, b, c, d, e, f]}\nsteps:\n  each:\n    uses: test.busy\n    for_each: ${{ inputs.vols }}\n    concurrency: 2\n  names:\n    uses: core.log\n    for_each: ${{ inputs.vols }}\n    with: {message: \"vol ${{ item }}\"}\n",
            json!({}),
        )
        .await;
    assert_eq!(record.state, ExecutionState::Succeeded);
    assert_eq!(h.busy.runs.load(Ordering::SeqCst), 6);
    assert_eq!(h.busy.max.load(Ordering::SeqCst), 2);
    let names = support::step(&snapshot, "names");
    assert_eq!(
        names.outputs.as_ref().unwrap()["items"][5],
        json!({"message": "vol f"})
    );
    assert_eq!(state_of(&snapshot, "each[3]"), StepState::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn a_false_if_skips_the_step_and_what_needs_it() {
    let h = harness();
    let (record, snapshot) = h
        .run(
            "version: 1\nname: t\ninputs:\n  go: {type: boolean, default: false}\nsteps:\n  a: {uses: core.noop, if: \"${{ inputs.go }}\"}\n  b: {uses: core.noop, needs: a}\n  c: {uses: core.noop}\n  z: {uses: core.noop, needs: b, finally: true}\n",
            json!({}),
        )
        .await;
    assert_eq!(record.state, ExecutionState::Succeeded);
    assert_eq!(state_of(&snapshot, "a"), StepState::Skipped);
    assert_eq!(state_of(&snapshot, "b"), StepState::Skipped);
    assert_eq!(state_of(&snapshot, "c"), StepState::Succeeded);
    assert_eq!(state_of(&snapshot, "z"), StepState::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn outputs_flow_through_expressions() {
    let h = harness();
    let (record, _) = h
        .run(
            "version: 1\nname: t\ninputs:\n  vm: {type: string}\nsteps:\n  a: {uses: core.log, with: {message: \"snap-${{ inputs.vm }}\"}}\n  b: {uses: core.noop, with: {outputs: {ids: [\"${{ steps.a.outputs.message }}\", 2]}}}\noutputs:\n  first: ${{ steps.b.outputs.ids[0] }}\n  all: ${{ steps.b.outputs.ids }}\n  run: ${{ execution.workflow }}\n",
            json!({"vm": "web"}),
        )
        .await;
    assert_eq!(
        record.outputs,
        Some(json!({"first": "snap-web", "all": ["snap-web", 2], "run": "t"}))
    );
}

#[tokio::test(start_paused = true)]
async fn secret_values_never_reach_the_record() {
    let h = harness_with_token();
    let yaml = "version: 1\nname: t\nsecrets: [token]\nsteps:\n  a: {uses: core.log, with: {message: \"${{ secrets.token }}\"}}\n  b: {uses: core.fail, needs: a, with: {message: \"${{ secrets.token }}\"}}\n";
    let record = h.finish(yaml).await;
    let left = everything(&h, record.id).await;
    let everything = format!("{record:?} {left}");
    assert!(
        !everything.contains("hunter2"),
        "a secret leaked: {everything}"
    );
    assert!(everything.contains("message: \"***\""), "{everything}");
    // What each try was called with is kept, the secret hidden there too.
    assert!(
        everything.contains(r#"AttemptParams { key: StepKey { step: "a", item: None }, attempt: 1, params: Object {"message": String("***")}, at: "#),
        "{everything}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_tries_parameters_are_kept_resolved_and_bounded() {
    let h = harness_with_token();
    let long = "x".repeat(5000);
    let yaml = "version: 1\nname: t\ninputs:\n  vm: {type: string}\n  long: {type: string}\nsteps:\n  a: {uses: core.log, with: {message: \"backing up ${{ inputs.vm }}\"}}\n  b: {uses: core.log, needs: a, with: {message: \"${{ inputs.long }}\"}}\n  c: {uses: core.noop, needs: b}\n";
    let (record, snapshot) = h.run(yaml, json!({"vm": "web-01", "long": long})).await;
    assert_eq!(record.state, ExecutionState::Succeeded);
    let params = |step: &str| {
        snapshot
            .steps
            .iter()
            .find(|s| s.key.step == step)
            .and_then(|s| s.attempts.first())
            .and_then(|a| a.params.clone())
    };
    assert_eq!(params("a"), Some(json!({"message": "backing up web-01"})));
    assert_eq!(
        params("b"),
        Some(json!({"message": "[5002 bytes, not kept]"}))
    );
    assert_eq!(params("c"), None, "a step without parameters keeps none");
}

/// Everything an execution left: its record, steps and event log.
async fn everything(h: &Harness, id: shutter_core::ExecutionId) -> String {
    format!(
        "{:?} {:?}",
        h.store.snapshot(id).await.unwrap(),
        h.changes(id).await
    )
}

#[tokio::test(start_paused = true)]
async fn a_secret_is_hidden_in_every_form_an_action_gives_it() {
    let h = harness_with(Secrets::new(BTreeMap::from([(
        "token".to_owned(),
        "hunter2 \"very/secret\"&=".to_owned(),
    )])));
    let leaky = |fail: &str| format!("{{uses: test.leaky, with: {{name: token, fail: {fail}}}}}");
    let workflows = [
        format!("  a: {}\n", leaky("false")),
        format!("  a: {}\n", leaky("true")),
        // A result written with the next step's start.
        format!("  a: {}\n  b: {{uses: core.noop, needs: a}}\n", leaky("false")),
        // The note of a retry, and the error of a failed compensation.
        "  a:\n    uses: test.leaky\n    with: {name: token, fail: retry}\n    retry: {attempts: 2, delay: 1s, jitter: false}\n"
            .to_owned(),
        format!(
            "  a:\n    uses: core.noop\n    compensate: {}\n  b: {{uses: core.fail, needs: a, with: {{message: boom}}}}\n",
            leaky("true")
        ),
    ];
    for steps in workflows {
        let yaml = format!("version: 1\nname: t\nsecrets: [token]\nsteps:\n{steps}");
        let record = h.finish(&yaml).await;
        let everything = everything(&h, record.id).await;
        for leak in [
            "hunter2",
            "very/secret",
            "very%2Fsecret",
            "aHVudGVyMi",
            "\\\"very",
        ] {
            assert!(!everything.contains(leak), "{leak} leaked: {everything}");
        }
        assert!(everything.contains("Basic "), "{everything}");
        if !steps.contains("fail: false") {
            // The failure was recorded, redacted, not left out.
            assert!(everything.contains("server said: "), "{everything}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn what_a_sensitive_parameter_resolves_to_is_redacted() {
    let h = harness_with_token();
    let yaml = "version: 1\nname: t\nsecrets: [token]\nsteps:\n  a: {uses: test.echo, with: {auth: \"Bearer ${{ secrets.token | upper }}\"}}\n";
    let record = h.finish(yaml).await;
    assert_eq!(record.state, ExecutionState::Failed);
    let failed = everything(&h, record.id).await;
    assert!(!failed.contains("HUNTER2"), "{failed}");
    assert!(failed.contains("401 for ***"), "{failed}");
    assert!(failed.contains("sending ***"), "{failed}");
    assert!(
        failed.contains(r#""auth": String("***")"#),
        "kept hidden: {failed}"
    );
    // A result that the next step's start carries is hidden alike.
    let yaml = "version: 1\nname: t\nsecrets: [token]\nsteps:\n  a: {uses: test.echo, with: {succeed: true, auth: \"Bearer ${{ secrets.token | upper }}\"}}\n  b: {uses: core.noop, needs: a}\n";
    let (record, _) = h.run(yaml, json!({})).await;
    assert_eq!(record.state, ExecutionState::Succeeded);
    let carried = everything(&h, record.id).await;
    assert!(!carried.contains("HUNTER2"), "{carried}");
    assert!(carried.contains("sending ***"), "{carried}");
}

#[tokio::test(start_paused = true)]
async fn a_declared_secret_that_is_not_set_fails_before_any_step() {
    let h = harness_with_token();
    let yaml = "version: 1\nname: t\nsecrets: [token, vault_pw]\nsteps:\n  a: {uses: test.busy}\n";
    let record = h.finish(yaml).await;
    assert_eq!(record.state, ExecutionState::Failed);
    let error = record.error.unwrap();
    assert!(
        error.contains("`vault_pw`") && error.contains("SHUTTER_SECRET_VAULT_PW"),
        "{error}"
    );
    assert!(!error.contains("`token`"), "{error}");
    assert_eq!(h.busy.runs.load(Ordering::SeqCst), 0, "no step ran");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_action_fails_its_step_not_the_engine() {
    let h = harness();
    let (record, snapshot) = h
        .run(
            "version: 1\nname: t\nsteps:\n  a: {uses: test.panics}\n  after: {uses: core.log, needs: a, finally: true, with: {message: still here}}\n",
            json!({}),
        )
        .await;
    assert_eq!(record.state, ExecutionState::Failed);
    let error = snapshot.steps[0].error.clone().unwrap();
    assert!(
        error.contains("panicked") && error.contains("index out of bounds"),
        "{error}"
    );
    assert_eq!(state_of(&snapshot, "after"), StepState::Succeeded);
}

#[tokio::test(start_paused = true)]
async fn a_huge_sleep_fails_its_step_instead_of_overflowing() {
    let h = harness();
    let (record, snapshot) = h
        .run(
            "version: 1\nname: t\ninputs: {d: {type: string}}\nsteps:\n  a: {uses: core.sleep, with: {duration: \"${{ inputs.d }}\"}}\n",
            json!({"d": "300000y"}),
        )
        .await;
    assert_eq!(record.state, ExecutionState::Failed);
    let error = snapshot.steps[0].error.clone().unwrap();
    assert!(
        error.contains("longer than the limit of 10 years"),
        "{error}"
    );
}

#[tokio::test(start_paused = true)]
async fn compensation_honours_the_step_timeout_and_cancel() {
    let h = harness();
    let yaml = "version: 1\nname: t\nsteps:\n  a:\n    uses: core.noop\n    timeout: 5s\n    compensate: {uses: test.hangs}\n  b: {uses: core.fail, needs: a, with: {message: boom}}\n";
    let started = tokio::time::Instant::now();
    let (record, snapshot) = h.run(yaml, json!({})).await;
    assert_eq!(record.state, ExecutionState::Failed);
    let undo = undo_error_of_a(&snapshot);
    assert!(
        undo.contains("timed out after 5s"),
        "{:?}",
        support::step(&snapshot, "a")
    );
    assert!(started.elapsed() < Duration::from_secs(60));

    // Without a step timeout, a cancel stops the hung undo.
    let yaml = "version: 1\nname: t\nsteps:\n  a:\n    uses: core.noop\n    compensate: {uses: test.hangs}\n  b: {uses: core.fail, needs: a, with: {message: boom}}\n";
    let (id, plan) = h.start(yaml, json!({})).await;
    let cancel = CancellationToken::new();
    let run = tokio::spawn({
        let engine = h.engine.clone();
        let cancel = cancel.clone();
        async move { engine.run(Claim::created(id), plan, cancel).await }
    });
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!run.is_finished(), "the undo hangs until canceled");
    cancel.cancel();
    let record = run.await.unwrap().unwrap();
    assert_eq!(record.state, ExecutionState::Failed);
    let snapshot = h.store.snapshot(id).await.unwrap().unwrap();
    let undo = undo_error_of_a(&snapshot);
    assert!(
        undo.contains("canceled"),
        "{:?}",
        support::step(&snapshot, "a")
    );
}

/// Why undoing step `a` failed, as `snapshot` has it (empty when it did not).
fn undo_error_of_a(snapshot: &ExecutionSnapshot) -> &str {
    support::step(snapshot, "a")
        .compensation_error
        .as_deref()
        .unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn built_in_actions_read_declared_secrets_by_name() {
    let h = harness_with_token();
    let yaml = "version: 1\nname: t\nsecrets: [token]\nsteps:\n  a: {uses: test.secret, with: {name: token}}\n  b: {uses: test.secret, with: {name: other}}\noutputs:\n  a: ${{ steps.a.outputs.granted }}\n  b: ${{ steps.b.outputs.granted }}\n";
    let record = h.finish(yaml).await;
    assert_eq!(record.outputs, Some(json!({"a": 19, "b": null})));
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_execution_resumes_without_redoing_finished_steps() {
    let h = harness();
    let yaml = "version: 1\nname: t\nsteps:\n  a: {uses: test.busy}\n  wait: {uses: core.sleep, needs: a, with: {duration: 1h}}\n  b: {uses: test.busy, needs: wait}\n";
    let (id, plan) = h.start(yaml, json!({})).await;
    // Run until `wait` has slept 20 minutes, then drop the run: an engine stop.
    let run = tokio::spawn({
        let engine = h.engine.clone();
        let plan = plan.clone();
        async move {
            engine
                .run(Claim::created(id), plan, CancellationToken::new())
                .await
        }
    });
    tokio::time::sleep(Duration::from_secs(10 + 20 * 60)).await;
    run.abort();
    let _ = run.await;
    assert_eq!(h.busy.runs.load(Ordering::SeqCst), 1);
    let before = tokio::time::Instant::now();
    let record = h
        .engine
        .run(Claim::created(id), plan, CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(record.state, ExecutionState::Succeeded);
    // `a` ran once; `wait` slept only the 40 minutes left; `b` ran.
    assert_eq!(h.busy.runs.load(Ordering::SeqCst), 2);
    let waited = before.elapsed();
    assert!(
        waited >= Duration::from_secs(40 * 60) && waited < Duration::from_secs(41 * 60),
        "{waited:?}"
    );
    let snapshot = h.store.snapshot(id).await.unwrap().unwrap();
    let wait = support::step(&snapshot, "wait");
    assert_eq!(wait.attempts.len(), 2);
    assert!(wait.attempts[0].interrupted);
}
