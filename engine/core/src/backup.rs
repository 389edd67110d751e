//! The backup catalog: every artifact a Shutter action made or adopted (an
//! EBS snapshot or its copy, an AMI, a Glance image, a vSphere snapshot),
//! where it is, what it is a backup of, and whether it is still there.
//!
//! An action reports what it made with [`crate::ActionContext::record_backup`];
//! the report is a [`Change::BackupRecorded`](crate::Change) written in the
//! same transaction as the step's result, and every store folds it into its
//! catalog with [`Backup::fold`] (here, once, so every backend agrees).
//! Entries outlive their executions: pruning old executions keeps them.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{ExecutionId, StepKey};
use crate::record::Timestamp;

/// What kind of artifact a backup is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupKind {
    /// An EBS snapshot (or a copy of one in another region).
    EbsSnapshot,
    /// An AMI (CreateImage).
    Ami,
    /// A Glance image (an upload, or a Nova server's createImage).
    GlanceImage,
    /// A vSphere VM snapshot.
    VsphereSnapshot,
}

impl BackupKind {
    pub const ALL: [Self; 4] = [
        Self::EbsSnapshot,
        Self::Ami,
        Self::GlanceImage,
        Self::VsphereSnapshot,
    ];

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::EbsSnapshot => "ebs_snapshot",
            Self::Ami => "ami",
            Self::GlanceImage => "glance_image",
            Self::VsphereSnapshot => "vsphere_snapshot",
        }
    }
}

/// Where an artifact is: the cloud account and region, the OpenStack
/// project, the vCenter. Two artifacts with the same id in two locations
/// (a vSphere `snapshot-12` in two vCenters) are two backups.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "provider", rename_all = "lowercase", deny_unknown_fields)]
pub enum Location {
    Aws {
        account: String,
        region: String,
    },
    Openstack {
        /// Keystone's URL, as the cloud's `auth_url` gives it.
        auth_url: String,
        project: String,
        region: Option<String>,
    },
    Vsphere {
        /// The vCenter's `instanceUuid` (its `ServiceContent.about`): the
        /// same whatever name or address it is reached by.
        vcenter: String,
    },
}

impl Location {
    pub fn provider(&self) -> &'static str {
        match self {
            Self::Aws { .. } => "aws",
            Self::Openstack { .. } => "openstack",
            Self::Vsphere { .. } => "vsphere",
        }
    }

    /// The location as one text, the catalog's key with an artifact's id:
    /// `aws:<account>:<region>`, `openstack:<project>:<region>@<auth_url>`,
    /// `vsphere:<vcenter instanceUuid>`.
    pub fn key(&self) -> String {
        match self {
            Self::Aws { account, region } => format!("aws:{account}:{region}"),
            Self::Openstack {
                auth_url,
                project,
                region,
            } => format!(
                "openstack:{project}:{}@{auth_url}",
                region.as_deref().unwrap_or("")
            ),
            Self::Vsphere { vcenter } => format!("vsphere:{vcenter}"),
        }
    }
}

/// What a backup is a backup of: a volume, an instance, a server, a VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupSource {
    /// `volume`, `instance`, `server`, `vm`.
    pub kind: String,
    /// Its id where it is (`vol-...`, a server's UUID, a VM's moRef).
    pub id: String,
    /// An id that outlives `id`, where there is one: a VM's own
    /// `instanceUuid`, the same after the VM is registered again under a
    /// new moRef.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    /// Where the source is, when not where the backup is: a snapshot
    /// copied to another region is still of a volume in the first.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

/// One artifact, as the action that made (or adopted) it reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewBackup {
    pub kind: BackupKind,
    #[serde(rename = "where")]
    pub location: Location,
    /// Its id where it is (`snap-...`, an image's UUID, a snapshot's moRef).
    pub native_id: String,
    /// What it is a backup of; none where the cloud does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<BackupSource>,
    /// The artifact it was made from (a copy's original, an image uploaded
    /// from a snapshot), by location and id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub derived_from: Option<BackupRef>,
    /// When the cloud made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl NewBackup {
    pub fn new(kind: BackupKind, location: Location, native_id: impl Into<String>) -> Self {
        Self {
            kind,
            location,
            native_id: native_id.into(),
            source: None,
            derived_from: None,
            created_at: None,
            size_bytes: None,
            tags: BTreeMap::new(),
        }
    }

    /// This artifact by location and id.
    pub fn reference(&self) -> BackupRef {
        BackupRef {
            location: self.location.key(),
            native_id: self.native_id.clone(),
        }
    }
}

/// An artifact by where it is and its id there: what names a catalog entry
/// across stores and database losses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupRef {
    /// [`Location::key`].
    pub location: String,
    pub native_id: String,
}

impl fmt::Display for BackupRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.location, self.native_id)
    }
}

/// Whether an artifact is still there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupState {
    Available,
    /// Deleted by Shutter (a delete action).
    Deleted,
    /// Not found where it was when the catalog was last reconciled.
    Missing,
}

impl BackupState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::Deleted => "deleted",
            Self::Missing => "missing",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Available, Self::Deleted, Self::Missing]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

/// A catalog entry: an artifact and what Shutter knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backup {
    /// The catalog's id: a `UUIDv7` given when first recorded, so ids sort
    /// by when Shutter learned of the artifact.
    pub id: String,
    #[serde(flatten)]
    pub artifact: NewBackup,
    /// The backup set: the execution that made it, and its step.
    pub execution: Option<ExecutionId>,
    pub step: Option<String>,
    pub state: BackupState,
    /// When it entered `state`.
    pub state_at: Timestamp,
    /// When Shutter first recorded it.
    pub recorded_at: Timestamp,
    /// When an action last reported it, or a reconcile last found it
    /// (a `missing` entry: when it was last seen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen_at: Option<Timestamp>,
    /// When a restore test last proved it restorable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<Timestamp>,
    /// The last restore test's verdict, passed or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test: Option<RestoreTest>,
}

/// A restore test's verdict on one backup: it was restored and checked,
/// or why it could not be.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreTest {
    pub passed: bool,
    /// What was checked, or what failed.
    pub detail: String,
    pub at: Timestamp,
    /// The execution and step that ran the test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

impl Backup {
    /// The catalog entry after `artifact` was reported by `step` of
    /// `execution` at `at`: a new entry, or `existing` brought up to date
    /// (a step that adopted what an earlier try made reports it again).
    /// Its id, first recording and backup set stay those of the first
    /// report.
    pub fn fold(
        existing: Option<Self>,
        artifact: &NewBackup,
        execution: ExecutionId,
        step: &StepKey,
        at: Timestamp,
    ) -> Self {
        match existing {
            Some(entry) => entry.refreshed(artifact, at),
            None => Self::first(
                artifact.clone(),
                Some(execution),
                Some(step.to_string()),
                at,
            ),
        }
    }

    /// The entry as `artifact` reported at `at` says it is now: there
    /// (`available`), with what the report knows and the rest as before.
    fn refreshed(mut self, artifact: &NewBackup, at: Timestamp) -> Self {
        let known = std::mem::replace(&mut self.artifact, artifact.clone());
        let now = &mut self.artifact;
        now.source = now.source.take().or(known.source);
        now.derived_from = now.derived_from.take().or(known.derived_from);
        now.created_at = now.created_at.or(known.created_at);
        now.size_bytes = now.size_bytes.or(known.size_bytes);
        if now.tags.is_empty() {
            now.tags = known.tags;
        }
        if self.state != BackupState::Available {
            self.state = BackupState::Available;
            self.state_at = at;
        }
        self.last_seen_at = Some(at);
        self
    }

    /// A new entry, first recorded at `at`.
    fn first(
        artifact: NewBackup,
        execution: Option<ExecutionId>,
        step: Option<String>,
        at: Timestamp,
    ) -> Self {
        Self {
            id: uuid::Uuid::now_v7().to_string(),
            artifact,
            execution,
            step,
            state: BackupState::Available,
            state_at: at,
            recorded_at: at,
            last_seen_at: Some(at),
            verified_at: None,
            last_test: None,
        }
    }

    /// The entry after a reconcile found `found` at `at`: `existing`
    /// brought up to date (and `available` again), or a new entry whose
    /// backup set is what the artifact's marks say (after the catalog was
    /// lost, say).
    ///
    /// A `deleted` entry stays deleted (a cloud may list what was deleted
    /// a while longer), and an entry keeps its tags: the execution that
    /// recorded them hid its secrets in them, which the reconcile does
    /// not know to hide.
    pub fn found(existing: Option<Self>, found: &Found, at: Timestamp) -> Self {
        match existing {
            Some(entry) if entry.state == BackupState::Deleted => entry,
            Some(mut entry) => {
                let tags = std::mem::take(&mut entry.artifact.tags);
                let mut entry = entry.refreshed(&found.backup, at);
                entry.artifact.tags = tags;
                entry
            }
            None => Self::first(
                found.backup.clone(),
                found.execution,
                found.step.clone(),
                at,
            ),
        }
    }

    /// The entry marked `state` at `at` (unchanged when it is already).
    pub fn marked(mut self, state: BackupState, at: Timestamp) -> Self {
        if self.state != state {
            self.state = state;
            self.state_at = at;
        }
        self
    }

    /// The entry after a restore test's verdict: the last test, and when
    /// it was last proven restorable. A test of a backup that is gone
    /// changes nothing but the record of the test.
    pub fn tested(mut self, test: RestoreTest) -> Self {
        if test.passed {
            self.verified_at = Some(test.at);
        }
        self.last_test = Some(test);
        self
    }

    pub fn reference(&self) -> BackupRef {
        self.artifact.reference()
    }

    /// Its source as one text, `<location>/<kind>/<id>`: the same VM in two
    /// vCenters is two sources.
    pub fn source_ref(&self) -> Option<String> {
        self.artifact.source.as_ref().map(|source| {
            let place = source.location.as_ref().unwrap_or(&self.artifact.location);
            format!("{}/{}/{}", place.key(), source.kind, source.id)
        })
    }

    /// Whether `source` names this entry's source: its full reference
    /// ([`Self::source_ref`]), its id, or its lasting `uuid`.
    pub fn is_of(&self, source: &str) -> bool {
        self.artifact.source.as_ref().is_some_and(|s| {
            s.id == source
                || s.uuid.as_deref() == Some(source)
                || self.source_ref().as_deref() == Some(source)
        })
    }
}

/// What a reconcile found at one place: every artifact of `kinds` there
/// that carries Shutter's marks. Entries of those kinds at that place that
/// were `available` and are not among them are `missing` from then on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Census {
    #[serde(rename = "where")]
    pub location: Location,
    pub kinds: Vec<BackupKind>,
    pub found: Vec<Found>,
    /// Only entries last seen before this are marked `missing`: when the
    /// listing began, less the time a fresh artifact may take to show in
    /// the cloud's lists. One recorded while the listing ran, or too
    /// fresh to be listed yet, is not taken for gone.
    pub unseen_since: Timestamp,
}

/// One artifact a reconcile found, and the backup set its marks name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Found {
    pub backup: NewBackup,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<ExecutionId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

impl Found {
    /// What an idempotency key (`shutter:<execution>:<step>`) says of the
    /// execution and step that made an artifact.
    pub fn made_by(backup: NewBackup, idempotency_key: Option<&str>) -> Self {
        let parts = idempotency_key
            .and_then(|key| key.strip_prefix("shutter:"))
            .and_then(|rest| rest.split_once(':'));
        Self {
            backup,
            execution: parts.and_then(|(execution, _)| execution.parse().ok()),
            step: parts.map(|(_, step)| step.to_owned()),
        }
    }
}

/// A page request for catalog entries, newest first.
#[derive(Debug, Clone, Default)]
pub struct BackupQuery {
    /// Only backups of this source ([`Backup::is_of`]).
    pub source: Option<String>,
    /// Only this provider's (`aws`, `openstack`, `vsphere`).
    pub provider: Option<String>,
    pub state: Option<BackupState>,
    pub kind: Option<BackupKind>,
    /// Only those recorded at or after this time.
    pub since: Option<Timestamp>,
    /// Keyset cursor: only entries older than this id.
    pub before: Option<String>,
    pub limit: usize,
}

impl BackupQuery {
    /// Whether `entry` passes every filter but the cursor and the limit
    /// (the memory store's query; the SQL stores say the same in SQL).
    pub fn keeps(&self, entry: &Backup) -> bool {
        self.source.as_deref().is_none_or(|s| entry.is_of(s))
            && self
                .provider
                .as_deref()
                .is_none_or(|p| entry.artifact.location.provider() == p)
            && self.state.is_none_or(|s| entry.state == s)
            && self.kind.is_none_or(|k| entry.artifact.kind == k)
            && self.since.is_none_or(|since| entry.recorded_at >= since)
    }

    /// The page this query asks for out of `all` (the memory stores'
    /// read; the SQL stores say the same in SQL).
    pub fn page<'a>(&self, all: impl Iterator<Item = &'a Backup>) -> Vec<Backup> {
        let mut found: Vec<Backup> = all
            .filter(|entry| self.keeps(entry))
            .filter(|entry| {
                self.before
                    .as_deref()
                    .is_none_or(|before| entry.id.as_str() < before)
            })
            .cloned()
            .collect();
        found.sort_by(|a, b| b.id.cmp(&a.id));
        found.truncate(self.limit);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(id: &str) -> NewBackup {
        let mut artifact = NewBackup::new(
            BackupKind::VsphereSnapshot,
            Location::Vsphere {
                vcenter: "vc-1".into(),
            },
            id,
        );
        artifact.source = Some(BackupSource {
            kind: "vm".into(),
            id: "vm-42".into(),
            uuid: Some("5012-abcd".into()),
            location: None,
        });
        artifact
    }

    #[test]
    fn a_report_again_keeps_the_first_id_and_backup_set() {
        let first_execution = ExecutionId::new();
        let at = chrono::Utc::now();
        let first = Backup::fold(
            None,
            &snapshot("snapshot-1"),
            first_execution,
            &StepKey::step("snap"),
            at,
        );
        let mut again = snapshot("snapshot-1");
        again.size_bytes = Some(10);
        let later = at + chrono::Duration::seconds(5);
        let folded = Backup::fold(
            Some(first.clone().marked(BackupState::Missing, later)),
            &again,
            ExecutionId::new(),
            &StepKey::step("other"),
            later,
        );
        assert_eq!(folded.id, first.id);
        assert_eq!(folded.execution, Some(first_execution));
        assert_eq!(folded.recorded_at, at);
        assert_eq!(folded.artifact.size_bytes, Some(10));
        assert_eq!(
            folded.state,
            BackupState::Available,
            "reported again: it is there"
        );
        assert_eq!(folded.state_at, later);
    }

    #[test]
    fn a_source_is_named_by_its_reference_id_or_lasting_uuid() {
        let entry = Backup::fold(
            None,
            &snapshot("snapshot-1"),
            ExecutionId::new(),
            &StepKey::step("s"),
            chrono::Utc::now(),
        );
        assert_eq!(entry.source_ref().as_deref(), Some("vsphere:vc-1/vm/vm-42"));
        for name in ["vsphere:vc-1/vm/vm-42", "vm-42", "5012-abcd"] {
            assert!(entry.is_of(name), "{name}");
        }
        assert!(
            !entry.is_of("vsphere:vc-2/vm/vm-42"),
            "another vCenter's vm-42"
        );
        assert!(!entry.is_of("vm-4"));
    }

    #[test]
    fn the_location_key_tells_providers_and_places_apart() {
        let aws = Location::Aws {
            account: "123".into(),
            region: "eu-west-1".into(),
        };
        assert_eq!(aws.key(), "aws:123:eu-west-1");
        let text = serde_json::to_string(&aws).unwrap();
        assert_eq!(
            text,
            r#"{"provider":"aws","account":"123","region":"eu-west-1"}"#
        );
        let openstack = Location::Openstack {
            auth_url: "http://127.0.0.1:5000/v3".into(),
            project: "p1".into(),
            region: Some("RegionOne".into()),
        };
        assert_eq!(
            openstack.key(),
            "openstack:p1:RegionOne@http://127.0.0.1:5000/v3"
        );
    }
}
