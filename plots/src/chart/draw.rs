//! Drawing primitives both chart kinds share: the corner label, legend
//! boxes and text, hatched rectangles, point markers, log ticks.

use std::path::Path;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::DrawResult;
use crate::style::{self, Hatch, Marker, FAMILY};
use crate::PlotError;

/// Maps a drawing error to [`PlotError::Draw`] naming the file.
pub(crate) fn err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError::Draw {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// A panel's chart: x and y both linear `f64` axes (a log axis is drawn
/// as the log10 of its values).
pub(super) type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

pub(crate) fn corner<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: &str,
) -> DrawResult<DB> {
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

/// The legend's heading, above its entries.
pub(super) fn legend_heading<DB: DrawingBackend>(
    legend: &DrawingArea<DB, Shift>,
    text: &str,
) -> DrawResult<DB> {
    legend.draw(&Text::new(
        text.to_string(),
        (8, 70),
        (FAMILY, 18)
            .into_font()
            .color(&BLACK)
            .pos(Pos::new(HPos::Left, VPos::Center)),
    ))
}

/// Where a tick's label sits against the start of its grid line: an
/// offset in pixels and the anchor.
pub(super) type TickLabel = ((i32, i32), (HPos, VPos));

/// Left of a y axis.
pub(super) const Y_TICK: TickLabel = ((-6, 0), (HPos::Right, VPos::Center));

/// Under an x axis.
pub(super) const X_TICK: TickLabel = ((0, 8), (HPos::Center, VPos::Top));

/// A light grid line from `from` to `to` (axis coordinates) and its
/// 15-pixel label at `from`.
pub(super) fn tick_line<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    chart: &mut Chart<'_, DB>,
    [from, to]: [(f64, f64); 2],
    text: String,
    ((dx, dy), (h, v)): TickLabel,
) -> DrawResult<DB> {
    chart.draw_series(std::iter::once(PathElement::new(
        vec![from, to],
        RGBColor(225, 225, 225),
    )))?;
    let (px, py) = local(area, chart.backend_coord(&from));
    area.draw(&Text::new(
        text,
        (px + dx, py + dy),
        (FAMILY, 15).into_font().color(&BLACK).pos(Pos::new(h, v)),
    ))
}

pub(super) fn legend_box<DB: DrawingBackend>(
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
pub(super) fn legend_text<DB: DrawingBackend>(
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
pub(super) fn hatch_rect<DB: DrawingBackend>(
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

pub(super) fn draw_marker<DB: DrawingBackend>(
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

pub(super) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
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

/// A backend pixel (what `backend_coord` returns) relative to `area`, whose
/// own drawing calls take area-relative pixels.
pub(super) fn local<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (x, y): (i32, i32),
) -> (i32, i32) {
    let (bx, by) = area.get_base_pixel();
    (x - bx, y - by)
}
