//! (skeleton: filled in by its issue)

use std::sync::Arc;

use shutter_runtime::Action;

/// Every action of this provider: its catalog entry and its implementation.
pub fn actions() -> Vec<(shutter_dsl::ActionSpec, Arc<dyn Action>)> {
    Vec::new()
}
