//! When an execution's owner is gone and another engine may take it.

use shutter_core::Owner;
use shutter_core::record::Timestamp;

/// Who holds an execution and until when.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    pub(crate) owner_id: String,
    pub(crate) host: String,
    pub(crate) pid: u32,
    pub(crate) until: Timestamp,
}

/// An owner is gone when its lease expired, or — same host — its process no
/// longer exists (so `shutter resume` after a `kill -9` need not wait for the
/// lease to run out). Linux's `/proc` tells whether a process exists. An
/// expired lease of `me` counts too: an execution this engine gave up (its
/// store was down) is taken back; the caller leaves out those it runs.
pub(crate) fn is_orphaned(lease: Option<&Lease>, me: &Owner, now: Timestamp) -> bool {
    let Some(lease) = lease else {
        return true;
    };
    if lease.until < now {
        return true;
    }
    lease.owner_id != me.id
        && lease.host == me.host
        && lease.pid != me.pid
        && !process_exists(lease.pid)
}

/// Whether an execution can be claimed by `me` at `now`: it ended (no one
/// runs it), or its owner is gone.
pub(crate) fn is_claimable(
    terminal: bool,
    lease: Option<&Lease>,
    me: &Owner,
    now: Timestamp,
) -> bool {
    terminal || is_orphaned(lease, me, now)
}

/// Whether process `pid` still runs. A process killed but not yet reaped
/// by its parent (a zombie, `Z`; `X` while it goes) keeps its `/proc`
/// entry and holds nothing: under an init that reaps slowly, `shutter
/// resume` right after `kill -9` found the execution still held.
fn process_exists(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // `pid (command) state ...`: the command may hold spaces and
        // parentheses, so the state is read after the last `)`.
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next()),
            Some("Z" | "X")
        ),
        Err(_) => std::path::Path::new(&format!("/proc/{pid}")).exists(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, Utc};

    fn me() -> Owner {
        Owner {
            id: "me".into(),
            host: "h".into(),
            pid: std::process::id(),
        }
    }

    /// A lease held by engine `other` as process `pid` on `host`.
    fn of_other(host: &str, pid: u32, until: Timestamp) -> Lease {
        Lease {
            owner_id: "other".into(),
            host: host.into(),
            pid,
            until,
        }
    }

    #[test]
    fn a_live_owner_with_a_valid_lease_keeps_it() {
        let now = Utc::now();
        let lease = of_other("h", 1, now + Duration::seconds(30));
        // pid 1 exists on Linux.
        assert!(!is_orphaned(Some(&lease), &me(), now));
    }

    #[test]
    fn an_expired_lease_or_a_dead_process_frees_it() {
        let now = Utc::now();
        let expired = of_other("elsewhere", 1, now - Duration::seconds(1));
        assert!(is_orphaned(Some(&expired), &me(), now));
        let dead = of_other("h", u32::MAX - 1, now + Duration::seconds(30));
        assert!(is_orphaned(Some(&dead), &me(), now));
        assert!(is_orphaned(None, &me(), now));
    }

    #[test]
    fn a_killed_process_not_yet_reaped_holds_nothing() {
        // Our own child, killed and not waited for: a zombie until we do.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        let lease = of_other("h", pid, Utc::now() + Duration::seconds(30));
        assert!(!is_orphaned(Some(&lease), &me(), Utc::now()));
        child.kill().unwrap();
        let zombie = (0..500).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| stat.contains(") Z"))
        });
        assert!(zombie, "the killed child never became a zombie");
        assert!(is_orphaned(Some(&lease), &me(), Utc::now()));
        child.wait().unwrap();
    }
}
