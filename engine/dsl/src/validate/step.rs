//! One step: its name, what it runs, its control fields (`if`,
//! `for_each`, `concurrency`, `retry`, `timeout`), its compensation, and
//! the steps it waits for, written (`needs`) or implied by what its
//! expressions read.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value as Json;

use super::{Checker, Place};
use crate::diagnostic::Diagnostic;
use crate::model::{ActionCall, RetryPolicy, Step, StepId};
use crate::path::YamlPath;
use crate::raw::{InputType, RawActionCall, RawStep};
use crate::suggest;
use crate::template::Template;

impl Checker<'_> {
    pub(super) fn step(
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
            raw.wasm.as_deref(),
            path,
            Place::StepWith {
                for_each: for_each_set,
            },
            &mut referenced,
        );
        let condition = raw
            .condition
            .as_ref()
            .map(|value| self.condition(value, &path.key("if"), &mut referenced));
        let for_each = raw
            .for_each
            .as_ref()
            .map(|value| self.for_each(value, &path.key("for_each"), &mut referenced));
        self.concurrency(raw.concurrency, for_each_set, path);
        let limit = raw
            .limit
            .as_ref()
            .map(|value| self.limit(value, &path.key("limit"), for_each_set, &mut referenced));
        // Paths are built only for what is there: a valid step of a large
        // workflow should cost as few allocations as possible.
        let retry = match raw.retry.as_deref() {
            Some(retry) => self.retry(Some(retry), base_retry, &path.key("retry")),
            None => base_retry.clone(),
        };
        let timeout = match raw.timeout.as_deref() {
            Some(text) => self.duration(Some(text), &path.key("timeout")),
            None => None,
        }
        .or(default_timeout);
        let compensate = raw
            .compensate
            .as_ref()
            .and_then(|c| self.compensation(c, &path.key("compensate"), for_each_set));
        let needs = self.needs(id, raw, path);
        let (needs, implied) = self.implied_needs(id, needs, referenced, path);
        Some(Step {
            id: step_id?,
            call: call?,
            needs,
            implied_needs: implied,
            condition: condition.map(Box::new),
            for_each: for_each.map(Box::new),
            concurrency: raw.concurrency,
            limit: limit.map(Box::new),
            retry,
            timeout,
            compensate: compensate.map(Box::new),
            finally: raw.finally,
            on_error: raw.on_error.unwrap_or_default(),
            rerun_with: self.rerun_with(id, raw, path),
        })
    }

    /// `if`: an expression or a boolean.
    fn condition(
        &mut self,
        value: &Json,
        path: &YamlPath,
        referenced: &mut Vec<String>,
    ) -> Template {
        if !matches!(value, Json::String(_) | Json::Bool(_)) {
            self.error(
                Diagnostic::error("wrong-type", "`if` expects an expression or a boolean").at(path),
            );
        }
        let (template, refs) = self.template(value, path, Place::StepControl);
        referenced.extend(refs);
        template
    }

    /// `limit`: a pool's name, or an expression giving one (which may read
    /// `item` beside a `for_each`, never a secret).
    fn limit(
        &mut self,
        value: &Json,
        path: &YamlPath,
        for_each: bool,
        referenced: &mut Vec<String>,
    ) -> Template {
        let named = match value {
            Json::String(name) => !name.trim().is_empty(),
            _ => false,
        };
        if !named {
            self.error(
                Diagnostic::error(
                    "wrong-type",
                    "`limit` expects the name of a pool of the config file's `limits:`, or an expression giving one",
                )
                .at(path),
            );
        }
        let (template, refs) = self.template(value, path, Place::StepWith { for_each });
        referenced.extend(refs);
        template
    }

    /// `for_each`: a list, or an expression giving one.
    fn for_each(
        &mut self,
        value: &Json,
        path: &YamlPath,
        referenced: &mut Vec<String>,
    ) -> Template {
        let (template, refs) = self.template(value, path, Place::StepControl);
        let wrong = |message: String| Diagnostic::error("wrong-type", message).at(path);
        match &template {
            Template::Literal(literal) if !literal.is_array() => self.error(wrong(
                "`for_each` expects a list or an expression giving one".to_owned(),
            )),
            // Text around an expression makes a string, never a list.
            Template::Interpolated(_) => self.error(wrong(
                "`for_each` over text: write the expression alone, `${{ ... }}`".to_owned(),
            )),
            Template::Expr(expr) => {
                let input = expr.0.trim().strip_prefix("inputs.");
                if let Some((name, ty)) = input
                    .and_then(|name| Some((name, self.input_types.get(name)?)))
                    .filter(|(_, ty)| **ty != InputType::Array)
                {
                    let diagnostic = wrong(format!(
                        "`for_each` over `inputs.{name}`, which is declared `{}`, not a list",
                        ty.as_str()
                    ))
                    .with_help("declare it `type: array`, or loop over a list");
                    self.error(diagnostic);
                }
            }
            _ => {}
        }
        referenced.extend(refs);
        template
    }

    /// `concurrency`: at least 1, and only beside a `for_each`.
    fn concurrency(&mut self, concurrency: Option<u32>, for_each: bool, path: &YamlPath) {
        match concurrency {
            Some(0) => self.error(
                Diagnostic::error("concurrency", "`concurrency` must be at least 1")
                    .at(&path.key("concurrency")),
            ),
            Some(_) if !for_each => self.error(
                Diagnostic::error(
                    "concurrency",
                    "`concurrency` limits the items of a `for_each`; this step has none",
                )
                .at_key(&path.key("concurrency")),
            ),
            _ => {}
        }
    }

    /// The steps a step waits for: those it `needs`, then those its
    /// expressions read (the implied ones, listed apart). Reading its own
    /// outputs is an error.
    fn implied_needs(
        &mut self,
        id: &str,
        needs: Vec<StepId>,
        referenced: Vec<String>,
        path: &YamlPath,
    ) -> (Vec<StepId>, Vec<StepId>) {
        let mut all = needs;
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
            if !all.iter().any(|n| n.as_str() == step)
                && let Ok(step) = StepId::parse(&step)
            {
                all.push(step.clone());
                implied.push(step);
            }
        }
        (all, implied)
    }

    /// `rerun_with`: other steps of the workflow.
    fn rerun_with(&mut self, id: &str, raw: &RawStep, path: &YamlPath) -> Vec<StepId> {
        let Some(list) = raw.rerun_with.clone() else {
            return Vec::new();
        };
        let mut steps = Vec::new();
        for (i, name) in list.into_vec().into_iter().enumerate() {
            let at = path.key("rerun_with").index(i);
            if name == id {
                self.error(
                    Diagnostic::error(
                        "rerun-with",
                        format!("step `{id}` names itself in `rerun_with`"),
                    )
                    .at(&at),
                );
            } else if !self.steps.contains_key(&name) {
                let candidates: Vec<&str> = self.step_order.iter().map(String::as_str).collect();
                let mut diagnostic = Diagnostic::error(
                    "unknown-step",
                    format!("`rerun_with` names an unknown step `{name}`"),
                )
                .at(&at);
                if let Some(help) = suggest::help_for(&name, &candidates) {
                    diagnostic = diagnostic.with_help(help);
                }
                self.error(diagnostic);
            } else if let Ok(step) = StepId::parse(&name) {
                steps.push(step);
            }
        }
        steps
    }

    fn needs(&mut self, id: &str, raw: &RawStep, path: &YamlPath) -> Vec<StepId> {
        let mut needs: Vec<StepId> = Vec::new();
        let Some(list) = raw.needs.as_ref() else {
            return needs;
        };
        let (list, is_list): (&[String], bool) = match list {
            crate::raw::OneOrMany::One(one) => (std::slice::from_ref(one), false),
            crate::raw::OneOrMany::Many(many) => (many, true),
        };
        // A set, not `needs.contains`: a join may wait for 100,000 steps.
        let mut seen = HashSet::with_capacity(list.len());
        for (i, need) in list.iter().enumerate() {
            let npath = || {
                if is_list {
                    path.key("needs").index(i)
                } else {
                    path.key("needs")
                }
            };
            if need == id {
                self.error(
                    Diagnostic::error("cycle", format!("step `{id}` needs itself")).at(&npath()),
                );
                continue;
            }
            if !self.steps.contains_key(need) {
                let candidates: Vec<&str> = self.step_order.iter().map(String::as_str).collect();
                let mut diagnostic = Diagnostic::error(
                    "unknown-step",
                    format!("`needs` names an unknown step `{need}`"),
                )
                .at(&npath());
                if let Some(help) = suggest::help_for(need, &candidates) {
                    diagnostic = diagnostic.with_help(help);
                }
                self.error(diagnostic);
                continue;
            }
            if let Ok(step) = StepId::parse(need)
                && seen.insert(need)
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
            raw.wasm.as_deref(),
            path,
            Place::Compensate { for_each },
            &mut ignored,
        )
    }
}
