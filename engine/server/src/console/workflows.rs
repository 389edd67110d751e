//! `GET /ui/workflows` and `GET /ui/workflows/{name}`: what this server
//! runs — each workflow's description, schedule, DAG, source with line
//! numbers and versions kept — and a form, made from its declared inputs,
//! that starts it or asks for a plan (what a run would do). The form is
//! sent by the script as JSON to the API's own routes
//! (`POST /workflows/{name}/executions`, `/plan`).

use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value as Json;

use super::escape::{escape, percent};
use super::graph;
use super::page::{self, Section};
use crate::error::ApiError;
use crate::state::AppState;
use crate::views::WorkflowSummary;
use crate::workflows::Version;

pub(crate) async fn list(State(state): State<AppState>) -> Response {
    let mut versions = state.workflows().all_latest();
    versions.sort_by(|a, b| {
        a.plan
            .workflow
            .name
            .as_str()
            .cmp(b.plan.workflow.name.as_str())
    });
    let mut out = String::from("<h1>Workflows</h1>\n");
    out.push_str(concat!(
        r#"<div class="table-wrap"><table class="workflows"><thead><tr>"#,
        r#"<th scope="col">Workflow</th><th scope="col">Description</th><th scope="col">Steps</th>"#,
        r#"<th scope="col">Versions</th><th scope="col">Schedule</th></tr></thead><tbody>"#
    ));
    if versions.is_empty() {
        out.push_str(r#"<tr><td colspan="5" class="empty">No workflow is served (`shutter serve --workflows DIR`, or `POST /workflows`).</td></tr>"#);
    }
    for version in &versions {
        let name = version.plan.workflow.name.as_str();
        let summary = WorkflowSummary::new(version, state.workflows().versions(name).len());
        let _ = write!(
            out,
            concat!(
                r#"<tr data-workflow="{name}"><th scope="row"><a href="/ui/workflows/{name_q}">{name}</a></th>"#,
                "<td>{description}</td><td>{steps}</td><td>{versions}</td><td>{schedule}</td></tr>"
            ),
            name = escape(name),
            name_q = escape(&percent(name)),
            description = escape(summary.description.as_deref().unwrap_or_default()),
            steps = summary.steps,
            versions = summary.versions,
            schedule = schedule(&summary, 1),
        );
    }
    out.push_str("</tbody></table></div>\n");
    page::respond(page::document("Workflows", Section::Workflows, &out))
}

pub(crate) async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let version = crate::routes::workflows::latest(&state, &name).await?;
    let versions = state.workflows().versions(&name);
    let main = render(&version, &versions);
    Ok(page::respond(page::document(
        &name,
        Section::Workflows,
        &main,
    )))
}

fn render(version: &Version, versions: &[std::sync::Arc<Version>]) -> String {
    let workflow = &version.plan.workflow;
    let name = workflow.name.as_str();
    let mut out = String::with_capacity(8192 + 64 * version.source.len() / 32);
    let _ = write!(
        out,
        concat!(
            r#"<div class="workflow" data-workflow="{name}">"#,
            r#"<p class="crumbs"><a href="/ui/workflows">Workflows</a></p>"#,
            "<h1>{name}</h1>",
            r#"<p>{description}</p>"#,
            r#"<dl class="facts"><div><dt>Version</dt><dd><code title="{hash}">{hash_short}</code></dd></div>"#,
            "<div><dt>Steps</dt><dd>{steps}</dd></div>",
            "<div><dt>Schedule</dt><dd>{schedule}</dd></div>",
            r#"<div><dt>Executions</dt><dd><a href="/ui/executions?workflow={name_q}">all of this workflow</a></dd></div></dl>"#
        ),
        name = escape(name),
        name_q = escape(&percent(name)),
        description = escape(workflow.description.as_deref().unwrap_or_default()),
        hash = escape(version.plan.hash.as_str()),
        hash_short = escape(version.plan.hash.as_str().get(..12).unwrap_or_default()),
        steps = workflow.steps.len(),
        schedule = schedule(&WorkflowSummary::new(version, versions.len()), 3),
    );
    // In the order the workflow declares them.
    let inputs: Vec<(String, Json)> = workflow
        .inputs
        .iter()
        .map(|(input, spec)| {
            (
                input.clone(),
                serde_json::to_value(spec).unwrap_or_default(),
            )
        })
        .collect();
    form(&mut out, name, &inputs);
    out.push_str(r#"<section aria-labelledby="graph-title"><h2 id="graph-title">Graph</h2><div class="graph" tabindex="0" role="region" aria-label="Graph (scrolls sideways)">"#);
    out.push_str(&graph::svg(&version.plan, &[]));
    out.push_str("</div></section>\n");
    out.push_str(r#"<section aria-labelledby="source-title"><h2 id="source-title">Source</h2><ol class="source">"#);
    for line in version.source.lines() {
        let _ = write!(out, "<li><code>{}</code></li>", escape(line));
    }
    out.push_str("</ol></section>\n");
    out.push_str(r#"<section aria-labelledby="versions-title"><h2 id="versions-title">Versions kept</h2><ol class="versions">"#);
    for kept in versions.iter().rev() {
        let _ = write!(
            out,
            r#"<li><code>{}</code> registered {}</li>"#,
            escape(kept.plan.hash.as_str()),
            super::when::time(Some(kept.registered_at)),
        );
    }
    out.push_str("</ol></section></div>\n");
    out
}

/// The schedule as written, and its next `shown` ticks.
fn schedule(summary: &WorkflowSummary, shown: usize) -> String {
    let Some(cron) = &summary.schedule else {
        return "none".to_owned();
    };
    let mut out = escape(cron);
    if !summary.next_ticks.is_empty() {
        out.push_str(r#"<br><span class="muted">next:</span> <span data-role="next-ticks">"#);
        let ticks: Vec<String> = summary
            .next_ticks
            .iter()
            .take(shown)
            .map(|tick| super::when::time(Some(*tick)))
            .collect();
        out.push_str(&ticks.join(", "));
        out.push_str("</span>");
    }
    out
}

/// The start form: one field per declared input, typed as declared. The
/// script reads each field by its `data-type` and sends the inputs as JSON.
fn form(out: &mut String, name: &str, inputs: &[(String, Json)]) {
    let _ = write!(
        out,
        r#"<section aria-labelledby="start-title"><h2 id="start-title">Start</h2><form class="start" data-workflow="{}">"#,
        escape(name)
    );
    if inputs.is_empty() {
        out.push_str(r#"<p class="muted">This workflow declares no inputs.</p>"#);
    }
    for (input, spec) in inputs {
        let ty = spec["type"].as_str().unwrap_or("string");
        let required = spec["required"].as_bool().unwrap_or(false);
        let id = format!("input-{input}");
        let default = &spec["default"];
        let _ = write!(
            out,
            r#"<div class="field"><label for="{id}">{input}{star}</label>"#,
            id = escape(&id),
            input = escape(input),
            star = if required { " *" } else { "" },
        );
        let attributes = format!(
            r#"id="{id}" name="{input}" data-input="{input}" data-type="{ty}"{required}"#,
            id = escape(&id),
            input = escape(input),
            ty = escape(ty),
            required = if required { " required" } else { "" },
        );
        match (ty, spec["enum"].as_array()) {
            (_, Some(allowed)) => {
                let _ = write!(out, "<select {attributes}>");
                for value in allowed {
                    let text = shown(value);
                    let selected = if value == default { " selected" } else { "" };
                    let _ = write!(
                        out,
                        r#"<option value="{v}"{selected}>{v}</option>"#,
                        v = escape(&text)
                    );
                }
                out.push_str("</select>");
            }
            ("boolean", None) => {
                let checked = if default.as_bool() == Some(true) {
                    " checked"
                } else {
                    ""
                };
                let _ = write!(out, r#"<input type="checkbox" {attributes}{checked}>"#);
            }
            ("integer" | "number", None) => {
                let step = if ty == "integer" { "1" } else { "any" };
                let _ = write!(
                    out,
                    r#"<input type="number" step="{step}" {attributes} value="{}">"#,
                    escape(&shown(default))
                );
            }
            ("array" | "object", None) => {
                let _ = write!(
                    out,
                    r#"<textarea rows="3" {attributes} placeholder="JSON">{}</textarea>"#,
                    escape(&shown(default))
                );
            }
            _ => {
                let _ = write!(
                    out,
                    r#"<input type="text" {attributes} value="{}">"#,
                    escape(&shown(default))
                );
            }
        }
        if let Some(description) = spec["description"].as_str() {
            let _ = write!(out, r#"<p class="hint">{}</p>"#, escape(description));
        }
        out.push_str("</div>");
    }
    out.push_str(concat!(
        r#"<div class="actions"><button type="submit" data-action="start">Start</button>"#,
        r#"<button type="button" data-action="plan">Plan (what a run would do)</button></div>"#,
        r#"</form><pre class="plan" data-role="plan" hidden></pre></section>"#,
        "\n"
    ));
}

/// A default or allowed value as a field shows it: strings bare, the rest
/// as JSON, nothing for none.
fn shown(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}
