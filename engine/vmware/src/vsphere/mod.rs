//! vSphere over SOAP (vim25): a small typed client, the snapshot actions
//! and the restore actions (revert, clone, destroy).

pub(crate) mod actions;
mod catalog;
pub mod client;
pub mod connection;
pub mod error;
pub mod moref;
pub mod properties;
pub mod request;
pub mod restore;
mod restore_actions;
pub mod session;
pub mod snapshot;
pub mod task;
pub mod vm;
pub mod xml;
