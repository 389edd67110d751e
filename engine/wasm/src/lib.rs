//! Shutter's WebAssembly step host (wasmtime).
//!
//! Two ABIs, told apart by the binary: components of the `shutter:step`
//! world (`wasm-steps/wit/step.wit`) and WASI preview1 commands (JSON on
//! stdin/stdout). Every run gets a fresh store, an epoch deadline (the
//! step's timeout, 30 s by default) that also carries cancellation, a memory
//! cap (64 MiB by default), an output cap (1 MiB), and no files, sockets or
//! environment unless granted; components may call granted hosts over
//! HTTP. Compiled modules are cached in memory
//! (`InstancePre`, pooling allocator) and on disk.
//!
//! # Layout
//! - `host.rs`: the engine, loading (sha256 check, ABI, caches), running.
//! - `command.rs`, `component.rs`: the two ABIs.
//! - `cache.rs`: compiled artifacts on disk; `fetch.rs`: modules by URL;
//!   `modules.rs`: module files, confined to the modules directory.
//! - `limits.rs`: bounds and the deadline/cancel watch; `failure.rs`: every
//!   way a run fails, explained.
//! - `http.rs`: outgoing HTTP for components, only to granted hosts.
//! - `logs.rs`: guest stderr as log lines.
//! - `action.rs`: `uses: wasm` for the engine: the module runner and its actions.

mod abi;
mod action;
mod cache;
mod capped;
pub mod command;
mod component;
mod failure;
pub mod fetch;
mod host;
pub mod http;
pub mod limits;
mod logs;
pub mod modules;

pub use abi::{Abi, detect};
pub use action::{WasmAction, WasmRunner};
pub use failure::Failure;
pub use host::{Grants, Loaded, Outcome, Run, WasmHost};
pub use limits::Limits;
pub use modules::Unpinned;
