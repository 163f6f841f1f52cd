//! Values over time as a trellis: one small panel per engine (rows) and
//! policy (columns), every panel on the same axes, engine events as shaded
//! bands behind each panel's line. One repetition of one cell per panel, so
//! a band always belongs to the line it sits behind.
//!
//! ## Format
//!
//! - 1200 pixels wide; the height grows with the number of engines (about
//!   150 pixels a row when there are many, up to 280 when there are few),
//!   so a full matrix stays readable. PNG and SVG, text outlined as in
//!   every other chart.
//! - Top to bottom: title, legend (event kinds present, measured stalls),
//!   policy names over the columns, the rows of panels (engine name at the
//!   left, `rep N, ...` above each panel), x tick labels, x axis name,
//!   machine label in the corner.
//! - Bands: semi-transparent, clipped to the plotted range, at least
//!   [`MIN_BAND_PX`] wide. Rotations and recycles shorter than
//!   [`TICK_FRACTION`] of the range are ticks at the panel's top edge.
//!   Measured stalls are black bars along the panel's bottom edge.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{linear_ticks, YScale};
use super::canvas::{black_text, text_style, Canvas, DrawResult};
use super::kind::EventKind;
use crate::chart::{corner, human};
use crate::style::FAMILY;

/// Width of every timeline chart.
pub(crate) const WIDTH: u32 = 1200;
/// A band narrower than this many pixels is widened to it, so a 2 ms flush
/// in a 60 s timeline still shows.
pub(crate) const MIN_BAND_PX: i32 = 2;
/// Instant events (rotation, recycle) shorter than this fraction of the x
/// range are ticks, not bands.
pub(crate) const TICK_FRACTION: f64 = 0.01;

/// Opacity of a band.
const BAND_ALPHA: f64 = 0.28;
/// Opacity of a band under 5 pixels wide.
const NARROW_ALPHA: f64 = 0.4;
/// Colour of every line: one line per panel, so the band colours (event
/// kinds) never have to compete with line colours.
const LINE: RGBColor = RGBColor(24, 45, 99);

/// One interval of a line: its span in seconds and its value (`None`
/// breaks the line: nothing was timed in the interval).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Step {
    pub from_s: f64,
    pub to_s: f64,
    pub value: Option<f64>,
}

/// One engine event, in seconds from the start of the measured phase.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Mark {
    pub from_s: f64,
    pub to_s: f64,
    pub kind: EventKind,
}

/// One cell: its line, its events and its stalls.
#[derive(Debug, Clone, Default)]
pub(crate) struct Panel {
    pub row: usize,
    pub col: usize,
    /// Above the panel, right-aligned: which repetition, how many stalls.
    pub note: String,
    /// The note for a panel too narrow for `note`.
    pub short_note: String,
    /// Shown in the middle of a panel without values (`not run`); empty
    /// for `no timeline`.
    pub empty: String,
    pub steps: Vec<Step>,
    pub events: Vec<Mark>,
    /// Measured stalls as `(from_s, to_s)`.
    pub stalls: Vec<(f64, f64)>,
}

/// A trellis of panels sharing both axes.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trellis {
    pub title: String,
    /// Y axis name with unit; "(log scale)" is added when it applies.
    pub y_label: String,
    pub x_label: String,
    /// Row names (engines).
    pub rows: Vec<String>,
    /// Column names (policies).
    pub cols: Vec<String>,
    pub panels: Vec<Panel>,
    pub corner: String,
}

/// End of the x axis: the last step's end (at least 1 ms).
pub(crate) fn x_max<'a>(steps: impl Iterator<Item = &'a Step>) -> f64 {
    steps
        .map(|s| s.to_s)
        .filter(|v| v.is_finite())
        .fold(0f64, f64::max)
        .max(1e-3)
}

/// The y axis for `steps` (the 30x rule of `axis.rs`).
pub(crate) fn y_scale<'a>(steps: impl Iterator<Item = &'a Step>) -> YScale {
    let values: Vec<f64> = steps.filter_map(|s| s.value).collect();
    YScale::of(&values)
}

/// The event kinds among `marks`, in legend order.
pub(crate) fn kinds<'a>(marks: impl Iterator<Item = &'a Mark>) -> Vec<EventKind> {
    let mut k: Vec<EventKind> = Vec::new();
    for m in marks {
        if !k.contains(&m.kind) {
            k.push(m.kind.clone());
        }
    }
    k.sort_by_key(EventKind::rank);
    k
}

impl Trellis {
    /// End of the x axis: the last interval's end over all panels.
    pub fn x_max(&self) -> f64 {
        x_max(self.panels.iter().flat_map(|p| &p.steps))
    }

    /// The y axis every panel shares.
    pub fn y_scale(&self) -> YScale {
        y_scale(self.panels.iter().flat_map(|p| &p.steps))
    }

    /// Event kinds drawn, in legend order.
    pub fn kinds(&self) -> Vec<EventKind> {
        kinds(self.panels.iter().flat_map(|p| &p.events))
    }

    fn has_stalls(&self) -> bool {
        self.panels.iter().any(|p| !p.stalls.is_empty())
    }

    /// Whether any panel has a value to draw.
    pub fn is_empty(&self) -> bool {
        self.panels
            .iter()
            .all(|p| p.steps.iter().all(|s| s.value.is_none()))
    }

    /// Pixel height for this many rows and legend lines.
    pub fn height(&self) -> u32 {
        Layout::of(self).height as u32
    }
}

/// Pixel geometry of a trellis.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Left edge of the first column's plot.
    left: i32,
    col_w: i32,
    /// Top of the first row's note strip.
    top: i32,
    plot_h: i32,
    legend_top: i32,
    height: i32,
}

const TITLE_H: i32 = 52;
const LEGEND_ROW_H: i32 = 26;
const COL_HEAD_H: i32 = 26;
const STRIP_H: i32 = 18;
const ROW_GAP: i32 = 12;
const COL_GAP: i32 = 16;
const BOTTOM_H: i32 = 78;
const RIGHT: i32 = 18;
const ROW_LABEL_W: i32 = 104;
const Y_TICKS_W: i32 = 48;
const Y_DESC_W: i32 = 30;

/// What an entry of the event legend shows.
pub(crate) enum Swatch {
    Band(EventKind),
    Tick(EventKind),
    Stall,
}

/// Legend entries, (text, swatch), for the event `kinds` drawn, and for
/// measured stalls when there are any. The grid and the overlay share it.
pub(crate) fn legend_entries(kinds: Vec<EventKind>, stalls: bool) -> Vec<(String, Swatch)> {
    let mut items: Vec<(String, Swatch)> = kinds
        .into_iter()
        .map(|k| {
            let name = k.name().to_string();
            if k.instant() {
                (format!("{name} (tick)"), Swatch::Tick(k))
            } else {
                (name, Swatch::Band(k))
            }
        })
        .collect();
    if stalls {
        items.push(("stall (measured)".into(), Swatch::Stall));
    }
    items
}

fn legend_items(t: &Trellis) -> Vec<(String, Swatch)> {
    legend_entries(t.kinds(), t.has_stalls())
}

/// Width of a legend entry: swatch, text (about 0.5 em a character at 16
/// pixels), gap.
fn legend_item_w(text: &str) -> i32 {
    34 + (text.chars().count() as i32) * 15 / 2 + 20
}

/// Legend entries laid out left to right from `left`, wrapping at
/// `right`: the line of each entry and its x.
fn legend_lines(items: &[(String, Swatch)], left: i32, right: i32) -> Vec<(usize, i32)> {
    let mut out = Vec::new();
    let (mut line, mut x) = (0usize, left);
    for (text, _) in items {
        let w = legend_item_w(text);
        if x > left && x + w > right {
            line += 1;
            x = left;
        }
        out.push((line, x));
        x += w;
    }
    out
}

impl Layout {
    fn of(t: &Trellis) -> Layout {
        let rows = t.rows.len().max(1) as i32;
        let cols = t.cols.len().max(1) as i32;
        let left = Y_DESC_W + ROW_LABEL_W + Y_TICKS_W;
        let col_w = ((WIDTH as i32 - left - RIGHT) - (cols - 1) * COL_GAP) / cols;
        let items = legend_items(t);
        let lines = legend_lines(&items, Y_DESC_W, WIDTH as i32 - RIGHT)
            .last()
            .map_or(0, |(l, _)| *l as i32 + 1);
        let legend_top = TITLE_H;
        let top = legend_top + lines * LEGEND_ROW_H + 6 + COL_HEAD_H;
        let plot_h = (560 / rows).clamp(120, 280);
        let height = top + rows * (STRIP_H + plot_h + ROW_GAP) + BOTTOM_H;
        Layout {
            left,
            col_w,
            top,
            plot_h,
            legend_top,
            height,
        }
    }

    /// Plot rectangle of a panel: (x0, y0, x1, y1) in pixels.
    fn plot(&self, row: usize, col: usize) -> (i32, i32, i32, i32) {
        let x0 = self.left + col as i32 * (self.col_w + COL_GAP);
        let y0 = self.top + row as i32 * (STRIP_H + self.plot_h + ROW_GAP) + STRIP_H;
        (x0, y0, x0 + self.col_w, y0 + self.plot_h)
    }
}

const GREY_TEXT: RGBColor = RGBColor(80, 80, 80);

/// Text anchors: at the left or right middle, the top or bottom centre.
const LEFT_MID: (HPos, VPos) = (HPos::Left, VPos::Center);
const RIGHT_MID: (HPos, VPos) = (HPos::Right, VPos::Center);
const CENTER_TOP: (HPos, VPos) = (HPos::Center, VPos::Top);
const CENTER_BOTTOM: (HPos, VPos) = (HPos::Center, VPos::Bottom);

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, t: &Trellis) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let l = Layout::of(t);
    let y = t.y_scale();
    let x_max = t.x_max();
    let right = WIDTH as i32 - RIGHT;
    black_text(
        root,
        t.title.clone(),
        ((l.left + right) / 2, 12),
        26,
        CENTER_TOP,
    )?;
    draw_legend(root, t, &l)?;
    for (ci, name) in t.cols.iter().enumerate() {
        let (x0, _, x1, _) = l.plot(0, ci);
        black_text(
            root,
            name.clone(),
            ((x0 + x1) / 2, l.top - 6),
            18,
            CENTER_BOTTOM,
        )?;
    }
    let y_ticks = y.ticks(l.plot_h);
    let x_ticks = linear_ticks(0.0, x_max, (l.col_w / 70).max(2) as usize);
    draw_axes(root, t, &l, (y, &y_ticks), (&x_ticks, x_max))?;
    for ri in 0..t.rows.len() {
        for ci in 0..t.cols.len() {
            let panel = t.panels.iter().find(|p| p.row == ri && p.col == ci);
            draw_panel(root, l.plot(ri, ci), panel, y, &y_ticks, &x_ticks, x_max)?;
        }
    }
    corner(root, &t.corner)
}

/// The event legend under the title: a swatch and a name per entry,
/// wrapped onto as many lines as [`Layout`] made room for.
fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: &Trellis,
    l: &Layout,
) -> DrawResult<DB> {
    let items = legend_items(t);
    let lines = legend_lines(&items, Y_DESC_W, WIDTH as i32 - RIGHT);
    for ((text, swatch), (line, x)) in items.iter().zip(lines) {
        let cy = l.legend_top + line as i32 * LEGEND_ROW_H + LEGEND_ROW_H / 2;
        match swatch {
            Swatch::Band(k) => {
                root.draw(&Rectangle::new(
                    [(x, cy - 9), (x + 26, cy + 9)],
                    k.color().mix(BAND_ALPHA).filled(),
                ))?;
                root.draw(&Rectangle::new(
                    [(x, cy - 9), (x + 26, cy + 9)],
                    k.color().stroke_width(1),
                ))?;
            }
            Swatch::Tick(k) => {
                root.draw(&PathElement::new(
                    vec![(x + 13, cy - 9), (x + 13, cy + 9)],
                    k.color().stroke_width(3),
                ))?;
            }
            Swatch::Stall => {
                root.draw(&Rectangle::new(
                    [(x, cy + 2), (x + 26, cy + 7)],
                    BLACK.filled(),
                ))?;
            }
        }
        black_text(root, text.clone(), (x + 34, cy), 16, LEFT_MID)?;
    }
    Ok(())
}

/// Each row's name at the left and its y tick labels, the x tick labels
/// under the last row of every column, the x axis name under them and the
/// y axis name turned along the left edge.
fn draw_axes<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    t: &Trellis,
    l: &Layout,
    (y, y_ticks): (YScale, &[f64]),
    (x_ticks, x_max): (&[f64], f64),
) -> DrawResult<DB> {
    for (ri, name) in t.rows.iter().enumerate() {
        let (x0, y0, _, y1) = l.plot(ri, 0);
        let mid = (y0 + y1) / 2;
        black_text(root, name.clone(), (Y_DESC_W + 4, mid), 17, LEFT_MID)?;
        for v in y_ticks {
            let py = y1 - (y.frac(*v) * f64::from(y1 - y0)).round() as i32;
            black_text(root, human(*v), (x0 - 6, py), 13, RIGHT_MID)?;
        }
    }
    let last_row = t.rows.len().saturating_sub(1);
    for ci in 0..t.cols.len() {
        let (x0, _, x1, y1) = l.plot(last_row, ci);
        for v in x_ticks {
            let px = x0 + (v / x_max * f64::from(x1 - x0)).round() as i32;
            black_text(root, human(*v), (px, y1 + 6), 13, CENTER_TOP)?;
        }
    }
    let (_, _, _, bottom) = l.plot(last_row, 0);
    let right = WIDTH as i32 - RIGHT;
    black_text(
        root,
        t.x_label.clone(),
        ((l.left + right) / 2, bottom + 28),
        17,
        CENTER_TOP,
    )?;
    let y_desc = if y.log {
        format!("{} (log scale)", t.y_label)
    } else {
        t.y_label.clone()
    };
    root.draw(&Text::new(
        y_desc,
        (6, (l.top + bottom) / 2),
        (FAMILY, 17)
            .into_font()
            .transform(FontTransform::Rotate270)
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top)),
    ))
}

fn draw_panel<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    (x0, y0, x1, y1): (i32, i32, i32, i32),
    panel: Option<&Panel>,
    y: YScale,
    y_ticks: &[f64],
    x_ticks: &[f64],
    x_max: f64,
) -> DrawResult<DB> {
    let frame = RGBColor(150, 150, 150);
    let Some(p) = panel.filter(|p| p.steps.iter().any(|s| s.value.is_some())) else {
        root.draw(&Rectangle::new(
            [(x0, y0), (x1, y1)],
            RGBColor(246, 246, 246).filled(),
        ))?;
        let text = panel
            .map(|p| p.empty.clone())
            .filter(|e| !e.is_empty())
            .unwrap_or_else(|| "no timeline".into());
        return root.draw(&Text::new(
            text,
            ((x0 + x1) / 2, (y0 + y1) / 2),
            text_style(14, GREY_TEXT, HPos::Center, VPos::Center),
        ));
    };
    let px = |s: f64| x0 + ((s / x_max).clamp(0.0, 1.0) * f64::from(x1 - x0)).round() as i32;
    let py = |v: f64| y1 - (y.frac(v) * f64::from(y1 - y0)).round() as i32;
    let grid = RGBColor(232, 232, 232);
    for v in y_ticks {
        root.draw(&PathElement::new(vec![(x0, py(*v)), (x1, py(*v))], grid))?;
    }
    for v in x_ticks {
        root.draw(&PathElement::new(vec![(px(*v), y0), (px(*v), y1)], grid))?;
    }

    // Bands first (longest first, so short ones stay on top), then ticks.
    let mut events: Vec<&Mark> = p
        .events
        .iter()
        .filter(|m| m.to_s > 0.0 && m.from_s < x_max && m.to_s >= m.from_s)
        .collect();
    events.sort_by(|a, b| (b.to_s - b.from_s).total_cmp(&(a.to_s - a.from_s)));
    for m in &events {
        let tick = m.kind.instant() && m.to_s - m.from_s < TICK_FRACTION * x_max;
        let (mut a, mut b) = (px(m.from_s), px(m.to_s));
        if tick {
            root.draw(&PathElement::new(
                vec![(a, y0), (a, y0 + 10)],
                m.kind.color().stroke_width(2),
            ))?;
            continue;
        }
        if b - a < MIN_BAND_PX {
            let mid = (a + b) / 2;
            a = (mid - MIN_BAND_PX / 2).max(x0);
            b = (a + MIN_BAND_PX).min(x1);
        }
        // A band a few pixels wide reads as a line: drawn darker, or a
        // flush among long compactions would vanish.
        let alpha = if b - a < 5 { NARROW_ALPHA } else { BAND_ALPHA };
        root.draw(&Rectangle::new(
            [(a, y0 + 1), (b, y1)],
            m.kind.color().mix(alpha).filled(),
        ))?;
    }

    // The line: steps joined where one interval ends as the next begins.
    let mut run: Vec<(i32, i32)> = Vec::new();
    let mut last_end: Option<f64> = None;
    for s in &p.steps {
        let joined = last_end.is_some_and(|e| (s.from_s - e).abs() < 1e-6);
        match s.value.filter(|v| v.is_finite()) {
            Some(v) if s.to_s > s.from_s => {
                if !joined && !run.is_empty() {
                    root.draw(&PathElement::new(
                        std::mem::take(&mut run),
                        LINE.stroke_width(2),
                    ))?;
                }
                run.push((px(s.from_s), py(v)));
                run.push((px(s.to_s), py(v)));
                last_end = Some(s.to_s);
            }
            _ => {
                if !run.is_empty() {
                    root.draw(&PathElement::new(
                        std::mem::take(&mut run),
                        LINE.stroke_width(2),
                    ))?;
                }
                last_end = None;
            }
        }
    }
    if !run.is_empty() {
        root.draw(&PathElement::new(run, LINE.stroke_width(2)))?;
    }

    for (from, to) in &p.stalls {
        let (mut a, mut b) = (px(*from), px(*to));
        if b - a < 3 {
            a = (a - 1).max(x0);
            b = (a + 3).min(x1);
        }
        root.draw(&Rectangle::new([(a, y1 - 6), (b, y1)], BLACK.filled()))?;
    }

    root.draw(&Rectangle::new([(x0, y0), (x1, y1)], frame.stroke_width(1)))?;
    // About 6.5 pixels a character at 13 pixels.
    let fits = |s: &str| s.chars().count() as i32 * 13 / 2 <= x1 - x0;
    let note = if fits(&p.note) || p.short_note.is_empty() {
        &p.note
    } else {
        &p.short_note
    };
    root.draw(&Text::new(
        note.clone(),
        (x1, y0 - 3),
        text_style(13, GREY_TEXT, HPos::Right, VPos::Bottom),
    ))
}

impl Canvas for Trellis {
    fn size(&self) -> (u32, u32) {
        (WIDTH, self.height())
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw(root, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legend_wraps_instead_of_running_off_the_chart() {
        let t = Trellis {
            rows: vec!["lsm".into()],
            cols: vec!["none".into()],
            panels: vec![Panel {
                events: [
                    "flush",
                    "compaction",
                    "merge",
                    "checkpoint",
                    "write-stall",
                    "rotation",
                    "recycle",
                    "some-new-kind-of-work",
                ]
                .iter()
                .map(|k| Mark {
                    from_s: 0.0,
                    to_s: 1.0,
                    kind: EventKind::parse(k),
                })
                .collect(),
                stalls: vec![(0.0, 0.1)],
                ..Panel::default()
            }],
            ..Trellis::default()
        };
        let items = legend_items(&t);
        assert_eq!(items.len(), 9);
        let lines = legend_lines(&items, Y_DESC_W, WIDTH as i32 - RIGHT);
        assert!(lines.last().unwrap().0 >= 1, "{lines:?}");
        for ((text, _), (_, x)) in items.iter().zip(&lines) {
            assert!(
                x + legend_item_w(text) - 20 <= WIDTH as i32 - RIGHT,
                "{text}"
            );
        }
    }
}
