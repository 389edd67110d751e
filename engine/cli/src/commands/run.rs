//! `shutter run FILE`: runs a workflow here, on the embedded store.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use serde_json::{Map, Value as Json};
use shutter_core::ExecutionState;
use shutter_dsl::Source;
use shutter_runtime::WorkflowSource;
use tokio_util::sync::CancellationToken;

use shutter_store::Durability;

use crate::db::{self, DbArgs, EngineArgs};
use crate::load::{catalog, check_modules, modules_dir_of, read_source, stderr_color};
use crate::progress;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The workflow file.
    file: PathBuf,
    /// An input, `name=value`, typed by its declaration: a `string` input
    /// takes the text as it is; any other reads it as JSON when it parses.
    #[arg(short = 'i', long = "input", value_name = "NAME=VALUE")]
    inputs: Vec<String>,
    /// A YAML or JSON file with an object of inputs (`-i` values win).
    #[arg(long = "inputs", value_name = "FILE")]
    inputs_file: Option<PathBuf>,
    /// Show what the run would do, and do nothing: steps that only read run
    /// for real, the others are shown with their parameters.
    #[arg(long)]
    plan: bool,
    /// With `--plan`: print the plan as JSON.
    #[arg(long, requires = "plan")]
    json: bool,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let source = match read_source(&args.file)? {
        Ok(source) => source,
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render(stderr_color()));
            return Ok(ExitCode::FAILURE);
        }
    };
    let file = args.file.clone();
    if args.plan {
        return crate::commands::plan::show(
            source,
            &file,
            |workflow| inputs(&args, workflow),
            &args.db,
            &args.engine,
            args.json,
        )
        .await;
    }
    execute(
        source,
        Some(&file),
        |workflow| inputs(&args, workflow),
        &args.db,
        &args.engine,
    )
    .await
}

/// Runs `source` here as `shutter run` runs a file (`file`, which module
/// paths are relative to; none for a command's own workflow, such as
/// `backups sync`): compiled, started on the store with the inputs
/// `inputs` reads once the workflow's declarations are known, followed
/// until it ends, its outputs printed.
pub(crate) async fn execute(
    source: Source,
    file: Option<&Path>,
    inputs: impl FnOnce(&shutter_dsl::Workflow) -> anyhow::Result<Map<String, Json>>,
    db: &DbArgs,
    engine: &EngineArgs,
) -> anyhow::Result<ExitCode> {
    let Some(plan) = prepare(&source, file).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let inputs = inputs(&plan.workflow)?;
    let opened = db::open(db, Durability::Normal).await?;
    let store = opened.store.clone();
    let engine = db::engine(store.clone(), engine.config()?)?;
    // Absolute, so a resume from another directory finds files relative to it.
    let path = file.map(|file| std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned()));
    let workflow_source = WorkflowSource {
        text: source.text().to_owned(),
        path: path.map(|path| path.display().to_string()),
    };
    let started = engine.start(&plan, workflow_source, &inputs).await;
    let Some(claim) = unless_inputs_refused(started, "starting the execution")? else {
        return Ok(ExitCode::FAILURE);
    };
    let id = claim.id;
    eprintln!(
        "execution {id} ({} on {})",
        plan.workflow.name, opened.place
    );

    let record = follow(&engine, store, claim, plan).await?;
    finish(&record)
}

/// What the engine answered; `None` when it refused the inputs, each
/// problem printed (the command then fails); any other error as the error
/// of `doing`.
pub(crate) fn unless_inputs_refused<T>(
    answer: Result<T, shutter_runtime::EngineError>,
    doing: &'static str,
) -> anyhow::Result<Option<T>> {
    match answer {
        Ok(value) => Ok(Some(value)),
        Err(shutter_runtime::EngineError::Inputs(errors)) => {
            for error in errors {
                eprintln!("error: {error}");
            }
            Ok(None)
        }
        Err(err) => Err(err).context(doing),
    }
}

/// Prints an ended execution's outputs (stdout) and, when it succeeded
/// with errors, what failed; the exit code its state calls for.
pub(crate) fn finish(record: &shutter_core::ExecutionRecord) -> anyhow::Result<ExitCode> {
    if let Some(outputs) = &record.outputs {
        println!("{}", serde_json::to_string_pretty(outputs)?);
    }
    if record.state == ExecutionState::SucceededWithErrors {
        // The work is done, so the exit is 0; what failed is still said.
        eprintln!(
            "execution {} succeeded with errors: {}",
            record.id,
            record.error.as_deref().unwrap_or_default()
        );
    }
    Ok(exit_code(record.state))
}

/// 0 for success (with errors too), 130 for canceled, else 1.
pub(crate) fn exit_code(state: ExecutionState) -> ExitCode {
    match state {
        state if state.is_success() => ExitCode::SUCCESS,
        ExecutionState::Canceled => ExitCode::from(130),
        _ => ExitCode::FAILURE,
    }
}

/// Runs the execution held by `claim` here, with live progress on stderr
/// (Ctrl-C cancels; a second one stops at once, resumable), until it
/// ends: its final record.
pub(crate) async fn follow(
    engine: &shutter_runtime::Engine,
    store: Arc<dyn shutter_core::Store>,
    claim: shutter_core::Claim,
    plan: Arc<shutter_dsl::Plan>,
) -> anyhow::Result<shutter_core::ExecutionRecord> {
    follow_all(engine, store, vec![(claim, plan)])
        .await
        .pop()
        .unwrap_or_else(|| Err(anyhow::anyhow!("the execution was not run")))
}

/// Runs the executions held here side by side until each ends, with live
/// progress on stderr: the board for one execution on a terminal, else a
/// line per event (each line led by its execution's id when there are
/// several), then a summary of each. Ctrl-C cancels them all; a second one
/// stops at once (each stays resumable). Their final records, in order.
pub(crate) async fn follow_all(
    engine: &shutter_runtime::Engine,
    store: Arc<dyn shutter_core::Store>,
    runs: Vec<(shutter_core::Claim, Arc<shutter_dsl::Plan>)>,
) -> Vec<anyhow::Result<shutter_core::ExecutionRecord>> {
    let cancel = CancellationToken::new();
    let leases = CancellationToken::new();
    tokio::spawn({
        let engine = engine.clone();
        let leases = leases.clone();
        async move { engine.keep_leases(leases).await }
    });
    tokio::spawn(cancel_on_ctrl_c(cancel.clone()));
    tokio::spawn(stop_on_sigterm());
    let several = runs.len() > 1;
    let tty = std::io::stderr().is_terminal() && !several;
    let ids: Vec<_> = runs.iter().map(|(claim, _)| claim.id).collect();
    let mut labels = progress::labels(&ids).into_iter();
    let done = CancellationToken::new();
    let mut followers = Vec::new();
    let mut executions = tokio::task::JoinSet::new();
    for (order, (claim, plan)) in runs.into_iter().enumerate() {
        let followed = progress::Followed {
            id: claim.id,
            workflow: plan.workflow.name.to_string(),
            steps: plan
                .workflow
                .steps
                .keys()
                .map(ToString::to_string)
                .collect(),
            label: labels.next().filter(|_| several),
        };
        followers.push(tokio::spawn({
            let store = store.clone();
            let done = done.clone();
            async move { progress::follow(store.as_ref(), followed, tty, done).await }
        }));
        let engine = engine.clone();
        let cancel = cancel.clone();
        executions.spawn(async move { (order, engine.run(claim, plan, cancel).await) });
    }
    let mut records: Vec<_> = std::iter::repeat_with(|| None)
        .take(followers.len())
        .collect();
    while let Some(joined) = executions.join_next().await {
        match joined {
            Ok((order, result)) => {
                records[order] = Some(result.context("running the execution"));
            }
            Err(err) => tracing::error!("an execution's task failed: {err}"),
        }
    }
    // Every execution has ended: the followers print what is left and
    // their summaries.
    done.cancel();
    for follower in followers {
        let _ = follower.await;
    }
    leases.cancel();
    records
        .into_iter()
        .map(|record| record.unwrap_or_else(|| Err(anyhow::anyhow!("the execution's task failed"))))
        .collect()
}

/// The first Ctrl-C cancels (finally steps still run); the second stops
/// the process at once, leaving the records resumable.
async fn cancel_on_ctrl_c(cancel: CancellationToken) {
    if tokio::signal::ctrl_c().await.is_ok() {
        eprintln!("canceling (finally steps still run); press Ctrl-C again to stop at once");
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("stopped; `shutter resume` continues the execution");
            #[allow(
                clippy::exit,
                reason = "a second Ctrl-C stops at once; the record stays resumable"
            )]
            std::process::exit(130);
        }
    }
}

/// SIGTERM (what `timeout`, systemd and container runtimes send to stop a
/// process) stops at once, as a second Ctrl-C does: whoever stops the
/// process did not ask to cancel the work, which `shutter resume` goes on
/// with (on this host at once: the process is gone; elsewhere once its
/// lease runs out). Without this the process died silently, by the
/// signal's default action.
async fn stop_on_sigterm() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut terminate) = signal(SignalKind::terminate()) else {
            return;
        };
        if terminate.recv().await.is_some() {
            eprintln!("stopped (SIGTERM); `shutter resume` continues the execution");
            #[allow(
                clippy::exit,
                reason = "SIGTERM stops at once; the record stays resumable"
            )]
            std::process::exit(143);
        }
    }
}

/// `source` compiled, with its modules checked and fetched; `None` once
/// the problems are printed.
pub(crate) async fn prepare(
    source: &Source,
    file: Option<&Path>,
) -> anyhow::Result<Option<Arc<shutter_dsl::Plan>>> {
    let plan = match shutter_dsl::compile(source, &catalog()) {
        Ok(plan) => Arc::new(plan),
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render(stderr_color()));
            return Ok(None);
        }
    };
    // A module outside the workflow's directory, missing or not the
    // pinned one fails before anything runs.
    let modules = file.and_then(modules_dir_of);
    if let Err(diagnostics) = check_modules(source, &plan, modules.as_deref()) {
        eprint!("{}", diagnostics.render(stderr_color()));
        return Ok(None);
    }
    // Modules named by URL are downloaded (once, kept by SHA-256) and checked now.
    let fetcher = shutter_wasm::fetch::ModuleFetcher::new(
        db::wasm_cache_dir().map(|dir| dir.join("modules")),
    );
    if let Err(problems) = crate::modules::fetch(&plan.workflow, &fetcher).await {
        for problem in problems {
            eprintln!("error: {problem}");
        }
        return Ok(None);
    }
    Ok(Some(plan))
}

/// The inputs file's object, then each `-i`, typed by the input it names.
fn inputs(args: &Args, workflow: &shutter_dsl::Workflow) -> anyhow::Result<Map<String, Json>> {
    let mut inputs = match &args.inputs_file {
        Some(path) => crate::load::read_inputs(path)?,
        None => Map::new(),
    };
    for assignment in &args.inputs {
        let (name, value) = shutter_dsl::inputs::parse_assignment_for(assignment, Some(workflow))
            .map_err(anyhow::Error::msg)?;
        inputs.insert(name, value);
    }
    Ok(inputs)
}
