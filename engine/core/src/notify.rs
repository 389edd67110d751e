//! Webhooks: what an execution tells the receivers its workflow's
//! `notify:` names, and the [`Notifier`] that delivers it (the HTTP one
//! lives in `shutter-providers`; the runtime only knows this trait).

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// What happened, as a receiver is told (the `event` of the body and the
/// `Shutter-Event` header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyEvent {
    Started,
    Succeeded,
    SucceededWithErrors,
    Failed,
    Canceled,
    StepFailed,
}

impl NotifyEvent {
    pub const ALL: [Self; 6] = [
        Self::Started,
        Self::Succeeded,
        Self::SucceededWithErrors,
        Self::Failed,
        Self::Canceled,
        Self::StepFailed,
    ];

    /// What a `notify:` entry that names no `events` sends: how every
    /// execution ends.
    pub const ENDINGS: [Self; 4] = [
        Self::Succeeded,
        Self::SucceededWithErrors,
        Self::Failed,
        Self::Canceled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Started => "started",
            Self::Succeeded => "succeeded",
            Self::SucceededWithErrors => "succeeded_with_errors",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::StepFailed => "step_failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|event| event.as_str() == text)
    }
}

impl fmt::Display for NotifyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one notification goes.
#[derive(Clone, PartialEq, Eq)]
pub struct Target {
    /// What the record shows: the sink's name, or the URL without its
    /// query and credentials.
    pub name: String,
    pub url: String,
    /// The key the body is signed with (HMAC-SHA256), when there is one.
    pub secret: Option<String>,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("signed", &self.secret.is_some())
            .finish_non_exhaustive()
    }
}

/// How one delivery went, after all its tries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// A 2xx answer came.
    pub delivered: bool,
    /// The last answer's status, if one came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub tries: u32,
    /// Why the last try failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Delivers notifications.
#[async_trait]
pub trait Notifier: Send + Sync + fmt::Debug {
    /// Sends `body` (JSON) for `event` to `target`, signed when the target
    /// has a secret, trying again with backoff on a transport error, 408,
    /// 429 or 5xx, until it is delivered, refused (another 4xx), out of
    /// tries, or `cancel` is canceled. It never fails: the [`Delivery`]
    /// says how it went. `id` is the delivery's own id (the
    /// `Shutter-Delivery` header), the same on every try.
    async fn deliver(
        &self,
        target: &Target,
        event: NotifyEvent,
        id: &str,
        body: &[u8],
        cancel: &CancellationToken,
    ) -> Delivery;
}

/// The config file's section of named receivers: `notify: {sinks: {ops:
/// {url: ..., secret: ops_hook}}}`, which a workflow names with `sink:`.
pub const NOTIFY_SECTION: &str = "notify";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifySection {
    #[serde(default)]
    pub sinks: std::collections::BTreeMap<String, Sink>,
}

/// A named receiver.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sink {
    pub url: String,
    /// The name of the secret whose value signs the body (its value comes
    /// from `SHUTTER_SECRET_<NAME>`, as the workflows' secrets do).
    #[serde(default)]
    pub secret: Option<String>,
}

/// A URL as a record may show it: without its query, fragment or
/// credentials (they may hold tokens).
pub fn shown_url(url: &str) -> String {
    let cut = url.find(['?', '#']).map_or(url, |end| &url[..end]);
    match cut.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => cut.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_keeps_no_token() {
        assert_eq!(
            shown_url("https://user:pw@hooks.example/a/b?token=x#f"),
            "https://hooks.example/a/b"
        );
        assert_eq!(shown_url("http://127.0.0.1:9/"), "http://127.0.0.1:9/");
    }

    #[test]
    fn events_read_back_by_name() {
        for event in NotifyEvent::ALL {
            assert_eq!(NotifyEvent::parse(event.as_str()), Some(event));
        }
        assert_eq!(NotifyEvent::parse("done"), None);
    }
}
