//! Answers with an unexpected status turned into [`ActionError`]s, with
//! Glance's HTML and Nova's JSON error bodies reduced to one line. (Which
//! statuses and transport failures are retryable is the kit's to say.)

use reqwest::StatusCode;
use serde_json::Value as Json;
use shutter_core::ActionError;

/// Longest error text kept from a response body.
const MAX_MESSAGE: usize = 300;

/// The error for an unexpected status, from the response body (at most
/// 64 KiB of it is read).
pub(crate) async fn status(what: &str, response: reqwest::Response) -> ActionError {
    let status = response.status();
    let body = shutter_kit::read_capped(response, 64 << 10)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    from_status(what, status, &body)
}

pub(crate) fn from_status(what: &str, status: StatusCode, body: &str) -> ActionError {
    let detail = body_message(body);
    let meaning = match status.as_u16() {
        401 => "unauthorized (token missing, expired or revoked)",
        403 => "forbidden",
        404 => "not found",
        409 => "conflict",
        413 => "too large or over quota",
        415 => "unsupported media type (the data does not match the image's disk_format?)",
        _ => status.canonical_reason().unwrap_or("unexpected status"),
    };
    let mut message = format!("{what}: {} {meaning}", status.as_u16());
    if !detail.is_empty() {
        message.push_str(": ");
        message.push_str(&detail);
    }
    if shutter_kit::retryable_status(status) {
        ActionError::retryable(message)
    } else {
        ActionError::fatal(message)
    }
}

/// The useful line of an error body: a JSON `message` (Nova's
/// `{"itemNotFound": {"message": ..}}`, Keystone's `{"error": {..}}`), or
/// the text of an HTML page without its title and heading (Glance).
pub(crate) fn body_message(body: &str) -> String {
    let trimmed = body.trim();
    if let Ok(json) = serde_json::from_str::<Json>(trimmed)
        && let Some(message) = json_message(&json)
    {
        return clip(message);
    }
    let text = if trimmed.starts_with('<') {
        html_text(trimmed)
    } else {
        trimmed.to_owned()
    };
    clip(&text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn json_message(json: &Json) -> Option<&str> {
    if let Some(message) = json.get("message").and_then(Json::as_str) {
        return Some(message);
    }
    json.as_object()?
        .values()
        .find_map(|inner| inner.get("message").and_then(Json::as_str))
}

/// Drops `<head>` and `<h1>` (they repeat the status), then every tag.
fn html_text(html: &str) -> String {
    let mut text = html.to_owned();
    for (open, close) in [
        ("<head", "</head>"),
        ("<h1", "</h1>"),
        ("<title", "</title>"),
    ] {
        while let Some(start) = text.to_ascii_lowercase().find(open) {
            let lower = text.to_ascii_lowercase();
            let end = lower[start..]
                .find(close)
                .map_or(text.len(), |end| start + end + close.len());
            text.replace_range(start..end, " ");
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn clip(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glance_html_becomes_one_line() {
        let body = "<html>\n <head>\n  <title>409 Conflict</title>\n </head>\n <body>\n  <h1>409 Conflict</h1>\n  Image status transition from active to saving is not allowed<br /><br />\n\n\n\n </body>\n</html>";
        let err = from_status("PUT image 1", StatusCode::CONFLICT, body);
        assert_eq!(
            err,
            ActionError::fatal(
                "PUT image 1: 409 conflict: Image status transition from active to saving is not allowed"
                    .to_owned()
            )
        );
    }

    #[test]
    fn nova_json_errors_and_server_errors() {
        let body =
            r#"{"itemNotFound": {"code": 404, "message": "Instance abc could not be found."}}"#;
        assert_eq!(
            from_status("createImage", StatusCode::NOT_FOUND, body).to_string(),
            "createImage: 404 not found: Instance abc could not be found."
        );
        assert!(matches!(
            from_status("x", StatusCode::SERVICE_UNAVAILABLE, ""),
            ActionError::Retryable { message, .. } if message == "x: 503 Service Unavailable"
        ));
        assert_eq!(body_message(&"a ".repeat(400)).len(), MAX_MESSAGE + 3);
    }
}
