//! How failures are classified: what AWS refuses is fatal with its code and
//! message; throttling, 5xx and unreachable endpoints are retryable.

use serde_json::json;
use shutter_core::ActionError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{Step, fatal, run_fatal};

#[tokio::test]
async fn a_volume_that_does_not_exist_is_fatal_with_awss_code_and_message() {
    let message = run_fatal(
        "aws.ec2.create_snapshot",
        json!({"volume_id": "vol-bad", "region": "us-west-1"}),
    )
    .await;
    assert_eq!(
        message,
        "aws ec2 CreateSnapshot on vol-bad: InvalidVolume.NotFound: The volume 'vol-bad' does not exist."
    );
}

#[tokio::test]
async fn waiting_for_a_snapshot_that_does_not_exist_is_fatal() {
    let message = run_fatal(
        "aws.ec2.wait_snapshot",
        json!({"ids": ["snap-00000000000000000"], "region": "us-west-1"}),
    )
    .await;
    assert!(
        message.starts_with(
            "aws ec2 DescribeSnapshots on snap-00000000000000000: InvalidSnapshot.NotFound"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn bad_parameters_are_fatal_before_any_request() {
    let message = run_fatal(
        "aws.ec2.create_snapshot",
        json!({"volume_id": 7, "region": "us-west-1"}),
    )
    .await;
    assert_eq!(
        message,
        "parameter `volume_id`: invalid type: integer `7`, expected a string"
    );
    let message = run_fatal("aws.ec2.delete_snapshot", json!({"region": "us-west-1"})).await;
    assert!(message.contains("nothing to delete"), "{message}");
    let message = run_fatal(
        "aws.ec2.create_tags",
        json!({"resource_ids": ["snap-1"], "tags": {"shutter:idempotency-key": "x"}, "region": "us-west-1"}),
    )
    .await;
    assert!(message.contains("Shutter's own"), "{message}");
}

/// Answers every request with `status` and an EC2 error document.
async fn failing(status: u16, code: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = vec![0; 65536];
                let _ = socket.read(&mut buffer).await;
                let body = format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>try later</Message></Error></Errors><RequestID>r-1</RequestID></Response>"
                );
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: text/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

async fn retryable(endpoint: &str) -> String {
    let result = Step::new(endpoint)
        .run(
            "aws.ec2.create_snapshot",
            json!({"volume_id": "vol-1", "region": "us-west-1"}),
        )
        .await;
    match result {
        Err(ActionError::Retryable { message, .. }) => message,
        other => panic!("expected a retryable error, got {other:?}"),
    }
}

#[tokio::test]
async fn throttling_and_server_errors_are_retryable() {
    // moto cannot throttle, so a server that always does stands in for EC2.
    let throttled = retryable(&failing(503, "RequestLimitExceeded").await).await;
    assert_eq!(
        throttled,
        "aws ec2 DescribeSnapshots on vol-1: RequestLimitExceeded: try later"
    );
    let unavailable = retryable(&failing(500, "InternalError").await).await;
    assert!(unavailable.contains("InternalError"), "{unavailable}");
    let refused = fatal_or_message(&failing(403, "UnauthorizedOperation").await).await;
    assert_eq!(
        refused,
        "aws ec2 DescribeSnapshots on vol-1: UnauthorizedOperation: try later"
    );
}

async fn fatal_or_message(endpoint: &str) -> String {
    fatal(
        Step::new(endpoint)
            .run(
                "aws.ec2.create_snapshot",
                json!({"volume_id": "vol-1", "region": "us-west-1"}),
            )
            .await,
    )
}

#[tokio::test]
async fn an_unreachable_endpoint_is_retryable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let message = retryable(&url).await;
    assert!(
        message.starts_with("aws ec2 DescribeSnapshots on vol-1: "),
        "{message}"
    );
}
