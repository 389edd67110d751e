//! Response bodies read with a cap, so a huge or endless answer cannot
//! exhaust memory.

use bytes::{Bytes, BytesMut};
use serde::de::DeserializeOwned;
use shutter_core::ActionError;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error("reading the answer")]
    Read(#[source] reqwest::Error),
}

/// The body, at most `limit` bytes.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, BodyError> {
    if response
        .content_length()
        .is_some_and(|length| length > limit as u64)
    {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The body, at most `limit` bytes, its failure classified: an answer cut
/// short is retryable, one too large fatal.
pub async fn body(
    what: &str,
    response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, ActionError> {
    read_capped(response, limit).await.map_err(|err| match err {
        BodyError::TooLarge(_) => ActionError::fatal(format!("{what}: {err}")),
        BodyError::Read(cause) => ActionError::retryable(format!("{what}: reading the answer"))
            .because(cause.without_url()),
    })
}

/// The body as `T`, at most `limit` bytes. An answer cut short is
/// retryable; one too large or that is not the JSON expected is fatal.
pub async fn json<T: DeserializeOwned>(
    what: &str,
    response: reqwest::Response,
    limit: usize,
) -> Result<T, ActionError> {
    let body = body(what, response, limit).await?;
    serde_json::from_slice(&body)
        .map_err(|err| ActionError::fatal(format!("{what}: an unexpected answer")).because(err))
}

/// What a server said in an error answer, for a message: at most 64 KiB
/// read, blanks folded to one line, cut at 300 characters.
pub async fn excerpt(response: reqwest::Response) -> String {
    let Ok(body) = read_capped(response, 64 << 10).await else {
        return String::new();
    };
    let text = String::from_utf8_lossy(&body);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(300) {
        Some((at, _)) => format!("{}...", &line[..at]),
        None => line,
    }
}
