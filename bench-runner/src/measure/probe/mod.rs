//! The disk's own ceilings, measured without an engine, the way fio
//! (`ioengine=sync`) and pg_test_fsync do, for every record size, sync
//! cadence and writer count the run uses.
//!
//! Patterns (`probe.csv` `pattern`):
//!
//! | name | what each writer does |
//! |---|---|
//! | `append` | `write(2)` at the end of a new file, never synced |
//! | `append+fdatasync` / `+fsync` | the same, `fdatasync`/`fsync` after each write |
//! | `append+fdatasync/N` | a sync every N writes |
//! | `overwrite…` | the same cadences, writing into space already allocated: a file written and synced once (`prepared = written`), or reserved with `fallocate` (`prepared = fallocate`), wrapping around at its end |
//! | `create+dirsync` | create a file, fsync its directory |
//!
//! Overwriting allocated space changes no file size, so `fdatasync` has no
//! metadata to write (no journal commit; without a journal, no inode
//! write); appending commits the new size with every sync. Engines that
//! preallocate or recycle their logs (fjall's journal, SQLite's WAL,
//! RocksDB's recycled logs) see the overwrite ceiling, so a cell's ceiling is the best pattern for its
//! cadence, record size and writer count.
//!
//! Several writers run either each on its own file (`layout = per-file`)
//! or all on one file (`shared`, fio's `numjobs` on one file). Each pattern
//! runs `rounds` times, rounds interleaved (round 1 of every pattern, then
//! round 2, ...), so drift on a shared disk spreads over all patterns; the
//! figure is the median round, with the slowest and fastest kept.
//!
//! Files: [`pattern`] names the patterns a plan needs, [`measure`] runs one
//! round of one pattern, [`ceiling`] picks a cell's ceiling among the rows.

mod ceiling;
mod measure;
mod pattern;

pub use ceiling::{ceiling_for, ceiling_rows, cell_ceiling, Ceiling};
use measure::{create_dirsync, measure};
use pattern::{patterns, Pattern, Placement};

use std::fs::{self};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use engines::{SyncMode, SyncPolicy, SyncPrimitive};
use hdrhistogram::Histogram;
use results::{BlockDevice, ProbeRow, SyncDoubt, SyncEvidence};

/// Bytes each writer cycles through when overwriting.
const OVERWRITE_REGION: u64 = 4 << 20;
/// Appends start a new file past this size, so the probe stays bounded.
const APPEND_FILE_LIMIT: u64 = 256 << 20;

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbePlan {
    /// Bytes per write: the engine record sizes in use, probed at every
    /// writer count.
    pub record_sizes: Vec<u64>,
    /// Sizes probed with one writer only, for reference (4 KiB, fio's default).
    pub reference_sizes: Vec<u64>,
    /// Sync-every-N cadences to probe (from `batch:N` policies).
    pub batches: Vec<u64>,
    /// Whether any policy syncs with `fsync` instead of `fdatasync`.
    pub fsync: bool,
    /// Writer counts (the cells' thread counts; 1 is always probed).
    pub threads: Vec<usize>,
    /// Each round of a pattern runs at least this long...
    pub min_time: Duration,
    /// ...and makes at least this many sync calls (sync patterns).
    pub min_syncs: u64,
    /// Rounds per pattern (the figure is their median).
    pub rounds: u32,
    /// Counters of the device under test, for flushes per sync.
    pub device: Option<BlockDevice>,
    /// Whether the device reports itself rotational.
    pub rotational: Option<bool>,
    /// The device's write-cache mode.
    pub write_cache: Option<String>,
    /// Filesystem type of the disk under test (`tmpfs` syncs nothing).
    pub filesystem: String,
}

impl ProbePlan {
    /// The full run's plan: 1 s and 1,000 syncs per round, 3 rounds.
    pub fn full() -> ProbePlan {
        ProbePlan {
            record_sizes: Vec::new(),
            reference_sizes: vec![4096],
            batches: Vec::new(),
            fsync: false,
            threads: vec![1],
            min_time: Duration::from_secs(1),
            min_syncs: 1000,
            rounds: 3,
            device: None,
            rotational: None,
            write_cache: None,
            filesystem: String::new(),
        }
    }

    /// `--quick`: 0.3 s and 300 syncs per round, still 3 rounds.
    pub fn quick() -> ProbePlan {
        ProbePlan {
            min_time: Duration::from_millis(300),
            min_syncs: 300,
            ..ProbePlan::full()
        }
    }
}

/// The probe a run needs: the record sizes of its workloads (and 4 KiB),
/// the cadences of its policies, its thread counts, and the disk's facts.
pub fn plan_for(
    policies: &[SyncPolicy],
    record_sizes: impl IntoIterator<Item = u64>,
    threads: &[usize],
    quick: bool,
    disk: Option<&results::DiskInfo>,
) -> ProbePlan {
    let mut sizes: Vec<u64> = record_sizes.into_iter().collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut batches: Vec<u64> = policies
        .iter()
        .filter_map(|p| match p.mode {
            SyncMode::Batch(n) => Some(u64::from(n)),
            _ => None,
        })
        .collect();
    batches.sort_unstable();
    batches.dedup();
    ProbePlan {
        record_sizes: sizes,
        batches,
        fsync: policies
            .iter()
            .any(|p| p.primitive == SyncPrimitive::Fsync && p.mode != SyncMode::None),
        threads: threads.to_vec(),
        device: disk
            .and_then(|d| BlockDevice::open(d.device.as_deref()?, d.disk_device.as_deref())),
        rotational: disk.and_then(|d| d.rotational),
        write_cache: disk.and_then(|d| d.write_cache.clone()),
        filesystem: disk.map(|d| d.filesystem.clone()).unwrap_or_default(),
        ..if quick {
            ProbePlan::quick()
        } else {
            ProbePlan::full()
        }
    }
}

/// One round of one pattern.
#[derive(Debug)]
struct Round {
    ops: u64,
    secs: f64,
    syncs: u64,
    flushes: Option<u64>,
    hist: Histogram<u64>,
}

fn new_hist() -> Histogram<u64> {
    engines::fs::new_latency_histogram()
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// Runs every pattern of `plan` in a fresh folder `work` (removed after).
/// `progress` gets one line per pattern and round.
pub fn run(work: &Path, plan: &ProbePlan, mut progress: impl FnMut(&str)) -> Result<Vec<ProbeRow>> {
    fs::create_dir_all(work).with_context(|| format!("create probe folder {}", work.display()))?;
    let result = run_in(work, plan, &mut progress);
    let cleanup = fs::remove_dir_all(work);
    let rows = result?;
    cleanup.with_context(|| format!("remove probe folder {}", work.display()))?;
    Ok(rows)
}

fn run_in(work: &Path, plan: &ProbePlan, progress: &mut dyn FnMut(&str)) -> Result<Vec<ProbeRow>> {
    let pats = patterns(plan);
    let rounds = plan.rounds.max(1);
    let mut measured: Vec<Vec<Round>> = pats.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for (i, p) in pats.iter().enumerate() {
            progress(&format!(
                "probe {} (round {}/{rounds})",
                p.label(),
                round + 1
            ));
            measured[i].push(measure(work, p, plan)?);
        }
    }
    let mut rows: Vec<ProbeRow> = pats
        .iter()
        .zip(measured)
        .map(|(p, r)| summarize(p, r, plan))
        .collect();
    progress("probe create+dirsync");
    rows.push(create_dirsync(work, plan)?);
    Ok(rows)
}

/// Measures `rows` again, one round each, in a fresh folder `work`
/// (removed after): a run's ceilings at the start of a later round
/// ([`crate::measure::ceilings`]). Rows that are no pattern of `plan`
/// (`create+dirsync`) are left out.
pub fn remeasure(work: &Path, plan: &ProbePlan, rows: &[&ProbeRow]) -> Result<Vec<ProbeRow>> {
    fs::create_dir_all(work).with_context(|| format!("create probe folder {}", work.display()))?;
    let result: Result<Vec<ProbeRow>> = patterns(plan)
        .iter()
        .filter(|p| rows.iter().any(|r| p.is_row(r)))
        .map(|p| Ok(summarize(p, vec![measure(work, p, plan)?], plan)))
        .collect();
    let cleanup = fs::remove_dir_all(work);
    let rows = result?;
    cleanup.with_context(|| format!("remove probe folder {}", work.display()))?;
    Ok(rows)
}

/// The row of one pattern: median round, min and max, merged latency, and
/// the lying-disk checks for per-write syncs.
fn summarize(p: &Pattern, rounds: Vec<Round>, plan: &ProbePlan) -> ProbeRow {
    let rates: Vec<f64> = rounds
        .iter()
        .map(|r| r.ops as f64 / r.secs.max(1e-9))
        .collect();
    let mut hist = new_hist();
    for r in &rounds {
        let _ = hist.add(&r.hist);
    }
    let ops: u64 = rounds.iter().map(|r| r.ops).sum();
    let syncs: u64 = rounds.iter().map(|r| r.syncs).sum();
    let flushes: Option<u64> = rounds.iter().map(|r| r.flushes).sum();
    // The lying-disk checks judge the classic figure: one writer appending
    // with fdatasync after each write.
    let classic = p.threads == 1
        && p.placement == Placement::Append
        && p.sync == Some((SyncPrimitive::Fdatasync, 1));
    let warnings = if classic {
        classic_sync_doubts(plan, syncs, flushes, us(hist.value_at_quantile(0.5)))
    } else {
        Vec::new()
    };
    ProbeRow {
        pattern: p.name(),
        record_bytes: p.size,
        writes_per_sync: p.writes_per_sync(),
        threads: Some(p.threads as u32),
        layout: p.layout_name().into(),
        prepared: p.prepared_name().into(),
        ops,
        ops_per_sec: results::median(&rates).unwrap_or(0.0),
        p50_us: us(hist.value_at_quantile(0.5)),
        p99_us: us(hist.value_at_quantile(0.99)),
        p999_us: us(hist.value_at_quantile(0.999)),
        max_us: us(hist.max()),
        mean_us: hist.mean() / 1000.0,
        rounds: Some(rounds.len() as u32),
        ops_per_sec_min: rates.iter().copied().reduce(f64::min),
        ops_per_sec_max: rates.iter().copied().reduce(f64::max),
        flushes_per_sync: flushes
            .filter(|_| syncs > 0)
            .map(|f| f as f64 / syncs as f64),
        warning: SyncDoubt::column(&warnings),
        ..ProbeRow::default()
    }
}

/// Why the classic pattern's syncs may not be durable: memory for a disk,
/// or the lying-disk checks on its flushes and sync latency.
fn classic_sync_doubts(
    plan: &ProbePlan,
    syncs: u64,
    flushes: Option<u64>,
    p50_us: f64,
) -> Vec<SyncDoubt> {
    if matches!(plan.filesystem.as_str(), "tmpfs" | "ramfs") {
        return vec![SyncDoubt::InMemory {
            filesystem: plan.filesystem.clone(),
        }];
    }
    results::lying_disk_doubts(&SyncEvidence {
        syncs,
        flushes,
        sync_p50_us: p50_us,
        rotational: plan.rotational,
        write_cache: match plan.write_cache.as_deref() {
            Some("write through") => Some("write through"),
            Some("write back") => Some("write back"),
            _ => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::ceiling::*;
    use super::*;

    fn tiny(threads: Vec<usize>) -> ProbePlan {
        ProbePlan {
            record_sizes: vec![137],
            reference_sizes: Vec::new(),
            batches: vec![32],
            threads,
            min_time: Duration::from_millis(20),
            min_syncs: 4,
            rounds: 2,
            ..ProbePlan::full()
        }
    }

    #[test]
    fn probe_measures_every_pattern_and_cleans_up() {
        let t = tempfile::tempdir().unwrap();
        let rows = run(&t.path().join("p"), &tiny(vec![1]), |_| {}).unwrap();
        let names: Vec<_> = rows
            .iter()
            .map(|r| {
                format!(
                    "{}{}",
                    r.pattern,
                    if r.prepared == "fallocate" {
                        " (fallocate)"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                "append",
                "overwrite",
                "append+fdatasync",
                "overwrite+fdatasync",
                "append+fsync",
                "overwrite+fsync",
                "append+fdatasync/32",
                "overwrite+fdatasync/32",
                "overwrite+fdatasync (fallocate)",
                "create+dirsync"
            ]
        );
        for r in &rows {
            assert!(r.ops > 0 && r.ops_per_sec > 0.0, "{r:?}");
            assert!(r.p50_us <= r.p99_us && r.p99_us <= r.max_us, "{r:?}");
            if r.pattern != "create+dirsync" {
                assert_eq!(r.rounds, Some(2), "{r:?}");
                let (lo, hi) = (r.ops_per_sec_min.unwrap(), r.ops_per_sec_max.unwrap());
                assert!(lo <= r.ops_per_sec && r.ops_per_sec <= hi, "{r:?}");
            }
            if r.writes_per_sync == 32 {
                // Whole cadences only: at least the sync minimum of 4.
                assert!(r.ops >= 2 * 4 * 32 && r.ops % 32 == 0, "{r:?}");
            }
        }
        assert!(!t.path().join("p").exists(), "probe folder left behind");
    }

    #[test]
    fn several_writers_per_file_and_shared() {
        let t = tempfile::tempdir().unwrap();
        let mut plan = tiny(vec![3]);
        plan.batches.clear();
        plan.rounds = 1;
        let rows = run(&t.path().join("p"), &plan, |_| {}).unwrap();
        let three: Vec<_> = rows.iter().filter(|r| r.threads == Some(3)).collect();
        // none and fdatasync, append and overwrite, per-file and shared.
        assert_eq!(three.len(), 8, "{three:#?}");
        for r in &three {
            assert!(r.layout == "per-file" || r.layout == "shared", "{r:?}");
            if r.writes_per_sync == 1 {
                assert!(r.ops >= 4, "every writer made its syncs: {r:?}");
            }
        }
    }

    fn row(
        pattern: &str,
        size: u64,
        every: u64,
        threads: u32,
        ops: f64,
        prepared: &str,
    ) -> ProbeRow {
        ProbeRow {
            pattern: pattern.into(),
            record_bytes: size,
            writes_per_sync: every,
            threads: Some(threads),
            ops_per_sec: ops,
            prepared: prepared.into(),
            layout: if threads > 1 {
                "per-file".into()
            } else {
                String::new()
            },
            ..ProbeRow::default()
        }
    }

    /// A group commit at T writers can beat T writers that each sync per
    /// write (one sync acknowledges the group): its ceiling is T times the
    /// one-writer per-write rate; at one writer, and for `always`, nothing
    /// changes.
    #[test]
    fn group_cells_are_bounded_by_shared_commits() {
        let rows = vec![
            row("overwrite+fdatasync", 140, 1, 1, 8_000.0, "written"),
            row("append+fdatasync", 140, 1, 16, 30_000.0, ""),
            row("append+fdatasync", 140, 1, 4, 40_000.0, ""),
        ];
        let p = |s: &str| s.parse::<SyncPolicy>().unwrap();
        let g16 = cell_ceiling(&rows, &p("group"), 137, 16).unwrap();
        assert_eq!(g16.ops_per_sec, 128_000.0);
        assert_eq!(
            g16.pattern,
            "overwrite+fdatasync 140 B (written) x16 shared commits"
        );
        assert_eq!(g16.threads, Some(16));
        // Where the T-writer pattern is faster, it stays the bound.
        assert_eq!(
            cell_ceiling(&rows, &p("group"), 137, 4)
                .unwrap()
                .ops_per_sec,
            40_000.0
        );
        assert_eq!(
            cell_ceiling(&rows, &p("group"), 137, 1)
                .unwrap()
                .ops_per_sec,
            8_000.0
        );
        assert_eq!(
            cell_ceiling(&rows, &p("always"), 137, 16)
                .unwrap()
                .ops_per_sec,
            30_000.0
        );
    }

    #[test]
    fn ceiling_is_the_best_pattern_for_cadence_size_and_writers() {
        let rows = vec![
            row("append", 140, 0, 1, 900_000.0, ""),
            row("overwrite", 140, 0, 1, 1_200_000.0, "written"),
            row("append+fdatasync", 140, 1, 1, 5_000.0, ""),
            row("overwrite+fdatasync", 140, 1, 1, 8_000.0, "written"),
            row("overwrite+fdatasync", 140, 1, 1, 7_000.0, "fallocate"),
            row("append+fsync", 140, 1, 1, 4_000.0, ""),
            row("append+fdatasync", 4096, 1, 1, 4_500.0, ""),
            row("overwrite+fdatasync", 4096, 1, 1, 9_000.0, "written"),
            row("append+fdatasync/32", 140, 32, 1, 40_000.0, ""),
            row("overwrite+fdatasync/32", 140, 32, 1, 60_000.0, "written"),
            row("append+fdatasync", 140, 1, 16, 30_000.0, ""),
            row("overwrite+fdatasync", 140, 1, 16, 25_000.0, "written"),
        ];
        let p = |s: &str| s.parse::<SyncPolicy>().unwrap();
        let c = ceiling_for(&rows, &p("always+dir"), 137, 1).unwrap();
        assert_eq!(
            (c.pattern.as_str(), c.prepared.as_str(), c.record_bytes),
            ("overwrite+fdatasync", "written", 140)
        );
        assert_eq!(
            ceiling_for(&rows, &p("none"), 137, 1).unwrap().ops_per_sec,
            1_200_000.0
        );
        assert_eq!(
            ceiling_for(&rows, &p("batch:32"), 137, 1)
                .unwrap()
                .ops_per_sec,
            60_000.0
        );
        assert_eq!(
            ceiling_for(&rows, &p("always@fsync"), 137, 1)
                .unwrap()
                .pattern,
            "append+fsync"
        );
        // 16 writers use the 16-writer rows, even when slower per pattern.
        let c = ceiling_for(&rows, &p("group"), 137, 16).unwrap();
        assert_eq!(
            (c.pattern.as_str(), c.threads),
            ("append+fdatasync", Some(16))
        );
        // No 4-writer rows: the nearest writer count (1) bounds the cell.
        assert_eq!(
            ceiling_for(&rows, &p("always"), 137, 4).unwrap().threads,
            Some(1)
        );
        // A cadence never probed has no ceiling.
        assert!(ceiling_for(&rows, &p("batch:8"), 137, 1).is_none());
        let name = |r: &ProbeRow| results::ceilings::PatternId::from(r).to_string();
        assert_eq!(name(&rows[3]), "overwrite+fdatasync 140 B (written)");
        assert_eq!(name(&rows[10]), "append+fdatasync 140 B x16 per-file");
    }
}
