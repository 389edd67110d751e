//! Helpers shared by this crate's integration tests.

#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test binary uses a different part of its own private module"
)]

pub mod vro_fake;

use std::sync::Arc;

use serde_json::Value as Json;
use shutter_core::secrets::Secrets;
use shutter_core::{Action, ActionContext, ActionError, Change, RecordingSink};
use shutter_vmware::Env;
use shutter_vmware::vsphere::session::SessionCache;

/// Fixed variables, with Shutter's config file where they say
/// (`SHUTTER_CONFIG`), read as the binary reads it.
pub fn env_with_config(pairs: &[(&str, &str)]) -> Env {
    let vars = shutter_core::Env::from_pairs(pairs);
    let config = shutter_dsl::config_file::YamlConfig::new(
        vars.clone(),
        shutter_vmware::CONFIG_SECTIONS.to_vec(),
    );
    Env::new(vars).with_config(std::sync::Arc::new(config))
}

/// govc's variables of the shared vcsim, as an injected environment.
pub fn vcsim_env() -> Env {
    let peer = shutter_testpeers::peer("vcsim");
    Env::from_map(peer.env.into_iter().collect())
}

/// The message of a fatal failure; the test fails on anything else.
pub fn fatal(result: Result<Json, ActionError>) -> String {
    match result {
        Err(ActionError::Fatal { message, .. }) => message,
        other => panic!("expected a fatal error, got {other:?}"),
    }
}

pub async fn run(sessions: &SessionCache, action: &str, params: Json) -> Result<Json, ActionError> {
    run_ctx(sessions, action, params, |_| {}).await
}

/// The outputs of a run that must succeed; the test fails, naming the
/// action and its parameters, on any error.
pub async fn run_ok(sessions: &SessionCache, action: &str, params: Json) -> Json {
    let asked = params.to_string();
    run(sessions, action, params)
        .await
        .unwrap_or_else(|err| panic!("{action} {asked}: {err:?}"))
}

/// The message of a run that must fail fatally.
pub async fn run_fatal(sessions: &SessionCache, action: &str, params: Json) -> String {
    fatal(run(sessions, action, params).await)
}

/// The provider's action called `name`, on `sessions` in `env`.
fn named(sessions: SessionCache, env: Env, name: &str) -> Arc<dyn Action> {
    shutter_vmware::actions_with(sessions, env)
        .into_iter()
        .find(|(spec, _)| spec.name == name)
        .map(|(_, action)| action)
        .unwrap()
}

/// Runs with a given idempotency key; what the try recorded (logs, the
/// backup catalog) too.
pub async fn run_recorded(
    sessions: &SessionCache,
    action: &str,
    params: Json,
    key: &str,
) -> (Result<Json, ActionError>, Arc<RecordingSink>) {
    let action = named(sessions.clone(), vcsim_env(), action);
    let sink = Arc::new(RecordingSink::default());
    let mut ctx = ActionContext::standalone(params, sink.clone());
    ctx.idempotency_key = key.to_owned();
    let result = action.run(&ctx).await;
    ctx.flush().await.unwrap();
    (result, sink)
}

/// Runs with a given idempotency key, as a retry of one step would.
pub async fn run_keyed(
    sessions: &SessionCache,
    action: &str,
    params: Json,
    key: &str,
) -> Result<Json, ActionError> {
    run_ctx(sessions, action, params, |ctx| {
        ctx.idempotency_key = key.to_owned();
    })
    .await
}

pub async fn run_with_secret(
    sessions: &SessionCache,
    action: &str,
    params: Json,
    (name, value): (&str, &str),
) -> Result<Json, ActionError> {
    run_ctx(sessions, action, params, |ctx| {
        ctx.secrets = Secrets::new([(name.to_owned(), value.to_owned())].into());
    })
    .await
}

async fn run_ctx(
    sessions: &SessionCache,
    action: &str,
    params: Json,
    adjust: impl FnOnce(&mut ActionContext),
) -> Result<Json, ActionError> {
    run_in(vcsim_env(), sessions, action, params, adjust).await
}

/// Runs an action with the engine's environment set to `env`.
pub async fn run_in(
    env: Env,
    sessions: &SessionCache,
    action: &str,
    params: Json,
    adjust: impl FnOnce(&mut ActionContext),
) -> Result<Json, ActionError> {
    let action = named(sessions.clone(), env, action);
    let mut ctx = ActionContext::standalone(params, Arc::new(RecordingSink::default()));
    adjust(&mut ctx);
    action.run(&ctx).await
}

/// Runs a vRO action with `secrets` granted; the context's recorded changes too.
pub async fn run_vro(
    action: &str,
    params: Json,
    secrets: &[(&str, &str)],
) -> (Result<Json, ActionError>, Vec<Change>) {
    run_vro_with(Env::from_map(Default::default()), action, params, secrets).await
}

/// Runs a vRO action with the engine's environment set to `env`.
pub async fn run_vro_in(
    env: Env,
    action: &str,
    params: Json,
) -> (Result<Json, ActionError>, Vec<Change>) {
    run_vro_with(env, action, params, &[]).await
}

async fn run_vro_with(
    env: Env,
    action: &str,
    params: Json,
    secrets: &[(&str, &str)],
) -> (Result<Json, ActionError>, Vec<Change>) {
    let action = named(SessionCache::new(), env, action);
    let recorder = Arc::new(RecordingSink::default());
    let mut ctx = ActionContext::standalone(params, recorder.clone());
    ctx.secrets = Secrets::new(
        secrets
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    let result = action.run(&ctx).await;
    ctx.flush().await.unwrap();
    let changes = recorder.changes();
    (result, changes)
}
