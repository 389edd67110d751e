//! Actions written as one typed function, `run(state, ctx, params)`: the
//! parameters are read through serde before it is called (a wrong type is
//! an error naming the parameter), so a provider's action is its catalog
//! entry, its parameters' struct and one async fn — no struct, no trait
//! impl of its own.
//!
//! ```
//! use std::sync::Arc;
//! use serde::Deserialize;
//! use serde_json::{Value as Json, json};
//! use shutter_core::action::typed;
//! use shutter_core::{ActionContext, ActionError, ActionSpec, ParamType, RecordingSink};
//!
//! #[derive(Deserialize)]
//! struct Params {
//!     name: String,
//! }
//!
//! async fn greet(greeting: &String, _ctx: &ActionContext, params: Params) -> Result<Json, ActionError> {
//!     Ok(json!({"text": format!("{greeting}, {}", params.name)}))
//! }
//!
//! let spec = ActionSpec::new("demo.greet", "Greets.").param("name", ParamType::String, "Who.");
//! let (_, action) = typed(spec, "hello".to_owned(), |state, ctx, params| Box::pin(greet(state, ctx, params)));
//! let ctx = ActionContext::standalone(json!({"name": "vm-42"}), Arc::new(RecordingSink::default()));
//! let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let out = runtime.block_on(action.run(&ctx)).unwrap();
//! assert_eq!(out["text"], "hello, vm-42");
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::{Action, ActionContext, ActionError};
use crate::catalog::ActionSpec;

/// A boxed future that may move between threads, as actions' are.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What runs a typed action: the provider's state, the context, the
/// parameters read.
pub type Run<S, P> =
    for<'a> fn(&'a S, &'a ActionContext, P) -> BoxFuture<'a, Result<Json, ActionError>>;

/// The catalog entry `spec` and the action that reads its parameters as
/// `P` and calls `run` with `state`.
pub fn typed<S, P>(spec: ActionSpec, state: S, run: Run<S, P>) -> (ActionSpec, Arc<dyn Action>)
where
    S: Send + Sync + 'static,
    P: DeserializeOwned + Send + 'static,
{
    let action = Typed {
        name: spec.name.clone(),
        state,
        run,
    };
    (spec, Arc::new(action))
}

struct Typed<S, P> {
    name: String,
    state: S,
    run: Run<S, P>,
}

impl<S, P> fmt::Debug for Typed<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Typed")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S, P> Action for Typed<S, P>
where
    S: Send + Sync + 'static,
    P: DeserializeOwned + Send + 'static,
{
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let params = ctx.params::<P>()?;
        (self.run)(&self.state, ctx, params).await
    }
}
