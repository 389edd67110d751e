//! Times and durations as an operator reads them: UTC to the second (a
//! server has no idea of the reader's time zone; the machine-readable
//! time is in `datetime` for a script that wants to localize it), and
//! durations in the two largest units.

use chrono::{DateTime, Utc};

/// A `<time>` element, or an empty string when there is no time.
pub(crate) fn time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(String::new, |at| {
        format!(
            r#"<time datetime="{}">{}</time>"#,
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            at.format("%Y-%m-%d %H:%M:%SZ")
        )
    })
}

/// How long from `start` to `end` (to `now` while not ended); empty
/// before the start.
pub(crate) fn span(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> String {
    let Some(start) = start else {
        return String::new();
    };
    let millis = end
        .unwrap_or(now)
        .signed_duration_since(start)
        .num_milliseconds()
        .max(0);
    duration(millis.unsigned_abs())
}

/// `850ms`, `12s`, `3m 05s`, `2h 07m`, `3d 04h`.
pub(crate) fn duration(millis: u64) -> String {
    let seconds = millis / 1000;
    match seconds {
        0 => format!("{millis}ms"),
        1..=59 => format!("{seconds}s"),
        60..=3599 => format!("{}m {:02}s", seconds / 60, seconds % 60),
        3600..=86_399 => format!("{}h {:02}m", seconds / 3600, seconds % 3600 / 60),
        _ => format!("{}d {:02}h", seconds / 86_400, seconds % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_the_two_largest_units() {
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(12_400), "12s");
        assert_eq!(duration(185_000), "3m 05s");
        assert_eq!(duration(7_620_000), "2h 07m");
        assert_eq!(duration(273_600_000), "3d 04h");
    }

    #[test]
    fn a_span_runs_to_now_until_it_ends() {
        let start = DateTime::parse_from_rfc3339("2026-11-29T03:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let now = start + chrono::Duration::seconds(90);
        assert_eq!(span(Some(start), None, now), "1m 30s");
        assert_eq!(
            span(Some(start), Some(start + chrono::Duration::seconds(5)), now),
            "5s"
        );
        assert_eq!(span(None, None, now), "");
        assert_eq!(
            time(Some(start)),
            r#"<time datetime="2026-11-29T03:00:00Z">2026-11-29 03:00:00Z</time>"#
        );
    }
}
