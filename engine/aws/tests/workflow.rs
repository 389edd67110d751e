#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! `workflows/aws-ebs-backup.yaml` compiles against this provider's catalog
//! entries (plus the core ones): every action, parameter and output it
//! names exists. Running it end to end is the `tests/` crate's job.

use shutter_dsl::{Catalog, Source, compile};

#[test]
fn the_shipped_ebs_backup_workflow_compiles_against_these_actions() {
    let path = shutter_testpeers::repo_root().join("workflows/aws-ebs-backup.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut catalog = Catalog::with_core();
    for (spec, _) in shutter_aws::actions() {
        catalog.register(spec);
    }
    let source = Source::new(path.display().to_string(), text);
    let plan = match compile(&source, &catalog) {
        Ok(plan) => plan,
        Err(diagnostics) => panic!("{}", diagnostics.render(false)),
    };
    let steps: Vec<&str> = plan.workflow.steps.keys().map(|id| id.as_str()).collect();
    assert!(
        steps.contains(&"snapshot") && steps.contains(&"prune_dr"),
        "{steps:?}"
    );
}
