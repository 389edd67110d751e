//! `shutter schema`: the JSON Schema committed as docs/workflow.schema.json.

use std::process::ExitCode;

use crate::load::catalog;

pub(crate) fn run() -> anyhow::Result<ExitCode> {
    let schema = shutter_dsl::schema::workflow_schema(&catalog());
    println!("{}", serde_json::to_string_pretty(&schema)?);
    Ok(ExitCode::SUCCESS)
}
