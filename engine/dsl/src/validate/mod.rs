//! Raw structs -> the validated [`Workflow`]: every check that needs meaning
//! (names, references, actions, parameters, durations, cron), all reported
//! at once. Dependencies implied by expressions are added here.
//!
//! `step.rs` checks one step (its control fields, `needs`, compensation),
//! `action.rs` what a step runs, `references.rs` what its expressions read,
//! `cron.rs` which field of a schedule is wrong.

mod action;
mod cron;
mod notify;
mod references;
mod step;

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::catalog::{ActionSpec, Catalog};
use crate::decode::Dropped;
use crate::diagnostic::Diagnostic;
use crate::expr::ExprEngine;
use crate::model::{
    Concurrency, ConcurrencyPolicy, InputSpec, InputType, RetryPolicy, Schedule, Step, StepId,
    Workflow, WorkflowName,
};
use crate::path::YamlPath;
use crate::raw::{RawRetry, RawSchedule, RawStep, RawWorkflow};
use crate::units::parse_duration;

const ROOT_NAMES: &[&str] = &["inputs", "steps", "execution", "item", "secrets"];

/// Where an expression is written decides which names it may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// A step's `with`; `item` allowed when the step has `for_each`.
    StepWith { for_each: bool },
    /// A step's `if` or `for_each`.
    StepControl,
    /// A step's `compensate.with`.
    Compensate { for_each: bool },
    /// The workflow's `outputs`.
    Outputs,
    /// The workflow's `concurrency.key`: known before any step runs.
    ConcurrencyKey,
}

/// What the outputs of a step are made of.
#[derive(Clone, Copy)]
struct StepShape<'a> {
    spec: Option<&'a ActionSpec>,
    /// A `for_each` step's outputs are `{items: [...]}`, one action's
    /// outputs per item.
    for_each: bool,
}

struct Checker<'a> {
    catalog: &'a Catalog,
    engine: &'a ExprEngine,
    errs: &'a mut Vec<Diagnostic>,
    inputs: Vec<String>,
    /// Each declared input's type, for what can be known of an expression
    /// that is an input alone (`for_each: ${{ inputs.vms }}`).
    input_types: HashMap<String, InputType>,
    secrets: Vec<String>,
    /// `secrets` was left out for its shape: which names it lists is unknown.
    secrets_dropped: bool,
    /// Every step id written, with its action when known and whether it
    /// runs `for_each` (for output checks).
    steps: HashMap<String, StepShape<'a>>,
    /// Step ids in file order, for suggestions.
    step_order: Vec<String>,
}

pub(crate) fn validate(
    raw: &RawWorkflow<RawStep>,
    dropped: &Dropped,
    catalog: &Catalog,
    engine: &ExprEngine,
    errs: &mut Vec<Diagnostic>,
) -> Option<Workflow> {
    let root = YamlPath::root();
    let before = errs.len();
    let mut checker = Checker {
        catalog,
        engine,
        errs,
        inputs: raw.inputs.keys().chain(&dropped.inputs).cloned().collect(),
        input_types: raw
            .inputs
            .iter()
            .map(|(name, input)| (name.clone(), input.ty))
            .collect(),
        secrets: raw.secrets.clone(),
        secrets_dropped: dropped.key("secrets"),
        steps: HashMap::new(),
        step_order: Vec::new(),
    };
    for (id, step) in &raw.steps {
        let shape = StepShape {
            spec: catalog.get(&step.uses),
            for_each: step.for_each.is_some(),
        };
        checker.steps.insert(id.clone(), shape);
        checker.step_order.push(id.clone());
    }
    // Left out for their shape (already reported): known, of no known shape.
    for id in &dropped.steps {
        let shape = StepShape {
            spec: None,
            for_each: false,
        };
        checker.steps.insert(id.clone(), shape);
        checker.step_order.push(id.clone());
    }

    if raw.version != 1 && !dropped.key("version") {
        checker.error(
            Diagnostic::error(
                "version",
                format!(
                    "unsupported version {}; this Shutter reads version 1",
                    raw.version
                ),
            )
            .at(&root.key("version")),
        );
    }
    let name = WorkflowName::parse(&raw.name)
        .map_err(|message| {
            if !dropped.key("name") {
                checker.error(Diagnostic::error("name", message).at(&root.key("name")));
            }
        })
        .ok();
    let inputs = checker.inputs_of(raw);
    checker.check_secret_names(&raw.secrets);
    let defaults = raw.defaults.clone().unwrap_or_default();
    let defaults_path = root.key("defaults");
    let base_retry = checker.retry(
        defaults.retry.as_ref(),
        &RetryPolicy::default(),
        &defaults_path.key("retry"),
    );
    let default_timeout =
        checker.duration(defaults.timeout.as_deref(), &defaults_path.key("timeout"));
    let timeout = checker.duration(raw.timeout.as_deref(), &root.key("timeout"));
    let notify = checker.notify(&raw.notify, &raw.secrets, &root.key("notify"));
    let schedule = raw
        .schedule
        .as_ref()
        .and_then(|s| checker.schedule(s, &root.key("schedule")));
    let concurrency = raw.concurrency.as_ref().map(|c| {
        let path = root.key("concurrency").key("key");
        Concurrency {
            key: checker
                .template(&Json::String(c.key.clone()), &path, Place::ConcurrencyKey)
                .0,
            policy: c.policy.unwrap_or(ConcurrencyPolicy::Queue),
        }
    });
    if raw.steps.is_empty() && dropped.steps.is_empty() && !dropped.key("steps") {
        checker
            .error(Diagnostic::error("no-steps", "workflow has no steps").at(&root.key("steps")));
    }

    let mut steps = IndexMap::with_capacity(raw.steps.len());
    for (id, raw_step) in &raw.steps {
        let path = root.key("steps").key(id);
        if let Some(step) = checker.step(id, raw_step, &path, &base_retry, default_timeout) {
            steps.insert(step.id.clone(), step);
        }
    }
    add_finally_joins(&mut steps);

    let outputs = raw
        .outputs
        .iter()
        .map(|(name, value)| {
            let path = root.key("outputs").key(name);
            (
                name.clone(),
                checker.template(value, &path, Place::Outputs).0,
            )
        })
        .collect();

    if errs.len() > before {
        crate::plan::check_cycles(&steps, errs);
        return None;
    }
    Some(Workflow {
        version: raw.version,
        name: name?,
        description: raw.description.clone(),
        inputs,
        outputs,
        secrets: raw.secrets.clone(),
        schedule,
        concurrency,
        timeout,
        notify,
        steps,
    })
}

/// A `finally` step with no dependencies runs after every other step: it
/// gets implied dependencies on the steps nothing else waits for.
fn add_finally_joins(steps: &mut IndexMap<StepId, Step>) {
    let waited_on: HashSet<StepId> = steps
        .values()
        .filter(|s| !s.finally)
        .flat_map(|s| s.needs.iter().cloned())
        .collect();
    let sinks: Vec<StepId> = steps
        .values()
        .filter(|s| !s.finally && !waited_on.contains(&s.id))
        .map(|s| s.id.clone())
        .collect();
    for step in steps.values_mut() {
        if step.finally && step.needs.is_empty() {
            step.needs.clone_from(&sinks);
            step.implied_needs.clone_from(&sinks);
        }
    }
}

impl<'a> Checker<'a> {
    fn error(&mut self, diagnostic: Diagnostic) {
        self.errs.push(diagnostic);
    }

    fn inputs_of(&mut self, raw: &RawWorkflow<RawStep>) -> IndexMap<String, InputSpec> {
        let mut inputs = IndexMap::new();
        for (name, input) in &raw.inputs {
            let path = YamlPath::root().key("inputs").key(name);
            if StepId::parse(name).is_err() {
                self.error(
                    Diagnostic::error("name", format!("input name `{name}` must be an identifier, so that `inputs.{name}` can be read"))
                        .at_key(&path),
                );
            }
            if let Some(default) = &input.default
                && !input_accepts(input.ty, default)
            {
                self.error(
                    Diagnostic::error(
                        "wrong-type",
                        format!(
                            "default of input `{name}` is not of type {}",
                            input.ty.as_str()
                        ),
                    )
                    .at(&path.key("default")),
                );
            }
            if let Some(allowed) = &input.allowed {
                for (i, value) in allowed.iter().enumerate() {
                    if !input_accepts(input.ty, value) {
                        self.error(
                            Diagnostic::error(
                                "wrong-type",
                                format!(
                                    "value {value} of `enum` is not of type {}",
                                    input.ty.as_str()
                                ),
                            )
                            .at(&path.key("enum").index(i)),
                        );
                    }
                }
                if let Some(default) = &input.default
                    && !allowed.contains(default)
                {
                    self.error(
                            Diagnostic::error("enum", format!("default {default} of input `{name}` is not one of its `enum` values"))
                                .at(&path.key("default")),
                        );
                }
            }
            inputs.insert(
                name.clone(),
                InputSpec {
                    ty: input.ty,
                    description: input.description.clone(),
                    default: input.default.clone(),
                    required: input.required.unwrap_or(input.default.is_none()),
                    allowed: input.allowed.clone(),
                },
            );
        }
        inputs
    }

    fn check_secret_names(&mut self, secrets: &[String]) {
        let mut seen = HashSet::new();
        for (i, secret) in secrets.iter().enumerate() {
            let path = YamlPath::root().key("secrets").index(i);
            if StepId::parse(secret).is_err() {
                self.error(
                    Diagnostic::error(
                        "name",
                        format!("secret name `{secret}` must be an identifier"),
                    )
                    .at(&path),
                );
            }
            if !seen.insert(secret) {
                self.error(
                    Diagnostic::error("duplicate", format!("secret `{secret}` is listed twice"))
                        .at(&path),
                );
            }
        }
    }

    fn duration(&mut self, text: Option<&str>, path: &YamlPath) -> Option<Duration> {
        let text = text?;
        match parse_duration(text) {
            Ok(duration) if duration.is_zero() => {
                self.error(
                    Diagnostic::error("duration", "a duration of zero is not allowed here")
                        .at(path),
                );
                None
            }
            Ok(duration) => Some(duration),
            Err(message) => {
                self.error(Diagnostic::error("duration", message).at(path));
                None
            }
        }
    }

    fn retry(
        &mut self,
        raw: Option<&RawRetry>,
        base: &RetryPolicy,
        path: &YamlPath,
    ) -> RetryPolicy {
        let Some(raw) = raw else {
            return base.clone();
        };
        let mut policy = base.clone();
        if let Some(attempts) = raw.attempts {
            if attempts == 0 {
                self.error(
                    Diagnostic::error(
                        "retry",
                        "`attempts` counts every try, the first included: it must be at least 1",
                    )
                    .at(&path.key("attempts")),
                );
            }
            policy.attempts = attempts.max(1);
        }
        if let Some(backoff) = raw.backoff {
            policy.backoff = backoff;
        }
        if let Some(delay) = self.duration(raw.delay.as_deref(), &path.key("delay")) {
            policy.delay = delay;
        }
        if let Some(max_delay) = self.duration(raw.max_delay.as_deref(), &path.key("max_delay")) {
            policy.max_delay = max_delay;
        }
        if let Some(jitter) = raw.jitter {
            policy.jitter = jitter;
        }
        if policy.max_delay < policy.delay {
            self.error(
                Diagnostic::error("retry", "`max_delay` is shorter than `delay`")
                    .at(&path.key("max_delay")),
            );
        }
        policy
    }

    fn schedule(&mut self, raw: &RawSchedule, path: &YamlPath) -> Option<Schedule> {
        let (cron, timezone, cron_path) = match raw {
            RawSchedule::Cron(cron) => (cron, None, path.clone()),
            RawSchedule::Detailed { cron, timezone } => (cron, timezone.as_ref(), path.key("cron")),
        };
        let parsed = croner::Cron::new(cron).parse();
        if let Err(err) = parsed {
            let why = cron::field_problem(cron).unwrap_or_else(|| err.to_string());
            self.error(
                Diagnostic::error(
                    "cron",
                    format!("`{cron}` is not a valid cron expression: {why}"),
                )
                .at(&cron_path)
                .with_help(
                    "five fields: minute hour day-of-month month day-of-week, e.g. `0 2 * * *`",
                ),
            );
            return None;
        }
        let tz = match timezone {
            None => chrono_tz::UTC,
            Some(name) => match chrono_tz::Tz::from_str(name) {
                Ok(tz) => tz,
                Err(_) => {
                    self.error(
                        Diagnostic::error("timezone", format!("unknown time zone `{name}`"))
                            .at(&path.key("timezone"))
                            .with_help("use an IANA name such as `UTC` or `Europe/Paris`"),
                    );
                    return None;
                }
            },
        };
        Some(Schedule {
            cron: cron.clone(),
            timezone: tz,
        })
    }
}

pub(crate) fn input_accepts(ty: InputType, value: &Json) -> bool {
    match ty {
        InputType::String => value.is_string(),
        InputType::Integer => value.is_i64() || value.is_u64(),
        InputType::Number => value.is_number(),
        InputType::Boolean => value.is_boolean(),
        InputType::Array => value.is_array(),
        InputType::Object => value.is_object(),
    }
}

pub(crate) fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_f64() => "a number",
        Json::Number(_) => "an integer",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a map",
    }
}
