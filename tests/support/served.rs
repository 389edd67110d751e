//! A `shutter serve` process for end-to-end tests: started on a free
//! loopback port, its address read from what it prints, what it logs kept
//! for assertions, and signals sent to it.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

use crate::{repo_root, shutter_bin};

/// A running `shutter serve`.
#[derive(Debug)]
pub struct Served {
    pub child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    logged: Arc<Mutex<Vec<String>>>,
}

impl Served {
    /// Starts `shutter serve --listen 127.0.0.1:0 ARGS...` from the
    /// repository root and waits until it says where it listens.
    pub async fn start<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Self::start_with(args, &[]).await
    }

    /// [`Served::start`] with these environment variables set as well.
    pub async fn start_with<I, S>(args: I, env: &[(&str, &str)]) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut child = Command::new(shutter_bin())
            .current_dir(repo_root())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env.iter().copied())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("shutter serve starts");
        let stderr = child.stderr.take().expect("piped");
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let logged = Arc::new(Mutex::new(Vec::new()));
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(at) = line.find("http://") {
                let base = line[at..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                // Keep reading, so the server never blocks on a full pipe.
                let kept = logged.clone();
                tokio::spawn(async move {
                    while let Ok(Some(line)) = lines.next_line().await {
                        kept.lock().expect("no panic holding it").push(line);
                    }
                });
                return Self {
                    child,
                    base,
                    logged,
                };
            }
        }
        panic!("shutter serve did not say where it listens");
    }

    /// `GET base+path`, its JSON body (any status).
    pub async fn get(&self, path: &str) -> serde_json::Value {
        reqwest::get(format!("{}{path}", self.base))
            .await
            .expect("the server answers")
            .json()
            .await
            .expect("a JSON body")
    }

    /// `POST base+path` with a JSON body: its status and JSON body.
    pub async fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
            .expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON body"))
    }

    /// The events of execution `id`, checked to be consistent: sequence
    /// numbers 1 to n without a gap, and one `execution_finished`.
    /// `context` ends the assertion messages (a seed, say).
    pub async fn consistent_events(&self, id: &str, context: &str) -> Vec<serde_json::Value> {
        let page = self
            .get(&format!("/executions/{id}/events?after=0&limit=1000"))
            .await;
        let events = page["events"].as_array().expect("events").clone();
        let seqs: Vec<u64> = events
            .iter()
            .map(|e| e["seq"].as_u64().unwrap_or(0))
            .collect();
        let gapless: Vec<u64> = (1..=events.len() as u64).collect();
        assert_eq!(seqs, gapless, "execution {id}: sequence numbers {context}");
        let finished = events
            .iter()
            .filter(|e| e["type"] == "execution_finished")
            .count();
        assert_eq!(
            finished, 1,
            "execution {id}: one execution_finished {context}: {events:#?}"
        );
        events
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// What it logged since it started listening.
    pub fn logged(&self) -> String {
        self.logged.lock().expect("no panic holding it").join("\n")
    }

    /// Sends a signal (`STOP`, `CONT`, `TERM`...).
    pub fn signal(&self, name: &str) {
        let pid = self.pid().to_string();
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} {pid}");
    }

    /// Stops it as an operator would (SIGTERM) and waits for it.
    pub async fn stop(mut self) {
        self.signal("TERM");
        let _ = tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await;
    }
}
