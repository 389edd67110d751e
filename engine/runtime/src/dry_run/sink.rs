//! Where a plan's read steps send what they record: their log lines are
//! kept for the plan, the rest is dropped. They read the backup catalog
//! from the store; a plan writes nothing to it.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shutter_core::action::ChangeSink;
use shutter_core::clock::Clock;
use shutter_core::record::{Change, Timestamp};
use shutter_core::store::{Store, StoreError};
use shutter_core::{Backup, BackupQuery};

#[derive(Debug)]
pub(super) struct PlanSink {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Log lines an action flushed before it ended.
    flushed: Mutex<Vec<Change>>,
}

impl PlanSink {
    pub(super) fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            flushed: Mutex::default(),
        }
    }

    /// What was flushed so far (the plan runs one call at a time).
    pub(super) fn take(&self) -> Vec<Change> {
        std::mem::take(
            &mut *self
                .flushed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

#[async_trait]
impl ChangeSink for PlanSink {
    async fn record(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        let logs = changes
            .into_iter()
            .filter(|change| matches!(change, Change::Log { .. }));
        self.flushed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(logs);
        Ok(())
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    async fn backups(&self, query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
        self.store.backups(query).await
    }

    async fn backup(&self, id: &str) -> Result<Option<Backup>, StoreError> {
        self.store.backup(id).await
    }
}
