//! `plot` and `compare`: drawn by the `plots` crate from saved results,
//! folders or runs of a results store written back as folders.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use results::store::Selection;

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

/// Writes the one run `sel` picks from `store` into `out` (a new or empty
/// folder; default: a new `./bench-results/<label>-plot-<time>`) and
/// draws its charts and report there.
pub fn plot_stored(
    store: &Path,
    sel: &Selection,
    out: Option<&Path>,
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
    drop_empty_hgrm(dir.root())?;
    plot(dir.root(), None)
}

/// Removes the `hgrm/` that making a results folder creates when nothing
/// was written into it (remove_dir leaves a non-empty one).
fn drop_empty_hgrm(root: &Path) -> Result<()> {
    let hgrm = root.join("hgrm");
    if std::fs::read_dir(&hgrm).is_ok_and(|mut d| d.next().is_none()) {
        std::fs::remove_dir(&hgrm).with_context(|| format!("remove {}", hgrm.display()))?;
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
/// back as folders in a temporary folder), into `out` (default: a new
/// folder), named by `label` (`--label`); returns the folder.
pub fn compare(
    dirs: &[PathBuf],
    from_store: Option<(&Path, Selection)>,
    out: Option<&Path>,
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
    if dirs.len() < 2 {
        bail!(
            "compare needs two or more runs, and {} given: name two or more results folders, or runs of a --store",
            match dirs.len() {
                0 => "none was".to_string(),
                n => format!("{n} was"),
            }
        );
    }
    for d in &dirs {
        if !d.join("runs.csv").exists() {
            anyhow::bail!("{} is not a results folder (no runs.csv)", d.display());
        }
        // A folder this binary cannot read is refused before the
        // comparison's own folder is made.
        results::ResultsDir::open(d)?;
    }
    let host = results::Environment::capture(None).host;
    let out = crate::output::folder::results_dir(out, &host, "compare")?;
    // A comparison writes no histograms.
    drop_empty_hgrm(out.root())?;
    let opts = plots::CompareOptions {
        label: label.map(str::to_string),
    };
    let summary = plots::render_compare(&dirs, out.root(), &opts).context("compare results")?;
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
