//! `restore.test`: proves a backup restorable. It restores it (into a
//! sandbox: a new volume, server or clone), checks what came back against
//! what the catalog knows, records the verdict on the catalog entry
//! (`verified_at` when it passed), and deletes what it restored.
//!
//! A backup that cannot be restored is a verdict, not a failed step: the
//! step succeeds with `passed: false`, so one bad backup does not stop the
//! tests of the others. Only what trying again may mend (a throttled or
//! unreachable cloud, a store that is down) fails the step, whose retry
//! adopts what the earlier try restored and deletes it in the end.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError, Backup, LogLevel};
use shutter_core::{action_outputs, action_params};

use super::backup::{Artifact, Restorable};
use super::create::{Restore, Restored, restore};
use super::delete::{Made, delete};
use crate::delegates::Delegates;

/// Tests that a backup restores: restores it as `restore` does (never in
/// place), checks the result (state, size against the catalog's, the image
/// a server booted from, the disks of a clone), records the verdict on the
/// catalog entry (`verified_at`, shown by `shutter backups list`), then
/// deletes what it restored. A backup that fails the test is `passed:
/// false`, not a failed step.
#[action_params("restore.test")]
#[derive(Debug, Deserialize)]
pub(super) struct TestRestore {
    /// What to test: a backup catalog entry's id, an entry of
    /// `backups.query`, or a reference as `restore` takes (then no verdict
    /// is recorded: the catalog does not hold it).
    #[param(ty = Any)]
    backup: Json,
    /// The name of what is restored; default `restore-test-`, the
    /// backup's id there and the end of the execution's id.
    name: Option<String>,
    /// Tags (aws) or server metadata (openstack) for what is restored.
    tags: Option<Map<String, Json>>,
    /// Passed through to the provider's actions, as for `restore` (aws
    /// `{endpoint_url, availability_zone}`, openstack `{cloud, flavor,
    /// networks}`, vsphere `{vcenter, folder, linked}`).
    options: Option<Map<String, Json>>,
    /// Keep what was restored (to look at it); by default it is deleted.
    #[param(default = false)]
    keep: bool,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Tested {
    /// Whether the backup restored and every check passed.
    passed: bool,
    /// The checks in one line, or why the restore failed.
    detail: String,
    /// `{check, passed, detail}` per check.
    #[output(ty = Array)]
    checks: Vec<Check>,
    /// The catalog entry tested, when named by one.
    backup: Option<String>,
    /// What was restored (`restore`'s `restored`), or null when nothing was.
    #[output(ty = Object)]
    restored: Json,
    /// Whether what was restored has been deleted.
    cleaned_up: bool,
}

#[derive(Debug, Serialize)]
struct Check {
    check: &'static str,
    passed: bool,
    detail: String,
}

impl Check {
    fn new(check: &'static str, passed: bool, detail: String) -> Self {
        Self {
            check,
            passed,
            detail,
        }
    }
}

impl Run<Delegates> for TestRestore {
    type Outputs = Tested;

    async fn run(self, ctx: &ActionContext, delegates: &Delegates) -> Outcome<Tested> {
        let what = Restorable::read(ctx, &self.backup).await?;
        let from = what.artifact.id().to_owned();
        let asked = Restore {
            backup: self.backup.clone(),
            name: Some(
                self.name
                    .clone()
                    .unwrap_or_else(|| default_name(ctx, &from)),
            ),
            in_place: false,
            tags: self.tags.clone(),
            options: Some(sandboxed(&what.artifact, self.options.clone())?),
        };
        let (checks, restored) = match restore(delegates, ctx, &what, &asked).await {
            Ok(restored) => {
                // A check that cannot be made fails the test, and what was
                // restored is deleted all the same.
                let checks = match check(delegates, ctx, &restored, what.entry.as_ref()).await {
                    Ok(checks) => checks,
                    Err(ActionError::Canceled) => return Err(ActionError::Canceled),
                    Err(err) => vec![Check::new("checks", false, err.report())],
                };
                (checks, Some(restored))
            }
            Err(err @ (ActionError::Retryable { .. } | ActionError::Canceled)) => return Err(err),
            Err(err) => (vec![Check::new("restore", false, err.report())], None),
        };
        let passed = checks.iter().all(|c| c.passed);
        let detail = checks
            .iter()
            .map(|c| format!("{}: {}", c.check, c.detail))
            .collect::<Vec<_>>()
            .join("; ");
        match &what.entry {
            Some(entry) => ctx.record_test(entry.reference(), passed, detail.clone()),
            None => ctx.log(
                LogLevel::Info,
                format!("{from} is not in the backup catalog: the verdict is not recorded"),
            ),
        }
        let reference = restored.as_ref().map(|r| r.restored.clone());
        let cleaned_up = match (&reference, self.keep) {
            (Some(reference), false) => {
                delete(delegates, ctx, Made::parse(reference)?).await?;
                true
            }
            _ => false,
        };
        Ok(Tested {
            passed,
            detail,
            checks,
            backup: what.entry.as_ref().map(|entry| entry.id.clone()),
            restored: reference.unwrap_or(Json::Null),
            cleaned_up,
        })
    }
}

/// The options a test restores with: a sandbox. A server boots with no
/// network (`networks: none`) unless a network is named, so a copy of a
/// production server cannot start talking to its peers; a clone stays
/// powered off. What a restore needs and lacks (a Glance image's `cloud`
/// and `flavor`) fails the step, not the backup: it is not the backup's
/// fault.
fn sandboxed(
    artifact: &Artifact,
    options: Option<Map<String, Json>>,
) -> Result<Map<String, Json>, ActionError> {
    let mut options = options.unwrap_or_default();
    options.retain(|_, value| !(value.is_null() || value.as_str() == Some("")));
    match artifact {
        Artifact::GlanceImage { cloud, .. } => {
            let missing: Vec<&str> = ["cloud", "flavor"]
                .into_iter()
                // A reference names its cloud itself.
                .filter(|key| !(options.contains_key(*key) || *key == "cloud" && cloud.is_some()))
                .collect();
            if !missing.is_empty() {
                return Err(ActionError::fatal(format!(
                    "testing Glance image {} needs `options.{}`: no verdict recorded",
                    artifact.id(),
                    missing.join("` and `options.")
                )));
            }
            options.entry("networks").or_insert_with(|| json!("none"));
        }
        Artifact::VsphereSnapshot { .. } => {
            options.insert("power_on".into(), json!(false));
        }
        Artifact::EbsSnapshot { .. } => {}
    }
    Ok(options)
}

/// `restore-test-<backup>-<execution>`: each execution's tests restore
/// under names of their own, so one left behind (`keep`) is never in the
/// way of the next night's.
fn default_name(ctx: &ActionContext, from: &str) -> String {
    let execution = ctx.execution.to_string();
    let tail = &execution[execution.len().saturating_sub(8)..];
    format!("restore-test-{from}-{tail}")
}

/// What is checked of what was restored, by what the provider's action
/// said of it (and for a clone, by reading the clone).
async fn check(
    delegates: &Delegates,
    ctx: &ActionContext,
    restored: &Restored,
    entry: Option<&Backup>,
) -> Result<Vec<Check>, ActionError> {
    let details = &restored.details;
    let size = entry.and_then(|entry| entry.artifact.size_bytes);
    let mut checks = vec![Check::new(
        "restore",
        true,
        format!("{} {} from {}", restored.kind, restored.id, restored.from),
    )];
    match restored.kind {
        "volume" => {
            let state = details
                .get("state")
                .and_then(Json::as_str)
                .unwrap_or("unknown");
            let encrypted = details.get("encrypted").and_then(Json::as_bool) == Some(true);
            let sealed = if encrypted {
                "encrypted"
            } else {
                "not encrypted"
            };
            checks.push(Check::new(
                "state",
                state == "available",
                format!("volume {state}, {sealed}"),
            ));
            let gib = details.get("size_gib").and_then(Json::as_u64);
            checks.push(size_check(gib.map(|gib| gib << 30), size));
        }
        "server" => {
            let status = details
                .get("status")
                .and_then(Json::as_str)
                .unwrap_or("unknown");
            checks.push(Check::new(
                "state",
                status == "ACTIVE",
                format!("server {status}"),
            ));
            let image = details.get("image_id").and_then(Json::as_str);
            checks.push(Check::new(
                "image",
                image == Some(restored.from.as_str()),
                format!("booted from {}", image.unwrap_or("an unknown image")),
            ));
        }
        _ => {
            // A clone: read it, as anyone restoring would look at it.
            let connection = &restored.restored["connection"];
            let vcenter = connection["vcenter_uuid"].as_str().unwrap_or_default();
            let mut params = json!({"vm": format!("vsphere://{vcenter}/{}", restored.id)});
            if let Some(named) = connection.get("vcenter") {
                params["vcenter"] = named.clone();
            }
            let vm = delegates.run(ctx, "vsphere.vm.get", params).await?;
            let disks = vm
                .get("disks")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default();
            checks.push(Check::new(
                "disks",
                !disks.is_empty(),
                format!("{} disks", disks.len()),
            ));
            let capacity: u64 = disks
                .iter()
                .filter_map(|disk| disk.get("capacity_bytes").and_then(Json::as_u64))
                .sum();
            checks.push(size_check(Some(capacity), size));
        }
    }
    Ok(checks)
}

/// The restored size against the catalog's, when both are known.
fn size_check(restored: Option<u64>, expected: Option<u64>) -> Check {
    let gib = |bytes: u64| {
        if bytes.is_multiple_of(1 << 30) {
            format!("{} GiB", bytes >> 30)
        } else {
            format!("{bytes} bytes")
        }
    };
    match (restored, expected) {
        (Some(got), Some(want)) => Check::new(
            "size",
            got == want,
            format!("{} restored, {} in the catalog", gib(got), gib(want)),
        ),
        (Some(got), None) => Check::new(
            "size",
            got > 0,
            format!("{} restored; the catalog does not know the size", gib(got)),
        ),
        (None, _) => Check::new(
            "size",
            false,
            "the provider did not say the size".to_owned(),
        ),
    }
}
