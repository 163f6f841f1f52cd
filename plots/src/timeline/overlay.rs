//! Every cell of one workload and thread count on one panel: one line per
//! engine × policy, and under the plot one thin lane per line holding that
//! cell's engine events and measured stalls. The grid ([`super::chart`])
//! is the detail view; this is the comparison, built from the same panels
//! so that a line and its grid panel are always the same repetition.
//!
//! ## Format
//!
//! - 1200 pixels wide; a 420-pixel plot, then one lane per line
//!   ([`LANE_PITCH`] pixels each), so the height grows with the lines.
//!   PNG and SVG, text outlined as in every other chart.
//! - Top to bottom: title; the plot, with the event legend at its right;
//!   the lanes, each with its line's legend entry (a sample of the line and
//!   `engine · policy`) at its right, so the legend is also the lanes'
//!   labels and never covers data; x tick labels, x axis name, machine
//!   label in the corner.
//! - A line's colour is its own ([`LINE_COLORS`], up to [`MAX_LINES`]
//!   lines); its dash pattern is its policy's, so a policy reads the same
//!   on every engine.
//! - Lanes: events filled in their kind's colour, at least
//!   [`MIN_BAND_PX`] wide; rotations and recycles shorter than
//!   [`TICK_FRACTION`] of the x range are ticks across the lane; measured
//!   stalls are black bars on the lane's bottom edge.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use super::axis::{linear_ticks, YScale};
use super::canvas::{text_style, Canvas, DrawResult};
use super::chart::{Mark, Step, Swatch, Trellis, MIN_BAND_PX, TICK_FRACTION, WIDTH};
use super::kind::EventKind;
use crate::chart::{corner, human};
use crate::style::FAMILY;

/// More lines than this make an unreadable tangle: the report draws no
/// overlay then, and says so (the grid still shows every cell).
pub(crate) const MAX_LINES: usize = 16;

/// One colour per line: Tableau's ten, then six lighter ones of its
/// twenty, so that the first ten lines are the most distinct.
pub(crate) const LINE_COLORS: [RGBColor; MAX_LINES] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(174, 199, 232),
    RGBColor(255, 187, 120),
    RGBColor(152, 223, 138),
    RGBColor(255, 152, 150),
    RGBColor(197, 176, 213),
    RGBColor(196, 156, 148),
];

/// Dash (on, off) in pixels of each policy's lines, in the grid's column
/// order; `None` is solid.
const DASHES: [Option<(f64, f64)>; 4] =
    [None, Some((9.0, 5.0)), Some((3.0, 3.0)), Some((14.0, 4.0))];

/// Height of the plot.
const PLOT_H: i32 = 420;
/// Height of a lane and the distance from one lane's top to the next's.
const LANE_H: i32 = 12;
pub(crate) const LANE_PITCH: i32 = 19;
const TITLE_H: i32 = 56;
const LEFT: i32 = 84;
const RIGHT: i32 = 14;
const LEGEND_GAP: i32 = 14;
/// Between the plot's bottom and the first lane.
const LANES_GAP: i32 = 12;
const BOTTOM_H: i32 = 80;
const LEGEND_ROW_H: i32 = 24;
/// Opacity of an event in a lane: stronger than a grid band, a lane is
/// thin and has no line over it.
const EVENT_ALPHA: f64 = 0.6;
const GREY_TEXT: RGBColor = RGBColor(80, 80, 80);

/// One cell's line, its lane's events and its stalls.
#[derive(Debug, Clone, Default)]
pub(crate) struct Line {
    /// `engine · policy` (with the value size when the group has several).
    pub name: String,
    /// Index into [`LINE_COLORS`].
    pub color: usize,
    /// The policy's column in the grid: picks the dash pattern.
    pub dash: usize,
    pub steps: Vec<Step>,
    pub events: Vec<Mark>,
    /// Measured stalls as `(from_s, to_s)`.
    pub stalls: Vec<(f64, f64)>,
}

/// The overlaid chart of one workload, thread count and metric.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overlay {
    pub title: String,
    /// Y axis name with unit; "(log scale)" is added when it applies.
    pub y_label: String,
    pub x_label: String,
    pub lines: Vec<Line>,
    pub corner: String,
}

impl Overlay {
    /// The grid's panels that have a value, as lines in the grid's order
    /// (engines, then policies).
    pub fn of(t: &Trellis, title: String) -> Overlay {
        let mut panels: Vec<_> = t
            .panels
            .iter()
            .filter(|p| p.steps.iter().any(|s| s.value.is_some()))
            .collect();
        panels.sort_by_key(|p| (p.row, p.col));
        let lines = panels
            .into_iter()
            .enumerate()
            .map(|(i, p)| Line {
                name: format!(
                    "{} · {}",
                    t.rows.get(p.row).map_or("?", String::as_str),
                    t.cols.get(p.col).map_or("?", String::as_str)
                ),
                color: i,
                dash: p.col,
                steps: p.steps.clone(),
                events: p.events.clone(),
                stalls: p.stalls.clone(),
            })
            .collect();
        Overlay {
            title,
            y_label: t.y_label.clone(),
            x_label: t.x_label.clone(),
            lines,
            corner: t.corner.clone(),
        }
    }

    /// End of the x axis: the last interval's end over all lines.
    pub fn x_max(&self) -> f64 {
        super::chart::x_max(self.lines.iter().flat_map(|l| &l.steps))
    }

    /// The y axis, by the same rule and from the same values as the grid's.
    pub fn y_scale(&self) -> YScale {
        super::chart::y_scale(self.lines.iter().flat_map(|l| &l.steps))
    }

    /// Event kinds in the lanes, in legend order.
    pub fn kinds(&self) -> Vec<EventKind> {
        super::chart::kinds(self.lines.iter().flat_map(|l| &l.events))
    }

    fn has_stalls(&self) -> bool {
        self.lines.iter().any(|l| !l.stalls.is_empty())
    }

    fn layout(&self) -> Layout {
        Layout::of(self)
    }
}

/// Pixel geometry.
#[derive(Debug, Clone, Copy)]
struct Layout {
    plot: (i32, i32, i32, i32),
    /// Top of the first lane.
    lanes_top: i32,
    /// Left edge of the legend column.
    legend_x: i32,
    /// Characters of a line name that fit in the legend column.
    name_chars: usize,
    height: i32,
}

/// About 7 pixels a character at 14 pixels.
const CHAR_W: i32 = 7;
/// A line sample in the legend, and the gap after it.
const SAMPLE_W: i32 = 30;
const SAMPLE_GAP: i32 = 8;

impl Layout {
    fn of(o: &Overlay) -> Layout {
        let longest = o
            .lines
            .iter()
            .map(|l| l.name.chars().count())
            .chain(legend_items(o).iter().map(|(t, _)| t.chars().count()))
            .max()
            .unwrap_or(0) as i32;
        let legend_w = (SAMPLE_W + SAMPLE_GAP + longest * CHAR_W).clamp(180, 360);
        let legend_x = WIDTH as i32 - RIGHT - legend_w;
        let name_chars = ((legend_w - SAMPLE_W - SAMPLE_GAP) / CHAR_W).max(4) as usize;
        let plot = (LEFT, TITLE_H, legend_x - LEGEND_GAP, TITLE_H + PLOT_H);
        let lanes_top = plot.3 + LANES_GAP;
        let lanes = o.lines.len() as i32 * LANE_PITCH;
        Layout {
            plot,
            lanes_top,
            legend_x,
            name_chars,
            height: lanes_top + lanes + BOTTOM_H,
        }
    }

    /// Top and bottom of lane `i`.
    fn lane(&self, i: usize) -> (i32, i32) {
        let top = self.lanes_top + i as i32 * LANE_PITCH;
        (top, top + LANE_H)
    }
}

/// `name` cut to `max` characters, with an ellipsis when cut.
fn fit(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_string()
    } else {
        let mut s: String = name.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn legend_items(o: &Overlay) -> Vec<(String, Swatch)> {
    super::chart::legend_entries(o.kinds(), o.has_stalls())
}

/// A path in a line's colour and its policy's dash.
fn stroke<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    points: Vec<(i32, i32)>,
    line: &Line,
) -> DrawResult<DB> {
    let style = LINE_COLORS[line.color % MAX_LINES].stroke_width(2);
    match DASHES[line.dash % DASHES.len()] {
        None => root.draw(&PathElement::new(points, style)),
        Some((on, off)) => root.draw(&plotters::element::DashedPathElement::new(
            points, on, off, style,
        )),
    }
}

impl Canvas for Overlay {
    fn size(&self) -> (u32, u32) {
        (WIDTH, self.layout().height.max(0) as u32)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        draw(root, self)
    }
}

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, o: &Overlay) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let l = o.layout();
    let (x0, y0, x1, y1) = l.plot;
    let y = o.y_scale();
    let x_max = o.x_max();
    let px = |s: f64| x0 + ((s / x_max).clamp(0.0, 1.0) * f64::from(x1 - x0)).round() as i32;
    let py = |v: f64| y1 - (y.frac(v) * f64::from(y1 - y0)).round() as i32;

    root.draw(&Text::new(
        o.title.clone(),
        (WIDTH as i32 / 2, 12),
        text_style(26, BLACK, HPos::Center, VPos::Top),
    ))?;

    // Grid lines and tick labels; the x grid runs on through the lanes.
    let grid = RGBColor(232, 232, 232);
    let lanes_bottom = l.lane(o.lines.len().saturating_sub(1)).1;
    let x_ticks = linear_ticks(0.0, x_max, ((x1 - x0) / 80).max(2) as usize);
    for v in &x_ticks {
        let x = px(*v);
        root.draw(&PathElement::new(vec![(x, y0), (x, y1)], grid))?;
        root.draw(&Text::new(
            human(*v),
            (x, lanes_bottom + 6),
            text_style(13, BLACK, HPos::Center, VPos::Top),
        ))?;
    }
    for v in y.ticks(PLOT_H) {
        let yy = py(v);
        root.draw(&PathElement::new(vec![(x0, yy), (x1, yy)], grid))?;
        root.draw(&Text::new(
            human(v),
            (x0 - 6, yy),
            text_style(13, BLACK, HPos::Right, VPos::Center),
        ))?;
    }
    root.draw(&Text::new(
        o.x_label.clone(),
        ((x0 + x1) / 2, lanes_bottom + 28),
        text_style(17, BLACK, HPos::Center, VPos::Top),
    ))?;
    let y_desc = if y.log {
        format!("{} (log scale)", o.y_label)
    } else {
        o.y_label.clone()
    };
    root.draw(&Text::new(
        y_desc,
        (6, (y0 + y1) / 2),
        (FAMILY, 17)
            .into_font()
            .transform(FontTransform::Rotate270)
            .color(&BLACK)
            .pos(plotters::style::text_anchor::Pos::new(
                HPos::Center,
                VPos::Top,
            )),
    ))?;

    for line in &o.lines {
        draw_line(root, line, &px, &py)?;
    }
    root.draw(&Rectangle::new(
        [(x0, y0), (x1, y1)],
        RGBColor(150, 150, 150).stroke_width(1),
    ))?;

    draw_event_legend(root, o, &l)?;
    if !o.lines.is_empty() {
        root.draw(&Text::new(
            "events",
            (x0 - 6, l.lanes_top),
            text_style(13, GREY_TEXT, HPos::Right, VPos::Top),
        ))?;
    }
    let grid_xs: Vec<i32> = x_ticks.iter().map(|v| px(*v)).collect();
    for (i, line) in o.lines.iter().enumerate() {
        draw_lane(root, line, l.lane(i), (x0, x1), &grid_xs, x_max, &px)?;
        let (top, bottom) = l.lane(i);
        let cy = (top + bottom) / 2;
        let sx = l.legend_x;
        stroke(root, vec![(sx, cy), (sx + SAMPLE_W, cy)], line)?;
        root.draw(&Text::new(
            fit(&line.name, l.name_chars),
            (sx + SAMPLE_W + SAMPLE_GAP, cy),
            text_style(14, BLACK, HPos::Left, VPos::Center),
        ))?;
    }

    corner(root, &o.corner)
}

/// A line of steps, joined where one interval ends as the next begins and
/// broken where an interval has no value.
fn draw_line<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    line: &Line,
    px: &impl Fn(f64) -> i32,
    py: &impl Fn(f64) -> i32,
) -> DrawResult<DB> {
    let mut run: Vec<(i32, i32)> = Vec::new();
    let mut last_end: Option<f64> = None;
    for s in &line.steps {
        let joined = last_end.is_some_and(|e| (s.from_s - e).abs() < 1e-6);
        match s.value.filter(|v| v.is_finite()) {
            Some(v) if s.to_s > s.from_s => {
                if !joined && !run.is_empty() {
                    stroke(root, std::mem::take(&mut run), line)?;
                }
                run.push((px(s.from_s), py(v)));
                run.push((px(s.to_s), py(v)));
                last_end = Some(s.to_s);
            }
            _ => {
                if !run.is_empty() {
                    stroke(root, std::mem::take(&mut run), line)?;
                }
                last_end = None;
            }
        }
    }
    if !run.is_empty() {
        stroke(root, run, line)?;
    }
    Ok(())
}

/// One line's lane: its events by kind (longest first, so short ones stay
/// on top), then its stalls.
fn draw_lane<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    line: &Line,
    (top, bottom): (i32, i32),
    (x0, x1): (i32, i32),
    grid_xs: &[i32],
    x_max: f64,
    px: &impl Fn(f64) -> i32,
) -> DrawResult<DB> {
    root.draw(&Rectangle::new(
        [(x0, top), (x1, bottom)],
        RGBColor(248, 248, 248).filled(),
    ))?;
    for x in grid_xs {
        root.draw(&PathElement::new(
            vec![(*x, top), (*x, bottom)],
            RGBColor(225, 225, 225),
        ))?;
    }
    let mut events: Vec<&Mark> = line
        .events
        .iter()
        .filter(|m| m.to_s > 0.0 && m.from_s < x_max && m.to_s >= m.from_s)
        .collect();
    events.sort_by(|a, b| (b.to_s - b.from_s).total_cmp(&(a.to_s - a.from_s)));
    for m in &events {
        let (mut a, mut b) = (px(m.from_s), px(m.to_s));
        if m.kind.instant() && m.to_s - m.from_s < TICK_FRACTION * x_max {
            root.draw(&PathElement::new(
                vec![(a, top), (a, bottom)],
                m.kind.color().stroke_width(2),
            ))?;
            continue;
        }
        if b - a < MIN_BAND_PX {
            let mid = (a + b) / 2;
            a = (mid - MIN_BAND_PX / 2).max(x0);
            b = (a + MIN_BAND_PX).min(x1);
        }
        root.draw(&Rectangle::new(
            [(a, top), (b, bottom)],
            m.kind.color().mix(EVENT_ALPHA).filled(),
        ))?;
    }
    for (from, to) in &line.stalls {
        let (mut a, mut b) = (px(*from), px(*to));
        if b - a < 3 {
            a = (a - 1).max(x0);
            b = (a + 3).min(x1);
        }
        root.draw(&Rectangle::new(
            [(a, bottom - 4), (b, bottom)],
            BLACK.filled(),
        ))?;
    }
    root.draw(&Rectangle::new(
        [(x0, top), (x1, bottom)],
        RGBColor(190, 190, 190).stroke_width(1),
    ))
}

/// The event kinds and stalls in the lanes, beside the plot.
fn draw_event_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    o: &Overlay,
    l: &Layout,
) -> DrawResult<DB> {
    let x = l.legend_x;
    let items = legend_items(o);
    let heading = if items.is_empty() {
        "lanes under the plot: empty"
    } else {
        "in the lanes under the plot:"
    };
    root.draw(&Text::new(
        heading,
        (x, l.plot.1),
        text_style(14, GREY_TEXT, HPos::Left, VPos::Top),
    ))?;
    for (i, (text, swatch)) in items.iter().enumerate() {
        let cy = l.plot.1 + 22 + i as i32 * LEGEND_ROW_H + LEGEND_ROW_H / 2;
        match swatch {
            Swatch::Band(k) => {
                root.draw(&Rectangle::new(
                    [(x, cy - 6), (x + SAMPLE_W, cy + 6)],
                    k.color().mix(EVENT_ALPHA).filled(),
                ))?;
            }
            Swatch::Tick(k) => {
                root.draw(&PathElement::new(
                    vec![(x + SAMPLE_W / 2, cy - 6), (x + SAMPLE_W / 2, cy + 6)],
                    k.color().stroke_width(2),
                ))?;
            }
            Swatch::Stall => {
                root.draw(&Rectangle::new(
                    [(x, cy + 2), (x + SAMPLE_W, cy + 6)],
                    BLACK.filled(),
                ))?;
            }
        }
        root.draw(&Text::new(
            text.clone(),
            (x + SAMPLE_W + SAMPLE_GAP, cy),
            text_style(14, BLACK, HPos::Left, VPos::Center),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::chart::Panel;

    fn panel(row: usize, col: usize, values: &[Option<f64>]) -> Panel {
        Panel {
            row,
            col,
            steps: values
                .iter()
                .enumerate()
                .map(|(i, v)| Step {
                    from_s: i as f64 * 0.1,
                    to_s: (i + 1) as f64 * 0.1,
                    value: *v,
                })
                .collect(),
            ..Panel::default()
        }
    }

    #[test]
    fn lines_follow_the_grid_order_and_skip_panels_without_values() {
        let t = Trellis {
            rows: vec!["lsm".into(), "wal".into()],
            cols: vec!["none".into(), "always".into()],
            panels: vec![
                panel(1, 0, &[Some(5.0)]),
                panel(0, 1, &[Some(1.0)]),
                panel(0, 0, &[Some(9.0)]),
                panel(1, 1, &[None, None]),
            ],
            ..Trellis::default()
        };
        let o = Overlay::of(&t, "t".into());
        let names: Vec<&str> = o.lines.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["lsm · none", "lsm · always", "wal · none"]);
        let colors: Vec<usize> = o.lines.iter().map(|l| l.color).collect();
        assert_eq!(colors, [0, 1, 2], "a colour per line");
        let dashes: Vec<usize> = o.lines.iter().map(|l| l.dash).collect();
        assert_eq!(dashes, [0, 1, 0], "a dash per policy");
    }

    #[test]
    fn the_lanes_sit_under_the_plot_and_the_legend_beside_them() {
        let t = Trellis {
            rows: (0..4).map(|i| format!("engine{i}")).collect(),
            cols: vec![
                "none".into(),
                "a-very-long-policy-name+dir@fdatasync".into(),
            ],
            panels: (0..8).map(|i| panel(i / 2, i % 2, &[Some(1.0)])).collect(),
            ..Trellis::default()
        };
        let o = Overlay::of(&t, "t".into());
        let l = o.layout();
        assert!(l.lanes_top > l.plot.3);
        assert_eq!(l.lane(7).0 - l.lane(0).0, 7 * LANE_PITCH);
        assert!(l.height > l.lane(7).1 + 40, "room for the x axis");
        assert!(l.legend_x > l.plot.2, "the legend does not cover the plot");
        assert!(l.legend_x + SAMPLE_W + SAMPLE_GAP + l.name_chars as i32 * CHAR_W <= WIDTH as i32);
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        // Every line has a colour of its own.
        for (i, a) in LINE_COLORS.iter().enumerate() {
            assert!(!LINE_COLORS[..i].contains(a), "colour {i} repeats");
        }
    }
}
