//! The matrix of cells (engine x policy x workload x threads), what it
//! skips and why, and the memory the cells will need.

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use engines::registry::EngineInfo;
use engines::SyncPolicy;
use results::SkippedRow;
use workloads::WorkloadSpec;

use super::{Cell, Workload, LOG_WORKLOAD};

/// Keeps the first of each key, noting the duplicates removed.
pub(super) fn dedup_by<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    what: &str,
    notes: &mut Vec<String>,
) -> Vec<T> {
    let mut seen = BTreeSet::new();
    let mut dropped = Vec::new();
    let kept: Vec<T> = items
        .into_iter()
        .filter(|i| {
            let k = key(i);
            let new = seen.insert(k.clone());
            if !new {
                dropped.push(k);
            }
            new
        })
        .collect();
    if !dropped.is_empty() {
        notes.push(format!(
            "{what}: duplicate {} removed; each runs once",
            dropped.join(", ")
        ));
    }
    kept
}

pub(super) fn describe_skip(s: &SkippedRow) -> String {
    let mut what = vec![s.engine.as_str()];
    if !s.policy.is_empty() {
        what.push(&s.policy);
    }
    if !s.workload.is_empty() {
        what.push(&s.workload);
    }
    format!("{}: {}", what.join(" x "), s.reason)
}

/// Builds the matrix; engines without the capabilities a workload needs
/// skip it (with the reason), and in the default matrix engines without
/// point reads run `append` in place of read mixes.
pub fn build_matrix(
    engines: &[&'static EngineInfo],
    policies: &[SyncPolicy],
    workloads: &[Workload],
    default_workloads: bool,
) -> (Vec<Cell>, Vec<SkippedRow>) {
    let mut cells = Vec::new();
    let mut skipped = Vec::new();
    for &engine in engines {
        let mut chosen: Vec<&Workload> = Vec::new();
        let mut needs_log_workload = false;
        for w in workloads {
            if default_workloads && w.spec.name == LOG_WORKLOAD {
                continue;
            }
            match w.spec.check_supported(&engine.capabilities) {
                Ok(()) => chosen.push(w),
                Err(unsupported) => {
                    let reason = unsupported.to_string();
                    let substitute = default_workloads && !engine.capabilities.point_reads;
                    needs_log_workload |= substitute;
                    skipped.push(SkippedRow {
                        engine: engine.name.into(),
                        policy: String::new(),
                        workload: w.spec.name.clone(),
                        reason: if substitute {
                            format!("{reason}; runs `{LOG_WORKLOAD}` instead")
                        } else {
                            reason
                        },
                    });
                }
            }
        }
        if needs_log_workload {
            if let Some(log) = workloads.iter().find(|w| w.spec.name == LOG_WORKLOAD) {
                chosen.push(log);
            }
        }
        for &policy in policies {
            if let Err(refusal) = (engine.supports)(&policy) {
                skipped.push(SkippedRow {
                    engine: engine.name.into(),
                    policy: policy.to_string(),
                    workload: String::new(),
                    reason: refusal.reason,
                });
            }
        }
        for w in chosen {
            for &policy in policies.iter().filter(|p| (engine.supports)(p).is_ok()) {
                for &t in &w.threads {
                    let mut spec = w.spec.clone();
                    spec.threads = t;
                    cells.push(Cell {
                        engine,
                        policy,
                        workload: spec,
                    });
                }
            }
        }
    }
    (cells, skipped)
}

/// Bytes of one latency histogram (the cell records one per operation
/// type and thread).
pub(super) fn histogram_bytes() -> u64 {
    engines::fs::new_latency_histogram().distinct_values() as u64 * 8
}

/// A cell's peak memory, estimated from what grows with its size: per
/// client thread, a latency histogram per operation type, its value pool
/// (at least 1 MiB, twice the largest value) and stack; per key (loaded
/// and inserted), the key and an engine index entry.
pub fn cell_memory_bytes(spec: &WorkloadSpec, threads: usize) -> u64 {
    const STACK: u64 = 256 << 10;
    const INDEX_ENTRY: u64 = 48;
    // `all` and one per operation kind (cell::Latencies).
    let hists = (1 + workloads::OpKind::ALL.len()) as u64 * histogram_bytes();
    let pool = (1u64 << 20).max(spec.value_size.max() as u64 * 2);
    let per_thread = hists + pool + STACK;
    let keys = spec.record_count.saturating_add(spec.expected_new_keys());
    (threads as u64 + 1)
        .saturating_mul(per_thread)
        .saturating_add(keys.saturating_mul(spec.key_size as u64 + INDEX_ENTRY))
}

/// Refuses a matrix whose largest cell would not fit in available memory
/// (the kernel would kill the run mid-cell). Returns the estimate.
pub(super) fn check_memory(cells: &[Cell]) -> Result<u64> {
    let Some(worst) = cells
        .iter()
        .max_by_key(|c| cell_memory_bytes(&c.workload, c.workload.threads))
    else {
        return Ok(0);
    };
    let need = cell_memory_bytes(&worst.workload, worst.workload.threads);
    if let Some(avail) = crate::measure::sys::available_memory() {
        if need > avail {
            let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
            bail!(
                "cell {} {} {} t{} needs about {:.1} GiB of memory ({} threads, {} keys), but {:.1} GiB is available; lower --threads or --record-count",
                worst.engine.name,
                worst.policy,
                worst.workload.name,
                worst.workload.threads,
                gib(need),
                worst.workload.threads,
                worst
                    .workload
                    .record_count
                    .saturating_add(worst.workload.expected_new_keys()),
                gib(avail)
            );
        }
    }
    Ok(need)
}
