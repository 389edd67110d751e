#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The operator's web console, in process: its pages and their headers,
//! the list's states and paging, one graph node per step, and that what a
//! workflow's steps say reaches a page only escaped.

mod support;

use axum::http::StatusCode;
use support::{Answer, TestServer, server};

const FINE: &str = "version: 1
name: fine
steps:
  only: {uses: core.noop}
";

/// A step whose error is markup: it must show as text.
const HOSTILE: &str = r#"version: 1
name: hostile
steps:
  prepare: {uses: core.noop}
  boom:
    uses: core.fail
    needs: prepare
    with: {message: '<script>alert("pwned")</script>'}
  cleanup:
    uses: core.log
    finally: true
    with: {message: cleaning up}
"#;

/// Starts an execution of `workflow` and waits for its end; its id.
async fn run(api: &TestServer, workflow: &str) -> String {
    let id = api.start(workflow).await;
    api.finished(&id).await;
    id
}

/// A server that has run [`HOSTILE`] to its end; the execution's id and
/// its page.
async fn hostile_page() -> (TestServer, String, Answer) {
    let api = server(None);
    api.register(HOSTILE).await;
    let id = run(&api, "hostile").await;
    let page = api.get(&format!("/ui/executions/{id}")).await;
    (api, id, page)
}

/// The page's HTML, checked to be a page with the console's headers.
fn html(answer: &Answer) -> &str {
    assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
    assert_eq!(answer.header("content-type"), "text/html; charset=utf-8");
    let policy = answer.header("content-security-policy");
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(policy.contains(directive), "{policy}");
    }
    assert_eq!(answer.header("x-content-type-options"), "nosniff");
    answer.body.as_str().unwrap()
}

#[tokio::test]
async fn the_root_sends_a_browser_to_the_executions() {
    let api = server(None);
    api.assert_see_other("/", "/ui/executions").await;
}

#[tokio::test]
async fn the_list_shows_each_execution_with_its_state_and_pages_back() {
    let api = server(None);
    api.register(FINE).await;
    api.register(HOSTILE).await;
    let fine = run(&api, "fine").await;
    let failed = run(&api, "hostile").await;

    let page = api.get("/ui/executions").await;
    let body = html(&page);
    assert!(
        body.contains(&format!(
            r#"data-execution-id="{fine}" data-state="succeeded""#
        )),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            r#"data-execution-id="{failed}" data-state="failed""#
        )),
        "{body}"
    );
    assert!(body.contains(r#"<td class="state-failed">"#), "{body}");
    // The state is a word too, not only a colour.
    assert!(body.contains(r#"<span class="label">failed</span>"#));
    assert!(!body.contains("style="), "the CSP forbids inline styles");

    let only_failed = api.get("/ui/executions?state=failed").await;
    let body = html(&only_failed);
    assert!(body.contains(&failed) && !body.contains(&fine), "{body}");

    // Keyset paging: the newest first, then a link to what is older.
    let first = api.get("/ui/executions?limit=1").await;
    let body = html(&first);
    assert_eq!(body.matches("<tr data-execution-id=").count(), 1, "{body}");
    assert!(body.contains(&format!(r#"data-execution-id="{failed}""#)));
    let older = format!("/ui/executions?limit=1&amp;cursor={failed}");
    assert!(body.contains(&format!(r#"href="{older}""#)), "{body}");
    let second = api.get(&older.replace("&amp;", "&")).await;
    let body = html(&second);
    assert!(
        body.contains(&format!(r#"data-execution-id="{fine}""#)),
        "{body}"
    );
    assert!(!body.contains(&format!(r#"data-execution-id="{failed}""#)));

    let bad = api.get("/ui/executions?state=sleeping").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_large_execution_lists_its_notable_steps_first_and_all_on_asking() {
    let api = server(None);
    let mut yaml = String::from("version: 1\nname: wide\nsteps:\n");
    for n in 0..80 {
        yaml.push_str(&format!("  s{n:02}: {{uses: core.noop}}\n"));
    }
    yaml.push_str("  late:\n    uses: core.fail\n    needs: s79\n    with: {message: broke}\n");
    api.register(&yaml).await;
    let id = run(&api, "wide").await;
    let page = api.get(&format!("/ui/executions/{id}")).await;
    let body = html(&page).to_owned();
    assert!(
        body.contains(r#"data-partial="1""#),
        "marked as listing some steps"
    );
    assert!(body.contains("Listed: 60 of 81 steps"), "says how many");
    assert_eq!(body.matches("<tr data-step=").count(), 60);
    assert_eq!(body.matches(r#"<details class="step""#).count(), 60);
    assert_eq!(
        body.matches(r#"<g class="node "#).count(),
        81,
        "the graph has every step"
    );
    assert!(
        body.contains(r#"<tr data-step="late" data-state="failed">"#),
        "the failed step is listed although it comes last"
    );
    assert!(body.contains(r#"<tr data-step="s00" data-state="succeeded">"#));
    assert!(
        !body.contains(r#"<tr data-step="s79""#),
        "the rest wait for `all`"
    );
    let all = api.get(&format!("/ui/executions/{id}?steps=all")).await;
    let every = html(&all);
    assert_eq!(every.matches("<tr data-step=").count(), 81);
    assert!(!every.contains("data-partial"));
    assert!(
        body.len() < every.len(),
        "{} vs {}",
        body.len(),
        every.len()
    );
}

#[tokio::test]
async fn the_nodes_page_shows_this_node_and_what_it_holds() {
    let api = server(None);
    api.register(
        "version: 1
name: long
steps:
  work: {uses: core.sleep, with: {duration: 1h}}
",
    )
    .await;
    let empty = api.get("/ui/nodes").await;
    let body = html(&empty);
    assert!(body.contains("No node holds an execution now."), "{body}");
    assert!(body.contains("Every execution has ended."), "{body}");
    assert!(body.contains("No pool"), "{body}");
    let id = api.start("long").await;
    let page = api.get("/ui/nodes").await;
    let body = html(&page);
    assert_eq!(body.matches("<tr data-node=").count(), 1, "{body}");
    assert!(body.contains("(this node)"), "{body}");
    assert!(
        body.contains(r#"<span class="label">renewed</span>"#),
        "{body}"
    );
    assert!(
        body.contains(&format!(r#"<tr data-execution-id="{id}">"#)),
        "{body}"
    );
    assert!(
        body.contains(r#"<b data-role="waiting-for-a-node">0</b>"#),
        "{body}"
    );
    assert!(
        body.contains(r#"<a href="/ui/nodes" aria-current="page">"#),
        "{body}"
    );
    assert!(
        body.contains(r#"<div id="live" data-refresh-every="5"><p>This page was answered by node"#),
        "the script reads the whole page again: {body}"
    );
    api.post(&format!("/executions/{id}/cancel"), "").await;
    api.finished(&id).await;
}

#[tokio::test]
async fn the_execution_page_draws_one_node_per_step_in_its_state() {
    let (_api, id, page) = hostile_page().await;
    let body = html(&page);
    assert_eq!(body.matches(r#"<g class="node "#).count(), 3, "{body}");
    for (step, state) in [
        ("prepare", "succeeded"),
        ("boom", "failed"),
        ("cleanup", "succeeded"),
    ] {
        assert!(
            body.contains(&format!(
                r#"<g class="node state-{state}" data-step="{step}">"#
            )),
            "{step} {state}: {body}"
        );
        assert!(
            body.contains(&format!(r#"<tr data-step="{step}" data-state="{state}">"#)),
            "{step} {state}"
        );
    }
    assert!(body.contains("data-finally"), "the finally step is marked");
    assert!(
        body.contains(r#"data-action="retry" data-from="boom" data-when="ended">"#),
        "retry from a step, shown as the execution has ended: {body}"
    );
    assert!(
        body.contains(r#"data-action="cancel" data-when="running" hidden>"#),
        "no cancel once ended"
    );
    assert!(body.contains(&format!(r#"href="/executions/{id}/steps/boom/logs""#)));
}

#[tokio::test]
async fn the_timeline_is_served_alone_for_the_page_to_redraw_it() {
    let (api, id, page) = hostile_page().await;
    let source = format!(r#"data-role="timeline" data-src="/ui/executions/{id}/timeline">"#);
    assert!(
        html(&page).contains(&source),
        "the page says where: {source}"
    );
    let part = api.get(&format!("/ui/executions/{id}/timeline")).await;
    let chart = html(&part);
    assert!(chart.starts_with("<svg class=\"timeline\""), "{chart}");
    assert!(!chart.contains("<html"), "a part of a page, not a page");
    assert_eq!(chart.matches(r#"<g class="lane""#).count(), 3, "{chart}");
    assert!(chart.contains(r#"data-step="boom""#) && chart.contains("try state-failed"));
    assert!(
        chart.contains("&lt;script&gt;") && !chart.contains("<script>"),
        "the error in a bar's title is escaped: {chart}"
    );
    let unknown = api
        .get("/ui/executions/0193a1b2-c3d4-7e5f-8a6b-000000000001/timeline")
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn what_a_step_says_reaches_the_page_only_escaped() {
    let (_api, _, page) = hostile_page().await;
    let body = html(&page);
    assert!(
        body.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"),
        "{body}"
    );
    assert!(!body.contains("<script>alert"), "{body}");
    // The one script of the page is the console's own file.
    assert_eq!(body.matches("<script").count(), 1, "{body}");
    assert!(body.contains(r#"<script src="/ui/assets/console.js?v="#));
    // The step's panel shows what it was called with, escaped as well.
    assert!(
        body.contains(
            "<h3>Parameters <span class=\"muted\">(try 1, resolved; secrets hidden)</span></h3>"
        ),
        "{body}"
    );
    assert!(
        body.contains("&quot;message&quot;: &quot;&lt;script&gt;alert(\\&quot;pwned\\&quot;)&lt;/script&gt;&quot;"),
        "{body}"
    );
}

#[tokio::test]
async fn assets_are_served_with_their_types_and_cached() {
    let api = server(None);
    for (path, kind) in [
        ("/ui/assets/console.css", "text/css; charset=utf-8"),
        ("/ui/assets/console.js", "text/javascript; charset=utf-8"),
    ] {
        let answer = api.get(path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.header("content-type"), kind);
        assert_eq!(answer.header("x-content-type-options"), "nosniff");
        assert!(answer.header("cache-control").contains("immutable"));
        assert!(!answer.body.as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn unknown_executions_are_not_pages() {
    let api = server(None);
    let absent = api
        .get("/ui/executions/0190a2b4-0000-7000-8000-000000000000")
        .await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND);
    // A page a person can read, saying what was not found.
    assert!(absent.header("content-type").starts_with("text/html"));
    let body = absent.body.as_str().unwrap();
    assert!(
        body.contains("execution 0190a2b4-0000-7000-8000-000000000000"),
        "{body}"
    );
    assert!(body.contains(r#"<a href="/ui/executions">"#));
    let malformed = api.get("/ui/executions/not-an-id%3Cb%3E").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    let body = malformed.body.as_str().unwrap();
    assert!(!body.contains("<b>"), "the id is shown escaped: {body}");
    assert!(body.contains("not-an-id&lt;b&gt;"), "{body}");
    // The API itself still answers JSON.
    let api_answer = api
        .get("/executions/0190a2b4-0000-7000-8000-000000000000")
        .await;
    assert_eq!(api_answer.body["error"]["code"], "not_found");
}

/// The session cookie a sign-in answer sets, as a `Cookie` header value.
fn session_of(answer: &Answer) -> String {
    let set = answer.header("set-cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    set.split(';').next().unwrap().to_owned()
}

/// A form posted to `uri` of the console at `localhost` by a page of
/// `origin`, with the session `cookie` when given.
async fn post_form(
    api: &TestServer,
    uri: &str,
    body: &str,
    origin: &str,
    cookie: Option<&str>,
) -> Answer {
    let mut headers = vec![
        ("content-type", "application/x-www-form-urlencoded"),
        ("origin", origin),
        ("host", "localhost"),
    ];
    headers.extend(cookie.map(|cookie| ("cookie", cookie)));
    api.call(axum::http::Method::POST, uri, body, &headers)
        .await
}

#[tokio::test]
async fn with_a_token_the_console_asks_for_it_once_and_keeps_a_session() {
    let api = server(Some("console-t0ken"));
    // A page asked for unsigned: to the form, with the page to come back to.
    api.assert_see_other(
        "/ui/executions?state=failed",
        "/ui/sign-in?next=/ui/executions%3Fstate%3Dfailed",
    )
    .await;
    // The API itself still says 401 (a script, not a person).
    assert_eq!(
        api.get("/executions").await.status,
        StatusCode::UNAUTHORIZED
    );
    let form = api
        .get("/ui/sign-in?next=/ui/executions%3Fstate%3Dfailed")
        .await;
    let body = html(&form);
    assert!(
        body.contains(r#"name="next" value="/ui/executions?state=failed""#),
        "{body}"
    );
    assert!(body.contains(r#"type="password""#));

    let post = |token: &'static str| {
        let api = &api;
        async move {
            let body = format!("token={token}&next=%2Fui%2Fexecutions%3Fstate%3Dfailed");
            post_form(api, "/ui/sign-in", &body, "http://localhost", None).await
        }
    };
    let wrong = post("console-t0ke").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.header("content-type").starts_with("text/html"));
    assert!(wrong.headers.get("set-cookie").is_none());
    assert!(
        wrong
            .body
            .as_str()
            .unwrap()
            .contains("does not open this server")
    );

    let right = post("console-t0ken").await;
    assert_eq!(right.status, StatusCode::SEE_OTHER);
    assert_eq!(right.header("location"), "/ui/executions?state=failed");
    let cookie = session_of(&right);
    assert!(
        !cookie.contains("console-t0ken"),
        "the token is not the cookie"
    );
    // The session opens the pages and the API routes their script calls.
    let page = api.get_with("/ui/executions", &[("cookie", &cookie)]).await;
    html(&page);
    let listed = api.get_with("/executions", &[("cookie", &cookie)]).await;
    assert_eq!(listed.status, StatusCode::OK);
    // A forged one does not.
    let forged = cookie.replace("client.", "admin.");
    assert_eq!(
        api.get_with("/executions", &[("cookie", &forged)])
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // Another site cannot sign a browser in.
    let cross = post_form(
        &api,
        "/ui/sign-in",
        "token=console-t0ken",
        "http://evil.example",
        None,
    )
    .await;
    assert_eq!(cross.status, StatusCode::FORBIDDEN);
    assert!(cross.headers.get("set-cookie").is_none());
    // Signing out drops the cookie.
    let out = post_form(
        &api,
        "/ui/sign-out",
        "",
        "http://localhost",
        Some(cookie.as_str()),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert!(out.header("set-cookie").contains("Max-Age=0"));
}

#[tokio::test]
async fn a_scheduled_workflow_shows_its_next_ticks() {
    let api = server(None);
    api.register(
        r#"version: 1
name: nightly
schedule: {cron: "0 3 * * *", timezone: Europe/Paris}
steps:
  a: {uses: core.noop}
"#,
    )
    .await;
    let detail = api.get("/workflows/nightly").await;
    let ticks: Vec<chrono::DateTime<chrono::Utc>> =
        serde_json::from_value(detail.body["next_ticks"].clone()).unwrap();
    assert_eq!(ticks.len(), 3, "{:?}", detail.body);
    let paris: Vec<u32> = ticks
        .iter()
        .map(|t| chrono::Timelike::hour(&t.with_timezone(&chrono_tz::Europe::Paris)))
        .collect();
    assert_eq!(paris, [3, 3, 3], "03:00 in Paris, each day");
    assert!(
        ticks[0] > chrono::Utc::now()
            && ticks
                .windows(2)
                .all(|w| w[1] - w[0] >= chrono::TimeDelta::hours(23))
    );
    let page = api.get("/ui/workflows/nightly").await;
    let body = html(&page);
    let shown = body
        .split(r#"data-role="next-ticks">"#)
        .nth(1)
        .unwrap_or_default();
    let shown = shown.split("</span>").next().unwrap_or_default();
    assert_eq!(shown.matches("<time ").count(), 3, "{body}");
    let list = api.get("/ui/workflows").await;
    assert_eq!(
        html(&list).matches("<time ").count(),
        1,
        "the list shows the next tick"
    );
}

#[tokio::test]
async fn a_workflow_page_has_its_source_graph_and_a_form_typed_by_its_inputs() {
    let api = server(None);
    api.register(
        r#"version: 1
name: typed
description: 'Backs up <everything>'
inputs:
  vm: {type: string, default: web-01}
  keep: {type: integer, default: 3}
  dry: {type: boolean, default: true}
  tier: {type: string, enum: [gold, silver], default: silver}
  tags: {type: object, required: false}
steps:
  a: {uses: core.noop}
  b: {uses: core.noop, needs: a}
"#,
    )
    .await;
    let list = api.get("/ui/workflows").await;
    assert!(html(&list).contains(r#"<tr data-workflow="typed">"#));
    let page = api.get("/ui/workflows/typed").await;
    let body = html(&page);
    assert!(body.contains("Backs up &lt;everything&gt;"), "escaped");
    assert_eq!(body.matches(r#"<g class="node state-pending""#).count(), 2);
    // Twelve lines of source and one version kept, each an `<li>`.
    assert_eq!(body.matches("<li><code>").count(), 13, "one line each");
    assert!(body.contains("<li><code>  b: {uses: core.noop, needs: a}</code></li>"));
    for field in [
        r#"<input type="text" id="input-vm" name="vm" data-input="vm" data-type="string" value="web-01">"#,
        r#"<input type="number" step="1" id="input-keep" name="keep" data-input="keep" data-type="integer" value="3">"#,
        r#"<input type="checkbox" id="input-dry" name="dry" data-input="dry" data-type="boolean" checked>"#,
        r#"<option value="silver" selected>silver</option>"#,
        r#"<textarea rows="3" id="input-tags" name="tags" data-input="tags" data-type="object" placeholder="JSON"></textarea>"#,
    ] {
        assert!(body.contains(field), "{field} in {body}");
    }
    assert_eq!(
        api.get("/ui/workflows/nothing").await.status,
        StatusCode::NOT_FOUND
    );
}
