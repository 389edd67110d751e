//! Drawing a plan: plain text, Graphviz dot and Mermaid.
//!
//! Implied dependencies are marked, `finally` steps and `compensate`
//! actions are drawn apart from ordinary steps, and every format marks a
//! step's `for_each`, `if`, `finally` and `on_error: continue`.

use std::fmt::Write as _;

use crate::model::{ActionCall, Step};
use crate::plan::{EdgeKind, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Text,
    Dot,
    Mermaid,
}

pub fn render(plan: &Plan, format: GraphFormat) -> String {
    match format {
        GraphFormat::Text => text(plan),
        GraphFormat::Dot => dot(plan),
        GraphFormat::Mermaid => mermaid(plan),
    }
}

fn action_label(call: &ActionCall) -> String {
    match &call.action {
        crate::model::ActionRef::Builtin(name) => name.clone(),
        crate::model::ActionRef::Wasm(wasm) => format!("wasm {}", wasm.module),
    }
}

/// What changes how a step runs, as every format marks it.
fn marks(step: &Step) -> Vec<String> {
    let mut marks = Vec::new();
    if step.for_each.is_some() {
        marks.push(match step.concurrency {
            Some(n) => format!("for_each, {n} at once"),
            None => "for_each".to_owned(),
        });
    }
    if step.condition.is_some() {
        marks.push("if".to_owned());
    }
    if step.finally {
        marks.push("finally".to_owned());
    }
    if step.on_error == crate::model::OnError::Continue {
        marks.push("on_error: continue".to_owned());
    }
    marks
}

fn text(plan: &Plan) -> String {
    let workflow = &plan.workflow;
    let mut out = format!(
        "workflow {} ({} steps, {} levels, hash {})\n",
        workflow.name,
        workflow.steps.len(),
        plan.levels.len(),
        plan.hash.short()
    );
    for (level, ids) in plan.levels.iter().enumerate() {
        let _ = writeln!(out, "level {level}:");
        for id in ids {
            let step = &workflow.steps[id];
            let _ = write!(out, "  {id}  [{}]", action_label(&step.call));
            let marks = marks(step);
            if !marks.is_empty() {
                let _ = write!(out, "  ({})", marks.join(", "));
            }
            out.push('\n');
            let deps = plan.dependencies(id);
            if !deps.is_empty() {
                let listed: Vec<String> = deps
                    .iter()
                    .map(|(dep, kind)| match kind {
                        EdgeKind::Needs => dep.to_string(),
                        EdgeKind::Implied => format!("{dep} (implied)"),
                    })
                    .collect();
                let verb = if step.finally { "after" } else { "needs" };
                let _ = writeln!(out, "      {verb}: {}", listed.join(", "));
            }
            if let Some(compensate) = &step.compensate {
                let _ = writeln!(out, "      compensate: [{}]", action_label(compensate));
            }
        }
    }
    out
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(plan: &Plan) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=TB;\n  node [shape=box, style=rounded];\n",
        dot_escape(plan.workflow.name.as_str())
    );
    for step in plan.workflow.steps.values() {
        let style = if step.finally {
            ", style=\"rounded,dashed\""
        } else {
            ""
        };
        let marks = marks(step);
        let xlabel = if marks.is_empty() {
            String::new()
        } else {
            format!(", xlabel=\"{}\"", dot_escape(&marks.join(", ")))
        };
        let _ = writeln!(
            out,
            "  \"{id}\" [label=\"{id}\\n{action}\"{style}{xlabel}];",
            id = dot_escape(step.id.as_str()),
            action = dot_escape(&action_label(&step.call)),
        );
        if let Some(compensate) = &step.compensate {
            let _ = writeln!(
                out,
                "  \"{id}.compensate\" [label=\"undo {id}\\n{action}\", shape=note, color=firebrick];\n  \"{id}\" -> \"{id}.compensate\" [style=dotted, color=firebrick, label=\"compensate\"];",
                id = dot_escape(step.id.as_str()),
                action = dot_escape(&action_label(compensate)),
            );
        }
    }
    for (from, to, kind) in plan.edges() {
        let target_finally = plan.workflow.steps[to].finally;
        let attributes = match (kind, target_finally) {
            (EdgeKind::Implied, _) => " [style=dashed, label=\"implied\"]",
            (EdgeKind::Needs, true) => " [color=gray40, label=\"finally\"]",
            (EdgeKind::Needs, false) => "",
        };
        let _ = writeln!(
            out,
            "  \"{}\" -> \"{}\"{attributes};",
            dot_escape(from.as_str()),
            dot_escape(to.as_str())
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid_label(text: &str) -> String {
    text.replace('"', "#quot;")
}

/// A step's node id in Mermaid: prefixed, because a step may be called
/// what Mermaid reads as a keyword (`end`, `subgraph`, `graph`, `style`,
/// `click`, ...), which breaks the whole chart. The label keeps the name.
fn mermaid_id(id: &str) -> String {
    format!("s_{id}")
}

fn mermaid_node(step: &Step) -> String {
    let marks = marks(step);
    let mut label = format!("{}<br/>{}", step.id, action_label(&step.call));
    if !marks.is_empty() {
        let _ = write!(label, "<br/>({})", marks.join(", "));
    }
    let label = mermaid_label(&label);
    let id = mermaid_id(step.id.as_str());
    if step.finally {
        format!("  {id}{{{{\"{label}\"}}}}")
    } else {
        format!("  {id}[\"{label}\"]")
    }
}

fn mermaid(plan: &Plan) -> String {
    let mut out = format!("%% workflow {}\nflowchart TD\n", plan.workflow.name);
    for step in plan.workflow.steps.values() {
        out.push_str(&mermaid_node(step));
        out.push('\n');
        if let Some(compensate) = &step.compensate {
            let _ = writeln!(
                out,
                "  {id}__compensate[/\"undo: {action}\"/]\n  {id} -. compensate .-> {id}__compensate",
                id = mermaid_id(step.id.as_str()),
                action = mermaid_label(&action_label(compensate)),
            );
        }
    }
    for (from, to, kind) in plan.edges() {
        let arrow = match kind {
            EdgeKind::Implied => "-. implied .->",
            EdgeKind::Needs => "-->",
        };
        let (from, to) = (mermaid_id(from.as_str()), mermaid_id(to.as_str()));
        let _ = writeln!(out, "  {from} {arrow} {to}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Catalog, Source, compile};

    #[test]
    fn mermaid_keywords_as_step_names_do_not_break_the_chart() {
        let source = Source::new(
            "g.yaml",
            "version: 1\nname: g\nsteps:\n  end: {uses: core.noop}\n  subgraph: {uses: core.noop, needs: [end]}\n",
        );
        let plan = compile(&source, &Catalog::with_core()).unwrap();
        let chart = render(&plan, GraphFormat::Mermaid);
        assert!(chart.contains("  s_end[\"end<br/>core.noop\"]"), "{chart}");
        assert!(chart.contains("  s_end --> s_subgraph"), "{chart}");
        assert!(
            !chart
                .lines()
                .any(|line| line.trim_start().starts_with("end")),
            "no line may start with the keyword: {chart}"
        );
    }
}
