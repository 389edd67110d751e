//! `snapshot`: dispatches on the target reference to
//! `aws.ec2.create_snapshot` / `aws.ec2.create_snapshots`,
//! `openstack.server.create_image` or `vsphere.snapshot.create`, and gives
//! back one output shape whatever the cloud.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, ActionError, LogLevel};
use shutter_core::{action_outputs, action_params};

use super::target::Target;
use crate::delegates::Delegates;

/// What is asked for, whatever the cloud.
struct Request {
    name: String,
    description: Option<String>,
    quiesce: bool,
    tags: Map<String, Json>,
    options: Map<String, Json>,
}

/// Snapshots a volume, instance, server or VM on any cloud, named by a target
/// reference, with the provider's own action (`aws.ec2.create_snapshot` /
/// `create_snapshots`, `openstack.server.create_image`,
/// `vsphere.snapshot.create`).
/// Same idempotency as those: a re-run adopts what an earlier try made. Undo
/// with `snapshot.delete`.
#[action_params("snapshot")]
#[derive(Debug, Deserialize)]
pub(super) struct TakeSnapshot {
    /// `aws://REGION/vol-ID` (one EBS volume), `aws://REGION/i-ID` (every
    /// volume of the instance, at one instant), `openstack://CLOUD/SERVER_ID`
    /// (a clouds.yaml entry and a Nova server), `vsphere://VCENTER/vm-N`
    /// (`VCENTER`: a connection named in Shutter's config, or the vCenter's
    /// instanceUuid with the connection from `GOVC_*`; `vm-N`: the VM's
    /// moRef).
    target: String,
    /// The snapshot's name (aws: the `Name` tag; openstack: the image name;
    /// vsphere: the snapshot name, with a tag of the idempotency key
    /// appended).
    name: String,
    /// The snapshot's description (openstack: the image property
    /// `description`).
    description: Option<String>,
    /// Ask for a quiesced snapshot. vsphere: quiesced by VMware Tools;
    /// openstack: passed to Nova as the image's quiesce properties
    /// (consistency stays `crash`: Nova decides from the server's image);
    /// aws: cannot quiesce from outside, a warning is logged.
    #[param(default = false)]
    quiesce: Option<bool>,
    /// Tags (aws) or image properties (openstack); vsphere snapshots have
    /// none (a warning is logged).
    tags: Option<Map<String, Json>>,
    /// Passed through to the provider's action, e.g. `{endpoint_url}` for
    /// aws, `{vcenter: NAME or {url, username, password_secret, insecure},
    /// memory}` for vsphere, `{microversion, wait_timeout}` for openstack.
    /// Cannot override what the target sets.
    options: Option<Map<String, Json>>,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Snapshot {
    /// The snapshot: EBS snapshot id (an instance's first volume), Glance
    /// image id, or vSphere snapshot moRef.
    id: String,
    /// Every snapshot made (one per volume for an aws instance).
    ids: Vec<String>,
    /// aws, openstack or vsphere.
    provider: &'static str,
    /// The target reference, as parsed.
    target: String,
    /// The name asked for.
    name: String,
    /// When the provider took it (RFC 3339).
    #[output(ty = String)]
    created_at: Json,
    /// quiesced (vsphere, when the guest was quiesced) or crash.
    consistency: &'static str,
    /// True when an earlier try of the step had made it.
    adopted: bool,
    /// What `snapshot.delete` takes: `{provider, id, ids, target, options}`.
    #[output(ty = Object)]
    snapshot: Json,
    /// The provider action's own outputs, unchanged.
    #[output(ty = Object)]
    details: Json,
}

/// Takes the snapshot through the target's provider.
impl Run<Delegates> for TakeSnapshot {
    type Outputs = Snapshot;

    async fn run(self, ctx: &ActionContext, delegates: &Delegates) -> Outcome<Snapshot> {
        let target = Target::parse(&self.target)?;
        let request = Request {
            name: self.name,
            description: self.description,
            quiesce: self.quiesce.unwrap_or(false),
            tags: self.tags.unwrap_or_default(),
            options: self.options.unwrap_or_default(),
        };
        let taken = match &target {
            Target::AwsVolume { region, volume_id } => {
                aws(
                    delegates,
                    ctx,
                    &request,
                    region,
                    ("aws.ec2.create_snapshot", "volume_id", volume_id),
                )
                .await?
            }
            Target::AwsInstance {
                region,
                instance_id,
            } => {
                aws(
                    delegates,
                    ctx,
                    &request,
                    region,
                    ("aws.ec2.create_snapshots", "instance_id", instance_id),
                )
                .await?
            }
            Target::OpenStack { cloud, server_id } => {
                openstack(delegates, ctx, &request, cloud, server_id).await?
            }
            Target::Vsphere { .. } => vsphere(delegates, ctx, &request, &target).await?,
        };
        let provider = target.provider().name();
        let target = target.to_string();
        let reference = json!({
            "provider": provider,
            "id": taken.id,
            "ids": taken.ids,
            "target": target,
            "options": request.options,
        });
        Ok(Snapshot {
            adopted: taken
                .details
                .get("adopted")
                .and_then(Json::as_bool)
                .unwrap_or(false),
            consistency: if taken.quiesced { "quiesced" } else { "crash" },
            id: taken.id,
            ids: taken.ids,
            provider,
            target,
            name: request.name,
            created_at: taken.created_at,
            snapshot: reference,
            details: taken.details,
        })
    }
}

/// What a provider made, in the common terms.
struct Taken {
    id: String,
    ids: Vec<String>,
    created_at: Json,
    quiesced: bool,
    details: Json,
}

impl Taken {
    /// One snapshot `id`, made when the provider's `created_at` says.
    fn one(id: String, quiesced: bool, details: Json) -> Self {
        Self {
            ids: vec![id.clone()],
            id,
            created_at: time_or_now(details.get("created_at")),
            quiesced,
            details,
        }
    }
}

fn text(value: &Json, name: &str, action: &str) -> Result<String, ActionError> {
    value
        .get(name)
        .and_then(Json::as_str)
        .map(str::to_owned)
        .ok_or_else(|| ActionError::fatal(format!("{action} gave no `{name}` output")))
}

/// When the provider does not say (moto's `CreateSnapshots` has no start
/// time), the time the snapshot was asked for is the next best thing.
fn time_or_now(value: Option<&Json>) -> Json {
    match value {
        Some(Json::String(at)) if !at.is_empty() => json!(at),
        _ => json!(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    }
}

async fn aws(
    delegates: &Delegates,
    ctx: &ActionContext,
    request: &Request,
    region: &str,
    (action, key, resource): (&str, &str, &str),
) -> Result<Taken, ActionError> {
    if request.quiesce {
        ctx.log(
            LogLevel::Warn,
            format!("aws cannot quiesce {resource} from outside the guest: the snapshot is crash-consistent"),
        );
    }
    let mut tags = request.tags.clone();
    // The console shows a snapshot's `Name` tag as its name.
    tags.entry("Name").or_insert_with(|| json!(request.name));
    let mut params = Map::new();
    params.insert(key.to_owned(), json!(resource));
    params.insert("region".to_owned(), json!(region));
    params.insert("tags".to_owned(), Json::Object(tags));
    if let Some(description) = &request.description {
        params.insert("description".to_owned(), json!(description));
    }
    let details = delegates
        .run_with(ctx, action, params, &request.options)
        .await?;
    let (ids, created_at) = if key == "volume_id" {
        (
            vec![text(&details, "snapshot_id", action)?],
            time_or_now(details.get("start_time")),
        )
    } else {
        let ids: Vec<String> = details
            .get("snapshot_ids")
            .and_then(Json::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        // One instant for all volumes: the earliest start time reported.
        let earliest = details
            .get("snapshots")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("start_time").and_then(Json::as_str))
            .min()
            .map(|at| json!(at));
        (ids, time_or_now(earliest.as_ref()))
    };
    let id = ids.first().cloned().ok_or_else(|| {
        ActionError::fatal(format!(
            "{action} on {resource} made no snapshot: the instance has no EBS volume to snapshot"
        ))
    })?;
    Ok(Taken {
        id,
        ids,
        created_at,
        quiesced: false,
        details,
    })
}

async fn openstack(
    delegates: &Delegates,
    ctx: &ActionContext,
    request: &Request,
    cloud: &str,
    server_id: &str,
) -> Result<Taken, ActionError> {
    const ACTION: &str = "openstack.server.create_image";
    let mut metadata = request.tags.clone();
    if let Some(description) = &request.description {
        metadata
            .entry("description")
            .or_insert_with(|| json!(description));
    }
    let mut params = Map::new();
    params.insert("cloud".to_owned(), json!(cloud));
    params.insert("server_id".to_owned(), json!(server_id));
    params.insert("name".to_owned(), json!(request.name));
    params.insert("quiesce".to_owned(), json!(request.quiesce));
    params.insert("metadata".to_owned(), Json::Object(metadata));
    let details = delegates
        .run_with(ctx, ACTION, params, &request.options)
        .await?;
    let id = text(&details, "image_id", ACTION)?;
    if request.quiesce {
        ctx.log(
            LogLevel::Info,
            format!("image {id}: nova quiesces server {server_id} only when the server's own image asks for it (hw_qemu_guest_agent); reported as crash-consistent"),
        );
    }
    Ok(Taken::one(id, false, details))
}

async fn vsphere(
    delegates: &Delegates,
    ctx: &ActionContext,
    request: &Request,
    target: &Target,
) -> Result<Taken, ActionError> {
    const ACTION: &str = "vsphere.snapshot.create";
    if !request.tags.is_empty() {
        ctx.log(
            LogLevel::Warn,
            format!("vsphere snapshots carry no tags: `tags` ignored for {target}"),
        );
    }
    let mut params = Map::new();
    // The vmware crate reads vsphere://VCENTER/vm-N itself and refuses it on another vCenter.
    params.insert("vm".to_owned(), json!(target.to_string()));
    params.insert("name".to_owned(), json!(request.name));
    params.insert("quiesce".to_owned(), json!(request.quiesce));
    if let Some(description) = &request.description {
        params.insert("description".to_owned(), json!(description));
    }
    let details = delegates
        .run_with(ctx, ACTION, params, &request.options)
        .await?;
    let id = text(&details, "id", ACTION)?;
    let quiesced = details.get("consistency").and_then(Json::as_str) == Some("quiesced");
    Ok(Taken::one(id, quiesced, details))
}
