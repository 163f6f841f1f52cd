//! The tables on stdout (comfy-table): the run's summary with intervals and
//! flags, and the probe's ceilings.

use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{CellAlignment, Table};
use results::{ProbeRow, RunRow};

use crate::output::reporter::Report;

use results::warnings::{EFFICIENCY_SUSPECT, SPREAD_FLAG};

fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header(header.to_vec());
    t
}

fn right_align(t: &mut Table, from: usize) {
    let n = t.column_count();
    for i in from..n {
        if let Some(c) = t.column_mut(i) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

/// `12,345 ± 3%` (half the confidence interval), or the bare median.
fn ops_with_interval(r: &RunRow) -> String {
    let ops = format!("{:.0}", r.ops_per_sec);
    match (r.ops_per_sec_ci_low, r.ops_per_sec_ci_high) {
        (Some(lo), Some(hi)) if r.ops_per_sec > 0.0 => {
            format!("{ops} ± {:.0}%", 50.0 * (hi - lo) / r.ops_per_sec)
        }
        _ => ops,
    }
}

/// Flags a reader must see next to a row's figures.
pub fn flags(r: &RunRow) -> Vec<&'static str> {
    let mut f = Vec::new();
    if r.ops_per_sec_spread.is_some_and(|s| s > SPREAD_FLAG) {
        f.push("spread>10%");
    }
    if r.noisy == Some(true) {
        f.push("noisy device");
    }
    if r.efficiency.is_some_and(|e| e > EFFICIENCY_SUSPECT) {
        f.push("above ceiling");
    }
    if r.device_bytes_written
        .is_some_and(|d| d < r.engine_bytes_written)
    {
        f.push("device<engine bytes");
    }
    f
}

/// The run's summary table.
pub fn run_table(rows: &[RunRow]) -> String {
    let mut t = table(&[
        "engine", "policy", "workload", "thr", "ops/s", "p99 µs", "w/sync", "flush/w", "eff.",
        "flags",
    ]);
    for r in rows {
        if r.status != "ok" {
            t.add_row(vec![
                r.engine.clone(),
                r.policy.clone(),
                r.workload.clone(),
                r.threads.to_string(),
                r.status.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                r.error.clone(),
            ]);
            continue;
        }
        t.add_row(vec![
            r.engine.clone(),
            r.policy.clone(),
            r.workload.clone(),
            r.threads.to_string(),
            ops_with_interval(r),
            format!("{:.1}", r.p99_us),
            opt(r.writes_per_sync, 1),
            opt(r.flushes_per_write, 2),
            opt(r.efficiency, 2),
            flags(r).join(", "),
        ]);
    }
    right_align(&mut t, 3);
    t.to_string()
}

/// The probe's table.
pub fn probe_table(rows: &[ProbeRow]) -> String {
    let mut t = table(&[
        "pattern",
        "bytes",
        "writers",
        "ops/s",
        "min..max",
        "p50 µs",
        "p99 µs",
        "flush/sync",
    ]);
    for r in rows {
        let mut pattern = r.pattern.clone();
        if r.prepared == "fallocate" {
            pattern.push_str(" (fallocate)");
        }
        let writers = match (r.threads.unwrap_or(1), r.layout.as_str()) {
            (1, _) => "1".to_string(),
            (n, layout) => format!("{n} {layout}"),
        };
        let range = match (r.ops_per_sec_min, r.ops_per_sec_max) {
            (Some(lo), Some(hi)) => format!("{lo:.0}..{hi:.0}"),
            _ => "-".into(),
        };
        t.add_row(vec![
            pattern,
            r.record_bytes.to_string(),
            writers,
            format!("{:.0}", r.ops_per_sec),
            range,
            format!("{:.1}", r.p50_us),
            format!("{:.1}", r.p99_us),
            opt(r.flushes_per_sync, 2),
        ]);
    }
    right_align(&mut t, 1);
    t.to_string()
}

/// Prints the summary table on stdout when a run completes.
#[derive(Debug, Default)]
pub struct StdoutTable;

impl Report for StdoutTable {
    fn run_finished(&mut self, rows: &[RunRow], complete: bool) -> anyhow::Result<()> {
        if complete && !rows.is_empty() {
            outln!("{}", run_table(rows))?;
            let flagged = rows.iter().filter(|r| !flags(r).is_empty()).count();
            if flagged > 0 {
                outln!("{flagged} cell(s) flagged: spread>10% = ops/s varied more than 10% between repetitions (rerun on a quieter machine or with more --repeat); noisy device = other I/O on the disk drowned the cell's device figures; above ceiling = faster than the probe's best pattern for its cadence (a pattern the probe lacks, or disk drift); device<engine bytes = the page cache absorbed writes (pages rewritten, or files deleted, before writeback).")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_policies_keep_their_columns() {
        let row = RunRow {
            engine: "wal".into(),
            policy: "batch:32+dir@fsync".into(),
            workload: "fillrandom".into(),
            status: "ok".into(),
            ops_per_sec: 1000.0,
            ops_per_sec_ci_low: Some(950.0),
            ops_per_sec_ci_high: Some(1050.0),
            ops_per_sec_spread: Some(0.2),
            noisy: Some(true),
            ..RunRow::default()
        };
        let t = run_table(&[row]);
        assert!(t.contains("batch:32+dir@fsync"), "{t}");
        assert!(t.contains("1000 ± 5%"), "{t}");
        assert!(t.contains("spread>10%, noisy device"), "{t}");
        // Unmeasured figures are dashes, never 0.
        assert!(t.contains(" - "), "{t}");
    }
}
