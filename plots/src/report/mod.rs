//! The report of one results folder: which charts to draw from it, and the
//! `report.md` / `report.html` that lead with the headline and the warnings
//! and tie them to the charts, the crash table, the environment, the probe
//! and the command.
//!
//! The steps have a file each: `groups.rs` draws the charts of every
//! workload and thread count, `crash_charts.rs` the crash-verification
//! section, `document.rs` writes the Markdown around them; the charts over
//! time, the capacity and the recovery sections come from their own
//! modules. This file runs the steps in document order.

mod crash_charts;
mod document;
mod groups;

use std::path::{Path, PathBuf};

use results::{CrashRow, RunRow};

use crate::chart::{BarSeries, Formats};
use crate::figures::{FigureSet, Styles};
use crate::loaded::{load, Loaded};
use crate::PlotError;

/// Options of the report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// Write only SVG charts (no PNG): faster, for documents only.
    pub svg_only: bool,
    /// The cell of the machines-side-by-side chart of a folder of several
    /// machines, as `ENGINE/POLICY/WORKLOAD[/THREADS]` (`--cell`); `None`
    /// picks one ([`crate::fleet`] says how).
    pub cell: Option<String>,
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct ReportSummary {
    /// Chart files (PNG and SVG), in document order.
    pub charts: Vec<PathBuf>,
    /// `report.md` / `compare.md`.
    pub markdown: PathBuf,
    /// `report.html` / `compare.html`.
    pub html: PathBuf,
    /// The answer the document opens with, a line each, for the terminal:
    /// for a comparison, how each run differs from the baseline.
    pub answer: Vec<String>,
    /// Inputs that were missing and what was left out because of them;
    /// for a comparison, how many cells some runs lack.
    pub notes: Vec<String>,
    /// The warnings the document shows, merged by cause.
    pub warnings: results::Warnings,
}

/// What every chart of one report shares: the folder, the files drawn so
/// far, a style per policy and the machine label in the corner.
struct Charts<'a> {
    d: &'a Loaded,
    figs: FigureSet,
    styles: Styles,
    /// `label · date`, in every chart's corner.
    corner: &'a str,
}

impl Charts<'_> {
    /// The series of a bar chart with engines along x: one per policy in
    /// `policies`, a bar per engine in `engines` where `rows` has that
    /// cell and `value` gives a finite figure for it.
    fn by_policy<R: EnginePolicy>(
        &mut self,
        rows: &[&R],
        engines: &[String],
        policies: &[String],
        value: impl Fn(&R) -> Option<f64>,
    ) -> Vec<BarSeries> {
        policies
            .iter()
            .map(|p| BarSeries {
                name: p.clone(),
                intervals: Vec::new(),
                style: self.styles.of(p),
                values: engines
                    .iter()
                    .map(|e| {
                        rows.iter()
                            .find(|r| r.engine() == e && r.policy() == p)
                            .and_then(|r| value(r))
                            .filter(|v| v.is_finite())
                    })
                    .collect(),
            })
            .collect()
    }
}

/// A row the report draws a bar of: one engine under one policy.
trait EnginePolicy {
    fn engine(&self) -> &str;
    fn policy(&self) -> &str;
}

impl EnginePolicy for RunRow {
    fn engine(&self) -> &str {
        &self.engine
    }
    fn policy(&self) -> &str {
        &self.policy
    }
}

impl EnginePolicy for CrashRow {
    fn engine(&self) -> &str {
        &self.engine
    }
    fn policy(&self) -> &str {
        &self.policy
    }
}

/// Draws every chart and writes `report.md` and `report.html` into `out`
/// (charts in `out/charts/`), reading only the saved files in `results_dir`
/// (a folder of one machine).
pub(crate) fn render(
    results_dir: &Path,
    out: &Path,
    opts: &ReportOptions,
) -> Result<ReportSummary, PlotError> {
    let d = load(results_dir)?;
    let formats = if opts.svg_only {
        Formats::SvgOnly
    } else {
        Formats::PngAndSvg
    };
    let corner = if d.folder.date.is_empty() {
        d.folder.label.clone()
    } else {
        format!("{} · {}", d.folder.label, d.folder.date)
    };
    let mut c = Charts {
        d: &d,
        figs: FigureSet::create(out, formats)?,
        styles: Styles::new(
            d.runs
                .iter()
                .map(|r| r.policy.as_str())
                .chain(d.crash.rows().iter().map(|r| r.policy.as_str())),
        ),
        corner: &corner,
    };
    let mut notes: Vec<String> = Vec::new();
    let files = &d.folder.files;
    let mut charts_md = groups::group_sections(&mut c, &mut notes)?;
    charts_md.push_str(&crate::timeline::section(
        files,
        &d.runs,
        &mut c.figs,
        &corner,
        &mut notes,
    )?);
    charts_md.push_str(&crate::capacity::section(
        files,
        &mut c.figs,
        &mut c.styles,
        &corner,
    )?);
    let mut crash_md = crash_charts::crash_section(&mut c, &mut notes)?;
    crash_md.push_str(&crate::recovery::section(files, &mut c.figs, &corner)?);
    let md = document::report_markdown(&d, &charts_md, &crash_md);
    let html = crate::html::to_html(
        &md,
        out,
        &format!("bench-runner report: {}", d.folder.label),
    );
    let markdown = out.join("report.md");
    let html_path = out.join("report.html");
    results::write_durably(&markdown, md.as_bytes())?;
    results::write_durably(&html_path, html.as_bytes())?;
    Ok(ReportSummary {
        charts: c.figs.files,
        markdown,
        html: html_path,
        answer: Vec::new(),
        notes,
        warnings: d.warnings.clone(),
    })
}
