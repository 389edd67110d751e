//! Giving freed memory back to the operating system.
//!
//! An allocator keeps memory a burst freed (2,000 long polls ending left
//! 55 MB in glibc's free lists, measured) and hands it back late or never.
//! A long-running server should return to its baseline after a burst, so
//! the server asks every few seconds, of both allocators in the process:
//! jemalloc, the `shutter` binary's global allocator (Rust's allocations),
//! purges the unused pages of all its arenas, whichever thread freed them;
//! glibc (SQLite's and other C code's allocations, and Rust's in a binary
//! that keeps the system allocator) releases whole free pages from every
//! arena with `malloc_trim(0)`. With nothing to release each costs
//! microseconds.

#![allow(
    unsafe_code,
    reason = "mallctl and malloc_trim are C functions; see SAFETY below"
)]

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often freed memory is given back.
const EVERY: Duration = Duration::from_secs(5);

/// Trims the allocators every [`EVERY`] until `stop`.
pub(crate) async fn run(stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
        let _ = tokio::task::spawn_blocking(trim).await;
    }
}

fn trim() {
    purge_jemalloc();
    trim_glibc();
}

/// `arena.<MALLCTL_ARENAS_ALL>.purge`: every arena's unused dirty pages
/// back to the system. (A binary whose global allocator is not jemalloc
/// has nothing in them.)
fn purge_jemalloc() {
    // MALLCTL_ARENAS_ALL is 4096 (jemalloc's `include/jemalloc/jemalloc.h`).
    const PURGE_ALL: &[u8] = b"arena.4096.purge\0";
    // SAFETY: the name is a NUL-terminated string; this control takes no
    // old or new value, so null pointers and a zero length are what it
    // expects; jemalloc runs it under its own locks, from any thread.
    let failed = unsafe {
        tikv_jemalloc_sys::mallctl(
            PURGE_ALL.as_ptr().cast(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if failed != 0 {
        tracing::debug!("jemalloc's purge failed ({failed})");
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim_glibc() {
    // SAFETY: malloc_trim takes a size and touches only the allocator's own
    // state, under the allocator's locks; it is safe to call from any
    // thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim_glibc() {}
