//! Adopt, don't duplicate. What an action creates carries the tag
//! [`IDEMPOTENCY_TAG`] = the step's idempotency key
//! (`shutter:<execution>:<step>[item]`, the same on every try and after a
//! restart). Before creating, the action asks EC2 for resources carrying
//! that key and adopts what it finds: a step that crashed after
//! `CreateSnapshot` but before its result was recorded does not create a
//! second snapshot when it runs again.
//!
//! The tag is set in the create call itself (`TagSpecifications`), so a
//! resource never exists untagged. Describe calls are eventually
//! consistent: a re-run within a second or two of the crash could miss a
//! fresh resource; steps are resumed later than that.

use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use shutter_core::{ActionContext, LogLevel};

/// The tag key that carries the idempotency key of the step that created a resource.
pub const IDEMPOTENCY_TAG: &str = "shutter:idempotency-key";

/// The same for a restored volume: another name, because a backup is what
/// carries [`IDEMPOTENCY_TAG`] (a reconcile catalogs it), and tooling that
/// copies a volume's tags to its snapshots (DLM, AWS Backup) must not make
/// a snapshot of a restored volume look like one of Shutter's backups.
pub const RESTORE_TAG: &str = "shutter:restore-key";

/// Selects what this step created on an earlier try.
pub(crate) fn created_by(ctx: &ActionContext) -> Filter {
    created_under(ctx, IDEMPOTENCY_TAG)
}

/// Selects what this step created on an earlier try, marked with `tag`.
pub(crate) fn created_under(ctx: &ActionContext, tag: &str) -> Filter {
    Filter::builder()
        .name(format!("tag:{tag}"))
        .values(&ctx.idempotency_key)
        .build()
}

/// The user's tags plus the key tag, for the create call's `TagSpecifications`.
pub(crate) fn tagged(
    ctx: &ActionContext,
    resource: ResourceType,
    tags: &[Tag],
) -> TagSpecification {
    tagged_under(ctx, resource, tags, IDEMPOTENCY_TAG)
}

/// The user's tags plus the key under `tag`.
pub(crate) fn tagged_under(
    ctx: &ActionContext,
    resource: ResourceType,
    tags: &[Tag],
    tag: &str,
) -> TagSpecification {
    let key = Tag::builder().key(tag).value(&ctx.idempotency_key).build();
    TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(
            tags.iter()
                .filter(|t| t.key() != Some(tag))
                .cloned()
                .chain([key])
                .collect(),
        ))
        .build()
}

/// Says in the execution's log that `ids` were adopted rather than created.
pub(crate) fn log_adopted(ctx: &ActionContext, what: &str, ids: &[String], region: &str) {
    ctx.log(
        LogLevel::Info,
        format!(
            "adopted {what} {} in {region}: tagged {IDEMPOTENCY_TAG}={} by an earlier try of this step, so none was created",
            ids.join(", "),
            ctx.idempotency_key
        ),
    );
}

/// [`log_adopted`] for one resource: `id`, as EC2 gave it (empty when it
/// gave none), owned for the outputs.
pub(crate) fn log_adopted_one(
    ctx: &ActionContext,
    what: &str,
    id: Option<&str>,
    region: &str,
) -> String {
    let id = id.unwrap_or_default().to_owned();
    log_adopted(ctx, what, std::slice::from_ref(&id), region);
    id
}
