//! Charts and the publishable report, drawn from saved results only
//! (never during measurement).
//!
//! [`render_report`] reads a results folder (`runs.csv`, `probe.csv`,
//! `latency.csv`, `hgrm/`, `crash.csv`, `environment.json`, and for the
//! charts over time `timeline.csv`, `events.csv`, `repetitions.csv`) and
//! writes `charts/*.png` and `charts/*.svg`, `report.md` and a
//! self-contained `report.html`; a folder of several machines (`merge`)
//! gets the fleet's report instead. [`render_compare`] does the same for
//! several folders side by side (`compare.csv`, `compare.md`,
//! `compare.html`).
//!
//! ## Format
//!
//! - Charts: 1200x700 PNG (slides) and SVG (documents); the charts over
//!   time are 1200 wide and as tall as their rows of panels need. SVG text is drawn
//!   as outlines of the bundled DejaVu Sans Condensed (each glyph defined
//!   once per chart, the text kept in `aria-label`), so every viewer shows
//!   the same chart as the PNG without the font installed.
//! - `report.md` / `compare.md`: CommonMark with tables; `report.html` /
//!   `compare.html`: the same rendered by pulldown-cmark, with a table of
//!   contents, an anchor on every heading and every chart inlined as SVG
//!   (one file, no network).
//! - In every table, `-` means "not measured" and `0` a counted zero;
//!   ops/s carries `±` (half the 95% interval of the median) or `(min..max)`,
//!   and ⚠ marks a spread above 10%, a noisy cell's device figures, an
//!   efficiency above 1.05 and a probe that suspects the disk of lying.

mod capacity;
mod capacity_curve;
mod cells;
pub mod chart;
mod compare;
mod crash;
mod figures;
mod fleet;
mod headline;
mod html;
mod loaded;
mod loglog;
mod recovery;
mod report;
pub mod style;
mod svgtext;
mod tables;
mod timeline;

use std::path::{Path, PathBuf};

pub use compare::{render_compare, CompareOptions};
pub use report::{ReportOptions, ReportSummary};

/// Draws every chart and writes `report.md` and `report.html` into `out`
/// (charts in `out/charts/`), reading only the saved files in
/// `results_dir`. A folder with the rows of several machines (a fleet
/// folder of `bench-runner merge`) gets the fleet's report: the machines
/// side by side and the fleet-wide percentiles.
pub fn render_report(
    results_dir: &Path,
    out: &Path,
    opts: &ReportOptions,
) -> Result<ReportSummary, PlotError> {
    let folder = results::RunFolder::load(results_dir)?;
    if results::fleet::labels(&folder.runs).len() > 1 {
        return fleet::render(&folder, out, opts);
    }
    let mut summary = report::render(results_dir, out, opts)?;
    if let Some(cell) = &opts.cell {
        summary.notes.push(format!(
            "--cell {cell}: this folder holds one machine's results, so there are no machines to set side by side (`bench-runner merge` makes a folder of several)"
        ));
    }
    Ok(summary)
}

/// Errors drawing charts or writing the report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlotError {
    /// A results file could not be read or written.
    #[error(transparent)]
    Results(#[from] results::Error),
    /// A chart could not be drawn.
    #[error("drawing {path}: {reason}")]
    Draw {
        /// The chart file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A folder holds no results to draw.
    #[error("{path}: {reason}")]
    NoResults {
        /// The folder.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
}
