//! `openstack.server.create`: a server booted from a Glance image (a
//! restore test boots the backup it checks), waited for until `ACTIVE`.
//! The server carries the step's idempotency key in its metadata, so a
//! re-run adopts it instead of booting a second one, and
//! `openstack.server.delete` knows it as Shutter's.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};
use shutter_core::action::{Outcome, Run};
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionError, LogLevel};
use shutter_core::{action_outputs, action_params};
use shutter_kit::Poll;

use crate::glance::KEY_PROPERTY;
use crate::provider::Provider;
use crate::servers;
use crate::session::Session;

/// Boots a server from a Glance image with Nova (POST /servers) and waits
/// until it is ACTIVE; ERROR fails the step with Nova's fault message. The
/// server's metadata carries the step's idempotency key as
/// `shutter_idempotency_key`: a re-run adopts the server a previous try
/// booted (same name, same key), and `openstack.server.delete` deletes
/// only servers that carry it.
#[action_params("openstack.server.create")]
#[derive(Deserialize)]
pub(super) struct CreateServer {
    /// The server name.
    name: String,
    /// The Glance image to boot from.
    image_id: String,
    /// The flavor id (Nova's `flavorRef`).
    flavor: String,
    /// `auto` (Nova gives the server a network of the project, making one
    /// if needed), `none` (no network), or a list of network ids to attach.
    /// `auto` and `none` ask for compute microversion 2.37. Not given:
    /// Nova's choice (the project's only network).
    networks: Option<Json>,
    /// Metadata items to set (values other than strings are stored as
    /// their JSON text).
    metadata: Option<Map<String, Json>>,
    /// Wait until the server is ACTIVE.
    #[param(default = true)]
    wait: bool,
    /// Give up waiting after this long (retryable: the step's retry policy
    /// may wait again, and its next try adopts the server).
    #[param(default = "30m")]
    timeout: Option<Span>,
    /// Time between two looks at the server.
    #[param(default = "2s")]
    poll: Option<Span>,
}

#[action_outputs]
#[derive(Serialize)]
pub(super) struct Booted {
    /// The server id.
    server_id: String,
    /// The server name.
    name: String,
    /// ACTIVE once waited for; BUILD while it boots (`wait: false`).
    status: String,
    /// The image the server was booted from.
    image_id: String,
    /// The server's flavor id.
    flavor: String,
    /// Whether a server from a previous try was adopted.
    adopted: bool,
}

impl CreateServer {
    fn poll(&self) -> Poll {
        servers::polling(self.poll, self.timeout, Duration::from_secs(30 * 60))
    }

    /// The request's `server` object, the step's key in its metadata, and
    /// the microversion it needs. Read before anything is sent, so a wrong
    /// parameter fails the step at once.
    fn request(&self, key: &str) -> Result<(Json, Option<&'static str>), ActionError> {
        let mut metadata = Map::new();
        for (item, value) in self.metadata.iter().flatten() {
            if item == KEY_PROPERTY {
                return Err(ActionError::fatal(format!(
                    "metadata item `{KEY_PROPERTY}` is reserved: Shutter sets it to the step's idempotency key"
                )));
            }
            metadata.insert(item.clone(), super::property_value(value));
        }
        metadata.insert(KEY_PROPERTY.to_owned(), json!(key));
        let mut request = json!({
            "name": self.name,
            "imageRef": self.image_id,
            "flavorRef": self.flavor,
            "metadata": metadata,
        });
        let mut microversion = None;
        if let Some(networks) = &self.networks {
            let (value, needs) = networks_of(networks)?;
            request["networks"] = value;
            microversion = needs;
        }
        Ok((request, microversion))
    }
}

/// The request's `networks` and the microversion it needs: `auto` and
/// `none` exist from 2.37; a list of ids is `[{"uuid": ..}]` in any.
fn networks_of(networks: &Json) -> Result<(Json, Option<&'static str>), ActionError> {
    let wrong = || {
        ActionError::fatal(format!(
            "parameter `networks`: expected `auto`, `none` or a list of network ids, found {networks}"
        ))
    };
    match networks {
        Json::String(choice) if choice == "auto" || choice == "none" => {
            Ok((json!(choice), Some(servers::AUTO_NETWORKS)))
        }
        Json::Array(ids) if !ids.is_empty() => {
            let attached = ids
                .iter()
                .map(|id| match id.as_str() {
                    Some(id) if !id.is_empty() => Ok(json!({ "uuid": id })),
                    _ => Err(wrong()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((Json::Array(attached), None))
        }
        _ => Err(wrong()),
    }
}

impl Run<Provider> for CreateServer {
    type Outputs = Booted;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Booted> {
        let (request, microversion) = self.request(&ctx.idempotency_key)?;
        let session = provider.session(ctx)?;
        let name = self.name.as_str();
        let found = servers::made_by(&session, name, &ctx.idempotency_key).await?;
        // A previous try's server in ERROR will not boot by waiting: it is
        // this step's (it carries the key), so it is deleted, and a new one
        // is booted.
        let (failed, usable): (Vec<Json>, Vec<Json>) = found
            .into_iter()
            .partition(|server| servers::status(server) == "ERROR");
        for server in &failed {
            let id = server.get("id").and_then(Json::as_str).unwrap_or("?");
            discard(
                &session,
                ctx,
                id,
                server,
                "from a previous try of this step",
            )
            .await;
        }
        let adoptable = usable
            .first()
            .and_then(|server| server.get("id"))
            .and_then(Json::as_str);
        let (id, adopted) = match adoptable {
            Some(id) => {
                ctx.log(
                    LogLevel::Info,
                    format!(
                        "adopting server {id} (`{name}`): its metadata carries {KEY_PROPERTY}={}, set by a previous try of this step, so none was booted",
                        ctx.idempotency_key
                    ),
                );
                if let Some(image) = usable.first().and_then(servers::image_of)
                    && image != self.image_id
                {
                    ctx.log(
                        LogLevel::Warn,
                        format!(
                            "server {id} was booted from image {image}, not {}: the step's parameters changed since its previous try",
                            self.image_id
                        ),
                    );
                }
                (id.to_owned(), true)
            }
            None => {
                let id = servers::create(&session, &request, microversion).await?;
                ctx.log(
                    LogLevel::Info,
                    format!(
                        "booting server {id} (`{name}`) from image {} with flavor {}",
                        self.image_id, self.flavor
                    ),
                );
                (id, false)
            }
        };
        let server = if self.wait {
            match servers::wait_active(&session, ctx, &id, self.poll()).await {
                Ok(server) => server,
                Err(err @ ActionError::Fatal { .. }) => {
                    // A server Nova put in ERROR never becomes usable: it
                    // is deleted, so a failed restore leaves nothing behind.
                    if let Ok(Some(server)) = servers::get(&session, &id).await
                        && servers::status(&server) == "ERROR"
                    {
                        discard(&session, ctx, &id, &server, "that this step booted").await;
                    }
                    return Err(err);
                }
                Err(err) => return Err(err),
            }
        } else {
            servers::get(&session, &id).await?.ok_or_else(|| {
                ActionError::fatal(format!("server {id} was deleted right after it was booted"))
            })?
        };
        let text = |field: &str| server.get(field).and_then(Json::as_str).map(str::to_owned);
        Ok(Booted {
            name: text("name").unwrap_or_else(|| self.name.clone()),
            status: servers::status(&server).to_owned(),
            image_id: servers::image_of(&server)
                .map_or_else(|| self.image_id.clone(), str::to_owned),
            flavor: servers::flavor_of(&server).map_or_else(|| self.flavor.clone(), str::to_owned),
            server_id: id,
            adopted,
        })
    }
}

/// Deletes server `id`, in ERROR, saying so; a failure to delete is said
/// too (the step fails or goes on for its own reason either way).
async fn discard(session: &Session, ctx: &ActionContext, id: &str, server: &Json, whose: &str) {
    let fault = servers::fault(server);
    match servers::delete(session, id).await {
        Ok(_) => ctx.log(
            LogLevel::Warn,
            format!("server {id} {whose} is in ERROR ({fault}): deleted"),
        ),
        Err(err) => ctx.log(
            LogLevel::Warn,
            format!(
                "server {id} {whose} is in ERROR ({fault}) and could not be deleted: {}; delete it with openstack.server.delete",
                err.report()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_are_auto_none_or_ids() {
        assert_eq!(
            networks_of(&json!("none")).expect("none"),
            (json!("none"), Some("2.37"))
        );
        assert_eq!(
            networks_of(&json!(["n1", "n2"])).expect("ids"),
            (json!([{"uuid": "n1"}, {"uuid": "n2"}]), None)
        );
        for wrong in [
            json!("public"),
            json!([]),
            json!([""]),
            json!([1]),
            json!({"uuid": "n1"}),
        ] {
            let err = networks_of(&wrong).expect_err("refused");
            assert!(!err.is_retryable());
            assert!(err.message().starts_with("parameter `networks`"), "{err}");
        }
    }

    #[test]
    fn the_key_is_shutters_to_set() {
        let params = json!({
            "name": "restore-test", "image_id": "img", "flavor": "m1.small",
            "metadata": {"purpose": "restore test", "generation": 3},
        });
        let step: CreateServer = shutter_core::parse_params(&params).expect("params");
        let (request, microversion) = step.request("shutter:e:s").expect("request");
        assert_eq!(microversion, None);
        assert_eq!(
            request["metadata"],
            json!({"purpose": "restore test", "generation": "3", "shutter_idempotency_key": "shutter:e:s"})
        );
        assert_eq!(
            (request["imageRef"].as_str(), request["flavorRef"].as_str()),
            (Some("img"), Some("m1.small"))
        );
        assert!(request.get("networks").is_none());
        let forged = json!({
            "name": "x", "image_id": "img", "flavor": "f",
            "metadata": {"shutter_idempotency_key": "someone else's"},
        });
        let step: CreateServer = shutter_core::parse_params(&forged).expect("params");
        assert!(step.request("k").is_err());
    }
}
