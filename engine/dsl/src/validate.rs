//! Raw structs -> the validated [`Workflow`]: every check that needs meaning
//! (names, references, actions, parameters, durations, cron), all reported
//! at once. Dependencies implied by expressions are added here.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::catalog::{ActionSpec, Catalog, WASM_ACTION};
use crate::diagnostic::Diagnostic;
use crate::expr::{EXECUTION_FIELDS, ExprEngine, Reference};
use crate::model::{
    ActionCall, ActionRef, Concurrency, ConcurrencyPolicy, InputSpec, InputType, RetryPolicy,
    Schedule, Step, StepId, WasmModule, Workflow, WorkflowName,
};
use crate::path::YamlPath;
use crate::raw::{RawActionCall, RawRetry, RawSchedule, RawStep, RawWasm, RawWorkflow};
use crate::suggest;
use crate::template::{Found, Template};
use crate::units::{parse_duration, parse_size};

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

struct Checker<'a> {
    catalog: &'a Catalog,
    engine: &'a ExprEngine,
    errs: &'a mut Vec<Diagnostic>,
    inputs: Vec<String>,
    secrets: Vec<String>,
    /// Every step id written, with its action when known (for output checks).
    steps: HashMap<String, Option<&'a ActionSpec>>,
    /// Step ids in file order, for suggestions.
    step_order: Vec<String>,
}

pub(crate) fn validate(
    raw: &RawWorkflow<RawStep>,
    broken_steps: &[String],
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
        inputs: raw.inputs.keys().cloned().collect(),
        secrets: raw.secrets.clone(),
        steps: HashMap::new(),
        step_order: Vec::new(),
    };
    for (id, step) in &raw.steps {
        checker.steps.insert(id.clone(), catalog.get(&step.uses));
        checker.step_order.push(id.clone());
    }
    for id in broken_steps {
        checker.steps.insert(id.clone(), None);
        checker.step_order.push(id.clone());
    }

    if raw.version != 1 {
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
        .map_err(|message| checker.error(Diagnostic::error("name", message).at(&root.key("name"))))
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
    if raw.steps.is_empty() && broken_steps.is_empty() {
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
                            type_name(input.ty)
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
                                    type_name(input.ty)
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
            self.error(
                Diagnostic::error(
                    "cron",
                    format!("`{cron}` is not a valid cron expression: {err}"),
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

    fn step(
        &mut self,
        id: &str,
        raw: &RawStep,
        path: &YamlPath,
        base_retry: &RetryPolicy,
        default_timeout: Option<Duration>,
    ) -> Option<Step> {
        let step_id = match StepId::parse(id) {
            Ok(step_id) => Some(step_id),
            Err(message) => {
                self.error(Diagnostic::error("name", message).at_key(path));
                None
            }
        };
        let for_each_set = raw.for_each.is_some();
        let mut referenced = Vec::new();
        let call = self.call(
            &raw.uses,
            &raw.with,
            raw.wasm.as_ref(),
            path,
            Place::StepWith {
                for_each: for_each_set,
            },
            &mut referenced,
        );
        let condition = raw.condition.as_ref().map(|value| {
            let cpath = path.key("if");
            if let Json::String(_) | Json::Bool(_) = value {
            } else {
                self.error(
                    Diagnostic::error("wrong-type", "`if` expects an expression or a boolean")
                        .at(&cpath),
                );
            }
            let (template, refs) = self.template(value, &cpath, Place::StepControl);
            referenced.extend(refs);
            template
        });
        let for_each = raw.for_each.as_ref().map(|value| {
            let fpath = path.key("for_each");
            let (template, refs) = self.template(value, &fpath, Place::StepControl);
            if let Some(literal) = template.as_literal()
                && !literal.is_array()
            {
                self.error(
                    Diagnostic::error(
                        "wrong-type",
                        "`for_each` expects a list or an expression giving one",
                    )
                    .at(&fpath),
                );
            }
            referenced.extend(refs);
            template
        });
        if let Some(concurrency) = raw.concurrency {
            if concurrency == 0 {
                self.error(
                    Diagnostic::error("concurrency", "`concurrency` must be at least 1")
                        .at(&path.key("concurrency")),
                );
            } else if !for_each_set {
                self.error(
                    Diagnostic::error(
                        "concurrency",
                        "`concurrency` limits the items of a `for_each`; this step has none",
                    )
                    .at_key(&path.key("concurrency")),
                );
            }
        }
        let retry = self.retry(raw.retry.as_ref(), base_retry, &path.key("retry"));
        let timeout = self
            .duration(raw.timeout.as_deref(), &path.key("timeout"))
            .or(default_timeout);
        let compensate = raw
            .compensate
            .as_ref()
            .and_then(|c| self.compensation(c, &path.key("compensate"), for_each_set));

        let needs = self.needs(id, raw, path);
        let mut all_needs = needs.clone();
        let mut implied = Vec::new();
        for step in referenced {
            if step == id {
                self.error(
                    Diagnostic::error(
                        "self-reference",
                        format!("step `{id}` reads its own outputs before it has run"),
                    )
                    .at(path),
                );
                continue;
            }
            if !all_needs.iter().any(|n| n.as_str() == step)
                && let Ok(step) = StepId::parse(&step)
            {
                all_needs.push(step.clone());
                implied.push(step);
            }
        }
        Some(Step {
            id: step_id?,
            call: call?,
            needs: all_needs,
            implied_needs: implied,
            condition,
            for_each,
            concurrency: raw.concurrency,
            retry,
            timeout,
            compensate,
            finally: raw.finally,
        })
    }

    fn needs(&mut self, id: &str, raw: &RawStep, path: &YamlPath) -> Vec<StepId> {
        let mut needs: Vec<StepId> = Vec::new();
        let Some(list) = raw.needs.clone() else {
            return needs;
        };
        let is_list = matches!(list, crate::raw::OneOrMany::Many(_));
        for (i, need) in list.into_vec().into_iter().enumerate() {
            let npath = if is_list {
                path.key("needs").index(i)
            } else {
                path.key("needs")
            };
            if need == id {
                self.error(
                    Diagnostic::error("cycle", format!("step `{id}` needs itself")).at(&npath),
                );
                continue;
            }
            if !self.steps.contains_key(&need) {
                let candidates: Vec<&str> = self.step_order.iter().map(String::as_str).collect();
                let mut diagnostic = Diagnostic::error(
                    "unknown-step",
                    format!("`needs` names an unknown step `{need}`"),
                )
                .at(&npath);
                if let Some(help) = suggest::help_for(&need, &candidates) {
                    diagnostic = diagnostic.with_help(help);
                }
                self.error(diagnostic);
                continue;
            }
            if let Ok(step) = StepId::parse(&need)
                && !needs.contains(&step)
            {
                needs.push(step);
            }
        }
        needs
    }

    fn compensation(
        &mut self,
        raw: &RawActionCall,
        path: &YamlPath,
        for_each: bool,
    ) -> Option<ActionCall> {
        let mut ignored = Vec::new();
        self.call(
            &raw.uses,
            &raw.with,
            raw.wasm.as_ref(),
            path,
            Place::Compensate { for_each },
            &mut ignored,
        )
    }

    /// Checks `uses` + `with` (+ `wasm`); step ids read by expressions go to `referenced`.
    fn call(
        &mut self,
        uses: &str,
        with: &IndexMap<String, Json>,
        wasm: Option<&RawWasm>,
        path: &YamlPath,
        place: Place,
        referenced: &mut Vec<String>,
    ) -> Option<ActionCall> {
        let action = if uses == WASM_ACTION {
            match wasm {
                Some(wasm) => self.wasm(wasm, &path.key("wasm")).map(ActionRef::Wasm),
                None => {
                    self.error(
                        Diagnostic::error(
                            "missing-key",
                            "`uses: wasm` needs a `wasm:` map with `module` and `sha256`",
                        )
                        .at(&path.key("uses")),
                    );
                    None
                }
            }
        } else {
            if wasm.is_some() {
                self.error(
                    Diagnostic::error(
                        "unexpected-key",
                        format!("`wasm` is read only with `uses: wasm`, not with `{uses}`"),
                    )
                    .at_key(&path.key("wasm")),
                );
            }
            match self.catalog.get(uses) {
                Some(spec) => {
                    self.check_params(spec, with, path);
                    Some(ActionRef::Builtin(uses.to_owned()))
                }
                None => {
                    let mut candidates: Vec<&str> = self.catalog.names().collect();
                    candidates.push(WASM_ACTION);
                    let mut diagnostic =
                        Diagnostic::error("unknown-action", format!("unknown action `{uses}`"))
                            .at(&path.key("uses"));
                    if let Some(help) = suggest::closest(uses, candidates.iter().copied()) {
                        diagnostic = diagnostic.with_help(format!("did you mean `{help}`?"));
                    } else {
                        diagnostic =
                            diagnostic.with_help("`shutter actions` lists the built-in actions");
                    }
                    self.error(diagnostic);
                    None
                }
            }
        };
        let mut params = IndexMap::with_capacity(with.len());
        for (name, value) in with {
            let (template, refs) = self.template(value, &path.key("with").key(name), place);
            referenced.extend(refs);
            params.insert(name.clone(), template);
        }
        Some(ActionCall {
            action: action?,
            with: params,
        })
    }

    fn check_params(&mut self, spec: &ActionSpec, with: &IndexMap<String, Json>, path: &YamlPath) {
        for (name, value) in with {
            let ppath = path.key("with").key(name);
            let Some(param) = spec.param_named(name) else {
                let names: Vec<&str> = spec.params.iter().map(|p| p.name.as_str()).collect();
                let mut diagnostic = Diagnostic::error(
                    "unknown-param",
                    format!("`{}` has no parameter `{name}`", spec.name),
                )
                .at_key(&ppath);
                if let Some(help) = suggest::help_for(name, &names) {
                    diagnostic = diagnostic.with_help(help);
                } else {
                    diagnostic =
                        diagnostic.with_help(format!("`{}` takes no parameters", spec.name));
                }
                self.error(diagnostic);
                continue;
            };
            let has_expression = matches!(value, Json::String(s) if s.contains("${{"));
            if !has_expression && !param.ty.accepts(value) {
                self.error(
                    Diagnostic::error(
                        "wrong-type",
                        format!(
                            "parameter `{name}` of `{}` expects {}, found {}",
                            spec.name,
                            article(param.ty),
                            json_kind(value)
                        ),
                    )
                    .at(&ppath),
                );
            }
        }
        for param in spec.params.iter().filter(|p| p.required) {
            if !with.contains_key(&param.name) {
                let at = if with.is_empty() {
                    path.key("uses")
                } else {
                    path.key("with")
                };
                self.error(
                    Diagnostic::error(
                        "missing-param",
                        format!(
                            "`{}` needs parameter `{}` ({})",
                            spec.name, param.name, param.description
                        ),
                    )
                    .at_key(&at),
                );
            }
        }
    }

    fn wasm(&mut self, raw: &RawWasm, path: &YamlPath) -> Option<WasmModule> {
        let before = self.errs.len();
        let module = raw.module.trim();
        if module.is_empty() {
            self.error(Diagnostic::error("wasm", "`module` is empty").at(&path.key("module")));
        } else if module.starts_with("http://") && !is_loopback_url(module) {
            self.error(
                Diagnostic::error(
                    "wasm",
                    "a module URL must use https (plain http only to 127.0.0.1 or localhost)",
                )
                .at(&path.key("module")),
            );
        }
        let sha256 = raw.sha256.trim().to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            self.error(
                Diagnostic::error(
                    "wasm",
                    "`sha256` must be 64 hex digits (the SHA-256 of the module file)",
                )
                .at(&path.key("sha256"))
                .with_help("`sha256sum MODULE.wasm` prints it"),
            );
        }
        let memory = raw
            .memory
            .as_deref()
            .and_then(|text| match parse_size(text) {
                Ok(bytes) if bytes >= 64 * 1024 => Some(bytes),
                Ok(_) => {
                    self.error(
                        Diagnostic::error(
                            "wasm",
                            "`memory` must be at least 64KiB (one WebAssembly page)",
                        )
                        .at(&path.key("memory")),
                    );
                    None
                }
                Err(message) => {
                    self.error(Diagnostic::error("wasm", message).at(&path.key("memory")));
                    None
                }
            });
        let allow = raw.allow.clone().unwrap_or_default();
        for (i, secret) in allow.secrets.iter().enumerate() {
            if !self.secrets.contains(secret) {
                self.error(
                    Diagnostic::error(
                        "unknown-secret",
                        format!("secret `{secret}` is not listed in the workflow's `secrets`"),
                    )
                    .at(&path.key("allow").key("secrets").index(i)),
                );
            }
        }
        if self.errs.len() > before {
            return None;
        }
        Some(WasmModule {
            module: module.to_owned(),
            sha256,
            memory,
            allow_http: allow.http,
            allow_secrets: allow.secrets,
            allow_env: allow.env,
        })
    }

    /// Parses a value's expressions and checks what they read. Returns the
    /// template and the step ids read (for implied dependencies).
    fn template(&mut self, value: &Json, path: &YamlPath, place: Place) -> (Template, Vec<String>) {
        let mut found = Vec::new();
        let template = Template::parse(value, path, &mut found, self.errs);
        let mut steps = Vec::new();
        for Found { path, expression } in found {
            match self.engine.references(&expression) {
                Ok(references) => {
                    for reference in references {
                        if let Some(step) = self.reference(&reference, &path, place) {
                            steps.push(step);
                        }
                    }
                }
                Err(message) => self.error(
                    Diagnostic::error(
                        "expression",
                        format!("invalid expression `{}`: {message}", expression.0),
                    )
                    .at(&path),
                ),
            }
        }
        (template, steps)
    }

    /// Checks one reference; returns the step id it reads, if any.
    fn reference(
        &mut self,
        reference: &Reference,
        path: &YamlPath,
        place: Place,
    ) -> Option<String> {
        let fail = |code: &'static str, message: String| Diagnostic::error(code, message).at(path);
        match reference {
            Reference::Input(name) => {
                if !self.inputs.contains(name) {
                    let candidates: Vec<&str> = self.inputs.iter().map(String::as_str).collect();
                    let mut diagnostic =
                        fail("unknown-input", format!("unknown input `inputs.{name}`"));
                    if let Some(help) = suggest::help_for(name, &candidates) {
                        diagnostic = diagnostic.with_help(help);
                    } else {
                        diagnostic = diagnostic.with_help("declare it under `inputs:`");
                    }
                    self.error(diagnostic);
                }
                None
            }
            Reference::Inputs | Reference::ExecutionWhole => None,
            Reference::Execution(field) => {
                if !EXECUTION_FIELDS.contains(&field.as_str()) {
                    let mut diagnostic = fail(
                        "unknown-name",
                        format!("`execution.{field}` does not exist"),
                    );
                    if let Some(help) = suggest::help_for(field, EXECUTION_FIELDS) {
                        diagnostic = diagnostic.with_help(help);
                    }
                    self.error(diagnostic);
                }
                None
            }
            Reference::Item => {
                let allowed = matches!(
                    place,
                    Place::StepWith { for_each: true } | Place::Compensate { for_each: true }
                );
                if !allowed {
                    self.error(fail(
                        "item",
                        "`item` is only defined in `with` of a step that has `for_each`".to_owned(),
                    ));
                }
                None
            }
            Reference::Secret(name) => {
                if place == Place::Outputs {
                    self.error(fail(
                        "secret-output",
                        "a secret cannot be a workflow output: outputs are stored in the record"
                            .to_owned(),
                    ));
                } else if !self.secrets.contains(name) {
                    self.error(
                        fail(
                            "unknown-secret",
                            format!("secret `{name}` is not listed in the workflow's `secrets`"),
                        )
                        .with_help(format!("add `secrets: [{name}]` to the workflow")),
                    );
                }
                None
            }
            Reference::Secrets => {
                self.error(fail(
                    "unknown-secret",
                    "name the secret: `secrets.NAME`".to_owned(),
                ));
                None
            }
            Reference::Steps => {
                self.error(fail(
                    "unknown-step",
                    "name the step: `steps.ID.outputs.NAME`".to_owned(),
                ));
                None
            }
            Reference::StepOutput { step, .. }
            | Reference::StepState(step)
            | Reference::StepOther { step, .. } => {
                self.step_reference(reference, step, path, place)
            }
            Reference::Unknown(name) => {
                let mut diagnostic = fail("unknown-name", format!("unknown name `{name}`"));
                let help = suggest::help_for(name, ROOT_NAMES);
                if let Some(help) = help {
                    diagnostic = diagnostic.with_help(help);
                }
                self.error(diagnostic);
                None
            }
        }
    }

    fn step_reference(
        &mut self,
        reference: &Reference,
        step: &str,
        path: &YamlPath,
        place: Place,
    ) -> Option<String> {
        if place == Place::ConcurrencyKey {
            self.error(
                Diagnostic::error(
                    "concurrency",
                    "the concurrency key is computed before any step runs: use `inputs`",
                )
                .at(path),
            );
            return None;
        }
        let Some(spec) = self.steps.get(step).copied() else {
            let candidates: Vec<&str> = self.step_order.iter().map(String::as_str).collect();
            let mut diagnostic =
                Diagnostic::error("unknown-step", format!("unknown step `steps.{step}`")).at(path);
            if let Some(help) = suggest::help_for(step, &candidates) {
                diagnostic = diagnostic.with_help(help);
            }
            self.error(diagnostic);
            return None;
        };
        match reference {
            Reference::StepOutput {
                output: Some(output),
                ..
            } => {
                if let Some(spec) = spec
                    && !spec.has_output(output)
                {
                    let names: Vec<&str> = spec.outputs.iter().map(|o| o.name.as_str()).collect();
                    let mut diagnostic = Diagnostic::error(
                        "unknown-output",
                        format!("step `{step}` (`{}`) has no output `{output}`", spec.name),
                    )
                    .at(path);
                    diagnostic = match suggest::help_for(output, &names) {
                        Some(help) => diagnostic.with_help(help),
                        None => diagnostic.with_help(format!("`{}` has no outputs", spec.name)),
                    };
                    self.error(diagnostic);
                }
            }
            Reference::StepOther {
                field: Some(field), ..
            } => {
                self.error(
                    Diagnostic::error(
                        "unknown-name",
                        format!("`steps.{step}.{field}` does not exist"),
                    )
                    .at(path)
                    .with_help(format!(
                        "read `steps.{step}.outputs.NAME` or `steps.{step}.state`"
                    )),
                );
            }
            _ => {}
        }
        Some(step.to_owned())
    }
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url.trim_start_matches("http://");
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|host| rest.starts_with(host) && rest[host.len()..].starts_with([':', '/']))
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

fn type_name(ty: InputType) -> &'static str {
    match ty {
        InputType::String => "string",
        InputType::Integer => "integer",
        InputType::Number => "number",
        InputType::Boolean => "boolean",
        InputType::Array => "array",
        InputType::Object => "object",
    }
}

fn article(ty: crate::catalog::ParamType) -> String {
    use crate::catalog::ParamType;
    match ty {
        ParamType::Integer | ParamType::Array | ParamType::Object => format!("an {ty}"),
        ParamType::Duration => "a duration like `30s`".to_owned(),
        ParamType::Any => "any value".to_owned(),
        _ => format!("a {ty}"),
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
