//! Stage three: an [`Answer`] printed, as JSON (what the store or the
//! server holds, unchanged) or for people. The embedded store's records go
//! through the server's view types, so both print the same way.

use std::process::ExitCode;

use shutter_server::views::{ExecutionDetail, ExecutionSummary};

use super::task::{Answer, exit_for};

pub(super) fn answer(answer: &Answer, json: bool) -> anyhow::Result<ExitCode> {
    match answer {
        Answer::Records(records) if json => println!("{}", serde_json::to_string_pretty(records)?),
        Answer::Records(records) => {
            let summaries: Vec<ExecutionSummary> = records.iter().map(Into::into).collect();
            print_table(&summaries);
        }
        Answer::Page(page) if json => println!("{}", serde_json::to_string_pretty(&page.items)?),
        Answer::Page(page) => print_table(&page.items),
        Answer::Snapshot(snapshot) if json => {
            println!("{}", serde_json::to_string_pretty(snapshot)?);
        }
        Answer::Snapshot(snapshot) => {
            print_detail(&ExecutionDetail::from(snapshot.as_ref()), false)?;
        }
        Answer::Detail(detail) => print_detail(detail, json)?,
        Answer::Ended(detail) => {
            print_detail(detail, json)?;
            return Ok(exit_for(detail));
        }
        Answer::Printed => {}
        Answer::CancelRequested(id) => println!("cancel requested for {id}"),
        Answer::Retried(id) => println!("{id} runs again"),
        Answer::Checked { path, problems } if problems.is_empty() => {
            println!("ok: {}", path.display());
        }
        Answer::Checked { path, problems } => {
            for problem in problems {
                eprintln!("{problem}");
            }
            eprintln!(
                "error: {} is damaged ({} problem(s))",
                path.display(),
                problems.len()
            );
            return Ok(ExitCode::FAILURE);
        }
        Answer::Pruned { removed, before } => println!(
            "removed {removed} executions finished before {}",
            before.format("%Y-%m-%d %H:%M:%S")
        ),
    }
    Ok(ExitCode::SUCCESS)
}

/// Executions as a table under a header, columns as wide as their
/// widest value: the same whether they came from the store or a server.
fn print_table(summaries: &[ExecutionSummary]) {
    if summaries.is_empty() {
        eprintln!("no execution");
        return;
    }
    let header = ["ID", "STATE", "WORKFLOW", "CREATED (UTC)", "DURATION"];
    let rows: Vec<Vec<String>> = summaries.iter().map(row).collect();
    // The last column (a duration) is short: nothing to cut.
    print!("{}", crate::table::table(&header, &rows, None));
}

/// One execution's cells: id, state, workflow, when it was created and
/// how long it ran (`-` until it has ended).
fn row(summary: &ExecutionSummary) -> Vec<String> {
    let took = match (summary.started_at, summary.finished_at) {
        (Some(start), Some(end)) => format!("{:.1}s", (end - start).as_seconds_f64()),
        _ => "-".to_owned(),
    };
    vec![
        summary.id.clone(),
        summary.state.clone(),
        summary.workflow.clone(),
        summary.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        took,
    ]
}

/// An execution with its steps, one line each.
pub(crate) fn print_detail(detail: &ExecutionDetail, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(detail)?);
        return Ok(());
    }
    let e = &detail.execution;
    println!("execution {}  {}  {}", e.id, e.workflow, e.state);
    println!("inputs:  {}", e.inputs);
    if let Some(outputs) = &e.outputs {
        println!("outputs: {outputs}");
    }
    if let Some(error) = &e.error {
        println!("error:   {error}");
    }
    for step in &detail.steps {
        println!(
            "  {:24} {:12} tries {}  {}",
            step.key,
            step.state,
            step.attempts.len(),
            step.error.as_deref().unwrap_or_default()
        );
    }
    for n in &detail.notifications {
        let how = if n.delivered {
            "delivered"
        } else {
            "NOT delivered"
        };
        let step = n
            .step
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        println!(
            "  notified {} of {}{step}: {how}, tries {}{}",
            n.target,
            n.event,
            n.tries,
            n.error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
    }
    for n in &detail.pending_notifications {
        let step = n
            .step
            .as_deref()
            .map(|s| format!(" ({s})"))
            .unwrap_or_default();
        println!("  notifying {} of {}{step}: pending", n.target, n.event);
    }
    Ok(())
}
