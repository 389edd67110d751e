//! Workflow `concurrency: {key, policy}`: executions with the same key
//! (e.g. the same VM) never overlap. `skip` refuses a start while the key is
//! busy; `queue` records it and runs it when the key frees, in start order.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use shutter_core::{Claim, ExecutionId};
use shutter_dsl::model::ConcurrencyPolicy;
use shutter_dsl::{ExprEngine, Plan};

/// The concurrency key of an execution of `plan` with (resolved) `inputs`.
pub(crate) fn key_of(
    plan: &Plan,
    inputs: &Map<String, Json>,
    expr: &ExprEngine,
) -> Result<Option<(String, ConcurrencyPolicy)>, String> {
    let Some(concurrency) = &plan.workflow.concurrency else {
        return Ok(None);
    };
    let scope = minijinja::Value::from_serialize(serde_json::json!({
        "inputs": inputs,
        "execution": {"workflow": plan.workflow.name.as_str()},
    }));
    let value = expr
        .eval(&concurrency.key, &scope)
        .map_err(|err| format!("concurrency key: {err}"))?;
    let key = match value {
        Json::String(text) => text,
        other => other.to_string(),
    };
    Ok(Some((
        format!("{}/{key}", plan.workflow.name),
        concurrency.policy,
    )))
}

/// What the gate decided for a new execution.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Run now; the key is reserved for it.
    Run,
    /// Record it and let the runner start it when the key frees.
    Queue,
    /// `skip` policy and the key is busy (with this execution, once known).
    Busy(Option<ExecutionId>),
}

#[derive(Debug, Default)]
pub(crate) struct Gate {
    /// Key -> the execution holding it (None: reserved, not yet recorded).
    held: HashMap<String, Option<ExecutionId>>,
    waiting: HashMap<String, VecDeque<(Claim, Arc<Plan>)>>,
}

impl Gate {
    pub(crate) fn admit(&mut self, key: &str, policy: ConcurrencyPolicy) -> Admission {
        match (self.held.get(key), policy) {
            (None, _) => {
                self.held.insert(key.to_owned(), None);
                Admission::Run
            }
            (Some(_), ConcurrencyPolicy::Queue) => Admission::Queue,
            (Some(holder), ConcurrencyPolicy::Skip) => Admission::Busy(*holder),
        }
    }

    /// Reserves `key` although `holder` still holds it: its execution has
    /// ended and only its task's cleanup is left (which then finds the key
    /// held by someone else and leaves it alone).
    pub(crate) fn take_over(&mut self, key: &str, holder: ExecutionId) -> bool {
        if self.held.get(key) != Some(&Some(holder)) {
            return false;
        }
        self.held.insert(key.to_owned(), None);
        true
    }

    /// Gives a reservation made by `admit` back (the start did not happen).
    pub(crate) fn release(&mut self, key: &str) {
        if self.held.get(key) == Some(&None) {
            self.held.remove(key);
        }
    }

    /// Whether `claim` may start now under `key`; if not, it waits in line.
    pub(crate) fn enter(&mut self, key: &str, claim: Claim, plan: &Arc<Plan>) -> bool {
        let id = claim.id;
        match self.held.get(key) {
            None | Some(None) => {
                self.held.insert(key.to_owned(), Some(id));
                true
            }
            Some(Some(holder)) if *holder == id => true,
            Some(Some(_)) => {
                self.waiting
                    .entry(key.to_owned())
                    .or_default()
                    .push_back((claim, plan.clone()));
                false
            }
        }
    }

    /// Takes `id` out of line (it is canceled before it ran).
    pub(crate) fn take_waiting(&mut self, id: ExecutionId) -> Option<(Claim, Arc<Plan>)> {
        for line in self.waiting.values_mut() {
            if let Some(position) = line.iter().position(|(waiting, _)| waiting.id == id) {
                return line.remove(position);
            }
        }
        None
    }

    /// `id` ended: the next in line for `key`, which now holds it.
    pub(crate) fn leave(&mut self, key: &str, id: ExecutionId) -> Option<(Claim, Arc<Plan>)> {
        if self.held.get(key) != Some(&Some(id)) {
            return None;
        }
        let next = self.waiting.get_mut(key).and_then(VecDeque::pop_front);
        if self.waiting.get(key).is_some_and(VecDeque::is_empty) {
            self.waiting.remove(key);
        }
        match &next {
            Some((next, _)) => {
                self.held.insert(key.to_owned(), Some(next.id));
            }
            None => {
                self.held.remove(key);
            }
        }
        next
    }
}
