//! What every chart over time shares: one drawing written through both
//! backends (PNG for slides, SVG with outlined text for documents), and
//! the text style they use.

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::chart::Formats;
use crate::style::{self, FAMILY};
use crate::PlotError;

pub(super) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A chart over time that draws itself on any backend.
pub(super) trait Canvas {
    /// Width and height in pixels.
    fn size(&self) -> (u32, u32);
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB>;
}

pub(super) fn text_style(size: u32, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&color).pos(Pos::new(h, v))
}

fn err<E: std::fmt::Display>(path: &Path) -> impl Fn(E) -> PlotError + '_ {
    move |e| PlotError::Draw {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}

/// Writes `base.svg` and (unless SVG only) `base.png`; returns the paths.
pub(crate) fn render(
    base: &Path,
    chart: &impl Canvas,
    formats: Formats,
) -> Result<Vec<PathBuf>, PlotError> {
    style::register_font().map_err(|reason| PlotError::Draw {
        path: base.to_path_buf(),
        reason,
    })?;
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
