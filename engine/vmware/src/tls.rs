//! HTTP clients with the TLS trust a connection asks for: the system's
//! roots, plus a CA file, or (only when said explicitly) no verification.

use std::path::Path;
use std::time::Duration;

/// How a connection trusts its server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Trust {
    /// Accept any certificate. Never the default: only for test servers
    /// such as vcsim, whose certificate is self-signed.
    pub insecure: bool,
    /// A PEM file with one or more extra roots.
    pub ca_file: Option<std::path::PathBuf>,
}

impl Trust {
    /// A client for this trust. Redirects are not followed: a SOAP or vRO
    /// call that is redirected is a misconfigured URL, better reported.
    pub fn client(&self) -> Result<reqwest::Client, String> {
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(Duration::from_secs(300))
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &self.ca_file {
            for root in read_ca(path)? {
                builder = builder.add_root_certificate(root);
            }
        }
        if self.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        }
        builder
            .build()
            .map_err(|e| format!("building the http client: {e}"))
    }
}

/// Every certificate in a PEM file; none at all is an error, so a wrong
/// file is not silently a no-op.
fn read_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("reading ca_file {}: {e}", path.display()))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("ca_file {} is not a PEM certificate: {e}", path.display()))?;
    if roots.is_empty() {
        return Err(format!(
            "ca_file {} is not a PEM certificate: it holds no certificate",
            path.display()
        ));
    }
    Ok(roots)
}

/// The whole chain of a transport error, and whether it is about the
/// server's certificate (which no retry fixes).
pub fn describe_send_error(err: &reqwest::Error) -> (String, bool) {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    let lower = message.to_ascii_lowercase();
    let tls = lower.contains("certificate") || lower.contains("unknownissuer");
    (message, tls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_bad_ca_file_is_named() {
        let missing = Trust {
            insecure: false,
            ca_file: Some("/nonexistent/ca.pem".into()),
        };
        let err = missing.client().unwrap_err();
        assert!(
            err.starts_with("reading ca_file /nonexistent/ca.pem"),
            "{err}"
        );
        let dir = std::env::temp_dir().join(format!("shutter-vmware-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate").unwrap();
        let bad = Trust {
            insecure: false,
            ca_file: Some(dir.clone()),
        };
        let err = bad.client().unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(err.contains("is not a PEM certificate"), "{err}");
    }
}
