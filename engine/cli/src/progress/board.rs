//! The live view on a terminal: a board of every step, redrawn in place
//! (never scrolled), every state visible at a glance — an icon and a word,
//! coloured when colour is wanted — each line cut to the terminal's width,
//! a `for_each` step as one line with its items done out of all and the
//! ones running named, a retrying step with when its next try comes, and
//! a header with the count of steps ended and the time so far. Log lines
//! scroll above it. At the end the board stays as it last was, followed by
//! a summary (see `summary.rs`).
//!
//! Drawing is plain ANSI: the cursor goes back up over the last board
//! (`ESC[nA`), each line is cleared (`ESC[2K`) and written again, and
//! what is below is cleared (`ESC[J`). Nothing else, so a test can replay
//! it into a screen (`tests/live.rs`).

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use indexmap::IndexMap;
use shutter_core::{Change, StepKey, StepState as State};

use super::term::{Paint, Term};

/// One step's line.
#[derive(Debug, Clone)]
struct Row {
    state: State,
    /// The word after the state: the error, the pool waited for, a reason.
    note: String,
    tries: u32,
    started: Option<DateTime<Utc>>,
    ended: Option<DateTime<Utc>>,
    next_try: Option<DateTime<Utc>>,
    progress: Option<(u8, String)>,
    /// A `for_each` step's items, once expanded.
    items: Option<Items>,
}

impl Default for Row {
    fn default() -> Self {
        Self {
            state: State::Pending,
            note: String::new(),
            tries: 0,
            started: None,
            ended: None,
            next_try: None,
            progress: None,
            items: None,
        }
    }
}

/// How a state is drawn: an icon beside its word (`StepState::as_str`),
/// and a colour.
fn icon(state: State) -> &'static str {
    match state {
        State::Pending => "○",
        State::Waiting => "⏸",
        State::Running => "▶",
        State::Retrying => "↻",
        State::Succeeded => "✓",
        State::Failed => "✗",
        State::Skipped => "↷",
        State::Canceled => "⊘",
        State::Compensated => "↺",
    }
}

fn paint(state: State) -> Paint {
    match state {
        State::Pending | State::Skipped => Paint::Dim,
        State::Waiting | State::Retrying => Paint::Yellow,
        State::Running => Paint::Blue,
        State::Succeeded => Paint::Green,
        State::Failed => Paint::Red,
        State::Canceled | State::Compensated => Paint::Magenta,
    }
}

/// A `for_each` step's items: how many, which ended how, which run.
#[derive(Debug, Clone, Default)]
struct Items {
    labels: Vec<String>,
    succeeded: usize,
    failed: usize,
    other_ended: usize,
    running: BTreeSet<usize>,
    states: HashMap<usize, State>,
}

/// The board: the workflow's steps in their order, and what is known of each.
#[derive(Debug)]
pub(crate) struct Board {
    workflow: String,
    rows: IndexMap<String, Row>,
    started: Option<DateTime<Utc>>,
    ended: Option<(String, DateTime<Utc>)>,
    term: Term,
    /// Lines the last drawing took (to go back over them).
    drawn: usize,
}

impl Board {
    pub(crate) fn new(workflow: &str, steps: &[String], term: Term) -> Self {
        Self {
            workflow: workflow.to_owned(),
            rows: steps
                .iter()
                .map(|step| (step.clone(), Row::default()))
                .collect(),
            started: None,
            ended: None,
            term,
            drawn: 0,
        }
    }

    /// Takes one change in; a log line is printed above the board at once.
    pub(crate) fn apply(&mut self, change: &Change, out: &mut String) {
        match change {
            Change::ExecutionStarted { at } => self.started = Some(self.started.unwrap_or(*at)),
            Change::ExecutionFinished { state, at, .. } => {
                self.ended = Some((state.as_str().to_owned(), *at));
            }
            Change::ExecutionRetried { .. } => self.ended = None,
            Change::Log {
                key, message, at, ..
            } => {
                self.clear(out);
                let line = format!("{} {key}: {message}", at.format("%H:%M:%S"));
                let _ = writeln!(out, "{}", self.term.fit(&line));
            }
            Change::StepExpanded { key, items, .. } => {
                self.row(key).items = Some(Items {
                    labels: items.iter().map(label).collect(),
                    ..Items::default()
                });
            }
            _ => {
                if let Some(key) = change.step() {
                    let key = key.clone();
                    self.step_change(&key, change);
                }
            }
        }
    }

    fn row(&mut self, key: &StepKey) -> &mut Row {
        self.rows.entry(key.step.clone()).or_default()
    }

    /// A change of a step, or of one item of a `for_each` step (counted on
    /// its step's line).
    fn step_change(&mut self, key: &StepKey, change: &Change) {
        let Some(item) = key.item else {
            update(self.row(key), change);
            return;
        };
        let row = self.row(key);
        let after = {
            let items = row.items.get_or_insert_with(Items::default);
            let before = items.states.get(&item).copied().unwrap_or(State::Pending);
            let mut scratch = Row {
                state: before,
                ..Row::default()
            };
            update(&mut scratch, change);
            let after = scratch.state;
            if before.is_terminal() {
                count(items, before, false);
            }
            if after.is_terminal() {
                count(items, after, true);
            }
            if matches!(after, State::Running | State::Retrying | State::Waiting) {
                items.running.insert(item);
            } else {
                items.running.remove(&item);
            }
            items.states.insert(item, after);
            after
        };
        if let Change::AttemptStarted { at, .. } = change
            && row.started.is_none()
        {
            row.started = Some(*at);
        }
        // The step's own line runs while an item runs (its own end is its
        // own change).
        if !row.state.is_terminal() && after == State::Running {
            row.state = State::Running;
        }
    }

    /// Redraws the board in place.
    pub(crate) fn draw(&mut self, now: DateTime<Utc>, out: &mut String) {
        let lines = self.lines(now);
        self.clear(out);
        for line in &lines {
            let _ = writeln!(out, "{line}");
        }
        self.drawn = lines.len();
    }

    /// Goes back over the last board and clears it.
    fn clear(&mut self, out: &mut String) {
        if self.drawn > 0 {
            let _ = write!(out, "\x1b[{}A\r\x1b[J", self.drawn);
            self.drawn = 0;
        }
    }

    /// The header and one line per step, as many as the terminal has room
    /// for: with too many steps, those not pending and not succeeded come
    /// first, and a last line counts the rest.
    fn lines(&self, now: DateTime<Utc>) -> Vec<String> {
        let term = &self.term;
        let ended = self.rows.values().filter(|r| r.state.is_terminal()).count();
        let elapsed = self.started.map_or_else(String::new, |start| {
            let end = self.ended.as_ref().map_or(now, |(_, at)| *at);
            format!(" · {}", clock_span(start, end))
        });
        let state = self.ended.as_ref().map_or("running", |(state, _)| state);
        let header = format!(
            "{} {} · {ended}/{} steps ended{elapsed}",
            term.paint(Paint::Bold, &self.workflow),
            state.replace('_', " "),
            self.rows.len(),
        );
        let mut lines = vec![term.fit(&header)];
        let width = self
            .rows
            .keys()
            .map(|k| k.chars().count())
            .max()
            .unwrap_or(0)
            .min(24);
        let room = term.rows.saturating_sub(3).max(4);
        let shown: Vec<(&String, &Row)> = if self.rows.len() <= room {
            self.rows.iter().collect()
        } else {
            let mut notable: Vec<(&String, &Row)> = self
                .rows
                .iter()
                .filter(|(_, r)| !matches!(r.state, State::Pending | State::Succeeded))
                .collect();
            notable.truncate(room.saturating_sub(1));
            notable
        };
        for (step, row) in &shown {
            let line = format!(
                "  {} {:<width$} {}",
                term.paint(paint(row.state), icon(row.state)),
                step,
                describe(row, now),
            );
            lines.push(term.fit(&line));
        }
        if shown.len() < self.rows.len() {
            let succeeded = self
                .rows
                .values()
                .filter(|r| r.state == State::Succeeded)
                .count();
            let pending = self
                .rows
                .values()
                .filter(|r| r.state == State::Pending)
                .count();
            lines.push(term.fit(&format!(
                "  … {} more: {succeeded} succeeded, {pending} pending",
                self.rows.len() - shown.len()
            )));
        }
        lines
    }
}

/// A step's row after `change`.
fn update(row: &mut Row, change: &Change) {
    match change {
        Change::StepWaiting { pool, .. } => {
            row.state = State::Waiting;
            row.note = format!("for a slot of `{pool}`");
        }
        Change::AttemptStarted { attempt, at, .. } => {
            row.state = State::Running;
            row.tries = *attempt;
            row.started = Some(row.started.unwrap_or(*at));
            row.next_try = None;
            row.note.clear();
        }
        Change::AttemptRetrying {
            attempt,
            error,
            next_at,
            ..
        } => {
            row.state = State::Retrying;
            row.tries = *attempt;
            row.next_try = Some(*next_at);
            row.note = error.clone();
        }
        Change::Progress {
            percent, message, ..
        } => row.progress = Some((*percent, message.clone())),
        Change::TimerSet { fires_at, .. } => {
            row.note = format!("sleeping until {}", fires_at.format("%H:%M:%S"));
        }
        Change::StepSucceeded { at, .. } => finish(row, State::Succeeded, String::new(), *at),
        Change::StepFailed { error, at, .. } => finish(row, State::Failed, error.clone(), *at),
        Change::StepSkipped { reason, at, .. } => finish(row, State::Skipped, reason.clone(), *at),
        Change::StepCanceled { reason, at, .. } => {
            finish(row, State::Canceled, reason.clone(), *at);
        }
        Change::StepCompensated { at, .. } => finish(row, State::Compensated, String::new(), *at),
        Change::CompensationFailed { error, .. } => {
            row.note = format!("compensation failed: {error}");
        }
        Change::StepReset { .. } => *row = Row::default(),
        _ => {}
    }
}

fn finish(row: &mut Row, state: State, note: String, at: DateTime<Utc>) {
    row.state = state;
    row.note = note;
    row.ended = Some(at);
    row.next_try = None;
    row.progress = None;
}

fn count(items: &mut Items, state: State, add: bool) {
    let slot = match state {
        State::Succeeded => &mut items.succeeded,
        State::Failed => &mut items.failed,
        _ => &mut items.other_ended,
    };
    if add {
        *slot += 1;
    } else {
        *slot = slot.saturating_sub(1);
    }
}

/// What follows a step's name: its state in words and what matters now.
fn describe(row: &Row, now: DateTime<Utc>) -> String {
    let mut text = row.state.as_str().to_owned();
    match row.state {
        State::Running => {
            if row.tries > 1 {
                let _ = write!(text, " (try {})", row.tries);
            }
            if let Some(start) = row.started {
                let _ = write!(text, " {}", clock_span(start, now));
            }
            if let Some((percent, message)) = &row.progress {
                let _ = write!(text, " · {percent}% {message}");
            }
        }
        State::Retrying => {
            let _ = write!(text, " after try {}", row.tries);
            if let Some(next) = row.next_try {
                let wait = next.signed_duration_since(now).num_seconds().max(0);
                let _ = write!(text, " · next at {} (in {wait}s)", next.format("%H:%M:%S"));
            }
        }
        State::Succeeded | State::Failed | State::Compensated | State::Canceled => {
            if let (Some(start), Some(end)) = (row.started, row.ended) {
                let _ = write!(text, " in {}", clock_span(start, end));
            }
        }
        State::Pending | State::Waiting | State::Skipped => {}
    }
    if let Some(items) = &row.items {
        let total = items.labels.len().max(items.states.len());
        let done = items.succeeded + items.failed + items.other_ended;
        let _ = write!(text, " · {done}/{total} items");
        if items.failed > 0 {
            let _ = write!(text, ", {} failed", items.failed);
        }
        if !items.running.is_empty() {
            let now: Vec<&str> = items
                .running
                .iter()
                .take(3)
                .map(|i| items.labels.get(*i).map_or("?", String::as_str))
                .collect();
            let more = items.running.len().saturating_sub(now.len());
            let _ = write!(text, " · now: {}", now.join(", "));
            if more > 0 {
                let _ = write!(text, " +{more}");
            }
        }
    }
    if !row.note.is_empty() {
        let _ = write!(text, ": {}", one_line(&row.note));
    }
    text
}

/// An item as a short label: a string as it is, else its JSON.
fn label(item: &serde_json::Value) -> String {
    let text = match item {
        serde_json::Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    one_line(&text).chars().take(24).collect()
}

/// A message on one line (a multi-line error would break the board).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `4.2s`, `1:05`, `1:02:03`.
pub(crate) fn clock_span(start: DateTime<Utc>, end: DateTime<Utc>) -> String {
    let millis = end.signed_duration_since(start).num_milliseconds().max(0);
    let seconds = millis / 1000;
    if seconds < 60 {
        format!("{}.{}s", seconds, (millis % 1000) / 100)
    } else if seconds < 3600 {
        format!("{}:{:02}", seconds / 60, seconds % 60)
    } else {
        format!(
            "{}:{:02}:{:02}",
            seconds / 3600,
            (seconds / 60) % 60,
            seconds % 60
        )
    }
}
