//! The report: which charts to draw from a results folder, and the
//! Markdown and HTML documents that tie them together.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use results::compare::Comparison;
use results::{CrashRow, Environment, LatencyRow, ProbeRow, ResultsDir, RunRow};

use crate::chart::{self, Bars, Lines};
use crate::PlotError;

/// Options of the report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Write only SVG (faster; tests).
    pub svg_only: bool,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct ReportSummary {
    /// Chart files (PNG and SVG).
    pub charts: Vec<PathBuf>,
    /// `report.md` / `compare.md`.
    pub markdown: PathBuf,
    /// `report.html` / `compare.html`.
    pub html: PathBuf,
    /// Sections left out, and why.
    pub notes: Vec<String>,
}

struct Loaded {
    runs: Vec<RunRow>,
    failed: Vec<RunRow>,
    probe: Vec<ProbeRow>,
    latency: Vec<LatencyRow>,
    crash: Vec<CrashRow>,
    env: Option<Environment>,
    label: String,
    date: String,
}

fn load(dir: &Path, notes: &mut Vec<String>) -> Result<Loaded, PlotError> {
    let rd = ResultsDir::open(dir)?;
    let all: Vec<RunRow> = if rd.runs().exists() {
        results::read_csv(&rd.runs())?
    } else {
        Vec::new()
    };
    let (runs, failed): (Vec<RunRow>, Vec<RunRow>) =
        all.into_iter().partition(|r| r.status == "ok");
    let probe = if rd.probe().exists() {
        results::read_csv(&rd.probe())?
    } else {
        notes.push("probe.csv missing: no device ceilings".into());
        Vec::new()
    };
    let latency = if rd.latency().exists() {
        results::read_csv(&rd.latency())?
    } else {
        Vec::new()
    };
    let crash = if rd.crash().exists() {
        results::read_csv(&rd.crash())?
    } else {
        Vec::new()
    };
    if runs.is_empty() && crash.is_empty() && probe.is_empty() {
        return Err(PlotError::NoResults {
            path: dir.to_path_buf(),
            reason: "no runs.csv, probe.csv or crash.csv with results in it".into(),
        });
    }
    let env: Option<Environment> = results::read_json(&rd.environment()).ok();
    let label = runs
        .first()
        .map(|r| r.label.clone())
        .or_else(|| env.as_ref().map(|e| e.label.clone()))
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "this machine".into());
    let date = env
        .as_ref()
        .map(|e| e.started_utc.get(..10).unwrap_or("").to_string())
        .unwrap_or_default();
    Ok(Loaded {
        runs,
        failed,
        probe,
        latency,
        crash,
        env,
        label,
        date,
    })
}

/// Values in first-seen order.
fn ordered<T: Clone + PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

fn slug(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn thread_word(t: u32) -> String {
    if t == 1 {
        "1 thread".into()
    } else {
        format!("{t} threads")
    }
}

struct Figure {
    base: PathBuf,
    caption: String,
    title: String,
}

struct Writer {
    out: PathBuf,
    figures: Vec<Figure>,
    charts: Vec<PathBuf>,
}

impl Writer {
    fn bars(&mut self, name: &str, caption: String, chart: Bars) -> Result<(), PlotError> {
        if chart
            .series
            .iter()
            .all(|(_, v)| v.iter().all(Option::is_none))
        {
            return Ok(());
        }
        let base = self.out.join("charts").join(name);
        let (png, svg) = chart::render_bars(&base, &chart)?;
        self.charts.extend([png, svg]);
        self.figures.push(Figure {
            base,
            caption,
            title: chart.title,
        });
        Ok(())
    }

    fn lines(&mut self, name: &str, caption: String, chart: Lines) -> Result<(), PlotError> {
        if chart.series.is_empty() {
            return Ok(());
        }
        let base = self.out.join("charts").join(name);
        let (png, svg) = chart::render_lines(&base, &chart)?;
        self.charts.extend([png, svg]);
        self.figures.push(Figure {
            base,
            caption,
            title: chart.title,
        });
        Ok(())
    }
}

/// Per-cell matrix: categories (engines) x series (policies).
fn matrix(
    rows: &[&RunRow],
    engines: &[String],
    policies: &[String],
    f: impl Fn(&RunRow) -> Option<f64>,
) -> Vec<(String, Vec<Option<f64>>)> {
    policies
        .iter()
        .map(|p| {
            let vals = engines
                .iter()
                .map(|e| {
                    rows.iter()
                        .find(|r| &r.engine == e && &r.policy == p)
                        .and_then(|r| f(r))
                })
                .collect();
            (p.clone(), vals)
        })
        .collect()
}

fn hgrm_stem(r: &RunRow) -> String {
    let policy = r
        .policy
        .replace('+', "-")
        .replace('@', "_at_")
        .replace(':', "_");
    format!(
        "{}_{}_{}_t{}_v{}",
        r.engine, policy, r.workload, r.threads, r.value_size_bytes
    )
}

/// Draws every chart and writes `report.md` and `report.html` into `out`.
pub fn render_report(
    results_dir: &Path,
    out: &Path,
    _opts: &ReportOptions,
) -> Result<ReportSummary, PlotError> {
    let mut notes = Vec::new();
    let d = load(results_dir, &mut notes)?;
    std::fs::create_dir_all(out.join("charts")).map_err(|e| results::Error::Io {
        op: "create directory",
        path: out.join("charts"),
        source: e,
    })?;
    let corner = format!("{} · {}", d.label, d.date);
    let mut w = Writer {
        out: out.to_path_buf(),
        figures: Vec::new(),
        charts: Vec::new(),
    };
    let groups = ordered(d.runs.iter().map(|r| (r.workload.clone(), r.threads)));
    let rd = ResultsDir::open(results_dir)?;
    for (workload, threads) in &groups {
        let rows: Vec<&RunRow> = d
            .runs
            .iter()
            .filter(|r| &r.workload == workload && r.threads == *threads)
            .collect();
        let engines = ordered(rows.iter().map(|r| r.engine.clone()));
        let policies = ordered(rows.iter().map(|r| r.policy.clone()));
        let tw = thread_word(*threads);
        let id = format!("{}_t{threads}", slug(workload));
        let bars = |title: String, y: &str, series, log, reference| Bars {
            title,
            y_label: y.into(),
            x_label: "engine".into(),
            categories: engines.clone(),
            series,
            log,
            reference,
            corner: corner.clone(),
            legend_title: "policy".into(),
        };
        w.bars(
            &format!("throughput_{id}"),
            format!(
                "Operations per second of each engine under each sync policy ({workload}, {tw})."
            ),
            bars(
                format!("Throughput: {workload}, {tw}"),
                "operations/s",
                matrix(&rows, &engines, &policies, |r| Some(r.ops_per_sec)),
                None,
                None,
            ),
        )?;
        if policies.iter().any(|p| p == "none") {
            let none: BTreeMap<&str, f64> = rows
                .iter()
                .filter(|r| r.policy == "none")
                .map(|r| (r.engine.as_str(), r.ops_per_sec))
                .collect();
            let tax = matrix(&rows, &engines, &policies, |r| {
                none.get(r.engine.as_str())
                    .filter(|n| **n > 0.0)
                    .map(|n| r.ops_per_sec / n)
            });
            w.bars(
                &format!("tax_{id}"),
                format!("The durability tax: each policy's throughput as a fraction of the same engine under `none` ({workload}, {tw}); 0.01 means 100x slower."),
                bars(format!("Durability tax: {workload}, {tw}"), "throughput / throughput under none", tax, None, Some((1.0, "none = 1".into()))),
            )?;
        } else {
            notes.push(format!(
                "{workload}, {tw}: no `none` policy, so no durability-tax chart"
            ));
        }
        let synced: Vec<&RunRow> = rows.iter().copied().filter(|r| r.file_syncs > 0).collect();
        let sync_policies = ordered(synced.iter().map(|r| r.policy.clone()));
        if !synced.is_empty() {
            w.bars(
                &format!("sync_latency_{id}"),
                format!("99th percentile latency of the file and directory syncs each cell issued ({workload}, {tw})."),
                bars(format!("Sync latency p99: {workload}, {tw}"), "sync p99 (µs)", matrix(&synced, &engines, &sync_policies, |r| (r.sync_p99_us > 0.0).then_some(r.sync_p99_us)), None, None),
            )?;
            w.bars(
                &format!("writes_per_sync_{id}"),
                format!("Log writes per file sync: 1 under `always`, N under `batch:N`, the commit-group size under `group` ({workload}, {tw})."),
                bars(format!("Writes per sync: {workload}, {tw}"), "writes per sync", matrix(&synced, &engines, &sync_policies, |r| Some(r.writes_per_sync)), None, None),
            )?;
        }
        w.bars(
            &format!("write_amp_engine_{id}"),
            format!("Engine write amplification: bytes the engine wrote through the Vfs per byte of user data ({workload}, {tw})."),
            bars(format!("Engine write amplification: {workload}, {tw}"), "engine bytes / user bytes", matrix(&rows, &engines, &policies, |r| (r.engine_write_amp > 0.0).then_some(r.engine_write_amp)), None, Some((1.0, "1x".into()))),
        )?;
        if rows.iter().any(|r| r.device_write_amp.is_some()) {
            w.bars(
                &format!("write_amp_device_{id}"),
                format!("Device write amplification: bytes the block device wrote (its own counters) per byte of user data ({workload}, {tw})."),
                bars(format!("Device write amplification: {workload}, {tw}"), "device bytes / user bytes", matrix(&rows, &engines, &policies, |r| r.device_write_amp), None, Some((1.0, "1x".into()))),
            )?;
        } else {
            notes.push(format!("{workload}, {tw}: no block-device counters (e.g. tmpfs), so no device write-amplification chart"));
        }
        if rows.iter().any(|r| r.efficiency.is_some()) {
            w.bars(
                &format!("efficiency_{id}"),
                format!("Efficiency: throughput as a fraction of the disk's own ceiling for the same sync cadence and record size, from the probe of the same run ({workload}, {tw})."),
                bars(format!("Efficiency vs device ceiling: {workload}, {tw}"), "fraction of probe ceiling", matrix(&rows, &engines, &policies, |r| r.efficiency), Some(false), Some((1.0, "ceiling".into()))),
            )?;
        }
        for engine in &engines {
            let mut series = Vec::new();
            for r in rows.iter().filter(|r| &r.engine == engine) {
                let path = rd.hgrm(&format!("{}_all", hgrm_stem(r)));
                let pts = if path.exists() {
                    results::parse_hgrm(&path)?
                } else {
                    d.latency
                        .iter()
                        .filter(|l| {
                            l.engine == r.engine
                                && l.policy == r.policy
                                && l.workload == r.workload
                                && l.threads == r.threads
                                && l.operation == "all"
                        })
                        .map(|l| (l.percentile, l.latency_us))
                        .collect()
                };
                if !pts.is_empty() {
                    series.push((r.policy.clone(), pts));
                }
            }
            w.lines(
                &format!("latency_{}_{id}", slug(engine)),
                format!("Latency percentile spectrum of {engine}: x on a nines scale, y logarithmic; one line per policy ({workload}, {tw})."),
                Lines {
                    title: format!("Latency spectrum: {engine}, {workload}, {tw}"),
                    y_label: "latency (µs)".into(),
                    series,
                    corner: corner.clone(),
                },
            )?;
        }
    }
    if !d.crash.is_empty() {
        let profiles = ordered(d.crash.iter().map(|c| c.profile.clone()));
        for profile in profiles {
            let rows: Vec<&CrashRow> = d.crash.iter().filter(|c| c.profile == profile).collect();
            let engines = ordered(rows.iter().map(|c| c.engine.clone()));
            let policies = ordered(rows.iter().map(|c| c.policy.clone()));
            let series = policies
                .iter()
                .map(|p| {
                    (
                        p.clone(),
                        engines
                            .iter()
                            .map(|e| {
                                rows.iter()
                                    .find(|c| &c.engine == e && &c.policy == p)
                                    .map(|c| {
                                        100.0 * c.trials_with_loss as f64 / c.trials.max(1) as f64
                                    })
                            })
                            .collect(),
                    )
                })
                .collect();
            w.bars(
                &format!("crash_{}", slug(&profile)),
                format!("Crash verification ({profile}): percentage of crash trials that lost at least one acknowledged write, per engine and policy."),
                Bars {
                    title: format!("Trials losing acknowledged writes: {profile}"),
                    y_label: "trials with loss (%)".into(),
                    x_label: "engine".into(),
                    categories: engines,
                    series,
                    log: Some(false),
                    reference: None,
                    corner: corner.clone(),
                    legend_title: "policy".into(),
                },
            )?;
        }
    } else {
        notes.push("crash.csv missing: run `bench-runner crash --out <this folder>` to add the crash table".into());
    }
    let md = report_markdown(&d, &w.figures, &notes, out);
    let html = to_html(
        &md,
        &w.figures,
        &format!("bench-runner report: {}", d.label),
    );
    let markdown = out.join("report.md");
    let html_path = out.join("report.html");
    results::write_durably(&markdown, md.as_bytes())?;
    results::write_durably(&html_path, html.as_bytes())?;
    Ok(ReportSummary {
        charts: w.charts,
        markdown,
        html: html_path,
        notes,
    })
}

fn rel(out: &Path, p: &Path) -> String {
    p.strip_prefix(out).unwrap_or(p).display().to_string()
}

fn report_markdown(d: &Loaded, figures: &[Figure], notes: &[String], out: &Path) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# bench-runner report: {}\n", d.label);
    if let Some(e) = &d.env {
        let _ = writeln!(m, "## Environment\n");
        let _ = writeln!(m, "| | |\n|---|---|");
        let _ = writeln!(m, "| machine | {} ({}) |", e.host, e.label);
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
            e.virtualization.as_deref().unwrap_or("-")
        );
        if let Some(disk) = &e.disk {
            let _ = writeln!(
                m,
                "| disk path | {} (mount {}) |",
                disk.path.display(),
                disk.mount_point.display()
            );
            let _ = writeln!(
                m,
                "| filesystem | {} ({}) |",
                disk.filesystem, disk.mount_options
            );
            let _ = writeln!(
                m,
                "| device | {} {} (rotational: {}) |",
                disk.device.as_deref().unwrap_or(&disk.source),
                disk.model.as_deref().unwrap_or(""),
                disk.rotational.map_or("-".into(), |r| r.to_string())
            );
            let _ = writeln!(
                m,
                "| write cache | {} |",
                disk.write_cache.as_deref().unwrap_or("-")
            );
            let _ = writeln!(
                m,
                "| sectors | logical {} B, physical {} B |",
                disk.logical_sector_bytes
                    .map_or("-".into(), |v| v.to_string()),
                disk.physical_sector_bytes
                    .map_or("-".into(), |v| v.to_string())
            );
        }
        let _ = writeln!(
            m,
            "| tool | bench-runner {} {} |",
            e.tool_version,
            e.git_commit.as_deref().unwrap_or("")
        );
        let _ = writeln!(m, "| started | {} |", e.started_utc);
        let _ = writeln!(m, "\nCommand:\n\n```\n{}\n```\n", e.command);
    }
    if !d.probe.is_empty() {
        let _ = writeln!(m, "## Device ceilings (probe)\n");
        let _ = writeln!(m, "| pattern | record bytes | ops/s | p50 µs | p99 µs | max µs |\n|---|---:|---:|---:|---:|---:|");
        for p in &d.probe {
            let _ = writeln!(
                m,
                "| {} | {} | {:.0} | {:.1} | {:.1} | {:.1} |",
                p.pattern, p.record_bytes, p.ops_per_sec, p.p50_us, p.p99_us, p.max_us
            );
        }
        let _ = writeln!(m);
    }
    if !d.runs.is_empty() {
        let _ = writeln!(m, "## Results\n");
        let _ = writeln!(
            m,
            "| engine | policy | workload | threads | ops/s | p50 µs | p99 µs | p99.9 µs | syncs | writes/sync | engine WA | device WA | efficiency |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in &d.runs {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {:.1} | {:.2} | {} | {} |",
                r.engine,
                r.policy,
                r.workload,
                r.threads,
                r.ops_per_sec,
                r.p50_us,
                r.p99_us,
                r.p999_us,
                r.file_syncs + r.dir_syncs,
                r.writes_per_sync,
                r.engine_write_amp,
                r.device_write_amp.map_or("-".into(), |v| format!("{v:.2}")),
                r.efficiency.map_or("-".into(), |v| format!("{v:.2}"))
            );
        }
        let _ = writeln!(m);
    }
    if !d.failed.is_empty() {
        let _ = writeln!(m, "### Failed cells\n");
        for r in &d.failed {
            let _ = writeln!(
                m,
                "- {} {} {} t{}: {}",
                r.engine, r.policy, r.workload, r.threads, r.error
            );
        }
        let _ = writeln!(m);
    }
    if !figures.is_empty() {
        let _ = writeln!(m, "## Charts\n");
        for f in figures {
            let _ = writeln!(
                m,
                "### {}\n\n![{}]({}.svg)\n\n{} ([PNG]({}.png))\n",
                f.title,
                f.title,
                rel(out, &f.base),
                f.caption,
                rel(out, &f.base)
            );
        }
    }
    if !d.crash.is_empty() {
        let _ = writeln!(m, "## Crash verification\n");
        let _ = writeln!(
            m,
            "| engine | policy | profile | trials | acked writes | trials with loss | writes lost | files lost | corrupt reads | resurrected deletes | recovery failures | promise |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
        );
        for c in &d.crash {
            let _ = writeln!(
                m,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                c.engine,
                c.policy,
                c.profile,
                c.trials,
                c.acked_writes,
                c.trials_with_loss,
                c.lost_writes,
                c.files_lost,
                c.corrupt_reads,
                c.resurrected_deletes,
                c.recovery_failures,
                if c.promise_kept {
                    "kept".to_string()
                } else {
                    format!(
                        "BROKEN (seed {})",
                        c.first_failing_seed.map_or("?".into(), |s| s.to_string())
                    )
                }
            );
        }
        let _ = writeln!(m);
    }
    if !notes.is_empty() {
        let _ = writeln!(m, "## Notes\n");
        for n in notes {
            let _ = writeln!(m, "- {n}");
        }
    }
    m
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A small Markdown-to-HTML conversion for the report's own constructs
/// (headings, tables, code blocks, lists, images, paragraphs), with every
/// chart inlined as SVG so the file stands alone.
fn to_html(md: &str, figures: &[Figure], title: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title><style>body{{font-family:sans-serif;max-width:1250px;margin:2em auto;color:#222}}table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #bbb;padding:3px 7px}}td{{text-align:right}}td:first-child,td:nth-child(2),td:nth-child(3){{text-align:left}}pre{{background:#f4f4f4;padding:8px;white-space:pre-wrap}}figure{{margin:1em 0}}svg{{max-width:100%;height:auto}}</style></head><body>\n",
        escape(title)
    );
    let mut in_table = false;
    let mut in_code = false;
    let mut in_list = false;
    for line in md.lines() {
        if line.starts_with("```") {
            h.push_str(if in_code { "</pre>\n" } else { "<pre>" });
            in_code = !in_code;
            continue;
        }
        if in_code {
            let _ = writeln!(h, "{}", escape(line));
            continue;
        }
        if in_table && !line.starts_with('|') {
            h.push_str("</table>\n");
            in_table = false;
        }
        if in_list && !line.starts_with("- ") {
            h.push_str("</ul>\n");
            in_list = false;
        }
        if let Some(t) = line.strip_prefix("### ") {
            let _ = writeln!(h, "<h3>{}</h3>", escape(t));
        } else if let Some(t) = line.strip_prefix("## ") {
            let _ = writeln!(h, "<h2>{}</h2>", escape(t));
        } else if let Some(t) = line.strip_prefix("# ") {
            let _ = writeln!(h, "<h1>{}</h1>", escape(t));
        } else if line.starts_with('|') {
            if line.starts_with("|---") || line.starts_with("|--") {
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            if !in_table {
                h.push_str("<table>\n<tr>");
                for c in &cells {
                    let _ = write!(h, "<th>{}</th>", escape(c));
                }
                h.push_str("</tr>\n");
                in_table = true;
            } else {
                h.push_str("<tr>");
                for c in &cells {
                    let _ = write!(h, "<td>{}</td>", escape(c));
                }
                h.push_str("</tr>\n");
            }
        } else if let Some(t) = line.strip_prefix("- ") {
            if !in_list {
                h.push_str("<ul>\n");
                in_list = true;
            }
            let _ = writeln!(h, "<li>{}</li>", escape(t));
        } else if line.starts_with("![") {
            let title = line
                .trim_start_matches("![")
                .split(']')
                .next()
                .unwrap_or("");
            if let Some(f) = figures.iter().find(|f| f.title == title) {
                let svg = std::fs::read_to_string(f.base.with_extension("svg")).unwrap_or_default();
                let svg = svg.trim_start_matches(|c| c != '<');
                let svg = svg
                    .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
                    .unwrap_or(svg);
                let _ = writeln!(h, "<figure>{svg}</figure>");
            }
        } else if !line.trim().is_empty() {
            let _ = writeln!(h, "<p>{}</p>", escape(line).replace('`', ""));
        }
    }
    if in_table {
        h.push_str("</table>\n");
    }
    if in_list {
        h.push_str("</ul>\n");
    }
    h.push_str("</body></html>\n");
    h
}

/// Compares result folders (the first is the baseline): writes
/// `compare.csv`, charts, `compare.md` and `compare.html` into `out`.
pub fn render_compare(dirs: &[PathBuf], out: &Path) -> Result<ReportSummary, PlotError> {
    let cmp: Comparison = results::compare::compare(dirs)?;
    std::fs::create_dir_all(out.join("charts")).map_err(|e| results::Error::Io {
        op: "create directory",
        path: out.join("charts"),
        source: e,
    })?;
    results::write_csv(&out.join("compare.csv"), &cmp.rows)?;
    let labels: Vec<String> = cmp.runs.iter().map(|r| r.label.clone()).collect();
    let corner = format!("{} vs {}", labels[0], labels[1..].join(", "));
    let mut w = Writer {
        out: out.to_path_buf(),
        figures: Vec::new(),
        charts: Vec::new(),
    };
    let groups = ordered(cmp.rows.iter().map(|r| (r.workload.clone(), r.threads)));
    for (workload, threads) in &groups {
        let rows: Vec<_> = cmp
            .rows
            .iter()
            .filter(|r| &r.workload == workload && r.threads == *threads)
            .collect();
        let cells = ordered(rows.iter().map(|r| (r.engine.clone(), r.policy.clone())));
        let names: Vec<String> = cells.iter().map(|(e, p)| format!("{e} {p}")).collect();
        let tw = thread_word(*threads);
        let id = format!("{}_t{threads}", slug(workload));
        let per_run = |f: &dyn Fn(&results::compare::CompareRow) -> Option<f64>,
                       runs: &[String]|
         -> Vec<(String, Vec<Option<f64>>)> {
            runs.iter()
                .map(|l| {
                    (
                        l.clone(),
                        cells
                            .iter()
                            .map(|(e, p)| {
                                rows.iter()
                                    .find(|r| &r.run == l && &r.engine == e && &r.policy == p)
                                    .and_then(|r| f(r))
                            })
                            .collect(),
                    )
                })
                .collect()
        };
        let mk = |title: String, y: &str, series, log, reference| Bars {
            title,
            y_label: y.into(),
            x_label: "engine and policy".into(),
            categories: names.clone(),
            series,
            log,
            reference,
            corner: corner.clone(),
            legend_title: "run".into(),
        };
        w.bars(
            &format!("compare_throughput_{id}"),
            format!("Throughput of the same cells on each machine or disk ({workload}, {tw})."),
            mk(
                format!("Throughput by run: {workload}, {tw}"),
                "operations/s",
                per_run(&|r| Some(r.ops_per_sec), &labels),
                None,
                None,
            ),
        )?;
        w.bars(
            &format!("compare_p99_{id}"),
            format!("99th percentile latency of the same cells on each run ({workload}, {tw})."),
            mk(
                format!("p99 latency by run: {workload}, {tw}"),
                "p99 latency (µs)",
                per_run(&|r| Some(r.p99_us), &labels),
                None,
                None,
            ),
        )?;
        w.bars(
            &format!("compare_ratio_{id}"),
            format!("Throughput of each run divided by the baseline ({}) for the same cell ({workload}, {tw}); above 1 is faster.", labels[0]),
            mk(format!("Throughput ratio vs {}: {workload}, {tw}", labels[0]), "ops/s ÷ baseline", per_run(&|r| r.ops_ratio, &labels[1..]), None, Some((1.0, "baseline".into()))),
        )?;
    }
    let mut m = String::new();
    let _ = writeln!(m, "# bench-runner comparison: {}\n", labels.join(" vs "));
    let _ = writeln!(m, "Baseline: **{}**. Runs:\n", labels[0]);
    for r in &cmp.runs {
        let _ = writeln!(m, "- {}: `{}`", r.label, r.dir.display());
    }
    let _ = writeln!(m);
    if !cmp.env_diff.is_empty() {
        let _ = writeln!(m, "## What differs between the machines\n");
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
        for wn in &cmp.warnings {
            let _ = writeln!(m, "- {wn}");
        }
        let _ = writeln!(m);
    }
    let _ = writeln!(m, "## Matched cells\n");
    let _ = writeln!(m, "| engine | policy | workload | threads | run | ops/s | ratio | p99 µs | p99 ratio |\n|---|---|---|---:|---|---:|---:|---:|---:|");
    for r in &cmp.rows {
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {:.0} | {} | {:.1} | {} |",
            r.engine,
            r.policy,
            r.workload,
            r.threads,
            r.run,
            r.ops_per_sec,
            r.ops_ratio.map_or("-".into(), |v| format!("{v:.2}")),
            r.p99_us,
            r.p99_ratio.map_or("-".into(), |v| format!("{v:.2}"))
        );
    }
    let _ = writeln!(m);
    if !cmp.missing.is_empty() {
        let _ = writeln!(m, "## Cells missing from some runs\n");
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
    if !w.figures.is_empty() {
        let _ = writeln!(m, "## Charts\n");
        for f in &w.figures {
            let _ = writeln!(
                m,
                "### {}\n\n![{}]({}.svg)\n\n{} ([PNG]({}.png))\n",
                f.title,
                f.title,
                rel(out, &f.base),
                f.caption,
                rel(out, &f.base)
            );
        }
    }
    let html = to_html(
        &m,
        &w.figures,
        &format!("bench-runner comparison: {}", labels.join(" vs ")),
    );
    let markdown = out.join("compare.md");
    let html_path = out.join("compare.html");
    results::write_durably(&markdown, m.as_bytes())?;
    results::write_durably(&html_path, html.as_bytes())?;
    Ok(ReportSummary {
        charts: w.charts,
        markdown,
        html: html_path,
        notes: cmp
            .missing
            .iter()
            .map(|(k, p)| format!("{} {} {} t{}: only in {}", k.0, k.1, k.2, k.3, p.join(", ")))
            .collect(),
    })
}
