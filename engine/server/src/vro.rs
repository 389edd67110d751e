//! vRealize Orchestrator's typed parameters (`{"name", "type", "value":
//! {"string": {"value": ...}}}`), to and from plain JSON values.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use utoipa::ToSchema;

/// One typed parameter, as vRO clients send it and as executions are
/// described.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub(crate) struct VroParameter {
    /// The input's name.
    pub(crate) name: String,
    /// vRO's type name (`string`, `number`, `boolean`, `Array/Any`,
    /// `Properties`, `SecureString`, `VC:VirtualMachine` ...); the value's
    /// own key is what is read.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<String>,
    /// `local` in answers; ignored in requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
    /// An object with one key naming the value's type: `{"string":
    /// {"value": "x"}}`, `{"number": {"value": 1}}`, `{"boolean": {"value":
    /// true}}`, `{"date": {"value": "..."}}`, `{"array": {"elements":
    /// [...]}}`, `{"properties": {"property": [{"key", "value"}]}}`,
    /// `{"sdk-object": {"type", "id"}}`, `{"secure-string": {"value":
    /// "..."}}` (a parameter of its own only).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub(crate) value: Option<Json>,
}

/// A start request's parameters: workflow inputs, and `secure-string`
/// values, which are secrets of the execution (never stored or echoed).
#[derive(Debug, Default)]
pub(crate) struct Given {
    pub(crate) inputs: Map<String, Json>,
    pub(crate) secrets: std::collections::BTreeMap<String, String>,
}

/// The typed parameters of a start request as workflow inputs and secrets.
pub(crate) fn given(parameters: &[VroParameter]) -> Result<Given, String> {
    let mut given = Given::default();
    for parameter in parameters {
        let secure = parameter
            .value
            .as_ref()
            .and_then(|value| value.get("secure-string"));
        if let Some(body) = secure {
            let value = body.get("value").and_then(Json::as_str).ok_or_else(|| {
                format!(
                    "parameter `{}`: a secure-string value is a string",
                    parameter.name
                )
            })?;
            given
                .secrets
                .insert(parameter.name.clone(), value.to_owned());
        }
    }
    given.inputs = inputs(
        &parameters
            .iter()
            .filter(|p| !given.secrets.contains_key(&p.name))
            .collect::<Vec<_>>(),
    )?;
    Ok(given)
}

/// The typed parameters of a start request as workflow inputs.
fn inputs(parameters: &[&VroParameter]) -> Result<Map<String, Json>, String> {
    let mut inputs = Map::new();
    for parameter in parameters {
        let value = match &parameter.value {
            Some(value) => {
                from_typed(value).map_err(|err| format!("parameter `{}`: {err}", parameter.name))?
            }
            None => Json::Null,
        };
        if !value.is_null() {
            inputs.insert(parameter.name.clone(), value);
        }
    }
    Ok(inputs)
}

/// A vRO typed value (`{"string": {"value": "x"}}`, `{"array": {"elements": [...]}}`,
/// `{"properties": {"property": [{"key", "value"}]}}`, `{"sdk-object": {"type", "id"}}` ...).
fn from_typed(value: &Json) -> Result<Json, String> {
    let Some((kind, body)) = value.as_object().and_then(|o| o.iter().next()) else {
        return Err("a value is an object with one key naming its type".to_owned());
    };
    match kind.as_str() {
        "string" | "number" | "boolean" | "date" | "mime-attachment" => {
            Ok(body.get("value").cloned().unwrap_or(Json::Null))
        }
        "array" => body
            .get("elements")
            .and_then(Json::as_array)
            .map_or(Ok(Vec::new()), |elements| {
                elements.iter().map(from_typed).collect()
            })
            .map(Json::Array),
        "properties" => {
            let mut object = Map::new();
            for property in body
                .get("property")
                .and_then(Json::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let key = property
                    .get("key")
                    .and_then(Json::as_str)
                    .ok_or("a property has no `key`")?;
                let value = property.get("value").map_or(Ok(Json::Null), from_typed)?;
                object.insert(key.to_owned(), value);
            }
            Ok(Json::Object(object))
        }
        "secure-string" => Err(
            "a secure-string is accepted only as a parameter of its own (it becomes a secret of the execution)"
                .to_owned(),
        ),
        "sdk-object" => Ok(json!({
            "type": body.get("type").cloned().unwrap_or(Json::Null),
            "id": body.get("id").cloned().unwrap_or(Json::Null),
        })),
        other => Err(format!("unsupported value type `{other}`")),
    }
}

/// A JSON value as vRO's typed parameter.
pub(crate) fn parameter(name: &str, value: &Json) -> VroParameter {
    let (ty, value) = to_typed(value);
    VroParameter {
        name: name.to_owned(),
        kind: Some(ty),
        scope: Some("local".to_owned()),
        value: Some(value),
    }
}

fn to_typed(value: &Json) -> (String, Json) {
    match value {
        Json::String(s) => ("string".to_owned(), json!({"string": {"value": s}})),
        Json::Number(n) => ("number".to_owned(), json!({"number": {"value": n}})),
        Json::Bool(b) => ("boolean".to_owned(), json!({"boolean": {"value": b}})),
        Json::Array(items) => {
            let elements: Vec<_> = items.iter().map(|item| to_typed(item).1).collect();
            (
                "Array/Any".to_owned(),
                json!({"array": {"elements": elements}}),
            )
        }
        Json::Object(object) => {
            let property: Vec<_> = object
                .iter()
                .map(|(key, value)| json!({"key": key, "value": to_typed(value).1}))
                .collect();
            (
                "Properties".to_owned(),
                json!({"properties": {"property": property}}),
            )
        }
        Json::Null => ("string".to_owned(), json!({})),
    }
}

/// vRO's name for an execution state.
pub(crate) fn state(state: shutter_core::ExecutionState) -> &'static str {
    use shutter_core::ExecutionState as S;
    match state {
        S::Queued | S::Running => "running",
        // vRO has no "with errors": the work is done and outputs are there.
        S::Succeeded | S::SucceededWithErrors => "completed",
        S::Failed => "failed",
        S::Canceled => "canceled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_round_trip() {
        let value = json!({"vm": "web-01", "count": 3, "quiesce": true,
                           "disks": ["a", "b"], "tags": {"env": "prod"}});
        for (name, value) in value.as_object().expect("object") {
            let typed = serde_json::to_value(parameter(name, value)).expect("serializes");
            assert_eq!(typed["scope"], "local", "{typed}");
            assert!(typed["type"].is_string(), "{typed}");
            let parsed: VroParameter = serde_json::from_value(typed).expect("shape");
            assert_eq!(&given(&[parsed]).expect("converts").inputs[name], value);
        }
    }

    #[test]
    fn documented_request_shape_converts() {
        let parameters: Vec<VroParameter> = serde_json::from_value(json!([
            {"name": "vmName", "type": "string", "scope": "local",
             "value": {"string": {"value": "web-01"}}},
            {"name": "vm", "type": "VC:VirtualMachine", "scope": "local",
             "value": {"sdk-object": {"type": "VC:VirtualMachine", "id": "vc1/vm-42"}}}
        ]))
        .expect("shape");
        let inputs = given(&parameters).expect("converts").inputs;
        assert_eq!(inputs["vmName"], "web-01");
        assert_eq!(
            inputs["vm"],
            json!({"type": "VC:VirtualMachine", "id": "vc1/vm-42"})
        );
    }

    #[test]
    fn secure_strings_are_secrets_not_inputs() {
        let parameters: Vec<VroParameter> = serde_json::from_value(json!([
            {"name": "vm", "type": "string", "value": {"string": {"value": "web-01"}}},
            {"name": "password", "type": "SecureString",
             "value": {"secure-string": {"value": "hunter2"}}}
        ]))
        .expect("shape");
        let given = given(&parameters).expect("converts");
        assert_eq!(
            given.inputs,
            json!({"vm": "web-01"})
                .as_object()
                .cloned()
                .unwrap_or_default()
        );
        assert_eq!(given.secrets["password"], "hunter2");
        let nested: Vec<VroParameter> = serde_json::from_value(json!([
            {"name": "list", "value": {"array": {"elements": [{"secure-string": {"value": "x"}}]}}}
        ]))
        .expect("shape");
        assert!(
            given_err(&nested).contains("secure-string"),
            "a secure-string inside another value is refused, not stored"
        );
    }

    fn given_err(parameters: &[VroParameter]) -> String {
        given(parameters).expect_err("refused")
    }

    #[test]
    fn unknown_types_are_refused_by_name() {
        let parameters: Vec<VroParameter> = serde_json::from_value(
            json!([{"name": "x", "value": {"encrypted-blob": {"value": 1}}}]),
        )
        .expect("shape");
        let err = given(&parameters).expect_err("refused");
        assert!(
            err.contains("parameter `x`") && err.contains("encrypted-blob"),
            "{err}"
        );
    }
}
