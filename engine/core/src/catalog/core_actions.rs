//! Catalog entries of the core actions. Their implementations live in the
//! providers crate; the entries live here so the compiler knows them without it.

use serde_json::json;

use super::{ActionSpec, ParamType};

pub(super) fn actions() -> Vec<ActionSpec> {
    vec![
        ActionSpec::new(
            "core.noop",
            "Does nothing and succeeds; useful to join branches.",
        )
        .read_only()
        .optional(
            "outputs",
            ParamType::Object,
            None,
            "Returned as this step's outputs, unchanged.",
        )
        .with_dynamic_outputs(),
        ActionSpec::new("core.log", "Writes a line to the execution's log.")
            .read_only()
            .param("message", ParamType::String, "The line to write.")
            .optional(
                "level",
                ParamType::String,
                Some(json!("info")),
                "`debug`, `info`, `warn` or `error`.",
            )
            .output("message", ParamType::String, "The line written."),
        ActionSpec::new(
            "core.sleep",
            "Waits, durably: after a restart the wait resumes with the time left.",
        )
        .param(
            "duration",
            ParamType::Duration,
            "How long to wait, e.g. `30s`.",
        ),
        ActionSpec::new("core.fail", "Fails the step with a message.")
            .read_only()
            .param("message", ParamType::String, "Why the step fails.")
            .optional(
                "retryable",
                ParamType::Boolean,
                Some(json!(false)),
                "Whether the failure may be retried by the step's `retry` policy.",
            ),
    ]
}
