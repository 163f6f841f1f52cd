//! A log-log line chart: one line per series, solid or dashed, points
//! marked, optional horizontal reference lines (a budget). Used for
//! recovery time against data size and for latency against offered load.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::chart::{corner, human, DrawResult, Drawable, Formats};
use crate::style::{self, FAMILY};
use crate::PlotError;

/// One line of the chart.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// Legend entry.
    pub name: String,
    /// Colour index ([`style::color`]).
    pub style: usize,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// (x, y), both > 0.
    pub points: Vec<(f64, f64)>,
}

/// A whole chart.
#[derive(Debug, Clone)]
pub(crate) struct LogLogChart {
    /// Caption.
    pub title: String,
    /// Machine and date, bottom right.
    pub corner: String,
    /// X axis description.
    pub x_desc: String,
    /// Y axis description.
    pub y_desc: String,
    /// The series.
    pub lines: Vec<Line>,
    /// Horizontal reference lines: (y, label).
    pub rules: Vec<(f64, String)>,
}

/// Writes `base.svg` and (unless SVG only) `base.png`.
pub(crate) fn render(
    base: &Path,
    chart: &LogLogChart,
    formats: Formats,
) -> Result<Vec<PathBuf>, PlotError> {
    crate::chart::render(base, chart, formats)
}

impl Drawable for LogLogChart {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw(root, self)
    }
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

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &LogLogChart) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let pts = || c.lines.iter().flat_map(|l| l.points.iter());
    let (x0, x1) = decades(pts().map(|p| p.0));
    let (y0, y1) = decades(pts().map(|p| p.1).chain(c.rules.iter().map(|r| r.0)));
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
        .x_desc(c.x_desc.as_str())
        .y_desc(c.y_desc.as_str())
        .x_label_formatter(&|v| human(*v))
        .y_label_formatter(&|v| human(*v))
        .axis_desc_style((FAMILY, 18))
        .label_style((FAMILY, 15))
        .draw()?;
    for (y, label) in &c.rules {
        let grey = RGBColor(120, 120, 120);
        chart.draw_series(DashedLineSeries::new(
            [(x0, *y), (x1, *y)],
            4,
            4,
            grey.stroke_width(1),
        ))?;
        chart.draw_series(std::iter::once(Text::new(
            label.clone(),
            (x1, *y),
            (FAMILY, 14)
                .into_font()
                .color(&grey)
                .pos(Pos::new(HPos::Right, VPos::Bottom)),
        )))?;
    }
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
    corner(root, &c.corner)
}
