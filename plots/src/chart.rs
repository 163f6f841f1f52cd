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
    /// (series name, one value per category; None = no bar).
    pub series: Vec<(String, Vec<Option<f64>>)>,
    /// Log scale: `Some(true)` forces, `None` decides (range over 100x).
    pub log: Option<bool>,
    /// A horizontal reference line (e.g. 1.0 for efficiency).
    pub reference: Option<(f64, String)>,
    /// Machine label and date for the corner.
    pub corner: String,
    /// Heading of the legend (`policy`, `run`).
    pub legend_title: String,
}

/// Percentile spectrum lines: x on a "nines" scale, y log latency.
#[derive(Debug, Clone)]
pub struct Lines {
    /// Title.
    pub title: String,
    /// Y label.
    pub y_label: String,
    /// (series name, points (percentile 0-100, value)).
    pub series: Vec<(String, Vec<(f64, f64)>)>,
    /// Corner text.
    pub corner: String,
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
        draw_bars(root, self)
    }
}

impl Drawable for Lines {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw_lines(root, self)
    }
}

/// Writes `base.png` (slides) and `base.svg` (documents); returns both paths.
fn render(base: &Path, chart: &impl Drawable) -> Result<(PathBuf, PathBuf), PlotError> {
    style::register_font().map_err(|reason| PlotError::Draw {
        path: base.to_path_buf(),
        reason,
    })?;
    let png = base.with_extension("png");
    let svg = base.with_extension("svg");
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        chart.draw(&root).map_err(err(&png))?;
        root.present().map_err(err(&png))?;
    }
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        chart.draw(&root).map_err(err(&svg))?;
        root.present().map_err(err(&svg))?;
    }
    Ok((png, svg))
}

/// Writes a bar chart as `base.png` and `base.svg`.
pub fn render_bars(base: &Path, chart: &Bars) -> Result<(PathBuf, PathBuf), PlotError> {
    render(base, chart)
}

/// Writes a line chart as `base.png` and `base.svg`.
pub fn render_lines(base: &Path, chart: &Lines) -> Result<(PathBuf, PathBuf), PlotError> {
    render(base, chart)
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
    area.draw(&Text::new(
        name.to_string(),
        (52, y),
        (FAMILY, 17)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center)),
    ))
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

fn draw_bars<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Bars) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let (plot, legend) = root.split_horizontally(w - LEGEND_W);
    let values: Vec<f64> = c
        .series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten().copied())
        .filter(|v| *v > 0.0)
        .collect();
    let (min, max) = values
        .iter()
        .fold((f64::INFINITY, 0f64), |(a, b), v| (a.min(*v), b.max(*v)));
    let log = c
        .log
        .unwrap_or(max > 0.0 && min.is_finite() && max / min > 30.0);
    let t = |v: f64| {
        if log {
            v.max(min.min(1.0) * 0.5).log10()
        } else {
            v
        }
    };
    let (y0, y1) = if values.is_empty() {
        (0.0, 1.0)
    } else if log {
        (
            min.log10().floor(),
            (max.log10() + 0.15).ceil().max(min.log10().floor() + 1.0),
        )
    } else {
        (
            0.0,
            (max.max(c.reference.as_ref().map_or(0.0, |r| r.0)) * 1.12).max(1e-9),
        )
    };
    let n = c.categories.len().max(1);
    let mut chart = ChartBuilder::on(&plot)
        .caption(&c.title, (FAMILY, 26).into_font())
        .margin(12)
        .margin_bottom(30)
        .x_label_area_size(if c.categories.len() > 9 {
            (20 + 8 * c
                .categories
                .iter()
                .map(|n| n.chars().count())
                .max()
                .unwrap_or(0))
            .clamp(70, 200) as u32
        } else {
            70
        })
        .y_label_area_size(90)
        .build_cartesian_2d(0f64..n as f64, y0..y1)?;
    let ticks = log_ticks(y0, y1);
    let fmt = |v: &f64| {
        if log {
            human(10f64.powf(*v))
        } else {
            human(*v)
        }
    };
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .x_labels(0)
        .y_desc(if log {
            format!("{} (log scale)", c.y_label)
        } else {
            c.y_label.clone()
        })
        .x_desc(&c.x_label)
        .axis_desc_style((FAMILY, 18))
        .label_style((FAMILY, 15))
        .y_label_formatter(&fmt)
        .light_line_style(RGBColor(235, 235, 235));
    if log {
        mesh.y_labels(0);
    }
    mesh.draw()?;
    if log {
        for v in &ticks {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(0.0, *v), (n as f64, *v)],
                RGBColor(225, 225, 225),
            )))?;
            let (px, py) = chart.backend_coord(&(0.0, *v));
            plot.draw(&Text::new(
                fmt(v),
                (px - 6, py),
                (FAMILY, 15)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            ))?;
        }
    }
    let k = c.series.len().max(1);
    let group = 0.8;
    let bw = group / k as f64;
    for (si, (_, vals)) in c.series.iter().enumerate() {
        let color = style::color(si);
        for (ci, v) in vals.iter().enumerate() {
            let Some(v) = v else { continue };
            let x0 = ci as f64 + (1.0 - group) / 2.0 + si as f64 * bw;
            let top = t(*v).max(y0);
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, y0), (x0 + bw * 0.92, top)],
                color.filled(),
            )))?;
            let a = chart.backend_coord(&(x0, y0));
            let b = chart.backend_coord(&(x0 + bw * 0.92, top));
            if (a.1 - b.1).abs() > 3 {
                hatch_rect(&plot, a, b, style::hatch(si))?;
            }
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x0, y0), (x0 + bw * 0.92, top)],
                BLACK.stroke_width(1),
            )))?;
        }
    }
    if let Some((r, name)) = &c.reference {
        let y = t(*r);
        chart.draw_series(DashedLineSeries::new(
            vec![(0.0, y), (n as f64, y)],
            8,
            6,
            BLACK.stroke_width(2),
        ))?;
        let (px, py) = chart.backend_coord(&(n as f64, y));
        plot.draw(&Text::new(
            name.clone(),
            (px - 4, py - 4),
            (FAMILY, 15)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Right, VPos::Bottom)),
        ))?;
    }
    // Many categories: labels turned vertical so they do not overlap.
    let rotate = c.categories.len() > 9;
    for (ci, name) in c.categories.iter().enumerate() {
        let (px, py) = chart.backend_coord(&(ci as f64 + 0.5, y0));
        if rotate {
            let font = (FAMILY, 14).into_font().transform(FontTransform::Rotate270);
            plot.draw(&Text::new(
                name.clone(),
                (px - 7, py + 6),
                font.color(&BLACK).pos(Pos::new(HPos::Right, VPos::Top)),
            ))?;
        } else {
            plot.draw(&Text::new(
                name.clone(),
                (px, py + 8),
                (FAMILY, 17)
                    .into_font()
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Top)),
            ))?;
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
    for (si, (name, _)) in c.series.iter().enumerate() {
        legend_box(&legend, si, 100 + 30 * si as i32, name, false)?;
    }
    corner(root, &c.corner)
}

/// The "nines" position of a percentile: 50 -> 0.3, 90 -> 1, 99 -> 2, ...
pub fn nines(p: f64) -> f64 {
    -(1.0 - (p / 100.0).min(0.999_999)).log10()
}

fn draw_lines<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, c: &Lines) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (w, _) = root.dim_in_pixel();
    let (plot, legend) = root.split_horizontally(w - LEGEND_W);
    let vals: Vec<f64> = c
        .series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|x| x.1))
        .filter(|v| *v > 0.0)
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
    let x1 = 5.0;
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
        .x_desc("percentile")
        .y_desc(format!("{} (log scale)", c.y_label))
        .axis_desc_style((FAMILY, 18))
        .draw()?;
    for v in log_ticks(y0, y1) {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, v), (x1 + 0.1, v)],
            RGBColor(225, 225, 225),
        )))?;
        let (px, py) = chart.backend_coord(&(0.0, v));
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
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, y0), (x, y1)],
            RGBColor(225, 225, 225),
        )))?;
        let (px, py) = chart.backend_coord(&(x, y0));
        plot.draw(&Text::new(
            label.to_string(),
            (px, py + 8),
            (FAMILY, 15)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Top)),
        ))?;
    }
    for (si, (_, pts)) in c.series.iter().enumerate() {
        let color = style::color(si);
        let pts: Vec<(f64, f64)> = pts
            .iter()
            .filter(|(p, v)| *v > 0.0 && *p >= 50.0 && *p < 100.0)
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
                    let px = chart.backend_coord(p);
                    draw_marker(&plot, px, si)?;
                }
            }
        }
    }
    legend.draw(&Text::new(
        "policy".to_string(),
        (8, 70),
        (FAMILY, 18)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center)),
    ))?;
    for (si, (name, _)) in c.series.iter().enumerate() {
        legend_box(&legend, si, 100 + 30 * si as i32, name, true)?;
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
