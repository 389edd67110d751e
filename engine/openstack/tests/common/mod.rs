//! What the OpenStack tests share: a clouds.yaml per test in a temporary
//! directory (no process environment touched), and running one action.

#![allow(dead_code, reason = "each test binary uses a different part")]

use std::path::Path;
use std::sync::Arc;

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha512};
use shutter_core::{ActionContext, ActionError, RecordingSink};
use shutter_openstack::{ConfigSources, Provider};

/// A test's own clouds.yaml and the provider reading it.
pub(crate) struct Clouds {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) provider: Provider,
}

impl Clouds {
    pub(crate) fn new(yaml: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clouds.yaml");
        std::fs::write(&path, yaml).unwrap();
        let sources =
            ConfigSources::isolated([("OS_CLIENT_CONFIG_FILE", path.display().to_string())])
                .with_yaml(shutter_dsl::config_file::yaml_reader());
        Self {
            dir,
            provider: Provider::new(sources),
        }
    }

    pub(crate) fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    pub(crate) async fn run(&self, action: &str, params: Json) -> Result<Json, ActionError> {
        run_ctx(&self.provider, action, &context(params)).await
    }

    /// Runs `action`: its outputs; the test fails if it fails.
    pub(crate) async fn ok(&self, action: &str, params: Json) -> Json {
        self.run(action, params)
            .await
            .unwrap_or_else(|err| panic!("{action}: {err:?}"))
    }

    /// Creates an image without data (queued) in `cloud`, named
    /// `prefix-UNIQUE`: its id.
    pub(crate) async fn new_image(&self, cloud: &str, prefix: &str) -> String {
        let params = json!({"cloud": cloud, "name": unique(prefix)});
        let created = self.ok("openstack.image.create", params).await;
        created["id"].as_str().unwrap().to_owned()
    }

    /// Deletes a test's image from `cloud`: the outputs.
    pub(crate) async fn delete_image(&self, cloud: &str, id: &str) -> Json {
        let params = json!({"cloud": cloud, "image_id": id});
        self.ok("openstack.image.delete", params).await
    }

    /// `openstack.image.upload` of the file `source` into image `id` of
    /// `cloud`: the outputs.
    pub(crate) async fn upload(&self, cloud: &str, id: &str, source: &Path) -> Json {
        self.ok("openstack.image.upload", upload_params(cloud, id, source))
            .await
    }

    /// `openstack.image.wait` for image `id` of `cloud`, looking every
    /// `interval`: the outputs.
    pub(crate) async fn wait_image(&self, cloud: &str, id: &str, interval: &str) -> Json {
        let params = json!({"cloud": cloud, "image_id": id, "interval": interval});
        self.ok("openstack.image.wait", params).await
    }

    /// `openstack.image.get` of image `id` of `cloud`: the outputs.
    pub(crate) async fn get_image(&self, cloud: &str, id: &str) -> Json {
        let params = json!({"cloud": cloud, "image_id": id});
        self.ok("openstack.image.get", params).await
    }

    /// Runs `action`, which must fail: its error.
    pub(crate) async fn err(&self, action: &str, params: Json) -> ActionError {
        match self.run(action, params).await {
            Ok(outputs) => panic!("{action} succeeded: {outputs}"),
            Err(err) => err,
        }
    }

    pub(crate) async fn run_keyed(
        &self,
        action: &str,
        params: Json,
        key: &str,
    ) -> Result<Json, ActionError> {
        let mut ctx = context(params);
        ctx.idempotency_key = key.to_owned();
        run_ctx(&self.provider, action, &ctx).await
    }
}

/// The message of a fatal error; the test fails on any other.
pub(crate) fn fatal(err: &ActionError) -> &str {
    match err {
        ActionError::Fatal { message, .. } => message,
        other => panic!("expected a fatal error, got {other:?}"),
    }
}

pub(crate) fn context(params: Json) -> ActionContext {
    ActionContext::standalone(params, Arc::new(RecordingSink::default()))
}

pub(crate) async fn run_ctx(
    provider: &Provider,
    action: &str,
    ctx: &ActionContext,
) -> Result<Json, ActionError> {
    let action = provider
        .action(action)
        .unwrap_or_else(|| panic!("no action {action}"));
    action.run(ctx).await
}

/// The no-auth Glance peer as cloud `glance`.
pub(crate) fn glance_cloud() -> Clouds {
    let peer = shutter_testpeers::peer("glance");
    let url = peer.var("OS_IMAGE_URL").unwrap_or(&peer.url).to_owned();
    Clouds::new(&format!(
        "clouds:\n  glance:\n    auth_type: none\n    image_endpoint_override: {url}\n"
    ))
}

/// A unique name for this test's images.
pub(crate) fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{nanos:x}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// SHA-512 of `data`, in lowercase hex (as the image actions report it).
pub(crate) fn sha512_hex(data: &[u8]) -> String {
    Sha512::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `size` bytes of a deterministic pattern, written to `path`.
pub(crate) fn data_file(path: &Path, size: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(path, &data).unwrap();
    data
}

pub(crate) fn file_url(path: &Path) -> String {
    format!("file://{}", path.display())
}

/// The parameters of `openstack.image.upload` of the file `source` into
/// image `id` of `cloud`.
pub(crate) fn upload_params(cloud: &str, id: &str, source: &Path) -> Json {
    json!({"cloud": cloud, "image_id": id, "source": file_url(source)})
}

pub(crate) fn params_with_cloud(cloud: &str, mut params: Json) -> Json {
    params["cloud"] = json!(cloud);
    params
}

/// Held by each test that writes to a Glance peer: its sqlite database
/// answers "database is locked" (a 500) under concurrent writes, which is
/// the peer's limit, not something these tests are about.
pub(crate) async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}
