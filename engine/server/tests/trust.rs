#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! Who may steer the server: the `Host` check, cross-site refusals, the
//! admin token, and every refusal in the error shape. Each test replays a
//! finding of the trust review (issue 12) against the router in process.

mod support;

use axum::http::{Method, StatusCode};
use serde_json::Value as Json;
use shutter_server::{Access, AllowedHosts, ServerConfig, Token};
use support::{Answer, TestServer, server, server_with};

/// What a web page planted through the operator's browser.
const PLANTED: &str = "version: 1
name: planted
schedule: '* * * * *'
steps:
  steal: {uses: core.log, with: {message: pwned}}
";

/// Posts [`PLANTED`] to `api` with `headers`, as a browser or a client would.
async fn plant(api: &TestServer, headers: &[(&str, &str)]) -> Answer {
    api.call(Method::POST, "/workflows", PLANTED, headers).await
}

fn defaults() -> ServerConfig {
    ServerConfig::default()
}

fn with_admin(admin: &str, token: Option<&str>) -> ServerConfig {
    ServerConfig {
        access: Access {
            token: token.and_then(Token::new),
            admin_token: Token::new(admin),
            allow_anonymous_admin: false,
        },
        ..ServerConfig::default()
    }
}

#[tokio::test]
async fn a_web_page_cannot_plant_a_workflow_through_the_browser() {
    // Even a server that lets anyone register refuses a browser's
    // cross-site post: as text/plain (no preflight), or as YAML from
    // another origin.
    let api = server(None);
    let cross_site = [
        ("host", "127.0.0.1:8080"),
        ("origin", "https://attacker.example"),
        ("content-type", "text/plain"),
    ];
    let text = plant(&api, &cross_site).await;
    assert_eq!(text.status, StatusCode::FORBIDDEN, "{:?}", text.body);
    assert_eq!(text.body["error"]["code"], "cross_site");
    let plain_text = [("host", "127.0.0.1:8080"), ("content-type", "text/plain")];
    let plain = plant(&api, &plain_text).await;
    assert_eq!(plain.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(plain.body["error"]["code"], "unsupported_media_type");
    let cross_site_fetch = [
        ("host", "localhost:8080"),
        ("sec-fetch-site", "cross-site"),
        ("content-type", "application/yaml"),
    ];
    let fetched = plant(&api, &cross_site_fetch).await;
    assert_eq!(fetched.status, StatusCode::FORBIDDEN);
    let listed = api.get("/workflows").await;
    assert_eq!(
        listed.body["items"],
        serde_json::json!([]),
        "nothing planted"
    );
    // The same origin (a page this server serves) may.
    let same_origin = [
        ("host", "127.0.0.1:8080"),
        ("origin", "http://127.0.0.1:8080"),
        ("sec-fetch-site", "same-origin"),
        ("content-type", "application/yaml"),
    ];
    let same = plant(&api, &same_origin).await;
    assert_eq!(same.status, StatusCode::CREATED, "{:?}", same.body);
}

#[tokio::test]
async fn starting_or_canceling_cross_site_is_refused() {
    let api = server(None);
    api.register("version: 1\nname: w\nsteps:\n  a: {uses: core.noop}\n")
        .await;
    for (path, body) in [
        ("/workflows/w/executions", "{}"),
        ("/vco/api/workflows/w/executions", "{}"),
        (
            "/executions/0190a2b4-0000-7000-8000-000000000000/cancel",
            "",
        ),
    ] {
        let answer = api
            .call(
                Method::POST,
                path,
                body,
                &[
                    ("host", "localhost:8080"),
                    ("origin", "http://evil.example"),
                    ("content-type", "application/json"),
                ],
            )
            .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
    }
    let executions = api.get("/executions").await;
    assert_eq!(executions.body["items"], serde_json::json!([]));
}

#[tokio::test]
async fn a_foreign_host_name_is_not_answered() {
    // DNS rebinding: attacker.example resolves to 127.0.0.1, the page
    // reads the API with its own name in Host.
    let api = server(None);
    for path in [
        "/executions",
        "/workflows",
        "/healthz",
        "/metrics",
        "/openapi.json",
    ] {
        let answer = api
            .get_with(path, &[("host", "attacker.example:8080")])
            .await;
        assert_eq!(answer.status, StatusCode::MISDIRECTED_REQUEST, "{path}");
        assert_eq!(answer.body["error"]["code"], "unknown_host");
    }
    for ours in ["localhost:8080", "127.0.0.1:8080", "[::1]:8080", "10.0.0.5"] {
        let answer = api.get_with("/executions", &[("host", ours)]).await;
        assert_eq!(answer.status, StatusCode::OK, "{ours}");
    }
    let named = server_with(ServerConfig {
        allowed_hosts: AllowedHosts::new(["shutter.internal".to_owned()]),
        ..defaults()
    });
    let answer = named
        .get_with("/executions", &[("host", "shutter.internal:8080")])
        .await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn registering_a_workflow_is_an_admin_act() {
    // No token at all: registering is refused unless allowed by flag;
    // reading and starting stay open on loopback.
    let open = server_with(defaults());
    let refused = open.post_yaml("/workflows", PLANTED).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["error"]["code"], "admin_required");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--admin-token-file"),
        "{:?}",
        refused.body
    );
    assert_eq!(open.get("/executions").await.status, StatusCode::OK);

    // An admin token: required for registering, and it opens the rest;
    // the client token does not register.
    let guarded = server_with(with_admin("root-secret", Some("client-secret")));
    let yaml = [("content-type", "application/yaml")];
    let as_client = [
        ("content-type", "application/yaml"),
        ("authorization", "Bearer client-secret"),
    ];
    let as_admin = [
        ("content-type", "application/yaml"),
        ("authorization", "Bearer root-secret"),
    ];
    let anonymous = plant(&guarded, &yaml).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let client = plant(&guarded, &as_client).await;
    assert_eq!(client.status, StatusCode::UNAUTHORIZED);
    let admin = plant(&guarded, &as_admin).await;
    assert_eq!(admin.status, StatusCode::CREATED, "{:?}", admin.body);
    for token in ["Bearer client-secret", "Bearer root-secret"] {
        let read = guarded
            .get_with("/workflows", &[("authorization", token)])
            .await;
        assert_eq!(read.status, StatusCode::OK, "{token}");
    }
    let read = guarded.get("/workflows").await;
    assert_eq!(read.status, StatusCode::UNAUTHORIZED);
}

fn assert_shaped(answer: &support::Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{:?}", answer.body);
    assert_eq!(
        answer.headers.get("content-type").unwrap(),
        "application/json"
    );
    assert_eq!(answer.body["error"]["code"], code, "{:?}", answer.body);
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{:?}",
        answer.body
    );
}

#[tokio::test]
async fn every_refusal_has_the_error_shape() {
    let api = server(None);
    api.register("version: 1\nname: w\nsteps:\n  a: {uses: core.noop}\n")
        .await;
    // A GET never changes state: the state-changing routes refuse it.
    let id = "0190a2b4-0000-7000-8000-000000000000";
    let get_cancel = api.get(&format!("/executions/{id}/cancel")).await;
    assert_shaped(
        &get_cancel,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert!(get_cancel.headers.contains_key("allow"));
    let delete = api.call(Method::DELETE, "/workflows", "", &[]).await;
    assert_shaped(
        &delete,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    let long = format!("/executions?workflow={}", "a".repeat(9000));
    assert_shaped(
        &api.get(&long).await,
        StatusCode::URI_TOO_LONG,
        "uri_too_long",
    );
    let huge = format!("{{\"inputs\": {{\"x\": \"{}\"}}}}", "a".repeat(2 << 20));
    let too_large = api.post("/workflows/w/executions", &huge).await;
    assert_shaped(&too_large, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    let query = api.get("/executions?limit=many").await;
    assert_shaped(&query, StatusCode::BAD_REQUEST, "bad_request");
    let events = api.get(&format!("/executions/{id}/events?after=-1")).await;
    assert_shaped(&events, StatusCode::BAD_REQUEST, "bad_request");
    let not_json = api.post_yaml("/workflows/w/executions", "inputs: {}").await;
    assert_shaped(
        &not_json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let body: &Json = &not_json.body;
    assert!(
        body["error"]["message"].as_str().unwrap().contains("json"),
        "{body}"
    );
}

/// A server whose workflows may name module files only inside `dir`.
fn confined_to(dir: &std::path::Path) -> support::TestServer {
    let dir = dir.to_path_buf();
    server_with(ServerConfig {
        access: Access {
            allow_anonymous_admin: true,
            ..Access::default()
        },
        check: Some(std::sync::Arc::new(move |workflow| {
            workflow
                .wasm_modules()
                .into_iter()
                .filter_map(|(path, module)| {
                    let err = shutter_wasm::modules::check_file(
                        module,
                        Some(&dir),
                        shutter_wasm::Unpinned::Refused,
                    )
                    .err()?;
                    Some(shutter_dsl::Diagnostic::error("wasm", err.0).at(&path))
                })
                .collect()
        })),
        ..ServerConfig::default()
    })
}

#[tokio::test]
async fn a_workflow_reaches_only_module_files_in_the_modules_directory() {
    let dir = tempfile::tempdir().unwrap();
    let modules = dir.path().join("modules");
    std::fs::create_dir(&modules).unwrap();
    std::fs::write(dir.path().join("outside.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", modules.join("passwd.wasm")).unwrap();
    let api = confined_to(&modules);
    let passwd_sha = {
        use sha2::Digest;
        let bytes = std::fs::read("/etc/passwd").unwrap();
        sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    for (module, says) in [
        ("/etc/passwd", "outside the modules directory"),
        ("../outside.wasm", "goes up with `..`"),
        ("passwd.wasm", "outside the modules directory"),
        ("/dev/zero", "outside the modules directory"),
        ("absent.wasm", "does not exist"),
    ] {
        let yaml = format!(
            "version: 1\nname: probe\nsteps:\n  a:\n    uses: wasm\n    wasm:\n      module: {module}\n      sha256: {}\n",
            "0".repeat(64)
        );
        let answer = api.post_yaml("/workflows", &yaml).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{module}");
        let detail = &answer.body["error"]["details"][0];
        assert_eq!(detail["line"], 7, "{module}: {detail}");
        let message = detail["message"].as_str().unwrap();
        assert!(message.contains(says), "{module}: {message}");
        assert!(!message.contains(&passwd_sha), "{module}: {message}");
    }
    // Inside the directory but not the pinned module: refused without
    // telling the hash of what is there.
    std::fs::copy("/etc/passwd", modules.join("copy.wasm")).unwrap();
    let yaml = format!(
        "version: 1\nname: probe\nsteps:\n  a:\n    uses: wasm\n    wasm: {{module: copy.wasm, sha256: {}}}\n",
        "0".repeat(64)
    );
    let answer = api.post_yaml("/workflows", &yaml).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = answer.body["error"]["details"][0]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("does not match its pin"), "{message}");
    assert!(!message.contains(&passwd_sha), "{message}");
    // A module under development (`sha256: dev`) runs whatever the file
    // holds: a server refuses it unless its operator allowed it.
    let answer = api
        .post_yaml(
            "/workflows",
            "version: 1\nname: probe\nsteps:\n  a:\n    uses: wasm\n    wasm: {module: copy.wasm, sha256: dev}\n",
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let message = answer.body["error"]["details"][0]["message"]
        .as_str()
        .unwrap();
    assert!(message.contains("--allow-unpinned"), "{message}");
    assert!(message.contains("shutter step pin"), "{message}");
}

#[tokio::test]
async fn logs_come_a_page_at_a_time() {
    let api = server(None);
    api.register(
        "version: 1\nname: chatty\nsteps:\n  say:\n    uses: core.log\n    for_each: ${{ range(30) | list }}\n    with: {message: \"line ${{ item }}\"}\n",
    )
    .await;
    let id = api.start("chatty").await;
    api.finished(&id).await;
    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let page = api
            .get(&format!(
                "/executions/{id}/steps/say/logs?limit=7&after={after}"
            ))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{:?}", page.body);
        let lines = page.body["lines"].as_array().unwrap();
        assert!(lines.len() <= 7);
        seen.extend(
            lines
                .iter()
                .map(|l| l["message"].as_str().unwrap().to_owned()),
        );
        match page.body["next_after"].as_u64() {
            Some(next) => after = next,
            None => break,
        }
    }
    assert_eq!(seen.len(), 30, "{seen:?}");
    let mut sorted = seen.clone();
    sorted.sort_by_key(|m| m[5..].parse::<u32>().unwrap());
    assert_eq!(sorted[0], "line 0");
    let one = api
        .get(&format!("/executions/{id}/steps/say[3]/logs"))
        .await;
    assert_eq!(one.body["lines"].as_array().unwrap().len(), 1);
    assert_eq!(one.body["lines"][0]["message"], "line 3");
    let bad = api
        .get(&format!("/executions/{id}/steps/say/logs?limit=0"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn only_the_latest_versions_of_a_workflow_are_kept() {
    let api = server_with(ServerConfig {
        access: Access {
            allow_anonymous_admin: true,
            ..Access::default()
        },
        max_workflow_versions: 3,
        ..ServerConfig::default()
    });
    // A large workflow registered again and again, each time a new version.
    let padding = "x".repeat(100_000);
    for version in 0..8 {
        api.register(&format!(
            "version: 1\nname: big\ndescription: \"v{version} {padding}\"\nsteps:\n  a: {{uses: core.noop}}\n"
        ))
        .await;
    }
    let detail = api.get("/workflows/big").await;
    assert_eq!(detail.body["versions"], 3, "{}", detail.body["versions"]);
    assert_eq!(detail.body["version_hashes"].as_array().unwrap().len(), 3);
    assert!(
        detail.body["description"]
            .as_str()
            .unwrap()
            .starts_with("v7 "),
        "the newest is served"
    );
}
