//! `uses: wasm`: the runtime's action that runs a step's module in the host.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde_json::Value as Json;
use shutter_runtime::{Action, ActionContext, ActionError};

use crate::failure::Failure;
use crate::fetch::{ModuleFetcher, is_url};
use crate::host::{Grants, Loaded, Run, WasmHost};
use crate::limits::{DEFAULT_MEMORY, DEFAULT_TIMEOUT, Limits, MAX_MEMORY};
use crate::modules;

/// Runs `uses: wasm` steps.
#[derive(Debug)]
pub struct WasmAction {
    host: Arc<WasmHost>,
}

impl WasmAction {
    pub fn new(host: Arc<WasmHost>) -> Self {
        Self { host }
    }
}

#[async_trait]
impl Action for WasmAction {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let module = ctx
            .module
            .as_ref()
            .ok_or_else(|| ActionError::Fatal("no `wasm:` module given".to_owned()))?;
        // A module loaded before (by its pinned SHA-256) is neither read nor fetched again.
        let source = match self.host.loaded(&module.sha256) {
            Some(loaded) => Source::Loaded(loaded),
            None if is_url(&module.module) => Source::Bytes(
                self.host
                    .modules()
                    .fetch(&module.module, &module.sha256)
                    .await
                    .map_err(|e| {
                        if e.retryable {
                            ActionError::Retryable(e.message)
                        } else {
                            ActionError::Fatal(e.message)
                        }
                    })?,
            ),
            None => Source::File {
                module: module.module.clone(),
                root: ctx.base_dir.clone(),
            },
        };
        let memory = module.memory.unwrap_or(DEFAULT_MEMORY);
        if memory > MAX_MEMORY {
            return Err(ActionError::Fatal(format!(
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
                    host.load(&bytes, &sha256)?
                }
            };
            Ok::<_, Failure>(host.run(&loaded, run))
        });
        // Cancel reaches the guest at its next epoch tick.
        let _stop_when_dropped = StopGuard(canceled.clone());
        let outcome = tokio::select! {
            joined = blocking => joined.map_err(|e| ActionError::Fatal(format!("the step's thread failed: {e}")))?,
            () = ctx.cancel.cancelled() => {
                canceled.store(true, Ordering::Relaxed);
                return Err(ActionError::Canceled);
            }
        };
        let outcome = outcome.map_err(|failure| ActionError::Fatal(failure.to_string()))?;
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
                ActionError::Retryable(failure.to_string())
            } else {
                ActionError::Fatal(failure.to_string())
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

/// Fetches every module a workflow names by URL before an execution
/// starts (kept on disk by SHA-256), so a wrong pin or a dead URL fails
/// before anything runs. Returns one message per problem.
pub async fn fetch_modules(
    workflow: &shutter_dsl::Workflow,
    fetcher: &ModuleFetcher,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for (path, module) in modules::modules_of(workflow) {
        if !is_url(&module.module) {
            continue;
        }
        if let Err(err) = fetcher.fetch(&module.module, &module.sha256).await {
            problems.push(format!("{path}: {err}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
