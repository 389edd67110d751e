//! Snapshots: create (adopting one made by an earlier try of the same
//! step), list, remove (then consolidate when the VM asks for it).
//!
//! These are plain async functions so that other actions (the
//! platform-agnostic `snapshot`) reuse them; the `vsphere.snapshot.*`
//! actions are thin wrappers.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::client::Client;
use super::error::VsphereError;
use super::moref::MoRef;
use super::properties::retrieve;
use super::request::Request;
use super::task::{Observer, wait_for_task};
use super::vm::{Disk, check_vcenter, datacenter_path, disks};
use super::xml::Element;

/// Where a snapshot is, as later steps pass it on: the vCenter's
/// instanceUuid, the VM's moRef and the snapshot's moRef.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRef {
    pub vcenter: String,
    pub vm: String,
    pub moref: String,
    /// The connection in Shutter's config it was made through, so later
    /// steps reach the same vCenter without naming it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection: Option<String>,
}

impl SnapshotRef {
    /// The object form (`{vcenter, vm, moref}`) or the URI form
    /// (`vsphere://VCENTER/vm-42/snapshot-7`).
    pub fn parse(value: &Json) -> Result<Self, VsphereError> {
        let bad = || {
            VsphereError::Invalid(
                "parameter `snapshot` must be {vcenter, vm, moref} (the `snapshot` output of vsphere.snapshot.create) or vsphere://VCENTER/VM/SNAPSHOT"
                    .to_owned(),
            )
        };
        match value {
            Json::String(text) => {
                let rest = text.strip_prefix("vsphere://").ok_or_else(bad)?;
                let parts: Vec<&str> = rest.split('/').collect();
                match parts.as_slice() {
                    [vcenter, vm, moref] if parts.iter().all(|p| !p.is_empty()) => Ok(Self {
                        vcenter: (*vcenter).to_owned(),
                        vm: (*vm).to_owned(),
                        moref: (*moref).to_owned(),
                        connection: None,
                    }),
                    _ => Err(bad()),
                }
            }
            Json::Object(_) => {
                let parsed: Self = serde_json::from_value(value.clone()).map_err(|_| bad())?;
                if parsed.vcenter.is_empty() || parsed.vm.is_empty() || parsed.moref.is_empty() {
                    return Err(bad());
                }
                Ok(parsed)
            }
            _ => Err(bad()),
        }
    }

    pub fn uri(&self) -> String {
        format!("vsphere://{}/{}/{}", self.vcenter, self.vm, self.moref)
    }

    pub(crate) fn moref(&self) -> MoRef {
        MoRef::new("VirtualMachineSnapshot", &self.moref)
    }

    /// The moRef of the VM it is a snapshot of.
    pub(crate) fn vm_moref(&self) -> MoRef {
        MoRef::new("VirtualMachine", &self.vm)
    }

    /// An error unless `client` is connected to the vCenter the snapshot
    /// is on: its moRefs mean nothing elsewhere.
    pub(crate) fn check_vcenter(&self, client: &Client) -> Result<(), VsphereError> {
        check_vcenter(
            client,
            Some(&self.vcenter),
            &format!("snapshot {}", self.moref),
        )
    }
}

/// Whether the snapshot is still in its VM's snapshot tree; `what` names
/// the work the look is for when it fails.
pub(crate) async fn in_tree(
    client: &Client,
    snapshot: &SnapshotRef,
    what: &str,
) -> Result<bool, VsphereError> {
    Ok(list_snapshots(client, &snapshot.vm_moref())
        .await
        .map_err(|e| e.context(what))?
        .iter()
        .any(|s| s.snapshot.moref == snapshot.moref))
}

/// One snapshot in a VM's tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    pub snapshot: SnapshotRef,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub quiesced: bool,
    /// The power state it captured (`poweredOn` with memory).
    pub state: String,
    /// The parent snapshot's moRef, if any.
    pub parent: Option<String>,
    /// Whether the VM currently runs from this snapshot.
    pub current: bool,
}

impl SnapshotInfo {
    /// `quiesced` or `crash`, the platform-agnostic consistency word.
    pub fn consistency(&self) -> &'static str {
        if self.quiesced { "quiesced" } else { "crash" }
    }
}

/// What to create.
#[derive(Debug, Clone, Default)]
pub struct SnapshotSpec {
    pub name: String,
    pub description: String,
    pub memory: bool,
    pub quiesce: bool,
    /// Marks the snapshot so that a later try of the same step adopts it.
    pub idempotency_key: Option<String>,
}

/// A created (or adopted) snapshot and the disks it captured.
#[derive(Debug, Clone, Serialize)]
pub struct Created {
    #[serde(flatten)]
    pub info: SnapshotInfo,
    /// True when an earlier try had already made it.
    pub adopted: bool,
    pub disks: Vec<Disk>,
}

/// Longest snapshot name vSphere takes.
const MAX_NAME: usize = 80;
/// Opens the line of a description (snapshots) or an annotation (clones)
/// that carries the idempotency key of the step that made the object.
pub(crate) const KEY_MARKER: &str = "shutter-idempotency-key: ";

/// The short tag of an idempotency key that snapshot names carried before
/// names were kept as given: such snapshots are still adopted.
fn key_tag(key: &str) -> String {
    // FNV-1a: stable across versions and platforms, unlike std's hasher.
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// The description a snapshot is created with: the workflow's, and a line
/// with the whole idempotency key. The name stays exactly as given: tools
/// and people look snapshots up by name.
fn marked(spec: &SnapshotSpec) -> Result<String, VsphereError> {
    let length = spec.name.chars().count();
    if length > MAX_NAME {
        return Err(VsphereError::Invalid(format!(
            "snapshot name `{}` is {length} characters; vSphere takes at most {MAX_NAME}",
            spec.name
        )));
    }
    let Some(key) = &spec.idempotency_key else {
        return Ok(spec.description.clone());
    };
    Ok(if spec.description.is_empty() {
        format!("{KEY_MARKER}{key}")
    } else {
        format!("{}\n{KEY_MARKER}{key}", spec.description)
    })
}

fn carries_key(info: &SnapshotInfo, key: &str) -> bool {
    info.description
        .lines()
        .any(|line| line.strip_prefix(KEY_MARKER) == Some(key))
        || info.name.ends_with(&format!(" [{}]", key_tag(key)))
}

/// Creates a snapshot of `vm`, or adopts the one an earlier try of the same
/// idempotency key made.
pub async fn create_snapshot(
    client: &Client,
    vm: &MoRef,
    spec: &SnapshotSpec,
    observer: &dyn Observer,
) -> Result<Created, VsphereError> {
    let what = format!(
        "creating snapshot `{}` of {} on vcenter {}",
        spec.name,
        vm.value,
        client.vcenter()
    );
    let existing = match &spec.idempotency_key {
        Some(key) => list_snapshots(client, vm)
            .await?
            .into_iter()
            .find(|s| carries_key(s, key)),
        None => None,
    };
    let (info, adopted) = match existing {
        Some(info) => (info, true),
        None => {
            let description = marked(spec).map_err(|e| e.context(&what))?;
            let request = Request::new("CreateSnapshot_Task", vm)
                .text("name", &spec.name)
                .text("description", &description)
                .bool("memory", spec.memory)
                .bool("quiesce", spec.quiesce);
            let task = task_of(
                client.call(&request).await.map_err(|e| e.context(&what))?,
                &what,
            )?;
            let result = wait_for_task(client, &task, &what, observer).await?;
            let snapshot = result
                .as_ref()
                .and_then(MoRef::from_element)
                .ok_or_else(|| {
                    VsphereError::Invalid(format!("{what}: the task returned no snapshot"))
                })?;
            let info = list_snapshots(client, vm)
                .await?
                .into_iter()
                .find(|s| s.snapshot.moref == snapshot.value)
                .ok_or_else(|| {
                    VsphereError::NotFound(format!(
                        "{what}: {snapshot} is not in the vm's snapshot tree"
                    ))
                })?;
            (info, false)
        }
    };
    let disks = snapshot_disks(client, &info.snapshot).await?;
    Ok(Created {
        info,
        adopted,
        disks,
    })
}

/// The disks a snapshot captured, with their download URLs. These are the
/// files as they were at snapshot time (the VM writes to delta disks since).
pub async fn snapshot_disks(
    client: &Client,
    snapshot: &SnapshotRef,
) -> Result<Vec<Disk>, VsphereError> {
    let vm = snapshot.vm_moref();
    let parent = retrieve(client, &vm, &["parent", "parentVApp"]).await?;
    let datacenter = datacenter_path(
        client,
        parent
            .moref("parent")
            .or_else(|| parent.moref("parentVApp")),
    )
    .await?;
    let config = retrieve(client, &snapshot.moref(), &["config.hardware.device"]).await?;
    match config.get("config.hardware.device") {
        Some(devices) => disks(client, devices, &datacenter),
        None => Ok(Vec::new()),
    }
}

/// Every snapshot of `vm`, parents before children.
pub async fn list_snapshots(
    client: &Client,
    vm: &MoRef,
) -> Result<Vec<SnapshotInfo>, VsphereError> {
    let props = retrieve(client, vm, &["snapshot"]).await?;
    Ok(props
        .get("snapshot")
        .map(|tree| snapshots_in(client, vm, tree))
        .unwrap_or_default())
}

/// The snapshots of `vm`'s snapshot tree (its `snapshot` property),
/// parents before children.
pub fn snapshots_in(client: &Client, vm: &MoRef, tree: &Element) -> Vec<SnapshotInfo> {
    let current = tree
        .child("currentSnapshot")
        .map(|c| c.text.trim().to_owned());
    let mut out = Vec::new();
    let mut stack: Vec<(&Element, Option<String>)> = tree
        .children_named("rootSnapshotList")
        .rev()
        .map(|n| (n, None))
        .collect();
    while let Some((node, parent)) = stack.pop() {
        let moref = node
            .text_of("snapshot")
            .unwrap_or_default()
            .trim()
            .to_owned();
        stack.extend(
            node.children_named("childSnapshotList")
                .rev()
                .map(|c| (c, Some(moref.clone()))),
        );
        out.push(SnapshotInfo {
            snapshot: SnapshotRef {
                vcenter: client.vcenter().to_owned(),
                vm: vm.value.clone(),
                moref: moref.clone(),
                connection: client.config().name.clone(),
            },
            name: node.text_of("name").unwrap_or_default().to_owned(),
            description: node.text_of("description").unwrap_or_default().to_owned(),
            created_at: node.text_of("createTime").unwrap_or_default().to_owned(),
            quiesced: node.text_of("quiesced") == Some("true"),
            state: node.text_of("state").unwrap_or_default().to_owned(),
            parent,
            current: current.as_deref() == Some(moref.as_str()),
        });
    }
    out
}

/// The idempotency key a snapshot Shutter made carries in its description.
pub fn key_of(info: &SnapshotInfo) -> Option<&str> {
    key_in(&info.description)
}

/// The idempotency key a text (a snapshot's description, a VM's
/// annotation) carries on its marker line, if any.
pub fn key_in(text: &str) -> Option<&str> {
    text.lines()
        .find_map(|line| line.strip_prefix(KEY_MARKER))
        .filter(|key| !key.is_empty())
}

/// What removing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// False when the snapshot was already gone (an earlier try removed it).
    pub removed: bool,
    /// Whether `ConsolidateVMDisks_Task` ran afterwards.
    pub consolidated: bool,
}

/// Removes a snapshot, then consolidates the VM's disks if it reports
/// `runtime.consolidationNeeded`. A snapshot that is no longer in the VM's
/// tree counts as removed, so a retried or resumed cleanup step succeeds.
pub async fn remove_snapshot(
    client: &Client,
    snapshot: &SnapshotRef,
    remove_children: bool,
    consolidate: bool,
    observer: &dyn Observer,
) -> Result<Removed, VsphereError> {
    snapshot.check_vcenter(client)?;
    let vm = snapshot.vm_moref();
    let what = format!(
        "removing snapshot {} of {} on vcenter {}",
        snapshot.moref,
        snapshot.vm,
        client.vcenter()
    );
    let present = in_tree(client, snapshot, &what).await?;
    if present {
        let request = Request::new("RemoveSnapshot_Task", &snapshot.moref())
            .bool("removeChildren", remove_children)
            .bool("consolidate", consolidate);
        let task = match client.call(&request).await {
            Ok(answer) => Some(task_of(answer, &what)?),
            // Removed between our look and our call: the same outcome.
            Err(err) if err.is_fault("ManagedObjectNotFound") => None,
            Err(err) => return Err(err.context(&what)),
        };
        if let Some(task) = task {
            wait_for_task(client, &task, &what, observer).await?;
        }
    }
    let needed = retrieve(client, &vm, &["runtime.consolidationNeeded"])
        .await?
        .bool("runtime.consolidationNeeded")
        .unwrap_or(false);
    let consolidated = if needed {
        let what = format!(
            "consolidating the disks of {} on vcenter {}",
            snapshot.vm,
            client.vcenter()
        );
        let task = task_of(
            client
                .call(&Request::new("ConsolidateVMDisks_Task", &vm))
                .await
                .map_err(|e| e.context(&what))?,
            &what,
        )?;
        wait_for_task(client, &task, &what, observer).await?;
        true
    } else {
        false
    };
    Ok(Removed {
        removed: present,
        consolidated,
    })
}

/// The task a `..._Task` method answered with.
pub(crate) fn task_of(answer: Element, what: &str) -> Result<MoRef, VsphereError> {
    answer
        .child("returnval")
        .and_then(MoRef::from_element)
        .ok_or_else(|| VsphereError::Invalid(format!("{what}: no task returned")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_name_is_kept_and_the_description_carries_the_key() {
        let long = SnapshotSpec {
            name: "x".repeat(81),
            ..SnapshotSpec::default()
        };
        let err = marked(&long).unwrap_err().to_string();
        assert!(
            err.ends_with("is 81 characters; vSphere takes at most 80"),
            "{err}"
        );
        let spec = SnapshotSpec {
            name: "x".repeat(80),
            description: "why".into(),
            idempotency_key: Some("shutter:abc:step".into()),
            ..SnapshotSpec::default()
        };
        let description = marked(&spec).unwrap();
        assert_eq!(
            description,
            "why\nshutter-idempotency-key: shutter:abc:step"
        );
        let name = spec.name.clone();
        let info = SnapshotInfo {
            snapshot: SnapshotRef {
                vcenter: "v".into(),
                vm: "vm-1".into(),
                moref: "snapshot-1".into(),
                connection: None,
            },
            name,
            description,
            created_at: String::new(),
            quiesced: true,
            state: String::new(),
            parent: None,
            current: true,
        };
        assert!(carries_key(&info, "shutter:abc:step"));
        assert!(!carries_key(&info, "shutter:abc:other"));
        // Made before names were kept: the tag in the name still adopts.
        let older = SnapshotInfo {
            name: format!("Backup [{}]", key_tag("shutter:abc:old")),
            description: String::new(),
            ..info
        };
        assert!(carries_key(&older, "shutter:abc:old"));
    }

    #[test]
    fn references_parse_in_both_forms() {
        let object =
            SnapshotRef::parse(&json!({"vcenter": "v", "vm": "vm-1", "moref": "snapshot-2"}))
                .unwrap();
        assert_eq!(SnapshotRef::parse(&json!(object.uri())).unwrap(), object);
        assert!(SnapshotRef::parse(&json!("vsphere://v/vm-1")).is_err());
        assert!(SnapshotRef::parse(&json!({"vm": "vm-1"})).is_err());
    }
}
