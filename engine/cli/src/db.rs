//! Where the embedded store lives, and opening it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use shutter_core::{ActionRegistry, Store};
use shutter_runtime::{Engine, EngineConfig};
use shutter_store::{Durability, PostgresStore, SqliteStore};

use crate::database::Configured;

/// `--db`, else `$SHUTTER_DB`, else the config file's `database.url`,
/// else `$XDG_DATA_HOME/shutter/shutter.db`
/// (`~/.local/share/shutter/shutter.db`).
pub(crate) fn path(flag: Option<PathBuf>, configured: Option<&Configured>) -> PathBuf {
    if let Some(path) = flag {
        return path;
    }
    if let Some(path) = std::env::var_os("SHUTTER_DB") {
        return PathBuf::from(path);
    }
    if let Some(url) = configured.and_then(|c| c.database.url.as_ref()) {
        return PathBuf::from(url);
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("shutter/shutter.db")
}

/// A PostgreSQL connection string given as `--db`/`SHUTTER_DB`, if it is one.
fn postgres_url(path: &std::path::Path) -> Option<&str> {
    path.to_str()
        .filter(|text| text.starts_with("postgres://") || text.starts_with("postgresql://"))
}

/// Opens the store `--db` names: a PostgreSQL URL (several nodes share it;
/// every commit is durable) or the SQLite file, with `durability` unless
/// `--sync` says otherwise. The password of a URL is never in a message.
pub(crate) async fn open(args: &DbArgs, durability: Durability) -> anyhow::Result<Opened> {
    let configured = Configured::load()?;
    let path = path(args.db.clone(), configured.as_ref());
    if let Some(url) = postgres_url(&path) {
        let place = PostgresStore::place_of(url);
        let password = match &configured {
            Some(configured) => configured.password()?,
            None => None,
        };
        let store = PostgresStore::connect_with(url, password)
            .await
            .with_context(|| format!("opening the execution store {place}"))?;
        return Ok(Opened {
            store: Arc::new(store),
            place,
            sqlite: None,
        });
    }
    let sqlite = open_sqlite_at(&path, args, durability)?;
    Ok(Opened {
        store: sqlite.clone(),
        place: path.display().to_string(),
        sqlite: Some(sqlite),
    })
}

/// An opened store, and where it is for messages (never a password).
pub(crate) struct Opened {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) place: String,
    sqlite: Option<Arc<SqliteStore>>,
}

impl Opened {
    /// Finishes pending writes (SQLite's writer thread; PostgreSQL commits
    /// each write before answering it).
    pub(crate) fn close(&self) {
        if let Some(sqlite) = &self.sqlite {
            sqlite.close();
        }
    }
}

/// Opens the SQLite file `--db` names (for what only SQLite has: its
/// integrity check).
pub(crate) fn open_sqlite(
    args: &DbArgs,
    durability: Durability,
) -> anyhow::Result<Arc<SqliteStore>> {
    let configured = Configured::load()?;
    let path = path(args.db.clone(), configured.as_ref());
    if postgres_url(&path).is_some() {
        anyhow::bail!("this command reads the SQLite file; PostgreSQL checks its own data");
    }
    open_sqlite_at(&path, args, durability)
}

fn open_sqlite_at(
    path: &std::path::Path,
    args: &DbArgs,
    durability: Durability,
) -> anyhow::Result<Arc<SqliteStore>> {
    let durability = args.sync.map_or(durability, Sync::durability);
    let store = SqliteStore::open_with(path, durability)
        .with_context(|| format!("opening the execution store {}", path.display()))?;
    Ok(Arc::new(store))
}

/// An engine with every built-in action and the WebAssembly host, on `store`.
pub(crate) fn engine(store: Arc<dyn Store>, config: EngineConfig) -> anyhow::Result<Engine> {
    Ok(Engine::new(
        store,
        actions(shutter_wasm::Unpinned::Allowed)?,
        shutter_providers::catalog(),
        config,
    ))
}

/// Every built-in action and the WebAssembly host (running `sha256: dev`
/// modules where `unpinned` allows); the providers read Shutter's config
/// file and YAML files of their own through the language crate's YAML
/// reader.
pub(crate) fn actions(unpinned: shutter_wasm::Unpinned) -> anyhow::Result<ActionRegistry> {
    let settings = shutter_providers::Settings {
        config: Arc::new(config_source()),
        yaml: shutter_dsl::config_file::yaml_reader(),
    };
    let mut actions = shutter_providers::registry_with(&settings);
    actions.register_modules(Arc::new(shutter_wasm::WasmRunner::new(
        wasm_host()?,
        unpinned,
    )));
    Ok(actions)
}

/// Shutter's config file, where the environment says, with the sections
/// the providers, the engine (`limits`) and this binary (`database`) read.
pub(crate) fn config_source() -> shutter_dsl::config_file::YamlConfig {
    let mut sections = shutter_providers::config_sections();
    sections.extend([
        shutter_core::limits::LIMITS_SECTION,
        shutter_core::notify::NOTIFY_SECTION,
        crate::database::SECTION,
    ]);
    shutter_dsl::config_file::YamlConfig::new(shutter_core::Env::process(), sections)
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
    /// The SQLite file, or a PostgreSQL URL (`postgres://user@host/db`,
    /// shared by several nodes); defaults to `$SHUTTER_DB`, else
    /// `~/.local/share/shutter/shutter.db`.
    #[arg(long, value_name = "PATH|URL")]
    pub(crate) db: Option<PathBuf>,
    /// When a SQLite commit is on disk: `full` (before the engine goes on;
    /// the default of `serve`) or `normal` (survives a killed process, a
    /// power cut may lose the last commits; the default elsewhere).
    /// PostgreSQL commits are durable as its server is configured.
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
    /// Most steps this process runs at once, across its executions; more
    /// wait, pending, for one to end (a step that sleeps or waits on a
    /// cloud's task holds its place while it waits).
    #[arg(long, default_value_t = shutter_runtime::DEFAULT_MAX_CONCURRENT_STEPS as u32, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_steps: u32,
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
        let notifier = shutter_providers::notify::HttpNotifier::new()
            .map_err(|err| anyhow::anyhow!("the webhook client: {err}"))?;
        Ok(EngineConfig {
            lease,
            store_patience: duration("--store-patience", &self.store_patience)?,
            max_concurrent_steps: usize::try_from(self.max_steps).unwrap_or(usize::MAX),
            config: Arc::new(config_source()),
            notifier: Some(Arc::new(notifier)),
            ..EngineConfig::default()
        })
    }
}
