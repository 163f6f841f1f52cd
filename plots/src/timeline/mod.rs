//! Throughput and p99 over time, from `timeline.csv` (one row per cell,
//! repetition and interval) and `events.csv` (the engines' maintenance),
//! drawn in the report as an overlay ([`overlay`]: every cell of a
//! workload and thread count on one panel) followed by a trellis
//! ([`chart`]: a panel per cell).
//!
//! - Both files are optional: a folder from before they existed draws no
//!   chart over time and says so in one line. A file that does not parse
//!   is an error naming it, as for every other results file.
//! - Each cell is drawn from one repetition: the median by ops/s of its
//!   rows in `repetitions.csv` (the lower middle one of an even count),
//!   else repetition 0, else the first repetition its timeline has.
//! - Stalls are found in the drawn repetition by [`results::steady`]'s
//!   rule, the one behind `runs.csv`'s stall columns.
//!
//! `cells` reads the files and picks the repetitions, `kind` names and
//! colours the event kinds, `axis` is the shared y axis (the 30x log
//! rule), `overlay` and `chart` draw, `canvas` writes PNG and SVG; this file
//! turns cells into charts and captions.

mod axis;
mod canvas;
mod cells;
mod chart;
mod kind;
mod overlay;

use std::fmt::Write as _;

use results::steady::STALL_FRACTION;
use results::{ResultsDir, RunRow, TimelineRow};

use crate::chart::LOG_SCALE_ABOVE;
use crate::figures::{ordered, slug, thread_word, FigureSet};
use crate::PlotError;
use axis::YScale;
use cells::{CellId, CellTimeline, Timelines};
use chart::{Mark, Panel, Step, Trellis};
use kind::EventKind;
use overlay::{Overlay, MAX_LINES};

/// Which value of an interval a chart draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Metric {
    Throughput,
    P99,
}

impl Metric {
    /// What a chart of this metric shows, in a sentence.
    fn words(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::P99 => "p99 latency",
        }
    }

    fn value(self, r: &TimelineRow) -> Option<f64> {
        match self {
            Metric::Throughput => Some(r.ops_per_sec),
            Metric::P99 => r.p99_us,
        }
        .filter(|v| v.is_finite())
    }
}

/// One chart of one workload and thread count: rows are engines (with
/// the value size when the group has several), columns policies.
fn trellis(cells: &[&CellTimeline], runs: &[RunRow], metric: Metric, what: &str) -> Trellis {
    let sizes = ordered(cells.iter().map(|c| c.id.value_size_bytes));
    // Engines and policies in the report's matrix order, then any the
    // runs do not name.
    let engine_order = ordered(runs.iter().map(|r| r.engine.clone()));
    let pos = |e: &str| {
        engine_order
            .iter()
            .position(|x| x == e)
            .unwrap_or(usize::MAX)
    };
    let mut rows: Vec<(String, u64)> = ordered(
        cells
            .iter()
            .map(|c| (c.id.engine.clone(), c.id.value_size_bytes)),
    );
    rows.sort_by_key(|(e, v)| (pos(e), *v));
    let mut cols = ordered(cells.iter().map(|c| c.id.policy.clone()));
    cols.sort_by_cached_key(|p| results::PolicyKey::parse(p));
    let mut panels: Vec<Panel> = cells
        .iter()
        .filter_map(|c| {
            let row = rows
                .iter()
                .position(|r| r.0 == c.id.engine && r.1 == c.id.value_size_bytes)?;
            let col = cols.iter().position(|p| *p == c.id.policy)?;
            let (note, short_note) = c.notes();
            Some(Panel {
                row,
                col,
                note,
                short_note,
                empty: String::new(),
                steps: c
                    .intervals
                    .iter()
                    .map(|r| Step {
                        from_s: r.t_ms / 1000.0,
                        to_s: (r.t_ms + r.interval_ms) / 1000.0,
                        value: metric.value(r),
                    })
                    .collect(),
                events: c
                    .events
                    .iter()
                    .map(|e| Mark {
                        from_s: e.start_ms / 1000.0,
                        to_s: e.end_ms / 1000.0,
                        kind: EventKind::parse(&e.kind),
                    })
                    .collect(),
                stalls: c
                    .stalls
                    .iter()
                    .map(|s| (s.start_ms / 1000.0, s.end_ms / 1000.0))
                    .collect(),
            })
        })
        .collect();
    // A cell without a timeline was either not run (skipped or failed:
    // `runs` holds finished cells only) or ran without one.
    let (workload, threads) = cells.first().map_or((String::new(), 0), |c| {
        (c.id.workload.clone(), c.id.threads)
    });
    for (ri, (engine, size)) in rows.iter().enumerate() {
        for (ci, policy) in cols.iter().enumerate() {
            if panels.iter().any(|p| p.row == ri && p.col == ci) {
                continue;
            }
            let id = CellId::new(engine, policy, &workload, threads, *size);
            let ran = runs.iter().any(|r| CellId::of_run(r) == id);
            panels.push(Panel {
                row: ri,
                col: ci,
                empty: if ran { "no timeline" } else { "not run" }.into(),
                ..Panel::default()
            });
        }
    }
    let (title, y_label) = match metric {
        Metric::Throughput => (format!("Throughput over time: {what}"), "operations/s"),
        Metric::P99 => (format!("p99 latency over time: {what}"), "p99 latency (µs)"),
    };
    Trellis {
        title,
        y_label: y_label.into(),
        x_label: "seconds since the start of the measured phase".into(),
        rows: rows
            .into_iter()
            .map(|(e, v)| {
                if sizes.len() > 1 {
                    format!("{e} {v} B")
                } else {
                    e
                }
            })
            .collect(),
        cols,
        panels,
        corner: String::new(),
    }
}

/// The length of most intervals, for the captions (`100 ms`).
fn interval_words(cells: &[&CellTimeline]) -> String {
    let mut ms: Vec<f64> = cells
        .iter()
        .flat_map(|c| c.intervals.iter().map(|r| r.interval_ms))
        .filter(|v| v.is_finite() && *v > 0.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    match ms.get(ms.len() / 2) {
        Some(v) if *v >= 1000.0 => format!("{} s", crate::chart::human(v / 1000.0)),
        Some(v) => format!("{} ms", crate::chart::human(*v)),
        None => "fixed".into(),
    }
}

/// What a chart's values are: the first sentence of both captions.
fn metric_words(metric: Metric, what: &str, interval: &str) -> String {
    match metric {
        Metric::Throughput => format!(
            "Operations per second in each {interval} interval of the measured phase ({what})."
        ),
        Metric::P99 => format!("99th-percentile latency of the operations timed in each {interval} interval of the measured phase ({what}); an interval that timed no operation has no value, and the line breaks there."),
    }
}

/// Which repetition a line is, for both captions.
const REPETITION_WORDS: &str = "the median by ops/s of the cell's repetitions in `repetitions.csv`, or repetition 0 when that file does not list it";

/// The stall rule, for both captions.
fn stall_rule() -> String {
    format!("runs of consecutive intervals below {:.0}% of the cell's median interval throughput (the rule behind `stall_count` in `runs.csv`)", STALL_FRACTION * 100.0)
}

/// The y axis: the log rule, and the floor when zeros sit on it.
fn axis_words(y: &YScale, metric: Metric) -> String {
    let mut c = String::new();
    let unit = match metric {
        Metric::Throughput => "operations/s",
        Metric::P99 => "µs",
    };
    if y.log {
        let _ = write!(c, " The y axis is logarithmic because the values span more than {LOG_SCALE_ABOVE:.0}x (smallest positive vs largest); it is linear when they span less.");
        if y.floored > 0 {
            let n = y.floored;
            let s = if n == 1 { "" } else { "s" };
            let _ = write!(c, " {n} interval{s} that completed no operation (0 {unit}, which a log axis cannot show) are drawn at its floor, {} {unit}.", crate::chart::human(y.lo));
        }
    } else {
        let _ = write!(c, " The y axis is linear from 0: the values span less than {LOG_SCALE_ABOVE:.0}x (it turns logarithmic when they span more).");
    }
    c
}

/// How to read a grid: lines, panels, repetition, bands, stalls, axis.
fn caption(t: &Trellis, metric: Metric, what: &str, interval: &str) -> String {
    let mut c = metric_words(metric, what, interval);
    let _ = write!(c, " One panel per engine (rows) and policy (columns), all on the same axes; each line is one engine × policy cell, drawn from one repetition named above its panel (numbered from 0): {REPETITION_WORDS}.");
    let kinds = t.kinds();
    if kinds.is_empty() {
        let _ = write!(
            c,
            " No engine reported maintenance events in these repetitions, so there are no bands."
        );
    } else {
        let names: Vec<&str> = kinds.iter().map(EventKind::name).collect();
        let _ = write!(c, " Shaded bands are the maintenance the engine reported during that repetition, coloured by kind ({}); an event that began in the warm-up or outlasted the phase is cut at the panel's edges, and a very short one is widened to {} pixels so that it shows.", names.join(", "), chart::MIN_BAND_PX);
        if kinds.iter().any(EventKind::instant) {
            let _ = write!(c, " Rotations and recycles shorter than {:.0}% of the time axis are ticks on the panel's top edge.", chart::TICK_FRACTION * 100.0);
        }
    }
    let _ = write!(
        c,
        " Black bars on a panel's bottom edge are stalls: {}; the count is above the panel.",
        stall_rule()
    );
    c.push_str(&axis_words(&t.y_scale(), metric));
    c
}

/// How to read an overlay: lines, lanes, repetition, stalls, axis.
fn overlay_caption(o: &Overlay, metric: Metric, what: &str, interval: &str) -> String {
    let mut c = metric_words(metric, what, interval);
    let _ = write!(c, " One line per engine × policy cell, all on one panel, each in a colour of its own and dashed by policy; the legend beside the lanes names them. A line is the same repetition as its panel in the grid below: {REPETITION_WORDS}.");
    let kinds = o.kinds();
    if kinds.is_empty() {
        let _ = write!(c, " Under the plot each line has a thin lane, in the legend's order; no engine reported maintenance events in these repetitions, so the lanes show stalls only.");
    } else {
        let names: Vec<&str> = kinds.iter().map(EventKind::name).collect();
        let _ = write!(c, " Under the plot each line has a thin lane of its own, in the legend's order and named at its right, shaded where that cell's engine reported maintenance, coloured by kind ({}); an event that began in the warm-up or outlasted the phase is cut at the lane's edges, and a very short one is widened to {} pixels so that it shows.", names.join(", "), chart::MIN_BAND_PX);
        if kinds.iter().any(EventKind::instant) {
            let _ = write!(c, " Rotations and recycles shorter than {:.0}% of the time axis are ticks across the lane.", chart::TICK_FRACTION * 100.0);
        }
    }
    let _ = write!(
        c,
        " Black bars on a lane's bottom edge are stalls: {}.",
        stall_rule()
    );
    c.push_str(&axis_words(&o.y_scale(), metric));
    let _ = write!(c, " With more than {MAX_LINES} cells the report draws no overlay (the lines would tangle); the grid below always shows each cell on its own panel.");
    c
}

/// Draws the charts over time of every workload and thread count and
/// returns their Markdown (a `###` heading per group), or one sentence
/// when the folder has no timeline; notes go to `notes` too.
///
/// Per group: the overlays (every cell on one panel) first, then the
/// grids (a panel per cell), throughput before p99.
pub(crate) fn section(
    rd: &ResultsDir,
    runs: &[RunRow],
    figs: &mut FigureSet,
    corner: &str,
    notes: &mut Vec<String>,
) -> Result<String, PlotError> {
    // A folder without run cells (a recovery or capacity run alone) has
    // nothing to chart over time, and nothing missing to say about it.
    if runs.is_empty() && !rd.timeline().exists() {
        return Ok(String::new());
    }
    let cells = match cells::load(rd)? {
        Timelines::Missing(why) => {
            notes.push(why.clone());
            return Ok(format!("No charts over time: {why}.\n\n"));
        }
        Timelines::Cells(c) => c,
    };
    let mut md = String::new();
    // Groups with too many cells for an overlay: one terminal note for all.
    let mut tangled: Vec<String> = Vec::new();
    let groups = ordered(
        runs.iter()
            .map(|r| (r.workload.clone(), r.threads))
            .chain(cells.iter().map(|c| (c.id.workload.clone(), c.id.threads))),
    );
    for (workload, threads) in groups {
        let group: Vec<&CellTimeline> = cells
            .iter()
            .filter(|c| c.id.workload == workload && c.id.threads == threads)
            .collect();
        if group.is_empty() {
            continue;
        }
        let what = format!("{workload}, {}", thread_word(threads));
        let id = format!("{}_t{threads}", slug(&workload));
        let interval = interval_words(&group);
        let first = figs.figures.len();
        let mut group_notes: Vec<String> = Vec::new();
        let mut too_many = None;
        // Said in the report only: nothing is missing, the grid shows it.
        let mut md_notes: Vec<String> = Vec::new();
        let mut grids: Vec<(Metric, &str, Trellis)> = Vec::new();
        for (metric, name) in [
            (Metric::Throughput, "throughput_over_time"),
            (Metric::P99, "p99_over_time"),
        ] {
            let mut t = trellis(&group, runs, metric, &what);
            t.corner = corner.to_string();
            if t.is_empty() {
                group_notes.push(format!(
                    "no interval timed an operation, so no {} chart",
                    t.title
                ));
                continue;
            }
            grids.push((metric, name, t));
        }
        for (metric, name, t) in &grids {
            let title = match metric {
                Metric::Throughput => format!("Throughput over time, all cells: {what}"),
                Metric::P99 => format!("p99 latency over time, all cells: {what}"),
            };
            let o = Overlay::of(t, title);
            let n = o.lines.len();
            if n > MAX_LINES {
                too_many = Some(n);
                continue;
            }
            if n < 2 {
                md_notes.push(format!("one cell, so no overlaid chart of {}: the grid's single panel is the whole picture", metric.words()));
                continue;
            }
            let caption = overlay_caption(&o, *metric, &what, &interval);
            let title = o.title.clone();
            figs.drawn(
                &format!("{name}_all_{id}"),
                title,
                caption,
                |base, formats| canvas::render(base, &o, formats),
            )?;
        }
        for (metric, name, t) in &grids {
            let caption = caption(t, *metric, &what, &interval);
            let title = t.title.clone();
            figs.drawn(&format!("{name}_{id}"), title, caption, |base, formats| {
                canvas::render(base, t, formats)
            })?;
        }
        let _ = writeln!(md, "### Over time: {what}\n");
        for n in &group_notes {
            let _ = writeln!(md, "- {n}");
            notes.push(format!("{what}: {n}"));
        }
        if let Some(n) = too_many {
            let _ = writeln!(md, "- {n} cells: more than {MAX_LINES} lines would tangle on one panel, so no overlaid charts; the grids show every cell");
            tangled.push(format!("{what} ({n} cells)"));
        }
        for n in &md_notes {
            let _ = writeln!(md, "- {n}");
        }
        if !group_notes.is_empty() || !md_notes.is_empty() || too_many.is_some() {
            let _ = writeln!(md);
        }
        md.push_str(&figs.markdown_since(first, "####"));
    }
    if !tangled.is_empty() {
        notes.push(format!(
            "{}: more than {MAX_LINES} cells each, so no overlaid charts over time; the grids show every cell",
            tangled.join(", ")
        ));
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caption_states_the_floor_only_when_zeros_were_floored() {
        let t = |values: &[f64]| Trellis {
            rows: vec!["lsm".into()],
            cols: vec!["none".into()],
            panels: vec![Panel {
                steps: values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Step {
                        from_s: i as f64 * 0.1,
                        to_s: (i + 1) as f64 * 0.1,
                        value: Some(*v),
                    })
                    .collect(),
                ..Panel::default()
            }],
            ..Trellis::default()
        };
        let c = caption(
            &t(&[0.0, 20.0, 50_000.0]),
            Metric::Throughput,
            "w",
            "100 ms",
        );
        assert!(c.contains("logarithmic"), "{c}");
        assert!(c.contains("1 interval that completed no operation"), "{c}");
        assert!(c.contains("floor, 10 operations/s"), "{c}");
        let c = caption(&t(&[900.0, 1000.0]), Metric::Throughput, "w", "100 ms");
        assert!(c.contains("linear from 0") && !c.contains("floor"), "{c}");
    }
}
