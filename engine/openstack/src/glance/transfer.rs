//! Image data in and out of Glance, streamed: memory stays flat whatever
//! the image size, and the digests are computed on the way.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use serde_json::Value as Json;
use shutter_core::{ActionContext, ActionError};
use tokio::io::AsyncWriteExt;

use super::{images, what};
use crate::digest::{Digests, Tally, hashing};
use crate::error;
use crate::session::Session;
use crate::source::Source;

/// How often a transfer reports progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

fn mib(bytes: u64) -> u64 {
    bytes >> 20
}

/// Runs `transfer`, reporting progress from `tally` and stopping on cancel.
async fn with_progress<F: Future>(
    ctx: &ActionContext,
    tally: &Tally,
    total: Option<u64>,
    verb: &str,
    transfer: F,
) -> Result<F::Output, ActionError> {
    tokio::pin!(transfer);
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    ticker.tick().await;
    loop {
        tokio::select! {
            out = &mut transfer => return Ok(out),
            () = ctx.cancel.cancelled() => return Err(ActionError::Canceled),
            _ = ticker.tick() => {
                let done = tally.bytes();
                match total.filter(|t| *t > 0) {
                    Some(total) => {
                        let percent = u8::try_from(done.saturating_mul(100) / total).unwrap_or(100);
                        ctx.progress(percent, format!("{verb} {} of {} MiB", mib(done), mib(total)));
                    }
                    None => ctx.progress(0, format!("{verb} {} MiB", mib(done))),
                }
                let _ = ctx.flush().await;
            }
        }
    }
}

/// `PUT /v2/images/{id}/file` with the source streamed as the body. A 401
/// renews the token and streams the source again from its start, once.
pub(crate) async fn upload(
    session: &Session,
    ctx: &ActionContext,
    id: &str,
    source: &Source,
) -> Result<Digests, ActionError> {
    let what = what(session, "upload to", id);
    let mut retried = false;
    loop {
        let opened = source.open(session).await?;
        let target = session.target("image").await?;
        let url = images(&target.base, &[id, "file"])?;
        let mut request = target
            .authorize(session.client()?.put(url))
            .header(CONTENT_TYPE, "application/octet-stream");
        if let Some(len) = opened.len {
            request = request.header(CONTENT_LENGTH, len);
        }
        let request = request.body(reqwest::Body::wrap_stream(opened.stream));
        let response = with_progress(ctx, &opened.tally, opened.len, "uploaded", request.send())
            .await?
            .map_err(|e| shutter_kit::transport(&what, e))?;
        if response.status() == StatusCode::UNAUTHORIZED
            && !retried
            && session.rejected(&target).await
        {
            retried = true;
            continue;
        }
        if !response.status().is_success() {
            return Err(error::status(&what, response).await);
        }
        let digests = opened.tally.digests();
        if let Some(len) = opened.len.filter(|len| *len != digests.size) {
            return Err(ActionError::fatal(format!(
                "{what}: source {} changed while reading ({len} bytes expected, {} read)",
                source.describe(),
                digests.size
            )));
        }
        return Ok(digests);
    }
}

/// Reads a whole source without uploading it: its digests.
pub(crate) async fn digest_source(
    session: &Session,
    source: &Source,
) -> Result<Digests, ActionError> {
    let mut opened = source.open(session).await?;
    while let Some(chunk) = opened.stream.next().await {
        chunk.map_err(|e| ActionError::retryable(format!("source {}: {e}", source.describe())))?;
    }
    Ok(opened.tally.digests())
}

/// What Glance says the data of an active image is.
struct Expected {
    size: Option<u64>,
    sha512: Option<String>,
    md5: Option<String>,
}

fn expected(image: &Json) -> Expected {
    let text = |name: &str| {
        image
            .get(name)
            .and_then(Json::as_str)
            .map(str::to_ascii_lowercase)
    };
    Expected {
        size: image.get("size").and_then(Json::as_u64),
        sha512: text("os_hash_value").filter(|_| text("os_hash_algo").as_deref() == Some("sha512")),
        md5: text("checksum"),
    }
}

/// Streams the image's data into `path` (through `path.part`, renamed when
/// complete), checked against Glance's size, SHA-512 and MD5.
pub(crate) async fn download(
    session: &Session,
    ctx: &ActionContext,
    id: &str,
    path: &Path,
) -> Result<Digests, ActionError> {
    let image = super::get(session, id).await?;
    let status = super::status(&image);
    if status != "active" {
        return Err(ActionError::fatal(format!(
            "image {id} is {status}, not active: it has no data to download yet"
        )));
    }
    let expected = expected(&image);
    let what = what(session, "download", id);
    let response = session
        .call("image", &what, |client, base| {
            Ok(client.get(images(base, &[id, "file"])?))
        })
        .await?;
    let part = PathBuf::from(format!("{}.part", path.display()));
    let local =
        |e: std::io::Error| ActionError::fatal(format!("{what}: writing {}: {e}", part.display()));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        tokio::fs::create_dir_all(dir).await.map_err(local)?;
    }
    let tally = Tally::default();
    let stream = response
        .bytes_stream()
        .map(|r| r.map_err(std::io::Error::other))
        .boxed();
    let mut stream = hashing(stream, tally.clone());
    let mut file = tokio::fs::File::create(&part).await.map_err(local)?;
    let copy = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ActionError::retryable(format!("{what}: {e}")))?;
            file.write_all(&chunk).await.map_err(local)?;
        }
        file.sync_all().await.map_err(local)
    };
    let copied = with_progress(ctx, &tally, expected.size, "downloaded", copy).await;
    let checked = copied.and_then(|r| r).and_then(|()| {
        let got = tally.digests();
        check(&what, &expected, &got).map(|()| got)
    });
    match checked {
        Ok(got) => {
            tokio::fs::rename(&part, path).await.map_err(local)?;
            Ok(got)
        }
        Err(err) => {
            let _ = tokio::fs::remove_file(&part).await;
            Err(err)
        }
    }
}

fn check(what: &str, expected: &Expected, got: &Digests) -> Result<(), ActionError> {
    let mismatch = |field: &str, want: &dyn std::fmt::Display, have: &dyn std::fmt::Display| {
        ActionError::retryable(format!(
            "{what}: {field} mismatch: Glance says {want}, received {have}"
        ))
    };
    if let Some(size) = expected.size.filter(|s| *s != got.size) {
        return Err(mismatch("size", &size, &got.size));
    }
    if let Some(sha512) = expected.sha512.as_ref().filter(|s| **s != got.sha512) {
        return Err(mismatch("sha512", sha512, &got.sha512));
    }
    if let Some(md5) = expected.md5.as_ref().filter(|s| **s != got.md5) {
        return Err(mismatch("md5", md5, &got.md5));
    }
    Ok(())
}
