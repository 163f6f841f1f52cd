//! What a storage engine can serve: which operations ([`Capabilities`]) and
//! the largest key ([`MAX_KEY_LEN`]).
//!
//! Engines declare these and workloads check against them; this crate sits
//! below both and depends on nothing, so neither has to depend on the other.

/// Largest key an engine must accept (the record format's limit).
pub const MAX_KEY_LEN: usize = 64 * 1024;

/// Which operations an engine supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// `get` of one key.
    pub point_reads: bool,
    /// `scan` of a key range in key order.
    pub range_scans: bool,
    /// `delete` (writes a tombstone).
    pub deletes: bool,
    /// `replay` of the log of operations in write order.
    pub replay: bool,
}

impl Capabilities {
    /// Human-readable list, e.g. `put,get,delete,scan`.
    pub fn describe(&self) -> String {
        let mut ops = vec!["put"];
        if self.point_reads {
            ops.push("get");
        }
        if self.deletes {
            ops.push("delete");
        }
        if self.range_scans {
            ops.push("scan");
        }
        if self.replay {
            ops.push("replay");
        }
        ops.join(",")
    }
}
