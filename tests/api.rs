//! The HTTP API as a client meets it over a socket, with tokens set: the
//! OpenAPI document is served without one and passes openapi-spec-validator,
//! and every `Location` the server answers is followed with a GET.

use std::collections::BTreeSet;

use reqwest::header::LOCATION;
use reqwest::{Client, RequestBuilder, StatusCode, Url};
use serde_json::{Value as Json, json};
use shutter_tests::served::Served;

const TOKEN: &str = "client-secret";
const ADMIN: &str = "admin-secret";

const LOCATED: &str = "version: 1
name: located
inputs:
  vm: {type: string, default: web-01}
steps:
  greet: {uses: core.log, with: {message: 'hello ${{ inputs.vm }}'}}
outputs:
  vm: ${{ inputs.vm }}
";

/// `shutter serve` on its own database, guarded by a client and an admin token.
async fn served(dir: &std::path::Path) -> Served {
    let db = dir.join("api.db");
    Served::start_with(
        ["--db".as_ref(), db.as_os_str()],
        &[("SHUTTER_API_TOKEN", TOKEN), ("SHUTTER_ADMIN_TOKEN", ADMIN)],
    )
    .await
}

/// `GET base+path` without a token: its status and body.
async fn anonymous(http: &Client, base: &str, path: &str) -> (StatusCode, String) {
    let response = http
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("the server answers");
    let status = response.status();
    (status, response.text().await.expect("a body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_needs_no_token_and_is_valid() {
    // First, so a validator that cannot be had fails the test at once.
    let validator = shutter_testpeers::openapi_spec_validator();
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = served(dir.path()).await;
    let http = Client::new();

    // The token guards the data, not the description of the API.
    let (status, body) = anonymous(&http, &server.base, "/executions").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = anonymous(&http, &server.base, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let document: Json = serde_json::from_str(&body).expect("the document is JSON");
    assert!(
        document["openapi"]
            .as_str()
            .is_some_and(|version| version.starts_with("3.1")),
        "{}",
        document["openapi"]
    );
    // ... and the Host check still holds (DNS rebinding).
    let foreign = http
        .get(format!("{}/openapi.json", server.base))
        .header("host", "attacker.example")
        .send()
        .await
        .expect("the server answers");
    assert_eq!(foreign.status(), StatusCode::MISDIRECTED_REQUEST);

    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &body).expect("writable");
    let mut check = std::process::Command::new(&validator);
    check.args(["--validation-errors", "all"]).arg(&file);
    shutter_testpeers::succeeds(check, "openapi-spec-validator refuses /openapi.json");
    server.stop().await;
}

/// Sends `request`, which must answer `expected` with a `Location`, then
/// GETs that `Location` (resolved against the request's URL, as a client
/// does) with the client token. The answer's and the followed body.
async fn follow(
    http: &Client,
    what: &str,
    request: RequestBuilder,
    expected: StatusCode,
) -> (Json, Json) {
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let url = response.url().clone();
    let location = response
        .headers()
        .get(LOCATION)
        .map(|value| value.to_str().expect("an ASCII Location").to_owned());
    let body = response.text().await.expect("a body");
    assert_eq!(status, expected, "{what}: {body}");
    let location = location.unwrap_or_else(|| panic!("{what}: no Location in the answer"));
    let target = url
        .join(&location)
        .unwrap_or_else(|err| panic!("{what}: Location `{location}` is no URL reference: {err}"));
    let followed = http
        .get(target.clone())
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the server answers");
    let followed_status = followed.status();
    let followed_body = followed.text().await.expect("a body");
    assert_eq!(
        followed_status,
        StatusCode::OK,
        "{what}: GET {target} (Location: {location}) answered {followed_status}: {followed_body}"
    );
    (
        serde_json::from_str(&body).expect("a JSON answer"),
        serde_json::from_str(&followed_body).expect("a JSON resource"),
    )
}

/// Every (operationId, status) whose answer the document says carries a
/// `Location`.
fn located_answers(document: &Json) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for item in document["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("a path item").values() {
            let Some(responses) = operation["responses"].as_object() else {
                continue;
            };
            for (status, response) in responses {
                if response["headers"].get("Location").is_some() {
                    let id = operation["operationId"].as_str().unwrap_or_default();
                    found.insert((id.to_owned(), status.clone()));
                }
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_location_the_server_answers_is_followed_to_a_200() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let server = served(dir.path()).await;
    let http = Client::new();
    let base = Url::parse(&server.base).expect("a URL");
    let at = |path: &str| base.join(path).expect("a URL");
    let mut followed = BTreeSet::new();

    let register = || {
        http.post(at("/workflows"))
            .bearer_auth(ADMIN)
            .header("content-type", "application/yaml")
            .body(LOCATED)
    };
    let (answer, workflow) = follow(&http, "register", register(), StatusCode::CREATED).await;
    assert_eq!(workflow["name"], "located", "{workflow}");
    assert_eq!(answer["name"], workflow["name"]);
    followed.insert(("registerWorkflow", "201"));
    let (_, workflow) = follow(&http, "register again", register(), StatusCode::OK).await;
    assert_eq!(workflow["name"], "located", "{workflow}");
    followed.insert(("registerWorkflow", "200"));

    let start = || {
        http.post(at("/workflows/located/executions"))
            .bearer_auth(TOKEN)
            .header("idempotency-key", "follow-me")
            .json(&json!({"inputs": {"vm": "web-02"}}))
    };
    let (answer, execution) = follow(&http, "start", start(), StatusCode::CREATED).await;
    assert_eq!(execution["id"], answer["id"], "{execution}");
    assert_eq!(execution["workflow"], "located", "{execution}");
    followed.insert(("startExecution", "201"));
    let (again, execution) = follow(&http, "start again", start(), StatusCode::OK).await;
    assert_eq!(
        again["id"], answer["id"],
        "the same key, the same execution"
    );
    assert_eq!(execution["id"], answer["id"], "{execution}");
    followed.insert(("startExecution", "200"));

    // vRO answers a URL ending with `/`: a client that follows it as given
    // must find the execution there, and its state under it.
    let vro_start = http
        .post(at("/vco/api/workflows/located/executions"))
        .bearer_auth(TOKEN)
        .json(&json!({"parameters": [
            {"name": "vm", "type": "string", "scope": "local", "value": {"string": {"value": "web-03"}}}
        ]}));
    let (answer, execution) = follow(&http, "vRO start", vro_start, StatusCode::ACCEPTED).await;
    assert_eq!(execution["id"], answer["id"], "{execution}");
    assert_eq!(execution["name"], "located", "{execution}");
    followed.insert(("vroStartExecution", "202"));
    let id = answer["id"].as_str().expect("an id");
    let state = http
        .get(at(&format!(
            "/vco/api/workflows/located/executions/{id}/state"
        )))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(state.status(), StatusCode::OK);

    // Every answer the document says carries a Location was followed here.
    let (status, body) = anonymous(&http, &server.base, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let document: Json = serde_json::from_str(&body).expect("the document is JSON");
    let followed: BTreeSet<(String, String)> = followed
        .into_iter()
        .map(|(id, status)| (id.to_owned(), status.to_owned()))
        .collect();
    assert_eq!(
        located_answers(&document),
        followed,
        "the answers with a Location in /openapi.json are the ones this test follows"
    );
    server.stop().await;
}

/// `--log-format json`: every line on stderr is a JSON object, the
/// server's own lines and one access line per request alike.
#[tokio::test]
async fn json_logs_are_one_object_a_line_with_an_access_line_per_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("logs.db");
    let server = Served::start([
        "--db".as_ref(),
        db.as_os_str(),
        "--log-format".as_ref(),
        "json".as_ref(),
    ])
    .await;
    let health = server.get("/healthz?x=1").await;
    assert_eq!(health["status"], "ok");
    let mut access = None;
    for _ in 0..100 {
        let logged = server.logged();
        access = logged
            .lines()
            .filter_map(|line| serde_json::from_str::<Json>(line).ok())
            .find(|line| line["target"] == "shutter::access" && line["path"] == "/healthz");
        if access.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let access = access.unwrap_or_else(|| panic!("no access line in {}", server.logged()));
    assert_eq!(access["method"], "GET");
    assert_eq!(access["status"], 200);
    assert!(access["duration_ms"].is_number(), "{access}");
    for line in server.logged().lines() {
        assert!(
            serde_json::from_str::<Json>(line).is_ok(),
            "not a JSON object: {line}"
        );
    }
}

/// `--access-log off`, as documented: the server's own lines stay, the
/// lines per request go (a later request's line would be there by now).
#[tokio::test]
async fn access_log_off_logs_no_line_per_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("quiet.db");
    let server = Served::start([
        "--db".as_ref(),
        db.as_os_str(),
        "--log-format".as_ref(),
        "json".as_ref(),
        "--access-log".as_ref(),
        "off".as_ref(),
    ])
    .await;
    for _ in 0..5 {
        assert_eq!(server.get("/healthz").await["status"], "ok");
    }
    server.signal("TERM");
    let mut stopped = false;
    for _ in 0..100 {
        stopped = server.logged().contains("stopped") || server.logged().contains("stopping");
        if stopped {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let logged = server.logged();
    assert!(stopped, "the server's own lines stay: {logged}");
    assert!(
        !logged.contains("shutter::access"),
        "no access line: {logged}"
    );
}
