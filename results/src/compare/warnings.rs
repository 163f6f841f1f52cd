//! What makes the runs of a comparison incomparable, or any one of them
//! untrustworthy: the same folder twice, each run's own warnings (a disk
//! whose syncs are not durable, cells that saw no device flush, the
//! probe's doubts), a missing `environment.json`, different tool versions
//! or workload seeds.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::ComparedRun;
use crate::warnings::{SameFolder, Seeds, Warning, Warnings};
use crate::{CellKey, RunRow};

/// Every warning of the comparison of `runs` over the cells `all`.
pub(super) fn comparison_warnings(runs: &[ComparedRun], all: &[CellKey]) -> Warnings {
    let mut warnings = same_folders(runs);
    for r in runs {
        warnings.extend(own_warnings(r).in_run(&r.label));
    }
    warnings.extend(no_environment(runs));
    warnings.extend(tool_versions(runs));
    warnings.extend(seeds_differ(runs, all));
    warnings
}

/// Pairs of runs that are one folder (after resolving links and `..`);
/// the machines of a folder with rows of several labels are not.
fn same_folders(runs: &[ComparedRun]) -> Warnings {
    let mut warnings = Warnings::new();
    let canonical: Vec<PathBuf> = runs
        .iter()
        .map(|r| std::fs::canonicalize(r.folder.dir()).unwrap_or_else(|_| r.folder.dir().into()))
        .collect();
    for (i, a) in canonical.iter().enumerate() {
        for (j, b) in canonical.iter().enumerate().skip(i + 1) {
            if a == b && runs[i].folder.label == runs[j].folder.label {
                warnings.push(Warning::SameFolder {
                    pairs: vec![SameFolder {
                        first: runs[i].label.clone(),
                        second: runs[j].label.clone(),
                        path: a.clone(),
                    }],
                });
            }
        }
    }
    warnings
}

/// One run's own doubts: its disk, its cells without a device flush, its
/// probe.
fn own_warnings(r: &ComparedRun) -> Warnings {
    let mut own = r
        .folder
        .environment()
        .map(Warnings::of_disk)
        .unwrap_or_default();
    let cells: Vec<RunRow> = r.cells.values().cloned().collect();
    own.extend(
        Warnings::of_cells(&cells)
            .into_iter()
            .filter(|w| matches!(w, Warning::NoDeviceFlush { .. })),
    );
    own.extend(Warnings::of_probe(&r.folder.probe));
    own
}

/// The runs without a readable `environment.json`, in one warning.
fn no_environment(runs: &[ComparedRun]) -> Option<Warning> {
    let no_env: Vec<String> = runs
        .iter()
        .filter(|r| r.folder.environment().is_none())
        .map(|r| r.label.clone())
        .collect();
    (!no_env.is_empty()).then_some(Warning::NoEnvironment { runs: no_env })
}

/// Every run's tool version (and commit), when they are not all the same.
fn tool_versions(runs: &[ComparedRun]) -> Option<Warning> {
    let versions: Vec<String> = runs
        .iter()
        .map(|r| {
            r.folder.environment().map_or_else(
                || "unknown".to_string(),
                |e| match &e.git_commit {
                    Some(c) => format!("{} ({c})", e.tool_version),
                    None => e.tool_version.clone(),
                },
            )
        })
        .collect();
    versions
        .iter()
        .any(|v| Some(v) != versions.first())
        .then(|| Warning::ToolVersions {
            by_run: runs.iter().map(|r| r.label.clone()).zip(versions).collect(),
        })
}

/// One entry for every workload whose seeds differ, not one per cell.
fn seeds_differ(runs: &[ComparedRun], all: &[CellKey]) -> Warnings {
    let mut seeds: BTreeMap<&str, Vec<(String, u64)>> = BTreeMap::new();
    for k in all {
        for r in runs {
            if let Some(c) = r.cells.get(k) {
                let e = seeds.entry(k.workload.as_str()).or_default();
                if !e.contains(&(r.label.clone(), c.seed)) {
                    e.push((r.label.clone(), c.seed));
                }
            }
        }
    }
    seeds
        .into_iter()
        .filter(|(_, s)| s.iter().any(|(_, x)| *x != s[0].1))
        .map(|(workload, s)| Warning::SeedsDiffer {
            workloads: vec![Seeds {
                workload: workload.to_string(),
                by_run: s,
            }],
        })
        .collect()
}
