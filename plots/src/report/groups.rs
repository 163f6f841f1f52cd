//! The charts of each workload and thread count: throughput, the
//! durability tax, latency and sync-latency spectra, writes per sync,
//! write amplification and efficiency, each with its caption, and a note
//! for every chart left out and why.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use results::{LatencyRow, RunRow};

use super::Charts;
use crate::chart::{BarPanel, BarSeries, Bars, Curve, Lines};
use crate::figures::{hgrm_stem, ordered, slug, thread_word};
use crate::loaded::Loaded;
use crate::PlotError;

/// What every spectrum caption says about where its lines stop.
const TAIL_NOTE: &str = "Each line stops at the highest percentile its operation count supports (five operations must lie above it: p99.9 needs 5,000 operations, p99.99 50,000); the x axis ends where the data does.";

/// The finished cells of one workload and thread count.
struct Group<'a> {
    rows: Vec<&'a RunRow>,
    /// Engines in matrix order: the categories of every bar chart.
    engines: Vec<String>,
    /// Policies from the least to the most durable: the series.
    policies: Vec<String>,
    /// `fillrandom, 1 thread`: in every title and caption.
    what: String,
    /// `fillrandom_t1`: in every chart's file name.
    id: String,
}

impl<'a> Group<'a> {
    fn of(runs: &'a [RunRow], workload: &str, threads: u32) -> Group<'a> {
        let rows: Vec<&RunRow> = runs
            .iter()
            .filter(|r| r.workload == workload && r.threads == threads)
            .collect();
        let engines = ordered(rows.iter().map(|r| r.engine.clone()));
        let mut policies = ordered(rows.iter().map(|r| r.policy.clone()));
        policies.sort_by_cached_key(|p| results::PolicyKey::parse(p));
        Group {
            rows,
            engines,
            policies,
            what: format!("{workload}, {}", thread_word(threads)),
            id: format!("{}_t{threads}", slug(workload)),
        }
    }

    /// A bar chart of this group: engines along x, a bar per policy.
    fn bars(
        &self,
        corner: &str,
        title: String,
        y_label: &str,
        panels: Vec<BarPanel>,
        log: Option<bool>,
        reference: Option<(f64, String)>,
    ) -> Bars {
        Bars {
            title,
            y_label: y_label.into(),
            x_label: "engine".into(),
            categories: self.engines.clone(),
            panels,
            log,
            reference,
            diverging: false,
            corner: corner.to_string(),
            legend_title: "policy".into(),
        }
    }
}

/// The `### workload, threads` sections of the charts, one per workload
/// and thread count; what each leaves out goes to `notes` too.
pub(super) fn group_sections(c: &mut Charts, notes: &mut Vec<String>) -> Result<String, PlotError> {
    let mut md = String::new();
    let d = c.d;
    for (workload, threads) in ordered(d.runs.iter().map(|r| (r.workload.clone(), r.threads))) {
        let g = Group::of(&d.runs, &workload, threads);
        let first = c.figs.figures.len();
        let group_notes = group_charts(c, &g)?;
        let _ = writeln!(md, "### {}\n", g.what);
        for n in &group_notes {
            let _ = writeln!(md, "- {n}");
            notes.push(format!("{}: {n}", g.what));
        }
        if !group_notes.is_empty() {
            let _ = writeln!(md);
        }
        md.push_str(&c.figs.markdown_since(first, "####"));
    }
    Ok(md)
}

/// Draws every chart of `g`; returns a note for each one left out.
fn group_charts(c: &mut Charts, g: &Group) -> Result<Vec<String>, PlotError> {
    let mut notes: Vec<String> = Vec::new();
    if g.rows
        .iter()
        .any(|r| r.noisy == Some(true) && r.device_write_amp.is_some())
    {
        notes.push("cells marked noisy have no device bar in the write-amplification chart: other processes' I/O is in their device counters".into());
    }
    throughput(c, g)?;
    notes.extend(tax(c, g)?);
    notes.extend(latency_spectra(c, g)?);
    notes.extend(sync_charts(c, g)?);
    notes.extend(write_amplification(c, g)?);
    notes.extend(efficiency(c, g)?);
    Ok(notes)
}

fn one_panel(series: Vec<BarSeries>) -> Vec<BarPanel> {
    vec![BarPanel {
        subtitle: String::new(),
        series,
    }]
}

/// The throughput chart.
fn throughput(c: &mut Charts, g: &Group) -> Result<(), PlotError> {
    let what = &g.what;
    let series = c.by_policy(&g.rows, &g.engines, &g.policies, |r| Some(r.ops_per_sec));
    c.figs.bars(
        &format!("throughput_{}", g.id),
        format!("Operations per second of each engine under each sync policy ({what}); a log axis when the values span more than 30x (the `always` bars stay readable next to `none`)."),
        g.bars(c.corner, format!("Throughput: {what}"), "operations/s", one_panel(series), None, None),
    )?;
    Ok(())
}

/// The durability tax: each policy against `none`; a note without one.
fn tax(c: &mut Charts, g: &Group) -> Result<Option<String>, PlotError> {
    if !g.policies.iter().any(|p| p == "none") {
        return Ok(Some(
            "no `none` policy in this run, so no durability-tax chart".into(),
        ));
    }
    let what = &g.what;
    let none: BTreeMap<&str, f64> = g
        .rows
        .iter()
        .filter(|r| r.policy == "none")
        .map(|r| (r.engine.as_str(), r.ops_per_sec))
        .collect();
    let tax = c.by_policy(&g.rows, &g.engines, &g.policies, |r| {
        none.get(r.engine.as_str())
            .filter(|n| **n > 0.0)
            .map(|n| r.ops_per_sec / n)
    });
    c.figs.bars(
        &format!("tax_{}", g.id),
        format!("The durability tax: each policy's throughput as a fraction of the same engine under `none` ({what}); 0.01 means 100x slower."),
        g.bars(c.corner, format!("Durability tax: {what}"), "throughput / throughput under none", one_panel(tax), None, Some((1.0, "none = 1".into()))),
    )?;
    Ok(None)
}

/// One line per cell of `rows`: its percentile spectrum for `operation`
/// (cells without one are left out).
fn curves(c: &mut Charts, rows: &[&RunRow], operation: &str) -> Result<Vec<Curve>, PlotError> {
    let mut series = Vec::new();
    for r in rows {
        let pts = spectrum(c.d, r, operation)?;
        if !pts.is_empty() {
            series.push(Curve {
                name: r.policy.clone(),
                style: c.styles.of(&r.policy),
                points: pts,
            });
        }
    }
    Ok(series)
}

/// Latency percentile spectra, one chart per engine; a note when no
/// cell has a latency distribution.
fn latency_spectra(c: &mut Charts, g: &Group) -> Result<Option<String>, PlotError> {
    let what = &g.what;
    let mut spectra = 0;
    for engine in &g.engines {
        let rows: Vec<&RunRow> = g
            .rows
            .iter()
            .copied()
            .filter(|r| &r.engine == engine)
            .collect();
        let series = curves(c, &rows, "all")?;
        if c.figs.lines(
            &format!("latency_{}_{}", slug(engine), g.id),
            format!("Latency percentile spectrum of {engine} over all operations: x on a nines scale, y logarithmic, one line per policy ({what}). {TAIL_NOTE}"),
            Lines {
                title: format!("Latency spectrum: {engine}, {what}"),
                y_label: "latency (µs)".into(),
                series,
                corner: c.corner.to_string(),
                legend_title: "policy".into(),
            },
        )? {
            spectra += 1;
        }
    }
    Ok((spectra == 0).then(|| "no latency distributions (neither `hgrm/*_all.hgrm` nor `latency.csv` rows), so no latency spectra".into()))
}

/// Sync latency spectra per engine, sync p99 and writes per sync; a
/// note when no cell issued file syncs.
fn sync_charts(c: &mut Charts, g: &Group) -> Result<Option<String>, PlotError> {
    let what = &g.what;
    let synced: Vec<&RunRow> = g
        .rows
        .iter()
        .copied()
        .filter(|r| r.file_syncs.is_some_and(|n| n > 0))
        .collect();
    if synced.is_empty() {
        return Ok(Some(
            "no cell issued file syncs through the counting Vfs, so no sync charts".into(),
        ));
    }
    let sync_policies = ordered(synced.iter().map(|r| r.policy.clone()));
    for engine in ordered(synced.iter().map(|r| r.engine.clone())) {
        let rows: Vec<&RunRow> = synced
            .iter()
            .copied()
            .filter(|r| r.engine == engine)
            .collect();
        let series = curves(c, &rows, "sync")?;
        c.figs.lines(
            &format!("sync_latency_{}_{}", slug(&engine), g.id),
            format!("Distribution of {engine}'s file and directory sync calls (fdatasync/fsync), one line per policy ({what}): the disk's flush latency as the engine sees it. {TAIL_NOTE}"),
            Lines {
                title: format!("Sync latency: {engine}, {what}"),
                y_label: "sync latency (µs)".into(),
                series,
                corner: c.corner.to_string(),
                legend_title: "policy".into(),
            },
        )?;
    }
    let p99 = c.by_policy(&synced, &g.engines, &sync_policies, |r| {
        r.sync_p99_us.filter(|v| *v > 0.0)
    });
    c.figs.bars(
        &format!("sync_p99_{}", g.id),
        format!("99th percentile latency of the file and directory syncs each cell issued, all engines side by side ({what})."),
        g.bars(c.corner, format!("Sync latency p99: {what}"), "sync p99 (µs)", one_panel(p99), None, None),
    )?;
    let per_sync = c.by_policy(&synced, &g.engines, &sync_policies, |r| r.writes_per_sync);
    c.figs.bars(
        &format!("writes_per_sync_{}", g.id),
        format!("Log writes per file sync: 1 under `always`, N under `batch:N`, the commit-group size under `group` ({what})."),
        g.bars(c.corner, format!("Writes per sync: {what}"), "engine log writes per file sync", one_panel(per_sync), None, Some((1.0, "1 = a sync per write".into()))),
    )?;
    Ok(None)
}

/// Write amplification, engine and device side by side; a note when
/// the disk has no block-device counters.
fn write_amplification(c: &mut Charts, g: &Group) -> Result<Option<String>, PlotError> {
    let what = &g.what;
    let engine_wa = c.by_policy(&g.rows, &g.engines, &g.policies, |r| {
        (r.engine_write_amp > 0.0).then_some(r.engine_write_amp)
    });
    let has_device = g.rows.iter().any(|r| r.device_write_amp.is_some());
    let mut panels = vec![BarPanel {
        subtitle: if has_device {
            "engine (bytes passed to write calls)".into()
        } else {
            "engine (bytes passed to write calls); no device counters on this disk".into()
        },
        series: engine_wa,
    }];
    let note = if has_device {
        panels.push(BarPanel {
            subtitle: "device (block-device counters)".into(),
            series: c.by_policy(&g.rows, &g.engines, &g.policies, |r| {
                r.device_write_amp.filter(|_| r.noisy != Some(true))
            }),
        });
        None
    } else {
        Some(
            "no block-device counters (e.g. tmpfs), so write amplification is engine-level only"
                .into(),
        )
    };
    let two = panels.len() == 2;
    c.figs.bars(
        &format!("write_amp_{}", g.id),
        format!("Write amplification: bytes written per byte of user data, by the engine (left){} ({what}); 1x = nothing but the user's bytes.", if two { " and by the block device, counted by the disk itself (right)" } else { "" }),
        g.bars(
            c.corner,
            format!("Write amplification: {what}"),
            "bytes written / user bytes",
            panels,
            None,
            Some((1.0, "1x".into())),
        ),
    )?;
    Ok(note)
}

/// Efficiency against the device ceiling; a note when no probe ceiling
/// matched the group's cells.
fn efficiency(c: &mut Charts, g: &Group) -> Result<Option<String>, PlotError> {
    if !g
        .rows
        .iter()
        .any(|r| r.efficiency.is_some() && !r.open_loop)
    {
        return Ok(Some(
            "no probe ceiling matched these cells, so no efficiency chart".into(),
        ));
    }
    let what = &g.what;
    let series = c.by_policy(&g.rows, &g.engines, &g.policies, |r| {
        r.efficiency.filter(|_| !r.open_loop)
    });
    c.figs.bars(
        &format!("efficiency_{}", g.id),
        format!("Efficiency: write operations/s as a fraction of the disk's own ceiling for the same sync cadence and record size, from this run's probe ({what})."),
        g.bars(c.corner, format!("Efficiency vs device ceiling: {what}"), "fraction of the probe's ceiling", one_panel(series), Some(false), Some((1.0, "device ceiling".into()))),
    )?;
    Ok(None)
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
