//! The steps of an exhaustive workload ([`Step`]) and every workload of a
//! given depth made of them ([`workloads`]).

use std::fmt;

/// One step of an exhaustive workload (keys 0 and 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A new version of the key: a new key or an overwrite.
    Put(u64),
    /// A delete of the key (written or not).
    Delete(u64),
    /// An explicit `Engine::sync`.
    Sync,
    /// `Engine::maintain`: the engine's flush, compaction, merge,
    /// checkpoint or rotation, now.
    Maintain,
    /// `Engine::close`, then the engine's `open` on the same files.
    Reopen,
    /// A put of key 0, and a put of key 1 by a second writer that arrives
    /// while the first one's sync runs (or after it, where none syncs).
    RacingPuts,
}

impl Step {
    /// Every step, in enumeration order.
    pub const ALL: [Step; 8] = [
        Step::Put(0),
        Step::Put(1),
        Step::Delete(0),
        Step::Delete(1),
        Step::Sync,
        Step::Maintain,
        Step::Reopen,
        Step::RacingPuts,
    ];
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Put(k) => write!(f, "put k{k}"),
            Step::Delete(k) => write!(f, "delete k{k}"),
            Step::Sync => f.write_str("sync"),
            Step::Maintain => f.write_str("maintain"),
            Step::Reopen => f.write_str("reopen"),
            Step::RacingPuts => f.write_str("put k0 racing put k1"),
        }
    }
}

/// Every workload of exactly `depth` steps (shorter ones are prefixes of
/// these: see the module doc), in a fixed order.
pub fn workloads(depth: usize) -> Vec<Vec<Step>> {
    let mut out: Vec<Vec<Step>> = vec![Vec::new()];
    for _ in 0..depth {
        out = out
            .into_iter()
            .flat_map(|w| {
                Step::ALL.iter().map(move |s| {
                    let mut w = w.clone();
                    w.push(*s);
                    w
                })
            })
            .collect();
    }
    out
}
