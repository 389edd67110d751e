//! Where the embedded store lives, and opening it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use shutter_runtime::{Engine, EngineConfig};
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

/// An engine with every built-in action, on `store`.
pub(crate) fn engine(store: Arc<SqliteStore>) -> Engine {
    Engine::new(
        store,
        shutter_providers::registry(),
        shutter_providers::catalog(),
        EngineConfig::default(),
    )
}

/// Options shared by every command that reads or writes executions.
#[derive(Debug, clap::Args)]
pub(crate) struct DbArgs {
    /// The SQLite file; defaults to `$SHUTTER_DB`, else `~/.local/share/shutter/shutter.db`.
    #[arg(long, value_name = "PATH")]
    pub(crate) db: Option<PathBuf>,
}
