//! What the EC2 actions put in the backup catalog: a snapshot, where it is
//! (its owner account and region) and of what (its volume). EC2 names the
//! owner in every snapshot it describes or creates, so no extra call (and
//! no extra IAM permission) is needed to place one.

use aws_sdk_ec2::primitives::DateTime;
use aws_sdk_ec2::types::{Image, Snapshot, Tag};
use shutter_core::record::Timestamp;
use shutter_core::{
    ActionContext, BackupKind, BackupRef, BackupSource, Location, LogLevel, NewBackup,
};

use crate::idempotency::IDEMPOTENCY_TAG;

/// What EC2 said of a snapshot, whichever call said it (CreateSnapshot,
/// CreateSnapshots and DescribeSnapshots answer with three types).
#[derive(Debug, Default)]
pub(crate) struct SnapshotFacts<'a> {
    pub(crate) id: Option<&'a str>,
    pub(crate) owner: Option<&'a str>,
    pub(crate) volume: Option<&'a str>,
    pub(crate) size_gib: Option<i32>,
    pub(crate) started: Option<&'a DateTime>,
    pub(crate) tags: &'a [Tag],
}

/// The facts of a snapshot DescribeSnapshots gave.
pub(crate) fn described(snapshot: &Snapshot) -> SnapshotFacts<'_> {
    SnapshotFacts {
        id: snapshot.snapshot_id(),
        owner: snapshot.owner_id(),
        volume: snapshot.volume_id(),
        size_gib: snapshot.volume_size(),
        started: snapshot.start_time(),
        tags: snapshot.tags(),
    }
}

/// The `VolumeId` EC2 gives a snapshot copy.
pub(crate) const PLACEHOLDER_VOLUME: &str = "vol-ffffffff";

pub(crate) fn location(account: &str, region: &str) -> Location {
    Location::Aws {
        account: account.to_owned(),
        region: region.to_owned(),
    }
}

/// A snapshot or an image by owner, region and id, to mark it or name it as
/// a copy's original.
pub(crate) fn reference(account: &str, region: &str, id: &str) -> BackupRef {
    BackupRef {
        location: location(account, region).key(),
        native_id: id.to_owned(),
    }
}

/// Where a copy was copied from: the original's region, id and volume
/// (a copy's own `VolumeId` is EC2's placeholder, `vol-ffffffff`).
#[derive(Debug)]
pub(crate) struct Original<'a> {
    pub(crate) region: &'a str,
    pub(crate) snapshot: &'a str,
    pub(crate) volume: Option<String>,
}

/// Puts the snapshot in the catalog (a copy linked to its `original`, and
/// of the original's volume); says in the log why not when EC2 left out
/// its id or owner.
pub(crate) fn record_snapshot(
    ctx: &ActionContext,
    region: &str,
    facts: &SnapshotFacts<'_>,
    original: Option<Original<'_>>,
) {
    match snapshot(region, facts, original) {
        Some(entry) => ctx.record_backup(entry),
        None => unplaced(ctx, "snapshot", facts.id),
    }
}

/// The catalog entry of a snapshot; `None` without its id and owner.
pub(crate) fn snapshot(
    region: &str,
    facts: &SnapshotFacts<'_>,
    original: Option<Original<'_>>,
) -> Option<NewBackup> {
    let (id, owner) = (facts.id?, facts.owner?);
    let mut entry = NewBackup::new(BackupKind::EbsSnapshot, location(owner, region), id);
    let volume = |id: &str, location| BackupSource {
        kind: "volume".to_owned(),
        id: id.to_owned(),
        uuid: None,
        location,
    };
    match original {
        Some(original) => {
            entry.derived_from = Some(reference(owner, original.region, original.snapshot));
            entry.source = original
                .volume
                .map(|id| volume(&id, Some(self::location(owner, original.region))));
        }
        // A copy's own `VolumeId` is EC2's placeholder, not its source.
        None => {
            entry.source = facts
                .volume
                .filter(|id| *id != PLACEHOLDER_VOLUME)
                .map(|id| volume(id, None));
        }
    }
    entry.created_at = facts.started.and_then(timestamp);
    entry.size_bytes = facts
        .size_gib
        .and_then(|gib| u64::try_from(gib).ok())
        .map(|gib| gib << 30);
    entry.tags = user_tags(facts.tags);
    Some(entry)
}

fn unplaced(ctx: &ActionContext, what: &str, id: Option<&str>) {
    ctx.log(
        LogLevel::Warn,
        format!(
            "{what} {} is not in the backup catalog: EC2 did not say its id and owner",
            id.unwrap_or("(no id)")
        ),
    );
}

/// The idempotency key an artifact carries, if any.
pub(crate) fn key_tag(tags: &[Tag]) -> Option<&str> {
    tags.iter()
        .find(|tag| tag.key() == Some(IDEMPOTENCY_TAG))
        .and_then(Tag::value)
}

/// Puts an AMI of `instance` in the catalog, as `DescribeImages` gave it.
pub(crate) fn record_image(ctx: &ActionContext, region: &str, image: &Image, instance: &str) {
    match self::image(region, image, Some(instance)) {
        Some(entry) => ctx.record_backup(entry),
        None => unplaced(ctx, "image", image.image_id()),
    }
}

/// The catalog entry of an AMI (of `instance`, else of the instance EC2
/// names as its source); `None` without its id and owner.
pub(crate) fn image(region: &str, image: &Image, instance: Option<&str>) -> Option<NewBackup> {
    let (id, owner) = (image.image_id()?, image.owner_id()?);
    let mut entry = NewBackup::new(BackupKind::Ami, location(owner, region), id);
    entry.source = instance
        .or(image.source_instance_id())
        .map(|instance| BackupSource {
            kind: "instance".to_owned(),
            id: instance.to_owned(),
            uuid: None,
            location: None,
        });
    entry.created_at = image.creation_date().and_then(parse_time);
    let sizes: Vec<u64> = image
        .block_device_mappings()
        .iter()
        .filter_map(|m| u64::try_from(m.ebs()?.volume_size()?).ok())
        .collect();
    entry.size_bytes = (!sizes.is_empty()).then(|| sizes.iter().sum::<u64>() << 30);
    entry.tags = user_tags(image.tags());
    Some(entry)
}

/// The tags a user gave: Shutter's own idempotency tag left out.
fn user_tags(tags: &[Tag]) -> std::collections::BTreeMap<String, String> {
    tags.iter()
        .filter(|tag| tag.key() != Some(IDEMPOTENCY_TAG))
        .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
        .collect()
}

/// EC2's `creationDate` (`2026-11-30T10:00:00.000Z`).
fn parse_time(text: &str) -> Option<Timestamp> {
    DateTime::from_str(text, aws_sdk_ec2::primitives::DateTimeFormat::DateTime)
        .ok()
        .as_ref()
        .and_then(timestamp)
}

fn timestamp(at: &DateTime) -> Option<Timestamp> {
    Timestamp::from_timestamp(at.secs(), at.subsec_nanos())
}
