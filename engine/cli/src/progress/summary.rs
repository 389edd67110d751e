//! The last words of a run, after the live view: how the execution ended,
//! how long it took, how many steps ended how, and each failed step with
//! its error (whole, wrapped by the terminal: this is the place to read
//! it).

use std::fmt::Write as _;

use shutter_core::{ExecutionSnapshot, StepState};

use super::board::clock_span;
use super::term::{Paint, Term};

pub(crate) fn summary(snapshot: &ExecutionSnapshot, term: &Term) -> String {
    let record = &snapshot.execution;
    let state = record.state.as_str().replace('_', " ");
    let paint = if record.state.is_success() {
        Paint::Green
    } else {
        Paint::Red
    };
    let mut out = format!("execution {}", term.paint(paint, &state));
    if let (Some(start), Some(end)) = (record.started_at, record.finished_at) {
        let _ = write!(out, " in {}", clock_span(start, end));
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    // Steps, not the items of a `for_each` (their step counts for them).
    for step in snapshot.steps.iter().filter(|s| s.key.item.is_none()) {
        let word = step.state.as_str();
        match counts.iter_mut().find(|(w, _)| *w == word) {
            Some((_, n)) => *n += 1,
            None => counts.push((word, 1)),
        }
    }
    if !counts.is_empty() {
        let counted: Vec<String> = counts.iter().map(|(w, n)| format!("{n} {w}")).collect();
        let _ = write!(out, ": {}", counted.join(", "));
    }
    out.push('\n');
    for step in snapshot
        .steps
        .iter()
        .filter(|s| matches!(s.state, StepState::Failed | StepState::Compensated))
    {
        let error = step.error.as_deref().unwrap_or("(no error recorded)");
        let _ = writeln!(
            out,
            "  {} {}: {error}",
            term.paint(Paint::Red, "✗"),
            step.key
        );
    }
    if let Some(error) = &record.error
        && !snapshot
            .steps
            .iter()
            .any(|s| s.error.as_deref() == Some(error))
    {
        let _ = writeln!(out, "  {error}");
    }
    out
}
