#![allow(dead_code, reason = "each test binary uses part of the shared support")]

//! What the snapshot tests share: the provider actions pointed at the real
//! peers (moto, vcsim, Glance with the fake Nova) without touching the
//! process environment, a step that keeps what it logged, and fixtures.

pub(crate) mod vcsim;

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_ec2::config::Credentials;
use serde_json::{Value as Json, json};
use shutter_aws::AwsSettings;
use shutter_core::{Action, ActionContext, ActionError, RecordingSink};
use shutter_openstack::{ConfigSources, Provider};
use shutter_vmware::Env;
use shutter_vmware::vsphere::session::SessionCache;

/// The actions under test and the peers behind them.
pub(crate) struct Lab {
    actions: HashMap<String, Arc<dyn Action>>,
    pub(crate) moto: String,
    pub(crate) glance: String,
    /// Keeps the clouds.yaml alive.
    _dir: tempfile::TempDir,
}

impl Lab {
    /// aws gets only credentials (the endpoint comes through `options`),
    /// vsphere govc's variables of vcsim, openstack a clouds.yaml whose
    /// cloud `lab` is Glance plus a fake Nova started here.
    pub(crate) async fn new() -> Self {
        Self::with_config(Arc::new(shutter_core::config::NoConfig)).await
    }

    /// The same, with `config` as Shutter's config file.
    pub(crate) async fn with_config(config: Arc<dyn shutter_core::config::ConfigSource>) -> Self {
        let moto = shutter_testpeers::peer("moto");
        let credentials = Credentials::new(
            moto.var("AWS_ACCESS_KEY_ID").unwrap(),
            moto.var("AWS_SECRET_ACCESS_KEY").unwrap(),
            None,
            None,
            "moto",
        );
        let mut registered = shutter_aws::actions_with(AwsSettings {
            credentials: Some(credentials),
            ..AwsSettings::default()
        });
        let vcsim = shutter_testpeers::peer("vcsim");
        registered.extend(shutter_vmware::actions_with(
            SessionCache::new(),
            Env::new(shutter_core::Env::from_map(vcsim.env.into_iter().collect())),
        ));
        let glance = shutter_testpeers::peer("glance");
        let glance = glance.var("OS_IMAGE_URL").unwrap_or(&glance.url).to_owned();
        let nova = shutter_testpeers::nova::start(&glance);
        let dir = tempfile::tempdir().unwrap();
        let clouds = dir.path().join("clouds.yaml");
        std::fs::write(
            &clouds,
            format!("clouds:\n  lab:\n    auth_type: none\n    image_endpoint_override: {glance}\n    compute_endpoint_override: {nova}\n"),
        )
        .unwrap();
        let sources =
            ConfigSources::isolated([("OS_CLIENT_CONFIG_FILE", clouds.display().to_string())])
                .with_yaml(shutter_dsl::config_file::yaml_reader());
        registered.extend(Provider::new(sources).actions());
        let mut ours = shutter_providers::snapshot::actions(&registered);
        ours.extend(shutter_providers::restore::actions(&registered));
        ours.extend(shutter_providers::backups::actions(&registered, config));
        let actions = registered
            .into_iter()
            .chain(ours)
            .map(|(spec, action)| (spec.name, action))
            .collect();
        Self {
            actions,
            moto: moto.url,
            glance,
            _dir: dir,
        }
    }

    /// A new step (its own idempotency key).
    pub(crate) fn step(&self) -> Step<'_> {
        self.step_with(RecordingSink::default())
    }

    /// A new step whose backup catalog holds `entries`.
    pub(crate) fn step_reading(&self, entries: Vec<shutter_core::Backup>) -> Step<'_> {
        self.step_with(RecordingSink::with_catalog(entries))
    }

    fn step_with(&self, recorder: RecordingSink) -> Step<'_> {
        let recorder = Arc::new(recorder);
        let key = ActionContext::standalone(Json::Null, recorder.clone()).idempotency_key;
        Step {
            lab: self,
            key,
            recorder,
        }
    }

    /// Runs `action` once, as a step of its own.
    pub(crate) async fn run(&self, action: &str, params: Json) -> Result<Json, ActionError> {
        self.step().run(action, params).await
    }

    /// Runs `action` once, as a step of its own: its outputs; the test
    /// fails if it fails.
    pub(crate) async fn ok(&self, action: &str, params: Json) -> Json {
        self.step().ok(action, params).await
    }

    /// Backs `target` up with `snapshot`: the catalog entries it recorded
    /// (one).
    pub(crate) async fn backed_up(&self, target: &str, options: Json) -> Vec<shutter_core::Backup> {
        let step = self.step();
        step.ok(
            "snapshot",
            json!({"target": target, "name": "nightly", "options": options}),
        )
        .await;
        let entries = step.cataloged();
        assert_eq!(entries.len(), 1, "{entries:?}");
        entries
    }

    /// A new 8 GiB volume in `region` (made with `more` parameters of
    /// `CreateVolume`) backed up on moto: the catalog entries (one).
    pub(crate) async fn volume_backed_up(
        &self,
        region: &str,
        more: &[(&str, &str)],
    ) -> Vec<shutter_core::Backup> {
        let volume = volume_with(&self.moto, region, more).await;
        self.backed_up(&format!("aws://{region}/{volume}"), self.aws_options())
            .await
    }

    /// The vCenter (its instanceUuid) and moRef of the VM `vm`, as
    /// `vsphere.vm.get` reports them.
    pub(crate) async fn vm(&self, vm: &str) -> (String, String) {
        let got = self.ok("vsphere.vm.get", json!({ "vm": vm })).await;
        let text = |key: &str| got[key].as_str().unwrap().to_owned();
        (text("vcenter"), text("moref"))
    }

    /// `snapshot.delete` of a `snapshot` output, which must succeed.
    pub(crate) async fn delete(&self, snapshot: &Json) -> Json {
        self.ok("snapshot.delete", json!({ "snapshot": snapshot }))
            .await
    }

    pub(crate) fn aws_options(&self) -> Json {
        json!({"endpoint_url": self.moto})
    }
}

/// One step: every try runs with the same idempotency key.
pub(crate) struct Step<'a> {
    lab: &'a Lab,
    key: String,
    recorder: Arc<RecordingSink>,
}

impl Step<'_> {
    pub(crate) async fn run(&self, action: &str, params: Json) -> Result<Json, ActionError> {
        let mut ctx = ActionContext::standalone(params, self.recorder.clone());
        ctx.idempotency_key.clone_from(&self.key);
        let result = self.lab.actions[action].run(&ctx).await;
        ctx.flush().await.unwrap();
        result
    }

    /// Runs `action`: its outputs; the test fails if it fails, naming the
    /// parameters too (the same action runs on every provider here).
    pub(crate) async fn ok(&self, action: &str, params: Json) -> Json {
        let asked = params.to_string();
        self.run(action, params)
            .await
            .unwrap_or_else(|err| panic!("{action} {asked}: {err:?}"))
    }

    pub(crate) fn logs(&self) -> Vec<String> {
        self.recorder.log_messages()
    }

    /// What the step's actions put in the backup catalog, as catalog
    /// entries: each report folded as a store folds it (an artifact
    /// reported twice is one entry).
    pub(crate) fn cataloged(&self) -> Vec<shutter_core::Backup> {
        let execution = shutter_core::ExecutionId::new();
        let mut entries: Vec<shutter_core::Backup> = Vec::new();
        for artifact in self.recorder.backups() {
            let known = entries
                .iter()
                .position(|entry| entry.reference() == artifact.reference());
            let existing = known.map(|at| entries.remove(at));
            entries.push(shutter_core::Backup::fold(
                existing,
                &artifact,
                execution,
                &shutter_core::StepKey::step("backup"),
                chrono::Utc::now(),
            ));
        }
        entries
    }

    /// The catalog marks the step recorded.
    pub(crate) fn marks(&self) -> Vec<(shutter_core::BackupRef, shutter_core::BackupState)> {
        self.recorder.backup_marks()
    }

    /// Every change the step recorded.
    pub(crate) fn changes(&self) -> Vec<shutter_core::Change> {
        self.recorder.changes()
    }

    /// The restore-test verdicts the step recorded.
    pub(crate) fn verdicts(&self) -> Vec<(shutter_core::BackupRef, bool, String)> {
        self.recorder.backup_tests()
    }
}

pub(crate) fn fatal(result: Result<Json, ActionError>) -> String {
    match result {
        Err(ActionError::Fatal { message, .. }) => message,
        other => panic!("expected a fatal error, got {other:?}"),
    }
}

pub(crate) use shutter_testpeers::moto::{ec2, first};

pub(crate) async fn volume(moto: &str, region: &str) -> String {
    volume_with(moto, region, &[]).await
}

/// An 8 GiB volume, made with `more` parameters of `CreateVolume`.
pub(crate) async fn volume_with(moto: &str, region: &str, more: &[(&str, &str)]) -> String {
    let az = format!("{region}a");
    let mut params = vec![
        ("Action", "CreateVolume"),
        ("AvailabilityZone", az.as_str()),
        ("Size", "8"),
    ];
    params.extend_from_slice(more);
    let xml = ec2(moto, region, &params).await;
    first(&xml, "volumeId")
}

/// Whether moto still has the volume (one being deleted counts as gone).
pub(crate) async fn volume_exists(moto: &str, region: &str, id: &str) -> bool {
    described(moto, region, "Volume", id)
        .await
        .is_some_and(|xml| {
            !xml.contains("<status>deleting</status>") && !xml.contains("<status>deleted</status>")
        })
}

/// moto's answer to `Describe{kind}s` of `id` (`kind`: `Volume`,
/// `Snapshot`), or `None` when it answers `Invalid{kind}.NotFound`.
async fn described(moto: &str, region: &str, kind: &str, id: &str) -> Option<String> {
    let action = format!("Describe{kind}s");
    let id_param = format!("{kind}Id.1");
    let xml = ec2(
        moto,
        region,
        &[("Action", action.as_str()), (id_param.as_str(), id)],
    )
    .await;
    if xml.contains(&format!("Invalid{kind}.NotFound")) {
        return None;
    }
    assert!(xml.contains(id), "{xml}");
    Some(xml)
}

/// An instance with its root volume and one more attached: two volumes.
pub(crate) async fn instance(moto: &str, region: &str) -> String {
    let xml = ec2(
        moto,
        region,
        &[
            ("Action", "RunInstances"),
            ("ImageId", "ami-12345678"),
            ("InstanceType", "t3.micro"),
            ("MinCount", "1"),
            ("MaxCount", "1"),
        ],
    )
    .await;
    let id = first(&xml, "instanceId");
    let data = volume(moto, region).await;
    let xml = ec2(
        moto,
        region,
        &[
            ("Action", "AttachVolume"),
            ("VolumeId", &data),
            ("InstanceId", &id),
            ("Device", "/dev/sdf"),
        ],
    )
    .await;
    assert!(
        xml.contains("attaching") || xml.contains("attached"),
        "{xml}"
    );
    id
}

/// Whether moto still has the snapshot.
pub(crate) async fn snapshot_exists(moto: &str, region: &str, id: &str) -> bool {
    described(moto, region, "Snapshot", id).await.is_some()
}

/// Glance's image record, or None after a 404.
pub(crate) async fn glance_image(glance: &str, id: &str) -> Option<Json> {
    let response = reqwest::get(format!("{}/v2/images/{id}", glance.trim_end_matches('/')))
        .await
        .unwrap();
    if response.status() == 404 {
        return None;
    }
    Some(response.error_for_status().unwrap().json().await.unwrap())
}
