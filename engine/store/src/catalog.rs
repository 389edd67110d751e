//! The backup catalog's part of an append, the same for every backend: which
//! entries an append's changes touch, and what those entries become.

use std::collections::HashMap;

use indexmap::IndexSet;

use shutter_core::record::Timestamp;
use shutter_core::{
    Backup, BackupQuery, BackupRef, BackupState, Census, Change, ExecutionId, RestoreTest,
};

use crate::codec::{time, to_json};

/// The entries `changes` name outside every census's place, each once, in
/// the order first named: those to read one by one (a census's place is
/// read whole: see [`censused`]).
pub(crate) fn touched<'a>(changes: impl IntoIterator<Item = &'a Change> + Clone) -> Vec<BackupRef> {
    let places = censused(changes.clone());
    let mut refs: IndexSet<BackupRef> = IndexSet::new();
    for change in changes {
        match change {
            Change::BackupRecorded { backup, .. } => {
                refs.insert(backup.reference());
            }
            Change::BackupMarked { backup, .. } | Change::BackupTested { backup, .. } => {
                refs.insert(backup.clone());
            }
            _ => {}
        }
    }
    refs.into_iter()
        .filter(|r| !places.contains(&r.location))
        .collect()
}

/// The places (location keys) a census of `changes` counted: every entry
/// there must be read, since one not found becomes `missing`.
pub(crate) fn censused<'a>(changes: impl IntoIterator<Item = &'a Change>) -> Vec<String> {
    let places: IndexSet<String> = changes
        .into_iter()
        .filter_map(|change| match change {
            Change::BackupsCounted { census, .. } => Some(census.location.key()),
            _ => None,
        })
        .collect();
    places.into_iter().collect()
}

/// Folds `changes` (of `execution`, in order) into `entries` (the touched
/// entries the catalog holds): what to write back, in the order first
/// touched. A mark of an entry the catalog does not hold changes nothing.
pub(crate) fn fold<'a>(
    mut entries: HashMap<BackupRef, Backup>,
    changes: impl IntoIterator<Item = &'a Change>,
    execution: ExecutionId,
) -> Vec<Backup> {
    // A census names thousands: a set keeps this linear.
    let mut order: IndexSet<BackupRef> = IndexSet::new();
    for change in changes {
        let reference = match change {
            Change::BackupRecorded {
                key, backup, at, ..
            } => {
                let reference = backup.reference();
                let existing = entries.remove(&reference);
                let entry = Backup::fold(existing, backup, execution, key, *at);
                entries.insert(reference.clone(), entry);
                reference
            }
            Change::BackupMarked {
                backup, state, at, ..
            } => {
                let Some(existing) = entries.remove(backup) else {
                    continue;
                };
                entries.insert(backup.clone(), existing.marked(*state, *at));
                backup.clone()
            }
            Change::BackupTested {
                key,
                backup,
                passed,
                detail,
                at,
            } => {
                let Some(existing) = entries.remove(backup) else {
                    continue;
                };
                let test = RestoreTest {
                    passed: *passed,
                    detail: detail.clone(),
                    at: *at,
                    execution: Some(execution),
                    step: Some(key.to_string()),
                };
                entries.insert(backup.clone(), existing.tested(test));
                backup.clone()
            }
            Change::BackupsCounted { census, at, .. } => {
                order.extend(count(&mut entries, census, *at));
                continue;
            }
            _ => continue,
        };
        order.insert(reference);
    }
    order
        .into_iter()
        .filter_map(|reference| entries.remove(&reference))
        .collect()
}

/// Folds a census into `entries` (which hold every entry at its place):
/// what it found is there, what was `available` there (of its kinds) and
/// was not found is `missing`. The entries it changed.
fn count(
    entries: &mut HashMap<BackupRef, Backup>,
    census: &Census,
    at: Timestamp,
) -> Vec<BackupRef> {
    let mut changed = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for found in &census.found {
        let reference = found.backup.reference();
        let entry = Backup::found(entries.remove(&reference), found, at);
        entries.insert(reference.clone(), entry);
        seen.insert(reference.clone());
        changed.push(reference);
    }
    let place = census.location.key();
    for (reference, entry) in entries.iter_mut() {
        let seen_lately = entry.last_seen_at.unwrap_or(entry.recorded_at) >= census.unseen_since;
        if reference.location == place
            && census.kinds.contains(&entry.artifact.kind)
            && entry.state == BackupState::Available
            && !seen.contains(reference)
            && !seen_lately
        {
            *entry = entry.clone().marked(BackupState::Missing, at);
            changed.push(reference.clone());
        }
    }
    changed
}

/// The SQL that reads the page `query` asks for, newest first, with the
/// `n`th argument written `placeholder(n)` (`?1` in SQLite, `$1` in
/// PostgreSQL); its text arguments in order, the limit last (not among
/// them: it is a number).
pub(crate) fn select(
    query: &BackupQuery,
    placeholder: fn(usize) -> String,
) -> (String, Vec<String>) {
    let mut sql = String::from("SELECT record FROM backups WHERE true");
    let mut args: Vec<String> = Vec::new();
    let mut filter = |condition: &str, value: String| {
        args.push(value);
        sql.push_str(" AND ");
        sql.push_str(&condition.replace('#', &placeholder(args.len())));
    };
    if let Some(source) = &query.source {
        filter(
            "(source_ref = # OR source_id = # OR source_uuid = #)",
            source.clone(),
        );
    }
    if let Some(provider) = &query.provider {
        filter("provider = #", provider.clone());
    }
    if let Some(state) = query.state {
        filter("state = #", state.as_str().to_owned());
    }
    if let Some(kind) = query.kind {
        filter("kind = #", kind.as_str().to_owned());
    }
    if let Some(since) = query.since {
        filter("recorded_at >= #", time(since));
    }
    if let Some(before) = &query.before {
        filter("id < #", before.clone());
    }
    let limit = placeholder(args.len() + 1);
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
    (sql, args)
}

/// The columns of a catalog row, in the order [`upsert`] binds them.
pub(crate) fn row(entry: &Backup) -> [Option<String>; 12] {
    let artifact = &entry.artifact;
    let source = artifact.source.as_ref();
    [
        Some(entry.id.clone()),
        Some(artifact.location.key()),
        Some(artifact.native_id.clone()),
        Some(artifact.location.provider().to_owned()),
        Some(artifact.kind.as_str().to_owned()),
        entry.source_ref(),
        source.map(|s| s.id.clone()),
        source.and_then(|s| s.uuid.clone()),
        Some(entry.state.as_str().to_owned()),
        Some(time(entry.recorded_at)),
        entry.execution.map(|e| e.to_string()),
        Some(to_json(entry)),
    ]
}

/// The statement that writes a [`row`]: a new entry, or the one already
/// at its place and id there, replaced (ids included: two executions
/// recording one new artifact at once keep the later id).
pub(crate) fn upsert(placeholder: fn(usize) -> String) -> String {
    let values: Vec<String> = (1..=12).map(placeholder).collect();
    format!(
        "INSERT INTO backups (id, location, native_id, provider, kind, source_ref, source_id, source_uuid,
                              state, recorded_at, execution_id, record)
         VALUES ({})
         ON CONFLICT (location, native_id) DO UPDATE SET
             id = excluded.id, provider = excluded.provider, kind = excluded.kind,
             source_ref = excluded.source_ref, source_id = excluded.source_id,
             source_uuid = excluded.source_uuid, state = excluded.state,
             recorded_at = excluded.recorded_at, execution_id = excluded.execution_id,
             record = excluded.record",
        values.join(", ")
    )
}
