//! Changes other nodes write, as PostgreSQL announces them. Every create
//! and append notifies the channel `shutter_changes` with `ID:SEQ` inside
//! its transaction, so the notification is delivered at commit; each store
//! keeps one listening connection and passes what arrives to this
//! process's subscribers (the server's change feed, which wakes long
//! polls). A notification sent while the listening connection is being
//! made again is not replayed: long polls also read again at their
//! deadline, so polling remains the fallback.

use std::time::Duration;

use shutter_core::ExecutionId;
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::{AsyncMessage, NoTls};
use tokio_util::sync::CancellationToken;

/// The channel every write notifies.
pub(super) const CHANNEL: &str = "shutter_changes";

/// The payload announcing that `id` is at `seq`.
pub(super) fn payload(id: ExecutionId, seq: u64) -> String {
    format!("{id}:{seq}")
}

fn parse(payload: &str) -> Option<(ExecutionId, u64)> {
    let (id, seq) = payload.rsplit_once(':')?;
    Some((id.parse().ok()?, seq.parse().ok()?))
}

/// Listens on its own connection until `stop`, making the connection again
/// (after a growing pause) whenever it fails.
pub(super) fn spawn(
    config: tokio_postgres::Config,
    changes: broadcast::Sender<(ExecutionId, u64)>,
    stop: CancellationToken,
) {
    tokio::spawn(async move {
        let mut pause = Duration::from_millis(100);
        while !stop.is_cancelled() {
            if let Err(why) = listen(&config, &changes, &stop).await {
                tracing::warn!(
                    "postgres: listening for changes of other nodes: {why}; again in {pause:?}"
                );
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(Duration::from_secs(10));
        }
    });
}

async fn listen(
    config: &tokio_postgres::Config,
    changes: &broadcast::Sender<(ExecutionId, u64)>,
    stop: &CancellationToken,
) -> Result<(), String> {
    let (client, mut connection) = config.connect(NoTls).await.map_err(|e| e.to_string())?;
    // The connection delivers notifications only when driven by
    // `poll_message`: a task of its own does that and passes them on.
    let (messages, mut received) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        loop {
            let message = std::future::poll_fn(|cx| connection.poll_message(cx)).await;
            let last = !matches!(message, Some(Ok(_)));
            if messages.send(message).is_err() || last {
                return;
            }
        }
    });
    let listening = client
        .batch_execute(&format!("LISTEN {CHANNEL}"))
        .await
        .map_err(|e| e.to_string());
    let outcome = match listening {
        Ok(()) => loop {
            tokio::select! {
                () = stop.cancelled() => break Ok(()),
                message = received.recv() => match message {
                    Some(Some(Ok(AsyncMessage::Notification(note)))) => {
                        if let Some(change) = parse(note.payload()) {
                            // No subscriber yet is fine: nobody waits.
                            let _ = changes.send(change);
                        }
                    }
                    Some(Some(Ok(_))) => {}
                    Some(Some(Err(err))) => break Err(err.to_string()),
                    Some(None) | None => break Err("the connection closed".to_owned()),
                },
            }
        },
        Err(why) => Err(why),
    };
    driver.abort();
    drop(client);
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_name_the_execution_and_its_sequence_number() {
        let id = ExecutionId::new();
        assert_eq!(parse(&payload(id, 42)), Some((id, 42)));
        assert_eq!(parse("not-an-id:4"), None);
        assert_eq!(parse("nonsense"), None);
    }
}
