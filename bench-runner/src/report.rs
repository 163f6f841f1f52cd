//! `plot` and `compare`: drawn by the `plots` crate from saved results.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Draws charts and the report of `results` into `out` (default: `results`).
pub fn plot(results: &Path, out: Option<&Path>) -> Result<PathBuf> {
    let out = out.unwrap_or(results);
    let summary = plots::render_report(results, out, &plots::ReportOptions::default())
        .with_context(|| format!("draw the report of {}", results.display()))?;
    for n in &summary.notes {
        eprintln!("note: {n}");
    }
    eprintln!(
        "{} charts, {}, {}",
        summary.charts.len() / 2,
        summary.markdown.display(),
        summary.html.display()
    );
    Ok(out.to_path_buf())
}

/// Compares result folders into `out` (default: a new folder); returns it.
pub fn compare(dirs: &[PathBuf], out: Option<&Path>) -> Result<PathBuf> {
    for d in dirs {
        if !d.join("runs.csv").exists() {
            anyhow::bail!("{} is not a results folder (no runs.csv)", d.display());
        }
    }
    let host = results::Environment::capture(None).host;
    let out = crate::output::results_dir(out, &host, "compare")?;
    let summary = plots::render_compare(dirs, out.root()).context("compare results")?;
    for n in &summary.notes {
        eprintln!("missing: {n}");
    }
    eprintln!(
        "{} charts, {}, {}",
        summary.charts.len() / 2,
        summary.markdown.display(),
        summary.html.display()
    );
    Ok(out.root().to_path_buf())
}
