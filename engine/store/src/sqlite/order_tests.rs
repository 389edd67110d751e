//! A request a caller commits on its own thread never overtakes one sent
//! to the writer thread before it (`SqliteStore::write`).

use std::sync::Arc;
use std::time::Duration;

use shutter_core::{Change, Page, Store};

use super::test_execution::line;
use super::{Durability, SqliteStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_committed_by_its_caller_does_not_overtake_one_queued_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open_with(dir.path().join("shutter.db"), Durability::Normal).unwrap(),
    );
    let claim = super::test_execution::one_step(&store).await;
    let id = claim.id;
    for _ in 0..20 {
        // The writer is busy (this test holds it): the first append is
        // sent to the writer thread and waits there.
        let busy = store.writer.lock().unwrap();
        let first = tokio::spawn({
            let store = store.clone();
            async move { store.append(claim, vec![line("first")]).await }
        });
        // (A blocking wait: a lock guard is not held across an await.)
        while store.queued.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        // The writer frees up; the second append, sent now, finds it idle
        // at once most of the time, but must not commit before the first.
        drop(busy);
        store.append(claim, vec![line("second")]).await.unwrap();
        first.await.unwrap().unwrap();
    }
    let events = store.events(id, Page::new(0, 1000)).await.unwrap();
    let order: Vec<&str> = events
        .iter()
        .filter_map(|event| match &event.change {
            Change::Log { message, .. } => Some(message.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["first", "second"].repeat(20));
}
