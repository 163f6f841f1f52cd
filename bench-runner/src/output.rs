//! Where results go: folder naming, progress on stderr, the rows written
//! after every cell, and the table on stdout.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use results::{LatencyRow, ResultsDir, RunRow};

use crate::plan::OutDir;
use crate::rows::{self, CellId};

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

/// Progress and ETA on stderr (silent when quiet or not a terminal).
#[derive(Debug)]
pub struct Progress {
    quiet: bool,
    total: usize,
    done: usize,
    spent: Duration,
}

impl Progress {
    /// Progress over `total` cells.
    pub fn new(quiet: bool, total: usize) -> Self {
        Progress {
            quiet,
            total,
            done: 0,
            spent: Duration::ZERO,
        }
    }

    /// A free-form step (probe patterns).
    pub fn note(&mut self, msg: &str) {
        if !self.quiet {
            eprint!("\r\x1b[2K{msg}");
            let _ = std::io::stderr().flush();
        }
    }

    /// A cell starts.
    pub fn start(&mut self, what: &str) {
        if self.quiet {
            return;
        }
        let eta = if self.done == 0 {
            String::from("ETA --")
        } else {
            let per = self.spent / self.done as u32;
            let left = per * (self.total - self.done) as u32;
            format!("ETA {}m{:02}s", left.as_secs() / 60, left.as_secs() % 60)
        };
        eprint!(
            "\r\x1b[2K[{:>3}/{}] {what} ({eta})",
            self.done + 1,
            self.total
        );
        let _ = std::io::stderr().flush();
    }

    /// A cell ended.
    pub fn done(&mut self, took: Duration, result: &str) {
        self.done += 1;
        self.spent += took;
        if !self.quiet {
            eprintln!(": {result}");
        }
    }

    /// Clears the progress line.
    pub fn finish(&mut self) {
        if !self.quiet {
            eprint!("\r\x1b[2K");
        }
    }
}

/// Histograms of one cell by operation name.
pub type Hists = Vec<(String, Histogram<u64>)>;
/// One repetition's row, latency rows and histograms.
pub type Repetition = (RunRow, Vec<LatencyRow>, Hists);

/// Accumulates rows and rewrites the CSV files after every cell, durably.
#[derive(Debug)]
pub struct RowsWriter {
    dir: ResultsDir,
    runs: Vec<RunRow>,
    reps: Vec<RunRow>,
    latency: Vec<LatencyRow>,
}

impl RowsWriter {
    /// Writes into `dir`.
    pub fn new(dir: ResultsDir) -> Self {
        RowsWriter {
            dir,
            runs: Vec::new(),
            reps: Vec::new(),
            latency: Vec::new(),
        }
    }

    /// The `runs.csv` rows so far.
    pub fn rows(&self) -> &[RunRow] {
        &self.runs
    }

    /// Records a finished cell: its repetitions, the median row, the latency
    /// rows and hgrm files of the median repetition.
    pub fn add_cell(&mut self, id: &CellId, reps: Vec<Repetition>) -> Result<()> {
        let rows: Vec<RunRow> = reps.iter().map(|r| r.0.clone()).collect();
        let agg = rows::aggregate(&rows);
        let mut order: Vec<usize> = (0..reps.len()).collect();
        order.sort_by(|&a, &b| rows[a].ops_per_sec.total_cmp(&rows[b].ops_per_sec));
        if let Some(&mid) = order.get(order.len() / 2) {
            let (_, lat, hists) = &reps[mid];
            self.latency.extend(lat.iter().cloned());
            for (op, h) in hists {
                results::write_hgrm(&self.dir.hgrm(&format!("{}_{op}", id.file_stem())), h)?;
            }
        }
        self.reps.extend(rows);
        self.runs.push(agg);
        self.flush()
    }

    /// Records a failed cell.
    pub fn add_failed(&mut self, row: RunRow) -> Result<()> {
        self.reps.push(row.clone());
        self.runs.push(row);
        self.flush()
    }

    fn flush(&self) -> Result<()> {
        results::write_csv(&self.dir.runs(), &self.runs)?;
        results::write_csv(&self.dir.repetitions(), &self.reps)?;
        results::write_csv(&self.dir.latency(), &self.latency)?;
        Ok(())
    }
}

/// The short table on stdout: engine, policy, workload, threads, ops/s, p99, efficiency.
pub fn print_table(rows: &[RunRow]) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{:<8} {:<14} {:<11} {:>3} {:>11} {:>10} {:>8} {:>10}",
        "engine", "policy", "workload", "thr", "ops/s", "p99 us", "w/sync", "efficiency"
    );
    for r in rows {
        if r.status != "ok" {
            let _ = writeln!(
                out,
                "{:<8} {:<14} {:<11} {:>3} {:>11}  {}",
                r.engine, r.policy, r.workload, r.threads, r.status, r.error
            );
            continue;
        }
        let eff = r
            .efficiency
            .map(|e| format!("{e:.2}"))
            .unwrap_or_else(|| "-".into());
        let wps = r
            .writes_per_sync
            .map_or_else(|| "-".into(), |w| format!("{w:.1}"));
        let _ = writeln!(
            out,
            "{:<8} {:<14} {:<11} {:>3} {:>11.0} {:>10.1} {:>8} {:>10}",
            r.engine, r.policy, r.workload, r.threads, r.ops_per_sec, r.p99_us, wps, eff
        );
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
