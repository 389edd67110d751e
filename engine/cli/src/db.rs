//! Where the embedded store lives, and opening it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use shutter_core::ActionRegistry;
use shutter_runtime::{Engine, EngineConfig};
use shutter_store::{Durability, SqliteStore};

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

/// Opens the store at `--db`; `durability` unless `--sync` says otherwise.
pub(crate) fn open(args: &DbArgs, durability: Durability) -> anyhow::Result<Arc<SqliteStore>> {
    let path = path(args.db.clone());
    let durability = args.sync.map_or(durability, Sync::durability);
    let store = SqliteStore::open_with(&path, durability)
        .with_context(|| format!("opening the execution store {}", path.display()))?;
    Ok(Arc::new(store))
}

/// An engine with every built-in action and the WebAssembly host, on `store`.
pub(crate) fn engine(store: Arc<SqliteStore>, config: EngineConfig) -> anyhow::Result<Engine> {
    Ok(Engine::new(
        store,
        actions()?,
        shutter_providers::catalog(),
        config,
    ))
}

/// Every built-in action and the WebAssembly host; the providers read
/// Shutter's config file and YAML files of their own through the
/// language crate's YAML reader.
pub(crate) fn actions() -> anyhow::Result<ActionRegistry> {
    let settings = shutter_providers::Settings {
        config: Arc::new(config_source()),
        yaml: shutter_dsl::config_file::yaml_reader(),
    };
    let mut actions = shutter_providers::registry_with(&settings);
    actions.register_modules(Arc::new(shutter_wasm::WasmRunner::new(wasm_host()?)));
    Ok(actions)
}

/// Shutter's config file, where the environment says, with the sections
/// the providers read.
pub(crate) fn config_source() -> shutter_dsl::config_file::YamlConfig {
    shutter_dsl::config_file::YamlConfig::new(
        shutter_core::Env::process(),
        shutter_providers::config_sections(),
    )
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
    /// When a commit is on disk: `full` (before the engine goes on; the
    /// default of `serve`) or `normal` (survives a killed process, a power
    /// cut may lose the last commits; the default elsewhere).
    #[arg(long, value_enum, value_name = "MODE")]
    pub(crate) sync: Option<Sync>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Sync {
    Full,
    Normal,
}

impl Sync {
    fn durability(self) -> Durability {
        match self {
            Self::Full => Durability::Full,
            Self::Normal => Durability::Normal,
        }
    }
}

/// How an engine holds the executions it runs.
#[derive(Debug, clap::Args)]
pub(crate) struct EngineArgs {
    /// How long a claim on an execution lasts without renewal (renewed
    /// every third of it): after a crash, another engine takes the
    /// execution over this long after the last renewal.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    lease: String,
    /// How long a running execution waits for an unavailable store (a full
    /// disk) before it stops where it is, to be taken back once the store
    /// answers again.
    #[arg(long, default_value = "60s", value_name = "DURATION")]
    store_patience: String,
}

impl EngineArgs {
    pub(crate) fn config(&self) -> anyhow::Result<EngineConfig> {
        let duration = |flag: &str, text: &str| {
            shutter_core::units::parse_duration(text)
                .map_err(|err| anyhow::anyhow!("{flag}: {err}"))
        };
        let lease = duration("--lease", &self.lease)?;
        if lease < std::time::Duration::from_millis(300) {
            anyhow::bail!("--lease: {} is too short (at least 300ms)", self.lease);
        }
        Ok(EngineConfig {
            lease,
            store_patience: duration("--store-patience", &self.store_patience)?,
            ..EngineConfig::default()
        })
    }
}
