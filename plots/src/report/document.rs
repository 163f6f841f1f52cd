//! `report.md`: the report leads with the answer (the headline), then what
//! to doubt (one box of warnings), then the charts and the crash table;
//! every cell, the environment, the probe and the command follow as
//! reference.

use std::fmt::Write as _;

use crate::loaded::{Loaded, Optional};

/// The whole document, around the charts' and the crash section's
/// Markdown.
pub(super) fn report_markdown(d: &Loaded, charts_md: &str, crash_md: &str) -> String {
    let mut m = String::new();
    lead_md(&mut m, d);
    // A folder of crash, recovery or probe results alone has no headline.
    if !d.runs.is_empty() {
        let _ = writeln!(m, "## Headline: what each sync policy costs\n");
        crate::headline::headline_md(&mut m, &d.runs);
    }
    crate::tables::warnings_md(&mut m, &d.warnings);
    let _ = writeln!(m, "{}\n", crate::html::CONTENTS);

    if !d.runs.is_empty() {
        let _ = writeln!(m, "## Charts\n");
        m.push_str(charts_md);
    }
    let _ = writeln!(m, "## Crash verification\n");
    m.push_str(crash_md);

    cells_md(&mut m, d);
    environment_md(&mut m, d);
    probe_md(&mut m, d);
    command_md(&mut m, d);
    m
}

/// The title, and a line naming the run and the warnings' causes: the
/// box comes after the answer, its causes are named before it.
fn lead_md(m: &mut String, d: &Loaded) {
    let label = &d.folder.label;
    let _ = writeln!(m, "# bench-runner report: {label}\n");
    let mut lead: Vec<String> = Vec::new();
    if !d.folder.date.is_empty() {
        lead.push(format!("Run of {} on **{label}**.", d.folder.date));
    }
    if !d.warnings.is_empty() {
        let titles: Vec<String> = d
            .warnings
            .iter()
            .map(|w| format!("*{}*", w.title()))
            .collect();
        lead.push(format!(
            "{} Warnings below the headline: {}.",
            crate::cells::FLAG,
            titles.join("; ")
        ));
    }
    if !lead.is_empty() {
        let _ = writeln!(m, "{}\n", lead.join(" "));
    }
}

/// Every finished cell's figures, then the cells that failed or were
/// skipped.
fn cells_md(m: &mut String, d: &Loaded) {
    if !d.runs.is_empty() {
        let _ = writeln!(m, "## All cells\n");
        crate::tables::cells_md(m, &d.runs);
    }
    if !d.folder.not_ok.is_empty() {
        let _ = writeln!(m, "### Failed or skipped cells\n");
        for r in &d.folder.not_ok {
            let _ = writeln!(
                m,
                "- {} {} {} t{}: {} ({})",
                r.engine, r.policy, r.workload, r.threads, r.status, r.error
            );
        }
        let _ = writeln!(m);
    }
}

/// The machine and disk, or why they are not recorded.
fn environment_md(m: &mut String, d: &Loaded) {
    let _ = writeln!(m, "## Environment\n");
    match &d.folder.env {
        Ok(e) => crate::tables::environment_md(m, e),
        Err(why) => {
            let _ = writeln!(m, "{why}: machine and disk are not recorded.");
        }
    }
    let _ = writeln!(m);
}

/// The probe's ceilings, or why there are none, and the ceilings measured
/// again over the run.
fn probe_md(m: &mut String, d: &Loaded) {
    let _ = writeln!(m, "## Device ceilings (probe)\n");
    match &d.probe {
        Optional::Missing(why) => {
            let _ = writeln!(m, "{why}.\n");
        }
        Optional::Rows(probe) => crate::tables::probe_md(m, probe),
    }
    crate::tables::ceilings_md(m, &d.ceilings);
}

/// The command that produced the run, when recorded.
fn command_md(m: &mut String, d: &Loaded) {
    let _ = writeln!(m, "## Command\n");
    match &d.folder.env {
        Ok(e) if !e.command.is_empty() => {
            let _ = writeln!(
                m,
                "The exact command that produced this run:\n\n```\n{}\n```\n",
                e.command
            );
        }
        _ => {
            let _ = writeln!(
                m,
                "Not recorded (`environment.json` is missing or has no command).\n"
            );
        }
    }
}
