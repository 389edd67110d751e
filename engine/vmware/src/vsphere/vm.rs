//! Finding a VM (by name, inventory path, moRef or instanceUuid) and
//! describing it: power state, disks, and where each disk can be downloaded.

use reqwest::Url;
use serde::Serialize;
use serde_json::Value as Json;
use shutter_core::action_outputs;

use super::client::Client;
use super::connection::is_instance_uuid;
use super::error::VsphereError;
use super::moref::MoRef;
use super::properties::{retrieve, retrieve_all};
use super::request::Request;
use super::xml::Element;

/// How a step names a VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VmSelector {
    /// `vm-42`: unique on one vCenter, reused across vCenters.
    MoRef(String),
    /// `config.instanceUuid`: unique across vCenters.
    InstanceUuid(String),
    /// `DC0/vm/folder/web-01`, as govc writes it.
    InventoryPath(String),
    /// The display name; must be unique on the vCenter.
    Name(String),
}

/// A selector and, when the reference said so, the vCenter it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmTarget {
    pub selector: VmSelector,
    pub vcenter: Option<String>,
}

impl VmTarget {
    /// Reads the `vm` parameter: a string (`vm-42`, an instanceUuid, an
    /// inventory path with `/`, `vsphere://VCENTER/vm-42`, or a name), or an
    /// object with `moref`, `instance_uuid` or `name`, and maybe `vcenter`
    /// (what `vsphere.vm.get` outputs as `vm`).
    pub fn parse(value: &Json) -> Result<Self, VsphereError> {
        let bad = || {
            VsphereError::Invalid(
                "parameter `vm` must be a name, an inventory path, a moRef (vm-42), an instanceUuid, vsphere://VCENTER/vm-42, or {moref|instance_uuid|name, vcenter}"
                    .to_owned(),
            )
        };
        match value {
            Json::String(text) => Ok(Self::from_text(text.trim()).ok_or_else(bad)?),
            Json::Object(map) => {
                let field = |name: &str| {
                    map.get(name)
                        .and_then(Json::as_str)
                        .filter(|s| !s.is_empty())
                };
                let selector = if let Some(moref) = field("moref") {
                    VmSelector::MoRef(moref.to_owned())
                } else if let Some(uuid) = field("instance_uuid") {
                    VmSelector::InstanceUuid(uuid.to_owned())
                } else if let Some(name) = field("name") {
                    VmSelector::Name(name.to_owned())
                } else {
                    return Err(bad());
                };
                Ok(Self {
                    selector,
                    vcenter: field("vcenter").map(str::to_owned),
                })
            }
            _ => Err(bad()),
        }
    }

    fn from_text(text: &str) -> Option<Self> {
        if text.is_empty() {
            return None;
        }
        if let Some(rest) = text.strip_prefix("vsphere://") {
            let (vcenter, moref) = rest.split_once('/')?;
            let moref = moref.split('/').next()?;
            return Some(Self {
                selector: VmSelector::MoRef(moref.to_owned()),
                vcenter: (!vcenter.is_empty()).then(|| vcenter.to_owned()),
            });
        }
        let selector = if is_vm_moref(text) {
            VmSelector::MoRef(text.to_owned())
        } else if is_instance_uuid(text) {
            VmSelector::InstanceUuid(text.to_ascii_lowercase())
        } else if text.contains('/') {
            VmSelector::InventoryPath(text.trim_matches('/').to_owned())
        } else {
            VmSelector::Name(text.to_owned())
        };
        Some(Self {
            selector,
            vcenter: None,
        })
    }
}

fn is_vm_moref(text: &str) -> bool {
    text.strip_prefix("vm-")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Checks that a reference meant for one vCenter is not used on another:
/// moRefs repeat across vCenters, so `vm-42` there is some other VM here.
/// A reference names its vCenter by instanceUuid or by the name of the
/// connection in Shutter's config.
pub fn check_vcenter(
    client: &Client,
    expected: Option<&str>,
    what: &str,
) -> Result<(), VsphereError> {
    match expected {
        Some(vcenter)
            if !vcenter.eq_ignore_ascii_case(client.vcenter())
                && !client.config().is_called(vcenter) =>
        {
            Err(VsphereError::Invalid(format!(
                "{what} belongs to vcenter {vcenter}, but this step is connected to vcenter {} ({})",
                client.vcenter(),
                client.config().url
            )))
        }
        _ => Ok(()),
    }
}

/// The moRef of the VM a target names.
pub async fn find_vm(client: &Client, target: &VmTarget) -> Result<MoRef, VsphereError> {
    check_vcenter(client, target.vcenter.as_deref(), "the vm reference")?;
    let vcenter = client.vcenter();
    let search = &client.service().search_index;
    match &target.selector {
        VmSelector::MoRef(id) => {
            let vm = MoRef::new("VirtualMachine", id);
            // Reading one property proves it exists (ManagedObjectNotFound if not).
            retrieve(client, &vm, &["name"])
                .await
                .map_err(|e| e.context(&format!("looking up vm {id} on vcenter {vcenter}")))?;
            Ok(vm)
        }
        VmSelector::InstanceUuid(uuid) => {
            let request = Request::new("FindByUuid", search)
                .text("uuid", uuid)
                .bool("vmSearch", true)
                .bool("instanceUuid", true);
            returned_moref(client.call(&request).await?).ok_or_else(|| {
                VsphereError::NotFound(format!(
                    "no vm with instanceUuid {uuid} on vcenter {vcenter}"
                ))
            })
        }
        VmSelector::InventoryPath(path) => {
            let request = Request::new("FindByInventoryPath", search).text("inventoryPath", path);
            returned_moref(client.call(&request).await?)
                .filter(|m| m.kind == "VirtualMachine")
                .ok_or_else(|| {
                    VsphereError::NotFound(format!(
                        "no vm at inventory path {path} on vcenter {vcenter}"
                    ))
                })
        }
        VmSelector::Name(name) => {
            let root = &client.service().root_folder;
            let all = retrieve_all(client, root, "VirtualMachine", &["name"]).await?;
            let mut matching = all
                .into_iter()
                .filter(|o| o.text("name") == Some(name.as_str()));
            match (matching.next(), matching.next()) {
                (Some(only), None) => Ok(only.obj),
                (None, _) => Err(VsphereError::NotFound(format!(
                    "no vm named `{name}` on vcenter {vcenter}"
                ))),
                (Some(_), Some(_)) => Err(VsphereError::Invalid(format!(
                    "more than one vm is named `{name}` on vcenter {vcenter}: name it by moRef, inventory path or instanceUuid"
                ))),
            }
        }
    }
}

fn returned_moref(response: Element) -> Option<MoRef> {
    response.child("returnval").and_then(MoRef::from_element)
}

/// A VM as `vsphere.vm.get` reports it.
#[action_outputs]
#[derive(Debug, Clone, Serialize)]
pub struct VmInfo {
    /// The vCenter's instanceUuid.
    pub vcenter: String,
    /// The VM's moRef (vm-42).
    pub moref: String,
    /// The VM's name.
    pub name: String,
    /// The VM's instanceUuid.
    pub instance_uuid: Option<String>,
    /// The VM's BIOS UUID (`config.uuid`).
    pub bios_uuid: Option<String>,
    /// poweredOn, poweredOff or suspended.
    pub power_state: String,
    /// Whether the VM's disks need consolidation.
    pub consolidation_needed: bool,
    /// The datacenter's inventory path (`DC0`, `folder/DC1`).
    pub datacenter: String,
    /// The current snapshot's moRef, or null.
    pub current_snapshot: Option<String>,
    /// Disks: `{key, label, file, datastore, path, capacity_bytes, url,
    /// data_url}`.
    pub disks: Vec<Disk>,
}

/// One virtual disk and where its files live.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Disk {
    pub key: i64,
    pub label: String,
    /// `[datastore] folder/disk.vmdk`.
    pub file: String,
    pub datastore: String,
    /// The path inside the datastore.
    pub path: String,
    pub capacity_bytes: u64,
    /// The disk's descriptor on the datastore HTTP interface
    /// (`https://HOST/folder/PATH?dcPath=DC&dsName=DS`): a GET with the
    /// session cookie or basic auth streams it.
    pub url: String,
    /// For flat disks, the data file (`...-flat.vmdk`), which holds the
    /// raw bytes of the disk.
    pub data_url: Option<String>,
}

const VM_PROPERTIES: &[&str] = &[
    "name",
    "config.instanceUuid",
    "config.uuid",
    "runtime.powerState",
    "runtime.consolidationNeeded",
    "config.hardware.device",
    "snapshot.currentSnapshot",
    "parent",
    "parentVApp",
];

pub async fn get_vm(client: &Client, vm: &MoRef) -> Result<VmInfo, VsphereError> {
    let props = retrieve(client, vm, VM_PROPERTIES).await?;
    let parent = props.moref("parent").or_else(|| props.moref("parentVApp"));
    let datacenter = datacenter_path(client, parent).await?;
    let disks = props
        .get("config.hardware.device")
        .map(|devices| disks(client, devices, &datacenter))
        .transpose()?
        .unwrap_or_default();
    Ok(VmInfo {
        vcenter: client.vcenter().to_owned(),
        moref: vm.value.clone(),
        name: props.text("name").unwrap_or_default().to_owned(),
        instance_uuid: props.text("config.instanceUuid").map(str::to_owned),
        bios_uuid: props.text("config.uuid").map(str::to_owned),
        power_state: props
            .text("runtime.powerState")
            .unwrap_or("unknown")
            .to_owned(),
        consolidation_needed: props.bool("runtime.consolidationNeeded").unwrap_or(false),
        datacenter,
        current_snapshot: props.moref("snapshot.currentSnapshot").map(|m| m.value),
        disks,
    })
}

/// The inventory path of the datacenter above `start`, walking `parent`.
pub async fn datacenter_path(
    client: &Client,
    start: Option<MoRef>,
) -> Result<String, VsphereError> {
    let root = client.service().root_folder.clone();
    let mut names: Vec<String> = Vec::new();
    let mut found_datacenter = false;
    let mut at = start;
    // Inventories are shallow; the bound only guards against a loop.
    for _ in 0..64 {
        let Some(current) = at.take() else { break };
        if current == root {
            break;
        }
        let props = retrieve(client, &current, &["name", "parent"]).await?;
        if current.kind == "Datacenter" {
            found_datacenter = true;
        }
        if found_datacenter {
            names.push(props.text("name").unwrap_or_default().to_owned());
        }
        at = props.moref("parent");
    }
    if !found_datacenter {
        return Err(VsphereError::NotFound(
            "no datacenter above the vm".to_owned(),
        ));
    }
    names.reverse();
    Ok(names.join("/"))
}

/// The disks among `devices` (a `config.hardware.device` value).
pub fn disks(
    client: &Client,
    devices: &Element,
    datacenter: &str,
) -> Result<Vec<Disk>, VsphereError> {
    let mut out = Vec::new();
    for device in devices
        .children
        .iter()
        .filter(|d| d.xsi_type.as_deref() == Some("VirtualDisk"))
    {
        let Some(backing) = device.child("backing") else {
            continue;
        };
        let file = backing
            .text_of("fileName")
            .unwrap_or_default()
            .trim()
            .to_owned();
        let Some((datastore, path)) = split_datastore_path(&file) else {
            continue;
        };
        let flat = backing.xsi_type.as_deref() == Some("VirtualDiskFlatVer2BackingInfo");
        let data_url = match path.strip_suffix(".vmdk") {
            Some(stem) if flat => Some(datastore_url(
                client,
                datacenter,
                &datastore,
                &format!("{stem}-flat.vmdk"),
            )?),
            _ => None,
        };
        let capacity_bytes = device
            .text_of("capacityInBytes")
            .and_then(|b| b.parse().ok())
            .or_else(|| {
                device
                    .text_of("capacityInKB")
                    .and_then(|k| k.parse::<u64>().ok())
                    .map(|k| k * 1024)
            })
            .unwrap_or(0);
        out.push(Disk {
            key: device
                .text_of("key")
                .and_then(|k| k.parse().ok())
                .unwrap_or(0),
            label: device
                .path(&["deviceInfo", "label"])
                .map(|l| l.text.clone())
                .unwrap_or_default(),
            url: datastore_url(client, datacenter, &datastore, &path)?,
            data_url,
            file,
            datastore,
            path,
            capacity_bytes,
        });
    }
    Ok(out)
}

/// `[ds] folder/disk.vmdk` -> (`ds`, `folder/disk.vmdk`).
fn split_datastore_path(file: &str) -> Option<(String, String)> {
    let rest = file.strip_prefix('[')?;
    let (datastore, path) = rest.split_once(']')?;
    Some((datastore.to_owned(), path.trim_start().to_owned()))
}

/// `https://HOST/folder/PATH?dcPath=DC&dsName=DS` on the vCenter's host.
pub fn datastore_url(
    client: &Client,
    datacenter: &str,
    datastore: &str,
    path: &str,
) -> Result<String, VsphereError> {
    let mut url: Url = client.config().url.clone();
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut segments = url.path_segments_mut().map_err(|()| {
            VsphereError::Invalid(format!("{} cannot hold a path", client.config().url))
        })?;
        segments.clear().push("folder");
        segments.extend(path.split('/'));
    }
    url.query_pairs_mut()
        .append_pair("dcPath", datacenter)
        .append_pair("dsName", datastore);
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn selectors_are_told_apart() {
        let pick = |v: Json| VmTarget::parse(&v).unwrap();
        for (text, selector) in [
            ("vm-42", VmSelector::MoRef("vm-42".into())),
            (
                "B4689BED-97F0-5BCD-8A4C-07477CC8F06F",
                VmSelector::InstanceUuid("b4689bed-97f0-5bcd-8a4c-07477cc8f06f".into()),
            ),
            ("DC0/vm/web", VmSelector::InventoryPath("DC0/vm/web".into())),
            ("vm-web", VmSelector::Name("vm-web".into())),
        ] {
            assert_eq!(pick(json!(text)).selector, selector, "{text}");
        }
        let uri = pick(json!("vsphere://abc/vm-7"));
        assert_eq!(
            (uri.selector, uri.vcenter.as_deref()),
            (VmSelector::MoRef("vm-7".into()), Some("abc"))
        );
        let object = pick(json!({"vcenter": "abc", "moref": "vm-9", "name": "x"}));
        assert_eq!(object.selector, VmSelector::MoRef("vm-9".into()));
        assert!(VmTarget::parse(&json!(3)).is_err());
        assert!(VmTarget::parse(&json!("")).is_err());
    }

    #[test]
    fn datastore_paths_split() {
        assert_eq!(
            split_datastore_path("[Local DS] a b/disk.vmdk"),
            Some(("Local DS".into(), "a b/disk.vmdk".into()))
        );
        assert_eq!(split_datastore_path("disk.vmdk"), None);
    }
}
