//! Sessions shared across steps: one login per vCenter, user and trust
//! settings, reused by every step that connects the same way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::OnceCell;

use super::client::Client;
use super::connection::ConnectionConfig;
use super::error::VsphereError;

/// Logged-in clients by connection. The whole configuration is the key
/// (password and trust included): a step with other credentials or a
/// stricter TLS setting never borrows another step's session.
#[derive(Debug, Clone, Default)]
pub struct SessionCache {
    sessions: Arc<Mutex<HashMap<ConnectionConfig, Arc<OnceCell<Client>>>>>,
}

impl SessionCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-wide cache. vCenter limits sessions per user, and a
    /// login costs a round trip plus an audit event: every action of this
    /// crate, and a `snapshot` dispatcher in another crate, share it.
    pub fn global() -> &'static SessionCache {
        static GLOBAL: OnceLock<SessionCache> = OnceLock::new();
        GLOBAL.get_or_init(SessionCache::new)
    }

    /// A logged-in client for `config`, logging in on first use. Two steps
    /// asking at once share one login.
    pub async fn client(&self, config: &ConnectionConfig) -> Result<Client, VsphereError> {
        let cell = self
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(config.clone())
            .or_default()
            .clone();
        cell.get_or_try_init(|| Client::connect(config.clone()))
            .await
            .cloned()
    }
}
