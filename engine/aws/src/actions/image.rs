//! `aws.ec2.create_image` (an AMI of an instance) and
//! `aws.ec2.deregister_image` (its undo, optionally with its snapshots).

use std::sync::Arc;

use aws_sdk_ec2::types::{Filter, ResourceType};
use serde::Deserialize;
use serde_json::{Value as Json, json};
use shutter_core::action::typed;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, LogLevel, ParamType};

use super::delete::delete_one;
use super::located;
use crate::failure::{aws_error, is_gone};
use crate::settings::Clients;
use crate::{idempotency, params};

pub(super) fn create_image(clients: &Arc<Clients>) -> (ActionSpec, Arc<dyn Action>) {
    let spec = ActionSpec::new(
        "aws.ec2.create_image",
        "Creates an AMI of an instance, with a snapshot of each of its EBS volumes (CreateImage). Tagged with the step's idempotency key; a re-run adopts it. Undo with `aws.ec2.deregister_image` and `delete_snapshots: true`.",
    )
    .param("instance_id", ParamType::String, "The instance, e.g. `i-0abc...`.")
    .param("name", ParamType::String, "The AMI's name, unique in the region for the account.")
    .optional("description", ParamType::String, None, "The AMI's description.")
    .optional("no_reboot", ParamType::Boolean, Some(json!(false)), "Keep the instance running (crash-consistent image). By default EC2 shuts it down and restarts it, so file systems are consistent.")
    .optional("tags", ParamType::Object, None, "Tags for the AMI: a map of key to value.");
    let spec = located(spec)
        .output("image_id", ParamType::String, "The new (or adopted) AMI.")
        .output("name", ParamType::String, "Its name.")
        .output("state", ParamType::String, "`pending` until its snapshots complete, then `available`; null when EC2 does not say yet.")
        .output("region", ParamType::String, "The region it is in.")
        .output("adopted", ParamType::Boolean, "True when an earlier try had created it.");
    typed(spec, clients.clone(), |clients, ctx, params| {
        Box::pin(run_create_image(clients, ctx, params))
    })
}

#[derive(Debug, Deserialize)]
struct ImageParams {
    #[serde(deserialize_with = "shutter_core::params::required")]
    instance_id: String,
    #[serde(deserialize_with = "shutter_core::params::required")]
    name: String,
    #[serde(default, deserialize_with = "shutter_core::params::optional")]
    description: Option<String>,
    #[serde(default)]
    no_reboot: bool,
    #[serde(default)]
    tags: params::Tags,
}

async fn run_create_image(
    clients: &Arc<Clients>,
    ctx: &ActionContext,
    params: ImageParams,
) -> Result<Json, ActionError> {
    let ImageParams {
        instance_id,
        name,
        description,
        no_reboot,
        tags: params::Tags(tags),
    } = params;
    let (instance_id, name) = (instance_id.as_str(), name.as_str());
    let ec2 = clients.for_step(ctx).await?;
    let usable = Filter::builder()
        .name("state")
        .values("pending")
        .values("available")
        .build();
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
        let id = found.image_id().unwrap_or_default().to_owned();
        idempotency::log_adopted(ctx, "image", std::slice::from_ref(&id), &ec2.region);
        return Ok(json!({
            "image_id": id,
            "name": found.name().unwrap_or(name),
            "state": found.state().map(|s| s.as_str()),
            "region": ec2.region,
            "adopted": true,
        }));
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
    let image_id = created.image_id().ok_or_else(|| {
        ActionError::retryable(format!(
            "aws ec2 CreateImage on {instance_id}: no image id in the answer"
        ))
    })?;
    let state = ec2
        .client
        .describe_images()
        .image_ids(image_id)
        .send()
        .await
        .ok()
        .and_then(|answer| {
            answer
                .images()
                .first()?
                .state()
                .map(|s| s.as_str().to_owned())
        });
    Ok(json!({
        "image_id": image_id,
        "name": name,
        "state": state,
        "region": ec2.region,
        "adopted": false,
    }))
}

pub(super) fn deregister_image(clients: &Arc<Clients>) -> (ActionSpec, Arc<dyn Action>) {
    let spec = ActionSpec::new(
        "aws.ec2.deregister_image",
        "Deregisters an AMI (DeregisterImage) and, with `delete_snapshots`, deletes the snapshots behind it. An AMI already gone counts as done unless `missing_ok` is false, so it is safe as a compensation.",
    )
    .param("image_id", ParamType::String, "The AMI, e.g. `ami-0abc...`.")
    .optional("delete_snapshots", ParamType::Boolean, Some(json!(false)), "Also delete the EBS snapshots of its block device mappings.")
    .optional("missing_ok", ParamType::Boolean, Some(json!(true)), "Whether an AMI that does not exist is fine.");
    let spec = located(spec)
        .output("image_id", ParamType::String, "The AMI.")
        .output(
            "deregistered",
            ParamType::Boolean,
            "False when it was already gone.",
        )
        .output(
            "deleted_snapshot_ids",
            ParamType::Array,
            "The snapshots deleted with it.",
        )
        .output("region", ParamType::String, "The region.");
    typed(spec, clients.clone(), |clients, ctx, params| {
        Box::pin(run_deregister_image(clients, ctx, params))
    })
}

#[derive(Debug, Deserialize)]
struct DeregisterParams {
    #[serde(deserialize_with = "shutter_core::params::required")]
    image_id: String,
    #[serde(default)]
    delete_snapshots: bool,
    #[serde(default = "yes")]
    missing_ok: bool,
}

fn yes() -> bool {
    true
}

async fn run_deregister_image(
    clients: &Arc<Clients>,
    ctx: &ActionContext,
    params: DeregisterParams,
) -> Result<Json, ActionError> {
    let DeregisterParams {
        image_id,
        delete_snapshots,
        missing_ok,
    } = params;
    let image_id = image_id.as_str();
    let ec2 = clients.for_step(ctx).await?;
    // The snapshots are known only while the image exists: read them first.
    let snapshots = if delete_snapshots {
        match ec2
            .client
            .describe_images()
            .image_ids(image_id)
            .send()
            .await
        {
            Ok(answer) => answer
                .images()
                .iter()
                .flat_map(|image| image.block_device_mappings())
                .filter_map(|mapping| mapping.ebs()?.snapshot_id().map(str::to_owned))
                .collect(),
            Err(err) if missing_ok && is_gone(&err) => Vec::new(),
            Err(err) => return Err(aws_error("DescribeImages", image_id, &err)),
        }
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
            ctx.log(
                LogLevel::Info,
                format!("image {image_id} in {} was already gone", ec2.region),
            );
            false
        }
        Err(err) => return Err(aws_error("DeregisterImage", image_id, &err)),
    };
    let mut deleted = Vec::new();
    for id in snapshots {
        if delete_one(&ec2, ctx, &id, true).await? {
            deleted.push(id);
        }
    }
    Ok(json!({
        "image_id": image_id,
        "deregistered": deregistered,
        "deleted_snapshot_ids": deleted,
        "region": ec2.region,
    }))
}
