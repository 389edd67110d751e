//! One cloud, ready for calls: its endpoints, its token, and a 401 answered
//! by authenticating once more.

use std::sync::Arc;

use reqwest::{Client, RequestBuilder, Response, StatusCode};
use shutter_runtime::ActionError;

use crate::auth::Token;
use crate::config::Cloud;
use crate::error;
use crate::provider::Provider;

#[derive(Debug, Clone)]
pub(crate) struct Session {
    provider: Provider,
    pub(crate) cloud: Arc<Cloud>,
}

/// Where one call goes and with which token.
#[derive(Debug)]
pub(crate) struct Target {
    /// The service's base URL, without a trailing `/`.
    pub(crate) base: String,
    token: Option<Arc<Token>>,
}

impl Target {
    pub(crate) fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(token) => request.header("X-Auth-Token", &token.id.0),
            None => request,
        }
    }
}

impl Session {
    pub(crate) fn new(provider: Provider, cloud: Cloud) -> Self {
        Self {
            provider,
            cloud: Arc::new(cloud),
        }
    }

    pub(crate) fn client(&self) -> &Client {
        self.provider.client(self.cloud.verify_tls)
    }

    /// For sources with `source_verify_tls: false`.
    pub(crate) fn insecure_client(&self) -> &Client {
        self.provider.client(false)
    }

    /// The base URL and token for `service` (`image`, `compute`): an
    /// endpoint override wins over the catalog.
    pub(crate) async fn target(&self, service: &str) -> Result<Target, ActionError> {
        let token = self
            .provider
            .tokens()
            .get(self.client(), &self.cloud)
            .await?;
        let base = match (self.cloud.endpoint_override(service), &token) {
            (Some(url), _) => url.to_owned(),
            (None, Some(token)) => token
                .endpoint(service, &self.cloud)
                .map_err(ActionError::Fatal)?,
            (None, None) => {
                return Err(ActionError::Fatal(format!(
                    "cloud `{}`: no `{service}_endpoint_override` and no Keystone to ask",
                    self.cloud.name
                )));
            }
        };
        Ok(Target {
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
    }

    /// After a 401: whether to try once more (the token is dropped so the
    /// next target gets a new one). Without a token there is nothing to renew.
    pub(crate) async fn rejected(&self, target: &Target) -> bool {
        match &target.token {
            Some(token) => {
                self.provider.tokens().forget(&self.cloud, token).await;
                true
            }
            None => false,
        }
    }

    /// Sends a request built by `build` from the service's base URL; a 401
    /// renews the token and sends it once more. Returns any other answer,
    /// success or not: the caller decides what a status means.
    pub(crate) async fn send(
        &self,
        service: &str,
        what: &str,
        build: impl Fn(&Client, &str) -> RequestBuilder,
    ) -> Result<Response, ActionError> {
        let mut retried = false;
        loop {
            let target = self.target(service).await?;
            let request = target.authorize(build(self.client(), &target.base));
            let response = request
                .send()
                .await
                .map_err(|e| error::transport(what, &e))?;
            if response.status() == StatusCode::UNAUTHORIZED
                && !retried
                && self.rejected(&target).await
            {
                retried = true;
                continue;
            }
            return Ok(response);
        }
    }

    /// [`Session::send`], then any non-2xx answer is an error.
    pub(crate) async fn call(
        &self,
        service: &str,
        what: &str,
        build: impl Fn(&Client, &str) -> RequestBuilder,
    ) -> Result<Response, ActionError> {
        let response = self.send(service, what, build).await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(error::status(what, response).await)
        }
    }
}
