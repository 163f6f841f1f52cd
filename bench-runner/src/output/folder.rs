//! The results folder: where it goes and how it is named, run ids and
//! timestamps, and the writer that stores the rows after every cell.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use results::{CeilingRow, EventRow, LatencyRow, ProbeRow, ResultsDir, RunRow, TimelineRow};

use crate::cli::plan::OutDir;
use crate::output::reporter::{Repetition, Report};
use crate::output::rows::{self, CellId};

/// UTC civil time from a Unix timestamp (Howard Hinnant's algorithm).
fn civil(secs: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Current time as RFC 3339 UTC.
pub fn utc_now() -> String {
    let (y, mo, d, h, mi, s) = civil(now_secs());
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

fn stamp() -> String {
    let (y, mo, d, h, mi, s) = civil(now_secs());
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

/// A run identifier: host and UTC start time.
pub fn run_id(host: &str) -> String {
    format!("{}-{}", sanitize(host), stamp())
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The results folder: `--out`, or a new `./bench-results/<host>-<command>-<time>`.
/// Created and checked for writability before anything is measured.
pub fn results_dir(out: Option<&Path>, host: &str, command: &str) -> Result<ResultsDir> {
    let path = match out {
        Some(p) => p.to_path_buf(),
        None => {
            let base = PathBuf::from("bench-results");
            let mut p = base.join(format!("{}-{command}-{}", sanitize(host), stamp()));
            let mut n = 1;
            while p.exists() {
                n += 1;
                p = base.join(format!("{}-{command}-{}-{n}", sanitize(host), stamp()));
            }
            p
        }
    };
    if path.is_dir() {
        // Adding to an existing folder (`crash`, `recovery`): not one in a
        // format newer than this binary writes.
        ResultsDir::open(&path).with_context(|| format!("--out {}", path.display()))?;
    }
    ResultsDir::create(&path).with_context(|| format!("--out {}", path.display()))
}

/// The results folder of a command that starts one afresh (`run`,
/// `probe`): as [`results_dir`], after removing the old folder whole when
/// the plan says to replace it (`--force`, checked by the plan).
pub fn fresh_results_dir(out: &OutDir, host: &str, command: &str) -> Result<ResultsDir> {
    if let (Some(path), true) = (&out.path, out.replace) {
        std::fs::remove_dir_all(path)
            .with_context(|| format!("--force: remove the old --out {}", path.display()))?;
        eprintln!("bench-runner: --force: replaced {}", path.display());
    }
    results_dir(out.path.as_deref(), host, command)
}

/// The durable results files of a run: `probe.csv`, `runs.csv` (the
/// median of each cell's repetitions so far), `repetitions.csv`,
/// `latency.csv`, `hgrm/` and `hist/` (of each cell's median repetition), and
/// `skipped.csv`. Every file is rewritten after every measurement, so an
/// interrupted run keeps everything measured.
#[derive(Debug)]
pub struct ResultsWriter {
    dir: ResultsDir,
    /// Per cell (matrix order): its identity and repetitions, or its failure.
    cells: Vec<Option<CellRecord>>,
}

#[derive(Debug)]
enum CellRecord {
    Measured(CellId, Vec<Repetition>),
    Failed(Box<RunRow>),
}

impl ResultsWriter {
    /// Writes into `dir`, for a matrix of `cells` cells.
    pub fn new(dir: ResultsDir, cells: usize) -> Self {
        ResultsWriter {
            dir,
            cells: (0..cells).map(|_| None).collect(),
        }
    }

    /// The `runs.csv` rows so far, in matrix order.
    pub fn rows(&self) -> Vec<RunRow> {
        self.cells
            .iter()
            .flatten()
            .map(|c| match c {
                CellRecord::Measured(_, reps) => {
                    rows::aggregate(&reps.iter().map(|r| r.row.clone()).collect::<Vec<_>>())
                }
                CellRecord::Failed(row) => (**row).clone(),
            })
            .collect()
    }

    /// Writes `skipped.csv`.
    pub fn write_skipped(&self, skipped: &[results::SkippedRow]) -> Result<()> {
        results::write_csv_with_header(&self.dir.skipped(), skipped)?;
        Ok(())
    }

    /// The repetition whose ops/s is the median of the cell's.
    fn median_rep(reps: &[Repetition]) -> Option<&Repetition> {
        let mut order: Vec<&Repetition> = reps.iter().collect();
        order.sort_by(|a, b| a.row.ops_per_sec.total_cmp(&b.row.ops_per_sec));
        order.get(order.len() / 2).copied()
    }

    fn flush(&self) -> Result<()> {
        let mut reps: Vec<RunRow> = Vec::new();
        let mut latency: Vec<LatencyRow> = Vec::new();
        let mut timeline: Vec<TimelineRow> = Vec::new();
        let mut events: Vec<EventRow> = Vec::new();
        for c in self.cells.iter().flatten() {
            match c {
                CellRecord::Measured(_, r) => {
                    reps.extend(r.iter().map(|x| x.row.clone()));
                    for x in r {
                        timeline.extend(x.timeline.iter().cloned());
                        events.extend(x.events.iter().cloned());
                    }
                    if let Some(m) = Self::median_rep(r) {
                        latency.extend(m.latency.iter().cloned());
                    }
                }
                CellRecord::Failed(row) => reps.push((**row).clone()),
            }
        }
        results::write_csv(&self.dir.runs(), &self.rows())?;
        results::write_csv(&self.dir.repetitions(), &reps)?;
        results::write_csv(&self.dir.latency(), &latency)?;
        results::write_csv_with_header(&self.dir.timeline(), &timeline)?;
        results::write_csv_with_header(&self.dir.events(), &events)?;
        Ok(())
    }
}

impl Report for ResultsWriter {
    fn probe_measured(&mut self, rows: &[ProbeRow]) -> Result<()> {
        results::write_csv(&self.dir.probe(), rows)?;
        Ok(())
    }

    fn ceilings_measured(&mut self, rows: &[CeilingRow]) -> Result<()> {
        results::write_csv(&self.dir.ceilings(), rows)?;
        Ok(())
    }

    fn repetition_measured(&mut self, cell: usize, id: &CellId, rep: &Repetition) -> Result<()> {
        let slot = &mut self.cells[cell];
        let copy = Repetition {
            row: rep.row.clone(),
            latency: rep.latency.clone(),
            hists: rep.hists.clone(),
            timeline: rep.timeline.clone(),
            events: rep.events.clone(),
        };
        match slot {
            Some(CellRecord::Measured(_, reps)) => reps.push(copy),
            _ => *slot = Some(CellRecord::Measured(id.clone(), vec![copy])),
        }
        if let Some(CellRecord::Measured(id, reps)) = &self.cells[cell] {
            if let Some(m) = Self::median_rep(reps) {
                for (op, h) in &m.hists {
                    let stem = id.hgrm_stem(op);
                    results::write_hgrm(&self.dir.hgrm(&stem), h)?;
                    results::write_hist(&self.dir.hist(&stem), h)?;
                }
            }
        }
        self.flush()
    }

    fn cell_failed(&mut self, cell: usize, row: &RunRow) -> Result<()> {
        self.cells[cell] = Some(CellRecord::Failed(Box::new(row.clone())));
        self.flush()
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_795_564_800 + 3661), (2026, 11, 25, 1, 1, 1));
    }
}
