//! TLS in front of a real peer: the peers speak plain HTTP on loopback, so
//! a test that checks how a client trusts certificates puts this proxy in
//! front of one. It holds a test CA of its own (written to a PEM file) and
//! a certificate for `127.0.0.1` and `localhost` signed by it, and forwards
//! every connection's bytes to the peer.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A running proxy; it stops with the test's runtime.
#[derive(Debug)]
pub struct TlsProxy {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// The test CA that signed the proxy's certificate, as PEM.
    pub ca_pem: String,
}

impl TlsProxy {
    /// Writes the CA to `dir/name` and says where.
    pub fn write_ca(&self, dir: &std::path::Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.ca_pem).expect("the CA file is written");
        path
    }
}

/// Starts a TLS proxy to `upstream` (a plain-HTTP peer) on 127.0.0.1.
pub async fn tls_proxy(upstream: SocketAddr) -> TlsProxy {
    let (config, ca_pem) = server_config();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!(
        "https://{}",
        listener.local_addr().expect("the port is known")
    );
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake:
                // that is what the tests look at, not an error here.
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut peer) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut peer).await;
            });
        }
    });
    TlsProxy { url, ca_pem }
}

/// A server configuration with a fresh CA and a leaf for the loopback
/// names, and the CA as PEM.
fn server_config() -> (rustls::ServerConfig, String) {
    let ca_key = rcgen::KeyPair::generate().expect("a CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Shutter test CA");
    let ca = ca_params.self_signed(&ca_key).expect("the CA signs itself");
    let leaf_key = rcgen::KeyPair::generate().expect("a leaf key");
    let leaf_params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("leaf params");
    let leaf = leaf_params
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("the CA signs the leaf");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("default protocol versions")
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .expect("a certificate and its key");
    (config, ca.pem())
}
