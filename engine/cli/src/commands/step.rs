//! `shutter step run MODULE.wasm`: a step author's inner loop — one run in
//! the same sandbox as a workflow step, outputs on stdout, logs on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value as Json;
use shutter_wasm::{Grants, Limits, Run};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Runs a module once with the given input.
    Run(RunArgs),
    /// Writes a new step project that builds and runs.
    New(NewArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct NewArgs {
    /// The step's name, also its directory.
    name: String,
    /// The guest language; `c` (WASI command ABI) is the one template so far.
    #[arg(long, default_value = "c")]
    lang: String,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    module: PathBuf,
    /// The parameters, a JSON object (`@FILE` reads a file).
    #[arg(long, default_value = "{}")]
    input: String,
    /// Memory cap, e.g. `64MiB`.
    #[arg(long, default_value = "64MiB")]
    memory: String,
    /// Deadline, e.g. `30s`.
    #[arg(long, default_value = "30s")]
    timeout: String,
}

pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run_module(&args),
        Command::New(args) => super::step_new::write(&args.name, &args.lang),
    }
}

fn run_module(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let text = match args.input.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading input {path}"))?
        }
        None => args.input.clone(),
    };
    let params: Json = serde_json::from_str(&text).context("the input is not JSON")?;
    if !params.is_object() {
        bail!("the input must be a JSON object");
    }
    let memory = shutter_dsl::units::parse_size(&args.memory).map_err(anyhow::Error::msg)?;
    let timeout: Duration =
        shutter_dsl::units::parse_duration(&args.timeout).map_err(anyhow::Error::msg)?;
    let bytes = std::fs::read(&args.module)
        .with_context(|| format!("reading module {}", args.module.display()))?;
    let sha256 = sha256_hex(&bytes);
    let host = crate::db::wasm_host()?;
    let loaded = host
        .load(&bytes, &sha256)
        .map_err(|f| anyhow::anyhow!("{f}"))?;
    eprintln!(
        "{} ({:?} ABI, sha256 {sha256})",
        args.module.display(),
        loaded.abi
    );
    let run = Run {
        params,
        limits: Limits {
            memory,
            timeout,
            ..Limits::default()
        },
        grants: Grants::default(),
        canceled: Arc::new(AtomicBool::new(false)),
    };
    let outcome = host.run(&loaded, run);
    for (level, line) in &outcome.logs {
        eprintln!("[{level:?}] {line}");
    }
    for (percent, message) in &outcome.progress {
        eprintln!("[progress {percent}%] {message}");
    }
    match outcome.result {
        Ok(outputs) => {
            println!("{}", serde_json::to_string_pretty(&outputs)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(failure) => {
            let kind = if failure.retryable() {
                "retryable"
            } else {
                "fatal"
            };
            eprintln!("error ({kind}): {failure}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
