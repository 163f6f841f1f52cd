//! `plot` and `compare`: drawn by the `plots` crate from saved results,
//! folders or runs of a results store written back as folders.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use results::store::Selection;

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

/// Writes the one run `sel` picks from `store` into `out` (a new or empty
/// folder; default: a new `./bench-results/<label>-plot-<time>`) and
/// draws its charts and report there.
pub fn plot_stored(
    store: &Path,
    sel: &Selection,
    out: Option<&Path>,
    cell: Option<&str>,
) -> Result<(PathBuf, results::Warnings)> {
    let (label, write) = crate::output::store::one_run(store, sel)?;
    if let Some(out) = out {
        if std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
            bail!(
                "--out {} is not empty: the stored run is written into it, and its files would mix with the folder's; choose a new or empty folder",
                out.display()
            );
        }
    }
    let dir = crate::output::folder::results_dir(out, &label, "plot")?;
    write(dir.root())?;
    drop_empty_histograms(dir.root())?;
    plot(dir.root(), None, cell)
}

/// Removes the `hgrm/` and `hist/` that making a results folder creates
/// when nothing was written into them (remove_dir leaves a non-empty one).
fn drop_empty_histograms(root: &Path) -> Result<()> {
    for sub in ["hgrm", "hist"] {
        let dir = root.join(sub);
        if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_none()) {
            std::fs::remove_dir(&dir).with_context(|| format!("remove {}", dir.display()))?;
        }
    }
    Ok(())
}

/// Prints warnings on stderr, one line per cause.
pub fn print_warnings(warnings: &results::Warnings) {
    for w in warnings {
        eprintln!("bench-runner: warning: {w}");
    }
}

/// Compares result folders, then the runs `from_store` picks (written
/// back as folders in a temporary folder), into `out` (`--out`, checked
/// with `--force` as `run` checks it; default: a new folder), named by
/// `label` (`--label`); returns the folder. Says the answer first on
/// stderr (how each run differs from the baseline), then the warnings
/// merged by cause, then how many cells some runs lack (`compare.md`
/// lists them).
pub fn compare(
    dirs: &[PathBuf],
    from_store: Option<(&Path, Selection)>,
    out: Option<&Path>,
    force: bool,
    label: Option<&str>,
) -> Result<PathBuf> {
    let mut dirs = dirs.to_vec();
    // Holds the store's runs until the comparison is drawn.
    let mut _scratch = None;
    if let Some((store, sel)) = from_store {
        let tmp = tempfile::Builder::new()
            .prefix("bench-runner-store-")
            .tempdir()
            .context("make a temporary folder for the store's runs")?;
        for (name, dir) in crate::output::store::materialize_all(store, &sel, tmp.path())? {
            if dir.join("runs.csv").exists() {
                dirs.push(dir);
            } else {
                eprintln!("note: run {name} of {} is left out: it has no runs.csv (probe, crash or recovery results alone)", store.display());
            }
        }
        _scratch = Some(tmp);
    }
    let dirs = &dirs[..];
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
    // A comparison writes no histograms.
    drop_empty_histograms(out.root())?;
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
