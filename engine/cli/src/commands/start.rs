//! `shutter start WORKFLOW --server URL`: starts an execution on a server.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::{Map, Value as Json, json};
use shutter_core::ExecutionId;
use shutter_server::views::ExecutionSummary;

use crate::client::{ServerArgs, encode};
use crate::commands::executions::{exit_for, print_detail, require, wait};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The workflow's name on the server.
    workflow: String,
    /// An input, `name=value`; the value is read as JSON when it parses, else as a string.
    #[arg(short = 'i', long = "input", value_name = "NAME=VALUE")]
    inputs: Vec<String>,
    /// A YAML (or JSON) file with an object of inputs (`-i` values win).
    #[arg(long = "inputs", value_name = "FILE")]
    inputs_file: Option<PathBuf>,
    /// Waits for the execution to end and exits 0 only if it succeeded.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let client = require(&args.server)?;
    let inputs = given_inputs(args.inputs_file.as_deref(), &args.inputs)?;
    let started: ExecutionSummary = client
        .post_as(
            &format!("/workflows/{}/executions", encode(&args.workflow)),
            &json!({"inputs": Json::Object(inputs)}),
        )
        .await?;
    let id: ExecutionId = started.id.parse().map_err(anyhow::Error::msg)?;
    println!("{id}");
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let detail = wait(&client, id).await?;
    print_detail(&detail, false)?;
    Ok(exit_for(&detail))
}

/// The inputs sent to a server (`start`, `workflows plan`): the `--inputs`
/// file's object, then each `-i`, which wins. The workflow's declarations
/// are on the server, not here, so a `-i` value is read as JSON when it
/// parses (`-i keep=3` is a number); text that looks like JSON (`"5"`,
/// `"true"`) is written in the file, quoted.
pub(crate) fn given_inputs(
    file: Option<&Path>,
    assignments: &[String],
) -> anyhow::Result<Map<String, Json>> {
    let mut inputs = match file {
        Some(path) => crate::load::read_inputs(path)?,
        None => Map::new(),
    };
    for assignment in assignments {
        let (name, value) =
            shutter_dsl::inputs::parse_assignment(assignment).map_err(anyhow::Error::msg)?;
        inputs.insert(name, value);
    }
    Ok(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_of_inputs_keeps_its_types_and_each_input_flag_wins() {
        let dir = std::env::temp_dir().join(format!("shutter-inputs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("inputs.yaml");
        std::fs::write(&file, "vm: \"042\"\nkeep: 3\ntags: [a, b]\n").unwrap();
        let inputs = given_inputs(Some(file.as_path()), &["keep=9".to_owned()]).unwrap();
        assert_eq!(
            Json::Object(inputs),
            json!({"vm": "042", "keep": 9, "tags": ["a", "b"]})
        );

        std::fs::write(&file, "[1, 2]\n").unwrap();
        let refused = given_inputs(Some(file.as_path()), &[]).unwrap_err();
        assert!(
            format!("{refused:#}").contains("must hold an object"),
            "{refused:#}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
