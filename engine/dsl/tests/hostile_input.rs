//! Hostile and broken input: every case ends in a clear diagnostic (or a
//! plan), never a panic, a hang or unbounded memory. The bounds are in
//! `limits.rs` and docs/workflow-language.md.

use std::fmt::Write as _;

use shutter_dsl::{Catalog, Diagnostics, Plan, Source, compile};

fn compile_bytes(bytes: Vec<u8>) -> Result<Plan, Diagnostics> {
    match Source::from_bytes("hostile.yaml", bytes) {
        Ok(source) => compile(&source, &Catalog::with_core()),
        Err(diagnostic) => Err(Diagnostics::locate(
            &Source::new("hostile.yaml", ""),
            vec![*diagnostic],
        )),
    }
}

fn first_error(bytes: Vec<u8>) -> (String, String) {
    let diagnostics = compile_bytes(bytes).expect_err("input is rejected");
    let first = &diagnostics.items[0];
    (first.code.to_owned(), first.to_string())
}

/// Asserts that the first diagnostic of `bytes` has `code` and says `says`.
fn assert_refused(bytes: Vec<u8>, code: &str, says: &str) {
    let (found, text) = first_error(bytes);
    assert_eq!(found, code);
    assert!(text.contains(says), "{text}");
}

fn chain(steps: usize) -> String {
    let mut text = String::from("version: 1\nname: big\nsteps:\n");
    for i in 0..steps {
        let _ = write!(text, "  s{i}:\n    uses: core.noop\n");
        if i > 0 {
            let _ = writeln!(text, "    needs: [s{}]", i - 1);
        }
    }
    text
}

#[test]
fn malformed_yaml_points_at_the_line() {
    let (code, text) =
        first_error(b"version: 1\nname: x\nsteps:\n  a: {uses: core.noop\n  b: 1\n".to_vec());
    assert_eq!(code, "yaml-syntax");
    assert!(text.starts_with("hostile.yaml:5:"), "{text}");
}

#[test]
fn non_utf8_bytes_are_refused_with_their_position() {
    assert_refused(
        b"version: 1\nname: \xc3\x28\n".to_vec(),
        "not-utf8",
        "line 2, column 7",
    );
}

#[test]
fn an_empty_file_says_so() {
    assert_eq!(first_error(Vec::new()).0, "empty");
    assert_eq!(first_error(b"\n\n# nothing\n".to_vec()).0, "empty");
}

#[test]
fn a_list_where_a_map_belongs_is_a_type_error() {
    assert_refused(
        b"- version: 1\n".to_vec(),
        "wrong-type",
        "expected a map of workflow keys, found a list",
    );

    assert_refused(
        b"version: 1\nname: x\nsteps:\n  - uses: core.noop\n".to_vec(),
        "wrong-type",
        "`steps` expects a map, found sequence",
    );

    let (_, text) = first_error(
        b"version: 1\nname: x\nsteps:\n  a:\n    uses: core.log\n    with: [message]\n".to_vec(),
    );
    assert!(text.contains("hostile.yaml:6:11"), "{text}");
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    let flow = format!(
        "version: 1\nname: x\ndescription: {}{}\nsteps: {{}}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_refused(flow.into_bytes(), "yaml-syntax", "recursion limit");

    let maps = format!(
        "version: 1\nname: x\nsteps:\n  a:\n    uses: core.noop\n    with: {}1{}\n",
        "{k: ".repeat(10_000),
        "}".repeat(10_000)
    );
    assert_refused(maps.into_bytes(), "yaml-syntax", "recursion limit");
}

#[test]
fn alias_bombs_are_refused() {
    // "Billion laughs": nine levels of nine aliases expand to 9^9 strings.
    let mut text = String::from(
        "version: 1\nname: x\nsteps: {}\nbomb:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..9 {
        let refs = vec![format!("*a{}", level - 1); 9].join(", ");
        let _ = writeln!(text, "  a{level}: &a{level} [{refs}]");
    }
    assert_refused(text.into_bytes(), "yaml-syntax", "repetition limit");
}

#[test]
fn a_ten_megabyte_file_gets_an_answer() {
    // Ten megabytes of one long description: valid, and compiled.
    let text = format!(
        "version: 1\nname: x\ndescription: \"{}\"\nsteps:\n  a: {{uses: core.noop}}\n",
        "x".repeat(10 << 20)
    );
    assert!(compile_bytes(text.into_bytes()).is_ok());
    // Ten megabytes of bad keys: refused, with a bounded number of diagnostics.
    let mut bad = String::from("version: 1\nname: x\nsteps:\n  a:\n    uses: core.noop\n");
    while bad.len() < 10 << 20 {
        let _ = writeln!(bad, "    k{}: 1", bad.len());
    }
    let diagnostics = compile_bytes(bad.into_bytes()).expect_err("unknown keys");
    assert_eq!(
        diagnostics.items.len(),
        shutter_dsl::limits::MAX_DIAGNOSTICS
    );
    assert!(diagnostics.omitted == 0 || diagnostics.render(false).contains("more"));
}

#[test]
fn oversized_files_are_refused_before_parsing() {
    let (code, _) = first_error(vec![b' '; shutter_dsl::limits::MAX_SOURCE_BYTES + 1]);
    assert_eq!(code, "too-large");
}

#[test]
fn a_hundred_thousand_step_workflow_compiles() {
    let plan = compile_bytes(chain(100_000).into_bytes()).expect("valid");
    assert_eq!(plan.levels.len(), 100_000);
}

#[test]
fn more_steps_than_the_limit_are_refused() {
    let mut text = String::from("version: 1\nname: big\nsteps:\n");
    for i in 0..=shutter_dsl::limits::MAX_STEPS {
        let _ = writeln!(text, "  s{i}: {{uses: core.noop}}");
    }
    assert_eq!(first_error(text.into_bytes()).0, "too-many-steps");
}
