//! The compiled form: the workflow's steps as a petgraph DAG, in
//! topological levels, with a content hash.

use std::collections::{HashMap, VecDeque};
use std::fmt;

use indexmap::IndexMap;
use petgraph::Direction;
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::diagnostic::Diagnostic;
use crate::model::{Step, StepId, Workflow};
use crate::path::YamlPath;
use crate::raw::RawWorkflow;

/// Why one step waits for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// Written in `needs`.
    Needs,
    /// Added because an expression reads the other step (or a `finally`
    /// step with no `needs` waits for every other step).
    Implied,
}

/// SHA-256 of the workflow's content: the same for the same meaning,
/// whatever the key order, comments or whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PlanHash(String);

impl PlanHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 hex digits, for display.
    pub fn short(&self) -> &str {
        &self.0[..12.min(self.0.len())]
    }
}

impl fmt::Display for PlanHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A compiled workflow, ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub workflow: Workflow,
    /// Edges point from a dependency to the step that needs it.
    pub graph: DiGraph<StepId, EdgeKind>,
    index: HashMap<StepId, NodeIndex>,
    /// Steps by level: a step's level is one more than its deepest dependency's.
    pub levels: Vec<Vec<StepId>>,
    pub hash: PlanHash,
}

impl Plan {
    pub(crate) fn build(
        workflow: Workflow,
        hash: PlanHash,
        errs: &mut Vec<Diagnostic>,
    ) -> Option<Self> {
        let (graph, index) = graph_of(&workflow.steps);
        let Ok(order) = toposort(&graph, None) else {
            report_cycles(&graph, &workflow.steps, errs);
            return None;
        };
        let mut level_of = vec![0usize; graph.node_count()];
        let mut levels: Vec<Vec<StepId>> = Vec::new();
        for node in order {
            let level = graph
                .neighbors_directed(node, Direction::Incoming)
                .map(|dep| level_of[dep.index()] + 1)
                .max()
                .unwrap_or(0);
            level_of[node.index()] = level;
            if levels.len() <= level {
                levels.resize_with(level + 1, Vec::new);
            }
            levels[level].push(graph[node].clone());
        }
        // Within a level, keep the order the steps are written in.
        for level in &mut levels {
            level.sort_by_key(|id| workflow.steps.get_index_of(id));
        }
        Some(Self {
            workflow,
            graph,
            index,
            levels,
            hash,
        })
    }

    pub fn step(&self, id: &StepId) -> Option<&Step> {
        self.workflow.steps.get(id)
    }

    pub fn node(&self, id: &StepId) -> Option<NodeIndex> {
        self.index.get(id).copied()
    }

    /// The steps `id` waits for, with why.
    pub fn dependencies(&self, id: &StepId) -> Vec<(&StepId, EdgeKind)> {
        let Some(node) = self.node(id) else {
            return Vec::new();
        };
        let mut deps: Vec<_> = self
            .graph
            .edges_directed(node, Direction::Incoming)
            .map(|edge| (&self.graph[edge.source()], *edge.weight()))
            .collect();
        deps.reverse();
        deps
    }

    /// The steps that wait for `id`.
    pub fn dependants(&self, id: &StepId) -> impl Iterator<Item = &StepId> {
        self.node(id)
            .into_iter()
            .flat_map(|node| self.graph.neighbors_directed(node, Direction::Outgoing))
            .map(|next| &self.graph[next])
    }

    /// Every edge as (dependency, dependant, kind), in step order.
    pub fn edges(&self) -> Vec<(&StepId, &StepId, EdgeKind)> {
        self.workflow
            .steps
            .keys()
            .flat_map(|id| {
                self.dependencies(id)
                    .into_iter()
                    .map(move |(dep, kind)| (dep, id, kind))
            })
            .collect()
    }
}

type StepGraph = DiGraph<StepId, EdgeKind>;

/// The dependency graph of `steps`; edges go from a dependency to its dependant.
fn graph_of(steps: &IndexMap<StepId, Step>) -> (StepGraph, HashMap<StepId, NodeIndex>) {
    let mut graph = DiGraph::with_capacity(steps.len(), steps.len());
    let mut index = HashMap::with_capacity(steps.len());
    for id in steps.keys() {
        index.insert(id.clone(), graph.add_node(id.clone()));
    }
    for step in steps.values() {
        let to = index[&step.id];
        for need in &step.needs {
            let kind = if step.implied_needs.contains(need) {
                EdgeKind::Implied
            } else {
                EdgeKind::Needs
            };
            if let Some(&from) = index.get(need) {
                graph.add_edge(from, to, kind);
            }
        }
    }
    (graph, index)
}

/// Reports cycles among `steps`; used when other errors stop compilation
/// before a plan is built, so cycles are still reported with them.
pub(crate) fn check_cycles(steps: &IndexMap<StepId, Step>, errs: &mut Vec<Diagnostic>) {
    let (graph, _) = graph_of(steps);
    if toposort(&graph, None).is_err() {
        report_cycles(&graph, steps, errs);
    }
}

/// Reports each cycle once, as the chain of `needs` that closes it.
fn report_cycles(graph: &StepGraph, steps: &IndexMap<StepId, Step>, errs: &mut Vec<Diagnostic>) {
    for component in tarjan_scc(graph) {
        if component.len() < 2 {
            continue;
        }
        let Some(&start) = component.iter().min_by_key(|n| n.index()) else {
            continue;
        };
        let chain = needs_cycle(graph, start, &component);
        let names: Vec<&str> = chain.iter().map(|&n| graph[n].as_str()).collect();
        let first = &graph[start];
        let second = chain.get(1).map(|&n| &graph[n]);
        let step = &steps[first];
        let implied = second.is_some_and(|s| step.implied_needs.contains(s));
        let path = YamlPath::root().key("steps").key(first.as_str());
        let mut diagnostic = Diagnostic::error(
            "cycle",
            format!(
                "steps depend on each other in a cycle: {}",
                names.join(" -> ")
            ),
        );
        if implied {
            let second = second.map_or("", StepId::as_str);
            diagnostic = diagnostic
                .at_key(&path)
                .with_help(format!("`{first}` reads `steps.{second}` in an expression, which makes it wait for `{second}`"));
        } else {
            diagnostic = diagnostic.at_key(&path.key("needs")).with_help(
                "each step in the chain needs the next one; remove one of these dependencies",
            );
        }
        errs.push(diagnostic);
    }
}

/// A shortest cycle through `start`, following "needs" (edges backwards).
fn needs_cycle(
    graph: &DiGraph<StepId, EdgeKind>,
    start: NodeIndex,
    component: &[NodeIndex],
) -> Vec<NodeIndex> {
    let mut came_from: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in graph.neighbors_directed(node, Direction::Incoming) {
            if !component.contains(&next) {
                continue;
            }
            if next == start {
                let mut chain = vec![start];
                let mut at = node;
                while at != start {
                    chain.push(at);
                    at = came_from[&at];
                }
                chain[1..].reverse();
                chain.push(start);
                return chain;
            }
            if let std::collections::hash_map::Entry::Vacant(entry) = came_from.entry(next) {
                entry.insert(node);
                queue.push_back(next);
            }
        }
    }
    vec![start, start]
}

/// SHA-256 of the raw workflow serialized as compact JSON: struct fields in
/// declaration order, maps sorted by key (`raw_map::sorted`, and `serde_json`'s
/// own map for free-form values), defaults filled in. So the same meaning
/// hashes the same whatever the key order, comments or whitespace. Streamed
/// into the hasher: no intermediate tree.
pub(crate) fn content_hash(raw: &RawWorkflow) -> PlanHash {
    struct HashWriter(Sha256);
    impl std::io::Write for HashWriter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // Buffered: serde_json writes a few bytes at a time, and each hasher
    // update has a fixed cost.
    let mut writer = std::io::BufWriter::with_capacity(64 << 10, HashWriter(Sha256::new()));
    serde_json::to_writer(&mut writer, raw).expect("raw workflows are plain data");
    let hasher = match writer.into_inner() {
        Ok(inner) => inner.0,
        Err(_) => unreachable!("writing to a hasher cannot fail"),
    };
    PlanHash(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    /// The plan hash relies on `serde_json` keeping free-form maps sorted; a
    /// dependency turning on its `preserve_order` feature would break that.
    #[test]
    fn serde_json_maps_are_sorted() {
        let value: serde_json::Value = serde_json::from_str(r#"{"b": 1, "a": 2}"#).unwrap();
        assert_eq!(value.to_string(), r#"{"a":2,"b":1}"#);
    }
}
