//! `recovery.csv`: how long an engine takes to reopen, after a clean close
//! and after a SIGKILL, against its data size (`bench-runner recovery`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::compare::{IntervalKind, NoiseInterval};
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
    /// `warm` (the page cache kept what the engine wrote, as after a
    /// process crash) or `cold` (dropped before each timed reopen, as after
    /// a power loss: `recovery --cold`). Files without the column are warm.
    #[serde(default = "warm")]
    pub page_cache: String,
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

fn warm() -> String {
    "warm".into()
}

impl ResultsDir {
    /// `recovery.csv`.
    pub fn recovery(&self) -> PathBuf {
        self.root().join("recovery.csv")
    }
}

/// One engine x policy x size of one run in `recovery_compare.csv`, beside
/// the baseline's (the first folder's) same line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecoveryCompareRow {
    /// Engine.
    pub engine: String,
    /// Policy.
    pub policy: String,
    /// Keys.
    pub keys: u64,
    /// The run's label.
    pub run: String,
    /// Whether this run is the baseline.
    pub baseline: bool,
    /// Reopen after a clean close, ms (median).
    pub reopen_clean_ms: Option<f64>,
    /// This run's clean time / the baseline's.
    pub clean_ratio: Option<f64>,
    /// Against the baseline: `faster`, `slower` or `within noise`; empty
    /// on the baseline's own row.
    pub clean_change: String,
    /// Reopen after a kill, ms (median).
    pub reopen_after_kill_ms: Option<f64>,
    /// This run's after-kill time / the baseline's.
    pub kill_ratio: Option<f64>,
    /// Against the baseline: `faster`, `slower` or `within noise`.
    pub kill_change: String,
    /// Whether the recovered states passed the check.
    pub recovered_ok: bool,
}

/// A time's interval: its 95% CI where recorded, else the median alone (a
/// line measured once: any difference counts, as for ops/s in `compare`).
fn interval(median: f64, low: Option<f64>, high: Option<f64>) -> NoiseInterval {
    match (low, high) {
        (Some(l), Some(h)) if l <= h && l.is_finite() && h.is_finite() => NoiseInterval {
            low: l,
            high: h,
            kind: IntervalKind::Ci95,
        },
        _ => NoiseInterval::point(median),
    }
}

/// `faster` / `slower` (a time: lower is faster) when the intervals do
/// not overlap, else `within noise`: the rule `compare` applies to ops/s.
fn change(this: NoiseInterval, base: NoiseInterval) -> String {
    crate::compare::change(this, base, "slower", "faster")
}

/// A time's median, interval low and interval high.
type Timed = (Option<f64>, Option<f64>, Option<f64>);

fn side(
    r: &RecoveryRow,
    base: Option<&RecoveryRow>,
    get: fn(&RecoveryRow) -> Timed,
) -> (Option<f64>, String) {
    let (Some(v), lo, hi) = get(r) else {
        return (None, String::new());
    };
    let Some((Some(b), blo, bhi)) = base.map(get) else {
        return (None, String::new());
    };
    let ratio = (b > 0.0).then(|| v / b);
    (ratio, change(interval(v, lo, hi), interval(b, blo, bhi)))
}

/// The recovery lines of `dirs` (the first is the baseline) side by side,
/// `labels[i]` naming `dirs[i]`; folders without `recovery.csv` add nothing.
pub fn compare_recovery(
    dirs: &[PathBuf],
    labels: &[String],
) -> crate::Result<Vec<RecoveryCompareRow>> {
    let mut runs: Vec<(String, Vec<RecoveryRow>)> = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let path = ResultsDir::open(d)?.recovery();
        if path.exists() {
            let label = labels
                .get(i)
                .cloned()
                .unwrap_or_else(|| d.display().to_string());
            runs.push((label, crate::read_csv(&path)?));
        }
    }
    let base_label = labels.first();
    let base: Vec<RecoveryRow> = runs
        .iter()
        .find(|(l, _)| Some(l) == base_label)
        .map(|(_, r)| r.clone())
        .unwrap_or_default();
    let clean = |r: &RecoveryRow| {
        (
            r.reopen_clean_ms,
            r.reopen_clean_ms_ci_low,
            r.reopen_clean_ms_ci_high,
        )
    };
    let kill = |r: &RecoveryRow| {
        (
            r.reopen_after_kill_ms,
            r.reopen_after_kill_ms_ci_low,
            r.reopen_after_kill_ms_ci_high,
        )
    };
    let mut out = Vec::new();
    for (label, rows) in &runs {
        for r in rows {
            let b = base.iter().find(|b| {
                b.engine == r.engine
                    && b.policy == r.policy
                    && b.keys == r.keys
                    && b.page_cache == r.page_cache
            });
            let is_base = Some(label) == base_label;
            let (clean_ratio, mut clean_change) = side(r, b, clean);
            let (kill_ratio, mut kill_change) = side(r, b, kill);
            if is_base {
                clean_change.clear();
                kill_change.clear();
            }
            out.push(RecoveryCompareRow {
                engine: r.engine.clone(),
                policy: r.policy.clone(),
                keys: r.keys,
                run: label.clone(),
                baseline: is_base,
                reopen_clean_ms: r.reopen_clean_ms,
                clean_ratio,
                clean_change,
                reopen_after_kill_ms: r.reopen_after_kill_ms,
                kill_ratio,
                kill_change,
                recovered_ok: r.recovered_ok,
            });
        }
    }
    // Each line's runs together, in the baseline's order.
    let key = |r: &RecoveryCompareRow| (r.engine.clone(), r.policy.clone(), r.keys);
    let order: Vec<_> = out.iter().map(key).fold(Vec::new(), |mut v, k| {
        if !v.contains(&k) {
            v.push(k);
        }
        v
    });
    out.sort_by_key(|r| order.iter().position(|k| *k == key(r)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(engine: &str, ms: f64, ci: Option<(f64, f64)>) -> RecoveryRow {
        RecoveryRow {
            engine: engine.into(),
            policy: "always".into(),
            keys: 1000,
            reopen_clean_ms: Some(ms),
            reopen_clean_ms_ci_low: ci.map(|c| c.0),
            reopen_clean_ms_ci_high: ci.map(|c| c.1),
            reopen_after_kill_ms: Some(ms),
            recovered_ok: true,
            ..RecoveryRow::default()
        }
    }

    #[test]
    fn overlapping_intervals_are_noise_and_disjoint_ones_a_change() {
        let t = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = ["a", "b"].iter().map(|d| t.path().join(d)).collect();
        for d in &dirs {
            std::fs::create_dir(d).unwrap();
        }
        let a = vec![
            row("wal", 10.0, Some((9.0, 11.0))),
            row("lsm", 10.0, Some((9.0, 11.0))),
        ];
        let b = vec![
            row("wal", 10.5, Some((9.5, 12.0))),
            row("lsm", 30.0, Some((28.0, 33.0))),
        ];
        crate::write_csv(&dirs[0].join("recovery.csv"), &a).unwrap();
        crate::write_csv(&dirs[1].join("recovery.csv"), &b).unwrap();
        let labels = vec!["a".to_string(), "b".to_string()];
        let rows = compare_recovery(&dirs, &labels).unwrap();
        assert_eq!(rows.len(), 4);
        let find =
            |e: &str, run: &str| rows.iter().find(|r| r.engine == e && r.run == run).unwrap();
        assert_eq!(find("wal", "b").clean_change, "within noise");
        assert_eq!(find("lsm", "b").clean_change, "slower");
        assert_eq!(find("lsm", "b").clean_ratio, Some(3.0));
        // No interval after the kill: any difference counts.
        assert_eq!(find("wal", "b").kill_change, "slower");
        assert!(find("wal", "a").baseline && !find("wal", "b").baseline);
        // Each line's runs are together.
        assert_eq!(rows[0].engine, rows[1].engine);
    }
}
