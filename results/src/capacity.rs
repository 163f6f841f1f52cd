//! `capacity.csv`: the highest open-loop rate at which a cell's latency
//! percentile stays within a budget, and its comparison across folders.
//!
//! A search brackets the capacity: `bracket_low` was measured within the
//! budget, `bracket_high` was not (or is the closed-loop throughput, the
//! most the cell can do). The reported capacity is `bracket_low`, a rate
//! actually measured within the budget, never an interpolation.
//!
//! ## Format
//!
//! One row per cell x percentile x budget; units in the column names;
//! empty means "not measured" (for `capacity_ops_per_sec`: the cell missed
//! the budget even at the lowest rate, or failed; `status` says which).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{read_csv, ResultsDir};

/// `status` of a cell whose capacity lies inside the search's bracket.
pub const STATUS_WITHIN: &str = "within budget";
/// `status` of a cell within budget even at its closed-loop throughput:
/// the capacity is the throughput, the budget does not bind.
pub const STATUS_AT_CLOSED_LOOP: &str = "within budget at closed-loop rate";
/// `status` of a cell that misses the budget at the lowest rate searched.
pub const STATUS_MISSES: &str = "misses budget at lowest rate";
/// `status` of a cell that could not be measured (`error` says why).
pub const STATUS_FAILED: &str = "failed";

/// One searched cell and budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityRow {
    /// Identifier of the whole run.
    pub run_id: String,
    /// Host name.
    pub host: String,
    /// The `--label` of this machine/disk.
    pub label: String,
    /// Engine.
    pub engine: String,
    /// Sync policy text form.
    pub policy: String,
    /// Workload name.
    pub workload: String,
    /// Client threads.
    pub threads: u32,
    /// Value size (mean).
    pub value_size_bytes: u64,
    /// `p99` or `p999`.
    pub percentile: String,
    /// The latency budget of that percentile.
    pub budget_us: f64,
    /// See the `STATUS_*` constants.
    pub status: String,
    /// The highest rate measured within the budget (= `bracket_low`);
    /// empty when the cell missed at the lowest rate or failed.
    pub capacity_ops_per_sec: Option<f64>,
    /// Highest rate measured within the budget.
    pub bracket_low_ops_per_sec: Option<f64>,
    /// Lowest rate measured over it (or the closed-loop throughput).
    pub bracket_high_ops_per_sec: Option<f64>,
    /// The percentile measured at the capacity rate.
    pub p_at_capacity_us: Option<f64>,
    /// The lowest rate the search measured (the grid goes down only until
    /// a rate is within the budget).
    pub lowest_rate_ops_per_sec: f64,
    /// The percentile measured at that rate.
    pub p_at_lowest_us: Option<f64>,
    /// The cell's throughput without a target rate: the search's upper bound.
    pub closed_loop_ops_per_sec: f64,
    /// Open-loop measurements the search made (endpoints included).
    pub steps: u32,
    /// Why the cell failed; empty otherwise.
    pub error: String,
}

impl CapacityRow {
    /// The cell and budget this row is about, as compared across folders.
    pub fn key(&self) -> CapacityKey {
        CapacityKey {
            engine: self.engine.clone(),
            policy: self.policy.clone(),
            workload: self.workload.clone(),
            threads: self.threads,
            value_size_bytes: self.value_size_bytes,
            percentile: self.percentile.clone(),
            budget_ns: (self.budget_us * 1000.0).round() as u64,
        }
    }

    /// The interval the true capacity lies in: the bracket.
    pub fn interval(&self) -> Option<(f64, f64)> {
        let low = self.bracket_low_ops_per_sec?;
        Some((low, self.bracket_high_ops_per_sec.unwrap_or(low).max(low)))
    }
}

/// A searched cell and budget's identity across folders.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CapacityKey {
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
    /// `p99` or `p999`.
    pub percentile: String,
    /// Budget in whole nanoseconds (so it compares exactly).
    pub budget_ns: u64,
}

/// One open-loop measurement of a search: a line of `capacity_steps.csv`,
/// in the order the search made them. Together a cell's steps are its
/// latency against offered load, which says why the search ended where it
/// did (a percentile that is higher at a low rate than at a high one shows
/// up here, not in `capacity.csv`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityStepRow {
    /// Identifier of the whole run.
    pub run_id: String,
    /// The `--label` of this machine/disk.
    pub label: String,
    /// Engine.
    pub engine: String,
    /// Sync policy text form.
    pub policy: String,
    /// Workload name.
    pub workload: String,
    /// Client threads.
    pub threads: u32,
    /// `p99` or `p999`.
    pub percentile: String,
    /// The budget searched for.
    pub budget_us: f64,
    /// 1 for the search's first measurement, then 2, 3, ...
    pub step: u32,
    /// The target (offered) rate over all threads.
    pub target_ops_per_sec: f64,
    /// The percentile measured from intended start times.
    pub p_us: f64,
    /// Operations timed.
    pub ops: u64,
    /// Whether `ops` holds 5 operations above the percentile.
    pub enough_tail: bool,
    /// Whether the step counted as within the budget.
    pub within: bool,
}

impl ResultsDir {
    /// `capacity.csv`.
    pub fn capacity(&self) -> PathBuf {
        self.root().join("capacity.csv")
    }

    /// `capacity_steps.csv`.
    pub fn capacity_steps(&self) -> PathBuf {
        self.root().join("capacity_steps.csv")
    }
}

/// The rows of `dir/capacity.csv`; empty when the folder has none.
pub fn load_capacity(dir: &Path) -> crate::Result<Vec<CapacityRow>> {
    let rd = ResultsDir::open(dir)?;
    if !rd.capacity().exists() {
        return Ok(Vec::new());
    }
    read_csv(&rd.capacity())
}

/// One searched cell of one folder in `compare_capacity.csv`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityCompareRow {
    /// The folder's label.
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
    /// `p99` or `p999`.
    pub percentile: String,
    /// Budget.
    pub budget_us: f64,
    /// This folder's status.
    pub status: String,
    /// This folder's capacity (empty: missed or failed).
    pub capacity_ops_per_sec: Option<f64>,
    /// Its bracket.
    pub bracket_low_ops_per_sec: Option<f64>,
    /// Its bracket.
    pub bracket_high_ops_per_sec: Option<f64>,
    /// Capacity / the baseline's capacity.
    pub capacity_ratio: Option<f64>,
    /// Against the baseline: `higher`, `lower`, `within noise` (the
    /// brackets overlap: the search cannot tell them apart, as ops/s
    /// whose intervals overlap), or empty for the baseline itself or when
    /// either has no capacity.
    pub capacity_change: String,
}

/// `higher` / `lower` when the brackets do not overlap, else `within
/// noise`: the rule `compare` applies to ops/s, with the bracket as the
/// interval (the true capacity lies in it).
pub fn capacity_change(this: &CapacityRow, base: &CapacityRow) -> Option<&'static str> {
    let (tl, th) = this.interval()?;
    let (bl, bh) = base.interval()?;
    Some(if tl <= bh && bl <= th {
        "within noise"
    } else if tl > bh {
        "higher"
    } else {
        "lower"
    })
}

/// Rows of every folder, labelled, for the cells searched in at least two
/// folders; the first folder is the baseline.
pub fn compare_capacity(runs: &[(String, Vec<CapacityRow>)]) -> Vec<CapacityCompareRow> {
    let mut order: Vec<CapacityKey> = Vec::new();
    let mut by_key: BTreeMap<CapacityKey, Vec<(usize, &CapacityRow)>> = BTreeMap::new();
    for (i, (_, rows)) in runs.iter().enumerate() {
        for r in rows {
            let k = r.key();
            if !by_key.contains_key(&k) {
                order.push(k.clone());
            }
            by_key.entry(k).or_default().push((i, r));
        }
    }
    let mut out = Vec::new();
    for k in order {
        let Some(found) = by_key.get(&k) else {
            continue;
        };
        if found.len() < 2 {
            continue;
        }
        let base = found.iter().find(|(i, _)| *i == 0).map(|(_, r)| *r);
        for (i, r) in found {
            let (ratio, change) = match base {
                Some(b) if *i != 0 => (
                    r.capacity_ops_per_sec
                        .zip(b.capacity_ops_per_sec)
                        .filter(|(_, b)| *b > 0.0)
                        .map(|(a, b)| a / b),
                    capacity_change(r, b).unwrap_or("").to_string(),
                ),
                _ => (None, String::new()),
            };
            out.push(CapacityCompareRow {
                label: runs[*i].0.clone(),
                engine: r.engine.clone(),
                policy: r.policy.clone(),
                workload: r.workload.clone(),
                threads: r.threads,
                value_size_bytes: r.value_size_bytes,
                percentile: r.percentile.clone(),
                budget_us: r.budget_us,
                status: r.status.clone(),
                capacity_ops_per_sec: r.capacity_ops_per_sec,
                bracket_low_ops_per_sec: r.bracket_low_ops_per_sec,
                bracket_high_ops_per_sec: r.bracket_high_ops_per_sec,
                capacity_ratio: ratio,
                capacity_change: change,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(low: Option<f64>, high: f64) -> CapacityRow {
        CapacityRow {
            engine: "wal".into(),
            policy: "always".into(),
            workload: "fillrandom".into(),
            threads: 1,
            percentile: "p99".into(),
            budget_us: 1000.0,
            status: if low.is_some() {
                STATUS_WITHIN
            } else {
                STATUS_MISSES
            }
            .into(),
            capacity_ops_per_sec: low,
            bracket_low_ops_per_sec: low,
            bracket_high_ops_per_sec: Some(high),
            ..CapacityRow::default()
        }
    }

    #[test]
    fn overlapping_brackets_are_noise_apart_ones_are_not() {
        let base = row(Some(1000.0), 1100.0);
        assert_eq!(
            capacity_change(&row(Some(1050.0), 1150.0), &base),
            Some("within noise")
        );
        assert_eq!(
            capacity_change(&row(Some(1200.0), 1300.0), &base),
            Some("higher")
        );
        assert_eq!(
            capacity_change(&row(Some(500.0), 600.0), &base),
            Some("lower")
        );
        assert_eq!(capacity_change(&row(None, 10.0), &base), None);
    }

    #[test]
    fn compare_pairs_cells_by_budget_and_labels_the_baseline() {
        let a = vec![row(Some(1000.0), 1100.0)];
        let mut other = row(Some(2000.0), 2200.0);
        let b = vec![other.clone()];
        other.budget_us = 10_000.0;
        let c = vec![other];
        let rows = compare_capacity(&[("a".into(), a.clone()), ("b".into(), b)]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].capacity_change, "");
        assert_eq!(rows[1].capacity_change, "higher");
        assert_eq!(rows[1].capacity_ratio, Some(2.0));
        // A different budget is a different cell: nothing to pair.
        assert!(compare_capacity(&[("a".into(), a), ("c".into(), c)]).is_empty());
    }

    #[test]
    fn csv_round_trip_keeps_empty_capacity() {
        let t = tempfile::tempdir().unwrap();
        let rd = ResultsDir::create(t.path()).unwrap();
        let rows = vec![row(Some(1000.0), 1100.0), row(None, 10.0)];
        crate::write_csv(&rd.capacity(), &rows).unwrap();
        let text = std::fs::read_to_string(rd.capacity()).unwrap();
        assert!(text.starts_with("run_id,host,label,engine,policy,workload,threads"));
        assert_eq!(load_capacity(t.path()).unwrap(), rows);
    }
}
