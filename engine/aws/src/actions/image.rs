//! `aws.ec2.create_image` (an AMI of an instance) and
//! `aws.ec2.deregister_image` (its undo, optionally with its snapshots).

use std::sync::Arc;

use aws_sdk_ec2::types::ResourceType;
use serde::{Deserialize, Serialize};
use shutter_core::action::{Outcome, Run};
use shutter_core::{ActionContext, BackupState, LogLevel};
use shutter_core::{action_outputs, action_params};

use super::delete::delete_one;
use super::{answered_id, filter, log_already_gone};
use crate::catalog;
use crate::failure::{aws_error, is_gone};
use crate::settings::Clients;
use crate::{idempotency, params};

/// Creates an AMI of an instance, with a snapshot of each of its EBS volumes
/// (CreateImage). Tagged with the step's idempotency key; a re-run adopts it.
/// Undo with `aws.ec2.deregister_image` and `delete_snapshots: true`.
#[action_params("aws.ec2.create_image")]
#[derive(Debug, Deserialize)]
pub(super) struct CreateImage {
    /// The instance, e.g. `i-0abc...`.
    instance_id: String,
    /// The AMI's name, unique in the region for the account.
    name: String,
    /// The AMI's description.
    description: Option<String>,
    /// Keep the instance running (crash-consistent image). By default EC2
    /// shuts it down and restarts it, so file systems are consistent.
    #[param(default = false)]
    no_reboot: bool,
    /// Tags for the AMI: a map of key to value.
    #[serde(default)]
    tags: params::Tags,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Image {
    /// The new (or adopted) AMI.
    image_id: String,
    /// Its name.
    name: String,
    /// `pending` until its snapshots complete, then `available`; null when
    /// EC2 does not say yet.
    state: Option<String>,
    /// The region it is in.
    region: String,
    /// True when an earlier try had created it.
    adopted: bool,
}

impl Run<Arc<Clients>> for CreateImage {
    type Outputs = Image;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<Image> {
        let CreateImage {
            instance_id,
            name,
            description,
            no_reboot,
            tags: params::Tags(tags),
        } = self;
        let (instance_id, name) = (instance_id.as_str(), name.as_str());
        let ec2 = clients.for_step(ctx).await?;
        let usable = filter("state", &["pending", "available"]);
        let earlier = ec2
            .client
            .describe_images()
            .owners("self")
            .filters(idempotency::created_by(ctx))
            .filters(usable)
            .send()
            .await
            .map_err(|err| aws_error("DescribeImages", instance_id, &err))?;
        if let Some(found) = earlier.images().first() {
            let id = idempotency::log_adopted_one(ctx, "image", found.image_id(), &ec2.region);
            catalog::record_image(ctx, &ec2.region, found, instance_id);
            return Ok(Image {
                image_id: id,
                name: found.name().unwrap_or(name).to_owned(),
                state: found.state().map(|s| s.as_str().to_owned()),
                region: ec2.region.clone(),
                adopted: true,
            });
        }
        // Only the image is tagged: the key on its snapshots would add
        // nothing (the image is what is adopted), and moto refuses it.
        let created = ec2
            .client
            .create_image()
            .instance_id(instance_id)
            .name(name)
            .set_description(description)
            .no_reboot(no_reboot)
            .tag_specifications(idempotency::tagged(ctx, ResourceType::Image, &tags))
            .send()
            .await
            .map_err(|err| aws_error("CreateImage", instance_id, &err))?;
        let image_id = answered_id(created.image_id(), "CreateImage", instance_id, "image")?;
        // CreateImage answers with the id alone; the state (and the owner,
        // date and sizes for the catalog) are one Describe away.
        let answer = ec2
            .client
            .describe_images()
            .image_ids(image_id)
            .send()
            .await
            .ok();
        let image = answer.as_ref().and_then(|a| a.images().first());
        let state = image.and_then(|i| i.state().map(|s| s.as_str().to_owned()));
        match image {
            Some(image) => catalog::record_image(ctx, &ec2.region, image, instance_id),
            None => ctx.log(
                LogLevel::Warn,
                format!("image {image_id} is not in the backup catalog yet: EC2 does not describe it yet"),
            ),
        }
        Ok(Image {
            image_id: image_id.to_owned(),
            name: name.to_owned(),
            state,
            region: ec2.region.clone(),
            adopted: false,
        })
    }
}

/// Deregisters an AMI (DeregisterImage) and, with `delete_snapshots`, deletes
/// the snapshots behind it. An AMI already gone counts as done unless
/// `missing_ok` is false, so it is safe as a compensation.
#[action_params("aws.ec2.deregister_image")]
#[derive(Debug, Deserialize)]
pub(super) struct DeregisterImage {
    /// The AMI, e.g. `ami-0abc...`.
    image_id: String,
    /// Also delete the EBS snapshots of its block device mappings.
    #[param(default = false)]
    delete_snapshots: bool,
    /// Whether an AMI that does not exist is fine.
    #[param(default = true)]
    missing_ok: bool,
}

#[action_outputs]
#[derive(Debug, Serialize)]
pub(super) struct Deregistered {
    /// The AMI.
    image_id: String,
    /// False when it was already gone.
    deregistered: bool,
    /// The snapshots deleted with it.
    deleted_snapshot_ids: Vec<String>,
    /// The region.
    region: String,
}

impl Run<Arc<Clients>> for DeregisterImage {
    type Outputs = Deregistered;

    async fn run(self, ctx: &ActionContext, clients: &Arc<Clients>) -> Outcome<Deregistered> {
        let DeregisterImage {
            image_id,
            delete_snapshots,
            missing_ok,
        } = self;
        let image_id = image_id.as_str();
        let ec2 = clients.for_step(ctx).await?;
        // The snapshots and the owner (to mark the image in the backup
        // catalog) are known only while the image exists: read them first.
        let images = match ec2
            .client
            .describe_images()
            .image_ids(image_id)
            .send()
            .await
        {
            Ok(answer) => answer.images().to_vec(),
            Err(err) if missing_ok && is_gone(&err) => Vec::new(),
            Err(err) => return Err(aws_error("DescribeImages", image_id, &err)),
        };
        let owner = images.iter().find_map(|i| i.owner_id().map(str::to_owned));
        let snapshots: Vec<String> = if delete_snapshots {
            images
                .iter()
                .flat_map(|image| image.block_device_mappings())
                .filter_map(|mapping| mapping.ebs()?.snapshot_id().map(str::to_owned))
                .collect()
        } else {
            Vec::new()
        };
        let deregistered = match ec2
            .client
            .deregister_image()
            .image_id(image_id)
            .send()
            .await
        {
            Ok(_) => true,
            Err(err) if missing_ok && is_gone(&err) => {
                log_already_gone(ctx, "image", image_id, &ec2.region);
                false
            }
            Err(err) => return Err(aws_error("DeregisterImage", image_id, &err)),
        };
        let mark = |id: &str| {
            if let Some(owner) = &owner {
                let entry = catalog::reference(owner, &ec2.region, id);
                ctx.mark_backup(entry, BackupState::Deleted);
            }
        };
        mark(image_id);
        let mut deleted = Vec::new();
        for id in snapshots {
            let now_deleted = delete_one(&ec2, ctx, &id, true).await?;
            // Gone either way once the delete answered.
            mark(&id);
            if now_deleted {
                deleted.push(id);
            }
        }
        Ok(Deregistered {
            image_id: image_id.to_owned(),
            deregistered,
            deleted_snapshot_ids: deleted,
            region: ec2.region.clone(),
        })
    }
}
