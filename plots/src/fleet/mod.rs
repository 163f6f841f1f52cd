//! The report of a folder holding several machines' rows (a fleet folder
//! of `bench-runner merge`): the fleet's percentiles per cell (every
//! machine's operations together, from the merged histograms), one cell
//! on every machine side by side with its intervals, how each machine
//! differs from the first, the charts of every cell by machine, the
//! machines' environments and ceilings side by side.
//!
//! The report of one machine (timelines, crash table, capacity, recovery)
//! is drawn from its own folder, `machines/<name>/`, which holds all its
//! files.
//!
//! The steps have a file each: `cell.rs` picks the cell shown side by
//! side, `machines.rs` draws it, `spectra.rs` the fleet's percentiles
//! (table and spectra), `document.rs` writes the Markdown around them.

mod cell;
mod document;
mod machines;
mod spectra;

use std::path::Path;

use results::compare::Comparison;
use results::fleet::FleetRow;
use results::{CellKey, RunFolder, Warnings};

use crate::chart::Formats;
use crate::figures::FigureSet;
use crate::{PlotError, ReportOptions, ReportSummary};

/// What the fleet's document is made of.
struct Fleet<'a> {
    folder: &'a RunFolder,
    cmp: Comparison,
    /// `fleet.csv`, or rows without percentiles for a folder without one.
    percentiles: Vec<FleetRow>,
    /// The cell shown side by side.
    cell: Option<CellKey>,
    /// The warnings of every machine, merged by cause, and of the fleet.
    warnings: Warnings,
    /// What the document leaves out, and why.
    notes: Vec<String>,
}

/// The fleet's percentiles: `fleet.csv`, else (a folder whose rows were
/// joined by hand) a row per cell without any.
fn percentiles(folder: &RunFolder, cmp: &Comparison) -> Result<Vec<FleetRow>, PlotError> {
    let path = folder.files.fleet();
    if path.is_file() {
        return Ok(results::read_csv(&path)?);
    }
    let mut cells: Vec<CellKey> = Vec::new();
    for k in cmp.runs.iter().flat_map(|r| r.order.iter()) {
        if !cells.contains(k) {
            cells.push(k.clone());
        }
    }
    results::sort_in_matrix_order(&mut cells, CellKey::clone);
    Ok(cells
        .into_iter()
        .map(|k| FleetRow {
            machines: cmp.runs.iter().filter(|r| r.cells.contains_key(&k)).count(),
            engine: k.engine,
            policy: k.policy,
            workload: k.workload,
            threads: k.threads,
            value_size_bytes: k.value_size_bytes,
            operation: "all".into(),
            not_merged: "no fleet.csv".into(),
            ..FleetRow::default()
        })
        .collect())
}

/// Every machine's own warnings (as its report shows them) named by
/// machine and merged by cause, then the comparison's (tool versions,
/// seeds, missing environments).
fn warnings(cmp: &Comparison) -> Result<Warnings, PlotError> {
    let mut w = Warnings::new();
    for r in &cmp.runs {
        let f = &r.folder;
        // A machine of a folder joined by hand shares its ceilings.csv.
        let ceilings: Vec<results::CeilingRow> = f
            .ceilings()?
            .into_iter()
            .filter(|c| c.label == f.label)
            .collect();
        let own =
            Warnings::of_results(f.environment(), &f.probe, &f.runs, &ceilings).in_run(&r.label);
        w.extend(own);
    }
    w.extend(
        cmp.warnings
            .iter()
            .filter(|x| !matches!(x, results::Warning::InRun { .. }))
            .cloned(),
    );
    Ok(w)
}

/// Draws the fleet's charts and writes `report.md` and `report.html` for
/// `folder` into `out`.
pub(crate) fn render(
    folder: &RunFolder,
    out: &Path,
    opts: &ReportOptions,
) -> Result<ReportSummary, PlotError> {
    let runs = results::compare::load_runs(&[folder.dir().to_path_buf()])?;
    let cmp = results::compare::compare_runs(runs)?;
    let cell = cell::pick(&cmp, opts.cell.as_deref(), folder.dir())?;
    let f = Fleet {
        folder,
        percentiles: percentiles(folder, &cmp)?,
        cell,
        warnings: warnings(&cmp)?,
        notes: Vec::new(),
        cmp,
    };
    let formats = if opts.svg_only {
        Formats::SvgOnly
    } else {
        Formats::PngAndSvg
    };
    let mut figs = FigureSet::create(out, formats)?;
    let corner = if folder.date.is_empty() {
        folder.label.clone()
    } else {
        format!("{} · {}", folder.label, folder.date)
    };
    document::render(f, out, &mut figs, &corner)
}
