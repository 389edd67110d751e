//! `shutter resume`: continues executions a stopped engine left running,
//! followed live as `shutter run` follows one.

use std::process::ExitCode;

use shutter_store::Durability;

use crate::commands::run;
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
    let claims = engine.claim_orphans(usize::MAX, &[]).await?;
    if claims.is_empty() {
        eprintln!("nothing to resume");
        return Ok(ExitCode::SUCCESS);
    }
    let mut all_succeeded = true;
    let mut runs = Vec::with_capacity(claims.len());
    for claim in claims {
        match engine.plan_of_id(claim.id).await {
            Ok(plan) => runs.push((claim, plan)),
            Err(err) => {
                all_succeeded = false;
                eprintln!("error: execution {} cannot be resumed: {err}", claim.id);
                engine.release(claim).await;
            }
        }
    }
    if runs.is_empty() {
        eprintln!("no execution could be resumed");
        return Ok(ExitCode::FAILURE);
    }
    eprintln!(
        "resuming {} execution{} on {}:",
        runs.len(),
        if runs.len() == 1 { "" } else { "s" },
        opened.place
    );
    for (claim, plan) in &runs {
        eprintln!("  {} {}", claim.id, plan.workflow.name);
    }
    let single = runs.len() == 1;
    for result in run::follow_all(&engine, opened.store.clone(), runs).await {
        match result {
            Ok(record) if single => {
                let code = run::finish(&record)?;
                // One that could not be resumed still fails the command.
                return Ok(if all_succeeded {
                    code
                } else {
                    ExitCode::FAILURE
                });
            }
            Ok(record) => {
                all_succeeded &= record.state.is_success();
                // One line per execution on stdout, for scripts.
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
                eprintln!("error: {err:#}");
            }
        }
    }
    Ok(if all_succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
