//! Per-target limits: named pools of slots, so a backup window of 500 VMs
//! never fires more snapshot tasks at one vCenter (or one Nova region) than
//! it accepts. A step names its pool with `limit:` (a name, or a key
//! computed from an expression); Shutter's config file says how many steps
//! may hold a slot of each pool at once:
//!
//! ```yaml
//! limits:
//!   vcenter-prod: 4        # the pool `vcenter-prod`
//!   "nova:*": 8            # every pool `nova:<anything>`, 8 slots each
//! ```
//!
//! The store keeps the slots (see [`crate::Store::take_slot`]), so a limit
//! holds across every node sharing it.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ids::StepKey;

/// The config file's section.
pub const LIMITS_SECTION: &str = "limits";

/// The pools of the config file's `limits:` section: names, or patterns
/// ending in `*`, with their slot counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct LimitPools(BTreeMap<String, Capacity>);

/// A pool's slot count: at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct Capacity(u32);

impl TryFrom<i64> for Capacity {
    type Error = String;

    fn try_from(value: i64) -> Result<Self, String> {
        match u32::try_from(value) {
            Ok(slots) if slots >= 1 => Ok(Self(slots)),
            _ => Err(format!(
                "a pool holds at least 1 slot (and at most {}), not {value}",
                u32::MAX
            )),
        }
    }
}

impl LimitPools {
    pub fn new(pools: impl IntoIterator<Item = (String, u32)>) -> Self {
        Self(
            pools
                .into_iter()
                .map(|(name, slots)| (name, Capacity(slots.max(1))))
                .collect(),
        )
    }

    /// How many steps may hold a slot of `pool` at once: its own entry,
    /// else the longest pattern (`vcenter:*`) it matches.
    pub fn capacity(&self, pool: &str) -> Option<u32> {
        if let Some(Capacity(slots)) = self.0.get(pool) {
            return Some(*slots);
        }
        self.0
            .iter()
            .filter_map(|(name, Capacity(slots))| {
                let prefix = name.strip_suffix('*')?;
                pool.starts_with(prefix).then_some((prefix.len(), *slots))
            })
            .max_by_key(|(length, _)| *length)
            .map(|(_, slots)| slots)
    }

    /// The pools and patterns configured, for an error that lists them.
    pub fn names(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).collect()
    }
}

/// A step's request for a slot of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRequest {
    pub pool: String,
    /// How many steps may hold a slot of the pool at once (the asking
    /// node's config file says).
    pub capacity: u32,
    /// The step instance asking (`snap[3]`).
    pub step: StepKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_is_found_by_name_else_by_its_longest_pattern() {
        let pools = LimitPools::new([
            ("vcenter-prod".to_owned(), 4),
            ("vcenter:*".to_owned(), 2),
            ("vcenter:lab*".to_owned(), 1),
            ("*".to_owned(), 9),
        ]);
        assert_eq!(pools.capacity("vcenter-prod"), Some(4));
        assert_eq!(pools.capacity("vcenter:east"), Some(2));
        assert_eq!(pools.capacity("vcenter:lab-1"), Some(1));
        assert_eq!(pools.capacity("other"), Some(9));
        let exact = LimitPools::new([("nova".to_owned(), 3)]);
        assert_eq!(exact.capacity("nova-east"), None);
    }

    #[test]
    fn a_pool_of_no_slot_is_refused() {
        let parsed: Result<LimitPools, _> = serde_json::from_value(serde_json::json!({"a": 0}));
        let err = parsed.expect_err("0 slots").to_string();
        assert!(err.contains("at least 1 slot"), "{err}");
        let parsed: LimitPools =
            serde_json::from_value(serde_json::json!({"a": 2})).expect("valid");
        assert_eq!(parsed.capacity("a"), Some(2));
    }
}
