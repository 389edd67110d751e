//! Live progress of an execution, read from its event log: a line per step
//! with spinners on a terminal, a plain line per event otherwise.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use shutter_core::{Change, ExecutionId, Page, Store};
use tokio_util::sync::CancellationToken;

/// Follows the event log until `done` is canceled, then prints what is left.
pub(crate) async fn follow(store: &dyn Store, id: ExecutionId, tty: bool, done: CancellationToken) {
    let mut view: Box<dyn View> = if tty {
        Box::new(Bars::new())
    } else {
        Box::new(Lines)
    };
    let mut after = 0;
    loop {
        let finished = done.is_cancelled();
        while let Ok(events) = store.events(id, Page::new(after, 1000)).await {
            let Some(last) = events.last() else {
                break;
            };
            after = last.seq;
            for event in events {
                view.show(&event.change);
            }
        }
        if finished {
            view.finish();
            return;
        }
        tokio::select! {
            () = done.cancelled() => {}
            () = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

trait View: Send {
    fn show(&mut self, change: &Change);
    fn finish(&mut self) {}
}

/// One line per event, for logs and pipes.
struct Lines;

impl View for Lines {
    fn show(&mut self, change: &Change) {
        if let Some(line) = describe(change) {
            eprintln!("{line}");
        }
    }
}

/// A spinner per step on a terminal.
struct Bars {
    multi: MultiProgress,
    bars: HashMap<String, ProgressBar>,
}

impl Bars {
    fn new() -> Self {
        Self {
            multi: MultiProgress::new(),
            bars: HashMap::new(),
        }
    }

    fn bar(&mut self, step: &str) -> &ProgressBar {
        let multi = &self.multi;
        self.bars.entry(step.to_owned()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:20} {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(step.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        })
    }
}

impl View for Bars {
    fn show(&mut self, change: &Change) {
        let Some(key) = change.step() else {
            return;
        };
        let step = key.to_string();
        let bar = self.bar(&step).clone();
        match change {
            Change::StepWaiting { pool, .. } => {
                bar.set_message(format!("waiting for a slot of `{pool}`"));
            }
            Change::AttemptStarted { attempt, .. } => {
                bar.set_message(format!("running (try {attempt})"));
            }
            Change::AttemptRetrying { attempt, error, .. } => {
                bar.set_message(format!("retrying after try {attempt}: {error}"));
            }
            Change::Progress {
                percent, message, ..
            } => bar.set_message(format!("{percent}% {message}")),
            Change::TimerSet { fires_at, .. } => {
                bar.set_message(format!("waiting until {}", fires_at.format("%H:%M:%S")));
            }
            Change::StepSucceeded { .. } => bar.finish_with_message("succeeded"),
            Change::StepFailed { error, .. } => bar.finish_with_message(format!("failed: {error}")),
            Change::StepSkipped { reason, .. } => {
                bar.finish_with_message(format!("skipped: {reason}"));
            }
            Change::StepCanceled { reason, .. } => {
                bar.finish_with_message(format!("canceled: {reason}"));
            }
            Change::StepCompensated { .. } => bar.finish_with_message("compensated"),
            Change::CompensationFailed { error, .. } => {
                bar.finish_with_message(format!("compensation failed: {error}"));
            }
            Change::Log { message, .. } => {
                let _ = self.multi.println(format!("  {step}: {message}"));
            }
            _ => {}
        }
    }

    fn finish(&mut self) {
        for bar in self.bars.values() {
            if !bar.is_finished() {
                bar.finish();
            }
        }
    }
}

/// The plain-text line for an event.
fn describe(change: &Change) -> Option<String> {
    let line = match change {
        Change::ExecutionStarted { at } => format!("{} execution started", clock(at)),
        Change::ExecutionFinished {
            state, error, at, ..
        } => match error {
            Some(error) => format!("{} execution {state}: {error}", clock(at)),
            None => format!("{} execution {state}", clock(at)),
        },
        Change::StepExpanded { key, items, at } => {
            format!("{} {key}: {} items", clock(at), items.len())
        }
        Change::StepWaiting { key, pool, at } => {
            format!("{} {key}: waiting for a slot of `{pool}`", clock(at))
        }
        Change::AttemptStarted { key, attempt, at } => {
            format!("{} {key}: running (try {attempt})", clock(at))
        }
        Change::AttemptInterrupted { key, attempt, at } => format!(
            "{} {key}: try {attempt} was interrupted; running it again",
            clock(at)
        ),
        Change::AttemptRetrying {
            key,
            attempt,
            error,
            next_at,
            at,
        } => {
            format!(
                "{} {key}: try {attempt} failed: {error}; next try at {}",
                clock(at),
                clock(next_at)
            )
        }
        Change::StepSucceeded { key, at, .. } => format!("{} {key}: succeeded", clock(at)),
        Change::StepFailed { key, error, at, .. } => {
            format!("{} {key}: failed: {error}", clock(at))
        }
        Change::StepSkipped { key, reason, at } => {
            format!("{} {key}: skipped: {reason}", clock(at))
        }
        Change::StepCanceled { key, reason, at } => {
            format!("{} {key}: canceled: {reason}", clock(at))
        }
        Change::StepCompensated { key, at } => format!("{} {key}: compensated", clock(at)),
        Change::StepReset { key, at } => format!("{} {key}: runs again", clock(at)),
        Change::ExecutionRetried { at } => format!("{} execution retried", clock(at)),
        Change::NotifyQueued { notice: n } => {
            format!("{} notifying {} of {}", clock(&n.at), n.target, n.event)
        }
        Change::Notified { notification: n } => {
            let how = if n.delivery.delivered {
                "delivered".to_owned()
            } else {
                format!(
                    "not delivered: {}",
                    n.delivery.error.as_deref().unwrap_or("no answer")
                )
            };
            let tries = n.delivery.tries;
            format!(
                "{} notified {} of {}: {how} ({tries} tr{})",
                clock(&n.at),
                n.target,
                n.event,
                if tries == 1 { "y" } else { "ies" }
            )
        }
        Change::CompensationFailed { key, error, at } => {
            format!("{} {key}: compensation failed: {error}", clock(at))
        }
        Change::TimerSet { key, fires_at, at } => {
            format!("{} {key}: waiting until {}", clock(at), clock(fires_at))
        }
        Change::Log {
            key, message, at, ..
        } => format!("{} {key}: {message}", clock(at)),
        Change::Progress {
            key,
            percent,
            message,
            at,
        } => format!("{} {key}: {percent}% {message}", clock(at)),
        Change::BackupRecorded { key, backup, at } => format!(
            "{} {key}: cataloged {} {} in {}",
            clock(at),
            backup.kind.as_str(),
            backup.native_id,
            backup.location.key()
        ),
        Change::BackupsCounted { key, census, at } => format!(
            "{} {key}: found {} backups in {}",
            clock(at),
            census.found.len(),
            census.location.key()
        ),
        Change::BackupMarked {
            key,
            backup,
            state,
            at,
        } => format!(
            "{} {key}: {backup} is {} in the catalog",
            clock(at),
            state.as_str()
        ),
        Change::BackupTested {
            key,
            backup,
            passed,
            detail,
            at,
        } => format!(
            "{} {key}: restore test of {backup} {}: {detail}",
            clock(at),
            if *passed { "passed" } else { "failed" }
        ),
    };
    Some(line)
}

fn clock(at: &shutter_core::record::Timestamp) -> String {
    at.format("%H:%M:%S%.3f").to_string()
}
