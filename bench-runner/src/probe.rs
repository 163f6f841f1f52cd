//! The disk's own ceilings, measured the way fio (`ioengine=sync`,
//! appending to a new file) and pg_test_fsync do: appends of the record
//! sizes in use with no sync, with fdatasync or fsync after each, with a
//! sync every N, and the cost of a directory fsync after creating a file.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use engines::{SyncMode, SyncPolicy, SyncPrimitive};
use hdrhistogram::Histogram;
use results::ProbeRow;

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbePlan {
    /// Bytes per append (engine record sizes in use, and 4 KiB).
    pub record_sizes: Vec<u64>,
    /// Sync-every-N cadences to probe (from `batch:N` policies).
    pub batches: Vec<u64>,
    /// Time spent on each pattern.
    pub per_pattern: Duration,
}

/// A measured access pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pattern {
    Append,
    AppendSync(SyncPrimitive, u64),
    CreateDirSync,
}

impl Pattern {
    fn name(self) -> String {
        match self {
            Pattern::Append => "append".into(),
            Pattern::AppendSync(SyncPrimitive::Fdatasync, 1) => "append+fdatasync".into(),
            Pattern::AppendSync(SyncPrimitive::Fsync, 1) => "append+fsync".into(),
            Pattern::AppendSync(SyncPrimitive::Fdatasync, n) => format!("append+fdatasync/{n}"),
            Pattern::AppendSync(SyncPrimitive::Fsync, n) => format!("append+fsync/{n}"),
            Pattern::CreateDirSync => "create+dirsync".into(),
        }
    }
}

fn new_hist() -> Histogram<u64> {
    engines::fs::new_latency_histogram()
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// Runs every pattern of `plan` in a fresh folder `work` (removed after).
pub fn run(work: &Path, plan: &ProbePlan, mut progress: impl FnMut(&str)) -> Result<Vec<ProbeRow>> {
    fs::create_dir_all(work).with_context(|| format!("create probe folder {}", work.display()))?;
    let mut rows = Vec::new();
    let mut patterns = vec![
        Pattern::Append,
        Pattern::AppendSync(SyncPrimitive::Fdatasync, 1),
        Pattern::AppendSync(SyncPrimitive::Fsync, 1),
    ];
    for &n in &plan.batches {
        if n > 1 {
            patterns.push(Pattern::AppendSync(SyncPrimitive::Fdatasync, n));
        }
    }
    let result = (|| -> Result<()> {
        for &size in &plan.record_sizes {
            for &p in &patterns {
                progress(&format!("probe {} {size} B", p.name()));
                rows.push(measure(work, p, size, plan.per_pattern)?);
            }
        }
        progress("probe create+dirsync");
        rows.push(measure(work, Pattern::CreateDirSync, 0, plan.per_pattern)?);
        Ok(())
    })();
    let cleanup = fs::remove_dir_all(work);
    result?;
    cleanup.with_context(|| format!("remove probe folder {}", work.display()))?;
    Ok(rows)
}

fn measure(work: &Path, pattern: Pattern, size: u64, budget: Duration) -> Result<ProbeRow> {
    let mut hist = new_hist();
    let buf = vec![0x5au8; size as usize];
    let path = work.join(format!("probe-{}", pattern.name().replace(['+', '/'], "_")));
    let mut ops = 0u64;
    let started = Instant::now();
    let mut measured_from = started;
    match pattern {
        Pattern::Append | Pattern::AppendSync(..) => {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .with_context(|| format!("create {}", path.display()))?;
            let every = match pattern {
                Pattern::AppendSync(_, n) => n,
                _ => 0,
            };
            // Warm up unrecorded (block allocation and the first journal
            // commits of a new file are slower than the steady state an
            // engine sees), then measure.
            let warm_until = started + budget / 10;
            let mut warm = 0u64;
            while Instant::now() < warm_until || warm < 16 || (every > 0 && warm % every != 0) {
                f.write_all(&buf)
                    .with_context(|| format!("write {}", path.display()))?;
                warm += 1;
                if every > 0 && warm % every == 0 {
                    sync(&f, pattern).with_context(|| format!("sync {}", path.display()))?;
                }
            }
            let started = Instant::now();
            // Keep the file bounded: start a new one past 256 MiB.
            let mut written = 0u64;
            loop {
                let t0 = Instant::now();
                f.write_all(&buf)
                    .with_context(|| format!("write {}", path.display()))?;
                ops += 1;
                written += size;
                if every > 0 && ops % every == 0 {
                    sync(&f, pattern).with_context(|| format!("sync {}", path.display()))?;
                }
                let t1 = Instant::now();
                hist.saturating_record(((t1 - t0).as_nanos() as u64).max(1));
                if t1 - started >= budget && (every == 0 || ops % every == 0) {
                    measured_from = started;
                    break;
                }
                if written > 256 << 20 {
                    drop(f);
                    fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?;
                    f = OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&path)
                        .with_context(|| format!("create {}", path.display()))?;
                    written = 0;
                }
            }
            drop(f);
            fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?;
        }
        Pattern::CreateDirSync => {
            let dir = File::open(work).with_context(|| format!("open {}", work.display()))?;
            loop {
                let p = work.join(format!("create-{ops}"));
                let f = File::create(&p).with_context(|| format!("create {}", p.display()))?;
                drop(f);
                let t0 = Instant::now();
                dir.sync_all()
                    .with_context(|| format!("fsync directory {}", work.display()))?;
                let t1 = Instant::now();
                hist.saturating_record(((t1 - t0).as_nanos() as u64).max(1));
                ops += 1;
                if t1 - started >= budget {
                    break;
                }
            }
            for i in 0..ops {
                let _ = fs::remove_file(work.join(format!("create-{i}")));
            }
        }
    }
    let elapsed = measured_from.elapsed().as_secs_f64();
    Ok(ProbeRow {
        pattern: pattern.name(),
        record_bytes: size,
        writes_per_sync: match pattern {
            Pattern::Append => 0,
            Pattern::AppendSync(_, n) => n,
            Pattern::CreateDirSync => 1,
        },
        ops,
        ops_per_sec: ops as f64 / elapsed,
        p50_us: us(hist.value_at_quantile(0.5)),
        p99_us: us(hist.value_at_quantile(0.99)),
        p999_us: us(hist.value_at_quantile(0.999)),
        max_us: us(hist.max()),
        mean_us: hist.mean() / 1000.0,
        ..ProbeRow::default()
    })
}

fn sync(f: &File, pattern: Pattern) -> std::io::Result<()> {
    match pattern {
        Pattern::AppendSync(SyncPrimitive::Fsync, _) => f.sync_all(),
        _ => f.sync_data(),
    }
}

/// The probe row that bounds a cell's throughput under `policy` for records
/// of `record_bytes`: no sync for `none`, a sync per write for `always` and
/// `group` (one writer's ceiling), a sync every N for `batch:N`. The record
/// size closest to the cell's is used.
pub fn ceiling_for<'a>(
    rows: &'a [ProbeRow],
    policy: &SyncPolicy,
    record_bytes: u64,
) -> Option<&'a ProbeRow> {
    let fsync = policy.primitive == SyncPrimitive::Fsync;
    let wanted = match policy.mode {
        SyncMode::None => Pattern::Append,
        SyncMode::Always | SyncMode::Group => Pattern::AppendSync(policy.primitive, 1),
        SyncMode::Batch(n) => Pattern::AppendSync(
            if fsync {
                SyncPrimitive::Fsync
            } else {
                SyncPrimitive::Fdatasync
            },
            u64::from(n),
        ),
    }
    .name();
    rows.iter()
        .filter(|r| r.pattern == wanted)
        .min_by_key(|r| r.record_bytes.abs_diff(record_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_measures_every_pattern() {
        let t = tempfile::tempdir().unwrap();
        let plan = ProbePlan {
            record_sizes: vec![137],
            batches: vec![32],
            per_pattern: Duration::from_millis(30),
        };
        let rows = run(&t.path().join("p"), &plan, |_| {}).unwrap();
        let names: Vec<_> = rows.iter().map(|r| r.pattern.as_str()).collect();
        assert_eq!(
            names,
            [
                "append",
                "append+fdatasync",
                "append+fsync",
                "append+fdatasync/32",
                "create+dirsync"
            ]
        );
        for r in &rows {
            assert!(r.ops > 0 && r.ops_per_sec > 0.0, "{r:?}");
            assert!(r.p50_us <= r.p99_us && r.p99_us <= r.max_us, "{r:?}");
        }
        assert!(!t.path().join("p").exists(), "probe folder left behind");
        let always: SyncPolicy = "always+dir".parse().unwrap();
        assert_eq!(
            ceiling_for(&rows, &always, 140).unwrap().pattern,
            "append+fdatasync"
        );
        let batch: SyncPolicy = "batch:32".parse().unwrap();
        assert_eq!(
            ceiling_for(&rows, &batch, 140).unwrap().pattern,
            "append+fdatasync/32"
        );
    }
}
