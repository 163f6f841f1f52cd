//! The look of every chart: the bundled font, sizes, and series styles that
//! stay distinguishable in greyscale print (luminance-spaced colours plus a
//! hatch pattern for bars and a marker shape and dash for lines).

use std::sync::OnceLock;

use plotters::style::{FontStyle, RGBColor};

/// DejaVu Sans Condensed (Bitstream Vera licence, see assets/DejaVu-LICENSE),
/// bundled so a machine without system fonts draws the same charts.
pub static FONT: &[u8] = include_bytes!("../assets/DejaVuSansCondensed.ttf");

/// Family name the bundled font is registered under.
pub const FAMILY: &str = "sans-serif";

/// The bundled font could not be registered with the chart library (its
/// bytes are not a font the library can read): no chart can be drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the bundled font did not load")]
pub struct FontNotLoaded;

/// Registers the bundled font once; every later call returns the first
/// call's outcome.
pub fn register_font() -> Result<(), FontNotLoaded> {
    static DONE: OnceLock<Result<(), FontNotLoaded>> = OnceLock::new();
    *DONE.get_or_init(|| {
        for style in [FontStyle::Normal, FontStyle::Bold] {
            plotters::style::register_font(FAMILY, style, FONT).map_err(|_| FontNotLoaded)?;
        }
        Ok(())
    })
}

/// Series colours, ordered so neighbours differ strongly in luminance.
/// Twelve, so that every engine of the registry (nine) gets its own.
pub const PALETTE: [RGBColor; 12] = [
    RGBColor(24, 45, 99),    // dark navy
    RGBColor(242, 153, 45),  // orange (light)
    RGBColor(45, 140, 130),  // teal (mid)
    RGBColor(170, 32, 52),   // crimson (dark)
    RGBColor(150, 195, 235), // sky (light)
    RGBColor(90, 90, 90),    // grey (mid-dark)
    RGBColor(240, 215, 80),  // yellow (very light)
    RGBColor(120, 70, 150),  // purple (dark)
    RGBColor(110, 185, 80),  // green (light)
    RGBColor(140, 85, 40),   // brown (dark)
    RGBColor(230, 125, 175), // pink (light)
    RGBColor(20, 120, 190),  // blue (mid)
];

/// Colour of series `i`.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Hatch of series `i`'s bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hatch {
    /// Solid fill.
    None,
    /// Lines rising to the right.
    Forward,
    /// Lines falling to the right.
    Backward,
    /// Horizontal lines.
    Horizontal,
}

/// Hatch of series `i`.
pub fn hatch(i: usize) -> Hatch {
    [
        Hatch::None,
        Hatch::Forward,
        Hatch::Horizontal,
        Hatch::Backward,
    ][i % 4]
}

/// Marker of line series `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// Filled circle.
    Circle,
    /// Triangle.
    Triangle,
    /// Cross.
    Cross,
    /// Square.
    Square,
    /// Hollow circle.
    Ring,
}

/// Marker of series `i`.
pub fn marker(i: usize) -> Marker {
    [
        Marker::Circle,
        Marker::Triangle,
        Marker::Square,
        Marker::Cross,
        Marker::Ring,
    ][i % 5]
}

/// Whether line series `i` is dashed.
pub fn dashed(i: usize) -> bool {
    i % 2 == 1
}
