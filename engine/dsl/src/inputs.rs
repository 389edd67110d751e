//! Checking the inputs given to an execution against the workflow's
//! declarations, filling defaults. Used by `shutter run` and the HTTP API.

use serde_json::{Map, Value as Json};

use crate::model::Workflow;
use crate::validate::{input_accepts, json_kind};

/// One problem with given inputs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[error("input `{name}`: {message}")]
pub struct InputError {
    pub name: String,
    pub message: String,
}

/// The inputs an execution runs with: given values, then defaults. Every
/// problem is reported, not only the first.
pub fn resolve_inputs(
    workflow: &Workflow,
    given: &Map<String, Json>,
) -> Result<Map<String, Json>, Vec<InputError>> {
    let mut errors = Vec::new();
    let mut resolved = Map::new();
    for name in given.keys() {
        if !workflow.inputs.contains_key(name) {
            let known: Vec<&str> = workflow.inputs.keys().map(String::as_str).collect();
            let hint =
                crate::suggest::help_for(name, &known).map_or(String::new(), |h| format!(" ({h})"));
            errors.push(InputError {
                name: name.clone(),
                message: format!("the workflow declares no such input{hint}"),
            });
        }
    }
    for (name, spec) in &workflow.inputs {
        let value = match (given.get(name), &spec.default) {
            (Some(value), _) => value.clone(),
            (None, Some(default)) => default.clone(),
            (None, None) if spec.required => {
                errors.push(InputError {
                    name: name.clone(),
                    message: "is required".to_owned(),
                });
                continue;
            }
            (None, None) => continue,
        };
        if !input_accepts(spec.ty, &value) {
            errors.push(InputError {
                name: name.clone(),
                message: format!(
                    "expects {}, got {}",
                    serde_json::to_string(&spec.ty)
                        .unwrap_or_default()
                        .trim_matches('"'),
                    json_kind(&value)
                ),
            });
            continue;
        }
        if let Some(allowed) = &spec.allowed
            && !allowed.contains(&value)
        {
            let listed: Vec<String> = allowed.iter().map(Json::to_string).collect();
            errors.push(InputError {
                name: name.clone(),
                message: format!("{value} is not one of {}", listed.join(", ")),
            });
            continue;
        }
        resolved.insert(name.clone(), value);
    }
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(errors)
    }
}

/// Parses a command-line `key=value`: the value as JSON when it parses
/// (numbers, booleans, lists), else as a plain string.
pub fn parse_assignment(text: &str) -> Result<(String, Json), String> {
    parse_assignment_for(text, None)
}

/// `name=value` for a workflow whose inputs are known: a value given to a
/// `string` input is that text as it is (`-i vm=42` is the string "42",
/// `-i note=true` the string "true"); any other is read as JSON when it
/// parses, else as a string (which the type check then refuses).
pub fn parse_assignment_for(
    text: &str,
    workflow: Option<&Workflow>,
) -> Result<(String, Json), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not key=value"))?;
    let key = key.trim().to_owned();
    let declared = workflow
        .and_then(|w| w.inputs.get(&key))
        .map(|spec| spec.ty);
    let value = if declared == Some(crate::raw::InputType::String) {
        Json::String(value.to_owned())
    } else {
        serde_json::from_str(value).unwrap_or_else(|_| Json::String(value.to_owned()))
    };
    Ok((key, value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalog, Source, compile};
    use serde_json::json;

    fn workflow() -> Workflow {
        let source = Source::new(
            "w.yaml",
            "version: 1\nname: w\ninputs:\n  vm: {type: string}\n  keep: {type: integer, default: 7}\n  mode: {type: string, enum: [crash, quiesced], default: crash}\nsteps:\n  a: {uses: core.noop}\n",
        );
        compile(&source, &Catalog::with_core()).unwrap().workflow
    }

    #[test]
    fn fills_defaults_and_checks_types() {
        let resolved =
            resolve_inputs(&workflow(), json!({"vm": "web"}).as_object().unwrap()).unwrap();
        assert_eq!(
            json!(resolved),
            json!({"vm": "web", "keep": 7, "mode": "crash"})
        );
    }

    #[test]
    fn an_assignment_is_typed_by_the_input_it_names() {
        let workflow = workflow();
        let read = |text| parse_assignment_for(text, Some(&workflow)).unwrap().1;
        assert_eq!(read("vm=42"), json!("42"), "a string input takes the text");
        assert_eq!(read("vm=true"), json!("true"));
        assert_eq!(read("keep=42"), json!(42), "an integer input reads JSON");
        assert_eq!(read("keep=x"), json!("x"), "refused by the type check");
        assert_eq!(
            read("other=[1]"),
            json!([1]),
            "undeclared: JSON when it parses"
        );
        assert_eq!(parse_assignment("vm=42").unwrap().1, json!(42));
    }

    #[test]
    fn reports_every_problem() {
        let errors = resolve_inputs(
            &workflow(),
            json!({"keep": "x", "mode": "live", "vmm": 1})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "input `vmm`: the workflow declares no such input (did you mean `vm`?)",
                "input `vm`: is required",
                "input `keep`: expects integer, got a string",
                "input `mode`: \"live\" is not one of \"crash\", \"quiesced\"",
            ]
        );
    }

    #[test]
    fn parses_command_line_values() {
        assert_eq!(parse_assignment("n=3"), Ok(("n".into(), json!(3))));
        assert_eq!(
            parse_assignment("vm=web-01"),
            Ok(("vm".into(), json!("web-01")))
        );
        assert_eq!(
            parse_assignment("ids=[\"a\"]"),
            Ok(("ids".into(), json!(["a"])))
        );
        assert!(parse_assignment("novalue").is_err());
    }
}
