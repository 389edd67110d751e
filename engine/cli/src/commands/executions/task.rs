//! Stage one and two: the arguments read into a [`Task`], checked (ids,
//! states, durations) before anything is opened or called; then the task
//! run against the embedded store or a server, giving an [`Answer`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use shutter_core::record::Timestamp;
use shutter_core::{ExecutionId, ExecutionRecord, ExecutionSnapshot, ExecutionState, ListQuery};
use shutter_server::views::{ExecutionDetail, ExecutionPage};
use shutter_store::Durability;

use super::target::{Lookup, Target};
use super::{Command, Which, require, wait};
use crate::client::{Client, PlaceArgs};
use crate::db::{self, DbArgs, EngineArgs};

/// Where the executions are.
#[derive(Debug)]
pub(super) enum Place {
    Local(DbArgs),
    Server(Client),
}

impl Place {
    /// The server `place` names (by flag or environment), else the
    /// embedded store or the one it names.
    fn of(place: PlaceArgs) -> anyhow::Result<Self> {
        Ok(match place.server.client()? {
            Some(client) => Self::Server(client),
            None => Self::Local(place.db),
        })
    }
}

/// What a command asks for, checked.
#[derive(Debug)]
pub(super) enum Task {
    List {
        query: ListQuery,
        at: Place,
    },
    Show {
        target: Target,
        at: Place,
    },
    Logs {
        target: Target,
        step: Option<String>,
        follow: bool,
        at: Place,
    },
    Wait {
        target: Target,
        client: Client,
    },
    Cancel {
        target: Target,
        at: Place,
    },
    Retry {
        target: Target,
        from: Option<String>,
        at: Place,
        engine: EngineArgs,
    },
    Check {
        db: DbArgs,
    },
    Prune {
        before: Timestamp,
        db: DbArgs,
    },
}

/// What a task found or did.
#[derive(Debug)]
pub(super) enum Answer {
    /// The embedded store's records, as stored.
    Records(Vec<ExecutionRecord>),
    /// A server's page, as it answered.
    Page(ExecutionPage),
    Snapshot(Box<ExecutionSnapshot>),
    Detail(Box<ExecutionDetail>),
    /// Printed as it was read (`logs`).
    Printed,
    /// The execution ended (`wait`): the exit code says how.
    Ended(Box<ExecutionDetail>),
    CancelRequested(ExecutionId),
    /// The retry was accepted: the execution runs again.
    Retried(ExecutionId),
    Checked {
        path: PathBuf,
        problems: Vec<String>,
    },
    Pruned {
        removed: u64,
        before: Timestamp,
    },
}

impl Task {
    pub(super) fn read(command: Command) -> anyhow::Result<Self> {
        Ok(match command {
            Command::List {
                workflow,
                state,
                limit,
                place,
                ..
            } => {
                let state = state
                    .map(|s| {
                        ExecutionState::parse(&s).with_context(|| format!("unknown state `{s}`"))
                    })
                    .transpose()?;
                let query = ListQuery {
                    workflow,
                    state,
                    limit,
                    ..ListQuery::default()
                };
                let at = Place::of(place)?;
                Self::List { query, at }
            }
            Command::Show { which, place, .. } => Self::Show {
                target: Target::read(which.id, which.last)?,
                at: Place::of(place)?,
            },
            Command::Logs {
                which: Which { id, last },
                step,
                follow,
                place,
            } => {
                // `logs snap --last`: the one positional word is the step (in
                // `logs --last snap`, clap gives `snap` to `--last`, as the workflow).
                let (id, step) = if last.is_some() && step.is_none() {
                    (None, id)
                } else {
                    (id, step)
                };
                Self::Logs {
                    target: Target::read(id, last)?,
                    step,
                    follow,
                    at: Place::of(place)?,
                }
            }
            Command::Wait { which, server, .. } => Self::Wait {
                target: Target::read(which.id, which.last)?,
                client: require(&server)?,
            },
            Command::Cancel { which, place } => Self::Cancel {
                target: Target::read(which.id, which.last)?,
                at: Place::of(place)?,
            },
            Command::Retry {
                which,
                from,
                db,
                engine,
                server,
            } => Self::Retry {
                target: Target::read(which.id, which.last)?,
                from,
                at: Place::of(PlaceArgs { db, server })?,
                engine,
            },
            Command::Check { db } => Self::Check { db },
            Command::Prune { older_than, db } => {
                let age = shutter_core::units::parse_duration(&older_than)
                    .map_err(|err| anyhow::anyhow!("--older-than: {err}"))?;
                Self::Prune {
                    before: chrono::Utc::now() - chrono::Duration::from_std(age)?,
                    db,
                }
            }
        })
    }

    pub(super) async fn run(self) -> anyhow::Result<Answer> {
        Ok(match self {
            Self::List {
                query,
                at: Place::Server(client),
            } => Answer::Page(client.get_as(&list_path(&query)).await?),
            Self::List {
                query,
                at: Place::Local(db),
            } => Answer::Records(
                db::open(&db, Durability::Normal)
                    .await?
                    .store
                    .list(&query)
                    .await?,
            ),
            Self::Show {
                target,
                at: Place::Server(client),
            } => {
                let id = target.resolve(&Lookup::Server(&client)).await?;
                Answer::Detail(Box::new(client.get_as(&format!("/executions/{id}")).await?))
            }
            Self::Show {
                target,
                at: Place::Local(db),
            } => {
                let (opened, id) = open_at(&db, target).await?;
                let Some(snapshot) = opened.store.snapshot(id).await? else {
                    bail!("no execution {id}");
                };
                Answer::Snapshot(Box::new(snapshot))
            }
            Self::Logs {
                target,
                step,
                follow,
                at: Place::Server(client),
            } => {
                let lookup = Lookup::Server(&client);
                let id = target.resolve(&lookup).await?;
                super::logs::print(&lookup, id, step.as_deref(), follow).await?;
                Answer::Printed
            }
            Self::Logs {
                target,
                step,
                follow,
                at: Place::Local(db),
            } => {
                let (opened, id) = open_at(&db, target).await?;
                let lookup = Lookup::Store(&opened.store);
                super::logs::print(&lookup, id, step.as_deref(), follow).await?;
                Answer::Printed
            }
            Self::Wait { target, client } => {
                let id = target.resolve(&Lookup::Server(&client)).await?;
                Answer::Ended(Box::new(wait(&client, id).await?))
            }
            Self::Cancel {
                target,
                at: Place::Server(client),
            } => {
                let id = target.resolve(&Lookup::Server(&client)).await?;
                client
                    .post(&format!("/executions/{id}/cancel"), &serde_json::json!({}))
                    .await?;
                Answer::CancelRequested(id)
            }
            Self::Cancel {
                target,
                at: Place::Local(db),
            } => {
                let (opened, id) = open_at(&db, target).await?;
                if !opened.store.request_cancel(id).await? {
                    let state = opened
                        .store
                        .snapshot(id)
                        .await?
                        .map(|s| s.execution.state.to_string());
                    bail!(
                        "execution {id} has ended ({}): nothing to cancel",
                        state.as_deref().unwrap_or("unknown")
                    );
                }
                Answer::CancelRequested(id)
            }
            Self::Retry {
                target,
                from,
                at: Place::Local(db),
                engine,
            } => retry_here(target, from.as_deref(), &db, &engine).await?,
            Self::Retry {
                target,
                from,
                at: Place::Server(client),
                ..
            } => {
                let id = target.resolve(&Lookup::Server(&client)).await?;
                let body = match from {
                    Some(step) => serde_json::json!({ "from": step }),
                    None => serde_json::json!({}),
                };
                client
                    .post(&format!("/executions/{id}/retry"), &body)
                    .await?;
                Answer::Retried(id)
            }
            Self::Check { db } => {
                let store = db::open_sqlite(&db, Durability::Normal)?;
                let problems = store.check().await?;
                Answer::Checked {
                    path: store.path().to_path_buf(),
                    problems,
                }
            }
            Self::Prune { before, db } => {
                let opened = db::open(&db, Durability::Normal).await?;
                Answer::Pruned {
                    removed: opened.store.prune(before).await?,
                    before,
                }
            }
        })
    }
}

/// Opens the store `db` names and finds in it the execution `target` names.
async fn open_at(db: &DbArgs, target: Target) -> anyhow::Result<(db::Opened, ExecutionId)> {
    let opened = db::open(db, Durability::Normal).await?;
    let id = target.resolve(&Lookup::Store(&opened.store)).await?;
    Ok((opened, id))
}

/// Retries `id` on the embedded store and runs it here until it ends.
async fn retry_here(
    target: Target,
    from: Option<&str>,
    db: &DbArgs,
    engine: &EngineArgs,
) -> anyhow::Result<Answer> {
    let (opened, id) = open_at(db, target).await?;
    let store = opened.store.clone();
    let engine = db::engine(store.clone(), engine.config()?)?;
    let (plan, claim) = engine
        .retry(id, from)
        .await
        .with_context(|| format!("retrying {id}"))?;
    eprintln!(
        "execution {id} ({} on {}) runs again",
        plan.workflow.name, opened.place
    );
    crate::commands::run::follow(&engine, store.clone(), claim, plan).await?;
    let snapshot = store
        .snapshot(id)
        .await?
        .with_context(|| format!("no execution {id}"))?;
    Ok(Answer::Ended(Box::new(ExecutionDetail::from(&snapshot))))
}

/// `GET /executions` with the query's filters (and its keyset bound).
pub(super) fn list_path(query: &ListQuery) -> String {
    let mut path = format!("/executions?limit={}", query.limit);
    if let Some(workflow) = &query.workflow {
        path.push_str(&format!("&workflow={}", crate::client::encode(workflow)));
    }
    if let Some(state) = query.state {
        path.push_str(&format!("&state={}", state.as_str()));
    }
    if let Some(before) = query.before {
        path.push_str(&format!("&cursor={before}"));
    }
    path
}

/// As `run` exits for an execution that ended: 0 when it succeeded (with
/// errors or not), 130 when it was canceled, 1 otherwise.
pub(crate) fn exit_for(detail: &ExecutionDetail) -> ExitCode {
    match ExecutionState::parse(&detail.execution.state) {
        Some(state) => crate::commands::run::exit_code(state),
        None => ExitCode::FAILURE,
    }
}
