//! `backups.query`: catalog entries as a step's output, one shape for
//! every cloud, ready for the `retention` step (`id`, `created_at`) and for
//! `restore`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionError, Backup, BackupKind, BackupQuery, BackupState};
use shutter_core::{action_outputs, action_params};

/// The most entries one step may read: an output is kept in the execution
/// record, and a policy over more than this is better split by source.
const MOST: u64 = 10_000;
/// How many entries one read of the store asks for.
const PAGE: usize = 500;

/// Reads the backup catalog: entries newest first, filtered like `GET
/// /backups`. With `latest_per_source`, only the newest of each source
/// (what a restore test proves restorable). Each entry has `id` and
/// `created_at`, so the `retention` step takes the list as its `snapshots`.
#[action_params("backups.query", read_only)]
#[derive(Debug, Deserialize)]
pub(super) struct QueryBackups {
    /// Only backups of this source: its reference
    /// (`aws:ACCOUNT:REGION/volume/vol-1`), its id (`vol-1`, `vm-42`) or
    /// its lasting uuid (a VM's instanceUuid).
    source: Option<String>,
    /// Only this provider's: `aws`, `openstack` or `vsphere`.
    provider: Option<String>,
    /// Only this kind: `ebs_snapshot`, `ami`, `glance_image` or
    /// `vsphere_snapshot`.
    kind: Option<String>,
    /// Only entries in this state: `available`, `deleted`, `missing`, or
    /// `any`.
    #[param(default = "available")]
    state: String,
    /// Only entries recorded within this long, e.g. `7d`.
    within: Option<Span>,
    /// Only entries carrying every one of these tags (a map of key to
    /// value), e.g. `{shutter-backup: i-0abc}`.
    tags: Option<Map<String, Json>>,
    /// Only the newest entry of each source (entries with no known source
    /// are left out).
    #[param(default = false)]
    latest_per_source: bool,
    /// At most this many entries (at most 10000).
    #[param(default = 1000)]
    limit: u64,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Queried {
    /// The entries, newest first: `{id, kind, provider, where,
    /// location_key, native_id, source, source_ref, created_at, size_bytes,
    /// tags, execution, step, state, verified_at, last_test, ...}`.
    #[output(ty = Array)]
    backups: Vec<Json>,
    /// How many.
    count: usize,
}

impl QueryBackups {
    fn query(&self, now: shutter_core::record::Timestamp) -> Result<BackupQuery, ActionError> {
        let bad = |name: &str, value: &str, allowed: &str| {
            ActionError::fatal(format!(
                "parameter `{name}`: `{value}` is not one of {allowed}"
            ))
        };
        if let Some(provider) = &self.provider
            && !["aws", "openstack", "vsphere"].contains(&provider.as_str())
        {
            return Err(bad("provider", provider, "aws, openstack, vsphere"));
        }
        let kind = self
            .kind
            .as_deref()
            .map(|kind| {
                BackupKind::parse(kind).ok_or_else(|| {
                    bad(
                        "kind",
                        kind,
                        "ebs_snapshot, ami, glance_image, vsphere_snapshot",
                    )
                })
            })
            .transpose()?;
        let state = match self.state.as_str() {
            "any" => None,
            text => Some(
                BackupState::parse(text)
                    .ok_or_else(|| bad("state", text, "available, deleted, missing, any"))?,
            ),
        };
        if self.limit == 0 || self.limit > MOST {
            return Err(ActionError::fatal(format!(
                "parameter `limit` must be 1 to {MOST}, not {}",
                self.limit
            )));
        }
        let since = self
            .within
            .map(|span| {
                chrono::Duration::from_std(span.0)
                    .ok()
                    .and_then(|ago| now.checked_sub_signed(ago))
                    .ok_or_else(|| ActionError::fatal("parameter `within` is too long".to_owned()))
            })
            .transpose()?;
        Ok(BackupQuery {
            source: self.source.clone(),
            provider: self.provider.clone(),
            state,
            kind,
            since,
            before: None,
            limit: PAGE,
        })
    }
}

impl QueryBackups {
    /// Whether `entry` carries every tag asked for (numbers and booleans
    /// stand for their text, as tags are written).
    fn has_tags(&self, entry: &Backup) -> bool {
        self.tags.iter().flatten().all(|(key, value)| {
            let want = match value {
                Json::String(text) => text.clone(),
                other => other.to_string(),
            };
            entry.artifact.tags.get(key) == Some(&want)
        })
    }
}

impl Run<()> for QueryBackups {
    type Outputs = Queried;

    async fn run(self, ctx: &ActionContext, (): &()) -> Outcome<Queried> {
        let mut query = self.query(ctx.now())?;
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let mut kept: Vec<Backup> = Vec::new();
        let mut sources: HashSet<String> = HashSet::new();
        // Keyset pages until the limit: newest first, so with
        // `latest_per_source` the first entry of a source is its newest.
        'pages: loop {
            let page = ctx.backups(&query).await.map_err(super::catalog_error)?;
            let full = page.len() == PAGE;
            let last = page.last().map(|entry| entry.id.clone());
            for entry in page {
                if !self.has_tags(&entry) {
                    continue;
                }
                if self.latest_per_source {
                    let Some(source) = entry.source_ref() else {
                        continue;
                    };
                    if !sources.insert(source) {
                        continue;
                    }
                }
                kept.push(entry);
                if kept.len() == limit {
                    break 'pages;
                }
            }
            // A short page is the last; a cursor that does not move down
            // (a store that ignores it) would never end.
            match last {
                Some(last) if full && query.before.as_ref().is_none_or(|b| last < *b) => {
                    query.before = Some(last);
                }
                _ => break,
            }
        }
        Ok(Queried {
            count: kept.len(),
            backups: kept.iter().map(entry_json).collect(),
        })
    }
}

/// A catalog entry as a step's output: the entry as stored, plus what the
/// API says of it (`provider`, `location_key`, `source_ref`), and a
/// `created_at` always there (when the cloud made it, else when Shutter
/// recorded it) for the `retention` step.
fn entry_json(entry: &Backup) -> Json {
    let mut value = serde_json::to_value(entry).unwrap_or(Json::Null);
    if let Json::Object(map) = &mut value {
        let created = entry.artifact.created_at.unwrap_or(entry.recorded_at);
        map.insert("provider".into(), json!(entry.artifact.location.provider()));
        map.insert("location_key".into(), json!(entry.artifact.location.key()));
        map.insert("source_ref".into(), json!(entry.source_ref()));
        map.insert(
            "created_at".into(),
            json!(created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        );
    }
    value
}
