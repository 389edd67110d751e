//! `uses: wasm`: the runtime's action that runs a step's module in the host.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde_json::Value as Json;
use shutter_core::{Action, ActionContext, ActionError, ModuleRunner, ModuleSpec};

use crate::failure::Failure;
use crate::fetch::is_url;
use crate::host::{Grants, Loaded, Run, WasmHost};
use crate::limits::{DEFAULT_MEMORY, DEFAULT_TIMEOUT, Limits, MAX_MEMORY};
use crate::modules::{self, Unpinned};

/// Runs `uses: wasm` steps: registered as the engine's module runner, it
/// makes a [`WasmAction`] for each step's module.
#[derive(Debug, Clone)]
pub struct WasmRunner {
    host: Arc<WasmHost>,
    unpinned: Unpinned,
}

impl WasmRunner {
    /// A runner of modules in `host`; `unpinned` says whether modules
    /// pinned `sha256: dev` may run.
    pub fn new(host: Arc<WasmHost>, unpinned: Unpinned) -> Self {
        Self { host, unpinned }
    }
}

impl ModuleRunner for WasmRunner {
    fn action(&self, module: &ModuleSpec) -> Arc<dyn Action> {
        Arc::new(WasmAction {
            host: self.host.clone(),
            module: module.clone(),
            unpinned: self.unpinned,
        })
    }
}

/// One step's module, run in the host.
#[derive(Debug)]
pub struct WasmAction {
    host: Arc<WasmHost>,
    module: ModuleSpec,
    unpinned: Unpinned,
}

#[async_trait]
impl Action for WasmAction {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let module = &self.module;
        // Checked again here, not only when the workflow was registered:
        // a workflow kept in a shared store may have been registered by a
        // node that allowed what this one refuses.
        self.unpinned
            .check(module)
            .map_err(|err| ActionError::fatal(err.0))?;
        // A module loaded before (by its pinned SHA-256) is neither read
        // nor fetched again; an unpinned one is read on every run, so a
        // rebuild is what runs next.
        let loaded = (!module.is_unpinned())
            .then(|| self.host.loaded(&module.sha256))
            .flatten();
        let source = match loaded {
            Some(loaded) => Source::Loaded(loaded),
            None if is_url(&module.module) => Source::Bytes(
                self.host
                    .modules()
                    .fetch(&module.module, &module.sha256)
                    .await?,
            ),
            None => Source::File {
                module: module.module.clone(),
                root: ctx.base_dir.clone(),
            },
        };
        let memory = module.memory.unwrap_or(DEFAULT_MEMORY);
        if memory > MAX_MEMORY {
            return Err(ActionError::fatal(format!(
                "`memory` {memory} is above this host's limit of {MAX_MEMORY} bytes"
            )));
        }
        let env = module
            .allow_env
            .iter()
            .filter_map(|name| std::env::var(name).ok().map(|value| (name.clone(), value)))
            .collect();
        let run = Run {
            params: ctx.params.clone(),
            limits: Limits {
                memory,
                timeout: ctx.timeout.unwrap_or(DEFAULT_TIMEOUT),
                ..Limits::default()
            },
            grants: Grants {
                secrets: ctx.secrets.clone(),
                env,
                http: module.allow_http.clone(),
            },
            canceled: Arc::new(AtomicBool::new(false)),
            runtime: tokio::runtime::Handle::try_current().ok(),
        };
        let canceled = run.canceled.clone();
        let host = self.host.clone();
        let sha256 = module.sha256.clone();
        let blocking = tokio::task::spawn_blocking(move || {
            let loaded = match source {
                Source::Loaded(loaded) => loaded,
                Source::Bytes(bytes) => host.load(&bytes, &sha256)?,
                Source::File { module, root } => {
                    let bytes = modules::locate(&module, root.as_deref())
                        .and_then(|file| modules::read(&file, &module))
                        .map_err(|err| Failure::Load(err.0))?;
                    if sha256 == shutter_core::UNPINNED {
                        // Whatever the file holds now.
                        host.load_unpinned(&bytes)?
                    } else {
                        host.load(&bytes, &sha256)?
                    }
                }
            };
            Ok::<_, Failure>(host.run(&loaded, run))
        });
        // Cancel reaches the guest at its next epoch tick.
        let _stop_when_dropped = StopGuard(canceled.clone());
        let outcome = tokio::select! {
            joined = blocking => joined.map_err(|e| ActionError::fatal(format!("the step's thread failed: {e}")))?,
            () = ctx.cancel.cancelled() => {
                canceled.store(true, Ordering::Relaxed);
                return Err(ActionError::Canceled);
            }
        };
        let outcome = outcome.map_err(|failure| ActionError::fatal(failure.to_string()))?;
        for (level, line) in outcome.logs {
            ctx.log(level, ctx.secrets.redact(&line));
        }
        if let Some((percent, message)) = outcome.progress.last() {
            ctx.progress(*percent, message.clone());
        }
        outcome.result.map_err(|failure| {
            if failure == Failure::Canceled {
                ActionError::Canceled
            } else if failure.retryable() {
                ActionError::retryable(failure.to_string())
            } else {
                ActionError::fatal(failure.to_string())
            }
        })
    }
}

/// A step's module: loaded already, its bytes, or a file to read (on
/// the blocking thread).
enum Source {
    Loaded(Arc<Loaded>),
    Bytes(Vec<u8>),
    File {
        module: String,
        root: Option<PathBuf>,
    },
}

/// Stops the guest if the action's future is dropped (the step's timeout
/// fired first): the blocking thread must not run on unobserved.
struct StopGuard(Arc<AtomicBool>);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}
