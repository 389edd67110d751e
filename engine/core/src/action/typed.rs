//! Actions written as a method of their parameters' struct: the
//! parameters are read through serde before `run` is called (a wrong type
//! is an error naming the parameter), and what it returns is written as
//! its outputs. The parameters' and the outputs' structs declare
//! themselves in the catalog (`#[action_params("name")]`, with the action's
//! description as the struct's doc comment, and `#[action_outputs]`), so a
//! provider's action is two structs and one async method.
//!
//! ```
//! use std::sync::Arc;
//! use serde::{Deserialize, Serialize};
//! use serde_json::json;
//! use shutter_core::action::{Outcome, Run};
//! use shutter_core::{ActionContext, RecordingSink};
//! use shutter_core::{action_outputs, action_params};
//!
//! /// Greets.
//! #[action_params("demo.greet")]
//! #[derive(Deserialize)]
//! struct Greet {
//!     /// Who to greet.
//!     name: String,
//! }
//!
//! #[action_outputs]
//! #[derive(Serialize)]
//! struct Greeted {
//!     /// The greeting.
//!     text: String,
//! }
//!
//! impl Run<String> for Greet {
//!     type Outputs = Greeted;
//!
//!     async fn run(self, _ctx: &ActionContext, greeting: &String) -> Outcome<Greeted> {
//!         Ok(Greeted { text: format!("{greeting}, {}", self.name) })
//!     }
//! }
//!
//! let (spec, action) = Greet::entry("hello".to_owned());
//! assert_eq!((spec.name.as_str(), spec.description.as_str()), ("demo.greet", "Greets."));
//! assert!(spec.param_named("name").is_some() && spec.has_output("text"));
//! let ctx = ActionContext::standalone(json!({"name": "vm-42"}), Arc::new(RecordingSink::default()));
//! let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let out = runtime.block_on(action.run(&ctx)).unwrap();
//! assert_eq!(out["text"], "hello, vm-42");
//! ```

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::{Action, ActionContext, ActionError};
use crate::catalog::{ActionSpec, Named, Outputs, Params};

/// An action and its catalog entry, as a provider hands them over.
pub type ActionEntry = (ActionSpec, Arc<dyn Action>);

/// What an action's run gives: its outputs, or why not.
pub type Outcome<T> = Result<T, ActionError>;

/// An action as a method of its parameters' struct: `params.run(ctx,
/// state)`, with `S` the provider's state (clients, sessions).
pub trait Run<S: Send + Sync + 'static>: Params + DeserializeOwned + Send + 'static {
    type Outputs: Outputs + Serialize + 'static;

    fn run(
        self,
        ctx: &ActionContext,
        state: &S,
    ) -> impl Future<Output = Outcome<Self::Outputs>> + Send;

    /// The action and its catalog entry: its name and description, these
    /// parameters and its outputs.
    fn entry(state: S) -> ActionEntry
    where
        Self: Named + Sized,
    {
        let mut spec = ActionSpec::new(Self::NAME, Self::DESCRIPTION);
        if Self::READ_ONLY {
            spec = spec.read_only();
        }
        let spec = Self::Outputs::declare(Self::declare(spec));
        let action = ByRun::<S, Self> {
            name: spec.name.clone(),
            state,
            params: PhantomData,
        };
        (spec, Arc::new(action))
    }
}

/// `entry` with the parameters `P` declares added after its own: those
/// every action of a provider takes (a region, a cloud), read by the
/// provider itself.
pub fn with_params<P: Params>((spec, action): ActionEntry) -> ActionEntry {
    (P::declare(spec), action)
}

struct ByRun<S, P> {
    name: String,
    state: S,
    params: PhantomData<fn() -> P>,
}

impl<S, P> fmt::Debug for ByRun<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ByRun")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: Send + Sync + 'static, P: Run<S>> Action for ByRun<S, P> {
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let outputs = ctx.params::<P>()?.run(ctx, &self.state).await?;
        outputs_json(outputs)
    }
}

fn outputs_json(outputs: impl Serialize) -> Result<Json, ActionError> {
    serde_json::to_value(outputs).map_err(|err| ActionError::fatal(format!("outputs: {err}")))
}

/// A boxed future that may move between threads, as actions' are.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A function that runs an action whose entry is already written: the
/// state, the context, the parameters read.
pub type RunFn<S, P, O> = for<'a> fn(&'a S, &'a ActionContext, P) -> BoxFuture<'a, Outcome<O>>;

/// The action that reads its parameters as `P` and calls `run` with
/// `state`, for an entry that already lists its parameters and outputs (the
/// core actions, whose entries the compiler holds).
pub fn declared<S, P, O>(spec: ActionSpec, state: S, run: RunFn<S, P, O>) -> ActionEntry
where
    S: Send + Sync + 'static,
    P: DeserializeOwned + Send + 'static,
    O: Serialize + 'static,
{
    let action = Declared {
        name: spec.name.clone(),
        state,
        run,
    };
    (spec, Arc::new(action))
}

struct Declared<S, P, O> {
    name: String,
    state: S,
    run: RunFn<S, P, O>,
}

impl<S, P, O> fmt::Debug for Declared<S, P, O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Declared")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S, P, O> Action for Declared<S, P, O>
where
    S: Send + Sync + 'static,
    P: DeserializeOwned + Send + 'static,
    O: Serialize + 'static,
{
    async fn run(&self, ctx: &ActionContext) -> Result<Json, ActionError> {
        let params = ctx.params::<P>()?;
        outputs_json((self.run)(&self.state, ctx, params).await?)
    }
}
