//! The ceilings of a run's cells, measured again once per repetition round.
//!
//! A disk's sync latency wanders by 10-25% from one minute to the next on
//! shared and virtual disks. A ceiling measured only before the first cell
//! carries whatever the disk was doing then into every cell's efficiency:
//! when the probe happened to run fast, every engine looks slow, and the
//! other way round (efficiency above 1). Measuring the ceiling next to each
//! cell does not help either: a 1 s probe is as noisy as the cell itself
//! (docs/measurements.md).
//!
//! So the ceiling is treated like a cell: the pattern chosen by the first
//! probe (the best placement and layout for each cadence, record size and
//! writer count) is measured once more at the start of every later round,
//! and each cell's ceiling is the median of every measurement so far. Its
//! figure then spans the same minutes as the cells it bounds.

use std::path::{Path, PathBuf};

use anyhow::Result;
use results::ceilings::PatternId;
use results::{CeilingRow, ProbeRow};

use engines::SyncPolicy;

use crate::measure::probe::{self, ProbePlan};

/// The ceiling rows of a run and every rate measured for each.
#[derive(Debug)]
pub struct Ceilings {
    /// The rows cells take their ceilings from, each with `ops_per_sec`
    /// the median of `rates`.
    pooled: Vec<ProbeRow>,
    /// Per pooled row: every round's rate, the first probe's rounds first.
    rates: Vec<Vec<f64>>,
    /// Every measurement so far, for `ceilings.csv`.
    history: Vec<CeilingRow>,
    round: u32,
    /// How to measure them again (`None`: never, the first probe serves).
    plan: Option<ProbePlan>,
    work: PathBuf,
}

impl Ceilings {
    /// The ceilings of the cells that write, each given as its policy,
    /// record bytes and threads, from the first probe's `rows`; `plan`, if
    /// given, measures them again in `work` at [`Ceilings::new_round`].
    pub fn new(
        rows: &[ProbeRow],
        writing_cells: impl IntoIterator<Item = (SyncPolicy, u64, u32)>,
        plan: Option<ProbePlan>,
        work: &Path,
    ) -> Ceilings {
        let mut pooled: Vec<ProbeRow> = Vec::new();
        for (policy, record_bytes, threads) in writing_cells {
            for r in probe::ceiling_rows(rows, &policy, record_bytes, threads) {
                if !pooled.iter().any(|p| same_pattern(p, r)) {
                    pooled.push(r.clone());
                }
            }
        }
        let rates = pooled.iter().map(round_rates).collect();
        let history = pooled.iter().map(|r| history_row(r, 0, r)).collect();
        Ceilings {
            pooled,
            rates,
            history,
            round: 0,
            plan,
            work: work.to_path_buf(),
        }
    }

    /// Every measurement so far, the first probe's as round 0.
    pub fn history(&self) -> &[CeilingRow] {
        &self.history
    }

    /// The rows a cell's ceiling is taken from now: for every cell of the
    /// run, the same rows [`probe::cell_ceiling`] would pick from the first
    /// probe, at their pooled rates.
    pub fn rows(&self) -> &[ProbeRow] {
        &self.pooled
    }

    /// A new round starts: measure every ceiling once more. Returns a
    /// line per ceiling for the progress display. On an error (a full
    /// disk, a vanished folder) rechecks stop for the rest of the run and
    /// the ceilings measured so far stay.
    pub fn new_round(&mut self) -> Result<Vec<String>> {
        let Some(plan) = &self.plan else {
            return Ok(Vec::new());
        };
        if self.pooled.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: Vec<&ProbeRow> = self.pooled.iter().collect();
        let fresh = match probe::remeasure(&self.work, plan, &wanted) {
            Ok(f) => f,
            Err(e) => {
                self.plan = None;
                return Err(e);
            }
        };
        self.round += 1;
        let mut lines = Vec::new();
        for f in fresh {
            if let Some(i) = self.pooled.iter().position(|p| same_pattern(p, &f)) {
                self.rates[i].push(f.ops_per_sec);
                let median = results::median(&self.rates[i]).unwrap_or(f.ops_per_sec);
                self.pooled[i].ops_per_sec = median;
                self.history
                    .push(history_row(&f, self.round, &self.pooled[i]));
                lines.push(format!(
                    "ceiling {} again: {:.0}/s (median of {} rounds {:.0}/s)",
                    PatternId::from(&f),
                    f.ops_per_sec,
                    self.rates[i].len(),
                    median
                ));
            }
        }
        Ok(lines)
    }

    /// Ceilings whose measurements over the run spread by more than
    /// `tolerance` of their pooled value ([`results::Warnings::of_ceilings`]).
    pub fn drift_warnings(&self, tolerance: f64) -> results::Warnings {
        results::Warnings::of_ceilings(&self.history, tolerance)
    }
}

/// The `ceilings.csv` row of `measured` in `round`, with the pooled
/// ceiling `pooled` cells use from then on.
fn history_row(measured: &ProbeRow, round: u32, pooled: &ProbeRow) -> CeilingRow {
    CeilingRow {
        run_id: pooled.run_id.clone(),
        label: pooled.label.clone(),
        round,
        pattern: measured.pattern.clone(),
        record_bytes: measured.record_bytes,
        writes_per_sync: measured.writes_per_sync,
        threads: measured.threads.unwrap_or(1),
        layout: measured.layout.clone(),
        prepared: measured.prepared.clone(),
        ops_per_sec: measured.ops_per_sec,
        p50_us: measured.p50_us,
        pooled_ops_per_sec: pooled.ops_per_sec,
    }
}

/// The rates behind a first-probe row: with 3 rounds its minimum, median
/// and maximum are exactly the rounds.
fn round_rates(r: &ProbeRow) -> Vec<f64> {
    match (r.rounds, r.ops_per_sec_min, r.ops_per_sec_max) {
        (Some(3), Some(lo), Some(hi)) => vec![lo, r.ops_per_sec, hi],
        _ => vec![r.ops_per_sec],
    }
}

/// Whether two probe rows are the same pattern (pattern, record size,
/// preparation, writers and layout).
fn same_pattern(a: &ProbeRow, b: &ProbeRow) -> bool {
    PatternId::from(a) == PatternId::from(b)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn tiny() -> ProbePlan {
        ProbePlan {
            record_sizes: vec![137],
            reference_sizes: Vec::new(),
            batches: vec![8],
            threads: vec![1, 3],
            min_time: Duration::from_millis(20),
            min_syncs: 4,
            rounds: 3,
            ..ProbePlan::full()
        }
    }

    /// A temporary folder and the tiny plan's first probe in it.
    fn first_probe() -> (tempfile::TempDir, ProbePlan, Vec<ProbeRow>) {
        let t = tempfile::tempdir().unwrap();
        let plan = tiny();
        let first = probe::run(&t.path().join("p"), &plan, |_| {}).unwrap();
        (t, plan, first)
    }

    fn cells() -> Vec<(SyncPolicy, u64, u32)> {
        ["always", "none", "batch:8", "group"]
            .iter()
            .flat_map(|p| [1, 3].map(|t| (p.parse::<SyncPolicy>().unwrap(), 137, t)))
            .collect()
    }

    /// The pooled rows give every cell the ceiling the first probe gives
    /// it, at first; each round adds one measurement per ceiling and moves
    /// it to the median of all of them.
    #[test]
    fn each_round_pools_one_more_measurement_of_every_ceiling() {
        let (t, plan, first) = first_probe();
        let work = t.path().join("recheck");
        let mut c = Ceilings::new(&first, cells(), Some(plan), &work);
        for (policy, bytes, threads) in cells() {
            assert_eq!(
                probe::cell_ceiling(c.rows(), &policy, bytes, threads),
                probe::cell_ceiling(&first, &policy, bytes, threads),
                "{policy} x{threads}"
            );
        }
        // none, always, batch:8 at 1 and 3 writers (group reuses always's).
        assert_eq!(c.rows().len(), 6, "{:?}", c.rows());
        assert!(c.rates.iter().all(|r| r.len() == 3), "{:?}", c.rates);
        for round in 1..=2 {
            let lines = c.new_round().unwrap();
            assert_eq!(lines.len(), 6, "{lines:?}");
            assert!(!work.exists(), "recheck folder left behind");
            assert_eq!(c.history().len(), 6 * (1 + round));
            let this: Vec<&CeilingRow> = c
                .history()
                .iter()
                .filter(|h| h.round as usize == round)
                .collect();
            assert_eq!(this.len(), 6);
            for (row, rates) in c.pooled.iter().zip(&c.rates) {
                let h = this
                    .iter()
                    .find(|h| PatternId::from(**h) == PatternId::from(row))
                    .unwrap();
                assert_eq!(h.pooled_ops_per_sec, row.ops_per_sec);
                assert_eq!(Some(&h.ops_per_sec), rates.last());
                assert_eq!(rates.len(), 3 + round, "{rates:?}");
                assert_eq!(Some(row.ops_per_sec), results::median(rates));
                assert!(rates.iter().all(|r| *r > 0.0), "{rates:?}");
            }
        }
    }

    #[test]
    fn a_failed_recheck_keeps_what_was_measured_and_stops_rechecking() {
        let (t, plan, first) = first_probe();
        let blocker = t.path().join("file");
        std::fs::write(&blocker, b"not a folder").unwrap();
        let mut c = Ceilings::new(&first, cells(), Some(plan), &blocker.join("recheck"));
        let before: Vec<f64> = c.rows().iter().map(|r| r.ops_per_sec).collect();
        let e = c.new_round().unwrap_err();
        assert!(format!("{e:#}").contains("recheck"), "{e:#}");
        assert!(c.new_round().unwrap().is_empty());
        let after: Vec<f64> = c.rows().iter().map(|r| r.ops_per_sec).collect();
        assert_eq!(before, after);
    }

    #[test]
    fn without_rechecks_nothing_drifts() {
        let row = |rate: f64| ProbeRow {
            pattern: "overwrite+fdatasync".into(),
            record_bytes: 137,
            writes_per_sync: 1,
            ops_per_sec: rate,
            prepared: "fallocate".into(),
            rounds: Some(3),
            ops_per_sec_min: Some(rate * 0.95),
            ops_per_sec_max: Some(rate * 1.05),
            ..ProbeRow::default()
        };
        let always = ("always".parse::<SyncPolicy>().unwrap(), 137, 1);
        let mut c = Ceilings::new(&[row(10_000.0)], [always], None, Path::new("/nonexistent"));
        // The first probe alone: its own spread is in probe.csv.
        assert!(c.drift_warnings(0.0).is_empty());
        assert_eq!(c.history().len(), 1);
        // Without a plan, a new round measures nothing.
        assert!(c.new_round().unwrap().is_empty());
        assert_eq!(c.history().len(), 1);
    }
}
