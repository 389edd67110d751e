//! One module per subcommand.

pub(crate) mod actions;
pub(crate) mod graph;
pub(crate) mod schema;
pub(crate) mod validate;
