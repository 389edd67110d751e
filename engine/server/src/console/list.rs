//! `GET /ui/executions`: what ran, newest first, with the counts by state,
//! a filter form (a plain GET form: it works without the script) and keyset
//! paging. The query is the JSON API's (`GET /executions`): the same
//! names, the same page size and the same cursor, so the script polls the
//! API with the page's own filters to see when the table is stale.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use shutter_core::{ExecutionRecord, ExecutionState, ListQuery};

use super::badge;
use super::escape::{escape, query};
use super::page::{self, Section};
use super::when;
use crate::error::ApiError;
use crate::extract::cut_to_page;
use crate::routes::executions::ListParams;
use crate::state::AppState;

/// The filters, as the form sends them (empty fields are no filter).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct Filter {
    workflow: Option<String>,
    state: Option<String>,
    since: Option<String>,
    cursor: Option<String>,
    limit: Option<usize>,
}

impl Filter {
    fn text(value: Option<&String>) -> Option<&str> {
        value.map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The filters as a query string, with `cursor` in place of this
    /// page's (`None`: the newest page).
    fn query(&self, cursor: Option<&str>) -> String {
        let limit = self.limit.map(|l| l.to_string());
        query(&[
            ("workflow", Self::text(self.workflow.as_ref())),
            ("state", Self::text(self.state.as_ref())),
            ("since", Self::text(self.since.as_ref())),
            ("limit", limit.as_deref()),
            ("cursor", cursor),
        ])
    }

    /// The store's query, checked by `GET /executions`'s own rules; one
    /// more than a page is asked for, to know whether an older page exists.
    fn to_list_query(&self) -> Result<(ListQuery, usize), ApiError> {
        ListParams {
            workflow: self.workflow.clone(),
            state: self.state.clone(),
            since: self.since.clone(),
            limit: self.limit,
            cursor: self.cursor.clone(),
            wait: None,
        }
        .to_query()
    }
}

/// Ranges offered by the form for `since` (any value the API reads works
/// in the URL too).
const SINCE: [(&str, &str); 5] = [
    ("", "any time"),
    ("1h", "last hour"),
    ("24h", "last 24 hours"),
    ("7d", "last 7 days"),
    ("30d", "last 30 days"),
];

pub(crate) async fn show(
    State(state): State<AppState>,
    Query(filter): Query<Filter>,
) -> Result<Response, ApiError> {
    let (list_query, limit) = filter.to_list_query()?;
    let mut records = state.store().list(&list_query).await?;
    let older = cut_to_page(&mut records, limit, |r| r.id.to_string());
    let counts = state.store().count_by_state().await?;
    let mut workflows: Vec<String> = state
        .workflows()
        .all_latest()
        .iter()
        .map(|v| v.plan.workflow.name.to_string())
        .collect();
    if let Some(current) = Filter::text(filter.workflow.as_ref())
        && !workflows.iter().any(|w| w == current)
    {
        workflows.push(current.to_owned());
    }
    let main = render(
        &filter,
        &records,
        older.as_deref(),
        &counts,
        &workflows,
        Utc::now(),
    );
    Ok(page::respond(page::document(
        "Executions",
        Section::Executions,
        &main,
    )))
}

fn render(
    filter: &Filter,
    records: &[ExecutionRecord],
    older: Option<&str>,
    counts: &[(ExecutionState, u64)],
    workflows: &[String],
    now: DateTime<Utc>,
) -> String {
    let mut out = String::with_capacity(4096 + 512 * records.len());
    out.push_str("<h1>Executions</h1>\n");
    form(&mut out, filter, workflows);
    // What the script replaces when the API says the page is stale: the
    // counts and the table, never the form (the reader may be typing).
    let _ = write!(
        out,
        r#"<div id="live" data-source="/executions{}">"#,
        escape(&filter.query(Filter::text(filter.cursor.as_ref())))
    );
    counts_nav(&mut out, counts);
    table(&mut out, records, now);
    out.push_str(r#"<nav class="pages" aria-label="Pages">"#);
    if filter.cursor.as_deref().is_some_and(|c| !c.is_empty()) {
        let _ = write!(
            out,
            r#"<a href="/ui/executions{}">Newest</a> "#,
            escape(&filter.query(None))
        );
    }
    if let Some(older) = older {
        let _ = write!(
            out,
            r#"<a href="/ui/executions{}" rel="next">Older</a>"#,
            escape(&filter.query(Some(older)))
        );
    }
    out.push_str("</nav></div>\n");
    out
}

fn form(out: &mut String, filter: &Filter, workflows: &[String]) {
    let chosen = |value: &str, current: Option<&String>| {
        if Filter::text(current).unwrap_or_default() == value {
            " selected"
        } else {
            ""
        }
    };
    out.push_str(r#"<form class="filters" method="get" action="/ui/executions">"#);
    out.push_str(r#"<label>Workflow <select name="workflow"><option value="">any</option>"#);
    for name in workflows {
        let _ = write!(
            out,
            r#"<option value="{v}"{s}>{v}</option>"#,
            v = escape(name),
            s = chosen(name, filter.workflow.as_ref())
        );
    }
    out.push_str(
        r#"</select></label> <label>State <select name="state"><option value="">any</option>"#,
    );
    for state in ExecutionState::ALL {
        let _ = write!(
            out,
            r#"<option value="{v}"{s}>{icon} {label}</option>"#,
            v = state.as_str(),
            s = chosen(state.as_str(), filter.state.as_ref()),
            icon = badge::icon(state.as_str()),
            label = badge::label(state.as_str()),
        );
    }
    out.push_str(r#"</select></label> <label>Started <select name="since">"#);
    let known = SINCE
        .iter()
        .any(|(value, _)| Filter::text(filter.since.as_ref()).unwrap_or_default() == *value);
    for (value, label) in SINCE {
        let _ = write!(
            out,
            r#"<option value="{value}"{s}>{label}</option>"#,
            s = chosen(value, filter.since.as_ref()),
        );
    }
    if !known {
        // A range typed in the URL: kept, so filtering again keeps it.
        let _ = write!(
            out,
            r#"<option value="{v}" selected>since {v}</option>"#,
            v = escape(Filter::text(filter.since.as_ref()).unwrap_or_default()),
        );
    }
    out.push_str("</select></label> ");
    if let Some(limit) = filter.limit {
        let _ = write!(out, r#"<input type="hidden" name="limit" value="{limit}">"#);
    }
    out.push_str(
        r#"<button type="submit">Filter</button> <a href="/ui/executions">Clear</a></form>"#,
    );
    out.push('\n');
}

/// Every state with how many executions are in it (all of them, whatever
/// the filters), each a link that filters by it.
fn counts_nav(out: &mut String, counts: &[(ExecutionState, u64)]) {
    out.push_str(r#"<nav class="counts" aria-label="Executions by state"><ul>"#);
    for state in ExecutionState::ALL {
        let count = crate::metrics::count_in(counts, state);
        let _ = write!(
            out,
            r#"<li><a class="count" href="/ui/executions?state={s}" data-state="{s}">{badge} <b>{count}</b></a></li>"#,
            s = state.as_str(),
            badge = badge::badge(state.as_str()),
        );
    }
    out.push_str("</ul></nav>\n");
}

fn table(out: &mut String, records: &[ExecutionRecord], now: DateTime<Utc>) {
    out.push_str(concat!(
        r#"<div class="table-wrap"><table class="executions"><caption class="visually-hidden">Executions, newest first</caption>"#,
        r#"<thead><tr><th scope="col">Execution</th><th scope="col">Workflow</th><th scope="col">State</th>"#,
        r#"<th scope="col">Started (UTC)</th><th scope="col">Duration</th></tr></thead><tbody>"#
    ));
    if records.is_empty() {
        out.push_str(r#"<tr><td colspan="5" class="empty">No execution matches.</td></tr>"#);
    }
    for record in records {
        let id = record.id.to_string();
        let state = record.state.as_str();
        let _ = write!(
            out,
            concat!(
                r#"<tr data-execution-id="{id}" data-state="{state}" data-version="{version}">"#,
                r#"<td><a href="/ui/executions/{id}" title="{id}"><code>{short}</code></a></td>"#,
                r#"<td><a href="/ui/executions?workflow={workflow_q}">{workflow}</a></td>"#,
                r#"<td class="{class}">{badge}</td>"#,
                r#"<td>{started}</td><td>{duration}</td></tr>"#
            ),
            id = escape(&id),
            state = escape(state),
            version = record.last_seq,
            short = escape(short_id(&id)),
            workflow_q = escape(&super::escape::percent(&record.workflow)),
            workflow = escape(&record.workflow),
            class = badge::class(state),
            badge = badge::badge(state),
            started = when::time(record.started_at.or(Some(record.created_at))),
            duration = when::span(record.started_at, record.finished_at, now),
        );
    }
    out.push_str("</tbody></table></div>\n");
}

/// The part of an id a reader tells executions apart by. A `UUIDv7`
/// starts with its creation time in milliseconds, so executions started
/// the same minute share their first eight digits: its random end is
/// shown instead (the whole id is the link's title and its URL).
pub(super) fn short_id(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_older_link_keeps_the_filters_and_moves_the_cursor() {
        let filter = Filter {
            workflow: Some("nightly&x=1".to_owned()),
            state: Some("failed".to_owned()),
            since: Some(String::new()),
            cursor: Some("abc".to_owned()),
            limit: None,
        };
        assert_eq!(
            filter.query(Some("def")),
            "?workflow=nightly%26x%3D1&state=failed&cursor=def"
        );
        assert_eq!(filter.query(None), "?workflow=nightly%26x%3D1&state=failed");
    }

    #[test]
    fn bad_filters_are_refused_as_the_api_refuses_them() {
        let bad_state = Filter {
            state: Some("sleeping".to_owned()),
            ..Filter::default()
        };
        assert!(bad_state.to_list_query().is_err());
        let ok = Filter::default()
            .to_list_query()
            .map(|(q, limit)| (q.limit, limit));
        assert_eq!(ok.ok(), Some((51, 50)));
    }

    #[test]
    fn short_ids_are_the_random_end() {
        assert_eq!(short_id("0190a2b4-0000-7000-8000-00000000abcd"), "0000abcd");
        assert_eq!(short_id("abc"), "abc");
    }
}
