//! The execution's timeline (a Gantt chart) as inline SVG: a row per step,
//! a bar per try from its start to its end (to now while it runs),
//! coloured by how the try ended, on one time axis from the first try's
//! start. It answers what the graph cannot: where the time went, and
//! which step waited or was tried again.
//!
//! The SVG scales to its box (`viewBox`, width 100%), so it reads on a
//! phone as on a wide screen; each bar's `<title>` says the try, its times
//! and its error.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::escape::{escape, shorten};
use super::when;
use crate::views::StepView;

/// Rows drawn at most; the rest are counted under the chart (a `for_each`
/// of thousands of items is read in the steps table).
const MAX_ROWS: usize = 200;
/// Width of the id column and of the bars' area, height of a row, in SVG
/// user units.
const LABEL_WIDTH: i64 = 180;
const PLOT_WIDTH: i64 = 780;
const ROW: i64 = 22;
const AXIS: i64 = 24;
/// Longest step id drawn whole.
const SHOWN_ID: usize = 24;

/// How a try ended, as its bar's class says.
fn outcome(finished: bool, error: bool) -> &'static str {
    match (finished, error) {
        (false, _) => "state-running",
        (true, true) => "state-failed",
        (true, false) => "state-succeeded",
    }
}

/// The chart, or `None` when no step has started.
pub(crate) fn svg<'a>(
    steps: impl IntoIterator<Item = &'a StepView>,
    now: DateTime<Utc>,
) -> Option<String> {
    let tried: Vec<&StepView> = steps
        .into_iter()
        .filter(|s| !s.attempts.is_empty())
        .collect();
    let start = tried
        .iter()
        .flat_map(|s| s.attempts.iter().map(|a| a.started_at))
        .min()?;
    let end = tried
        .iter()
        .flat_map(|s| s.attempts.iter().map(|a| a.finished_at.unwrap_or(now)))
        .max()
        .unwrap_or(now)
        .max(start);
    // At least a millisecond: a run of no-op steps still has a scale.
    let total = end.signed_duration_since(start).num_milliseconds().max(1);
    let x = |at: DateTime<Utc>| {
        let offset = at.signed_duration_since(start).num_milliseconds().max(0);
        LABEL_WIDTH + offset * PLOT_WIDTH / total
    };
    let rows = tried.len().min(MAX_ROWS);
    let height = AXIS + i64::try_from(rows).unwrap_or(0) * ROW;
    let width = LABEL_WIDTH + PLOT_WIDTH + 8;
    let mut out = String::with_capacity(256 * rows + 1024);
    let _ = write!(
        out,
        r#"<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {width} {height}" preserveAspectRatio="xMinYMin meet" role="img" aria-label="Timeline: each step's tries over time">"#,
    );
    // The axis: five ticks, as time from the first start.
    for tick in 0..=4_i64 {
        let tx = LABEL_WIDTH + tick * PLOT_WIDTH / 4;
        let millis = u64::try_from(total * tick / 4).unwrap_or(0);
        let anchor = if tick == 4 { "end" } else { "start" };
        let _ = write!(
            out,
            r#"<line class="tick" x1="{tx}" y1="{top}" x2="{tx}" y2="{height}"/><text class="tick-label" x="{tx}" y="14" text-anchor="{anchor}">+{label}</text>"#,
            top = AXIS - 6,
            label = escape(&when::duration(millis)),
        );
    }
    for (row, step) in (0_i64..).zip(tried.iter().take(MAX_ROWS)) {
        let y = AXIS + row * ROW;
        let shown = shorten(&step.key, SHOWN_ID);
        let _ = write!(
            out,
            r#"<g class="lane" data-step="{key}"><text class="lane-label" x="0" y="{ty}">{shown}</text>"#,
            key = escape(&step.key),
            ty = y + 15,
            shown = escape(&shown),
        );
        for attempt in &step.attempts {
            let x0 = x(attempt.started_at);
            let x1 = x(attempt.finished_at.unwrap_or(now)).max(x0 + 2);
            let class = outcome(attempt.finished_at.is_some(), attempt.error.is_some());
            let mut title = format!(
                "{} try {}: {}",
                step.key,
                attempt.number,
                when::span(Some(attempt.started_at), attempt.finished_at, now)
            );
            if attempt.interrupted {
                title.push_str(" (interrupted by an engine stop)");
            }
            if let Some(error) = &attempt.error {
                let cut: String = error.chars().take(300).collect();
                let _ = write!(title, ": {cut}");
            }
            let _ = write!(
                out,
                r#"<rect class="try {class}" x="{x0}" y="{by}" width="{w}" height="{h}" rx="3"><title>{title}</title></rect>"#,
                by = y + 4,
                w = x1 - x0,
                h = ROW - 8,
                title = escape(&title),
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    if tried.len() > MAX_ROWS {
        let _ = write!(
            out,
            r#"<p class="muted">And {} more steps or items, in the table below.</p>"#,
            tried.len() - MAX_ROWS
        );
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::AttemptView;
    use chrono::TimeZone;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + seconds, 0).unwrap()
    }

    fn step(key: &str, tries: &[(i64, Option<i64>, Option<&str>)]) -> StepView {
        StepView {
            key: key.to_owned(),
            state: "succeeded".to_owned(),
            waiting_for: None,
            attempts: tries
                .iter()
                .enumerate()
                .map(|(n, (start, end, error))| AttemptView {
                    number: u32::try_from(n + 1).unwrap(),
                    started_at: at(*start),
                    finished_at: end.map(at),
                    error: error.map(str::to_owned),
                    outputs: None,
                    params: None,
                    interrupted: false,
                })
                .collect(),
            outputs: None,
            error: None,
            started_at: tries.first().map(|t| at(t.0)),
            finished_at: None,
            next_attempt_at: None,
            progress: None,
            compensation_error: None,
        }
    }

    #[test]
    fn each_try_is_a_bar_on_one_axis() {
        let steps = [
            step("quiesce", &[(0, Some(10), None)]),
            step(
                "copy",
                &[(10, Some(20), Some("<quota>")), (30, Some(40), None)],
            ),
            step("verify", &[(40, None, None)]),
            step("later", &[]),
        ];
        let svg = svg(&steps, at(50)).unwrap();
        assert_eq!(
            svg.matches("<g class=\"lane\"").count(),
            3,
            "no lane for a step never tried"
        );
        assert_eq!(svg.matches("<rect class=\"try").count(), 4);
        assert!(svg.contains("try state-failed"));
        assert!(
            svg.contains("try state-running"),
            "the running try reaches now"
        );
        // The first start is the axis' 0, the last end (now) its 100%.
        assert!(
            svg.contains(&format!(r#"x="{LABEL_WIDTH}" y="28""#)),
            "{svg}"
        );
        assert!(svg.contains("+50s"), "{svg}");
        assert!(svg.contains("&lt;quota&gt;"), "errors are escaped: {svg}");
        assert!(!svg.contains("<quota>"));
    }

    #[test]
    fn nothing_started_draws_nothing() {
        assert!(svg(&[step("a", &[])], at(0)).is_none());
    }

    #[test]
    fn many_items_are_counted_not_drawn() {
        let steps: Vec<StepView> = (0..250)
            .map(|n| step(&format!("copy[{n}]"), &[(n, Some(n + 1), None)]))
            .collect();
        let svg = svg(&steps, at(300)).unwrap();
        assert_eq!(svg.matches("<g class=\"lane\"").count(), MAX_ROWS);
        assert!(svg.contains("And 50 more"));
    }
}
