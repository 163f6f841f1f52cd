//! Comparing result folders from different machines or disks: cells
//! matched by [`CellKey`] (engine, policy, workload, threads, value size),
//! figures side by side with ratios against the first folder (the
//! baseline).
//!
//! A difference counts as a change only when the two cells' intervals do
//! not overlap ([`NoiseInterval`]): the 95% confidence interval of the
//! median where the run recorded one, else min..max over repetitions.
//! Overlapping intervals are "within noise". A cell measured once has a
//! point for an interval, so any difference counts; `compare.csv` says
//! which interval was used.
//!
//! A fleet folder (`bench-runner merge`) is taken apart into its machines
//! ([`crate::fleet::machines`]), so each machine is a run of the
//! comparison; runs that share a label are named by [`crate::names`].
//!
//! The jobs are split by file: `row.rs` makes the rows of `compare.csv`,
//! `noise.rs` the intervals and the change verdicts, `summary.rs` what
//! differs from the baseline and what is missing, said first,
//! `warnings.rs` what makes the runs incomparable, `environment.rs` the
//! machine and disk fields that differ; this file loads the runs and
//! matches their cells.

mod environment;
mod noise;
mod row;
mod summary;
mod warnings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::warnings::Warnings;
use crate::{read_csv, sort_in_matrix_order, CellKey, Result, RunFolder, RunRow};

pub(crate) use noise::change;
pub use noise::{ops_interval, p99_interval, IntervalKind, NoiseInterval};
pub use row::CompareRow;
pub use summary::{Difference, Missing};

/// One run of a comparison.
#[derive(Debug, Clone)]
pub struct ComparedRun {
    /// The folder as read ([`RunFolder::load`]).
    pub folder: RunFolder,
    /// The run's name in this comparison: the folder's label, told apart
    /// from other runs' by their folders ([`crate::names`]).
    pub label: String,
    /// Its finished cells by identity.
    pub cells: BTreeMap<CellKey, RunRow>,
    /// Its cells in `runs.csv` order.
    pub order: Vec<CellKey>,
}

impl ComparedRun {
    /// The run of `folder`, named `label`.
    fn new(folder: RunFolder, label: String) -> ComparedRun {
        let mut order: Vec<CellKey> = Vec::new();
        for k in folder.runs.iter().map(CellKey::from) {
            if !order.contains(&k) {
                order.push(k);
            }
        }
        let cells = folder
            .runs
            .iter()
            .map(|r| (CellKey::from(r), r.clone()))
            .collect();
        ComparedRun {
            folder,
            label,
            cells,
            order,
        }
    }
}

/// The comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Runs, baseline first.
    pub runs: Vec<ComparedRun>,
    /// Rows for compare.csv (cells present in at least two runs).
    pub rows: Vec<CompareRow>,
    /// Cells missing from some runs, with the labels of the runs that have them.
    pub missing: Vec<(CellKey, Vec<String>)>,
    /// Warnings: the same folder twice, a disk whose syncs are not durable,
    /// different tool versions or workload seeds, each run's own.
    pub warnings: Warnings,
    /// Environment fields that differ: (field, value per run).
    pub env_diff: Vec<(String, Vec<String>)>,
    /// Cells of any run.
    pub cells: usize,
}

/// Reads a results folder for comparison. A comparison matches cells, so
/// a folder without `runs.csv` is refused, with the error reading it gives.
fn load(dir: &Path) -> Result<RunFolder> {
    let folder = RunFolder::load(dir)?;
    let runs = folder.files.runs();
    if !runs.exists() {
        read_csv::<RunRow>(&runs)?;
    }
    Ok(folder)
}

/// The runs of `dirs` (a fleet folder gives one per machine), each named
/// by the rule of [`crate::names`].
pub fn load_runs(dirs: &[PathBuf]) -> Result<Vec<ComparedRun>> {
    let mut folders: Vec<RunFolder> = Vec::new();
    for d in dirs {
        folders.extend(crate::fleet::machines(&load(d)?)?);
    }
    let named: Vec<(&str, &Path)> = folders
        .iter()
        .map(|f| (f.label.as_str(), f.dir()))
        .collect();
    let names = crate::names::distinct_names(&named);
    Ok(folders
        .into_iter()
        .zip(names)
        .map(|(f, n)| ComparedRun::new(f, n))
        .collect())
}

/// Every cell of any run: the baseline's in its matrix order, then the
/// others' extra cells, all sorted as a run's matrix
/// ([`sort_in_matrix_order`]).
fn all_cells(runs: &[ComparedRun]) -> Vec<CellKey> {
    let mut all: Vec<CellKey> = Vec::new();
    for k in runs.iter().flat_map(|r| r.order.iter()) {
        if !all.contains(k) {
            all.push(k.clone());
        }
    }
    sort_in_matrix_order(&mut all, CellKey::clone);
    all
}

/// The rows of `compare.csv` for the cells in at least two runs, and the
/// cells some run lacks with the labels of the runs that have them.
fn match_cells(
    runs: &[ComparedRun],
    all: &[CellKey],
) -> (Vec<CompareRow>, Vec<(CellKey, Vec<String>)>) {
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for k in all {
        let present: Vec<&ComparedRun> = runs.iter().filter(|r| r.cells.contains_key(k)).collect();
        if present.len() < runs.len() {
            missing.push((k.clone(), present.iter().map(|r| r.label.clone()).collect()));
        }
        if present.len() < 2 {
            continue;
        }
        let base = runs[0].cells.get(k);
        for (i, r) in runs.iter().enumerate() {
            if let Some(c) = r.cells.get(k) {
                rows.push(CompareRow::new(k, &r.label, c, base, i == 0));
            }
        }
    }
    (rows, missing)
}

/// Compares `dirs` (the first is the baseline; a fleet folder gives one
/// run per machine). Labels are made unique. Fewer than two runs is an
/// error.
pub fn compare(dirs: &[PathBuf]) -> Result<Comparison> {
    let runs = load_runs(dirs)?;
    if runs.len() < 2 {
        return Err(crate::Error::Invalid {
            path: dirs.first().cloned().unwrap_or_default(),
            reason: "a comparison needs two results folders, or a merged folder of two machines or more (`bench-runner merge`)".into(),
        });
    }
    compare_runs(runs)
}

/// Compares runs already loaded (the first is the baseline).
pub fn compare_runs(runs: Vec<ComparedRun>) -> Result<Comparison> {
    let all = all_cells(&runs);
    let (rows, missing) = match_cells(&runs, &all);
    let warnings = warnings::comparison_warnings(&runs, &all);
    let env_diff = environment::env_diff(&runs);
    Ok(Comparison {
        cells: all.len(),
        runs,
        rows,
        missing,
        warnings,
        env_diff,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::warnings::Warning;
    use crate::{write_csv, write_json, DiskInfo, Environment};

    fn row(label: &str, engine: &str, policy: &str, ops: f64, p99: f64, seed: u64) -> RunRow {
        RunRow {
            label: label.into(),
            engine: engine.into(),
            policy: policy.into(),
            workload: "fillrandom".into(),
            threads: 1,
            value_size_bytes: 100,
            seed,
            status: "ok".into(),
            ops_per_sec: ops,
            p99_us: p99,
            ..Default::default()
        }
    }

    fn env(label: &str, fs: &str, version: &str) -> Environment {
        Environment {
            label: label.into(),
            kernel: "6.1".into(),
            tool_version: version.into(),
            disk: Some(DiskInfo {
                filesystem: fs.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    fn folder(root: &Path, name: &str, rows: &[RunRow], env: Option<&Environment>) -> PathBuf {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        write_csv(&dir.join("runs.csv"), rows).unwrap();
        if let Some(e) = env {
            write_json(&dir.join("environment.json"), e).unwrap();
        }
        dir
    }

    /// The folder `name` of the run `label` on filesystem `fs` by tool
    /// `version`, a cell per `engine policy ops/s p99` in `cells`.
    fn run_folder(
        root: &Path,
        (name, label, fs, version): (&str, &str, &str, &str),
        cells: &str,
    ) -> PathBuf {
        let rows: Vec<RunRow> = cells
            .split(", ")
            .map(|c| {
                let v: Vec<&str> = c.split(' ').collect();
                let num = |i: usize| v[i].parse::<f64>().unwrap();
                row(label, v[0], v[1], num(2), num(3), 1)
            })
            .collect();
        folder(root, name, &rows, Some(&env(label, fs, version)))
    }

    #[test]
    fn ratios_missing_cells_seeds_versions_and_environment() {
        let t = tempfile::tempdir().unwrap();
        let a = run_folder(
            t.path(),
            ("a", "ssd", "ext4", "0.1.0"),
            "wal none 1000 10, wal always 100 200, lsm always 50 400",
        );
        let b = run_folder(
            t.path(),
            ("b", "hdd", "xfs", "0.2.0"),
            "wal none 500 20, wal always 10 4000, btree always 7 1",
        );
        let c = compare(&[a, b]).unwrap();
        assert_eq!(c.runs[0].label, "ssd");
        let find = |run: &str, policy: &str| {
            c.rows
                .iter()
                .find(|r| r.run == run && r.engine == "wal" && r.policy == policy)
                .unwrap()
        };
        assert_eq!(find("hdd", "none").ops_ratio, Some(0.5));
        assert_eq!(find("hdd", "always").ops_ratio, Some(0.1));
        assert_eq!(find("hdd", "always").p99_ratio, Some(20.0));
        assert_eq!(find("ssd", "always").ops_ratio, Some(1.0));
        assert!(find("ssd", "always").baseline && !find("hdd", "always").baseline);
        // lsm only in a, btree only in b: listed, not compared.
        assert_eq!(c.rows.len(), 4);
        let missing: Vec<(&str, &[String])> = c
            .missing
            .iter()
            .map(|(k, p)| (k.engine.as_str(), p.as_slice()))
            .collect();
        assert_eq!(
            missing,
            vec![
                ("lsm", &["ssd".to_string()][..]),
                ("btree", &["hdd".to_string()][..])
            ]
        );
        assert!(c
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::ToolVersions { by_run } if by_run.len() == 2)));
        assert!(!c
            .warnings
            .iter()
            .any(|w| matches!(w, Warning::SeedsDiffer { .. })));
        let fields: Vec<&str> = c.env_diff.iter().map(|(k, _)| k.as_str()).collect();
        assert!(fields.contains(&"filesystem"), "{fields:?}");
        assert!(!fields.contains(&"kernel"), "{fields:?}");
    }

    #[test]
    fn different_seeds_and_a_missing_environment_are_flagged() {
        let t = tempfile::tempdir().unwrap();
        let a = folder(t.path(), "a", &[row("x", "wal", "none", 1.0, 1.0, 1)], None);
        let b = folder(t.path(), "b", &[row("x", "wal", "none", 2.0, 1.0, 2)], None);
        let c = compare(&[a, b]).unwrap();
        // Same label twice: told apart by their folders.
        assert_eq!(
            (c.runs[0].label.as_str(), c.runs[1].label.as_str()),
            ("x (a)", "x (b)")
        );
        let texts: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
        assert!(
            texts.iter().any(|w| w.contains("seeds differ")),
            "{texts:?}"
        );
        // Both runs lack one: one warning naming both.
        assert_eq!(
            texts
                .iter()
                .filter(|w| w.contains("environment.json is missing"))
                .count(),
            1,
            "{texts:?}"
        );
        assert!(texts
            .iter()
            .any(|w| w.starts_with("x (a) and x (b): environment.json")));
        assert_eq!(c.rows[1].ops_ratio, Some(2.0));
    }

    #[test]
    fn a_change_needs_intervals_that_do_not_overlap() {
        let t = tempfile::tempdir().unwrap();
        let mut a1 = row("a", "wal", "always", 5000.0, 200.0, 1);
        (a1.ops_per_sec_ci_low, a1.ops_per_sec_ci_high) = (Some(4800.0), Some(5200.0));
        let mut a2 = row("a", "wal", "none", 100_000.0, 5.0, 1);
        (a2.ops_per_sec_min, a2.ops_per_sec_max) = (90_000.0, 110_000.0);
        let mut b1 = row("b", "wal", "always", 5150.0, 200.0, 1);
        (b1.ops_per_sec_ci_low, b1.ops_per_sec_ci_high) = (Some(5100.0), Some(5300.0));
        let mut b2 = row("b", "wal", "none", 130_000.0, 2.0, 1);
        (b2.ops_per_sec_min, b2.ops_per_sec_max) = (120_000.0, 140_000.0);
        let a = folder(t.path(), "a", &[a2, a1], None);
        let b = folder(t.path(), "b", &[b1, b2], None);
        let c = compare(&[a, b]).unwrap();
        let find = |run: &str, policy: &str| {
            c.rows
                .iter()
                .find(|r| r.run == run && r.policy == policy)
                .unwrap()
        };
        // A CI wider than the observed range is narrowed to it.
        let mut wide = row("c", "wal", "always", 5000.0, 1.0, 1);
        (wide.ops_per_sec_min, wide.ops_per_sec_max) = (4000.0, 9000.0);
        (wide.ops_per_sec_ci_low, wide.ops_per_sec_ci_high) = (Some(0.0), Some(12000.0));
        let i = ops_interval(&wide);
        assert_eq!(
            (i.low, i.high, i.kind),
            (4000.0, 9000.0, IntervalKind::Ci95WithinRange)
        );
        // 5150 vs 5000 with overlapping 95% intervals: noise.
        assert_eq!(find("b", "always").ops_change, "within noise");
        assert_eq!(find("b", "always").interval, "ci95");
        // min..max 120k..140k against 90k..110k: a real change.
        assert_eq!(find("b", "none").ops_change, "faster");
        assert_eq!(find("b", "none").interval, "min..max");
        // One repetition of p99 each: points, so any difference counts.
        assert_eq!(find("b", "none").p99_change, "lower");
        assert_eq!(find("b", "always").p99_change, "within noise");
        assert_eq!(find("a", "none").ops_change, "baseline");
        // Rows in durability order: none before always, whatever runs.csv says.
        assert_eq!(c.rows[0].policy, "none");
    }

    #[test]
    fn the_same_folder_twice_and_a_tmpfs_disk_are_flagged() {
        let t = tempfile::tempdir().unwrap();
        let mut e = env("ram", "tmpfs", "0.1.0");
        e.disk.as_mut().unwrap().path = "/dev/shm/x".into();
        let a = folder(
            t.path(),
            "a",
            &[row("ram", "wal", "none", 1.0, 1.0, 1)],
            Some(&e),
        );
        let same = t.path().join("a/../a");
        let c = compare(&[a, same]).unwrap();
        let texts: Vec<String> = c.warnings.iter().map(ToString::to_string).collect();
        assert!(texts.iter().any(|w| w.contains("same folder")), "{texts:?}");
        assert!(
            texts
                .iter()
                .any(|w| w.starts_with("ram and ram (2): `/dev/shm/x` is on tmpfs")),
            "{texts:?}"
        );
    }
}
