//! EC2 values as step outputs: timestamps as RFC 3339, tags as a map.
//!
//! A listed snapshot carries `id` and `created_at` besides the EC2 names,
//! so a list can be given as is to the `retention` WASM step.

use aws_sdk_ec2::primitives::{DateTime, DateTimeFormat};
use aws_sdk_ec2::types::{Snapshot, Tag};
use serde_json::{Map, Value as Json, json};

pub(crate) fn time(at: Option<&DateTime>) -> Option<String> {
    at.and_then(|at| at.fmt(DateTimeFormat::DateTime).ok())
}

pub(crate) fn tags(tags: &[Tag]) -> Map<String, Json> {
    tags.iter()
        .filter_map(|tag| {
            Some((
                tag.key()?.to_owned(),
                json!(tag.value().unwrap_or_default()),
            ))
        })
        .collect()
}

/// AWS's `"40%"` as a number; 0 when absent or unreadable.
pub(crate) fn percent(progress: Option<&str>) -> u8 {
    progress
        .and_then(|text| text.trim().trim_end_matches('%').parse::<f64>().ok())
        .map_or(0, |p| {
            // Clamped to 0..=100 first, so the cast cannot truncate.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let whole = p.clamp(0.0, 100.0).round() as u8;
            whole
        })
}

pub(crate) fn snapshot(snapshot: &Snapshot, region: &str) -> Json {
    let id = snapshot.snapshot_id().unwrap_or_default();
    let started = time(snapshot.start_time());
    json!({
        "id": id,
        "snapshot_id": id,
        "created_at": started,
        "start_time": started,
        "state": snapshot.state().map(|s| s.as_str()),
        "progress": percent(snapshot.progress()),
        "volume_id": snapshot.volume_id(),
        "volume_size": snapshot.volume_size(),
        "description": snapshot.description(),
        "encrypted": snapshot.encrypted(),
        "owner_id": snapshot.owner_id(),
        "region": region,
        "tags": tags(snapshot.tags()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_text_becomes_a_percentage() {
        assert_eq!(percent(Some("40%")), 40);
        assert_eq!(percent(Some("100%")), 100);
        assert_eq!(percent(Some("")), 0);
        assert_eq!(percent(None), 0);
        assert_eq!(percent(Some("250%")), 100);
    }

    #[test]
    fn times_are_rfc3339() {
        let at = DateTime::from_secs(1_700_000_000);
        assert_eq!(time(Some(&at)).as_deref(), Some("2023-11-14T22:13:20Z"));
        assert_eq!(time(None), None);
    }
}
