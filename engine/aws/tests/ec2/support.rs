//! What every test needs: moto, the actions pointed at it, a context with
//! a sink that keeps what the action recorded, and fixtures (volumes,
//! instances) made with a plain SDK client.

use std::collections::HashMap;
use std::sync::Arc;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::config::Credentials;
use aws_sdk_ec2::types::{Filter, InstanceType};
use serde_json::{Value as Json, json};
use shutter_aws::AwsSettings;
use shutter_core::{Action, ActionContext, ActionError, Location, RecordingSink};

/// moto's URL and the credentials it hands out.
pub(crate) fn moto() -> (String, Credentials) {
    let peer = shutter_testpeers::peer("moto");
    let credentials = Credentials::new(
        peer.var("AWS_ACCESS_KEY_ID").unwrap(),
        peer.var("AWS_SECRET_ACCESS_KEY").unwrap(),
        None,
        None,
        "moto",
    );
    (peer.url, credentials)
}

/// The actions, sending every request to `endpoint`.
pub(crate) fn actions(endpoint: &str) -> HashMap<String, Arc<dyn Action>> {
    let (_, credentials) = moto();
    let settings = AwsSettings {
        endpoint_url: Some(endpoint.to_owned()),
        credentials: Some(credentials),
        ..AwsSettings::default()
    };
    shutter_aws::actions_with(settings)
        .into_iter()
        .map(|(spec, action)| (spec.name, action))
        .collect()
}

/// One step of one execution: runs actions with the same idempotency key,
/// as a step's tries (and its re-run after a crash) do.
pub(crate) struct Step {
    pub(crate) key: String,
    pub(crate) recorder: Arc<RecordingSink>,
    actions: HashMap<String, Arc<dyn Action>>,
}

impl Step {
    pub(crate) fn new(endpoint: &str) -> Self {
        let recorder = Arc::new(RecordingSink::default());
        let key = ActionContext::standalone(Json::Null, recorder.clone()).idempotency_key;
        Self {
            key,
            recorder,
            actions: actions(endpoint),
        }
    }

    /// A step whose actions go to moto.
    pub(crate) fn moto() -> Self {
        let (url, _) = moto();
        Self::new(&url)
    }

    /// A fresh context for one try, with this step's key.
    pub(crate) fn context(&self, params: Json) -> ActionContext {
        let mut ctx = ActionContext::standalone(params, self.recorder.clone());
        ctx.idempotency_key.clone_from(&self.key);
        ctx
    }

    pub(crate) async fn run(&self, action: &str, params: Json) -> Result<Json, ActionError> {
        let ctx = self.context(params);
        let result = self.actions[action].run(&ctx).await;
        ctx.flush().await.unwrap();
        result
    }

    /// Runs `action`: its outputs; the test fails if it fails.
    pub(crate) async fn ok(&self, action: &str, params: Json) -> Json {
        self.run(action, params)
            .await
            .unwrap_or_else(|err| panic!("{action}: {err:?}"))
    }

    pub(crate) fn logs(&self) -> Vec<String> {
        self.recorder.log_messages()
    }
}

/// Runs `action` once, as a step of its own.
pub(crate) async fn run(action: &str, params: Json) -> Result<Json, ActionError> {
    Step::moto().run(action, params).await
}

/// Runs `action` once, as a step of its own: its outputs; the test fails
/// if it fails.
pub(crate) async fn run_ok(action: &str, params: Json) -> Json {
    Step::moto().ok(action, params).await
}

/// Runs `action` once, as a step of its own: its outputs, and what it
/// recorded (catalog entries and marks); the test fails if it fails.
pub(crate) async fn run_recorded(action: &str, params: Json) -> (Json, Arc<RecordingSink>) {
    let step = Step::moto();
    let out = step.ok(action, params).await;
    (out, step.recorder)
}

/// Runs `action` once, as a step of its own: the message of its fatal
/// failure; the test fails on anything else.
pub(crate) async fn run_fatal(action: &str, params: Json) -> String {
    fatal(run(action, params).await)
}

/// A test on moto in `region`: an SDK client for fixtures, and a step whose
/// actions go to moto.
pub(crate) async fn on_moto(region: &str) -> (aws_sdk_ec2::Client, Step) {
    (client(region).await, Step::moto())
}

/// A plain SDK client on moto, for fixtures and for checking results.
pub(crate) async fn client(region: &str) -> aws_sdk_ec2::Client {
    let (url, credentials) = moto();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(
            aws_smithy_http_client::Builder::new()
                .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                    aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                ))
                .build_https(),
        )
        .region(Region::new(region.to_owned()))
        .credentials_provider(credentials)
        .endpoint_url(url)
        .load()
        .await;
    aws_sdk_ec2::Client::new(&config)
}

pub(crate) async fn volume(client: &aws_sdk_ec2::Client, region: &str) -> String {
    client
        .create_volume()
        .availability_zone(format!("{region}a"))
        .size(8)
        .send()
        .await
        .unwrap()
        .volume_id()
        .unwrap()
        .to_owned()
}

/// A snapshot of a new volume in `region`, made by a step of its own: its
/// id.
pub(crate) async fn snapshot(region: &str) -> String {
    let ec2 = client(region).await;
    let vol = volume(&ec2, region).await;
    let out = run_ok(
        "aws.ec2.create_snapshot",
        json!({"volume_id": vol, "region": region}),
    )
    .await;
    out["snapshot_id"].as_str().unwrap().to_owned()
}

/// An instance with its root volume and one more attached: two volumes.
pub(crate) async fn instance(client: &aws_sdk_ec2::Client, region: &str) -> String {
    let reservation = client
        .run_instances()
        .image_id("ami-12345678")
        .instance_type(InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .send()
        .await
        .unwrap();
    let id = reservation.instances()[0].instance_id().unwrap().to_owned();
    let data = volume(client, region).await;
    client
        .attach_volume()
        .volume_id(&data)
        .instance_id(&id)
        .device("/dev/sdf")
        .send()
        .await
        .unwrap();
    id
}

/// Snapshots carrying tag `key` = `value`, as EC2 sees them.
pub(crate) async fn snapshots_tagged(
    client: &aws_sdk_ec2::Client,
    key: &str,
    value: &str,
) -> Vec<String> {
    let answer = client
        .describe_snapshots()
        .owner_ids("self")
        .filters(
            Filter::builder()
                .name(format!("tag:{key}"))
                .values(value)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut ids: Vec<String> = answer
        .snapshots()
        .iter()
        .map(|s| s.snapshot_id().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// moto's account: every resource it makes is owned by it.
const ACCOUNT: &str = "123456789012";

/// Where moto keeps what it makes in `region`, as the backup catalog says.
pub(crate) fn place(region: &str) -> Location {
    Location::Aws {
        account: ACCOUNT.into(),
        region: region.into(),
    }
}

/// A value no other test (or earlier run against a shared moto) uses.
pub(crate) fn unique() -> String {
    shutter_core::ExecutionId::new().to_string()
}

/// The strings of a JSON array (ids in an action's outputs), sorted, to
/// compare as a set.
pub(crate) fn sorted_strings(array: &Json) -> Vec<String> {
    let mut strings: Vec<String> = array
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    strings.sort();
    strings
}

pub(crate) fn fatal(result: Result<Json, ActionError>) -> String {
    match result {
        Err(ActionError::Fatal { message, .. }) => message,
        other => panic!("expected a fatal error, got {other:?}"),
    }
}
