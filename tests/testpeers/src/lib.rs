//! The real servers provider tests talk to, started by `tests/peers/start`.
//!
//! A test asks for a peer by name ([`peer`]); the first ask in a process
//! starts it, later asks share it. Under `tests/run` (which sets
//! `SHUTTER_PEERS_DIR` and stops everything in it when the suite ends) one
//! peer serves every test binary of the run. Under a bare `cargo test` the
//! peer lives in a temporary directory and a watchdog stops it when the test
//! process exits, so nothing is left running either way.
//!
//! Where no real server exists (Nova), [`nova`] is a fake that follows the
//! documented API and does its work in a real peer (Glance).
//!
//! [`postgres::ScratchDb`] is a database of a test's own on the PostgreSQL
//! that `tests/run` makes sure answers.
//!
//! [`tls::tls_proxy`] puts TLS with a test CA in front of a peer, for the
//! tests of how clients trust certificates.
//!
//! [`openapi_spec_validator`] is a tool rather than a server: the command
//! that checks the API's OpenAPI document, installed the way peers are.
//!
//! Peers keep state across tests: tests isolate themselves by unique names,
//! tags or regions rather than by resetting the peer under other tests.

pub mod moto;
pub mod nova;
pub mod postgres;
pub mod tls;

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// A running peer: its URL and the environment a client is configured with.
#[derive(Debug, Clone)]
pub struct Peer {
    pub name: String,
    pub url: String,
    /// `KEY=value` pairs from `RUN_DIR/env` (credentials, endpoints).
    pub env: Vec<(String, String)>,
    pub run_dir: PathBuf,
}

impl Peer {
    /// The value of one of the peer's environment entries.
    pub fn var(&self, key: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// Held by a test while it writes to the Glance peer. glance-api on sqlite
/// answers "database is locked" (and can leave an upload stuck in `saving`)
/// when several clients write at once, so tests of one process take turns.
pub fn glance_turn() -> std::sync::MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The repository root (`tests/testpeers/../..`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/testpeers lives two levels inside the repository")
        .to_path_buf()
}

/// The peer `name` (`moto`, `glance`, `keystone`, `glance-keystone`,
/// `vcsim`), started on first use. Panics with the peer's own explanation
/// when it cannot start: a test that needs a peer cannot pass without it.
pub fn peer(name: &str) -> Peer {
    static STARTED: OnceLock<Mutex<HashMap<String, Peer>>> = OnceLock::new();
    let started = STARTED.get_or_init(|| Mutex::new(HashMap::new()));
    let mut started = started
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(peer) = started.get(name) {
        return peer.clone();
    }
    let peer = match std::env::var_os("SHUTTER_PEERS_DIR") {
        Some(dir) => shared(name, Path::new(&dir)),
        None => private(name),
    };
    started.insert(name.to_owned(), peer.clone());
    peer
}

/// A peer in the suite's directory, started by whichever test binary asks
/// first (a file lock keeps two binaries from starting it twice).
fn shared(name: &str, dir: &Path) -> Peer {
    std::fs::create_dir_all(dir).expect("SHUTTER_PEERS_DIR is writable");
    let lock = File::create(dir.join(format!("{name}.lock"))).expect("lock file");
    lock.lock().expect("lock the peer");
    let run_dir = dir.join(name);
    if !run_dir.join("url").exists() || !run_dir.join("pid").exists() {
        start(name, &run_dir);
    }
    let peer = read(name, &run_dir);
    drop(lock);
    peer
}

/// A peer of this process alone, stopped by a watchdog when it exits.
fn private(name: &str) -> Peer {
    let run_dir = tempfile::Builder::new()
        .prefix(&format!("shutter-peer-{name}-"))
        .tempdir()
        .expect("temp dir")
        .keep();
    start(name, &run_dir);
    let stop = repo_root().join("tests/peers/stop");
    // The watchdog is its own session, so it outlives this process, notices
    // the exit within a second and stops the peer.
    let watchdog = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; '{stop}' '{dir}'; rm -rf '{dir}'",
        pid = std::process::id(),
        stop = stop.display(),
        dir = run_dir.display(),
    );
    #[allow(
        clippy::zombie_processes,
        reason = "the watchdog must outlive this process, which never waits for it"
    )]
    Command::new("setsid")
        .args(["sh", "-c", &watchdog])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("setsid starts the peer's watchdog");
    read(name, &run_dir)
}

/// The `openapi-spec-validator` command (a Python tool, pinned in
/// `tests/peers/install`): `SHUTTER_OPENAPI_SPEC_VALIDATOR` when set
/// (`tests/run` installs it and sets it), else installed on first use into
/// the same cache. Panics when it cannot be had: a test that validates a
/// document cannot pass without it, so it fails rather than skips.
pub fn openapi_spec_validator() -> PathBuf {
    static FOUND: OnceLock<PathBuf> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let command = match std::env::var_os("SHUTTER_OPENAPI_SPEC_VALIDATOR") {
                Some(path) => PathBuf::from(path),
                None => install("openapi-spec-validator").join("bin/openapi-spec-validator"),
            };
            assert!(
                command.is_file(),
                "{} is missing: tests/run installs it (tests/peers/install openapi-spec-validator) and sets SHUTTER_OPENAPI_SPEC_VALIDATOR",
                command.display()
            );
            command
        })
        .clone()
}

/// Runs `tests/peers/install NAME` (idempotent, locked against parallel
/// installs): the directory it installed into, its last line.
fn install(name: &str) -> PathBuf {
    let script = repo_root().join("tests/peers/install");
    let mut command = Command::new(&script);
    command.arg(name);
    let output = succeeds(command, &format!("{name} did not install"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let dir = stdout
        .lines()
        .next_back()
        .map(str::trim)
        .unwrap_or_default();
    assert!(
        !dir.is_empty(),
        "tests/peers/install {name} printed no directory"
    );
    PathBuf::from(dir)
}

/// Runs `command` with no input; what it printed. Panics, with `failure`
/// and everything it printed, unless it succeeds.
pub fn succeeds(mut command: Command, failure: &str) -> std::process::Output {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("running {:?}: {err}", command.get_program()));
    assert!(
        output.status.success(),
        "{failure}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn start(name: &str, run_dir: &Path) {
    let mut command = Command::new(repo_root().join("tests/peers/start"));
    command.arg(name).arg(run_dir);
    succeeds(command, &format!("peer {name} did not start"));
}

fn read(name: &str, run_dir: &Path) -> Peer {
    let url = std::fs::read_to_string(run_dir.join("url"))
        .unwrap_or_else(|err| panic!("{}/url: {err}", run_dir.display()));
    let env = std::fs::read_to_string(run_dir.join("env")).unwrap_or_default();
    let env = env
        .lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_owned(), unquote(value.trim()).to_owned()))
        .collect();
    Peer {
        name: name.to_owned(),
        url: url.trim().to_owned(),
        env,
        run_dir: run_dir.to_path_buf(),
    }
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .or_else(|| value.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
        .unwrap_or(value)
}
