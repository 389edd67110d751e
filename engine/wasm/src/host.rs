//! The host: one wasmtime engine (epoch interruption, pooling allocator),
//! compiled modules cached in memory and on disk, and runs of either ABI.
//!
//! The engine and its epoch ticker start with the first module loaded, not
//! with the host: the pooling allocator reserves its address space up
//! front (about a thousand `mprotect` calls), which a run with no WASM
//! step should not pay at start-up.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use shutter_core::{LogLevel, Secrets};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::abi::{Abi, detect};
use crate::cache::{Compiled, DiskCache};
use crate::failure::Failure;
use crate::fetch::ModuleFetcher;
use crate::limits::{Limits, MAX_MEMORY};
use crate::{command, component};

/// How often the epoch advances: the resolution of deadlines and cancel.
const TICK: Duration = Duration::from_millis(10);

/// A module ready to instantiate, per ABI.
pub(crate) enum Prepared {
    Command(command::Pre),
    Component(component::Pre),
}

/// What one run may reach besides its parameters.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    pub secrets: Secrets,
    pub env: Vec<(String, String)>,
    /// `allow.http`: the hosts a component may call (commands: none).
    pub http: Vec<String>,
}

/// One run of a step.
#[derive(Debug, Clone)]
pub struct Run {
    /// The parameters, a JSON object.
    pub params: Json,
    pub limits: Limits,
    pub grants: Grants,
    /// Set to stop the run at the next tick.
    pub canceled: Arc<AtomicBool>,
    /// Where a component's HTTP requests run (the caller's tokio runtime);
    /// without one, a component is granted no HTTP.
    pub runtime: Option<tokio::runtime::Handle>,
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    pub result: Result<Json, Failure>,
    pub logs: Vec<(LogLevel, String)>,
    pub progress: Vec<(u8, String)>,
}

/// A loaded module, shared by every run of it.
pub struct Loaded {
    pub(crate) prepared: Prepared,
    pub abi: Abi,
    pub sha256: String,
}

impl std::fmt::Debug for Loaded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("abi", &self.abi)
            .field("sha256", &self.sha256)
            .finish()
    }
}

/// Runs WebAssembly steps. Create one per process; it is cheap to share.
pub struct WasmHost {
    /// Started on first use; the error, if wasmtime could not start, is
    /// kept and given to every later load.
    wasmtime: OnceLock<Result<Wasmtime, String>>,
    cache: Option<DiskCache>,
    loaded: Mutex<HashMap<String, Arc<Loaded>>>,
    /// One HTTP client for every component run, made on first use.
    http: OnceLock<Option<reqwest::Client>>,
    modules: ModuleFetcher,
}

impl std::fmt::Debug for WasmHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmHost")
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl WasmHost {
    /// A host caching compiled modules in `cache_dir`, and modules
    /// downloaded by URL in its `modules/` (none: memory only).
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Self, Failure> {
        Ok(Self {
            wasmtime: OnceLock::new(),
            modules: ModuleFetcher::new(cache_dir.as_ref().map(|dir| dir.join("modules"))),
            cache: cache_dir.map(DiskCache::new),
            loaded: Mutex::new(HashMap::new()),
            http: OnceLock::new(),
        })
    }

    /// The engine, started on first use.
    pub(crate) fn engine(&self) -> Result<&Engine, Failure> {
        match self.wasmtime.get_or_init(Wasmtime::start) {
            Ok(wasmtime) => Ok(&wasmtime.engine),
            Err(message) => Err(Failure::Load(message.clone())),
        }
    }

    /// Where modules named by URL come from.
    pub fn modules(&self) -> &ModuleFetcher {
        &self.modules
    }

    /// The module already loaded with this SHA-256, if any: a step whose
    /// module is loaded needs neither its file nor its URL again.
    pub fn loaded(&self, sha256: &str) -> Option<Arc<Loaded>> {
        self.loaded
            .lock()
            .expect("no panic while holding this lock")
            .get(&sha256.to_ascii_lowercase())
            .cloned()
    }

    /// Loads a module's bytes, checking them against `sha256` first.
    pub fn load(&self, bytes: &[u8], sha256: &str) -> Result<Arc<Loaded>, Failure> {
        let actual = hex::encode(Sha256::digest(bytes));
        if !actual.eq_ignore_ascii_case(sha256) {
            // Never the hash found: that would tell a workflow the hash of
            // any file it can name.
            return Err(Failure::Load(format!(
                "the module does not match its pin (sha256 {sha256})"
            )));
        }
        self.load_as(bytes, actual)
    }

    /// Loads a module under development (`sha256: dev`): whatever its
    /// bytes are, kept by their SHA-256 like any other.
    pub fn load_unpinned(&self, bytes: &[u8]) -> Result<Arc<Loaded>, Failure> {
        self.load_as(bytes, hex::encode(Sha256::digest(bytes)))
    }

    /// Loads `bytes`, whose SHA-256 is `actual`: from memory, the disk
    /// cache, or compiled.
    fn load_as(&self, bytes: &[u8], actual: String) -> Result<Arc<Loaded>, Failure> {
        if let Some(loaded) = self
            .loaded
            .lock()
            .expect("no panic while holding this lock")
            .get(&actual)
        {
            return Ok(loaded.clone());
        }
        let abi = detect(bytes).map_err(Failure::Load)?;
        let engine = self.engine()?;
        let compiled = match self
            .cache
            .as_ref()
            .and_then(|c| c.load(engine, &actual, abi))
        {
            Some(compiled) => compiled,
            None => self.compile(engine, bytes, &actual, abi)?,
        };
        let prepared = match compiled {
            Compiled::Module(module) => Prepared::Command(command::prepare(engine, &module)?),
            Compiled::Component(component) => {
                Prepared::Component(component::prepare(engine, &component)?)
            }
        };
        let loaded = Arc::new(Loaded {
            prepared,
            abi,
            sha256: actual.clone(),
        });
        self.loaded
            .lock()
            .expect("no panic while holding this lock")
            .insert(actual, loaded.clone());
        Ok(loaded)
    }

    fn compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        sha256: &str,
        abi: Abi,
    ) -> Result<Compiled, Failure> {
        let invalid = |e: wasmtime::Error| {
            Failure::Load(format!("the module does not compile: {}", first_line(&e)))
        };
        let (compiled, serialized) = match abi {
            Abi::Command => {
                let module = wasmtime::Module::new(engine, bytes).map_err(invalid)?;
                let serialized = module.serialize().ok();
                (Compiled::Module(module), serialized)
            }
            Abi::Component => {
                let component =
                    wasmtime::component::Component::new(engine, bytes).map_err(invalid)?;
                let serialized = component.serialize().ok();
                (Compiled::Component(component), serialized)
            }
        };
        if let (Some(cache), Some(serialized)) = (&self.cache, serialized) {
            cache.store(engine, sha256, &serialized);
        }
        Ok(compiled)
    }

    /// Runs a loaded module once, in a fresh store. Blocking: call it from
    /// a blocking thread.
    pub fn run(&self, loaded: &Loaded, run: Run) -> Outcome {
        // A module was loaded, so the engine has started.
        let engine = match self.engine() {
            Ok(engine) => engine,
            Err(failure) => {
                return Outcome {
                    result: Err(failure),
                    logs: Vec::new(),
                    progress: Vec::new(),
                };
            }
        };
        match &loaded.prepared {
            Prepared::Command(pre) => command::run(engine, pre, run),
            Prepared::Component(pre) => {
                let client = if run.grants.http.is_empty() {
                    None
                } else {
                    self.http
                        .get_or_init(|| match crate::http::client() {
                            Ok(client) => Some(client),
                            Err(message) => {
                                tracing::warn!("components get no http: {message}");
                                None
                            }
                        })
                        .as_ref()
                };
                component::run(engine, pre, run, client)
            }
        }
    }
}

/// The wasmtime engine and the thread that advances its epoch (the
/// resolution of deadlines and cancel), stopped with it.
struct Wasmtime {
    engine: Engine,
    ticker: Option<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Wasmtime {
    fn start() -> Result<Self, String> {
        let engine = Engine::new(&config()).map_err(|e| format!("starting wasmtime: {e}"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("shutter-wasm-epoch".to_owned())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| format!("starting the epoch ticker: {e}"))?
        };
        Ok(Self {
            engine,
            ticker: Some(ticker),
            stop,
        })
    }
}

impl Drop for Wasmtime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

fn config() -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_memories(512)
        .total_tables(1024)
        .total_core_instances(1024)
        .total_component_instances(512)
        .max_memories_per_component(8)
        .max_memory_size(usize::try_from(MAX_MEMORY).unwrap_or(usize::MAX));
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

pub(crate) fn first_line(err: &wasmtime::Error) -> String {
    let text = format!("{err:#}");
    text.lines().next().unwrap_or_default().to_owned()
}

/// Outputs must be one JSON object, in UTF-8, within the limit.
pub(crate) fn parse_output(bytes: &[u8], limit: usize) -> Result<Json, Failure> {
    if bytes.len() > limit {
        return Err(Failure::OutputTooLarge(limit));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Failure::InvalidOutput(format!("valid UTF-8 ({e})")))?;
    match serde_json::from_str::<Json>(text) {
        Ok(Json::Object(map)) => Ok(Json::Object(map)),
        Ok(other) => Err(Failure::InvalidOutput(format!(
            "a JSON object (got {})",
            kind(&other)
        ))),
        Err(e) => Err(Failure::InvalidOutput(format!("valid JSON ({e})"))),
    }
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasmtime_starts_with_the_first_module_not_with_the_host() {
        let host = WasmHost::new(None).expect("a host");
        assert!(host.wasmtime.get().is_none(), "nothing started yet");
        let bytes = wat::parse_str(r#"(module (func (export "_start")))"#).expect("wat");
        let sha256 = hex::encode(Sha256::digest(&bytes));
        host.load(&bytes, &sha256).expect("loads");
        assert!(
            matches!(host.wasmtime.get(), Some(Ok(_))),
            "started by the load"
        );
    }
}
