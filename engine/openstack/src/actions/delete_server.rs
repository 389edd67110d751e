//! `openstack.server.delete`: the cleanup of a restore test. A server that
//! is already gone counts as deleted, so `finally` steps and re-runs are
//! idempotent; a server Shutter did not boot is refused unless the step
//! says otherwise, so a wrong id in a cleanup never deletes a production
//! server.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use shutter_core::action::{Outcome, Run};
use shutter_core::units::Span;
use shutter_core::{ActionContext, ActionError, LogLevel};
use shutter_core::{action_outputs, action_params};
use shutter_kit::Poll;

use crate::glance::KEY_PROPERTY;
use crate::provider::Provider;
use crate::servers;

/// Deletes a server (Nova DELETE /servers/{id}) and waits until it is gone.
/// A server that no longer exists is not an error (`deleted: false`). Only
/// a server Shutter booted (its metadata carries `shutter_idempotency_key`)
/// is deleted unless `only_made_by_shutter` is false.
#[action_params("openstack.server.delete")]
#[derive(Deserialize)]
pub(super) struct DeleteServer {
    /// The server id.
    server_id: String,
    /// Refuse (fatal) to delete a server whose metadata does not carry
    /// `shutter_idempotency_key`: one `openstack.server.create` did not boot.
    #[param(default = true)]
    only_made_by_shutter: bool,
    /// Refuse a server whose `shutter_idempotency_key` is not this key
    /// (what `restore.delete` passes: the key of the step that booted it),
    /// so a reference to another of Shutter's servers deletes nothing.
    made_by_key: Option<String>,
    /// Wait until Nova no longer knows the server (or shows it DELETED).
    #[param(default = true)]
    wait: bool,
    /// Give up waiting after this long (retryable: the step's retry policy
    /// may wait again).
    #[param(default = "10m")]
    timeout: Option<Span>,
    /// Time between two looks at the server.
    #[param(default = "2s")]
    poll: Option<Span>,
}

#[action_outputs]
#[derive(Serialize)]
pub(super) struct Deleted {
    /// Whether this call deleted it (false: it was already gone).
    deleted: bool,
    /// The server id.
    server_id: String,
}

impl DeleteServer {
    fn poll(&self) -> Poll {
        servers::polling(self.poll, self.timeout, Duration::from_secs(10 * 60))
    }
}

/// Nothing to delete: the outputs say so, and so does the log.
fn gone(ctx: &ActionContext, id: &str) -> Deleted {
    ctx.log(LogLevel::Info, format!("server {id} was already gone"));
    Deleted {
        deleted: false,
        server_id: id.to_owned(),
    }
}

impl Run<Provider> for DeleteServer {
    type Outputs = Deleted;

    async fn run(self, ctx: &ActionContext, provider: &Provider) -> Outcome<Deleted> {
        let session = provider.session(ctx)?;
        let id = self.server_id.as_str();
        if self.only_made_by_shutter || self.made_by_key.is_some() {
            // A server id never names another server later: what is read
            // here is what the delete below deletes.
            let Some(server) = servers::get(&session, id).await? else {
                return Ok(gone(ctx, id));
            };
            if servers::key_of(&server).is_none() {
                let name = server.get("name").and_then(serde_json::Value::as_str);
                return Err(ActionError::fatal(format!(
                    "refusing to delete server {id} (`{}`): Shutter did not boot it (its metadata has no `{KEY_PROPERTY}`); set only_made_by_shutter: false to delete it anyway",
                    name.unwrap_or("?")
                )));
            }
            if let Some(wanted) = &self.made_by_key
                && servers::key_of(&server) != Some(wanted.as_str())
            {
                return Err(ActionError::fatal(format!(
                    "refusing to delete server {id}: the step whose key is {wanted} did not boot it"
                )));
            }
        }
        if !servers::delete(&session, id).await? {
            return Ok(gone(ctx, id));
        }
        ctx.log(LogLevel::Info, format!("deleting server {id}"));
        if self.wait {
            servers::wait_gone(&session, ctx, id, self.poll()).await?;
        }
        Ok(Deleted {
            deleted: true,
            server_id: id.to_owned(),
        })
    }
}
