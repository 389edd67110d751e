//! Webhooks over HTTP: the [`Notifier`](shutter_core::notify::Notifier)
//! the engine uses to tell receivers what its executions did.
//!
//! # What is sent
//! A `POST` to the target's URL with the JSON body as given, and headers:
//! - `Content-Type: application/json`;
//! - `Shutter-Event`: what happened (`failed`, `succeeded`...);
//! - `Shutter-Delivery`: the delivery's id, the same on every try, so a
//!   receiver can drop a repeat;
//! - `Shutter-Signature`, when the target has a secret:
//!   `t=<Unix seconds>,v1=<hex>`.
//!
//! # Checking the signature
//! A receiver takes `t` as written in the header, computes HMAC-SHA256
//! with the secret as key over `t + "." + raw body` (the bytes received,
//! before any JSON parsing), writes it as lowercase hex, and compares it
//! with each `v1` in constant time. It rejects a `t` too far from its own
//! clock (five minutes is usual), so a captured request cannot be
//! replayed. [`sign::verify`] does all of this. The signature is computed
//! afresh on each try, so `t` is the time of that try.
//!
//! # Retries
//! A 2xx delivers. No answer, 408, 429 or 5xx is tried again after a wait
//! that doubles ([`Backoff`]: 1 s, 2 s, 4 s... at most 30 s, five tries),
//! or after the receiver's `Retry-After` in seconds (at most the same
//! cap). Any other status is a refusal, not tried again; so is a request
//! that cannot be sent (an untrusted certificate). Redirects are not
//! followed: the signed body goes only where the workflow said. A cancel
//! ends the delivery at once, between tries or during one.
//!
//! The record ([`Delivery`](shutter_core::notify::Delivery)) names the
//! receiver by the target's name, never by its URL, whose query may carry
//! a token.

mod deliver;
pub mod sign;

use std::time::Duration;

use shutter_kit::{ClientError, HttpOptions, Proxy, Redirects};

pub use deliver::Backoff;

/// Delivers notifications with `reqwest`, signed and retried (`deliver`
/// implements the engine's `Notifier` for it).
#[derive(Debug, Clone)]
pub struct HttpNotifier {
    client: reqwest::Client,
    backoff: Backoff,
}

impl HttpNotifier {
    /// With the default [`Backoff`].
    pub fn new() -> Result<Self, ClientError> {
        Self::with_backoff(Backoff::default())
    }

    pub fn with_backoff(backoff: Backoff) -> Result<Self, ClientError> {
        let client = HttpOptions {
            // The signed body goes to the URL the workflow names, nowhere else.
            redirects: Redirects::None,
            // Receivers outside the network are reached as other servers are.
            proxy: Proxy::FromEnv,
            connect_timeout: Duration::from_secs(5),
            // Per try: a slow receiver costs a try, not the whole delivery.
            timeout: Some(Duration::from_secs(10)),
            ..HttpOptions::default()
        }
        .build()?;
        Ok(Self { client, backoff })
    }
}
