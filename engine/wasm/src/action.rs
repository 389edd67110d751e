//! `uses: wasm`: the runtime's action that runs a step's module in the host.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use serde_json::Value as Json;
use shutter_runtime::{Action, ActionContext, ActionError};

use crate::failure::Failure;
use crate::fetch::{ModuleFetcher, is_url};
use crate::host::{Grants, Loaded, Run, WasmHost};
use crate::limits::{DEFAULT_MEMORY, DEFAULT_TIMEOUT, Limits, MAX_MEMORY};

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

/// Where a module path points: relative paths resolve from the workflow file.
pub fn resolve_module(module: &str, base_dir: Option<&Path>) -> PathBuf {
    let path = Path::new(module);
    match base_dir {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_path_buf(),
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
            None => {
                let path = resolve_module(&module.module, ctx.base_dir.as_deref());
                Source::Bytes(tokio::fs::read(&path).await.map_err(|e| {
                    ActionError::Fatal(format!("reading module {}: {e}", path.display()))
                })?)
            }
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

/// A step's module: loaded already, or its bytes.
enum Source {
    Loaded(Arc<Loaded>),
    Bytes(Vec<u8>),
}

/// Stops the guest if the action's future is dropped (the step's timeout
/// fired first): the blocking thread must not run on unobserved.
struct StopGuard(Arc<AtomicBool>);

impl Drop for StopGuard {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Every `uses: wasm` module of a workflow, its compensations included.
fn wasm_modules(
    workflow: &shutter_dsl::Workflow,
) -> impl Iterator<Item = (&shutter_dsl::StepId, &shutter_dsl::model::WasmModule)> {
    workflow
        .steps
        .values()
        .flat_map(|step| {
            std::iter::once((&step.id, &step.call))
                .chain(step.compensate.iter().map(|c| (&step.id, c)))
        })
        .filter_map(|(id, call)| match &call.action {
            shutter_dsl::model::ActionRef::Wasm(module) => Some((id, module)),
            shutter_dsl::model::ActionRef::Builtin(_) => None,
        })
}

/// Fetches every module a workflow names by URL before an execution
/// starts (kept on disk by SHA-256), so a wrong pin or a dead URL fails
/// before anything runs. Returns one message per problem.
pub async fn fetch_modules(
    workflow: &shutter_dsl::Workflow,
    fetcher: &ModuleFetcher,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for (id, module) in wasm_modules(workflow).filter(|(_, m)| is_url(&m.module)) {
        if let Err(err) = fetcher.fetch(&module.module, &module.sha256).await {
            problems.push(format!("step `{id}`: {err}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Checks every `uses: wasm` module of a workflow (and its compensations)
/// before an execution starts: the file is there and its SHA-256 is the one
/// pinned. Returns one message per problem.
pub fn verify_modules(
    workflow: &shutter_dsl::Workflow,
    base_dir: Option<&Path>,
) -> Result<(), Vec<String>> {
    use sha2::Digest;
    let mut problems = Vec::new();
    for (id, module) in wasm_modules(workflow) {
        if is_url(&module.module) {
            continue; // fetch_modules checks these
        }
        let path = resolve_module(&module.module, base_dir);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let actual = crate::cache::hex(&sha2::Sha256::digest(&bytes));
                if actual != module.sha256 {
                    problems.push(format!(
                        "step `{id}`: module {} has sha256 {actual}, but the workflow pins {}",
                        path.display(),
                        module.sha256
                    ));
                }
            }
            Err(err) => problems.push(format!(
                "step `{id}`: cannot read module {}: {err}",
                path.display()
            )),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
