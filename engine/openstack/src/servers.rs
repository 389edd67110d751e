//! Nova servers: boot one from an image, read it, find the ones a previous
//! try of a step booted, delete it, and wait until it is `ACTIVE` or gone.
//!
//! A server Shutter boots carries the step's idempotency key in its
//! metadata under the key Shutter's images carry it ([`KEY_PROPERTY`]):
//! a re-run adopts the server, and `openstack.server.delete` refuses, by
//! default, a server without it.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde_json::{Value as Json, json};
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionError};
use shutter_kit::{Poll, Polled, poll_until};

use crate::glance::KEY_PROPERTY;
use crate::session::Session;

/// Largest JSON answer read (a page of server records).
const MAX_ANSWER: usize = 16 << 20;

/// The first compute microversion in which `networks` may be `auto` or
/// `none` (and must be given).
pub(crate) const AUTO_NETWORKS: &str = "2.37";

/// Nova's task state, an extended attribute it shows owners from 2.1 on.
const TASK_STATE: &str = "OS-EXT-STS:task_state";

/// `/servers` followed by `rest` (a server id, `detail`), each one path
/// segment: an id can never reach another path.
fn servers(base: &Url, rest: &[&str]) -> Result<Url, ActionError> {
    let mut segments = vec!["servers"];
    segments.extend_from_slice(rest);
    shutter_kit::join(base, &segments)
}

pub(crate) fn what(session: &Session, action: &str, id: &str) -> String {
    format!("{action} server {id} on cloud `{}`", session.cloud.name)
}

/// The server, or `None` when Nova does not know it (404).
pub(crate) async fn get(session: &Session, id: &str) -> Result<Option<Json>, ActionError> {
    let what = what(session, "get", id);
    let response = session
        .send("compute", &what, |client, base| {
            Ok(client.get(servers(base, &[id])?))
        })
        .await?;
    match response.status() {
        StatusCode::NOT_FOUND => Ok(None),
        status if status.is_success() => {
            let mut body: Json = shutter_kit::json(&what, response, MAX_ANSWER).await?;
            match body.get_mut("server").map(Json::take) {
                Some(server @ Json::Object(_)) => Ok(Some(server)),
                _ => Err(ActionError::fatal(format!(
                    "{what}: the answer has no `server`"
                ))),
            }
        }
        _ => Err(crate::error::status(&what, response).await),
    }
}

/// The servers named `name` whose metadata carries the idempotency key
/// `key` (booted by a previous try of the step) and that are neither
/// deleted nor being deleted. Nova reads the `name` filter as a regular
/// expression: it is sent escaped and anchored ([`exact_name`]), and names
/// are compared again here. One page is read: a name matched exactly does
/// not fill Nova's (1000 servers).
pub(crate) async fn made_by(
    session: &Session,
    name: &str,
    key: &str,
) -> Result<Vec<Json>, ActionError> {
    let what = format!(
        "list servers named `{name}` on cloud `{}`",
        session.cloud.name
    );
    let pattern = exact_name(name);
    let response = session
        .call("compute", &what, |client, base| {
            let url = servers(base, &["detail"])?;
            Ok(client.get(url).query(&[("name", pattern.as_str())]))
        })
        .await?;
    let mut body: Json = shutter_kit::json(&what, response, MAX_ANSWER).await?;
    let Some(Json::Array(found)) = body.get_mut("servers").map(Json::take) else {
        return Err(ActionError::fatal(format!(
            "{what}: the answer has no `servers` list"
        )));
    };
    Ok(found
        .into_iter()
        .filter(|server| {
            server.get("name").and_then(Json::as_str) == Some(name)
                && key_of(server) == Some(key)
                && !matches!(status(server), "DELETED" | "SOFT_DELETED")
                && task_state(server) != Some("deleting")
        })
        .collect())
}

/// `name` as a regular expression that matches it and nothing else:
/// anchored, and every character special to a regular expression escaped
/// with a backslash. Nova hands the filter to its database's regular
/// expressions (and Python's `re` for servers still being scheduled);
/// each of them reads an escaped character as itself.
pub(crate) fn exact_name(name: &str) -> String {
    let mut pattern = String::with_capacity(name.len() + 2);
    pattern.push('^');
    for c in name.chars() {
        if "\\.^$|?*+()[]{}".contains(c) {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('$');
    pattern
}

/// Boots a server: `request` is the body's `server` object (`name`,
/// `imageRef`, `flavorRef`, ...), `microversion` the compute microversion
/// it needs, if any. Returns the new server's id. Nova's answer carries
/// the server's `adminPass`: nothing but the id is kept from it.
pub(crate) async fn create(
    session: &Session,
    request: &Json,
    microversion: Option<&str>,
) -> Result<String, ActionError> {
    let what = format!(
        "boot server `{}` from image {} on cloud `{}`",
        text(request, "name"),
        text(request, "imageRef"),
        session.cloud.name
    );
    let body = json!({ "server": request });
    let response = session
        .call("compute", &what, |client, base| {
            let request = client.post(servers(base, &[])?).json(&body);
            Ok(match microversion {
                Some(version) => crate::nova::with_microversion(request, version),
                None => request,
            })
        })
        .await?;
    let answer: Json = shutter_kit::json(&what, response, MAX_ANSWER).await?;
    nested_text(&answer, "server", "id")
        .map(str::to_owned)
        .ok_or_else(|| {
            ActionError::fatal(format!(
                "{what}: Nova accepted the request but named no server"
            ))
        })
}

fn text<'a>(json: &'a Json, field: &str) -> &'a str {
    json.get(field).and_then(Json::as_str).unwrap_or("")
}

/// `json[outer][inner]` as text, when Nova gives a non-empty one.
fn nested_text<'a>(json: &'a Json, outer: &str, inner: &str) -> Option<&'a str> {
    json.get(outer)
        .and_then(|value| value.get(inner))
        .and_then(Json::as_str)
        .filter(|text| !text.is_empty())
}

/// Deletes the server; `false` when it was already gone.
pub(crate) async fn delete(session: &Session, id: &str) -> Result<bool, ActionError> {
    let what = what(session, "delete", id);
    let response = session
        .send("compute", &what, |client, base| {
            Ok(client.delete(servers(base, &[id])?))
        })
        .await?;
    match response.status() {
        status if status.is_success() => Ok(true),
        StatusCode::NOT_FOUND => Ok(false),
        _ => Err(crate::error::status(&what, response).await),
    }
}

/// The server's status (`BUILD`, `ACTIVE`, `ERROR`, ...), `UNKNOWN` when
/// Nova gives none.
pub(crate) fn status(server: &Json) -> &str {
    server
        .get("status")
        .and_then(Json::as_str)
        .unwrap_or("UNKNOWN")
}

/// The idempotency key in the server's metadata: the key of the step that
/// booted it, when Shutter did.
pub(crate) fn key_of(server: &Json) -> Option<&str> {
    nested_text(server, "metadata", KEY_PROPERTY)
}

/// The id of the image the server was booted from (none for a server
/// booted from a volume: Nova gives `""`).
pub(crate) fn image_of(server: &Json) -> Option<&str> {
    nested_text(server, "image", "id")
}

/// The server's flavor id (before microversion 2.47 Nova gives it).
pub(crate) fn flavor_of(server: &Json) -> Option<&str> {
    nested_text(server, "flavor", "id")
}

/// Why Nova put the server in `ERROR`: its `fault.message`.
pub(crate) fn fault(server: &Json) -> &str {
    nested_text(server, "fault", "message").unwrap_or("Nova gave no fault message")
}

fn task_state(server: &Json) -> Option<&str> {
    server.get(TASK_STATE).and_then(Json::as_str)
}

/// The status with the task Nova is busy with, if any (`BUILD, spawning`).
fn describe(server: &Json) -> String {
    match task_state(server) {
        Some(task) => format!("{}, {task}", status(server)),
        None => status(server).to_owned(),
    }
}

/// How a wait for a server (or an image) polls: every `every` (neither
/// Nova nor Glance says how far along it is, so there is nothing to grow
/// the pause by), for at most `timeout`.
pub(crate) fn every(every: Duration, timeout: Duration) -> Poll {
    Poll {
        first: every,
        growth: 1.0,
        cap: every,
        deadline: timeout,
    }
}

/// [`every`] as a server action's `poll` (default 2 s) and `timeout`
/// (default `default_timeout`) parameters ask.
pub(crate) fn polling(
    poll: Option<Span>,
    timeout: Option<Span>,
    default_timeout: Duration,
) -> Poll {
    every(
        poll.map_or(Duration::from_secs(2), |span| span.0),
        timeout.map_or(default_timeout, |span| span.0),
    )
}

/// Whether `now` differs from the last status reported (then kept): a
/// wait for a server or an image reports each status once.
pub(crate) fn changed(last: &Mutex<String>, now: &str) -> bool {
    let mut last = last
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let changed = *last != now;
    if changed {
        now.clone_into(&mut *last);
    }
    changed
}

/// Polls the server until it is `ACTIVE`; `ERROR` fails at once with
/// Nova's fault, and so does a server deleted while waiting for it.
pub(crate) async fn wait_active(
    session: &Session,
    ctx: &ActionContext,
    id: &str,
    poll: Poll,
) -> Result<Json, ActionError> {
    let last = Mutex::new(String::new());
    poll_until(&ctx.cancel, &format!("server {id}"), poll, || async {
        let Some(server) = get(session, id).await? else {
            return Err(ActionError::fatal(format!(
                "server {id} was deleted while waiting for it to become ACTIVE"
            )));
        };
        let state = status(&server);
        if state == "ERROR" {
            return Err(ActionError::fatal(format!(
                "server {id} went to ERROR: {}",
                fault(&server)
            )));
        }
        if matches!(state, "DELETED" | "SOFT_DELETED") {
            return Err(ActionError::fatal(format!(
                "server {id} was deleted while waiting for it to become ACTIVE"
            )));
        }
        if state == "ACTIVE" {
            ctx.progress(100, format!("server {id} is ACTIVE"));
            return Ok(Polled::Done(server));
        }
        let now = describe(&server);
        if changed(&last, &now) {
            // Some drivers report how far a boot is; most say nothing.
            let percent = server
                .get("progress")
                .and_then(Json::as_u64)
                .and_then(|p| u8::try_from(p.min(99)).ok())
                .unwrap_or(50);
            ctx.progress(percent, format!("server {id} is {now}"));
            ctx.flush().await?;
        }
        Ok(Polled::Waiting(format!("server {id} is {now}")))
    })
    .await
}

/// Polls a server being deleted until Nova no longer knows it (404) or
/// shows it `DELETED` or `SOFT_DELETED` (deleted, reclaimed later). A
/// server back in `ERROR` with no task left means the deletion failed on
/// its host: that fails at once with Nova's fault.
pub(crate) async fn wait_gone(
    session: &Session,
    ctx: &ActionContext,
    id: &str,
    poll: Poll,
) -> Result<(), ActionError> {
    let last = Mutex::new(String::new());
    let what = format!("deleting server {id}");
    poll_until(&ctx.cancel, &what, poll, || async {
        let Some(server) = get(session, id).await? else {
            ctx.progress(100, format!("server {id} is gone"));
            return Ok(Polled::Done(()));
        };
        let state = status(&server);
        if matches!(state, "DELETED" | "SOFT_DELETED") {
            ctx.progress(100, format!("server {id} is {state}"));
            return Ok(Polled::Done(()));
        }
        // Only when Nova shows the task state: no task is then a fact, not
        // an attribute the cloud's policy hides.
        if state == "ERROR" && server.get(TASK_STATE).is_some_and(Json::is_null) {
            return Err(ActionError::fatal(format!(
                "deleting server {id} failed: it is in ERROR with no task left: {}",
                fault(&server)
            )));
        }
        let now = describe(&server);
        if changed(&last, &now) {
            ctx.progress(50, format!("server {id} is {now}"));
            ctx.flush().await?;
        }
        Ok(Polled::Waiting(format!("server {id} is {now}")))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_matched_exactly() {
        assert_eq!(exact_name("web-01"), "^web-01$");
        assert_eq!(
            exact_name(r"restore (db.1)+[a]|{2}^$?*\"),
            r"^restore \(db\.1\)\+\[a\]\|\{2\}\^\$\?\*\\$"
        );
    }

    #[test]
    fn what_a_server_record_says() {
        let server = json!({
            "id": "s1", "status": "ERROR", "OS-EXT-STS:task_state": null,
            "image": {"id": "img"}, "flavor": {"id": "m1.small"},
            "metadata": {"shutter_idempotency_key": "shutter:e:s"},
            "fault": {"code": 500, "message": "No valid host was found."},
        });
        assert_eq!(status(&server), "ERROR");
        assert_eq!(key_of(&server), Some("shutter:e:s"));
        assert_eq!(image_of(&server), Some("img"));
        assert_eq!(flavor_of(&server), Some("m1.small"));
        assert_eq!(fault(&server), "No valid host was found.");
        assert_eq!(describe(&server), "ERROR");
        // Booted from a volume, made by someone else, no fault given.
        let other = json!({"status": "BUILD", "OS-EXT-STS:task_state": "spawning", "image": "", "metadata": {}});
        assert_eq!((image_of(&other), key_of(&other)), (None, None));
        assert_eq!(fault(&other), "Nova gave no fault message");
        assert_eq!(describe(&other), "BUILD, spawning");
    }

    #[test]
    fn ids_stay_one_segment() {
        let base = Url::parse("http://nova:8774/v2.1/project").expect("a URL");
        assert_eq!(
            servers(&base, &["a/../b?x"]).expect("a URL").as_str(),
            "http://nova:8774/v2.1/project/servers/a%2F..%2Fb%3Fx"
        );
        assert!(servers(&base, &[".."]).is_err());
    }
}
