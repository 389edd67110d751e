//! The restore actions: `vsphere.snapshot.revert`, `vsphere.vm.clone` and
//! `vsphere.vm.destroy`, thin wrappers over [`super::restore`].

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use shutter_core::action::{Outcome, Run};
use shutter_core::record::LogLevel;
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionEntry};
use shutter_core::{action_outputs, action_params};

use super::actions::{Shared, VmParam, step_watch, task_timeout, vm_reference};
use super::restore::{
    CloneSpec, DestroyOptions, FolderTarget, clone_vm, destroy_vm, revert_to_snapshot,
};
use super::snapshot::SnapshotRef;
use super::vm::{VmSelector, VmTarget, find_vm};

pub(super) fn entries(shared: &Shared) -> Vec<ActionEntry> {
    vec![
        RevertSnapshot::entry(shared.clone()),
        CloneVm::entry(shared.clone()),
        DestroyVm::entry(shared.clone()),
    ]
}

/// Reverts a VM to one of its snapshots (`RevertToSnapshot_Task`): its
/// disks, and its memory when the snapshot holds it, go back to what the
/// snapshot captured; what the VM wrote since is lost. Reverting again to
/// the same snapshot gives the same VM, so a retried step is harmless. A
/// snapshot no longer in the VM's snapshot tree fails the step.
#[action_params("vsphere.snapshot.revert")]
#[derive(Debug, Deserialize)]
struct RevertSnapshot {
    /// The `snapshot` output of `vsphere.snapshot.create`, or
    /// `vsphere://VCENTER/VM/SNAPSHOT`.
    snapshot: Json,
    /// Leave the VM powered off even if the snapshot was taken while it
    /// ran (vSphere's `suppressPowerOn`).
    #[param(default = false)]
    suppress_power_on: bool,
    /// How long the vCenter task may run before the step stops waiting and
    /// asks vCenter to cancel it (not every task can be canceled); a
    /// retryable failure: another try reverts again.
    #[param(default = "6h")]
    #[serde(default = "task_timeout")]
    task_timeout: Span,
}

#[action_outputs]
#[derive(Debug, Serialize)]
struct Reverted {
    /// The snapshot the VM was reverted to, as given.
    snapshot: SnapshotRef,
    /// The VM's moRef.
    vm: String,
    /// The VM's power state after the revert: poweredOn, poweredOff or
    /// suspended.
    power_state: String,
}

impl Run<Shared> for RevertSnapshot {
    type Outputs = Reverted;

    async fn run(self, ctx: &ActionContext, shared: &Shared) -> Outcome<Reverted> {
        let snapshot = SnapshotRef::parse(&self.snapshot)?;
        let client = shared.client(ctx).await?;
        let watch = step_watch(ctx, self.task_timeout);
        let reverted =
            revert_to_snapshot(&client, &snapshot, self.suppress_power_on, &watch).await?;
        Ok(Reverted {
            snapshot,
            vm: reverted.vm,
            power_state: reverted.power_state,
        })
    }
}

/// Makes a new VM from a snapshot (`CloneVM_Task` of the snapshot's VM, as
/// it was at the snapshot), to restore beside the original rather than over
/// it. The clone's annotation carries the step's idempotency key: a re-run
/// adopts the clone instead of making a second one, and a VM of the same
/// name in the folder that this step did not make fails the step, untouched.
/// Remove the clone with `vsphere.vm.destroy`.
#[action_params("vsphere.vm.clone")]
#[derive(Debug, Deserialize)]
struct CloneVm {
    /// The snapshot to clone from: the `snapshot` output of
    /// `vsphere.snapshot.create`, or `vsphere://VCENTER/VM/SNAPSHOT`.
    snapshot: Json,
    /// The new VM's name, unique in its folder.
    name: String,
    /// The folder the clone goes in: a moRef (group-v3) or an inventory
    /// path (DC/vm/restored). Default: the folder of the snapshot's VM.
    folder: Option<String>,
    /// A linked clone: new child disks over the snapshot's, made in seconds
    /// and small, but reading the snapshot's disks (keep the snapshot while
    /// the clone lives). False: a full copy of the disks.
    #[param(default = true)]
    linked: bool,
    /// Power the clone on once made. Check that it cannot clash with the
    /// original (same network identity) before asking.
    #[param(default = false)]
    power_on: bool,
    /// How long the vCenter task may run before the step stops waiting and
    /// asks vCenter to cancel it (not every task can be canceled); a
    /// retryable failure: another try adopts what the task made.
    #[param(default = "6h")]
    #[serde(default = "task_timeout")]
    task_timeout: Span,
}

#[action_outputs]
#[derive(Debug, Serialize)]
struct Cloned {
    /// The new VM, as later steps pass it on (`vsphere.vm.get`,
    /// `vsphere.vm.destroy`): `{vcenter, moref, name, instance_uuid}`, and
    /// `connection` when made through a named connection.
    #[output(ty = Object)]
    vm: Json,
    /// True when an earlier try had already made it.
    adopted: bool,
    /// Whether a linked clone was asked for.
    linked: bool,
    /// The snapshot it was cloned from, as given.
    snapshot: SnapshotRef,
    /// The clone's power state: poweredOn, poweredOff or suspended.
    power_state: String,
}

impl Run<Shared> for CloneVm {
    type Outputs = Cloned;

    async fn run(self, ctx: &ActionContext, shared: &Shared) -> Outcome<Cloned> {
        let snapshot = SnapshotRef::parse(&self.snapshot)?;
        let folder = self
            .folder
            .as_deref()
            .map(FolderTarget::parse)
            .transpose()?;
        let client = shared.client(ctx).await?;
        let spec = CloneSpec {
            name: self.name,
            folder,
            linked: self.linked,
            power_on: self.power_on,
            idempotency_key: ctx.idempotency_key.clone(),
        };
        let watch = step_watch(ctx, self.task_timeout);
        let cloned = clone_vm(&client, &snapshot, &spec, &watch).await?;
        if cloned.adopted {
            ctx.log(
                LogLevel::Info,
                format!(
                    "adopted clone {} (`{}`) made by an earlier try",
                    cloned.vm.value, cloned.name
                ),
            );
        }
        Ok(Cloned {
            vm: vm_reference(
                &client,
                &cloned.vm.value,
                &cloned.name,
                cloned.instance_uuid.as_deref(),
            ),
            adopted: cloned.adopted,
            linked: spec.linked,
            snapshot,
            power_state: cloned.power_state,
        })
    }
}

/// Destroys a VM (`Destroy_Task`: unregisters it and deletes its files), as
/// a restore test's cleanup does with its clone; a VM that is on is powered
/// off first. Only a VM Shutter made is destroyed unless told otherwise
/// (its annotation carries `shutter-idempotency-key:`, as `vsphere.vm.clone`
/// writes), so a wrong reference in a cleanup step fails instead of
/// destroying a production VM. A VM already gone counts as destroyed
/// (`destroyed: false`), so a retried cleanup succeeds.
#[action_params("vsphere.vm.destroy")]
#[derive(Debug, Deserialize)]
struct DestroyVm {
    #[serde(flatten)]
    vm: VmParam,
    /// Power the VM off first when it is on (`PowerOffVM_Task`: a hard
    /// power off, not a guest shutdown). False: a VM that is on fails the
    /// step.
    #[param(default = true)]
    power_off: bool,
    /// Refuse a VM whose annotation carries no `shutter-idempotency-key:`
    /// line, that is one Shutter did not make. Set it to false only to
    /// destroy a VM made by other means, on purpose.
    #[param(default = true)]
    only_made_by_shutter: bool,
    /// Refuse a VM whose annotation carries another idempotency key than
    /// this one (what `restore.delete` passes: the key of the step that
    /// made it), so a reference to another of Shutter's VMs destroys nothing.
    made_by_key: Option<String>,
    /// How long each vCenter task (power off, destroy) may run before the
    /// step stops waiting and asks vCenter to cancel it (not every task can
    /// be canceled); a retryable failure: another try carries on.
    #[param(default = "6h")]
    #[serde(default = "task_timeout")]
    task_timeout: Span,
}

#[action_outputs]
#[derive(Debug, Serialize)]
struct Destroyed {
    /// False when the VM was already gone.
    destroyed: bool,
    /// The VM's moRef; null when no VM matched a name, inventory path or
    /// instanceUuid (already gone).
    vm: Option<String>,
}

impl Run<Shared> for DestroyVm {
    type Outputs = Destroyed;

    async fn run(self, ctx: &ActionContext, shared: &Shared) -> Outcome<Destroyed> {
        let target = VmTarget::parse(&self.vm.vm)?;
        let client = shared.client(ctx).await?;
        let watch = step_watch(ctx, self.task_timeout);
        let options = DestroyOptions {
            power_off: self.power_off,
            only_made_by_shutter: self.only_made_by_shutter,
            made_by_key: self.made_by_key.clone(),
        };
        let (destroyed, moref) = match find_vm(&client, &target).await {
            Ok(vm) => (
                destroy_vm(&client, &vm, options, &watch).await?,
                Some(vm.value),
            ),
            Err(err) if err.is_not_found() => {
                let moref = match &target.selector {
                    VmSelector::MoRef(id) => Some(id.clone()),
                    _ => None,
                };
                (false, moref)
            }
            Err(err) => return Err(err.into()),
        };
        if !destroyed {
            ctx.log(
                LogLevel::Info,
                format!(
                    "vm {} was already gone",
                    moref.as_deref().unwrap_or("(no match)")
                ),
            );
        }
        Ok(Destroyed {
            destroyed,
            vm: moref,
        })
    }
}
