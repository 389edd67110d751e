//! `/nodes`: the engines sharing the store, what each holds, and the limit
//! pools (`limit:`) with the steps holding and awaiting their slots. Read
//! from the store, so every node answers for the whole cluster; a node
//! that holds nothing leaves no trace there and is not listed (but for the
//! one answering).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shutter_core::limits::{LIMITS_SECTION, LimitPools};
use shutter_core::{Occupancy, Owner, PoolRow};
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// What `GET /nodes` answers.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct NodesView {
    /// The node that answered.
    pub this_node: ThisNodeView,
    /// Engines holding executions now, by id. (An engine that holds none
    /// leaves no trace in the store.)
    pub nodes: Vec<NodeView>,
    /// Executions not ended, oldest first (at most 1,000), with the node
    /// holding each.
    pub executions: Vec<HeldExecutionView>,
    /// Of those, how many wait for a node with room to take them.
    pub waiting_for_a_node: usize,
    /// Limit pools: those of the answering node's config file and any with
    /// steps in them.
    pub pools: Vec<PoolView>,
    /// Whether `executions` or the pools' rows were cut at 1,000.
    pub truncated: bool,
}

/// The node that answered.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct ThisNodeView {
    /// Unique per start of `shutter serve`.
    pub id: String,
    pub host: String,
    pub pid: u32,
    /// Executions it runs now, and at most (`--max-executions`).
    pub running: usize,
    pub max_executions: usize,
}

/// An engine holding executions.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct NodeView {
    pub id: String,
    pub host: String,
    pub pid: u32,
    /// Executions it holds.
    pub executions: usize,
    /// When its latest lease runs out (renewed while it lives).
    pub lease_until: DateTime<Utc>,
    /// Every lease it holds ran out: the node is gone or stalled, and
    /// another takes its executions over.
    pub expired: bool,
    /// It is the node that answered.
    pub this_node: bool,
}

/// An execution not ended and who holds it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct HeldExecutionView {
    pub id: String,
    pub workflow: String,
    /// `queued` or `running`.
    pub state: String,
    /// The node holding it; absent: waiting for a node with room.
    pub node: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
}

/// A limit pool and the steps in it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct PoolView {
    pub name: String,
    /// Its slots, from the answering node's config file (a pattern such as
    /// `nova:*` sizes every pool it matches); absent when it names none.
    pub capacity: Option<u32>,
    /// Steps holding a slot.
    pub held: Vec<PoolStepView>,
    /// Steps in line, in their order.
    pub waiting: Vec<PoolStepView>,
}

/// A step in a pool.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct PoolStepView {
    pub execution: String,
    pub step: String,
    /// When it first asked for a slot.
    pub since: DateTime<Utc>,
    /// False when its execution's node is gone: the row no longer counts
    /// and is dropped at the pool's next turn.
    pub live: bool,
}

/// Who holds what across the nodes sharing the store, and the limit
/// pools' slots.
#[utoipa::path(get, path = "/nodes", tag = "system", operation_id = "getNodes",
    responses((status = 200, body = NodesView), (status = 503, body = crate::views::ErrorBody)))]
pub(crate) async fn get(State(state): State<AppState>) -> Result<Json<NodesView>, ApiError> {
    Ok(Json(nodes(&state).await?))
}

/// The view, for the API and the console alike.
pub(crate) async fn nodes(state: &AppState) -> Result<NodesView, ApiError> {
    let occupancy = state.store().occupancy().await?;
    let engine = state.engine();
    let me = engine.owner();
    // A config file that cannot be read sizes no pool here; the steps that
    // need one say why when they run.
    let pools = engine
        .config()
        .config
        .load()
        .ok()
        .flatten()
        .and_then(|file| file.section::<LimitPools>(LIMITS_SECTION).ok().flatten())
        .unwrap_or_default();
    Ok(view(
        &occupancy,
        me,
        state.runner().count(),
        state.runner().max_running(),
        &pools,
        Utc::now(),
    ))
}

fn view(
    occupancy: &Occupancy,
    me: &Owner,
    running: usize,
    max_executions: usize,
    pools: &LimitPools,
    now: DateTime<Utc>,
) -> NodesView {
    let mut nodes: BTreeMap<&str, NodeView> = BTreeMap::new();
    for (owner, until) in occupancy.executions.iter().filter_map(|o| o.lease.as_ref()) {
        let node = nodes.entry(owner.id.as_str()).or_insert_with(|| NodeView {
            id: owner.id.clone(),
            host: owner.host.clone(),
            pid: owner.pid,
            executions: 0,
            lease_until: *until,
            expired: true,
            this_node: owner.id == me.id,
        });
        node.executions += 1;
        node.lease_until = node.lease_until.max(*until);
        node.expired = node.lease_until < now;
    }
    let executions: Vec<HeldExecutionView> = occupancy
        .executions
        .iter()
        .map(|o| HeldExecutionView {
            id: o.id.to_string(),
            workflow: o.workflow.clone(),
            state: o.state.as_str().to_owned(),
            node: o.lease.as_ref().map(|(owner, _)| owner.id.clone()),
            lease_until: o.lease.as_ref().map(|(_, until)| *until),
        })
        .collect();
    let waiting_for_a_node = executions.iter().filter(|e| e.node.is_none()).count();
    NodesView {
        this_node: ThisNodeView {
            id: me.id.clone(),
            host: me.host.clone(),
            pid: me.pid,
            running,
            max_executions,
        },
        nodes: nodes.into_values().collect(),
        truncated: occupancy.executions.len() >= shutter_core::occupancy::OCCUPANCY_ROWS
            || occupancy.slots.len() >= shutter_core::occupancy::OCCUPANCY_ROWS,
        executions,
        waiting_for_a_node,
        pools: pool_views(&occupancy.slots, pools),
    }
}

/// Every pool named in the config file (patterns too: they are what an
/// operator wrote) and every pool with rows, by name.
fn pool_views(rows: &[PoolRow], pools: &LimitPools) -> Vec<PoolView> {
    let mut by_name: BTreeMap<String, PoolView> = pools
        .names()
        .into_iter()
        .map(|name| (name.to_owned(), pool_view(name, pools)))
        .collect();
    for row in rows {
        let pool = by_name
            .entry(row.pool.clone())
            .or_insert_with(|| pool_view(&row.pool, pools));
        let step = PoolStepView {
            execution: row.execution.to_string(),
            step: row.step.clone(),
            since: row.since,
            live: row.live,
        };
        if row.held {
            pool.held.push(step);
        } else {
            pool.waiting.push(step);
        }
    }
    by_name.into_values().collect()
}

fn pool_view(name: &str, pools: &LimitPools) -> PoolView {
    PoolView {
        name: name.to_owned(),
        capacity: pools.capacity(name),
        held: Vec::new(),
        waiting: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;
    use shutter_core::{ExecutionId, ExecutionState, Occupant};

    use super::*;

    fn owner(id: &str) -> Owner {
        Owner {
            id: id.to_owned(),
            host: "h".to_owned(),
            pid: 7,
        }
    }

    #[test]
    fn nodes_are_grouped_from_leases_and_pools_sized_from_the_config() {
        let now = Utc::now();
        let (a, b, c) = (ExecutionId::new(), ExecutionId::new(), ExecutionId::new());
        let occupant = |id, lease| Occupant {
            id,
            workflow: "nightly".to_owned(),
            state: ExecutionState::Running,
            lease,
        };
        let occupancy = Occupancy {
            executions: vec![
                occupant(a, Some((owner("me"), now + TimeDelta::seconds(20)))),
                occupant(b, Some((owner("gone"), now - TimeDelta::seconds(5)))),
                occupant(c, None),
            ],
            slots: vec![
                PoolRow {
                    pool: "nova:east".to_owned(),
                    execution: a,
                    step: "snap[0]".to_owned(),
                    since: now,
                    held: true,
                    live: true,
                },
                PoolRow {
                    pool: "nova:east".to_owned(),
                    execution: b,
                    step: "snap[1]".to_owned(),
                    since: now,
                    held: false,
                    live: false,
                },
            ],
        };
        let pools = LimitPools::new([("nova:*".to_owned(), 2), ("vcenter-prod".to_owned(), 4)]);
        let seen = view(&occupancy, &owner("me"), 1, 8, &pools, now);
        let nodes: Vec<(&str, usize, bool, bool)> = seen
            .nodes
            .iter()
            .map(|n| (n.id.as_str(), n.executions, n.expired, n.this_node))
            .collect();
        assert_eq!(nodes, [("gone", 1, true, false), ("me", 1, false, true)]);
        assert_eq!(seen.waiting_for_a_node, 1);
        let pools: Vec<(&str, Option<u32>, usize, usize)> = seen
            .pools
            .iter()
            .map(|p| (p.name.as_str(), p.capacity, p.held.len(), p.waiting.len()))
            .collect();
        assert_eq!(
            pools,
            [
                ("nova:*", Some(2), 0, 0),
                ("nova:east", Some(2), 1, 1),
                ("vcenter-prod", Some(4), 0, 0)
            ]
        );
        assert!(!seen.truncated);
    }
}
