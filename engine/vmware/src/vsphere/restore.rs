//! Restoring from a snapshot: revert its VM to it, clone a new VM from it
//! (adopting the clone an earlier try of the same step made), and destroy
//! such a clone when the restore has been checked.
//!
//! Plain async functions, like those of [`super::snapshot`]; the
//! `vsphere.snapshot.revert`, `vsphere.vm.clone` and `vsphere.vm.destroy`
//! actions are thin wrappers.

use super::client::Client;
use super::error::VsphereError;
use super::moref::MoRef;
use super::properties::retrieve;
use super::request::{Fragment, Request};
use super::snapshot::{KEY_MARKER, SnapshotRef, in_tree, key_in, task_of};
use super::task::{Observer, wait_for_task};

/// What reverting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reverted {
    /// The VM's moRef.
    pub vm: String,
    /// `runtime.powerState` once reverted.
    pub power_state: String,
}

/// Reverts the snapshot's VM to it. Reverting twice to the same snapshot
/// leaves the VM as once does, so a retried step needs no adoption.
pub async fn revert_to_snapshot(
    client: &Client,
    snapshot: &SnapshotRef,
    suppress_power_on: bool,
    observer: &dyn Observer,
) -> Result<Reverted, VsphereError> {
    snapshot.check_vcenter(client)?;
    let vm = snapshot.vm_moref();
    let what = format!(
        "reverting {} to snapshot {} on vcenter {}",
        snapshot.vm,
        snapshot.moref,
        client.vcenter()
    );
    ensure_in_tree(client, snapshot, &what).await?;
    let request = Request::new("RevertToSnapshot_Task", &snapshot.moref())
        .bool("suppressPowerOn", suppress_power_on);
    let task = match client.call(&request).await {
        Ok(answer) => task_of(answer, &what)?,
        // Removed between our look and our call.
        Err(err) if err.is_fault("ManagedObjectNotFound") => return Err(gone(snapshot, &what)),
        Err(err) => return Err(err.context(&what)),
    };
    wait_for_task(client, &task, &what, observer).await?;
    let power_state = power_state(client, &vm).await?;
    Ok(Reverted {
        vm: vm.value,
        power_state,
    })
}

/// A snapshot missing from its VM's tree is an error that names it: a
/// revert or a clone from it cannot mean anything else.
async fn ensure_in_tree(
    client: &Client,
    snapshot: &SnapshotRef,
    what: &str,
) -> Result<(), VsphereError> {
    if in_tree(client, snapshot, what).await? {
        Ok(())
    } else {
        Err(gone(snapshot, what))
    }
}

fn gone(snapshot: &SnapshotRef, what: &str) -> VsphereError {
    VsphereError::NotFound(format!(
        "{what}: snapshot {} is no longer in the snapshot tree of {} (was it removed?)",
        snapshot.moref, snapshot.vm
    ))
}

async fn power_state(client: &Client, vm: &MoRef) -> Result<String, VsphereError> {
    let props = retrieve(client, vm, &["runtime.powerState"]).await?;
    Ok(props
        .text("runtime.powerState")
        .unwrap_or("unknown")
        .to_owned())
}

/// Where a clone goes: a folder by moRef (`group-v3`) or by inventory path
/// (`DC0/vm/restored`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FolderTarget {
    MoRef(String),
    InventoryPath(String),
}

impl FolderTarget {
    /// A text with `/` is an inventory path, any other a moRef: folder
    /// moRefs have no fixed prefix across vCenter versions and simulators.
    pub fn parse(text: &str) -> Result<Self, VsphereError> {
        let text = text.trim();
        if text.contains('/') {
            let path = text.trim_matches('/');
            if path.is_empty() {
                return Err(Self::bad());
            }
            Ok(Self::InventoryPath(path.to_owned()))
        } else if text.is_empty() {
            Err(Self::bad())
        } else {
            Ok(Self::MoRef(text.to_owned()))
        }
    }

    fn bad() -> VsphereError {
        VsphereError::Invalid(
            "parameter `folder` must be a folder's moRef (group-v3) or its inventory path (DC0/vm/restored)"
                .to_owned(),
        )
    }
}

/// What to clone.
#[derive(Debug, Clone)]
pub struct CloneSpec {
    /// The new VM's name, unique in its folder.
    pub name: String,
    /// Where it goes; `None`: the folder of the snapshot's VM.
    pub folder: Option<FolderTarget>,
    /// New child disks over the snapshot's (`createNewChildDiskBacking`)
    /// rather than a full copy.
    pub linked: bool,
    pub power_on: bool,
    /// Written in the clone's annotation, so that a later try of the same
    /// step adopts the clone, and `vsphere.vm.destroy` knows Shutter made it.
    pub idempotency_key: String,
}

/// A clone made (or adopted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloned {
    pub vm: MoRef,
    pub name: String,
    pub instance_uuid: Option<String>,
    /// `runtime.powerState`, once powered on if that was asked.
    pub power_state: String,
    /// True when an earlier try had already made it.
    pub adopted: bool,
}

/// Clones the snapshot's VM as it was at the snapshot into a new VM, or
/// adopts the clone an earlier try of the same idempotency key made. A VM
/// of that name in the folder that the key does not mark is never touched:
/// the clone fails instead.
pub async fn clone_vm(
    client: &Client,
    snapshot: &SnapshotRef,
    spec: &CloneSpec,
    observer: &dyn Observer,
) -> Result<Cloned, VsphereError> {
    snapshot.check_vcenter(client)?;
    let what = format!(
        "cloning `{}` from snapshot {} of {} on vcenter {}",
        spec.name,
        snapshot.moref,
        snapshot.vm,
        client.vcenter()
    );
    if spec.idempotency_key.is_empty() {
        // Without a key no clone could be told apart from another's.
        return Err(VsphereError::Invalid(format!(
            "{what}: the step has no idempotency key"
        )));
    }
    let source = snapshot.vm_moref();
    let folder = match &spec.folder {
        Some(target) => find_folder(client, target).await,
        None => parent_folder(client, &source).await,
    }
    .map_err(|e| e.context(&what))?;
    let earlier = earlier_clone(client, &folder, spec)
        .await
        .map_err(|e| e.context(&what))?;
    let (vm, adopted) = match earlier {
        Some(vm) => (vm, true),
        None => {
            // Only now: an adopted clone outlives the snapshot it came from.
            ensure_in_tree(client, snapshot, &what).await?;
            let vm = start_clone(client, &folder, snapshot, spec, &what, observer).await?;
            (vm, false)
        }
    };
    let props = retrieve(
        client,
        &vm,
        &[
            "name",
            "config.instanceUuid",
            "config.annotation",
            "runtime.powerState",
        ],
    )
    .await
    .map_err(|e| e.context(&what))?;
    if key_in(props.text("config.annotation").unwrap_or_default())
        != Some(spec.idempotency_key.as_str())
    {
        // vCenter writes the clone spec's annotation; vcsim (govmomi 0.24)
        // drops it. Written again, a later try still adopts the clone and
        // `vsphere.vm.destroy` still recognizes it.
        let annotation = annotation(snapshot, &spec.idempotency_key);
        set_annotation(client, &vm, &annotation, &what, observer).await?;
    }
    let mut power_state = props
        .text("runtime.powerState")
        .unwrap_or("unknown")
        .to_owned();
    // The clone spec's powerOn did it on vCenter; this covers a simulator
    // that ignores it, and an adopted clone an earlier try left off.
    if spec.power_on && power_state != "poweredOn" {
        let what = format!("powering on {} ({})", vm.value, spec.name);
        change_power(client, &vm, "PowerOnVM_Task", &what, observer).await?;
        power_state = self::power_state(client, &vm).await?;
    }
    Ok(Cloned {
        name: props.text("name").unwrap_or(spec.name.as_str()).to_owned(),
        instance_uuid: props.text("config.instanceUuid").map(str::to_owned),
        power_state,
        adopted,
        vm,
    })
}

/// The clone's annotation: a line for people, then the key's marker line.
fn annotation(snapshot: &SnapshotRef, key: &str) -> String {
    format!(
        "restored by Shutter from {}\n{KEY_MARKER}{key}",
        snapshot.uri()
    )
}

/// The folder a target names; an error unless it is a folder.
async fn find_folder(client: &Client, target: &FolderTarget) -> Result<MoRef, VsphereError> {
    let vcenter = client.vcenter();
    match target {
        FolderTarget::MoRef(id) => {
            let folder = MoRef::new("Folder", id);
            match retrieve(client, &folder, &["name"]).await {
                Ok(_) => Ok(folder),
                Err(err) if err.is_fault("ManagedObjectNotFound") => {
                    Err(VsphereError::NotFound(format!(
                        "no folder with moRef {id} on vcenter {vcenter} (a folder can also be named by its inventory path, DC0/vm/restored)"
                    )))
                }
                Err(err) => Err(err),
            }
        }
        FolderTarget::InventoryPath(path) => {
            let request = Request::new("FindByInventoryPath", &client.service().search_index)
                .text("inventoryPath", path);
            client
                .call(&request)
                .await?
                .child("returnval")
                .and_then(MoRef::from_element)
                .filter(|m| m.kind == "Folder")
                .ok_or_else(|| {
                    VsphereError::NotFound(format!(
                        "no folder at inventory path {path} on vcenter {vcenter}"
                    ))
                })
        }
    }
}

/// The folder `vm` is in.
async fn parent_folder(client: &Client, vm: &MoRef) -> Result<MoRef, VsphereError> {
    retrieve(client, vm, &["parent"])
        .await?
        .moref("parent")
        .filter(|m| m.kind == "Folder")
        .ok_or_else(|| {
            VsphereError::Invalid(format!(
                "{} is in no folder (a vApp holds it): give `folder`",
                vm.value
            ))
        })
}

/// The VM named `spec.name` in `folder` that an earlier try of the same
/// key made; an error when the name is taken by anything else.
async fn earlier_clone(
    client: &Client,
    folder: &MoRef,
    spec: &CloneSpec,
) -> Result<Option<MoRef>, VsphereError> {
    let request = Request::new("FindChild", &client.service().search_index)
        .moref("entity", folder)
        .text("name", &spec.name);
    let Some(found) = client
        .call(&request)
        .await?
        .child("returnval")
        .and_then(MoRef::from_element)
    else {
        return Ok(None);
    };
    let described = found.to_string();
    let taken = |why: &str| {
        VsphereError::Invalid(format!(
            "the name `{}` is taken in folder {}: {described} {why}; Shutter adopts only the clone this step made, so choose another `name` or remove that one",
            spec.name, folder.value
        ))
    };
    if found.kind != "VirtualMachine" {
        return Err(taken("is not a vm"));
    }
    let props = retrieve(client, &found, &["config.annotation"]).await?;
    match key_in(props.text("config.annotation").unwrap_or_default()) {
        Some(key) if key == spec.idempotency_key => Ok(Some(found)),
        Some(_) => Err(taken(
            "was made by another step (its annotation carries another idempotency key)",
        )),
        None => Err(taken(
            "was not made by Shutter (its annotation carries no idempotency key)",
        )),
    }
}

/// Runs `CloneVM_Task` of the snapshot's VM; the new VM.
async fn start_clone(
    client: &Client,
    folder: &MoRef,
    snapshot: &SnapshotRef,
    spec: &CloneSpec,
    what: &str,
    observer: &dyn Observer,
) -> Result<MoRef, VsphereError> {
    let source = snapshot.vm_moref();
    // vim25 reads members in the WSDL's order. VirtualMachineRelocateSpec:
    // service, folder, datastore, diskMoveType, pool, host, ...; without a
    // diskMoveType a clone copies every disk.
    let mut location = Fragment::open("location", None);
    if spec.linked {
        location = location.text("diskMoveType", "createNewChildDiskBacking");
    }
    let config = Fragment::open("config", None)
        .text("annotation", &annotation(snapshot, &spec.idempotency_key))
        .close("config");
    // VirtualMachineCloneSpec: location, template, config, customization,
    // powerOn, snapshot, memory.
    let clone_spec = Fragment::open("spec", None)
        .nest(location.close("location"))
        .bool("template", false)
        .nest(config)
        .bool("powerOn", spec.power_on)
        .moref("snapshot", &snapshot.moref())
        .close("spec");
    let request = Request::new("CloneVM_Task", &source)
        .moref("folder", folder)
        .text("name", &spec.name)
        .fragment(&clone_spec);
    let task = task_of(
        client.call(&request).await.map_err(|e| e.context(what))?,
        what,
    )?;
    let result = wait_for_task(client, &task, what, observer).await?;
    result
        .as_ref()
        .and_then(MoRef::from_element)
        .ok_or_else(|| VsphereError::Invalid(format!("{what}: the task returned no vm")))
}

/// Sets a VM's annotation (`ReconfigVM_Task`), nothing else.
async fn set_annotation(
    client: &Client,
    vm: &MoRef,
    annotation: &str,
    what: &str,
    observer: &dyn Observer,
) -> Result<(), VsphereError> {
    let what = format!("{what}: marking the clone {} with the step's key", vm.value);
    let spec = Fragment::open("spec", None)
        .text("annotation", annotation)
        .close("spec");
    let request = Request::new("ReconfigVM_Task", vm).fragment(&spec);
    let task = task_of(
        client.call(&request).await.map_err(|e| e.context(&what))?,
        &what,
    )?;
    wait_for_task(client, &task, &what, observer).await?;
    Ok(())
}

/// Runs `PowerOnVM_Task` or `PowerOffVM_Task`. A VM already in the state
/// asked for (`InvalidPowerState`: someone else got there first) is the
/// same outcome.
async fn change_power(
    client: &Client,
    vm: &MoRef,
    method: &'static str,
    what: &str,
    observer: &dyn Observer,
) -> Result<(), VsphereError> {
    let task = match client.call(&Request::new(method, vm)).await {
        Ok(answer) => task_of(answer, what)?,
        Err(err) if err.is_fault("InvalidPowerState") => return Ok(()),
        Err(err) => return Err(err.context(what)),
    };
    match wait_for_task(client, &task, what, observer).await {
        Err(err) if err.is_fault("InvalidPowerState") => Ok(()),
        other => other.map(|_| ()),
    }
}

/// What to check before destroying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestroyOptions {
    /// Power the VM off first when it is on.
    pub power_off: bool,
    /// Refuse a VM whose annotation carries no idempotency key.
    pub only_made_by_shutter: bool,
    /// Refuse a VM whose annotation carries another key than this one.
    pub made_by_key: Option<String>,
}

/// Destroys `vm` (`Destroy_Task`: unregisters it and deletes its files),
/// after powering it off if asked. False when it was already gone, so a
/// retried or resumed cleanup step succeeds. With `only_made_by_shutter`,
/// a VM whose annotation carries no idempotency key is refused before
/// anything is done to it.
pub async fn destroy_vm(
    client: &Client,
    vm: &MoRef,
    options: DestroyOptions,
    observer: &dyn Observer,
) -> Result<bool, VsphereError> {
    let what = format!("destroying {} on vcenter {}", vm.value, client.vcenter());
    let props = match retrieve(
        client,
        vm,
        &["name", "config.annotation", "runtime.powerState"],
    )
    .await
    {
        Ok(props) => props,
        Err(err) if err.is_fault("ManagedObjectNotFound") => return Ok(false),
        Err(err) => return Err(err.context(&what)),
    };
    let name = props.text("name").unwrap_or_default();
    if options.only_made_by_shutter
        && key_in(props.text("config.annotation").unwrap_or_default()).is_none()
    {
        return Err(VsphereError::Invalid(format!(
            "{what}: refused: vm `{name}` was not made by Shutter (its annotation carries no `{}` line); set `only_made_by_shutter: false` to destroy it anyway",
            KEY_MARKER.trim_end()
        )));
    }
    let key = key_in(props.text("config.annotation").unwrap_or_default());
    if let Some(wanted) = &options.made_by_key
        && key != Some(wanted.as_str())
    {
        return Err(VsphereError::Invalid(format!(
            "{what}: refused: vm `{name}` was not made by the step whose key is {wanted} (its annotation names {})",
            key.unwrap_or("no key")
        )));
    }
    if props.text("runtime.powerState") == Some("poweredOn") {
        if !options.power_off {
            return Err(VsphereError::Invalid(format!(
                "{what}: vm `{name}` is powered on and `power_off` is false"
            )));
        }
        let off = format!("powering off {} (`{name}`) to destroy it", vm.value);
        match change_power(client, vm, "PowerOffVM_Task", &off, observer).await {
            Err(err) if err.is_fault("ManagedObjectNotFound") => return Ok(false),
            other => other?,
        }
    }
    let task = match client.call(&Request::new("Destroy_Task", vm)).await {
        Ok(answer) => task_of(answer, &what)?,
        Err(err) if err.is_fault("ManagedObjectNotFound") => return Ok(false),
        Err(err) => return Err(err.context(&what)),
    };
    match wait_for_task(client, &task, &what, observer).await {
        Ok(_) => Ok(true),
        // Destroyed by someone else while our task waited.
        Err(err) if err.is_fault("ManagedObjectNotFound") => Ok(false),
        Err(err) => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_named_by_moref_or_inventory_path() {
        assert_eq!(
            FolderTarget::parse("group-v3").unwrap(),
            FolderTarget::MoRef("group-v3".into())
        );
        assert_eq!(
            FolderTarget::parse("/DC0/vm/restored/").unwrap(),
            FolderTarget::InventoryPath("DC0/vm/restored".into())
        );
        assert!(FolderTarget::parse(" ").is_err());
        assert!(FolderTarget::parse("/").is_err());
    }

    #[test]
    fn the_annotation_carries_the_key_on_its_own_line() {
        let snapshot = SnapshotRef {
            vcenter: "vc".into(),
            vm: "vm-1".into(),
            moref: "snapshot-2".into(),
            connection: None,
        };
        let text = annotation(&snapshot, "shutter:abc:restore");
        assert_eq!(key_in(&text), Some("shutter:abc:restore"));
        assert!(text.starts_with("restored by Shutter from vsphere://vc/vm-1/snapshot-2\n"));
        assert_eq!(key_in("notes\nshutter-idempotency-key: "), None);
        assert_eq!(key_in("made by hand"), None);
    }
}
