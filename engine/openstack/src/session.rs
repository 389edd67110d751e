//! One cloud, ready for calls: its endpoints, its token, and a 401 answered
//! by authenticating once more.

use std::sync::Arc;

use reqwest::{Client, RequestBuilder, Response, StatusCode, Url};
use shutter_core::ActionError;
use shutter_kit::Redirects;

use crate::auth::Token;
use crate::config::Cloud;
use crate::error;
use crate::provider::{Provider, Trust};

#[derive(Debug, Clone)]
pub(crate) struct Session {
    provider: Provider,
    pub(crate) cloud: Arc<Cloud>,
}

/// Where one call goes and with which token.
#[derive(Debug)]
pub(crate) struct Target {
    /// The service's base URL.
    pub(crate) base: Url,
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

    /// The client for the cloud's APIs: its `verify` and `cacert`, no
    /// redirects (a token must not follow one to another host).
    pub(crate) fn client(&self) -> Result<Client, ActionError> {
        self.provider.client(&Trust {
            verify: self.cloud.verify_tls,
            cacert: self.cloud.cacert.clone(),
            redirects: Redirects::None,
        })
    }

    /// The client for a data source: redirects followed on the same host
    /// only, so secret headers never reach another server.
    pub(crate) fn source_client(&self, verify: bool) -> Result<Client, ActionError> {
        self.provider.client(&Trust {
            verify,
            cacert: self.cloud.cacert.clone(),
            redirects: Redirects::SameHost,
        })
    }

    /// The cloud's token, when it authenticates with Keystone.
    pub(crate) async fn token(&self) -> Result<Option<Arc<Token>>, ActionError> {
        self.provider
            .tokens()
            .get(&self.client()?, &self.cloud)
            .await
    }

    /// The base URL and token for `service` (`image`, `compute`): an
    /// endpoint override wins over the catalog.
    pub(crate) async fn target(&self, service: &str) -> Result<Target, ActionError> {
        let token = self.token().await?;
        let base = match (self.cloud.endpoint_override(service), &token) {
            (Some(url), _) => url.to_owned(),
            (None, Some(token)) => token
                .endpoint(service, &self.cloud)
                .map_err(ActionError::fatal)?,
            (None, None) => {
                return Err(ActionError::fatal(format!(
                    "cloud `{}`: no `{service}_endpoint_override` and no Keystone to ask",
                    self.cloud.name
                )));
            }
        };
        let base = Url::parse(&base).map_err(|e| {
            ActionError::fatal(format!(
                "cloud `{}`: the `{service}` endpoint `{base}` is not a URL: {e}",
                self.cloud.name
            ))
        })?;
        Ok(Target { base, token })
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
        build: impl Fn(&Client, &Url) -> Result<RequestBuilder, ActionError>,
    ) -> Result<Response, ActionError> {
        let client = self.client()?;
        let mut retried = false;
        loop {
            let target = self.target(service).await?;
            let request = target.authorize(build(&client, &target.base)?);
            let response = request
                .send()
                .await
                .map_err(|e| shutter_kit::transport(what, e))?;
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
        build: impl Fn(&Client, &Url) -> Result<RequestBuilder, ActionError>,
    ) -> Result<Response, ActionError> {
        let response = self.send(service, what, build).await?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(error::status(what, response).await)
        }
    }
}
