//! The sink of one try whose start was sent and not waited for: whatever
//! the try writes next (a timer its action sets, its outcome) is written
//! after that start, or with it when the start was taken back. So a
//! step's records keep their order however the start went.

use std::sync::Arc;

use async_trait::async_trait;
use shutter_core::action::ChangeSink;
use shutter_core::record::{Change, Timestamp};
use shutter_core::store::StoreError;
use shutter_core::{Backup, BackupQuery};

use super::sink::{SentStart, StoreSink};

#[derive(Debug)]
pub(crate) struct StartFirst {
    store: Arc<StoreSink>,
    /// Until the try writes something else, or ends.
    start: tokio::sync::Mutex<Option<SentStart>>,
}

impl StartFirst {
    /// Writes through `store`, after `start` if one was sent.
    pub(crate) fn new(store: Arc<StoreSink>, start: Option<SentStart>) -> Self {
        Self {
            store,
            start: tokio::sync::Mutex::new(start),
        }
    }

    /// Settles the start if nothing settled it yet: its changes, when they
    /// are still to be written (the caller writes them before anything
    /// else of the step), else nothing.
    pub(crate) async fn settle(&self) -> Result<Vec<Change>, StoreError> {
        self.settle_held(&mut *self.start.lock().await).await
    }

    /// [`StartFirst::settle`], for a caller holding the lock.
    async fn settle_held(&self, start: &mut Option<SentStart>) -> Result<Vec<Change>, StoreError> {
        match start.take() {
            Some(start) => self.store.settle_start(start).await,
            None => Ok(Vec::new()),
        }
    }
}

#[async_trait]
impl ChangeSink for StartFirst {
    async fn record(&self, changes: Vec<Change>) -> Result<(), StoreError> {
        // Held while the start settles: a second write of the try waits.
        let mut start = self.start.lock().await;
        let mut all = self.settle_held(&mut start).await?;
        all.extend(changes);
        self.store.record(all).await
    }

    fn now(&self) -> Timestamp {
        self.store.now()
    }

    async fn backups(&self, query: &BackupQuery) -> Result<Vec<Backup>, StoreError> {
        self.store.backups(query).await
    }

    async fn backup(&self, id: &str) -> Result<Option<Backup>, StoreError> {
        self.store.backup(id).await
    }
}
