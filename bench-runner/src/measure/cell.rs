//! One cell of the matrix: a fresh directory, an optional load phase, a
//! warm-up, and the measured phase with per-thread, per-operation latency
//! histograms, sync counts, write amplification and CPU time.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engines::events::{EventLog, Events};
use engines::fs::{CountingFs, IoSnapshot, RealFs, Vfs};
use engines::registry::EngineInfo;
use engines::{Engine, EngineConfig, EngineStats, SyncPolicy};
use results::BlockDevice;
use workloads::{OpStream, WorkloadSpec};

use crate::measure::drive::{drive_all, DriveError, Phase};
pub use crate::measure::drive::{execute, Latencies};
use crate::measure::timeline::{self, PhaseTimeline, Sampler, Timeline, TimelineSettings};
use crate::measure::{memory, sys};

/// `none` cells whose operations cost less than this many times the
/// harness's own cost per operation are timed on a sample.
pub const SAMPLE_BELOW_HARNESS_MULTIPLE: f64 = 100.0;
/// One operation in this many is timed in a sampled cell.
pub const SAMPLE_EVERY: u64 = 16;

/// How one cell is run.
#[derive(Debug, Clone)]
pub struct CellPlan {
    /// The engine.
    pub engine: &'static EngineInfo,
    /// Its sync policy.
    pub policy: SyncPolicy,
    /// The workload, with threads, sizes and counts already applied.
    pub workload: WorkloadSpec,
    /// Warm-up before measuring (not recorded).
    pub warmup: Duration,
    /// Fault injection for tests: fail writes with ENOSPC after this many bytes.
    pub enospc_after_bytes: Option<u64>,
    /// The harness's own cost per operation (ns), when measured: `none`
    /// cells whose warm-up shows operations under 100x this are timed on a
    /// sample of 1 in [`SAMPLE_EVERY`].
    pub harness_ns: Option<f64>,
    /// The measured phase's timeline: interval and `--until-steady`.
    pub timeline: TimelineSettings,
}

/// The process's resident set around the measured engine (bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellMemory {
    /// When the high-water mark was reset, before the engine opened.
    pub start: u64,
    /// The high-water mark at the end of the measured phase.
    pub peak: u64,
    /// Resident at the end of the measured phase.
    pub end: u64,
}

/// Everything measured in one cell.
#[derive(Debug)]
pub struct CellMeasurement {
    /// Operations completed in the measured phase.
    pub ops: u64,
    /// Measured wall-clock time.
    pub elapsed: Duration,
    /// Latency histograms (ns) of the timed operations.
    pub latency: Latencies,
    /// Acknowledged writes (puts and deletes) in the measured phase.
    pub write_ops: u64,
    /// One operation in this many was timed (1: all).
    pub sample_every: u64,
    /// Key + value bytes written by the workload.
    pub user_bytes_written: u64,
    /// Key + value bytes read back.
    pub user_bytes_read: u64,
    /// The counting Vfs over the measured phase; its write bytes, calls
    /// and bytes by kind include what the engine's close wrote.
    pub io: IoSnapshot,
    /// Engine statistics at the end (before close).
    pub stats: EngineStats,
    /// Time the engine took to fill its own cache after the open; `None`
    /// when it has none.
    pub warm: Option<Duration>,
    /// Engine log writes and syncs during the measured phase.
    pub log_writes: u64,
    /// Syncs the engine's policy issued during the measured phase.
    pub log_syncs: u64,
    /// Device bytes written during the cell, writeback after it included
    /// (None without a block device).
    pub device_bytes: Option<u64>,
    /// The device's counters over the measured phase only (write I/Os,
    /// flushes): what the cell's acknowledged writes cost the device.
    pub device: Option<results::DeviceStat>,
    /// /proc/self/io over the cell.
    pub proc_io: Option<sys::ProcIo>,
    /// Bytes of the engine's files at the end.
    pub disk_bytes_end: u64,
    /// CPU user/sys seconds during the measured phase.
    pub cpu_user_s: f64,
    /// CPU system seconds.
    pub cpu_sys_s: f64,
    /// Whether latency was measured from intended start times.
    pub open_loop: bool,
    /// The open-loop target rate (operations/s over all threads), if any.
    pub target_rate: Option<f64>,
    /// Whether the engine's I/O went through the counting Vfs.
    pub uses_vfs: bool,
    /// The measured phase interval by interval, and the engine's events.
    pub timeline: PhaseTimeline,
    /// Memory; `None` where it could not be measured.
    pub memory: Option<CellMemory>,
}

/// Why a cell did not produce a measurement.
#[derive(Debug)]
pub enum CellError {
    /// Ctrl-C: the cell was abandoned.
    Interrupted,
    /// The engine (or the disk under it) failed; its error, kept whole.
    Engine(engines::Error),
    /// The harness could not measure the cell; the message says why.
    Failed(String),
}

impl CellError {
    /// True when the disk under test ran out of space.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, CellError::Engine(e) if e.is_disk_full())
    }
}

impl std::fmt::Display for CellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CellError::Interrupted => f.write_str("interrupted"),
            CellError::Engine(e) => e.fmt(f),
            CellError::Failed(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for CellError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CellError::Engine(e) => Some(e),
            CellError::Interrupted | CellError::Failed(_) => None,
        }
    }
}

impl From<engines::Error> for CellError {
    fn from(e: engines::Error) -> Self {
        CellError::Engine(e)
    }
}

impl From<DriveError> for CellError {
    fn from(e: DriveError) -> Self {
        match e {
            DriveError::Engine(e) => CellError::Engine(e),
            DriveError::ClientPanicked => CellError::Failed(e.to_string()),
        }
    }
}

/// Runs one cell in `dir` (which must not exist; removed afterwards).
pub fn run_cell(
    dir: &Path,
    plan: &CellPlan,
    stop: &AtomicBool,
    device: Option<&BlockDevice>,
) -> Result<CellMeasurement, CellError> {
    let result = run_in(dir, plan, stop, device);
    remove_tree(dir);
    result
}

fn remove_tree(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

fn base_vfs(plan: &CellPlan) -> Arc<dyn Vfs> {
    match plan.enospc_after_bytes {
        Some(limit) => Arc::new(crate::measure::faults::FullDiskFs::new(
            RealFs::shared(),
            limit,
        )),
        None => RealFs::shared(),
    }
}

fn run_in(
    dir: &Path,
    plan: &CellPlan,
    stop: &AtomicBool,
    device: Option<&BlockDevice>,
) -> Result<CellMeasurement, CellError> {
    let spec = &plan.workload;
    let threads = spec.threads.max(1);
    let base = base_vfs(plan);
    if spec.load && spec.record_count > 0 {
        load(dir, plan, base.clone(), stop)?;
    }
    if stop.load(Relaxed) {
        return Err(CellError::Interrupted);
    }

    // The cell's memory is the process's from here on: the load phase's
    // engine is closed and its freed heap handed back first.
    let rss_start = memory::reset_peak();
    let counting = CountingFs::new(base);
    let counters = counting.counters();
    let events = EventLog::shared();
    let mut cfg = EngineConfig::with_vfs(dir, Arc::new(counting), plan.policy);
    size_caches(&mut cfg);
    cfg.background_maintenance = true;
    cfg.events = Events::to(events.clone());
    let engine: Arc<dyn Engine> = Arc::from(plan.engine.open(cfg)?);
    // Our engines' caches start empty at this open while the reference
    // engines read through the page cache the load left warm: each cell
    // measures engines warm, and the time each took to warm is in
    // `warm_ms`.
    let warm_start = Instant::now();
    let warm = engine.warm()?.then(|| warm_start.elapsed());
    let mut streams: Vec<OpStream> = (0..threads).map(|t| spec.run_stream(t, threads)).collect();
    let duration = spec.duration_secs.map(Duration::from_secs_f64);
    let sample_every = warm_up(&*engine, &mut streams, plan, stop)?;
    if stop.load(Relaxed) {
        return Err(CellError::Interrupted);
    }

    let before_stats = engine.stats();
    counters.reset();
    let dev0 = device.and_then(BlockDevice::read);
    let proc0 = sys::ProcIo::read();
    let (u0, s0) = sys::cpu_times();
    let sources = timeline::Sources {
        device,
        syncs: plan.engine.uses_vfs.then_some(&*counters),
    };
    let first = sources.read();
    let start = Instant::now();
    let tl = Timeline::new(start, plan.timeline.interval, threads);
    let finish = AtomicBool::new(false);
    let phase = Phase {
        deadline: duration.map(|d| start + d),
        stop,
        finish: Some(&finish),
        sample_every: Some(sample_every),
        // Open-loop schedules start with the measured phase (there is no
        // open-loop warm-up): time spent setting up is not charged to the
        // first operations as lateness.
        origin: start,
        timeline: Some(&tl),
    };
    let (outcome, elapsed, samples, ended_steady) = std::thread::scope(|s| {
        let until_steady = plan.timeline.until_steady.is_some();
        let sampler = Sampler::spawn(s, &tl, sources, first, until_steady, &finish);
        let outcome = drive_all(&*engine, &mut streams, phase);
        let elapsed = start.elapsed();
        let (samples, steady) = sampler.stop();
        (outcome, elapsed, samples, steady)
    });
    let outcome = outcome?;
    let dev_phase = device.and_then(BlockDevice::read);
    let (u1, s1) = sys::cpu_times();
    let rss_end = memory::Rss::read();
    if stop.load(Relaxed) {
        return Err(CellError::Interrupted);
    }
    if outcome.ops == 0 {
        return Err(CellError::Failed(
            "the measured phase completed no operations".into(),
        ));
    }
    let mut io = counters.snapshot();
    let stats = engine.stats();
    engine.close()?;
    drop(engine);
    // What the close wrote to persist the cell's writes (the btree's last
    // checkpoint, the lsm's memtable flush) is the cell's, as the device
    // bytes below and the reference engines' `wchar` count it: without
    // it, btree ycsb-e's device bytes were 30 times its engine bytes
    // (103 MB against 3 MB at 2M keys, docs/measurements.md). Syncs stay
    // those of the measured phase, whose cadence they describe.
    let closed = counters.snapshot();
    io.bytes_written = closed.bytes_written;
    io.write_calls = closed.write_calls;
    io.bytes_by_kind = closed.bytes_by_kind;
    // Force the page cache out so the device counters see what `none` left
    // behind (not timed).
    flush_tree(dir);
    let dev1 = device.and_then(BlockDevice::read);
    let proc1 = sys::ProcIo::read();

    Ok(CellMeasurement {
        ops: outcome.ops,
        elapsed,
        latency: outcome.latency,
        write_ops: outcome.write_ops,
        sample_every,
        user_bytes_written: outcome.bytes_written,
        user_bytes_read: outcome.bytes_read,
        log_writes: stats.log_writes.saturating_sub(before_stats.log_writes),
        log_syncs: stats.log_syncs.saturating_sub(before_stats.log_syncs),
        io,
        stats,
        warm,
        device_bytes: dev0.zip(dev1).map(|(a, b)| b.since(&a).write_bytes),
        device: dev0.zip(dev_phase).map(|(a, b)| b.since(&a)),
        proc_io: proc0.zip(proc1).map(|(a, b)| b.since(&a)),
        disk_bytes_end: tree_bytes(dir),
        cpu_user_s: u1 - u0,
        cpu_sys_s: s1 - s0,
        open_loop: spec.target_rate.is_some(),
        target_rate: spec.target_rate,
        uses_vfs: plan.engine.uses_vfs,
        timeline: PhaseTimeline {
            intervals: tl.intervals(elapsed, &samples),
            events: timeline::relative_events(events.take(), start, elapsed),
            interval: plan.timeline.interval,
            ended_steady,
        },
        memory: rss_start.zip(rss_end).map(|(start, r)| CellMemory {
            start,
            peak: r.peak,
            end: r.now,
        }),
    })
}

/// The load phase, not measured: writes under `none` (or, for an engine
/// that refuses `none`, the cell's own policy), then syncs once.
fn load(
    dir: &Path,
    plan: &CellPlan,
    base: Arc<dyn Vfs>,
    stop: &AtomicBool,
) -> Result<(), CellError> {
    let spec = &plan.workload;
    let threads = spec.threads.max(1);
    let load_policy = if (plan.engine.supports)(&SyncPolicy::NONE).is_ok() {
        SyncPolicy::NONE
    } else {
        plan.policy
    };
    let mut cfg = EngineConfig::with_vfs(dir, base, load_policy);
    size_caches(&mut cfg);
    // The load is synced and closed below before anything is measured.
    cfg.bulk_load = true;
    let engine: Arc<dyn Engine> = Arc::from(plan.engine.open(cfg)?);
    let mut streams: Vec<OpStream> = (0..threads).map(|t| spec.load_stream(t, threads)).collect();
    let origin = Instant::now();
    let phase = Phase {
        deadline: None,
        stop,
        finish: None,
        sample_every: None,
        origin,
        timeline: None,
    };
    drive_all(&*engine, &mut streams, phase)?;
    engine.sync()?;
    engine.close()?;
    Ok(())
}

/// Sizes the engines' own caches for a cell: a quarter of the memory
/// available when the cell starts, never below the engines' defaults, for
/// every engine that keeps a cache (the btree's pages, the lsm's blocks,
/// SQLite's pages, fjall's blocks). A cache sized from the machine is what
/// a deployment gets (InnoDB's guidance is half or more of a dedicated
/// server, fjall's 20-25% of memory); a quarter leaves the kernel's page
/// cache room for the engines that read through it (bitcask, loghash,
/// LMDB). Caches fill only with what the cell touches, so a small data
/// set costs no more.
fn size_caches(cfg: &mut EngineConfig) {
    let quarter = sys::available_memory().map_or(0, |b| b / 4);
    cfg.cache_bytes = cfg.cache_bytes.max(quarter);
    let pages = cfg.cache_bytes / cfg.page_bytes as u64;
    cfg.cache_pages = usize::try_from(pages)
        .unwrap_or(usize::MAX)
        .clamp(cfg.cache_pages, u32::MAX as usize);
}

/// The warm-up (duration mode only: with an operation count it would eat
/// the operations the measured phase is meant to run). Returns one in how
/// many operations the measured phase times.
fn warm_up(
    engine: &dyn Engine,
    streams: &mut [OpStream],
    plan: &CellPlan,
    stop: &AtomicBool,
) -> Result<u64, CellError> {
    let spec = &plan.workload;
    if plan.warmup.is_zero() || spec.target_rate.is_some() || spec.duration_secs.is_none() {
        return Ok(1);
    }
    let threads = spec.threads.max(1);
    let t0 = Instant::now();
    let phase = Phase {
        deadline: Some(t0 + plan.warmup),
        stop,
        finish: None,
        sample_every: None,
        origin: t0,
        timeline: None,
    };
    let warm = drive_all(engine, streams, phase)?;
    // Per-operation cost as one client sees it.
    let op_ns = t0.elapsed().as_nanos() as f64 * threads as f64 / warm.ops.max(1) as f64;
    let cheap = plan
        .harness_ns
        .is_some_and(|h| op_ns < SAMPLE_BELOW_HARNESS_MULTIPLE * h);
    Ok(if plan.policy.mode == engines::SyncMode::None && cheap {
        SAMPLE_EVERY
    } else {
        1
    })
}

/// Total size of the files under `dir`.
pub fn tree_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// fsyncs every file under `dir` (writeback for the device counters).
fn flush_tree(dir: &Path) {
    let mut stack: Vec<PathBuf> = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(f) = std::fs::File::open(&p) {
                let _ = f.sync_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_by_the_engine_error_not_its_text() {
        let io = |code| engines::Error::Io {
            op: "write",
            path: "f".into(),
            source: std::io::Error::from_raw_os_error(code),
        };
        assert!(CellError::from(io(28)).is_disk_full());
        assert!(!CellError::from(io(5)).is_disk_full());
        assert!(!CellError::Failed("No space left on device (os error 28)".into()).is_disk_full());
        assert!(!CellError::from(DriveError::ClientPanicked).is_disk_full());
    }
}
