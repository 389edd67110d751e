//! Modules by URL: `wasm.module: https://...` is downloaded once, checked
//! against the pinned SHA-256 before anything else sees it, and kept on
//! disk under that SHA-256, so later runs (and other workflows pinning the
//! same module) never download it again. Plain `http://` is refused except
//! to the loopback interface (a developer's server), as the compiler says.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::cache::hex;

/// The largest module downloaded (a JavaScript component is ~12 MB).
pub const MODULE_LIMIT: usize = 256 << 20;

/// Why a module could not be fetched; `retryable` when a later try may
/// succeed (the server was down or answered 5xx).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    pub message: String,
    pub retryable: bool,
}

impl FetchError {
    fn fatal(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: false,
        }
    }

    fn retryable(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            retryable: true,
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Downloaded modules, by SHA-256, in a directory (none: memory only).
#[derive(Debug, Default)]
pub struct ModuleFetcher {
    dir: Option<PathBuf>,
    client: OnceLock<Result<reqwest::Client, String>>,
}

/// Whether `module` names a URL rather than a file.
pub fn is_url(module: &str) -> bool {
    module.contains("://")
}

impl ModuleFetcher {
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self {
            dir,
            client: OnceLock::new(),
        }
    }

    /// The module at `url`, whose SHA-256 must be `sha256`.
    pub async fn fetch(&self, url: &str, sha256: &str) -> Result<Vec<u8>, FetchError> {
        let sha256 = sha256.to_ascii_lowercase();
        let kept = self
            .dir
            .as_ref()
            .map(|dir| dir.join(format!("{sha256}.wasm")));
        if let Some(path) = &kept
            && let Ok(bytes) = tokio::fs::read(path).await
        {
            if hex(&Sha256::digest(&bytes)) == sha256 {
                return Ok(bytes);
            }
            tracing::warn!("downloading again: {} is corrupt", path.display());
        }
        let bytes = self.download(url).await?;
        crate::modules::check_pin(&bytes, &sha256, url).map_err(|e| FetchError::fatal(e.0))?;
        if let Some(path) = &kept
            && let Err(err) = keep(path, &bytes)
        {
            tracing::warn!("could not keep module {url} in {}: {err}", path.display());
        }
        Ok(bytes)
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| FetchError::fatal(format!("module url `{url}`: {e}")))?;
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
                return Err(FetchError::fatal(format!(
                    "module url `{url}` must use https (plain http only to 127.0.0.1 or localhost)"
                )));
            }
        }
        let client = self
            .client
            .get_or_init(|| {
                // No redirects (a hop could go to plain http or a host the
                // compiler would refuse) and no proxy from the environment.
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .no_proxy()
                    .connect_timeout(Duration::from_secs(15))
                    .timeout(Duration::from_secs(300))
                    .build()
                    .map_err(|e| format!("building the http client: {e}"))
            })
            .as_ref()
            .map_err(|e| FetchError::fatal(e.clone()))?;
        let mut response = client.get(parsed).send().await.map_err(|e| {
            FetchError::retryable(format!("fetching module {url}: {}", source_of(&e)))
        })?;
        let status = response.status();
        if status.is_redirection() {
            return Err(FetchError::fatal(format!(
                "fetching module {url}: the server answered {status}; redirects are not followed: name the module's final URL"
            )));
        }
        if !status.is_success() {
            let message = format!("fetching module {url}: the server answered {status}");
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                FetchError::retryable(message)
            } else {
                FetchError::fatal(message)
            });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| {
            FetchError::retryable(format!("fetching module {url}: {}", source_of(&e)))
        })? {
            if bytes.len() + chunk.len() > MODULE_LIMIT {
                return Err(FetchError::fatal(format!(
                    "module {url} is larger than the limit of {MODULE_LIMIT} bytes"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

/// The innermost cause: reqwest's own message is "error sending request".
fn source_of(err: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn keep(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
