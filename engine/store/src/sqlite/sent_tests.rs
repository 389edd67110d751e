//! An append sent and not waited for (`Store::send_append`) is written
//! once, in its place among the others, or never if its sender took it
//! back first.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use shutter_core::{Change, Claim, Page, Store};

use super::test_execution::line;
use super::{Durability, SqliteStore};

async fn store_of(dir: &tempfile::TempDir) -> (Arc<SqliteStore>, Claim) {
    let store = Arc::new(
        SqliteStore::open_with(dir.path().join("shutter.db"), Durability::Normal).unwrap(),
    );
    let claim = super::test_execution::one_step(&store).await;
    (store, claim)
}

async fn lines(store: &SqliteStore, claim: Claim) -> Vec<String> {
    let events = store.events(claim.id, Page::new(0, 1000)).await.unwrap();
    events
        .into_iter()
        .filter_map(|event| match event.change {
            Change::Log { message, .. } => Some(message),
            _ => None,
        })
        .collect()
}

/// Waits (blocking: the test holds a lock guard) until the writer thread
/// has `n` requests sent to it and not yet taken.
fn until_queued(store: &SqliteStore, n: usize) {
    while store.queued.load(Ordering::SeqCst) < n {
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_append_taken_back_before_the_writer_got_to_it_is_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let (store, claim) = store_of(&dir).await;
    for _ in 0..10 {
        // The writer is busy (this test holds it): the append waits in
        // the writer thread's queue.
        let busy = store.writer.lock().unwrap();
        let sent = store.send_append(claim, vec![line("sent")]).unwrap();
        until_queued(&store, 1);
        assert!(sent.withdraw(), "the writer had not taken it");
        drop(busy);
        // Sent again with what came after it, as a try's outcome is.
        store
            .append(claim, vec![line("sent"), line("after")])
            .await
            .unwrap();
    }
    assert_eq!(lines(&store, claim).await, ["sent", "after"].repeat(10));
    assert_eq!(store.queued.load(Ordering::SeqCst), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_append_the_writer_took_is_written_in_its_place_and_answered() {
    let dir = tempfile::tempdir().unwrap();
    let (store, claim) = store_of(&dir).await;
    let before = store.append(claim, vec![line("before")]).await.unwrap();
    // Queued behind a busy writer, then taken by it before its sender
    // asks: the sender waits for its commit, then writes what follows.
    let busy = store.writer.lock().unwrap();
    let sent = store.send_append(claim, vec![line("sent")]).unwrap();
    until_queued(&store, 1);
    drop(busy);
    until_queued_none(&store);
    assert!(!sent.withdraw(), "taken: its sender must wait for it");
    let seq = sent.committed().await.unwrap();
    assert!(seq > before);
    store.append(claim, vec![line("after")]).await.unwrap();
    assert_eq!(lines(&store, claim).await, ["before", "sent", "after"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_append_racing_an_idle_writer_thread_is_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, claim) = store_of(&dir).await;
    // A sent append goes to the writer thread even when it is idle (no
    // one waits for it on its sender's thread): the thread wakes and takes
    // it while its sender may be taking it back. One of them wins.
    for _ in 0..20 {
        let sent = store.send_append(claim, vec![line("sent")]).unwrap();
        if sent.withdraw() {
            store.append(claim, vec![line("sent")]).await.unwrap();
        } else {
            sent.committed().await.unwrap();
        }
    }
    assert_eq!(lines(&store, claim).await, ["sent"].repeat(20));
}

/// Waits until the writer thread has taken every request sent to it.
fn until_queued_none(store: &SqliteStore) {
    while store.queued.load(Ordering::SeqCst) > 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_append_under_a_lost_claim_is_refused_as_an_append_is() {
    let dir = tempfile::tempdir().unwrap();
    let (store, claim) = store_of(&dir).await;
    let stale = Claim {
        id: claim.id,
        epoch: claim.epoch + 1,
    };
    let sent = store.send_append(stale, vec![line("stale")]).unwrap();
    until_queued_none(&store);
    assert!(!sent.withdraw());
    let refused = sent.committed().await;
    assert!(
        matches!(refused, Err(shutter_core::StoreError::Conflict(_))),
        "{refused:?}"
    );
    assert!(lines(&store, claim).await.is_empty());
}
