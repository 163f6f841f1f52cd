//! The client loop: one thread per operation stream, each running
//! operations against the engine until the streams end, the deadline
//! passes or the phase is told to stop, timing them into per-thread
//! histograms (and, in the measured phase, the timeline).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use engines::Engine;
use hdrhistogram::Histogram;
use workloads::{Op, OpKind, OpStream, WorkloadSpec};

use crate::measure::timeline::Timeline;

/// Why a phase ended before its streams did.
#[derive(Debug)]
pub enum DriveError {
    /// An operation failed; the engine's error, kept whole.
    Engine(engines::Error),
    /// A client thread panicked.
    ClientPanicked,
}

impl std::fmt::Display for DriveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriveError::Engine(e) => e.fmt(f),
            DriveError::ClientPanicked => f.write_str("a client thread panicked"),
        }
    }
}

impl std::error::Error for DriveError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DriveError::Engine(e) => Some(e),
            DriveError::ClientPanicked => None,
        }
    }
}

/// Latency histograms of a phase: one over every operation, one per kind.
#[derive(Debug)]
pub struct Latencies {
    /// Every operation.
    pub all: Histogram<u64>,
    /// Per operation kind, indexed by [`OpKind::index`].
    pub by_kind: Vec<Histogram<u64>>,
}

impl Latencies {
    pub(crate) fn new() -> Latencies {
        Latencies {
            all: engines::fs::new_latency_histogram(),
            by_kind: OpKind::ALL
                .iter()
                .map(|_| engines::fs::new_latency_histogram())
                .collect(),
        }
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

/// What the threads of one phase did.
#[derive(Debug)]
pub struct PhaseOutcome {
    /// Operations completed.
    pub ops: u64,
    /// Of which writes (puts and deletes).
    pub write_ops: u64,
    /// Latencies of the timed operations.
    pub latency: Latencies,
    /// Key + value bytes written.
    pub bytes_written: u64,
    /// Key + value bytes read.
    pub bytes_read: u64,
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

/// How a phase is run and what ends it.
#[derive(Debug, Clone, Copy)]
pub struct Phase<'a> {
    /// End at this time (None: when the streams end).
    pub deadline: Option<Instant>,
    /// Ctrl-C.
    pub stop: &'a AtomicBool,
    /// Set by `--until-steady` once the phase is steady.
    pub finish: Option<&'a AtomicBool>,
    /// Time one operation in this many (`None`: time none).
    pub sample_every: Option<u64>,
    /// Open-loop intended start times are offsets from this instant.
    pub origin: Instant,
    /// The measured phase's timeline.
    pub timeline: Option<&'a Timeline>,
}

/// Runs every stream on its own thread until the streams end, the deadline
/// passes or the phase is told to stop.
pub fn drive_all(
    engine: &dyn Engine,
    streams: &mut [OpStream],
    phase: Phase<'_>,
) -> Result<PhaseOutcome, DriveError> {
    let failed = AtomicBool::new(false);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let spin = streams.len() < cores;
    let results: Vec<Result<PhaseOutcome, DriveError>> = std::thread::scope(|s| {
        let handles: Vec<_> = streams
            .iter_mut()
            .enumerate()
            .map(|(thread, stream)| {
                let failed = &failed;
                s.spawn(move || {
                    let r = drive(engine, stream, &phase, failed, thread, spin);
                    if r.is_err() {
                        failed.store(true, Relaxed);
                    }
                    r
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(DriveError::ClientPanicked)))
            .collect()
    });
    let mut total = PhaseOutcome::new();
    for r in results {
        let r = r?;
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
    phase: &Phase<'_>,
    failed: &AtomicBool,
    thread: usize,
    phase_spins: bool,
) -> Result<PhaseOutcome, DriveError> {
    let mut out = PhaseOutcome::new();
    // Only open-loop waits sleep; a closed loop never does.
    crate::measure::sys::tighten_timer_slack();
    let every = phase.sample_every.unwrap_or(0);
    let mut until_timed = 1u64;
    let mut timeline = phase.timeline.map(|t| t.thread(thread));
    let own_clock = quanta::Clock::new();
    let clock = timeline.as_ref().map_or(&own_clock, |t| t.clock()).clone();
    let finish = phase.finish.unwrap_or(failed);
    let mut checks = 0u32;
    loop {
        // Checking three atomics costs little, but only every 64 ops is enough.
        checks = checks.wrapping_add(1);
        if checks % 64 == 0
            && (phase.stop.load(Relaxed) || failed.load(Relaxed) || finish.load(Relaxed))
        {
            break;
        }
        let Some(op) = stream.next_op() else { break };
        // Latency comes from the TSC-based clock (two raw reads, ~7 ns each),
        // so the harness adds little to even the fastest operation. Open-loop
        // operations are timed from their intended start instead.
        let (written, read, ns, end_raw) = match op.intended_start {
            Some(at) => {
                let t = phase.origin + at;
                wait_until(t, phase_spins);
                let (w, r) = execute(engine, &op).map_err(DriveError::Engine)?;
                let ns = Instant::now().saturating_duration_since(t).as_nanos() as u64;
                (w, r, ns, Some(clock.raw()))
            }
            None if every > 0 && until_timed == 1 => {
                let t0 = clock.raw();
                let (w, r) = execute(engine, &op).map_err(DriveError::Engine)?;
                let t1 = clock.raw();
                (w, r, clock.delta_as_nanos(t0, t1), Some(t1))
            }
            None => {
                let (w, r) = execute(engine, &op).map_err(DriveError::Engine)?;
                (w, r, 0, None)
            }
        };
        out.ops += 1;
        out.write_ops += u64::from(op.kind.is_write());
        out.bytes_written += written;
        out.bytes_read += read;
        let timed = every > 0 && (until_timed == 1 || op.intended_start.is_some());
        if let Some(tl) = &mut timeline {
            // The operation belongs to the interval it ended in: a timed
            // one knows when, the others look at the clock every 16.
            match end_raw {
                Some(raw) => tl.at(raw),
                None if checks % 16 == 0 => tl.at(clock.raw()),
                None => {}
            }
            tl.op(timed.then_some(ns));
        }
        if timed {
            let ns = ns.max(1);
            // With a timeline, `all` is the sum of its intervals.
            if timeline.is_none() {
                out.latency.all.saturating_record(ns);
            }
            out.latency.by_kind[op.kind.index()].saturating_record(ns);
            until_timed = every;
        } else if every > 0 {
            until_timed -= 1;
        }
        // The deadline is checked every 16 operations: a clock read per
        // operation would cost more than the check saves.
        if checks % 16 == 0 && phase.deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    if let Some(tl) = timeline {
        out.latency.all = tl.finish();
    }
    Ok(out)
}

/// How long before an open-loop operation's intended start its thread
/// stops sleeping and starts spinning. A sleeping thread on a VM wakes up
/// late (about a millisecond at p99: docs/measurements.md), and latency is timed from the intended start, so
/// that lateness would be charged to the engine. wrk2 and HdrHistogram's
/// `SimpleHistogram` pacers spin the last stretch for the same reason.
const SPIN_BEFORE: Duration = Duration::from_millis(2);

/// Waits until `t`: sleeps while more than [`SPIN_BEFORE`] remains, then
/// spins if `spin`, yielding the CPU on every turn. Clients spin only when
/// they are fewer than the cores: sixteen clients spinning 2 ms before each
/// operation on two cores would take the CPU from the engine's own threads
/// (group commit leaders, flushes), and a busy machine's vCPUs do not halt,
/// which is where the late wake-ups come from. Their sleeps still end within
/// 1 ns of slack ([`crate::measure::sys::tighten_timer_slack`]).
fn wait_until(t: Instant, spin: bool) {
    let now = Instant::now();
    if t <= now {
        return;
    }
    if !spin {
        std::thread::sleep(t - now);
        return;
    }
    if t - now > SPIN_BEFORE {
        std::thread::sleep(t - now - SPIN_BEFORE);
    }
    while Instant::now() < t {
        std::thread::yield_now();
    }
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

/// Runs `ops` operations of `spec` (one thread) against `engine` with the
/// measured loop's timing and recording (`record`), with or without a
/// timeline, for the harness benchmark. Returns the operations completed.
pub fn drive_for_bench(
    engine: &dyn Engine,
    spec: &WorkloadSpec,
    record: bool,
    timeline: bool,
) -> u64 {
    drive_once(engine, spec, record.then_some(1), timeline).0
}

/// The harness's own cost per operation (ns): a pass of `ops` operations
/// of `spec` over the null engine with timing and histograms, with or
/// without the timeline.
pub fn harness_cost_ns(spec: &WorkloadSpec, ops: u64, timeline: bool) -> f64 {
    let spec = WorkloadSpec {
        operation_count: Some(ops),
        duration_secs: None,
        target_rate: None,
        threads: 1,
        ..spec.clone()
    };
    let null = crate::measure::null::NullEngine::default();
    let (n, elapsed) = drive_once(&null, &spec, Some(1), timeline);
    elapsed.as_nanos() as f64 / n.max(1) as f64
}

fn drive_once(
    engine: &dyn Engine,
    spec: &WorkloadSpec,
    sample: Option<u64>,
    timeline: bool,
) -> (u64, Duration) {
    let mut stream = spec.run_stream(0, 1);
    let stop = AtomicBool::new(false);
    let failed = AtomicBool::new(false);
    let t0 = Instant::now();
    let tl = timeline.then(|| Timeline::new(t0, crate::measure::timeline::default_interval(), 1));
    let phase = Phase {
        deadline: None,
        stop: &stop,
        finish: None,
        sample_every: sample,
        origin: t0,
        timeline: tl.as_ref(),
    };
    let ops = drive(engine, &mut stream, &phase, &failed, 0, false).map_or(0, |o| o.ops);
    (ops, t0.elapsed())
}
