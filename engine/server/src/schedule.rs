//! Workflows with `schedule:` start on time, each tick once.
//!
//! Policy for ticks missed while no server ran: they are skipped, as cron
//! does; the first tick after start is the next one to come. Each tick's
//! execution carries the idempotency key `schedule:<workflow>:<tick>`, so a
//! tick never starts twice, whatever restarts or extra servers.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use shutter_core::clock::Clock;
use tokio_util::sync::CancellationToken;

use crate::routes::workflows::start_execution;
use crate::state::AppState;

/// How often the served workflows are looked at again (new schedules).
const RESCAN: Duration = Duration::from_secs(30);

/// The next tick of `cron` in `timezone` strictly after `after`.
pub(crate) fn next_tick(
    cron: &str,
    timezone: chrono_tz::Tz,
    after: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let cron = croner::Cron::new(cron).parse().ok()?;
    cron.find_next_occurrence(&after.with_timezone(&timezone), false)
        .ok()
        .map(|tick| tick.with_timezone(&Utc))
}

/// The next `count` ticks of `cron` after `after` (fewer when it has no
/// more): what the API and the console show as the next runs.
pub(crate) fn next_ticks(
    cron: &str,
    timezone: chrono_tz::Tz,
    mut after: DateTime<Utc>,
    count: usize,
) -> Vec<DateTime<Utc>> {
    let mut ticks = Vec::with_capacity(count);
    while ticks.len() < count {
        let Some(tick) = next_tick(cron, timezone, after) else {
            break;
        };
        ticks.push(tick);
        after = tick;
    }
    ticks
}

/// Runs the schedules of the served workflows until `stop`.
pub(crate) async fn run(state: AppState, clock: Arc<dyn Clock>, stop: CancellationToken) {
    // Per workflow: the last tick handled. Starting from now skips the
    // ticks missed while down.
    let started = clock.now();
    let mut handled: HashMap<String, DateTime<Utc>> = HashMap::new();
    loop {
        let now = clock.now();
        let mut earliest: Option<DateTime<Utc>> = None;
        for version in state.workflows().all_latest() {
            let workflow = &version.plan.workflow;
            let Some(schedule) = &workflow.schedule else {
                continue;
            };
            let name = workflow.name.to_string();
            let last = *handled.entry(name.clone()).or_insert(started);
            let Some(tick) = next_tick(&schedule.cron, schedule.timezone, last) else {
                continue;
            };
            if tick <= now {
                fire(&state, &name, tick).await;
                handled.insert(name.clone(), tick);
                earliest = Some(now);
                continue;
            }
            earliest = Some(earliest.map_or(tick, |e| e.min(tick)));
        }
        let wait = earliest
            .map_or(RESCAN, |tick| {
                (tick - clock.now()).to_std().unwrap_or_default()
            })
            .min(RESCAN);
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
    }
}

async fn fire(state: &AppState, name: &str, tick: DateTime<Utc>) {
    let key = format!(
        "schedule:{name}:{}",
        tick.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let secrets = shutter_core::Secrets::default();
    match start_execution(state, name, &serde_json::Map::new(), Some(key), secrets).await {
        Ok((record, true)) => tracing::info!("schedule started {name} ({})", record.id),
        Ok((record, false)) => {
            tracing::info!("schedule tick of {name} already started ({})", record.id);
        }
        Err(err) => tracing::warn!("schedule of {name} at {tick}: {}", err.message),
    }
}
