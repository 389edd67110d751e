//! Snapshots (insta) of what people read: rendered diagnostics and graphs.
//! Review changes with `cargo insta review`, or `INSTA_UPDATE=always`.

use shutter_dsl::render::{GraphFormat, render};
use shutter_dsl::{Catalog, Source, compile};

const BROKEN: &str = "\
version: 1
name: broken
inputs:
  vm: {type: string}
steps:
  snapshot:
    uses: core.logg
    with: {message: \"${{ inputs.vmm }}\"}
  wait:
    uses: core.sleep
    needs: [snapshott]
    with: {duration: 5}
  report:
    uses: core.log
    with: {message: \"${{ steps.wait.outputs.nope }}\"}
schedule: \"61 * * * *\"
";

const DIAMOND: &str = "\
version: 1
name: diamond
steps:
  prepare: {uses: core.log, with: {message: go}}
  left: {uses: core.noop, needs: prepare, if: true}
  right:
    uses: core.log
    for_each: [a, b]
    concurrency: 1
    on_error: continue
    with: {message: \"${{ steps.prepare.outputs.message }} ${{ item }}\"}
  join:
    uses: core.noop
    needs: [left, right]
    compensate: {uses: core.log, with: {message: undo}}
  cleanup: {uses: core.noop, finally: true}
";

#[test]
fn diagnostics_as_people_read_them() {
    let diagnostics =
        compile(&Source::new("broken.yaml", BROKEN), &Catalog::with_core()).unwrap_err();
    insta::assert_snapshot!(diagnostics.render(false));
}

#[test]
fn diagnostics_as_tools_read_them() {
    let diagnostics =
        compile(&Source::new("broken.yaml", BROKEN), &Catalog::with_core()).unwrap_err();
    insta::assert_json_snapshot!(diagnostics);
}

#[test]
fn graphs_in_every_format() {
    let plan = compile(&Source::new("diamond.yaml", DIAMOND), &Catalog::with_core()).unwrap();
    insta::assert_snapshot!("text", render(&plan, GraphFormat::Text));
    insta::assert_snapshot!("dot", render(&plan, GraphFormat::Dot));
    insta::assert_snapshot!("mermaid", render(&plan, GraphFormat::Mermaid));
}
