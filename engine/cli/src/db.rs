//! Where the embedded store lives, and opening it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use shutter_runtime::{ActionRegistry, Engine, EngineConfig};
use shutter_store::SqliteStore;

/// `--db`, else `$SHUTTER_DB`, else `$XDG_DATA_HOME/shutter/shutter.db`
/// (`~/.local/share/shutter/shutter.db`).
pub(crate) fn path(flag: Option<PathBuf>) -> PathBuf {
    if let Some(path) = flag {
        return path;
    }
    if let Some(path) = std::env::var_os("SHUTTER_DB") {
        return PathBuf::from(path);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("shutter/shutter.db")
}

pub(crate) fn open(flag: Option<PathBuf>) -> anyhow::Result<Arc<SqliteStore>> {
    let path = path(flag);
    let store = SqliteStore::open(&path)
        .with_context(|| format!("opening the execution store {}", path.display()))?;
    Ok(Arc::new(store))
}

/// An engine with every built-in action and the WebAssembly host, on `store`.
pub(crate) fn engine(store: Arc<SqliteStore>) -> anyhow::Result<Engine> {
    Ok(Engine::new(
        store,
        actions()?,
        shutter_providers::catalog(),
        EngineConfig::default(),
    ))
}

/// Every built-in action and the WebAssembly host.
pub(crate) fn actions() -> anyhow::Result<ActionRegistry> {
    let mut actions = shutter_providers::registry();
    let host = wasm_host()?;
    actions.register(
        shutter_dsl::catalog::WASM_ACTION,
        Arc::new(shutter_wasm::WasmAction::new(host)),
    );
    Ok(actions)
}

/// Where the WebAssembly host keeps compiled modules (and, in `modules/`,
/// modules downloaded by URL): `$SHUTTER_CACHE/wasm`, default
/// `~/.cache/shutter/wasm`.
pub(crate) fn wasm_cache_dir() -> Option<PathBuf> {
    std::env::var_os("SHUTTER_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/shutter")))
        .map(|dir| dir.join("wasm"))
}

/// The WebAssembly host, caching in [`wasm_cache_dir`].
pub(crate) fn wasm_host() -> anyhow::Result<Arc<shutter_wasm::WasmHost>> {
    let host =
        shutter_wasm::WasmHost::new(wasm_cache_dir()).context("starting the WebAssembly host")?;
    Ok(Arc::new(host))
}

/// Options shared by every command that reads or writes executions.
#[derive(Debug, clap::Args)]
pub(crate) struct DbArgs {
    /// The SQLite file; defaults to `$SHUTTER_DB`, else `~/.local/share/shutter/shutter.db`.
    #[arg(long, value_name = "PATH")]
    pub(crate) db: Option<PathBuf>,
}
