//! Who holds what ([`Occupancy`]), read the same way from SQLite and
//! PostgreSQL: one text for each query, the placeholder and the false
//! literal being the only differences, and one decoding of their rows.

use shutter_core::occupancy::{OCCUPANCY_ROWS, Occupant, PoolRow};
use shutter_core::{ExecutionState, Owner, StoreError};

use crate::codec::parse_time;

/// The unended executions and their leases, oldest first.
pub(crate) fn executions_sql() -> String {
    format!(
        "SELECT id, workflow, state, owner_id, owner_host, owner_pid, lease_until FROM executions
         WHERE state IN ('queued', 'running') ORDER BY id LIMIT {OCCUPANCY_ROWS}"
    )
}

/// Every pool's rows, holders first then the line, with whether each
/// counts (the rule `take_slot` applies): its execution runs at the row's
/// epoch under a lease not expired at `now` (`param` is its placeholder).
pub(crate) fn slots_sql(param: &str, false_literal: &str) -> String {
    format!(
        "SELECT s.pool, s.execution_id, s.step, s.since, s.held,
                COALESCE((SELECT e.epoch = s.epoch AND e.state IN ('queued', 'running')
                                 AND e.owner_id IS NOT NULL AND e.lease_until >= {param}
                          FROM executions e WHERE e.id = s.execution_id), {false_literal})
         FROM slots s ORDER BY s.pool, s.held DESC, s.since, s.execution_id, s.step
         LIMIT {OCCUPANCY_ROWS}"
    )
}

/// A row of [`executions_sql`], as read.
pub(crate) struct ExecutionRow {
    pub(crate) id: String,
    pub(crate) workflow: String,
    pub(crate) state: String,
    pub(crate) owner_id: Option<String>,
    pub(crate) owner_host: Option<String>,
    pub(crate) owner_pid: Option<i64>,
    pub(crate) lease_until: Option<String>,
}

impl ExecutionRow {
    pub(crate) fn decode(self) -> Result<Occupant, StoreError> {
        let corrupt = |what: &str| StoreError::Fatal(format!("execution {}: {what}", self.id));
        let id = self.id.parse().map_err(|_| corrupt("malformed id"))?;
        let state = ExecutionState::parse(&self.state).ok_or_else(|| corrupt("unknown state"))?;
        let lease = match (self.owner_id, self.lease_until) {
            (Some(owner), Some(until)) => Some((
                Owner {
                    id: owner,
                    host: self.owner_host.unwrap_or_default(),
                    pid: self
                        .owner_pid
                        .and_then(|pid| u32::try_from(pid).ok())
                        .unwrap_or(0),
                },
                parse_time(&until)?,
            )),
            _ => None,
        };
        Ok(Occupant {
            id,
            workflow: self.workflow,
            state,
            lease,
        })
    }
}

/// A row of [`slots_sql`], as read.
pub(crate) struct SlotRowRead {
    pub(crate) pool: String,
    pub(crate) execution: String,
    pub(crate) step: String,
    pub(crate) since: String,
    pub(crate) held: bool,
    pub(crate) live: bool,
}

impl SlotRowRead {
    /// `None` for a row whose execution id is not one (it cannot have been
    /// written by Shutter; shown nowhere rather than failing the page).
    pub(crate) fn decode(self) -> Result<Option<PoolRow>, StoreError> {
        let Ok(execution) = self.execution.parse() else {
            return Ok(None);
        };
        Ok(Some(PoolRow {
            pool: self.pool,
            execution,
            step: self.step,
            since: parse_time(&self.since)?,
            held: self.held,
            live: self.live,
        }))
    }
}
