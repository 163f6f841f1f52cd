//! Two chart kinds cover every figure: grouped bars (categories x series)
//! and percentile lines. Each renders to PNG and SVG from the same code.
//!
//! This module holds the chart descriptions and the rendering to files;
//! [`draw`] the primitives both kinds share (legend, hatching, markers,
//! the corner label), [`bars`] and [`lines`] the two kinds.

mod bars;
mod draw;
mod lines;

use bars::draw_bars;
pub use bars::LOG_SCALE_ABOVE;
pub(crate) use draw::{corner, err};
use lines::draw_lines;
pub use lines::nines;

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::style;
use crate::PlotError;

/// Pixel size of every chart.
pub const SIZE: (u32, u32) = (1200, 700);
const LEGEND_W: u32 = 230;

/// One series of bars: a name in the legend, a style (colour, hatch), one
/// value per category (`None` = no bar).
#[derive(Debug, Clone)]
pub struct BarSeries {
    /// Legend text (a policy, a run label).
    pub name: String,
    /// Style index ([`style::color`], [`style::hatch`]): the same policy keeps
    /// the same look in every chart of a report.
    pub style: usize,
    /// One value per category.
    pub values: Vec<Option<f64>>,
    /// An interval per category (low, high), drawn as a whisker over the
    /// bar; empty (or `None` for a category) for none.
    pub intervals: Vec<Option<(f64, f64)>>,
}

/// A panel of a bar chart; several panels share the categories, the y axis
/// and the legend (engine-level and device-level write amplification side
/// by side).
#[derive(Debug, Clone)]
pub struct BarPanel {
    /// Panel heading; empty for a single-panel chart.
    pub subtitle: String,
    /// The series.
    pub series: Vec<BarSeries>,
}

/// A grouped bar chart: one group per category, one bar per series.
#[derive(Debug, Clone)]
pub struct Bars {
    /// Title (names workload and threads).
    pub title: String,
    /// Y axis label with unit.
    pub y_label: String,
    /// X axis label.
    pub x_label: String,
    /// Category names along x.
    pub categories: Vec<String>,
    /// Panels side by side (usually one).
    pub panels: Vec<BarPanel>,
    /// Log scale: `Some(b)` forces, `None` decides (range over 30x).
    pub log: Option<bool>,
    /// A horizontal reference line (e.g. 1.0 for efficiency).
    pub reference: Option<(f64, String)>,
    /// Bars grow from the reference line up or down (ratios), not from the
    /// bottom of the axis.
    pub diverging: bool,
    /// Machine label and date for the corner.
    pub corner: String,
    /// Heading of the legend (`policy`, `run`).
    pub legend_title: String,
}

impl Bars {
    /// Bars grow from the reference line (ratios: above 1 up, below 1 down).
    pub fn diverging(mut self) -> Self {
        self.diverging = true;
        self
    }

    /// Forces a log (or linear) y axis.
    pub fn with_log(mut self, log: bool) -> Self {
        self.log = Some(log);
        self
    }

    /// Whether no panel has any value to draw.
    pub fn is_empty(&self) -> bool {
        self.panels.iter().all(|p| {
            p.series
                .iter()
                .all(|s| s.values.iter().all(Option::is_none))
        })
    }

    /// Drops categories no series has a value for (an engine that issues no
    /// syncs has no bar in the sync charts).
    fn without_empty_categories(&self) -> Bars {
        let keep: Vec<bool> = (0..self.categories.len())
            .map(|ci| {
                self.panels.iter().any(|p| {
                    p.series
                        .iter()
                        .any(|s| s.values.get(ci).copied().flatten().is_some())
                })
            })
            .collect();
        let mut out = self.clone();
        fn pick<T: Copy>(v: &[Option<T>], keep: &[bool]) -> Vec<Option<T>> {
            v.iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(x, _)| *x)
                .collect()
        }
        out.categories = self
            .categories
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| c.clone())
            .collect();
        for p in &mut out.panels {
            for s in &mut p.series {
                s.values = pick(&s.values, &keep);
                if !s.intervals.is_empty() {
                    s.intervals = pick(&s.intervals, &keep);
                }
            }
        }
        out
    }
}

/// One line of a percentile spectrum.
#[derive(Debug, Clone)]
pub struct Curve {
    /// Legend text.
    pub name: String,
    /// Style index ([`style::color`], [`style::marker`], [`style::dashed`]).
    pub style: usize,
    /// (percentile 0-100, value) points.
    pub points: Vec<(f64, f64)>,
}

/// Percentile spectrum lines: x on a "nines" scale, y log latency.
#[derive(Debug, Clone)]
pub struct Lines {
    /// Title.
    pub title: String,
    /// Y label with unit.
    pub y_label: String,
    /// The lines.
    pub series: Vec<Curve>,
    /// Corner text.
    pub corner: String,
    /// Heading of the legend.
    pub legend_title: String,
}

/// Which files to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formats {
    /// PNG (slides) and SVG (documents).
    PngAndSvg,
    /// SVG only.
    SvgOnly,
}

/// The same chart through both backends.
pub(crate) trait Drawable {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32) {
        SIZE
    }
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

impl Drawable for Bars {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw_bars(root, &self.without_empty_categories())
    }
}

impl Drawable for Lines {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw_lines(root, self)
    }
}

/// Writes `base.svg` and (unless SVG only) `base.png`; returns the paths.
pub(crate) fn render(
    base: &Path,
    chart: &impl Drawable,
    formats: Formats,
) -> Result<Vec<PathBuf>, PlotError> {
    style::register_font().map_err(err(base))?;
    let size = chart.size();
    let mut written = Vec::new();
    if formats == Formats::PngAndSvg {
        let png = base.with_extension("png");
        {
            let root = BitMapBackend::new(&png, size).into_drawing_area();
            chart.draw(&root).map_err(err(&png))?;
            root.present().map_err(err(&png))?;
        }
        written.push(png);
    }
    let svg = base.with_extension("svg");
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        chart.draw(&root).map_err(err(&svg))?;
        root.present().map_err(err(&svg))?;
    }
    // Glyph ids carry the chart's name: several charts share one HTML page.
    let prefix = format!(
        "{}-",
        base.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    );
    std::fs::write(&svg, crate::svgtext::outline_text(&text, &prefix)).map_err(err(&svg))?;
    written.push(svg);
    Ok(written)
}

/// Writes a bar chart as `base.png` and `base.svg`.
pub fn render_bars(base: &Path, chart: &Bars, formats: Formats) -> Result<Vec<PathBuf>, PlotError> {
    render(base, chart, formats)
}

/// Writes a line chart as `base.png` and `base.svg`.
pub fn render_lines(
    base: &Path,
    chart: &Lines,
    formats: Formats,
) -> Result<Vec<PathBuf>, PlotError> {
    render(base, chart, formats)
}

pub(crate) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Human number: 1.2k, 35k, 1.4M, 0.05 (no trailing ".0").
pub fn human(v: f64) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    };
    let a = v.abs();
    if a >= 1e9 {
        format!("{}G", trim(format!("{:.1}", v / 1e9)))
    } else if a >= 1e6 {
        format!("{}M", trim(format!("{:.1}", v / 1e6)))
    } else if a >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{}k", trim(format!("{:.1}", v / 1e3)))
    } else if a >= 10.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 0.1 {
        trim(format!("{v:.2}"))
    } else {
        trim(format!("{v:.3}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_numbers() {
        assert_eq!(human(10_000_000.0), "10M");
        assert_eq!(human(1_500_000.0), "1.5M");
        assert_eq!(human(2000.0), "2k");
        assert_eq!(human(35_000.0), "35k");
        assert_eq!(human(0.5), "0.5");
        assert_eq!(human(5.0), "5");
        assert_eq!(human(250.0), "250");
    }

    #[test]
    fn nines_positions() {
        assert!((nines(90.0) - 1.0).abs() < 1e-9);
        assert!((nines(99.9) - 3.0).abs() < 1e-9);
    }
}
