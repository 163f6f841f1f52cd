//! The recovery section: reopen time against data size (`recovery.csv`),
//! log-log, one colour per engine x policy, solid after a SIGKILL and
//! dashed after a clean close; and its table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use results::{RecoveryRow, ResultsDir};

use crate::chart::{human, Formats, SIZE};
use crate::figures::{ordered, FigureSet};
use crate::style::{self, FAMILY};
use crate::PlotError;

/// One line of the chart.
#[derive(Debug, Clone)]
struct Line {
    name: String,
    style: usize,
    dashed: bool,
    /// (keys, milliseconds).
    points: Vec<(f64, f64)>,
}

#[derive(Debug, Clone)]
struct RecoveryChart {
    title: String,
    corner: String,
    lines: Vec<Line>,
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

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
    let chart = RecoveryChart {
        title: "Recovery time against data size".into(),
        corner: corner.to_string(),
        lines,
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

fn err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError::Draw {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes `base.svg` and (unless SVG only) `base.png`.
fn render(base: &Path, chart: &RecoveryChart, formats: Formats) -> Result<Vec<PathBuf>, PlotError> {
    style::register_font().map_err(|reason| PlotError::Draw {
        path: base.to_path_buf(),
        reason,
    })?;
    let mut written = Vec::new();
    if formats == Formats::PngAndSvg {
        let png = base.with_extension("png");
        {
            let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
            draw(&root, chart).map_err(err(&png))?;
            root.present().map_err(err(&png))?;
        }
        written.push(png);
    }
    let svg = base.with_extension("svg");
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        draw(&root, chart).map_err(err(&svg))?;
        root.present().map_err(err(&svg))?;
    }
    std::fs::write(&svg, crate::svgtext::outline_text(&text, "recovery-")).map_err(err(&svg))?;
    written.push(svg);
    Ok(written)
}

/// The decade range around `values` (at least one decade).
fn decades(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, 0f64), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() || hi <= 0.0 {
        return (1.0, 10.0);
    }
    let lo = 10f64.powf(lo.log10().floor());
    let hi = 10f64.powf(hi.log10().ceil()).max(lo * 10.0);
    (lo, hi)
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &RecoveryChart) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let pts = || c.lines.iter().flat_map(|l| l.points.iter());
    let (x0, x1) = decades(pts().map(|p| p.0));
    let (y0, y1) = decades(pts().map(|p| p.1));
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, (FAMILY, 26).into_font())
        .margin(16)
        .margin_bottom(30)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())?;
    chart
        .configure_mesh()
        .light_line_style(RGBColor(235, 235, 235))
        .x_desc("keys in the store (log scale)")
        .y_desc("reopen + first read, ms (log scale)")
        .x_label_formatter(&|v| human(*v))
        .y_label_formatter(&|v| human(*v))
        .axis_desc_style((FAMILY, 18))
        .label_style((FAMILY, 15))
        .draw()?;
    for l in c.lines.iter().filter(|l| !l.points.is_empty()) {
        let color = style::color(l.style);
        let s = color.stroke_width(if l.dashed { 2 } else { 3 });
        let anno = if l.dashed {
            chart.draw_series(DashedLineSeries::new(l.points.iter().copied(), 10, 6, s))?
        } else {
            chart.draw_series(LineSeries::new(l.points.iter().copied(), s))?
        };
        let gap = if l.dashed { 6 } else { 0 };
        anno.label(l.name.clone()).legend(move |(x, y)| {
            // A dashed line's swatch is two short strokes.
            let stroke = color.stroke_width(3);
            EmptyElement::at((x, y))
                + PathElement::new(vec![(0, 0), (12 - gap / 2, 0)], stroke)
                + PathElement::new(vec![(12 + gap / 2, 0), (24, 0)], stroke)
        });
        chart.draw_series(l.points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(180, 180, 180))
        .label_font((FAMILY, 14))
        .draw()?;
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(
        c.corner.clone(),
        (w as i32 - 8, h as i32 - 20),
        (FAMILY, 14)
            .into_font()
            .color(&RGBColor(90, 90, 90))
            .pos(Pos::new(HPos::Right, VPos::Bottom)),
    ))?;
    Ok(())
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
