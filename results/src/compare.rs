//! Comparing result folders from different machines or disks: cells
//! matched by (engine, policy, workload, threads, value size), figures side
//! by side with ratios against the first folder (the baseline).
//!
//! A difference counts as a change only when the two cells' intervals do
//! not overlap: the 95% confidence interval of the median where the run
//! recorded one, else min..max over repetitions. Overlapping intervals are
//! "within noise". A cell measured once has a point for an interval, so
//! any difference counts; `compare.csv` says which interval was used.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::warnings::{SameFolder, Seeds, Warning, Warnings};
use crate::{read_csv, read_json, Environment, PolicyKey, ProbeRow, Result, ResultsDir, RunRow};

/// A cell's identity across runs.
pub type CellKey = (String, String, String, u32, u64);

/// One cell of one run in `compare.csv` (long format: a row per cell and
/// run; `*_ratio` = this run's figure / the baseline's for the same cell,
/// empty when the baseline lacks the cell or its figure is 0).
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
    /// Workload RNG seed of this run's cell.
    pub seed: u64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// User payload MB/s (10^6 bytes).
    pub mb_per_sec: f64,
    /// Median latency.
    pub p50_us: f64,
    /// 99th percentile latency.
    pub p99_us: f64,
    /// 99.9th percentile latency.
    pub p999_us: f64,
    /// 99th percentile latency of sync calls; empty without counted syncs.
    pub sync_p99_us: Option<f64>,
    /// Log writes per file sync; empty without counted syncs.
    pub writes_per_sync: Option<f64>,
    /// Engine write amplification.
    pub engine_write_amp: f64,
    /// Device write amplification; empty without a block device.
    pub device_write_amp: Option<f64>,
    /// Efficiency against the run's own probe.
    pub efficiency: Option<f64>,
    /// ops_per_sec / the baseline's (above 1: faster than the baseline).
    pub ops_ratio: Option<f64>,
    /// p50_us / the baseline's (above 1: slower than the baseline).
    pub p50_ratio: Option<f64>,
    /// p99_us / the baseline's.
    pub p99_ratio: Option<f64>,
    /// p999_us / the baseline's.
    pub p999_ratio: Option<f64>,
    /// sync_p99_us / the baseline's.
    pub sync_p99_ratio: Option<f64>,
    /// efficiency / the baseline's.
    pub efficiency_ratio: Option<f64>,
    /// Lower end of the ops/s interval used to judge a change.
    #[serde(default)]
    pub ops_per_sec_low: Option<f64>,
    /// Upper end of the ops/s interval.
    #[serde(default)]
    pub ops_per_sec_high: Option<f64>,
    /// Which interval: `ci95` (95% confidence interval of the median),
    /// `ci95 within min..max` (that interval narrowed to the observed range),
    /// `min..max` (over repetitions) or `none` (one repetition: a point).
    #[serde(default)]
    pub interval: String,
    /// Against the baseline's cell: `faster`, `slower`, `within noise`
    /// (intervals overlap); `baseline` for the baseline itself, empty when
    /// the baseline lacks the cell.
    #[serde(default)]
    pub ops_change: String,
    /// The same for p99 latency: `lower`, `higher`, `within noise`.
    #[serde(default)]
    pub p99_change: String,
}

/// A figure's interval over repetitions and which kind it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// `ci95`, `ci95 within min..max` (the CI narrowed to the observed
    /// range), `min..max` or `none`.
    pub kind: &'static str,
}

impl Interval {
    /// Whether the two intervals share a point.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.low <= other.high && other.low <= self.high
    }
}

/// The interval of a cell's ops/s: the 95% CI of the median, else
/// min..max, else the median alone.
pub fn ops_interval(r: &RunRow) -> Interval {
    interval(
        r.ops_per_sec,
        r.ops_per_sec_ci_low.zip(r.ops_per_sec_ci_high),
        (r.ops_per_sec_min, r.ops_per_sec_max),
    )
}

/// The interval of a cell's p99 latency, chosen as for ops/s.
pub fn p99_interval(r: &RunRow) -> Interval {
    interval(
        r.p99_us,
        r.p99_us_ci_low.zip(r.p99_us_ci_high),
        (r.p99_us_min, r.p99_us_max),
    )
}

/// The 95% CI of the median where recorded, narrowed to the observed
/// min..max: with 3 repetitions the normal-approximation CI (t = 4.3) runs
/// far past anything measured, often down to 0, and would call a 30x
/// difference noise. Else min..max, else the median alone.
fn interval(median: f64, ci: Option<(f64, f64)>, (min, max): (f64, f64)) -> Interval {
    let range = max > min && min <= median && median <= max;
    match ci {
        Some((low, high)) if low <= high && low.is_finite() && high.is_finite() => {
            if range && (low < min || high > max) {
                Interval {
                    low: low.max(min),
                    high: high.min(max),
                    kind: "ci95 within min..max",
                }
            } else {
                Interval {
                    low,
                    high,
                    kind: "ci95",
                }
            }
        }
        _ if range => Interval {
            low: min,
            high: max,
            kind: "min..max",
        },
        _ => Interval {
            low: median,
            high: median,
            kind: "none",
        },
    }
}

/// `up` / `down` when the intervals do not overlap, else `within noise`.
fn change(this: Interval, base: Interval, up: &str, down: &str) -> String {
    if this.overlaps(&base) {
        "within noise".into()
    } else if this.low > base.high {
        up.into()
    } else {
        down.into()
    }
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
    /// Its cells in runs.csv order.
    pub order: Vec<CellKey>,
    /// Its probe (`probe.csv`); empty when it has none.
    pub probe: Vec<ProbeRow>,
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
    (b > 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
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
    let ok: Vec<RunRow> = rows.into_iter().filter(|r| r.status == "ok").collect();
    let mut order: Vec<CellKey> = Vec::new();
    for r in &ok {
        let k = key(r);
        if !order.contains(&k) {
            order.push(k);
        }
    }
    let cells = ok.into_iter().map(|r| (key(&r), r)).collect();
    let probe: Vec<ProbeRow> = if rd.probe().exists() {
        read_csv(&rd.probe())?
    } else {
        Vec::new()
    };
    Ok(ComparedRun {
        dir: dir.to_path_buf(),
        label,
        env,
        cells,
        order,
        probe,
    })
}

/// Flags what makes figures incomparable: the same folder twice, a disk
/// whose syncs are not durable, different tool versions or workload seeds,
/// a missing environment.json.
fn warnings(runs: &[ComparedRun], all: &[CellKey]) -> Warnings {
    let mut warnings = Warnings::new();
    let canonical: Vec<PathBuf> = runs
        .iter()
        .map(|r| std::fs::canonicalize(&r.dir).unwrap_or_else(|_| r.dir.clone()))
        .collect();
    for (i, a) in canonical.iter().enumerate() {
        for (j, b) in canonical.iter().enumerate().skip(i + 1) {
            if a == b {
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
    for r in runs {
        let mut own = r.env.as_ref().map(Warnings::of_disk).unwrap_or_default();
        let cells: Vec<RunRow> = r.cells.values().cloned().collect();
        own.extend(
            Warnings::of_cells(&cells)
                .into_iter()
                .filter(|w| matches!(w, Warning::NoDeviceFlush { .. })),
        );
        own.extend(Warnings::of_probe(&r.probe));
        warnings.extend(own.in_run(&r.label));
    }
    let no_env: Vec<String> = runs
        .iter()
        .filter(|r| r.env.is_none())
        .map(|r| r.label.clone())
        .collect();
    if !no_env.is_empty() {
        warnings.push(Warning::NoEnvironment { runs: no_env });
    }
    let versions: Vec<String> = runs
        .iter()
        .map(|r| {
            r.env.as_ref().map_or_else(
                || "unknown".to_string(),
                |e| match &e.git_commit {
                    Some(c) => format!("{} ({c})", e.tool_version),
                    None => e.tool_version.clone(),
                },
            )
        })
        .collect();
    if versions.iter().any(|v| Some(v) != versions.first()) {
        warnings.push(Warning::ToolVersions {
            by_run: runs.iter().map(|r| r.label.clone()).zip(versions).collect(),
        });
    }
    // One entry for every workload whose seeds differ, not one per cell.
    let mut seeds: BTreeMap<&str, Vec<(String, u64)>> = BTreeMap::new();
    for k in all {
        for r in runs {
            if let Some(c) = r.cells.get(k) {
                let e = seeds.entry(k.2.as_str()).or_default();
                if !e.contains(&(r.label.clone(), c.seed)) {
                    e.push((r.label.clone(), c.seed));
                }
            }
        }
    }
    for (workload, s) in seeds {
        if s.iter().any(|(_, x)| *x != s[0].1) {
            warnings.push(Warning::SeedsDiffer {
                workloads: vec![Seeds {
                    workload: workload.to_string(),
                    by_run: s,
                }],
            });
        }
    }
    warnings
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
    // Cells in the baseline's order (its matrix), then the others' extra
    // cells; within a workload, thread count and engine, by durability.
    let mut all: Vec<CellKey> = Vec::new();
    for k in runs.iter().flat_map(|r| r.order.iter()) {
        if !all.contains(k) {
            all.push(k.clone());
        }
    }
    let first_seen = |f: &dyn Fn(&CellKey) -> String| -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for k in &all {
            let x = f(k);
            if !v.contains(&x) {
                v.push(x);
            }
        }
        v
    };
    let workloads = first_seen(&|k| k.2.clone());
    let engines = first_seen(&|k| k.0.clone());
    let pos = |v: &[String], x: &str| v.iter().position(|y| y == x).unwrap_or(usize::MAX);
    all.sort_by_cached_key(|k| {
        (
            pos(&workloads, &k.2),
            k.3,
            pos(&engines, &k.0),
            PolicyKey::parse(&k.1),
            k.4,
        )
    });
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
            let r_of = |f: fn(&RunRow) -> f64| base.and_then(|b| ratio(f(c), f(b)));
            let ops = ops_interval(c);
            let (ops_change, p99_change) = match base {
                _ if i == 0 => ("baseline".to_string(), "baseline".to_string()),
                Some(b) => (
                    change(ops, ops_interval(b), "faster", "slower"),
                    change(p99_interval(c), p99_interval(b), "higher", "lower"),
                ),
                None => (String::new(), String::new()),
            };
            rows.push(CompareRow {
                engine: k.0.clone(),
                policy: k.1.clone(),
                workload: k.2.clone(),
                threads: k.3,
                value_size_bytes: k.4,
                run: r.label.clone(),
                baseline: i == 0,
                seed: c.seed,
                ops_per_sec: c.ops_per_sec,
                mb_per_sec: c.mb_per_sec,
                p50_us: c.p50_us,
                p99_us: c.p99_us,
                p999_us: c.p999_us,
                sync_p99_us: c.sync_p99_us,
                writes_per_sync: c.writes_per_sync,
                engine_write_amp: c.engine_write_amp,
                device_write_amp: c.device_write_amp,
                efficiency: c.efficiency,
                ops_ratio: r_of(|x| x.ops_per_sec),
                p50_ratio: r_of(|x| x.p50_us),
                p99_ratio: r_of(|x| x.p99_us),
                p999_ratio: r_of(|x| x.p999_us),
                sync_p99_ratio: base.and_then(|b| ratio(c.sync_p99_us?, b.sync_p99_us?)),
                efficiency_ratio: base.and_then(|b| ratio(c.efficiency?, b.efficiency?)),
                ops_per_sec_low: Some(ops.low),
                ops_per_sec_high: Some(ops.high),
                interval: ops.kind.to_string(),
                ops_change,
                p99_change,
            });
        }
    }
    let warnings = warnings(&runs, &all);
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
            "journal",
            field(&|e| e.disk.as_ref().map(|d| opt(&d.journal)).unwrap_or_default()),
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
        .filter(|(_, v)| v.iter().any(|x| Some(x) != v.first()))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{write_csv, write_json, DiskInfo};

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

    #[test]
    fn ratios_missing_cells_seeds_versions_and_environment() {
        let t = tempfile::tempdir().unwrap();
        let a = folder(
            t.path(),
            "a",
            &[
                row("ssd", "wal", "none", 1000.0, 10.0, 1),
                row("ssd", "wal", "always", 100.0, 200.0, 1),
                row("ssd", "lsm", "always", 50.0, 400.0, 1),
            ],
            Some(&env("ssd", "ext4", "0.1.0")),
        );
        let b = folder(
            t.path(),
            "b",
            &[
                row("hdd", "wal", "none", 500.0, 20.0, 1),
                row("hdd", "wal", "always", 10.0, 4000.0, 1),
                row("hdd", "btree", "always", 7.0, 1.0, 1),
            ],
            Some(&env("hdd", "xfs", "0.2.0")),
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
            .map(|(k, p)| (k.0.as_str(), p.as_slice()))
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
        // Same label twice: made unique so the runs stay apart.
        assert_eq!(c.runs[1].label, "x (2)");
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
            .any(|w| w.starts_with("x and x (2): environment.json")));
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
            (4000.0, 9000.0, "ci95 within min..max")
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
                .any(|w| w.starts_with("ram: `/dev/shm/x` is on tmpfs")),
            "{texts:?}"
        );
    }
}
