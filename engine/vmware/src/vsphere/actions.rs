//! The `vsphere.*` actions: catalog entries and thin wrappers over the
//! plain functions of [`super::vm`] and [`super::snapshot`]; the restore
//! actions are in [`super::restore_actions`].

use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::catalog::ParamKind;
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionEntry, ActionError, ParamType};
use shutter_core::{action_outputs, action_params};

use super::catalog;
use super::client::Client;
use super::connection::{self, ConnectionConfig};
use super::error::VsphereError;
use super::moref::MoRef;
use super::restore_actions;
use super::session::SessionCache;
use super::snapshot::{
    SnapshotInfo, SnapshotRef, SnapshotSpec, create_snapshot, list_snapshots, remove_snapshot,
};
use super::task::{DEFAULT_TASK_DEADLINE, StepWatch};
use super::vm::{Disk, VmInfo, VmTarget, find_vm, get_vm};
use crate::config::ShutterConfig;
use crate::env::Env;

const VCENTER_PARAM: &str = "The vCenter: the name of a connection in Shutter's config (docs/configuration.md), or {url, username, password_secret, insecure, ca_file}. Default: the connection the vm/snapshot reference names, else govc's GOVC_URL, GOVC_USERNAME, GOVC_PASSWORD, GOVC_INSECURE.";

/// What every vSphere action shares: the sessions and the environment.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub(crate) sessions: SessionCache,
    pub(crate) env: Env,
}

impl Shared {
    pub(super) async fn client(&self, ctx: &ActionContext) -> Result<Client, ActionError> {
        let config = ConnectionConfig::from_step(&ctx.params, &ctx.secrets, &self.env, &ctx.files);
        match connection::referenced_instance_uuid(&ctx.params) {
            Some(uuid) => Ok(self.vcenter_with_uuid(uuid, config.ok()).await?),
            None => Ok(self.sessions.client(&config?).await?),
        }
    }

    /// The vCenter whose instanceUuid is `uuid`: govc's (`fallback`) when
    /// it is that one, else the first of Shutter's named connections that
    /// is. Logins are cached, so the search costs one login per vCenter
    /// and process. moRefs repeat across vCenters: connecting to the wrong
    /// one is never the answer, so finding none fails the step, naming
    /// what each connection is (and retryable when one could not be
    /// reached: it may be the one).
    async fn vcenter_with_uuid(
        &self,
        uuid: &str,
        fallback: Option<ConnectionConfig>,
    ) -> Result<Client, VsphereError> {
        let mut candidates: Vec<(String, Result<ConnectionConfig, VsphereError>)> = fallback
            .map(|config| ("govc's GOVC_URL".to_owned(), Ok(config)))
            .into_iter()
            .collect();
        if let Some(file) = ShutterConfig::load(&self.env)? {
            for name in file.vcenter_names() {
                candidates.push((format!("`{name}`"), file.vcenter(name, &self.env)));
            }
        }
        let mut seen = Vec::new();
        let mut unreachable = false;
        for (name, config) in candidates {
            let client = match config {
                Ok(config) => self.sessions.client(&config).await,
                Err(err) => Err(err),
            };
            match client {
                Ok(client) if client.vcenter().eq_ignore_ascii_case(uuid) => return Ok(client),
                Ok(client) => seen.push(format!("{name} is {}", client.vcenter())),
                Err(err) => {
                    unreachable |= matches!(err, VsphereError::Unavailable(_));
                    seen.push(format!("{name} failed: {err}"));
                }
            }
        }
        let message = if seen.is_empty() {
            format!(
                "the reference names vcenter {uuid}, and no connection is known: name one with `vcenter`, in Shutter's config file (docs/configuration.md) or with govc's GOVC_URL"
            )
        } else {
            format!(
                "the reference names vcenter {uuid}, which no known connection is ({})",
                seen.join("; ")
            )
        };
        Err(if unreachable {
            VsphereError::Unavailable(message)
        } else {
            VsphereError::Invalid(message)
        })
    }

    /// The client of an action about one VM, and that VM.
    async fn client_and_vm(
        &self,
        ctx: &ActionContext,
        vm: &VmParam,
    ) -> Result<(Client, MoRef), ActionError> {
        let client = self.client(ctx).await?;
        let target = VmTarget::parse(&vm.vm)?;
        let vm = find_vm(&client, &target).await?;
        Ok((client, vm))
    }
}

pub(crate) fn actions(shared: &Shared) -> Vec<ActionEntry> {
    let mut actions = vec![
        GetVm::entry(shared.clone()),
        CreateSnapshot::entry(shared.clone()),
        ListSnapshots::entry(shared.clone()),
        RemoveSnapshot::entry(shared.clone()),
        SyncBackups::entry(shared.clone()),
    ];
    actions.extend(restore_actions::entries(shared));
    actions.into_iter().map(on_vcenter).collect()
}

/// Adds the `vcenter` parameter every action takes, after its own; the
/// connection reads it from the step's parameters.
fn on_vcenter((spec, action): ActionEntry) -> ActionEntry {
    let spec = spec.optional("vcenter", ParamType::Any, None, VCENTER_PARAM);
    (spec, action)
}

/// The VM an action is about.
#[action_params]
#[derive(Debug, Deserialize)]
pub(super) struct VmParam {
    /// The VM: a name, an inventory path (DC/vm/NAME), a moRef (vm-42), an
    /// instanceUuid, `vsphere://VCENTER/vm-42`, or the `vm` output of
    /// `vsphere.vm.get` or `vsphere.vm.clone`.
    pub(super) vm: Json,
}

/// The reference to a VM that later steps pass on as `vm`: `{vcenter,
/// moref, name, instance_uuid}`, and `connection` when reached through a
/// named connection.
pub(super) fn vm_reference(
    client: &Client,
    moref: &str,
    name: &str,
    instance_uuid: Option<&str>,
) -> Json {
    let mut reference = json!({
        "vcenter": client.vcenter(),
        "moref": moref,
        "name": name,
        "instance_uuid": instance_uuid,
    });
    if let Some(connection) = &client.config().name {
        reference["connection"] = json!(connection);
    }
    reference
}

impl ParamKind for SnapshotRef {
    const KIND: ParamType = ParamType::Object;
}

#[action_outputs]
#[derive(Debug, Serialize)]
struct VmGot {
    #[serde(flatten)]
    info: VmInfo,
    /// A reference to pass to later steps: `{vcenter, moref, name,
    /// instance_uuid}`, and `connection` when found through a named
    /// connection.
    #[output(ty = Object)]
    vm: Json,
}

/// Describes a vSphere VM: identity, power state, disks and their datastore
/// download URLs.
#[action_params("vsphere.vm.get", read_only)]
#[derive(Debug, Deserialize)]
struct GetVm {
    #[serde(flatten)]
    vm: VmParam,
}

impl Run<Shared> for GetVm {
    type Outputs = VmGot;

    async fn run(self, ctx: &ActionContext, shared: &Shared) -> Outcome<VmGot> {
        let (client, vm) = shared.client_and_vm(ctx, &self.vm).await?;
        let info = get_vm(&client, &vm).await?;
        let reference = vm_reference(
            &client,
            &info.moref,
            &info.name,
            info.instance_uuid.as_deref(),
        );
        Ok(VmGot {
            info,
            vm: reference,
        })
    }
}

/// Creates a VM snapshot (`CreateSnapshot_Task`). The snapshot carries the step's
/// idempotency key: a re-run adopts it instead of making a second one.
#[action_params("vsphere.snapshot.create")]
#[derive(Debug, Deserialize)]
struct CreateSnapshot {
    #[serde(flatten)]
    vm: VmParam,
    /// The snapshot's name; a tag of the idempotency key is appended.
    name: String,
    /// The snapshot's description.
    #[param(default = "")]
    description: String,
    /// Include the VM's memory.
    #[param(default = false)]
    memory: bool,
    /// Quiesce the guest file systems (needs VMware Tools).
    #[param(default = false)]
    quiesce: bool,
    /// How long the vCenter task may run before the step stops waiting and
    /// asks vCenter to cancel it (not every task can be canceled); a
    /// retryable failure: another try adopts what the task made.
    #[param(default = "6h")]
    #[serde(default = "task_timeout")]
    task_timeout: Span,
}

pub(super) fn task_timeout() -> Span {
    Span(DEFAULT_TASK_DEADLINE)
}

/// How an action watches its vCenter tasks: progress goes to the step,
/// the step's cancel stops the wait, and each task may run `timeout` (the
/// action's `task_timeout`).
pub(super) fn step_watch(ctx: &ActionContext, timeout: Span) -> StepWatch<'_> {
    StepWatch {
        ctx,
        deadline: timeout.0,
    }
}

#[action_outputs]
#[derive(Debug, Serialize)]
struct Created {
    /// The reference later steps pass on (`vsphere.snapshot.remove`):
    /// `{vcenter, vm, moref}`, and `connection` when made through a named
    /// connection.
    snapshot: SnapshotRef,
    /// The snapshot's moRef.
    id: String,
    /// `vsphere://VCENTER/VM/SNAPSHOT`.
    uri: String,
    /// The vCenter's instanceUuid.
    vcenter: String,
    /// The VM's moRef.
    vm: String,
    /// The snapshot's name as created.
    name: String,
    /// The snapshot's description as created.
    description: String,
    /// When vCenter created it (RFC 3339).
    created_at: String,
    /// Whether the snapshot is quiesced.
    quiesced: bool,
    /// quiesced or crash.
    consistency: &'static str,
    /// True when an earlier try had already created it.
    adopted: bool,
    /// The disks it captured, with datastore download URLs (`url`, `data_url`).
    disks: Vec<Disk>,
    /// Its backup catalog entry as reported (`kind`, `where`, `native_id`,
    /// `source`): give it as `made_from` to a step that copies the
    /// snapshot elsewhere (`openstack.image.upload`), which links the two.
    #[output(ty = Object)]
    backup: Json,
}

impl Run<Shared> for CreateSnapshot {
    type Outputs = Created;

    async fn run(self, ctx: &ActionContext, shared: &Shared) -> Outcome<Created> {
        let (client, vm) = shared.client_and_vm(ctx, &self.vm).await?;
        let spec = SnapshotSpec {
            name: self.name,
            description: self.description,
            memory: self.memory,
            quiesce: self.quiesce,
            idempotency_key: Some(ctx.idempotency_key.clone()),
        };
        let watch = step_watch(ctx, self.task_timeout);
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
        let vm_uuid = catalog::vm_uuid(&client, &vm).await;
        let backup = catalog::snapshot(&created.info, vm_uuid, &created.disks);
        let backup_json = serde_json::to_value(&backup).unwrap_or(Json::Null);
        ctx.record_backup(backup);
        let info = created.info;
        Ok(Created {
            id: info.snapshot.moref.clone(),
            uri: info.snapshot.uri(),
            vcenter: info.snapshot.vcenter.clone(),
            vm: info.snapshot.vm.clone(),
            consistency: info.consistency(),
            snapshot: info.snapshot,
            name: info.name,
            description: info.description,
            created_at: info.created_at,
            quiesced: info.quiesced,
            adopted: created.adopted,
            disks: created.disks,
            backup: backup_json,
        })
    }
}

#[action_outputs]
#[derive(Debug, Serialize)]
struct Listed {
    /// The vCenter's instanceUuid.
    vcenter: String,
    /// The VM's moRef.
    vm: String,
    /// `{snapshot, name, description, created_at, quiesced, state, parent,
    /// current}`.
    snapshots: Vec<SnapshotInfo>,
    /// How many snapshots the VM has.
    count: usize,
}

/// Lists a VM's snapshots, parents before children.
#[action_params("vsphere.snapshot.list", read_only)]
#[derive(Debug, Deserialize)]
struct ListSnapshots {
    #[serde(flatten)]
    vm: VmParam,
}

impl Run<Shared> for ListSnapshots {
    type Outputs = Listed;

    async fn run(self, ctx: &ActionContext, shared: &Shared) -> Outcome<Listed> {
        let (client, vm) = shared.client_and_vm(ctx, &self.vm).await?;
        let snapshots = list_snapshots(&client, &vm).await?;
        Ok(Listed {
            vcenter: client.vcenter().to_owned(),
            vm: vm.value,
            count: snapshots.len(),
            snapshots,
        })
    }
}

/// Removes a snapshot (`RemoveSnapshot_Task`), then consolidates the VM's disks
/// when it reports `consolidationNeeded`. A snapshot already gone counts as
/// removed.
#[action_params("vsphere.snapshot.remove")]
#[derive(Debug, Deserialize)]
struct RemoveSnapshot {
    /// The `snapshot` output of `vsphere.snapshot.create`, or
    /// `vsphere://VCENTER/VM/SNAPSHOT`.
    snapshot: Json,
    /// Also remove the snapshots below it.
    #[param(default = false)]
    remove_children: bool,
    /// Consolidate the disks as part of the removal.
    #[param(default = true)]
    consolidate: bool,
    /// How long the vCenter task may run before the step stops waiting and
    /// asks vCenter to cancel it (not every task can be canceled); a
    /// retryable failure: another try adopts what the task made.
    #[param(default = "6h")]
    #[serde(default = "task_timeout")]
    task_timeout: Span,
}

#[action_outputs]
#[derive(Debug, Serialize)]
struct Removed {
    /// False when it was already gone.
    removed: bool,
    /// Whether `ConsolidateVMDisks_Task` ran afterwards.
    consolidated: bool,
    /// The reference that was removed.
    snapshot: SnapshotRef,
}

impl Run<Shared> for RemoveSnapshot {
    type Outputs = Removed;

    async fn run(self, ctx: &ActionContext, shared: &Shared) -> Outcome<Removed> {
        let snapshot = SnapshotRef::parse(&self.snapshot)?;
        let client = shared.client(ctx).await?;
        let watch = step_watch(ctx, self.task_timeout);
        // The children go too with `remove_children`: known only before.
        let children = if self.remove_children {
            let vm = snapshot.vm_moref();
            let tree = list_snapshots(&client, &vm).await.unwrap_or_default();
            catalog::below(&tree, &snapshot.moref)
        } else {
            Vec::new()
        };
        let removed = remove_snapshot(
            &client,
            &snapshot,
            self.remove_children,
            self.consolidate,
            &watch,
        )
        .await?;
        // Gone either way: removed now, or before by someone else.
        for moref in std::iter::once(&snapshot.moref).chain(&children) {
            ctx.mark_backup(
                catalog::snapshot_ref(client.vcenter(), moref),
                shutter_core::BackupState::Deleted,
            );
        }
        if !removed.removed {
            ctx.log(
                shutter_core::record::LogLevel::Info,
                format!("snapshot {} was already gone", snapshot.moref),
            );
        }
        Ok(Removed {
            removed: removed.removed,
            consolidated: removed.consolidated,
            snapshot,
        })
    }
}

/// Reconciles the backup catalog with a vCenter: every VM snapshot carrying
/// Shutter's idempotency key is cataloged (with the execution and step the
/// key names), and cataloged snapshots of this vCenter that are gone are
/// marked `missing`. Deletes nothing; schedule it.
#[action_params("vsphere.sync_backups")]
#[derive(Debug, Deserialize)]
struct SyncBackups {}

#[action_outputs]
#[derive(Debug, Serialize)]
struct Synced {
    /// The vCenter's instanceUuid.
    vcenter: String,
    /// How many VMs were looked at.
    vms: usize,
    /// Snapshots found carrying Shutter's key.
    snapshots: usize,
}

impl Run<Shared> for SyncBackups {
    type Outputs = Synced;

    async fn run(self, ctx: &ActionContext, shared: &Shared) -> Outcome<Synced> {
        let client = shared.client(ctx).await?;
        let (census, vms) = catalog::census(&client).await?;
        let snapshots = census.found.len();
        ctx.count_backups(census);
        Ok(Synced {
            vcenter: client.vcenter().to_owned(),
            vms,
            snapshots,
        })
    }
}
