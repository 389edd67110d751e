//! The JSON Schema of the workflow format, for editors (`shutter schema`,
//! committed as docs/workflow.schema.json).
//!
//! The structure comes from the `raw` structs; the catalog adds, per action,
//! the parameters `with:` accepts, so editors complete them too.

use serde_json::{Value as Json, json};

use crate::catalog::{Catalog, ParamType};

pub fn workflow_schema(catalog: &Catalog) -> Json {
    let mut schema = serde_json::to_value(schemars::schema_for!(crate::raw::RawWorkflow))
        .expect("a generated schema is plain JSON");
    let actions: Vec<Json> = catalog
        .actions()
        .map(|spec| json!(spec.name))
        .chain(std::iter::once(json!(crate::catalog::WASM_ACTION)))
        .collect();
    let per_action: Vec<Json> = catalog
        .actions()
        .map(|spec| {
            let properties: serde_json::Map<String, Json> = spec
                .params
                .iter()
                .map(|p| (p.name.clone(), json!({"description": p.description, "anyOf": [type_schema(p.ty), {"type": "string", "pattern": "\\$\\{\\{"}]})))
                .collect();
            let required: Vec<&str> = spec.params.iter().filter(|p| p.required).map(|p| p.name.as_str()).collect();
            json!({
                "if": {"properties": {"uses": {"const": spec.name}}, "required": ["uses"]},
                "then": {"properties": {"with": {
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": false
                }}}
            })
        })
        .collect();
    if let Some(step) = schema.pointer_mut("/$defs/RawStep") {
        if let Some(uses) = step.pointer_mut("/properties/uses") {
            uses["examples"] = Json::Array(actions);
        }
        step["allOf"] = Json::Array(per_action);
    }
    schema["$id"] = json!("https://shutter.dev/schema/workflow-v1.json");
    schema
}

fn type_schema(ty: ParamType) -> Json {
    match ty {
        ParamType::String | ParamType::Duration => json!({"type": "string"}),
        ParamType::Integer => json!({"type": "integer"}),
        ParamType::Number => json!({"type": "number"}),
        ParamType::Boolean => json!({"type": "boolean"}),
        ParamType::Array => json!({"type": "array"}),
        ParamType::Object => json!({"type": "object"}),
        ParamType::StatusCodes => {
            let code = json!({"type": "integer", "minimum": 100, "maximum": 599});
            json!({"anyOf": [code, {"type": "array", "items": code, "minItems": 1}]})
        }
        ParamType::Any => json!({}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_steps_and_action_parameters() {
        let schema = workflow_schema(&Catalog::with_core());
        assert_eq!(schema["required"], json!(["version", "name", "steps"]));
        let step = &schema["$defs"]["RawStep"];
        assert!(
            step["properties"]["uses"]["examples"]
                .as_array()
                .unwrap()
                .contains(&json!("core.log"))
        );
        let log = step["allOf"]
            .as_array()
            .unwrap()
            .iter()
            .find(|rule| rule["if"]["properties"]["uses"]["const"] == "core.log")
            .unwrap();
        assert_eq!(
            log["then"]["properties"]["with"]["required"],
            json!(["message"])
        );
        // The compiler refuses `concurrency: 0`; so does the schema.
        assert_eq!(step["properties"]["concurrency"]["minimum"], json!(1));
    }
}
