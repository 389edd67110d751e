//! The validated workflow: types that cannot hold what the checks reject.

use std::fmt;
use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use crate::raw::{Backoff, ConcurrencyPolicy, InputType, OnError};
use crate::template::Template;

/// A workflow's name: letters, digits, `-`, `_`, `.`; at most 128 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct WorkflowName(String);

impl WorkflowName {
    pub fn parse(name: &str) -> Result<Self, String> {
        let valid = !name.is_empty()
            && name.len() <= 128
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if valid {
            Ok(Self(name.to_owned()))
        } else {
            Err(format!(
                "workflow name `{name}` may hold only letters, digits, `-`, `_` and `.` (1 to 128)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkflowName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A step's id: an identifier, so expressions can name it (`steps.ID`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct StepId(String);

impl StepId {
    pub fn parse(id: &str) -> Result<Self, String> {
        let mut chars = id.chars();
        let valid = id.len() <= 128
            && chars
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
        if valid {
            Ok(Self(id.to_owned()))
        } else {
            Err(format!(
                "step id `{id}` must be an identifier (a letter or `_`, then letters, digits or `_`), so that `steps.{id}` can be read in expressions"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    pub version: u32,
    pub name: WorkflowName,
    pub description: Option<String>,
    pub inputs: IndexMap<String, InputSpec>,
    pub outputs: IndexMap<String, Template>,
    pub secrets: Vec<String>,
    pub schedule: Option<Schedule>,
    pub concurrency: Option<Concurrency>,
    /// Deadline of the whole execution.
    pub timeout: Option<Duration>,
    /// Webhook receivers (`notify:`).
    pub notify: Vec<Notify>,
    pub steps: IndexMap<StepId, Step>,
}

/// One receiver of `notify:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notify {
    pub to: NotifyTo,
    /// What it is told (at least one).
    pub events: Vec<shutter_core::notify::NotifyEvent>,
    /// The workflow secret whose value signs the body.
    pub secret: Option<String>,
}

/// Where a receiver is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifyTo {
    Url(String),
    /// A receiver of the config file's `notify.sinks`, by name.
    Sink(String),
}

impl Workflow {
    /// Every `uses: wasm` module the workflow names (compensations
    /// included), with the YAML path of its `module` key, for checks made
    /// outside the compiler (files, downloads).
    pub fn wasm_modules(&self) -> Vec<(crate::path::YamlPath, &WasmModule)> {
        let mut found = Vec::new();
        for step in self.steps.values() {
            let path = crate::path::YamlPath::root()
                .key("steps")
                .key(step.id.as_str());
            if let ActionRef::Wasm(module) = &step.call.action {
                found.push((path.key("wasm").key("module"), &**module));
            }
            if let Some(compensate) = &step.compensate
                && let ActionRef::Wasm(module) = &compensate.action
            {
                found.push((path.key("compensate").key("wasm").key("module"), &**module));
            }
        }
        found
    }
}

/// An input's declaration. Clients read a served workflow's inputs
/// (`GET /workflows/{name}`) back into it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    #[serde(rename = "type")]
    pub ty: InputType,
    pub description: Option<String>,
    pub default: Option<Json>,
    pub required: bool,
    #[serde(rename = "enum")]
    pub allowed: Option<Vec<Json>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The five-field expression as written.
    pub cron: String,
    pub timezone: chrono_tz::Tz,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Concurrency {
    pub key: Template,
    pub policy: ConcurrencyPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetryPolicy {
    /// Tries in all, the first included; 1 means no retry.
    pub attempts: u32,
    pub backoff: Backoff,
    #[serde(with = "humantime_serde_compat")]
    pub delay: Duration,
    #[serde(with = "humantime_serde_compat")]
    pub max_delay: Duration,
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 1,
            backoff: Backoff::Exponential,
            delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            jitter: true,
        }
    }
}

/// What a step runs.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionRef {
    Builtin(String),
    // Boxed: a module's spec is five times the size of a builtin's name, and
    // a 100,000-step workflow holds an `ActionRef` per step and compensation.
    Wasm(Box<WasmModule>),
}

impl ActionRef {
    pub fn name(&self) -> &str {
        match self {
            Self::Builtin(name) => name,
            Self::Wasm(_) => crate::catalog::WASM_ACTION,
        }
    }
}

/// A step's `wasm:` block, checked: the concept lives in `shutter-core`,
/// which the WebAssembly host reads without compiling the language.
pub use shutter_core::ModuleSpec as WasmModule;

/// An action with its parameters: a step's body, or a compensation.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionCall {
    pub action: ActionRef,
    pub with: IndexMap<String, Template>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: StepId,
    pub call: ActionCall,
    /// Explicit and implied dependencies, in the order first seen.
    pub needs: Vec<StepId>,
    /// Dependencies added because an expression reads another step.
    pub implied_needs: Vec<StepId>,
    pub condition: Option<Box<Template>>,
    pub for_each: Option<Box<Template>>,
    pub concurrency: Option<u32>,
    /// The limit pool each try waits for a slot of (its name, evaluated
    /// with the step's item).
    pub limit: Option<Box<Template>>,
    pub retry: RetryPolicy,
    pub timeout: Option<Duration>,
    // Boxed, as are the rarely-set templates above: a small `Step` keeps a
    // large workflow's model small (it was 800 bytes a step, docs/benchmarks.md).
    pub compensate: Option<Box<ActionCall>>,
    pub finally: bool,
    /// Whether the execution fails with this step, or goes on.
    pub on_error: OnError,
    /// Steps a retry runs again whenever it runs this one.
    pub rerun_with: Vec<StepId>,
}

mod humantime_serde_compat {
    use std::time::Duration;

    pub(super) fn serialize<S: serde::Serializer>(
        value: &Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::units::format_duration(*value))
    }
}
