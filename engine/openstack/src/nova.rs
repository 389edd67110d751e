//! Nova: `createImage`, the snapshot of a server into a Glance image, and
//! how a request asks for a compute microversion. (Servers themselves are
//! in `servers.rs`.)

use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Map, Value as Json, json};
use shutter_core::ActionError;

use crate::error;
use crate::session::Session;

/// `request` asking for compute microversion `version`, in both headers:
/// the generic one, and Nova's own (the only one Nova read before 2.27).
pub(crate) fn with_microversion(request: RequestBuilder, version: &str) -> RequestBuilder {
    request
        .header("OpenStack-API-Version", format!("compute {version}"))
        .header("X-OpenStack-Nova-API-Version", version)
}

/// From microversion 2.45 Nova answers `{"image_id"}` instead of a `Location` header.
pub(crate) async fn create_image(
    session: &Session,
    server_id: &str,
    name: &str,
    metadata: &Map<String, Json>,
    microversion: Option<&str>,
) -> Result<String, ActionError> {
    let what = format!(
        "createImage of server {server_id} on cloud `{}`",
        session.cloud.name
    );
    let body = json!({ "createImage": { "name": name, "metadata": metadata } });
    let response = session
        .send("compute", &what, |client, base| {
            let url = shutter_kit::join(base, &["servers", server_id, "action"])?;
            let request = client.post(url).json(&body);
            Ok(match microversion {
                Some(version) => with_microversion(request, version),
                None => request,
            })
        })
        .await?;
    let status = response.status();
    if status == StatusCode::CONFLICT {
        // Nova answers 409 while the server is busy with another task (e.g.
        // a snapshot already running): waiting and trying again can succeed.
        let busy = error::status(&what, response).await;
        return Err(ActionError::retryable(format!(
            "{} (the server is busy; retrying may succeed)",
            busy.message()
        )));
    }
    if !status.is_success() {
        return Err(error::status(&what, response).await);
    }
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = shutter_kit::read_capped(response, 1 << 20)
        .await
        .unwrap_or_default();
    let from_body = serde_json::from_slice::<Json>(&body)
        .ok()
        .and_then(|j| j.get("image_id").and_then(Json::as_str).map(str::to_owned));
    let from_location = location.as_deref().and_then(|l| {
        l.trim_end_matches('/')
            .rsplit('/')
            .next()
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
    });
    from_body.or(from_location).ok_or_else(|| {
        ActionError::fatal(format!(
            "{what}: Nova accepted the request ({status}) but named no image (no `image_id`, no Location header)"
        ))
    })
}
