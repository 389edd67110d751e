//! What expressions see while an execution runs: `inputs`, `steps`,
//! `execution`, `secrets`, `item`.
//!
//! `steps` is a live object, looked up on access, so building a scope costs
//! the same whatever the number of finished steps.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock, RwLock};

use minijinja::Value;
use minijinja::value::Object;
use serde_json::Value as Json;

use shutter_core::state::StepState;

/// Finished steps as expressions see them: `{outputs, state, error}` by
/// step id.
#[derive(Debug, Default)]
pub(crate) struct StepsView {
    steps: RwLock<HashMap<String, Arc<Ended>>>,
}

/// One finished step: kept as it ended, and made into the value
/// expressions see only when one reads it. Most steps of a large workflow
/// are never read by name, and building the value for each was 7% of
/// the engine's time in a fan of 2,000 (issue 19).
#[derive(Debug)]
struct Ended {
    state: StepState,
    outputs: Option<Json>,
    error: Option<String>,
    value: OnceLock<Value>,
}

impl Ended {
    fn value(&self) -> &Value {
        self.value.get_or_init(|| {
            Value::from_serialize(serde_json::json!({
                "state": self.state.as_str(),
                "outputs": self.outputs.as_ref().unwrap_or(&Json::Null),
                "error": self.error,
            }))
        })
    }
}

impl StepsView {
    pub(crate) fn set(
        &self,
        step: &str,
        state: StepState,
        outputs: Option<&Json>,
        error: Option<&str>,
    ) {
        let ended = Ended {
            state,
            outputs: outputs.cloned(),
            error: error.map(str::to_owned),
            value: OnceLock::new(),
        };
        self.steps
            .write()
            .expect("no panic while holding this lock")
            .insert(step.to_owned(), Arc::new(ended));
    }
}

impl Object for StepsView {
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let name = key.as_str()?;
        let ended = self
            .steps
            .read()
            .expect("no panic while holding this lock")
            .get(name)
            .cloned()?;
        Some(ended.value().clone())
    }
}

/// The parts of a scope fixed for the whole execution.
#[derive(Debug, Clone)]
pub(crate) struct Scope {
    pub(crate) inputs: Value,
    pub(crate) execution: Value,
    pub(crate) secrets: Value,
    pub(crate) steps: Arc<StepsView>,
}

impl Scope {
    /// The scope for one evaluation, with `item` when inside a `for_each`.
    pub(crate) fn with_item(&self, item: Option<&Json>) -> Value {
        let mut map: BTreeMap<&str, Value> = BTreeMap::new();
        map.insert("inputs", self.inputs.clone());
        map.insert("execution", self.execution.clone());
        map.insert("secrets", self.secrets.clone());
        map.insert("steps", Value::from_dyn_object(self.steps.clone()));
        if let Some(item) = item {
            map.insert("item", Value::from_serialize(item));
        }
        Value::from(map)
    }
}
