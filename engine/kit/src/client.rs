//! One way to build an HTTP client, so every provider trusts the same
//! roots, follows (or not) redirects the same way and says who it is.

use std::path::PathBuf;
use std::time::Duration;

/// Whether redirects are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Redirects {
    /// Never: a 3xx comes back to the caller (a cloud API that redirects
    /// is misconfigured, and a hop could carry credentials elsewhere).
    #[default]
    None,
    /// Only to the same scheme, host and port, at most ten hops: headers
    /// a caller adds (tokens, secrets) never reach another server.
    SameHost,
}

/// Whether proxy variables (`HTTPS_PROXY`, `NO_PROXY`...) are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Proxy {
    /// Cloud APIs: a corporate proxy is how they are reached.
    #[default]
    FromEnv,
    /// Never (downloads of code, WebAssembly guests' requests).
    None,
}

/// How a client talks: trust, redirects, proxies, timeouts.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Extra trusted roots: a PEM file of one or more certificates, added
    /// to the built-in (webpki) roots.
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate: for test servers only (vcsim).
    pub insecure: bool,
    pub redirects: Redirects,
    pub proxy: Proxy,
    pub connect_timeout: Duration,
    /// Deadline of a whole request; `None` for streamed transfers, which
    /// the step's own timeout bounds.
    pub timeout: Option<Duration>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            ca_file: None,
            insecure: false,
            redirects: Redirects::None,
            proxy: Proxy::FromEnv,
            connect_timeout: Duration::from_secs(15),
            timeout: Some(Duration::from_secs(300)),
        }
    }
}

/// Why a client could not be built (a CA file that cannot be read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ClientError(pub String);

/// What Shutter says it is, to every server.
const USER_AGENT: &str = concat!("shutter/", env!("CARGO_PKG_VERSION"));

impl HttpOptions {
    pub fn build(&self) -> Result<reqwest::Client, ClientError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(self.connect_timeout)
            .redirect(match self.redirects {
                Redirects::None => reqwest::redirect::Policy::none(),
                Redirects::SameHost => reqwest::redirect::Policy::custom(same_host),
            });
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        if self.proxy == Proxy::None {
            builder = builder.no_proxy();
        }
        if let Some(path) = &self.ca_file {
            for certificate in read_ca(path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        if self.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        builder
            .build()
            .map_err(|e| ClientError(format!("building the HTTP client: {e}")))
    }
}

fn same_host(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let first = attempt.previous().first();
    let same = first.is_some_and(|first| {
        first.scheme() == attempt.url().scheme()
            && first.host_str() == attempt.url().host_str()
            && first.port_or_known_default() == attempt.url().port_or_known_default()
    });
    if same && attempt.previous().len() <= 10 {
        attempt.follow()
    } else {
        attempt.stop()
    }
}

/// The certificates of a PEM file; none is a mistake.
fn read_ca(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, ClientError> {
    let pem = std::fs::read(path)
        .map_err(|e| ClientError(format!("reading the CA file {}: {e}", path.display())))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| ClientError(format!("the CA file {}: {e}", path.display())))?;
    if certificates.is_empty() {
        return Err(ClientError(format!(
            "the CA file {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_that_is_not_one_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("shutter-kit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a dir");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("written");
        let options = HttpOptions {
            ca_file: Some(empty.clone()),
            ..HttpOptions::default()
        };
        let err = options.build().expect_err("no certificate");
        assert!(err.0.contains("holds no PEM certificate"), "{err}");
        let missing = HttpOptions {
            ca_file: Some(dir.join("missing.pem")),
            ..HttpOptions::default()
        };
        assert!(
            missing
                .build()
                .expect_err("missing")
                .0
                .contains("reading the CA file")
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
