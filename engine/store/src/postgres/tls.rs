//! TLS to PostgreSQL, on rustls (already in the tree for every HTTPS
//! client), named in the connection string the way libpq names it:
//!
//! - `sslmode=disable`, `prefer` or none: plain TCP, as before (Shutter
//!   does not try TLS and fall back: a fallback an attacker can force is
//!   no protection, and a server with an untrusted certificate would
//!   otherwise fail where it worked yesterday).
//! - `sslmode=require` or `verify-ca`: TLS, the server's certificate
//!   chain verified against the trusted roots, its name not (libpq's
//!   `verify-ca`; libpq's `require` verifies nothing, which Shutter does
//!   not offer: an unverified channel is one a man in the middle reads).
//! - `sslmode=verify-full`: the chain and the host name (or IP address).
//!
//! Trusted roots: `sslrootcert=FILE` (PEM, one or more certificates) when
//! given, else the built-in web roots (webpki), as for every HTTPS client
//! of Shutter. tokio-postgres knows neither `verify-*` nor `sslrootcert`,
//! so [`split`] takes them out of the string before it is parsed.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// No TLS.
    Off,
    /// The chain, not the name.
    VerifyCa,
    /// The chain and the name.
    VerifyFull,
}

/// The TLS a connection string asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Wanted {
    pub(crate) mode: Mode,
    pub(crate) root_cert: Option<PathBuf>,
}

/// `url` with `sslmode` and `sslrootcert` taken out (`sslmode=require`
/// put back when TLS is wanted, so that tokio-postgres refuses a server
/// that will not speak it), and what they asked for. Both forms of
/// connection string: `postgres://...?k=v&k=v` and `k=v k='v w'`. Only
/// those two values are read here; every other piece (a password above
/// all) is passed on byte for byte and never named in an error.
pub(crate) fn split(url: &str) -> Result<(String, Wanted), String> {
    let uri = url.starts_with("postgres://") || url.starts_with("postgresql://");
    let (head, pieces, separator) = if uri {
        let (head, query) = uri_query(url);
        let pieces = query.map_or_else(Vec::new, |query| {
            query.split('&').filter(|piece| !piece.is_empty()).collect()
        });
        (head, pieces, "&")
    } else {
        ("", key_values(url)?, " ")
    };
    let mut mode = None;
    let mut root_cert = None;
    let mut kept = Vec::with_capacity(pieces.len() + 1);
    for piece in pieces {
        let (key, raw) = piece.split_once('=').unwrap_or((piece, ""));
        let value = || if uri { decode(raw) } else { Ok(unquote(raw)) };
        match key.trim() {
            "sslmode" => {
                let value = value().map_err(|e| format!("sslmode: {e}"))?;
                mode = Some(match value.as_str() {
                    "disable" => Mode::Off,
                    "prefer" | "allow" => {
                        tracing::warn!(
                            "sslmode={value}: Shutter does not try TLS and fall back (an attacker could force the fallback); the connection is plain TCP. Say verify-full for TLS."
                        );
                        Mode::Off
                    }
                    "require" | "verify-ca" => Mode::VerifyCa,
                    "verify-full" => Mode::VerifyFull,
                    other => {
                        return Err(format!(
                            "sslmode={other}: expected disable, prefer, require, verify-ca or verify-full"
                        ));
                    }
                });
            }
            "sslrootcert" => {
                let value = value().map_err(|e| format!("sslrootcert: {e}"))?;
                root_cert = Some(PathBuf::from(value));
            }
            // Read by no one as written: refused rather than let the
            // mode asked for go unseen.
            key if key.contains("sslmode") || key.contains("sslrootcert") => {
                return Err(
                    "the connection string's sslmode or sslrootcert cannot be read where it is"
                        .to_owned(),
                );
            }
            _ => kept.push(piece),
        }
    }
    if mode.is_none() && url.contains("sslmode") {
        // Written somewhere this reading (tokio-postgres's) does not look.
        return Err("the connection string's sslmode cannot be read where it is".to_owned());
    }
    let mode = mode.unwrap_or(Mode::Off);
    if mode == Mode::Off && root_cert.is_some() {
        return Err("sslrootcert is given but sslmode does not ask for TLS: say sslmode=verify-full (or verify-ca)".to_owned());
    }
    kept.push(if mode == Mode::Off {
        "sslmode=disable"
    } else {
        "sslmode=require"
    });
    let rest = kept.join(separator);
    let cleaned = if uri { format!("{head}?{rest}") } else { rest };
    Ok((cleaned, Wanted { mode, root_cert }))
}

/// A URI cut before its query, and the query. As tokio-postgres reads it,
/// user and password run to the first `@`: a `?` in a password does not
/// start the query.
fn uri_query(url: &str) -> (&str, Option<&str>) {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let host_from = url[after_scheme..]
        .find('@')
        .map_or(after_scheme, |at| after_scheme + at + 1);
    match url[host_from..].find('?') {
        Some(at) => (&url[..host_from + at], Some(&url[host_from + at + 1..])),
        None => (url, None),
    }
}

/// The `key = value` pieces of a key/value connection string, each as
/// written (spaces around `=`, quotes and escapes kept), as libpq and
/// tokio-postgres split them: a value is `'quoted'` (with `\'` and `\\`)
/// or runs to the next space (with `\` escaping the next character).
fn key_values(text: &str) -> Result<Vec<&str>, String> {
    let bytes = text.as_bytes();
    let spaces = |at: &mut usize| {
        while bytes.get(*at).is_some_and(u8::is_ascii_whitespace) {
            *at += 1;
        }
    };
    let mut pieces = Vec::new();
    let mut at = 0;
    loop {
        spaces(&mut at);
        if at >= bytes.len() {
            return Ok(pieces);
        }
        let start = at;
        while bytes
            .get(at)
            .is_some_and(|&b| b != b'=' && !b.is_ascii_whitespace())
        {
            at += 1;
        }
        spaces(&mut at);
        if bytes.get(at) != Some(&b'=') {
            return Err("a connection string setting without `=value`".to_owned());
        }
        at += 1;
        spaces(&mut at);
        if bytes.get(at) == Some(&b'\'') {
            at += 1;
            loop {
                match bytes.get(at) {
                    None => return Err("an unterminated quote in the connection string".to_owned()),
                    Some(b'\\') => at += 2,
                    Some(b'\'') => {
                        at += 1;
                        break;
                    }
                    Some(_) => at += 1,
                }
            }
        } else {
            while let Some(&b) = bytes.get(at) {
                if b.is_ascii_whitespace() {
                    break;
                }
                at += if b == b'\\' { 2 } else { 1 };
            }
        }
        at = at.min(bytes.len());
        pieces.push(&text[start..at]);
    }
}

/// A key/value string's value as meant: spaces around it, its quotes and
/// its escapes gone.
fn unquote(raw: &str) -> String {
    let raw = raw.trim();
    let inner = raw
        .strip_prefix('\'')
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or(raw);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// `%XX` sequences of a URI's query value decoded. The value is not
/// repeated in the error.
fn decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = value
                .get(at + 1..at + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or_else(|| "a bad %-escape".to_owned())?;
            out.push(hex);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "not UTF-8".to_owned())
}

/// The connector tokio-postgres and the pool are given: TLS as
/// [`Wanted`] says. With [`Mode::Off`] the string says `sslmode=disable`,
/// so it is never asked to connect.
#[derive(Clone)]
pub(crate) struct Tls {
    config: Option<Arc<ClientConfig>>,
}

impl fmt::Debug for Tls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tls")
            .field("on", &self.config.is_some())
            .finish()
    }
}

impl Tls {
    pub(crate) fn new(wanted: &Wanted) -> Result<Self, String> {
        if wanted.mode == Mode::Off {
            return Ok(Self { config: None });
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = Arc::new(roots(wanted.root_cert.as_deref())?);
        let verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| format!("TLS to PostgreSQL: {e}"))?;
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS to PostgreSQL: {e}"))?;
        let config = match wanted.mode {
            Mode::VerifyFull => builder.with_webpki_verifier(verifier),
            Mode::VerifyCa | Mode::Off => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(verifier))),
        }
        .with_no_client_auth();
        Ok(Self {
            config: Some(Arc::new(config)),
        })
    }
}

/// The roots a server's chain must end in.
fn roots(file: Option<&Path>) -> Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    match file {
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .and_then(Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(format!(
                    "sslrootcert {}: no certificate in it (PEM expected)",
                    path.display()
                ));
            }
        }
    }
    Ok(roots)
}

/// `verify-ca`: the webpki verifier, with a name that does not match
/// forgiven (it is checked after the chain, so the chain held).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

impl<S> MakeTlsConnect<S> for Tls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type TlsConnect = Connect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Connect, io::Error> {
        // tokio-postgres asks for a connector before every connection,
        // whatever the mode; with `sslmode=disable` it never uses it.
        let Some(config) = self.config.clone() else {
            return Ok(Connect(None));
        };
        let name = ServerName::try_from(domain.to_owned())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{domain}: {e}")))?;
        Ok(Connect(Some((config, name))))
    }
}

/// One connection's handshake (none when TLS was not asked for).
pub(crate) struct Connect(Option<(Arc<ClientConfig>, ServerName<'static>)>);

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = Stream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<Stream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let (config, name) = self
                .0
                .ok_or_else(|| io::Error::other("TLS to PostgreSQL was not asked for (sslmode)"))?;
            let connector = tokio_rustls::TlsConnector::from(config);
            Ok(Stream(connector.connect(name, stream).await?))
        })
    }
}

/// A TLS connection to the server.
pub(crate) struct Stream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for Stream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        // SCRAM-SHA-256-PLUS is not offered; SCRAM-SHA-256 still is.
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for Stream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Stream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_settings_come_out_of_both_forms_of_string() {
        let (url, wanted) = split(
            "postgres://shutter:p%40ss@db.example:5432/shutter?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem",
        )
        .unwrap();
        assert_eq!(
            url,
            "postgres://shutter:p%40ss@db.example:5432/shutter?application_name=x&sslmode=require"
        );
        assert_eq!(wanted.mode, Mode::VerifyFull);
        assert_eq!(wanted.root_cert, Some(PathBuf::from("/etc/ca.pem")));

        let (url, wanted) =
            split("host=db user=shutter sslmode=require sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!(url, "host=db user=shutter sslmode=require");
        assert_eq!(wanted.mode, Mode::VerifyCa);

        // No TLS asked for: none tried (no fallback to force).
        for plain in [
            "postgres://db/shutter",
            "postgres://db/shutter?sslmode=prefer",
        ] {
            let (url, wanted) = split(plain).unwrap();
            assert_eq!(url, "postgres://db/shutter?sslmode=disable", "{plain}");
            assert_eq!(wanted.mode, Mode::Off);
        }
    }

    /// A `?` in a password is not the query's start (tokio-postgres reads
    /// credentials to the first `@`): the mode asked for is still seen.
    #[test]
    fn a_question_mark_in_the_password_does_not_hide_the_mode() {
        let (url, wanted) =
            split("postgres://u:pa?ss@db/x?sslmode=verify-full&application_name=a").unwrap();
        assert_eq!(wanted.mode, Mode::VerifyFull);
        assert_eq!(
            url,
            "postgres://u:pa?ss@db/x?application_name=a&sslmode=require"
        );
        // Nothing to read but the password: untouched, and no TLS.
        let (url, wanted) = split("postgres://u:pa?ss@db/x").unwrap();
        assert_eq!(wanted.mode, Mode::Off);
        assert_eq!(url, "postgres://u:pa?ss@db/x?sslmode=disable");
    }

    /// Other values pass byte for byte, a bad escape in a password
    /// included (tokio-postgres reads it as it always did); empty pieces
    /// are dropped, not turned into a key tokio-postgres refuses.
    #[test]
    fn other_pieces_pass_untouched_and_empty_ones_are_dropped() {
        let (url, _) = split("postgres://db/x?password=pa%ss&&sslmode=disable&").unwrap();
        assert_eq!(url, "postgres://db/x?password=pa%ss&sslmode=disable");
        let (url, _) = split("postgres://db/x?").unwrap();
        assert_eq!(url, "postgres://db/x?sslmode=disable");
    }

    /// libpq's quoting in the key/value form: a password with two spaces
    /// stays as written, and `sslmode = 'verify-full'` is read.
    #[test]
    fn key_value_strings_keep_their_quotes_and_spaces() {
        let (url, wanted) =
            split(r"host=db password='a  b\\' sslmode = 'verify-full' user=s\ x").unwrap();
        assert_eq!(wanted.mode, Mode::VerifyFull);
        assert_eq!(url, r"host=db password='a  b\\' user=s\ x sslmode=require");
        assert!(split("host=db password='open").is_err());
        let err = split("host=db sslmode").unwrap_err();
        assert!(!err.contains("host"), "{err}");
    }

    #[test]
    fn unknown_modes_and_a_root_without_tls_are_refused() {
        let bad = split("postgres://db/x?sslmode=sometimes").unwrap_err();
        assert!(bad.contains("sslmode=sometimes"), "{bad}");
        let lone = split("postgres://db/x?sslrootcert=/ca.pem").unwrap_err();
        assert!(lone.contains("sslmode"), "{lone}");
        let escape = split("postgres://db/x?sslrootcert=%zz&sslmode=require").unwrap_err();
        assert!(
            !escape.contains("%zz"),
            "the value is not repeated: {escape}"
        );
        assert!(split("postgres://db/x?x_sslmode=require").is_err());
        // After an `@` in the query, tokio-postgres would read it all as
        // user and password: refused, not taken for a plain connection.
        assert!(split("postgres://db/x?application_name=a@b&sslmode=verify-full").is_err());
    }

    #[test]
    fn a_root_file_without_certificates_is_said() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("empty.pem");
        std::fs::write(&file, "not a certificate\n").unwrap();
        let err = roots(Some(&file)).unwrap_err();
        assert!(err.contains("no certificate"), "{err}");
        let missing = roots(Some(&dir.path().join("missing.pem"))).unwrap_err();
        assert!(missing.contains("missing.pem"), "{missing}");
    }
}
