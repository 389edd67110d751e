//! Checking what expressions read: inputs, steps and their outputs,
//! execution fields, `item`, secrets — each where it is allowed.

use serde_json::Value as Json;

use super::{Checker, Place, ROOT_NAMES};
use crate::catalog::ActionSpec;
use crate::diagnostic::Diagnostic;
use crate::expr::{EXECUTION_FIELDS, Reference};
use crate::path::YamlPath;
use crate::suggest;
use crate::template::{Found, Template};

/// How a value may use secrets. A secret is opaque: what a filter, an
/// operator or surrounding text makes of it is a new text that redaction
/// cannot recognise, so outside parameters that take credentials a secret
/// may only be passed whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SecretUse {
    /// Not at all (`if`, `for_each`, keys, outputs).
    Never,
    /// Not at all: a WebAssembly step reads its secrets with `secret()`.
    NeverWasm,
    /// As the whole value, `${{ secrets.NAME }}`.
    Whole,
    /// In any expression: the parameter is marked sensitive.
    Any,
}

impl Checker<'_> {
    /// Parses a value's expressions and checks what they read. Returns the
    /// template and the step ids read (for implied dependencies).
    pub(super) fn template(
        &mut self,
        value: &Json,
        path: &YamlPath,
        place: Place,
    ) -> (Template, Vec<String>) {
        self.template_using(value, path, place, SecretUse::Never)
    }

    /// [`Self::template`] for a value that may use secrets as `secrets` says.
    pub(super) fn template_using(
        &mut self,
        value: &Json,
        path: &YamlPath,
        place: Place,
        secrets: SecretUse,
    ) -> (Template, Vec<String>) {
        let mut found = Vec::new();
        let template = Template::parse(value, path, &mut found, self.errs);
        let whole = matches!(template, Template::Expr(_));
        let mut steps = Vec::new();
        for Found { path, expression } in found {
            match self.engine.references(&expression) {
                Ok(references) => {
                    let secret = references.iter().find_map(|reference| match reference {
                        Reference::Secret(name) => Some(name.clone()),
                        _ => None,
                    });
                    // (An undeclared secret is reported as such, below.)
                    if let Some(name) = secret
                        && place != Place::Outputs
                        && self.secrets.contains(&name)
                    {
                        let plain = expression.0.trim() == format!("secrets.{name}");
                        self.secret_use(&name, secrets, whole && plain, &path);
                    }
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

    /// Reports a secret used where, or how, it may not be.
    fn secret_use(&mut self, name: &str, allowed: SecretUse, passed_whole: bool, path: &YamlPath) {
        let refusal = match allowed {
            SecretUse::Any => None,
            SecretUse::Whole if passed_whole => None,
            SecretUse::Whole => Some((
                format!(
                    "secret `{name}` is opaque: pass it whole as `${{{{ secrets.{name} }}}}`, not through filters, operators or text around it"
                ),
                "only parameters that take credentials (such as `headers` of `http.request`) may build a value from a secret; `shutter actions NAME` marks them sensitive",
            )),
            SecretUse::NeverWasm => Some((
                format!("secret `{name}` cannot be a parameter of a WebAssembly step"),
                "grant it with `wasm.allow.secrets`; the step reads it with `secret()`",
            )),
            SecretUse::Never => Some((
                format!("secret `{name}` can only be given to a step's parameter"),
                "a condition, a `for_each` list or a key made from a secret would reveal it",
            )),
        };
        if let Some((message, help)) = refusal {
            self.error(
                Diagnostic::error("secret-use", message)
                    .at(path)
                    .with_help(help),
            );
        }
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
                        "`item` is only defined in `with` and `limit` of a step that has `for_each`".to_owned(),
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
                } else if !self.secrets_dropped && !self.secrets.contains(name) {
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
            | Reference::StepError(step)
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
        let Some(shape) = self.steps.get(step).copied() else {
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
            } if shape.for_each => self.for_each_output(step, output, shape.spec, path),
            Reference::StepOutput {
                output: Some(output),
                ..
            } => {
                if let Some(spec) = shape.spec
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
                        "read `steps.{step}.outputs.NAME`, `steps.{step}.state` or `steps.{step}.error`"
                    )),
                );
            }
            _ => {}
        }
        Some(step.to_owned())
    }

    /// A `for_each` step's outputs are `{items: [...]}`: reading one
    /// item's output at the top level is an error that says how to read it.
    fn for_each_output(
        &mut self,
        step: &str,
        output: &str,
        spec: Option<&ActionSpec>,
        path: &YamlPath,
    ) {
        if output == "items" {
            return;
        }
        let action = spec.map_or(String::new(), |s| format!(" (`{}`)", s.name));
        let help = if spec.is_some_and(|s| s.has_output(output)) {
            format!(
                "`{output}` is each item's: read `steps.{step}.outputs.items[0].{output}`, or all of them with `steps.{step}.outputs.items | map(attribute='{output}')`"
            )
        } else {
            format!(
                "a `for_each` step's only output is `items`, one entry per item: `steps.{step}.outputs.items`"
            )
        };
        self.error(
            Diagnostic::error(
                "unknown-output",
                format!("step `{step}`{action} runs `for_each`: it has no output `{output}`"),
            )
            .at(path)
            .with_help(help),
        );
    }
}
