//! One delivery: tries with backoff until an answer settles it, the tries
//! run out, or the delivery is canceled.

use std::time::Duration;

use async_trait::async_trait;
use shutter_core::notify::{Delivery, Notifier, NotifyEvent, Target};
use tokio_util::sync::CancellationToken;

use super::HttpNotifier;
use super::sign::signature_header;

/// How often and how patiently a delivery is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Tries in all, the first included (at least one is made).
    pub tries: u32,
    /// The wait after the first failed try, doubled after each further one.
    pub first: Duration,
    /// The longest wait, also the cap on a receiver's `Retry-After`.
    pub max: Duration,
}

impl Default for Backoff {
    /// Five tries, waiting 1, 2, 4 and 8 s between them: a receiver that
    /// restarts is waited for, one that is down does not hold the
    /// execution's notifications for long.
    fn default() -> Self {
        Self {
            tries: 5,
            first: Duration::from_secs(1),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The wait after the `failed`-th failed try (counted from 1).
    fn wait_after(&self, failed: u32) -> Duration {
        let factor = 2u32.saturating_pow(failed.saturating_sub(1));
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// How one try went.
enum Tried {
    /// A 2xx answer.
    Delivered { status: u16 },
    /// Worth another try: no answer, 408, 429 or 5xx.
    Again {
        status: Option<u16>,
        error: String,
        retry_after: Option<Duration>,
    },
    /// Another try would go the same way: another status, or a request
    /// that cannot be sent (an untrusted certificate, a bad URL).
    Refused { status: Option<u16>, error: String },
}

#[async_trait]
impl Notifier for HttpNotifier {
    /// Tries `body` on `target` as [`Backoff`] allows; see the module
    /// documentation of `notify` for what is sent.
    async fn deliver(
        &self,
        target: &Target,
        event: NotifyEvent,
        id: &str,
        body: &[u8],
        cancel: &CancellationToken,
    ) -> Delivery {
        let (client, backoff) = (&self.client, &self.backoff);
        let tries = backoff.tries.max(1);
        let mut delivery = Delivery {
            delivered: false,
            status: None,
            tries: 0,
            error: None,
        };
        for attempt in 1..=tries {
            if cancel.is_cancelled() {
                return canceled(delivery);
            }
            delivery.tries = attempt;
            let tried = tokio::select! {
                () = cancel.cancelled() => return canceled(delivery),
                tried = try_once(client, target, event, id, body) => tried,
            };
            let wait = match tried {
                Tried::Delivered { status } => {
                    delivery.delivered = true;
                    delivery.status = Some(status);
                    delivery.error = None;
                    return delivery;
                }
                Tried::Refused { status, error } => {
                    delivery.status = status.or(delivery.status);
                    delivery.error = Some(error);
                    return delivery;
                }
                Tried::Again {
                    status,
                    error,
                    retry_after,
                } => {
                    delivery.status = status.or(delivery.status);
                    delivery.error = Some(error);
                    retry_after.map_or_else(
                        || backoff.wait_after(attempt),
                        |asked| asked.min(backoff.max),
                    )
                }
            };
            if attempt < tries {
                tokio::select! {
                    () = cancel.cancelled() => return canceled(delivery),
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
        delivery
    }
}

/// The delivery so far, ended by a cancel.
fn canceled(delivery: Delivery) -> Delivery {
    Delivery {
        delivered: false,
        error: Some("canceled".to_owned()),
        ..delivery
    }
}

/// One POST of `body`, signed afresh (so the signature's timestamp is the
/// time of this try, not of the first).
async fn try_once(
    client: &reqwest::Client,
    target: &Target,
    event: NotifyEvent,
    id: &str,
    body: &[u8],
) -> Tried {
    let mut request = client
        .post(target.url.as_str())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Shutter-Event", event.as_str())
        .header("Shutter-Delivery", id)
        .body(body.to_vec());
    if let Some(secret) = &target.secret {
        let now = chrono::Utc::now().timestamp();
        request = request.header("Shutter-Signature", signature_header(secret, now, body));
    }
    // The target's name, never its URL: the query may carry a token.
    let receiver = format!("the receiver {}", target.name);
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) => {
            // Classified once, in the kit: an untrusted certificate or a
            // request that cannot be built is not worth another try.
            let failure = shutter_kit::transport(&receiver, err.without_url());
            let error = failure.report();
            return if failure.is_retryable() {
                Tried::Again {
                    status: None,
                    error,
                    retry_after: None,
                }
            } else {
                Tried::Refused {
                    status: None,
                    error,
                }
            };
        }
    };
    let status = response.status().as_u16();
    if response.status().is_success() {
        return Tried::Delivered { status };
    }
    let retry_after = retry_after(response.headers());
    let said = shortened(&shutter_kit::excerpt(response).await);
    let error = if said.is_empty() {
        format!("{receiver} answered {status}")
    } else {
        format!("{receiver} answered {status}: {said}")
    };
    if shutter_kit::retryable_status_code(status) {
        Tried::Again {
            status: Some(status),
            error,
            retry_after,
        }
    } else {
        Tried::Refused {
            status: Some(status),
            error,
        }
    }
}

/// Most characters of a receiver's answer kept in the record.
const SAID_CHARS: usize = 200;

/// `said`, cut at [`SAID_CHARS`] characters.
fn shortened(said: &str) -> String {
    match said.char_indices().nth(SAID_CHARS) {
        Some((at, _)) => format!("{}...", &said[..at]),
        None => said.to_owned(),
    }
}

/// A `Retry-After` given in seconds (the HTTP-date form is not used by
/// the receivers that throttle webhooks, and is ignored: the backoff
/// applies).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_cap() {
        let backoff = Backoff::default();
        let waits: Vec<u64> = (1..=7)
            .map(|failed| backoff.wait_after(failed).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(backoff.wait_after(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn retry_after_is_read_in_seconds_only() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(reqwest::header::RETRY_AFTER, " 7 ".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn a_long_answer_is_cut() {
        let long = "é".repeat(250);
        let cut = shortened(&long);
        assert_eq!(cut.chars().count(), SAID_CHARS + 3);
        assert!(cut.ends_with("..."));
        assert_eq!(shortened("short"), "short");
    }
}
