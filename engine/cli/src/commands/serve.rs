//! `shutter serve`: the HTTP API with the engine in the same process.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use shutter_runtime::{EngineConfig, Store};
use shutter_server::{Server, ServerConfig, Token, check_exposure};

use crate::db::{self, DbArgs};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on. Anything but loopback needs a token.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Serve every workflow (`*.yaml`, `*.yml`) of this directory; invalid
    /// files are reported and skipped.
    #[arg(long, value_name = "DIR")]
    workflows: Option<PathBuf>,
    /// A file holding the bearer token clients must send (else `$SHUTTER_API_TOKEN`).
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// Longest `?wait=` a poll may hold.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    max_wait: String,
    /// Retention: delete executions that finished longer ago than this
    /// (e.g. `30d`), at start and then hourly. Default: keep everything.
    #[arg(long, value_name = "DURATION")]
    keep: Option<String>,
}

/// How often retention runs while serving.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .init();
    let token = match &args.token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the token file {}", path.display()))?;
            Some(Token::new(&text).with_context(|| format!("{} is empty", path.display()))?)
        }
        None => std::env::var("SHUTTER_API_TOKEN")
            .ok()
            .and_then(|t| Token::new(&t)),
    };
    let config = ServerConfig {
        max_wait: shutter_dsl::units::parse_duration(&args.max_wait)
            .map_err(|err| anyhow::anyhow!("--max-wait: {err}"))?,
        token,
        ..ServerConfig::default()
    };
    if let Err(refusal) = check_exposure(&args.listen, &config) {
        bail!(refusal);
    }
    let keep = args
        .keep
        .as_deref()
        .map(|text| {
            shutter_dsl::units::parse_duration(text)
                .map_err(|err| anyhow::anyhow!("--keep: {err}"))
                .and_then(|age| Ok(chrono::Duration::from_std(age)?))
        })
        .transpose()?;
    let store = db::open(args.db.db)?;
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
                    Ok(removed) => eprintln!(
                        "shutter: retention removed {removed} execution(s) finished before {}",
                        before.format("%Y-%m-%d %H:%M:%S")
                    ),
                    Err(err) => eprintln!("shutter: retention failed, will try again: {err}"),
                }
            }
        });
    }
    let server = Server::new(
        store.clone(),
        db::actions()?,
        shutter_providers::catalog(),
        EngineConfig::default(),
        config,
    );
    if let Some(dir) = &args.workflows {
        let problems = server
            .state()
            .workflows()
            .load_dir(dir, server.catalog(), chrono::Utc::now())
            .with_context(|| format!("reading the workflow directory {}", dir.display()))?;
        for (file, problem) in &problems {
            eprintln!("shutter: skipping {file}:\n{problem}");
        }
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let served = server.state().workflows().all_latest().len();
    eprintln!(
        "shutter: serving {served} workflow(s) on http://{} (store {})",
        listener.local_addr()?,
        store.path().display()
    );
    let (resumed, unresumable) = server.resume().await.context("resuming executions")?;
    if resumed > 0 {
        eprintln!("shutter: resumed {resumed} execution(s) left running");
    }
    for problem in unresumable {
        eprintln!("shutter: {problem}");
    }
    server.serve(listener, shutdown_signal()).await?;
    store.close();
    eprintln!("shutter: stopped");
    Ok(ExitCode::SUCCESS)
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
    eprintln!("shutter: stopping");
}
