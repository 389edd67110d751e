//! Glance images v2: the calls the actions make, over a [`Session`].
//!
//! # Layout
//! - `mod.rs`: images: get, find by idempotency key, create, list, delete
//! - `wait.rs`: polling until `active`
//! - `transfer.rs`: streamed upload and download of image data

mod transfer;
mod wait;

pub(crate) use transfer::{digest_source, download, upload};
pub(crate) use wait::{WaitOptions, wait_active};

use reqwest::{StatusCode, Url};
use serde::Serialize;
use serde_json::{Map, Value as Json, json};
use shutter_core::{ActionError, action_outputs};

use crate::session::Session;

/// The image property that carries the step's idempotency key.
pub(crate) const KEY_PROPERTY: &str = "shutter_idempotency_key";

/// Largest JSON answer read (a page of image records).
const MAX_ANSWER: usize = 16 << 20;

/// Glance's root: catalogs list it with or without a version suffix.
pub(crate) fn root(base: &Url) -> Url {
    let mut root = base.clone();
    let versioned = base
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
        .is_some_and(|last| last.starts_with("v2") || last.starts_with("v1"));
    if let Ok(mut segments) = root.path_segments_mut() {
        segments.pop_if_empty();
        if versioned {
            segments.pop();
        }
    }
    root
}

/// `/v2/images` followed by `rest` (an image id, `file`), each one path
/// segment: an id can never reach another path.
pub(crate) fn images(base: &Url, rest: &[&str]) -> Result<Url, ActionError> {
    let mut segments = vec!["v2", "images"];
    segments.extend_from_slice(rest);
    shutter_kit::join(&root(base), &segments)
}

pub(crate) fn what(session: &Session, action: &str, id: &str) -> String {
    format!("{action} image {id} on cloud `{}`", session.cloud.name)
}

async fn json_of(response: reqwest::Response, what: &str) -> Result<Json, ActionError> {
    shutter_kit::json(what, response, MAX_ANSWER).await
}

pub(crate) async fn get(session: &Session, id: &str) -> Result<Json, ActionError> {
    let what = what(session, "get", id);
    let response = session
        .call("image", &what, |client, base| {
            Ok(client.get(images(base, &[id])?))
        })
        .await?;
    json_of(response, &what).await
}

/// Images whose property `name` equals `value`, following pagination.
pub(crate) async fn list(
    session: &Session,
    filters: &Map<String, Json>,
    page_size: u64,
    max: Option<usize>,
) -> Result<Vec<Json>, ActionError> {
    let what = format!("list images on cloud `{}`", session.cloud.name);
    let mut query: Vec<(String, String)> = filters
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_owned),
            )
        })
        .collect();
    query.push(("limit".to_owned(), page_size.to_string()));
    let mut next: Option<String> = None;
    let mut found = Vec::new();
    loop {
        let page = next.take();
        let response = session
            .call("image", &what, |client, base| match &page {
                Some(path) => Ok(client.get(next_page(base, path)?)),
                None => Ok(client.get(images(base, &[])?).query(&query)),
            })
            .await?;
        let body = json_of(response, &what).await?;
        let batch = body
            .get("images")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        let empty = batch.is_empty();
        found.extend(batch);
        if let Some(max) = max
            && found.len() >= max
        {
            found.truncate(max);
            return Ok(found);
        }
        match body.get("next").and_then(Json::as_str) {
            Some(path) if !empty => next = Some(path.to_owned()),
            _ => return Ok(found),
        }
    }
}

/// The page Glance's `next` names: a path with its query, relative to
/// Glance's root, which must stay on Glance's host (the token goes with it).
fn next_page(base: &Url, next: &str) -> Result<Url, ActionError> {
    // Glance's `next` is a path from its root, which may itself have a path
    // (`http://host/image`): join it under the root, as a directory. A
    // `//host/...` is a reference to another host, never a path.
    let mut root = root(base);
    if let Ok(mut segments) = root.path_segments_mut() {
        segments.pop_if_empty().push("");
    }
    let path = next.strip_prefix('/').unwrap_or(next);
    let url = (!path.starts_with('/'))
        .then(|| root.join(path).ok())
        .flatten()
        .filter(|url| url.origin() == root.origin())
        .ok_or_else(|| {
            ActionError::fatal(format!(
                "Glance's next page `{next}` is not on Glance's host"
            ))
        })?;
    Ok(url)
}

/// The image a previous try of this step created, if any (one that can
/// still become or is `active`).
pub(crate) async fn find_by_key(session: &Session, key: &str) -> Result<Option<Json>, ActionError> {
    let mut filters = Map::new();
    filters.insert(KEY_PROPERTY.to_owned(), json!(key));
    let found = list(session, &filters, 20, Some(100)).await?;
    Ok(found.into_iter().find(|image| !ended(image)))
}

/// The image's status (`queued`, `active`, ...), `unknown` when Glance
/// gives none.
pub(crate) fn status(image: &Json) -> &str {
    image
        .get("status")
        .and_then(Json::as_str)
        .unwrap_or("unknown")
}

/// Whether the image can never become `active` again: `killed` (its data
/// never arrived), `deleted` or `pending_delete`. Such an image is neither
/// adopted nor cataloged.
pub(crate) fn ended(image: &Json) -> bool {
    matches!(status(image), "killed" | "deleted" | "pending_delete")
}

pub(crate) async fn create(session: &Session, body: &Json) -> Result<Json, ActionError> {
    let name = body.get("name").and_then(Json::as_str).unwrap_or("");
    let what = format!("create image `{name}` on cloud `{}`", session.cloud.name);
    let response = session
        .call("image", &what, |client, base| {
            Ok(client.post(images(base, &[])?).json(body))
        })
        .await?;
    json_of(response, &what).await
}

/// Deletes the image; `false` when it was already gone.
pub(crate) async fn delete(session: &Session, id: &str) -> Result<bool, ActionError> {
    let what = what(session, "delete", id);
    let response = session
        .send("image", &what, |client, base| {
            Ok(client.delete(images(base, &[id])?))
        })
        .await?;
    match response.status() {
        status if status.is_success() => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        // A try whose delete Glance did but answered with a 500 is retried
        // into "Image status transition from deleted to deleted is not
        // allowed" (400): look before failing.
        StatusCode::BAD_REQUEST | StatusCode::CONFLICT => {
            let err = crate::error::status(&what, response).await;
            if gone(session, id).await {
                Ok(false)
            } else {
                Err(err)
            }
        }
        _ => Err(crate::error::status(&what, response).await),
    }
}

/// Whether image `id` is gone or going: 404, or `deleted` or
/// `pending_delete`. False when that cannot be told.
async fn gone(session: &Session, id: &str) -> bool {
    let what = what(session, "get", id);
    let Ok(response) = session
        .send("image", &what, |client, base| {
            Ok(client.get(images(base, &[id])?))
        })
        .await
    else {
        return false;
    };
    match response.status() {
        StatusCode::NOT_FOUND => true,
        status if status.is_success() => json_of(response, &what)
            .await
            .ok()
            .and_then(|image| {
                let status = image.get("status")?.as_str()?;
                Some(matches!(status, "deleted" | "pending_delete"))
            })
            .unwrap_or(false),
        _ => false,
    }
}

/// The outputs that describe an image (get, wait, verify), each as Glance
/// gave it (null when it gave none).
#[action_outputs]
#[derive(Debug, Serialize)]
pub(crate) struct Summary {
    /// The image id.
    #[output(ty = String)]
    id: Json,
    /// The image name.
    name: Json,
    /// queued, saving, active, killed, deleted, ...
    #[output(ty = String)]
    status: Json,
    /// Size of the image data in bytes (null before upload).
    size: Json,
    /// raw, qcow2, vmdk, ...
    disk_format: Json,
    /// bare, ova, ...
    container_format: Json,
    /// public, private, shared or community.
    visibility: Json,
    /// The owning project id.
    owner: Json,
    /// When the image was created (RFC 3339).
    created_at: Json,
    /// MD5 of the data, as Glance computed it.
    checksum: Json,
    /// The algorithm of `os_hash_value` (normally sha512).
    os_hash_algo: Json,
    /// Glance's multihash of the data.
    os_hash_value: Json,
    /// `os_hash_value` when it is a SHA-512, else null.
    sha512: Json,
    /// The whole image record as Glance returns it.
    #[output(ty = Object)]
    image: Json,
}

pub(crate) fn summary(image: &Json) -> Summary {
    let field = |name: &str| image.get(name).cloned().unwrap_or(Json::Null);
    let sha512 = match image.get("os_hash_algo").and_then(Json::as_str) {
        Some("sha512") => field("os_hash_value"),
        _ => Json::Null,
    };
    Summary {
        id: field("id"),
        name: field("name"),
        status: field("status"),
        size: field("size"),
        disk_format: field("disk_format"),
        container_format: field("container_format"),
        visibility: field("visibility"),
        owner: field("owner"),
        created_at: field("created_at"),
        checksum: field("checksum"),
        os_hash_algo: field("os_hash_algo"),
        os_hash_value: field("os_hash_value"),
        sha512,
        image: image.clone(),
    }
}

#[cfg(test)]
mod tests {
    use reqwest::Url;

    fn root(base: &str) -> String {
        super::root(&Url::parse(base).expect("a URL")).to_string()
    }

    #[test]
    fn root_drops_a_version_suffix() {
        assert_eq!(root("http://g:9292"), "http://g:9292/");
        assert_eq!(root("http://g:9292/v2"), "http://g:9292/");
        assert_eq!(root("http://g/image/v2.1/"), "http://g/image");
        assert_eq!(root("http://g/image"), "http://g/image");
    }

    #[test]
    fn ids_and_pages_stay_on_glance() {
        let base = Url::parse("http://g:9292/v2").expect("a URL");
        assert_eq!(
            super::images(&base, &["../x?y", "file"])
                .expect("a URL")
                .as_str(),
            "http://g:9292/v2/images/..%2Fx%3Fy/file"
        );
        assert_eq!(
            super::next_page(&base, "/v2/images?marker=a")
                .expect("a URL")
                .as_str(),
            "http://g:9292/v2/images?marker=a"
        );
        assert!(super::next_page(&base, "//evil.example/v2/images").is_err());
        // Behind a path prefix, as devstack serves it.
        let prefixed = Url::parse("http://g/image/v2/").expect("a URL");
        assert_eq!(
            super::next_page(&prefixed, "/v2/images?marker=a")
                .expect("a URL")
                .as_str(),
            "http://g/image/v2/images?marker=a"
        );
        assert!(super::next_page(&base, "http://evil.example/").is_err());
    }
}
