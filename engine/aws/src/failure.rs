//! SDK errors as action errors, grouped by what the engine does next:
//! throttling, 5xx, timeouts and connection failures may pass if tried
//! again; everything AWS refuses for a reason (`*.NotFound`,
//! `UnauthorizedOperation`, `InvalidParameter*`, any other 4xx) will not,
//! and keeps AWS's own code and message.

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use shutter_core::ActionError;

/// `operation` is the EC2 API name (`CreateSnapshot`), `on` what it acted on
/// (`vol-0abc`), empty when nothing in particular.
pub(crate) fn aws_error<E>(operation: &str, on: &str, err: &SdkError<E>) -> ActionError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let what = if on.is_empty() {
        format!("aws ec2 {operation}")
    } else {
        format!("aws ec2 {operation} on {on}")
    };
    match err {
        SdkError::ServiceError(service) => {
            let code = err.code().unwrap_or("UnknownError");
            let message = match err.message() {
                Some(message) if !message.is_empty() => format!("{what}: {code}: {message}"),
                _ => format!("{what}: {code}"),
            };
            if retryable_code(code)
                || shutter_kit::retryable_status_code(service.raw().status().as_u16())
            {
                ActionError::retryable(message)
            } else {
                ActionError::fatal(message)
            }
        }
        SdkError::TimeoutError(_) => ActionError::retryable(format!("{what}: timed out")),
        SdkError::DispatchFailure(failure) => {
            let message = format!("{what}: {}", DisplayErrorContext(err));
            // A user error is a request that cannot be sent (a bad
            // endpoint URL), and a lasting TLS failure (an untrusted
            // certificate, no TLS on that port) stays; every other
            // dispatch failure is the network's.
            if failure.is_user() || shutter_kit::lasting_tls_failure(err).is_some() {
                ActionError::fatal(message)
            } else {
                ActionError::retryable(message)
            }
        }
        SdkError::ResponseError(response) => {
            let message = format!("{what}: unreadable response: {}", DisplayErrorContext(err));
            if shutter_kit::retryable_status_code(response.raw().status().as_u16()) {
                ActionError::retryable(message)
            } else {
                ActionError::fatal(message)
            }
        }
        _ => ActionError::fatal(format!("{what}: {}", DisplayErrorContext(err))),
    }
}

/// AWS error codes that clear by themselves: throttling, transient
/// service trouble, and limits on work in flight.
fn retryable_code(code: &str) -> bool {
    code.starts_with("Throttling")
        || matches!(
            code,
            "RequestLimitExceeded"
                | "RequestThrottled"
                | "RequestThrottledException"
                | "TooManyRequestsException"
                | "EC2ThrottledException"
                | "SlowDown"
                | "PriorRequestNotComplete"
                | "InternalError"
                | "InternalFailure"
                | "ServiceUnavailable"
                | "Unavailable"
                | "RequestTimeout"
                | "RequestTimeoutException"
                | "IDPCommunicationError"
                // Too many snapshots of one volume, or too many in flight:
                // both clear as earlier snapshots complete.
                | "SnapshotCreationPerVolumeRateExceeded"
                | "ConcurrentSnapshotLimitExceeded"
                | "ResourceLimitExceeded"
        )
}

/// Whether an error says the resource does not exist (or no longer does).
pub(crate) fn is_gone<E>(err: &SdkError<E>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.code()
        .is_some_and(|code| code.ends_with(".NotFound") || code == "InvalidAMIID.Unavailable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_transient_codes_are_retryable() {
        for code in [
            "RequestLimitExceeded",
            "Throttling",
            "ThrottlingException",
            "InternalError",
            "ServiceUnavailable",
            "SnapshotCreationPerVolumeRateExceeded",
        ] {
            assert!(retryable_code(code), "{code}");
        }
    }

    #[test]
    fn refusals_are_not_retryable() {
        for code in [
            "InvalidVolume.NotFound",
            "InvalidSnapshot.NotFound",
            "UnauthorizedOperation",
            "InvalidParameterValue",
            "InvalidParameterCombination",
            "AuthFailure",
            "IncorrectState",
        ] {
            assert!(!retryable_code(code), "{code}");
        }
        assert!(shutter_kit::retryable_status_code(503) && shutter_kit::retryable_status_code(408));
        assert!(
            !shutter_kit::retryable_status_code(400) && !shutter_kit::retryable_status_code(403)
        );
    }
}
