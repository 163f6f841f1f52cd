//! `plot` and `compare`: drawn by the `plots` crate from saved results.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Draws charts and the report of `results` into `out` (default: `results`);
/// returns the folder and the report's warnings.
pub fn plot(results: &Path, out: Option<&Path>) -> Result<(PathBuf, results::Warnings)> {
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
    Ok((out.to_path_buf(), summary.warnings))
}

/// Prints warnings on stderr, one line per cause.
pub fn print_warnings(warnings: &results::Warnings) {
    for w in warnings {
        eprintln!("bench-runner: warning: {w}");
    }
}

/// Compares result folders into `out` (default: a new folder), named by
/// `label` (`--label`); returns the folder.
pub fn compare(dirs: &[PathBuf], out: Option<&Path>, label: Option<&str>) -> Result<PathBuf> {
    for d in dirs {
        if !d.join("runs.csv").exists() {
            anyhow::bail!("{} is not a results folder (no runs.csv)", d.display());
        }
        // A folder this binary cannot read is refused before the
        // comparison's own folder is made.
        results::ResultsDir::open(d)?;
    }
    let host = results::Environment::capture(None).host;
    let out = crate::output::folder::results_dir(out, &host, "compare")?;
    // A comparison writes no histograms: drop the empty `hgrm/` that
    // creating a results folder makes (remove_dir leaves a non-empty one).
    let hgrm = out.root().join("hgrm");
    if std::fs::read_dir(&hgrm).is_ok_and(|mut d| d.next().is_none()) {
        std::fs::remove_dir(&hgrm).with_context(|| format!("remove {}", hgrm.display()))?;
    }
    let opts = plots::CompareOptions {
        label: label.map(str::to_string),
    };
    let summary = plots::render_compare(dirs, out.root(), &opts).context("compare results")?;
    print_warnings(&summary.warnings);
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
