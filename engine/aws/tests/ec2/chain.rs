//! The standard chain, with no settings at all: credentials, region and
//! endpoint from the environment (`AWS_ENDPOINT_URL_EC2`). Environment
//! variables belong to the process, so the test runs itself again as a
//! child with them set.

use serde_json::json;
use shutter_core::RecordingSink;

use crate::support::{client, moto, volume};

const CHILD: &str = "SHUTTER_AWS_CHAIN_CHILD_VOLUME";

#[tokio::test]
async fn the_standard_chain_reads_credentials_region_and_endpoint_from_the_environment() {
    let region = "eu-north-1";
    let vol = volume(&client(region).await, region).await;
    let (url, credentials) = moto();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["chain::child", "--exact", "--nocapture"])
        .env(CHILD, &vol)
        .env("AWS_ACCESS_KEY_ID", credentials.access_key_id())
        .env("AWS_SECRET_ACCESS_KEY", credentials.secret_access_key())
        .env("AWS_REGION", region)
        .env("AWS_ENDPOINT_URL_EC2", url)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the child test failed: see its output above"
    );
}

/// Runs only as the child of the test above.
#[tokio::test]
async fn child() {
    let Ok(vol) = std::env::var(CHILD) else {
        return;
    };
    let actions = shutter_aws::actions();
    let create = &actions
        .iter()
        .find(|(spec, _)| spec.name == "aws.ec2.create_snapshot")
        .unwrap()
        .1;
    let ctx = shutter_core::ActionContext::standalone(
        json!({"volume_id": vol}),
        std::sync::Arc::new(RecordingSink::default()),
    );
    let out = create.run(&ctx).await.unwrap();
    assert_eq!(out["region"], "eu-north-1", "{out}");
    assert!(
        out["snapshot_id"].as_str().unwrap().starts_with("snap-"),
        "{out}"
    );
}
