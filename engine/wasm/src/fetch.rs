//! Modules by URL: `wasm.module: https://...` is downloaded once, checked
//! against the pinned SHA-256 before anything else sees it, and kept on
//! disk under that SHA-256, so later runs (and other workflows pinning the
//! same module) never download it again. Plain `http://` is refused except
//! to the loopback interface (a developer's server), as the compiler says.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use shutter_core::ActionError;
use shutter_kit::{HttpOptions, Proxy, Redirects};

/// The largest module downloaded (a JavaScript component is ~12 MB).
pub const MODULE_LIMIT: usize = 256 << 20;

/// Downloaded modules, by SHA-256, in a directory (none: memory only).
#[derive(Debug, Default)]
pub struct ModuleFetcher {
    dir: Option<PathBuf>,
    client: OnceLock<Result<reqwest::Client, shutter_kit::ClientError>>,
}

pub use shutter_core::module::is_url;

impl ModuleFetcher {
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            client: OnceLock::new(),
        }
    }

    /// The module at `url`, whose SHA-256 must be `sha256`.
    pub async fn fetch(&self, url: &str, sha256: &str) -> Result<Vec<u8>, ActionError> {
        let sha256 = sha256.to_ascii_lowercase();
        let kept = self
            .dir
            .as_ref()
            .map(|dir| dir.join(format!("{sha256}.wasm")));
        if let Some(path) = &kept
            && let Ok(bytes) = tokio::fs::read(path).await
        {
            if hex::encode(Sha256::digest(&bytes)) == sha256 {
                return Ok(bytes);
            }
            tracing::warn!("downloading again: {} is corrupt", path.display());
        }
        let bytes = self.download(url).await?;
        crate::modules::check_pin(&bytes, &sha256, url).map_err(|e| ActionError::fatal(e.0))?;
        if let Some(path) = &kept
            && let Err(err) = keep(path, &bytes)
        {
            tracing::warn!("could not keep module {url} in {}: {err}", path.display());
        }
        Ok(bytes)
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, ActionError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| ActionError::fatal(format!("module url `{url}`: {e}")))?;
        let loopback = parsed.host_str().is_some_and(|host| {
            let host = host.trim_matches(['[', ']']);
            host.eq_ignore_ascii_case("localhost")
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        });
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(ActionError::fatal(format!(
                    "module url `{url}` must use https (plain http only to 127.0.0.1 or localhost)"
                )));
            }
        }
        let client = self
            .client
            .get_or_init(|| {
                // No redirects (a hop could go to plain http or a host the
                // compiler would refuse) and no proxy from the environment.
                HttpOptions {
                    redirects: Redirects::None,
                    proxy: Proxy::None,
                    ..HttpOptions::default()
                }
                .build()
            })
            .as_ref()
            .map_err(|e| ActionError::fatal(e.to_string()))?;
        let what = format!("fetching module {url}");
        let response = client
            .get(parsed)
            .send()
            .await
            .map_err(|e| shutter_kit::transport(&what, e))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(ActionError::fatal(format!(
                "{what}: the server answered {status}; redirects are not followed: name the module's final URL"
            )));
        }
        if !status.is_success() {
            return Err(shutter_kit::status(&what, status, ""));
        }
        let bytes = shutter_kit::body(&what, response, MODULE_LIMIT).await?;
        Ok(bytes.to_vec())
    }
}

fn keep(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
