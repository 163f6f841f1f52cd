//! Percentile-spectrum line charts: latency against the "nines" of the
//! percentile, one curve per series.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::draw::{corner, draw_marker, legend_box, local, log_ticks};
use super::{human, DrawResult, Lines, LEGEND_W};
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

pub(super) fn draw_lines<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &Lines,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let (plot, legend) = root.split_horizontally(w - LEGEND_W);
    let vals: Vec<f64> = c
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(p, v)| in_spectrum(*p) && *v > 0.0)
        .map(|x| x.1)
        .collect();
    let (min, max) = vals
        .iter()
        .fold((f64::INFINITY, 0f64), |(a, b), v| (a.min(*v), b.max(*v)));
    let (y0, y1) = if vals.is_empty() {
        (0.0, 1.0)
    } else {
        (
            min.log10().floor(),
            max.log10().ceil().max(min.log10().floor() + 1.0),
        )
    };
    // The x axis ends at the first labelled percentile at or beyond the
    // last point drawn (99% for a line that stops at 99.7%).
    let last = c
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(p, v)| in_spectrum(*p) && *v > 0.0)
        .map(|(p, _)| nines(*p))
        .fold(0f64, f64::max);
    let x1 = (last - 1e-6).ceil().clamp(1.0, 5.0);
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
    for v in log_ticks(y0, y1) {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, v), (x1 + 0.1, v)],
            RGBColor(225, 225, 225),
        )))?;
        let (px, py) = local(&plot, chart.backend_coord(&(0.0, v)));
        plot.draw(&Text::new(
            human(10f64.powf(v)),
            (px - 6, py),
            (FAMILY, 15)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Center)),
        ))?;
    }
    for (label, p) in [
        ("50%", 50.0),
        ("90%", 90.0),
        ("99%", 99.0),
        ("99.9%", 99.9),
        ("99.99%", 99.99),
        ("99.999%", 99.999),
    ] {
        let x = nines(p);
        if x > x1 + 1e-6 {
            continue;
        }
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, y0), (x, y1)],
            RGBColor(225, 225, 225),
        )))?;
        let (px, py) = local(&plot, chart.backend_coord(&(x, y0)));
        plot.draw(&Text::new(
            label.to_string(),
            (px, py + 8),
            (FAMILY, 15)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
    }
    for s in &c.series {
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
        // Markers at the labelled percentiles only, so they stay readable.
        for target in [50.0, 90.0, 99.0, 99.9, 99.99, 99.999] {
            let x = nines(target);
            if let Some(p) = pts
                .iter()
                .min_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs()))
            {
                if (p.0 - x).abs() < 0.2 {
                    let px = local(&plot, chart.backend_coord(p));
                    draw_marker(&plot, px, si)?;
                }
            }
        }
    }
    legend.draw(&Text::new(
        c.legend_title.clone(),
        (8, 70),
        (FAMILY, 18)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
    for (i, s) in c.series.iter().enumerate() {
        legend_box(&legend, s.style, 100 + 30 * i as i32, &s.name, true)?;
    }
    corner(root, &c.corner)
}
