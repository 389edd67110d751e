//! `shutter`: the command line of the Shutter workflow engine.
//!
//! # Layout
//! - `main.rs`: argument parsing (clap) and dispatch; errors printed once, as a chain.
//! - `load.rs`: reading workflow files with the size limit and compiling them.
//! - `modules.rs`: a workflow's WebAssembly modules, checked or fetched before it runs.
//! - `db.rs`: where the embedded store lives; the engine on it.
//! - `client.rs`: the HTTP client of `shutter serve` (`--server URL`).
//! - `progress.rs`: live progress of a running execution.
//! - `commands/`: one file per subcommand.

mod client;
mod commands;
mod database;
mod db;
mod load;
mod modules;
mod progress;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Shutter compiles YAML workflows for VM snapshot and backup work into DAGs
/// and runs them.
#[derive(Debug, Parser)]
#[command(name = "shutter", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks workflow files; prints a summary per file or every problem found.
    Validate(commands::validate::Args),
    /// Draws a workflow's DAG.
    Graph(commands::graph::Args),
    /// Lists built-in actions, or describes one.
    Actions(commands::actions::Args),
    /// Prints the JSON Schema of the workflow format.
    Schema,
    /// Runs a workflow here, recording it in the embedded store.
    Run(commands::run::Args),
    /// Continues executions a stopped engine left running.
    Resume(commands::resume::Args),
    /// Starts an execution on a server (`--server URL`).
    Start(commands::start::Args),
    /// Serves the HTTP API (start, poll, cancel executions; schedules).
    Serve(commands::serve::Args),
    /// Lists, shows and prunes recorded executions.
    #[command(subcommand)]
    Executions(commands::executions::Command),
    /// Lists and shows the backup catalog: what Shutter made, where, of what.
    #[command(subcommand)]
    Backups(commands::backups::Command),
    /// Runs a WebAssembly step module on its own (for step authors).
    #[command(subcommand)]
    Step(commands::step::Command),
}

/// Runs an async command on a multi-threaded runtime.
fn block_on(command: impl Future<Output = anyhow::Result<ExitCode>>) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?
        .block_on(command)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(&args),
        Command::Graph(args) => commands::graph::run(&args),
        Command::Actions(args) => commands::actions::run(&args),
        Command::Schema => commands::schema::run(),
        Command::Run(args) => block_on(commands::run::run(args)),
        Command::Resume(args) => block_on(commands::resume::run(args)),
        Command::Start(args) => block_on(commands::start::run(args)),
        Command::Serve(args) => block_on(commands::serve::run(args)),
        Command::Executions(command) => block_on(commands::executions::run(command)),
        Command::Backups(command) => block_on(commands::backups::run(command)),
        Command::Step(command) => commands::step::run(command),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
