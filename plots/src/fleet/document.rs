//! The fleet's `report.md` and `report.html`: the answer first (the
//! fleet's figures per cell), the warnings of every machine merged by
//! cause, then the machines side by side, the charts, the machines and
//! what differs between them, their ceilings, the merge's notes and
//! command.

use std::fmt::Write as _;
use std::path::Path;

use results::fleet::{FleetRow, MachineRow};

use super::{machines, spectra, Fleet};
use crate::figures::FigureSet;
use crate::{PlotError, ReportSummary};

/// Draws the charts in document order and writes the documents.
pub(super) fn render(
    mut f: Fleet,
    out: &Path,
    figs: &mut FigureSet,
    corner: &str,
) -> Result<ReportSummary, PlotError> {
    let labels: Vec<String> = f.cmp.runs.iter().map(|r| r.label.clone()).collect();
    if let Some(cell) = &f.cell {
        machines::draw(&f.cmp, cell, corner, figs)?;
    }
    let side_by_side = figs.figures.len();
    crate::compare::draw_groups(&f.cmp, &labels, corner, ("machines", "machine"), figs)?;
    if spectra::draw(f.folder, &f.percentiles, corner, figs)? == 0 {
        f.notes.push(
            "no merged histograms (`hgrm/` of fleet.csv's cells), so no fleet latency spectra"
                .into(),
        );
    }
    f.notes.push(format!(
        "timelines, the crash table, capacity and recovery are each machine's own: `bench-runner plot {}/machines/<name>` draws that machine's report",
        f.folder.dir().display()
    ));
    let md = markdown(&f, &labels, figs, side_by_side)?;
    let html = crate::html::to_html(
        &md,
        out,
        &format!("bench-runner fleet report: {}", f.folder.label),
    );
    let markdown = out.join("report.md");
    let html_path = out.join("report.html");
    results::write_durably(&markdown, md.as_bytes())?;
    results::write_durably(&html_path, html.as_bytes())?;
    Ok(ReportSummary {
        charts: std::mem::take(&mut figs.files),
        markdown,
        html: html_path,
        answer: Vec::new(),
        notes: f.notes,
        warnings: f.warnings,
    })
}

/// The document.
fn markdown(
    f: &Fleet,
    labels: &[String],
    figs: &FigureSet,
    side_by_side: usize,
) -> Result<String, PlotError> {
    let mut m = String::new();
    lead_md(&mut m, f, labels);
    let _ = writeln!(m, "## Headline: the fleet\n");
    let _ = writeln!(m, "Each cell over the machines that ran it: the throughput of the median machine with the lowest and highest beside it, and the latency percentiles of every machine's operations together.\n");
    let ops = |r: &FleetRow| -> Vec<f64> {
        let key = results::CellKey {
            engine: r.engine.clone(),
            policy: r.policy.clone(),
            workload: r.workload.clone(),
            threads: r.threads,
            value_size_bytes: r.value_size_bytes,
        };
        f.cmp
            .runs
            .iter()
            .filter_map(|run| run.cells.get(&key).map(|c| c.ops_per_sec))
            .collect()
    };
    spectra::table_md(&mut m, &f.percentiles, &ops);
    crate::tables::warnings_md(&mut m, &f.warnings);
    let _ = writeln!(m, "{}\n", crate::html::CONTENTS);

    let _ = writeln!(m, "## Machines side by side\n");
    match &f.cell {
        Some(cell) => {
            let _ = writeln!(m, "One cell, {}, on every machine (`--cell` picks another), then how each machine differs from the first ({}) over the cells both ran.\n", machines::cell_words(cell), labels.first().map_or("", String::as_str));
        }
        None => {
            let _ = writeln!(m, "No cell to show side by side.\n");
        }
    }
    m.push_str(&figs.markdown_between(0, side_by_side, "###"));
    crate::compare::differences_md(&mut m, &f.cmp, "machine");

    let _ = writeln!(m, "## Charts\n");
    m.push_str(&figs.markdown_since(side_by_side, "###"));
    if !f.notes.is_empty() {
        for n in &f.notes {
            let _ = writeln!(m, "- {n}");
        }
        let _ = writeln!(m);
    }
    machines_md(&mut m, f)?;
    crate::compare::env_diff_md(&mut m, &f.cmp, labels);
    crate::compare::probes_md(&mut m, &f.cmp, labels);
    notes_md(&mut m, f);
    command_md(&mut m, f);
    Ok(m)
}

/// The title, and a line naming the machines and the warnings' causes.
fn lead_md(m: &mut String, f: &Fleet, labels: &[String]) {
    let _ = writeln!(m, "# bench-runner fleet report: {}\n", f.folder.label);
    let mut lead = format!(
        "A fleet of {} machines: {}.",
        labels.len(),
        labels.join(", ")
    );
    if !f.folder.date.is_empty() {
        let _ = write!(lead, " Merged on {}.", f.folder.date);
    }
    if !f.warnings.is_empty() {
        let titles: Vec<String> = f
            .warnings
            .iter()
            .map(|w| format!("*{}*", w.title()))
            .collect();
        let _ = write!(
            lead,
            " {} Warnings below the headline: {}.",
            crate::cells::FLAG,
            titles.join("; ")
        );
    }
    let _ = writeln!(m, "{lead}\n");
}

/// The machines: their folders in the fleet, where they came from, their
/// host, cells and histograms.
fn machines_md(m: &mut String, f: &Fleet) -> Result<(), PlotError> {
    let _ = writeln!(m, "## Machines\n");
    let list = f.folder.files.machines();
    if !list.is_file() {
        let _ = writeln!(m, "This folder's rows come from several machines but it has no `machines.csv` (it was not made by `bench-runner merge`): their environments, ceilings and histograms are not known here.\n");
        return Ok(());
    }
    let rows: Vec<MachineRow> = results::read_csv(&list)?;
    let _ = writeln!(
        m,
        "Each machine's whole results folder is in the fleet folder; `bench-runner plot` on it draws that machine's own report.\n\n| machine | folder | merged from | host | cells | serialized histograms |\n|---|---|---|---|---:|---:|"
    );
    for r in &rows {
        let _ = writeln!(
            m,
            "| {} | `{}` | `{}` | {} | {} | {} |",
            r.name, r.folder, r.source, r.host, r.cells, r.hist_files
        );
    }
    let _ = writeln!(m);
    Ok(())
}

/// What the merge could not do: the cells whose percentiles were not
/// merged, counted, with `notes.md` for the list.
fn notes_md(m: &mut String, f: &Fleet) {
    let unmerged: Vec<&FleetRow> = f
        .percentiles
        .iter()
        .filter(|r| !r.not_merged.is_empty())
        .collect();
    if unmerged.is_empty() {
        return;
    }
    let _ = writeln!(m, "## Percentiles not merged\n");
    let _ = writeln!(
        m,
        "{} cells and operations have no fleet percentiles: some machine that ran them has no serialized histogram of them (`hist/*.hdr`, written from results format 3 on), and percentiles are never averaged. `notes.md` lists them.\n",
        unmerged.len()
    );
}

/// The merge's command.
fn command_md(m: &mut String, f: &Fleet) {
    let _ = writeln!(m, "## Command\n");
    match f.folder.environment() {
        Some(e) if !e.command.is_empty() => {
            let _ = writeln!(
                m,
                "The command that made this folder:\n\n```\n{}\n```\n",
                e.command
            );
        }
        _ => {
            let _ = writeln!(m, "Not recorded.\n");
        }
    }
}
