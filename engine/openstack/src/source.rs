//! Where uploaded image data comes from: a local file, or an http(s) URL
//! such as a vSphere datastore file (`https://vcenter/folder/...?dcPath=..&dsName=..`)
//! reached with basic auth or a session cookie from the step's secrets.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde::Deserialize;
use shutter_core::{ActionContext, ActionError, action_params};

use crate::digest::{DataStream, Tally, hashing};
use crate::error;

/// Size of the chunks read from a file: large enough for throughput; a few
/// of them in flight bound the memory an upload uses.
const CHUNK: usize = 1 << 20;
/// Chunks read ahead of the network.
const READ_AHEAD: usize = 4;

#[derive(Debug, Clone)]
pub(crate) enum Source {
    File(PathBuf),
    Http {
        url: String,
        user: Option<String>,
        password: Option<String>,
        headers: Vec<(String, String)>,
        verify_tls: bool,
    },
}

/// An opened source: its data (hashed as it is read) and its size when known.
pub(crate) struct Opened {
    pub(crate) stream: DataStream,
    pub(crate) len: Option<u64>,
    pub(crate) tally: Tally,
}

/// The `source` parameter and its companions.
#[action_params]
#[derive(Deserialize)]
pub(crate) struct SourceParams {
    /// `file:///path`, a path (relative to the workflow file), or an http(s)
    /// URL.
    source: String,
    /// User for HTTP basic auth on the source.
    source_user: Option<String>,
    /// Name of the granted secret holding the basic-auth password.
    source_password_secret: Option<String>,
    /// Headers sent to the source: header name -> name of the granted
    /// secret holding its value (e.g. `Cookie` -> `vsphere_session`).
    #[serde(default)]
    source_headers: BTreeMap<String, String>,
    /// Verify the source's TLS certificate.
    #[param(default = true)]
    source_verify_tls: bool,
}

impl Source {
    /// The `source` parameter and its companions (`source_user`,
    /// `source_password_secret`, `source_headers`, `source_verify_tls`).
    pub(crate) fn from_params(ctx: &ActionContext) -> Result<Self, ActionError> {
        let params: SourceParams = ctx.params()?;
        let source = params.source.as_str();
        if let Some(rest) = source.strip_prefix("file://") {
            return Ok(Self::File(local(ctx, rest)?));
        }
        if source.starts_with("http://") || source.starts_with("https://") {
            let password = params
                .source_password_secret
                .as_deref()
                .map(|name| {
                    ctx.secret("source_password_secret", name)
                        .map(str::to_owned)
                })
                .transpose()?;
            let headers = params
                .source_headers
                .iter()
                .map(|(header, name)| {
                    let value = ctx.secret(&format!("source_headers.{header}"), name)?;
                    Ok((header.clone(), value.to_owned()))
                })
                .collect::<Result<_, ActionError>>()?;
            return Ok(Self::Http {
                url: source.to_owned(),
                user: params.source_user,
                password,
                headers,
                verify_tls: params.source_verify_tls,
            });
        }
        if source.contains("://") {
            return Err(ActionError::fatal(format!(
                "source `{source}`: expected file://, http:// or https://"
            )));
        }
        Ok(Self::File(local(ctx, source)?))
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            // Scheme, host and path only: a query (a pre-signed URL) or
            // `user:password@` may carry credentials, never put in messages.
            Self::Http { url, .. } => without_credentials(url),
        }
    }

    /// Opens the data: a file, or a GET with the session's source client
    /// (same-host redirects only, so secret headers stay with their host).
    pub(crate) async fn open(
        &self,
        session: &crate::session::Session,
    ) -> Result<Opened, ActionError> {
        let tally = Tally::default();
        match self {
            Self::File(path) => {
                let file = std::fs::File::open(path)
                    .map_err(|e| ActionError::fatal(format!("source {}: {e}", path.display())))?;
                let len = file.metadata().ok().map(|m| m.len());
                Ok(Opened {
                    stream: read_file(file, tally.clone()),
                    len,
                    tally,
                })
            }
            Self::Http {
                url,
                user,
                password,
                headers,
                verify_tls,
            } => {
                let client = session.source_client(*verify_tls)?;
                let mut request = client.get(url);
                if let Some(user) = user {
                    request = request.basic_auth(user, password.as_ref());
                }
                for (name, value) in headers {
                    request = request.header(name, value);
                }
                let what = format!("source {}", self.describe());
                let response = request
                    .send()
                    .await
                    .map_err(|e| shutter_kit::transport(&what, e))?;
                if response.status().is_redirection() {
                    return Err(ActionError::fatal(format!(
                        "{what}: the server answered {} (a redirect to another host is not followed: secret headers must not go there)",
                        response.status()
                    )));
                }
                if !response.status().is_success() {
                    return Err(error::status(&what, response).await);
                }
                let len = response.content_length();
                let stream = response
                    .bytes_stream()
                    .map(|r| r.map_err(std::io::Error::other))
                    .boxed();
                Ok(Opened {
                    stream: hashing(stream, tally.clone()),
                    len,
                    tally,
                })
            }
        }
    }
}

/// A local file the step may read (see `Files`).
fn local(ctx: &ActionContext, path: &str) -> Result<PathBuf, ActionError> {
    ctx.files
        .resolve(path, shutter_core::files::Use::Read)
        .map_err(|e| ActionError::fatal(format!("source: {e}")))
}

/// Reads and hashes on a blocking thread, a few chunks ahead of the
/// consumer: hashing overlaps with sending, and memory stays bounded.
fn read_file(mut file: std::fs::File, tally: Tally) -> DataStream {
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(READ_AHEAD);
    tokio::task::spawn_blocking(move || {
        loop {
            let mut buffer = BytesMut::zeroed(CHUNK);
            let n = match read_full(&mut file, &mut buffer) {
                Ok(n) => n,
                Err(err) => {
                    let _ = tx.blocking_send(Err(err));
                    return;
                }
            };
            if n == 0 {
                return;
            }
            buffer.truncate(n);
            tally.update(&buffer);
            if tx.blocking_send(Ok(buffer.freeze())).is_err() {
                return; // the consumer gave up
            }
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

/// Fills `buffer` unless the file ends first; returns the bytes read.
fn read_full(file: &mut std::fs::File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// `url` without its query, fragment and `user:password@`.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) => {
            // Only fails for URLs that cannot have credentials at all.
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.set_query(None);
            parsed.set_fragment(None);
            parsed.to_string()
        }
        // Not a URL: say nothing of it but that.
        Err(_) => "(a source URL that does not parse)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::without_credentials;

    #[test]
    fn credentials_in_a_source_url_never_reach_a_message() {
        assert_eq!(
            without_credentials(
                "https://admin:hunter2@ds.example/folder/a.vmdk?dcPath=DC0&sig=abc#x"
            ),
            "https://ds.example/folder/a.vmdk"
        );
        assert!(!without_credentials("http://u:p@[::1/").contains("u:p"));
    }
}
