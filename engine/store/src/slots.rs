//! Whose turn it is in a limit pool: the one rule every backend applies
//! to the pool's rows, read under the pool's lock (PostgreSQL: an advisory
//! lock per pool; SQLite and memory: their single writer).
//!
//! A row is a step holding a slot, or waiting in line for one, under a
//! claim of its execution. It counts only while that claim runs under a
//! live lease: a node that died, or an execution claimed anew since,
//! leaves rows that no longer count and are deleted at the next turn.

use shutter_core::record::Timestamp;

/// One step's row in a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotRow {
    pub(crate) execution: String,
    pub(crate) step: String,
    /// The claim it was taken under.
    pub(crate) epoch: u64,
    /// When the step first asked: the line's order.
    pub(crate) since: Timestamp,
    pub(crate) held: bool,
    /// Its execution runs at `epoch` under a live lease.
    pub(crate) live: bool,
}

/// What a request for a slot decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Turn {
    /// Rows that no longer count, to delete: `(execution, step)`.
    pub(crate) dead: Vec<(String, String)>,
    /// The asking step's row, to write (held when it got a slot).
    pub(crate) mine: SlotRow,
}

impl Turn {
    pub(crate) fn granted(&self) -> bool {
        self.mine.held
    }
}

/// The asking step's turn among `rows` (every row of the pool): it holds
/// a slot when it held one under this claim already, or when fewer than
/// `capacity` steps hold one plus wait ahead of it.
pub(crate) fn turn(
    rows: Vec<SlotRow>,
    execution: &str,
    step: &str,
    epoch: u64,
    capacity: u32,
    now: Timestamp,
) -> Turn {
    let mut dead = Vec::new();
    let mut others = Vec::new();
    let mut earlier: Option<SlotRow> = None;
    for row in rows {
        if row.execution == execution && row.step == step {
            earlier = Some(row);
        } else if row.live {
            others.push(row);
        } else {
            dead.push((row.execution, row.step));
        }
    }
    // A row of an earlier claim keeps its place in line, not its slot.
    let held_already = earlier
        .as_ref()
        .is_some_and(|row| row.held && row.epoch == epoch);
    let since = earlier.map_or(now, |row| row.since);
    let mut mine = SlotRow {
        execution: execution.to_owned(),
        step: step.to_owned(),
        epoch,
        since,
        held: held_already,
        live: true,
    };
    if !held_already {
        let order = |row: &SlotRow| (row.since, row.execution.clone(), row.step.clone());
        let my_place = order(&mine);
        let held = others.iter().filter(|row| row.held).count();
        let ahead = others
            .iter()
            .filter(|row| !row.held && order(row) < my_place)
            .count();
        mine.held = held + ahead < capacity as usize;
    }
    Turn { dead, mine }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn row(execution: &str, since: i64, held: bool, live: bool) -> SlotRow {
        SlotRow {
            execution: execution.to_owned(),
            step: "snap".to_owned(),
            epoch: 1,
            since: Utc::now() - Duration::seconds(since),
            held,
            live,
        }
    }

    #[test]
    fn a_free_slot_goes_to_the_first_in_line() {
        let now = Utc::now();
        // One of two slots held; "b" waits since before "me" asked.
        let rows = vec![row("a", 10, true, true), row("b", 5, false, true)];
        let mine = turn(rows.clone(), "me", "snap", 1, 2, now);
        assert!(!mine.granted(), "b is ahead");
        let since = rows[1].since;
        let b = turn(rows, "b", "snap", 1, 2, now);
        assert!(b.granted());
        assert_eq!(b.mine.since, since, "its place in line is kept");
    }

    #[test]
    fn rows_of_dead_leases_count_for_nothing_and_are_deleted() {
        let now = Utc::now();
        let rows = vec![row("dead", 10, true, false), row("a", 9, true, true)];
        let turn = turn(rows, "me", "snap", 1, 2, now);
        assert!(turn.granted());
        assert_eq!(turn.dead, vec![("dead".to_owned(), "snap".to_owned())]);
    }

    #[test]
    fn a_slot_held_under_a_past_claim_is_asked_for_again_in_its_place() {
        let now = Utc::now();
        let mut mine = row("me", 20, true, false);
        mine.epoch = 1;
        let rows = vec![
            mine.clone(),
            row("a", 9, true, true),
            row("b", 5, false, true),
        ];
        // Claimed anew at epoch 2: the old slot is not kept, but its place
        // (before b) is, and one of two slots is free.
        let turn = turn(rows, "me", "snap", 2, 2, now);
        assert!(turn.granted());
        assert_eq!(turn.mine.since, mine.since);
        assert_eq!(turn.mine.epoch, 2);
        let full = vec![row("a", 9, true, true), row("c", 8, true, true)];
        assert!(!super::turn(full, "me", "snap", 2, 2, now).granted());
    }
}
