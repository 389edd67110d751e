#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! Every route and error code, in process (the router called directly).

mod support;

use axum::http::{Method, StatusCode};
use serde_json::json;
use support::{json_body, server};

const HELLO: &str = "version: 1
name: hello
description: says hello
inputs:
  vm: {type: string, required: true}
steps:
  greet:
    uses: core.log
    with: {message: 'hello ${{ inputs.vm }}'}
  done:
    uses: core.noop
    needs: greet
outputs:
  vm: ${{ inputs.vm }}
";

const LONG: &str = "version: 1
name: long
steps:
  work: {uses: core.sleep, with: {duration: 1h}}
";

#[tokio::test]
async fn invalid_workflows_get_the_compilers_diagnostics() {
    let api = server(None);
    let answer = api
        .post_yaml(
            "/workflows",
            "version: 1\nname: bad\nsteps:\n  a: {uses: core.nope}\n",
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(answer.body["error"]["code"], "invalid_workflow");
    let first = &answer.body["error"]["details"][0];
    assert_eq!(first["line"], 4, "{first}");
    assert!(
        first["message"].as_str().unwrap().contains("core.nope"),
        "{first}"
    );
}

#[tokio::test]
async fn workflows_are_versioned_by_content() {
    let api = server(None);
    let created = api.post_yaml("/workflows", HELLO).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(created.header("location"), "/workflows/hello");
    let again = api.post_yaml("/workflows", HELLO).await;
    assert_eq!(again.status, StatusCode::OK);
    let changed = HELLO.replace("says hello", "says hello again");
    let second = api.post_yaml("/workflows", &changed).await;
    assert_eq!(second.status, StatusCode::CREATED);
    let detail = api.get("/workflows/hello").await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_eq!(detail.body["versions"], 2);
    assert_eq!(detail.body["description"], "says hello again");
    assert_eq!(detail.body["inputs"]["vm"]["type"], "string");
    assert_eq!(detail.body["graph"]["nodes"].as_array().unwrap().len(), 2);
    assert_eq!(
        detail.body["graph"]["edges"],
        json!([{"from": "greet", "to": "done", "kind": "needs"}])
    );
    let list = api.get("/workflows").await;
    assert_eq!(list.body["items"][0]["name"], "hello");
    assert_eq!(
        api.get("/workflows/nope").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_execution_runs_and_is_read_back_with_its_steps_and_logs() {
    let api = server(None);
    api.register(HELLO).await;
    let started = api
        .post(
            "/workflows/hello/executions",
            r#"{"inputs": {"vm": "web-01"}}"#,
        )
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let id = started.body["id"].as_str().unwrap().to_owned();
    assert_eq!(started.header("location"), format!("/executions/{id}"));
    let done = api.finished(&id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["outputs"], json!({"vm": "web-01"}));
    assert_eq!(done["steps"][0]["key"], "greet");
    assert_eq!(done["steps"][0]["attempts"][0]["number"], 1);
    let logs = api.get(&format!("/executions/{id}/steps/greet/logs")).await;
    assert_eq!(logs.status, StatusCode::OK);
    assert_eq!(logs.body["lines"][0]["message"], "hello web-01");
    let missing = api.get(&format!("/executions/{id}/steps/nope/logs")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    let events = api
        .get(&format!("/executions/{id}/events?after=0&limit=2"))
        .await;
    assert_eq!(events.body["events"].as_array().unwrap().len(), 2);
    assert_eq!(events.body["events"][0]["seq"], 1);
    assert_eq!(events.body["finished"], false, "more events follow");
    let rest = api
        .get(&format!(
            "/executions/{id}/events?after={}&limit=1000",
            events.body["last_seq"]
        ))
        .await;
    assert_eq!(rest.body["finished"], true);
}

#[tokio::test]
async fn bad_starts_are_refused_with_the_error_shape() {
    let api = server(None);
    api.register(HELLO).await;
    let missing = api
        .post("/workflows/hello/executions", r#"{"inputs": {}}"#)
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["error"]["code"], "invalid_inputs");
    assert!(
        missing.body["error"]["details"][0]
            .as_str()
            .unwrap()
            .contains("vm")
    );
    let malformed = api.post("/workflows/hello/executions", "{not json").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
    assert_eq!(malformed.body["error"]["code"], "invalid_body");
    let unknown_field = api
        .post("/workflows/hello/executions", r#"{"input": {}}"#)
        .await;
    assert_eq!(unknown_field.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = api.post("/workflows/nope/executions", "{}").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.body["error"]["code"], "not_found");
    let bad_id = api.get("/executions/not-an-id").await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
    let absent = api
        .get("/executions/0190a2b4-0000-7000-8000-000000000000")
        .await;
    assert_eq!(absent.status, StatusCode::NOT_FOUND);
    let no_route = api.get("/nowhere").await;
    assert_eq!(no_route.status, StatusCode::NOT_FOUND);
    assert_eq!(no_route.body["error"]["code"], "not_found");
    let bad_state = api.get("/executions?state=sleeping").await;
    assert_eq!(bad_state.status, StatusCode::BAD_REQUEST);
    let bad_limit = api.get("/executions?limit=0").await;
    assert_eq!(bad_limit.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_execution() {
    let api = server(None);
    api.register(HELLO).await;
    api.register(LONG).await;
    let key = [("idempotency-key", "nightly-2026-11-26")];
    let body = r#"{"inputs": {"vm": "web-01"}}"#;
    let first = api
        .call(Method::POST, "/workflows/hello/executions", body, &key)
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = api
        .call(Method::POST, "/workflows/hello/executions", body, &key)
        .await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(first.body["id"], second.body["id"]);
    let other = api
        .call(Method::POST, "/workflows/long/executions", "{}", &key)
        .await;
    assert_eq!(other.status, StatusCode::CONFLICT);
    assert_eq!(other.body["error"]["code"], "idempotency_key_reused");
    let list = api.get("/executions?workflow=hello").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);
    // `since` takes a duration back from now as well as a time.
    let recent = api.get("/executions?workflow=hello&since=1h").await;
    assert_eq!(recent.body["items"].as_array().unwrap().len(), 1);
    let future = chrono::Utc::now() + chrono::Duration::hours(1);
    let later = api
        .get(&format!(
            "/executions?workflow=hello&since={}",
            future.format("%Y-%m-%dT%H:%M:%SZ")
        ))
        .await;
    assert_eq!(later.body["items"], serde_json::json!([]));
}

#[tokio::test]
async fn etags_revalidate_and_long_polls_return_on_change() {
    let api = server(None);
    api.register(LONG).await;
    let id = api.start("long").await;
    // Once the sleep has started and set its timer the record is still: a
    // revalidation with the current tag answers 304. (Until then each read
    // may see one more change, and a new tag.)
    let mut etag = String::new();
    let mut revalidated = None;
    for _ in 0..100 {
        let detail = api.get(&format!("/executions/{id}")).await;
        etag = detail.header("etag").to_owned();
        let again = api
            .get_with(&format!("/executions/{id}"), &[("if-none-match", &etag)])
            .await;
        if again.status == StatusCode::NOT_MODIFIED {
            revalidated = Some(again);
            break;
        }
        assert_eq!(again.status, StatusCode::OK);
        api.get(&format!("/executions/{id}?wait=1s")).await;
    }
    let revalidated = revalidated.expect("the sleeping execution revalidates with 304");
    assert_eq!(revalidated.header("etag"), etag);
    // A long poll holds until the change that the cancel below drives.
    let poll = api.spawn_get(
        &format!("/executions/{id}?wait=60s"),
        &[("if-none-match", &etag)],
    );
    tokio::task::yield_now().await;
    let canceled = api.post(&format!("/executions/{id}/cancel"), "").await;
    assert_eq!(canceled.status, StatusCode::ACCEPTED, "{:?}", canceled.body);
    let answered = poll.await.unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    let new_etag = answered.headers()["etag"].to_str().unwrap();
    assert_ne!(new_etag, etag);
    let done = api.finished(&id).await;
    assert_eq!(done["state"], "canceled");
    let again = api.post(&format!("/executions/{id}/cancel"), "").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.body["error"]["code"], "already_finished");
    // Other routes carry a content ETag and revalidate too.
    let list = api.get("/executions").await;
    let list_tag = list.header("etag").to_owned();
    let list_again = api
        .get_with("/executions", &[("if-none-match", &list_tag)])
        .await;
    assert_eq!(list_again.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn nodes_names_this_node_and_the_executions_it_holds() {
    let api = server(None);
    api.register(LONG).await;
    let id = api.start("long").await;
    let nodes = api.get("/nodes").await;
    assert_eq!(nodes.status, StatusCode::OK, "{:?}", nodes.body);
    let me = nodes.body["this_node"]["id"].as_str().unwrap().to_owned();
    assert_eq!(nodes.body["this_node"]["pid"], std::process::id());
    assert_eq!(nodes.body["nodes"][0]["id"], me.as_str());
    assert_eq!(nodes.body["nodes"][0]["this_node"], true);
    assert_eq!(nodes.body["nodes"][0]["expired"], false);
    assert_eq!(nodes.body["executions"][0]["id"], id.as_str());
    assert_eq!(nodes.body["executions"][0]["node"], me.as_str());
    assert_eq!(nodes.body["waiting_for_a_node"], 0);
    assert_eq!(nodes.body["pools"], json!([]));
    api.post(&format!("/executions/{id}/cancel"), "").await;
    api.finished(&id).await;
    let after = api.get("/nodes").await;
    assert_eq!(after.body["executions"], json!([]));
    assert_eq!(after.body["nodes"], json!([]));
}

#[tokio::test]
async fn a_long_poll_of_the_list_returns_when_the_page_changes() {
    let api = server(None);
    api.register(HELLO).await;
    let first = api.start_with("hello", r#"{"inputs": {"vm": "a"}}"#).await;
    api.finished(&first).await;
    let page = api.get("/executions?workflow=hello").await;
    let tag = page.header("etag").to_owned();
    // Nothing changes: held, then 304 with the same tag.
    let idle = api
        .get_with(
            "/executions?workflow=hello&wait=200ms",
            &[("if-none-match", &tag)],
        )
        .await;
    assert_eq!(idle.status, StatusCode::NOT_MODIFIED);
    assert_eq!(idle.header("etag"), tag);
    // A change elsewhere (another workflow) does not end it either: the
    // page it holds is the same.
    api.register(LONG).await;
    let poll = api.spawn_get(
        "/executions?workflow=hello&wait=60s",
        &[("if-none-match", &tag)],
    );
    tokio::task::yield_now().await;
    api.start("long").await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !poll.is_finished(),
        "a change of another workflow's execution ended the poll"
    );
    // A new execution of the page's workflow does.
    let second = api.start_with("hello", r#"{"inputs": {"vm": "a"}}"#).await;
    let answered = poll.await.unwrap();
    assert_eq!(answered.status(), StatusCode::OK);
    assert_ne!(answered.headers()["etag"].to_str().unwrap(), tag);
    let body = json_body(answered).await;
    assert_eq!(body["items"][0]["id"], second.as_str());
    // Without `wait`, a matching tag answers 304 at once, as before.
    let now = api.get("/executions?workflow=hello").await;
    let again = api
        .get_with(
            "/executions?workflow=hello",
            &[("if-none-match", now.header("etag"))],
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    let bad = api.get("/executions?wait=soon").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_long_poll_on_events_returns_when_the_next_event_is_recorded() {
    let api = server(None);
    api.register(LONG).await;
    let id = api.start("long").await;
    let mut after = 0;
    // Read up to the sleep's timer, which is the last event until a change.
    loop {
        let page = api
            .get(&format!("/executions/{id}/events?after={after}&wait=5s"))
            .await;
        after = page.body["last_seq"].as_u64().unwrap();
        let types: Vec<_> = page.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect();
        if types.iter().any(|t| t == "timer_set") {
            break;
        }
    }
    let poll = api.spawn_get(
        &format!("/executions/{id}/events?after={after}&wait=60s"),
        &[],
    );
    tokio::task::yield_now().await;
    api.post(&format!("/executions/{id}/cancel"), "").await;
    let page = json_body(poll.await.unwrap()).await;
    assert!(page["last_seq"].as_u64().unwrap() > after, "{page}");
}

#[tokio::test]
async fn pages_stay_stable_while_executions_are_started() {
    let api = server(None);
    api.register(HELLO).await;
    let mut started = Vec::new();
    for n in 0..12 {
        let input = format!(r#"{{"inputs": {{"vm": "vm-{n}"}}}}"#);
        started.push(api.start_with("hello", &input).await);
    }
    let mut seen = Vec::new();
    let mut uri = "/executions?workflow=hello&limit=5".to_owned();
    loop {
        let page = api.get(&uri).await;
        assert_eq!(page.status, StatusCode::OK);
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        // New executions arrive between pages: they must not shift them.
        api.post(
            "/workflows/hello/executions",
            r#"{"inputs": {"vm": "late"}}"#,
        )
        .await;
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/executions?workflow=hello&limit=5&cursor={cursor}"),
            None => break,
        }
    }
    started.reverse();
    assert_eq!(seen, started, "every execution once, newest first");
}

#[tokio::test]
async fn a_token_guards_everything_but_health_and_the_api_description() {
    let api = server(Some("s3cret"));
    let refused = api.get("/executions").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.body["error"]["code"], "unauthorized");
    assert_eq!(refused.header("www-authenticate"), "Bearer");
    let wrong = api
        .get_with("/executions", &[("authorization", "Bearer s3cre")])
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let allowed = api
        .get_with("/executions", &[("authorization", "Bearer s3cret")])
        .await;
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(api.get("/healthz").await.status, StatusCode::OK);
    // The OpenAPI document holds no data: anyone who reaches the server
    // may read it.
    let described = api.get("/openapi.json").await;
    assert_eq!(described.status, StatusCode::OK, "{:?}", described.body);
    assert!(described.body["paths"].is_object());
    assert_eq!(api.get("/metrics").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn vro_shaped_routes_start_and_report_in_vros_shapes() {
    let api = server(None);
    api.register(HELLO).await;
    let body = json!({"parameters": [
        {"name": "vm", "type": "string", "scope": "local", "value": {"string": {"value": "web-01"}}}
    ]});
    let started = api
        .post("/vco/api/workflows/hello/executions", &body.to_string())
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{:?}", started.body);
    let location = started.header("location").to_owned();
    let id = started.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!("/vco/api/workflows/hello/executions/{id}/"),
        "vRO's Location ends with a slash"
    );
    api.finished(&id).await;
    // The Location as given answers, and so does the URL without the slash.
    let shape = api.get(&location).await;
    assert_eq!(shape.status, StatusCode::OK, "{:?}", shape.body);
    let bare = api.get(location.trim_end_matches('/')).await;
    assert_eq!(bare.status, StatusCode::OK, "{:?}", bare.body);
    assert_eq!(bare.body, shape.body);
    assert_eq!(shape.body["state"], "completed");
    assert!(shape.body["start-date"].is_string() && shape.body["end-date"].is_string());
    assert_eq!(
        shape.body["input-parameters"],
        json!([{"name": "vm", "type": "string", "scope": "local", "value": {"string": {"value": "web-01"}}}])
    );
    assert_eq!(shape.body["output-parameters"][0]["name"], "vm");
    assert!(shape.body.get("content-exception").is_none());
    let state = api.get(&format!("{location}state")).await;
    assert_eq!(state.body, json!({"value": "completed"}));
    let wrong_workflow = api
        .get(&format!("/vco/api/workflows/other/executions/{id}"))
        .await;
    assert_eq!(wrong_workflow.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_failed_execution_reports_its_content_exception() {
    let api = server(None);
    api.register(
        "version: 1\nname: broken\nsteps:\n  boom: {uses: core.fail, with: {message: disk full}}\n",
    )
    .await;
    let started = api.post("/vco/api/workflows/broken/executions", "{}").await;
    let id = started.body["id"].as_str().unwrap().to_owned();
    let done = api.finished(&id).await;
    assert_eq!(done["state"], "failed");
    let shape = api
        .get(&format!("/vco/api/workflows/broken/executions/{id}"))
        .await;
    assert_eq!(shape.body["state"], "failed");
    assert!(
        shape.body["content-exception"]
            .as_str()
            .unwrap()
            .contains("disk full")
    );
}

/// A plan runs the reads (here `core.log` and `core.noop`), starts no
/// execution, and checks the inputs as a start does.
#[tokio::test]
async fn a_plan_says_what_a_run_would_do_and_records_nothing() {
    let api = server(None);
    api.register(HELLO).await;
    api.register(LONG).await;
    let planned = api
        .post("/workflows/hello/plan", r#"{"inputs": {"vm": "web-1"}}"#)
        .await;
    assert_eq!(planned.status, StatusCode::OK, "{:?}", planned.body);
    let steps = &planned.body["steps"];
    assert_eq!(steps["greet"]["forecast"], "ran", "{steps}");
    assert_eq!(
        steps["greet"]["calls"][0]["params"]["message"],
        "hello web-1"
    );
    assert_eq!(steps["done"]["effect"], "read");
    // A sleep only takes time: shown, not waited for.
    let long = api.post("/workflows/long/plan", "{}").await;
    assert_eq!(
        long.body["steps"]["work"]["forecast"], "would_run",
        "{:?}",
        long.body
    );
    assert_eq!(long.body["writes"], 1);
    let listed = api.get("/executions").await;
    assert_eq!(
        listed.body["items"],
        serde_json::json!([]),
        "nothing recorded"
    );
    let wrong = api.post("/workflows/hello/plan", r#"{"inputs": {}}"#).await;
    assert_eq!(
        wrong.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{:?}",
        wrong.body
    );
    let unknown = api.post("/workflows/nope/plan", "{}").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn metrics_and_openapi_describe_the_server() {
    let api = server(None);
    api.register(HELLO).await;
    let id = api.start_with("hello", r#"{"inputs": {"vm": "a"}}"#).await;
    api.finished(&id).await;
    // The execution's task leaves the node a moment after its record ends.
    let mut metrics = api.get("/metrics").await;
    for _ in 0..100 {
        if metrics
            .body
            .as_str()
            .unwrap()
            .contains("shutter_node_executions_running 0\n")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        metrics = api.get("/metrics").await;
    }
    let text = metrics.body.as_str().unwrap();
    assert!(
        text.contains("shutter_executions{state=\"succeeded\"} 1"),
        "{text}"
    );
    // By workflow too, for the workflows the server serves.
    for (state, count) in [("succeeded", 1), ("failed", 0)] {
        let line = format!(
            "shutter_workflow_executions{{workflow=\"hello\",state=\"{state}\"}} {count}\n"
        );
        assert!(text.contains(&line), "{line} in {text}");
    }
    assert!(
        text.contains(
            "shutter_step_duration_seconds_count{workflow=\"hello\",outcome=\"succeeded\"} 2"
        ),
        "{text}"
    );
    assert!(text.contains("shutter_queue_depth 0"), "{text}");
    assert!(
        text.contains("shutter_node_executions_running 0\n"),
        "{text}"
    );
    assert!(
        text.contains("shutter_node_executions_max 1000\n"),
        "{text}"
    );
    let openapi = api.get("/openapi.json").await;
    assert_eq!(openapi.status, StatusCode::OK);
    assert!(openapi.body["openapi"].as_str().unwrap().starts_with("3."));
}

/// Every route the router serves, as (method, path) in the document.
const ROUTES: [(&str, &str); 22] = [
    ("post", "/workflows"),
    ("get", "/workflows"),
    ("get", "/workflows/{name}"),
    ("post", "/workflows/{name}/executions"),
    ("post", "/workflows/{name}/plan"),
    ("get", "/executions"),
    ("get", "/executions/{id}"),
    ("get", "/executions/{id}/events"),
    ("get", "/executions/{id}/steps/{step}/logs"),
    ("post", "/executions/{id}/cancel"),
    ("post", "/executions/{id}/retry"),
    ("get", "/backups"),
    ("get", "/backups/{id}"),
    ("get", "/nodes"),
    ("post", "/vco/api/workflows/{name}/executions"),
    ("get", "/vco/api/workflows/{name}/executions/{id}"),
    ("get", "/vco/api/workflows/{name}/executions/{id}/"),
    ("get", "/vco/api/workflows/{name}/executions/{id}/state"),
    ("delete", "/vco/api/workflows/{name}/executions/{id}/state"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

#[tokio::test]
async fn the_openapi_document_lists_every_route_once_by_a_name_of_its_own() {
    let api = server(Some("s3cret"));
    let openapi = api.get("/openapi.json").await;
    assert_eq!(openapi.status, StatusCode::OK, "{:?}", openapi.body);
    let paths = openapi.body["paths"].as_object().unwrap();
    let mut documented = std::collections::BTreeSet::new();
    let mut ids = std::collections::BTreeSet::new();
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            if ![
                "get", "post", "put", "delete", "patch", "head", "options", "trace",
            ]
            .contains(&method.as_str())
            {
                continue;
            }
            documented.insert((method.clone(), path.clone()));
            let id = operation["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            assert!(
                ids.insert(id.to_owned()),
                "operationId `{id}` is used twice"
            );
            // Public routes need no token; the rest need the bearer one.
            let public = ["/healthz", "/openapi.json"].contains(&path.as_str());
            if public {
                assert_eq!(operation["security"], json!([]), "{method} {path}");
            } else {
                assert!(operation.get("security").is_none(), "{method} {path}");
            }
        }
    }
    let routes: std::collections::BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(
        documented, routes,
        "the document lists exactly the routes served"
    );
    assert_eq!(openapi.body["security"], json!([{"bearer": []}]));

    // And every route documented is one the router serves (a route it
    // lacks answers the fallback's 404, a method it lacks 405).
    let auth = [("authorization", "Bearer s3cret")];
    for (method, path) in ROUTES {
        let uri = path
            .replace("{name}", "nameless")
            .replace("{id}", "0190a2b4-0000-7000-8000-000000000000")
            .replace("{step}", "greet");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let body = if method == Method::POST { "{}" } else { "" };
        let answer = api.call(method.clone(), &uri, body, &auth).await;
        assert_ne!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        assert_ne!(
            answer.body["error"]["message"], "route not found",
            "{method} {uri}: {:?}",
            answer.body
        );
    }
}

#[tokio::test]
async fn the_backup_catalog_checks_its_filters_and_names_what_it_lacks() {
    let api = server(None);
    let empty = api
        .get("/backups?source=vm-42&provider=vsphere&state=available")
        .await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.body["items"], serde_json::json!([]));
    assert!(empty.body["next_cursor"].is_null());
    for (query, says) in [
        ("provider=gcp", "unknown provider `gcp`"),
        ("state=gone", "unknown state `gone`"),
        ("limit=0", "limit must be 1 to 500"),
        (
            "since=yesterday",
            "since: `yesterday` is neither a time (RFC 3339) nor a duration",
        ),
    ] {
        let answer = api.get(&format!("/backups?{query}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{query}");
        let message = answer.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(says), "{query}: {}", answer.body);
    }
    let missing = api
        .get("/backups/0195f0a4-7c3e-7d2a-9a51-3c2f1e0b8d12")
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// Answers 503 to its first request and 200 to the others.
async fn down_once() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut served = 0;
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = vec![0; 4096];
            let _ = socket.read(&mut buffer).await;
            let status = if served == 0 {
                "503 Unavailable"
            } else {
                "200 OK"
            };
            served += 1;
            let answer =
                format!("HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}");
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    format!("http://{addr}/backup")
}

#[tokio::test]
async fn a_failed_execution_is_retried_from_its_failed_steps() {
    let api = server(None);
    let url = down_once().await;
    api.register(&format!(
        "version: 1
name: flaky
steps:
  first:
    uses: core.log
    with: {{message: once}}
  call:
    uses: http.request
    needs: first
    with: {{url: '{url}', method: POST}}
  after:
    uses: core.noop
    needs: call
"
    ))
    .await;
    let id = api.start("flaky").await;
    let failed = api.finished(&id).await;
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["steps"][2]["state"], "canceled");
    let retried = api.post(&format!("/executions/{id}/retry"), "").await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{:?}", retried.body);
    let again = api.finished(&id).await;
    assert_eq!(again["state"], "succeeded", "{again}");
    let steps = again["steps"].as_array().unwrap();
    assert_eq!(
        steps[0]["attempts"].as_array().unwrap().len(),
        1,
        "first kept: {again}"
    );
    assert_eq!(
        steps[1]["attempts"].as_array().unwrap().len(),
        2,
        "call ran again: {again}"
    );
    assert_eq!(steps[2]["state"], "succeeded");
    let logs = api.get(&format!("/executions/{id}/steps/first/logs")).await;
    assert_eq!(
        logs.body["lines"].as_array().unwrap().len(),
        1,
        "first did not run again"
    );
}

#[tokio::test]
async fn only_failed_or_canceled_executions_are_retried() {
    let api = server(None);
    api.register(HELLO).await;
    let id = api.start_with("hello", r#"{"inputs": {"vm": "a"}}"#).await;
    api.finished(&id).await;
    let refused = api.post(&format!("/executions/{id}/retry"), "").await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.body["error"]["code"], "not_retryable");
    for (body, code) in [
        (r#"{"from": "nope"}"#, "bad_request"),
        (r#"{"form": "greet"}"#, "invalid_body"),
    ] {
        let refused = api.post(&format!("/executions/{id}/retry"), body).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(refused.body["error"]["code"], code, "{}", refused.body);
    }
}

/// How many tries an execution's detail records for `step`, history included.
fn tries(detail: &serde_json::Value, step: &str) -> Option<usize> {
    detail["steps"]
        .as_array()?
        .iter()
        .find(|s| s["key"] == step)
        .and_then(|s| s["attempts"].as_array())
        .map(Vec::len)
}

/// The quiesce / snapshot / unquiesce shape: each step logs when it runs.
const BRACKET: &str = "version: 1
name: bracket
steps:
  quiesce: {uses: core.log, with: {message: quiesce}}
  snapshot: {uses: core.log, needs: quiesce, rerun_with: quiesce, with: {message: snapshot}}
  upload: {uses: core.log, needs: snapshot, with: {message: upload}}
  unquiesce: {uses: core.log, needs: snapshot, finally: true, with: {message: unquiesce}}
";

#[tokio::test]
async fn a_retry_from_a_step_reruns_its_bracket_and_what_is_downstream() {
    let api = server(None);
    api.register(BRACKET).await;
    let id = api.start("bracket").await;
    assert_eq!(api.finished(&id).await["state"], "succeeded");
    // Any ended execution may be retried from a step.
    let retried = api
        .post(
            &format!("/executions/{id}/retry"),
            r#"{"from": "snapshot"}"#,
        )
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{:?}", retried.body);
    let again = api.finished(&id).await;
    assert_eq!(again["state"], "succeeded", "{again}");
    let runs = |step: &str| tries(&again, step);
    // The snapshot's quiesce ran again before it, the un-quiesce after.
    for step in ["quiesce", "snapshot", "upload", "unquiesce"] {
        assert_eq!(runs(step), Some(2), "{step}: {again}");
    }
    let retried = api
        .post(&format!("/executions/{id}/retry"), r#"{"from": "upload"}"#)
        .await;
    assert_eq!(retried.status, StatusCode::ACCEPTED);
    let third = api.finished(&id).await;
    let runs = |step: &str| tries(&third, step);
    assert_eq!(
        [
            runs("quiesce"),
            runs("snapshot"),
            runs("upload"),
            runs("unquiesce")
        ],
        [Some(2), Some(2), Some(3), Some(3)],
        "upload and the finally step only: {third}"
    );
}
