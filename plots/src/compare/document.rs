//! `compare.md`: the runs, what differs between their machines, warnings,
//! both probes' ceilings side by side, and every matched cell with ratios
//! and whether the difference is a change or within noise.

use std::fmt::Write as _;

use results::compare::{CompareRow, Comparison, IntervalKind};
use results::ProbeRow;

use crate::cells::{sig, FLAG};
use crate::chart::human;
use crate::figures::{ordered, FigureSet};

fn ratio_text(r: Option<f64>) -> String {
    super::ratio_text(r)
}

/// `5.2k ±4%` or `5.2k (4.9k..5.4k)` from a compare row's interval.
fn ops_with_interval(r: &CompareRow) -> String {
    let v = human(r.ops_per_sec);
    match (r.interval_kind(), r.ops_per_sec_low, r.ops_per_sec_high) {
        (Some(IntervalKind::Ci95), Some(lo), Some(hi)) if r.ops_per_sec > 0.0 => {
            format!("{v} ±{}%", sig(50.0 * (hi - lo) / r.ops_per_sec, 2))
        }
        (_, Some(lo), Some(hi)) if human(lo) != human(hi) => {
            format!("{v} ({}..{})", human(lo), human(hi))
        }
        _ => v,
    }
}

/// The change column: `faster`/`slower` in bold, `within noise` plain, a
/// mark when either side was measured once (no interval to judge by).
fn change_text(r: &CompareRow, base: Option<&CompareRow>, change: &str) -> String {
    let once = |r: &CompareRow| r.interval_kind() == Some(IntervalKind::Single);
    let single = once(r) || base.is_some_and(once);
    match change {
        "" => "-".into(),
        "within noise" => "within noise".into(),
        c if single => format!("**{c}**¹"),
        c => format!("**{c}**"),
    }
}

type ProbeKey = (String, String, u64, u64, u32, String);

fn probe_key(p: &ProbeRow) -> ProbeKey {
    (
        p.pattern.clone(),
        p.prepared.clone(),
        p.record_bytes,
        p.writes_per_sync,
        p.threads.unwrap_or(1),
        p.layout.clone(),
    )
}

/// Both (all) probes' ceilings side by side, with ratios to the baseline.
pub(crate) fn probes_md(m: &mut String, cmp: &Comparison, labels: &[String]) {
    let _ = writeln!(m, "## Device ceilings side by side (probe)\n");
    if cmp.runs.iter().all(|r| r.folder.probe.is_empty()) {
        let _ = writeln!(m, "No run has a `probe.csv`.\n");
        return;
    }
    for r in cmp.runs.iter().filter(|r| r.folder.probe.is_empty()) {
        let _ = writeln!(m, "- {} has no `probe.csv`.", r.label);
    }
    let _ = writeln!(m, "What each disk does without an engine, in ops/s (median of the probe's rounds); the ratio is against the baseline ({}).\n", labels.first().map_or("", String::as_str));
    let mut head =
        String::from("| pattern | prepared | record B | writes/sync | threads | layout |");
    let mut rule = String::from("|---|---|---:|---:|---:|---|");
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(head, " {l} ops/s |");
        rule.push_str("---:|");
        if i > 0 {
            head.push_str(" ratio |");
            rule.push_str("---:|");
        }
    }
    let _ = writeln!(m, "{head}\n{rule}");
    let keys = ordered(
        cmp.runs
            .iter()
            .flat_map(|r| r.folder.probe.iter().map(probe_key)),
    );
    for k in &keys {
        let of = |i: usize| cmp.runs[i].folder.probe.iter().find(|p| &probe_key(p) == k);
        let dash = |x: &str| {
            if x.is_empty() {
                "-".to_string()
            } else {
                x.to_string()
            }
        };
        let mut line = format!(
            "| `{}` | {} | {} | {} | {} | {} |",
            k.0,
            dash(&k.1),
            k.2,
            k.3,
            k.4,
            dash(&k.5)
        );
        let base = of(0).map(|p| p.ops_per_sec).filter(|v| *v > 0.0);
        for i in 0..cmp.runs.len() {
            let p = of(i);
            let warn = p.is_some_and(|p| !p.warning.is_empty());
            let _ = write!(
                line,
                " {}{} |",
                p.map_or("-".into(), |p| human(p.ops_per_sec)),
                if warn {
                    format!(" {FLAG}")
                } else {
                    String::new()
                }
            );
            if i > 0 {
                let r = p.zip(base).map(|(p, b)| p.ops_per_sec / b);
                let _ = write!(line, " {} |", ratio_text(r));
            }
        }
        let _ = writeln!(m, "{line}");
    }
    let _ = writeln!(m);
    if cmp
        .runs
        .iter()
        .any(|r| r.folder.probe.iter().any(|p| !p.warning.is_empty()))
    {
        let _ = writeln!(
            m,
            "{FLAG}: the probe warns that this disk may acknowledge syncs it has not made durable (see the warnings at the top).\n"
        );
    }
}

/// The answer first: how each run differs from the baseline over the
/// cells both ran, and how many cells some runs lack.
fn headline_md(m: &mut String, cmp: &Comparison) {
    let _ = writeln!(m, "## Headline: how each run differs from the baseline\n");
    differences_md(m, cmp, "run");
    let _ = writeln!(
        m,
        "The intervals and every cell's ratio are under *Matched cells* and in `compare.csv`.\n"
    );
    missing_md(m, cmp);
}

/// How many cells some runs lack, when some do.
pub(crate) fn missing_md(m: &mut String, cmp: &Comparison) {
    if let Some(missing) = cmp.missing_counts() {
        let _ = writeln!(
            m,
            "{missing}: they are not compared, and are listed under *Cells missing from some runs*.\n"
        );
    }
}

/// A line per run other than the baseline: the cells it shares with the
/// baseline, how many changed beyond noise either way, the median ratio
/// and the extremes; then how many cells some runs lack.
pub(crate) fn differences_md(m: &mut String, cmp: &Comparison, noun: &str) {
    let _ = writeln!(
        m,
        "| {noun} | cells shared | faster | slower | within noise | median ops/s ratio | lowest ratio | highest ratio | p99 lower | p99 higher | measured once |\n|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|"
    );
    let extreme = |e: &Option<(String, f64)>| {
        e.as_ref().map_or("-".into(), |(cell, r)| {
            format!("{} ({cell})", ratio_text(Some(*r)))
        })
    };
    for d in cmp.differences() {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            d.run,
            d.cells,
            d.faster,
            d.slower,
            d.ops_noise(),
            ratio_text(d.median_ratio),
            extreme(&d.lowest),
            extreme(&d.highest),
            d.p99_lower,
            d.p99_higher,
            d.once
        );
    }
    let _ = writeln!(m);
    let _ = writeln!(m, "Ratios are the {noun}'s ops/s divided by the baseline's for the same cell (above 1: faster). *Faster* and *slower* count the cells whose intervals do not overlap the baseline's; the rest are within noise. A cell *measured once* (on either side) has no interval, so any difference counts: `--repeat 3` gives one.\n");
}

/// The title, and a line naming the runs, the baseline and the warnings'
/// causes: the box comes after the answer, its causes are named before it.
fn lead_md(m: &mut String, cmp: &Comparison, name: &str, labels: &[String]) {
    let base = labels.first().cloned().unwrap_or_default();
    let _ = writeln!(m, "# bench-runner comparison: {name}\n");
    let mut lead = format!("Runs: {}. Baseline: **{base}**; ratios are each run's figure divided by the baseline's for the same cell (engine, policy, workload, threads, value size).", labels.join(", "));
    if !cmp.warnings.is_empty() {
        let titles: Vec<String> = cmp
            .warnings
            .iter()
            .map(|w| format!("*{}*", w.title()))
            .collect();
        let _ = write!(
            lead,
            " {FLAG} Warnings below the headline: {}.",
            titles.join("; ")
        );
    }
    let _ = writeln!(m, "{lead}\n");
}

/// The machine and disk fields that differ between the runs.
pub(crate) fn env_diff_md(m: &mut String, cmp: &Comparison, labels: &[String]) {
    let _ = writeln!(m, "## What differs between the machines\n");
    if cmp.env_diff.is_empty() {
        let _ = writeln!(m, "Nothing recorded in environment.json differs (CPU, kernel, filesystem, mount options, device, model, write cache).\n");
    } else {
        let _ = writeln!(
            m,
            "| field | {} |\n|---|{}",
            labels.join(" | "),
            "---|".repeat(labels.len())
        );
        for (k, v) in &cmp.env_diff {
            let _ = writeln!(m, "| {k} | {} |", v.join(" | "));
        }
        let _ = writeln!(m);
    }
}

/// The document: the answer first, then what to doubt, then the runs, the
/// machines, the ceilings, every cell and the charts.
pub(super) fn compare_markdown(
    cmp: &Comparison,
    name: &str,
    labels: &[String],
    figs: &FigureSet,
) -> String {
    let mut m = String::new();
    lead_md(&mut m, cmp, name, labels);
    headline_md(&mut m, cmp);
    crate::tables::warnings_md(&mut m, &cmp.warnings);
    let _ = writeln!(m, "{}\n", crate::html::CONTENTS);
    let _ = writeln!(m, "## Runs\n");
    let _ = writeln!(
        m,
        "| run | folder | started | tool | filesystem | write cache |\n|---|---|---|---|---|---|"
    );
    for r in &cmp.runs {
        let (started, tool, fs, cache) =
            r.folder
                .environment()
                .map_or(("?".into(), "?".into(), "?".into(), "?".into()), |e| {
                    (
                        e.started_utc.clone(),
                        format!(
                            "{}{}",
                            e.tool_version,
                            e.git_commit
                                .as_deref()
                                .map_or(String::new(), |c| format!(" ({c})"))
                        ),
                        e.disk.as_ref().map_or("-".into(), |d| d.filesystem.clone()),
                        e.disk
                            .as_ref()
                            .and_then(|d| d.write_cache.clone())
                            .unwrap_or_else(|| "-".into()),
                    )
                });
        let _ = writeln!(
            m,
            "| {} | `{}` | {started} | {tool} | {fs} | {cache} |",
            r.label,
            r.folder.dir().display()
        );
    }
    let _ = writeln!(m);

    env_diff_md(&mut m, cmp, labels);
    probes_md(&mut m, cmp, labels);

    matched_md(&mut m, cmp, labels);

    let _ = writeln!(m, "## Cells missing from some runs\n");
    match cmp.missing_counts() {
        None => {
            let _ = writeln!(m, "None: every cell ran in every run.\n");
        }
        Some(counts) => {
            let _ = writeln!(
                m,
                "{counts}. Not compared (listed so nothing is dropped silently):\n"
            );
        }
    }
    if !cmp.missing.is_empty() {
        for (k, present) in &cmp.missing {
            let _ = writeln!(m, "- {k}: only in {}", present.join(", "));
        }
        let _ = writeln!(m);
    }

    if !figs.figures.is_empty() {
        let _ = writeln!(m, "## Charts\n");
        m.push_str(&figs.markdown_since(0, "###"));
    }
    m
}

/// Every matched cell: ops/s and p99 per run, ratio and change against the
/// baseline.
fn matched_md(m: &mut String, cmp: &Comparison, labels: &[String]) {
    let _ = writeln!(m, "## Matched cells\n");
    let changed = cmp
        .rows
        .iter()
        .filter(|r| r.ops_change == "faster" || r.ops_change == "slower")
        .count();
    let noise = cmp
        .rows
        .iter()
        .filter(|r| r.ops_change == "within noise")
        .count();
    let _ = writeln!(m, "Throughput changed in {changed} and stayed within noise in {noise} of the cells compared with the baseline. A difference counts as a change only when the two cells' intervals do not overlap: the 95% confidence interval of the median over repetitions (narrowed to the observed min..max where it runs past it, as it does with 3 repetitions), else min..max.\n");
    let mut head = String::from("| engine | policy | workload | threads | value B |");
    let mut rule = String::from("|---|---|---|---:|---:|");
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(head, " {l} ops/s |");
        rule.push_str("---:|");
        if i > 0 {
            head.push_str(" ratio | change |");
            rule.push_str("---:|---|");
        }
    }
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(head, " {l} p99 µs |");
        rule.push_str("---:|");
        if i > 0 {
            head.push_str(" ratio | change |");
            rule.push_str("---:|---|");
        }
    }
    let _ = writeln!(m, "{head}\n{rule}");
    let cells = ordered(cmp.rows.iter().map(CompareRow::cell));
    let mut single = false;
    for k in &cells {
        let of = |l: &String| cmp.rows.iter().find(|r| &r.run == l && r.cell() == *k);
        let base = labels.first().and_then(of);
        let mut line = format!(
            "| {} | `{}` | {} | {} | {} |",
            k.engine, k.policy, k.workload, k.threads, k.value_size_bytes
        );
        for (i, l) in labels.iter().enumerate() {
            let r = of(l);
            let _ = write!(line, " {} |", r.map_or("-".into(), ops_with_interval));
            if i > 0 {
                let c = r.map_or("-".into(), |r| change_text(r, base, &r.ops_change));
                single |= c.ends_with('¹');
                let _ = write!(line, " {} | {c} |", ratio_text(r.and_then(|r| r.ops_ratio)));
            }
        }
        for (i, l) in labels.iter().enumerate() {
            let r = of(l);
            let _ = write!(
                line,
                " {} |",
                r.map_or("-".into(), |r| format!("{:.1}", r.p99_us))
            );
            if i > 0 {
                let c = r.map_or("-".into(), |r| change_text(r, base, &r.p99_change));
                single |= c.ends_with('¹');
                let _ = write!(line, " {} | {c} |", ratio_text(r.and_then(|r| r.p99_ratio)));
            }
        }
        let _ = writeln!(m, "{line}");
    }
    let _ = writeln!(m);
    if single {
        let _ = writeln!(m, "¹ One of the two cells was measured once, so there is no interval to judge noise by: any difference counts. Run with `--repeat 3` (or more) to tell changes from noise.\n");
    }
    let _ = writeln!(
        m,
        "Every figure of every run, with ratios, intervals and changes, is in `compare.csv`.\n"
    );
}
