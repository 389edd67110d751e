//! A [`ChangeSink`] that keeps what an action records in memory, for
//! running an action outside an execution: provider tests, benches.

use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;

use crate::action::ChangeSink;
use crate::backup::{Backup, BackupQuery, BackupRef};
use crate::record::{Change, Timestamp};
use crate::store::StoreError;

/// Keeps every change, in order; the wall clock is its time. Its backup
/// catalog is what a test gives it ([`RecordingSink::with_catalog`]).
#[derive(Debug, Default)]
pub struct RecordingSink {
    changes: Mutex<Vec<Change>>,
    catalog: Vec<Backup>,
}

impl RecordingSink {
    /// A sink whose catalog holds `entries` (what `backups.query` and
    /// `restore` read).
    pub fn with_catalog(entries: Vec<Backup>) -> Self {
        Self {
            changes: Mutex::default(),
            catalog: entries,
        }
    }

    /// The restore-test verdicts recorded so far: each entry, passed or not.
    pub fn backup_tests(&self) -> Vec<(BackupRef, bool, String)> {
        self.lock()
            .iter()
            .filter_map(|change| match change {
                Change::BackupTested {
                    backup,
                    passed,
                    detail,
                    ..
                } => Some((backup.clone(), *passed, detail.clone())),
                _ => None,
            })
            .collect()
    }

    /// Every change recorded so far.
    pub fn changes(&self) -> Vec<Change> {
        self.lock().clone()
    }

    /// The messages of the log lines recorded so far.
    pub fn log_messages(&self) -> Vec<String> {
        self.lock()
            .iter()
            .filter_map(|change| match change {
                Change::Log { message, .. } => Some(message.clone()),
                _ => None,
            })
            .collect()
    }

    /// The percentages of the progress reports recorded so far.
    pub fn progress(&self) -> Vec<u8> {
        self.lock()
            .iter()
            .filter_map(|change| match change {
                Change::Progress { percent, .. } => Some(*percent),
                _ => None,
            })
            .collect()
    }

    /// What the action put in the backup catalog so far.
    pub fn backups(&self) -> Vec<crate::backup::NewBackup> {
        self.lock()
            .iter()
            .filter_map(|change| match change {
                Change::BackupRecorded { backup, .. } => Some(backup.as_ref().clone()),
                _ => None,
            })
            .collect()
    }

    /// The catalog marks the action made so far: each entry and its state.
    pub fn backup_marks(&self) -> Vec<(crate::backup::BackupRef, crate::backup::BackupState)> {
        self.lock()
            .iter()
            .filter_map(|change| match change {
                Change::BackupMarked { backup, state, .. } => Some((backup.clone(), *state)),
                _ => None,
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Change>> {
        // A test that panicked while recording must not hide what it recorded.
        self.changes.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[async_trait]
impl ChangeSink for RecordingSink {
    async fn record(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        self.lock().extend(changes);
        Ok(())
    }

    fn now(&self) -> Timestamp {
        chrono::Utc::now()
    }

    async fn backups(&self, query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
        Ok(query.page(self.catalog.iter()))
    }

    async fn backup(&self, id: &str) -> Result<Option<Backup>, StoreError> {
        Ok(self.catalog.iter().find(|entry| entry.id == id).cloned())
    }
}
