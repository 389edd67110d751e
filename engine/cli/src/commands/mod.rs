//! One module per subcommand.

pub(crate) mod actions;
pub(crate) mod backups;
pub(crate) mod executions;
pub(crate) mod graph;
pub(crate) mod plan;
pub(crate) mod resume;
pub(crate) mod run;
pub(crate) mod schema;
pub(crate) mod serve;
pub(crate) mod start;
pub(crate) mod step;
pub(crate) mod step_new;
pub(crate) mod step_pin;
pub(crate) mod validate;
pub(crate) mod workflows;
