//! `shutter`: the command line of the Shutter workflow engine.
//!
//! # Layout
//! - `main.rs`: argument parsing (clap) and dispatch; errors printed once, as a chain.
//! - `load.rs`: reading workflow files with the size limit and compiling them.
//! - `commands/`: one file per subcommand.

mod commands;
mod load;

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => commands::validate::run(&args),
        Command::Graph(args) => commands::graph::run(&args),
        Command::Actions(args) => commands::actions::run(&args),
        Command::Schema => commands::schema::run(),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
