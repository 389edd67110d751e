//! `shutter run --plan FILE`: what a run would do, without doing it.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use serde_json::{Map, Value as Json};
use shutter_core::Effect;
use shutter_dsl::Source;
use shutter_runtime::{Call, DryRun, Forecast, StepPlan};
use shutter_store::Durability;

use crate::commands::run::unless_inputs_refused;
use crate::db::{self, DbArgs, EngineArgs};

/// Longest output shown per step in text; `--json` shows all of it.
const OUTPUTS_SHOWN: usize = 300;

pub(crate) async fn show(
    source: Source,
    file: &Path,
    inputs: impl FnOnce(&shutter_dsl::Workflow) -> anyhow::Result<Map<String, Json>>,
    db: &DbArgs,
    engine: &EngineArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let Some(plan) = crate::commands::run::prepare(&source, Some(file)).await? else {
        return Ok(ExitCode::FAILURE);
    };
    let inputs = inputs(&plan.workflow)?;
    // The store is read for the backup catalog (what a retention step
    // would prune); nothing is written to it.
    let opened = db::open(db, Durability::Normal).await?;
    let engine = db::engine(opened.store.clone(), engine.config()?)?;
    let path = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_owned());
    let planned = engine
        .dry_run(&plan, &inputs, Some(&path.display().to_string()))
        .await;
    let Some(dry) = unless_inputs_refused(planned, "planning the run")? else {
        return Ok(ExitCode::FAILURE);
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&dry)?);
    } else {
        print!("{}", render(&dry));
    }
    let failed = dry.problem.is_some()
        || dry
            .steps
            .values()
            .any(|step| step.forecast == Forecast::Failed);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A plan as text: one block per step, its calls and what a run would
/// send, what the read steps found.
pub(crate) fn render(dry: &DryRun) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "plan of {} ({}): {} write{} would run, {} read{} ran; nothing was changed",
        dry.workflow,
        &dry.plan_hash[..12.min(dry.plan_hash.len())],
        dry.writes,
        plural(dry.writes),
        dry.reads,
        plural(dry.reads),
    );
    if let Some(problem) = &dry.problem {
        let _ = writeln!(out, "a run would fail before its first step: {problem}");
    }
    let width = dry.steps.keys().map(String::len).max().unwrap_or(0);
    for (id, step) in &dry.steps {
        let _ = writeln!(
            out,
            "\n{} {id:width$}  {}  {}",
            mark(step.forecast),
            step.action,
            headline(step)
        );
        if let Some(condition) = &step.condition {
            let _ = writeln!(out, "    if {condition}");
        }
        if let Some(for_each) = &step.for_each {
            let _ = writeln!(out, "    for each item of {for_each}");
        }
        let numbered = step.items.is_some();
        for (index, call) in step.calls.iter().enumerate() {
            call_lines(&mut out, call, numbered.then_some(index));
        }
    }
    out
}

fn headline(step: &StepPlan) -> String {
    let mut text = match step.forecast {
        Forecast::Ran => "ran (reads only)".to_owned(),
        Forecast::WouldRun if step.effect == Effect::Write => "WOULD RUN".to_owned(),
        Forecast::WouldRun => "would run (reads only; needs what the run makes)".to_owned(),
        Forecast::Skipped => "would be skipped".to_owned(),
        Forecast::Failed => "FAILS".to_owned(),
        Forecast::NotReached => "would not start".to_owned(),
    };
    if let Some(items) = step.items {
        let _ = write!(text, " for {items} item{}", plural(items));
    }
    if step.after_writes && step.forecast == Forecast::Ran {
        text.push_str(", before the writes it follows");
    }
    if let Some(reason) = &step.reason {
        let _ = write!(text, ": {reason}");
    }
    text
}

fn call_lines(out: &mut String, call: &Call, index: Option<usize>) {
    let indent = if let Some(index) = index {
        let item = call
            .item
            .as_ref()
            .map(|item| format!(" {}", compact(item, 120)))
            .unwrap_or_default();
        let _ = writeln!(out, "    [{index}]{item}");
        "        "
    } else {
        "    "
    };
    for (name, value) in &call.params {
        let later = if call.at_run_time.contains(name) {
            "  (known at run time)"
        } else {
            ""
        };
        let _ = writeln!(out, "{indent}{name}: {}{later}", compact(value, usize::MAX));
    }
    for line in &call.logs {
        let _ = writeln!(out, "{indent}log: {line}");
    }
    if let Some(outputs) = &call.outputs {
        let _ = writeln!(out, "{indent}=> {}", compact(outputs, OUTPUTS_SHOWN));
    }
    if let Some(error) = &call.error {
        let _ = writeln!(out, "{indent}error: {error}");
    }
}

/// JSON on one line, cut to `limit` characters.
fn compact(value: &Json, limit: usize) -> String {
    let text = match value {
        Json::String(text) if text.starts_with("${{") => text.clone(),
        other => other.to_string(),
    };
    if text.chars().count() <= limit {
        return text;
    }
    let cut: String = text.chars().take(limit).collect();
    format!("{cut}... ({} bytes; --json shows all)", text.len())
}

fn mark(forecast: Forecast) -> &'static str {
    match forecast {
        Forecast::Ran => "✓",
        Forecast::WouldRun => "▶",
        Forecast::Skipped => "-",
        Forecast::Failed => "✗",
        Forecast::NotReached => "·",
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}
