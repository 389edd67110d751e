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

use super::step_new::Lang;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Runs a module once with the given input.
    Run(RunArgs),
    /// Writes a new step project that builds and runs.
    New(NewArgs),
    /// Writes the SHA-256 of each local module into the workflow's
    /// `sha256:` keys (`dev` or stale), changing nothing else in the file.
    Pin(super::step_pin::PinArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct NewArgs {
    /// The step's name, also its directory.
    name: String,
    /// The guest language. WASI commands: `c` (clang + wasi-libc), `go`
    /// (Go >= 1.21), `assemblyscript` or `as` (npm). Components: `rust`
    /// (target wasm32-wasip2), `wat` (text, runs without a build).
    #[arg(long, value_enum, default_value_t = Lang::C)]
    lang: Lang,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The module: a binary (`.wasm`, core module or component) or its
    /// text form (`.wat`), compiled here first.
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
    /// A host a component may call over HTTP, as in `allow.http`
    /// (`api.example.com`, `127.0.0.1:8080`, `*.example.com`); repeatable.
    #[arg(long = "allow-http", value_name = "HOST")]
    allow_http: Vec<String>,
    /// A variable of this environment the module may read, as in `allow.env`; repeatable.
    #[arg(long = "allow-env", value_name = "NAME")]
    allow_env: Vec<String>,
}

pub(crate) fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run(args) => run_module(&args),
        Command::New(args) => super::step_new::write(&args.name, args.lang),
        Command::Pin(args) => super::step_pin::run(&args),
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
    let memory = shutter_core::units::parse_size(&args.memory).map_err(anyhow::Error::msg)?;
    let timeout: Duration =
        shutter_core::units::parse_duration(&args.timeout).map_err(anyhow::Error::msg)?;
    let bytes = read_module(&args.module)?;
    let sha256 = sha256_hex(&bytes);
    let host = crate::db::wasm_host()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the runtime for http")?;
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
        grants: Grants {
            env: args
                .allow_env
                .iter()
                .filter_map(|name| std::env::var(name).ok().map(|value| (name.clone(), value)))
                .collect(),
            http: args.allow_http.clone(),
            ..Grants::default()
        },
        canceled: Arc::new(AtomicBool::new(false)),
        runtime: Some(runtime.handle().clone()),
    };
    // Blocking, as in the engine: HTTP requests run on the runtime's threads.
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
            Ok(if failure.retryable() {
                ExitCode::from(EXIT_RETRYABLE)
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// The exit status of a run that failed but would be tried again in a
/// workflow (`EX_TEMPFAIL` of sysexits.h); a fatal failure exits 1.
pub(crate) const EXIT_RETRYABLE: u8 = 75;

/// The module's binary: read as is, or compiled from its text form (WAT).
/// `wat` tells them apart by the binary's magic and names the file, line
/// and column of a mistake in the text. The sha256 printed is the
/// binary's: what a pin names.
fn read_module(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    wat::parse_file(path).map_err(|err| anyhow::anyhow!("{err}"))
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
