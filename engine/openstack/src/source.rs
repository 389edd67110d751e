//! Where uploaded image data comes from: a local file, or an http(s) URL
//! such as a vSphere datastore file (`https://vcenter/folder/...?dcPath=..&dsName=..`)
//! reached with basic auth or a session cookie from the step's secrets.

use std::io::Read;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use serde_json::Value as Json;
use shutter_runtime::{ActionContext, ActionError};

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

fn secret(ctx: &ActionContext, name: &str, param: &str) -> Result<String, ActionError> {
    ctx.secrets.get(name).map(str::to_owned).ok_or_else(|| {
        ActionError::Fatal(format!(
            "`{param}` names the secret `{name}`, which is not granted to this step"
        ))
    })
}

impl Source {
    /// The `source` parameter and its companions (`source_user`,
    /// `source_password_secret`, `source_headers`, `source_verify_tls`).
    pub(crate) fn from_params(ctx: &ActionContext) -> Result<Self, ActionError> {
        let source = ctx.str_param("source")?;
        if let Some(rest) = source.strip_prefix("file://") {
            return Ok(Self::File(local(ctx, rest)?));
        }
        if source.starts_with("http://") || source.starts_with("https://") {
            let password = match ctx
                .params
                .get("source_password_secret")
                .and_then(Json::as_str)
            {
                Some(name) => Some(secret(ctx, name, "source_password_secret")?),
                None => None,
            };
            let mut headers = Vec::new();
            if let Some(map) = ctx.params.get("source_headers").and_then(Json::as_object) {
                for (header, name) in map {
                    let name = name.as_str().ok_or_else(|| {
                        ActionError::Fatal(format!("`source_headers.{header}` must name a secret"))
                    })?;
                    headers.push((header.clone(), secret(ctx, name, "source_headers")?));
                }
            }
            return Ok(Self::Http {
                url: source.to_owned(),
                user: ctx
                    .params
                    .get("source_user")
                    .and_then(Json::as_str)
                    .map(str::to_owned),
                password,
                headers,
                verify_tls: ctx
                    .params
                    .get("source_verify_tls")
                    .and_then(Json::as_bool)
                    .unwrap_or(true),
            });
        }
        if source.contains("://") {
            return Err(ActionError::Fatal(format!(
                "source `{source}`: expected file://, http:// or https://"
            )));
        }
        Ok(Self::File(local(ctx, source)?))
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            // The URL only: credentials travel in headers, never in messages.
            Self::Http { url, .. } => url.split('?').next().unwrap_or(url).to_owned(),
        }
    }

    pub(crate) async fn open(
        &self,
        client: &reqwest::Client,
        insecure: &reqwest::Client,
    ) -> Result<Opened, ActionError> {
        let tally = Tally::default();
        match self {
            Self::File(path) => {
                let file = std::fs::File::open(path)
                    .map_err(|e| ActionError::Fatal(format!("source {}: {e}", path.display())))?;
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
                let client = if *verify_tls { client } else { insecure };
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
                    .map_err(|e| error::transport(&what, &e))?;
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
        .resolve(path, shutter_runtime::files::Use::Read)
        .map_err(|e| ActionError::Fatal(format!("source: {e}")))
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
