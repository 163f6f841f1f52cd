//! `compare.csv`: one row per cell and run, with the run's figures, its
//! ratios to the baseline's and whether each difference is a change.

use serde::{Deserialize, Serialize};

use super::noise::{change, ops_interval, p99_interval, IntervalKind};
use crate::{CellKey, RunRow};

/// One cell of one run in `compare.csv` (long format: a row per cell and
/// run; `*_ratio` = this run's figure / the baseline's for the same cell,
/// empty when the baseline lacks the cell or its figure is 0).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
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
    /// The run's label (machine/disk).
    pub run: String,
    /// Whether this run is the baseline.
    pub baseline: bool,
    /// Workload RNG seed of this run's cell.
    pub seed: u64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// User payload MB/s (10^6 bytes).
    pub mb_per_sec: f64,
    /// Median latency.
    pub p50_us: f64,
    /// 99th percentile latency.
    pub p99_us: f64,
    /// 99.9th percentile latency.
    pub p999_us: f64,
    /// 99th percentile latency of sync calls; empty without counted syncs.
    pub sync_p99_us: Option<f64>,
    /// Log writes per file sync; empty without counted syncs.
    pub writes_per_sync: Option<f64>,
    /// Engine write amplification.
    pub engine_write_amp: f64,
    /// Device write amplification; empty without a block device.
    pub device_write_amp: Option<f64>,
    /// Efficiency against the run's own probe.
    pub efficiency: Option<f64>,
    /// ops_per_sec / the baseline's (above 1: faster than the baseline).
    pub ops_ratio: Option<f64>,
    /// p50_us / the baseline's (above 1: slower than the baseline).
    pub p50_ratio: Option<f64>,
    /// p99_us / the baseline's.
    pub p99_ratio: Option<f64>,
    /// p999_us / the baseline's.
    pub p999_ratio: Option<f64>,
    /// sync_p99_us / the baseline's.
    pub sync_p99_ratio: Option<f64>,
    /// efficiency / the baseline's.
    pub efficiency_ratio: Option<f64>,
    /// Lower end of the ops/s interval used to judge a change.
    #[serde(default)]
    pub ops_per_sec_low: Option<f64>,
    /// Upper end of the ops/s interval.
    #[serde(default)]
    pub ops_per_sec_high: Option<f64>,
    /// Which interval: `ci95` (95% confidence interval of the median),
    /// `ci95 within min..max` (that interval narrowed to the observed range),
    /// `min..max` (over repetitions) or `none` (one repetition: a point).
    #[serde(default)]
    pub interval: String,
    /// Against the baseline's cell: `faster`, `slower`, `within noise`
    /// (intervals overlap); `baseline` for the baseline itself, empty when
    /// the baseline lacks the cell.
    #[serde(default)]
    pub ops_change: String,
    /// The same for p99 latency: `lower`, `higher`, `within noise`.
    #[serde(default)]
    pub p99_change: String,
}

impl CompareRow {
    /// The cell this row is of.
    pub fn cell(&self) -> CellKey {
        CellKey {
            engine: self.engine.clone(),
            policy: self.policy.clone(),
            workload: self.workload.clone(),
            threads: self.threads,
            value_size_bytes: self.value_size_bytes,
        }
    }

    /// Which interval judged the change (`interval`); `None` for a name
    /// this version does not know, or an empty one (older files).
    pub fn interval_kind(&self) -> Option<IntervalKind> {
        self.interval.parse().ok()
    }

    /// The row of `cell` (the cell `key`) in the run labelled `run`;
    /// `base` is the baseline's same cell (`None` when it lacks it), and
    /// `is_baseline` says whether this run is the baseline.
    pub(crate) fn new(
        key: &CellKey,
        run: &str,
        cell: &RunRow,
        base: Option<&RunRow>,
        is_baseline: bool,
    ) -> CompareRow {
        let c = cell;
        let r_of = |f: fn(&RunRow) -> f64| base.and_then(|b| ratio(f(c), f(b)));
        let ops = ops_interval(c);
        let (ops_change, p99_change) = match base {
            _ if is_baseline => ("baseline".to_string(), "baseline".to_string()),
            Some(b) => (
                change(ops, ops_interval(b), "faster", "slower"),
                change(p99_interval(c), p99_interval(b), "higher", "lower"),
            ),
            None => (String::new(), String::new()),
        };
        CompareRow {
            engine: key.engine.clone(),
            policy: key.policy.clone(),
            workload: key.workload.clone(),
            threads: key.threads,
            value_size_bytes: key.value_size_bytes,
            run: run.to_string(),
            baseline: is_baseline,
            seed: c.seed,
            ops_per_sec: c.ops_per_sec,
            mb_per_sec: c.mb_per_sec,
            p50_us: c.p50_us,
            p99_us: c.p99_us,
            p999_us: c.p999_us,
            sync_p99_us: c.sync_p99_us,
            writes_per_sync: c.writes_per_sync,
            engine_write_amp: c.engine_write_amp,
            device_write_amp: c.device_write_amp,
            efficiency: c.efficiency,
            ops_ratio: r_of(|x| x.ops_per_sec),
            p50_ratio: r_of(|x| x.p50_us),
            p99_ratio: r_of(|x| x.p99_us),
            p999_ratio: r_of(|x| x.p999_us),
            sync_p99_ratio: base.and_then(|b| ratio(c.sync_p99_us?, b.sync_p99_us?)),
            efficiency_ratio: base.and_then(|b| ratio(c.efficiency?, b.efficiency?)),
            ops_per_sec_low: Some(ops.low),
            ops_per_sec_high: Some(ops.high),
            interval: ops.kind.to_string(),
            ops_change,
            p99_change,
        }
    }
}

/// `a / b`, or `None` when `b` is not positive or either is not finite.
fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
}
