//! Parameters and outputs declared once, by the structs an action reads and
//! returns: `#[action_params]` and `#[action_outputs]` implement [`Params`]
//! and [`Outputs`] from the fields and their doc comments, and
//! [`crate::action::typed`] adds them to the action's catalog entry.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use shutter_core::catalog::{Outputs, Params};
//! use shutter_core::{ActionSpec, ParamType, action_outputs, action_params};
//!
//! #[action_params]
//! #[derive(Deserialize)]
//! struct Greet {
//!     /// Who to greet.
//!     name: String,
//!     /// How often.
//!     #[param(default = 1)]
//!     times: u32,
//!     /// A word before the name.
//!     greeting: Option<String>,
//! }
//!
//! #[action_outputs]
//! #[derive(Serialize)]
//! struct Greeted {
//!     /// The greeting.
//!     text: String,
//! }
//!
//! let spec = Greeted::declare(Greet::declare(ActionSpec::new("demo.greet", "Greets.")));
//! let times = spec.param_named("times").expect("declared");
//! assert!(!times.required);
//! assert_eq!(times.ty, ParamType::Integer);
//! assert_eq!(times.default, Some(serde_json::json!(1)));
//! assert!(spec.param_named("name").expect("declared").required);
//! assert!(spec.has_output("text"));
//!
//! // The serde side follows the same declaration.
//! let read: Greet = serde_json::from_value(serde_json::json!({"name": "vm-1", "greeting": ""})).unwrap();
//! assert_eq!((read.times, read.greeting), (1, None));
//! // An expression that gave nothing is the default too; a wrong type is not.
//! let read: Greet = serde_json::from_value(serde_json::json!({"name": "vm-1", "times": null})).unwrap();
//! assert_eq!(read.times, 1);
//! assert!(serde_json::from_value::<Greet>(serde_json::json!({"name": "vm-1", "times": "x"})).is_err());
//! assert!(serde_json::from_value::<Greet>(serde_json::json!({"name": ""})).is_err());
//! ```

use std::collections::{BTreeMap, HashMap};

use serde_json::Value as Json;

use super::{ActionSpec, ParamType};
use crate::units::Span;

/// What a Rust type is in the catalog.
pub trait ParamKind {
    const KIND: ParamType;
}

/// Parameters an action reads: adds them to its catalog entry.
pub trait Params {
    fn declare(spec: ActionSpec) -> ActionSpec;
}

/// The action some parameters are of: `#[action_params("name")]`, with
/// the struct's doc comment as the description.
pub trait Named {
    const NAME: &'static str;
    const DESCRIPTION: &'static str;
    /// `#[action_params("name", read_only)]`: the action only reads (a
    /// plan runs it; see [`super::Effect`]).
    const READ_ONLY: bool = false;
}

/// Outputs an action returns: adds them to its catalog entry.
pub trait Outputs {
    fn declare(spec: ActionSpec) -> ActionSpec;
}

/// Untyped parameters or outputs declare nothing: the spec says it all.
impl Params for Json {
    fn declare(spec: ActionSpec) -> ActionSpec {
        spec
    }
}

impl Outputs for Json {
    fn declare(spec: ActionSpec) -> ActionSpec {
        spec
    }
}

macro_rules! kinds {
    ($($kind:ident: $($ty:ty),+;)*) => {
        $($(impl ParamKind for $ty {
            const KIND: ParamType = ParamType::$kind;
        })+)*
    };
}

kinds! {
    String: String, str;
    Boolean: bool;
    Integer: u8, u16, u32, u64, usize, i32, i64;
    Number: f64;
    Duration: Span;
    Any: Json;
}

impl<T: ParamKind + ?Sized> ParamKind for &T {
    const KIND: ParamType = T::KIND;
}

impl<T> ParamKind for Vec<T> {
    const KIND: ParamType = ParamType::Array;
}

impl<K, V> ParamKind for BTreeMap<K, V> {
    const KIND: ParamType = ParamType::Object;
}

impl<K, V, S> ParamKind for HashMap<K, V, S> {
    const KIND: ParamType = ParamType::Object;
}

impl ParamKind for serde_json::Map<String, Json> {
    const KIND: ParamType = ParamType::Object;
}
