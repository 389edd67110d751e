//! `shutter executions list|show|wait|cancel|check|prune`: the records on the
//! embedded store, or on a server with `--server URL`.

use std::process::ExitCode;

use anyhow::{Context, bail};
use shutter_runtime::{ExecutionId, ExecutionState, ListQuery, Store};

use shutter_store::Durability;

use crate::client::{Client, ServerArgs};
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
        #[command(flatten)]
        server: ServerArgs,
    },
    /// One execution with its steps and their tries.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        db: DbArgs,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Waits until an execution on a server ends; exits 0 if it succeeded.
    Wait {
        id: String,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        server: ServerArgs,
    },
    /// Cancels an execution on a server (its `finally` steps still run).
    Cancel {
        id: String,
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

pub(crate) async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::List {
            workflow,
            state,
            limit,
            json,
            db,
            server,
        } => {
            if let Some(client) = server.client()? {
                let mut query = format!("/executions?limit={limit}");
                for (name, value) in [("workflow", &workflow), ("state", &state)] {
                    if let Some(value) = value {
                        query.push_str(&format!("&{name}={}", encode(value)));
                    }
                }
                let page = client.get(&query).await?;
                print_remote_list(&page, json)?;
                return Ok(ExitCode::SUCCESS);
            }
            let state = state
                .map(|s| ExecutionState::parse(&s).with_context(|| format!("unknown state `{s}`")))
                .transpose()?;
            let store = db::open(&db, Durability::Normal)?;
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
        Command::Show {
            id,
            json,
            db,
            server,
        } => {
            let id: ExecutionId = id.parse().map_err(anyhow::Error::msg)?;
            if let Some(client) = server.client()? {
                let detail = client.get(&format!("/executions/{id}")).await?;
                print_remote_detail(&detail, json)?;
                return Ok(ExitCode::SUCCESS);
            }
            let store = db::open(&db, Durability::Normal)?;
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
        Command::Wait { id, json, server } => {
            let id: ExecutionId = id.parse().map_err(anyhow::Error::msg)?;
            let client = require(&server)?;
            let detail = wait(&client, id).await?;
            print_remote_detail(&detail, json)?;
            return Ok(exit_for(&detail));
        }
        Command::Cancel { id, server } => {
            let id: ExecutionId = id.parse().map_err(anyhow::Error::msg)?;
            let client = require(&server)?;
            client
                .post(&format!("/executions/{id}/cancel"), &serde_json::json!({}))
                .await?;
            println!("cancel requested for {id}");
        }
        Command::Prune { older_than, db } => {
            let age = shutter_dsl::units::parse_duration(&older_than)
                .map_err(|err| anyhow::anyhow!("--older-than: {err}"))?;
            let before = chrono::Utc::now() - chrono::Duration::from_std(age)?;
            let store = db::open(&db, Durability::Normal)?;
            let removed = store.prune(before).await?;
            println!(
                "removed {removed} executions finished before {}",
                before.format("%Y-%m-%d %H:%M:%S")
            );
        }
        Command::Check { db } => {
            let store = db::open(&db, Durability::Normal)?;
            let problems = store.check().await?;
            if !problems.is_empty() {
                for problem in &problems {
                    eprintln!("{problem}");
                }
                eprintln!(
                    "error: {} is damaged ({} problem(s))",
                    store.path().display(),
                    problems.len()
                );
                return Ok(ExitCode::FAILURE);
            }
            println!("ok: {}", store.path().display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn require(server: &ServerArgs) -> anyhow::Result<Client> {
    server
        .client()?
        .context("give --server URL (or set SHUTTER_SERVER)")
}

/// Long-polls until the execution has ended; its detail.
pub(crate) async fn wait(client: &Client, id: ExecutionId) -> anyhow::Result<serde_json::Value> {
    loop {
        let detail = client.get(&format!("/executions/{id}?wait=60s")).await?;
        let state = detail["state"].as_str().unwrap_or_default();
        if ExecutionState::parse(state).is_some_and(ExecutionState::is_terminal) {
            return Ok(detail);
        }
    }
}

/// 0 when the execution succeeded, 1 otherwise.
pub(crate) fn exit_for(detail: &serde_json::Value) -> ExitCode {
    if detail["state"] == "succeeded" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn print_remote_list(page: &serde_json::Value, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(&page["items"])?);
        return Ok(());
    }
    for r in page["items"].as_array().into_iter().flatten() {
        println!(
            "{}  {:10} {:24} {}",
            r["id"].as_str().unwrap_or_default(),
            r["state"].as_str().unwrap_or_default(),
            r["workflow"].as_str().unwrap_or_default(),
            r["created_at"].as_str().unwrap_or_default(),
        );
    }
    Ok(())
}

pub(crate) fn print_remote_detail(detail: &serde_json::Value, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(detail)?);
        return Ok(());
    }
    println!(
        "execution {}  {}  {}",
        detail["id"].as_str().unwrap_or_default(),
        detail["workflow"].as_str().unwrap_or_default(),
        detail["state"].as_str().unwrap_or_default()
    );
    println!("inputs:  {}", detail["inputs"]);
    if !detail["outputs"].is_null() {
        println!("outputs: {}", detail["outputs"]);
    }
    if let Some(error) = detail["error"].as_str() {
        println!("error:   {error}");
    }
    for step in detail["steps"].as_array().into_iter().flatten() {
        println!(
            "  {:24} {:12} tries {}  {}",
            step["key"].as_str().unwrap_or_default(),
            step["state"].as_str().unwrap_or_default(),
            step["attempts"].as_array().map_or(0, Vec::len),
            step["error"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}
