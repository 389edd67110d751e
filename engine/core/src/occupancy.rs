//! Who holds what across the engines sharing a store: the unended
//! executions with the lease each runs under (or none: waiting for an
//! engine with room), and the rows of the limit pools (steps holding a
//! slot, steps in line for one). What an operator asks when backups are
//! late: which node has them, and which pool they wait for.

use crate::ids::ExecutionId;
use crate::record::Timestamp;
use crate::state::ExecutionState;
use crate::store::Owner;

/// At most this many executions and this many pool rows are read: enough
/// for any page a person reads, bounded for a store with a long queue.
pub const OCCUPANCY_ROWS: usize = 1000;

/// A picture of the store's leases and pools, read at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Occupancy {
    /// Unended executions, oldest first, at most [`OCCUPANCY_ROWS`].
    pub executions: Vec<Occupant>,
    /// Rows of every limit pool by pool, holders first then the line in
    /// its order, at most [`OCCUPANCY_ROWS`].
    pub slots: Vec<PoolRow>,
}

/// An execution that has not ended, and who runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occupant {
    pub id: ExecutionId,
    pub workflow: String,
    pub state: ExecutionState,
    /// The engine holding it and until when; `None`: released, waiting
    /// for an engine with room to claim it.
    pub lease: Option<(Owner, Timestamp)>,
}

/// A step's row in a limit pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRow {
    pub pool: String,
    pub execution: ExecutionId,
    pub step: String,
    /// When the step first asked: the line's order.
    pub since: Timestamp,
    /// Holds a slot (else waits in line for one).
    pub held: bool,
    /// Counts: its execution runs under the claim the row was taken with,
    /// under a lease not expired. A row that does not count (its node died)
    /// is dropped at the pool's next turn.
    pub live: bool,
}
