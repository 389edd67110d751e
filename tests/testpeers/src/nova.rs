//! A fake Nova: Nova has no light real peer. It follows the compute API
//! reference (<https://docs.openstack.org/api-ref/compute/>) for what
//! Shutter calls, and does its work in the real Glance it is given:
//!
//! - `POST /servers/{id}/action` `createImage`: 202, the image id in the
//!   body (`{"image_id"}`, microversion 2.45) and in `Location` (before);
//!   the snapshot is made for real: an image record, then the server's disk
//!   ([`DISK`]) uploaded into it, as Nova does. Every server id works here,
//!   booted or not, but those starting with `missing` (404 `itemNotFound`).
//! - `POST /servers`: 202 `{"server": {"id", "links", "adminPass"}}` and a
//!   `Location`. `imageRef` must be a UUID (400, as Nova's schema says)
//!   naming an image of the Glance (400 "Can not find requested image")
//!   that is `active` (400 "Image {id} is not active.", Nova's
//!   `ImageNotActive`); `networks` `auto`/`none` need microversion 2.37,
//!   from which `networks` is required (400 otherwise); metadata values
//!   are strings. Flavors are not checked: any `flavorRef` boots, but
//!   [`NO_VALID_HOST`], which schedules nowhere.
//! - `GET /servers/{id}`: a server is `BUILD` (task `spawning`) on the
//!   first look and `ACTIVE` from the next (flavor [`NO_VALID_HOST`]:
//!   `ERROR`, `vm_state` `error`, with Nova's `fault` `{code, message}`);
//!   404 `itemNotFound` for an id it never booted or has deleted.
//! - `GET /servers/detail?name=`: Nova reads `name` as a regular
//!   expression; this fake reads the part of one Shutter sends: literal text
//!   with `\`-escapes, anchored by `^` and `$` (unanchored: a substring).
//! - `DELETE /servers/{id}`: 204; the next look shows the server with task
//!   `deleting`, then it is gone (404).
//!
//! Servers live in memory, in the fake that booted them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value as Json, json};

/// A flavor no host can take: a server of it goes to `ERROR` as Nova's
/// scheduler leaves it (fault "No valid host was found. ...").
pub const NO_VALID_HOST: &str = "no-valid-host";

/// What a snapshot of any fake server holds.
pub const DISK: &[u8] = b"the disk of a fake nova server, snapshotted for shutter's tests";

#[derive(Clone)]
struct Nova {
    glance: String,
    /// This fake's compute endpoint, for `links`.
    base: String,
    http: reqwest::Client,
    servers: Arc<Mutex<HashMap<String, Server>>>,
}

/// A booted server, as the fake keeps it.
struct Server {
    name: String,
    image: String,
    flavor: String,
    metadata: Map<String, Json>,
    /// Looked at once already: `ACTIVE` from now on.
    looked: bool,
    /// Deleted: shown once more, `deleting`, then gone.
    deleting: bool,
}

impl Nova {
    fn servers(&self) -> MutexGuard<'_, HashMap<String, Server>> {
        self.servers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The server record as Nova shows it (`GET /servers/{id}`).
    fn view(&self, id: &str, server: &Server) -> Json {
        let failed = server.looked && server.flavor == NO_VALID_HOST;
        let (status, vm_state) = match (server.looked, failed) {
            (_, true) => ("ERROR", "error"),
            (true, false) => ("ACTIVE", "active"),
            (false, _) => ("BUILD", "building"),
        };
        let task = if server.deleting {
            Some("deleting")
        } else if server.looked {
            None
        } else {
            Some("spawning")
        };
        let mut view = json!({
            "id": id,
            "name": server.name,
            "status": status,
            "image": {"id": server.image, "links": [{"rel": "bookmark", "href": format!("{}/images/{}", self.base, server.image)}]},
            "flavor": {"id": server.flavor, "links": [{"rel": "bookmark", "href": format!("{}/flavors/{}", self.base, server.flavor)}]},
            "metadata": server.metadata,
            "addresses": {},
            "links": [{"rel": "self", "href": format!("{}/servers/{id}", self.base)}],
            "OS-EXT-STS:vm_state": vm_state,
            "OS-EXT-STS:task_state": task,
        });
        if failed {
            view["fault"] = json!({
                "code": 500,
                "message": "No valid host was found. There are not enough hosts available.",
                "created": "2026-11-30T00:00:00Z",
            });
        }
        view
    }
}

fn error(status: StatusCode, kind: &str, message: &str) -> Response {
    let body = json!({ kind: {"code": status.as_u16(), "message": message} });
    (status, axum::Json(body)).into_response()
}

fn bad_request(message: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "badRequest", message)
}

fn not_found(id: &str) -> Response {
    let message = format!("Instance {id} could not be found.");
    error(StatusCode::NOT_FOUND, "itemNotFound", &message)
}

/// The compute microversion a request asks for (2.1 when none), from
/// `OpenStack-API-Version: compute X.Y` or the older Nova header.
pub fn microversion(headers: &HeaderMap) -> (u32, u32) {
    let text = headers
        .get("openstack-api-version")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("compute "))
        .or_else(|| {
            headers
                .get("x-openstack-nova-api-version")
                .and_then(|v| v.to_str().ok())
        })
        .unwrap_or("2.1");
    let (major, minor) = text.trim().split_once('.').unwrap_or(("2", "1"));
    (major.parse().unwrap_or(2), minor.parse().unwrap_or(1))
}

/// Whether `text` is a UUID in its usual form (Nova's schema checks
/// `imageRef` is one before anything else).
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A new server id, in a UUID's form.
fn new_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    let n = u128::from(NEXT.fetch_add(1, Ordering::Relaxed));
    let hex = format!("{:032x}", (nanos << 16) ^ n);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// Why Nova would refuse `request`'s `networks` at `version`, if it would:
/// `auto` and `none` exist from 2.37, which requires `networks`; a list
/// names networks by `uuid`.
fn networks_refused(request: &Json, version: (u32, u32)) -> Option<String> {
    let at_least_2_37 = version >= (2, 37);
    let networks = request.get("networks");
    let refused = match networks {
        None => at_least_2_37,
        Some(Json::String(choice)) => !(at_least_2_37 && (choice == "auto" || choice == "none")),
        Some(Json::Array(attached)) => !attached
            .iter()
            .all(|network| network.get("uuid").is_some_and(Json::is_string)),
        Some(_) => true,
    };
    refused.then(|| match networks {
        None => {
            "Invalid input for field/attribute server. 'networks' is a required property".to_owned()
        }
        Some(value) => format!("Invalid input for field/attribute networks. Value: {value}."),
    })
}

/// Whether Glance has image `id`, active: `None` when it does, else Nova's
/// answer.
async fn image_refused(nova: &Nova, id: &str) -> Option<Response> {
    if !is_uuid(id) {
        return Some(bad_request(&format!(
            "Invalid input for field/attribute imageRef. Value: {id}. '{id}' is not a 'uuid'"
        )));
    }
    let url = format!("{}/v2/images/{id}", nova.glance);
    let Ok(answer) = nova.http.get(url).send().await else {
        return Some(StatusCode::BAD_GATEWAY.into_response());
    };
    if answer.status() == StatusCode::NOT_FOUND {
        return Some(bad_request("Can not find requested image"));
    }
    if !answer.status().is_success() {
        return Some(StatusCode::BAD_GATEWAY.into_response());
    }
    let Ok(image) = answer.json::<Json>().await else {
        return Some(StatusCode::BAD_GATEWAY.into_response());
    };
    (image["status"] != "active").then(|| bad_request(&format!("Image {id} is not active.")))
}

fn text<'a>(json: &'a Json, field: &str) -> &'a str {
    json.get(field).and_then(Json::as_str).unwrap_or("")
}

async fn boot(
    State(nova): State<Nova>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Json>,
) -> Response {
    let Some(request) = body.get("server") else {
        return bad_request(
            "Invalid input for field/attribute server. 'server' is a required property",
        );
    };
    let (name, image, flavor) = (
        text(request, "name"),
        text(request, "imageRef"),
        text(request, "flavorRef"),
    );
    if name.trim().is_empty() {
        return bad_request("Invalid input for field/attribute name.");
    }
    if flavor.is_empty() {
        return bad_request("Invalid input for field/attribute flavorRef.");
    }
    if let Some(why) = networks_refused(request, microversion(&headers)) {
        return bad_request(&why);
    }
    let metadata = match request.get("metadata") {
        None => Map::new(),
        Some(Json::Object(items)) if items.values().all(Json::is_string) => items.clone(),
        Some(_) => return bad_request("Invalid input for field/attribute metadata."),
    };
    if image.is_empty() {
        return bad_request("Missing imageRef attribute");
    }
    if let Some(refused) = image_refused(&nova, image).await {
        return refused;
    }
    let id = new_id();
    let server = Server {
        name: name.to_owned(),
        image: image.to_owned(),
        flavor: flavor.to_owned(),
        metadata,
        looked: false,
        deleting: false,
    };
    nova.servers().insert(id.clone(), server);
    let link = format!("{}/servers/{id}", nova.base);
    let answer = json!({"server": {
        "id": id,
        "links": [{"rel": "self", "href": link}],
        "adminPass": "fake-nova-admin-pass",
        "OS-DCF:diskConfig": "MANUAL",
        "security_groups": [{"name": "default"}],
    }});
    (
        StatusCode::ACCEPTED,
        [("location", link)],
        axum::Json(answer),
    )
        .into_response()
}

async fn show(State(nova): State<Nova>, Path(id): Path<String>) -> Response {
    let mut servers = nova.servers();
    let Some(server) = servers.get_mut(&id) else {
        return not_found(&id);
    };
    let view = nova.view(&id, server);
    if server.deleting {
        servers.remove(&id);
    } else {
        server.looked = true;
    }
    axum::Json(json!({ "server": view })).into_response()
}

/// Whether `name` matches `pattern`, read as literal text with
/// `\`-escapes, anchored by a leading `^` and a trailing `$`.
fn name_matches(pattern: &str, name: &str) -> bool {
    let (start, pattern) = match pattern.strip_prefix('^') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let mut literal = String::new();
    let mut end = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => literal.extend(chars.next()),
            '$' if chars.peek().is_none() => end = true,
            c => literal.push(c),
        }
    }
    match (start, end) {
        (true, true) => name == literal,
        (true, false) => name.starts_with(&literal),
        (false, true) => name.ends_with(&literal),
        (false, false) => name.contains(&literal),
    }
}

async fn list(State(nova): State<Nova>, Query(query): Query<HashMap<String, String>>) -> Response {
    let servers = nova.servers();
    let found: Vec<Json> = servers
        .iter()
        .filter(|(_, server)| {
            query
                .get("name")
                .is_none_or(|pattern| name_matches(pattern, &server.name))
        })
        .map(|(id, server)| nova.view(id, server))
        .collect();
    axum::Json(json!({ "servers": found })).into_response()
}

async fn remove(State(nova): State<Nova>, Path(id): Path<String>) -> Response {
    match nova.servers().get_mut(&id) {
        Some(server) => {
            server.deleting = true;
            StatusCode::NO_CONTENT.into_response()
        }
        None => not_found(&id),
    }
}

async fn create_image(
    State(nova): State<Nova>,
    Path(server): Path<String>,
    axum::Json(body): axum::Json<Json>,
) -> Response {
    let Some(request) = body.get("createImage") else {
        return bad_request("only createImage is faked");
    };
    if server.starts_with("missing") {
        return not_found(&server);
    }
    let mut image = json!({
        "name": request["name"], "disk_format": "raw", "container_format": "bare",
        "instance_uuid": server, "image_type": "snapshot",
    });
    for (key, value) in request["metadata"].as_object().into_iter().flatten() {
        image[key] = value.clone();
    }
    let created = nova
        .http
        .post(format!("{}/v2/images", nova.glance))
        .json(&image)
        .send()
        .await;
    let Ok(created) = created else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let Ok(created) = created.json::<Json>().await else {
        return StatusCode::BAD_GATEWAY.into_response();
    };
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    // Nova answers at once and uploads the disk afterwards, trying again
    // while Glance is busy (its sqlite answers "database is locked" when
    // tests write to it at once), as Nova would.
    let url = format!("{}/v2/images/{id}/file", nova.glance);
    let http = nova.http.clone();
    tokio::spawn(async move {
        for _ in 0..50 {
            let sent = http
                .put(&url)
                .header("content-type", "application/octet-stream")
                .body(DISK)
                .send()
                .await;
            // Only a busy Glance is worth another try: any other answer
            // (409 once the upload began) will not change.
            match sent {
                Ok(answer) if !answer.status().is_server_error() => return,
                _ => {}
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
    (
        StatusCode::ACCEPTED,
        [("location", format!("{}/images/{id}", nova.glance))],
        axum::Json(json!({"image_id": id})),
    )
        .into_response()
}

/// Starts the fake on 127.0.0.1, on its own thread and runtime (so sync and
/// async tests alike can use it); its compute endpoint (`http://ADDR/v2.1`).
/// Each fake keeps the servers it boots to itself.
pub fn start(glance: &str) -> String {
    let glance = glance.trim_end_matches('/').to_owned();
    let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a free port");
            let addr = listener.local_addr().expect("bound");
            let nova = Nova {
                glance,
                base: format!("http://{addr}/v2.1"),
                http: reqwest::Client::new(),
                servers: Arc::default(),
            };
            let app = Router::new()
                .route("/v2.1/servers", post(boot))
                .route("/v2.1/servers/detail", get(list))
                .route("/v2.1/servers/{id}", get(show).delete(remove))
                .route("/v2.1/servers/{id}/action", post(create_image))
                .with_state(nova);
            tx.send(addr).expect("the test waits");
            let _ = axum::serve(listener, app).await;
        });
    });
    let addr = rx.recv().expect("the fake nova starts");
    format!("http://{addr}/v2.1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_as_nova_would_for_escaped_anchored_patterns() {
        assert!(name_matches(r"^restore\.1\+$", "restore.1+"));
        assert!(!name_matches(r"^restore\.1\+$", "restore.1+x"));
        assert!(!name_matches(r"^restore$", "xrestore"));
        assert!(name_matches("store", "restore-01"));
        assert!(name_matches(r"^a\$$", "a$"));
    }

    #[test]
    fn image_refs_are_uuids_and_ids_look_like_one() {
        assert!(is_uuid("6c1a7c1e-0b4e-4f36-9d0b-2f1e3c4d5a6b"));
        assert!(!is_uuid("../../v2/images"));
        assert!(is_uuid(&new_id()));
        assert_ne!(new_id(), new_id());
    }
}
