//! The report's tables and warnings: the probe's ceilings, every cell with
//! its interval and flags, and the box of warnings a reader must see before
//! the figures (a disk whose syncs may not reach stable storage, noisy cells).

use std::fmt::Write as _;

use results::warnings::EFFICIENCY_SUSPECT;
use results::{CeilingRow, Environment, ProbeRow, RunRow, Warnings};

use crate::cells::{
    or_dash, plus_minus, sig, spread_flagged, supported, timed_ops, FLAG, SPREAD_FLAG,
};
use crate::chart::human;

/// The warnings as one box: a line per cause, its title first.
pub(crate) fn warnings_md(m: &mut String, warnings: &Warnings) {
    if warnings.is_empty() {
        return;
    }
    let _ = writeln!(m, "> {FLAG} **Read the figures with these in mind:**\n>");
    for w in warnings {
        let _ = writeln!(m, "> - **{}.** {w}", w.title());
    }
    let _ = writeln!(m);
}

/// The machine and the disk, as `environment.json` recorded them.
pub(crate) fn environment_md(m: &mut String, e: &Environment) {
    let _ = writeln!(m, "| property | value |\n|---|---|");
    let _ = writeln!(m, "| machine | {} (label `{}`) |", e.host, e.label);
    let _ = writeln!(m, "| CPU | {} ({} cores) |", e.cpu_model, e.cpu_cores);
    let _ = writeln!(
        m,
        "| memory | {:.1} GiB |",
        e.memory_bytes as f64 / (1u64 << 30) as f64
    );
    let _ = writeln!(m, "| OS / kernel | {} / {} |", e.os, e.kernel);
    let _ = writeln!(
        m,
        "| virtualisation | {} |",
        e.virtualization.as_deref().unwrap_or("none detected")
    );
    match &e.disk {
        Some(disk) => {
            let _ = writeln!(
                m,
                "| disk path | `{}` (mount point `{}`) |",
                disk.path.display(),
                disk.mount_point.display()
            );
            let _ = writeln!(m, "| filesystem | {} |", disk.filesystem);
            let _ = writeln!(m, "| mount options | `{}` |", disk.mount_options);
            if let Some(j) = &disk.journal {
                let _ = writeln!(m, "| journal | {j} |");
            }
            let _ = writeln!(
                m,
                "| device | {} |",
                disk.device.as_deref().unwrap_or(&disk.source)
            );
            let _ = writeln!(
                m,
                "| model | {} |",
                disk.model.as_deref().unwrap_or("unknown")
            );
            let _ = writeln!(
                m,
                "| rotational | {} |",
                disk.rotational
                    .map_or("unknown", |r| if r { "yes" } else { "no" })
            );
            let _ = writeln!(
                m,
                "| write cache | {} |",
                disk.write_cache.as_deref().unwrap_or("unknown")
            );
            let _ = writeln!(
                m,
                "| sectors | logical {} B, physical {} B |",
                disk.logical_sector_bytes
                    .map_or("?".into(), |v| v.to_string()),
                disk.physical_sector_bytes
                    .map_or("?".into(), |v| v.to_string())
            );
        }
        None => {
            let _ = writeln!(m, "| disk | not recorded (no `--disk`) |");
        }
    }
    let _ = writeln!(
        m,
        "| tool | bench-runner {}{} |",
        e.tool_version,
        e.git_commit
            .as_deref()
            .map_or(String::new(), |c| format!(" ({c})"))
    );
    let _ = writeln!(m, "| started | {} |", e.started_utc);
}

/// The ceilings measured again at the start of each repetition round
/// (`ceilings.csv`): nothing without one.
pub(crate) fn ceilings_md(m: &mut String, rows: &[CeilingRow]) {
    let by = results::ceilings::ceilings_by_pattern(rows);
    let rounds = rows.iter().map(|r| r.round).max().unwrap_or(0);
    if rounds == 0 {
        return;
    }
    let _ = writeln!(
        m,
        "### The ceilings over the run
"
    );
    let _ = writeln!(m, "Each ceiling a cell used was measured again at the start of every later repetition round (round 0 is the probe above, its median round). A repetition's ceiling is the median of every measurement so far, the probe's rounds each counted: the last column is what the final round's cells were held to.
");
    let mut head = String::from("| ceiling |");
    let mut rule = String::from("|---|");
    for r in 0..=rounds {
        head.push_str(&format!(" round {r} |"));
        rule.push_str("---:|");
    }
    let _ = writeln!(
        m,
        "{head} spread | held to |
{rule}---:|---:|"
    );
    for (name, v) in by {
        let mut line = format!("| `{name}` |");
        for r in 0..=rounds {
            match v.iter().find(|c| c.round == r) {
                Some(c) => line.push_str(&format!(" {:.0} |", c.ops_per_sec)),
                None => line.push_str(" - |"),
            }
        }
        let (lo, hi, pooled) = results::ceilings::ceiling_spread(&v).unwrap_or_default();
        let spread = if pooled > 0.0 {
            (hi - lo) / pooled
        } else {
            0.0
        };
        let _ = writeln!(m, "{line} {:.0}% | {pooled:.0} |", spread * 100.0);
    }
    let _ = writeln!(m);
}

/// The probe's patterns: what the disk itself does without an engine.
pub(crate) fn probe_md(m: &mut String, probe: &[ProbeRow]) {
    let _ = writeln!(m, "What the disk itself does for each access pattern, without an engine: the ceiling each cell's efficiency is measured against (a cell is compared with the best pattern for its sync cadence, record size and thread count). `append` writes grow a file; `overwrite` writes go to space already allocated (`prepared`: a file `written` once, or reserved with `fallocate`), which needs no journal commit per sync. ops/s is the median of the rounds, min..max their range.\n");
    let _ = writeln!(
        m,
        "| pattern | prepared | record B | writes/sync | threads | layout | ops/s | min..max | p50 µs | p99 µs | p99.9 µs | max µs | flushes/sync | warning |\n|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for p in probe {
        let range = match (p.ops_per_sec_min, p.ops_per_sec_max) {
            (Some(lo), Some(hi)) => format!("{}..{}", human(lo), human(hi)),
            _ => "-".into(),
        };
        let _ = writeln!(
            m,
            "| `{}` | {} | {} | {} | {} | {} | {:.0} | {range} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {} |",
            p.pattern,
            if p.prepared.is_empty() { "-" } else { &p.prepared },
            p.record_bytes,
            p.writes_per_sync,
            or_dash(p.threads, |t| t.to_string()),
            if p.layout.is_empty() { "-" } else { &p.layout },
            p.ops_per_sec,
            p.p50_us,
            p.p99_us,
            p.p999_us,
            p.max_us,
            or_dash(p.flushes_per_sync, |f| sig(f, 2)),
            if p.warning.is_empty() {
                String::new()
            } else {
                // The full text is in the report's warnings.
                format!("{FLAG} may not be durable (see the warnings)")
            }
        );
    }
    let _ = writeln!(m);
}

/// Syncs a cell issued (file + directory); `-` where they were not counted.
fn syncs(r: &RunRow) -> String {
    match (r.file_syncs, r.dir_syncs) {
        (Some(f), d) => (f + d.unwrap_or(0)).to_string(),
        (None, Some(d)) => d.to_string(),
        (None, None) => "-".into(),
    }
}

/// A device figure, flagged when the cell was noisy.
fn device_figure(r: &RunRow, v: Option<f64>, digits: u32) -> String {
    match v {
        None => "-".into(),
        Some(v) if r.noisy == Some(true) => format!("{} {FLAG} noisy", sig(v, digits)),
        Some(v) => sig(v, digits),
    }
}

/// Every finished cell, one line each, with the footnotes its marks need.
pub(crate) fn cells_md(m: &mut String, runs: &[RunRow]) {
    let _ = writeln!(
        m,
        "Medians over repetitions; the full rows (CPU, bytes, device I/Os, intervals of p99) are in `runs.csv`. `-` = not measured (a `0` is a counted zero).\n"
    );
    let _ = writeln!(
        m,
        "| engine | policy | workload | threads | value B | ops/s | ± | p50 µs | p99 µs | p99.9 µs | syncs | writes/sync | flushes/write | engine WA | device WA | efficiency |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let (mut thin_tail, mut below_engine, mut open_loop, mut above_one) =
        (false, false, false, false);
    for r in runs {
        let pm = plus_minus(r);
        let flag = if spread_flagged(r) { FLAG } else { "" };
        let mut tail = |p: f64, v: f64| {
            if supported(p, timed_ops(r)) {
                format!("{v:.1}")
            } else {
                thin_tail = true;
                format!("{v:.1}*")
            }
        };
        let p99 = tail(99.0, r.p99_us);
        let p999 = tail(99.9, r.p999_us);
        let engine_wa = if r.engine_bytes_written == 0 && r.engine_bytes_source.is_empty() {
            "-".into()
        } else {
            sig(r.engine_write_amp, 3)
        };
        let mut device_wa = device_figure(r, r.device_write_amp, 3);
        if r.device_bytes_written
            .is_some_and(|d| r.engine_bytes_written > 0 && d < r.engine_bytes_written)
        {
            below_engine = true;
            device_wa.push_str(" ↓");
        }
        let efficiency = if r.open_loop {
            open_loop = true;
            "- (open loop)".to_string()
        } else {
            match r.efficiency {
                Some(e) if e > EFFICIENCY_SUSPECT => {
                    above_one = true;
                    format!("{e:.2} {FLAG}")
                }
                e => or_dash(e, |e| format!("{e:.2}")),
            }
        };
        let _ = writeln!(
            m,
            "| {} | `{}` | {} | {} | {} | {:.0} | {}{} | {:.1} | {p99} | {p999} | {} | {} | {} | {engine_wa} | {device_wa} | {efficiency} |",
            r.engine,
            r.policy,
            r.workload,
            r.threads,
            r.value_size_bytes,
            r.ops_per_sec,
            if pm.is_empty() { "-".to_string() } else { pm },
            if flag.is_empty() { String::new() } else { format!(" {flag}") },
            r.p50_us,
            syncs(r),
            or_dash(r.writes_per_sync, |w| sig(w, 3)),
            device_figure(r, r.flushes_per_write, 3),
        );
    }
    let _ = writeln!(m);
    let mut notes: Vec<String> = vec![format!(
        "± is half the 95% confidence interval of the median; `(a..b)` is min..max, where no interval was computed or the interval ran past the observed range; {FLAG} after it: repetitions spread more than {:.0}%.",
        SPREAD_FLAG * 100.0
    )];
    if thin_tail {
        notes.push("`*` after a percentile: fewer timed operations than it needs (500 for p99, 5,000 for p99.9: five above it), so the figure is (close to) the largest latency, not that percentile.".into());
    }
    if below_engine {
        notes.push("`↓` after device WA: the device wrote fewer bytes than the engine handed to the kernel. Without a sync per write the page cache absorbs them: a page rewritten before writeback reaches the device once (LMDB under `none` rewrites its branch pages on every commit), and data in files deleted before writeback (compaction inputs, retired logs) never does; it is not a counting error.".into());
    }
    if open_loop {
        notes.push("An open-loop cell is held to a target rate, so its throughput says nothing about the disk's capacity: it has no efficiency.".into());
    }
    if above_one {
        notes.push(format!("{FLAG} after efficiency: above {EFFICIENCY_SUSPECT}: the probe's ceiling for this cadence is not the disk's best, or the disk drifted faster during the cell."));
    }
    for n in notes {
        let _ = writeln!(m, "- {n}");
    }
    let _ = writeln!(m);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(round: u32, rate: f64, pooled: f64) -> CeilingRow {
        CeilingRow {
            round,
            pattern: "overwrite+fdatasync".into(),
            record_bytes: 137,
            writes_per_sync: 1,
            threads: 1,
            prepared: "fallocate".into(),
            ops_per_sec: rate,
            pooled_ops_per_sec: pooled,
            ..CeilingRow::default()
        }
    }

    #[test]
    fn ceilings_over_the_run_show_each_round_the_spread_and_the_final_ceiling() {
        let mut m = String::new();
        ceilings_md(&mut m, &[row(0, 10_000.0, 10_000.0)]);
        assert!(m.is_empty(), "the probe alone is in the probe table: {m}");
        ceilings_md(
            &mut m,
            &[
                row(0, 10_000.0, 10_000.0),
                row(2, 7_000.0, 9_000.0),
                row(1, 9_000.0, 9_500.0),
            ],
        );
        assert!(m.contains("### The ceilings over the run"), "{m}");
        assert!(
            m.contains("| round 0 | round 1 | round 2 | spread | held to |"),
            "{m}"
        );
        assert!(
            m.contains(
                "| `overwrite+fdatasync 137 B (fallocate)` | 10000 | 9000 | 7000 | 33% | 9000 |"
            ),
            "{m}"
        );
    }
}
