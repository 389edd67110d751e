//! `shutter executions list|show|logs|wait|cancel|retry|check|prune`: the records on the
//! embedded store, or on a server with `--server URL`.
//!
//! In three stages, as ripgrep does: the arguments are read and checked
//! into a [`Task`] (`task.rs`), the task runs and gives an [`Answer`], and
//! the answer is printed (`print.rs`). Records of the embedded store and
//! the server's answers are printed by the same code, through the server's
//! own view types.

mod logs;
mod print;
mod target;
mod task;

use std::process::ExitCode;

use anyhow::Context;
use shutter_core::{ExecutionId, ExecutionState};
use shutter_server::views::ExecutionDetail;

use crate::client::{Client, PlaceArgs, ServerArgs};
use crate::db::DbArgs;

pub(crate) use print::print_detail;
use task::Task;
pub(crate) use task::exit_for;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Executions, newest first.
    List {
        #[arg(long)]
        workflow: Option<String>,
        /// `queued`, `running`, `succeeded`, `succeeded_with_errors`, `failed` or `canceled`.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: PlaceArgs,
    },
    /// One execution with its steps and their tries.
    Show {
        #[command(flatten)]
        which: Which,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        place: PlaceArgs,
    },
    /// An execution's log lines, oldest first, with their times; `-f`
    /// follows them until it ends. Here or on a server (`--server`).
    Logs {
        #[command(flatten)]
        which: Which,
        /// Only this step's lines (`snap`, with its items, or `snap[3]`);
        /// with `--last`, the one word given (`logs snap --last`).
        step: Option<String>,
        /// Follow the lines until the execution ends.
        #[arg(short, long)]
        follow: bool,
        #[command(flatten)]
        place: PlaceArgs,
    },
    /// Waits until an execution on a server ends; exits 0 if it succeeded.
    Wait {
        #[command(flatten)]
        which: Which,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Cancels an execution (its `finally` steps still run): recorded in
    /// the embedded store, where the `shutter run` or `serve` holding it
    /// sees it (at its next lease renewal at the latest); or on a server
    /// with `--server`.
    Cancel {
        #[command(flatten)]
        which: Which,
        #[command(flatten)]
        place: PlaceArgs,
    },
    /// Runs an ended execution again: from the steps that did not
    /// succeed, or `--from` a step (with what is downstream of it, the
    /// `finally` steps and their `rerun_with` partners). Here, on the
    /// embedded store, with live progress until it ends (exit 0 if it
    /// succeeds); or on a server with `--server`.
    Retry {
        #[command(flatten)]
        which: Which,
        /// The step to run again from.
        #[arg(long, value_name = "STEP")]
        from: Option<String>,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        engine: crate::db::EngineArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Checks the store's file for corruption (SQLite's integrity check);
    /// exits 0 when it is sound.
    Check {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Deletes finished executions older than a duration (retention).
    Prune {
        /// e.g. `30d`, `12h`.
        #[arg(long, value_name = "DURATION")]
        older_than: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

// Which execution a command names: an id (or a unique prefix), or
// `--last`; read into a `Target`. Not a doc comment: clap would take it
// for the `about` of each command this is flattened into.
#[derive(Debug, clap::Args)]
pub(crate) struct Which {
    /// The execution: its id or any unique start of it.
    id: Option<String>,
    /// The newest execution instead of an id (of WORKFLOW when given).
    #[arg(long, value_name = "WORKFLOW", num_args = 0..=1, default_missing_value = "")]
    last: Option<String>,
}

pub(crate) async fn run(command: Command) -> anyhow::Result<ExitCode> {
    let json = command.json();
    let task = Task::read(command)?;
    let answer = task.run().await?;
    print::answer(&answer, json)
}

impl Command {
    /// Whether the answer is printed as JSON.
    fn json(&self) -> bool {
        match self {
            Self::List { json, .. } | Self::Show { json, .. } | Self::Wait { json, .. } => *json,
            Self::Cancel { .. }
            | Self::Retry { .. }
            | Self::Logs { .. }
            | Self::Check { .. }
            | Self::Prune { .. } => false,
        }
    }
}

pub(crate) fn require(server: &ServerArgs) -> anyhow::Result<Client> {
    server
        .client()?
        .context("give --server URL (or set SHUTTER_SERVER)")
}

/// Long-polls until the execution has ended; its detail.
pub(crate) async fn wait(client: &Client, id: ExecutionId) -> anyhow::Result<ExecutionDetail> {
    loop {
        let detail: ExecutionDetail = client.get_as(&format!("/executions/{id}?wait=60s")).await?;
        if ExecutionState::parse(&detail.execution.state).is_some_and(ExecutionState::is_terminal) {
            return Ok(detail);
        }
    }
}
