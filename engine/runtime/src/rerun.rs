//! Which steps a retry runs again. The rule keeps brackets whole: the
//! steps asked for (those that did not succeed, or one step named with
//! `from`), everything downstream of them, every `finally` step (an
//! un-quiesce runs again after a re-quiesce), and the steps each of those
//! names in `rerun_with` (a retried `snapshot` re-runs its `quiesce`), with
//! what is downstream of them in turn.

use std::collections::{BTreeSet, HashSet, VecDeque};

use shutter_core::record::StepRecord;
use shutter_core::state::StepState;
use shutter_dsl::{Plan, StepId};

/// The steps to run again. `from`: a step of the plan (checked by the
/// caller); without it, the steps whose record did not succeed.
pub(crate) fn steps_to_rerun(
    plan: &Plan,
    records: &[StepRecord],
    from: Option<&StepId>,
) -> BTreeSet<StepId> {
    let mut start: Vec<StepId> = match from {
        Some(step) => vec![step.clone()],
        None => {
            // A step's own record (not an item's) says how it ended; a step
            // never recorded did not run.
            let succeeded: HashSet<&str> = records
                .iter()
                .filter(|r| r.key.item.is_none() && r.state == StepState::Succeeded)
                .map(|r| r.key.step.as_str())
                .collect();
            plan.workflow
                .steps
                .keys()
                .filter(|id| !succeeded.contains(id.as_str()))
                .cloned()
                .collect()
        }
    };
    start.extend(
        plan.workflow
            .steps
            .values()
            .filter(|step| step.finally)
            .map(|step| step.id.clone()),
    );
    let mut chosen: BTreeSet<StepId> = BTreeSet::new();
    let mut queue: VecDeque<StepId> = start.into();
    while let Some(id) = queue.pop_front() {
        if !chosen.insert(id.clone()) {
            continue;
        }
        queue.extend(plan.dependants(&id).cloned());
        queue.extend(plan.workflow.steps[&id].rerun_with.iter().cloned());
    }
    chosen
}

#[cfg(test)]
mod tests {
    use shutter_core::ids::StepKey;
    use shutter_dsl::{Catalog, Source, compile};

    use super::*;

    /// The shape the product is modelled on.
    const BRACKET: &str = "version: 1
name: b
steps:
  quiesce: {uses: core.noop}
  snapshot: {uses: core.noop, needs: quiesce, rerun_with: quiesce}
  upload: {uses: core.noop, needs: snapshot}
  other: {uses: core.noop}
  unquiesce: {uses: core.noop, needs: snapshot, finally: true}
";

    fn plan() -> Plan {
        compile(&Source::new("b.yaml", BRACKET), &Catalog::with_core()).unwrap()
    }

    /// A record of every step of [`BRACKET`]: succeeded, but for the
    /// steps `otherwise` gives another state.
    fn records(otherwise: &[(&str, StepState)]) -> Vec<StepRecord> {
        let plan = plan();
        for (step, _) in otherwise {
            assert!(
                plan.workflow.steps.keys().any(|id| id.as_str() == *step),
                "{step} is not a step of the plan"
            );
        }
        plan.workflow
            .steps
            .keys()
            .map(|id| {
                let mut record = StepRecord::new(StepKey::step(id.as_str()));
                record.state = otherwise
                    .iter()
                    .find(|(step, _)| *step == id.as_str())
                    .map_or(StepState::Succeeded, |&(_, state)| state);
                record
            })
            .collect()
    }

    fn names(set: &BTreeSet<StepId>) -> Vec<&str> {
        set.iter().map(StepId::as_str).collect()
    }

    #[test]
    fn a_failed_snapshot_reruns_its_quiesce_and_the_finally_step() {
        let records = records(&[
            ("snapshot", StepState::Failed),
            ("upload", StepState::Canceled),
        ]);
        let again = steps_to_rerun(&plan(), &records, None);
        assert_eq!(
            names(&again),
            ["quiesce", "snapshot", "unquiesce", "upload"],
            "`other` succeeded and is not downstream"
        );
    }

    #[test]
    fn from_a_step_reruns_it_and_what_is_downstream() {
        let records = records(&[]);
        let upload = StepId::parse("upload").unwrap();
        assert_eq!(
            names(&steps_to_rerun(&plan(), &records, Some(&upload))),
            ["unquiesce", "upload"]
        );
        let snapshot = StepId::parse("snapshot").unwrap();
        assert_eq!(
            names(&steps_to_rerun(&plan(), &records, Some(&snapshot))),
            ["quiesce", "snapshot", "unquiesce", "upload"]
        );
    }
}
