#![allow(clippy::unwrap_used, reason = "helpers of a test fail it by panicking")]

//! The EC2 actions against moto (the real peer, started once per run):
//! every action, error mapping, adoption after a crash, pagination and
//! waiting (through a proxy that makes moto's snapshots look pending).
//! Tests isolate themselves by region and by unique tags, never by
//! resetting moto under other tests.

mod catalog;
mod chain;
mod errors;
mod images;
mod proxy;
mod snapshots;
mod support;
mod volumes;
mod wait;
