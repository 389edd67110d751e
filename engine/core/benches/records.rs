//! What serializing a step's record costs: the JSON the SQLite writer makes
//! for every step row it writes (issue 19). A step that succeeded on its
//! first try, as a fan's branch leaves it. Run with
//! `cargo bench -p shutter-core --bench records`; prints the median of 21
//! rounds of 100,000 records, in nanoseconds a record.

use std::time::Instant;

use chrono::Utc;
use serde_json::json;
use shutter_core::StepKey;
use shutter_core::record::{Change, StepRecord};

fn main() {
    let key = StepKey::step("b1234");
    let mut record = StepRecord::new(key.clone());
    let at = Utc::now();
    record.apply(
        1,
        &Change::AttemptStarted {
            key: key.clone(),
            attempt: 1,
            at,
        },
    );
    record.apply(
        2,
        &Change::StepSucceeded {
            key,
            attempt: 1,
            outputs: json!({}),
            at,
        },
    );
    let text = serde_json::to_string(&record).expect("serializes");
    const RECORDS: u32 = 100_000;
    let mut rounds: Vec<f64> = (0..21)
        .map(|_| {
            let start = Instant::now();
            let mut bytes = 0;
            for _ in 0..RECORDS {
                bytes += serde_json::to_string(std::hint::black_box(&record))
                    .expect("serializes")
                    .len();
            }
            std::hint::black_box(bytes);
            start.elapsed().as_nanos() as f64 / f64::from(RECORDS)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    println!(
        "step record to JSON ({} bytes): {:.0} ns (median of 21)",
        text.len(),
        rounds[10]
    );
    println!("{text}");
}
