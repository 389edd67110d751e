//! What a plan says, step by step: the API's JSON and the CLI's text both
//! come from these, and the CLI reads a server's plan back into them.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use shutter_core::catalog::Effect;
use utoipa::ToSchema;

/// What a run would do.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DryRun {
    pub workflow: String,
    pub plan_hash: String,
    /// The inputs, with defaults filled in.
    #[schema(value_type = Object)]
    pub inputs: Json,
    /// Why the run would fail before its first step (a secret not set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Step instances a run would start that change something (writes).
    pub writes: usize,
    /// Read step instances the plan ran.
    pub reads: usize,
    /// By step id, in the order the workflow lists them.
    #[schema(value_type = std::collections::BTreeMap<String, StepPlan>)]
    pub steps: IndexMap<String, StepPlan>,
}

impl DryRun {
    pub(crate) fn new(
        workflow: String,
        plan_hash: String,
        inputs: Json,
        problem: Option<String>,
        steps: IndexMap<String, StepPlan>,
    ) -> Self {
        let count = |effect: Effect, forecast: Forecast| {
            steps
                .values()
                .filter(|s| s.effect == effect)
                .flat_map(|s| &s.calls)
                .filter(|c| c.forecast == forecast)
                .count()
        };
        Self {
            writes: count(Effect::Write, Forecast::WouldRun),
            reads: count(Effect::Read, Forecast::Ran),
            workflow,
            plan_hash,
            inputs,
            problem,
            steps,
        }
    }
}

/// How a step (or one of its instances) fares in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Forecast {
    /// It only reads: the plan ran it, and its outputs are real.
    Ran,
    /// A run would start it (a write, or a read whose parameters or `if`
    /// are known only at run time); the plan did not.
    WouldRun,
    /// A run would skip it (its `if` is false, or a step it needs is
    /// skipped).
    Skipped,
    /// It failed in the plan: a read that failed, or a parameter, `if` or
    /// `for_each` that could not be evaluated.
    Failed,
    /// A step it needs fails in the plan, so a run would not start it.
    NotReached,
}

/// One step of a plan.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepPlan {
    pub action: String,
    /// `read` (a plan runs it) or `write` (a plan shows it).
    #[schema(value_type = String)]
    pub effect: Effect,
    pub forecast: Forecast,
    /// Why it is skipped, not reached or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Its `if` as written, when it reads what only the run will know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Its `for_each` as written, when the items are known only at run
    /// time (`calls` then holds one call, for any item).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub for_each: Option<String>,
    /// A write it needs runs before it in a run: a read step's result here
    /// is what the world holds now, which that write may change.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub after_writes: bool,
    /// One per instance: one for a plain step, one per item of a
    /// `for_each`; none when it would be skipped.
    pub calls: Vec<Call>,
    /// How many items its `for_each` gives, when known (`calls` are
    /// then one per item).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<usize>,
}

impl StepPlan {
    pub(crate) fn new(action: &str, effect: Effect, after_writes: bool) -> Self {
        Self {
            action: action.to_owned(),
            effect,
            forecast: Forecast::WouldRun,
            reason: None,
            condition: None,
            for_each: None,
            after_writes,
            calls: Vec::new(),
            items: None,
        }
    }

    /// What expressions of later steps see as its outputs, when it ran:
    /// a `for_each` step's are `{items: [...]}`.
    pub(crate) fn outputs(&self) -> Option<Json> {
        if self.forecast != Forecast::Ran {
            return None;
        }
        let outputs = |call: &Call| call.outputs.clone().unwrap_or(Json::Null);
        if self.items.is_some() {
            let items: Vec<Json> = self.calls.iter().map(outputs).collect();
            Some(serde_json::json!({ "items": items }))
        } else {
            self.calls.first().map(outputs)
        }
    }

    /// The step's forecast from its instances'.
    pub(crate) fn forecast_from_calls(&self, items_known: bool) -> Forecast {
        let any = |forecast: Forecast| self.calls.iter().any(|c| c.forecast == forecast);
        if any(Forecast::Failed) {
            Forecast::Failed
        } else if !items_known
            || self.condition.is_some()
            || any(Forecast::WouldRun)
            // A write over no items: a run would start it, to do nothing.
            || self.effect == Effect::Write
        {
            Forecast::WouldRun
        } else {
            Forecast::Ran
        }
    }

    /// The first failure among its instances.
    pub(crate) fn first_error(&self) -> Option<String> {
        self.calls.iter().find_map(|c| c.error.clone())
    }
}

/// One instance of a step: the action's call as a run would make it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Call {
    /// The `for_each` item, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub item: Option<Json>,
    pub forecast: Forecast,
    /// Parameters resolved; those in `at_run_time` are shown as written.
    #[schema(value_type = Object)]
    pub params: Map<String, Json>,
    /// Parameters that read what only the run will know.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub at_run_time: Vec<String>,
    /// What it returned, when the plan ran it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub outputs: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Its log lines, when the plan ran it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<String>,
}

impl Call {
    pub(crate) fn new(item: Option<Json>, at_run_time: Vec<String>) -> Self {
        Self {
            item,
            forecast: Forecast::WouldRun,
            params: Map::new(),
            at_run_time,
            outputs: None,
            error: None,
            logs: Vec::new(),
        }
    }

    pub(crate) fn ran(&mut self, outputs: Json, logs: Vec<String>) {
        self.forecast = Forecast::Ran;
        self.outputs = Some(match outputs {
            Json::Null => Json::Object(Map::new()),
            other => other,
        });
        self.logs = logs;
    }

    pub(crate) fn fail(&mut self, error: String) {
        self.forecast = Forecast::Failed;
        self.error = Some(error);
    }
}
