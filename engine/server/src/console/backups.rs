//! `GET /ui/backups`: the backup catalog (issue 18: "by source across
//! clouds and vCenters, last restore test, links to the executions that
//! made them"), newest first, with a filter form (a plain GET form: it
//! works without the script) and keyset paging.
//!
//! The filters are the JSON API's (`GET /backups`), read and checked by
//! the same code (`routes::backups::ListParams::to_query`): a filter the
//! API refuses, the page refuses with the same words.
//!
//! Each source is a link to every backup of it, wherever they are: by its
//! lasting uuid when it has one (a VM registered again under a new moRef
//! is the same VM), else by its full reference (`<where>/<kind>/<id>`:
//! an EBS snapshot copied to another region keeps its volume's, while the
//! same moRef in two vCenters stays two VMs). Filtered to one source, the
//! page says how that source stands: how many of its backups are there,
//! the newest, and when one last passed a restore test.

use std::fmt::Write as _;

use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, Utc};
use shutter_core::{Backup, BackupKind, BackupState, RestoreTest};

use super::escape::{escape, percent, query, shorten};
use super::page::{self, Section};
use super::when;
use crate::error::ApiError;
use crate::extract::cut_to_page;
use crate::routes::backups::{ListParams, PROVIDERS};
use crate::state::AppState;

/// The states of a catalog entry, with an icon each (a word goes beside
/// it, so the meaning never rests on colour). Not in `badge`: that table
/// is the executions' and steps' states, which the script draws live.
const STATES: [(BackupState, &str); 3] = [
    (BackupState::Available, "●"),
    (BackupState::Deleted, "⊖"),
    (BackupState::Missing, "⚠"),
];

/// Locations longer than this are cut in the table (an OpenStack one
/// holds Keystone's URL); the whole is the cell's title.
const WHERE_WIDTH: usize = 32;

pub(crate) async fn show(
    State(state): State<AppState>,
    Query(filter): Query<ListParams>,
) -> Result<Response, ApiError> {
    let (backup_query, limit) = filter.to_query()?;
    let mut entries = state.store().backups(&backup_query).await?;
    let older = cut_to_page(&mut entries, limit, |e| e.id.clone());
    let main = render(&filter, &entries, older.as_deref());
    Ok(page::respond(page::document(
        "Backups",
        Section::Backups,
        &main,
    )))
}

/// A filter's value, or `None` when it was left empty (an empty field of
/// the form is no filter, as for the API).
fn text(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str).filter(|v| !v.is_empty())
}

/// The filters as a query string, with `cursor` in place of this page's
/// (`None`: the newest page).
fn page_query(filter: &ListParams, cursor: Option<&str>) -> String {
    let limit = filter.limit.map(|l| l.to_string());
    query(&[
        ("source", text(filter.source.as_ref())),
        ("provider", text(filter.provider.as_ref())),
        ("state", text(filter.state.as_ref())),
        ("kind", text(filter.kind.as_ref())),
        ("since", text(filter.since.as_ref())),
        ("limit", limit.as_deref()),
        ("cursor", cursor),
    ])
}

fn render(filter: &ListParams, entries: &[Backup], older: Option<&str>) -> String {
    let mut out = String::with_capacity(4096 + 1024 * entries.len());
    out.push_str("<h1>Backups</h1>\n");
    form(&mut out, filter);
    // Read again by the script while the page is open; the form stays (the
    // reader may be typing).
    out.push_str(r#"<div id="live" data-refresh-every="15">"#);
    if let Some(source) = text(filter.source.as_ref()) {
        summary(&mut out, source, entries);
    }
    table(&mut out, entries);
    out.push_str(r#"<nav class="pages" aria-label="Pages">"#);
    if text(filter.cursor.as_ref()).is_some() {
        let _ = write!(
            out,
            r#"<a href="/ui/backups{}">Newest</a> "#,
            escape(&page_query(filter, None))
        );
    }
    if let Some(older) = older {
        let _ = write!(
            out,
            r#"<a href="/ui/backups{}" rel="next">Older</a>"#,
            escape(&page_query(filter, Some(older)))
        );
    }
    out.push_str("</nav></div>\n");
    out
}

fn form(out: &mut String, filter: &ListParams) {
    let chosen = |value: &str, current: Option<&String>| {
        if text(current) == Some(value) {
            " selected"
        } else {
            ""
        }
    };
    out.push_str(r#"<form class="filters" method="get" action="/ui/backups">"#);
    let _ = write!(
        out,
        r#"<label>Source <input type="text" name="source" value="{}" placeholder="vol-…, vm-42, a VM's uuid" size="28"></label> "#,
        escape(text(filter.source.as_ref()).unwrap_or_default()),
    );
    out.push_str(r#"<label>Provider <select name="provider"><option value="">any</option>"#);
    for provider in PROVIDERS {
        let _ = write!(
            out,
            r#"<option value="{provider}"{s}>{provider}</option>"#,
            s = chosen(provider, filter.provider.as_ref()),
        );
    }
    out.push_str(
        r#"</select></label> <label>State <select name="state"><option value="">any</option>"#,
    );
    for (state, icon) in STATES {
        let _ = write!(
            out,
            r#"<option value="{v}"{s}>{icon} {v}</option>"#,
            v = state.as_str(),
            s = chosen(state.as_str(), filter.state.as_ref()),
        );
    }
    out.push_str(
        r#"</select></label> <label>Kind <select name="kind"><option value="">any</option>"#,
    );
    for kind in BackupKind::ALL {
        let _ = write!(
            out,
            r#"<option value="{v}"{s}>{label}</option>"#,
            v = kind.as_str(),
            s = chosen(kind.as_str(), filter.kind.as_ref()),
            label = kind_label(kind),
        );
    }
    out.push_str("</select></label> ");
    // Filters the form has no field for (typed in the URL) are kept, so
    // filtering again does not drop them.
    if let Some(since) = text(filter.since.as_ref()) {
        let _ = write!(
            out,
            r#"<input type="hidden" name="since" value="{}">"#,
            escape(since)
        );
    }
    if let Some(limit) = filter.limit {
        let _ = write!(out, r#"<input type="hidden" name="limit" value="{limit}">"#);
    }
    out.push_str(r#"<button type="submit">Filter</button> <a href="/ui/backups">Clear</a></form>"#);
    out.push('\n');
}

/// How one source stands, over the backups shown: how many are there,
/// the newest, and when one last passed a restore test.
fn summary(out: &mut String, source: &str, entries: &[Backup]) {
    let available = entries
        .iter()
        .filter(|e| e.state == BackupState::Available)
        .count();
    let newest = entries.iter().map(made_at).max();
    let passed = entries.iter().filter_map(|e| e.verified_at).max();
    let _ = write!(
        out,
        concat!(
            r#"<section class="backup-summary" aria-labelledby="source-title">"#,
            r#"<h2 id="source-title">Backups of <code>{source}</code></h2><dl class="facts">"#,
            "<div><dt>Available</dt><dd>{available} of {shown} shown</dd></div>",
            "<div><dt>Newest backup</dt><dd>{newest}</dd></div>",
            "<div><dt>Last restore test passed</dt><dd>{passed}</dd></div>",
            "</dl></section>\n"
        ),
        source = escape(source),
        available = available,
        shown = entries.len(),
        newest = newest.map_or_else(|| "none".to_owned(), |at| when::time(Some(at))),
        passed = passed.map_or_else(
            || "no restore test passed".to_owned(),
            |at| when::time(Some(at))
        ),
    );
}

fn table(out: &mut String, entries: &[Backup]) {
    out.push_str(concat!(
        r#"<div class="table-wrap"><table class="backups"><caption class="visually-hidden">Backups, newest first</caption>"#,
        r#"<thead><tr><th scope="col">Source</th><th scope="col">Where</th><th scope="col">Kind</th>"#,
        r#"<th scope="col">Native id</th><th scope="col">State</th><th scope="col">Created (UTC)</th>"#,
        r#"<th scope="col">Size</th><th scope="col">Last restore test</th><th scope="col">Made by</th></tr></thead><tbody>"#
    ));
    if entries.is_empty() {
        out.push_str(r#"<tr><td colspan="9" class="empty">No backup matches.</td></tr>"#);
    }
    for entry in entries {
        row(out, entry);
    }
    out.push_str("</tbody></table></div>\n");
}

fn row(out: &mut String, entry: &Backup) {
    let artifact = &entry.artifact;
    let place = artifact.location.key();
    let state = entry.state.as_str();
    let _ = write!(
        out,
        concat!(
            r#"<tr data-backup-id="{id}" data-state="{state}">"#,
            "<td>{source}</td>",
            r#"<td><code title="{place}">{place_short}</code></td>"#,
            "<td>{kind}</td>",
            "<td{tags}><code>{native}</code>{name}</td>",
            r#"<td class="state-{state}">{badge}</td>"#,
            "<td>{created}</td><td>{size}</td><td>{test}</td><td>{made_by}</td></tr>"
        ),
        id = escape(&entry.id),
        state = escape(state),
        source = source_cell(entry),
        place = escape(&place),
        place_short = escape(&shorten(&place, WHERE_WIDTH)),
        kind = kind_label(artifact.kind),
        tags = tags_title(entry),
        native = escape(&artifact.native_id),
        name = artifact
            .tags
            .get("name")
            .map(|name| format!(r#"<br><span class="muted">{}</span>"#, escape(name)))
            .unwrap_or_default(),
        badge = state_badge(entry),
        created = when::time(Some(made_at(entry))),
        size = artifact.size_bytes.map(size).unwrap_or_default(),
        test = restore_test(entry.last_test.as_ref(), entry.verified_at),
        made_by = made_by(entry),
    );
}

/// When the backup was made: as the cloud says, else when Shutter first
/// recorded it.
fn made_at(entry: &Backup) -> DateTime<Utc> {
    entry.artifact.created_at.unwrap_or(entry.recorded_at)
}

/// The source's id, a link to every backup of it (see the module's
/// docs for what it filters by), its full reference as the title.
fn source_cell(entry: &Backup) -> String {
    let (Some(source), Some(reference)) = (&entry.artifact.source, entry.source_ref()) else {
        return r#"<span class="muted">unknown</span>"#.to_owned();
    };
    let title = match &source.uuid {
        Some(uuid) => format!("{reference} (uuid {uuid})"),
        None => reference.clone(),
    };
    let filter = source.uuid.as_deref().unwrap_or(&reference);
    format!(
        r#"<a href="/ui/backups{href}" title="{title}"><code>{id}</code></a> <span class="muted">{kind}</span>"#,
        href = escape(&query(&[("source", Some(filter))])),
        title = escape(&title),
        id = escape(&source.id),
        kind = escape(&source.kind),
    )
}

/// Every tag as `key=value`, one a line, as a cell's title attribute
/// (`name` is shown in the cell itself); nothing when there is none.
fn tags_title(entry: &Backup) -> String {
    let tags = &entry.artifact.tags;
    if tags.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(r#" title="{}""#, escape(&lines.join("\n")))
}

fn kind_label(kind: BackupKind) -> &'static str {
    match kind {
        BackupKind::EbsSnapshot => "EBS snapshot",
        BackupKind::Ami => "AMI",
        BackupKind::GlanceImage => "Glance image",
        BackupKind::VsphereSnapshot => "vSphere snapshot",
    }
}

/// The entry's state as a badge (colour, icon, word), since when as its
/// title.
fn state_badge(entry: &Backup) -> String {
    let state = entry.state.as_str();
    let icon = STATES
        .iter()
        .find(|(s, _)| *s == entry.state)
        .map_or("?", |(_, icon)| *icon);
    format!(
        r#"<span class="badge state-{state}" title="since {since}"><span class="icon" aria-hidden="true">{icon}</span> <span class="label">{state}</span></span>"#,
        since = entry.state_at.format("%Y-%m-%d %H:%M:%SZ"),
    )
}

/// The last restore test: passed or failed (a badge, its detail as the
/// title), when, a link to the execution that ran it; when it last passed
/// if the last one failed; `never` without one.
fn restore_test(test: Option<&RestoreTest>, verified_at: Option<DateTime<Utc>>) -> String {
    let Some(test) = test else {
        return r#"<span class="muted">never</span>"#.to_owned();
    };
    let (class, icon, word) = if test.passed {
        ("state-succeeded", "✓", "passed")
    } else {
        ("state-failed", "✗", "failed")
    };
    let detail = escape(&test.detail);
    let at = when::time(Some(test.at));
    let mut out = format!(
        r#"<span class="badge {class}" title="{detail}"><span class="icon" aria-hidden="true">{icon}</span> <span class="label">{word}</span></span> "#
    );
    match test.execution {
        Some(execution) => {
            let _ = write!(
                out,
                r#"<a href="/ui/executions/{id}" title="{detail}">{at}</a>"#,
                id = escape(&execution.to_string()),
            );
        }
        None => out.push_str(&at),
    }
    if !test.passed
        && let Some(passed) = verified_at
    {
        let _ = write!(
            out,
            r#"<br><span class="muted">last passed {}</span>"#,
            when::time(Some(passed))
        );
    }
    out
}

/// The execution that made the backup (its backup set) and the step; an
/// entry a reconcile found without Shutter's marks has none.
fn made_by(entry: &Backup) -> String {
    let Some(execution) = entry.execution else {
        return r#"<span class="muted">unknown</span>"#.to_owned();
    };
    let id = execution.to_string();
    let mut out = format!(
        r#"<a href="/ui/executions/{id}" title="{id}"><code>{short}</code></a>"#,
        id = escape(&id),
        short = escape(short_id(&id)),
    );
    if let Some(step) = &entry.step {
        let _ = write!(
            out,
            r#" <span class="muted">step</span> <a href="/ui/executions/{id}#step-{anchor}"><code>{step}</code></a>"#,
            id = escape(&id),
            anchor = escape(&percent(step)),
            step = escape(step),
        );
    }
    out
}

/// The random end of a `UUIDv7` (its start is the time, the same for
/// executions started the same minute), as the executions page shows it.
fn short_id(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}

/// `512 B`, `8.0 GiB`: binary units (what clouds size disks in), one
/// decimal, rounded.
fn size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    // Integers, so no float cast can lose precision; u128, so tenths of
    // the largest u64 cannot overflow.
    let bytes = u128::from(bytes);
    let mut unit: u128 = 1024;
    for name in UNITS {
        let tenths = (bytes * 10 + unit / 2) / unit;
        // 1023.96 KiB rounds to 1024.0: the next unit says 1.0 MiB.
        if tenths < 10_240 || name == "EiB" {
            return format!("{}.{} {name}", tenths / 10, tenths % 10);
        }
        unit *= 1024;
    }
    format!("{bytes} B")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_in_binary_units_with_one_decimal() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1.0 KiB");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(8 << 30), "8.0 GiB");
        assert_eq!(size((1 << 20) - 1), "1.0 MiB", "rounded up a unit");
        assert_eq!(size(5 * (1 << 40) / 2), "2.5 TiB");
        assert_eq!(size(u64::MAX), "16.0 EiB");
    }

    #[test]
    fn the_older_link_keeps_the_filters_and_moves_the_cursor() {
        let filter = ListParams {
            source: Some("vm-42&provider=aws".to_owned()),
            provider: Some("vsphere".to_owned()),
            state: Some(String::new()),
            cursor: Some("abc".to_owned()),
            limit: Some(10),
            ..ListParams::default()
        };
        assert_eq!(
            page_query(&filter, Some("def")),
            "?source=vm-42%26provider%3Daws&provider=vsphere&limit=10&cursor=def"
        );
        assert_eq!(
            page_query(&filter, None),
            "?source=vm-42%26provider%3Daws&provider=vsphere&limit=10"
        );
    }

    #[test]
    fn bad_filters_are_refused_as_the_api_refuses_them() {
        let gcp = ListParams {
            provider: Some("gcp".to_owned()),
            ..ListParams::default()
        };
        assert!(gcp.to_query().is_err());
        let tape = ListParams {
            kind: Some("tape".to_owned()),
            ..ListParams::default()
        };
        assert!(tape.to_query().is_err());
        let ok = ListParams::default()
            .to_query()
            .map(|(q, limit)| (q.limit, limit));
        assert_eq!(ok.ok(), Some((51, 50)));
    }

    #[test]
    fn every_state_has_an_icon_and_every_kind_a_label() {
        for state in [
            BackupState::Available,
            BackupState::Deleted,
            BackupState::Missing,
        ] {
            assert!(STATES.iter().any(|(s, _)| *s == state), "{state:?}");
        }
        for kind in BackupKind::ALL {
            assert!(!kind_label(kind).is_empty());
        }
    }
}
