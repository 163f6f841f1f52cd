//! Fleet folders: one results folder holding the results of many
//! machines, made by `bench-runner merge` ([`merge`]).
//!
//! ## Layout
//!
//! | file | content |
//! |---|---|
//! | `environment.json` | the merge's own: format version, the fleet's label, the command, the tool |
//! | `machines.csv` | [`MachineRow`]: each machine, its folder in `machines/`, where it came from |
//! | `machines/<name>/` | each machine's results folder, whole (its `environment.json`, every CSV, `hgrm/`, `hist/`), its label renamed to its name in the fleet |
//! | `runs.csv`, `latency.csv`, `probe.csv`, ... | every machine's rows, `label` = the machine's name |
//! | `fleet.csv` | [`FleetRow`]: per cell and operation, the percentiles of every machine's operations together |
//! | `hist/`, `hgrm/` | the merged histograms those percentiles come from |
//! | `notes.md` | what was merged from where, and what could not be |
//!
//! A machine's name is its label, told apart from the others' by the rule
//! of [`crate::names`]. Readers take a fleet folder apart again with
//! [`machines`]: `compare` sets its machines side by side, the report of
//! the folder draws them.
//!
//! The jobs have a file each: `sources.rs` checks and names what is
//! merged, `copy.rs` copies a machine's folder with its label renamed,
//! `percentiles.rs` merges the histograms, `merge.rs` writes the folder.

mod copy;
mod merge;
mod percentiles;
mod sources;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{read_csv, Result, ResultsDir, RunFolder, RunRow};

pub use merge::{merge, MergeOptions, MergeSummary};
pub use percentiles::fleet_rows;
pub use sources::{sources, Source};

/// One machine of a fleet folder (`machines.csv`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MachineRow {
    /// The machine's name in the fleet: its label, told apart from the
    /// others' (the `label` of its rows in the fleet folder).
    pub name: String,
    /// Its results folder, relative to the fleet folder (`machines/<name>`).
    pub folder: String,
    /// The folder it was merged from, as given to `merge` (with
    /// `/machines/<name>` after a fleet folder merged again).
    pub source: String,
    /// Its own label, before any renaming.
    pub label: String,
    /// Its host name; empty without an `environment.json`.
    pub host: String,
    /// Its run identifier.
    pub run_id: String,
    /// Its results format version.
    pub format_version: u64,
    /// Its finished cells.
    pub cells: usize,
    /// Its serialized histograms (`hist/*.hdr`); 0 for a folder written
    /// before format 3, whose percentiles cannot be merged.
    pub hist_files: usize,
}

/// The percentiles of one cell and operation over every machine of a
/// fleet (`fleet.csv`): from the machines' histograms merged, never from
/// their percentiles averaged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FleetRow {
    /// Engine.
    pub engine: String,
    /// Policy.
    pub policy: String,
    /// Workload.
    pub workload: String,
    /// Threads.
    pub threads: u32,
    /// Value size.
    pub value_size_bytes: u64,
    /// `all`, an operation (`read`, `update`, ...) or `sync`.
    pub operation: String,
    /// Machines that ran the cell.
    pub machines: usize,
    /// Machines whose histogram of this operation was merged.
    pub merged: usize,
    /// Operations in the merged histogram; empty when not merged.
    pub count: Option<u64>,
    /// Median latency of every machine's operations together; empty when
    /// not merged.
    pub p50_us: Option<f64>,
    /// 90th percentile.
    pub p90_us: Option<f64>,
    /// 99th percentile.
    pub p99_us: Option<f64>,
    /// 99.9th percentile; empty when fewer than 5 operations lie above it.
    pub p999_us: Option<f64>,
    /// 99.99th percentile; empty when fewer than 5 operations lie above it.
    pub p9999_us: Option<f64>,
    /// Largest latency.
    pub max_us: Option<f64>,
    /// Mean latency.
    pub mean_us: Option<f64>,
    /// Machines with the cell but no serialized histogram of it (folders
    /// written before format 3): why the percentiles are empty, `;`-joined.
    pub not_merged: String,
}

impl ResultsDir {
    /// `machines.csv`: the machines of a fleet folder.
    pub fn machines(&self) -> PathBuf {
        self.root().join("machines.csv")
    }
    /// `fleet.csv`: fleet-wide percentiles.
    pub fn fleet(&self) -> PathBuf {
        self.root().join("fleet.csv")
    }
    /// `notes.md`: what a merge did and could not do.
    pub fn notes(&self) -> PathBuf {
        self.root().join("notes.md")
    }
}

/// The labels of `rows`, each once, in order of appearance.
pub fn labels(rows: &[RunRow]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        if !out.contains(&r.label) {
            out.push(r.label.clone());
        }
    }
    out
}

/// The machines of `folder`, each as a folder of its own: a fleet folder's
/// `machines/*` (in `machines.csv` order); the rows of each label of a
/// folder with several labels and no `machines.csv` (concatenated by hand:
/// no environment); else the folder itself.
pub fn machines(folder: &RunFolder) -> Result<Vec<RunFolder>> {
    let list = folder.files.machines();
    if list.exists() {
        let rows: Vec<MachineRow> = read_csv(&list)?;
        return rows
            .iter()
            .map(|m| {
                let mut f = RunFolder::load(&folder.dir().join(&m.folder))?;
                f.label.clone_from(&m.name);
                Ok(f)
            })
            .collect();
    }
    let labels = labels(&folder.runs);
    if labels.len() < 2 {
        return Ok(vec![folder.clone()]);
    }
    Ok(labels.iter().map(|l| of_label(folder, l)).collect())
}

/// The rows of one label of a folder that holds several.
fn of_label(folder: &RunFolder, label: &str) -> RunFolder {
    let mut f = folder.clone();
    f.runs.retain(|r| r.label == label);
    f.not_ok.retain(|r| r.label == label);
    f.probe.retain(|r| r.label == label);
    f.env = Err(format!(
        "`{label}` is one of several labels in {} without `machines.csv`: its environment is not recorded",
        folder.dir().display()
    ));
    f.label = label.to_string();
    f
}

/// Whether `dir` is a fleet folder (it has a `machines.csv`).
pub fn is_fleet(dir: &Path) -> bool {
    dir.join("machines.csv").is_file()
}

#[cfg(test)]
mod tests;
