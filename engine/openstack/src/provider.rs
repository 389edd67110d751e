//! The provider: configuration sources, HTTP clients and the token cache
//! that all its actions share.

use std::sync::Arc;
use std::time::Duration;

use shutter_dsl::ActionSpec;
use shutter_runtime::{Action, ActionContext, ActionError};

use crate::config::{self, ConfigSources};
use crate::session::Session;
use crate::tokens::TokenCache;

/// OpenStack actions sharing one configuration and one token cache.
#[derive(Debug, Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    sources: ConfigSources,
    client: reqwest::Client,
    /// For clouds with `verify: false` (self-signed lab certificates).
    insecure: reqwest::Client,
    tokens: TokenCache,
}

fn client(verify: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .danger_accept_invalid_certs(!verify)
        .build()
        .unwrap_or_default()
}

impl Provider {
    pub fn new(sources: ConfigSources) -> Self {
        Self {
            inner: Arc::new(Inner {
                sources,
                client: client(true),
                insecure: client(false),
                tokens: TokenCache::default(),
            }),
        }
    }

    /// Every action, each with its catalog entry.
    pub fn actions(&self) -> Vec<(ActionSpec, Arc<dyn Action>)> {
        crate::actions::all(self)
    }

    /// The action named `name` (e.g. `openstack.image.create`).
    pub fn action(&self, name: &str) -> Option<Arc<dyn Action>> {
        self.actions()
            .into_iter()
            .find(|(spec, _)| spec.name == name)
            .map(|(_, action)| action)
    }

    /// How many tokens Keystone has issued to this provider.
    pub fn authentications(&self) -> u64 {
        self.inner.tokens.issued()
    }

    /// Makes every cached token one Keystone never issued, so the next call
    /// gets a real 401 and must authenticate again. For tests.
    #[doc(hidden)]
    pub async fn spoil_cached_tokens(&self) {
        self.inner.tokens.spoil().await;
    }

    pub(crate) fn client(&self, verify: bool) -> &reqwest::Client {
        if verify {
            &self.inner.client
        } else {
            &self.inner.insecure
        }
    }

    pub(crate) fn tokens(&self) -> &TokenCache {
        &self.inner.tokens
    }

    /// The session for the step's `cloud` parameter (or the default cloud).
    pub(crate) fn session(&self, ctx: &ActionContext) -> Result<Session, ActionError> {
        let name = ctx.params.get("cloud").and_then(serde_json::Value::as_str);
        let cloud = config::load(&self.inner.sources, name).map_err(ActionError::Fatal)?;
        Ok(Session::new(self.clone(), cloud))
    }
}
