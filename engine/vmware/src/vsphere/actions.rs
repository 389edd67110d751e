//! The `vsphere.*` actions: catalog entries and thin wrappers over the
//! plain functions of [`super::vm`] and [`super::snapshot`].

use std::sync::Arc;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value as Json, json};
use shutter_core::action::typed;
use shutter_core::units::Span;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, ParamType};

use super::client::Client;
use super::connection::ConnectionConfig;
use super::moref::MoRef;
use super::session::SessionCache;
use super::snapshot::{
    SnapshotRef, SnapshotSpec, create_snapshot, list_snapshots, remove_snapshot,
};
use super::task::{DEFAULT_TASK_DEADLINE, StepWatch};
use super::vm::{VmTarget, find_vm, get_vm};
use crate::env::Env;

const VCENTER_PARAM: &str = "The vCenter: the name of a connection in Shutter's config (docs/configuration.md), or {url, username, password_secret, insecure, ca_file}. Default: the connection the vm/snapshot reference names, else govc's GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE.";
const TASK_TIMEOUT_PARAM: &str = "How long the vCenter task may run before the step stops waiting and asks vCenter to cancel it (not every task can be canceled); a retryable failure: another try adopts what the task made.";
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
        typed(vm_get_spec(), shared.clone(), |shared, ctx, params| {
            Box::pin(run_vm_get(shared, ctx, params))
        }),
        typed(create_spec(), shared.clone(), |shared, ctx, params| {
            Box::pin(run_snapshot_create(shared, ctx, params))
        }),
        typed(list_spec(), shared.clone(), |shared, ctx, params| {
            Box::pin(run_snapshot_list(shared, ctx, params))
        }),
        typed(remove_spec(), shared.clone(), |shared, ctx, params| {
            Box::pin(run_snapshot_remove(shared, ctx, params))
        }),
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

async fn run_vm_get(
    shared: &Shared,
    ctx: &ActionContext,
    _: IgnoredAny,
) -> Result<Json, ActionError> {
    let client = shared.client(ctx).await?;
    let vm = shared.vm(ctx, &client).await?;
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
    .optional("task_timeout", ParamType::Duration, Some(json!("6h")), TASK_TIMEOUT_PARAM)
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

/// The parameters of `vsphere.snapshot.create` beyond `vm` and `vcenter`.
#[derive(Debug, Deserialize)]
struct CreateParams {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    memory: bool,
    #[serde(default)]
    quiesce: bool,
    #[serde(default = "task_timeout")]
    task_timeout: Span,
}

fn task_timeout() -> Span {
    Span(DEFAULT_TASK_DEADLINE)
}

fn yes() -> bool {
    true
}

async fn run_snapshot_create(
    shared: &Shared,
    ctx: &ActionContext,
    params: CreateParams,
) -> Result<Json, ActionError> {
    let client = shared.client(ctx).await?;
    let vm = shared.vm(ctx, &client).await?;
    let spec = SnapshotSpec {
        name: params.name,
        description: params.description,
        memory: params.memory,
        quiesce: params.quiesce,
        idempotency_key: Some(ctx.idempotency_key.clone()),
    };
    let watch = StepWatch {
        ctx,
        deadline: params.task_timeout.0,
    };
    let created = create_snapshot(&client, &vm, &spec, &watch).await?;
    if created.adopted {
        ctx.log(
            shutter_core::record::LogLevel::Info,
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

async fn run_snapshot_list(
    shared: &Shared,
    ctx: &ActionContext,
    _: IgnoredAny,
) -> Result<Json, ActionError> {
    let client = shared.client(ctx).await?;
    let vm = shared.vm(ctx, &client).await?;
    let snapshots = list_snapshots(&client, &vm).await?;
    Ok(json!({
        "vcenter": client.vcenter(),
        "vm": vm.value,
        "count": snapshots.len(),
        "snapshots": to_json(&snapshots)?,
    }))
}

fn remove_spec() -> ActionSpec {
    ActionSpec::new(
        "vsphere.snapshot.remove",
        "Removes a snapshot (RemoveSnapshot_Task), then consolidates the VM's disks when it reports consolidationNeeded. A snapshot already gone counts as removed.",
    )
    .param("snapshot", ParamType::Any, "The `snapshot` output of vsphere.snapshot.create, or vsphere://VCENTER/VM/SNAPSHOT.")
    .optional("remove_children", ParamType::Boolean, Some(json!(false)), "Also remove the snapshots below it.")
    .optional("consolidate", ParamType::Boolean, Some(json!(true)), "Consolidate the disks as part of the removal.")
    .optional("task_timeout", ParamType::Duration, Some(json!("6h")), TASK_TIMEOUT_PARAM)
    .optional("vcenter", ParamType::Any, None, VCENTER_PARAM)
    .output("removed", ParamType::Boolean, "False when it was already gone.")
    .output("consolidated", ParamType::Boolean, "Whether ConsolidateVMDisks_Task ran afterwards.")
    .output("snapshot", ParamType::Object, "The reference that was removed.")
}

/// The parameters of `vsphere.snapshot.remove` beyond `snapshot` and `vcenter`.
#[derive(Debug, Deserialize)]
struct RemoveParams {
    #[serde(default)]
    remove_children: bool,
    #[serde(default = "yes")]
    consolidate: bool,
    #[serde(default = "task_timeout")]
    task_timeout: Span,
}

async fn run_snapshot_remove(
    shared: &Shared,
    ctx: &ActionContext,
    params: RemoveParams,
) -> Result<Json, ActionError> {
    let snapshot = SnapshotRef::parse(ctx.param("snapshot")?)?;
    let client = shared.client(ctx).await?;
    let watch = StepWatch {
        ctx,
        deadline: params.task_timeout.0,
    };
    let removed = remove_snapshot(
        &client,
        &snapshot,
        params.remove_children,
        params.consolidate,
        &watch,
    )
    .await?;
    if !removed.removed {
        ctx.log(
            shutter_core::record::LogLevel::Info,
            format!("snapshot {} was already gone", snapshot.moref),
        );
    }
    Ok(json!({
        "removed": removed.removed,
        "consolidated": removed.consolidated,
        "snapshot": snapshot,
    }))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Json, ActionError> {
    serde_json::to_value(value).map_err(|e| ActionError::fatal(format!("encoding outputs: {e}")))
}
