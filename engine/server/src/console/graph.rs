//! The execution's DAG as inline SVG: the compiled plan's steps and edges,
//! placed by [`layout`](super::layout), each box coloured and labelled
//! with its step's state. Each node is `<g class="node state-X"
//! data-step="ID">`, which the script updates in place as the execution
//! moves, and a link to the step's details below the graph.

use std::collections::HashMap;
use std::fmt::Write as _;

use shutter_core::StepRecord;
use shutter_dsl::Plan;
use shutter_dsl::model::{OnError, Step};

use super::badge;
use super::escape::{escape, shorten};
use super::layout::{BOX_HEIGHT, BOX_WIDTH, Placed, edge_path, layout};

/// Longest step id drawn whole in a box; longer ones end in `…` (the
/// whole id is in the node's title and in the steps table).
const SHOWN_ID: usize = 22;

/// What the graph says of one step beyond its state.
#[derive(Debug, Default)]
struct Marks {
    finally: bool,
    continues: bool,
    compensates: bool,
    /// A `for_each` step: items ended, and items in all once expanded.
    items: Option<(usize, Option<usize>)>,
}

/// The SVG of `plan`, coloured by `steps` (the execution's step records;
/// a step without one is drawn `pending`).
pub(crate) fn svg(plan: &Plan, steps: &[StepRecord]) -> String {
    let ids: Vec<&str> = plan.workflow.steps.keys().map(|id| id.as_str()).collect();
    let index: HashMap<&str, usize> = ids.iter().enumerate().map(|(n, id)| (*id, n)).collect();
    let edges: Vec<(usize, usize, bool)> = plan
        .edges()
        .into_iter()
        .filter_map(|(from, to, kind)| {
            let implied = matches!(kind, shutter_dsl::EdgeKind::Implied);
            Some((
                *index.get(from.as_str())?,
                *index.get(to.as_str())?,
                implied,
            ))
        })
        .collect();
    let pairs: Vec<(usize, usize)> = edges.iter().map(|&(from, to, _)| (from, to)).collect();
    let drawn = layout(ids.len(), &pairs);

    let states = step_states(steps);
    let mut out = String::with_capacity(512 * ids.len() + 512);
    let _ = write!(
        out,
        r#"<svg class="dag" xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="group" aria-label="Steps of the workflow, left to right in the order they run">"#,
        w = drawn.width,
        h = drawn.height,
    );
    out.push_str(r#"<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="8" markerHeight="8" orient="auto"><path class="arrow" d="M0 0 L8 4 L0 8 z"/></marker></defs>"#);
    for &(from, to, implied) in &edges {
        let class = if implied { "edge implied" } else { "edge" };
        let _ = write!(
            out,
            r#"<path class="{class}" d="{}" marker-end="url(#arrow)"/>"#,
            edge_path(&drawn.nodes[from], &drawn.nodes[to])
        );
    }
    // `ids` came from the same map in the same order: `n` is the step's
    // index in the layout.
    for (n, step) in plan.workflow.steps.values().enumerate() {
        let id = step.id.as_str();
        let state = states.get(id).copied().unwrap_or("pending");
        node(&mut out, id, state, &marks(step, steps), &drawn.nodes[n]);
    }
    out.push_str("</svg>");
    out
}

/// The state of each step (not of its `for_each` items), by id.
fn step_states(steps: &[StepRecord]) -> HashMap<&str, &'static str> {
    steps
        .iter()
        .filter(|record| record.key.item.is_none())
        .map(|record| (record.key.step.as_str(), record.state.as_str()))
        .collect()
}

fn marks(step: &Step, steps: &[StepRecord]) -> Marks {
    let id = step.id.as_str();
    let items = step.for_each.as_ref().map(|_| {
        let total = steps
            .iter()
            .find(|r| r.key.item.is_none() && r.key.step == id)
            .and_then(|r| r.items.as_ref())
            .map(Vec::len);
        let ended = steps
            .iter()
            .filter(|r| r.key.item.is_some() && r.key.step == id && r.state.is_terminal())
            .count();
        (ended, total)
    });
    Marks {
        finally: step.finally,
        continues: matches!(step.on_error, OnError::Continue),
        compensates: step.compensate.is_some(),
        items,
    }
}

/// One box: its id, its state (icon and word) and its marks. The `<g>`
/// carries only the class and the step id (what the script and the tests
/// look for); what else the box is (`finally`, `for_each` counts) is on
/// the link inside it, so CSS can mark it too.
fn node(out: &mut String, id: &str, state: &str, marks: &Marks, at: &Placed) {
    let shown = shorten(id, SHOWN_ID);
    let mut notes = Vec::new();
    let mut flags = String::new();
    if marks.finally {
        notes.push("finally");
        flags.push_str(" data-finally");
    }
    if marks.continues {
        notes.push("on error: continue");
        flags.push_str(" data-continues");
    }
    if marks.compensates {
        notes.push("compensates");
    }
    let items = match marks.items {
        Some((ended, Some(total))) => {
            let _ = write!(flags, r#" data-items="{total}""#);
            format!(" · {ended}/{total} items")
        }
        Some((_, None)) => {
            flags.push_str(r#" data-items="""#);
            " · for each".to_owned()
        }
        None => String::new(),
    };
    let notes_text: String = notes.iter().map(|note| format!(" · {note}")).collect();
    let label = badge::label(state);
    let (x, y) = (at.x, at.y);
    let _ = write!(
        out,
        concat!(
            r#"<g class="node {class}" data-step="{id}">"#,
            r##"<a href="#step-{id}" class="node-link"{flags}>"##,
            r#"<title>{id}: {label}{notes}{items}</title>"#,
            r#"<rect class="box" x="{x}" y="{y}" width="{w}" height="{h}" rx="6"/>"#,
            r#"<text class="step-id" x="{tx}" y="{ty1}">{shown}</text>"#,
            r#"<text class="step-meta" x="{tx}" y="{ty2}">"#,
            r#"<tspan class="state-label">{icon} {label}</tspan>"#,
            r#"<tspan class="items">{items}</tspan><tspan class="notes">{notes}</tspan>"#,
            "</text></a></g>"
        ),
        class = badge::class(state),
        id = escape(id),
        flags = flags,
        label = escape(&label),
        notes = escape(&notes_text),
        items = escape(&items),
        x = x,
        y = y,
        w = BOX_WIDTH,
        h = BOX_HEIGHT,
        tx = x + 10,
        ty1 = y + 19,
        ty2 = y + 38,
        shown = escape(&shown),
        icon = badge::icon(state),
    );
}
