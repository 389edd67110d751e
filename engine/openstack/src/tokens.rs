//! Tokens reused until shortly before they expire, one per distinct auth
//! configuration, shared by every action of a [`crate::Provider`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};
use shutter_core::ActionError;

use crate::auth::{self, Token};
use crate::config::Cloud;

/// A token is renewed when less than this is left, so no call starts with a
/// token about to expire.
const REFRESH_MARGIN: chrono::Duration = chrono::Duration::minutes(2);

#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    /// Held while authenticating, so concurrent steps of one cloud wait for
    /// one token instead of each asking Keystone.
    entries: tokio::sync::Mutex<HashMap<String, Arc<Token>>>,
    issued: AtomicU64,
}

/// The cache key: a digest of the auth section, so two clouds with the same
/// credentials share a token and secrets are not kept as map keys.
fn key(cloud: &Cloud) -> String {
    let canonical = serde_json::to_vec(&cloud.auth).unwrap_or_default();
    hex::encode(Sha256::digest(&canonical))
}

impl TokenCache {
    /// A valid token for `cloud`, or `None` for `auth_type: none`.
    pub(crate) async fn get(
        &self,
        client: &reqwest::Client,
        cloud: &Cloud,
    ) -> Result<Option<Arc<Token>>, ActionError> {
        if matches!(cloud.auth, crate::config::Auth::None) {
            return Ok(None);
        }
        let key = key(cloud);
        let mut entries = self.entries.lock().await;
        if let Some(token) = entries.get(&key)
            && token.fresh(chrono::Utc::now(), REFRESH_MARGIN)
        {
            return Ok(Some(token.clone()));
        }
        let Some(token) = auth::authenticate(client, cloud).await? else {
            return Ok(None);
        };
        self.issued.fetch_add(1, Ordering::Relaxed);
        let token = Arc::new(token);
        entries.insert(key, token.clone());
        Ok(Some(token))
    }

    /// Drops `token` after a 401, unless another call already replaced it.
    pub(crate) async fn forget(&self, cloud: &Cloud, token: &Token) {
        let mut entries = self.entries.lock().await;
        let key = key(cloud);
        if entries.get(&key).is_some_and(|t| t.id == token.id) {
            entries.remove(&key);
        }
    }

    /// How many tokens Keystone issued to this cache.
    pub(crate) fn issued(&self) -> u64 {
        self.issued.load(Ordering::Relaxed)
    }

    /// Replaces every cached token's id with one Keystone never issued,
    /// keeping its catalog: the next call meets a real 401.
    pub(crate) async fn spoil(&self) {
        let mut entries = self.entries.lock().await;
        for token in entries.values_mut() {
            *token = Arc::new(token.spoiled());
        }
    }
}
