//! The rows between the averages: one per interval of a cell's measured
//! phase (`timeline.csv`) and one per engine maintenance event
//! (`events.csv`).

use serde::{Deserialize, Serialize};

/// One fixed interval of one repetition of one cell (`timeline.csv`).
/// Figures that were not measured (no operation timed in the interval, a
/// disk without a block device, an engine whose syncs the counting Vfs
/// cannot see) are empty, never 0.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TimelineRow {
    /// Run identifier.
    pub run_id: String,
    /// Machine/disk label.
    pub label: String,
    /// Engine.
    pub engine: String,
    /// Policy.
    pub policy: String,
    /// Workload.
    pub workload: String,
    /// Threads.
    pub threads: u32,
    /// Value size.
    pub value_size_bytes: u64,
    /// Repetition (0-based, as in `repetitions.csv`).
    pub repetition: u32,
    /// Start of the interval, from the start of the measured phase.
    pub t_ms: f64,
    /// Length of the interval: `--interval`, except the last, which also
    /// holds the phase's tail when that is shorter than half an interval.
    pub interval_ms: f64,
    /// Operations completed in the interval.
    pub ops: u64,
    /// ops / interval_ms.
    pub ops_per_sec: f64,
    /// Median latency of the operations timed in the interval.
    pub p50_us: Option<f64>,
    /// 99th percentile latency of the operations timed in the interval.
    pub p99_us: Option<f64>,
    /// Largest latency timed in the interval.
    pub max_us: Option<f64>,
    /// File and directory syncs the counting Vfs saw in the interval.
    pub syncs: Option<u64>,
    /// Bytes the block device wrote in the interval (all writers).
    pub device_write_bytes: Option<u64>,
    /// Flush requests the block device completed in the interval.
    pub device_flushes: Option<u64>,
}

/// One maintenance event an engine reported during a cell (`events.csv`).
/// Engines that report none (the reference engines) have no rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EventRow {
    /// Run identifier.
    pub run_id: String,
    /// Machine/disk label.
    pub label: String,
    /// Engine.
    pub engine: String,
    /// Policy.
    pub policy: String,
    /// Workload.
    pub workload: String,
    /// Threads.
    pub threads: u32,
    /// Value size.
    pub value_size_bytes: u64,
    /// Repetition (0-based).
    pub repetition: u32,
    /// When the event began, from the start of the measured phase
    /// (negative: it began during the warm-up).
    pub start_ms: f64,
    /// When it ended.
    pub end_ms: f64,
    /// `flush`, `compaction`, `merge`, `checkpoint`, `rotation`, `recycle`,
    /// `write-stall` or `index-resize`.
    pub kind: String,
    /// What it worked on, as the engine reports it (`L0->L1 in=… out=…`).
    pub detail: String,
}

impl EventRow {
    /// How a stall that this event overlaps names its cause: the kind,
    /// and for a compaction its levels (`compaction L0->L1`).
    pub fn cause(&self) -> String {
        match self.detail.split_whitespace().next() {
            Some(levels) if self.kind == "compaction" && levels.starts_with('L') => {
                format!("{} {levels}", self.kind)
            }
            _ => self.kind.clone(),
        }
    }
}

/// The identity columns a timeline or event row shares with its cell.
pub trait CellRow {
    /// `(run_id, label, engine, policy, workload, threads, value_size_bytes, repetition)`.
    fn cell_key(&self) -> (&str, &str, &str, &str, &str, u32, u64, u32);
}

impl CellRow for TimelineRow {
    fn cell_key(&self) -> (&str, &str, &str, &str, &str, u32, u64, u32) {
        (
            &self.run_id,
            &self.label,
            &self.engine,
            &self.policy,
            &self.workload,
            self.threads,
            self.value_size_bytes,
            self.repetition,
        )
    }
}

impl CellRow for EventRow {
    fn cell_key(&self) -> (&str, &str, &str, &str, &str, u32, u64, u32) {
        (
            &self.run_id,
            &self.label,
            &self.engine,
            &self.policy,
            &self.workload,
            self.threads,
            self.value_size_bytes,
            self.repetition,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_name_the_compaction_levels() {
        let e = |kind: &str, detail: &str| EventRow {
            kind: kind.into(),
            detail: detail.into(),
            ..EventRow::default()
        };
        assert_eq!(
            e("compaction", "L0->L1 in=1 out=2").cause(),
            "compaction L0->L1"
        );
        assert_eq!(e("flush", "memtable 3 -> 000004.sst").cause(), "flush");
        assert_eq!(e("checkpoint", "").cause(), "checkpoint");
    }
}
