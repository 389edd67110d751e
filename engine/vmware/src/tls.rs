//! The TLS trust a connection asks for: the built-in roots, plus a CA
//! file, or (only when said explicitly) no verification.

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
    /// A client for this trust (the kit's: built-in roots plus the CA
    /// file). Redirects are not followed: a SOAP or vRO call that is
    /// redirected is a misconfigured URL, better reported.
    pub fn client(&self) -> Result<reqwest::Client, String> {
        shutter_kit::HttpOptions {
            ca_file: self.ca_file.clone(),
            insecure: self.insecure,
            ..shutter_kit::HttpOptions::default()
        }
        .build()
        .map_err(|e| e.0)
    }
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
            err.starts_with("reading the CA file /nonexistent/ca.pem"),
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
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }
}
