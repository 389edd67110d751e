//! The actions: one file each, with its catalog entry beside its code.

mod create;
mod create_image;
mod create_server;
mod delete;
mod delete_server;
mod download;
mod get;
mod list;
mod sync;
mod upload;
mod verify;
mod wait;

use serde::Deserialize;
use serde_json::Value as Json;
use shutter_core::action::{Run as _, with_params};
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionEntry, ActionError, action_params};

use crate::provider::{CloudParam, Provider};
use crate::source::SourceParams;

pub(crate) fn all(provider: &Provider) -> Vec<ActionEntry> {
    let state = || provider.clone();
    let actions = vec![
        list::ListImages::entry(state()),
        get::GetImage::entry(state()),
        create::CreateImage::entry(state()),
        with_params::<SourceParams>(upload::UploadImage::entry(state())),
        download::DownloadImage::entry(state()),
        with_params::<WaitParams>(wait::WaitImage::entry(state())),
        verify::VerifyImage::entry(state()),
        delete::DeleteImage::entry(state()),
        sync::SyncBackups::entry(state()),
        with_params::<WaitParams>(create_image::CreateServerImage::entry(state())),
        create_server::CreateServer::entry(state()),
        delete_server::DeleteServer::entry(state()),
    ];
    // Every action takes `cloud`, read by the provider's session.
    actions.into_iter().map(with_params::<CloudParam>).collect()
}

/// The wait parameters.
#[action_params]
#[derive(Deserialize)]
struct WaitParams {
    /// Time between two looks at the image.
    #[param(default = "5s")]
    #[serde(default = "five_seconds")]
    interval: Span,
    /// Give up waiting after this long (retryable: the step's retry policy
    /// may wait again).
    #[param(default = "1h")]
    #[serde(default = "an_hour")]
    wait_timeout: Span,
}

fn five_seconds() -> Span {
    Span::secs(5)
}

fn an_hour() -> Span {
    Span::secs(3600)
}

fn wait_options(ctx: &ActionContext) -> Result<crate::glance::WaitOptions, ActionError> {
    let params: WaitParams = ctx.params()?;
    Ok(crate::glance::WaitOptions {
        interval: params.interval.0,
        timeout: params.wait_timeout.0,
    })
}

/// Glance custom properties are strings: other JSON values are written as JSON text.
fn property_value(value: &Json) -> Json {
    match value {
        Json::String(_) => value.clone(),
        other => Json::String(other.to_string()),
    }
}
