//! Choosing a cell's ceiling: the best probe row for the cell's sync
//! cadence, record size and writer count.

use engines::{SyncMode, SyncPolicy, SyncPrimitive};
use results::ceilings::PatternId;
use results::ProbeRow;

use super::pattern::primitive_name;

/// The sync cadence a policy asks of the disk: `None` for no sync, else the
/// primitive and the writes per sync (1 for `always` and `group`).
pub(super) fn cadence(policy: &SyncPolicy) -> Option<(SyncPrimitive, u64)> {
    match policy.mode {
        SyncMode::None => None,
        SyncMode::Always | SyncMode::Group => Some((policy.primitive, 1)),
        SyncMode::Batch(n) => Some((policy.primitive, u64::from(n))),
    }
}

/// The probe row that bounds a cell: among the rows of the policy's cadence
/// (no sync, a sync per write for `always` and `group`, every N for
/// `batch:N`) and the writer count nearest the cell's threads (equal if
/// probed), those of the record size nearest `record_bytes`; of these the
/// fastest, whatever its placement (append or overwrite) and layout.
pub fn ceiling_for<'a>(
    rows: &'a [ProbeRow],
    policy: &SyncPolicy,
    record_bytes: u64,
    threads: u32,
) -> Option<&'a ProbeRow> {
    let (prefix_ok, every) = match cadence(policy) {
        None => (None, 0),
        Some((p, n)) => (Some(primitive_name(p)), n),
    };
    let matches_cadence = |r: &&ProbeRow| {
        r.writes_per_sync == every
            && r.pattern != "create+dirsync"
            && match prefix_ok {
                None => !r.pattern.contains('+'),
                Some(prim) => r
                    .pattern
                    .split('+')
                    .nth(1)
                    .is_some_and(|s| s.split('/').next() == Some(prim)),
            }
    };
    let candidates: Vec<&ProbeRow> = rows.iter().filter(matches_cadence).collect();
    let t_of = |r: &ProbeRow| r.threads.unwrap_or(1);
    let t = candidates
        .iter()
        .map(|r| t_of(r))
        .min_by_key(|&t| t.abs_diff(threads))?;
    let size = candidates
        .iter()
        .filter(|r| t_of(r) == t)
        .map(|r| r.record_bytes)
        .min_by_key(|s| s.abs_diff(record_bytes))?;
    candidates
        .into_iter()
        .filter(|r| t_of(r) == t && r.record_bytes == size)
        .max_by(|a, b| a.ops_per_sec.total_cmp(&b.ops_per_sec))
}

/// The probe rows [`cell_ceiling`] takes a cell's ceiling from: the best of
/// its cadence, record size and writer count, and for `group` at several
/// writers also the one-writer row its shared commits multiply.
pub fn ceiling_rows<'a>(
    rows: &'a [ProbeRow],
    policy: &SyncPolicy,
    record_bytes: u64,
    threads: u32,
) -> Vec<&'a ProbeRow> {
    let mut out: Vec<&ProbeRow> = ceiling_for(rows, policy, record_bytes, threads)
        .into_iter()
        .collect();
    if policy.mode == SyncMode::Group && threads > 1 {
        if let Some(one) = ceiling_for(rows, policy, record_bytes, 1) {
            if !out.iter().any(|r| std::ptr::eq(*r, one)) {
                out.push(one);
            }
        }
    }
    out
}

/// The ceiling a cell's efficiency is measured against.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceiling {
    /// Acknowledged writes per second.
    pub ops_per_sec: f64,
    /// How it reads in `ceiling_pattern` (its [`PatternId`]).
    pub pattern: String,
    /// Writers of the probe pattern (`None`: one).
    pub threads: Option<u32>,
}

/// A cell's ceiling: [`ceiling_for`], except for `group` at T > 1 writers,
/// where one sync acknowledges a whole commit group. T writers each
/// syncing per write bound `always`, but a shared commit beats them (no
/// writer can finish more than one write per sync it waits for, and no
/// sync is faster than a lone writer's): the bound is T times the
/// one-writer per-write ceiling, or the T-writer pattern if that is
/// faster. Read as "the disk's best, had every sync covered every
/// writer's write".
pub fn cell_ceiling(
    rows: &[ProbeRow],
    policy: &SyncPolicy,
    record_bytes: u64,
    threads: u32,
) -> Option<Ceiling> {
    let own = ceiling_for(rows, policy, record_bytes, threads).map(|r| Ceiling {
        ops_per_sec: r.ops_per_sec,
        pattern: PatternId::from(r).to_string(),
        threads: r.threads,
    });
    if policy.mode != SyncMode::Group || threads <= 1 {
        return own;
    }
    let shared = ceiling_for(rows, policy, record_bytes, 1).map(|r| Ceiling {
        ops_per_sec: r.ops_per_sec * f64::from(threads),
        pattern: format!("{} x{threads} shared commits", PatternId::from(r)),
        threads: Some(threads),
    });
    match (own, shared) {
        (Some(o), Some(s)) => Some(if s.ops_per_sec > o.ops_per_sec { s } else { o }),
        (o, s) => o.or(s),
    }
}
