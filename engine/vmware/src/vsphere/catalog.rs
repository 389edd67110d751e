//! What the vSphere actions put in the backup catalog: a snapshot, where it
//! is (the vCenter's instanceUuid) and of what (the VM's moRef, and its own
//! instanceUuid, which outlives a moRef when the VM is registered again).

use shutter_core::record::Timestamp;
use shutter_core::{BackupKind, BackupRef, BackupSource, Census, Found, Location, NewBackup};

use super::client::Client;
use super::error::VsphereError;
use super::moref::MoRef;
use super::properties::{retrieve, retrieve_all};
use super::snapshot::{SnapshotInfo, key_of, snapshots_in};
use super::vm::Disk;

fn location(vcenter: &str) -> Location {
    Location::Vsphere {
        vcenter: vcenter.to_owned(),
    }
}

/// The VM's `config.instanceUuid`, if vCenter tells it.
pub(crate) async fn vm_uuid(client: &Client, vm: &MoRef) -> Option<String> {
    let props = retrieve(client, vm, &["config.instanceUuid"]).await.ok()?;
    props.text("config.instanceUuid").map(str::to_owned)
}

/// The catalog entry of a snapshot `info` of the VM whose own
/// instanceUuid is `vm_uuid`, which captured `disks`.
pub(crate) fn snapshot(info: &SnapshotInfo, vm_uuid: Option<String>, disks: &[Disk]) -> NewBackup {
    let reference = &info.snapshot;
    let mut entry = NewBackup::new(
        BackupKind::VsphereSnapshot,
        location(&reference.vcenter),
        &reference.moref,
    );
    entry.source = Some(BackupSource {
        kind: "vm".to_owned(),
        id: reference.vm.clone(),
        uuid: vm_uuid,
        location: None,
    });
    entry.created_at = chrono::DateTime::parse_from_rfc3339(&info.created_at)
        .ok()
        .map(|at| Timestamp::from(at.to_utc()));
    // What the disks hold at most: vSphere does not size a snapshot.
    entry.size_bytes = (!disks.is_empty()).then(|| disks.iter().map(|d| d.capacity_bytes).sum());
    entry.tags.insert("name".to_owned(), info.name.clone());
    entry
        .tags
        .insert("consistency".to_owned(), info.consistency().to_owned());
    entry
}

/// The moRefs of every snapshot below `moref` in a VM's `tree` (parents
/// come before children in it).
pub(crate) fn below(tree: &[SnapshotInfo], moref: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for info in tree {
        let parent = info.parent.as_deref();
        if parent == Some(moref) || parent.is_some_and(|p| found.iter().any(|f| f == p)) {
            found.push(info.snapshot.moref.clone());
        }
    }
    found
}

/// A snapshot on `vcenter` by its moRef, to mark it.
pub(crate) fn snapshot_ref(vcenter: &str, moref: &str) -> BackupRef {
    BackupRef {
        location: location(vcenter).key(),
        native_id: moref.to_owned(),
    }
}

/// The census of a vCenter: every snapshot of every VM that carries
/// Shutter's idempotency key (in its description), one property read for
/// the whole inventory.
pub(crate) async fn census(client: &Client) -> Result<(Census, usize), VsphereError> {
    let root = &client.service().root_folder;
    let listed_at = chrono::Utc::now();
    let vms = retrieve_all(
        client,
        root,
        "VirtualMachine",
        &["snapshot", "config.instanceUuid"],
    )
    .await?;
    let mut found = Vec::new();
    for vm in &vms {
        let Some(tree) = vm.get("snapshot") else {
            continue;
        };
        let uuid = vm.text("config.instanceUuid").map(str::to_owned);
        for info in snapshots_in(client, &vm.obj, tree) {
            if let Some(key) = key_of(&info) {
                let entry = snapshot(&info, uuid.clone(), &[]);
                found.push(Found::made_by(entry, Some(key)));
            }
        }
    }
    let census = Census {
        location: location(client.vcenter()),
        kinds: vec![BackupKind::VsphereSnapshot],
        found,
        unseen_since: listed_at,
    };
    Ok((census, vms.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vsphere::snapshot::SnapshotRef;

    fn node(moref: &str, parent: Option<&str>) -> SnapshotInfo {
        SnapshotInfo {
            snapshot: SnapshotRef {
                vcenter: "vc".into(),
                vm: "vm-1".into(),
                moref: moref.into(),
                connection: None,
            },
            name: String::new(),
            description: String::new(),
            created_at: String::new(),
            quiesced: false,
            state: String::new(),
            parent: parent.map(str::to_owned),
            current: false,
        }
    }

    #[test]
    fn the_snapshots_below_one_are_its_whole_subtree() {
        let tree = [
            node("s1", None),
            node("s2", Some("s1")),
            node("s3", Some("s2")),
            node("s4", Some("s1")),
            node("s5", None),
            node("s6", Some("s5")),
        ];
        assert_eq!(below(&tree, "s1"), ["s2", "s3", "s4"]);
        assert_eq!(below(&tree, "s2"), ["s3"]);
        assert!(below(&tree, "s3").is_empty());
    }
}
