//! Where Shutter records executions.
//!
//! - [`SqliteStore`]: the embedded default — one file, WAL, created on first
//!   use, versioned migrations; writes go through one writer thread that
//!   commits whatever is waiting in one transaction (group commit), so many
//!   concurrent steps cost few fsyncs; with `Durability::Full` every change
//!   is on disk before the engine acts on it, with `Normal` it survives a
//!   killed process (a power cut may lose the last commits).
//! - [`MemoryStore`]: the same contract in memory, for tests and benchmarks.
//!
//! # Layout
//! - `memory.rs`: the in-memory store.
//! - `sqlite/`: `mod.rs` (the `Store` impl and reads), `writer.rs` (the
//!   batching writer thread), `schema.rs` (migrations), `codec.rs` (rows).
//! - `lease.rs`: when an execution's owner counts as gone.
//! - `catalog.rs`: the backup catalog's part of an append, for every backend.
//! - `slots.rs`: whose turn it is in a limit pool (`limit:`), for every backend.
//! - `occupancy.rs`: who holds which execution and slot, read by SQL backends.

mod catalog;
mod codec;
mod lease;
mod memory;
mod occupancy;
mod postgres;
mod slots;
mod sqlite;

pub use memory::MemoryStore;
pub use postgres::PostgresStore;
pub use sqlite::{Durability, SqliteStore};
