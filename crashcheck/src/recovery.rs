//! Checking a recovery of many keys (`bench-runner recovery`) against the
//! acknowledged writes, with the [history checker](crate::history).
//!
//! A recovery measurement loads keys, syncs, writes the rest one by one
//! under the measured policy, and is closed or killed; a fresh process
//! then reopens the engine and reports every key's version. Each key is
//! written once, so the history is checked key by key: the same
//! [`check_history`] as every crash trial, run on one key's operations at
//! a time, so a million keys cost a million small checks rather than a
//! million squared.
//!
//! A process kill keeps everything that reached the kernel, so every
//! acknowledged write must survive it whatever the policy: the check holds
//! the engine to `max_lost = 0`.

use std::collections::{BTreeMap, HashMap};

use crate::history::{check_history, Op, Pin};
use crate::workload::value_bytes;

/// What a recovered process read for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// No value.
    Absent,
    /// A well-formed value of this key naming this version.
    Version(u64),
    /// A value that is not any well-formed value of this key.
    Garbage,
}

/// The writes of one recovery measurement: the loaded ones (synced before
/// the measured writes) and the measured ones, acknowledged or not.
#[derive(Debug, Default)]
pub struct RecoveryHistory {
    ops: HashMap<u64, Vec<Op>>,
    acked: u64,
    last_sent: Option<u64>,
}

/// What [`RecoveryHistory::check`] found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryCheck {
    /// Acknowledged writes checked.
    pub acked: u64,
    /// Acknowledged (or synced) writes the recovered state lacks.
    pub lost: u64,
    /// Keys that read a value never written.
    pub corrupt_reads: u64,
    /// Keys written but missing from the reported state.
    pub unreported: u64,
    /// The first broken promise, as a sentence.
    pub violation: Option<String>,
}

impl RecoveryCheck {
    /// Whether the recovered state holds every acknowledged write and
    /// nothing invented.
    pub fn ok(&self) -> bool {
        self.violation.is_none()
            && self.lost == 0
            && self.corrupt_reads == 0
            && self.unreported == 0
    }
}

impl RecoveryHistory {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// `key` was loaded with `version` and synced before the measured
    /// writes: it must survive whatever happens next.
    pub fn loaded(&mut self, key: u64, version: u64) {
        self.ops.entry(key).or_default().push(Op {
            key,
            version: Some(version),
            ack: Some(self.acked),
            pin: Some(Pin::ExplicitSync),
        });
        self.acked += 1;
    }

    /// A measured write of `version` under `key` was sent (not yet
    /// acknowledged).
    pub fn sent(&mut self, key: u64, version: u64) {
        self.ops.entry(key).or_default().push(Op {
            key,
            version: Some(version),
            ack: None,
            pin: None,
        });
        self.last_sent = Some(key);
    }

    /// The last write sent was acknowledged.
    pub fn acknowledged(&mut self) {
        let Some(key) = self.last_sent.take() else {
            return;
        };
        if let Some(op) = self.ops.get_mut(&key).and_then(|ops| ops.last_mut()) {
            op.ack = Some(self.acked);
            self.acked += 1;
        }
    }

    /// Acknowledged writes so far, loaded ones included.
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Checks the recovered `state` (every written key's observation):
    /// every acknowledged write must be there (a process kill loses none).
    pub fn check(&self, state: &HashMap<u64, Observed>) -> RecoveryCheck {
        let mut c = RecoveryCheck {
            acked: self.acked,
            ..RecoveryCheck::default()
        };
        let mut keys: Vec<&u64> = self.ops.keys().collect();
        keys.sort_unstable();
        for &key in keys {
            let Some(observed) = state.get(&key) else {
                c.unreported += 1;
                c.violation
                    .get_or_insert(format!("k{key}: the recovered process did not report it"));
                continue;
            };
            let value = match observed {
                Observed::Absent => None,
                Observed::Version(v) => Some(value_bytes(key, *v, 0)),
                Observed::Garbage => Some(b"?".to_vec()),
            };
            let one = BTreeMap::from([(key, value)]);
            let ops = self.ops.get(&key).map(Vec::as_slice).unwrap_or_default();
            let h = check_history(ops, &one, self.acked, Some(0));
            c.lost += h.lost;
            c.corrupt_reads += h.corrupt_reads;
            if let Some(v) = h.violation {
                c.violation
                    .get_or_insert(v.replace("{policy}", "a process kill"));
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history() -> RecoveryHistory {
        let mut h = RecoveryHistory::new();
        h.loaded(0, 0);
        h.loaded(1, 1);
        for k in 2..5 {
            h.sent(k, 10 + k);
            h.acknowledged();
        }
        h.sent(5, 15);
        h
    }

    #[test]
    fn a_complete_recovery_passes_and_an_unacknowledged_write_may_go() {
        let h = history();
        let mut s: HashMap<u64, Observed> = (0..2).map(|k| (k, Observed::Version(k))).collect();
        s.extend((2..5).map(|k| (k, Observed::Version(10 + k))));
        s.insert(5, Observed::Absent);
        let c = h.check(&s);
        assert!(c.ok(), "{c:?}");
        assert_eq!(c.acked, 5);
        s.insert(5, Observed::Version(15));
        assert!(h.check(&s).ok());
    }

    #[test]
    fn a_lost_acknowledged_write_a_lost_load_and_garbage_are_caught() {
        let h = history();
        let mut s: HashMap<u64, Observed> = (0..2).map(|k| (k, Observed::Version(k))).collect();
        s.extend((2..6).map(|k| (k, Observed::Version(10 + k))));
        s.insert(4, Observed::Absent);
        let c = h.check(&s);
        assert!(!c.ok() && c.lost == 1, "{c:?}");
        assert!(c.violation.as_deref().unwrap_or("").contains("k4"), "{c:?}");
        s.insert(4, Observed::Version(14));
        s.insert(0, Observed::Absent);
        assert_eq!(h.check(&s).lost, 1);
        s.insert(0, Observed::Garbage);
        assert_eq!(h.check(&s).corrupt_reads, 1);
        s.remove(&0);
        assert_eq!(h.check(&s).unreported, 1);
    }
}
