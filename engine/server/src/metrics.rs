//! Prometheus metrics: executions by state, and by workflow and state
//! (counted by the store when scraped), step try durations by workflow and
//! outcome (a histogram fed by the changes this process writes), and the
//! queue depth.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;

use shutter_core::record::Timestamp;
use shutter_core::{Change, ExecutionId, ExecutionState, StepKey};

/// Upper bounds of the step duration buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0,
];

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// When each running try started.
    started: HashMap<(ExecutionId, StepKey), Timestamp>,
    /// The workflow of each execution this process runs.
    workflows: HashMap<ExecutionId, String>,
    /// Per workflow and outcome (`succeeded`, `failed`, `retrying`): bucket
    /// counts, sum, count.
    durations: HashMap<(String, &'static str), Histogram>,
}

#[derive(Debug, Default, Clone)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

impl Metrics {
    /// Notes that this process runs `id`, of `workflow`, from now on.
    pub(crate) fn running(&self, id: ExecutionId, workflow: &str) {
        self.lock().workflows.insert(id, workflow.to_owned());
    }

    /// Notes that this process no longer runs `id`.
    pub(crate) fn ended(&self, id: ExecutionId) {
        self.lock().workflows.remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes the tries that start and end in `changes`.
    pub(crate) fn observe(&self, id: ExecutionId, changes: &[Change]) {
        let mut inner = self.lock();
        for change in changes {
            match change {
                Change::AttemptStarted { key, at, .. } => {
                    inner.started.insert((id, key.clone()), *at);
                }
                Change::StepSucceeded { key, at, .. } => inner.finish(id, key, *at, "succeeded"),
                Change::StepFailed { key, at, .. } => inner.finish(id, key, *at, "failed"),
                Change::AttemptRetrying { key, at, .. } => inner.finish(id, key, *at, "retrying"),
                Change::StepCanceled { key, .. } | Change::AttemptInterrupted { key, .. } => {
                    inner.started.remove(&(id, key.clone()));
                }
                _ => {}
            }
        }
    }

    /// The exposition text, given the store's counts by workflow and
    /// state, and the workflows this server serves (the only ones given a
    /// `workflow` label: the label's values stay bounded).
    pub(crate) fn render(
        &self,
        by_workflow: &[(String, ExecutionState, u64)],
        workflows: &[String],
    ) -> String {
        let by_state = shutter_core::store::totals_by_state(by_workflow);
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP shutter_executions Executions in the store, by state.\n# TYPE shutter_executions gauge"
        );
        for state in ExecutionState::ALL {
            let count = count_in(&by_state, state);
            let _ = writeln!(
                out,
                "shutter_executions{{state=\"{}\"}} {count}",
                state.as_str()
            );
        }
        let _ = writeln!(
            out,
            "# HELP shutter_workflow_executions Executions in the store, by workflow (those this server serves) and state.\n# TYPE shutter_workflow_executions gauge"
        );
        for workflow in workflows {
            let label = escape_label(workflow);
            for state in ExecutionState::ALL {
                let count = by_workflow
                    .iter()
                    .find(|(w, s, _)| w == workflow && *s == state)
                    .map_or(0, |(_, _, count)| *count);
                let _ = writeln!(
                    out,
                    "shutter_workflow_executions{{workflow=\"{label}\",state=\"{}\"}} {count}",
                    state.as_str()
                );
            }
        }
        let queued = count_in(&by_state, ExecutionState::Queued);
        let _ = writeln!(
            out,
            "# HELP shutter_queue_depth Executions waiting to start.\n# TYPE shutter_queue_depth gauge\nshutter_queue_depth {queued}"
        );
        let inner = self.lock();
        let _ = writeln!(
            out,
            "# HELP shutter_steps_running Step tries running in this process.\n# TYPE shutter_steps_running gauge\nshutter_steps_running {}",
            inner.started.len()
        );
        let _ = writeln!(
            out,
            "# HELP shutter_step_duration_seconds Duration of step tries run by this process, by workflow (those this server serves; the others as \"\") and outcome.\n# TYPE shutter_step_duration_seconds histogram"
        );
        // Workflows not served (any more) share one series: the label's
        // values stay bounded.
        let mut series: std::collections::BTreeMap<(&str, &str), Histogram> =
            std::collections::BTreeMap::new();
        for ((workflow, outcome), histogram) in &inner.durations {
            let workflow = if workflows.contains(workflow) {
                workflow.as_str()
            } else {
                ""
            };
            series
                .entry((workflow, outcome))
                .or_default()
                .add(histogram);
        }
        for ((workflow, outcome), histogram) in series {
            let labels = format!(
                "workflow=\"{}\",outcome=\"{outcome}\"",
                escape_label(workflow)
            );
            let mut cumulative = 0;
            for (bound, count) in BUCKETS.iter().zip(histogram.buckets) {
                cumulative += count;
                let _ = writeln!(
                    out,
                    "shutter_step_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {cumulative}"
                );
            }
            let _ = writeln!(
                out,
                "shutter_step_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\nshutter_step_duration_seconds_sum{{{labels}}} {}\nshutter_step_duration_seconds_count{{{labels}}} {}",
                histogram.count, histogram.sum, histogram.count
            );
        }
        out
    }
}

/// How many executions are in `state`, by counts of executions by state
/// (a state absent from them has none). Shared with the console's counts.
pub(crate) fn count_in(counts: &[(ExecutionState, u64)], state: ExecutionState) -> u64 {
    counts
        .iter()
        .find(|(s, _)| *s == state)
        .map_or(0, |(_, count)| *count)
}

/// A label value as the exposition format writes it.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Histogram {
    fn add(&mut self, other: &Self) {
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.sum += other.sum;
        self.count += other.count;
    }
}

impl Inner {
    fn finish(&mut self, id: ExecutionId, key: &StepKey, at: Timestamp, outcome: &'static str) {
        let Some(started) = self.started.remove(&(id, key.clone())) else {
            return;
        };
        let seconds = (at - started).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6;
        let workflow = self.workflows.get(&id).cloned().unwrap_or_default();
        let histogram = self.durations.entry((workflow, outcome)).or_default();
        if let Some(slot) = BUCKETS.iter().position(|bound| seconds <= *bound) {
            histogram.buckets[slot] += 1;
        }
        histogram.sum += seconds;
        histogram.count += 1;
    }
}
