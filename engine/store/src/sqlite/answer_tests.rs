//! A batch too large for the writer thread to answer itself is answered by
//! a thread of its own (`writer::run`): every caller gets its own answer,
//! and closing the store waits for them.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use shutter_core::record::LogLevel;
use shutter_core::{Change, Page, StepKey, Store};

use super::{Durability, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_of_a_large_batch_gets_its_own_answer() {
    const REQUESTS: usize = 100;
    let dir = tempfile::tempdir().unwrap();
    // `Full`: no caller commits its own request, all go to the writer thread.
    let store =
        Arc::new(SqliteStore::open_with(dir.path().join("shutter.db"), Durability::Full).unwrap());
    let claim = super::test_execution::one_step(&store).await;
    let id = claim.id;
    // The writer is held while the requests queue up: they are then
    // committed as one batch, far larger than the writer answers itself.
    let busy = store.writer.lock().unwrap();
    let appends: Vec<_> = (0..REQUESTS)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                let change = Change::Log {
                    key: StepKey::step("a"),
                    attempt: 1,
                    level: LogLevel::Info,
                    message: format!("line {n}"),
                    at: Utc::now(),
                };
                store.append(claim, vec![change]).await
            })
        })
        .collect();
    while store.queued.load(std::sync::atomic::Ordering::SeqCst) < REQUESTS {
        std::thread::sleep(Duration::from_millis(1));
    }
    drop(busy);
    let mut answers = BTreeSet::new();
    for append in appends {
        answers.insert(append.await.unwrap().unwrap());
    }
    // Each caller was told the sequence number of its own event.
    assert_eq!(answers, (1..=REQUESTS as u64).collect::<BTreeSet<_>>());
    let events = store.events(id, Page::new(0, 1000)).await.unwrap();
    assert_eq!(events.len(), REQUESTS);
    // Returns only once the writer and its answering thread have ended.
    store.close();
    assert!(store.append(claim, Vec::new()).await.is_err());
}
