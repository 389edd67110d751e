//! The WebAssembly modules a workflow names, checked before it runs or is
//! served: module files where the modules directory allows, regular, the
//! pinned ones; modules by URL downloaded (once, kept by SHA-256).

use std::path::Path;

use shutter_dsl::{Diagnostic, Workflow};
use shutter_wasm::Unpinned;
use shutter_wasm::fetch::{ModuleFetcher, is_url};
use shutter_wasm::modules::{self, ModuleError};

/// Checks every local module of a workflow: where it is, what it is, and
/// its pin (`unpinned` says whether `sha256: dev` may run). One diagnostic
/// per problem, at the `module` key.
pub(crate) fn check_local(
    workflow: &Workflow,
    root: Option<&Path>,
    unpinned: Unpinned,
) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for (path, module) in workflow.wasm_modules() {
        if is_url(&module.module) {
            continue;
        }
        if let Err(ModuleError(message)) = modules::check_file(module, root, unpinned) {
            problems.push(Diagnostic::error("wasm", message).at(&path));
        }
    }
    problems
}

/// Fetches every module a workflow names by URL, so a wrong pin or a dead
/// URL fails before anything runs. One message per problem.
pub(crate) async fn fetch(workflow: &Workflow, fetcher: &ModuleFetcher) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for (path, module) in workflow.wasm_modules() {
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
