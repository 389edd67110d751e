//! `shutter`: the command line of the Shutter workflow engine.
//!
//! # Layout
//! - `main.rs`: argument parsing (clap) and dispatch; errors printed once, as a chain.
//! - `load.rs`: reading workflow files with the size limit and compiling them.
//! - `modules.rs`: a workflow's WebAssembly modules, checked or fetched before it runs.
//! - `db.rs`: where the embedded store lives; the engine on it.
//! - `client.rs`: the HTTP client of `shutter serve` (`--server URL`).
//! - `progress/`: live progress of a running execution (the board, plain lines, the summary).
//! - `commands/`: one file per subcommand.

mod client;
mod commands;
mod database;
mod db;
mod load;
mod modules;
mod progress;
mod table;

use std::process::ExitCode;

/// jemalloc, not glibc's malloc: the SQLite writer thread frees what the
/// tokio workers allocated (a step's changes) and glibc takes the owning
/// arena's lock for each such free, so the writer and the workers kept
/// putting each other to sleep on it (`perf record -e
/// sched:sched_switch`: the most common reason either side slept in a
/// fan). jemalloc frees across threads without that lock: the fan of
/// 2,000 ran ~25% faster (docs/benchmarks.md, 2026-12-03). Chosen over
/// mimalloc, as fast here, because jemalloc can be told to give every
/// thread's freed pages back at once (`shutter serve` does so every few
/// seconds: engine/server/src/trim.rs); mimalloc kept 80 MB after a burst
/// of long polls (tests/memory.rs).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use clap::{Parser, Subcommand};

/// Shutter: durable workflows for VM snapshots and backups on AWS EC2,
/// OpenStack and VMware.
///
/// Write a workflow in YAML (quiesce, snapshot, copy, verify, prune), check
/// it with `shutter validate`, see what it would do with `shutter run
/// --plan`, run it with `shutter run`, or serve it with `shutter serve`
/// (HTTP API, schedules, a web console). Every execution is recorded, and
/// `shutter executions` reads the record. Docs: README.md and docs/ of the
/// source tree.
#[derive(Debug, Parser)]
#[command(name = "shutter", version = VERSION)]
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
    /// Lists, shows, registers and plans workflows on a server (`--server URL`).
    #[command(subcommand)]
    Workflows(commands::workflows::Command),
    /// Serves the HTTP API (start, poll, cancel executions; schedules).
    Serve(commands::serve::Args),
    /// Lists, shows, follows, cancels, retries, checks and prunes executions.
    #[command(subcommand)]
    Executions(commands::executions::Command),
    /// Lists, shows and rebuilds (sync) the backup catalog: what Shutter made, where, of what.
    #[command(subcommand)]
    Backups(commands::backups::Command),
    /// Starts a WebAssembly step from a template, or runs one on its own (for step authors).
    #[command(subcommand)]
    Step(commands::step::Command),
    /// Prints a shell's completion script for `shutter`, e.g.
    /// `shutter completions bash > /etc/bash_completion.d/shutter`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The version, with the commit it was built from (`unknown` outside a
/// git checkout).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("SHUTTER_COMMIT"),
    ")"
);

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
        Command::Workflows(command) => block_on(commands::workflows::run(command)),
        Command::Serve(args) => block_on(commands::serve::run(args)),
        Command::Executions(command) => block_on(commands::executions::run(command)),
        Command::Backups(command) => block_on(commands::backups::run(command)),
        Command::Step(command) => commands::step::run(command),
        Command::Completions { shell } => {
            use clap::CommandFactory as _;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "shutter",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
