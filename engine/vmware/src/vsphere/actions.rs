//! The `vsphere.*` actions: catalog entries and thin wrappers over the
//! plain functions of [`super::vm`] and [`super::snapshot`].

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use shutter_dsl::{ActionSpec, ParamType};
use shutter_runtime::{Action, ActionContext, ActionError};

use super::client::Client;
use super::connection::ConnectionConfig;
use super::moref::MoRef;
use super::session::SessionCache;
use super::snapshot::{
    SnapshotRef, SnapshotSpec, create_snapshot, list_snapshots, remove_snapshot,
};
use super::vm::{VmTarget, find_vm, get_vm};
use crate::env::Env;

const VCENTER_PARAM: &str = "The vCenter: the name of a connection in Shutter's config (docs/configuration.md), or {url, username, password_secret, insecure, ca_file}. Default: the connection the vm/snapshot reference names, else govc's GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE.";
const VM_PARAM: &str = "The VM: a name, an inventory path (DC/vm/NAME), a moRef (vm-42), an instanceUuid, vsphere://VCENTER/vm-42, or the `vm` output of vsphere.vm.get.";

/// What every vSphere action shares: the sessions and the environment.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) sessions: SessionCache,
    pub(crate) env: Env,
}

impl Shared {
    async fn client(&self, ctx: &ActionContext) -> Result<Client, ActionError> {
        let config = ConnectionConfig::from_step(&ctx.params, &ctx.secrets, &self.env, &ctx.files)?;
        Ok(self.sessions.client(&config).await?)
    }

    async fn vm(&self, ctx: &ActionContext, client: &Client) -> Result<MoRef, ActionError> {
        let target = VmTarget::parse(ctx.param("vm")?)?;
        Ok(find_vm(client, &target).await?)
    }
}

pub(crate) fn actions(shared: &Shared) -> Vec<(ActionSpec, Arc<dyn Action>)> {
    vec![
        (vm_get_spec(), Arc::new(VmGet(shared.clone()))),
        (create_spec(), Arc::new(SnapshotCreate(shared.clone()))),
        (list_spec(), Arc::new(SnapshotList(shared.clone()))),
        (remove_spec(), Arc::new(SnapshotRemove(shared.clone()))),
    ]
}

fn vm_get_spec() -> ActionSpec {
    ActionSpec::new(
        "vsphere.vm.get",
        "Describes a vSphere VM: identity, power state, disks and their datastore download URLs.",
    )
    .param("vm", ParamType::Any, VM_PARAM)
    .optional("vcenter", ParamType::Any, None, VCENTER_PARAM)
    .output("vcenter", ParamType::String, "The vCenter's instanceUuid.")
    .output(
        "vm",
        ParamType::Object,
        "A reference to pass to later steps: {vcenter, moref, name, instance_uuid}, and `connection` when found through a named connection.",
    )
    .output("moref", ParamType::String, "The VM's moRef (vm-42).")
    .output("name", ParamType::String, "The VM's name.")
    .output("instance_uuid", ParamType::String, "The VM's instanceUuid.")
    .output(
        "power_state",
        ParamType::String,
        "poweredOn, poweredOff or suspended.",
    )
    .output(
        "consolidation_needed",
        ParamType::Boolean,
        "Whether the VM's disks need consolidation.",
    )
    .output(
        "datacenter",
        ParamType::String,
        "The datacenter's inventory path.",
    )
    .output(
        "current_snapshot",
        ParamType::String,
        "The current snapshot's moRef, or null.",
    )
    .output(
        "disks",
        ParamType::Array,
        "Disks: {key, label, file, datastore, path, capacity_bytes, url, data_url}.",
    )
}

#[derive(Debug)]
struct VmGet(Shared);

#[async_trait]
impl Action for VmGet {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let client = self.0.client(ctx).await?;
        let vm = self.0.vm(ctx, &client).await?;
        let info = get_vm(&client, &vm).await?;
        let mut out = to_json(&info)?;
        out["vm"] = json!({
            "vcenter": info.vcenter,
            "moref": info.moref,
            "name": info.name,
            "instance_uuid": info.instance_uuid,
        });
        if let Some(name) = &client.config().name {
            out["vm"]["connection"] = json!(name);
        }
        Ok(out)
    }
}

fn create_spec() -> ActionSpec {
    ActionSpec::new(
        "vsphere.snapshot.create",
        "Creates a VM snapshot (CreateSnapshot_Task). The snapshot carries the step's idempotency key: a re-run adopts it instead of making a second one.",
    )
    .param("vm", ParamType::Any, VM_PARAM)
    .param("name", ParamType::String, "The snapshot's name; a tag of the idempotency key is appended.")
    .optional("description", ParamType::String, Some(json!("")), "The snapshot's description.")
    .optional("memory", ParamType::Boolean, Some(json!(false)), "Include the VM's memory.")
    .optional("quiesce", ParamType::Boolean, Some(json!(false)), "Quiesce the guest file systems (needs VMware Tools).")
    .optional("vcenter", ParamType::Any, None, VCENTER_PARAM)
    .output("snapshot", ParamType::Object, "The reference later steps pass on (vsphere.snapshot.remove): {vcenter, vm, moref}, and `connection` when made through a named connection.")
    .output("id", ParamType::String, "The snapshot's moRef.")
    .output("uri", ParamType::String, "vsphere://VCENTER/VM/SNAPSHOT.")
    .output("vcenter", ParamType::String, "The vCenter's instanceUuid.")
    .output("vm", ParamType::String, "The VM's moRef.")
    .output("name", ParamType::String, "The snapshot's name as created.")
    .output("description", ParamType::String, "The snapshot's description as created.")
    .output("created_at", ParamType::String, "When vCenter created it (RFC 3339).")
    .output("quiesced", ParamType::Boolean, "Whether the snapshot is quiesced.")
    .output("consistency", ParamType::String, "quiesced or crash.")
    .output("adopted", ParamType::Boolean, "True when an earlier try had already created it.")
    .output("disks", ParamType::Array, "The disks it captured, with datastore download URLs (url, data_url).")
}

#[derive(Debug)]
struct SnapshotCreate(Shared);

#[async_trait]
impl Action for SnapshotCreate {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let client = self.0.client(ctx).await?;
        let vm = self.0.vm(ctx, &client).await?;
        let flag = |name: &str| {
            ctx.params
                .get(name)
                .and_then(Json::as_bool)
                .unwrap_or(false)
        };
        let spec = SnapshotSpec {
            name: ctx.str_param("name")?.to_owned(),
            description: ctx
                .params
                .get("description")
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned(),
            memory: flag("memory"),
            quiesce: flag("quiesce"),
            idempotency_key: Some(ctx.idempotency_key.clone()),
        };
        let created = create_snapshot(&client, &vm, &spec, ctx).await?;
        if created.adopted {
            ctx.log(
                shutter_runtime::record::LogLevel::Info,
                format!(
                    "adopted snapshot {} made by an earlier try",
                    created.info.snapshot.moref
                ),
            );
        }
        let info = &created.info;
        Ok(json!({
            "snapshot": info.snapshot,
            "id": info.snapshot.moref,
            "uri": info.snapshot.uri(),
            "vcenter": info.snapshot.vcenter,
            "vm": info.snapshot.vm,
            "name": info.name,
            "description": info.description,
            "created_at": info.created_at,
            "quiesced": info.quiesced,
            "consistency": info.consistency(),
            "adopted": created.adopted,
            "disks": to_json(&created.disks)?,
        }))
    }
}

fn list_spec() -> ActionSpec {
    ActionSpec::new(
        "vsphere.snapshot.list",
        "Lists a VM's snapshots, parents before children.",
    )
    .param("vm", ParamType::Any, VM_PARAM)
    .optional("vcenter", ParamType::Any, None, VCENTER_PARAM)
    .output("vcenter", ParamType::String, "The vCenter's instanceUuid.")
    .output("vm", ParamType::String, "The VM's moRef.")
    .output(
        "snapshots",
        ParamType::Array,
        "{snapshot, name, description, created_at, quiesced, state, parent, current}.",
    )
    .output(
        "count",
        ParamType::Integer,
        "How many snapshots the VM has.",
    )
}

#[derive(Debug)]
struct SnapshotList(Shared);

#[async_trait]
impl Action for SnapshotList {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let client = self.0.client(ctx).await?;
        let vm = self.0.vm(ctx, &client).await?;
        let snapshots = list_snapshots(&client, &vm).await?;
        Ok(json!({
            "vcenter": client.vcenter(),
            "vm": vm.value,
            "count": snapshots.len(),
            "snapshots": to_json(&snapshots)?,
        }))
    }
}

fn remove_spec() -> ActionSpec {
    ActionSpec::new(
        "vsphere.snapshot.remove",
        "Removes a snapshot (RemoveSnapshot_Task), then consolidates the VM's disks when it reports consolidationNeeded. A snapshot already gone counts as removed.",
    )
    .param("snapshot", ParamType::Any, "The `snapshot` output of vsphere.snapshot.create, or vsphere://VCENTER/VM/SNAPSHOT.")
    .optional("remove_children", ParamType::Boolean, Some(json!(false)), "Also remove the snapshots below it.")
    .optional("consolidate", ParamType::Boolean, Some(json!(true)), "Consolidate the disks as part of the removal.")
    .optional("vcenter", ParamType::Any, None, VCENTER_PARAM)
    .output("removed", ParamType::Boolean, "False when it was already gone.")
    .output("consolidated", ParamType::Boolean, "Whether ConsolidateVMDisks_Task ran afterwards.")
    .output("snapshot", ParamType::Object, "The reference that was removed.")
}

#[derive(Debug)]
struct SnapshotRemove(Shared);

#[async_trait]
impl Action for SnapshotRemove {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let snapshot = SnapshotRef::parse(ctx.param("snapshot")?)?;
        let client = self.0.client(ctx).await?;
        let remove_children = ctx
            .params
            .get("remove_children")
            .and_then(Json::as_bool)
            .unwrap_or(false);
        let consolidate = ctx
            .params
            .get("consolidate")
            .and_then(Json::as_bool)
            .unwrap_or(true);
        let removed =
            remove_snapshot(&client, &snapshot, remove_children, consolidate, ctx).await?;
        if !removed.removed {
            ctx.log(
                shutter_runtime::record::LogLevel::Info,
                format!("snapshot {} was already gone", snapshot.moref),
            );
        }
        Ok(json!({
            "removed": removed.removed,
            "consolidated": removed.consolidated,
            "snapshot": snapshot,
        }))
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Json, ActionError> {
    serde_json::to_value(value).map_err(|e| ActionError::Fatal(format!("encoding outputs: {e}")))
}
