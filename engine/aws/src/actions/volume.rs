//! Restoring an EBS snapshot: `aws.ec2.create_volume` (a volume from a
//! snapshot, adopted by a re-run like every create), `aws.ec2.attach_volume`
//! and `aws.ec2.delete_volume` (what a restore test cleans up with).

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ec2::types::{ResourceType, Volume, VolumeState, VolumeType};
use serde::{Deserialize, Serialize};
use shutter_core::action::{Outcome, Run};
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionError, LogLevel};
use shutter_core::{action_outputs, action_params};
use shutter_kit::{Poll, Polled, poll_until};

use super::{filter, log_already_gone};
use crate::failure::{aws_error, is_gone};
use crate::idempotency::{self, RESTORE_TAG};
use crate::params;
use crate::settings::{Clients, Ec2};

/// Creates an EBS volume from a snapshot (`CreateVolume`) and, unless `wait`
/// is false, waits until it is `available`. Tagged `shutter:restore-key` =
/// the step's idempotency key (not the backups' tag: a snapshot of it is no
/// backup of Shutter's), and sent with a client token made of it; a re-run
/// adopts the volume an earlier try made. Undo with `aws.ec2.delete_volume`.
#[action_params("aws.ec2.create_volume")]
#[derive(Debug, Deserialize)]
pub(super) struct CreateVolume {
    /// The snapshot to restore, e.g. `snap-0abc...`.
    snapshot_id: String,
    /// Where the volume is made (it can only be attached to instances
    /// there); default: the region's first available zone.
    availability_zone: Option<String>,
    /// `gp3`, `gp2`, `io1`, `io2`, `st1`, `sc1` or `standard`; default:
    /// EC2's (`gp2`).
    volume_type: Option<String>,
    /// Size in GiB; default: the snapshot's. It cannot be smaller.
    size_gib: Option<u32>,
    /// Provisioned IOPS (io1, io2, gp3).
    iops: Option<u32>,
    /// Encrypt the volume. A volume made from an encrypted snapshot is
    /// encrypted whatever this says.
    encrypted: Option<bool>,
    /// KMS key for an encrypted volume; default: the snapshot's, else the
    /// account's EBS default key.
    kms_key_id: Option<String>,
    /// Tags for the volume: a map of key to value.
    #[serde(default)]
    tags: params::Tags,
    /// Wait until the volume is `available`.
    #[param(default = true)]
    wait: bool,
    /// How long to wait in one try.
    #[param(default = "30m")]
    timeout: Option<Span>,
    /// The first pause between polls; it grows by half each time, to at
    /// most 30 seconds.
    #[param(default = "2s")]
    poll: Option<Span>,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct VolumeMade {
    /// The new (or adopted) volume.
    volume_id: String,
    /// The snapshot it was made from.
    snapshot_id: String,
    /// The zone it is in.
    availability_zone: Option<String>,
    /// Its size in GiB.
    size_gib: Option<i32>,
    /// Its EBS type (`gp2`, `gp3`, ...).
    volume_type: Option<String>,
    /// Whether it is encrypted.
    encrypted: bool,
    /// The KMS key of an encrypted volume.
    kms_key_id: Option<String>,
    /// `available` after a wait, else usually `creating`.
    state: Option<String>,
    /// The region it is in.
    region: String,
    /// True when an earlier try had created it.
    adopted: bool,
}

impl CreateVolume {
    fn poll(&self) -> Poll {
        waiting(self.poll, self.timeout, Duration::from_secs(30 * 60))
    }
}

/// A wait's polling: from `poll` (default 2 s), half as long again each
/// time, to 30 s at most, for `timeout` at most.
fn waiting(poll: Option<Span>, timeout: Option<Span>, default_timeout: Duration) -> Poll {
    let first = poll.map_or(Duration::from_secs(2), |span| span.0);
    Poll {
        first,
        growth: 1.5,
        cap: Duration::from_secs(30).max(first),
        deadline: timeout.map_or(default_timeout, |span| span.0),
    }
}

impl Run<Arc<Clients>> for CreateVolume {
    type Outputs = VolumeMade;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<VolumeMade> {
        let ec2 = clients.for_step(ctx).await?;
        let on = format!("snapshot {}", self.snapshot_id);
        let (volume, adopted) = match created_volume(&ec2, ctx, &on).await? {
            Some(found) => {
                idempotency::log_adopted_one(ctx, "volume", found.volume_id(), &ec2.region);
                (found, true)
            }
            None => (self.create(&ec2, ctx, &on).await?, false),
        };
        let volume = if self.wait {
            match available(&ec2, ctx, &volume, self.poll()).await {
                Ok(volume) => volume,
                Err(err @ ActionError::Fatal { .. }) => {
                    discard_failed(&ec2, ctx, volume.volume_id().unwrap_or_default()).await;
                    return Err(err);
                }
                Err(err) => return Err(err),
            }
        } else {
            volume
        };
        Ok(VolumeMade {
            volume_id: volume.volume_id().unwrap_or_default().to_owned(),
            snapshot_id: volume.snapshot_id().unwrap_or(&self.snapshot_id).to_owned(),
            availability_zone: volume.availability_zone().map(str::to_owned),
            size_gib: volume.size(),
            volume_type: volume.volume_type().map(|t| t.as_str().to_owned()),
            encrypted: volume.encrypted().unwrap_or(false),
            kms_key_id: volume.kms_key_id().map(str::to_owned),
            state: volume.state().map(|s| s.as_str().to_owned()),
            region: ec2.region.clone(),
            adopted,
        })
    }
}

impl CreateVolume {
    async fn create(
        &self,
        ec2: &Ec2,
        ctx: &ActionContext,
        on: &str,
    ) -> Result<Volume, ActionError> {
        let zone = match &self.availability_zone {
            Some(zone) => zone.clone(),
            None => first_zone(ec2).await?,
        };
        let created = ec2
            .client
            .create_volume()
            .snapshot_id(&self.snapshot_id)
            .availability_zone(&zone)
            .set_volume_type(self.volume_type.as_deref().map(VolumeType::from))
            .set_size(whole("size_gib", self.size_gib)?)
            .set_iops(whole("iops", self.iops)?)
            .set_encrypted(self.encrypted)
            .set_kms_key_id(self.kms_key_id.clone())
            .tag_specifications(idempotency::tagged_under(
                ctx,
                ResourceType::Volume,
                &self.tags.0,
                RESTORE_TAG,
            ))
            .client_token(client_token(ctx))
            .send()
            .await
            .map_err(|err| aws_error("CreateVolume", on, &err))?;
        // CreateVolume answers with the volume's fields; keep them in the
        // shape DescribeVolumes gives, which the wait reads.
        Ok(Volume::builder()
            .set_volume_id(created.volume_id().map(str::to_owned))
            .set_snapshot_id(created.snapshot_id().map(str::to_owned))
            .set_availability_zone(created.availability_zone().map(str::to_owned))
            .set_size(created.size())
            .set_volume_type(created.volume_type().cloned())
            .set_encrypted(created.encrypted())
            .set_kms_key_id(created.kms_key_id().map(str::to_owned))
            .set_state(created.state().cloned())
            .build())
    }
}

/// `CreateVolume`'s own idempotency token (at most 64 characters): the same
/// for every try of the step, so a try whose answer was lost and that
/// EC2's lists do not show yet does not make a second volume.
fn client_token(ctx: &ActionContext) -> String {
    // FNV-1a: stable across versions and platforms, unlike std's hasher.
    let hash = ctx
        .idempotency_key
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!("shutter-{}-{hash:016x}", ctx.execution)
}

/// A count EC2 takes as an `i32`.
fn whole(name: &str, value: Option<u32>) -> Result<Option<i32>, ActionError> {
    value
        .map(|n| {
            i32::try_from(n)
                .map_err(|_| ActionError::fatal(format!("parameter `{name}`: {n} is too large")))
        })
        .transpose()
}

/// The region's first zone that is `available`, by name.
async fn first_zone(ec2: &Ec2) -> Result<String, ActionError> {
    let answer = ec2
        .client
        .describe_availability_zones()
        .filters(filter("state", &["available"]))
        .send()
        .await
        .map_err(|err| aws_error("DescribeAvailabilityZones", &ec2.region, &err))?;
    let mut zones: Vec<&str> = answer
        .availability_zones()
        .iter()
        .filter_map(|zone| zone.zone_name())
        .collect();
    zones.sort_unstable();
    zones.first().map(|zone| (*zone).to_owned()).ok_or_else(|| {
        ActionError::fatal(format!(
            "no availability zone of {} is available: name one with `availability_zone`",
            ec2.region
        ))
    })
}

/// The volume an earlier try of this step created, if it is still usable
/// (one being deleted or in `error` is left alone).
async fn created_volume(
    ec2: &Ec2,
    ctx: &ActionContext,
    on: &str,
) -> Result<Option<Volume>, ActionError> {
    let usable = filter("status", &["creating", "available", "in-use"]);
    let answer = ec2
        .client
        .describe_volumes()
        .filters(idempotency::created_under(ctx, RESTORE_TAG))
        .filters(usable)
        .send()
        .await
        .map_err(|err| aws_error("DescribeVolumes", on, &err))?;
    Ok(answer.volumes().first().cloned())
}

/// Deletes volume `id` when EC2 put it in `error` (it never becomes
/// usable), so a failed restore leaves nothing behind; says what it did.
/// (moto never fails a volume, so this path is not exercised by the tests.)
async fn discard_failed(ec2: &Ec2, ctx: &ActionContext, id: &str) {
    let Ok(volume) = describe_volume(ec2, id).await else {
        return;
    };
    if volume.state() != Some(&VolumeState::Error) {
        return;
    }
    let deleted = ec2.client.delete_volume().volume_id(id).send().await;
    let line = match deleted {
        Ok(_) => format!("volume {id} is in state error: deleted"),
        Err(err) => format!(
            "volume {id} is in state error and could not be deleted: {}; delete it with aws.ec2.delete_volume",
            aws_error("DeleteVolume", id, &err).report()
        ),
    };
    ctx.log(LogLevel::Warn, line);
}

/// Polls the volume until it is `available` (or `in-use`: an adopted one
/// may already be attached); `error` is fatal.
async fn available(
    ec2: &Ec2,
    ctx: &ActionContext,
    volume: &Volume,
    poll: Poll,
) -> Result<Volume, ActionError> {
    let id = volume.volume_id().unwrap_or_default().to_owned();
    if matches!(
        volume.state(),
        Some(VolumeState::Available | VolumeState::InUse)
    ) {
        return Ok(volume.clone());
    }
    let what = format!("aws ec2 create_volume: waiting for {id} to be available");
    poll_until(&ctx.cancel, &what, poll, || async {
        let answer = ec2.client.describe_volumes().volume_ids(&id).send().await;
        let answer = match answer {
            Ok(answer) => answer,
            // Just created: EC2 may not list it for a moment.
            Err(err) if is_gone(&err) => {
                return Ok(Polled::Waiting(format!("{id} not listed yet")));
            }
            Err(err) => return Err(aws_error("DescribeVolumes", &id, &err)),
        };
        let Some(now) = answer.volumes().first() else {
            return Ok(Polled::Waiting(format!("{id} not listed yet")));
        };
        match now.state() {
            Some(VolumeState::Available | VolumeState::InUse) => Ok(Polled::Done(now.clone())),
            Some(VolumeState::Error) => Err(ActionError::fatal(format!(
                "aws ec2 create_volume: volume {id} is in state error"
            ))),
            Some(VolumeState::Deleting | VolumeState::Deleted) => Err(ActionError::fatal(format!(
                "aws ec2 create_volume: volume {id} is being deleted"
            ))),
            state => Ok(Polled::Waiting(format!(
                "{id} {}",
                state.map_or("unknown", |s| s.as_str())
            ))),
        }
    })
    .await
}

/// Attaches a volume to an instance (`AttachVolume`) and, unless `wait` is
/// false, waits until it is attached. A volume already attached to that
/// instance is adopted; one attached elsewhere is an error.
#[action_params("aws.ec2.attach_volume")]
#[derive(Debug, Deserialize)]
pub(super) struct AttachVolume {
    /// The volume, e.g. the `volume_id` of `aws.ec2.create_volume`.
    volume_id: String,
    /// The instance, in the volume's availability zone.
    instance_id: String,
    /// The device name the instance sees, e.g. `/dev/sdf`.
    device: String,
    /// Wait until the attachment is `attached`.
    #[param(default = true)]
    wait: bool,
    /// How long to wait in one try.
    #[param(default = "10m")]
    timeout: Option<Span>,
    /// The first pause between polls.
    #[param(default = "2s")]
    poll: Option<Span>,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Attached {
    /// The volume.
    volume_id: String,
    /// The instance it is attached to.
    instance_id: String,
    /// The device name the attachment has.
    device: String,
    /// `attached` after a wait, else usually `attaching`.
    state: String,
    /// The region.
    region: String,
    /// True when it was attached there already.
    adopted: bool,
}

impl Run<Arc<Clients>> for AttachVolume {
    type Outputs = Attached;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<Attached> {
        let ec2 = clients.for_step(ctx).await?;
        let volume_id = &self.volume_id;
        let on = format!("{volume_id} to {}", self.instance_id);
        let attachment = |volume: &Volume| {
            volume.attachments().first().map(|a| {
                (
                    a.instance_id().unwrap_or_default().to_owned(),
                    a.device().unwrap_or_default().to_owned(),
                    a.state().map_or("unknown", |s| s.as_str()).to_owned(),
                )
            })
        };
        let now = describe_volume(&ec2, volume_id).await?;
        let (device, state, adopted) = match attachment(&now) {
            Some((instance, device, state)) if instance == self.instance_id => {
                ctx.log(
                    LogLevel::Info,
                    format!("{volume_id} is attached to {instance} already, as {device}"),
                );
                (device, state, true)
            }
            Some((instance, _, _)) => {
                return Err(ActionError::fatal(format!(
                    "aws ec2 attach_volume: {volume_id} is attached to {instance}, not {}: detach it first",
                    self.instance_id
                )));
            }
            None => {
                let answer = ec2
                    .client
                    .attach_volume()
                    .volume_id(volume_id)
                    .instance_id(&self.instance_id)
                    .device(&self.device)
                    .send()
                    .await
                    .map_err(|err| aws_error("AttachVolume", &on, &err))?;
                let state = answer.state().map_or("attaching", |s| s.as_str());
                (self.device.clone(), state.to_owned(), false)
            }
        };
        let state = if self.wait && state != "attached" {
            let poll = waiting(self.poll, self.timeout, Duration::from_secs(600));
            let what = format!("aws ec2 attach_volume: waiting for {on}");
            poll_until(&ctx.cancel, &what, poll, || async {
                let volume = describe_volume(&ec2, volume_id).await?;
                Ok::<_, ActionError>(match attachment(&volume) {
                    Some((_, _, state)) if state == "attached" => Polled::Done(state),
                    Some((_, _, state)) => Polled::Waiting(format!("{volume_id} {state}")),
                    None => Polled::Waiting(format!("{volume_id} not attached yet")),
                })
            })
            .await?
        } else {
            state
        };
        Ok(Attached {
            volume_id: self.volume_id.clone(),
            instance_id: self.instance_id.clone(),
            device,
            state,
            region: ec2.region.clone(),
            adopted,
        })
    }
}

async fn describe_volume(ec2: &Ec2, id: &str) -> Result<Volume, ActionError> {
    let answer = ec2
        .client
        .describe_volumes()
        .volume_ids(id)
        .send()
        .await
        .map_err(|err| aws_error("DescribeVolumes", id, &err))?;
    answer
        .volumes()
        .first()
        .cloned()
        .ok_or_else(|| ActionError::fatal(format!("aws ec2: volume {id} not found")))
}

/// Deletes a volume (`DeleteVolume`), detaching it first when `detach` says
/// so. One already gone counts as deleted, so a cleanup that is retried
/// succeeds. By default only a volume Shutter made (it carries the
/// `shutter:restore-key` tag) is deleted, and with `made_by_key` only the
/// one that step made: a typo in a cleanup step cannot take a production
/// volume with it.
#[action_params("aws.ec2.delete_volume")]
#[derive(Debug, Deserialize)]
pub(super) struct DeleteVolume {
    /// The volume, e.g. the `volume_id` of `aws.ec2.create_volume`.
    volume_id: String,
    /// Refuse a volume without Shutter's `shutter:restore-key` tag.
    #[param(default = true)]
    only_made_by_shutter: bool,
    /// Refuse a volume whose `shutter:restore-key` is not this key (what
    /// `restore.delete` passes: the key of the step that made it), so a
    /// reference to another of Shutter's volumes deletes nothing.
    made_by_key: Option<String>,
    /// Detach it first if it is attached (else an attached volume is an
    /// error).
    #[param(default = false)]
    detach: bool,
    /// How long to wait for a detach.
    #[param(default = "10m")]
    timeout: Option<Span>,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct VolumeDeleted {
    /// False when it was already gone.
    deleted: bool,
    /// The volume.
    volume_id: String,
    /// The region.
    region: String,
}

impl Run<Arc<Clients>> for DeleteVolume {
    type Outputs = VolumeDeleted;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<VolumeDeleted> {
        let ec2 = clients.for_step(ctx).await?;
        let id = &self.volume_id;
        let gone = |ctx: &ActionContext| {
            log_already_gone(ctx, "volume", id, &ec2.region);
            Ok(VolumeDeleted {
                deleted: false,
                volume_id: id.clone(),
                region: ec2.region.clone(),
            })
        };
        let volume = match ec2.client.describe_volumes().volume_ids(id).send().await {
            Ok(answer) => match answer.volumes().first() {
                Some(volume) => volume.clone(),
                None => return gone(ctx),
            },
            Err(err) if is_gone(&err) => return gone(ctx),
            Err(err) => return Err(aws_error("DescribeVolumes", id, &err)),
        };
        if self.only_made_by_shutter
            && !volume
                .tags()
                .iter()
                .any(|tag| tag.key() == Some(RESTORE_TAG))
        {
            return Err(ActionError::fatal(format!(
                "aws ec2 delete_volume: {id} carries no {RESTORE_TAG} tag, so Shutter did not make it; set `only_made_by_shutter: false` to delete it anyway"
            )));
        }
        let key = volume
            .tags()
            .iter()
            .find(|tag| tag.key() == Some(RESTORE_TAG))
            .and_then(|tag| tag.value());
        if let Some(wanted) = &self.made_by_key
            && key != Some(wanted.as_str())
        {
            return Err(ActionError::fatal(format!(
                "aws ec2 delete_volume: {id} was not made by the step whose key is {wanted} (its {RESTORE_TAG} is {})",
                key.unwrap_or("absent")
            )));
        }
        if matches!(
            volume.state(),
            Some(VolumeState::Deleting | VolumeState::Deleted)
        ) {
            return gone(ctx);
        }
        if !volume.attachments().is_empty() {
            if !self.detach {
                return Err(ActionError::fatal(format!(
                    "aws ec2 delete_volume: {id} is attached to {}: set `detach: true` to detach it first",
                    volume.attachments()[0]
                        .instance_id()
                        .unwrap_or("an instance")
                )));
            }
            let attachment = &volume.attachments()[0];
            self.detach(&ec2, ctx, attachment.instance_id(), attachment.device())
                .await?;
        }
        match ec2.client.delete_volume().volume_id(id).send().await {
            Ok(_) => Ok(VolumeDeleted {
                deleted: true,
                volume_id: id.clone(),
                region: ec2.region.clone(),
            }),
            Err(err) if is_gone(&err) => gone(ctx),
            Err(err) => Err(aws_error("DeleteVolume", id, &err)),
        }
    }
}

impl DeleteVolume {
    /// Detaches the volume from `instance` (named, as moto needs; AWS
    /// would find it alone) and waits until it is.
    async fn detach(
        &self,
        ec2: &Ec2,
        ctx: &ActionContext,
        instance: Option<&str>,
        device: Option<&str>,
    ) -> Result<(), ActionError> {
        let id = &self.volume_id;
        ec2.client
            .detach_volume()
            .volume_id(id)
            .set_instance_id(instance.map(str::to_owned))
            .set_device(device.map(str::to_owned))
            .send()
            .await
            .map_err(|err| aws_error("DetachVolume", id, &err))?;
        let poll = waiting(None, self.timeout, Duration::from_secs(600));
        let what = format!("aws ec2 delete_volume: waiting for {id} to be detached");
        poll_until(&ctx.cancel, &what, poll, || async {
            let volume = describe_volume(ec2, id).await?;
            Ok::<_, ActionError>(if volume.attachments().is_empty() {
                Polled::Done(())
            } else {
                Polled::Waiting(format!("{id} still attached"))
            })
        })
        .await
    }
}
