//! The streaming reader against serde_yaml: whatever it reads, it must read
//! to the same value, and whatever serde_yaml refuses, it must refuse too.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{Refused, from_str};
use crate::raw::{RawStep, RawWorkflow};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code, reason = "read through Debug")]
struct One<T> {
    v: T,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Policy {
    Skip,
    Queue,
}

/// Both readers' outcome for `text`: a value, or an error (whose wording
/// may differ; only serde_yaml's is ever shown).
fn both<T: DeserializeOwned + Debug>(text: &str) -> (Option<String>, Option<String>) {
    let theirs = serde_yaml::from_str::<T>(text)
        .ok()
        .map(|v| format!("{v:?}"));
    let ours = from_str::<T>(text).ok().map(|v| format!("{v:?}"));
    (theirs, ours)
}

/// Whether a reader that refuses may leave the document to serde_yaml:
/// the decoder then reads it with serde_yaml, so a refusal costs time, not
/// meaning. Reading it to another value, or reading what serde_yaml
/// refuses, is never allowed.
#[derive(Clone, Copy)]
enum Refusal {
    Allowed,
    NotAllowed,
}

fn assert_same<T: DeserializeOwned + Debug>(text: &str, refusal: Refusal) {
    let (theirs, ours) = both::<T>(text);
    if ours.is_none() && theirs.is_some() && matches!(refusal, Refusal::Allowed) {
        return;
    }
    assert_eq!(
        ours,
        theirs,
        "{text:?} as {}: streaming reader (left) vs serde_yaml (right)",
        std::any::type_name::<T>()
    );
}

/// Every type a workflow's fields are read as, for one document.
fn assert_same_for_every_type(text: &str, refusal: Refusal) {
    assert_same::<One<serde_json::Value>>(text, refusal);
    assert_same::<One<String>>(text, refusal);
    assert_same::<One<Option<String>>>(text, refusal);
    assert_same::<One<bool>>(text, refusal);
    assert_same::<One<Option<bool>>>(text, refusal);
    assert_same::<One<i64>>(text, refusal);
    assert_same::<One<i32>>(text, refusal);
    assert_same::<One<u64>>(text, refusal);
    assert_same::<One<u32>>(text, refusal);
    assert_same::<One<Option<u32>>>(text, refusal);
    assert_same::<One<u8>>(text, refusal);
    assert_same::<One<i128>>(text, refusal);
    assert_same::<One<u128>>(text, refusal);
    assert_same::<One<f64>>(text, refusal);
    assert_same::<One<()>>(text, refusal);
    assert_same::<One<Vec<String>>>(text, refusal);
    assert_same::<One<BTreeMap<String, String>>>(text, refusal);
    assert_same::<One<Policy>>(text, refusal);
    assert_same::<One<Option<Policy>>>(text, refusal);
}

/// Numbers with every sign, radix prefix and shape, the words YAML gives a
/// meaning, and text that only looks like them.
fn scalar_corpus() -> Vec<String> {
    let signs = ["", "+", "-", "++", "+-", "-+"];
    let prefixes = ["", "0x", "0o", "0b", "0", "00"];
    let bodies = [
        "",
        "0",
        "1",
        "7",
        "8",
        "9",
        "10",
        "101",
        "ff",
        "FF",
        "1f",
        "z",
        "-1",
        "+1",
        "1_0",
        "12",
        "1e3",
        "1E-3",
        "1.5",
        ".5",
        "5.",
        "1.5e+3",
        "inf",
        "infinity",
        "nan",
        ".inf",
        ".Inf",
        ".INF",
        ".nan",
        ".NaN",
        ".NAN",
        ".iNf",
        "1e400",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775807",
        "9223372036854775808",
        "9223372036854775809",
        "340282366920938463463374607431768211455",
        "340282366920938463463374607431768211456",
        "170141183460469231731687303715884105728",
    ];
    let mut corpus = Vec::new();
    for sign in signs {
        for prefix in prefixes {
            for body in bodies {
                corpus.push(format!("{sign}{prefix}{body}"));
            }
        }
    }
    let words = [
        "~", "null", "Null", "NULL", "nULL", "true", "True", "TRUE", "tRUE", "false", "False",
        "FALSE", "yes", "no", "on", "off", "y", "n", "skip", "queue", "Skip", "a b", "x: y", "é",
        "1 2", "0.", "-0", "+0", "-0.0", "0x", "0o", "0b", "-0x", "-0x-1",
    ];
    corpus.extend(words.iter().map(|word| (*word).to_owned()));
    corpus
}

#[test]
fn scalars_read_as_serde_yaml_reads_them_in_every_style() {
    for text in scalar_corpus() {
        // Plain (some of these are not valid plain YAML: then both refuse),
        // quoted both ways, and as a block scalar.
        for block in [
            format!("v: {text}\n"),
            format!("v: '{text}'\n"),
            format!("v: \"{text}\"\n"),
            format!("v: |-\n  {text}\n"),
        ] {
            assert_same_for_every_type(&block, Refusal::NotAllowed);
        }
        // In flow collections, read untyped as parameters are. yaml-rust2
        // refuses a few plain scalars libyaml reads there (`[-]`).
        for flow in [format!("v: [{text}]\n"), format!("v: {{k: {text}}}\n")] {
            assert_same::<One<serde_json::Value>>(&flow, Refusal::Allowed);
        }
    }
}

#[test]
fn containers_and_empty_values_read_as_serde_yaml_reads_them() {
    for text in [
        "v:\n",
        "v: []\n",
        "v: {}\n",
        "v: [a, 'b', \"c\", 1, ~]\n",
        "v:\n  - a\n  - [b, c]\n  - {d: e}\n",
        "v:\n  k: v\n  k2:\n  k3: [1, 2]\n",
        "v: {a: 1, a: 2}\n",
        "v: >\n  folded\n  text\n\n  kept\n",
        "v: |\n  literal\n    indented\n",
        "v: \"esc\\tape\\u00e9\\n\"\n",
        "v: 'it''s'\n",
        "v: multi\n  line plain\n",
        "v: 1\nw: 2\n",
        "v: 1\n---\nv: 2\n",
        "---\nv: 1\n...\n",
        "v: [1, 2\n",
        "v: \"unterminated\n",
        "? v\n: 1\n",
        "{v: 1}\n",
        "[1]\n",
        "plain\n",
        "{a:1}\n",
        "[a,b]\n",
        "v: - a\n",
        "v: a: b\n",
        "v: 'a\n  b'\n",
        "v: \"a\n\n  b\"\n",
        "v:  # comment\n  - a\n",
        "v:\n- a\n- b\n",
        "v: @x\n",
        "v: `x\n",
        "v: %x\n",
        "v: a #b\n",
        "v: a#b\n",
        "v: a:b\n",
        "v: {a: b\n",
        "v: {a: [b}]\n",
        "v: [a, {b: c}, [d]]\n",
        "v : 1\n",
        "'v': 1\n",
        "\"v\": 1\n",
        "v: 1\n  w: 2\n",
        "v: 1\n w: 2\n",
        "v:\n  w: 1\n x: 2\n",
        "v: |\n  a\n b\n",
        "v: >-\n\n  a\n\n",
        "v: |+\n  a\n\n",
        "v: |2\n    a\n",
        "v: \"\\x41\\U0001F600\"\n",
        "v: \"\\q\"\n",
        "v: 'a''\n",
        "v: 1\r\nw: 2\r\n",
        "v: 1 # c\n# d\n",
        "%YAML 1.2\n---\nv: 1\n",
        "v: 1\n...\n",
        "v: [a,\n  b]\n",
        "v: {? a : b}\n",
        "v: - \n",
        "v:\n  -\n  - a\n",
    ] {
        assert_same_for_every_type(text, Refusal::NotAllowed);
    }
    // Where yaml-rust2, tried first, read otherwise than libyaml: now the
    // same parser, the same reading.
    let long_key = "k".repeat(1100);
    let odd = [
        "\tv: 1\n".to_owned(),
        "v:\n\t- a\n".to_owned(),
        "v: \"a\tb\"\n".to_owned(),
        "\u{feff}v: 1\n".to_owned(),
        "v: |\n  hello".to_owned(),
        "v: |\n".to_owned(),
        "v: |\n    x\n    ".to_owned(),
        "v: >\n  a\n  b".to_owned(),
        "v: 1".to_owned(),
        "v: x # c\u{2028}w: 5\n".to_owned(),
        "v: 'a\u{85}b'\n".to_owned(),
        "v: [a\u{85}b]\n".to_owned(),
        "v: x\u{2028}y\n".to_owned(),
        "v: |\n  x\u{2028}y\n".to_owned(),
        "v: \"a\u{1b}b\"\n".to_owned(),
        "v: a\u{7f}b\n".to_owned(),
        "v: a\u{fffe}b\n".to_owned(),
        "v: 1\n\0\nw: [unclosed\n".to_owned(),
        "%FOO bar\n---\nv: 1\n".to_owned(),
        "%YAML 2.0\n---\nv: 1\n".to_owned(),
        "%YAML 1.3\n---\nv: 1\n".to_owned(),
        "%TAG !a! tag:a,2000:\n%TAG !a! tag:b,2000:\n---\nv: 1\n".to_owned(),
        "...\nv: 1\n".to_owned(),
        "v:\n  o: 1\n  : x\n".to_owned(),
        "v: {o: 1, : x}\n".to_owned(),
        "v: {o:}\n".to_owned(),
        "v: [a:]\n".to_owned(),
        "v: [|x]\n".to_owned(),
        "v: {>a}\n".to_owned(),
        "v: {o: 1, long\n  key: 1}\n".to_owned(),
        format!("v: {{{long_key}: 1}}\n"),
    ];
    for text in &odd {
        assert_same_for_every_type(text, Refusal::NotAllowed);
    }
    // An empty file is left to serde_yaml (which reads it as an empty map).
    for empty in ["", "# only a comment\n"] {
        assert_same_for_every_type(empty, Refusal::Allowed);
        assert!(from_str::<One<Option<String>>>(empty).is_err());
    }
}

/// A workflow that sets every field, in block and flow style, quoted and
/// plain, with comments: the raw structs of both readers must agree.
const EVERY_FIELD: &str = r#"# A comment before everything.
version: 1
name: "every-field"   # trailing comment
description: >
  Folded text
  over two lines.
secrets: [token, 'password']
timeout: 2h
defaults:
  timeout: 30s
  retry: {attempts: 3, backoff: exponential, delay: 1s, max_delay: 1m, jitter: true}
inputs:
  vm:
    type: string
    description: the VM
  count: {type: integer, default: 3}
  mode: {type: string, enum: [fast, slow], default: fast}
  flag: {type: boolean, default: no}
schedule: {cron: "0 3 * * *", timezone: Europe/Paris}
concurrency:
  key: "${{ inputs.vm }}"
  policy: queue
notify:
  - url: https://hooks.example/x
    events: [succeeded, step_failed]
    secret: token
  - sink: ops
outputs:
  id: "${{ steps.take.outputs.id }}"
  n: 5
steps:
  take:
    uses: core.log
    with:
      message: |
        line one
        line two
      count: 0x1f
      ratio: 1.5e3
      padded: 0123
      nothing: ~
      empty:
      list: [1, -2, +3, .inf, -.inf, .nan, 'x', "y", true, Null]
      nested: {a: {b: [c, {d: e}]}}
    retry:
      attempts: 2
    limit: "vcenter:${{ inputs.vm }}"
    on_error: continue
  after:
    uses: wasm
    needs: take
    if: "${{ steps.take.outputs.ok }}"
    for_each: [a, b]
    concurrency: 2
    rerun_with: [take]
    finally: true
    wasm:
      module: mod.wasm
      sha256: dev
      memory: 64MiB
      allow: {http: [example.com], secrets: [token], env: [HOME]}
    compensate:
      uses: core.log
      with: {message: undo}
"#;

fn same_workflow(label: &str, text: &str) {
    let theirs = serde_yaml::from_str::<RawWorkflow<RawStep>>(text)
        .map(|w| serde_json::to_value(w).expect("a raw workflow serializes"));
    let ours = from_str::<RawWorkflow<RawStep>>(text)
        .map(|w| serde_json::to_value(w).expect("a raw workflow serializes"));
    match (theirs, ours) {
        (Ok(theirs), Ok(ours)) => assert_eq!(ours, theirs, "{label}"),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(refused)) => panic!("{label}: refused ({refused}) what serde_yaml reads"),
        (Err(err), Ok(_)) => panic!("{label}: read what serde_yaml refuses ({err})"),
    }
}

#[test]
fn a_workflow_setting_every_field_reads_the_same() {
    assert!(from_str::<RawWorkflow<RawStep>>(EVERY_FIELD).is_ok());
    same_workflow("every field", EVERY_FIELD);
}

#[test]
fn a_block_scalar_at_the_end_of_a_file_with_no_final_newline_reads_the_same() {
    // Sources sent over the API often lack the final newline; the plan hash
    // of a stored source must not depend on the reader.
    let text = "version: 1\nname: a\nsteps:\n  s:\n    uses: core.log\n    with:\n      message: |\n        hello";
    assert!(from_str::<RawWorkflow<RawStep>>(text).is_ok());
    same_workflow("no final newline", text);
}

#[test]
fn the_repository_workflows_read_the_same() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workflows");
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).expect("the repository's workflows directory") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|ext| ext == "yaml") {
            let text = std::fs::read_to_string(&path).expect("a workflow file");
            same_workflow(&path.display().to_string(), &text);
            read += 1;
        }
    }
    assert!(
        read >= 10,
        "only {read} workflows found in {}",
        dir.display()
    );
}

#[test]
fn mistakes_are_refused_as_serde_yaml_refuses_them() {
    let mistakes = [
        // A duplicate step, an unknown key, a missing one, a wrong type.
        "version: 1\nname: a\nsteps:\n  s: {uses: core.log}\n  s: {uses: core.log}\n",
        "version: 1\nname: a\nstep: {}\n",
        "version: 1\nsteps: {s: {uses: core.log}}\n",
        "version: one\nname: a\nsteps: {s: {uses: core.log}}\n",
        "version: 1\nname: a\nsteps: {s: {uses: core.log, finally: maybe}}\n",
        "version: 1\nname: a\nsteps: {s: {uses: core.log, needs: {a: b}}}\n",
        "version: 1\nname: a\nsteps: {s: {uses: core.log, concurrency: -1}}\n",
        "version: 1\nname: a\nconcurrency: {key: k, policy: sometimes}\nsteps: {s: {uses: core.log}}\n",
        "version: 1\nname: a\nsteps: {s: {uses: core.log}}\n---\nversion: 1\n",
        "version: 1\nname: a\nsteps: [s]\n",
    ];
    for text in mistakes {
        assert!(from_str::<RawWorkflow<RawStep>>(text).is_err(), "{text}");
        same_workflow(text, text);
    }
}

#[test]
fn anchors_tags_and_deep_nesting_are_left_to_serde_yaml() {
    let anchored = "version: 1\nname: a\nsteps:\n  s: &x {uses: core.log}\n  t: *x\n";
    assert!(serde_yaml::from_str::<RawWorkflow<RawStep>>(anchored).is_ok());
    assert!(matches!(
        from_str::<RawWorkflow<RawStep>>(anchored),
        Err(Refused::Uncovered(_))
    ));
    let tagged = "version: 1\nname: !!str a\nsteps: {s: {uses: core.log}}\n";
    assert!(matches!(
        from_str::<RawWorkflow<RawStep>>(tagged),
        Err(Refused::Uncovered(_))
    ));
    // A mistake is refused as invalid: the decoder goes straight to its
    // slow path, which says where, without asking serde_yaml's fast one.
    let mistaken = "version: 1\nname: a\nsteps: {s: {uses: core.log, finally: maybe}}\n";
    assert!(matches!(
        from_str::<RawWorkflow<RawStep>>(mistaken),
        Err(Refused::Invalid(_))
    ));
    // Nesting past serde_yaml's limit is refused, not a stack overflow.
    let deep = format!("v: {}1{}\n", "[".repeat(10_000), "]".repeat(10_000));
    assert!(from_str::<One<serde_json::Value>>(&deep).is_err());
}
