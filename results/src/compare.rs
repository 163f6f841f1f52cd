//! Comparing result folders from different machines or disks: cells
//! matched by (engine, policy, workload, threads, value size), figures side
//! by side with ratios against the first folder (the baseline).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{read_csv, read_json, Environment, Result, ResultsDir, RunRow};

/// A cell's identity across runs.
pub type CellKey = (String, String, String, u32, u64);

/// One cell of one run in `compare.csv` (long format).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompareRow {
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
    /// The run's label (machine/disk).
    pub run: String,
    /// Whether this run is the baseline.
    pub baseline: bool,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// 99th percentile latency.
    pub p99_us: f64,
    /// Efficiency against the run's own probe.
    pub efficiency: Option<f64>,
    /// ops_per_sec / the baseline's.
    pub ops_ratio: Option<f64>,
    /// p99_us / the baseline's.
    pub p99_ratio: Option<f64>,
}

/// One loaded run.
#[derive(Debug, Clone)]
pub struct ComparedRun {
    /// The folder.
    pub dir: PathBuf,
    /// Label (from the rows or environment.json, else the folder name).
    pub label: String,
    /// Its environment, when present.
    pub env: Option<Environment>,
    /// Its ok rows by cell.
    pub cells: BTreeMap<CellKey, RunRow>,
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
    /// Warnings: different tool versions or workload seeds.
    pub warnings: Vec<String>,
    /// Environment fields that differ: (field, value per run).
    pub env_diff: Vec<(String, Vec<String>)>,
}

fn key(r: &RunRow) -> CellKey {
    (
        r.engine.clone(),
        r.policy.clone(),
        r.workload.clone(),
        r.threads,
        r.value_size_bytes,
    )
}

fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0).then(|| a / b)
}

/// Loads a results folder for comparison.
pub fn load_run(dir: &Path) -> Result<ComparedRun> {
    let rd = ResultsDir::open(dir)?;
    let rows: Vec<RunRow> = read_csv(&rd.runs())?;
    let env: Option<Environment> = read_json(&rd.environment()).ok();
    let label = rows
        .first()
        .map(|r| r.label.clone())
        .filter(|l| !l.is_empty())
        .or_else(|| {
            env.as_ref()
                .map(|e| e.label.clone())
                .filter(|l| !l.is_empty())
        })
        .unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let cells = rows
        .into_iter()
        .filter(|r| r.status == "ok")
        .map(|r| (key(&r), r))
        .collect();
    Ok(ComparedRun {
        dir: dir.to_path_buf(),
        label,
        env,
        cells,
    })
}

/// Compares `dirs` (the first is the baseline). Labels are made unique.
pub fn compare(dirs: &[PathBuf]) -> Result<Comparison> {
    let mut runs: Vec<ComparedRun> = dirs.iter().map(|d| load_run(d)).collect::<Result<_>>()?;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for r in &mut runs {
        let n = seen.entry(r.label.clone()).or_default();
        *n += 1;
        if *n > 1 {
            r.label = format!("{} ({})", r.label, n);
        }
    }
    let mut all: Vec<CellKey> = runs.iter().flat_map(|r| r.cells.keys().cloned()).collect();
    all.sort();
    all.dedup();
    let mut rows = Vec::new();
    let mut missing = Vec::new();
    for k in &all {
        let present: Vec<&ComparedRun> = runs.iter().filter(|r| r.cells.contains_key(k)).collect();
        if present.len() < runs.len() {
            missing.push((k.clone(), present.iter().map(|r| r.label.clone()).collect()));
        }
        if present.len() < 2 {
            continue;
        }
        let base = runs[0].cells.get(k);
        for (i, r) in runs.iter().enumerate() {
            let Some(c) = r.cells.get(k) else { continue };
            rows.push(CompareRow {
                engine: k.0.clone(),
                policy: k.1.clone(),
                workload: k.2.clone(),
                threads: k.3,
                value_size_bytes: k.4,
                run: r.label.clone(),
                baseline: i == 0,
                ops_per_sec: c.ops_per_sec,
                p99_us: c.p99_us,
                efficiency: c.efficiency,
                ops_ratio: base.and_then(|b| ratio(c.ops_per_sec, b.ops_per_sec)),
                p99_ratio: base.and_then(|b| ratio(c.p99_us, b.p99_us)),
            });
        }
    }
    let mut warnings = Vec::new();
    let versions: Vec<String> = runs
        .iter()
        .map(|r| {
            r.env
                .as_ref()
                .map(|e| e.tool_version.clone())
                .unwrap_or_default()
        })
        .collect();
    if versions.iter().any(|v| v != &versions[0]) {
        warnings.push(format!(
            "runs come from different tool versions: {}",
            versions.join(", ")
        ));
    }
    for k in &all {
        let seeds: Vec<u64> = runs
            .iter()
            .filter_map(|r| r.cells.get(k).map(|c| c.seed))
            .collect();
        if seeds.iter().any(|s| *s != seeds[0]) {
            warnings.push(format!(
                "{} {} {} t{}: workload seeds differ between runs ({seeds:?})",
                k.0, k.1, k.2, k.3
            ));
        }
    }
    let field = |f: &dyn Fn(&Environment) -> String| -> Vec<String> {
        runs.iter()
            .map(|r| r.env.as_ref().map(f).unwrap_or_else(|| "?".into()))
            .collect()
    };
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let candidates: Vec<(&str, Vec<String>)> = vec![
        ("host", field(&|e| e.host.clone())),
        (
            "CPU",
            field(&|e| format!("{} ({} cores)", e.cpu_model, e.cpu_cores)),
        ),
        (
            "memory",
            field(&|e| format!("{:.1} GiB", e.memory_bytes as f64 / (1u64 << 30) as f64)),
        ),
        ("kernel", field(&|e| e.kernel.clone())),
        ("OS", field(&|e| e.os.clone())),
        ("virtualisation", field(&|e| opt(&e.virtualization))),
        (
            "filesystem",
            field(&|e| {
                e.disk
                    .as_ref()
                    .map(|d| d.filesystem.clone())
                    .unwrap_or_default()
            }),
        ),
        (
            "mount options",
            field(&|e| {
                e.disk
                    .as_ref()
                    .map(|d| d.mount_options.clone())
                    .unwrap_or_default()
            }),
        ),
        (
            "device",
            field(&|e| e.disk.as_ref().map(|d| opt(&d.device)).unwrap_or_default()),
        ),
        (
            "model",
            field(&|e| e.disk.as_ref().map(|d| opt(&d.model)).unwrap_or_default()),
        ),
        (
            "write cache",
            field(&|e| {
                e.disk
                    .as_ref()
                    .map(|d| opt(&d.write_cache))
                    .unwrap_or_default()
            }),
        ),
        ("tool version", field(&|e| e.tool_version.clone())),
    ];
    let env_diff = candidates
        .into_iter()
        .filter(|(_, v)| v.iter().any(|x| x != &v[0]))
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Ok(Comparison {
        runs,
        rows,
        missing,
        warnings,
        env_diff,
    })
}
