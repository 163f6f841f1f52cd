//! `plot` and `compare`: drawn by the `plots` crate from saved results.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Draws charts and the report of `results` into `out` (default: `results`),
/// the machines-side-by-side chart of a folder of several machines for
/// `cell` (`--cell`); returns the folder and the report's warnings.
pub fn plot(
    results: &Path,
    out: Option<&Path>,
    cell: Option<&str>,
) -> Result<(PathBuf, results::Warnings)> {
    let out = out.unwrap_or(results);
    let opts = plots::ReportOptions {
        cell: cell.map(str::to_string),
        ..plots::ReportOptions::default()
    };
    let summary = plots::render_report(results, out, &opts)
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

/// Compares result folders into `out` (`--out`, checked with `--force` as
/// `run` checks it; default: a new folder), named by `label` (`--label`);
/// returns the folder. Says the answer first on stderr (how each run
/// differs from the baseline), then the warnings merged by cause, then
/// how many cells some runs lack (`compare.md` lists them).
pub fn compare(
    dirs: &[PathBuf],
    out: Option<&Path>,
    force: bool,
    label: Option<&str>,
) -> Result<PathBuf> {
    for d in dirs {
        if !d.join("runs.csv").exists() {
            anyhow::bail!("{} is not a results folder (no runs.csv)", d.display());
        }
        // A folder this binary cannot read is refused before the
        // comparison's own folder is made.
        results::ResultsDir::open(d)?;
    }
    if dirs.len() < 2 && !dirs.first().is_some_and(|d| results::fleet::is_fleet(d)) {
        anyhow::bail!(
            "compare needs two results folders, or one merged folder of several machines (`bench-runner merge`); {} is neither",
            dirs.first().map_or_else(String::new, |d| d.display().to_string())
        );
    }
    let out_dir = crate::cli::plan::check_out(out, force)?;
    crate::cli::plan::check_out_is_not_read(&out_dir, dirs)?;
    // Read before the folder is made (or an old one replaced): a folder
    // that cannot be compared leaves nothing behind.
    results::compare::compare(dirs).context("compare results")?;
    let host = results::Environment::capture(None).host;
    let out = crate::output::folder::fresh_results_dir(&out_dir, &host, "compare")?;
    // A comparison writes no histograms: drop the empty `hgrm/` and
    // `hist/` that creating a results folder makes (remove_dir leaves a
    // non-empty one).
    for sub in ["hgrm", "hist"] {
        let dir = out.root().join(sub);
        if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_none()) {
            std::fs::remove_dir(&dir).with_context(|| format!("remove {}", dir.display()))?;
        }
    }
    let opts = plots::CompareOptions {
        label: label.map(str::to_string),
    };
    let summary = plots::render_compare(dirs, out.root(), &opts).context("compare results")?;
    for line in &summary.answer {
        eprintln!("{line}");
    }
    print_warnings(&summary.warnings);
    for n in &summary.notes {
        eprintln!("note: {n}");
    }
    eprintln!(
        "{} charts, {}, {}",
        summary.charts.len() / 2,
        summary.markdown.display(),
        summary.html.display()
    );
    Ok(out.root().to_path_buf())
}
