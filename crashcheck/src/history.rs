//! The history checker: matches each key's state after recovery to the
//! operation that explains it, and counts what was lost or invented.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use engines::Engine;

use crate::workload::{key_bytes, parse_value};

/// Why an operation must survive whatever the policy's own promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pin {
    /// A later `Engine::sync` returned `Ok` before the crash.
    ExplicitSync,
    /// A previous recovery returned this state (it was durable then).
    Recovered,
}

/// Starts a new epoch from the state a recovery returned: earlier
/// operations stay known (their values are not corrupt reads) but promise
/// nothing more; the recovered state itself must survive the next crash
/// under every policy that promises durability (`promises_durability`:
/// anything but `none`).
pub(crate) fn rebase(
    ops: &mut Vec<Op>,
    state: &BTreeMap<u64, Option<Vec<u8>>>,
    promises_durability: bool,
) {
    for op in ops.iter_mut() {
        op.ack = None;
        op.pin = None;
    }
    let pin = promises_durability.then_some(Pin::Recovered);
    for (k, v) in state {
        ops.push(Op {
            key: *k,
            version: v.as_ref().and_then(|v| parse_value(*k, v)),
            ack: None,
            pin,
        });
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Op {
    pub(crate) key: u64,
    /// `None` for a delete.
    pub(crate) version: Option<u64>,
    /// Position among acknowledged writes (0-based), if acknowledged.
    pub(crate) ack: Option<u64>,
    /// Set when the operation must survive regardless of `ack`.
    pub(crate) pin: Option<Pin>,
}

/// What [`check_history`] found.
#[derive(Debug, Default)]
pub(crate) struct HistoryCheck {
    pub(crate) lost: u64,
    pub(crate) corrupt_reads: u64,
    pub(crate) resurrected: u64,
    pub(crate) violation: Option<String>,
    pub(crate) trace: Vec<String>,
}

/// Matches each key's observed state to the latest operation that explains
/// it; every acknowledged or pinned operation after that one was lost.
pub(crate) fn check_history(
    ops: &[Op],
    state: &BTreeMap<u64, Option<Vec<u8>>>,
    acked: u64,
    max_lost: Option<u64>,
) -> HistoryCheck {
    let mut c = HistoryCheck::default();
    for (k, observed) in state {
        let key_ops: Vec<(usize, &Op)> = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.key == *k)
            .collect();
        let candidate: Option<isize> = match observed {
            Some(v) => parse_value(*k, v).and_then(|ver| {
                key_ops
                    .iter()
                    .rev()
                    .find(|(_, o)| o.version == Some(ver))
                    .map(|(i, _)| *i as isize)
            }),
            None => Some(
                key_ops
                    .iter()
                    .filter(|(_, o)| o.version.is_none())
                    .map(|(i, _)| *i as isize)
                    .max()
                    .unwrap_or(-1),
            ),
        };
        let Some(cand) = candidate else {
            c.corrupt_reads += 1;
            c.trace.push(format!(
                "k{k}: read a value never written: {:?}",
                observed
                    .as_ref()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            ));
            c.violation
                .get_or_insert(format!("k{k}: read a value never written"));
            continue;
        };
        for (i, o) in key_ops.iter().filter(|(i, _)| (*i as isize) > cand) {
            if o.ack.is_none() && o.pin.is_none() {
                continue;
            }
            c.lost += 1;
            if o.version.is_none() && observed.is_some() {
                c.resurrected += 1;
            }
            let seen = if cand < 0 {
                "nothing".to_string()
            } else {
                format!("op #{cand}")
            };
            let what = match o.version {
                Some(v) => format!("put v{v}"),
                None => "delete".to_string(),
            };
            let ack = o.ack.map(|a| format!(" ack #{a}")).unwrap_or_default();
            c.trace
                .push(format!("k{k}: op #{i} ({what}{ack}) lost; observed {seen}"));
            let broken = match (o.pin, o.ack, max_lost) {
                (Some(Pin::ExplicitSync), _, _) => Some("it was acknowledged before a successful Engine::sync".to_string()),
                (Some(Pin::Recovered), _, _) => Some("a previous recovery had returned it".to_string()),
                (None, Some(_), None) => None,
                (None, Some(a), Some(n)) => (a + n < acked)
                    .then(|| format!("{{policy}} promises at most the last {n} acknowledged writes lost, this was ack #{a} of {acked}")),
                (None, None, _) => None,
            };
            if let Some(why) = broken {
                c.violation
                    .get_or_insert(format!("k{k}: {what}{ack} lost, but {why}"));
            }
        }
    }
    c
}

/// For engines with range scans: a full scan must return exactly the live
/// keys `get` returned, with the same values.
pub(crate) fn scan_disagrees(
    engine: &dyn Engine,
    state: &BTreeMap<u64, Option<Vec<u8>>>,
) -> Option<String> {
    if !engine.capabilities().range_scans || !engine.capabilities().point_reads {
        return None;
    }
    let scanned = match catch_unwind(AssertUnwindSafe(|| engine.scan(b"", None, usize::MAX))) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Some(format!("scan failed: {e}")),
        Err(_) => return Some("scan panicked".into()),
    };
    let want: Vec<(Vec<u8>, Vec<u8>)> = state
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (key_bytes(*k), v.clone())))
        .collect();
    if scanned != want {
        let got: Vec<String> = scanned
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        let exp: Vec<String> = want
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        return Some(format!(
            "scan returned {got:?}, get says {exp:?} (or values differ)"
        ));
    }
    None
}
