//! The provider kit: what every Shutter provider needs to talk to a cloud
//! over HTTP, written once so the clouds stop drifting apart.
//!
//! - `client`: one builder for `reqwest` clients — CA file, insecure flag,
//!   redirect policy, proxies, timeouts, user agent ([`HttpOptions`]).
//! - `failure`: one classifier — which transport errors and statuses are
//!   worth another try, an untrusted certificate fatal everywhere, causes
//!   kept ([`transport`], [`status`], [`retryable_status`]).
//! - `body`: response bodies read with a size cap ([`read_capped`], [`body`],
//!   [`json`], [`excerpt`]).
//! - `url`: URLs built from path segments, never by splicing text ([`join`]).
//! - `poll`: one polling loop with growth, cap, deadline and cancel
//!   ([`poll_until`]).
//!
//! Typed parameters and secret lookups are on the action context itself
//! (`ActionContext::params`, `ActionContext::secret` in `shutter-core`).

mod body;
mod client;
mod failure;
mod poll;
mod url;

pub use body::{BodyError, body, excerpt, json, read_capped};
pub use client::{ClientError, HttpOptions, Proxy, Redirects};
pub use failure::{
    LastingTls, is_untrusted_certificate, lasting_tls_failure, retryable_status,
    retryable_status_code, status, transport,
};
pub use poll::{MIN_PAUSE, Poll, Polled, WaitEnded, poll_until};
pub use url::join;
