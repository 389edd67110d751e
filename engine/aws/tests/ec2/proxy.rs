//! A small HTTP proxy in front of moto, for what moto cannot do by itself:
//! its snapshots are `completed` at once, and it answers `DescribeSnapshots`
//! in one page whatever `MaxResults` says.
//!
//! - `Proxy::pending(n, status)`: the first `n` `DescribeSnapshots` answers
//!   say `status` (e.g. `pending`) and `40%` instead of `completed` and `100%`.
//! - `Proxy::paging()`: `DescribeSnapshots` answers hold at most `MaxResults`
//!   snapshots, with a `nextToken` (the offset) when more follow, as EC2 does.
//!
//! One request per connection (`Connection: close` both ways), HTTP/1.1
//! with `Content-Length` bodies: what the SDK sends and moto answers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
enum Mode {
    Pending {
        answers: usize,
        status: &'static str,
    },
    Paging,
}

pub(crate) struct Proxy {
    pub(crate) url: String,
    /// `DescribeSnapshots` requests seen so far.
    pub(crate) describes: Arc<AtomicUsize>,
}

impl Proxy {
    pub(crate) async fn pending(answers: usize, status: &'static str) -> Self {
        Self::start(Mode::Pending { answers, status }).await
    }

    pub(crate) async fn paging() -> Self {
        Self::start(Mode::Paging).await
    }

    async fn start(mode: Mode) -> Self {
        let (upstream, _) = super::support::moto();
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let describes = Arc::new(AtomicUsize::new(0));
        let seen = describes.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (upstream, mode, seen) = (upstream.clone(), mode.clone(), seen.clone());
                tokio::spawn(async move { serve(socket, &upstream, &mode, &seen).await });
            }
        });
        Self { url, describes }
    }
}

async fn serve(mut client: TcpStream, upstream: &str, mode: &Mode, seen: &AtomicUsize) {
    let Some((head, body)) = read_message(&mut client, false).await else {
        return;
    };
    let request = String::from_utf8_lossy(&body).into_owned();
    let mut server = TcpStream::connect(upstream).await.unwrap();
    server.write_all(&closing(&head, body.len())).await.unwrap();
    server.write_all(&body).await.unwrap();
    let (head, body) = read_message(&mut server, true).await.unwrap();
    let mut text = String::from_utf8(body).unwrap();
    if request.contains("Action=DescribeSnapshots") {
        let index = seen.fetch_add(1, Ordering::SeqCst);
        text = match mode {
            Mode::Pending { answers, status } if index < *answers => text
                .replace(
                    "<status>completed</status>",
                    &format!("<status>{status}</status>"),
                )
                .replace("<progress>100%</progress>", "<progress>40%</progress>"),
            Mode::Paging => page(&text, &request),
            Mode::Pending { .. } => text,
        };
    }
    client.write_all(&closing(&head, text.len())).await.unwrap();
    client.write_all(text.as_bytes()).await.unwrap();
}

/// Reads a head and its `Content-Length` body (or, for a response, up to EOF).
async fn read_message(stream: &mut TcpStream, to_eof: bool) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buffer = [0; 8192];
    loop {
        if let Some(end) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&data[..end]).into_owned();
            assert!(
                !head
                    .to_ascii_lowercase()
                    .contains("transfer-encoding: chunked"),
                "the proxy reads Content-Length bodies only"
            );
            let length = head.lines().find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse::<usize>().ok())?
            });
            let mut body = data[end + 4..].to_vec();
            while length.map_or(to_eof, |n| body.len() < n) {
                let n = stream.read(&mut buffer).await.ok()?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&buffer[..n]);
            }
            return Some((head, body));
        }
        let n = stream.read(&mut buffer).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buffer[..n]);
    }
}

/// The head with a new `Content-Length` and `Connection: close`.
fn closing(head: &str, length: usize) -> Vec<u8> {
    let mut out: Vec<&str> = head
        .lines()
        .filter(|line| {
            let name = line
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            name != "content-length" && name != "connection"
        })
        .collect();
    let length = format!("Content-Length: {length}");
    out.push(&length);
    out.push("Connection: close");
    format!("{}\r\n\r\n", out.join("\r\n")).into_bytes()
}

/// One page of moto's full answer: `MaxResults` items from offset `NextToken`.
fn page(answer: &str, request: &str) -> String {
    let param = |name: &str| {
        request
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let Some(size) = param("MaxResults") else {
        return answer.to_owned();
    };
    let offset = param("NextToken").unwrap_or(0);
    let (start, end) = (
        answer.find("<snapshotSet>").unwrap() + "<snapshotSet>".len(),
        answer.find("</snapshotSet>").unwrap(),
    );
    let items = top_level_items(&answer[start..end]);
    let kept: String = items.iter().skip(offset).take(size).copied().collect();
    let token = if offset + size < items.len() {
        format!("<nextToken>{}</nextToken>", offset + size)
    } else {
        String::new()
    };
    format!(
        "{}{kept}</snapshotSet>{token}{}",
        &answer[..start],
        &answer[end + "</snapshotSet>".len()..]
    )
}

/// The `<item>...</item>` children of a set, whose own tag sets hold items too.
fn top_level_items(set: &str) -> Vec<&str> {
    let (mut items, mut depth, mut from, mut at) = (Vec::new(), 0usize, 0, 0);
    while at < set.len() {
        if set[at..].starts_with("<item>") {
            if depth == 0 {
                from = at;
            }
            depth += 1;
            at += "<item>".len();
        } else if set[at..].starts_with("</item>") {
            depth -= 1;
            at += "</item>".len();
            if depth == 0 {
                items.push(&set[from..at]);
            }
        } else {
            at += set[at..].chars().next().map_or(1, char::len_utf8);
        }
    }
    items
}
