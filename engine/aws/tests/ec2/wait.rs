//! Waiting: moto completes snapshots at once, so a proxy makes its first
//! answers say `pending` at 40% (or `error`).

use std::sync::atomic::Ordering;

use serde_json::json;
use shutter_core::ActionError;

use crate::proxy::Proxy;
use crate::support::{Step, fatal, snapshot};

/// Where these tests run.
const REGION: &str = "us-east-2";

/// A new snapshot in [`REGION`], and a proxy to moto whose first `answers`
/// `DescribeSnapshots` answers say `status` at 40%.
async fn behind_proxy(answers: usize, status: &'static str) -> (String, Proxy) {
    (
        snapshot(REGION).await,
        Proxy::pending(answers, status).await,
    )
}

#[tokio::test]
async fn waits_while_pending_and_reports_awss_progress() {
    let (id, proxy) = behind_proxy(3, "pending").await;
    let step = Step::new(&proxy.url);
    let out = step
        .ok(
            "aws.ec2.wait_snapshot",
            json!({"ids": [id], "region": REGION, "poll": "20ms"}),
        )
        .await;
    assert_eq!(out["snapshots"][0]["state"], "completed");
    assert_eq!(out["snapshots"][0]["progress"], 100);
    assert_eq!(out["snapshot_ids"], json!([id]));
    assert_eq!(
        proxy.describes.load(Ordering::SeqCst),
        4,
        "three pending answers, then completed"
    );
    assert_eq!(step.recorder.progress(), vec![40, 40, 40]);
}

#[tokio::test]
async fn a_snapshot_in_the_error_state_is_fatal() {
    let (id, proxy) = behind_proxy(1, "error").await;
    let message = fatal(
        Step::new(&proxy.url)
            .run(
                "aws.ec2.wait_snapshot",
                json!({"ids": [id], "region": REGION, "poll": "20ms"}),
            )
            .await,
    );
    assert!(
        message.starts_with(&format!("aws ec2 wait_snapshot: {id} is in state error")),
        "{message}"
    );
}

#[tokio::test]
async fn running_out_of_time_is_a_clear_retryable_failure() {
    let (id, proxy) = behind_proxy(usize::MAX, "pending").await;
    let result = Step::new(&proxy.url)
        .run(
            "aws.ec2.wait_snapshot",
            json!({"ids": id, "region": REGION, "poll": "50ms", "timeout": "300ms"}),
        )
        .await;
    let Err(ActionError::Retryable { message, .. }) = result else {
        panic!("expected a retryable timeout, got {result:?}");
    };
    assert_eq!(
        message,
        format!(
            "aws ec2 wait_snapshot for completed: still not done after 300ms: {id} pending 40%"
        )
    );
    assert!(
        proxy.describes.load(Ordering::SeqCst) >= 2,
        "it polled more than once"
    );
}

#[tokio::test]
async fn cancel_ends_the_wait() {
    let (id, proxy) = behind_proxy(usize::MAX, "pending").await;
    let step = Step::new(&proxy.url);
    let ctx = step.context(json!({"ids": [id], "region": REGION, "poll": "1h"}));
    let cancel = ctx.cancel.clone();
    let actions = crate::support::actions(&proxy.url);
    let waiting = actions["aws.ec2.wait_snapshot"].run(&ctx);
    let canceling = async {
        // Cancel once the first poll has been answered: the wait is asleep.
        while proxy.describes.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        cancel.cancel();
    };
    let (result, ()) = tokio::join!(waiting, canceling);
    assert_eq!(result, Err(ActionError::Canceled));
}
