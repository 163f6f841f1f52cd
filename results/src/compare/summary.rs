//! What a comparison says first, as the run report leads with its
//! headline: how each run differs from the baseline over the cells both
//! ran (changes beyond noise, and by how much), then how many cells each
//! run lacks, counted rather than listed.

use std::fmt;

use super::{CompareRow, Comparison, IntervalKind};

/// How one run differs from the baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// The run.
    pub run: String,
    /// The baseline.
    pub baseline: String,
    /// Cells both ran.
    pub cells: usize,
    /// Cells faster than the baseline's beyond noise.
    pub faster: usize,
    /// Cells slower beyond noise.
    pub slower: usize,
    /// Cells whose p99 is lower beyond noise.
    pub p99_lower: usize,
    /// Cells whose p99 is higher beyond noise.
    pub p99_higher: usize,
    /// Cells measured once on either side: no interval to judge noise by,
    /// so any difference counts as a change.
    pub once: usize,
    /// The median of the cells' ops/s ratios (this run / the baseline).
    pub median_ratio: Option<f64>,
    /// The cell with the lowest ratio, and the ratio.
    pub lowest: Option<(String, f64)>,
    /// The cell with the highest ratio, and the ratio.
    pub highest: Option<(String, f64)>,
}

/// `0.512`, `1.02`, `19.4`, `380`: three significant digits.
pub(crate) fn ratio_text(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return format!("{v}");
    }
    let decimals = (2 - v.log10().floor() as i32).clamp(0, 6) as usize;
    format!("{v:.decimals$}")
}

/// `wal always fillrandom t1`.
fn cell_name(r: &CompareRow) -> String {
    format!("{} {} {} t{}", r.engine, r.policy, r.workload, r.threads)
}

impl Difference {
    /// The difference of run `run` from the baseline, over its rows;
    /// `once` of them were measured once on either side.
    fn of(run: &str, baseline: &str, rows: &[&CompareRow], once: usize) -> Difference {
        let count = |f: &dyn Fn(&CompareRow) -> bool| rows.iter().filter(|r| f(r)).count();
        let mut ratios: Vec<(f64, &CompareRow)> = rows
            .iter()
            .filter_map(|r| r.ops_ratio.filter(|x| x.is_finite()).map(|x| (x, *r)))
            .collect();
        ratios.sort_by(|a, b| a.0.total_cmp(&b.0));
        let median_ratio = crate::median(&ratios.iter().map(|(x, _)| *x).collect::<Vec<_>>());
        Difference {
            run: run.to_string(),
            baseline: baseline.to_string(),
            cells: rows.len(),
            faster: count(&|r| r.ops_change == "faster"),
            slower: count(&|r| r.ops_change == "slower"),
            p99_lower: count(&|r| r.p99_change == "lower"),
            p99_higher: count(&|r| r.p99_change == "higher"),
            once,
            median_ratio,
            lowest: ratios.first().map(|(x, r)| (cell_name(r), *x)),
            highest: ratios.last().map(|(x, r)| (cell_name(r), *x)),
        }
    }

    /// Cells within noise for throughput.
    pub fn ops_noise(&self) -> usize {
        self.cells - self.faster - self.slower
    }
}

/// `vm-b: faster in 3, slower in 2 and within noise in 9 of the 14 cells
/// it shares with vm-a (median ratio 0.98, from 0.51 on wal always
/// fillrandom t1 to 1.90 on ...); p99 lower in 1, higher in 2`.
impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cells == 0 {
            return write!(f, "{}: no cell in common with {}", self.run, self.baseline);
        }
        write!(
            f,
            "{}: throughput faster in {}, slower in {} and within noise in {} of the {} cells it shares with {}",
            self.run,
            self.faster,
            self.slower,
            self.ops_noise(),
            self.cells,
            self.baseline
        )?;
        if let Some(m) = self.median_ratio {
            write!(f, " (median ratio {}", ratio_text(m))?;
            match (&self.lowest, &self.highest) {
                (Some((lc, lo)), Some((hc, hi))) if self.cells > 1 && lo != hi => write!(
                    f,
                    ", from {} on {lc} to {} on {hc})",
                    ratio_text(*lo),
                    ratio_text(*hi)
                )?,
                _ => write!(f, ")")?,
            }
        }
        write!(
            f,
            "; p99 lower in {}, higher in {}",
            self.p99_lower, self.p99_higher
        )?;
        match self.once {
            0 => Ok(()),
            n if n == self.cells => write!(
                f,
                " (every cell measured once on one side at least: no interval to tell a change from noise; --repeat 3 gives one)"
            ),
            n => write!(
                f,
                " ({n} cells measured once on one side at least: for them any difference counts)"
            ),
        }
    }
}

/// The cells some runs lack, counted by run.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    /// Cells of any run.
    pub cells: usize,
    /// Cells some run lacks (not compared across every run).
    pub not_everywhere: usize,
    /// Each run and how many cells it lacks, in run order.
    pub by_run: Vec<(String, usize)>,
}

/// `127 of 141 cells are not in every run: vm (a) lacks 127, vm (b) none`.
impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let each: Vec<String> = self
            .by_run
            .iter()
            .map(|(r, n)| match n {
                0 => format!("{r} has them all"),
                n => format!("{r} lacks {n}"),
            })
            .collect();
        write!(
            f,
            "{} of {} cells are not in every run: {}",
            self.not_everywhere,
            self.cells,
            each.join(", ")
        )
    }
}

impl Comparison {
    /// How each run other than the baseline differs from it, in run order.
    pub fn differences(&self) -> Vec<Difference> {
        let baseline = self.runs.first().map_or("", |r| r.label.as_str());
        self.runs
            .iter()
            .skip(1)
            .map(|run| {
                let rows: Vec<&CompareRow> = self
                    .rows
                    .iter()
                    .filter(|r| r.run == run.label && !r.ops_change.is_empty())
                    .collect();
                let single = |r: &CompareRow| r.interval_kind() == Some(IntervalKind::Single);
                let once = rows
                    .iter()
                    .filter(|r| {
                        single(r)
                            || self
                                .rows
                                .iter()
                                .any(|b| b.baseline && b.cell() == r.cell() && single(b))
                    })
                    .count();
                Difference::of(&run.label, baseline, &rows, once)
            })
            .collect()
    }

    /// The cells some runs lack, counted by run; `None` when every run has
    /// every cell.
    pub fn missing_counts(&self) -> Option<Missing> {
        if self.missing.is_empty() {
            return None;
        }
        let by_run = self
            .runs
            .iter()
            .map(|run| {
                let lacks = self
                    .missing
                    .iter()
                    .filter(|(_, present)| !present.contains(&run.label))
                    .count();
                (run.label.clone(), lacks)
            })
            .collect();
        Some(Missing {
            cells: self.cells,
            not_everywhere: self.missing.len(),
            by_run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(engine: &str, ratio: f64, change: &str) -> CompareRow {
        CompareRow {
            engine: engine.into(),
            policy: "always".into(),
            workload: "fillrandom".into(),
            threads: 1,
            run: "b".into(),
            ops_ratio: Some(ratio),
            ops_change: change.into(),
            p99_change: "within noise".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_difference_counts_changes_and_names_the_extremes() {
        let rows = [
            row("wal", 0.5, "slower"),
            row("lsm", 1.0, "within noise"),
            row("btree", 2.0, "faster"),
        ];
        let refs: Vec<&CompareRow> = rows.iter().collect();
        let d = Difference::of("b", "a", &refs, 0);
        assert_eq!((d.faster, d.slower, d.ops_noise()), (1, 1, 1));
        assert_eq!(
            d.to_string(),
            "b: throughput faster in 1, slower in 1 and within noise in 1 of the 3 cells it shares with a (median ratio 1.00, from 0.500 on wal always fillrandom t1 to 2.00 on btree always fillrandom t1); p99 lower in 0, higher in 0"
        );
        assert_eq!(
            Difference::of("b", "a", &[], 0).to_string(),
            "b: no cell in common with a"
        );
        let d = Difference::of("b", "a", &refs, 3);
        assert!(d.to_string().ends_with("(every cell measured once on one side at least: no interval to tell a change from noise; --repeat 3 gives one)"), "{d}");
    }

    #[test]
    fn ratios_read_with_three_digits() {
        assert_eq!(ratio_text(0.002_634), "0.00263");
        assert_eq!(ratio_text(19.43), "19.4");
        assert_eq!(ratio_text(380.2), "380");
    }
}
