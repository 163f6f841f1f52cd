//! One round of one pattern on the disk: prepare the files, run the
//! writers between a barrier and the deadline, time every sync.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use engines::SyncPrimitive;
use hdrhistogram::Histogram;
use results::{BlockDevice, ProbeRow};

use super::pattern::{Layout, Pattern, Placement};
use super::{new_hist, us, ProbePlan, Round, APPEND_FILE_LIMIT, OVERWRITE_REGION};

/// The files of one round: one per writer, or one shared.
pub(super) fn prepare(work: &Path, p: &Pattern) -> Result<Vec<PathBuf>> {
    let n = match p.layout {
        Layout::PerFile => p.threads,
        Layout::Shared => 1,
    };
    let region = OVERWRITE_REGION * if n == 1 { p.threads as u64 } else { 1 };
    let mut paths = Vec::new();
    for i in 0..n {
        let path = work.join(format!("probe-{i}"));
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("create {}", path.display()))?;
        match p.placement {
            Placement::Append => {}
            Placement::OverWritten => {
                // A page per write, as a log's own appends leave its
                // pages: the page cache sizes its folios by the writes
                // that create them, and a small write into a large folio
                // walks all of its block buffers (ext4, Linux 6.18:
                // 137-byte overwrites of a file laid out 1 MiB per write
                // ran at half the rate of appends).
                let chunk = vec![0xa5u8; 4096];
                for off in (0..region).step_by(chunk.len()) {
                    f.write_all_at(&chunk, off)
                        .with_context(|| format!("lay out {}", path.display()))?;
                }
                f.sync_all()
                    .with_context(|| format!("sync {}", path.display()))?;
            }
            Placement::OverFallocated => {
                crate::measure::sys::fallocate(&f, region)
                    .with_context(|| format!("fallocate {}", path.display()))?;
                f.sync_all()
                    .with_context(|| format!("sync {}", path.display()))?;
            }
        }
        paths.push(path);
    }
    if p.placement != Placement::Append {
        // The layout's own syncs must not count as the round's flushes.
        File::open(work)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("fsync directory {}", work.display()))?;
    }
    Ok(paths)
}

/// What one writer did: writes, syncs, latency.
type WriterResult = (u64, u64, Histogram<u64>);

/// One writer's share of a round.
pub(super) struct Writer<'a> {
    pub(super) file: &'a File,
    pub(super) path: &'a Path,
    /// Overwrite: the writer's region `[start, start + len)`.
    pub(super) region: (u64, u64),
}

pub(super) fn measure(work: &Path, p: &Pattern, plan: &ProbePlan) -> Result<Round> {
    let paths = prepare(work, p)?;
    let files: Vec<File> = paths
        .iter()
        .map(|path| {
            OpenOptions::new()
                .write(true)
                .append(p.placement == Placement::Append)
                .open(path)
                .with_context(|| format!("open {}", path.display()))
        })
        .collect::<Result<_>>()?;
    let writers: Vec<Writer<'_>> = (0..p.threads)
        .map(|t| {
            let (fi, slot) = match p.layout {
                Layout::PerFile => (t, 0),
                Layout::Shared => (0, t as u64),
            };
            Writer {
                file: &files[fi],
                path: &paths[fi],
                region: (slot * OVERWRITE_REGION, OVERWRITE_REGION),
            }
        })
        .collect();
    let min_syncs_each = if p.sync.is_some() {
        plan.min_syncs.div_ceil(p.threads as u64)
    } else {
        0
    };
    let barrier = Barrier::new(p.threads + 1);
    let results: Mutex<Vec<Result<WriterResult>>> = Mutex::new(Vec::new());
    let (secs, dev0, dev1) = std::thread::scope(|s| {
        for w in &writers {
            let (barrier, results) = (&barrier, &results);
            s.spawn(move || {
                let r = write_loop(w, p, plan.min_time, min_syncs_each, barrier);
                if let Ok(mut v) = results.lock() {
                    v.push(r);
                }
            });
        }
        // Writers warm up, then all start measuring together.
        barrier.wait();
        let dev0 = plan.device.as_ref().and_then(BlockDevice::read);
        let t0 = Instant::now();
        barrier.wait();
        let secs = t0.elapsed().as_secs_f64();
        (secs, dev0, plan.device.as_ref().and_then(BlockDevice::read))
    });
    let mut round = Round {
        ops: 0,
        secs,
        syncs: 0,
        flushes: dev0.zip(dev1).and_then(|(a, b)| b.since(&a).flushes),
        hist: new_hist(),
    };
    let results = results.into_inner().unwrap_or_default();
    for r in results {
        let (ops, syncs, h) = r?;
        round.ops += ops;
        round.syncs += syncs;
        let _ = round.hist.add(&h);
    }
    drop(writers);
    drop(files);
    for path in &paths {
        fs::remove_file(path).with_context(|| format!("remove {}", path.display()))?;
    }
    Ok(round)
}

/// One writer: warm up unrecorded (block allocation and the first journal
/// commits of a new file are slower than the steady state), meet the others
/// at the barrier twice (start, then end of measurement once all are done),
/// and write until both the time and the sync minimum are met.
pub(super) fn write_loop(
    w: &Writer<'_>,
    p: &Pattern,
    min_time: Duration,
    min_syncs: u64,
    barrier: &Barrier,
) -> Result<WriterResult> {
    let buf = vec![0x5au8; p.size as usize];
    let every = p.writes_per_sync();
    let mut hist = new_hist();
    let (start, len) = w.region;
    let slots = (len / p.size.max(1)).max(1);
    let mut slot = 0u64;
    let mut written = 0u64;
    let mut n = 0u64;
    let mut syncs = 0u64;
    let mut step = |n: &mut u64, syncs: &mut u64| -> Result<()> {
        match p.placement {
            Placement::Append => {
                if written >= APPEND_FILE_LIMIT && p.layout == Layout::PerFile {
                    w.file
                        .set_len(0)
                        .with_context(|| format!("truncate {}", w.path.display()))?;
                    written = 0;
                }
                (&*w.file)
                    .write_all(&buf)
                    .with_context(|| format!("write {}", w.path.display()))?;
                written += p.size;
            }
            _ => {
                w.file
                    .write_all_at(&buf, start + slot * p.size)
                    .with_context(|| format!("write {}", w.path.display()))?;
                slot = (slot + 1) % slots;
            }
        }
        *n += 1;
        if let Some((prim, every)) = p.sync {
            if *n % every == 0 {
                match prim {
                    SyncPrimitive::Fdatasync => w.file.sync_data(),
                    SyncPrimitive::Fsync => w.file.sync_all(),
                }
                .with_context(|| format!("sync {}", w.path.display()))?;
                *syncs += 1;
            }
        }
        Ok(())
    };
    let warm_until = Instant::now() + min_time / 10;
    let mut warm = 0u64;
    let mut warm_syncs = 0u64;
    let mut failed = None;
    while failed.is_none()
        && (Instant::now() < warm_until || warm < 16 || (every > 0 && warm % every != 0))
    {
        failed = step(&mut warm, &mut warm_syncs).err();
    }
    barrier.wait();
    let started = Instant::now();
    while failed.is_none() {
        let t0 = Instant::now();
        if let Err(e) = step(&mut n, &mut syncs) {
            failed = Some(e);
            break;
        }
        let t1 = Instant::now();
        hist.saturating_record(((t1 - t0).as_nanos() as u64).max(1));
        let cadence_done = every == 0 || n % every == 0;
        if cadence_done && t1 - started >= min_time && syncs >= min_syncs {
            break;
        }
        if t1 - started >= min_time * 10 && cadence_done {
            break;
        }
    }
    barrier.wait();
    match failed {
        Some(e) => Err(e),
        None => Ok((n, syncs, hist)),
    }
}

pub(super) fn create_dirsync(work: &Path, plan: &ProbePlan) -> Result<ProbeRow> {
    let mut hist = new_hist();
    let dir = File::open(work).with_context(|| format!("open {}", work.display()))?;
    let started = Instant::now();
    let mut ops = 0u64;
    let result = (|| -> Result<()> {
        loop {
            let p = work.join(format!("create-{ops}"));
            File::create(&p).with_context(|| format!("create {}", p.display()))?;
            let t0 = Instant::now();
            dir.sync_all()
                .with_context(|| format!("fsync directory {}", work.display()))?;
            let t1 = Instant::now();
            hist.saturating_record(((t1 - t0).as_nanos() as u64).max(1));
            ops += 1;
            if t1 - started >= plan.min_time && ops >= plan.min_syncs.min(200) {
                return Ok(());
            }
        }
    })();
    for i in 0..ops {
        let _ = fs::remove_file(work.join(format!("create-{i}")));
    }
    result?;
    Ok(ProbeRow {
        pattern: "create+dirsync".into(),
        writes_per_sync: 1,
        ops,
        ops_per_sec: ops as f64 / started.elapsed().as_secs_f64().max(1e-9),
        p50_us: us(hist.value_at_quantile(0.5)),
        p99_us: us(hist.value_at_quantile(0.99)),
        p999_us: us(hist.value_at_quantile(0.999)),
        max_us: us(hist.max()),
        mean_us: hist.mean() / 1000.0,
        threads: Some(1),
        rounds: Some(1),
        ..ProbeRow::default()
    })
}
