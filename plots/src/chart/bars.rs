//! Grouped bar charts: categories along x, one bar per series, one panel
//! per thread count (or other split), linear or log y.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::draw::{
    corner, hatch_rect, legend_box, legend_heading, legend_text, local, log_ticks, tick_line,
    Chart, Y_TICK,
};
use super::{human, BarPanel, Bars, DrawResult, LEGEND_W};
use crate::style::{self, FAMILY};

/// The y axis of a bar chart: linear from 0, or log10 from a decade below
/// the smallest bar (so the smallest bar still shows).
#[derive(Debug, Clone, Copy)]
struct YAxis {
    log: bool,
    y0: f64,
    y1: f64,
}

impl YAxis {
    fn of(c: &Bars) -> YAxis {
        // Intervals count: a whisker above the axis's top would be cut.
        let values: Vec<f64> = c
            .panels
            .iter()
            .flat_map(|p| p.series.iter())
            .flat_map(|s| {
                s.values
                    .iter()
                    .flatten()
                    .copied()
                    .chain(s.intervals.iter().flatten().flat_map(|(lo, hi)| [*lo, *hi]))
            })
            .filter(|v| v.is_finite() && *v > 0.0)
            .collect();
        let (min, max) = values
            .iter()
            .fold((f64::INFINITY, 0f64), |(a, b), v| (a.min(*v), b.max(*v)));
        let reference = c.reference.as_ref().map(|r| r.0).filter(|r| *r > 0.0);
        let log = c
            .log
            .unwrap_or(!values.is_empty() && max / min > LOG_SCALE_ABOVE);
        if values.is_empty() {
            return YAxis {
                log: false,
                y0: 0.0,
                y1: 1.0,
            };
        }
        if log {
            let lo = reference.map_or(min, |r| r.min(min));
            let hi = reference.map_or(max, |r| r.max(max));
            // A third of a decade under the smallest bar, so it still shows.
            let y0 = lo.log10() - 0.33;
            let y1 = (hi.log10() + 0.15).ceil().max(y0 + 1.0);
            YAxis { log, y0, y1 }
        } else {
            let hi = reference.map_or(max, |r| r.max(max));
            YAxis {
                log,
                y0: 0.0,
                y1: (hi * 1.12).max(1e-9),
            }
        }
    }

    /// Value to axis coordinate.
    fn at(&self, v: f64) -> f64 {
        if self.log {
            if v > 0.0 {
                v.log10().max(self.y0)
            } else {
                self.y0
            }
        } else {
            v
        }
    }

    fn label(&self, v: f64) -> String {
        if self.log {
            human(10f64.powf(v))
        } else {
            human(v)
        }
    }
}

/// Throughput spanning more than this factor is drawn on a log scale.
pub const LOG_SCALE_ABOVE: f64 = 30.0;

pub(super) fn draw_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &Bars,
) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let (plot, legend) = root.split_horizontally(w - LEGEND_W);
    let axis = YAxis::of(c);
    // The title over all panels, then the panels side by side below it.
    let (pw, _) = plot.dim_in_pixel();
    plot.draw(&Text::new(
        c.title.clone(),
        (pw as i32 / 2, 12),
        (FAMILY, 26)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    let body = plot.margin(48, 0, 0, 0);
    let panels = body.split_evenly((1, c.panels.len().max(1)));
    for (pi, (area, panel)) in panels.iter().zip(&c.panels).enumerate() {
        draw_bar_panel(area, c, panel, axis, pi == 0)?;
    }
    legend_heading(&legend, &c.legend_title)?;
    let mut seen = Vec::new();
    for s in c.panels.iter().flat_map(|p| p.series.iter()) {
        if !seen.contains(&(&s.name, s.style)) {
            legend_box(
                &legend,
                s.style,
                100 + 30 * seen.len() as i32,
                &s.name,
                false,
            )?;
            seen.push((&s.name, s.style));
        }
    }
    if let Some((_, name)) = &c.reference {
        let y = 100 + 30 * seen.len() as i32 + 12;
        legend.draw(&PathElement::new(
            vec![(8, y), (14, y)],
            BLACK.stroke_width(2),
        ))?;
        legend.draw(&PathElement::new(
            vec![(20, y), (28, y)],
            BLACK.stroke_width(2),
        ))?;
        legend.draw(&PathElement::new(
            vec![(34, y), (40, y)],
            BLACK.stroke_width(2),
        ))?;
        legend_text(&legend, (52, y), name)?;
    }
    corner(root, &c.corner)
}

/// One panel: its axes, the bars of every series, the reference line and
/// the category names.
fn draw_bar_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Bars,
    panel: &BarPanel,
    axis: YAxis,
    first: bool,
) -> DrawResult<DB> {
    let rotate = c.categories.len() > 9 || (c.panels.len() > 1 && c.categories.len() > 4);
    let mut chart = panel_axes(area, c, panel, axis, first, rotate)?;
    let n = c.categories.len().max(1) as f64;
    let from = match (&c.reference, c.diverging) {
        (Some((r, _)), true) => axis.at(*r),
        _ => axis.y0,
    };
    let k = panel.series.len().max(1);
    let bw = GROUP_WIDTH / k as f64;
    for (si, s) in panel.series.iter().enumerate() {
        for (ci, v) in s.values.iter().enumerate() {
            let Some(v) = v else { continue };
            let x0 = ci as f64 + (1.0 - GROUP_WIDTH) / 2.0 + si as f64 * bw;
            let x = (x0, x0 + bw * 0.92);
            if axis.at(*v) <= axis.y0 && !c.diverging {
                zero_stub(area, &chart, x, axis.y0, *v, s.style)?;
            } else {
                bar(area, &mut chart, x, (from, axis.at(*v)), s.style)?;
            }
            if let Some(Some((lo, hi))) = s.intervals.get(ci) {
                whisker(&mut chart, x, (axis.at(*lo), axis.at(*hi)))?;
            }
        }
    }
    // The reference line is named in the legend, where no bar can hide it.
    if let Some((r, _)) = &c.reference {
        let y = axis.at(*r);
        chart.draw_series(DashedLineSeries::new(
            vec![(0.0, y), (n, y)],
            8,
            6,
            BLACK.stroke_width(2),
        ))?;
    }
    category_names(area, &chart, c, axis.y0, rotate)
}

/// The share of a category's width its bars take together.
const GROUP_WIDTH: f64 = 0.8;

/// The panel's chart: its subtitle, the y axis (named on the first panel
/// only, log ticks drawn by hand), room below for the category names.
fn panel_axes<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    c: &Bars,
    panel: &BarPanel,
    axis: YAxis,
    first: bool,
    rotate: bool,
) -> Result<Chart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let YAxis { log, y0, y1 } = axis;
    let n = c.categories.len().max(1);
    let longest = c
        .categories
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0);
    let mut builder = ChartBuilder::on(area);
    if !panel.subtitle.is_empty() {
        builder.caption(&panel.subtitle, (FAMILY, 20).into_font());
    }
    let mut chart = builder
        .margin(12)
        .margin_bottom(30)
        .x_label_area_size(if rotate {
            (20 + 8 * longest).clamp(70, 200) as u32
        } else {
            70
        })
        .y_label_area_size(if first { 90 } else { 50 })
        .build_cartesian_2d(0f64..n as f64, y0..y1)?;
    let fmt = |v: &f64| axis.label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .x_labels(0)
        .x_desc(&c.x_label)
        .axis_desc_style((FAMILY, 18))
        .label_style((FAMILY, 15))
        .y_label_formatter(&fmt)
        .max_light_lines(1)
        .light_line_style(RGBColor(242, 242, 242));
    if first {
        mesh.y_desc(if log {
            format!("{} (log scale)", c.y_label)
        } else {
            c.y_label.clone()
        });
    }
    if log {
        mesh.y_labels(0);
    }
    mesh.draw()?;
    if log {
        log_grid(area, &mut chart, axis, n as f64)?;
    }
    Ok(chart)
}

/// Grid lines and labels at 1, 2 and 5 of every decade of a log axis.
fn log_grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &mut Chart<'_, DB>,
    axis: YAxis,
    width: f64,
) -> DrawResult<DB> {
    for v in log_ticks(axis.y0, axis.y1) {
        tick_line(area, chart, [(0.0, v), (width, v)], axis.label(v), Y_TICK)?;
    }
    Ok(())
}

/// A zero (or below-axis) value is data, not a missing bar: a short stub
/// in the series' colour at the axis, labelled with its value.
fn zero_stub<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB>,
    (x0, x1): (f64, f64),
    y0: f64,
    v: f64,
    style_index: usize,
) -> DrawResult<DB> {
    let a = local(area, chart.backend_coord(&(x0, y0)));
    let b = local(area, chart.backend_coord(&(x1, y0)));
    area.draw(&Rectangle::new(
        [(a.0, a.1 - 4), (b.0, a.1)],
        style::color(style_index).filled(),
    ))?;
    area.draw(&Rectangle::new(
        [(a.0, a.1 - 4), (b.0, a.1)],
        BLACK.stroke_width(1),
    ))?;
    let (px, py) = ((a.0 + b.0) / 2, a.1 - 6);
    area.draw(&Text::new(
        if v == 0.0 { "0".to_string() } else { human(v) },
        (px, py - 3),
        (FAMILY, 15)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Bottom)),
    ))
}

/// One bar from `from` to `top` (axis coordinates): filled, hatched when
/// tall enough to show it, outlined.
fn bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &mut Chart<'_, DB>,
    (x0, x1): (f64, f64),
    (from, top): (f64, f64),
    style_index: usize,
) -> DrawResult<DB> {
    chart.draw_series(std::iter::once(Rectangle::new(
        [(x0, from), (x1, top)],
        style::color(style_index).filled(),
    )))?;
    let a = local(area, chart.backend_coord(&(x0, from)));
    let b = local(area, chart.backend_coord(&(x1, top)));
    if (a.1 - b.1).abs() > 3 {
        hatch_rect(area, a, b, style::hatch(style_index))?;
    }
    chart.draw_series(std::iter::once(Rectangle::new(
        [(x0, from), (x1, top)],
        BLACK.stroke_width(1),
    )))?;
    Ok(())
}

/// An interval over a bar: a vertical line from `lo` to `hi` (axis
/// coordinates) with a cap at each end, a third of the bar wide.
fn whisker<DB: DrawingBackend>(
    chart: &mut Chart<'_, DB>,
    (x0, x1): (f64, f64),
    (lo, hi): (f64, f64),
) -> DrawResult<DB> {
    let mid = (x0 + x1) / 2.0;
    let cap = (x1 - x0) / 6.0;
    let style = BLACK.stroke_width(2);
    for line in [
        vec![(mid, lo), (mid, hi)],
        vec![(mid - cap, lo), (mid + cap, lo)],
        vec![(mid - cap, hi), (mid + cap, hi)],
    ] {
        chart.draw_series(std::iter::once(PathElement::new(line, style)))?;
    }
    Ok(())
}

/// The category names under the bars; with many categories turned
/// vertical so they do not overlap.
fn category_names<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &Chart<'_, DB>,
    c: &Bars,
    y0: f64,
    rotate: bool,
) -> DrawResult<DB> {
    for (ci, name) in c.categories.iter().enumerate() {
        let (px, py) = local(area, chart.backend_coord(&(ci as f64 + 0.5, y0)));
        if rotate {
            let font = (FAMILY, 14).into_font().transform(FontTransform::Rotate270);
            area.draw(&Text::new(
                name.clone(),
                (px - 7, py + 6),
                font.color(&BLACK).pos(Pos::new(HPos::Right, VPos::Top)),
            ))?;
        } else {
            area.draw(&Text::new(
                name.clone(),
                (px, py + 8),
                (FAMILY, 17)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
        }
    }
    Ok(())
}
