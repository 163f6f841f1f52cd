//! Two chart kinds cover every figure: grouped bars (categories x series)
//! and percentile lines. Each renders to PNG and SVG from the same code.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::style::{self, Hatch, Marker, FAMILY};
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
        let pick = |v: &[Option<f64>]| -> Vec<Option<f64>> {
            v.iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(x, _)| *x)
                .collect()
        };
        out.categories = self
            .categories
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| c.clone())
            .collect();
        for p in &mut out.panels {
            for s in &mut p.series {
                s.values = pick(&s.values);
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

fn err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError::Draw {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// The same chart through both backends.
trait Drawable {
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
fn render(base: &Path, chart: &impl Drawable, formats: Formats) -> Result<Vec<PathBuf>, PlotError> {
    style::register_font().map_err(|reason| PlotError::Draw {
        path: base.to_path_buf(),
        reason,
    })?;
    let mut written = Vec::new();
    if formats == Formats::PngAndSvg {
        let png = base.with_extension("png");
        {
            let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
            chart.draw(&root).map_err(err(&png))?;
            root.present().map_err(err(&png))?;
        }
        written.push(png);
    }
    let svg = base.with_extension("svg");
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
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

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

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

fn corner<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, text: &str) -> DrawResult<DB> {
    let (w, h) = root.dim_in_pixel();
    root.draw(&Text::new(
        text.to_string(),
        (w as i32 - 8, h as i32 - 6),
        (FAMILY, 14)
            .into_font()
            .color(&RGBColor(90, 90, 90))
            .pos(Pos::new(HPos::Right, VPos::Bottom)),
    ))
}

fn legend_box<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    i: usize,
    y: i32,
    name: &str,
    line: bool,
) -> DrawResult<DB> {
    let c = style::color(i);
    if line {
        area.draw(&PathElement::new(vec![(8, y), (44, y)], c.stroke_width(3)))?;
        draw_marker(area, (26, y), i)?;
    } else {
        area.draw(&Rectangle::new([(8, y - 9), (40, y + 9)], c.filled()))?;
        hatch_rect(area, (8, y - 9), (40, y + 9), style::hatch(i))?;
        area.draw(&Rectangle::new(
            [(8, y - 9), (40, y + 9)],
            BLACK.stroke_width(1),
        ))?;
    }
    legend_text(area, (52, y), name)
}

/// Legend text, wrapped onto a second line when it is wider than the legend.
fn legend_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    text: &str,
) -> DrawResult<DB> {
    let font = (FAMILY, 17)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let max = 20;
    if text.chars().count() <= max {
        return area.draw(&Text::new(text.to_string(), (x, y), font));
    }
    let cut = text
        .char_indices()
        .filter(|(i, c)| *c == ' ' && *i <= max)
        .map(|(i, _)| i)
        .next_back()
        .unwrap_or_else(|| text.char_indices().nth(max).map_or(text.len(), |(i, _)| i));
    let (a, b) = text.split_at(cut);
    area.draw(&Text::new(a.to_string(), (x, y - 9), font.clone()))?;
    area.draw(&Text::new(b.trim().to_string(), (x, y + 9), font))
}

/// White hatch lines inside a pixel rectangle.
fn hatch_rect<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
    h: Hatch,
) -> DrawResult<DB> {
    let (l, r) = (x0.min(x1), x0.max(x1));
    let (t, b) = (y0.min(y1), y0.max(y1));
    let stroke = WHITE.stroke_width(2);
    let step = 7;
    match h {
        Hatch::None => {}
        Hatch::Horizontal => {
            let mut y = t + step / 2;
            while y < b {
                area.draw(&PathElement::new(vec![(l + 1, y), (r - 1, y)], stroke))?;
                y += step;
            }
        }
        Hatch::Forward | Hatch::Backward => {
            // In pixels (y grows downwards): "/" is u + v = s, "\\" is u - v = s,
            // with u, v the offsets from the top-left corner.
            let (w, hgt) = (r - l, b - t);
            let (from, to) = if h == Hatch::Forward {
                (0, w + hgt)
            } else {
                (-hgt, w)
            };
            let mut s = from + step;
            while s < to {
                let (u0, u1) = if h == Hatch::Forward {
                    ((s - hgt).max(0), s.min(w))
                } else {
                    (s.max(0), (s + hgt).min(w))
                };
                let v = |u: i32| if h == Hatch::Forward { s - u } else { u - s };
                if u1 > u0 {
                    area.draw(&PathElement::new(
                        vec![(l + u0, t + v(u0)), (l + u1, t + v(u1))],
                        stroke,
                    ))?;
                }
                s += step + 3;
            }
        }
    }
    Ok(())
}

fn draw_marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
    i: usize,
) -> DrawResult<DB> {
    let c = style::color(i);
    match style::marker(i) {
        Marker::Circle => area.draw(&Circle::new((x, y), 5, c.filled())),
        Marker::Ring => area.draw(&Circle::new((x, y), 6, c.stroke_width(2))),
        Marker::Square => area.draw(&Rectangle::new(
            [(x - 5, y - 5), (x + 5, y + 5)],
            c.filled(),
        )),
        Marker::Triangle => area.draw(&Polygon::new(
            vec![(x, y - 7), (x - 6, y + 5), (x + 6, y + 5)],
            c.filled(),
        )),
        Marker::Cross => {
            area.draw(&PathElement::new(
                vec![(x - 6, y - 6), (x + 6, y + 6)],
                c.stroke_width(3),
            ))?;
            area.draw(&PathElement::new(
                vec![(x - 6, y + 6), (x + 6, y - 6)],
                c.stroke_width(3),
            ))
        }
    }
}

fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut t = Vec::new();
    let mut e = lo.floor() as i32;
    while f64::from(e) <= hi.ceil() {
        for m in [1.0, 2.0, 5.0] {
            let v = f64::from(e) + f64::log10(m);
            if v >= lo - 1e-9 && v <= hi + 1e-9 {
                t.push(v);
            }
        }
        e += 1;
    }
    t
}

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
        let values: Vec<f64> = c
            .panels
            .iter()
            .flat_map(|p| p.series.iter())
            .flat_map(|s| s.values.iter().flatten().copied())
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

/// A backend pixel (what `backend_coord` returns) relative to `area`, whose
/// own drawing calls take area-relative pixels.
fn local<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, (x, y): (i32, i32)) -> (i32, i32) {
    let (bx, by) = area.get_base_pixel();
    (x - bx, y - by)
}

/// Throughput spanning more than this factor is drawn on a log scale.
pub const LOG_SCALE_ABOVE: f64 = 30.0;

fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Bars) -> DrawResult<DB> {
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
    legend.draw(&Text::new(
        c.legend_title.clone(),
        (8, 70),
        (FAMILY, 18)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
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

fn draw_bar_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    c: &Bars,
    panel: &BarPanel,
    axis: YAxis,
    first: bool,
) -> DrawResult<DB> {
    let YAxis { log, y0, y1 } = axis;
    let n = c.categories.len().max(1);
    let rotate = c.categories.len() > 9 || (c.panels.len() > 1 && c.categories.len() > 4);
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
        for v in log_ticks(y0, y1) {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, v), (n as f64, v)],
                RGBColor(225, 225, 225),
            )))?;
            let (px, py) = local(area, chart.backend_coord(&(0.0, v)));
            area.draw(&Text::new(
                fmt(&v),
                (px - 6, py),
                (FAMILY, 15)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
    }
    let from = match (&c.reference, c.diverging) {
        (Some((r, _)), true) => axis.at(*r),
        _ => y0,
    };
    let k = panel.series.len().max(1);
    let group = 0.8;
    let bw = group / k as f64;
    for (si, s) in panel.series.iter().enumerate() {
        let color = style::color(s.style);
        for (ci, v) in s.values.iter().enumerate() {
            let Some(v) = v else { continue };
            let x0 = ci as f64 + (1.0 - group) / 2.0 + si as f64 * bw;
            let x1 = x0 + bw * 0.92;
            let top = axis.at(*v);
            if top <= y0 && !c.diverging {
                // A zero (or below-axis) value is data, not a missing bar: a
                // short stub in the series' colour, labelled with its value.
                let a = local(area, chart.backend_coord(&(x0, y0)));
                let b = local(area, chart.backend_coord(&(x1, y0)));
                area.draw(&Rectangle::new(
                    [(a.0, a.1 - 4), (b.0, a.1)],
                    color.filled(),
                ))?;
                area.draw(&Rectangle::new(
                    [(a.0, a.1 - 4), (b.0, a.1)],
                    BLACK.stroke_width(1),
                ))?;
                let (px, py) = ((a.0 + b.0) / 2, a.1 - 6);
                area.draw(&Text::new(
                    if *v == 0.0 {
                        "0".to_string()
                    } else {
                        human(*v)
                    },
                    (px, py - 3),
                    (FAMILY, 15)
                        .into_font()
                        .color(&BLACK)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                ))?;
                continue;
            }
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, from), (x1, top)],
                color.filled(),
            )))?;
            let a = local(area, chart.backend_coord(&(x0, from)));
            let b = local(area, chart.backend_coord(&(x1, top)));
            if (a.1 - b.1).abs() > 3 {
                hatch_rect(area, a, b, style::hatch(s.style))?;
            }
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, from), (x1, top)],
                BLACK.stroke_width(1),
            )))?;
        }
    }
    // The reference line is named in the legend, where no bar can hide it.
    if let Some((r, _)) = &c.reference {
        let y = axis.at(*r);
        chart.draw_series(DashedLineSeries::new(
            vec![(0.0, y), (n as f64, y)],
            8,
            6,
            BLACK.stroke_width(2),
        ))?;
    }
    // Many categories: labels turned vertical so they do not overlap.
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

/// The "nines" position of a percentile: 50 -> 0.3, 90 -> 1, 99 -> 2, ...
pub fn nines(p: f64) -> f64 {
    -(1.0 - (p / 100.0).min(0.999_999)).log10()
}

/// Percentiles the spectrum shows: 50% to 99.999% (the maximum, 100%, has no
/// place on a nines scale).
fn in_spectrum(p: f64) -> bool {
    (50.0..=99.9991).contains(&p)
}

fn draw_lines<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Lines) -> DrawResult<DB> {
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
