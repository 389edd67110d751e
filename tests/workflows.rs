//! Every shipped workflow validates, graphs, and refers to the committed schema.

use shutter_tests::{repo_root, shipped_workflows, shutter};

#[test]
fn every_shipped_workflow_validates() {
    let files = shipped_workflows();
    assert!(files.len() >= 3, "workflows/ holds the examples");
    let mut args = vec!["validate".to_owned()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    let run = shutter(&args);
    assert!(run.success(), "{}", run.stderr);
    assert_eq!(
        run.stdout.lines().filter(|l| l.starts_with("ok: ")).count(),
        files.len(),
        "{}",
        run.stdout
    );
}

#[test]
fn every_shipped_workflow_points_editors_at_the_schema() {
    for file in shipped_workflows() {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../docs/workflow.schema.json"),
            "{} lacks the schema line",
            file.display()
        );
    }
}

#[test]
fn every_shipped_workflow_draws_in_each_format() {
    for file in shipped_workflows() {
        for format in ["text", "dot", "mermaid"] {
            let run = shutter(["graph", &file.display().to_string(), "--format", format]);
            assert!(run.success(), "{} {format}: {}", file.display(), run.stderr);
            let name = file.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                run.stdout.contains(&name),
                "{} {format}:\n{}",
                file.display(),
                run.stdout
            );
        }
    }
}

#[test]
fn committed_schema_and_action_docs_are_current() {
    let schema = shutter(["schema"]);
    assert!(schema.success());
    let committed = std::fs::read_to_string(repo_root().join("docs/workflow.schema.json")).unwrap();
    assert_eq!(
        committed, schema.stdout,
        "docs/workflow.schema.json is stale: shutter schema > docs/workflow.schema.json"
    );

    let actions = shutter(["actions", "--format", "markdown"]);
    assert!(actions.success());
    let committed = std::fs::read_to_string(repo_root().join("docs/actions.md")).unwrap();
    assert_eq!(
        committed, actions.stdout,
        "docs/actions.md is stale: shutter actions --format markdown > docs/actions.md"
    );
}

/// `actions NAME --format markdown` is that action's section of
/// docs/actions.md, not the whole page.
#[test]
fn one_action_in_markdown_is_its_section_of_the_docs() {
    let one = shutter(["actions", "snapshot", "--format", "markdown"]);
    assert!(one.success(), "{}", one.stderr);
    assert!(one.stdout.starts_with("## `snapshot`\n"), "{}", one.stdout);
    assert_eq!(one.stdout.matches("\n## ").count(), 0, "{}", one.stdout);
    let committed = std::fs::read_to_string(repo_root().join("docs/actions.md")).unwrap();
    assert!(committed.contains(&one.stdout), "{}", one.stdout);
}

/// The README shows `workflows/diamond.yaml` as shipped and what
/// `shutter validate` and `shutter graph` print for it, hash included.
#[test]
fn the_readme_shows_the_shipped_diamond_and_what_shutter_prints_for_it() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let shipped = std::fs::read_to_string(repo_root().join("workflows/diamond.yaml")).unwrap();
    let shown = readme
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```\n").next())
        .expect("the README's first YAML block");
    assert_eq!(shown, shipped, "the README's example is the shipped file");
    for command in ["validate", "graph"] {
        let run = shutter([command, "workflows/diamond.yaml"]);
        assert!(run.success(), "{}", run.stderr);
        let shown = format!("$ shutter {command} workflows/diamond.yaml\n{}", run.stdout);
        assert!(
            readme.contains(&shown),
            "the README shows what `shutter {command}` prints today:\n{shown}"
        );
    }
}
