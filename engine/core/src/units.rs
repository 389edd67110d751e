//! Durations (`30s`, `15m`, `2h`) and byte sizes (`64MiB`) as written in workflows.

use std::time::Duration;

/// The longest duration anything in Shutter waits for: ten years. Longer
/// ones are refused where they are written, so no timer or deadline can
/// overflow a timestamp.
pub const MAX_DURATION: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// Parses a duration such as `30s`, `15m`, `2h`, `1h 30m` or `250ms`, at
/// most [`MAX_DURATION`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration".to_owned());
    }
    // One wording wherever a duration is read (a workflow, a parameter, a
    // flag, `?wait=`): humantime's own says "expected number at 0".
    if trimmed.starts_with('-') {
        return Err(format!(
            "`{text}` is negative; a duration is zero or more, like `30s`, `15m` or `2h`"
        ));
    }
    let duration = humantime::parse_duration(trimmed).map_err(|err| {
        format!("`{text}` is not a duration ({err}); write it like `30s`, `15m` or `2h`")
    })?;
    if duration > MAX_DURATION {
        return Err(format!("`{text}` is longer than the limit of 10 years"));
    }
    Ok(duration)
}

/// A point in time written either way people write one: a time (RFC
/// 3339, `2026-11-30T00:00:00Z`) or a duration back from `now` (`1h`,
/// `7d`), as `since` filters take it.
pub fn parse_since(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(at.to_utc());
    }
    let ago = parse_duration(text).map_err(|_| {
        format!("`{text}` is neither a time (RFC 3339) nor a duration back from now (`1h`, `7d`)")
    })?;
    chrono::Duration::from_std(ago)
        .ok()
        .and_then(|ago| now.checked_sub_signed(ago))
        .ok_or_else(|| format!("`{text}` reaches too far back"))
}

/// Formats a duration the way it would be written in a workflow.
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration).to_string()
}

/// A duration as written in a workflow (`30s`), read by serde: for the
/// typed parameters of actions. Refuses what [`parse_duration`] refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span(pub Duration);

impl Span {
    pub const fn secs(seconds: u64) -> Self {
        Self(Duration::from_secs(seconds))
    }
}

impl<'de> serde::Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_duration(&text)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// Parses a byte size such as `64MiB`, `512KiB`, `1GiB`, `100MB` or `4096`.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size; write it like `64MiB`"))?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(format!(
                "`{text}` has an unknown unit `{other}`; use B, KiB, MiB, GiB, KB, MB or GB"
            ));
        }
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_time_or_a_duration_back_from_now() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .unwrap()
            .to_utc();
        let at = |text: &str| parse_since(text, now).map(|t| t.to_rfc3339());
        assert_eq!(
            at("2026-11-29T08:00:00+02:00").unwrap(),
            "2026-11-29T06:00:00+00:00"
        );
        assert_eq!(at("1h").unwrap(), "2026-11-30T11:00:00+00:00");
        assert_eq!(at("7d").unwrap(), "2026-11-23T12:00:00+00:00");
        let err = at("yesterday").unwrap_err();
        assert!(
            err.contains("neither a time (RFC 3339) nor a duration"),
            "{err}"
        );
    }

    #[test]
    fn a_negative_duration_is_said_to_be_one() {
        for text in ["-5s", " -1h"] {
            let err = parse_duration(text).unwrap_err();
            assert!(
                err.contains("is negative; a duration is zero or more"),
                "{err}"
            );
        }
    }

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert!(
            parse_duration("soon")
                .unwrap_err()
                .contains("`soon` is not a duration")
        );
        assert!(parse_duration("").is_err());
        assert_eq!(parse_duration("3650d"), Ok(MAX_DURATION));
        for huge in ["3651d", "300000y", "18446744073709551615s"] {
            let err = parse_duration(huge).unwrap_err();
            assert!(
                err.contains("longer than the limit of 10 years") || err.contains("not a duration"),
                "{huge}: {err}"
            );
        }
    }

    #[test]
    fn spans_read_from_parameters() {
        let span: Span = serde_json::from_value(serde_json::json!("90s")).expect("a span");
        assert_eq!(span, Span::secs(90));
        let err = serde_json::from_value::<Span>(serde_json::json!(90)).expect_err("a number");
        assert!(err.to_string().contains("expected a string"), "{err}");
        let err = serde_json::from_value::<Span>(serde_json::json!("soon")).expect_err("text");
        assert!(
            err.to_string().contains("`soon` is not a duration"),
            "{err}"
        );
    }

    #[test]
    fn parses_sizes() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("100MB"), Ok(100_000_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("64 parsecs").is_err());
        assert!(parse_size("99999999999999GiB").is_err());
    }
}
