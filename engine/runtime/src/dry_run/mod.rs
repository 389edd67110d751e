//! Plans: what an execution would do, before it runs (`shutter run
//! --plan`, `POST /workflows/{name}/plan`).
//!
//! The steps are walked in dependency order with the inputs given. A step
//! whose action only reads (its catalog entry's `effect: read`, or a
//! WebAssembly module with no HTTP grant) runs for real, once, so what
//! follows it sees real values: the backups a query finds, what a
//! retention policy would delete. Any other step is shown with its
//! parameters resolved and is not run. A value that comes from a step
//! that did not run (a snapshot id not yet made) is known only at run
//! time: the parameter, `if` or `for_each` that reads it is shown as
//! written, and a read step that needs it does not run either. So is a
//! value built from `execution.id`: the run has its own, and what is
//! tagged with it is what the run makes. `execution.started_at` is now,
//! and `execution.plan` is true (false in a run).
//!
//! Nothing is recorded: no execution, no catalog change. Read steps see the
//! world as it is now, before the writes they follow (`after_writes`).

mod report;
mod sink;

use std::collections::HashMap;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};
use shutter_core::action::{ActionContext, ActionError, ChangeSink, ContextParts};
use shutter_core::catalog::Effect;
use shutter_core::ids::{ExecutionId, StepKey};
use shutter_core::record::Change;
use shutter_core::secrets::Secrets;
use shutter_core::state::StepState;
use shutter_dsl::expr::Reference;
use shutter_dsl::model::{ActionCall, ActionRef, OnError, Step};
use shutter_dsl::template::{Part, Template};
use shutter_dsl::{Plan, StepId};
use tokio_util::sync::CancellationToken;

pub use report::{Call, DryRun, Forecast, StepPlan};

use crate::engine::{EngineError, Inner};
use crate::executor::scope::{Scope, StepsView};
use sink::PlanSink;

/// What the walk knows of one step so far.
struct Known {
    forecast: Forecast,
    /// Its outputs, state and error are real (it ran, or was skipped).
    real: bool,
    /// It is a write the plan does not run.
    writes: bool,
    /// A write step it needs (directly or not) would run first.
    after_writes: bool,
    /// Whether a dependant may treat it as having gone well.
    failed: bool,
}

pub(crate) async fn plan(
    inner: Arc<Inner>,
    plan: &Plan,
    inputs: &Map<String, Json>,
    source_path: Option<&str>,
) -> Result<DryRun, EngineError> {
    let inputs =
        shutter_dsl::inputs::resolve_inputs(&plan.workflow, inputs).map_err(EngineError::Inputs)?;
    let id = ExecutionId::new();
    let secrets = inner.secrets.resolve(&plan.workflow.secrets);
    let problem = crate::executor::missing_secrets(plan, &secrets);
    let scope = Scope {
        inputs: minijinja::Value::from_serialize(&inputs),
        execution: minijinja::Value::from_serialize(serde_json::json!({
            "id": id.to_string(),
            "started_at": inner.clock.now().to_rfc3339(),
            "workflow": plan.workflow.name.as_str(),
            "plan": true,
        })),
        secrets: minijinja::Value::from_serialize(secrets.as_map()),
        steps: Arc::new(StepsView::default()),
    };
    let (base_dir, files) = crate::executor::places(&inner.config, source_path);
    let walk = Walk {
        sink: Arc::new(PlanSink::new(inner.store.clone(), inner.clock.clone())),
        inner,
        id,
        scope,
        secrets,
        base_dir,
        files,
    };
    let mut known: HashMap<StepId, Known> = HashMap::new();
    let mut steps = IndexMap::new();
    for step_id in plan.levels.iter().flatten() {
        let step = &plan.workflow.steps[step_id];
        let (step_plan, step_known) = walk.step(step, &known).await;
        known.insert(step_id.clone(), step_known);
        steps.insert(step_id.to_string(), step_plan);
    }
    // Shown in the order the workflow lists its steps.
    let steps = plan
        .workflow
        .steps
        .keys()
        .filter_map(|id| steps.swap_remove(id.as_str()).map(|s| (id.to_string(), s)))
        .collect();
    Ok(DryRun::new(
        plan.workflow.name.to_string(),
        plan.hash.to_string(),
        Json::Object(inputs),
        problem,
        steps,
    ))
}

/// What every step of one plan shares.
struct Walk {
    inner: Arc<Inner>,
    sink: Arc<PlanSink>,
    id: ExecutionId,
    scope: Scope,
    secrets: Secrets,
    base_dir: Option<std::path::PathBuf>,
    files: shutter_core::files::Files,
}

impl Walk {
    async fn step(&self, step: &Step, known: &HashMap<StepId, Known>) -> (StepPlan, Known) {
        let effect = self.effect(&step.call);
        let after_writes = step
            .needs
            .iter()
            .any(|dep| known.get(dep).is_some_and(|k| k.after_writes || k.writes));
        let mut step_plan = StepPlan::new(step.call.action.name(), effect, after_writes);
        let ends = |step_plan: &mut StepPlan, forecast: Forecast, reason: Option<String>| {
            step_plan.forecast = forecast;
            step_plan.reason = reason.map(|r| self.secrets.redact(&r));
            let real = matches!(forecast, Forecast::Skipped | Forecast::Ran);
            let failed = matches!(forecast, Forecast::Failed | Forecast::NotReached)
                && step.on_error != OnError::Continue;
            if real {
                let state = if forecast == Forecast::Skipped {
                    StepState::Skipped
                } else {
                    StepState::Succeeded
                };
                let outputs = step_plan.outputs();
                self.scope
                    .steps
                    .set(step.id.as_str(), state, outputs.as_ref(), None);
            }
            Known {
                forecast,
                real,
                writes: forecast == Forecast::WouldRun && effect == Effect::Write,
                after_writes,
                failed,
            }
        };
        if !step.finally {
            if let Some(dep) = step.needs.iter().find(|dep| {
                known
                    .get(*dep)
                    .is_some_and(|k| k.forecast == Forecast::Skipped)
            }) {
                let why = format!("`{dep}`, which it needs, would be skipped");
                let k = ends(&mut step_plan, Forecast::Skipped, Some(why));
                return (step_plan, k);
            }
            if let Some(dep) = step
                .needs
                .iter()
                .find(|dep| known.get(*dep).is_some_and(|k| k.failed))
            {
                let why = format!("`{dep}`, which it needs, fails in this plan");
                let k = ends(&mut step_plan, Forecast::NotReached, Some(why));
                return (step_plan, k);
            }
        }
        let unknown =
            |template: &Template, item_known: bool| self.unknown_reads(template, known, item_known);
        let root = self.scope.with_item(None);
        if let Some(condition) = &step.condition {
            if unknown(condition, true) {
                step_plan.condition = Some(source_text(condition));
            } else {
                match self.inner.expr.eval(condition, &root) {
                    Ok(value) if !crate::executor::truthy(&value) => {
                        let why = Some("its `if` is false".to_owned());
                        let k = ends(&mut step_plan, Forecast::Skipped, why);
                        return (step_plan, k);
                    }
                    Ok(_) => {}
                    Err(err) => {
                        let why = Some(format!("evaluating `if`: {err}"));
                        let k = ends(&mut step_plan, Forecast::Failed, why);
                        return (step_plan, k);
                    }
                }
            }
        }
        let items = match &step.for_each {
            None => Some(None),
            Some(template) if unknown(template, true) => {
                step_plan.for_each = Some(source_text(template));
                None
            }
            Some(template) => match self.inner.expr.eval(template, &root) {
                Ok(Json::Array(items)) => Some(Some(items)),
                Ok(other) => {
                    let why = Some(format!("`for_each` gives {other} instead of a list"));
                    let k = ends(&mut step_plan, Forecast::Failed, why);
                    return (step_plan, k);
                }
                Err(err) => {
                    let why = Some(format!("evaluating `for_each`: {err}"));
                    let k = ends(&mut step_plan, Forecast::Failed, why);
                    return (step_plan, k);
                }
            },
        };
        // The instances: one per item, or one whose item is not known yet.
        let instances: Vec<Option<Json>> = match &items {
            Some(Some(items)) => items.iter().cloned().map(Some).collect(),
            Some(None) | None => vec![None],
        };
        let item_known = items.is_some();
        step_plan.items = items
            .as_ref()
            .and_then(|items| items.as_ref().map(Vec::len));
        let may_run = effect == Effect::Read && step_plan.condition.is_none();
        for (index, item) in instances.into_iter().enumerate() {
            let key = match (&items, item.is_some()) {
                (Some(Some(_)), true) => StepKey::item(step.id.as_str(), index),
                _ => StepKey::step(step.id.as_str()),
            };
            let call = self
                .call(step, &step.call, item, item_known, known, may_run, key)
                .await;
            step_plan.calls.push(call);
        }
        let forecast = step_plan.forecast_from_calls(items.is_some());
        let reason = step_plan.first_error();
        let k = ends(&mut step_plan, forecast, reason);
        (step_plan, k)
    }

    /// One instance: its parameters resolved where known, and its result
    /// when it may run.
    #[allow(clippy::too_many_arguments)]
    async fn call(
        &self,
        step: &Step,
        call: &ActionCall,
        item: Option<Json>,
        item_known: bool,
        known: &HashMap<StepId, Known>,
        may_run: bool,
        key: StepKey,
    ) -> Call {
        let scope = self.scope.with_item(item.as_ref());
        let mut params = Map::new();
        let mut at_run_time = Vec::new();
        let mut error = None;
        for (name, template) in &call.with {
            if self.unknown_reads(template, known, item_known) {
                params.insert(name.clone(), Json::String(source_text(template)));
                at_run_time.push(name.clone());
                continue;
            }
            match self.inner.expr.eval(template, &scope) {
                Ok(value) => {
                    params.insert(name.clone(), value);
                }
                Err(err) => {
                    error.get_or_insert_with(|| err.to_string());
                }
            }
        }
        let mut planned = Call::new(item, at_run_time);
        if let Some(error) = error {
            planned.fail(self.secrets.redact(&error));
        } else if may_run && planned.at_run_time.is_empty() {
            let result = self.run(step, call, params.clone(), key).await;
            match result {
                Ok((outputs, logs)) => planned.ran(outputs, logs),
                Err((error, logs)) => {
                    planned.fail(error);
                    planned.logs = logs;
                }
            }
        }
        planned.params = self.shown(call, params);
        planned
    }

    /// Runs a read step's instance once, for real.
    async fn run(
        &self,
        step: &Step,
        call: &ActionCall,
        params: Map<String, Json>,
        key: StepKey,
    ) -> Result<(Json, Vec<String>), (String, Vec<String>)> {
        let action = match crate::executor::instance::resolve(&self.inner.actions, call) {
            Ok(action) => action,
            Err(error) => return Err((error, Vec::new())),
        };
        let granted = match &call.action {
            ActionRef::Wasm(module) => self.secrets.only(&module.allow_secrets),
            ActionRef::Builtin(_) => self.secrets.clone(),
        };
        let sink: Arc<dyn ChangeSink> = self.sink.clone();
        let cancel = CancellationToken::new();
        let ctx = ActionContext::new(ContextParts {
            params: Json::Object(params),
            idempotency_key: ActionContext::key_for(self.id, &key),
            execution: self.id,
            step: key,
            attempt: 1,
            cancel: cancel.child_token(),
            secrets: granted,
            timeout: step.timeout,
            base_dir: self.base_dir.clone(),
            files: self.files.clone(),
            timer: None,
            sink,
        });
        let result =
            crate::executor::instance::run_once(action.as_ref(), &ctx, step.timeout, &cancel).await;
        // Only its log lines are kept: a plan records nothing.
        let mut changes = self.sink.take();
        changes.extend(ctx.take_pending());
        let logs = changes
            .into_iter()
            .filter_map(|change| match change {
                Change::Log { message, .. } => Some(self.secrets.redact(&message)),
                _ => None,
            })
            .collect();
        match result {
            Ok(outputs) => Ok((self.secrets.redact_json(&outputs), logs)),
            Err(ActionError::Canceled) => Err(("canceled".to_owned(), logs)),
            Err(err) => {
                let mut report = self.secrets.redact(&err.report());
                if err.is_retryable() && step.retry.attempts > 1 {
                    report.push_str(&format!(
                        " (a run would try {} times in all)",
                        step.retry.attempts
                    ));
                }
                Err((report, logs))
            }
        }
    }

    /// Whether the action changes anything: a module may only if it was
    /// granted HTTP.
    fn effect(&self, call: &ActionCall) -> Effect {
        match &call.action {
            ActionRef::Wasm(module) if module.allow_http.is_empty() => Effect::Read,
            ActionRef::Wasm(_) => Effect::Write,
            ActionRef::Builtin(name) => self
                .inner
                .catalog
                .get(name)
                .map_or(Effect::Write, |spec| spec.effect),
        }
    }

    /// Parameters as a plan shows them: secrets and what sensitive
    /// parameters resolved to are hidden.
    fn shown(&self, call: &ActionCall, params: Map<String, Json>) -> Map<String, Json> {
        let sensitive = |name: &str| match &call.action {
            ActionRef::Builtin(action) => self
                .inner
                .catalog
                .get(action)
                .and_then(|spec| spec.param_named(name))
                .is_some_and(|param| param.sensitive),
            ActionRef::Wasm(_) => false,
        };
        params
            .into_iter()
            .map(|(name, value)| {
                let value = if sensitive(&name) && !value.is_null() {
                    Json::String("[sensitive]".to_owned())
                } else {
                    self.secrets.redact_json(&value)
                };
                (name, value)
            })
            .collect()
    }

    /// Whether `template` reads something not known before the run: a
    /// step that will not have run, or an item not yet known.
    fn unknown_reads(
        &self,
        template: &Template,
        known: &HashMap<StepId, Known>,
        item_known: bool,
    ) -> bool {
        let unreal = |step: &str| {
            StepId::parse(step)
                .ok()
                .and_then(|id| known.get(&id))
                .is_none_or(|k| !k.real)
        };
        let mut expressions = Vec::new();
        collect_expressions(template, &mut expressions);
        expressions.into_iter().any(|expression| {
            let Ok(references) = self.inner.expr.references(expression) else {
                return false;
            };
            references.iter().any(|reference| match reference {
                Reference::StepOutput { step, .. }
                | Reference::StepState(step)
                | Reference::StepError(step)
                | Reference::StepOther { step, .. } => unreal(step),
                Reference::Steps => known.values().any(|k| !k.real),
                Reference::Item => !item_known,
                // The run's own id: what is tagged with it (or looked up
                // by it) is what the run makes. Its start is taken as now.
                Reference::Execution(field) => field == "id",
                Reference::ExecutionWhole => true,
                _ => false,
            })
        })
    }
}

/// The expressions inside a template.
fn collect_expressions<'t>(
    template: &'t Template,
    out: &mut Vec<&'t shutter_dsl::template::Expression>,
) {
    match template {
        Template::Literal(_) => {}
        Template::Expr(expression) => out.push(expression),
        Template::Interpolated(parts) => out.extend(parts.iter().filter_map(|part| match part {
            Part::Expr(expression) => Some(expression),
            Part::Text(_) => None,
        })),
        Template::List(items) => items.iter().for_each(|item| collect_expressions(item, out)),
        Template::Map(map) => map
            .values()
            .for_each(|value| collect_expressions(value, out)),
    }
}

/// A template as written, for what a plan cannot resolve.
fn source_text(template: &Template) -> String {
    match template.to_source() {
        Json::String(text) => text,
        other => other.to_string(),
    }
}
