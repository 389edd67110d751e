//! Group commit: the appends waiting at one moment are written in one
//! transaction, and each answered only after the commit. Those of one
//! execution are folded into one write (`append_all`: its row locked and
//! read once), under a savepoint of their own, so one execution's failure
//! does not undo the others'. Concurrent steps then share a commit (an
//! fsync at `synchronous_commit = on`) and a fan's appends share their
//! round trips, instead of queueing one by one on their execution's row
//! lock; SQLite's writer thread batches for the same reason.

use std::collections::HashMap;
use std::sync::Arc;

use deadpool_postgres::Pool;
use shutter_core::{Announcement, AppendHold, Change, Claim, ExecutionId, StoreError};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::error::{pg_error, pool_error};
use super::write::{append_all, notify};

/// Most appends committed together.
const MAX_BATCH: usize = 512;

/// An append waiting for its batch.
pub(super) struct Pending {
    pub(super) claim: Claim,
    pub(super) changes: Vec<Change>,
    pub(super) reply: oneshot::Sender<Result<u64, StoreError>>,
    /// Of an append its sender may take back until a batch takes it
    /// (`Store::send_append`).
    pub(super) hold: Option<Arc<AppendHold>>,
}

impl Pending {
    /// Takes the append into a batch: false for one its sender took back,
    /// which is dropped unwritten.
    fn take(&self) -> bool {
        self.hold.as_ref().is_none_or(|hold| hold.take())
    }
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
            batch.retain(Pending::take);
            if batch.is_empty() {
                continue;
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
    let mut results: Vec<Option<Result<u64, StoreError>>> = vec![None; ops.len()];
    // The ops of each execution, in the order they came.
    let mut groups: Vec<(ExecutionId, Vec<usize>)> = Vec::new();
    for (at, (claim, _)) in ops.iter().enumerate() {
        match groups.iter_mut().find(|(id, _)| *id == claim.id) {
            Some((_, members)) => members.push(at),
            None => groups.push((claim.id, vec![at])),
        }
    }
    let alone = groups.len() == 1;
    // The transaction's id, so that a COMMIT whose answer is lost can be
    // asked about (see `committed`). Alone, it rides with the writes.
    let mut xid = None;
    if !alone {
        xid = Some(transaction_id(&tx).await?);
    }
    // One announcement per execution, of its last sequence number.
    let mut written: HashMap<ExecutionId, u64> = HashMap::new();
    for (id, members) in groups {
        let mine: Vec<(Claim, &[Change])> = members
            .iter()
            .map(|&at| (ops[at].0, ops[at].1.as_slice()))
            .collect();
        if alone {
            // Nothing else to keep: no savepoint (two round trips fewer,
            // which a chain of steps, one append at a time, pays each step).
            // Announced in the same round trip as its writes.
            let (asked, appended) =
                tokio::join!(transaction_id(&tx), append_all(&tx, id, &mine, true));
            xid = asked.ok();
            match appended {
                Ok(each) => {
                    // Announced already: nothing to note in `written`.
                    settle(&mut results, &mut HashMap::new(), id, &members, each);
                    continue;
                }
                // Dropped, the transaction rolls back.
                Err(err) => return Ok(vec![Err(err); ops.len()]),
            }
        }
        let savepoint = tx.savepoint("append").await.map_err(|e| pg_error(&e))?;
        let outcome = append_all(&savepoint, id, &mine, false).await;
        match outcome {
            Ok(each) => {
                savepoint.commit().await.map_err(|e| pg_error(&e))?;
                settle(&mut results, &mut written, id, &members, each);
            }
            Err(err) => {
                savepoint.rollback().await.map_err(|e| pg_error(&e))?;
                for &at in &members {
                    results[at] = Some(Err(err.clone()));
                }
            }
        }
    }
    for (id, seq) in written {
        notify(&tx, Announcement::Changed { id, seq }).await?;
    }
    if let Err(err) = tx.commit().await {
        // Lost with the connection, the COMMIT may have been carried out:
        // answering "unavailable" then would make the engine append again.
        let lost = err.code().is_none();
        match xid {
            Some(xid) if lost && committed(pool, xid).await? => {}
            _ => return Err(pg_error(&err)),
        }
    }
    Ok(results
        .into_iter()
        .map(|result| {
            result.unwrap_or_else(|| Err(StoreError::Fatal("an append was not written".into())))
        })
        .collect())
}

/// The id of the transaction `tx` runs in.
async fn transaction_id(tx: &deadpool_postgres::Transaction<'_>) -> Result<i64, StoreError> {
    tx.query_one("SELECT txid_current()", &[])
        .await
        .map(|row| row.get(0))
        .map_err(|e| pg_error(&e))
}

/// How long to keep asking whether a transaction whose COMMIT lost its
/// answer committed.
const ASK_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// How much longer to wait for a transaction the server still has in
/// progress.
const SETTLE_FOR: std::time::Duration = std::time::Duration::from_secs(300);

/// How long one try of that question may take.
const ASK_TRY: std::time::Duration = std::time::Duration::from_secs(2);

/// Whether transaction `xid` committed, asked on another connection once
/// the server has settled it: true or false when the server says, an
/// unavailable store when it cannot be asked for [`ASK_FOR`].
async fn committed(pool: &Pool, xid: i64) -> Result<bool, StoreError> {
    let deadline = tokio::time::Instant::now() + ASK_FOR;
    loop {
        // Each try is bounded: a pooled connection cut by the same fault
        // may otherwise hang until the kernel gives up on it.
        let asked = tokio::time::timeout(ASK_TRY, async {
            let client = pool.get().await.map_err(|e| pool_error(&e))?;
            client
                .query_one("SELECT txid_status($1)", &[&xid])
                .await
                .map(|row| row.get(0))
                .map_err(|e| pg_error(&e))
        })
        .await;
        let status: Result<Option<String>, StoreError> = asked.unwrap_or_else(|_| {
            Err(StoreError::Unavailable(
                "postgres: no answer in time".to_owned(),
            ))
        });
        let until = match status.as_ref().map(Option::as_deref) {
            Ok(Some("committed")) => return Ok(true),
            Ok(Some("aborted")) => return Ok(false),
            // Still in progress (the server has not yet seen the connection
            // go, or waits for a synchronous standby): the server is there
            // and will settle it, and answering before it does could make
            // the engine append again, so this waits longer.
            Ok(Some(_)) => deadline + SETTLE_FOR,
            // No answer yet.
            _ => deadline,
        };
        if tokio::time::Instant::now() >= until {
            tracing::error!(
                "postgres: a COMMIT lost its answer and transaction {xid} could not be asked about: {status:?}"
            );
            return Err(StoreError::Unavailable(format!(
                "postgres: whether transaction {xid} committed is unknown"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Puts the results of one execution's ops (`each`, in `members`' order)
/// in their places, and notes its last sequence number written.
fn settle(
    results: &mut [Option<Result<u64, StoreError>>],
    written: &mut HashMap<ExecutionId, u64>,
    id: ExecutionId,
    members: &[usize],
    each: Vec<Result<u64, StoreError>>,
) {
    for (&at, result) in members.iter().zip(each) {
        if let Ok(seq) = &result {
            written.insert(id, *seq);
        }
        results[at] = Some(result);
    }
}
