//! `shutter start WORKFLOW --server URL`: starts an execution on a server.

use std::process::ExitCode;

use serde_json::{Map, Value as Json, json};
use shutter_core::ExecutionId;
use shutter_server::views::ExecutionSummary;

use crate::client::ServerArgs;
use crate::commands::executions::{exit_for, print_detail, require, wait};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The workflow's name on the server.
    workflow: String,
    /// An input, `name=value`; the value is read as JSON when it parses, else as a string.
    #[arg(short = 'i', long = "input", value_name = "NAME=VALUE")]
    inputs: Vec<String>,
    /// Waits for the execution to end and exits 0 only if it succeeded.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    server: ServerArgs,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let client = require(&args.server)?;
    let mut inputs = Map::new();
    for input in &args.inputs {
        let (name, value) =
            shutter_dsl::inputs::parse_assignment(input).map_err(anyhow::Error::msg)?;
        inputs.insert(name, value);
    }
    let started: ExecutionSummary = client
        .post_as(
            &format!("/workflows/{}/executions", args.workflow),
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
