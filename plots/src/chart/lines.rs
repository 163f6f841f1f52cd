//! Percentile-spectrum line charts: latency against the "nines" of the
//! percentile, one curve per series.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::draw::{
    corner, draw_marker, legend_box, legend_heading, local, log_ticks, tick_line, Chart, X_TICK,
    Y_TICK,
};
use super::{human, Curve, DrawResult, Lines, LEGEND_W};
use crate::style::{self, FAMILY};

/// The "nines" position of a percentile: 50 -> 0.3, 90 -> 1, 99 -> 2, ...
pub fn nines(p: f64) -> f64 {
    -(1.0 - (p / 100.0).min(0.999_999)).log10()
}

/// Percentiles the spectrum shows: 50% to 99.999% (the maximum, 100%, has no
/// place on a nines scale).
fn in_spectrum(p: f64) -> bool {
    (50.0..=99.9991).contains(&p)
}

/// The labelled percentiles: grid lines, axis labels and markers.
const LABELLED: [(&str, f64); 6] = [
    ("50%", 50.0),
    ("90%", 90.0),
    ("99%", 99.0),
    ("99.9%", 99.9),
    ("99.99%", 99.99),
    ("99.999%", 99.999),
];

pub(super) fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &Lines,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let (plot, legend) = root.split_horizontally(w - LEGEND_W);
    let (y0, y1) = y_decades(c);
    let x1 = x_end(c);
    let mut chart = ChartBuilder::on(&plot)
        .caption(&c.title, (FAMILY, 26).into_font())
        .margin(12)
        .margin_bottom(30)
        .x_label_area_size(70)
        .y_label_area_size(90)
        .build_cartesian_2d(0.0f64..x1 + 0.1, y0..y1)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .x_desc("percentile (nines scale)")
        .y_desc(format!("{} (log scale)", c.y_label))
        .axis_desc_style((FAMILY, 18))
        .draw()?;
    grid(&plot, &mut chart, (y0, y1), x1)?;
    for s in &c.series {
        draw_curve(&plot, &mut chart, s)?;
    }
    legend_heading(&legend, &c.legend_title)?;
    for (i, s) in c.series.iter().enumerate() {
        legend_box(&legend, s.style, 100 + 30 * i as i32, &s.name, true)?;
    }
    corner(root, &c.corner)
}

/// The points every chart shows: in the spectrum, above zero.
fn shown(c: &Lines) -> impl Iterator<Item = &(f64, f64)> {
    c.series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(p, v)| in_spectrum(*p) && *v > 0.0)
}

/// The y axis in log10: whole decades around every point shown, at least
/// one.
fn y_decades(c: &Lines) -> (f64, f64) {
    let vals: Vec<f64> = shown(c).map(|x| x.1).collect();
    let (min, max) = vals
        .iter()
        .fold((f64::INFINITY, 0f64), |(a, b), v| (a.min(*v), b.max(*v)));
    if vals.is_empty() {
        (0.0, 1.0)
    } else {
        (
            min.log10().floor(),
            max.log10().ceil().max(min.log10().floor() + 1.0),
        )
    }
}

/// The x axis ends at the first labelled percentile at or beyond the last
/// point drawn (99% for a line that stops at 99.7%).
fn x_end(c: &Lines) -> f64 {
    let last = shown(c).map(|(p, _)| nines(*p)).fold(0f64, f64::max);
    (last - 1e-6).ceil().clamp(1.0, 5.0)
}

/// The grid behind the curves, each line labelled on its axis: at 1, 2
/// and 5 of every latency decade, and at the labelled percentiles up to
/// `x1`.
fn grid<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    chart: &mut Chart<'_, DB>,
    (y0, y1): (f64, f64),
    x1: f64,
) -> DrawResult<DB> {
    for v in log_ticks(y0, y1) {
        let label = human(10f64.powf(v));
        tick_line(plot, chart, [(0.0, v), (x1 + 0.1, v)], label, Y_TICK)?;
    }
    for (label, p) in LABELLED {
        let x = nines(p);
        if x > x1 + 1e-6 {
            continue;
        }
        tick_line(plot, chart, [(x, y0), (x, y1)], label.to_string(), X_TICK)?;
    }
    Ok(())
}

/// One series: its line (dashed for every other style) and a marker at
/// each labelled percentile it reaches, so the markers stay readable.
fn draw_curve<DB: DrawingBackend>(
    plot: &DrawingArea<DB, Shift>,
    chart: &mut Chart<'_, DB>,
    s: &Curve,
) -> DrawResult<DB> {
    let si = s.style;
    let color = style::color(si);
    let pts: Vec<(f64, f64)> = s
        .points
        .iter()
        .filter(|(p, v)| *v > 0.0 && in_spectrum(*p))
        .map(|(p, v)| (nines(*p), v.log10()))
        .collect();
    if style::dashed(si) {
        chart.draw_series(DashedLineSeries::new(
            pts.clone(),
            10,
            5,
            color.stroke_width(3),
        ))?;
    } else {
        chart.draw_series(LineSeries::new(pts.clone(), color.stroke_width(3)))?;
    }
    for (_, target) in LABELLED {
        let x = nines(target);
        if let Some(p) = pts
            .iter()
            .min_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs()))
        {
            if (p.0 - x).abs() < 0.2 {
                let px = local(plot, chart.backend_coord(p));
                draw_marker(plot, px, si)?;
            }
        }
    }
    Ok(())
}
