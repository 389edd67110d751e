//! Running a provider's action on a step's behalf: what the
//! platform-agnostic actions (`snapshot`, `restore`) are made of. The
//! provider actions are looked up by name among those registered, so these
//! actions hold no cloud client of their own and an embedder's configured
//! providers (e.g. `shutter_aws::actions_with`) are the ones used.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};
use shutter_core::{Action, ActionContext, ActionEntry, ActionError};

/// Provider actions by name.
#[derive(Debug, Clone)]
pub(crate) struct Delegates(BTreeMap<String, Arc<dyn Action>>);

impl Delegates {
    /// The actions among `registered` named in `names`. A provider missing
    /// from `registered` fails only the steps that need it.
    pub(crate) fn pick(registered: &[ActionEntry], names: &[&str]) -> Self {
        Self(
            registered
                .iter()
                .filter(|(spec, _)| names.contains(&spec.name.as_str()))
                .map(|(spec, action)| (spec.name.clone(), action.clone()))
                .collect(),
        )
    }

    /// Runs the provider action `name` with `params` on the step's behalf
    /// ([`ActionContext::delegate`]): same idempotency key (so a re-run
    /// adopts what an earlier try made), cancellation and secrets; its log
    /// lines and catalog changes are kept ([`ActionContext::absorb`]). Its
    /// errors keep their kind and say which action failed.
    pub(crate) async fn run(
        &self,
        ctx: &ActionContext,
        name: &str,
        params: Json,
    ) -> Result<Json, ActionError> {
        let action = self.0.get(name).ok_or_else(|| {
            ActionError::fatal(format!(
                "`{name}` is not registered in this binary: its provider is not built in"
            ))
        })?;
        let delegate = ctx.delegate(params);
        let result = action.run(&delegate).await;
        ctx.absorb(delegate);
        result.map_err(|err| err.map_message(|message| format!("{name}: {message}")))
    }

    /// [`Delegates::run`] with the dispatcher's `params` and the step's
    /// `options` passed through ([`with_options`]).
    pub(crate) async fn run_with(
        &self,
        ctx: &ActionContext,
        name: &str,
        params: Map<String, Json>,
        options: &Map<String, Json>,
    ) -> Result<Json, ActionError> {
        self.run(ctx, name, with_options(params, options)?).await
    }
}

/// The provider's parameters: what the dispatcher sets, plus `options`
/// passed through. An option may not replace what the target or the step's
/// own parameters decide, so a stray key cannot point the step elsewhere.
pub(crate) fn with_options(
    mut params: Map<String, Json>,
    options: &Map<String, Json>,
) -> Result<Json, ActionError> {
    for (key, value) in options {
        if params.contains_key(key) {
            return Err(ActionError::fatal(format!(
                "`options.{key}` cannot be passed through: the step sets `{key}` itself"
            )));
        }
        params.insert(key.clone(), value.clone());
    }
    Ok(Json::Object(params))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn options_pass_through_but_never_override() {
        let base = json!({"volume_id": "vol-1", "region": "us-east-1"});
        let base = base.as_object().unwrap().clone();
        let options = json!({"endpoint_url": "http://127.0.0.1:5000"});
        let merged = with_options(base.clone(), options.as_object().unwrap()).unwrap();
        assert_eq!(merged["endpoint_url"], "http://127.0.0.1:5000");
        assert_eq!(merged["volume_id"], "vol-1");
        let sneaky = json!({"region": "eu-west-1"});
        let err = with_options(base, sneaky.as_object().unwrap()).unwrap_err();
        assert_eq!(
            err,
            ActionError::fatal(
                "`options.region` cannot be passed through: the step sets `region` itself"
                    .to_owned()
            )
        );
    }
}
