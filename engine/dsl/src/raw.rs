//! The workflow file as written: serde structs that mirror the YAML keys.
//!
//! They are strict (`deny_unknown_fields`) and typed, and double as the
//! source of the JSON Schema (`shutter schema`). Meaning — references,
//! durations, cron, actions — is checked later, in `validate`, which turns
//! these into the domain types of `model`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// A workflow file. `S` is the step type: decoding first reads steps as
/// untyped YAML so each step is decoded (and its errors reported) on its own.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Shutter workflow", bound = "S: JsonSchema")]
#[serde(bound(serialize = "S: Serialize", deserialize = "S: Deserialize<'de>"))]
pub struct RawWorkflow<S = RawStep> {
    /// Format version of this file; only `1` exists.
    pub version: u32,
    /// Workflow name: letters, digits, `-`, `_` and `.`.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Typed inputs, given when an execution starts.
    #[serde(
        default,
        deserialize_with = "crate::raw_map::unique",
        serialize_with = "crate::raw_map::sorted"
    )]
    pub inputs: IndexMap<String, RawInput>,
    /// Values computed when the workflow ends, usually from step outputs.
    #[serde(
        default,
        deserialize_with = "crate::raw_map::unique",
        serialize_with = "crate::raw_map::sorted"
    )]
    pub outputs: IndexMap<String, Json>,
    /// Settings every step inherits unless it sets its own.
    #[serde(default)]
    pub defaults: Option<RawDefaults>,
    /// Names of the secrets the workflow may read (`${{ secrets.NAME }}`).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Start executions on a cron schedule (`shutter serve`).
    #[serde(default)]
    pub schedule: Option<RawSchedule>,
    /// Keeps executions that share a key from overlapping.
    #[serde(default)]
    pub concurrency: Option<RawConcurrency>,
    /// Deadline for the whole execution, e.g. `2h`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Webhooks: receivers told when an execution starts, ends or a step
    /// fails (a signed JSON POST).
    // Left out of the content hash when empty: the hashes of workflows
    // written before `notify` existed stay what their executions recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notify: Vec<RawNotify>,
    /// The steps, by id. Ids are identifiers: `[A-Za-z_][A-Za-z0-9_]*`.
    #[serde(
        deserialize_with = "crate::raw_map::unique",
        serialize_with = "crate::raw_map::sorted"
    )]
    pub steps: IndexMap<String, S>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum InputType {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
}

impl InputType {
    /// As the workflow language spells it (`string`, `integer`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Array => "array",
            Self::Object => "object",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    #[serde(rename = "type")]
    pub ty: InputType,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub default: Option<Json>,
    /// Defaults to true when there is no `default`.
    #[serde(default)]
    pub required: Option<bool>,
    /// The only values accepted.
    #[serde(default, rename = "enum")]
    pub allowed: Option<Vec<Json>>,
}

// Every key may be left out (`default` on the struct, here and below):
// what is absent is `None` or empty.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RawDefaults {
    pub retry: Option<RawRetry>,
    /// Per-step deadline, e.g. `30s`, `15m`, `2h`.
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backoff {
    Fixed,
    Exponential,
}

/// What a step's failure (after its last try) does to the execution.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// The execution fails: no new step starts but `finally` ones, and
    /// what succeeded is compensated.
    #[default]
    Fail,
    /// The step is recorded failed and the execution goes on: its
    /// dependants run (they can read `steps.ID.state` and
    /// `steps.ID.error`), nothing is compensated for it, and the execution
    /// ends `succeeded_with_errors`.
    Continue,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RawRetry {
    /// Every try counts, the first included: `attempts: 3` is one try and two retries.
    pub attempts: Option<u32>,
    pub backoff: Option<Backoff>,
    /// Wait before the first retry, e.g. `2s`.
    pub delay: Option<String>,
    /// Upper bound of an exponential wait.
    pub max_delay: Option<String>,
    /// Randomise each wait (full jitter) so retries of many steps spread out.
    pub jitter: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RawSchedule {
    /// A five-field cron expression, in UTC.
    Cron(String),
    Detailed {
        cron: String,
        /// An IANA time zone such as `Europe/Paris`; UTC when absent.
        #[serde(default)]
        timezone: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConcurrencyPolicy {
    /// A new execution whose key is busy is not started.
    Skip,
    /// A new execution whose key is busy waits for the running one.
    Queue,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConcurrency {
    /// An expression over inputs, e.g. `${{ inputs.vm }}`.
    pub key: String,
    #[serde(default)]
    pub policy: Option<ConcurrencyPolicy>,
}

/// One webhook receiver.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RawNotify {
    /// The URL to POST to (`https://`, or `http://` on a trusted network).
    pub url: Option<String>,
    /// A receiver named in Shutter's config file (`notify.sinks.NAME`),
    /// instead of `url`.
    pub sink: Option<String>,
    /// What it is told; by default how every execution ends (`succeeded`,
    /// `succeeded_with_errors`, `failed`, `canceled`).
    pub events: Option<Vec<RawNotifyEvent>>,
    /// A secret of the workflow (listed under `secrets`) whose value signs
    /// each body: `Shutter-Signature: t=..,v1=<HMAC-SHA256>`.
    pub secret: Option<String>,
}

/// An event a receiver may be told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawNotifyEvent {
    Started,
    Succeeded,
    SucceededWithErrors,
    Failed,
    Canceled,
    StepFailed,
}

/// A list, or one item written alone.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// By hand rather than `#[serde(untagged)]`, which buffers every value
/// before trying each variant: `needs` is on most steps of a large file.
impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either;

        impl<'de> serde::de::Visitor<'de> for Either {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a step id or a list of step ids")
            }

            fn visit_str<E: serde::de::Error>(self, one: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(one.to_owned()))
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut items: A,
            ) -> Result<OneOrMany, A::Error> {
                let mut many = Vec::with_capacity(items.size_hint().unwrap_or(1));
                while let Some(item) = items.next_element::<String>()? {
                    many.push(item);
                }
                Ok(OneOrMany::Many(many))
            }
        }

        deserializer.deserialize_any(Either)
    }
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Self::One(one) => vec![one],
            Self::Many(many) => many,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStep {
    /// A built-in action (`shutter actions` lists them) or `wasm`.
    pub uses: String,
    /// Parameters of the action; values may hold `${{ ... }}` expressions.
    #[serde(
        default,
        deserialize_with = "crate::raw_map::unique",
        serialize_with = "crate::raw_map::sorted"
    )]
    pub with: IndexMap<String, Json>,
    /// Steps that must finish first.
    #[serde(default)]
    pub needs: Option<OneOrMany>,
    /// Run only when this expression is true.
    #[serde(default, rename = "if")]
    pub condition: Option<Json>,
    /// Run once per item of this list (an expression or a literal list).
    #[serde(default)]
    pub for_each: Option<Json>,
    /// Most items of a `for_each` running at once.
    // At least 1, as the compiler says: the schema agrees.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub concurrency: Option<u32>,
    /// A limit pool of Shutter's config file (`limits:`), or an expression
    /// giving its name (`vcenter:${{ inputs.vcenter }}`): each try waits
    /// for a slot of it, so no more steps than the pool allows run at once
    /// across every node.
    // Left out when absent: the plan hash of a workflow without it stays
    // what it was before steps could have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<Json>,
    // Boxed: rarely set, and a small step struct keeps decoding large files cheap.
    #[serde(default)]
    pub retry: Option<Box<RawRetry>>,
    /// Deadline for one try, e.g. `30s`.
    #[serde(default)]
    pub timeout: Option<String>,
    /// An action that undoes this step if the workflow fails later.
    #[serde(default)]
    pub compensate: Option<Box<RawActionCall>>,
    /// Run once the steps it needs have ended, whether they succeeded or not.
    #[serde(default)]
    pub finally: bool,
    /// `fail` (the default) or `continue`: a failure of this step is
    /// recorded and the execution goes on, ending `succeeded_with_errors`.
    // Left out when absent, as `limit` is, for the plan hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_error: Option<OnError>,
    /// Steps that must run again whenever this one does on a retry: the
    /// `quiesce` of a `snapshot`, so a retried snapshot is never taken of
    /// a VM that is no longer quiesced.
    // Left out when absent, as `limit` is, for the plan hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_with: Option<OneOrMany>,
    /// The module, for `uses: wasm`.
    #[serde(default)]
    pub wasm: Option<Box<RawWasm>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawActionCall {
    pub uses: String,
    #[serde(
        default,
        deserialize_with = "crate::raw_map::unique",
        serialize_with = "crate::raw_map::sorted"
    )]
    pub with: IndexMap<String, Json>,
    #[serde(default)]
    pub wasm: Option<Box<RawWasm>>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWasm {
    /// A path inside the modules directory (the workflow file's own for `shutter run`, `--modules` for `shutter serve`), or an https URL.
    pub module: String,
    /// Hex SHA-256 of the module; a mismatch fails before anything runs. `dev` for a local module under development: whatever the file holds runs (`shutter serve` only with `--allow-unpinned`); `shutter step pin` writes the hash.
    pub sha256: String,
    /// Memory cap, e.g. `64MiB`.
    #[serde(default)]
    pub memory: Option<String>,
    #[serde(default)]
    pub allow: Option<RawAllow>,
}

/// What a WASM step may reach; nothing unless listed.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RawAllow {
    /// Hosts it may send HTTP requests to.
    pub http: Vec<String>,
    /// Secrets it may read by name.
    pub secrets: Vec<String>,
    /// Environment variables it may read.
    pub env: Vec<String>,
}
