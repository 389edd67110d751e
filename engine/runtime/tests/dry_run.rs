#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! Plans (`Engine::dry_run`): read steps run for real, writes are shown
//! and never run, values only a run can know stay as written, and nothing
//! is recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use shutter_core::{Action, ActionContext, ActionError, Effect, ListQuery, Store};
use shutter_dsl::{ActionSpec, ParamType, Source};
use shutter_runtime::{DryRun, Engine, Forecast};
use shutter_store::MemoryStore;

mod support;

/// Counts its runs; answers with `answer` (or fails when told to).
#[derive(Debug)]
struct Counted {
    runs: AtomicUsize,
    answer: Json,
}

impl Counted {
    fn new(answer: Json) -> Arc<Self> {
        Arc::new(Self {
            runs: AtomicUsize::new(0),
            answer,
        })
    }

    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl Action for Counted {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        if ctx.params.get("fail") == Some(&Json::Bool(true)) {
            return Err(ActionError::fatal("the cloud said no"));
        }
        ctx.log(shutter_core::LogLevel::Info, "looked");
        Ok(self.answer.clone())
    }
}

struct Harness {
    engine: Engine,
    store: Arc<MemoryStore>,
    create: Arc<Counted>,
    list: Arc<Counted>,
    delete: Arc<Counted>,
}

fn harness() -> Harness {
    let store = Arc::new(MemoryStore::new());
    let create = Counted::new(json!({"id": "snap-new"}));
    let list = Counted::new(json!({"ids": ["snap-1", "snap-2", "snap-3"]}));
    let delete = Counted::new(json!({}));
    let mut catalog = shutter_providers::catalog();
    catalog.register(
        ActionSpec::new("test.create", "makes a snapshot")
            .optional("name", ParamType::String, None, "")
            .optional("auth", ParamType::String, None, "")
            .sensitive()
            .output("id", ParamType::String, ""),
    );
    catalog.register(
        ActionSpec::new("test.list", "lists snapshots")
            .read_only()
            .optional("prefix", ParamType::String, None, "")
            .optional("fail", ParamType::Boolean, None, "")
            .output("ids", ParamType::Array, ""),
    );
    catalog.register(
        ActionSpec::new("test.delete", "deletes a snapshot")
            .param("id", ParamType::String, "")
            .optional("fail", ParamType::Boolean, None, ""),
    );
    let mut actions = shutter_providers::registry();
    actions.register("test.create", create.clone());
    actions.register("test.list", list.clone());
    actions.register("test.delete", delete.clone());
    Harness {
        engine: support::engine_with_secrets(
            store.clone(),
            actions,
            catalog,
            support::token_secret(),
        ),
        store,
        create,
        list,
        delete,
    }
}

impl Harness {
    async fn plan(&self, yaml: &str, inputs: Json) -> DryRun {
        let plan = shutter_dsl::compile(&Source::new("test.yaml", yaml), self.engine.catalog())
            .unwrap_or_else(|d| panic!("{d}"));
        self.engine
            .dry_run(&plan, inputs.as_object().unwrap(), None)
            .await
            .unwrap()
    }
}

/// The backup shape: make one, wait for it, list the old ones, choose what
/// to prune, prune it.
const BACKUP: &str = r#"
version: 1
name: backup
inputs:
  vm: { type: string }
steps:
  snapshot:
    uses: test.create
    with: { name: "backup of ${{ inputs.vm }}" }
  wait:
    uses: test.list
    with: { prefix: "${{ steps.snapshot.outputs.id }}" }
  history:
    uses: test.list
    needs: [wait]
    with: { prefix: "${{ inputs.vm }}" }
  choose:
    uses: core.noop
    with:
      outputs:
        old: ${{ steps.history.outputs.ids[1:] }}
  prune:
    uses: test.delete
    for_each: ${{ steps.choose.outputs.old }}
    with: { id: "${{ item }}" }
  tag:
    uses: test.delete
    for_each: ${{ steps.wait.outputs.ids }}
    with: { id: "${{ item }}" }
outputs:
  pruned: ${{ steps.choose.outputs.old | length }}
"#;

#[tokio::test]
async fn a_plan_runs_the_reads_and_shows_the_writes_it_would_make() {
    let h = harness();
    let dry = h.plan(BACKUP, json!({"vm": "vm-42"})).await;
    // Nothing that writes ran; the one read whose parameters are known did.
    assert_eq!((h.create.runs(), h.delete.runs(), h.list.runs()), (0, 0, 1));
    assert_eq!((dry.writes, dry.reads), (4, 2), "{dry:#?}");

    let snapshot = &dry.steps["snapshot"];
    assert_eq!(
        (snapshot.forecast, snapshot.effect),
        (Forecast::WouldRun, Effect::Write)
    );
    assert_eq!(snapshot.calls[0].params["name"], "backup of vm-42");

    // Reads what the snapshot makes: not run, its parameter as written.
    let wait = &dry.steps["wait"];
    assert_eq!(wait.forecast, Forecast::WouldRun);
    assert_eq!(wait.calls[0].at_run_time, vec!["prefix"]);
    assert_eq!(
        wait.calls[0].params["prefix"],
        "${{ steps.snapshot.outputs.id }}"
    );
    assert!(wait.calls[0].outputs.is_none());

    // Runs for real although it follows a write, and says so.
    let history = &dry.steps["history"];
    assert_eq!(history.forecast, Forecast::Ran);
    assert!(history.after_writes);
    assert_eq!(
        history.calls[0].outputs.as_ref().unwrap()["ids"][0],
        "snap-1"
    );
    assert_eq!(history.calls[0].logs, vec!["looked"]);

    // The concrete list of what would be deleted.
    let prune = &dry.steps["prune"];
    assert_eq!((prune.forecast, prune.items), (Forecast::WouldRun, Some(2)));
    let ids: Vec<&Json> = prune.calls.iter().map(|c| &c.params["id"]).collect();
    assert_eq!(ids, vec!["snap-2", "snap-3"]);
    assert_eq!(prune.calls[1].item, Some(json!("snap-3")));

    // Items only the run will know: one call, for any item.
    let tag = &dry.steps["tag"];
    assert_eq!(tag.items, None);
    assert_eq!(
        tag.for_each.as_deref(),
        Some("${{ steps.wait.outputs.ids }}")
    );
    assert_eq!(tag.calls.len(), 1);
    assert_eq!(tag.calls[0].at_run_time, vec!["id"]);

    // Nothing was recorded.
    let recorded = h
        .store
        .list(&ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert!(recorded.is_empty(), "{recorded:?}");
}

#[tokio::test]
async fn conditions_skip_and_failures_stop_what_follows_as_a_run_would() {
    let h = harness();
    let yaml = r#"
version: 1
name: branches
inputs:
  go: { type: boolean }
steps:
  snapshot:
    uses: test.create
  off:
    uses: test.delete
    if: ${{ inputs.go }}
    with: { id: x }
  after_off:
    uses: test.delete
    needs: [off]
    with: { id: y }
  maybe:
    uses: test.list
    if: ${{ steps.snapshot.outputs.id == 'snap-new' }}
  broken:
    uses: test.list
    with: { fail: true }
  after_broken:
    uses: test.delete
    needs: [broken]
    with: { id: z }
  tolerated:
    uses: test.list
    on_error: continue
    with: { fail: true }
  after_tolerated:
    uses: test.delete
    needs: [tolerated]
    with: { id: "made by ${{ execution.id }}" }
"#;
    let dry = h.plan(yaml, json!({"go": false})).await;
    let forecast = |id: &str| dry.steps[id].forecast;
    assert_eq!(forecast("off"), Forecast::Skipped);
    assert_eq!(forecast("after_off"), Forecast::Skipped);
    // An `if` on what the run makes: shown, not decided, not run.
    assert_eq!(forecast("maybe"), Forecast::WouldRun);
    assert_eq!(
        dry.steps["maybe"].condition.as_deref(),
        Some("${{ steps.snapshot.outputs.id == 'snap-new' }}")
    );
    assert_eq!(forecast("broken"), Forecast::Failed);
    assert!(
        dry.steps["broken"]
            .reason
            .as_deref()
            .unwrap()
            .contains("the cloud said no")
    );
    assert_eq!(forecast("after_broken"), Forecast::NotReached);
    assert_eq!(forecast("tolerated"), Forecast::Failed);
    assert_eq!(forecast("after_tolerated"), Forecast::WouldRun);
    // The run's id is its own: not the plan's.
    assert_eq!(
        dry.steps["after_tolerated"].calls[0].at_run_time,
        vec!["id"]
    );
    // `broken` and `tolerated` ran (and failed); `maybe` did not.
    assert_eq!(h.list.runs(), 2);
    assert_eq!((h.create.runs(), h.delete.runs()), (0, 0));
}

#[tokio::test]
async fn a_plan_shows_no_secret() {
    let h = harness();
    let yaml = r#"
version: 1
name: secretive
secrets: [token]
steps:
  snapshot:
    uses: test.create
    with:
      name: ${{ secrets.token }}
      auth: "Bearer ${{ secrets.token }}"
"#;
    let dry = h.plan(yaml, json!({})).await;
    let text = serde_json::to_string(&dry).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    let params = &dry.steps["snapshot"].calls[0].params;
    assert_eq!(params["auth"], "[sensitive]");
    assert_ne!(params["name"], "hunter2-very-secret");
}

#[tokio::test]
async fn a_missing_secret_is_the_plans_problem_and_inputs_are_checked() {
    let h = harness();
    let yaml = r"
version: 1
name: needs-secret
secrets: [other]
inputs:
  count: { type: integer }
steps:
  snapshot:
    uses: test.create
";
    let dry = h.plan(yaml, json!({"count": 1})).await;
    assert!(
        dry.problem.as_deref().unwrap().contains("`other`"),
        "{dry:?}"
    );
    let plan = shutter_dsl::compile(&Source::new("t.yaml", yaml), h.engine.catalog()).unwrap();
    let wrong = h
        .engine
        .dry_run(&plan, json!({"count": "many"}).as_object().unwrap(), None)
        .await;
    assert!(
        matches!(wrong, Err(shutter_runtime::EngineError::Inputs(_))),
        "{wrong:?}"
    );
}

/// `execution.plan` tells a plan from a run: true in one, false in the other.
#[tokio::test]
async fn a_step_can_tell_a_plan_from_a_run() {
    let h = harness();
    let yaml = r"
version: 1
name: which
steps:
  say:
    uses: core.noop
    with:
      outputs: { plan: '${{ execution.plan }}' }
outputs:
  plan: ${{ steps.say.outputs.plan }}
";
    let dry = h.plan(yaml, json!({})).await;
    assert_eq!(
        dry.steps["say"].calls[0].outputs.as_ref().unwrap()["plan"],
        true
    );
    let record = support::run_to_end(
        &h.engine,
        yaml,
        &json!({}),
        tokio_util::sync::CancellationToken::new(),
    )
    .await;
    assert_eq!(record.outputs.unwrap()["plan"], false);
}
