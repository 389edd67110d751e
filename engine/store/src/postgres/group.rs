//! Group commit: the appends waiting at one moment are written in one
//! transaction, each under a savepoint of its own (one failing does not undo
//! the others), and each answered only after the commit. Concurrent steps
//! then share a commit (an fsync at `synchronous_commit = on`) instead of
//! queueing one commit each on their execution's row lock, as SQLite's
//! writer thread does for the same reason.

use std::collections::HashMap;

use deadpool_postgres::Pool;
use shutter_core::{Announcement, Change, Claim, ExecutionId, StoreError};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::error::{pg_error, pool_error};
use super::write::{append_in, notify};

/// Most appends committed together.
const MAX_BATCH: usize = 512;

/// An append waiting for its batch.
pub(super) struct Pending {
    pub(super) claim: Claim,
    pub(super) changes: Vec<Change>,
    pub(super) reply: oneshot::Sender<Result<u64, StoreError>>,
}

/// Starts the writer: it takes appends from `pending` until `stop` or
/// until every sender is gone.
pub(super) fn spawn(
    pool: Pool,
    mut pending: mpsc::UnboundedReceiver<Pending>,
    stop: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            let first = tokio::select! {
                () = stop.cancelled() => return,
                first = pending.recv() => match first {
                    Some(first) => first,
                    None => return,
                },
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match pending.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            let (ops, replies): (Vec<_>, Vec<_>) = batch
                .into_iter()
                .map(|p| ((p.claim, p.changes), p.reply))
                .unzip();
            match commit(&pool, &ops).await {
                Ok(results) => {
                    for (reply, result) in replies.into_iter().zip(results) {
                        let _ = reply.send(result);
                    }
                }
                Err(err) => {
                    for reply in replies {
                        let _ = reply.send(Err(err.clone()));
                    }
                }
            }
        }
    });
}

/// Writes `ops` in one transaction; each op's own result, or the batch's
/// error when the transaction itself failed (nothing of it was written).
async fn commit(
    pool: &Pool,
    ops: &[(Claim, Vec<Change>)],
) -> Result<Vec<Result<u64, StoreError>>, StoreError> {
    let mut client = pool.get().await.map_err(|e| pool_error(&e))?;
    let mut tx = client.transaction().await.map_err(|e| pg_error(&e))?;
    let mut results = Vec::with_capacity(ops.len());
    // One announcement per execution, of its last sequence number.
    let mut written: HashMap<ExecutionId, u64> = HashMap::new();
    for (claim, changes) in ops {
        let savepoint = tx.savepoint("append").await.map_err(|e| pg_error(&e))?;
        match append_in(&savepoint, *claim, changes).await {
            Ok(seq) => {
                savepoint.commit().await.map_err(|e| pg_error(&e))?;
                written.insert(claim.id, seq);
                results.push(Ok(seq));
            }
            Err(err) => {
                savepoint.rollback().await.map_err(|e| pg_error(&e))?;
                results.push(Err(err));
            }
        }
    }
    for (id, seq) in written {
        notify(&tx, Announcement::Changed { id, seq }).await?;
    }
    tx.commit().await.map_err(|e| pg_error(&e))?;
    Ok(results)
}
