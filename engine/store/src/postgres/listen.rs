//! What nodes announce to each other, through PostgreSQL. Every create and
//! append notifies the channel `shutter_changes` with `ID:SEQ`, a cancel
//! request with `cancel:ID`, a released execution with `work`, a freed slot of a limit pool with `slot`, inside the
//! write's transaction, so the notification is delivered at commit; each
//! store keeps one listening connection and passes what arrives to this
//! process's subscribers (the server: its change feed, which wakes long
//! polls; its runner, which cancels or claims). A notification sent while
//! the listening connection is being made again is not replayed, so
//! polling remains the fallback: long polls read again at their deadline,
//! lease renewals report cancel requests, and a periodic sweep claims
//! released work.

use std::time::Duration;

use shutter_core::Announcement;
use tokio::sync::{broadcast, mpsc};
use tokio_postgres::AsyncMessage;
use tokio_util::sync::CancellationToken;

use super::tls::Tls;

/// The channel every write notifies.
pub(super) const CHANNEL: &str = "shutter_changes";

/// The payload of an announcement.
pub(super) fn payload(announcement: Announcement) -> String {
    match announcement {
        Announcement::Changed { id, seq } => format!("{id}:{seq}"),
        Announcement::CancelRequested(id) => format!("cancel:{id}"),
        Announcement::WorkQueued => "work".to_owned(),
        Announcement::SlotFreed => "slot".to_owned(),
    }
}

fn parse(payload: &str) -> Option<Announcement> {
    match payload {
        "work" => return Some(Announcement::WorkQueued),
        "slot" => return Some(Announcement::SlotFreed),
        _ => {}
    }
    if let Some(id) = payload.strip_prefix("cancel:") {
        return Some(Announcement::CancelRequested(id.parse().ok()?));
    }
    let (id, seq) = payload.rsplit_once(':')?;
    Some(Announcement::Changed {
        id: id.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}

/// Listens on its own connection until `stop`, making the connection again
/// (after a growing pause) whenever it fails.
pub(super) fn spawn(
    config: tokio_postgres::Config,
    tls: Tls,
    changes: broadcast::Sender<Announcement>,
    stop: CancellationToken,
) {
    tokio::spawn(async move {
        let mut pause = Duration::from_millis(100);
        while !stop.is_cancelled() {
            if let Err(why) = listen(&config, &tls, &changes, &stop).await {
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
    tls: &Tls,
    changes: &broadcast::Sender<Announcement>,
    stop: &CancellationToken,
) -> Result<(), String> {
    let (client, mut connection) = config
        .connect(tls.clone())
        .await
        .map_err(|e| e.to_string())?;
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
    use shutter_core::ExecutionId;

    #[test]
    fn payloads_read_back_as_what_they_announce() {
        let id = ExecutionId::new();
        for announcement in [
            Announcement::Changed { id, seq: 42 },
            Announcement::CancelRequested(id),
            Announcement::WorkQueued,
        ] {
            assert_eq!(parse(&payload(announcement)), Some(announcement));
        }
        assert_eq!(parse("not-an-id:4"), None);
        assert_eq!(parse("cancel:nonsense"), None);
        assert_eq!(parse("nonsense"), None);
    }
}
