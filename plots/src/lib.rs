//! Charts and the publishable report, drawn from saved results only
//! (never during measurement).
//!
//! [`render_report`] reads a results folder (`runs.csv`, `probe.csv`,
//! `latency.csv`, `hgrm/`, `crash.csv`, `environment.json`) and writes
//! `charts/*.png` and `charts/*.svg`, `report.md` and a self-contained
//! `report.html`. [`render_compare`] does the same for several folders
//! side by side (`compare.csv`, `compare.md`, `compare.html`).

mod cells;
pub mod chart;
mod compare;
mod figures;
mod html;
mod report;
pub mod style;
mod svgtext;
mod tables;

use std::path::PathBuf;

pub use compare::{render_compare, CompareOptions};
pub use report::{render_report, ReportOptions, ReportSummary};

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
