//! JSON values to vRO's typed parameters and back.
//!
//! vRO wants every value wrapped in its type: `{"string": {"value": "x"}}`,
//! with the parameter's `type` beside it (`string`, `Array/string`,
//! `VC:VirtualMachine`...). Workflow authors write plain YAML values; an
//! object with exactly `type` and `id` is an SDK object (a vCenter VM, a
//! host...), any other object becomes `Properties`.

use serde_json::{Map, Value as Json, json};

/// `{"name": value, ...}` -> the `parameters` array of an execution request.
pub fn to_parameters(values: &Map<String, Json>) -> Result<Vec<Json>, String> {
    values
        .iter()
        .map(|(name, value)| {
            let (ty, typed) = typed(value).map_err(|e| format!("vro parameter `{name}`: {e}"))?;
            Ok(json!({"name": name, "type": ty, "scope": "local", "value": typed}))
        })
        .collect()
}

/// A value and its vRO type name.
fn typed(value: &Json) -> Result<(String, Json), String> {
    Ok(match value {
        Json::Null => return Err("null has no vRO type; leave the parameter out".to_owned()),
        Json::String(s) => ("string".to_owned(), json!({"string": {"value": s}})),
        Json::Number(n) => ("number".to_owned(), json!({"number": {"value": n}})),
        Json::Bool(b) => ("boolean".to_owned(), json!({"boolean": {"value": b}})),
        Json::Array(items) => {
            let mut element_types = Vec::new();
            let mut elements = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let (ty, typed) = typed(item).map_err(|e| format!("element {i}: {e}"))?;
                element_types.push(ty);
                elements.push(typed);
            }
            element_types.dedup();
            let element_type = match element_types.as_slice() {
                [one] => one.clone(),
                _ => "Any".to_owned(),
            };
            (
                format!("Array/{element_type}"),
                json!({"array": {"elements": elements}}),
            )
        }
        Json::Object(map) => match sdk_object(map) {
            Some((ty, id)) => (ty.to_owned(), json!({"sdk-object": {"type": ty, "id": id}})),
            None => {
                let mut property = Vec::new();
                for (key, item) in map {
                    let (_, typed) = typed(item).map_err(|e| format!("key `{key}`: {e}"))?;
                    property.push(json!({"key": key, "value": typed}));
                }
                (
                    "Properties".to_owned(),
                    json!({"properties": {"property": property}}),
                )
            }
        },
    })
}

fn sdk_object(map: &Map<String, Json>) -> Option<(&str, &str)> {
    if map.len() != 2 {
        return None;
    }
    Some((map.get("type")?.as_str()?, map.get("id")?.as_str()?))
}

/// The `output-parameters` (or `input-parameters`) array -> `{"name": value}`.
pub fn from_parameters(parameters: &Json) -> Map<String, Json> {
    parameters
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?;
            Some((name.to_owned(), p.get("value").map_or(Json::Null, untyped)))
        })
        .collect()
}

/// A typed vRO value -> plain JSON. Unknown wrappers are kept as they are.
pub fn untyped(value: &Json) -> Json {
    let Some((kind, inner)) = value
        .as_object()
        .filter(|m| m.len() == 1)
        .and_then(|m| m.iter().next())
    else {
        return value.clone();
    };
    match kind.as_str() {
        "string" | "number" | "boolean" | "date" | "secure-string" | "mime-attachment"
        | "encrypted-string" => inner.get("value").cloned().unwrap_or(Json::Null),
        "array" => Json::Array(items(inner.get("elements")).map(untyped).collect()),
        "sdk-object" => json!({
            "type": inner.get("type").cloned().unwrap_or(Json::Null),
            "id": inner.get("id").cloned().unwrap_or(Json::Null),
        }),
        "properties" => Json::Object(
            items(inner.get("property"))
                .filter_map(|p| {
                    Some((
                        p.get("key")?.as_str()?.to_owned(),
                        p.get("value").map_or(Json::Null, untyped),
                    ))
                })
                .collect(),
        ),
        _ => value.clone(),
    }
}

/// The items of a JSON array; none when `list` is missing or not an array.
fn items(list: Option<&Json>) -> impl Iterator<Item = &Json> {
    list.and_then(Json::as_array).into_iter().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips() {
        let values = json!({
            "vmName": "web-01",
            "count": 3,
            "ratio": 0.5,
            "force": true,
            "tags": ["a", "b"],
            "mixed": [1, "x"],
            "vm": {"type": "VC:VirtualMachine", "id": "vc1/vm-42"},
            "labels": {"env": "prod", "tier": 2},
        });
        let params = to_parameters(values.as_object().unwrap()).unwrap();
        let by_name = |n: &str| params.iter().find(|p| p["name"] == n).unwrap().clone();
        assert_eq!(
            by_name("vmName")["value"],
            json!({"string": {"value": "web-01"}})
        );
        assert_eq!(by_name("tags")["type"], "Array/string");
        assert_eq!(by_name("mixed")["type"], "Array/Any");
        assert_eq!(by_name("vm")["type"], "VC:VirtualMachine");
        assert_eq!(by_name("vm")["value"]["sdk-object"]["id"], "vc1/vm-42");
        assert_eq!(by_name("labels")["type"], "Properties");
        let back = from_parameters(&Json::Array(params));
        assert_eq!(Json::Object(back), values);
    }

    #[test]
    fn null_is_refused_with_its_name() {
        let values = json!({"a": [null]});
        let err = to_parameters(values.as_object().unwrap()).unwrap_err();
        assert!(err.contains("`a`") && err.contains("element 0"), "{err}");
    }
}
