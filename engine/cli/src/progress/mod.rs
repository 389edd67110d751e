//! Live progress of an execution, read from its event log: on a terminal a
//! board of every step redrawn in place (`board.rs`), otherwise a plain line
//! per event; then, either way, a summary (`summary.rs`).

mod board;
mod summary;
mod term;

use std::io::Write as _;
use std::time::Duration;

use shutter_core::{Change, ExecutionId, Page, Store};
use tokio_util::sync::CancellationToken;

use board::Board;
use term::Term;

/// What is followed: the workflow's name and its steps in their order (the
/// board shows them before they start).
#[derive(Debug, Clone)]
pub(crate) struct Followed {
    pub(crate) id: ExecutionId,
    pub(crate) workflow: String,
    pub(crate) steps: Vec<String>,
    /// What leads each plain line and the summary when several executions
    /// are followed at once (`shutter resume`): see [`labels`].
    pub(crate) label: Option<String>,
}

/// Follows the event log until `done` is canceled, then prints what is
/// left and the summary.
pub(crate) async fn follow(
    store: &dyn Store,
    followed: Followed,
    tty: bool,
    done: CancellationToken,
) {
    let term = Term {
        color: tty && Term::stderr().color,
        ..Term::stderr()
    };
    let mut view: Box<dyn View> = if tty {
        Box::new(Live {
            board: Board::new(&followed.workflow, &followed.steps, term),
        })
    } else {
        Box::new(Lines {
            label: followed.label.clone(),
        })
    };
    let mut after = 0;
    loop {
        let finished = done.is_cancelled();
        while let Ok(events) = store.events(followed.id, Page::new(after, 1000)).await {
            let Some(last) = events.last() else {
                break;
            };
            after = last.seq;
            for event in events {
                view.show(&event.change);
            }
        }
        view.tick();
        if finished {
            if let Ok(Some(snapshot)) = store.snapshot(followed.id).await {
                let summary = summary::summary(&snapshot, &term);
                match &followed.label {
                    Some(label) => eprint!("{label} {} {summary}", followed.workflow),
                    None => eprint!("{summary}"),
                }
            }
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
    /// Time passed (a running step's clock moves).
    fn tick(&mut self) {}
}

/// One line per event, for logs and pipes.
struct Lines {
    /// What leads each line when several executions are followed.
    label: Option<String>,
}

impl View for Lines {
    fn show(&mut self, change: &Change) {
        if let Some(line) = describe(change) {
            match &self.label {
                Some(label) => eprintln!("{label} {line}"),
                None => eprintln!("{line}"),
            }
        }
    }
}

/// Each execution's label, `[PREFIX]`: the shortest start of its id, at
/// least 8 characters, that no other of `ids` shares (ids are UUIDv7,
/// whose first characters are their time: executions started together
/// share them). `shutter executions show PREFIX` finds it.
pub(crate) fn labels(ids: &[ExecutionId]) -> Vec<String> {
    let texts: Vec<String> = ids.iter().map(ToString::to_string).collect();
    texts
        .iter()
        .enumerate()
        .map(|(n, text)| {
            let shared = texts
                .iter()
                .enumerate()
                .filter(|(m, _)| *m != n)
                .map(|(_, other)| common_prefix(text, other))
                .max()
                .unwrap_or(0);
            let len = (shared + 1).max(8).min(text.len());
            format!("[{}]", &text[..len])
        })
        .collect()
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

/// The board, on a terminal.
struct Live {
    board: Board,
}

impl View for Live {
    fn show(&mut self, change: &Change) {
        let mut out = String::new();
        self.board.apply(change, &mut out);
        write_out(&out);
    }

    fn tick(&mut self) {
        let mut out = String::new();
        self.board.draw(chrono::Utc::now(), &mut out);
        write_out(&out);
    }
}

/// One write for a whole redraw, so the terminal never shows half of one.
fn write_out(text: &str) {
    if text.is_empty() {
        return;
    }
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
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
        // Shown in `executions show --json` and the console, not as progress.
        Change::AttemptParams { .. } => return None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_the_shortest_unique_starts_of_at_least_8() {
        let ids: Vec<ExecutionId> = [
            "0193a1b2-c3d4-7e5f-8a6b-000000000001",
            "0193a1b2-c3d4-7e5f-8a6b-000000000002",
            "0193ffff-c3d4-7e5f-8a6b-000000000003",
        ]
        .iter()
        .map(|text| text.parse().expect("an id"))
        .collect();
        let shown = labels(&ids);
        assert_eq!(shown[0], "[0193a1b2-c3d4-7e5f-8a6b-000000000001]");
        assert_eq!(shown[1], "[0193a1b2-c3d4-7e5f-8a6b-000000000002]");
        assert_eq!(shown[2], "[0193ffff]");
        assert_eq!(labels(&ids[2..]), vec!["[0193ffff]".to_owned()]);
    }
}
