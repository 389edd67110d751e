//! `shutter serve`: the HTTP API with the engine in the same process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use shutter_core::Files;
use shutter_runtime::EngineConfig;
use shutter_server::{
    Access, AllowedHosts, Server, ServerConfig, Token, WorkflowCheck, check_exposure,
};

use shutter_store::Durability;
use shutter_wasm::Unpinned;

use crate::db::{self, DbArgs, EngineArgs};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    engine: EngineArgs,
    /// Address to listen on, `HOST:PORT` (`127.0.0.1:8080`,
    /// `localhost:8080`, `0.0.0.0:443`). Anything but loopback needs a token.
    #[arg(long, default_value = "127.0.0.1:8080", value_parser = listen_address)]
    listen: SocketAddr,
    /// How log lines are written on stderr: `text` for people (coloured
    /// only on a terminal, never with `NO_COLOR`), `json` (an object a
    /// line) for a log collector.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// A log line per request (method, path without its query, status,
    /// duration): `on` or `off`.
    #[arg(long, default_value = "on", value_name = "on|off", action = clap::ArgAction::Set, value_parser = clap::builder::BoolishValueParser::new())]
    access_log: bool,
    /// Serve every workflow (`*.yaml`, `*.yml`) of this directory; invalid
    /// files are reported and skipped.
    #[arg(long, value_name = "DIR")]
    workflows: Option<PathBuf>,
    /// Where WebAssembly module files are: a workflow may name only files
    /// inside it (default: the `--workflows` directory; without either,
    /// modules only by URL).
    #[arg(long, value_name = "DIR")]
    modules: Option<PathBuf>,
    /// Accept and run local modules pinned `sha256: dev` (under
    /// development: whatever the file holds runs). For a development
    /// server only; `shutter step pin WORKFLOW` pins them.
    #[arg(long)]
    allow_unpinned: bool,
    /// The directory steps may read and write local files in (image data
    /// to upload or download, CA files); without it, served workflows move
    /// data by URL only.
    #[arg(long, value_name = "DIR")]
    files: Option<PathBuf>,
    /// A file holding the bearer token clients must send (else `$SHUTTER_API_TOKEN`).
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// A file holding the admin token, which registering workflows
    /// (`POST /workflows`) requires (else `$SHUTTER_ADMIN_TOKEN`).
    #[arg(long, value_name = "PATH")]
    admin_token_file: Option<PathBuf>,
    /// Without an admin token, let whoever may start executions also
    /// register workflows (code that runs with this host's credentials).
    #[arg(long)]
    allow_anonymous_admin: bool,
    /// A DNS name clients reach this server by (repeatable). Loopback
    /// names and IP addresses are always accepted in `Host`; other names
    /// are refused, which stops DNS-rebinding pages.
    #[arg(long = "allowed-host", value_name = "NAME")]
    allowed_hosts: Vec<String>,
    /// How long a client has to send a request head (and how long an idle
    /// connection stays open).
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    header_timeout: String,
    /// Most connections open at once; more are answered 503 and closed.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    max_connections: usize,
    /// Longest `?wait=` a poll may hold.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    max_wait: String,
    /// Versions kept per registered workflow; older ones are forgotten
    /// (their executions keep their own YAML in the store).
    #[arg(long, default_value_t = 10, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    workflow_versions: u16,
    /// Most executions this node runs at once. More wait in the store,
    /// queued, for this node or any other sharing the database to take
    /// when it has room.
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_executions: u32,
    /// Retention: delete executions that finished longer ago than this
    /// (e.g. `30d`), at start and then hourly. Default: keep everything.
    #[arg(long, value_name = "DURATION")]
    keep: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// `HOST:PORT` as an address: a literal one, or a name resolved here
/// (its first address: `localhost` is loopback either way).
fn listen_address(text: &str) -> Result<SocketAddr, String> {
    if let Ok(address) = text.parse() {
        return Ok(address);
    }
    if !text.contains(':') {
        return Err(format!("`{text}` is not HOST:PORT (e.g. 127.0.0.1:8080)"));
    }
    std::net::ToSocketAddrs::to_socket_addrs(text)
        .map_err(|err| format!("`{text}`: {err}"))?
        .next()
        .ok_or_else(|| format!("`{text}` names no address"))
}

/// The format chosen, for what `serve` says itself (`say`).
static FORMAT: std::sync::OnceLock<LogFormat> = std::sync::OnceLock::new();

/// A line about the server itself: `shutter: ...` for people, or a log
/// event like any other in JSON (so a collector reads one format).
fn say(message: &str) {
    match FORMAT.get() {
        Some(LogFormat::Json) => tracing::info!(target: "shutter", "{message}"),
        _ => eprintln!("shutter: {message}"),
    }
}

/// Logs on stderr in the chosen format; colour only for a person at a
/// terminal who did not ask for none.
fn init_logs(format: LogFormat) {
    let _ = FORMAT.set(format);
    let ansi = crate::load::stderr_color();
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

/// How often retention runs while serving.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs(args.log_format);
    let access = Access {
        token: token(args.token_file.as_deref(), "SHUTTER_API_TOKEN")?,
        admin_token: token(args.admin_token_file.as_deref(), "SHUTTER_ADMIN_TOKEN")?,
        allow_anonymous_admin: args.allow_anonymous_admin,
    };
    let modules_dir = match args.modules.as_ref().or(args.workflows.as_ref()) {
        Some(dir) => Some(
            std::fs::canonicalize(dir)
                .with_context(|| format!("the modules directory {}", dir.display()))?,
        ),
        None => None,
    };
    let files = match &args.files {
        Some(dir) => Files::Within(
            std::fs::canonicalize(dir)
                .with_context(|| format!("the files directory {}", dir.display()))?,
        ),
        None => Files::Nowhere,
    };
    let unpinned = if args.allow_unpinned {
        tracing::warn!(
            "--allow-unpinned: modules pinned `sha256: dev` run whatever their file holds; for a development server only"
        );
        Unpinned::Allowed
    } else {
        Unpinned::Refused
    };
    let check: WorkflowCheck = {
        let modules_dir = modules_dir.clone();
        Arc::new(move |workflow| {
            crate::modules::check_local(workflow, modules_dir.as_deref(), unpinned)
        })
    };
    let config = ServerConfig {
        check: Some(check),
        max_wait: duration("--max-wait", &args.max_wait)?,
        header_timeout: duration("--header-timeout", &args.header_timeout)?,
        max_connections: args.max_connections,
        max_workflow_versions: usize::from(args.workflow_versions),
        max_executions: usize::try_from(args.max_executions).unwrap_or(usize::MAX),
        access_log: args.access_log,
        allowed_hosts: AllowedHosts::new(args.allowed_hosts.iter().cloned()),
        access,
        ..ServerConfig::default()
    };
    if let Err(refusal) = check_exposure(&args.listen, &config) {
        bail!(refusal);
    }
    let keep = args
        .keep
        .as_deref()
        .map(|text| {
            shutter_core::units::parse_duration(text)
                .map_err(|err| anyhow::anyhow!("--keep: {err}"))
                .and_then(|age| Ok(chrono::Duration::from_std(age)?))
        })
        .transpose()?;
    let opened = db::open(&args.db, Durability::Full).await?;
    let store = opened.store.clone();
    if let Some(keep) = keep {
        // Dropped with the runtime when the server stops.
        let store = store.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(PRUNE_EVERY);
            loop {
                every.tick().await;
                let before = chrono::Utc::now() - keep;
                match store.prune(before).await {
                    Ok(0) => {}
                    Ok(removed) => say(&format!(
                        "retention removed {removed} execution(s) finished before {}",
                        before.format("%Y-%m-%d %H:%M:%S")
                    )),
                    Err(err) => say(&format!("retention failed, will try again: {err}")),
                }
            }
        });
    }
    let server = Server::new(
        store.clone(),
        db::actions(unpinned)?,
        shutter_providers::catalog(),
        EngineConfig {
            modules_dir,
            files,
            ..args.engine.config()?
        },
        config,
    );
    if let Some(dir) = &args.workflows {
        let problems = server
            .state()
            .workflows()
            .load_dir(dir, server.catalog(), chrono::Utc::now())
            .with_context(|| format!("reading the workflow directory {}", dir.display()))?;
        for (file, problem) in &problems {
            say(&format!("skipping {file}:\n{problem}"));
        }
    }
    for problem in server
        .keep_workflows()
        .await
        .context("keeping workflows in the store")?
    {
        say(&problem);
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let served = server.state().workflows().all_latest().len();
    say(&format!(
        "serving {served} workflow(s) on http://{} (store {})",
        listener.local_addr()?,
        opened.place
    ));
    let (resumed, unresumable) = server.resume().await.context("resuming executions")?;
    if resumed > 0 {
        say(&format!("resumed {resumed} execution(s) left running"));
    }
    for problem in unresumable {
        say(&problem.to_string());
    }
    server.serve(listener, shutdown_signal()).await?;
    opened.close();
    say("stopped");
    Ok(ExitCode::SUCCESS)
}

/// A token from its file, else from the environment variable.
fn token(file: Option<&std::path::Path>, variable: &str) -> anyhow::Result<Option<Token>> {
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the token file {}", path.display()))?;
            Ok(Some(
                Token::new(&text).with_context(|| format!("{} is empty", path.display()))?,
            ))
        }
        None => Ok(std::env::var(variable).ok().and_then(|t| Token::new(&t))),
    }
}

fn duration(flag: &str, text: &str) -> anyhow::Result<std::time::Duration> {
    shutter_core::units::parse_duration(text).map_err(|err| anyhow::anyhow!("{flag}: {err}"))
}

/// SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let Ok(mut terminate) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            let _ = interrupt.await;
            return;
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    // Say so at once: running executions get a grace period to end.
    say("stopping");
}
