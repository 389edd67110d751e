//! The compiler's checks and the plan it builds, through the public API.

use shutter_dsl::model::{ActionRef, Backoff};
use shutter_dsl::render::{GraphFormat, render};
use shutter_dsl::{Catalog, Diagnostics, EdgeKind, Plan, Source, StepId, compile};

fn try_compile(text: &str) -> Result<Plan, Diagnostics> {
    compile(&Source::new("w.yaml", text), &Catalog::with_core())
}

fn ok(text: &str) -> Plan {
    match try_compile(text) {
        Ok(plan) => plan,
        Err(diagnostics) => panic!("expected a plan, got:\n{diagnostics}"),
    }
}

/// (code, "line:col", message) of every diagnostic.
fn problems(text: &str) -> Vec<(String, String, String)> {
    try_compile(text)
        .expect_err("expected diagnostics")
        .items
        .iter()
        .map(|d| {
            (
                d.code.to_owned(),
                format!("{}:{}", d.line, d.column),
                d.message.clone(),
            )
        })
        .collect()
}

/// The code of each diagnostic [`problems`] found.
fn codes(found: &[(String, String, String)]) -> Vec<&str> {
    found.iter().map(|(code, _, _)| code.as_str()).collect()
}

/// The message of each diagnostic [`problems`] found.
fn messages(found: &[(String, String, String)]) -> Vec<&str> {
    found
        .iter()
        .map(|(_, _, message)| message.as_str())
        .collect()
}

fn id(name: &str) -> StepId {
    StepId::parse(name).expect("test ids are valid")
}

/// The steps `step` of `plan` waits for, and why.
fn needs_of<'p>(plan: &'p Plan, step: &str) -> Vec<(&'p str, EdgeKind)> {
    plan.dependencies(&id(step))
        .into_iter()
        .map(|(need, kind)| (need.as_str(), kind))
        .collect()
}

const HEAD: &str = "version: 1\nname: w\n";

#[test]
fn a_shape_error_does_not_hide_the_other_mistakes() {
    // A misspelt input type, a missing top-level `name`, a step missing
    // `uses` and one with a key of the wrong type: each said once, and
    // the mistakes of meaning elsewhere too, with no cascade about what was
    // left out (the input and the steps are still known by name).
    let text = "version: 1
inputs:
  vm: {type: strng}
secrets: 5
steps:
  a: {with: {message: hi}}
  b: {uses: core.log, timeout: [1], with: {message: x}}
  c: {uses: core.log, needs: [a, b], with: {message: \"${{ inputs.vm }} ${{ steps.a.outputs.x }} ${{ secrets.t }}\"}}
  d: {uses: core.nope}
  e: {uses: core.log, with: {mesage: x}}
  f: {uses: core.log, needs: ghost, with: {message: \"${{ inputs.nope }}\"}}
";
    let found = problems(text);
    let codes: Vec<(&str, &str)> = found
        .iter()
        .map(|(code, at, _)| (code.as_str(), at.as_str()))
        .collect();
    assert_eq!(
        codes,
        [
            ("missing-key", "1:8"),
            ("unknown-value", "3:14"),
            ("wrong-type", "4:10"),
            ("missing-key", "6:3"),
            ("wrong-type", "7:32"),
            ("unknown-action", "9:13"),
            ("missing-param", "10:23"),
            ("unknown-param", "10:30"),
            ("unknown-step", "11:30"),
            ("unknown-input", "11:53"),
        ],
        "{found:#?}"
    );
}

#[test]
fn reading_another_step_adds_an_implied_dependency() {
    let plan = ok(&format!(
        "{HEAD}steps:\n  a: {{uses: core.log, with: {{message: hi}}}}\n  b: {{uses: core.log, with: {{message: \"${{{{ steps.a.outputs.message }}}}\"}}}}\n"
    ));
    assert_eq!(needs_of(&plan, "b"), [("a", EdgeKind::Implied)]);
    assert_eq!(plan.levels, vec![vec![id("a")], vec![id("b")]]);
    assert!(render(&plan, GraphFormat::Text).contains("needs: a (implied)"));
    assert!(
        render(&plan, GraphFormat::Dot)
            .contains("\"a\" -> \"b\" [style=dashed, label=\"implied\"]")
    );
    assert!(render(&plan, GraphFormat::Mermaid).contains("s_a -. implied .-> s_b"));
}

/// A slice of a step's output (`ids[1:]`) reads that step too: it once
/// added no dependency (minijinja does not look inside slices), and the
/// step ran before the one it read had ended.
#[test]
fn reading_a_slice_of_another_steps_output_adds_an_implied_dependency() {
    let plan = ok(&format!(
        "{HEAD}steps:\n  a: {{uses: core.noop, with: {{outputs: {{ids: [1, 2]}}}}}}\n  b: {{uses: core.noop, with: {{outputs: {{old: \"${{{{ steps.a.outputs.ids[1:] }}}}\"}}}}}}\n"
    ));
    assert_eq!(needs_of(&plan, "b"), [("a", EdgeKind::Implied)]);
}

#[test]
fn an_explicit_need_is_not_also_implied() {
    let plan = ok(&format!(
        "{HEAD}steps:\n  a: {{uses: core.log, with: {{message: hi}}}}\n  b: {{uses: core.log, needs: a, with: {{message: \"${{{{ steps.a.outputs.message }}}}\"}}}}\n"
    ));
    assert_eq!(needs_of(&plan, "b"), [("a", EdgeKind::Needs)]);
}

#[test]
fn a_finally_step_without_needs_waits_for_every_sink() {
    let plan = ok(&format!(
        "{HEAD}steps:\n  a: {{uses: core.noop}}\n  b: {{uses: core.noop, needs: a}}\n  c: {{uses: core.noop}}\n  z: {{uses: core.noop, finally: true}}\n"
    ));
    let deps: Vec<_> = plan
        .dependencies(&id("z"))
        .into_iter()
        .map(|(d, _)| d.as_str().to_owned())
        .collect();
    assert_eq!(deps, vec!["b", "c"]);
    assert!(plan.step(&id("z")).unwrap().finally);
    assert_eq!(plan.levels.last().unwrap(), &vec![id("z")]);
}

#[test]
fn cycles_are_reported_with_their_path() {
    let found = problems(&format!(
        "{HEAD}steps:\n  a: {{uses: core.noop, needs: c}}\n  b: {{uses: core.noop, needs: a}}\n  c: {{uses: core.noop, needs: b}}\n  d: {{uses: core.noop}}\n"
    ));
    assert_eq!(
        found,
        vec![(
            "cycle".into(),
            "4:24".into(),
            "steps depend on each other in a cycle: a -> c -> b -> a".into()
        )]
    );
}

#[test]
fn a_cycle_through_an_expression_explains_the_implied_edge() {
    let diagnostics = try_compile(&format!(
        "{HEAD}steps:\n  a: {{uses: core.log, with: {{message: \"${{{{ steps.b.outputs.message }}}}\"}}}}\n  b: {{uses: core.log, needs: a, with: {{message: x}}}}\n"
    ))
    .unwrap_err();
    let item = &diagnostics.items[0];
    assert_eq!(item.code, "cycle");
    assert_eq!(
        item.help.as_deref(),
        Some("`a` reads `steps.b` in an expression, which makes it wait for `b`")
    );
}

#[test]
fn cycles_are_reported_alongside_other_errors() {
    let found = problems(&format!(
        "{HEAD}steps:\n  a: {{uses: core.noop, needs: b}}\n  b: {{uses: core.noop, needs: a}}\n  c: {{uses: core.nop}}\n"
    ));
    assert_eq!(codes(&found), vec!["cycle", "unknown-action"]);
}

#[test]
fn references_are_checked_against_what_exists() {
    let found = problems(&format!(
        "{HEAD}inputs:\n  vm: {{type: string}}\nsecrets: [token]\nsteps:\n  a:\n    uses: core.log\n    with:\n      message: \"${{{{ inputs.vn }}}} ${{{{ execution.idd }}}} ${{{{ secrets.pasword }}}} ${{{{ stepz.a }}}} ${{{{ item }}}}\"\n  b:\n    uses: core.sleep\n    with: {{duration: \"${{{{ steps.a.outputs.mesage }}}}\"}}\n"
    ));
    assert_eq!(
        messages(&found),
        vec![
            "unknown input `inputs.vn`",
            "`execution.idd` does not exist",
            "secret `pasword` is not listed in the workflow's `secrets`",
            "unknown name `stepz`",
            "`item` is only defined in `with` and `limit` of a step that has `for_each`",
            "step `a` (`core.log`) has no output `mesage`",
        ]
    );
}

#[test]
fn invalid_expressions_are_reported_where_written() {
    let found = problems(&format!(
        "{HEAD}steps:\n  a:\n    uses: core.log\n    with:\n      message: \"x ${{{{ inputs. }}}}\"\n"
    ));
    assert_eq!(found[0].0, "expression");
    assert_eq!(found[0].1, "7:16");
    assert!(
        found[0]
            .2
            .starts_with("invalid expression `inputs.`: syntax error"),
        "{}",
        found[0].2
    );
}

#[test]
fn parameters_are_checked_against_the_catalog() {
    let found = problems(&format!(
        "{HEAD}steps:\n  a:\n    uses: core.fail\n    with: {{mesage: x, retryable: \"yes\"}}\n  b:\n    uses: core.sleep\n"
    ));
    assert_eq!(
        found,
        vec![
            (
                "missing-param".into(),
                "6:5".into(),
                "`core.fail` needs parameter `message` (Why the step fails.)".into()
            ),
            (
                "unknown-param".into(),
                "6:12".into(),
                "`core.fail` has no parameter `mesage`".into()
            ),
            (
                "wrong-type".into(),
                "6:34".into(),
                "parameter `retryable` of `core.fail` expects a boolean, found a string".into()
            ),
            (
                "missing-param".into(),
                "8:5".into(),
                "`core.sleep` needs parameter `duration` (How long to wait, e.g. `30s`.)".into()
            ),
        ]
    );
}

#[test]
fn status_codes_are_checked_where_written() {
    let mut catalog = Catalog::with_core();
    catalog.register(shutter_dsl::ActionSpec::new("t.get", "a request").optional(
        "expect",
        shutter_dsl::ParamType::StatusCodes,
        None,
        "accepted statuses",
    ));
    let text = format!(
        "{HEAD}inputs:\n  code: {{type: integer, default: 204}}\nsteps:\n  a: {{uses: t.get, with: {{expect: \"2xx\"}}}}\n  b: {{uses: t.get, with: {{expect: [200, 700]}}}}\n  c: {{uses: t.get, with: {{expect: [200, \"${{{{ inputs.code }}}}\"]}}}}\n  d: {{uses: t.get, with: {{expect: 201}}}}\n"
    );
    let found = compile(&Source::new("w.yaml", text), &catalog).expect_err("two are wrong");
    let messages: Vec<&str> = found.items.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        messages,
        vec![
            "parameter `expect` of `t.get` expects a status code (100 to 599) or a list of them, like `200` or `[200, 204]`, found a string",
            "parameter `expect` of `t.get` expects a status code (100 to 599) or a list of them, like `200` or `[200, 204]`, found a list",
        ]
    );
}

#[test]
fn retry_merges_step_over_workflow_defaults() {
    let plan = ok(&format!(
        "{HEAD}defaults:\n  retry: {{attempts: 4, backoff: fixed, delay: 2s}}\n  timeout: 5m\nsteps:\n  a: {{uses: core.noop}}\n  b: {{uses: core.noop, retry: {{attempts: 2}}, timeout: 30s}}\n"
    ));
    let a = plan.step(&id("a")).unwrap();
    assert_eq!(
        (a.retry.attempts, a.retry.backoff, a.retry.delay.as_secs()),
        (4, Backoff::Fixed, 2)
    );
    assert_eq!(a.timeout.map(|t| t.as_secs()), Some(300));
    let b = plan.step(&id("b")).unwrap();
    assert_eq!((b.retry.attempts, b.retry.backoff), (2, Backoff::Fixed));
    assert_eq!(b.timeout.map(|t| t.as_secs()), Some(30));
}

#[test]
fn bad_durations_cron_and_retry_values_are_reported() {
    let found = problems(&format!(
        "{HEAD}schedule: {{cron: \"0 2 * *\", timezone: Mars/Olympus}}\ntimeout: forever\nsteps:\n  a: {{uses: core.noop, retry: {{attempts: 0, delay: 10s, max_delay: 1s}}}}\n"
    ));
    assert_eq!(codes(&found), vec!["cron", "duration", "retry", "retry"]);
}

#[test]
fn a_schedule_with_a_time_zone_is_kept() {
    let plan = ok(&format!(
        "{HEAD}schedule: {{cron: \"0 2 * * *\", timezone: Europe/Paris}}\nsteps:\n  a: {{uses: core.noop}}\n"
    ));
    let schedule = plan.workflow.schedule.unwrap();
    assert_eq!(schedule.cron, "0 2 * * *");
    assert_eq!(schedule.timezone, chrono_tz::Europe::Paris);
}

#[test]
fn for_each_item_and_concurrency_rules() {
    let plan = ok(&format!(
        "{HEAD}steps:\n  a:\n    uses: core.log\n    for_each: [1, 2, 3]\n    concurrency: 2\n    with: {{message: \"n=${{{{ item }}}}\"}}\n"
    ));
    assert_eq!(plan.step(&id("a")).unwrap().concurrency, Some(2));
    let found = problems(&format!(
        "{HEAD}steps:\n  a:\n    uses: core.noop\n    concurrency: 2\n  b:\n    uses: core.noop\n    for_each: 3\n"
    ));
    assert_eq!(codes(&found), vec!["concurrency", "wrong-type"]);
    // Over an input that is not a list, or over text: known before it runs.
    let found = problems(&format!(
        "{HEAD}inputs:\n  vm: {{type: string}}\n  vms: {{type: array}}\nsteps:\n  a: {{uses: core.noop, for_each: \"${{{{ inputs.vm }}}}\"}}\n  b: {{uses: core.noop, for_each: \"vm ${{{{ inputs.vm }}}}\"}}\n  c: {{uses: core.noop, for_each: \"${{{{ inputs.vms }}}}\"}}\n"
    ));
    assert_eq!(
        messages(&found),
        vec![
            "`for_each` over `inputs.vm`, which is declared `string`, not a list",
            "`for_each` over text: write the expression alone, `${{ ... }}`",
        ]
    );
}

#[test]
fn wasm_steps_need_a_module_and_a_hash() {
    let hash = "ab".repeat(32);
    let plan = ok(&format!(
        "{HEAD}secrets: [token]\nsteps:\n  a:\n    uses: wasm\n    wasm: {{module: steps/x.wasm, sha256: {hash}, memory: 32MiB, allow: {{secrets: [token], http: [api.example.com]}}}}\n    with: {{anything: [1, 2]}}\n  b:\n    uses: core.log\n    with: {{message: \"${{{{ steps.a.outputs.whatever }}}}\"}}\n"
    ));
    let ActionRef::Wasm(wasm) = &plan.step(&id("a")).unwrap().call.action else {
        panic!("a runs wasm");
    };
    assert_eq!(
        (wasm.memory, wasm.allow_secrets.clone()),
        (Some(32 << 20), vec!["token".to_owned()])
    );

    let found = problems(&format!(
        "{HEAD}steps:\n  a:\n    uses: wasm\n    wasm: {{module: http://evil.example/x.wasm, sha256: nope, allow: {{secrets: [token]}}}}\n  b:\n    uses: wasm\n  c:\n    uses: core.noop\n    wasm: {{module: x.wasm, sha256: {hash}}}\n"
    ));
    assert_eq!(
        codes(&found),
        vec![
            "wasm",
            "wasm",
            "unknown-secret",
            "missing-key",
            "unexpected-key"
        ]
    );
}

#[test]
fn needs_takes_one_step_id_or_a_list_of_them() {
    let plan = ok(&format!(
        "{HEAD}steps:\n  a: {{uses: core.noop}}\n  b: {{uses: core.noop, needs: a}}\n  c: {{uses: core.noop, needs: [a, b]}}\n"
    ));
    assert_eq!(plan.step(&id("b")).unwrap().needs, vec![id("a")]);
    assert_eq!(plan.step(&id("c")).unwrap().needs, vec![id("a"), id("b")]);
    let found = problems(&format!(
        "{HEAD}steps:\n  a: {{uses: core.noop}}\n  b: {{uses: core.noop, needs: {{a: 1}}}}\n"
    ));
    assert_eq!(found[0].0, "wrong-type", "{found:?}");
    assert!(
        found[0]
            .2
            .contains("expects a step id or a list of step ids"),
        "{found:?}"
    );
}

#[test]
fn allow_http_takes_hosts_not_urls() {
    let hash = "ab".repeat(32);
    let found = problems(&format!(
        "{HEAD}steps:\n  a:\n    uses: wasm\n    wasm: {{module: x.wasm, sha256: {hash}, allow: {{http: [\"api.example.com:8443\", \"*.corp.test\", \"https://api.example.com\", \"a.*.test\"]}}}}\n"
    ));
    let messages = messages(&found);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        messages[0].contains("`https://api.example.com` is not a host"),
        "{messages:?}"
    );
    assert!(
        messages[1].contains("a wildcard may only start the name"),
        "{messages:?}"
    );
}

#[test]
fn outputs_may_not_expose_secrets() {
    let found = problems(&format!(
        "{HEAD}secrets: [token]\nsteps:\n  a: {{uses: core.noop}}\noutputs:\n  leak: \"${{{{ secrets.token }}}}\"\n"
    ));
    assert_eq!(found[0].0, "secret-output");
}

#[test]
fn the_concurrency_key_reads_only_inputs() {
    let found = problems(&format!(
        "{HEAD}inputs: {{vm: {{type: string}}}}\nconcurrency: {{key: \"${{{{ steps.a.outputs.x }}}}\", policy: skip}}\nsteps:\n  a: {{uses: core.noop}}\n"
    ));
    assert_eq!(found[0].0, "concurrency");
    let plan = ok(&format!(
        "{HEAD}inputs: {{vm: {{type: string}}}}\nconcurrency: {{key: \"vm-${{{{ inputs.vm }}}}\", policy: skip}}\nsteps:\n  a: {{uses: core.noop}}\n"
    ));
    assert!(plan.workflow.concurrency.is_some());
}

#[test]
fn step_ids_and_names_must_be_identifiers() {
    let found = problems("version: 2\nname: has space\nsteps:\n  my-step: {uses: core.noop}\n");
    assert_eq!(codes(&found), vec!["version", "name", "name"]);
    assert_eq!(found[2].1, "4:3");
}

#[test]
fn input_defaults_and_enums_are_type_checked() {
    let found = problems(&format!(
        "{HEAD}inputs:\n  n: {{type: integer, default: many}}\n  mode: {{type: string, enum: [a, 2], default: c}}\nsteps:\n  a: {{uses: core.noop}}\n"
    ));
    assert_eq!(codes(&found), vec!["wrong-type", "wrong-type", "enum"]);
}

#[test]
fn the_plan_hash_ignores_key_order_comments_and_whitespace() {
    let one = ok(
        "version: 1\nname: w\nsteps:\n  a: {uses: core.log, with: {message: hi, level: info}}\n",
    );
    let two = ok(
        "# a comment\nsteps:\n  a:\n    with:\n      level: info\n      message:   hi\n    uses: core.log\nname: w\nversion: 1\n",
    );
    let three = ok(
        "version: 1\nname: w\nsteps:\n  a: {uses: core.log, with: {message: ho, level: info}}\n",
    );
    assert_eq!(one.hash, two.hash);
    assert_ne!(one.hash, three.hash);
    assert_eq!(one.hash.as_str().len(), 64);
}

#[test]
fn compensations_are_checked_and_drawn() {
    let plan = ok(&format!(
        "{HEAD}steps:\n  a:\n    uses: core.log\n    with: {{message: made}}\n    compensate:\n      uses: core.log\n      with: {{message: \"undo ${{{{ steps.a.outputs.message }}}}\"}}\n"
    ));
    assert!(plan.step(&id("a")).unwrap().compensate.is_some());
    assert!(render(&plan, GraphFormat::Dot).contains("\"a\" -> \"a.compensate\" [style=dotted"));
    let found = problems(&format!(
        "{HEAD}steps:\n  a:\n    uses: core.noop\n    compensate: {{uses: core.sleep}}\n"
    ));
    assert_eq!(found[0].0, "missing-param");
}

/// The core catalog and one action whose `headers` take credentials.
fn with_sensitive_param(text: &str) -> Result<Plan, Diagnostics> {
    let mut catalog = Catalog::with_core();
    catalog.register(
        shutter_core::ActionSpec::new("test.call", "calls")
            .optional("url", shutter_core::ParamType::String, None, "")
            .optional("headers", shutter_core::ParamType::Object, None, "")
            .sensitive(),
    );
    compile(&Source::new("w.yaml", text), &catalog)
}

#[test]
fn a_secret_is_opaque_outside_sensitive_parameters() {
    let head = format!("{HEAD}secrets: [token]\nsteps:\n");
    // Passed whole, anywhere a parameter takes it; built into a value only
    // where the parameter takes credentials.
    for ok in [
        "  a: {uses: core.log, with: {message: \"${{ secrets.token }}\"}}\n",
        "  a: {uses: test.call, with: {headers: {Authorization: \"Bearer ${{ secrets.token }}\"}}}\n",
        "  a: {uses: test.call, with: {headers: {X-Key: \"${{ secrets.token | upper }}\"}}}\n",
    ] {
        if let Err(d) = with_sensitive_param(&format!("{head}{ok}")) {
            panic!("{ok}: {d}");
        }
    }
    for (step, line_col) in [
        (
            "  a: {uses: core.log, with: {message: \"${{ secrets.token | upper }}\"}}\n",
            "5:",
        ),
        (
            "  a: {uses: core.log, with: {message: \"token: ${{ secrets.token }}\"}}\n",
            "5:",
        ),
        (
            "  a: {uses: core.log, with: {message: \"${{ secrets.token ~ 'x' }}\"}}\n",
            "5:",
        ),
        (
            "  a: {uses: core.log, with: {message: \"${{ secrets.token.upper() }}\"}}\n",
            "5:",
        ),
        (
            "  a: {uses: core.log, with: {message: \"${{ {secrets.token: 1} }}\"}}\n",
            "5:",
        ),
        (
            "  a: {uses: test.call, with: {url: \"https://h/?k=${{ secrets.token }}\"}}\n",
            "5:",
        ),
    ] {
        let found = with_sensitive_param(&format!("{head}{step}"))
            .expect_err(step)
            .items;
        assert_eq!(found.len(), 1, "{step}: {found:?}");
        assert_eq!(found[0].code, "secret-use", "{step}");
        assert!(
            found[0].message.contains("is opaque"),
            "{step}: {}",
            found[0].message
        );
        assert!(
            format!("{}:{}", found[0].line, found[0].column).starts_with(line_col),
            "{step}"
        );
    }
    // Never in a condition, a list to iterate, or a concurrency key; never
    // a parameter of a WebAssembly step (it has `allow.secrets`).
    let hash = "a".repeat(64);
    for text in [
        format!("{head}  a: {{uses: core.noop, if: \"${{{{ secrets.token == 'x' }}}}\"}}\n"),
        format!("{head}  a: {{uses: core.noop, for_each: \"${{{{ secrets.token }}}}\"}}\n"),
        format!(
            "{HEAD}secrets: [token]\nconcurrency: {{key: \"${{{{ secrets.token }}}}\"}}\nsteps:\n  a: {{uses: core.noop}}\n"
        ),
        format!(
            "{head}  a: {{uses: wasm, wasm: {{module: m.wasm, sha256: {hash}}}, with: {{t: \"${{{{ secrets.token }}}}\"}}}}\n"
        ),
    ] {
        let found = with_sensitive_param(&text).expect_err(&text).items;
        assert!(
            found.iter().any(|d| d.code == "secret-use"),
            "{text}: {found:?}"
        );
    }
}

#[test]
fn a_limit_names_a_pool_or_computes_one_and_reading_a_step_implies_it() {
    let plan = ok(&format!(
        "{HEAD}secrets: [token]\ninputs:\n  vc: {{type: string}}\nsteps:\n  a: {{uses: core.log, with: {{message: prod}}}}\n  b: {{uses: core.noop, limit: \"vcenter:${{{{ steps.a.outputs.message }}}}\"}}\n  c: {{uses: core.noop, limit: nova-east}}\n  d: {{uses: core.noop, for_each: [1, 2], limit: \"vc:${{{{ item }}}}\"}}\n"
    ));
    assert_eq!(needs_of(&plan, "b"), [("a", EdgeKind::Implied)]);
    assert!(plan.workflow.steps[&id("c")].limit.is_some());
    let found = problems(&format!(
        "{HEAD}secrets: [token]\nsteps:\n  a: {{uses: core.noop, limit: 4}}\n  b: {{uses: core.noop, limit: \"${{{{ secrets.token }}}}\"}}\n  c: {{uses: core.noop, limit: \"vc:${{{{ item }}}}\"}}\n"
    ));
    assert_eq!(
        codes(&found),
        vec!["wrong-type", "secret-use", "item"],
        "{found:?}"
    );
    assert!(found[0].2.contains("the name of a pool"), "{found:?}");
    assert_eq!(found[0].1, "5:31", "{found:?}");
}

/// `notify:` mistakes are said where they are written, all at once.
#[test]
fn webhook_receivers_are_checked_where_written() {
    let text = "version: 1
name: w
secrets: [hook]
notify:
  - url: https://hooks.example/ok
    secret: hook
  - url: ftp://files.example/
  - url: https://user:pw@hooks.example/
  - url: https://hooks.example/${{ inputs.x }}
  - sink: ops
    url: https://hooks.example/
  - secret: hook
  - url: https://hooks.example/
    secret: other
  - url: https://hooks.example/
    events: []
steps:
  a: {uses: core.noop}
";
    let found: Vec<(String, String)> = problems(text)
        .into_iter()
        .map(|(_, at, message)| (at, message))
        .collect();
    let at: Vec<&str> = found.iter().map(|(at, _)| at.as_str()).collect();
    assert_eq!(
        at,
        vec!["7:10", "8:10", "9:10", "10:11", "12:11", "14:13", "16:13"],
        "{found:#?}"
    );
    assert!(
        found[0].1.contains("not an http:// or https:// URL"),
        "{found:#?}"
    );
    assert!(found[1].1.contains("credentials"), "{found:#?}");
    assert!(found[2].1.contains("expression"), "{found:#?}");
    assert!(found[3].1.contains("not both"), "{found:#?}");
    assert!(
        found[4].1.contains("needs a `url` or a `sink`"),
        "{found:#?}"
    );
    assert!(
        found[5]
            .1
            .contains("`other` is not one of the workflow's secrets")
    );
    assert!(found[6].1.contains("told nothing"), "{found:#?}");

    // An unknown event is a shape error where it is written.
    let unknown = problems(
        "version: 1\nname: w\nnotify:\n  - url: https://h.example/\n    events: [done]\nsteps:\n  a: {uses: core.noop}\n",
    );
    assert_eq!(unknown.len(), 1, "{unknown:#?}");
    assert_eq!(unknown[0].1, "5:14", "{unknown:#?}");
    assert!(
        unknown[0].2.contains("unknown value `done`"),
        "{unknown:#?}"
    );

    // A good one compiles, with the endings as its default events.
    let plan = ok("version: 1\nname: w\nnotify:\n  - sink: ops\nsteps:\n  a: {uses: core.noop}\n");
    assert_eq!(plan.workflow.notify[0].events.len(), 4);
}

#[test]
fn anchors_merge_keys_and_tabs_compile_to_the_plain_files_plan() {
    // The fast reader leaves these to serde_yaml (its own tests say why);
    // the plan, and so its content hash, must not depend on which reader
    // read the file.
    let plain = format!(
        "{HEAD}steps:\n  a: {{uses: core.log, with: {{message: hi}}}}\n  b: {{uses: core.log, needs: [a], with: {{message: hi}}}}\n"
    );
    let anchored = format!(
        "{HEAD}steps:\n  a: &log {{uses: core.log, with: {{message: hi}}}}\n  b:\n    <<: *log\n    needs: [a]\n"
    );
    let quoted_tab = format!(
        "{HEAD}steps:\n  a: {{uses: core.log, with: {{message: \"hi\"}}}}\n  b: {{uses: core.log, needs: [a], with: {{message: hi}}}}\t\n"
    );
    let expected = ok(&plain).hash;
    for variant in [&anchored, &quoted_tab] {
        assert_eq!(ok(variant).hash, expected, "{variant}");
    }
}

#[test]
fn a_file_starting_with_a_byte_order_mark_compiles_as_without_it() {
    // Windows editors write one and hide it; it was read as a second
    // document ("more than one document is not supported").
    let text = format!("{HEAD}steps:\n  a: {{uses: core.log, with: {{message: hi}}}}\n");
    let mut marked = "\u{feff}".as_bytes().to_vec();
    marked.extend_from_slice(text.as_bytes());
    let source = shutter_dsl::Source::from_bytes("w.yaml", marked).expect("UTF-8");
    let plan = compile(&source, &Catalog::with_core()).expect("compiles");
    assert_eq!(plan.hash, ok(&text).hash);
    // A mistake on the first line is still at column 1 of line 1.
    let mut bad = "\u{feff}".as_bytes().to_vec();
    bad.extend_from_slice(
        b"version: x\nname: w\nsteps: {a: {uses: core.log, with: {message: hi}}}\n",
    );
    let source = shutter_dsl::Source::from_bytes("w.yaml", bad).expect("UTF-8");
    let found = compile(&source, &Catalog::with_core()).expect_err("version is wrong");
    assert_eq!(
        (found.items[0].line, found.items[0].column),
        (1, 10),
        "{found}"
    );
}
