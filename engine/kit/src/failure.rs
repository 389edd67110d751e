//! One classifier for what went wrong on the wire: whether another try may
//! help, decided once here and never by matching message text.

use std::error::Error as StdError;

use reqwest::StatusCode;
use shutter_core::ActionError;

/// A failure to get an answer from a server, classified with its causes
/// kept. An untrusted certificate and a request that cannot be built are
/// fatal; everything else (refused, reset, timed out) is retryable. `what`
/// names the call (`GET images`); the URL is dropped from the error, as it
/// may carry credentials.
pub fn transport(what: &str, err: reqwest::Error) -> ActionError {
    let builder = err.is_builder();
    let tls = lasting_tls_failure(&err);
    let err = err.without_url();
    if tls == Some(LastingTls::Untrusted) {
        ActionError::fatal(format!(
            "{what}: the server's TLS certificate is not trusted: add its CA (`ca_file`, clouds.yaml `cacert`), or turn verification off only for a test server"
        ))
        .because(err)
    } else if tls == Some(LastingTls::Impossible) {
        ActionError::fatal(format!(
            "{what}: no TLS session is possible with this server (is it TLS on this port, and a protocol version it shares?)"
        ))
        .because(err)
    } else if builder {
        ActionError::fatal(format!("{what}: the request cannot be sent")).because(err)
    } else if err.is_timeout() {
        ActionError::retryable(format!("{what}: no answer in time")).because(err)
    } else {
        ActionError::retryable(format!("{what}: no answer")).because(err)
    }
}

/// Whether a status may turn out differently on a later try: a server
/// error, a request timeout (408) or throttling (429).
pub fn retryable_status(status: StatusCode) -> bool {
    retryable_status_code(status.as_u16())
}

/// [`retryable_status`] for a status as a number (an SDK's own response
/// type): 5xx, 408 or 429.
pub fn retryable_status_code(status: u16) -> bool {
    (500..600).contains(&status) || status == 408 || status == 429
}

/// An answer with an unexpected status, classified by
/// [`retryable_status`]; `said` is what the server said (an excerpt).
pub fn status(what: &str, status: StatusCode, said: &str) -> ActionError {
    let message = if said.is_empty() {
        format!("{what}: {status}")
    } else {
        format!("{what}: {status}: {said}")
    };
    if retryable_status(status) {
        ActionError::retryable(message)
    } else {
        ActionError::fatal(message)
    }
}

/// A TLS failure another try cannot mend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastingTls {
    /// The server's certificate is not trusted (unknown issuer, expired,
    /// wrong name, refused by the peer).
    Untrusted,
    /// The two sides cannot agree at all: no shared version or cipher, no
    /// certificate, or not TLS on that port.
    Impossible,
}

/// Whether `err` (or any of its causes) is a TLS certificate the client
/// does not trust, found by type through the whole chain.
pub fn is_untrusted_certificate(err: &(dyn StdError + 'static)) -> bool {
    lasting_tls_failure(err) == Some(LastingTls::Untrusted)
}

/// The TLS failure behind `err` that another try cannot mend, if any,
/// found by type through the whole chain.
pub fn lasting_tls_failure(err: &(dyn StdError + 'static)) -> Option<LastingTls> {
    let mut next = Some(err);
    while let Some(cause) = next {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return lasting(tls);
        }
        // `io::Error` hides its payload from `source()` (it answers the
        // payload's own source), and hyper wraps one `io::Error` in another:
        // step into the payload instead.
        next = match cause.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(payload) => Some(payload as &(dyn StdError + 'static)),
                None => cause.source(),
            },
            None => cause.source(),
        };
    }
    None
}

fn lasting(err: &rustls::Error) -> Option<LastingTls> {
    use rustls::AlertDescription as Alert;
    match err {
        rustls::Error::InvalidCertificate(_)
        | rustls::Error::AlertReceived(
            Alert::BadCertificate
            | Alert::UnsupportedCertificate
            | Alert::CertificateRevoked
            | Alert::CertificateExpired
            | Alert::CertificateUnknown
            | Alert::UnknownCA,
        ) => Some(LastingTls::Untrusted),
        rustls::Error::PeerIncompatible(_)
        | rustls::Error::NoCertificatesPresented
        | rustls::Error::InvalidMessage(_)
        | rustls::Error::AlertReceived(
            Alert::HandshakeFailure | Alert::ProtocolVersion | Alert::InsufficientSecurity,
        ) => Some(LastingTls::Impossible),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_worth_another_try() {
        for code in [500, 502, 503, 504, 408, 429] {
            let status = StatusCode::from_u16(code).expect("a status");
            assert!(retryable_status(status), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 413] {
            let status = StatusCode::from_u16(code).expect("a status");
            assert!(!retryable_status(status), "{code}");
        }
        let err = status("GET images", StatusCode::REQUEST_TIMEOUT, "slow");
        assert!(err.is_retryable());
        assert_eq!(err.message(), "GET images: 408 Request Timeout: slow");
    }

    #[test]
    fn a_certificate_error_is_found_inside_an_io_error() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        assert!(is_untrusted_certificate(&io));
        // As hyper gives it: one `io::Error` inside another.
        let wrapped = std::io::Error::other(io);
        assert!(is_untrusted_certificate(&wrapped));
        let other = std::io::Error::other("connection reset");
        assert!(!is_untrusted_certificate(&other));
        assert_eq!(lasting_tls_failure(&other), None);
        // TLS spoken to a plain-HTTP port: no later try will do better.
        let plain = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
        ));
        assert_eq!(lasting_tls_failure(&plain), Some(LastingTls::Impossible));
        assert!(!is_untrusted_certificate(&plain));
    }
}
