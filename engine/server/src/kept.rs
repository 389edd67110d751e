//! Workflows kept in the store: what one node registers, the others (and
//! this one after a restart) can run. A node registers what the store
//! keeps when it starts, and again when asked for a workflow it does not
//! know.

use shutter_core::{StoreError, StoredWorkflow};
use shutter_dsl::Source;

use crate::state::AppState;
use crate::workflows::Version;

/// Keeps `version` in the store; keeping it twice changes nothing.
pub(crate) async fn keep(state: &AppState, version: &Version) -> Result<(), StoreError> {
    let workflow = StoredWorkflow {
        name: version.plan.workflow.name.to_string(),
        plan_hash: version.plan.hash.to_string(),
        source: version.source.clone(),
        path: version.path.clone(),
        registered_at: version.registered_at,
    };
    state.store().save_workflow(&workflow).await
}

/// Registers here every version the store keeps that this node does not
/// know. Returns the problems of those that do not compile here (a module
/// file missing on this host, an action this build lacks): they are not
/// served by this node.
pub(crate) async fn refresh(state: &AppState) -> Result<Vec<String>, StoreError> {
    let mut problems = Vec::new();
    for stored in state.store().workflows().await? {
        if state.workflows().knows(&stored.name, &stored.plan_hash) {
            continue;
        }
        let file = stored
            .path
            .clone()
            .unwrap_or_else(|| format!("{}.yaml", stored.name));
        let source = Source::new(file, &stored.source);
        let catalog = state.engine().catalog();
        if let Err(diagnostics) =
            state
                .workflows()
                .register(&source, stored.path.clone(), catalog, stored.registered_at)
        {
            problems.push(format!(
                "workflow `{}` (version {}) kept in the store does not load here:\n{}",
                stored.name,
                stored.plan_hash,
                diagnostics.render(false)
            ));
        }
    }
    Ok(problems)
}
