//! Expressions: which names they read (checked at compile time) and their
//! evaluation (at run time), both through minijinja.

use minijinja::{Environment, UndefinedBehavior, Value};
use serde_json::Value as Json;

use crate::template::{Expression, Part, Template};

/// A name an expression reads, as far as the compiler can tell.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    /// `inputs.NAME`
    Input(String),
    /// `inputs` as a whole.
    Inputs,
    /// `steps.ID.outputs.NAME`, or `steps.ID.outputs` as a whole.
    StepOutput {
        step: String,
        output: Option<String>,
    },
    /// `steps.ID.state`: how the step ended (for `if` in `finally` steps).
    StepState(String),
    /// `steps.ID.error`: why it failed (null unless it did), for the
    /// dependants of an `on_error: continue` step and `finally` steps.
    StepError(String),
    /// `steps.ID.something-else`, or `steps.ID` alone.
    StepOther { step: String, field: Option<String> },
    /// `steps` alone: which step cannot be known.
    Steps,
    /// `execution.FIELD`
    Execution(String),
    /// `execution` as a whole.
    ExecutionWhole,
    /// `item`, inside `for_each`.
    Item,
    /// `secrets.NAME`
    Secret(String),
    /// `secrets` as a whole.
    Secrets,
    /// Any other name.
    Unknown(String),
}

/// Fields of `execution` that expressions may read.
/// `plan` is true in a plan (`shutter run --plan`), false in a run: a step
/// can count what the run would have made by then (tonight's backup, in
/// a retention step).
pub const EXECUTION_FIELDS: &[&str] = &["id", "started_at", "workflow", "plan"];

/// Global functions minijinja provides; they are not references.
const BUILTIN_FUNCTIONS: &[&str] = &["range", "dict", "namespace", "debug"];

/// Compiles and evaluates expressions with one configured environment.
#[derive(Debug)]
pub struct ExprEngine {
    env: Environment<'static>,
}

impl Default for ExprEngine {
    fn default() -> Self {
        Self::new()
    }
}

/// Why an expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("evaluating `${{{{ {expression} }}}}`: {message}")]
pub struct EvalError {
    pub expression: String,
    pub message: String,
}

impl ExprEngine {
    pub fn new() -> Self {
        let mut env = Environment::new();
        // A typo in a name must fail loudly, not turn into an empty string.
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        Self { env }
    }

    /// The names `expression` reads, or its syntax error.
    pub fn references(&self, expression: &Expression) -> Result<Vec<Reference>, String> {
        // Most expressions are one dotted name (`steps.a.outputs.id`): that
        // needs no parser, and compiling it was a sixth of a large
        // workflow's compile time.
        if let Some(name) = plain_name(&expression.0) {
            return Ok(vec![classify(name)]);
        }
        self.parsed_references(expression)
    }

    /// [`Self::references`] through minijinja's parser, whatever the expression.
    fn parsed_references(&self, expression: &Expression) -> Result<Vec<Reference>, String> {
        let compiled = self
            .env
            .compile_expression(&expression.0)
            .map_err(|err| describe(&err))?;
        // minijinja finds no name inside a slice (`ids[1:]`): look at the
        // same expression with its slices written as indexes.
        let indexed = crate::slices::as_indexes(&expression.0);
        let compiled = match &indexed {
            Some(text) => self
                .env
                .compile_expression(text)
                .map_err(|err| describe(&err))?,
            None => compiled,
        };
        let mut names: Vec<String> = compiled.undeclared_variables(true).into_iter().collect();
        names.sort();
        Ok(names
            .iter()
            .filter(|name| !BUILTIN_FUNCTIONS.contains(&name.as_str()))
            .map(|name| classify(name))
            .collect())
    }

    /// Evaluates a template against `scope` (a map with `inputs`, `steps`, ...).
    pub fn eval(&self, template: &Template, scope: &Value) -> Result<Json, EvalError> {
        match template {
            Template::Literal(value) => Ok(value.clone()),
            Template::Expr(expr) => self.eval_expression(expr, scope).and_then(|value| {
                serde_json::to_value(&value).map_err(|err| EvalError {
                    expression: expr.0.clone(),
                    message: format!("result cannot be represented as JSON: {err}"),
                })
            }),
            Template::Interpolated(parts) => {
                let mut out = String::new();
                for part in parts {
                    match part {
                        Part::Text(text) => out.push_str(text),
                        Part::Expr(expr) => {
                            let value = self.eval_expression(expr, scope)?;
                            push_text(&mut out, &value);
                        }
                    }
                }
                Ok(Json::String(out))
            }
            Template::List(items) => items
                .iter()
                .map(|item| self.eval(item, scope))
                .collect::<Result<Vec<_>, _>>()
                .map(Json::Array),
            Template::Map(map) => map
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.eval(v, scope)?)))
                .collect::<Result<serde_json::Map<_, _>, _>>()
                .map(Json::Object),
        }
    }

    fn eval_expression(&self, expr: &Expression, scope: &Value) -> Result<Value, EvalError> {
        let fail = |err: &minijinja::Error| EvalError {
            expression: expr.0.clone(),
            message: describe(err),
        };
        let compiled = self.env.compile_expression(&expr.0).map_err(|e| fail(&e))?;
        compiled.eval(scope).map_err(|e| fail(&e))
    }
}

/// Interpolated values: strings as they are, scalars as text, null as
/// nothing, lists and maps as JSON.
fn push_text(out: &mut String, value: &Value) {
    if value.is_none() || value.is_undefined() {
        return;
    }
    if let Some(text) = value.as_str() {
        out.push_str(text);
        return;
    }
    match serde_json::to_value(value) {
        Ok(Json::String(text)) => out.push_str(&text),
        Ok(json) => out.push_str(&json.to_string()),
        Err(_) => out.push_str(&value.to_string()),
    }
}

/// minijinja's message without its template-name noise.
fn describe(err: &minijinja::Error) -> String {
    let mut message = err.kind().to_string();
    if let Some(detail) = err.detail() {
        message.push_str(": ");
        message.push_str(detail);
    }
    message
}

/// `expression` when it is only a dotted name whose root is a variable:
/// identifiers joined by dots, the root not a literal (`true`, `none`...) or
/// a global function. Anything else goes to the parser.
fn plain_name(expression: &str) -> Option<&str> {
    const NOT_VARIABLES: &[&str] = &["true", "false", "none", "True", "False", "None"];
    let name = expression.trim();
    let identifier = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let root = name.split('.').next()?;
    let plain = name.split('.').all(identifier)
        && !NOT_VARIABLES.contains(&root)
        && !BUILTIN_FUNCTIONS.contains(&root);
    plain.then_some(name)
}

fn classify(name: &str) -> Reference {
    let mut parts = name.split('.');
    let root = parts.next().unwrap_or_default();
    let first = parts.next().map(str::to_owned);
    let second = parts.next().map(str::to_owned);
    let third = parts.next().map(str::to_owned);
    match (root, first) {
        ("inputs", Some(input)) => Reference::Input(input),
        ("inputs", None) => Reference::Inputs,
        ("steps", Some(step)) => match second.as_deref() {
            Some("outputs") => Reference::StepOutput {
                step,
                output: third,
            },
            Some("state") => Reference::StepState(step),
            Some("error") => Reference::StepError(step),
            _ => Reference::StepOther {
                step,
                field: second,
            },
        },
        ("steps", None) => Reference::Steps,
        ("execution", Some(field)) => Reference::Execution(field),
        ("execution", None) => Reference::ExecutionWhole,
        ("item", _) => Reference::Item,
        ("secrets", Some(secret)) => Reference::Secret(secret),
        ("secrets", None) => Reference::Secrets,
        (other, _) => Reference::Unknown(other.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::YamlPath;
    use serde_json::json;

    #[test]
    fn a_slice_of_a_steps_output_is_a_reference_to_that_step() {
        let engine = ExprEngine::new();
        let found = engine
            .references(&Expression(
                "steps.a.outputs.ids[1:inputs.n] | length".to_owned(),
            ))
            .unwrap();
        assert!(
            found.contains(&Reference::StepOutput {
                step: "a".to_owned(),
                output: Some("ids".to_owned())
            }),
            "{found:?}"
        );
        assert!(
            found.contains(&Reference::Input("n".to_owned())),
            "{found:?}"
        );
    }

    #[test]
    fn the_plain_name_shortcut_agrees_with_the_parser() {
        let engine = ExprEngine::new();
        for text in [
            "inputs.vm",
            " steps.s0.outputs.message ",
            "steps.a.state",
            "steps",
            "execution.id",
            "item",
            "secrets.token",
            "_private.x1",
            "some_unknown",
        ] {
            let expression = Expression(text.to_owned());
            assert!(plain_name(text).is_some(), "{text}");
            assert_eq!(
                engine.references(&expression),
                engine.parsed_references(&expression),
                "{text}"
            );
        }
        for text in [
            "true", "none", "range", "a.0", "a. b", "a-b", "a[0]", "", "1a.b", "a..b",
        ] {
            assert!(plain_name(text).is_none(), "{text}");
        }
    }

    fn refs(text: &str) -> Vec<Reference> {
        ExprEngine::new()
            .references(&Expression(text.to_owned()))
            .unwrap()
    }

    #[test]
    fn finds_references_through_attribute_chains_and_filters() {
        assert_eq!(
            refs("steps.snap.outputs.disks[0].url | lower"),
            vec![Reference::StepOutput {
                step: "snap".into(),
                output: Some("disks".into())
            }]
        );
        assert_eq!(
            refs("inputs.vm ~ '-' ~ execution.id"),
            vec![
                Reference::Execution("id".into()),
                Reference::Input("vm".into())
            ]
        );
        assert_eq!(
            refs("steps.a.state == 'failed'"),
            vec![Reference::StepState("a".into())]
        );
        assert_eq!(refs("range(3) | list"), vec![]);
        assert_eq!(refs("imputs.vm"), vec![Reference::Unknown("imputs".into())]);
        assert_eq!(refs("item.id"), vec![Reference::Item]);
    }

    #[test]
    fn reports_syntax_errors() {
        let err = ExprEngine::new()
            .references(&Expression("inputs.vm ==".into()))
            .unwrap_err();
        assert!(err.contains("syntax error"), "{err}");
    }

    fn template(value: Json) -> Template {
        Template::parse(&value, &YamlPath::root(), &mut Vec::new(), &mut Vec::new())
    }

    #[test]
    fn evaluates_keeping_types_or_interpolating() {
        let engine = ExprEngine::new();
        let scope = Value::from_serialize(json!({
            "inputs": {"ids": ["a", "b"], "n": 3, "vm": "web"},
            "steps": {"s": {"outputs": {"disk": {"size": 10}}}},
        }));
        assert_eq!(
            engine.eval(&template(json!("${{ inputs.ids }}")), &scope),
            Ok(json!(["a", "b"]))
        );
        assert_eq!(
            engine.eval(&template(json!("${{ inputs.n * 2 }}")), &scope),
            Ok(json!(6))
        );
        assert_eq!(
            engine.eval(
                &template(json!(
                    "vm=${{ inputs.vm }} n=${{ inputs.n }} d=${{ steps.s.outputs.disk }}"
                )),
                &scope
            ),
            Ok(json!("vm=web n=3 d={\"size\":10}"))
        );
        assert_eq!(
            engine.eval(&template(json!({"list": ["${{ inputs.vm }}", 1]})), &scope),
            Ok(json!({"list": ["web", 1]}))
        );
    }

    #[test]
    fn undefined_names_fail_at_run_time() {
        let engine = ExprEngine::new();
        let scope = Value::from_serialize(json!({"inputs": {}}));
        let err = engine
            .eval(&template(json!("${{ inputs.missing.x }}")), &scope)
            .unwrap_err();
        assert!(err.message.contains("undefined"), "{err}");
    }
}
