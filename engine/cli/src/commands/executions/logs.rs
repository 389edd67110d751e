//! `shutter executions logs ID [STEP] [-f]`: an execution's log lines,
//! oldest first, each with its time, step and level; `-f` follows them
//! until the execution ends. Read from the event log, which orders the
//! lines of every step as they were recorded, on the embedded store or a
//! server (whose events long-poll, so following costs no polling there).

use std::time::Duration;

use anyhow::bail;
use shutter_core::record::Change;
use shutter_core::{Event, ExecutionId, Page, StepKey};
use shutter_server::views::{EventPage, ExecutionDetail};

use super::target::Lookup;

/// Events read at once.
const PAGE: usize = 1000;
/// How often the embedded store is read again while following (it has no
/// change feed across processes).
const POLL: Duration = Duration::from_millis(300);

/// Prints the log lines of `id` (of `step` only, when given), following
/// them until the execution ends when `follow`.
pub(super) async fn print(
    lookup: &Lookup<'_>,
    id: ExecutionId,
    step: Option<&str>,
    follow: bool,
) -> anyhow::Result<()> {
    if let Some(step) = step {
        check_step(lookup, id, step).await?;
    }
    let mut after = 0;
    let mut caught_up = false;
    loop {
        let (events, finished) = read(lookup, id, after, follow && caught_up).await?;
        for event in &events {
            after = after.max(event.seq);
            if let Some(line) = line(event, step) {
                println!("{line}");
            }
        }
        if events.len() >= PAGE {
            continue;
        }
        if !follow || finished {
            return Ok(());
        }
        caught_up = true;
    }
}

/// Events after `after`, and whether the execution has ended (read before
/// the events, so none recorded before the end is missed). `wait`: hold
/// until there is one.
async fn read(
    lookup: &Lookup<'_>,
    id: ExecutionId,
    after: u64,
    wait: bool,
) -> anyhow::Result<(Vec<Event>, bool)> {
    match lookup {
        Lookup::Server(client) => {
            let wait = if wait { "&wait=30s" } else { "" };
            let page: EventPage = client
                .get_as(&format!(
                    "/executions/{id}/events?after={after}&limit={PAGE}{wait}"
                ))
                .await?;
            Ok((page.events, page.finished))
        }
        Lookup::Store(store) => {
            let Some(record) = store.get(id).await? else {
                bail!("no execution {id}");
            };
            let ended = record.state.is_terminal();
            let events = store.events(id, Page::new(after, PAGE)).await?;
            if wait && events.is_empty() && !ended {
                tokio::time::sleep(POLL).await;
            }
            Ok((events, ended))
        }
    }
}

/// Refuses a step the execution does not have, naming those it has.
async fn check_step(lookup: &Lookup<'_>, id: ExecutionId, step: &str) -> anyhow::Result<()> {
    let keys: Vec<String> = match lookup {
        Lookup::Server(client) => {
            let detail: ExecutionDetail = client.get_as(&format!("/executions/{id}")).await?;
            detail.steps.into_iter().map(|s| s.key).collect()
        }
        Lookup::Store(store) => match store.snapshot(id).await? {
            Some(snapshot) => snapshot.steps.iter().map(|s| s.key.to_string()).collect(),
            None => bail!("no execution {id}"),
        },
    };
    let matches = |key: &String| key == step || key.split('[').next() == Some(step);
    if keys.iter().any(matches) {
        return Ok(());
    }
    let mut names: Vec<&str> = keys.iter().filter_map(|k| k.split('[').next()).collect();
    names.dedup();
    bail!(
        "execution {id} has no step `{step}` (its steps: {})",
        names.join(", ")
    )
}

/// A log event as a line, when it is one of `step` (or of any step).
fn line(event: &Event, step: Option<&str>) -> Option<String> {
    let Change::Log {
        key,
        attempt,
        level,
        message,
        at,
    } = &event.change
    else {
        return None;
    };
    if step.is_some_and(|step| !of_step(key, step)) {
        return None;
    }
    let level = serde_json::to_value(level)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let try_note = if *attempt > 1 {
        format!(" (try {attempt})")
    } else {
        String::new()
    };
    Some(format!(
        "{} {key}{try_note} {level:<5} {message}",
        at.format("%Y-%m-%d %H:%M:%S%.3fZ")
    ))
}

/// `snap` names itself and its items (`snap[3]`); `snap[3]` names itself.
fn of_step(key: &StepKey, step: &str) -> bool {
    key.step == step || key.to_string() == step
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use shutter_core::LogLevel;

    use super::*;

    fn log(key: StepKey, attempt: u32, message: &str) -> Event {
        Event {
            seq: 7,
            change: Change::Log {
                key,
                attempt,
                level: LogLevel::Warn,
                message: message.to_owned(),
                at: chrono::Utc
                    .with_ymd_and_hms(2026, 12, 1, 3, 0, 12)
                    .single()
                    .expect("a time"),
            },
        }
    }

    #[test]
    fn a_line_has_its_time_step_try_and_level() {
        let event = log(StepKey::item("snap", 3), 2, "slow disk");
        assert_eq!(
            line(&event, None).as_deref(),
            Some("2026-12-01 03:00:12.000Z snap[3] (try 2) warn  slow disk")
        );
        assert!(line(&event, Some("snap")).is_some());
        assert!(line(&event, Some("snap[3]")).is_some());
        assert!(line(&event, Some("snap[4]")).is_none());
        assert!(line(&event, Some("quiesce")).is_none());
    }
}
