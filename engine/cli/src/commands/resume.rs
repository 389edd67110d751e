//! `shutter resume`: continues executions a stopped engine left running.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use shutter_store::Durability;

use crate::db::{self, DbArgs, EngineArgs};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    engine: EngineArgs,
}

pub(crate) async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let opened = db::open(&args.db, Durability::Normal).await?;
    let engine = db::engine(opened.store.clone(), args.engine.config()?)?;
    let cancel = CancellationToken::new();
    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.cancel();
            }
        }
    });
    let leases = CancellationToken::new();
    tokio::spawn({
        let engine = engine.clone();
        let leases = leases.clone();
        async move { engine.keep_leases(leases).await }
    });
    let results = engine.resume_orphans(cancel).await?;
    leases.cancel();
    if results.is_empty() {
        eprintln!("nothing to resume");
    }
    let mut all_succeeded = true;
    for result in results {
        match result {
            Ok(record) => {
                all_succeeded &= record.state.is_success();
                match &record.error {
                    Some(error) => println!(
                        "{} {} {}: {error}",
                        record.id, record.workflow, record.state
                    ),
                    None => println!("{} {} {}", record.id, record.workflow, record.state),
                }
            }
            Err(err) => {
                all_succeeded = false;
                eprintln!("error: {err}");
            }
        }
    }
    Ok(if all_succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
