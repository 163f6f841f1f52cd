//! The recovery section: reopen time against data size (`recovery.csv`),
//! log-log, one colour per engine x policy, solid after a SIGKILL and
//! dashed after a clean close; and its table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use results::{RecoveryRow, ResultsDir};

use crate::chart::human;
use crate::figures::{ordered, FigureSet};
use crate::loglog::{render, Line, LogLogChart};
use crate::PlotError;

/// The recovery section's markdown (a `## Recovery` heading, the chart and
/// the table), or nothing when the folder has no `recovery.csv`.
pub(crate) fn section(
    rd: &ResultsDir,
    figs: &mut FigureSet,
    corner: &str,
) -> Result<String, PlotError> {
    if !rd.recovery().exists() {
        return Ok(String::new());
    }
    let rows: Vec<RecoveryRow> = results::read_csv(&rd.recovery())?;
    let mut md = String::new();
    let _ = writeln!(md, "## Recovery\n");
    if rows.is_empty() {
        let _ = writeln!(md, "`recovery.csv` has no finished line.\n");
        return Ok(md);
    }
    let _ = writeln!(
        md,
        "How long each engine takes to reopen and answer its first read (the last acknowledged key), after a clean close and after a SIGKILL during its last writes, against the number of keys in the store. Each recovered state was checked against the acknowledged writes: a line marked LOST reopened fast by losing data. What drives each engine's cost is in docs/methodology.md (Recovery).\n"
    );
    let first = figs.figures.len();
    let pairs = ordered(rows.iter().map(|r| (r.engine.clone(), policy_label(r))));
    let mut lines = Vec::new();
    for (i, (engine, policy)) in pairs.iter().enumerate() {
        let mine: Vec<&RecoveryRow> = rows
            .iter()
            .filter(|r| &r.engine == engine && &policy_label(r) == policy)
            .collect();
        for (dashed, what, get) in [
            (
                false,
                "after kill",
                (|r: &RecoveryRow| r.reopen_after_kill_ms) as fn(&RecoveryRow) -> Option<f64>,
            ),
            (true, "clean", |r: &RecoveryRow| r.reopen_clean_ms),
        ] {
            let mut points: Vec<(f64, f64)> = mine
                .iter()
                .filter_map(|r| get(r).filter(|v| *v > 0.0).map(|v| (r.keys as f64, v)))
                .collect();
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            lines.push(Line {
                name: format!("{engine} {policy}, {what}"),
                style: i,
                dashed,
                points,
            });
        }
    }
    let chart = LogLogChart {
        title: "Recovery time against data size".into(),
        corner: corner.to_string(),
        x_desc: "keys in the store (log scale)".into(),
        y_desc: "reopen + first read, ms (log scale)".into(),
        lines,
        rules: Vec::new(),
    };
    if chart.lines.iter().any(|l| !l.points.is_empty()) {
        figs.drawn(
            "recovery",
            chart.title.clone(),
            "Reopen plus the first read, in milliseconds (median over repetitions), against the keys in the store, both axes logarithmic. Solid: after a SIGKILL during the last writes; dashed: after a clean close. A line that rises with the keys replays or scans in proportion to the data; a flat one opens in constant time.".into(),
            |base, formats| render(base, &chart, formats),
        )?;
    }
    md.push_str(&figs.markdown_since(first, "###"));
    md.push_str(&table(&rows));
    Ok(md)
}

/// The policy, marked when the page cache was dropped before the reopens.
fn policy_label(r: &RecoveryRow) -> String {
    if r.page_cache == "cold" {
        format!("{} (cold cache)", r.policy)
    } else {
        r.policy.clone()
    }
}

fn ms(v: Option<f64>, lo: Option<f64>, hi: Option<f64>) -> String {
    match (v, lo, hi) {
        (Some(v), Some(l), Some(h)) => format!("{v:.1} ± {:.1}", (h - l) / 2.0),
        (Some(v), _, _) => format!("{v:.1}"),
        _ => "-".into(),
    }
}

fn table(rows: &[RecoveryRow]) -> String {
    let b = |v: Option<u64>| v.map(|x| human(x as f64)).unwrap_or_else(|| "-".into());
    let mut m = String::new();
    let _ = writeln!(m, "| engine | policy | keys | data bytes | clean ms | after kill ms | log bytes at kill | bytes replayed | recovered |");
    let _ = writeln!(m, "|---|---|---:|---:|---:|---:|---:|---:|---|");
    for r in rows {
        let ok = if r.recovered_ok {
            "ok".to_string()
        } else {
            format!("**LOST** ({} writes): {}", r.lost_writes, r.problem)
        };
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.engine,
            policy_label(r),
            human(r.keys as f64),
            human(r.data_bytes as f64),
            ms(
                r.reopen_clean_ms,
                r.reopen_clean_ms_ci_low,
                r.reopen_clean_ms_ci_high
            ),
            ms(
                r.reopen_after_kill_ms,
                r.reopen_after_kill_ms_ci_low,
                r.reopen_after_kill_ms_ci_high
            ),
            b(r.log_bytes_at_kill),
            b(r.bytes_replayed),
            ok
        );
    }
    let _ = writeln!(m, "\n`-`: not measured or not known (engines that do their own I/O report no bytes replayed; an engine without a log file has no log bytes). `±`: half the 95% interval of the median.\n");
    m
}

/// The recovery part of a comparison: writes `recovery_compare.csv` into
/// `out` and returns a `## Recovery` section, or nothing when no folder has
/// `recovery.csv`.
pub(crate) fn compare_section(
    dirs: &[PathBuf],
    labels: &[String],
    out: &Path,
) -> Result<String, PlotError> {
    let rows = results::compare_recovery(dirs, labels)?;
    if rows.is_empty() {
        return Ok(String::new());
    }
    results::write_csv(&out.join("recovery_compare.csv"), &rows)?;
    let mut m = String::new();
    let _ = writeln!(m, "## Recovery\n");
    let _ = writeln!(m, "Reopen plus the first read (ms, median) of the same engine, policy and size on each run; the ratio is against the baseline, and a change counts only when the two 95% intervals do not overlap (as for ops/s); a line measured once has no interval, so any difference counts. Full table: `recovery_compare.csv`.\n");
    let _ = writeln!(
        m,
        "| engine | policy | keys | run | clean ms | ratio | change | after kill ms | ratio | change | recovered |\n|---|---|---:|---|---:|---:|---|---:|---:|---|---|"
    );
    let num = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.1}"));
    let ratio = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.2}"));
    for r in &rows {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {}{} | {} | {} | {} | {} | {} | {} | {} |",
            r.engine,
            r.policy,
            human(r.keys as f64),
            r.run,
            if r.baseline { " (baseline)" } else { "" },
            num(r.reopen_clean_ms),
            ratio(r.clean_ratio),
            r.clean_change,
            num(r.reopen_after_kill_ms),
            ratio(r.kill_ratio),
            r.kill_change,
            if r.recovered_ok { "ok" } else { "**LOST**" }
        );
    }
    let _ = writeln!(m);
    Ok(m)
}
