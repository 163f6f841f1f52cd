//! `recovery.csv`: how long an engine takes to reopen, after a clean close
//! and after a SIGKILL, against its data size (`bench-runner recovery`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ResultsDir;

/// One engine x policy x data size line of `recovery.csv`: medians over
/// repetitions with 95% intervals (as in `runs.csv`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecoveryRow {
    /// Run identifier.
    pub run_id: String,
    /// Machine/disk label.
    pub label: String,
    /// Engine.
    pub engine: String,
    /// Policy of the measured (last) writes.
    pub policy: String,
    /// Keys in the store (loaded plus measured writes).
    pub keys: u64,
    /// Key and value bytes of those keys.
    pub data_bytes: u64,
    /// Writes made under the measured policy before the close or kill.
    pub tail_writes: u64,
    /// Bytes of the engine's log files (WAL, data segments, journal) right
    /// after the kill; empty for engines without a log file.
    pub log_bytes_at_kill: Option<u64>,
    /// Repetitions measured.
    pub repetitions: u64,
    /// Reopen plus the first read after a clean close, in milliseconds (median).
    pub reopen_clean_ms: Option<f64>,
    /// Lower end of its 95% interval (empty below 2 repetitions).
    pub reopen_clean_ms_ci_low: Option<f64>,
    /// Upper end of its 95% interval.
    pub reopen_clean_ms_ci_high: Option<f64>,
    /// Reopen plus the first read after a SIGKILL during the measured
    /// writes, in milliseconds (median).
    pub reopen_after_kill_ms: Option<f64>,
    /// Lower end of its 95% interval.
    pub reopen_after_kill_ms_ci_low: Option<f64>,
    /// Upper end of its 95% interval.
    pub reopen_after_kill_ms_ci_high: Option<f64>,
    /// Bytes the engine read during the reopen after the kill (median):
    /// what it replayed or scanned. Empty for engines that do their own
    /// I/O (the reference engines).
    pub bytes_replayed: Option<u64>,
    /// The same after the clean close.
    pub bytes_replayed_clean: Option<u64>,
    /// Whether every recovered state (clean and after the kill, every
    /// repetition) held every acknowledged write and nothing invented.
    pub recovered_ok: bool,
    /// Acknowledged writes lost, summed over the measurements.
    pub lost_writes: u64,
    /// The first problem found, as a sentence; empty when none.
    pub problem: String,
}

impl ResultsDir {
    /// `recovery.csv`.
    pub fn recovery(&self) -> PathBuf {
        self.root().join("recovery.csv")
    }
}
