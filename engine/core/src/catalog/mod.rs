//! The action catalog: every built-in action's parameters and outputs, as data.
//!
//! The compiler checks `with:` against it, `shutter actions` lists it, and
//! docs/actions.md is generated from it. Provider crates add their entries
//! with [`Catalog::register`].

mod core_actions;
mod declare;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
pub use serde_json::Value as Json;

pub use declare::{Named, Outputs, ParamKind, Params};

/// The action name that runs a WebAssembly module instead of a built-in.
pub const WASM_ACTION: &str = "wasm";

/// The type of a parameter or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
    /// A string such as `30s`, `15m` or `2h`.
    Duration,
    /// An HTTP status code (100 to 599), or a list of them.
    #[serde(rename = "status_codes")]
    StatusCodes,
    Any,
}

impl ParamType {
    /// Whether a literal JSON value fits this type.
    pub fn accepts(self, value: &Json) -> bool {
        match self {
            Self::String => value.is_string(),
            Self::Integer => value.is_i64() || value.is_u64(),
            Self::Number => value.is_number(),
            Self::Boolean => value.is_boolean(),
            Self::Array => value.is_array(),
            Self::Object => value.is_object(),
            Self::Duration => value
                .as_str()
                .is_some_and(|text| crate::units::parse_duration(text).is_ok()),
            Self::StatusCodes => {
                let code = |v: &Json| v.as_u64().is_some_and(|n| (100..=599).contains(&n));
                code(value)
                    || value
                        .as_array()
                        .is_some_and(|codes| !codes.is_empty() && codes.iter().all(code))
            }
            Self::Any => true,
        }
    }
}

impl fmt::Display for ParamType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::String => "string",
            Self::Integer => "integer",
            Self::Number => "number",
            Self::Boolean => "boolean",
            Self::Array => "array",
            Self::Object => "object",
            Self::Duration => "duration",
            Self::StatusCodes => "status_codes",
            Self::Any => "any",
        };
        f.write_str(name)
    }
}

/// One parameter an action takes.
#[derive(Debug, Clone, Serialize)]
pub struct ParamSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ParamType,
    pub required: bool,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Json>,
    /// Takes credentials (headers, passwords): a value may be built from
    /// secrets here (`Bearer ${{ secrets.token }}`), and what it resolves
    /// to is redacted like a secret.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

impl ParamSpec {
    /// A parameter as [`ActionSpec::param`] and [`ActionSpec::optional`]
    /// add it: one that takes no credentials.
    fn plain(
        name: &str,
        ty: ParamType,
        required: bool,
        default: Option<Json>,
        description: &str,
    ) -> Self {
        Self {
            name: name.to_owned(),
            ty,
            required,
            description: description.to_owned(),
            default,
            sensitive: false,
        }
    }
}

/// One output an action produces.
#[derive(Debug, Clone, Serialize)]
pub struct OutputSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: ParamType,
    pub description: String,
}

/// What running an action does to the world, for plans (`shutter run
/// --plan`): a plan runs the actions that only read and shows the others
/// with their parameters, without running them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Only looks: lists, gets, describes, waits on what exists, computes.
    Read,
    /// Creates, changes, deletes or sends something, or only takes time
    /// (a sleep): a plan says it would run and does not run it. An action
    /// that does not say otherwise is one.
    #[default]
    Write,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

/// A built-in action.
#[derive(Debug, Clone, Serialize)]
pub struct ActionSpec {
    pub name: String,
    pub description: String,
    /// Whether a plan may run it.
    pub effect: Effect,
    pub params: Vec<ParamSpec>,
    pub outputs: Vec<OutputSpec>,
    /// The outputs depend on the parameters (e.g. `core.noop` returns what
    /// it is given): any output name is accepted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dynamic_outputs: bool,
}

impl ActionSpec {
    pub fn new(name: &str, description: &str) -> Self {
        Self {
            name: name.to_owned(),
            description: description.to_owned(),
            effect: Effect::Write,
            params: Vec::new(),
            outputs: Vec::new(),
            dynamic_outputs: false,
        }
    }

    /// Marks the action as one that only reads (see [`Effect`]).
    #[must_use]
    pub fn read_only(mut self) -> Self {
        self.effect = Effect::Read;
        self
    }

    /// Accepts any output name (see `dynamic_outputs`).
    #[must_use]
    pub fn with_dynamic_outputs(mut self) -> Self {
        self.dynamic_outputs = true;
        self
    }

    #[must_use]
    pub fn param(self, name: &str, ty: ParamType, description: &str) -> Self {
        self.with_param(ParamSpec::plain(name, ty, true, None, description))
    }

    #[must_use]
    pub fn optional(
        self,
        name: &str,
        ty: ParamType,
        default: Option<Json>,
        description: &str,
    ) -> Self {
        self.with_param(ParamSpec::plain(name, ty, false, default, description))
    }

    /// Adds a parameter as declared (by `#[action_params]`).
    #[must_use]
    pub fn with_param(mut self, param: ParamSpec) -> Self {
        self.params.push(param);
        self
    }

    /// Marks the parameter added last as one that takes credentials.
    #[must_use]
    pub fn sensitive(mut self) -> Self {
        if let Some(param) = self.params.last_mut() {
            param.sensitive = true;
        }
        self
    }

    #[must_use]
    pub fn output(mut self, name: &str, ty: ParamType, description: &str) -> Self {
        self.outputs.push(OutputSpec {
            name: name.to_owned(),
            ty,
            description: description.to_owned(),
        });
        self
    }

    pub fn param_named(&self, name: &str) -> Option<&ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    pub fn has_output(&self, name: &str) -> bool {
        self.dynamic_outputs || self.outputs.iter().any(|o| o.name == name)
    }
}

/// All actions a compiler accepts, by name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    actions: BTreeMap<String, ActionSpec>,
}

impl Catalog {
    /// An empty catalog; `uses: wasm` is always accepted.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The catalog with the core actions (`core.*`).
    pub fn with_core() -> Self {
        let mut catalog = Self::empty();
        for spec in core_actions::actions() {
            catalog.register(spec);
        }
        catalog
    }

    /// Adds or replaces an action.
    pub fn register(&mut self, spec: ActionSpec) {
        self.actions.insert(spec.name.clone(), spec);
    }

    pub fn get(&self, name: &str) -> Option<&ActionSpec> {
        self.actions.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.actions.keys().map(String::as_str)
    }

    pub fn actions(&self) -> impl Iterator<Item = &ActionSpec> {
        self.actions.values()
    }

    /// The catalog as Markdown, for docs/actions.md.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from(
            "# Built-in actions\n\n<!-- generated by `shutter actions --format markdown`; do not edit -->\n\n\
             `uses: wasm` runs a WebAssembly module instead; see docs/wasm-steps.md.\n",
        );
        for spec in self.actions() {
            out.push('\n');
            out.push_str(&spec.to_markdown());
        }
        out
    }
}

impl ActionSpec {
    /// This action's section of docs/actions.md.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("## `{}`\n\n{}\n\n", self.name, self.description);
        out.push_str(match self.effect {
            Effect::Read => "Effect: `read` (a plan runs it).\n\n",
            Effect::Write => "Effect: `write` (a plan shows it without running it).\n\n",
        });
        if self.params.is_empty() {
            out.push_str("No parameters.\n");
        } else {
            out.push_str("| parameter | type | required | description |\n|---|---|---|---|\n");
            for p in &self.params {
                let required = match (&p.default, p.required) {
                    (_, true) => "yes".to_owned(),
                    (Some(default), false) => format!("no (default `{default}`)"),
                    (None, false) => "no".to_owned(),
                };
                let sensitive = if p.sensitive {
                    " Sensitive: may be built from secrets; redacted."
                } else {
                    ""
                };
                out.push_str(&format!(
                    "| `{}` | {} | {required} | {}{sensitive} |\n",
                    p.name, p.ty, p.description
                ));
            }
        }
        if self.dynamic_outputs {
            out.push_str("\nOutputs: whatever the parameters make them.\n");
        }
        if !self.outputs.is_empty() {
            out.push_str("\n| output | type | description |\n|---|---|---|\n");
            for o in &self.outputs {
                out.push_str(&format!(
                    "| `{}` | {} | {} |\n",
                    o.name, o.ty, o.description
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_accept_matching_literals() {
        assert!(ParamType::Integer.accepts(&json!(3)));
        assert!(!ParamType::Integer.accepts(&json!(3.5)));
        assert!(ParamType::Number.accepts(&json!(3.5)));
        assert!(ParamType::Duration.accepts(&json!("15m")));
        assert!(ParamType::StatusCodes.accepts(&json!(204)));
        assert!(ParamType::StatusCodes.accepts(&json!([200, 201])));
        for wrong in [json!("2xx"), json!(42), json!([]), json!([200, "201"])] {
            assert!(!ParamType::StatusCodes.accepts(&wrong), "{wrong}");
        }
        assert!(!ParamType::Duration.accepts(&json!("soon")));
        assert!(!ParamType::String.accepts(&json!(["x"])));
    }

    #[test]
    fn core_catalog_describes_core_actions() {
        let catalog = Catalog::with_core();
        let names: Vec<_> = catalog.names().collect();
        assert_eq!(
            names,
            vec!["core.fail", "core.log", "core.noop", "core.sleep"]
        );
        let log = catalog.get("core.log").unwrap();
        assert!(log.param_named("message").unwrap().required);
        assert!(catalog.to_markdown().contains("## `core.sleep`"));
        // What a plan may run: only what has no effect on the world.
        let effects: Vec<_> = catalog.actions().map(|a| a.effect.as_str()).collect();
        assert_eq!(effects, vec!["read", "read", "read", "write"]);
    }
}
