//! One cell of the matrix: a fresh directory, an optional load phase, a
//! warm-up, and the measured phase with per-thread, per-operation latency
//! histograms, sync counts, write amplification and CPU time.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engines::fs::{CountingFs, IoSnapshot, RealFs, Vfs};
use engines::registry::EngineInfo;
use engines::{Engine, EngineConfig, EngineStats, SyncPolicy};
use hdrhistogram::Histogram;
use results::BlockDevice;
use workloads::{Op, OpKind, OpStream, WorkloadSpec};

use crate::sys;

/// Latency histograms of a phase: one over every operation, one per kind.
#[derive(Debug)]
pub struct Latencies {
    /// Every operation.
    pub all: Histogram<u64>,
    /// Per operation kind, indexed by [`OpKind::index`].
    pub by_kind: Vec<Histogram<u64>>,
}

impl Latencies {
    fn new() -> Latencies {
        Latencies {
            all: engines::fs::new_latency_histogram(),
            by_kind: OpKind::ALL
                .iter()
                .map(|_| engines::fs::new_latency_histogram())
                .collect(),
        }
    }

    fn record(&mut self, kind: OpKind, ns: u64) {
        self.all.saturating_record(ns);
        self.by_kind[kind.index()].saturating_record(ns);
    }

    fn add(&mut self, other: &Latencies) {
        // Same bounds everywhere, so adding cannot fail.
        let _ = self.all.add(&other.all);
        for (t, h) in self.by_kind.iter_mut().zip(&other.by_kind) {
            let _ = t.add(h);
        }
    }

    /// `(operation name, histogram)` for `all` and every kind with samples.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, &Histogram<u64>)> {
        std::iter::once(("all", &self.all)).chain(
            OpKind::ALL
                .iter()
                .zip(&self.by_kind)
                .filter(|(_, h)| !h.is_empty())
                .map(|(k, h)| (k.name(), h)),
        )
    }
}

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
    /// The counting Vfs over the measured phase.
    pub io: IoSnapshot,
    /// Engine statistics at the end (before close).
    pub stats: EngineStats,
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
}

/// Why a cell did not produce a measurement.
#[derive(Debug)]
pub enum CellError {
    /// Ctrl-C: the cell was abandoned.
    Interrupted,
    /// The engine or the disk failed; the message says where.
    Failed(String),
}

impl From<engines::Error> for CellError {
    fn from(e: engines::Error) -> Self {
        CellError::Failed(e.to_string())
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
        Some(limit) => Arc::new(crate::faults::FullDiskFs::new(RealFs::shared(), limit)),
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
        // The load phase is not measured: write under `none` (or, for an
        // engine that refuses `none`, the cell's own policy), then sync once.
        let load_policy = if (plan.engine.supports)(&SyncPolicy::NONE).is_ok() {
            SyncPolicy::NONE
        } else {
            plan.policy
        };
        let cfg = EngineConfig::with_vfs(dir, base.clone(), load_policy);
        let engine: Arc<dyn Engine> = Arc::from(plan.engine.open(cfg)?);
        let mut streams: Vec<OpStream> =
            (0..threads).map(|t| spec.load_stream(t, threads)).collect();
        let origin = Instant::now();
        drive_all(&*engine, &mut streams, None, stop, None, origin)?;
        engine.sync()?;
        engine.close()?;
    }
    if stop.load(Relaxed) {
        return Err(CellError::Interrupted);
    }

    let counting = CountingFs::new(base);
    let counters = counting.counters();
    let mut cfg = EngineConfig::with_vfs(dir, Arc::new(counting), plan.policy);
    cfg.background_maintenance = true;
    let engine: Arc<dyn Engine> = Arc::from(plan.engine.open(cfg)?);
    let mut streams: Vec<OpStream> = (0..threads).map(|t| spec.run_stream(t, threads)).collect();
    let duration = spec.duration_secs.map(Duration::from_secs_f64);
    let origin = Instant::now();
    // Warm-up only in duration mode: with an operation count it would eat
    // the operations the measured phase is meant to run.
    let mut sample_every = 1;
    if !plan.warmup.is_zero() && spec.target_rate.is_none() && spec.duration_secs.is_some() {
        let t0 = Instant::now();
        let warm = drive_all(
            &*engine,
            &mut streams,
            Some(origin + plan.warmup),
            stop,
            None,
            origin,
        )?;
        // Per-operation cost as one client sees it.
        let op_ns = t0.elapsed().as_nanos() as f64 * threads as f64 / warm.ops.max(1) as f64;
        if plan.policy.mode == engines::SyncMode::None
            && plan
                .harness_ns
                .is_some_and(|h| op_ns < SAMPLE_BELOW_HARNESS_MULTIPLE * h)
        {
            sample_every = SAMPLE_EVERY;
        }
    }
    if stop.load(Relaxed) {
        return Err(CellError::Interrupted);
    }

    let before_stats = engine.stats();
    counters.reset();
    let dev0 = device.and_then(BlockDevice::read);
    let proc0 = sys::ProcIo::read();
    let (u0, s0) = sys::cpu_times();
    let start = Instant::now();
    let deadline = duration.map(|d| start + d);
    let outcome = drive_all(
        &*engine,
        &mut streams,
        deadline,
        stop,
        Some(sample_every),
        origin,
    )?;
    let elapsed = start.elapsed();
    let dev_phase = device.and_then(BlockDevice::read);
    let (u1, s1) = sys::cpu_times();
    if stop.load(Relaxed) {
        return Err(CellError::Interrupted);
    }
    if outcome.ops == 0 {
        return Err(CellError::Failed(
            "the measured phase completed no operations".into(),
        ));
    }
    let io = counters.snapshot();
    let stats = engine.stats();
    engine.close()?;
    drop(engine);
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
        device_bytes: dev0.zip(dev1).map(|(a, b)| b.since(&a).write_bytes),
        device: dev0.zip(dev_phase).map(|(a, b)| b.since(&a)),
        proc_io: proc0.zip(proc1).map(|(a, b)| b.since(&a)),
        disk_bytes_end: tree_bytes(dir),
        cpu_user_s: u1 - u0,
        cpu_sys_s: s1 - s0,
        open_loop: spec.target_rate.is_some(),
        target_rate: spec.target_rate,
        uses_vfs: plan.engine.uses_vfs,
    })
}

/// What the threads of one phase did.
struct PhaseOutcome {
    ops: u64,
    write_ops: u64,
    latency: Latencies,
    bytes_written: u64,
    bytes_read: u64,
}

impl PhaseOutcome {
    fn new() -> PhaseOutcome {
        PhaseOutcome {
            ops: 0,
            write_ops: 0,
            latency: Latencies::new(),
            bytes_written: 0,
            bytes_read: 0,
        }
    }
}

/// Runs every stream on its own thread until the streams end, the deadline
/// passes or `stop` is set. `sample_every`: time one operation in this many
/// (`None`: time none).
fn drive_all(
    engine: &dyn Engine,
    streams: &mut [OpStream],
    deadline: Option<Instant>,
    stop: &AtomicBool,
    sample_every: Option<u64>,
    origin: Instant,
) -> Result<PhaseOutcome, CellError> {
    let failed = AtomicBool::new(false);
    let results: Vec<Result<PhaseOutcome, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = streams
            .iter_mut()
            .map(|stream| {
                let failed = &failed;
                s.spawn(move || {
                    let r = drive(engine, stream, deadline, stop, failed, sample_every, origin);
                    if r.is_err() {
                        failed.store(true, Relaxed);
                    }
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a client thread panicked".into()))
            })
            .collect()
    });
    let mut total = PhaseOutcome::new();
    for r in results {
        let r = r.map_err(CellError::Failed)?;
        total.ops += r.ops;
        total.write_ops += r.write_ops;
        total.bytes_written += r.bytes_written;
        total.bytes_read += r.bytes_read;
        total.latency.add(&r.latency);
    }
    Ok(total)
}

fn drive(
    engine: &dyn Engine,
    stream: &mut OpStream,
    deadline: Option<Instant>,
    stop: &AtomicBool,
    failed: &AtomicBool,
    sample_every: Option<u64>,
    origin: Instant,
) -> Result<PhaseOutcome, String> {
    let mut out = PhaseOutcome::new();
    let every = sample_every.unwrap_or(0);
    let mut until_timed = 1u64;
    let clock = quanta::Clock::new();
    let mut checks = 0u32;
    loop {
        // Checking two atomics costs little, but only every 64 ops is enough.
        checks = checks.wrapping_add(1);
        if checks % 64 == 0 && (stop.load(Relaxed) || failed.load(Relaxed)) {
            break;
        }
        let Some(op) = stream.next_op() else { break };
        // Latency comes from the TSC-based clock (two raw reads, ~7 ns each),
        // so the harness adds little to even the fastest operation. Open-loop
        // operations are timed from their intended start instead.
        let (written, read, ns) = match op.intended_start {
            Some(at) => {
                let t = origin + at;
                let now = Instant::now();
                if t > now {
                    std::thread::sleep(t - now);
                }
                let (w, r) = execute(engine, &op).map_err(|e| e.to_string())?;
                (
                    w,
                    r,
                    Instant::now().saturating_duration_since(t).as_nanos() as u64,
                )
            }
            None if every > 0 && until_timed == 1 => {
                let t0 = clock.raw();
                let (w, r) = execute(engine, &op).map_err(|e| e.to_string())?;
                let t1 = clock.raw();
                (w, r, clock.delta_as_nanos(t0, t1))
            }
            None => {
                let (w, r) = execute(engine, &op).map_err(|e| e.to_string())?;
                (w, r, 0)
            }
        };
        out.ops += 1;
        out.write_ops += u64::from(op.kind.is_write());
        out.bytes_written += written;
        out.bytes_read += read;
        if every > 0 {
            if until_timed == 1 || op.intended_start.is_some() {
                out.latency.record(op.kind, ns.max(1));
                until_timed = every;
            } else {
                until_timed -= 1;
            }
        }
        // The deadline is checked every 16 operations: a clock read per
        // operation would cost more than the check saves.
        if checks % 16 == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    Ok(out)
}

/// Runs one operation; returns (user bytes written, user bytes read).
pub fn execute(engine: &dyn Engine, op: &Op<'_>) -> engines::Result<(u64, u64)> {
    let kv = (op.key.len() + op.value.len()) as u64;
    match op.kind {
        OpKind::Read => Ok((
            0,
            engine
                .get(op.key)?
                .map_or(0, |v| (op.key.len() + v.len()) as u64),
        )),
        OpKind::Update | OpKind::Insert | OpKind::Append => {
            engine.put(op.key, op.value).map(|()| (kv, 0))
        }
        OpKind::Delete => engine.delete(op.key).map(|()| (op.key.len() as u64, 0)),
        OpKind::Scan => {
            let rows = engine.scan(op.key, None, op.scan_len)?;
            Ok((
                0,
                rows.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum(),
            ))
        }
        OpKind::ReadModifyWrite => {
            let old = engine.get(op.key)?;
            engine.put(op.key, op.value)?;
            Ok((kv, old.map_or(0, |v| v.len() as u64)))
        }
    }
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

/// Runs `ops` operations of `spec` (one thread) against `engine` with the
/// measured loop's timing and recording, for the harness benchmark.
/// Returns the operations completed.
pub fn drive_for_bench(engine: &dyn Engine, spec: &WorkloadSpec, record: bool) -> u64 {
    drive_once(engine, spec, record.then_some(1)).0
}

/// The harness's own cost per operation (ns): a pass of `ops` operations
/// of `spec` over the null engine with timing and histograms.
pub fn harness_cost_ns(spec: &WorkloadSpec, ops: u64) -> f64 {
    let spec = WorkloadSpec {
        operation_count: Some(ops),
        duration_secs: None,
        target_rate: None,
        threads: 1,
        ..spec.clone()
    };
    let null = crate::null::NullEngine;
    let (n, elapsed) = drive_once(&null, &spec, Some(1));
    elapsed.as_nanos() as f64 / n.max(1) as f64
}

fn drive_once(engine: &dyn Engine, spec: &WorkloadSpec, sample: Option<u64>) -> (u64, Duration) {
    let mut stream = spec.run_stream(0, 1);
    let stop = AtomicBool::new(false);
    let failed = AtomicBool::new(false);
    let t0 = Instant::now();
    let ops = drive(
        engine,
        &mut stream,
        None,
        &stop,
        &failed,
        sample,
        Instant::now(),
    )
    .map_or(0, |o| o.ops);
    (ops, t0.elapsed())
}
