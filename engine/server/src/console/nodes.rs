//! `GET /ui/nodes`: who holds what across the nodes sharing the store (the
//! API's `GET /nodes`, drawn): each node with the executions it holds and
//! whether its leases are renewed, the executions waiting for a node, and
//! the limit pools with the steps holding and awaiting their slots.

use std::fmt::Write as _;

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::badge;
use super::escape::{escape, shorten};
use super::list::short_id;
use super::page::{self, Section};
use super::when;
use crate::error::ApiError;
use crate::routes::nodes::{NodesView, PoolStepView, PoolView, nodes};
use crate::state::AppState;

pub(crate) async fn show(State(state): State<AppState>) -> Result<Response, ApiError> {
    let view = nodes(&state).await?;
    Ok(page::respond(page::document(
        "Nodes and limits",
        Section::Nodes,
        &render(&view, Utc::now()),
    )))
}

fn render(view: &NodesView, now: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str("<h1>Nodes and limits</h1>\n");
    // Read again by the script every few seconds (leases move on).
    out.push_str(r#"<div id="live" data-refresh-every="5">"#);
    this_node(&mut out, view);
    node_table(&mut out, view);
    pools(&mut out, &view.pools, now);
    executions(&mut out, view);
    if view.truncated {
        out.push_str(
            r#"<p class="muted">Only the first 1,000 executions and pool rows are shown.</p>"#,
        );
    }
    out.push_str("</div>\n");
    out
}

fn this_node(out: &mut String, view: &NodesView) {
    let me = &view.this_node;
    let _ = write!(
        out,
        r#"<p>This page was answered by node <code title="{id}">{short}</code> on <b>{host}</b> (pid {pid}), running <b data-role="running">{running}</b> of at most {max} executions.</p>"#,
        id = escape(&me.id),
        short = escape(&shorten(&me.id, 13)),
        host = escape(&me.host),
        pid = me.pid,
        running = me.running,
        max = me.max_executions,
    );
}

/// A mark with an icon and a word beside its colour (the class of a state
/// that looks the same).
fn mark(look: &str, icon: &str, word: &str) -> String {
    format!(
        r#"<span class="badge {}"><span class="icon" aria-hidden="true">{icon}</span> <span class="label">{}</span></span>"#,
        badge::class(look),
        escape(word)
    )
}

fn node_table(out: &mut String, view: &NodesView) {
    out.push_str(concat!(
        r#"<h2>Nodes</h2><div class="table-wrap"><table class="nodes"><caption class="visually-hidden">Nodes holding executions</caption>"#,
        r#"<thead><tr><th scope="col">Node</th><th scope="col">Host</th><th scope="col">Pid</th>"#,
        r#"<th scope="col">Executions held</th><th scope="col">Lease until (UTC)</th><th scope="col">Lease</th></tr></thead><tbody>"#
    ));
    if view.nodes.is_empty() {
        out.push_str(
            r#"<tr><td colspan="6" class="empty">No node holds an execution now.</td></tr>"#,
        );
    }
    for node in &view.nodes {
        let lease = if node.expired {
            mark("failed", "✗", "expired: taken over")
        } else {
            mark("succeeded", "✓", "renewed")
        };
        let _ = write!(
            out,
            concat!(
                r#"<tr data-node="{id}"><td><code title="{id}">{short}</code>{me}</td><td>{host}</td><td>{pid}</td>"#,
                r#"<td>{held}</td><td>{until}</td><td>{lease}</td></tr>"#
            ),
            id = escape(&node.id),
            short = escape(&shorten(&node.id, 13)),
            me = if node.this_node { " (this node)" } else { "" },
            host = escape(&node.host),
            pid = node.pid,
            held = node.executions,
            until = when::time(Some(node.lease_until)),
            lease = lease,
        );
    }
    out.push_str("</tbody></table></div>\n");
    let _ = write!(
        out,
        r#"<p>Waiting for a node with room: <a href="/ui/executions?state=queued"><b data-role="waiting-for-a-node">{}</b></a> executions.</p>"#,
        view.waiting_for_a_node
    );
}

fn pools(out: &mut String, pools: &[PoolView], now: DateTime<Utc>) {
    out.push_str("<h2>Limit pools</h2>\n");
    if pools.is_empty() {
        out.push_str(concat!(
            r#"<p class="muted">No pool: steps with <code>limit:</code> wait for slots of the pools "#,
            r#"named in the config file's <code>limits:</code> (docs/configuration.md).</p>"#
        ));
        return;
    }
    out.push_str(concat!(
        r#"<div class="table-wrap"><table class="pools"><caption class="visually-hidden">Limit pools</caption>"#,
        r#"<thead><tr><th scope="col">Pool</th><th scope="col">Slots</th><th scope="col">In use</th>"#,
        r#"<th scope="col">Waiting</th><th scope="col">Holding</th><th scope="col">Next in line</th></tr></thead><tbody>"#
    ));
    for pool in pools {
        let in_use = pool.held.iter().filter(|s| s.live).count();
        let capacity = pool
            .capacity
            .map_or_else(|| "not configured".to_owned(), |c| c.to_string());
        let _ = write!(
            out,
            r#"<tr data-pool="{name}"><th scope="row"><code>{name}</code></th><td>{capacity}</td><td data-role="in-use">{in_use}</td><td data-role="waiting">{waiting}</td><td>"#,
            name = escape(&pool.name),
            capacity = escape(&capacity),
            waiting = pool.waiting.len(),
        );
        steps(out, &pool.held, now);
        out.push_str("</td><td>");
        steps(out, &pool.waiting, now);
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table></div>\n");
}

/// The steps of a pool, each a link to its panel on its execution's page,
/// with how long it has been there; a row whose node is gone says so.
fn steps(out: &mut String, steps: &[PoolStepView], now: DateTime<Utc>) {
    if steps.is_empty() {
        out.push_str(r#"<span class="muted">none</span>"#);
        return;
    }
    out.push_str(r#"<ol class="pool-steps">"#);
    for step in steps {
        let _ = write!(
            out,
            r#"<li><a href="/ui/executions/{id}#step-{anchor}" title="{id}"><code>{short}</code> {step}</a> <span class="muted">{since}</span>{stale}</li>"#,
            id = escape(&step.execution),
            // An item (`snap[3]`) is drawn in its step's panel.
            anchor = escape(step.step.split('[').next().unwrap_or_default()),
            short = escape(short_id(&step.execution)),
            step = escape(&step.step),
            since = escape(&when::span(Some(step.since), None, now)),
            stale = if step.live {
                String::new()
            } else {
                format!(" {}", mark("canceled", "⊘", "node gone"))
            },
        );
    }
    out.push_str("</ol>");
}

fn executions(out: &mut String, view: &NodesView) {
    out.push_str(concat!(
        r#"<h2>Executions not ended</h2><div class="table-wrap"><table class="held"><caption class="visually-hidden">Executions not ended, oldest first</caption>"#,
        r#"<thead><tr><th scope="col">Execution</th><th scope="col">Workflow</th><th scope="col">State</th>"#,
        r#"<th scope="col">Node</th></tr></thead><tbody>"#
    ));
    if view.executions.is_empty() {
        out.push_str(r#"<tr><td colspan="4" class="empty">Every execution has ended.</td></tr>"#);
    }
    for held in &view.executions {
        let node = held.node.as_ref().map_or_else(
            || r#"<span class="muted">waiting for a node</span>"#.to_owned(),
            |node| {
                format!(
                    r#"<code title="{}">{}</code>"#,
                    escape(node),
                    escape(&shorten(node, 13))
                )
            },
        );
        let _ = write!(
            out,
            concat!(
                r#"<tr data-execution-id="{id}"><td><a href="/ui/executions/{id}" title="{id}"><code>{short}</code></a></td>"#,
                r#"<td>{workflow}</td><td class="{class}">{badge}</td><td>{node}</td></tr>"#
            ),
            id = escape(&held.id),
            short = escape(short_id(&held.id)),
            workflow = escape(&held.workflow),
            class = badge::class(&held.state),
            badge = badge::badge(&held.state),
            node = node,
        );
    }
    out.push_str("</tbody></table></div>\n");
}
