//! The report of one results folder: which charts to draw from it, and the
//! `report.md` / `report.html` that lead with the headline and the warnings
//! and tie them to the charts, the crash table, the environment, the probe
//! and the command.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use results::{CrashRow, LatencyRow, RunRow};

use crate::chart::{BarPanel, BarSeries, Bars, Curve, Formats, Lines};
use crate::crash::{crash_fs_words, crash_table, expected_lost};
use crate::figures::{hgrm_stem, ordered, slug, thread_word, FigureSet, Styles};
use crate::loaded::{load, Loaded, Optional};
use crate::PlotError;

/// Options of the report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Write only SVG charts (no PNG): faster, for documents only.
    pub svg_only: bool,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct ReportSummary {
    /// Chart files (PNG and SVG), in document order.
    pub charts: Vec<PathBuf>,
    /// `report.md` / `compare.md`.
    pub markdown: PathBuf,
    /// `report.html` / `compare.html`.
    pub html: PathBuf,
    /// Inputs that were missing and what was left out because of them;
    /// for a comparison, the cells missing from some runs.
    pub notes: Vec<String>,
    /// The warnings the document shows, merged by cause.
    pub warnings: results::Warnings,
}

/// Categories (engines) x series (policies) of one workload and thread count.
fn by_policy(
    rows: &[&RunRow],
    engines: &[String],
    policies: &[String],
    styles: &mut Styles,
    f: impl Fn(&RunRow) -> Option<f64>,
) -> Vec<BarSeries> {
    policies
        .iter()
        .map(|p| BarSeries {
            name: p.clone(),
            style: styles.of(p),
            values: engines
                .iter()
                .map(|e| {
                    rows.iter()
                        .find(|r| &r.engine == e && &r.policy == p)
                        .and_then(|r| f(r))
                        .filter(|v| v.is_finite())
                })
                .collect(),
        })
        .collect()
}

fn one_panel(series: Vec<BarSeries>) -> Vec<BarPanel> {
    vec![BarPanel {
        subtitle: String::new(),
        series,
    }]
}

/// The total count in an hgrm file's footer (`#[Max = .., Total count = N]`).
fn hgrm_total_count(path: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.contains("Total count"))?;
    let n = line.split("Total count").nth(1)?;
    n.trim_matches(|c: char| !c.is_ascii_digit()).parse().ok()
}

/// Percentile points of one cell and operation: the hgrm file, else the
/// rows of latency.csv. Percentiles that the operation count does not
/// support (p99.99 of 1,200 operations is just the largest) are left out.
fn spectrum(d: &Loaded, r: &RunRow, operation: &str) -> Result<Vec<(f64, f64)>, PlotError> {
    let path = d.folder.files.hgrm(&hgrm_stem(r, operation));
    let rows: Vec<&LatencyRow> = d
        .latency
        .rows()
        .iter()
        .filter(|l| {
            l.engine == r.engine
                && l.policy == r.policy
                && l.workload == r.workload
                && l.threads == r.threads
                && l.value_size_bytes == r.value_size_bytes
                && l.operation == operation
        })
        .collect();
    let (points, count) = if path.exists() {
        (results::parse_hgrm(&path)?, hgrm_total_count(&path))
    } else {
        (
            rows.iter().map(|l| (l.percentile, l.latency_us)).collect(),
            None,
        )
    };
    let count = count
        .or_else(|| rows.iter().map(|l| l.count).max())
        .filter(|c| *c > 0);
    Ok(match count {
        Some(n) => points
            .into_iter()
            .filter(|(p, _)| crate::cells::supported(*p, n))
            .collect(),
        None => points,
    })
}

/// What every spectrum caption says about where its lines stop.
const TAIL_NOTE: &str = "Each line stops at the highest percentile its operation count supports (five operations must lie above it: p99.9 needs 5,000 operations, p99.99 50,000); the x axis ends where the data does.";

/// Draws every chart and writes `report.md` and `report.html` into `out`
/// (charts in `out/charts/`), reading only the saved files in `results_dir`.
pub fn render_report(
    results_dir: &Path,
    out: &Path,
    opts: &ReportOptions,
) -> Result<ReportSummary, PlotError> {
    let d = load(results_dir)?;
    let formats = if opts.svg_only {
        Formats::SvgOnly
    } else {
        Formats::PngAndSvg
    };
    let mut figs = FigureSet::create(out, formats)?;
    let corner = if d.folder.date.is_empty() {
        d.folder.label.clone()
    } else {
        format!("{} · {}", d.folder.label, d.folder.date)
    };
    let mut notes: Vec<String> = Vec::new();
    let mut styles = Styles::new(
        d.runs
            .iter()
            .map(|r| r.policy.as_str())
            .chain(d.crash.rows().iter().map(|c| c.policy.as_str())),
    );
    let mut charts_md = String::new();
    let groups = ordered(d.runs.iter().map(|r| (r.workload.clone(), r.threads)));
    for (workload, threads) in &groups {
        let rows: Vec<&RunRow> = d
            .runs
            .iter()
            .filter(|r| &r.workload == workload && r.threads == *threads)
            .collect();
        let engines = ordered(rows.iter().map(|r| r.engine.clone()));
        let mut policies = ordered(rows.iter().map(|r| r.policy.clone()));
        policies.sort_by_cached_key(|p| results::PolicyKey::parse(p));
        let tw = thread_word(*threads);
        let what = format!("{workload}, {tw}");
        let id = format!("{}_t{threads}", slug(workload));
        let first = figs.figures.len();
        let mut group_notes: Vec<String> = Vec::new();
        if rows
            .iter()
            .any(|r| r.noisy == Some(true) && r.device_write_amp.is_some())
        {
            group_notes.push("cells marked noisy have no device bar in the write-amplification chart: other processes' I/O is in their device counters".into());
        }
        let bars = |title: String, y: &str, series, log, reference| Bars {
            title,
            y_label: y.into(),
            x_label: "engine".into(),
            categories: engines.clone(),
            panels: one_panel(series),
            log,
            reference,
            diverging: false,
            corner: corner.clone(),
            legend_title: "policy".into(),
        };

        // 1. Throughput.
        figs.bars(
            &format!("throughput_{id}"),
            format!("Operations per second of each engine under each sync policy ({what}); a log axis when the values span more than 30x (the `always` bars stay readable next to `none`)."),
            bars(
                format!("Throughput: {what}"),
                "operations/s",
                by_policy(&rows, &engines, &policies, &mut styles, |r| Some(r.ops_per_sec)),
                None,
                None,
            ),
        )?;

        // 2. Durability tax.
        if policies.iter().any(|p| p == "none") {
            let none: BTreeMap<&str, f64> = rows
                .iter()
                .filter(|r| r.policy == "none")
                .map(|r| (r.engine.as_str(), r.ops_per_sec))
                .collect();
            let tax = by_policy(&rows, &engines, &policies, &mut styles, |r| {
                none.get(r.engine.as_str())
                    .filter(|n| **n > 0.0)
                    .map(|n| r.ops_per_sec / n)
            });
            figs.bars(
                &format!("tax_{id}"),
                format!("The durability tax: each policy's throughput as a fraction of the same engine under `none` ({what}); 0.01 means 100x slower."),
                bars(format!("Durability tax: {what}"), "throughput / throughput under none", tax, None, Some((1.0, "none = 1".into()))),
            )?;
        } else {
            group_notes.push("no `none` policy in this run, so no durability-tax chart".into());
        }

        // 3. Latency percentile spectra, one chart per engine.
        let mut spectra = 0;
        for engine in &engines {
            let mut series = Vec::new();
            for r in rows.iter().filter(|r| &r.engine == engine) {
                let pts = spectrum(&d, r, "all")?;
                if !pts.is_empty() {
                    series.push(Curve {
                        name: r.policy.clone(),
                        style: styles.of(&r.policy),
                        points: pts,
                    });
                }
            }
            if figs.lines(
                &format!("latency_{}_{id}", slug(engine)),
                format!("Latency percentile spectrum of {engine} over all operations: x on a nines scale, y logarithmic, one line per policy ({what}). {TAIL_NOTE}"),
                Lines {
                    title: format!("Latency spectrum: {engine}, {what}"),
                    y_label: "latency (µs)".into(),
                    series,
                    corner: corner.clone(),
                    legend_title: "policy".into(),
                },
            )? {
                spectra += 1;
            }
        }
        if spectra == 0 {
            group_notes.push("no latency distributions (neither `hgrm/*_all.hgrm` nor `latency.csv` rows), so no latency spectra".into());
        }

        // 4. Sync latency distribution and writes per sync.
        let synced: Vec<&RunRow> = rows
            .iter()
            .copied()
            .filter(|r| r.file_syncs.is_some_and(|n| n > 0))
            .collect();
        let sync_policies = ordered(synced.iter().map(|r| r.policy.clone()));
        if synced.is_empty() {
            group_notes.push(
                "no cell issued file syncs through the counting Vfs, so no sync charts".into(),
            );
        } else {
            for engine in ordered(synced.iter().map(|r| r.engine.clone())) {
                let mut series = Vec::new();
                for r in synced.iter().filter(|r| r.engine == engine) {
                    let pts = spectrum(&d, r, "sync")?;
                    if !pts.is_empty() {
                        series.push(Curve {
                            name: r.policy.clone(),
                            style: styles.of(&r.policy),
                            points: pts,
                        });
                    }
                }
                figs.lines(
                    &format!("sync_latency_{}_{id}", slug(&engine)),
                    format!("Distribution of {engine}'s file and directory sync calls (fdatasync/fsync), one line per policy ({what}): the disk's flush latency as the engine sees it. {TAIL_NOTE}"),
                    Lines {
                        title: format!("Sync latency: {engine}, {what}"),
                        y_label: "sync latency (µs)".into(),
                        series,
                        corner: corner.clone(),
                        legend_title: "policy".into(),
                    },
                )?;
            }
            figs.bars(
                &format!("sync_p99_{id}"),
                format!("99th percentile latency of the file and directory syncs each cell issued, all engines side by side ({what})."),
                bars(format!("Sync latency p99: {what}"), "sync p99 (µs)", by_policy(&synced, &engines, &sync_policies, &mut styles, |r| r.sync_p99_us.filter(|v| *v > 0.0)), None, None),
            )?;
            figs.bars(
                &format!("writes_per_sync_{id}"),
                format!("Log writes per file sync: 1 under `always`, N under `batch:N`, the commit-group size under `group` ({what})."),
                bars(format!("Writes per sync: {what}"), "engine log writes per file sync", by_policy(&synced, &engines, &sync_policies, &mut styles, |r| r.writes_per_sync), None, Some((1.0, "1 = a sync per write".into()))),
            )?;
        }

        // 5. Write amplification, engine and device side by side.
        let engine_wa = by_policy(&rows, &engines, &policies, &mut styles, |r| {
            (r.engine_write_amp > 0.0).then_some(r.engine_write_amp)
        });
        let has_device = rows.iter().any(|r| r.device_write_amp.is_some());
        let mut panels = vec![BarPanel {
            subtitle: if has_device {
                "engine (bytes passed to write calls)".into()
            } else {
                "engine (bytes passed to write calls); no device counters on this disk".into()
            },
            series: engine_wa,
        }];
        if has_device {
            panels.push(BarPanel {
                subtitle: "device (block-device counters)".into(),
                series: by_policy(&rows, &engines, &policies, &mut styles, |r| {
                    r.device_write_amp.filter(|_| r.noisy != Some(true))
                }),
            });
        } else {
            group_notes.push("no block-device counters (e.g. tmpfs), so write amplification is engine-level only".into());
        }
        let two = panels.len() == 2;
        figs.bars(
            &format!("write_amp_{id}"),
            format!("Write amplification: bytes written per byte of user data, by the engine (left){} ({what}); 1x = nothing but the user's bytes.", if two { " and by the block device, counted by the disk itself (right)" } else { "" }),
            Bars {
                title: format!("Write amplification: {what}"),
                y_label: "bytes written / user bytes".into(),
                x_label: "engine".into(),
                categories: engines.clone(),
                panels,
                log: None,
                reference: Some((1.0, "1x".into())),
                diverging: false,
                corner: corner.clone(),
                legend_title: "policy".into(),
            },
        )?;

        // 6. Efficiency against the device ceiling.
        if rows.iter().any(|r| r.efficiency.is_some() && !r.open_loop) {
            figs.bars(
                &format!("efficiency_{id}"),
                format!("Efficiency: write operations/s as a fraction of the disk's own ceiling for the same sync cadence and record size, from this run's probe ({what})."),
                bars(format!("Efficiency vs device ceiling: {what}"), "fraction of the probe's ceiling", by_policy(&rows, &engines, &policies, &mut styles, |r| r.efficiency.filter(|_| !r.open_loop)), Some(false), Some((1.0, "device ceiling".into()))),
            )?;
        } else {
            group_notes.push("no probe ceiling matched these cells, so no efficiency chart".into());
        }

        let _ = writeln!(charts_md, "### {what}\n");
        for n in &group_notes {
            let _ = writeln!(charts_md, "- {n}");
            notes.push(format!("{what}: {n}"));
        }
        if !group_notes.is_empty() {
            let _ = writeln!(charts_md);
        }
        charts_md.push_str(&figs.markdown_since(first, "####"));
    }
    charts_md.push_str(&crate::timeline::section(
        &d.folder.files,
        &d.runs,
        &mut figs,
        &corner,
        &mut notes,
    )?);
    charts_md.push_str(&crate::capacity::section(
        &d.folder.files,
        &mut figs,
        &mut styles,
        &corner,
    )?);

    // 7. Crash verification.
    let mut crash_md = String::new();
    match &d.crash {
        Optional::Missing(why) => {
            let _ = writeln!(crash_md, "{why}.\n");
            notes.push(why.clone());
        }
        Optional::Rows(crash) => {
            let first = figs.figures.len();
            for profile in ordered(crash.iter().map(|c| c.profile.clone())) {
                let rows: Vec<&CrashRow> = crash.iter().filter(|c| c.profile == profile).collect();
                let engines = ordered(rows.iter().map(|c| c.engine.clone()));
                let policies = ordered(rows.iter().map(|c| c.policy.clone()));
                // Expected losses (the policy allows them) and unexpected
                // ones (a broken promise) in separate panels: same colours,
                // never stacked into one bar.
                let mut panel = |subtitle: &str, expected: bool| BarPanel {
                    subtitle: subtitle.to_string(),
                    series: policies
                        .iter()
                        .map(|p| BarSeries {
                            name: p.clone(),
                            style: styles.of(p),
                            values: engines
                                .iter()
                                .map(|e| {
                                    rows.iter().find(|c| &c.engine == e && &c.policy == p).map(
                                        |c| {
                                            let lost = if expected {
                                                expected_lost(c)
                                            } else {
                                                c.lost_writes - expected_lost(c)
                                            };
                                            100.0 * lost as f64 / c.acked_writes.max(1) as f64
                                        },
                                    )
                                })
                                .collect(),
                        })
                        .collect(),
                };
                let what = crash_fs_words(&profile);
                let panels = vec![
                    panel("expected (allowed by the policy)", true),
                    panel("unexpected (broken promise)", false),
                ];
                figs.bars(
                    &format!("crash_{}", slug(&profile)),
                    format!("Acknowledged writes lost ({what}), as a percentage of all acknowledged writes, per engine and policy. Left: losses the policy allows (no `+dir`: never-synced file names; `none` and `batch:N`: writes not yet synced). Right: losses that broke the policy's promise (BROKEN); an engine you can trust has no bar there."),
                    Bars {
                        title: format!("Acknowledged writes lost, fs {profile}"),
                        y_label: "acknowledged writes lost (%)".into(),
                        x_label: "engine".into(),
                        categories: engines,
                        panels,
                        log: Some(false),
                        reference: None,
                        diverging: false,
                        corner: corner.clone(),
                        legend_title: "policy".into(),
                    },
                )?;
            }
            crash_md.push_str(&crash_table(crash));
            crash_md.push_str(&figs.markdown_since(first, "###"));
        }
    }

    crash_md.push_str(&crate::recovery::section(
        &d.folder.files,
        &mut figs,
        &corner,
    )?);
    let md = report_markdown(&d, &charts_md, &crash_md);
    let html = crate::html::to_html(
        &md,
        out,
        &format!("bench-runner report: {}", d.folder.label),
    );
    let markdown = out.join("report.md");
    let html_path = out.join("report.html");
    results::write_durably(&markdown, md.as_bytes())?;
    results::write_durably(&html_path, html.as_bytes())?;
    Ok(ReportSummary {
        charts: figs.files,
        markdown,
        html: html_path,
        notes,
        warnings: d.warnings,
    })
}

/// The report leads with the answer (the headline), then what to doubt
/// (one box of warnings), then the charts and the crash table; the
/// environment and the probe follow as reference.
fn report_markdown(d: &Loaded, charts_md: &str, crash_md: &str) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# bench-runner report: {}\n", d.folder.label);
    let mut lead: Vec<String> = Vec::new();
    if !d.folder.date.is_empty() {
        lead.push(format!(
            "Run of {} on **{}**.",
            d.folder.date, d.folder.label
        ));
    }
    // The box comes after the answer; its causes are named before it.
    if !d.warnings.is_empty() {
        let titles: Vec<String> = d
            .warnings
            .iter()
            .map(|w| format!("*{}*", w.title()))
            .collect();
        lead.push(format!(
            "{} Warnings below the headline: {}.",
            crate::cells::FLAG,
            titles.join("; ")
        ));
    }
    if !lead.is_empty() {
        let _ = writeln!(m, "{}\n", lead.join(" "));
    }

    // A folder of crash, recovery or probe results alone has no headline.
    if !d.runs.is_empty() {
        let _ = writeln!(m, "## Headline: what each sync policy costs\n");
        crate::headline::headline_md(&mut m, &d.runs);
    }
    crate::tables::warnings_md(&mut m, &d.warnings);
    let _ = writeln!(m, "{}\n", crate::html::CONTENTS);

    if !d.runs.is_empty() {
        let _ = writeln!(m, "## Charts\n");
        m.push_str(charts_md);
    }

    let _ = writeln!(m, "## Crash verification\n");
    m.push_str(crash_md);

    if !d.runs.is_empty() {
        let _ = writeln!(m, "## All cells\n");
        crate::tables::cells_md(&mut m, &d.runs);
    }
    if !d.folder.not_ok.is_empty() {
        let _ = writeln!(m, "### Failed or skipped cells\n");
        for r in &d.folder.not_ok {
            let _ = writeln!(
                m,
                "- {} {} {} t{}: {} ({})",
                r.engine, r.policy, r.workload, r.threads, r.status, r.error
            );
        }
        let _ = writeln!(m);
    }

    let _ = writeln!(m, "## Environment\n");
    match &d.folder.env {
        Ok(e) => crate::tables::environment_md(&mut m, e),
        Err(why) => {
            let _ = writeln!(m, "{why}: machine and disk are not recorded.");
        }
    }
    let _ = writeln!(m);

    let _ = writeln!(m, "## Device ceilings (probe)\n");
    match &d.probe {
        Optional::Missing(why) => {
            let _ = writeln!(m, "{why}.\n");
        }
        Optional::Rows(probe) => crate::tables::probe_md(&mut m, probe),
    }
    crate::tables::ceilings_md(&mut m, &d.ceilings);

    let _ = writeln!(m, "## Command\n");
    match &d.folder.env {
        Ok(e) if !e.command.is_empty() => {
            let _ = writeln!(
                m,
                "The exact command that produced this run:\n\n```\n{}\n```\n",
                e.command
            );
        }
        _ => {
            let _ = writeln!(
                m,
                "Not recorded (`environment.json` is missing or has no command).\n"
            );
        }
    }
    m
}
