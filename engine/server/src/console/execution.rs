//! `GET /ui/executions/{id}`: one execution — its state, its graph, its
//! steps and what each returned or why it failed — with the buttons that
//! cancel or retry it. Steps are shown through the JSON API's own view
//! (`ExecutionDetail`, `StepView`): the same redacted records, so the
//! console can show nothing the API would not.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value as Json;
use shutter_core::ExecutionSnapshot;
use shutter_dsl::Plan;

use super::badge;
use super::escape::{escape, percent};
use super::graph;
use super::page::{self, Section};
use super::timeline;
use super::when;
use crate::error::ApiError;
use crate::extract::execution_id;
use crate::state::AppState;
use crate::views::{ExecutionDetail, StepView};

/// Most characters of one value (outputs, inputs, an error) shown; the
/// rest is cut, and the API has it whole.
const SHOWN_TEXT: usize = 64 << 10;
/// Most characters of an error in the steps table (its details have more).
const SHOWN_IN_TABLE: usize = 160;
/// Steps listed (row, panel, timeline lane) on the page of a larger
/// execution, unless every one is asked for (`?steps=all`): what keeps a
/// page of thousands of steps light. The graph always has every step.
const LISTED_STEPS: usize = 60;

/// The page's options.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Options {
    /// `all`: list every step, however many.
    steps: Option<String>,
}

impl Options {
    fn all(&self) -> bool {
        self.steps.as_deref() == Some("all")
    }
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(options): Query<Options>,
) -> Result<Response, ApiError> {
    let snapshot = snapshot_at(&state, &id).await?;
    let plan = plan_of(&state, &snapshot);
    let main = render(&snapshot, plan.as_deref(), options.all(), Utc::now());
    let title = format!("{} {}", snapshot.execution.workflow, snapshot.execution.id);
    Ok(page::respond(page::document(
        &title,
        Section::Executions,
        &main,
    )))
}

/// `GET /ui/executions/{id}/timeline`: the timeline alone, as the page
/// draws it (the same steps listed), for the script to swap in while the
/// execution runs: a few kilobytes instead of the whole page.
pub(crate) async fn timeline_part(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(options): Query<Options>,
) -> Result<Response, ApiError> {
    let detail = ExecutionDetail::from(&snapshot_at(&state, &id).await?);
    let listed = listed(&detail.steps, options.all());
    Ok(page::respond(timeline_chart(&listed, Utc::now())))
}

/// The execution a page's path names: 400 for a malformed id, 404 for one
/// the store does not hold.
async fn snapshot_at(state: &AppState, id: &str) -> Result<ExecutionSnapshot, ApiError> {
    state.execution(execution_id(id)?).await
}

/// The chart, or why there is none yet.
fn timeline_chart(listed: &[&StepView], now: DateTime<Utc>) -> String {
    timeline::svg(listed.iter().copied(), now)
        .unwrap_or_else(|| r#"<p class="muted">No step has started yet.</p>"#.to_owned())
}

/// The plan the execution runs: the served version with its hash, else its
/// own recorded YAML compiled again (a version no longer served). `None`
/// when that no longer compiles here: the page is shown without a graph.
fn plan_of(state: &AppState, snapshot: &ExecutionSnapshot) -> Option<Arc<Plan>> {
    let record = &snapshot.execution;
    let served = state
        .workflows()
        .versions(&record.workflow)
        .into_iter()
        .find(|version| version.plan.hash.as_str() == record.plan_hash);
    if let Some(version) = served {
        return Some(version.plan.clone());
    }
    match state.engine().plan_of(snapshot) {
        Ok(plan) => Some(plan),
        Err(err) => {
            tracing::warn!("execution {}: its graph cannot be drawn: {err}", record.id);
            None
        }
    }
}

fn render(
    snapshot: &ExecutionSnapshot,
    plan: Option<&Plan>,
    all: bool,
    now: DateTime<Utc>,
) -> String {
    let detail = ExecutionDetail::from(snapshot);
    let execution = &detail.execution;
    let state = execution.state.as_str();
    let listed = listed(&detail.steps, all);
    let partial = listed.len() < detail.steps.len();
    let mut out = String::with_capacity(8192 + 2048 * listed.len());
    let _ = write!(
        out,
        r#"<div class="execution" data-execution-id="{id}" data-state="{state}" data-version="{version}"{partial}>"#,
        id = escape(&execution.id),
        state = escape(state),
        version = execution.version,
        partial = if partial { r#" data-partial="1""# } else { "" },
    );
    header(&mut out, &detail, now);
    out.push_str(r#"<section aria-labelledby="graph-title"><h2 id="graph-title">Graph</h2>"#);
    match plan {
        Some(plan) => {
            // Focusable, so a keyboard can scroll a wide graph sideways.
            out.push_str(r#"<div class="graph" tabindex="0" role="region" aria-label="Graph (scrolls sideways)">"#);
            out.push_str(&graph::svg(plan, &snapshot.steps));
            out.push_str("</div>");
        }
        None => out.push_str(
            r#"<p class="muted">The graph cannot be drawn: this execution's workflow does not compile on this server any more. Its steps are below.</p>"#,
        ),
    }
    out.push_str("</section>\n");
    // The script swaps the box's content for `data-src` as the run goes on.
    let _ = write!(
        out,
        r#"<section aria-labelledby="timeline-title"><h2 id="timeline-title">Timeline</h2><div class="timeline-box" data-role="timeline" data-src="/ui/executions/{id}/timeline{all}">"#,
        id = percent(&execution.id),
        all = if all { "?steps=all" } else { "" },
    );
    out.push_str(&timeline_chart(&listed, now));
    out.push_str("</div></section>\n");
    steps_table(&mut out, &listed, detail.steps.len(), &execution.id, now);
    out.push_str(
        r#"<section aria-labelledby="details-title"><h2 id="details-title">Step details</h2>"#,
    );
    let ended = is_terminal(state);
    for step in &listed {
        step_details(&mut out, &execution.id, ended, step, now);
    }
    out.push_str("</section></div>\n");
    out
}

/// Title, state, times, error, buttons, inputs and outputs.
fn header(out: &mut String, detail: &ExecutionDetail, now: DateTime<Utc>) {
    let execution = &detail.execution;
    let state = execution.state.as_str();
    let ended = is_terminal(state);
    let retryable = matches!(state, "failed" | "canceled" | "succeeded_with_errors");
    let _ = write!(
        out,
        concat!(
            r#"<p class="crumbs"><a href="/ui/executions">Executions</a> › "#,
            r#"<a href="/ui/executions?workflow={workflow_q}">{workflow}</a></p>"#,
            r#"<h1><span class="workflow">{workflow}</span> <span data-role="execution-state">{badge}</span></h1>"#,
            r#"<dl class="facts">"#,
            r#"<div><dt>Execution</dt><dd><code>{id}</code></dd></div>"#,
            r#"<div><dt>Version</dt><dd><code title="{hash}">{hash_short}</code></dd></div>"#,
            r#"<div><dt>Created</dt><dd>{created}</dd></div>"#,
            r#"<div><dt>Started</dt><dd data-role="started">{started}</dd></div>"#,
            r#"<div><dt>Finished</dt><dd data-role="finished">{finished}</dd></div>"#,
            r#"<div><dt>Duration</dt><dd data-role="duration">{duration}</dd></div>"#,
            "</dl>"
        ),
        workflow_q = escape(&percent(&execution.workflow)),
        workflow = escape(&execution.workflow),
        badge = badge::badge(state),
        id = escape(&execution.id),
        hash = escape(&execution.plan_hash),
        hash_short = escape(
            execution
                .plan_hash
                .get(..12)
                .unwrap_or(execution.plan_hash.as_str())
        ),
        created = when::time(Some(execution.created_at)),
        started = when::time(execution.started_at),
        finished = when::time(execution.finished_at),
        duration = when::span(execution.started_at, execution.finished_at, now),
    );
    // Present even without an error, so the script can fill it in.
    let _ = write!(
        out,
        r#"<div class="error-box" data-role="execution-error"{hidden}><h2>Error</h2><pre>{error}</pre></div>"#,
        hidden = if execution.error.is_some() {
            ""
        } else {
            " hidden"
        },
        error = escape(&cap(
            execution.error.as_deref().unwrap_or_default(),
            SHOWN_TEXT
        )),
    );
    // Every button is drawn; `data-when` says in which states it applies,
    // and the script shows and hides them as the state changes.
    let _ = write!(
        out,
        concat!(
            r#"<div class="actions">"#,
            r#"<button type="button" class="danger" data-action="cancel" data-when="running"{cancel_hidden}>Cancel execution</button>"#,
            r#"<button type="button" data-action="retry" data-when="retryable"{retry_hidden}>Retry failed steps</button>"#,
            "</div>"
        ),
        cancel_hidden = if ended { " hidden" } else { "" },
        retry_hidden = if retryable { "" } else { " hidden" },
    );
    out.push_str(r#"<details class="io"><summary>Inputs and outputs</summary><h3>Inputs</h3>"#);
    out.push_str(&json_block(&execution.inputs));
    out.push_str("<h3>Outputs</h3>");
    match &execution.outputs {
        Some(outputs) => out.push_str(&json_block(outputs)),
        None => out.push_str(r#"<p class="muted">None yet.</p>"#),
    }
    out.push_str("</details>\n");
}

/// The steps to list: every one, or for a larger execution (unless `all`)
/// first every step that did not end well or has not ended (failed,
/// running, retrying, waiting, canceled, compensated), then the first
/// others in order, up to [`LISTED_STEPS`]; in the workflow's order.
fn listed(steps: &[StepView], all: bool) -> Vec<&StepView> {
    if all || steps.len() <= LISTED_STEPS {
        return steps.iter().collect();
    }
    let notable =
        |step: &StepView| !matches!(step.state.as_str(), "succeeded" | "skipped" | "pending");
    let mut keep = vec![false; steps.len()];
    let mut room = LISTED_STEPS;
    for (kept, step) in keep.iter_mut().zip(steps) {
        if room > 0 && notable(step) {
            *kept = true;
            room -= 1;
        }
    }
    for kept in &mut keep {
        if room == 0 {
            break;
        }
        if !*kept {
            *kept = true;
            room -= 1;
        }
    }
    steps
        .iter()
        .zip(keep)
        .filter_map(|(step, kept)| kept.then_some(step))
        .collect()
}

fn steps_table(
    out: &mut String,
    steps: &[&StepView],
    total: usize,
    execution: &str,
    now: DateTime<Utc>,
) {
    out.push_str(r#"<section aria-labelledby="steps-title"><h2 id="steps-title">Steps</h2>"#);
    if steps.len() < total {
        let _ = write!(
            out,
            r#"<p class="listed" data-role="listed">Listed: {shown} of {total} steps (every step that did not succeed, then the first in order; the graph has them all). <a href="/ui/executions/{id}?steps=all">List all {total}</a></p>"#,
            shown = steps.len(),
            id = escape(&percent(execution)),
        );
    }
    out.push_str(concat!(
        r#"<div class="table-wrap"><table class="steps"><thead><tr>"#,
        r#"<th scope="col">Step</th><th scope="col">State</th><th scope="col">Tries</th>"#,
        r#"<th scope="col">Started (UTC)</th><th scope="col">Duration</th><th scope="col">Error</th>"#,
        "</tr></thead><tbody>"
    ));
    for step in steps {
        let state = step.state.as_str();
        let _ = write!(
            out,
            concat!(
                r#"<tr data-step="{key}" data-state="{state}">"#,
                r##"<th scope="row"><a href="#step-{key}"><code>{key}</code></a></th>"##,
                r#"<td class="{class}" data-role="step-state">{badge}</td>"#,
                r#"<td data-role="tries">{tries}</td>"#,
                r#"<td data-role="started">{started}</td>"#,
                r#"<td data-role="duration">{duration}</td>"#,
                r#"<td class="error-cell" data-role="error">{error}</td></tr>"#
            ),
            key = escape(&step.key),
            state = escape(state),
            class = badge::class(state),
            badge = badge::badge(state),
            tries = step.attempts.len(),
            started = when::time(step.started_at),
            duration = when::span(step.started_at, step.finished_at, now),
            error = escape(&cap(
                step.error.as_deref().unwrap_or_default(),
                SHOWN_IN_TABLE
            )),
        );
    }
    out.push_str("</tbody></table></div></section>\n");
}

/// One step's panel: times, error, outputs, every try, its logs and
/// "retry from here".
fn step_details(
    out: &mut String,
    execution: &str,
    ended: bool,
    step: &StepView,
    now: DateTime<Utc>,
) {
    let state = step.state.as_str();
    let key = escape(&step.key);
    let _ = write!(
        out,
        concat!(
            r#"<details class="step" id="step-{key}" data-step="{key}">"#,
            r#"<summary><span data-role="step-state">{badge}</span> <code>{key}</code></summary>"#,
            r#"<div class="step-body"><dl class="facts">"#,
            r#"<div><dt>Tries</dt><dd>{tries}</dd></div>"#,
            r#"<div><dt>Started</dt><dd>{started}</dd></div>"#,
            r#"<div><dt>Finished</dt><dd>{finished}</dd></div>"#,
            r#"<div><dt>Duration</dt><dd>{duration}</dd></div>"#
        ),
        key = key,
        badge = badge::badge(state),
        tries = step.attempts.len(),
        started = when::time(step.started_at),
        finished = when::time(step.finished_at),
        duration = when::span(step.started_at, step.finished_at, now),
    );
    if step.next_attempt_at.is_some() {
        let _ = write!(
            out,
            "<div><dt>Next try</dt><dd>{}</dd></div>",
            when::time(step.next_attempt_at)
        );
    }
    if let Some(pool) = &step.waiting_for {
        let _ = write!(
            out,
            "<div><dt>Waiting for</dt><dd>a slot of <code>{}</code></dd></div>",
            escape(pool)
        );
    }
    if let Some(progress) = &step.progress {
        let _ = write!(
            out,
            "<div><dt>Progress</dt><dd>{}% {}</dd></div>",
            progress.percent,
            escape(&progress.message)
        );
    }
    out.push_str("</dl>");
    if let Some(error) = &step.error {
        let _ = write!(
            out,
            r#"<h3>Error</h3><pre class="error">{}</pre>"#,
            escape(&cap(error, SHOWN_TEXT))
        );
    }
    if let Some(error) = &step.compensation_error {
        let _ = write!(
            out,
            r#"<h3>Compensation error</h3><pre class="error">{}</pre>"#,
            escape(&cap(error, SHOWN_TEXT))
        );
    }
    // The last try's: what the step was last called with.
    if let Some((number, params)) = step
        .attempts
        .iter()
        .rev()
        .find_map(|a| a.params.as_ref().map(|p| (a.number, p)))
    {
        let _ = write!(
            out,
            r#"<h3>Parameters <span class="muted">(try {number}, resolved; secrets hidden)</span></h3>"#
        );
        out.push_str(&json_block(params));
    }
    if let Some(outputs) = &step.outputs {
        out.push_str("<h3>Outputs</h3>");
        out.push_str(&json_block(outputs));
    }
    if !step.attempts.is_empty() {
        out.push_str(r#"<h3>Tries</h3><ol class="tries">"#);
        for attempt in &step.attempts {
            let _ = write!(
                out,
                "<li>{} → {} ({}){}{}</li>",
                when::time(Some(attempt.started_at)),
                when::time(attempt.finished_at),
                when::span(Some(attempt.started_at), attempt.finished_at, now),
                if attempt.interrupted {
                    " · interrupted by an engine stop"
                } else {
                    ""
                },
                attempt
                    .error
                    .as_deref()
                    .map_or_else(String::new, |error| format!(
                        r#"<pre class="error">{}</pre>"#,
                        escape(&cap(error, SHOWN_TEXT))
                    )),
            );
        }
        out.push_str("</ol>");
    }
    // Filled by the script when the panel opens, and followed while the
    // step runs.
    let logs = format!(
        "/executions/{}/steps/{}/logs",
        escape(&percent(execution)),
        escape(&percent(&step.key)),
    );
    let _ = write!(
        out,
        concat!(
            r#"<h3>Logs</h3><pre class="logs" data-role="logs" data-src="{logs}" tabindex="0">"#,
            r#"<span class="muted">Open with the script on to read them here.</span></pre>"#,
            r#"<p class="step-actions"><a href="{logs}">Logs (JSON)</a>"#
        ),
        logs = logs,
    );
    // Retry from a step, not from one item of a `for_each` step.
    if !step.key.contains('[') {
        let hidden = if ended { "" } else { " hidden" };
        let _ = write!(
            out,
            r#" <button type="button" data-action="retry" data-from="{key}" data-when="ended"{hidden}>Retry from this step</button>"#,
        );
    }
    out.push_str("</p></div></details>\n");
}

/// Whether an execution in `state` has ended (the states are the
/// engine's words, as the API gives them).
fn is_terminal(state: &str) -> bool {
    shutter_core::ExecutionState::parse(state)
        .is_some_and(shutter_core::ExecutionState::is_terminal)
}

/// `value` as indented JSON, escaped, cut at [`SHOWN_TEXT`].
fn json_block(value: &Json) -> String {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    format!(
        r#"<pre class="json">{}</pre>"#,
        escape(&cap(&text, SHOWN_TEXT))
    )
}

/// `text` cut after `max` characters, saying how much was left out.
fn cap(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!(
            "{}… ({} more bytes; the API has them all)",
            &text[..at],
            text.len() - at
        ),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_on_a_character() {
        assert_eq!(
            cap("déjà vu", 3),
            "déj… (5 more bytes; the API has them all)"
        );
        assert_eq!(cap("short", 10), "short");
    }

    #[test]
    fn ended_states_are_the_engines() {
        assert!(is_terminal("failed"));
        assert!(is_terminal("succeeded_with_errors"));
        assert!(!is_terminal("running"));
        assert!(!is_terminal("nonsense"));
    }
}
