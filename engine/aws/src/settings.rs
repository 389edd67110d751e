//! Where requests go: the shared AWS configuration (the standard chain,
//! loaded once on first use) and an EC2 client per region and endpoint.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::Client;
use aws_sdk_ec2::config::Credentials;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use shutter_core::{ActionContext, ActionError};
use tokio::sync::OnceCell;

use crate::params::Located;

/// Overrides of the standard `aws-config` chain. Everything left `None`
/// comes from the chain (`AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`,
/// `~/.aws/config`, SSO, IMDS...). A step's `region` and `endpoint_url`
/// parameters take precedence over both.
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// The region of steps that name none.
    pub region: Option<String>,
    /// Send every request here (an emulator, a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// The profile of `~/.aws/config` to use instead of `AWS_PROFILE`'s.
    pub profile: Option<String>,
    /// Fixed credentials instead of the chain's (their `Debug` hides the secret).
    pub credentials: Option<Credentials>,
}

/// A client bound to one region, and that region's name for outputs and messages.
#[derive(Debug, Clone)]
pub(crate) struct Ec2 {
    pub(crate) client: Client,
    pub(crate) region: String,
}

/// The chain's configuration, loaded once, and the clients made from it.
#[derive(Debug)]
pub(crate) struct Clients {
    settings: AwsSettings,
    base: OnceCell<SdkConfig>,
    clients: Mutex<HashMap<(String, Option<String>), Client>>,
}

impl Clients {
    pub(crate) fn new(settings: AwsSettings) -> Self {
        Self {
            settings,
            base: OnceCell::new(),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The client for the step's `region` and `endpoint_url` parameters.
    pub(crate) async fn for_step(&self, ctx: &ActionContext) -> Result<Ec2, ActionError> {
        let located: Located = ctx.params()?;
        self.in_region(ctx, located.region.as_deref()).await
    }

    /// The client for `region` (or the configured one) and the step's `endpoint_url`.
    pub(crate) async fn in_region(
        &self,
        ctx: &ActionContext,
        region: Option<&str>,
    ) -> Result<Ec2, ActionError> {
        let endpoint = ctx.params::<Located>()?.endpoint_url;
        let base = self.base().await;
        let region = match region {
            Some(region) => region.to_owned(),
            None => base.region().map(ToString::to_string).ok_or_else(|| {
                ActionError::fatal(
                    "no aws region: set the step's `region`, AWS_REGION or a profile's `region`"
                        .to_owned(),
                )
            })?,
        };
        let key = (region.clone(), endpoint.clone());
        let mut clients = self
            .clients
            .lock()
            .expect("no panic while holding this lock");
        let client = clients
            .entry(key)
            .or_insert_with(|| {
                let mut config =
                    aws_sdk_ec2::config::Builder::from(base).region(Region::new(region.clone()));
                if let Some(url) = endpoint {
                    config = config.endpoint_url(url);
                }
                Client::from_conf(config.build())
            })
            .clone();
        Ok(Ec2 { client, region })
    }

    async fn base(&self) -> &SdkConfig {
        self.base
            .get_or_init(|| async {
                // hyper 1 + rustls on ring: the SDK's default client would
                // bring aws-lc-sys, its legacy one hyper 0.14 and rustls 0.21.
                let http = aws_smithy_http_client::Builder::new()
                    .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                    .build_https();
                let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http);
                let settings = &self.settings;
                if let Some(region) = &settings.region {
                    loader = loader.region(Region::new(region.clone()));
                }
                if let Some(url) = &settings.endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                if let Some(profile) = &settings.profile {
                    loader = loader.profile_name(profile);
                }
                if let Some(credentials) = &settings.credentials {
                    loader = loader.credentials_provider(credentials.clone());
                }
                loader.load().await
            })
            .await
    }
}
