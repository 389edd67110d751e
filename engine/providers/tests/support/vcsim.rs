//! VMs of a test's own on vcsim, for the tests that clone.
//!
//! The vcsim of `tests/peers/vcsim` (govmomi 0.24.2) has a bug in
//! `CloneVM_Task`: the clone gets the source VM's own device objects, not
//! copies (govmomi#2706, fixed in 0.28.0). The clone's disk *is* the
//! source's disk: its file name is rewritten to the clone's file, and
//! destroying the clone deletes the files that the source's disk then names.
//! So a test must never clone a stock VM (`DC0_H0_VM0`, `DC0_C0_RP0_VM1`,
//! ...), which other tests read. It clones a throwaway VM made by
//! [`vm_with_disk`] instead.
//!
//! That VM has a disk because a restore test checks the clone's disks and
//! their total capacity, and vcsim gives a clone the disks its source has
//! (new empty files of the same capacity). Three test crates include this
//! file (`#[path]`): the providers', the vmware crate's and the end-to-end
//! tests. The VM is made with `CreateVM_Task` next to `DC0_H0_VM0`,
//! powered off. vcsim gives every new VM the
//! default devices of `simulator/esx/virtual_device.go`, among them the IDE
//! controller 0 (key 200), so the disk sits there at unit 0. The disk's
//! backing names only the datastore (`[LocalDS_0]`), so vcsim picks the
//! file: `[LocalDS_0] NAME/NAME.vmdk`, or `NAME_1.vmdk` and so on when that
//! name is taken. The annotation carries an idempotency key, so
//! `vsphere.vm.destroy` removes the VM.

#![allow(clippy::unwrap_used, reason = "a fixture fails its test by panicking")]

use serde_json::json;
use shutter_vmware::vsphere::connection::ConnectionConfig;
use shutter_vmware::vsphere::moref::MoRef;
use shutter_vmware::vsphere::properties::retrieve;
use shutter_vmware::vsphere::request::{Fragment, Request};
use shutter_vmware::vsphere::session::SessionCache;
use shutter_vmware::vsphere::task::wait_for_task;
use shutter_vmware::vsphere::vm::{VmTarget, find_vm};

/// The disk's capacity: 1 GiB, in KiB.
const DISK_KB: u64 = 1 << 20;

/// The key of the IDE controller 0. vcsim, like vCenter, gives every new VM
/// this controller.
const IDE_0: &str = "200";

/// The connection to the shared vcsim a step makes with no `vcenter`
/// parameter: govc's variables, as its peer sets them.
pub(crate) fn connection() -> ConnectionConfig {
    let vcsim = shutter_testpeers::peer("vcsim");
    let env =
        shutter_vmware::Env::new(shutter_core::Env::from_map(vcsim.env.into_iter().collect()));
    ConnectionConfig::from_step(
        &json!({}),
        &Default::default(),
        &env,
        &shutter_core::Files::default(),
    )
    .unwrap()
}

/// A throwaway VM of its own on vcsim, with one thin 1 GiB disk: its moRef
/// (what `vsphere://VCENTER/vm-N` names).
pub(crate) async fn vm_with_disk(name: &str) -> String {
    let client = SessionCache::new().client(&connection()).await.unwrap();
    let stock = find_vm(&client, &VmTarget::parse(&json!("DC0_H0_VM0")).unwrap())
        .await
        .unwrap();
    let beside = retrieve(&client, &stock, &["parent", "resourcePool"])
        .await
        .unwrap();

    // Elements in WSDL order. VirtualDeviceConfigSpec: operation,
    // fileOperation, device. VirtualDevice then VirtualDisk: key, backing,
    // controllerKey, unitNumber, capacityInKB, capacityInBytes.
    // VirtualDiskFlatVer2BackingInfo: fileName, diskMode, thinProvisioned.
    // vcsim refuses a disk made with fileOperation `create` that has no
    // unitNumber (InvalidDeviceSpec). Key -1 asks for a new key.
    let disk = Fragment::open("deviceChange", Some("VirtualDeviceConfigSpec"))
        .text("operation", "add")
        .text("fileOperation", "create")
        .nest(
            Fragment::open("device", Some("VirtualDisk"))
                .text("key", "-1")
                .nest(
                    Fragment::open("backing", Some("VirtualDiskFlatVer2BackingInfo"))
                        .text("fileName", "[LocalDS_0]")
                        .text("diskMode", "persistent")
                        .bool("thinProvisioned", true)
                        .close("backing"),
                )
                .text("controllerKey", IDE_0)
                .text("unitNumber", "0")
                .text("capacityInKB", &DISK_KB.to_string())
                .text("capacityInBytes", &(DISK_KB * 1024).to_string())
                .close("device"),
        )
        .close("deviceChange");
    // VirtualMachineConfigSpec's order: name, guestId, annotation, files,
    // deviceChange.
    let spec = Fragment::open("config", None)
        .text("name", name)
        .text("guestId", "otherGuest")
        .text(
            "annotation",
            &format!("a test's vm with a disk\nshutter-idempotency-key: test:{name}"),
        )
        .nest(
            Fragment::open("files", None)
                .text("vmPathName", "[LocalDS_0]")
                .close("files"),
        )
        .nest(disk)
        .close("config");
    let request = Request::new("CreateVM_Task", &beside.moref("parent").unwrap())
        .fragment(&spec)
        .moref("pool", &beside.moref("resourcePool").unwrap());
    let answer = client.call(&request).await.unwrap();
    let task = MoRef::from_element(answer.child("returnval").unwrap()).unwrap();
    let made = wait_for_task(&client, &task, "creating a test vm with a disk", &())
        .await
        .unwrap();
    MoRef::from_element(made.as_ref().unwrap()).unwrap().value
}
