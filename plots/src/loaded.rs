//! The saved results of one folder as the report reads them: the folder
//! ([`RunFolder`], shared with the comparison: label, date, environment,
//! probe), its finished cells in matrix order, the files only the report
//! reads or why they are missing, and the warnings they raise.

use std::path::Path;

use results::{CeilingRow, CrashRow, LatencyRow, ProbeRow, RunFolder, RunRow};

use crate::PlotError;

/// An optional input file: its rows, or why there are none.
pub(crate) enum Optional<T> {
    Rows(Vec<T>),
    Missing(String),
}

impl<T> Optional<T> {
    pub(crate) fn rows(&self) -> &[T] {
        match self {
            Optional::Rows(r) => r,
            Optional::Missing(_) => &[],
        }
    }

    /// `rows` read from `path`, or, when there are none, why (the file is
    /// missing or empty) and what the report leaves out (`missing`).
    fn of(path: &Path, rows: Vec<T>, missing: &str) -> Optional<T> {
        if !rows.is_empty() {
            return Optional::Rows(rows);
        }
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let state = if path.exists() {
            "has no rows"
        } else {
            "is missing"
        };
        Optional::Missing(format!("`{name}` {state}: {missing}"))
    }
}

fn optional_csv<T: serde::de::DeserializeOwned>(
    path: &Path,
    missing: &str,
) -> Result<Optional<T>, PlotError> {
    let rows: Vec<T> = if path.exists() {
        results::read_csv(path)?
    } else {
        Vec::new()
    };
    Ok(Optional::of(path, rows, missing))
}

pub(crate) struct Loaded {
    /// The folder: label, date, environment, failed cells.
    pub(crate) folder: RunFolder,
    /// The finished cells in matrix order ([`results::sort_in_matrix_order`]).
    pub(crate) runs: Vec<RunRow>,
    pub(crate) probe: Optional<ProbeRow>,
    /// `ceilings.csv` (empty without one).
    pub(crate) ceilings: Vec<CeilingRow>,
    pub(crate) latency: Optional<LatencyRow>,
    pub(crate) crash: Optional<CrashRow>,
    /// What the saved results give reason to doubt.
    pub(crate) warnings: results::Warnings,
}

pub(crate) fn load(dir: &Path) -> Result<Loaded, PlotError> {
    let folder = RunFolder::load(dir)?;
    let rd = &folder.files;
    let mut runs: Vec<RunRow> = folder.runs.clone();
    results::sort_in_matrix_order(&mut runs, |r| results::CellKey::from(r));
    let probe = Optional::of(
        &rd.probe(),
        folder.probe.clone(),
        "no device ceilings and no efficiency chart",
    );
    let ceilings = folder.ceilings()?;
    let latency: Optional<LatencyRow> =
        optional_csv(&rd.latency(), "latency spectra come from `hgrm/` alone")?;
    let crash: Optional<CrashRow> = optional_csv(
        &rd.crash(),
        "run `bench-runner crash --out <this folder>` to add the crash-verification table",
    )?;
    if runs.is_empty()
        && crash.rows().is_empty()
        && probe.rows().is_empty()
        && !rd.recovery().exists()
    {
        return Err(PlotError::NoResults {
            path: dir.to_path_buf(),
            reason: "no runs.csv, probe.csv, crash.csv or recovery.csv with results in it".into(),
        });
    }
    let warnings =
        results::Warnings::of_results(folder.environment(), probe.rows(), &runs, &ceilings);
    Ok(Loaded {
        folder,
        runs,
        probe,
        ceilings,
        latency,
        crash,
        warnings,
    })
}
