//! The comparison of several results folders (machines or disks): charts of
//! the same cells side by side, ratios against the baseline, and
//! `compare.md` / `compare.html`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use results::compare::{CompareRow, Comparison};

use crate::chart::{human, BarPanel, BarSeries, Bars, Formats};
use crate::figures::{ordered, slug, thread_word, FigureSet};
use crate::{PlotError, ReportSummary};

/// Policies from the least to the most durable, so a cell's bars read
/// `none, always, always+dir, batch:32+dir, group+dir` in every chart.
fn policy_rank(policy: &str) -> u8 {
    match policy.split(['+', ':', '@']).next() {
        Some("none") => 0,
        Some("always") => 1,
        Some("batch") => 2,
        Some("group") => 3,
        _ => 4,
    }
}

fn ratio_text(r: Option<f64>) -> String {
    r.map_or("-".into(), |v| format!("{v:.2}"))
}

/// Compares result folders (the first is the baseline): writes
/// `compare.csv`, charts (`out/charts/compare_*`), `compare.md` and
/// `compare.html` into `out`. The summary's notes list the cells missing
/// from some runs.
pub fn render_compare(dirs: &[PathBuf], out: &Path) -> Result<ReportSummary, PlotError> {
    if dirs.len() < 2 {
        return Err(PlotError::NoResults {
            path: dirs.first().cloned().unwrap_or_default(),
            reason: "a comparison needs at least two results folders".into(),
        });
    }
    let cmp: Comparison = results::compare::compare(dirs)?;
    let mut figs = FigureSet::create(out, Formats::PngAndSvg)?;
    results::write_csv(&out.join("compare.csv"), &cmp.rows)?;
    let labels: Vec<String> = cmp.runs.iter().map(|r| r.label.clone()).collect();
    let (base, others) = match labels.split_first() {
        Some((b, o)) => (b.clone(), o.to_vec()),
        None => (String::new(), Vec::new()),
    };
    let dates = ordered(cmp.runs.iter().filter_map(|r| {
        r.env
            .as_ref()
            .and_then(|e| e.started_utc.get(..10).map(str::to_string))
    }));
    let corner = format!("{} · {}", labels.join(" vs "), dates.join(", "));
    let groups = ordered(cmp.rows.iter().map(|r| (r.workload.clone(), r.threads)));
    for (workload, threads) in &groups {
        let rows: Vec<&CompareRow> = cmp
            .rows
            .iter()
            .filter(|r| &r.workload == workload && r.threads == *threads)
            .collect();
        let mut cells = ordered(
            rows.iter()
                .map(|r| (r.engine.clone(), r.policy.clone(), r.value_size_bytes)),
        );
        cells.sort_by(|a, b| {
            (&a.0, policy_rank(&a.1), &a.1, a.2).cmp(&(&b.0, policy_rank(&b.1), &b.1, b.2))
        });
        let sizes = ordered(cells.iter().map(|c| c.2));
        let names: Vec<String> = cells
            .iter()
            .map(|(e, p, v)| {
                if sizes.len() > 1 {
                    format!("{e} {p} {v} B")
                } else {
                    format!("{e} {p}")
                }
            })
            .collect();
        let what = format!("{workload}, {}", thread_word(*threads));
        let id = format!("{}_t{threads}", slug(workload));
        let per_run = |f: &dyn Fn(&CompareRow) -> Option<f64>, runs: &[String]| -> Vec<BarSeries> {
            runs.iter()
                .map(|l| BarSeries {
                    name: l.clone(),
                    style: labels.iter().position(|x| x == l).unwrap_or(0),
                    values: cells
                        .iter()
                        .map(|(e, p, v)| {
                            rows.iter()
                                .find(|r| {
                                    &r.run == l
                                        && &r.engine == e
                                        && &r.policy == p
                                        && r.value_size_bytes == *v
                                })
                                .and_then(|r| f(r))
                                .filter(|x| x.is_finite())
                        })
                        .collect(),
                })
                .collect()
        };
        let mk = |title: String, y: &str, series, reference| Bars {
            title,
            y_label: y.into(),
            x_label: "engine and policy".into(),
            categories: names.clone(),
            panels: vec![BarPanel {
                subtitle: String::new(),
                series,
            }],
            log: None,
            reference,
            diverging: false,
            corner: corner.clone(),
            legend_title: "run".into(),
        };
        figs.bars(
            &format!("compare_throughput_{id}"),
            format!("Throughput of the same cells on each run, side by side ({what})."),
            mk(
                format!("Throughput by run: {what}"),
                "operations/s",
                per_run(&|r| Some(r.ops_per_sec), &labels),
                None,
            ),
        )?;
        figs.bars(
            &format!("compare_p99_{id}"),
            format!("99th percentile latency of the same cells on each run, side by side ({what}); lower is better."),
            mk(
                format!("p99 latency by run: {what}"),
                "p99 latency (µs)",
                per_run(&|r| (r.p99_us > 0.0).then_some(r.p99_us), &labels),
                None,
            ),
        )?;
        figs.bars(
            &format!("compare_ratio_{id}"),
            format!("Throughput of each run divided by the baseline's ({base}) for the same cell ({what}); above 1 is faster than the baseline."),
            mk(
                format!("Throughput ratio vs {base}: {what}"),
                "ops/s ÷ baseline ops/s",
                per_run(&|r| r.ops_ratio, &others),
                Some((1.0, format!("baseline ({base})"))),
            )
            .with_log(true)
            .diverging(),
        )?;
    }
    let md = compare_markdown(&cmp, &labels, &figs);
    let html = crate::html::to_html(
        &md,
        out,
        &format!("bench-runner comparison: {}", labels.join(" vs ")),
    );
    let markdown = out.join("compare.md");
    let html_path = out.join("compare.html");
    results::write_durably(&markdown, md.as_bytes())?;
    results::write_durably(&html_path, html.as_bytes())?;
    Ok(ReportSummary {
        charts: figs.files,
        markdown,
        html: html_path,
        notes: cmp
            .missing
            .iter()
            .map(|(k, p)| {
                format!(
                    "{} {} {} t{} v{}: only in {}",
                    k.0,
                    k.1,
                    k.2,
                    k.3,
                    k.4,
                    p.join(", ")
                )
            })
            .collect(),
    })
}

fn compare_markdown(cmp: &Comparison, labels: &[String], figs: &FigureSet) -> String {
    let mut m = String::new();
    let base = labels.first().cloned().unwrap_or_default();
    let _ = writeln!(m, "# bench-runner comparison: {}\n", labels.join(" vs "));
    let _ = writeln!(m, "Baseline: **{base}**; ratios are each run's figure divided by the baseline's for the same cell (engine, policy, workload, threads, value size).\n");
    let _ = writeln!(m, "| run | folder | started | tool |\n|---|---|---|---|");
    for r in &cmp.runs {
        let (started, tool) = r.env.as_ref().map_or(("?".into(), "?".into()), |e| {
            (
                e.started_utc.clone(),
                format!(
                    "{}{}",
                    e.tool_version,
                    e.git_commit
                        .as_deref()
                        .map_or(String::new(), |c| format!(" ({c})"))
                ),
            )
        });
        let _ = writeln!(
            m,
            "| {} | `{}` | {started} | {tool} |",
            r.label,
            r.dir.display()
        );
    }
    let _ = writeln!(m);

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

    if !cmp.warnings.is_empty() {
        let _ = writeln!(m, "## Warnings\n");
        for w in &cmp.warnings {
            let _ = writeln!(m, "- {w}");
        }
        let _ = writeln!(m);
    }

    let _ = writeln!(m, "## Cells missing from some runs\n");
    if cmp.missing.is_empty() {
        let _ = writeln!(m, "None: every cell ran in every run.\n");
    } else {
        let _ = writeln!(m, "Not compared (listed so nothing is dropped silently):\n");
        for (k, present) in &cmp.missing {
            let _ = writeln!(
                m,
                "- {} {} {} t{} v{}: only in {}",
                k.0,
                k.1,
                k.2,
                k.3,
                k.4,
                present.join(", ")
            );
        }
        let _ = writeln!(m);
    }

    let _ = writeln!(m, "## Matched cells\n");
    let mut head = String::from("| engine | policy | workload | threads | value B |");
    let mut rule = String::from("|---|---|---|---:|---:|");
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(head, " {l} ops/s |");
        rule.push_str("---:|");
        if i > 0 {
            let _ = write!(head, " ratio |");
            rule.push_str("---:|");
        }
    }
    for (i, l) in labels.iter().enumerate() {
        let _ = write!(head, " {l} p99 µs |");
        rule.push_str("---:|");
        if i > 0 {
            let _ = write!(head, " ratio |");
            rule.push_str("---:|");
        }
    }
    let _ = writeln!(m, "{head}\n{rule}");
    let cells = ordered(cmp.rows.iter().map(|r| {
        (
            r.engine.clone(),
            r.policy.clone(),
            r.workload.clone(),
            r.threads,
            r.value_size_bytes,
        )
    }));
    for k in &cells {
        let of = |l: &String| {
            cmp.rows.iter().find(|r| {
                &r.run == l
                    && r.engine == k.0
                    && r.policy == k.1
                    && r.workload == k.2
                    && r.threads == k.3
                    && r.value_size_bytes == k.4
            })
        };
        let mut line = format!("| {} | {} | {} | {} | {} |", k.0, k.1, k.2, k.3, k.4);
        for (i, l) in labels.iter().enumerate() {
            let r = of(l);
            let _ = write!(
                line,
                " {} |",
                r.map_or("-".into(), |r| human(r.ops_per_sec))
            );
            if i > 0 {
                let _ = write!(line, " {} |", ratio_text(r.and_then(|r| r.ops_ratio)));
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
                let _ = write!(line, " {} |", ratio_text(r.and_then(|r| r.p99_ratio)));
            }
        }
        let _ = writeln!(m, "{line}");
    }
    let _ = writeln!(
        m,
        "\nEvery figure of every run, with ratios, is in `compare.csv`.\n"
    );

    if !figs.figures.is_empty() {
        let _ = writeln!(m, "## Charts\n");
        m.push_str(&figs.markdown_since(0, "###"));
    }
    m
}
