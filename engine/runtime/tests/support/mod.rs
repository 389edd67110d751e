//! What the executor's test files share.

use std::sync::Arc;

use serde_json::Value as Json;
use shutter_core::ExecutionId;
use shutter_dsl::{Plan, Source};
use shutter_runtime::{Engine, WorkflowSource};

/// Compiles `yaml` with the engine's catalog and starts it with `inputs`
/// (a JSON object): the execution and its plan, to run.
///
/// # Panics
/// When the workflow does not compile or cannot be started.
pub(crate) async fn start(engine: &Engine, yaml: &str, inputs: &Json) -> (ExecutionId, Arc<Plan>) {
    let plan = shutter_dsl::compile(&Source::new("test.yaml", yaml), engine.catalog())
        .unwrap_or_else(|d| panic!("{d}"));
    let source = WorkflowSource {
        text: yaml.to_owned(),
        path: None,
    };
    let inputs = inputs.as_object().expect("inputs are a JSON object");
    let started = engine
        .start(&plan, source, inputs)
        .await
        .unwrap_or_else(|e| panic!("starting: {e}"));
    (started.id, Arc::new(plan))
}
