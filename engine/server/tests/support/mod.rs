#![allow(dead_code, reason = "each test binary uses part of the shared support")]

//! A server on a temporary SQLite file, called in process through its router.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::response::Response;
use http_body_util::BodyExt;
use serde_json::Value as Json;
use shutter_core::clock::TokioClock;
use shutter_core::record::Timestamp;
use shutter_core::{ExecutionRecord, ListQuery};
use shutter_runtime::EngineConfig;
use shutter_server::{Access, Server, ServerConfig, Token};
use shutter_store::SqliteStore;
use tokio::task::JoinHandle;
use tower::ServiceExt;

#[allow(missing_debug_implementations, reason = "test helper")]
pub(crate) struct TestServer {
    #[allow(dead_code, reason = "kept alive with the router")]
    pub(crate) server: Server,
    pub(crate) router: Router,
    _dir: tempfile::TempDir,
}

/// A server that lets anyone register workflows (most tests are about
/// other things), guarded by `token` when given.
pub(crate) fn server(token: Option<&str>) -> TestServer {
    server_with(ServerConfig {
        access: Access {
            token: token.and_then(Token::new),
            admin_token: None,
            allow_anonymous_admin: true,
        },
        ..ServerConfig::default()
    })
}

/// A server with `config`, in process.
pub(crate) fn server_with(config: ServerConfig) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let server = server_on(&dir.path().join("api.db"), config, EngineConfig::default());
    let router = server.router();
    TestServer {
        server,
        router,
        _dir: dir,
    }
}

/// A server on `store` (shared with other servers, as nodes share a
/// database) that lets anyone register workflows.
pub(crate) fn server_on_store(store: Arc<dyn shutter_core::Store>) -> TestServer {
    node_on_store(store, ServerConfig::default(), EngineConfig::default())
}

/// As [`server_on_store`], with `config` (its access replaced) and `engine`.
pub(crate) fn node_on_store(
    store: Arc<dyn shutter_core::Store>,
    config: ServerConfig,
    engine: EngineConfig,
) -> TestServer {
    let config = ServerConfig {
        access: Access {
            token: None,
            admin_token: None,
            allow_anonymous_admin: true,
        },
        ..config
    };
    let server = Server::new(
        store,
        shutter_providers::registry(),
        shutter_providers::catalog(),
        engine,
        config,
    );
    let router = server.router();
    TestServer {
        server,
        router,
        _dir: tempfile::tempdir().unwrap(),
    }
}

/// A server on `store` whose clock (tokio's, so a paused test moves it)
/// starts at `wall`, with `yaml`, a scheduled workflow, registered as
/// `nightly.yaml`. Its schedules are not spawned yet.
pub(crate) fn scheduled_server(
    store: Arc<dyn shutter_core::Store>,
    wall: Timestamp,
    yaml: &str,
) -> Server {
    let server = Server::with_clock(
        store,
        shutter_providers::registry(),
        shutter_providers::catalog(),
        EngineConfig::default(),
        ServerConfig::default(),
        Arc::new(TokioClock::starting_at(wall)),
    );
    let source = shutter_dsl::Source::new("nightly.yaml", yaml);
    server
        .state()
        .workflows()
        .register(&source, None, server.catalog(), wall)
        .unwrap();
    server
}

/// The newest `limit` executions of `store`.
pub(crate) async fn newest(store: &dyn shutter_core::Store, limit: usize) -> Vec<ExecutionRecord> {
    store
        .list(&ListQuery {
            limit,
            ..ListQuery::default()
        })
        .await
        .unwrap()
}

/// Asks `on` to start the workflow `per-vm` (of the tests of concurrency
/// keys) for the VM `vm`.
pub(crate) async fn start_per_vm(on: &TestServer, vm: &str) -> Answer {
    on.post(
        "/workflows/per-vm/executions",
        &format!(r#"{{"inputs": {{"vm": "{vm}"}}}}"#),
    )
    .await
}

/// A server on the SQLite file at `path`, with every built-in action.
pub(crate) fn server_on(
    path: &std::path::Path,
    config: ServerConfig,
    engine: EngineConfig,
) -> Server {
    let store = Arc::new(SqliteStore::open(path).unwrap());
    Server::new(
        store,
        shutter_providers::registry(),
        shutter_providers::catalog(),
        engine,
        config,
    )
}

/// A response's body (of [`TestServer::spawn_get`]), read as JSON.
pub(crate) async fn json_body(response: Response) -> Json {
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Json,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

impl TestServer {
    pub(crate) async fn call(
        &self,
        method: Method,
        uri: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if !body.is_empty()
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        {
            request = request.header("content-type", "application/json");
        }
        let response = self
            .router
            .clone()
            .oneshot(request.body(Body::from(body.to_owned())).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Json::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub(crate) async fn get(&self, uri: &str) -> Answer {
        self.call(Method::GET, uri, "", &[]).await
    }

    /// A GET with these headers.
    pub(crate) async fn get_with(&self, uri: &str, headers: &[(&str, &str)]) -> Answer {
        self.call(Method::GET, uri, "", headers).await
    }

    pub(crate) async fn post(&self, uri: &str, body: &str) -> Answer {
        self.call(Method::POST, uri, body, &[]).await
    }

    /// Checks that a GET of `uri` sends a browser on to `location` (303).
    pub(crate) async fn assert_see_other(&self, uri: &str, location: &str) {
        let answer = self.get(uri).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{:?}", answer.body);
        assert_eq!(answer.header("location"), location);
    }

    /// A POST of a YAML body.
    pub(crate) async fn post_yaml(&self, uri: &str, yaml: &str) -> Answer {
        let yaml_type = [("content-type", "application/yaml")];
        self.call(Method::POST, uri, yaml, &yaml_type).await
    }

    /// Starts an execution of `workflow` with `body` (its `inputs`), which
    /// must be created; its id.
    pub(crate) async fn start_with(&self, workflow: &str, body: &str) -> String {
        let started = self
            .post(&format!("/workflows/{workflow}/executions"), body)
            .await;
        assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
        started.body["id"].as_str().unwrap().to_owned()
    }

    /// Starts an execution of `workflow`, which takes no inputs; its id.
    pub(crate) async fn start(&self, workflow: &str) -> String {
        self.start_with(workflow, "{}").await
    }

    /// A GET with these headers, sent on a task of its own: a long poll
    /// that the test ends meanwhile with a change. The task gives the
    /// response, its body unread.
    pub(crate) fn spawn_get(&self, uri: &str, headers: &[(&str, &str)]) -> JoinHandle<Response> {
        let mut request = Request::get(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Body::empty()).unwrap();
        let router = self.router.clone();
        tokio::spawn(async move { router.oneshot(request).await.unwrap() })
    }

    /// Registers a workflow, which must be valid.
    pub(crate) async fn register(&self, yaml: &str) {
        let answer = self.post_yaml("/workflows", yaml).await;
        assert!(answer.status.is_success(), "{:?}", answer.body);
    }

    /// Waits (by long polls) until the execution has ended; its detail.
    pub(crate) async fn finished(&self, id: &str) -> Json {
        for _ in 0..100 {
            let answer = self.get(&format!("/executions/{id}?wait=10s")).await;
            assert_eq!(answer.status, StatusCode::OK, "{:?}", answer.body);
            let state = answer.body["state"].as_str().unwrap().to_owned();
            if ["succeeded", "failed", "canceled"].contains(&state.as_str()) {
                return answer.body;
            }
        }
        panic!("execution {id} did not end");
    }
}
