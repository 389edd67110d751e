#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! workflows/openstack-instance-backup.yaml compiles against the catalog
//! with this provider's entries: parameter names and types, output
//! references and the DAG. (Running it end to end is the tests crate's job.)

use shutter_dsl::{Catalog, Source};

#[test]
fn the_instance_backup_workflow_compiles_against_the_catalog() {
    let mut catalog = Catalog::with_core();
    for (spec, _) in shutter_openstack::actions(shutter_dsl::config_file::yaml_reader()) {
        catalog.register(spec);
    }
    let path = shutter_testpeers::repo_root().join("workflows/openstack-instance-backup.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let source = Source::new(path.display().to_string(), text);
    let plan = shutter_dsl::compile(&source, &catalog).unwrap_or_else(|errors| panic!("{errors}"));
    let rendered = format!("{plan:?}");
    for step in ["snapshot", "download", "verify_copy", "plan", "prune"] {
        assert!(rendered.contains(step), "{step} missing from the plan");
    }
}
