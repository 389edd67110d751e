#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! Modules by URL against a small HTTP server on 127.0.0.1: downloaded
//! once and kept by SHA-256, a wrong pin refused before it is kept, server
//! and network failures classed as retryable or not (5xx and 408 are), plain http refused
//! off the loopback interface, redirects not followed.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};
use shutter_wasm::fetch::ModuleFetcher;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

const MODULE: &[u8] = b"\0asm\x01\0\0\0 any bytes: the fetcher does not compile them";

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serves MODULE at `/m.wasm`, 500 at `/busy`, 408 at `/slow`, 404 elsewhere; counts requests.
async fn server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut reader = BufReader::new(socket);
                let mut line = String::new();
                reader.read_line(&mut line).await.unwrap();
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).await.unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                }
                let (status, body): (&str, &[u8]) = match path.as_str() {
                    "/m.wasm" => ("200 OK", MODULE),
                    "/moved" => ("302 Found\r\nlocation: /m.wasm", b""),
                    "/busy" => ("500 Internal Server Error", b"busy"),
                    "/slow" => ("408 Request Timeout", b"too slow"),
                    _ => ("404 Not Found", b"no"),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let socket = reader.get_mut();
                socket.write_all(head.as_bytes()).await.unwrap();
                socket.write_all(body).await.unwrap();
            });
        }
    });
    (base, requests)
}

#[tokio::test]
async fn a_module_is_downloaded_once_and_kept_by_its_sha256() {
    let (base, requests) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("{base}/m.wasm");
    let fetcher = ModuleFetcher::new(Some(dir.path().to_path_buf()));
    assert_eq!(fetcher.fetch(&url, &sha(MODULE)).await.unwrap(), MODULE);
    let kept = dir.path().join(format!("{}.wasm", sha(MODULE)));
    assert_eq!(std::fs::read(&kept).unwrap(), MODULE);
    // another process (a new fetcher) finds it on disk
    let again = ModuleFetcher::new(Some(dir.path().to_path_buf()));
    assert_eq!(again.fetch(&url, &sha(MODULE)).await.unwrap(), MODULE);
    assert_eq!(requests.load(Ordering::SeqCst), 1);
    // a kept file that no longer matches is downloaded again
    std::fs::write(&kept, b"tampered").unwrap();
    assert_eq!(again.fetch(&url, &sha(MODULE)).await.unwrap(), MODULE);
    assert_eq!(requests.load(Ordering::SeqCst), 2);
    assert_eq!(std::fs::read(&kept).unwrap(), MODULE);
}

#[tokio::test]
async fn a_wrong_pin_is_refused_and_not_kept() {
    let (base, _) = server().await;
    let dir = tempfile::tempdir().unwrap();
    let fetcher = ModuleFetcher::new(Some(dir.path().to_path_buf()));
    let pinned = "ab".repeat(32);
    let err = fetcher
        .fetch(&format!("{base}/m.wasm"), &pinned)
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.message().contains("does not match its pin"), "{err}");
    assert!(
        !err.message().contains(&sha(MODULE)),
        "the hash found is never told: {err}"
    );
    assert_eq!(std::fs::read_dir(dir.path()).map_or(0, Iterator::count), 0);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (base, requests) = server().await;
    let fetcher = ModuleFetcher::new(None);
    let err = fetcher
        .fetch(&format!("{base}/moved"), &sha(MODULE))
        .await
        .unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(
        err.message().contains("redirects are not followed"),
        "{err}"
    );
    assert_eq!(requests.load(Ordering::SeqCst), 1, "the hop was not taken");
}

#[tokio::test]
async fn failures_say_whether_a_retry_may_help() {
    let (base, _) = server().await;
    let fetcher = ModuleFetcher::new(None);
    let pin = sha(MODULE);
    // (path, retryable, status): 408 is the server giving up waiting for
    // the request; a later try may pass.
    for (path, retryable, status) in [
        ("gone.wasm", false, "404"),
        ("busy", true, "500"),
        ("slow", true, "408"),
    ] {
        let err = fetcher
            .fetch(&format!("{base}/{path}"), &pin)
            .await
            .unwrap_err();
        assert!(
            err.is_retryable() == retryable && err.message().contains(status),
            "{path}: {err}"
        );
    }
    // a port nothing listens on: bind one, then free it
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let refused = fetcher
        .fetch(&format!("http://{closed}/m.wasm"), &pin)
        .await
        .unwrap_err();
    assert!(refused.is_retryable(), "{refused}");
    let plain = fetcher
        .fetch("http://example.com/m.wasm", &pin)
        .await
        .unwrap_err();
    assert!(
        !plain.is_retryable() && plain.message().contains("must use https"),
        "{plain}"
    );
}
