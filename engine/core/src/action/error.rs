//! How an action failed, classified once where the failure is understood
//! (a provider's HTTP client, an SDK error), with its cause kept for the
//! record: the engine records [`ActionError::report`], the message and
//! every cause, rendered once.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use crate::store::StoreError;

/// What caused a failure: any error, shared (an `ActionError` is cloned
/// into records and retries).
#[derive(Clone)]
pub struct Cause(Arc<dyn StdError + Send + Sync>);

impl Cause {
    pub fn new(error: impl StdError + Send + Sync + 'static) -> Self {
        Self(Arc::new(error))
    }

    /// The error itself, to inspect its type.
    pub fn get(&self) -> &(dyn StdError + Send + Sync + 'static) {
        self.0.as_ref()
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl StdError for Cause {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.0.source()
    }
}

/// How an action failed, grouped by what the engine does next.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ActionError {
    /// May succeed if tried again (the step's `retry` policy decides).
    #[error("{message}")]
    Retryable {
        message: String,
        #[source]
        source: Option<Cause>,
    },
    /// Will not succeed by trying again.
    #[error("{message}")]
    Fatal {
        message: String,
        #[source]
        source: Option<Cause>,
    },
    /// The step was canceled while running.
    #[error("canceled")]
    Canceled,
}

impl ActionError {
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::Retryable {
            message: message.into(),
            source: None,
        }
    }

    pub fn fatal(message: impl Into<String>) -> Self {
        Self::Fatal {
            message: message.into(),
            source: None,
        }
    }

    /// The same failure, caused by `source`.
    #[must_use]
    pub fn because(self, source: impl StdError + Send + Sync + 'static) -> Self {
        let cause = Some(Cause::new(source));
        match self {
            Self::Retryable { message, .. } => Self::Retryable {
                message,
                source: cause,
            },
            Self::Fatal { message, .. } => Self::Fatal {
                message,
                source: cause,
            },
            Self::Canceled => Self::Canceled,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Retryable { .. })
    }

    /// The message alone (without its causes).
    pub fn message(&self) -> &str {
        match self {
            Self::Retryable { message, .. } | Self::Fatal { message, .. } => message,
            Self::Canceled => "canceled",
        }
    }

    /// The same kind and cause, with the message rewritten (a dispatching
    /// action prefixes the provider's name, say).
    #[must_use]
    pub fn map_message(self, f: impl FnOnce(String) -> String) -> Self {
        match self {
            Self::Retryable { message, source } => Self::Retryable {
                message: f(message),
                source,
            },
            Self::Fatal { message, source } => Self::Fatal {
                message: f(message),
                source,
            },
            Self::Canceled => Self::Canceled,
        }
    }

    /// The message and every cause, as recorded: `message: cause: cause`.
    /// A cause whose text the message already ends with is not repeated.
    pub fn report(&self) -> String {
        let mut out = self.message().to_owned();
        let mut next = StdError::source(self);
        while let Some(cause) = next {
            let text = cause.to_string();
            if !text.is_empty() && !out.ends_with(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            next = cause.source();
        }
        out
    }
}

/// Two errors are alike when they are of the same kind with the same
/// message (causes are not compared).
impl PartialEq for ActionError {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && self.message() == other.message()
    }
}

impl Eq for ActionError {}

impl From<StoreError> for ActionError {
    fn from(err: StoreError) -> Self {
        match &err {
            StoreError::Unavailable(message) => {
                Self::retryable(format!("store unavailable: {message}"))
            }
            _ => Self::fatal(err.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection refused")]
    struct Refused;

    #[derive(Debug, thiserror::Error)]
    #[error("error sending request")]
    struct Send(#[source] Refused);

    #[test]
    fn a_report_names_every_cause_once() {
        let err = ActionError::retryable("GET http://x").because(Send(Refused));
        assert!(err.is_retryable());
        assert_eq!(err.message(), "GET http://x");
        assert_eq!(
            err.report(),
            "GET http://x: error sending request: connection refused"
        );
        let said = ActionError::fatal("boom: connection refused").because(Refused);
        assert_eq!(said.report(), "boom: connection refused");
        assert_eq!(
            ActionError::fatal("x"),
            ActionError::fatal("x").because(Refused)
        );
        assert_ne!(ActionError::fatal("x"), ActionError::retryable("x"));
    }
}
