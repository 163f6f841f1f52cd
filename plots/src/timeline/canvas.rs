//! What every chart over time shares: one drawing written through both
//! backends (PNG for slides, SVG with outlined text for documents), and
//! the text style they use.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::style::FAMILY;

/// A chart over time draws itself like every other chart ([`crate::chart`]),
/// at its own size, and is written through the same two backends.
pub(super) use crate::chart::{render, DrawResult, Drawable as Canvas};

pub(super) fn text_style(size: u32, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&color).pos(Pos::new(h, v))
}

/// Black text of `size` pixels, anchored at `at` by `h` and `v`.
pub(super) fn black_text<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: String,
    at: (i32, i32),
    size: u32,
    (h, v): (HPos, VPos),
) -> DrawResult<DB> {
    root.draw(&Text::new(text, at, text_style(size, BLACK, h, v)))
}
