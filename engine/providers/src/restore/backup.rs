//! What to restore: a backup catalog entry (by id, or an entry of
//! `backups.query`), or a reference to an artifact the catalog need not
//! hold: `aws://REGION/snap-ID`, `openstack://CLOUD/IMAGE_ID`,
//! `vsphere://VCENTER/vm-N/snapshot-M`.

use serde_json::Value as Json;
use shutter_core::{ActionContext, ActionError, Backup, BackupKind, Location};

/// An artifact a restore starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Artifact {
    EbsSnapshot {
        region: String,
        snapshot_id: String,
    },
    /// `cloud`: the clouds.yaml entry, when the reference names it (the
    /// catalog knows the project and Keystone URL, not the entry's name).
    GlanceImage {
        cloud: Option<String>,
        image_id: String,
    },
    /// `vcenter`: the vCenter's instanceUuid or a connection's name.
    VsphereSnapshot {
        vcenter: String,
        vm: String,
        snapshot: String,
    },
}

impl Artifact {
    pub(super) fn provider(&self) -> &'static str {
        match self {
            Self::EbsSnapshot { .. } => "aws",
            Self::GlanceImage { .. } => "openstack",
            Self::VsphereSnapshot { .. } => "vsphere",
        }
    }

    /// Its id where it is.
    pub(super) fn id(&self) -> &str {
        match self {
            Self::EbsSnapshot { snapshot_id, .. } => snapshot_id,
            Self::GlanceImage { image_id, .. } => image_id,
            Self::VsphereSnapshot { snapshot, .. } => snapshot,
        }
    }
}

/// What a step asked to restore: the artifact, and its catalog entry
/// when it was named by one.
#[derive(Debug, Clone)]
pub(super) struct Restorable {
    pub(super) artifact: Artifact,
    pub(super) entry: Option<Backup>,
}

const EXPECTED: &str = "expected a backup catalog entry's id, an entry of backups.query, aws://REGION/snap-ID, openstack://CLOUD/IMAGE_ID or vsphere://VCENTER/vm-N/snapshot-M";

impl Restorable {
    /// Reads the `backup` parameter; an entry is read afresh from the
    /// catalog, so an output edited on the way cannot point elsewhere.
    pub(super) async fn read(ctx: &ActionContext, value: &Json) -> Result<Self, ActionError> {
        if let Json::String(text) = value
            && text.contains("://")
        {
            return Ok(Self {
                artifact: parse_reference(text)?,
                entry: None,
            });
        }
        if !matches!(value, Json::String(_) | Json::Object(_)) {
            return Err(ActionError::fatal(format!(
                "parameter `backup`: {EXPECTED}"
            )));
        }
        let entry = crate::backups::entry_ref(ctx, value).await?;
        Ok(Self {
            artifact: from_entry(&entry)?,
            entry: Some(entry),
        })
    }
}

/// The artifact a catalog entry names.
pub(super) fn from_entry(entry: &Backup) -> Result<Artifact, ActionError> {
    let artifact = &entry.artifact;
    let id = artifact.native_id.clone();
    let cannot = |why: &str| {
        ActionError::fatal(format!(
            "backup {} ({} {id}) cannot be restored: {why}",
            entry.id,
            artifact.kind.as_str()
        ))
    };
    match (&artifact.kind, &artifact.location) {
        (BackupKind::EbsSnapshot, Location::Aws { region, .. }) => Ok(Artifact::EbsSnapshot {
            region: region.clone(),
            snapshot_id: id,
        }),
        (BackupKind::GlanceImage, Location::Openstack { .. }) => Ok(Artifact::GlanceImage {
            cloud: None,
            image_id: id,
        }),
        (BackupKind::VsphereSnapshot, Location::Vsphere { vcenter }) => {
            let vm = artifact
                .source
                .as_ref()
                .filter(|source| source.kind == "vm")
                .ok_or_else(|| cannot("the catalog does not know its VM"))?;
            Ok(Artifact::VsphereSnapshot {
                vcenter: vcenter.clone(),
                vm: vm.id.clone(),
                snapshot: id,
            })
        }
        (BackupKind::Ami, _) => Err(cannot(
            "restoring an AMI means launching an instance, which Shutter does not do yet; restore one of its EBS snapshots instead",
        )),
        _ => Err(cannot("its kind and location do not agree")),
    }
}

pub(super) fn parse_reference(text: &str) -> Result<Artifact, ActionError> {
    let bad = |why: String| ActionError::fatal(format!("backup `{text}`: {why}; {EXPECTED}"));
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| bad("not a reference".to_owned()))?;
    if let Some(c) = rest
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '?' | '#' | '@'))
    {
        return Err(bad(format!("`{c}` has no place in a reference")));
    }
    let parts: Vec<&str> = rest.split('/').collect();
    if parts.iter().any(|part| part.is_empty()) {
        return Err(bad("a part is empty".to_owned()));
    }
    match (scheme, parts.as_slice()) {
        ("aws", [region, snapshot]) if snapshot.starts_with("snap-") => Ok(Artifact::EbsSnapshot {
            region: (*region).to_owned(),
            snapshot_id: (*snapshot).to_owned(),
        }),
        ("openstack", [cloud, image]) => Ok(Artifact::GlanceImage {
            cloud: Some((*cloud).to_owned()),
            image_id: (*image).to_owned(),
        }),
        ("vsphere", [vcenter, vm, snapshot])
            if vm.starts_with("vm-") && snapshot.starts_with("snapshot-") =>
        {
            Ok(Artifact::VsphereSnapshot {
                vcenter: (*vcenter).to_owned(),
                vm: (*vm).to_owned(),
                snapshot: (*snapshot).to_owned(),
            })
        }
        ("aws" | "openstack" | "vsphere", _) => {
            Err(bad("not the reference of a backup".to_owned()))
        }
        _ => Err(bad(format!("unknown scheme `{scheme}`"))),
    }
}

#[cfg(test)]
mod tests {
    use shutter_core::{BackupSource, ExecutionId, NewBackup, StepKey};

    use super::*;

    #[test]
    fn references_name_each_cloud_and_typos_are_refused() {
        assert_eq!(
            parse_reference("aws://eu-west-1/snap-0abc").unwrap(),
            Artifact::EbsSnapshot {
                region: "eu-west-1".into(),
                snapshot_id: "snap-0abc".into()
            }
        );
        assert_eq!(
            parse_reference("vsphere://vc-1/vm-42/snapshot-7").unwrap(),
            Artifact::VsphereSnapshot {
                vcenter: "vc-1".into(),
                vm: "vm-42".into(),
                snapshot: "snapshot-7".into()
            }
        );
        assert_eq!(
            parse_reference("openstack://lab/8a1f").unwrap().provider(),
            "openstack"
        );
        for wrong in [
            "aws://eu-west-1/vol-1",
            "vsphere://vc/vm-42",
            "ftp://a/b",
            "aws://eu-west-1//snap-1",
            "openstack://lab/x?y",
        ] {
            assert!(parse_reference(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn an_entry_names_its_artifact_and_an_ami_or_a_vm_less_snapshot_is_refused() {
        let place = Location::Vsphere {
            vcenter: "vc-1".into(),
        };
        let mut artifact = NewBackup::new(BackupKind::VsphereSnapshot, place, "snapshot-3");
        let entry = |artifact: &NewBackup| {
            Backup::fold(
                None,
                artifact,
                ExecutionId::new(),
                &StepKey::step("s"),
                chrono::Utc::now(),
            )
        };
        assert!(from_entry(&entry(&artifact)).is_err(), "no VM known");
        artifact.source = Some(BackupSource {
            kind: "vm".into(),
            id: "vm-9".into(),
            uuid: None,
            location: None,
        });
        assert_eq!(
            from_entry(&entry(&artifact)).unwrap(),
            Artifact::VsphereSnapshot {
                vcenter: "vc-1".into(),
                vm: "vm-9".into(),
                snapshot: "snapshot-3".into()
            }
        );
        let ami = NewBackup::new(
            BackupKind::Ami,
            Location::Aws {
                account: "1".into(),
                region: "r".into(),
            },
            "ami-1",
        );
        let err = from_entry(&entry(&ami)).unwrap_err();
        assert!(err.to_string().contains("launching an instance"), "{err}");
    }
}
