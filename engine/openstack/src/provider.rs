//! The provider: configuration sources, HTTP clients and the token cache
//! that all its actions share.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use shutter_core::{Action, ActionContext, ActionError, ActionSpec, action_params};
use shutter_kit::{HttpOptions, Redirects};

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
    /// One client per way of trusting servers, built on first use.
    clients: Mutex<HashMap<Trust, reqwest::Client>>,
    tokens: TokenCache,
}

/// How a client trusts the server it talks to, and whether it follows
/// redirects (only a data source does, and only on the same host).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Trust {
    pub(crate) verify: bool,
    pub(crate) cacert: Option<PathBuf>,
    pub(crate) redirects: Redirects,
}

/// The `cloud` parameter every OpenStack action takes; none (or `""`)
/// is the default cloud.
#[action_params]
#[derive(Deserialize)]
pub(crate) struct CloudParam {
    /// The clouds.yaml entry (default: `OS_CLOUD`, else the `envvars` cloud of
    /// `OS_*` variables).
    cloud: Option<String>,
}

impl Provider {
    pub fn new(sources: ConfigSources) -> Self {
        Self {
            inner: Arc::new(Inner {
                sources,
                clients: Mutex::default(),
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

    /// The client for `trust`. Streams are bounded by the step's timeout,
    /// so no whole-request deadline; connecting has one.
    pub(crate) fn client(&self, trust: &Trust) -> Result<reqwest::Client, ActionError> {
        let mut clients = self
            .inner
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(trust) {
            return Ok(client.clone());
        }
        let client = HttpOptions {
            ca_file: trust.cacert.clone(),
            insecure: !trust.verify,
            redirects: trust.redirects,
            timeout: None,
            ..HttpOptions::default()
        }
        .build()
        .map_err(|e| ActionError::fatal(e.0))?;
        clients.insert(trust.clone(), client.clone());
        Ok(client)
    }

    pub(crate) fn tokens(&self) -> &TokenCache {
        &self.inner.tokens
    }

    /// The session for the step's `cloud` parameter (or the default cloud).
    pub(crate) fn session(&self, ctx: &ActionContext) -> Result<Session, ActionError> {
        let CloudParam { cloud: name } = ctx.params()?;
        let cloud =
            config::load(&self.inner.sources, name.as_deref()).map_err(ActionError::fatal)?;
        Ok(Session::new(self.clone(), cloud))
    }
}
