//! A tiny HTTP server that records side effects by idempotency key: the
//! stand-in for a cloud API that honours `Idempotency-Key`. A key seen again
//! is answered without applying its effect twice, and counted; so are the
//! requests it answers at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the server saw.
#[derive(Debug, Default, Clone)]
pub struct Seen {
    /// Requests per idempotency key, duplicates included.
    pub requests: HashMap<String, usize>,
    /// Effects applied per key: the body of the first request with that key.
    pub effects: HashMap<String, String>,
    /// Requests being answered now.
    pub in_flight: usize,
    /// The most requests it was answering at once.
    pub most_in_flight: usize,
}

#[derive(Debug, Clone)]
pub struct Recorder {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Seen>>,
}

impl Recorder {
    /// Starts the server on 127.0.0.1 on a free port; it runs until the
    /// test's runtime ends. It answers `delay` after applying an effect, so
    /// a client killed in between must send the same request again.
    pub async fn start(delay: std::time::Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on loopback");
        let addr = listener.local_addr().expect("bound");
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let seen = shared.clone();
                tokio::spawn(async move {
                    let _ = serve(socket, &seen, delay).await;
                });
            }
        });
        Self { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}/effects", self.addr)
    }

    pub fn seen(&self) -> Seen {
        self.seen
            .lock()
            .expect("no panic while holding this lock")
            .clone()
    }
}

async fn serve(
    socket: tokio::net::TcpStream,
    seen: &Mutex<Seen>,
    delay: std::time::Duration,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(socket);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut length = 0;
        let mut key = None;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).await?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "idempotency-key" => key = Some(value.trim().to_owned()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).await?;
        {
            let mut seen = seen.lock().expect("no panic while holding this lock");
            if let Some(key) = key {
                *seen.requests.entry(key.clone()).or_default() += 1;
                seen.effects
                    .entry(key)
                    .or_insert_with(|| String::from_utf8_lossy(&body).into_owned());
            }
            seen.in_flight += 1;
            seen.most_in_flight = seen.most_in_flight.max(seen.in_flight);
        }
        tokio::time::sleep(delay).await;
        seen.lock()
            .expect("no panic while holding this lock")
            .in_flight -= 1;
        let answer = b"{\"ok\":true}";
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        let socket = reader.get_mut();
        socket.write_all(head.as_bytes()).await?;
        socket.write_all(answer).await?;
    }
}
