//! `shutter workflows list|show|push|plan --server URL`: the workflows a
//! server runs, read through the server's own view types.
//!
//! Each command's arguments are read and its request made here; what the
//! server answered is printed by `print.rs`.

mod print;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use indexmap::IndexMap;
use serde_json::{Value as Json, json};
use shutter_dsl::model::InputSpec;
use shutter_runtime::{DryRun, Forecast};
use shutter_server::views::{WorkflowDetail, WorkflowList};

use crate::client::{Client, ServerArgs, encode};
use crate::commands::executions::require;
use crate::commands::start::given_inputs;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// The workflows the server runs (their latest versions): versions
    /// kept, steps, schedule and next tick.
    List {
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One workflow: its versions, schedule, inputs and YAML.
    Show {
        /// The workflow's name on the server.
        name: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Registers workflow files: a changed file is a new version, which
    /// new executions run; the same content again changes nothing. Needs
    /// the server's admin token (`--token-file`). Exits 1 if any file is
    /// refused.
    Push {
        /// Workflow files (YAML).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// What a run of the workflow's latest version would do, doing
    /// nothing: steps that only read run for real on the server, the
    /// others are shown with their parameters. Exits 1 if the plan fails.
    Plan {
        /// The workflow's name on the server.
        name: String,
        /// An input, `name=value`; the value is read as JSON when it parses, else as a string.
        #[arg(short = 'i', long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        /// A YAML (or JSON) file with an object of inputs (`-i` values win).
        #[arg(long = "inputs", value_name = "FILE")]
        inputs_file: Option<PathBuf>,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
}

pub(crate) async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List { json, server } => {
            let list: WorkflowList = require(&server)?.get_as("/workflows").await?;
            print::list(&list, json)?;
        }
        Command::Show { name, json, server } => {
            let detail: WorkflowDetail = require(&server)?.get_as(&path_of(&name)).await?;
            if json {
                print::json(&detail)?;
            } else {
                print::detail(&detail, &inputs_of(&detail)?);
            }
        }
        Command::Push { files, server } => return push(&require(&server)?, &files).await,
        Command::Plan {
            name,
            inputs,
            inputs_file,
            json,
            server,
        } => {
            let client = require(&server)?;
            let inputs = given_inputs(inputs_file.as_deref(), &inputs)?;
            let dry: DryRun = client
                .post_as(
                    &format!("{}/plan", path_of(&name)),
                    &json!({"inputs": Json::Object(inputs)}),
                )
                .await?;
            if json {
                print::json(&dry)?;
            } else {
                print!("{}", crate::commands::plan::render(&dry));
            }
            return Ok(if fails(&dry) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `/workflows/{name}`, the name encoded: a `/`, `?` or space in it stays
/// part of the name, and the server answers that no such workflow exists.
fn path_of(name: &str) -> String {
    format!("/workflows/{}", encode(name))
}

/// The workflow's inputs, read back into the declarations the server
/// serialized (`WorkflowDetail::inputs` is that map as JSON).
fn inputs_of(detail: &WorkflowDetail) -> anyhow::Result<IndexMap<String, InputSpec>> {
    serde_json::from_value(detail.inputs.clone()).with_context(|| {
        format!(
            "the inputs of workflow `{}`: an answer this client does not understand",
            detail.summary.name
        )
    })
}

/// Registers each file in turn; a refused one is said on stderr with its
/// name and the server's reasons, and the others are still sent.
async fn push(client: &Client, files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut refused = 0_usize;
    for file in files {
        match push_one(client, file).await {
            Ok(detail) => print::pushed(file, &detail),
            Err(err) => {
                eprintln!("error: {err:#}");
                refused += 1;
            }
        }
    }
    if refused > 0 && files.len() > 1 {
        eprintln!("{refused} of {} file(s) refused", files.len());
    }
    Ok(if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn push_one(client: &Client, file: &Path) -> anyhow::Result<WorkflowDetail> {
    let context = || format!("pushing {}", file.display());
    // Read as `shutter run` reads it: never more than the size limit, and
    // UTF-8; the server compiles it and says what is wrong with it.
    let source = crate::load::read_source(file)?
        .map_err(|diagnostics| {
            anyhow::anyhow!(
                "{}",
                diagnostics.render(crate::load::stderr_color()).trim_end()
            )
        })
        .with_context(context)?;
    client
        .post_yaml_as::<WorkflowDetail>("/workflows", source.text().to_owned())
        .await
        .with_context(context)
}

/// Whether a run would fail: before its first step, or at a step.
fn fails(dry: &DryRun) -> bool {
    dry.problem.is_some()
        || dry
            .steps
            .values()
            .any(|step| step.forecast == Forecast::Failed)
}
