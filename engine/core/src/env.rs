//! Where environment variables come from: the process, or a map in tests,
//! so tests never change the environment other tests read.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// A function from a variable's name to its value.
type Lookup = dyn Fn(&str) -> Option<String> + Send + Sync;

/// A lookup of environment variables.
#[derive(Clone)]
pub struct Env(Arc<Lookup>);

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self(Arc::new(|name| std::env::var(name).ok()))
    }

    /// Fixed values, nothing else.
    pub fn from_map(values: HashMap<String, String>) -> Self {
        Self(Arc::new(move |name| values.get(name).cloned()))
    }

    /// Fixed values from pairs, e.g. `Env::from_pairs(&[("GOVC_URL", "vc")])`.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::from_map(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<String> {
        (self.0)(name).filter(|value| !value.is_empty())
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Env(..)")
    }
}
