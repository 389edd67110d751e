//! End-to-end tests: the `shutter` binary on real files. One test binary,
//! a module per area.

mod api;
mod aws;
mod chaos;
mod cli;
mod client;
mod crash;
mod disk_full;
mod fencing;
mod limits;
mod live;
mod memory;
mod notify;
mod openstack;
mod pin;
mod postgres;
mod run;
mod vmware;
mod wasm;
mod workflows;
