//! `shutter executions list|show|prune`: the records on the embedded store.

use std::process::ExitCode;

use anyhow::{Context, bail};
use shutter_runtime::{ExecutionId, ExecutionState, ListQuery, Store};

use crate::db::{self, DbArgs};

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Executions, newest first.
    List {
        #[arg(long)]
        workflow: Option<String>,
        /// queued, running, succeeded, failed or canceled.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// One execution with its steps and their tries.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
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

pub(crate) async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List {
            workflow,
            state,
            limit,
            json,
            db,
        } => {
            let state = state
                .map(|s| ExecutionState::parse(&s).with_context(|| format!("unknown state `{s}`")))
                .transpose()?;
            let store = db::open(db.db)?;
            let records = store
                .list(&ListQuery {
                    workflow,
                    state,
                    limit,
                    ..ListQuery::default()
                })
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&records)?);
            } else {
                for r in records {
                    let took = match (r.started_at, r.finished_at) {
                        (Some(start), Some(end)) => {
                            format!("{:.1}s", (end - start).as_seconds_f64())
                        }
                        _ => "-".to_owned(),
                    };
                    println!(
                        "{}  {:10} {:24} {}  {took}",
                        r.id,
                        r.state,
                        r.workflow,
                        r.created_at.format("%Y-%m-%d %H:%M:%S")
                    );
                }
            }
        }
        Command::Show { id, json, db } => {
            let id: ExecutionId = id.parse().map_err(anyhow::Error::msg)?;
            let store = db::open(db.db)?;
            let Some(snapshot) = store.snapshot(id).await? else {
                bail!("no execution {id}");
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&snapshot)?);
            } else {
                let e = &snapshot.execution;
                println!("execution {}  {}  {}", e.id, e.workflow, e.state);
                println!("inputs:  {}", e.inputs);
                if let Some(outputs) = &e.outputs {
                    println!("outputs: {outputs}");
                }
                if let Some(error) = &e.error {
                    println!("error:   {error}");
                }
                for step in &snapshot.steps {
                    let detail = step.error.clone().unwrap_or_default();
                    println!(
                        "  {:24} {:12} tries {}  {detail}",
                        step.key.to_string(),
                        step.state.to_string(),
                        step.attempts.len()
                    );
                }
            }
        }
        Command::Prune { older_than, db } => {
            let age = humantime::parse_duration(&older_than)
                .with_context(|| format!("`{older_than}` is not a duration"))?;
            let before = chrono::Utc::now() - chrono::Duration::from_std(age)?;
            let store = db::open(db.db)?;
            let removed = store.prune(before).await?;
            println!(
                "removed {removed} executions finished before {}",
                before.format("%Y-%m-%d %H:%M:%S")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
