//! Figures for the backup catalog: `GET /backups?source=` with 1,000,000
//! entries (10 backups each of 100,000 volumes), the page a dashboard asks
//! for one source. Run with `cargo run --release -p shutter-server-bench --
//! catalog`; `SHUTTER_BENCH_BACKUPS` sets the number of entries.

use std::time::Instant;

use shutter_core::record::Change;
use shutter_core::{
    BackupKind, BackupQuery, BackupSource, Holder, Location, NewBackup, Owner, StepKey, Store,
};

/// Backups of one volume.
const PER_SOURCE: usize = 10;
/// Entries written per append.
const BATCH: usize = 1_000;

/// The volume the `n`th entry is a backup of.
pub(crate) fn volume(n: usize) -> String {
    format!("vol-{:08x}", n / PER_SOURCE)
}

/// Fills the catalog up to `entries` (EBS snapshots of `volume(n)` in two
/// regions), as one execution's steps would report them.
pub(crate) async fn generate(store: &dyn Store, entries: usize) {
    let have = store
        .backups(&BackupQuery {
            limit: entries + 1,
            ..BackupQuery::default()
        })
        .await
        .unwrap()
        .len();
    if have >= entries {
        return;
    }
    let started = Instant::now();
    let new = crate::bench_execution(
        "catalog-bench".to_owned(),
        serde_json::json!({}),
        &["snapshot"],
    );
    let claim = shutter_core::Claim::created(new.id);
    let holder = Holder::new(Owner::this_process(), std::time::Duration::from_secs(3600));
    store.create(new, &holder).await.unwrap();
    let key = StepKey::step("snapshot");
    for start in (have..entries).step_by(BATCH) {
        let changes = (start..(start + BATCH).min(entries))
            .map(|n| {
                let region = if n % 2 == 0 { "us-east-1" } else { "us-west-2" };
                let mut artifact = NewBackup::new(
                    BackupKind::EbsSnapshot,
                    Location::Aws {
                        account: "123456789012".to_owned(),
                        region: region.to_owned(),
                    },
                    format!("snap-{n:017x}"),
                );
                artifact.source = Some(BackupSource {
                    kind: "volume".to_owned(),
                    id: volume(n),
                    uuid: None,
                    location: None,
                });
                artifact.size_bytes = Some(8 << 30);
                artifact.created_at = Some(chrono::Utc::now());
                Change::BackupRecorded {
                    key: key.clone(),
                    backup: Box::new(artifact),
                    at: chrono::Utc::now(),
                }
            })
            .collect();
        store.append(claim, changes).await.unwrap();
    }
    eprintln!(
        "generated {} catalog entries in {:.1}s",
        entries - have,
        started.elapsed().as_secs_f64()
    );
}
