#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! A COMMIT whose answer is lost with the connection: the server carried
//! it out, so the append is answered as written (from the server's own
//! word, `txid_status`), and nothing is written twice. Before, the engine
//! was told "unavailable" and appended the same changes again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use shutter_core::record::LogLevel;
use shutter_core::{Change, Claim, ExecutionId, Holder, NewExecution, Owner, Page, StepKey, Store};
use shutter_store::PostgresStore;
use shutter_testpeers::postgres::ScratchDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A simple-protocol `COMMIT` as tokio-postgres sends it: `Q`, a length
/// of 11, the text and its NUL.
const COMMIT: &[u8] = b"Q\x00\x00\x00\x0bCOMMIT\x00";

/// Forwards connections to `upstream`; once armed, the first connection
/// to send a COMMIT has it delivered, then (the server given time to
/// carry it out) is cut before the answer comes back.
async fn cutting_proxy(upstream: String, armed: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = TcpStream::connect(&upstream).await.unwrap();
            let armed = armed.clone();
            tokio::spawn(async move {
                let (mut from_client, mut to_client) = client.into_split();
                let (mut from_server, mut to_server) = server.into_split();
                let down = tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut from_server, &mut to_client).await;
                });
                let mut buffer = vec![0u8; 64 * 1024];
                while let Ok(n) = from_client.read(&mut buffer).await {
                    if n == 0 || to_server.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                    let chunk = &buffer[..n];
                    if chunk.windows(COMMIT.len()).any(|w| w == COMMIT)
                        && armed.swap(false, Ordering::SeqCst)
                    {
                        // The answer is not passed on; the server is given
                        // time to carry the COMMIT out before it sees the
                        // connection go.
                        down.abort();
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        return;
                    }
                }
                down.abort();
            });
        }
    });
    address
}

/// `url` with its host and port replaced by `address`.
fn through(url: &str, address: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let user = authority
        .rsplit_once('@')
        .map(|(user, _)| format!("{user}@"));
    format!("{scheme}://{}{address}/{path}", user.unwrap_or_default())
}

#[tokio::test]
async fn an_append_whose_commit_lost_its_answer_is_answered_as_written_once() {
    let db = ScratchDb::new().await;
    let upstream = {
        let rest = db.url.split_once("://").expect("a URL").1;
        let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
        authority
            .rsplit_once('@')
            .map_or(authority, |(_, h)| h)
            .to_owned()
    };
    let armed = Arc::new(AtomicBool::new(false));
    let proxy = cutting_proxy(upstream, armed.clone()).await;
    let store = PostgresStore::connect(&through(&db.url, &proxy))
        .await
        .unwrap();
    let id = ExecutionId::new();
    store
        .create(
            NewExecution {
                id,
                workflow: "w".into(),
                plan_hash: "h".into(),
                source: "version: 1".into(),
                source_path: None,
                inputs: serde_json::json!({}),
                steps: vec!["a".into()],
                created_at: chrono::Utc::now(),
                idempotency_key: None,
                concurrency: None,
            },
            &Holder::new(Owner::this_process(), Duration::from_secs(30)),
        )
        .await
        .unwrap();
    armed.store(true, Ordering::SeqCst);
    let seq = store
        .append(
            Claim::created(id),
            vec![Change::Log {
                key: StepKey::step("a"),
                attempt: 1,
                level: LogLevel::Info,
                message: "once".into(),
                at: chrono::Utc::now(),
            }],
        )
        .await;
    assert!(!armed.load(Ordering::SeqCst), "the proxy cut a COMMIT");
    assert_eq!(seq.unwrap(), 1, "answered as written");
    let events = store.events(id, Page::new(0, 10)).await.unwrap();
    assert_eq!(events.len(), 1);
}
