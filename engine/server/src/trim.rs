//! Giving freed memory back to the operating system.
//!
//! glibc's allocator keeps memory a burst freed (2,000 long polls ending
//! left 55 MB in its free lists, measured) and hands it back only from the
//! top of the heap. A long-running server should return to its baseline
//! after a burst, so the server asks it to let go every few seconds:
//! `malloc_trim(0)` releases whole free pages from every arena; with
//! nothing to release it costs microseconds.

#![allow(
    unsafe_code,
    reason = "malloc_trim is a C function of glibc; see SAFETY below"
)]

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How often freed memory is given back.
const EVERY: Duration = Duration::from_secs(5);

/// Trims the allocator every [`EVERY`] until `stop`.
pub(crate) async fn run(stop: CancellationToken) {
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
        let _ = tokio::task::spawn_blocking(trim).await;
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim takes a size and touches only the allocator's own
    // state, under the allocator's locks; it is safe to call from any
    // thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
